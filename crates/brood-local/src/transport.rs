//! [`SqliteTransport`]: queues with SQS semantics in one SQLite file that the controller and every
//! worker process open at once.
//!
//! A message row is visible when its `visible_at_ms` has passed. Receiving claims rows inside one
//! `BEGIN IMMEDIATE` transaction, which holds SQLite's single write lock for the whole
//! select-and-update, so two connections (in one process or many) can never claim the same row
//! in the same visibility window. A claim gives the row a fresh random receipt, which is why an
//! `ack` or `extend` from a receiver whose claim expired finds nothing to touch. A `receive`
//! dropped while its claim is in flight may hide what it claimed until the visibility timeout
//! ends; nothing is lost, as with any receiver that goes away.
//!
//! Visibility is measured on the wall clock (milliseconds since the Unix epoch) because it is the
//! one clock every process on the machine shares. A clock stepped backwards keeps messages hidden
//! longer, never delivers one twice within its window.
//!
//! Durability: the journal is a write-ahead log with `synchronous=FULL`, so every committed
//! transaction is fsynced before `send`, `receive` or `ack` returns. A killed process cannot lose
//! a commit under `NORMAL` either (the log is already in the kernel's page cache), but a power cut
//! or kernel panic could roll back the last commits, and a rolled-back `send` is a lost job or
//! stats delta. The queues carry a few messages per worker per second, so one fsync per commit
//! costs nothing that matters, and idle long polls never write (see [`claim`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use brood_cluster::{BackendError, Delivery, QueueName, Transport};
use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};

use crate::failure::{failure, from_join, from_sqlite};

/// The database's file name inside a backend directory: `<dir>/queues.db`.
pub const QUEUES_FILE: &str = "queues.db";

/// How long a statement waits for another connection's write lock before giving up with a
/// transient error. Writers hold it for a few milliseconds, so reaching this means trouble.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How often a long poll looks again for a visible message.
const POLL_INTERVAL: Duration = Duration::from_millis(25);

/// Opening races with other processes switching the same new file to WAL, which SQLite reports
/// as busy without waiting; a few short retries settle it.
const OPEN_ATTEMPTS: u32 = 50;
const OPEN_RETRY_DELAY: Duration = Duration::from_millis(20);

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    created_ms INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    body BLOB NOT NULL,
    visible_at_ms INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT
) STRICT;
CREATE INDEX IF NOT EXISTS messages_visible ON messages (queue, visible_at_ms);
CREATE UNIQUE INDEX IF NOT EXISTS messages_receipt ON messages (receipt);
";

/// A [`Transport`] over one SQLite database file shared by processes.
///
/// Each value holds one connection; clones share it. Separate processes (or separate values in
/// one process) each open their own and coordinate through SQLite's file locks.
#[derive(Clone, Debug)]
pub struct SqliteTransport {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    path: PathBuf,
    db: Mutex<Connection>,
}

impl SqliteTransport {
    /// Opens (creating when needed) the queue database at `path`, switching it to WAL and
    /// creating its tables. Blocks for the few milliseconds that takes.
    pub fn open(path: impl Into<PathBuf>) -> Result<SqliteTransport, BackendError> {
        let path = path.into();
        let resource = path.display().to_string();
        let mut attempt = 1;
        let db = loop {
            match connect(&path) {
                Ok(db) => break db,
                Err(error) if is_busy(&error) && attempt < OPEN_ATTEMPTS => {
                    attempt += 1;
                    std::thread::sleep(OPEN_RETRY_DELAY);
                }
                Err(error) => return Err(from_sqlite("open queue database", resource, error)),
            }
        };
        let journal: String = db
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .map_err(|error| from_sqlite("open queue database", resource.clone(), error))?;
        if !journal.eq_ignore_ascii_case("wal") {
            return Err(failure(
                "open queue database",
                resource,
                format!("the file system refused a write-ahead log (journal mode is {journal}); put the directory on a local disk"),
            ));
        }
        Ok(SqliteTransport {
            shared: Arc::new(Shared {
                path,
                db: Mutex::new(db),
            }),
        })
    }

