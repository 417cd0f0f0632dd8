//! Run history: every run's settings, status and headline figures in an embedded SQLite database
//! that outlives the controller. A run still marked running whose controller process is gone was
//! interrupted; [`History::orphaned`] finds those so their stored results can be merged or the run
//! clearly marked.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("run history database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error("run history: {0}")]
    Query(#[from] rusqlite::Error),
    #[error("run history: stored settings of run {run} are unreadable: {source}")]
    Settings {
        run: String,
        source: serde_json::Error,
    },
}

/// Where a run stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Completed,
    Stopped,
    Aborted,
    Failed,
    /// The controller died while the run was in flight.
    Interrupted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "running",
            Status::Completed => "completed",
            Status::Stopped => "stopped",
            Status::Aborted => "aborted",
            Status::Failed => "failed",
            Status::Interrupted => "interrupted",
        }
    }

    fn parse(s: &str) -> Status {
        match s {
            "running" => Status::Running,
            "completed" => Status::Completed,
            "stopped" => Status::Stopped,
            "aborted" => Status::Aborted,
            "interrupted" => Status::Interrupted,
            _ => Status::Failed,
        }
    }
}

/// The figures a list of runs shows.
pub use brood_stats::Headline;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub started_ms: u64,
    pub ended_ms: Option<u64>,
    pub status: Status,
    /// `local`, `aws`, or `single` for a one-process run.
    pub backend: String,
    pub regions: Vec<String>,
    /// The run's settings as the controller saw them (plan, flags), for "run again".
    pub settings: serde_json::Value,
    /// Where its files are.
    pub results_dir: String,
    pub controller_pid: u32,
    pub headline: Option<Headline>,
    /// Why it failed or what was recovered.
    pub note: Option<String>,
}

#[derive(Debug)]
pub struct History {
    db: Connection,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    started_ms INTEGER NOT NULL,
    ended_ms INTEGER,
    status TEXT NOT NULL,
    backend TEXT NOT NULL,
    regions TEXT NOT NULL,
    settings TEXT NOT NULL,
    results_dir TEXT NOT NULL,
    controller_pid INTEGER NOT NULL,
    headline TEXT,
    note TEXT
);
CREATE INDEX IF NOT EXISTS runs_started ON runs (started_ms);
";

impl History {
    /// Opens (creating when needed) the history at `path`.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let open_error = |source| HistoryError::Open {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let db = Connection::open(path).map_err(open_error)?;
        db.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(open_error)?;
        db.pragma_update(None, "journal_mode", "WAL")
            .map_err(open_error)?;
        db.execute_batch(SCHEMA).map_err(open_error)?;
        Ok(History { db })
    }

    /// Records a run that is starting.
    pub fn start(&self, run: &RunRecord) -> Result<(), HistoryError> {
        self.db.execute(
            "INSERT OR REPLACE INTO runs (id, started_ms, ended_ms, status, backend, regions, \
             settings, results_dir, controller_pid, headline, note) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                run.id,
                run.started_ms as i64,
                run.ended_ms.map(|m| m as i64),
                run.status.as_str(),
                run.backend,
                run.regions.join(","),
                run.settings.to_string(),
                run.results_dir,
                run.controller_pid as i64,
                run.headline
                    .as_ref()
                    .map(|h| serde_json::to_string(h).unwrap_or_default()),
                run.note,
            ],
        )?;
        Ok(())
    }

    /// Records how a run ended.
    pub fn finish(
        &self,
        id: &str,
        status: Status,
        ended_ms: u64,
        headline: Option<&Headline>,
        note: Option<&str>,
    ) -> Result<(), HistoryError> {
        let headline = headline.map(|h| serde_json::to_string(h).unwrap_or_default());
        self.db.execute(
            "UPDATE runs SET status = ?2, ended_ms = ?3, headline = COALESCE(?4, headline), \
             note = COALESCE(?5, note) WHERE id = ?1",
            params![id, status.as_str(), ended_ms as i64, headline, note],
        )?;
        Ok(())
    }

    pub fn get(&self, id: &str) -> Result<Option<RunRecord>, HistoryError> {
        let mut stmt = self.db.prepare(&format!("{SELECT} WHERE id = ?1"))?;
        let row = stmt.query_row([id], raw).optional()?;
        row.map(record).transpose()
    }

    /// The newest runs first.
    pub fn list(&self, limit: usize) -> Result<Vec<RunRecord>, HistoryError> {
        let mut stmt = self.db.prepare(&format!(
            "{SELECT} ORDER BY started_ms DESC, id DESC LIMIT ?1"
        ))?;
        let rows = stmt
            .query_map([limit as i64], raw)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(record).collect()
    }

    /// Runs still `running` whose controller process is gone (`alive` says which pids run),
    /// unchanged: the caller merges what their workers stored and then [`finish`](Self::finish)es
    /// them, or leaves them running with a [`note`](Self::note) while workers may still store.
    pub fn orphaned(&self, alive: impl Fn(u32) -> bool) -> Result<Vec<RunRecord>, HistoryError> {
        let mut stmt = self
            .db
            .prepare(&format!("{SELECT} WHERE status = 'running'"))?;
        let rows = stmt.query_map([], raw)?.collect::<Result<Vec<_>, _>>()?;
        let mut found = Vec::new();
        for row in rows {
            let run = record(row)?;
            if !alive(run.controller_pid) {
                found.push(run);
            }
        }
        Ok(found)
    }

    /// Sets a run's note, leaving its status as it is.
    pub fn note(&self, id: &str, note: &str) -> Result<(), HistoryError> {
        self.db
            .execute("UPDATE runs SET note = ?2 WHERE id = ?1", params![id, note])?;
        Ok(())
    }
}

