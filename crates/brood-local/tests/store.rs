//! `DirStore` keeps the `ArtifactStore` contract: bytes round-trip by key, listing is sorted and
//! by text prefix, deletes are idempotent, keys cannot leave the root, and a reader never sees a
//! partly written file.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use brood_cluster::ArtifactStore;
use brood_local::DirStore;

#[tokio::test]
async fn bytes_round_trip_and_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path().join("artifacts"));
    let key = "runs/r1/local-a/w1/stats.csv";
    assert_eq!(store.get(key).await.unwrap(), None);

    store.put(key, b"first").await.unwrap();
    assert_eq!(
        store.get(key).await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
    store.put(key, &[0, 255, 10]).await.unwrap();
    assert_eq!(store.get(key).await.unwrap(), Some(vec![0, 255, 10]));
    store.put("empty", b"").await.unwrap();
    assert_eq!(store.get("empty").await.unwrap(), Some(vec![]));
    assert!(dir.path().join("artifacts").join(key).is_file());
}

#[tokio::test]
async fn list_is_sorted_by_text_prefix_and_hides_staging() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    assert!(store.list("").await.unwrap().is_empty());
    let keys = [
        "runs/r2/b.csv",
        "runs/r10/a.csv",
        "runs/r1/z/deep.json",
        "runs/r1/a.csv",
        "other.txt",
    ];
    for key in keys {
        store.put(key, key.as_bytes()).await.unwrap();
    }

    let mut all = keys.map(String::from).to_vec();
    all.sort();
    assert_eq!(store.list("").await.unwrap(), all);
    assert_eq!(
        store.list("runs/r1").await.unwrap(),
        ["runs/r1/a.csv", "runs/r1/z/deep.json", "runs/r10/a.csv"]
    );
    assert_eq!(
        store.list("runs/r1/").await.unwrap(),
        ["runs/r1/a.csv", "runs/r1/z/deep.json"]
    );
    assert_eq!(store.list("runs/r1/a").await.unwrap(), ["runs/r1/a.csv"]);
    assert!(store.list("nothing/here/").await.unwrap().is_empty());
    assert!(store.list("other.txt/").await.unwrap().is_empty());
    assert!(store.list("../").await.is_err());
    assert!(store.list("/etc").await.is_err());
}

#[tokio::test]
async fn delete_removes_a_key_and_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path());
    store.put("a/b", b"x").await.unwrap();
    store.put("a/c", b"y").await.unwrap();
    store.delete("a/b").await.unwrap();
    store.delete("a/b").await.unwrap();
    store.delete("never/was").await.unwrap();
    assert_eq!(store.get("a/b").await.unwrap(), None);
    assert_eq!(store.list("a/").await.unwrap(), ["a/c"]);
    // A directory is a prefix, not a key.
    assert_eq!(store.get("a").await.unwrap(), None);
}

#[tokio::test]
async fn keys_that_could_leave_the_root_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let store = DirStore::new(dir.path().join("root"));
    for key in ["../escape", "a/../../escape", "/tmp/abs", "a//b", "a/", ""] {
        let error = store.put(key, b"x").await.unwrap_err();
        assert_eq!(error.operation, "put");
        assert_eq!(error.resource, key);
        assert!(error.message.contains("key"), "{error}");
        assert!(store.get(key).await.is_err(), "get {key:?}");
        assert!(store.delete(key).await.is_err(), "delete {key:?}");
    }
    assert!(!dir.path().join("escape").exists());
    assert!(!dir.path().join("root").exists());
}

/// A writer keeps replacing one key with 1 MiB of one byte value, then another; readers must
/// only ever see a whole file of a single value.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readers_never_see_a_partly_written_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(DirStore::new(dir.path()));
    const SIZE: usize = 1 << 20;
    store.put("big", &vec![0u8; SIZE]).await.unwrap();

    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let (store, done) = (Arc::clone(&store), Arc::clone(&done));
        tokio::spawn(async move {
            for round in 1..=40u8 {
                store.put("big", &vec![round; SIZE]).await.unwrap();
            }
            done.store(true, Ordering::SeqCst);
        })
    };
    let mut reads = 0;
    while !done.load(Ordering::SeqCst) {
        let bytes = store.get("big").await.unwrap().unwrap();
        assert_eq!(bytes.len(), SIZE);
        assert!(bytes.iter().all(|&b| b == bytes[0]), "mixed file");
        reads += 1;
    }
    writer.await.unwrap();
    assert!(reads > 0);
    assert_eq!(store.list("").await.unwrap(), ["big"]);
}