    /// Opens `<dir>/queues.db`, creating `dir` when needed: the form every process of a local
    /// run uses, given the same `--dir`.
    pub fn open_in(dir: &Path) -> Result<SqliteTransport, BackendError> {
        std::fs::create_dir_all(dir).map_err(|error| {
            crate::failure::from_io(
                "create backend directory",
                dir.display().to_string(),
                &error,
            )
        })?;
        SqliteTransport::open(dir.join(QUEUES_FILE))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.shared.path
    }

    /// Runs `work` on this value's connection on tokio's blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        operation: &'static str,
        queue: &QueueName,
        work: impl FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> Result<T, BackendError> {
        let shared = Arc::clone(&self.shared);
        let result = tokio::task::spawn_blocking(move || {
            // A panic inside `work` rolled its transaction back as it unwound, so the
            // connection behind a poisoned lock is still sound.
            let mut db = shared.db.lock().unwrap_or_else(PoisonError::into_inner);
            work(&mut db)
        })
        .await
        .map_err(|error| from_join(operation, &queue.0, error))?;
        result.map_err(|error| {
            let mut failure = from_sqlite(operation, &queue.0, error);
            // "disk I/O error" or "database or disk is full" alone name nothing to look at.
            failure.message = format!(
                "{} (the queue database {})",
                failure.message,
                self.shared.path.display()
            );
            failure
        })
    }
}

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let db = Connection::open(path)?;
    db.busy_timeout(BUSY_TIMEOUT)?;
    db.pragma_update(None, "journal_mode", "WAL")?;
    db.pragma_update(None, "synchronous", "FULL")?;
    db.execute_batch(SCHEMA)?;
    Ok(db)
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// 128 random bits: no receiver can guess another's receipt, and a receipt never repeats.
fn new_receipt() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn no_such_queue(operation: &'static str, queue: &QueueName) -> BackendError {
    failure(
        operation,
        &queue.0,
        "no such queue (ensure_queue creates it)",
    )
}

fn check_name(operation: &'static str, queue: &QueueName) -> Result<(), BackendError> {
    if queue.0.is_empty() {
        return Err(failure(operation, "", "queue name is empty"));
    }
    Ok(())
}

/// One attempt at a receive. `None` when the queue does not exist.
///
/// A plain read looks first, so a receiver polling an empty queue never takes the write lock or
/// writes to the log; only when something is visible does it open the `IMMEDIATE` transaction,
/// which then re-selects under the lock and claims what is still there.
fn claim(
    db: &mut Connection,
    queue: &str,
    max: usize,
    visibility: Duration,
) -> rusqlite::Result<Option<Vec<Delivery>>> {
    let ready: Option<bool> = db
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM messages WHERE queue = ?1 AND visible_at_ms <= ?2)
             FROM queues WHERE name = ?1",
            params![queue, now_ms()],
            |row| row.get(0),
        )
        .optional()?;
    match ready {
        None => return Ok(None),
        Some(false) => return Ok(Some(Vec::new())),
        Some(true) => {}
    }

    let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // The clock is read under the lock: the window starts when the claim is made, not when the
    // receiver began waiting for the lock.
    let now = now_ms();
    let limit = i64::try_from(max).unwrap_or(i64::MAX);
    let ids = {
        let mut select = tx.prepare_cached(
            "SELECT id FROM messages WHERE queue = ?1 AND visible_at_ms <= ?2 ORDER BY id LIMIT ?3",
        )?;
        let rows = select.query_map(params![queue, now, limit], |row| row.get::<_, i64>(0))?;
        rows.collect::<rusqlite::Result<Vec<i64>>>()?
    };
    let visible_at = now.saturating_add(millis(visibility));
    let mut deliveries = Vec::with_capacity(ids.len());
    {
        let mut update = tx.prepare_cached(
            "UPDATE messages SET receipt = ?1, visible_at_ms = ?2, receive_count = receive_count + 1
             WHERE id = ?3 RETURNING body, receive_count",
        )?;
        for id in ids {
            let receipt = new_receipt();
            let (body, receive_count) = update
                .query_row(params![receipt, visible_at, id], |row| {
                    Ok((row.get::<_, Vec<u8>>(0)?, row.get::<_, u32>(1)?))
                })?;
            deliveries.push(Delivery {
                body,
                receipt,
                receive_count,
            });
        }
    }
    tx.commit()?;
    Ok(Some(deliveries))
}

