//! Turning SQLite, file-system and task failures into `BackendError`, and deciding which of them
//! are worth retrying.

use std::io;

use brood_cluster::BackendError;

pub(crate) fn failure(
    operation: &'static str,
    resource: impl Into<String>,
    message: impl Into<String>,
) -> BackendError {
    BackendError {
        operation,
        resource: resource.into(),
        message: message.into(),
        transient: false,
    }
}

/// A database that stayed locked past the busy timeout may well be free on the next try; every
/// other SQLite error (a corrupt file, a full disk, a bad statement) will fail again.
pub(crate) fn from_sqlite(
    operation: &'static str,
    resource: impl Into<String>,
    error: rusqlite::Error,
) -> BackendError {
    let transient = matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    );
    BackendError {
        transient,
        ..failure(operation, resource, error.to_string())
    }
}

pub(crate) fn from_io(
    operation: &'static str,
    resource: impl Into<String>,
    error: &io::Error,
) -> BackendError {
    let transient = matches!(
        error.kind(),
        io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    );
    BackendError {
        transient,
        ..failure(operation, resource, error.to_string())
    }
}

/// A blocking task that panicked or was cancelled because the runtime is shutting down.
pub(crate) fn from_join(
    operation: &'static str,
    resource: impl Into<String>,
    error: tokio::task::JoinError,
) -> BackendError {
    failure(
        operation,
        resource,
        format!("blocking task did not finish: {error}"),
    )
}