const SELECT: &str = "SELECT id, started_ms, ended_ms, status, backend, regions, settings, \
                      results_dir, controller_pid, headline, note FROM runs";

type Raw = (
    String,
    i64,
    Option<i64>,
    String,
    String,
    String,
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
);

fn raw(row: &rusqlite::Row<'_>) -> rusqlite::Result<Raw> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
        row.get(7)?,
        row.get(8)?,
        row.get(9)?,
        row.get(10)?,
    ))
}

fn record(r: Raw) -> Result<RunRecord, HistoryError> {
    let (id, started, ended, status, backend, regions, settings, dir, pid, headline, note) = r;
    let settings = serde_json::from_str(&settings).map_err(|source| HistoryError::Settings {
        run: id.clone(),
        source,
    })?;
    Ok(RunRecord {
        started_ms: started as u64,
        ended_ms: ended.map(|m| m as u64),
        status: Status::parse(&status),
        backend,
        regions: regions
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
        settings,
        results_dir: dir,
        controller_pid: pid as u32,
        headline: headline.and_then(|h| serde_json::from_str(&h).ok()),
        note,
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, started: u64, pid: u32) -> RunRecord {
        RunRecord {
            id: id.into(),
            started_ms: started,
            ended_ms: None,
            status: Status::Running,
            backend: "local".into(),
            regions: vec!["local-a".into(), "local-b".into()],
            settings: serde_json::json!({"users": 10}),
            results_dir: format!("runs/{id}"),
            controller_pid: pid,
            headline: None,
            note: None,
        }
    }

    #[test]
    fn survives_reopening_and_recovers_interrupted_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        {
            let h = History::open(&path).unwrap();
            h.start(&run("a", 1, 100)).unwrap();
            h.start(&run("b", 2, 200)).unwrap();
            h.start(&run("c", 3, 300)).unwrap();
            let headline = Headline {
                requests: 10,
                p95_ms: 3.5,
                ..Headline::default()
            };
            h.finish("a", Status::Completed, 9, Some(&headline), None)
                .unwrap();
        }
        let h = History::open(&path).unwrap();
        let all = h.list(10).unwrap();
        assert_eq!(
            all.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(),
            ["c", "b", "a"]
        );
        let a = h.get("a").unwrap().unwrap();
        assert_eq!(a.status, Status::Completed);
        assert_eq!(a.headline.unwrap().requests, 10);
        assert_eq!(a.regions, ["local-a", "local-b"]);
        assert_eq!(a.settings["users"], 10);
        // b's controller (pid 200) is gone, c's (300) still runs.
        let orphaned = h.orphaned(|pid| pid == 300).unwrap();
        assert_eq!(orphaned.len(), 1);
        assert_eq!(orphaned[0].id, "b");
        h.note("b", "recovery pending").unwrap();
        let b = h.get("b").unwrap().unwrap();
        assert_eq!(
            (b.status, b.note.as_deref()),
            (Status::Running, Some("recovery pending"))
        );
        assert_eq!(h.get("c").unwrap().unwrap().status, Status::Running);
        assert!(h.get("zzz").unwrap().is_none());
    }
}