#[async_trait]
impl Transport for SqliteTransport {
    async fn ensure_queue(&self, queue: &QueueName) -> Result<(), BackendError> {
        check_name("ensure queue", queue)?;
        let name = queue.0.clone();
        self.blocking("ensure queue", queue, move |db| {
            db.execute(
                "INSERT OR IGNORE INTO queues (name, created_ms) VALUES (?1, ?2)",
                params![name, now_ms()],
            )
        })
        .await?;
        Ok(())
    }

    async fn send(&self, queue: &QueueName, body: &[u8]) -> Result<(), BackendError> {
        check_name("send", queue)?;
        let name = queue.0.clone();
        let body = body.to_vec();
        // Inserting through a select of the queue row checks existence and inserts in one
        // statement, so a concurrent delete_queue cannot leave an orphan message.
        let inserted = self
            .blocking("send", queue, move |db| {
                db.execute(
                    "INSERT INTO messages (queue, body, visible_at_ms)
                     SELECT name, ?2, ?3 FROM queues WHERE name = ?1",
                    params![name, body, now_ms()],
                )
            })
            .await?;
        if inserted == 0 {
            return Err(no_such_queue("send", queue));
        }
        Ok(())
    }

    async fn receive(
        &self,
        queue: &QueueName,
        max: usize,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Delivery>, BackendError> {
        check_name("receive", queue)?;
        if max == 0 {
            return Ok(Vec::new());
        }
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let name = queue.0.clone();
            let claimed = self
                .blocking("receive", queue, move |db| {
                    claim(db, &name, max, visibility)
                })
                .await?;
            match claimed {
                None => return Err(no_such_queue("receive", queue)),
                Some(deliveries) if !deliveries.is_empty() => return Ok(deliveries),
                Some(_) => {}
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                return Ok(Vec::new());
            }
            tokio::time::sleep(POLL_INTERVAL.min(deadline - now)).await;
        }
    }

    async fn ack(&self, queue: &QueueName, receipt: &str) -> Result<(), BackendError> {
        let name = queue.0.clone();
        let receipt = receipt.to_owned();
        self.blocking("ack", queue, move |db| {
            db.execute(
                "DELETE FROM messages WHERE queue = ?1 AND receipt = ?2",
                params![name, receipt],
            )
        })
        .await?;
        Ok(())
    }

    async fn extend(
        &self,
        queue: &QueueName,
        receipt: &str,
        visibility: Duration,
    ) -> Result<(), BackendError> {
        let name = queue.0.clone();
        let receipt = receipt.to_owned();
        let updated = self
            .blocking("extend", queue, move |db| {
                db.execute(
                    "UPDATE messages SET visible_at_ms = ?3 WHERE queue = ?1 AND receipt = ?2",
                    params![name, receipt, now_ms().saturating_add(millis(visibility))],
                )
            })
            .await?;
        if updated == 0 {
            return Err(failure(
                "extend",
                &queue.0,
                "the receipt no longer holds a message: it was acknowledged, or the message \
                 came back and another receiver took it",
            ));
        }
        Ok(())
    }

    async fn delete_queue(&self, queue: &QueueName) -> Result<(), BackendError> {
        let name = queue.0.clone();
        self.blocking("delete queue", queue, move |db| {
            let tx = db.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute("DELETE FROM messages WHERE queue = ?1", params![name])?;
            tx.execute("DELETE FROM queues WHERE name = ?1", params![name])?;
            tx.commit()
        })
        .await
    }
}
