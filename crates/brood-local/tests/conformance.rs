//! The local backends pass brood-cluster's conformance suites, the same checks every backend
//! passes.

use brood_cluster::conformance::{store_suite, transport_suite};
use brood_local::{DirStore, SqliteTransport};

#[tokio::test]
async fn sqlite_transport_passes_the_transport_suite() {
    let dir = tempfile::tempdir().unwrap();
    let transport = SqliteTransport::open_in(dir.path()).unwrap();
    transport_suite(&transport, "conformance").await;
}

#[tokio::test]
async fn dir_store_passes_the_store_suite_and_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    store_suite(&DirStore::new(dir.path()), "conformance").await;
    let staged = std::fs::read_dir(dir.path().join(".staging"))
        .unwrap()
        .count();
    assert_eq!(staged, 0, "temporary files left behind");
}
