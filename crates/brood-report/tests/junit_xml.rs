//! JUnit XML: well-formed (checked by a small scanner), one testcase per threshold, failures
//! carrying the measured value.

mod fixture;

use std::time::Duration;

use brood_plan::{Comparison, EntrySelector, Metric, Threshold};
use brood_report::{evaluate, write_junit};
use fixture::run;

/// Checks what a strict XML parser would reject in the subset brood writes: one root, balanced
/// and properly nested tags, quoted attributes without raw `<`, and only known entities.
fn check_well_formed(xml: &str) -> Vec<String> {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("declaration");
    let mut stack: Vec<String> = Vec::new();
    let mut roots = 0;
    let mut rest = body;
    let mut elements = Vec::new();
    while let Some(open) = rest.find('<') {
        check_text(&rest[..open]);
        let close = rest[open..].find('>').expect("unclosed tag") + open;
        let tag = &rest[open + 1..close];
        rest = &rest[close + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name = tag.split_whitespace().next().expect("tag name").to_owned();
        check_attributes(&tag[name.len()..]);
        if stack.is_empty() {
            roots += 1;
        }
        elements.push(name.clone());
        if !self_closing {
            stack.push(name);
        }
    }
    check_text(rest);
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    assert_eq!(roots, 1, "exactly one root element");
    elements
}

fn check_text(text: &str) {
    assert!(
        !text.contains('>') || text.trim().is_empty(),
        "raw > in text: {text:?}"
    );
    check_entities(text);
}

fn check_attributes(mut attrs: &str) {
    loop {
        attrs = attrs.trim_start();
        if attrs.is_empty() {
            return;
        }
        let eq = attrs.find("=\"").expect("attribute without =\"");
        let name = &attrs[..eq];
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "attribute name {name:?}"
        );
        let value_end = attrs[eq + 2..].find('"').expect("unterminated attribute") + eq + 2;
        let value = &attrs[eq + 2..value_end];
        assert!(!value.contains('<'), "raw < in attribute {value:?}");
        check_entities(value);
        attrs = &attrs[value_end + 1..];
    }
}

fn check_entities(s: &str) {
    for (i, _) in s.match_indices('&') {
        let entity = &s[i..s[i..].find(';').map_or(s.len(), |e| i + e + 1)];
        let known = ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;"].contains(&entity)
            || (entity.starts_with("&#")
                && entity[2..entity.len() - 1]
                    .chars()
                    .all(|c| c.is_ascii_digit()));
        assert!(known, "bad entity {entity:?}");
    }
    assert!(
        !s.chars()
            .any(|c| (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r')),
        "control character"
    );
}

fn thresholds() -> Vec<Threshold> {
    let t = |source: &str, entry: Option<EntrySelector>, metric, op, value| Threshold {
        source: source.into(),
        entry,
        metric,
        op,
        value,
        abort_on_fail: false,
    };
    let get_a = Some(EntrySelector {
        method: Some("GET".into()),
        name: "/a".into(),
    });
    vec![
        t(
            "p95 < 500ms",
            None,
            Metric::Percentile(95.0),
            Comparison::Lt,
            500.0,
        ),
        t(
            "GET /a: failure_rate < 1% & \"strict\"",
            get_a,
            Metric::FailureRate,
            Comparison::Lt,
            0.01,
        ),
        t(
            "max <= 100ms",
            None,
            Metric::MaxResponseTime,
            Comparison::Le,
            100.0,
        ),
        t(
            "/nowhere\u{1}: requests > 0",
            Some(EntrySelector {
                method: None,
                name: "/nowhere".into(),
            }),
            Metric::Requests,
            Comparison::Gt,
            0.0,
        ),
    ]
}

#[test]
fn testcases_and_failures() {
    let results = evaluate(&thresholds(), &run(false));
    let mut out = Vec::new();
    write_junit(&mut out, &results, Duration::from_millis(6_250)).unwrap();
    let xml = String::from_utf8(out).unwrap();
    let elements = check_well_formed(&xml);
    assert_eq!(elements.iter().filter(|e| *e == "testcase").count(), 4);
    assert_eq!(elements.iter().filter(|e| *e == "failure").count(), 3);
    assert!(xml.contains("<testsuite name=\"brood\" tests=\"4\" failures=\"3\" errors=\"0\" skipped=\"0\" time=\"6.250\">"), "{xml}");
    assert!(
        xml.contains(
            "<testcase name=\"p95 &lt; 500ms\" classname=\"brood.thresholds\" time=\"0\"/>"
        ),
        "{xml}"
    );
    assert!(
        xml.contains("name=\"GET /a: failure_rate &lt; 1% &amp; &quot;strict&quot;\""),
        "{xml}"
    );
    assert!(
        xml.contains("actual 20% (0.2) is not &lt; 1% (0.01)"),
        "{xml}"
    );
    assert!(
        xml.contains("max &lt;= 100ms: actual 200 ms is not &lt;= 100 ms"),
        "{xml}"
    );
    assert!(xml.contains("no requests matched"), "{xml}");
}

#[test]
fn no_thresholds_is_an_empty_passing_suite() {
    let mut out = Vec::new();
    write_junit(&mut out, &[], Duration::ZERO).unwrap();
    let xml = String::from_utf8(out).unwrap();
    assert_eq!(check_well_formed(&xml), ["testsuite"]);
    assert!(xml.contains("tests=\"0\" failures=\"0\""));
}
