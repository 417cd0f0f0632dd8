//! The files a run writes: Locust's CSVs (kept current every second), the JSON summary and JUnit XML.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use brood_report::{
    summary, write_exceptions_csv, write_failures_csv, write_html_report, write_json_summary,
    write_junit, write_stats_csv, RunInfo, StatsHistoryWriter, ThresholdResult,
};
use brood_stats::{HistoryRow, RunStats};

use crate::settings::Outputs;

pub struct Files {
    prefix: Option<String>,
    history: Option<StatsHistoryWriter<BufWriter<File>>>,
    json: Option<PathBuf>,
    junit: Option<PathBuf>,
    html: Option<PathBuf>,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl Files {
    /// Opens the history CSV (its header is written at once), so a bad path fails before the run.
    pub fn create(outputs: &Outputs) -> Result<Files> {
        let history = match &outputs.csv_prefix {
            Some(prefix) => {
                let path = PathBuf::from(format!("{prefix}_stats_history.csv"));
                let file = create(&path)?;
                Some(
                    StatsHistoryWriter::new(BufWriter::new(file))
                        .with_context(|| format!("writing {}", path.display()))?,
                )
            }
            None => None,
        };
        for path in [&outputs.json, &outputs.junit, &outputs.html]
            .into_iter()
            .flatten()
        {
            // Fail now rather than after a long run, without emptying a file already there:
            // these are written whole at the end, or not at all.
            writable(path)?;
        }
        Ok(Files {
            prefix: outputs.csv_prefix.clone(),
            history,
            json: outputs.json.clone(),
            junit: outputs.junit.clone(),
            html: outputs.html.clone(),
        })
    }

    /// Appends this second's history rows and rewrites the stats CSV, as Locust does.
    pub fn every_second(&mut self, stats: &RunStats, rows: &[HistoryRow]) -> Result<()> {
        let Some(prefix) = self.prefix.clone() else {
            return Ok(());
        };
        if let Some(history) = &mut self.history {
            history
                .write_rows(rows)
                .context("writing the history CSV")?;
        }
        replace(&format!("{prefix}_stats.csv"), |w| {
            write_stats_csv(w, stats).map_err(Into::into)
        })
    }

    /// Writes every file in its final state; `regions` feed the HTML report's per-region part.
    #[allow(clippy::too_many_arguments)]
    pub fn finish(
        &mut self,
        stats: &RunStats,
        rows: &[HistoryRow],
        info: &RunInfo,
        results: &[ThresholdResult],
        elapsed: Duration,
        regions: &[(String, &RunStats)],
    ) -> Result<()> {
        self.every_second(stats, rows)?;
        if let Some(history) = self.history.take() {
            let mut inner = history.into_inner().context("writing the history CSV")?;
            inner.flush().context("writing the history CSV")?;
        }
        if let Some(prefix) = &self.prefix {
            replace(&format!("{prefix}_failures.csv"), |w| {
                write_failures_csv(w, stats).map_err(Into::into)
            })?;
            replace(&format!("{prefix}_exceptions.csv"), |w| {
                write_exceptions_csv(w, stats).map_err(Into::into)
            })?;
        }
        if let Some(path) = &self.json {
            let s = summary(info, stats, results);
            replace(&path.display().to_string(), |w| {
                write_json_summary(w, &s).map_err(Into::into)
            })?;
        }
        if let Some(path) = &self.html {
            replace(&path.display().to_string(), |w| {
                write_html_report(w, info, stats, results, regions).map_err(Into::into)
            })?;
        }
        if let Some(path) = &self.junit {
            replace(&path.display().to_string(), |w| {
                write_junit(w, results, elapsed).map_err(Into::into)
            })?;
        }
        Ok(())
    }
}

/// Whether a file can be written at `path`, tried with a probe beside it that is removed again.
fn writable(path: &Path) -> Result<()> {
    let mut probe = path.as_os_str().to_owned();
    probe.push(format!(".probe-{}", std::process::id()));
    let probe = PathBuf::from(probe);
    create(&probe)?;
    let _ = std::fs::remove_file(&probe);
    Ok(())
}

fn create(path: &Path) -> Result<File> {
    File::create(path).with_context(|| format!("cannot write {}", path.display()))
}

/// Writes a file whole through a temporary one, so a reader never sees half of it.
fn replace(path: &str, write: impl FnOnce(&mut BufWriter<File>) -> Result<()>) -> Result<()> {
    let tmp = format!("{path}.tmp");
    let mut w = BufWriter::new(create(Path::new(&tmp))?);
    let written = write(&mut w)
        .and_then(|()| w.flush().map_err(Into::into))
        .with_context(|| format!("writing {path}"));
    drop(w);
    // A file that could not be written whole leaves no half of itself behind.
    let done = written
        .and_then(|()| std::fs::rename(&tmp, path).with_context(|| format!("cannot write {path}")));
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done
}
