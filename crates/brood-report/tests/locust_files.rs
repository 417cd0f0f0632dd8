//! The four Locust CSV files, parsed back with a CSV reader: exact headers, order and cells.

mod fixture;

use brood_report::{
    write_exceptions_csv, write_failures_csv, write_stats_csv, StatsHistoryWriter,
    EXCEPTIONS_HEADER, FAILURES_HEADER, STATS_HEADER, STATS_HISTORY_HEADER,
};
use brood_stats::RunStats;
use fixture::{run, T0};

/// The raw header line and the parsed data rows.
fn parse(bytes: &[u8]) -> (String, Vec<Vec<String>>) {
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let header = text.split("\r\n").next().unwrap().to_owned();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes);
    let rows = reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

fn cells(row: &[String]) -> Vec<&str> {
    row.iter().map(String::as_str).collect()
}

#[test]
fn headers_are_locusts() {
    assert_eq!(STATS_HEADER, "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%");
    assert_eq!(STATS_HISTORY_HEADER, "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size");
    assert_eq!(
        FAILURES_HEADER,
        "Method,Name,Error,Occurrences,First Seen,Last Seen"
    );
    assert_eq!(EXCEPTIONS_HEADER, "Count,Message,Traceback,Nodes");
}

#[test]
fn stats_csv_rows() {
    let mut out = Vec::new();
    write_stats_csv(&mut out, &run(false)).unwrap();
    assert!(
        out.starts_with(format!("{STATS_HEADER}\r\n").as_bytes()),
        "header unquoted, CRLF"
    );
    let (header, rows) = parse(&out);
    assert_eq!(header, STATS_HEADER);
    let rows: Vec<Vec<&str>> = rows.iter().map(|r| cells(r)).collect();
    assert_eq!(
        rows,
        [
            vec![
                "GET", "/a", "10", "2", "50", "55.0", "10", "100", "1000.0", "2.0", "0.4", "50",
                "70", "80", "80", "90", "100", "100", "100", "100", "100", "100"
            ],
            vec![
                "POST", "/a", "4", "1", "200", "200.0", "200", "200", "0.0", "0.8", "0.2", "200",
                "200", "200", "200", "200", "200", "200", "200", "200", "200", "200"
            ],
            vec![
                "GET", "/b", "1", "0", "2", "1.5", "2", "2", "0.0", "0.2", "0.0", "2", "2", "2",
                "2", "2", "2", "2", "2", "2", "2", "2"
            ],
            vec![
                "GET", "/empty", "0", "0", "0", "0.0", "0", "0", "0.0", "0.0", "0.0", "N/A", "N/A",
                "N/A", "N/A", "N/A", "N/A", "N/A", "N/A", "N/A", "N/A", "N/A"
            ],
            vec![
                "",
                "Aggregated",
                "15",
                "3",
                "70",
                "90.1",
                "2",
                "200",
                "666.6666666666666",
                "3.0",
                "0.6",
                "70",
                "90",
                "200",
                "200",
                "200",
                "200",
                "200",
                "200",
                "200",
                "200",
                "200"
            ],
        ]
    );
}

#[test]
fn stats_csv_of_an_idle_run() {
    let mut out = Vec::new();
    write_stats_csv(&mut out, &RunStats::new(T0)).unwrap();
    let (_, rows) = parse(&out);
    assert_eq!(rows.len(), 1);
    assert_eq!(&rows[0][..4], ["", "Aggregated", "0", "0"]);
    assert_eq!(rows[0][11], "N/A");
}

#[test]
fn history_writes_its_header_once_and_appends() {
    let mut stats = RunStats::new(T0);
    let mut writer = StatsHistoryWriter::new(Vec::new()).unwrap();
    stats.set_users(3);
    writer.write_rows(stats.tick(T0 + 1_000)).unwrap();
    stats.add(&fixture::delta());
    writer.write_rows(stats.tick(T0 + 6_000)).unwrap();
    let out = writer.into_inner().unwrap();
    let (header, rows) = parse(&out);
    assert_eq!(header, STATS_HISTORY_HEADER);
    assert_eq!(
        String::from_utf8_lossy(&out).matches("Timestamp").count(),
        1
    );
    assert_eq!(rows.len(), 2);
    let ts = (T0 / 1000 + 1).to_string();
    let mut idle = vec![ts.as_str(), "3", "", "Aggregated", "0.000000", "0.000000"];
    idle.extend(["N/A"; 11]);
    idle.extend(["0", "0", "0", "0.0", "0", "0", "0.0"]);
    assert_eq!(cells(&rows[0]), idle);
    // The only delta ends at T0 + 5 s; at T0 + 6 s its second is the whole window.
    let ts = (T0 / 1000 + 6).to_string();
    let busy = [
        ts.as_str(),
        "3",
        "",
        "Aggregated",
        "15.000000",
        "3.000000",
        "70",
        "90",
        "200",
        "200",
        "200",
        "200",
        "200",
        "200",
        "200",
        "200",
        "200",
        "15",
        "3",
        "70",
        "90.1",
        "2",
        "200",
        "666.6666666666666",
    ];
    assert_eq!(cells(&rows[1]), busy);
}

#[test]
fn full_history_has_a_row_per_entry() {
    let mut stats = run(true);
    let mut writer = StatsHistoryWriter::new(Vec::new()).unwrap();
    writer.write_rows(stats.tick(T0 + 6_000)).unwrap();
    let (_, rows) = parse(&writer.into_inner().unwrap());
    let labels: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[2].as_str(), r[3].as_str()))
        .collect();
    assert_eq!(
        labels,
        [
            ("GET", "/a"),
            ("POST", "/a"),
            ("GET", "/b"),
            ("GET", "/empty"),
            ("", "Aggregated")
        ]
    );
    assert_eq!(&rows[0][4..8], ["10.000000", "2.000000", "50", "70"]);
    assert_eq!(rows[3][6], "N/A");
}

#[test]
fn failures_csv_in_utc() {
    let mut out = Vec::new();
    write_failures_csv(&mut out, &run(false)).unwrap();
    let (header, rows) = parse(&out);
    assert_eq!(header, FAILURES_HEADER);
    assert_eq!(
        rows,
        [
            [
                "GET",
                "/a",
                "HTTP 500",
                "2",
                "2023-11-14T22:13:21Z",
                "2023-11-14T22:13:23Z"
            ],
            [
                "POST",
                "/a",
                "timeout, after 30s",
                "1",
                "2023-11-14T22:13:22Z",
                "2023-11-14T22:13:22Z"
            ],
        ]
    );
    assert!(
        String::from_utf8(out)
            .unwrap()
            .contains("\"timeout, after 30s\""),
        "quoted only when needed"
    );
}

#[test]
fn exceptions_csv_joins_nodes() {
    let mut out = Vec::new();
    write_exceptions_csv(&mut out, &run(false)).unwrap();
    let (header, rows) = parse(&out);
    assert_eq!(header, EXCEPTIONS_HEADER);
    assert_eq!(
        rows,
        [["2", "extraction failed: $.id", "line 1\nline 2", "w1, w2"]]
    );
}
