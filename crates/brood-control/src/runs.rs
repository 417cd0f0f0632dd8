//! The run history under a results folder, as `brood runs` and `brood serve` read it: runs whose
//! controller died are found first, marked, and their stored worker results merged.

use std::path::Path;

use brood_history::{History, HistoryError, RunRecord};

/// The history under `results`, with runs left `running` by a dead controller recovered; `None`
/// when no run was recorded there yet.
pub fn recovered(results: &Path) -> Result<Option<History>, HistoryError> {
    let path = results.join("history.db");
    if !path.exists() {
        return Ok(None);
    }
    let history = History::open(&path)?;
    let store = brood_local::DirStore::new(results.to_path_buf());
    if let Ok(rt) = crate::process::runtime() {
        rt.block_on(crate::distributed::recover(&history, &store, results));
    }
    Ok(Some(history))
}

/// The newest `limit` runs under `results`, recovered first; `None` when there are none yet.
pub fn list(results: &Path, limit: usize) -> Result<Option<Vec<RunRecord>>, HistoryError> {
    match recovered(results)? {
        None => Ok(None),
        Some(history) => history.list(limit).map(Some),
    }
}
