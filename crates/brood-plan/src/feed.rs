//! Data feeds: CSV files whose header names variables and whose rows users take in turn. The
//! scenario names the file; [`crate::load_scenario`] reads it next to the scenario file, so the
//! compiler and the plan stay free of I/O.

use std::path::{Component, Path, PathBuf};

use serde::de::{Deserialize, Deserializer};

use crate::error::Issue;
use crate::plan::{FeedExhausted, FeedOrder, FeedScope};
use crate::response::var_name;

/// A `feeds` item: which file, and how users take its rows.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedSpec {
    /// As written: relative to the scenario file's folder, or absolute.
    pub file: String,
    #[serde(default = "round_robin", deserialize_with = "order")]
    pub order: FeedOrder,
    #[serde(default = "per_user", deserialize_with = "scope")]
    pub per: FeedScope,
    /// Only for `order: unique`; `recycle` when not given.
    #[serde(default, deserialize_with = "exhausted")]
    pub when_exhausted: Option<FeedExhausted>,
    /// The file's contents, once read.
    #[serde(skip)]
    pub table: Option<FeedTable>,
}

/// The cells of a feed file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FeedTable {
    /// From the header row; each is a variable name.
    pub columns: Vec<String>,
    /// Never empty; each row has one cell per column.
    pub rows: Vec<Vec<String>>,
}

fn round_robin() -> FeedOrder {
    FeedOrder::RoundRobin
}

fn per_user() -> FeedScope {
    FeedScope::User
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum OrderName {
    RoundRobin,
    Random,
    Unique,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum ScopeName {
    Iteration,
    User,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "snake_case")]
enum ExhaustedName {
    Recycle,
    StopUser,
    StopRun,
}

fn order<'de, D: Deserializer<'de>>(d: D) -> Result<FeedOrder, D::Error> {
    Ok(match OrderName::deserialize(d)? {
        OrderName::RoundRobin => FeedOrder::RoundRobin,
        OrderName::Random => FeedOrder::Random,
        OrderName::Unique => FeedOrder::Unique,
    })
}

fn scope<'de, D: Deserializer<'de>>(d: D) -> Result<FeedScope, D::Error> {
    Ok(match ScopeName::deserialize(d)? {
        ScopeName::Iteration => FeedScope::Iteration,
        ScopeName::User => FeedScope::User,
    })
}

fn exhausted<'de, D: Deserializer<'de>>(d: D) -> Result<Option<FeedExhausted>, D::Error> {
    Ok(Some(match ExhaustedName::deserialize(d)? {
        ExhaustedName::Recycle => FeedExhausted::Recycle,
        ExhaustedName::StopUser => FeedExhausted::StopUser,
        ExhaustedName::StopRun => FeedExhausted::StopRun,
    }))
}

impl FeedSpec {
    /// Checks what the fields cannot on their own. Issue paths start at the feed.
    pub fn check(&self) -> Result<(), Issue> {
        if self.file.trim().is_empty() {
            return Err(Issue::new("empty file name").at_key("file"));
        }
        if self.when_exhausted.is_some() && self.order != FeedOrder::Unique {
            return Err(
                Issue::new("`when_exhausted` applies only to `order: unique`")
                    .hint("round_robin and random feeds never run out of rows")
                    .at_key("when_exhausted"),
            );
        }
        Ok(())
    }
}

/// Reads CSV text with a header row. `name` is the file as written, for messages.
pub fn read_table(text: &str, name: &str) -> Result<FeedTable, Issue> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::Headers)
        .from_reader(text.as_bytes());
    let csv_error = |e: csv::Error| Issue::new(format!("cannot read {name:?} as CSV: {e}"));
    let columns: Vec<String> = reader
        .headers()
        .map_err(csv_error)?
        .iter()
        .map(str::to_string)
        .collect();
    if columns.is_empty() || columns.iter().all(String::is_empty) {
        return Err(Issue::new(format!("the feed file {name:?} is empty"))
            .hint("its first line names the columns, e.g. username,password"));
    }
    for (i, column) in columns.iter().enumerate() {
        var_name(column).map_err(|issue| {
            Issue::new(format!(
                "column {} of {name:?} is named {column:?}, which is not a variable name",
                i + 1
            ))
            .hint(issue.hint.unwrap_or(issue.message))
        })?;
        if columns[..i].contains(column) {
            return Err(Issue::new(format!(
                "{name:?} has two columns named {column:?}"
            )));
        }
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(csv_error)?;
        if record.len() != columns.len() {
            let line = record.position().map_or(i + 2, |p| p.line() as usize);
            return Err(Issue::new(format!(
                "row {} (line {line}) of {name:?} has {} field(s), but the header has {}",
                i + 1,
                record.len(),
                columns.len()
            )));
        }
        rows.push(record.iter().map(str::to_string).collect());
    }
    if rows.is_empty() {
        return Err(Issue::new(format!(
            "the feed file {name:?} has a header but no rows"
        )));
    }
    Ok(FeedTable { columns, rows })
}

/// `name` inside `dir`, or an issue when it leads outside it. The lexical check comes first, so a
/// name outside is refused without touching the file system; the second check, on the real paths,
/// catches symbolic links that lead out.
pub(crate) fn confined(dir: &Path, name: &str) -> Result<PathBuf, Issue> {
    let outside = || {
        Issue::new(format!(
            "the feed file {name:?} is outside the folder feed files are read from"
        ))
        .hint(format!(
            "put it in {} or a folder below it, and name it relative to that folder",
            dir.display()
        ))
    };
    let mut inside = PathBuf::new();
    for part in Path::new(name).components() {
        match part {
            Component::Normal(p) => inside.push(p),
            Component::CurDir => {}
            Component::ParentDir => {
                if !inside.pop() {
                    return Err(outside());
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(outside()),
        }
    }
    let path = dir.join(&inside);
    let (Ok(real_dir), Ok(real_path)) = (dir.canonicalize(), path.canonicalize()) else {
        // Missing: reading it reports that, naming only what the scenario wrote.
        return Ok(path);
    };
    if !real_path.starts_with(&real_dir) {
        return Err(outside());
    }
    Ok(real_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_header_and_rows() {
        let table = read_table("\u{feff} term , n\nlamp,1\n\n\"red, shoes\",2\n", "t.csv").unwrap();
        assert_eq!(table.columns, ["term", "n"]);
        assert_eq!(table.rows, [["lamp", "1"], ["red, shoes", "2"]]);
    }

    #[test]
    fn rejects_broken_files() {
        let cases = [
            ("", "the feed file \"t.csv\" is empty"),
            ("term\n", "the feed file \"t.csv\" has a header but no rows"),
            (
                "a,b\n1,2\n3\n",
                "row 2 (line 3) of \"t.csv\" has 1 field(s), but the header has 2",
            ),
            (
                "first name\nx\n",
                "column 1 of \"t.csv\" is named \"first name\", which is not a variable name",
            ),
            ("a,a\n1,2\n", "\"t.csv\" has two columns named \"a\""),
        ];
        for (text, want) in cases {
            assert_eq!(
                read_table(text, "t.csv").unwrap_err().message,
                want,
                "{text:?}"
            );
        }
    }
}
