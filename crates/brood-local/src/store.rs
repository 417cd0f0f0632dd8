//! [`DirStore`]: artifacts as files under one directory, a key's `/`-separated segments becoming
//! nested directories.
//!
//! A put writes a temporary file in `<root>/.staging/`, fsyncs it and renames it over the key's
//! path. Rename within one file system is atomic, so a reader sees the old bytes or the new ones,
//! never a partial file, even when the writer dies halfway. `.staging` is reserved: no key may
//! start with it, and `list` never shows it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use brood_cluster::{ArtifactStore, BackendError};

use crate::failure::{failure, from_io, from_join};

/// The directory under the root that holds files being written.
const STAGING: &str = ".staging";

/// An [`ArtifactStore`] over a local directory. The directory is created on the first put.
#[derive(Clone, Debug)]
pub struct DirStore {
    root: PathBuf,
}

impl DirStore {
    pub fn new(root: impl Into<PathBuf>) -> DirStore {
        DirStore { root: root.into() }
    }

    /// The directory keys live under.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Runs file-system `work` on tokio's blocking pool: artifacts can be large, and a slow disk
    /// must not stall the runtime's threads.
    async fn blocking<T: Send + 'static>(
        operation: &'static str,
        key: &str,
        work: impl FnOnce() -> Result<T, BackendError> + Send + 'static,
    ) -> Result<T, BackendError> {
        tokio::task::spawn_blocking(work)
            .await
            .map_err(|error| from_join(operation, key, error))?
    }
}

/// Why `key` cannot name a file under the root, or `None` when it can.
fn key_problem(key: &str) -> Option<&'static str> {
    if key.is_empty() {
        return Some("key is empty");
    }
    if key.starts_with('/') {
        return Some("key must be relative, not start with `/`");
    }
    if key.contains('\\') || key.contains('\0') {
        return Some("key must not contain `\\` or NUL");
    }
    let mut segments = key.split('/');
    if segments.clone().next() == Some(STAGING) {
        return Some("keys under `.staging/` are reserved for files being written");
    }
    segments.find_map(|segment| match segment {
        "" => Some("key has an empty segment (`//` or a trailing `/`)"),
        "." | ".." => Some("key has a `.` or `..` segment"),
        _ => None,
    })
}

fn check_key(operation: &'static str, key: &str) -> Result<(), BackendError> {
    match key_problem(key) {
        Some(problem) => Err(failure(operation, key, problem)),
        None => Ok(()),
    }
}

fn write_atomically(root: &Path, key: &str, bytes: &[u8]) -> io::Result<()> {
    let target = root.join(key);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent)?;
    }
    let staging = root.join(STAGING);
    fs::create_dir_all(&staging)?;
    let temporary = staging.join(format!("{:032x}", rand::random::<u128>()));
    let written = (|| {
        let mut file = fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        // Without the fsync a crash after the rename could leave the key naming an empty file.
        file.sync_all()?;
        fs::rename(&temporary, &target)
    })();
    if written.is_err() {
        // Best effort: the temporary file is invisible to readers either way.
        let _ = fs::remove_file(&temporary);
    }
    written
}

fn read(root: &Path, key: &str) -> io::Result<Option<Vec<u8>>> {
    let path = root.join(key);
    match fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        // A directory is a prefix of other keys, not a key.
        Err(error) if error.kind() == io::ErrorKind::NotFound || path.is_dir() => Ok(None),
        // `a/b` when `a` is a file.
        Err(error) if error.kind() == io::ErrorKind::NotADirectory => Ok(None),
        Err(error) => Err(error),
    }
}

/// Every file under `dir`, as keys relative to the root, into `keys`.
fn walk(dir: &Path, key_prefix: &str, keys: &mut Vec<String>) -> io::Result<()> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            return Ok(())
        }
        Err(error) => return Err(error),
    };
    for entry in entries {
        let entry = entry?;
        // Names that are not UTF-8 were not written through this store.
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        if key_prefix.is_empty() && name == STAGING {
            continue;
        }
        let key = format!("{key_prefix}{name}");
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(&entry.path(), &format!("{key}/"), keys)?;
        } else if kind.is_file() {
            keys.push(key);
        }
    }
    Ok(())
}

fn list(root: &Path, prefix: &str) -> io::Result<Vec<String>> {
    // Only the directory part of the prefix needs walking; the rest is matched as text, so
    // `runs/ab` finds `runs/abc/x` as an object store would.
    let directory = prefix.rfind('/').map_or("", |slash| &prefix[..=slash]);
    let mut keys = Vec::new();
    walk(&root.join(directory), directory, &mut keys)?;
    keys.retain(|key| key.starts_with(prefix));
    keys.sort_unstable();
    Ok(keys)
}

fn remove(root: &Path, key: &str) -> io::Result<()> {
    match fs::remove_file(root.join(key)) {
        Err(error)
            if matches!(
                error.kind(),
                io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(())
        }
        other => other,
    }
}

#[async_trait]
impl ArtifactStore for DirStore {
    async fn put(&self, key: &str, bytes: &[u8]) -> Result<(), BackendError> {
        check_key("put", key)?;
        let (root, owned, bytes) = (self.root.clone(), key.to_owned(), bytes.to_vec());
        DirStore::blocking("put", key, move || {
            write_atomically(&root, &owned, &bytes).map_err(|error| from_io("put", owned, &error))
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, BackendError> {
        check_key("get", key)?;
        let (root, owned) = (self.root.clone(), key.to_owned());
        DirStore::blocking("get", key, move || {
            read(&root, &owned).map_err(|error| from_io("get", owned, &error))
        })
        .await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, BackendError> {
        // A prefix may end in `/` or part-way through a segment, but may not climb out.
        if prefix.starts_with('/') || prefix.split('/').any(|s| s == "..") {
            return Err(failure(
                "list",
                prefix,
                "prefix must be relative and have no `..` segment",
            ));
        }
        let (root, owned) = (self.root.clone(), prefix.to_owned());
        DirStore::blocking("list", prefix, move || {
            list(&root, &owned).map_err(|error| from_io("list", owned, &error))
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), BackendError> {
        check_key("delete", key)?;
        let (root, owned) = (self.root.clone(), key.to_owned());
        DirStore::blocking("delete", key, move || {
            remove(&root, &owned).map_err(|error| from_io("delete", owned, &error))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::key_problem;

    #[test]
    fn keys_that_name_files_under_the_root_are_accepted() {
        for key in ["a", "runs/r1/local-a/w1/stats.csv", "a.b/c..d/.hidden"] {
            assert_eq!(key_problem(key), None, "{key}");
        }
    }

    #[test]
    fn keys_that_escape_or_are_ambiguous_are_rejected() {
        for key in [
            "",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/./b",
            "a//b",
            "a/",
            "a\\b",
            ".staging/x",
        ] {
            assert!(key_problem(key).is_some(), "{key:?} was accepted");
        }
    }
}
