//! JUnit XML for CI systems: one `<testcase>` per threshold, named by its source text, with a
//! `<failure>` carrying the measured value when it did not hold.

use std::fmt::Write as _;
use std::io::Write;
use std::time::Duration;

use crate::threshold::{metric_name, op_text, value_text, ThresholdResult};
use crate::ReportError;

/// Writes a `<testsuite name="brood">` document for `results`; `elapsed` is the run's duration.
pub fn write_junit(
    mut w: impl Write,
    results: &[ThresholdResult],
    elapsed: Duration,
) -> Result<(), ReportError> {
    let failures = results.iter().filter(|r| !r.passed).count();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    // Writing to a String cannot fail; the results of write! are ignored for that reason.
    let _ = writeln!(
        xml,
        "<testsuite name=\"brood\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{:.3}\">",
        results.len(),
        elapsed.as_secs_f64()
    );
    for r in results {
        let t = &r.threshold;
        let _ = write!(
            xml,
            "  <testcase name=\"{}\" classname=\"brood.thresholds\" time=\"0\"",
            escape(&t.source)
        );
        if r.passed {
            xml.push_str("/>\n");
            continue;
        }
        let bound = value_text(t.metric, t.value);
        let message = match r.actual {
            Some(actual) => format!(
                "{}: actual {} is not {} {bound}",
                t.source,
                value_text(t.metric, actual),
                op_text(t.op)
            ),
            None => format!("{}: no requests matched, so nothing was measured", t.source),
        };
        let _ = write!(
            xml,
            ">\n    <failure type=\"threshold\" message=\"{}\">metric {} {} {bound}; actual {}</failure>\n  </testcase>\n",
            escape(&message),
            escape(&metric_name(t.metric)),
            escape(op_text(t.op)),
            escape(&r.actual.map_or("none".into(), |a| value_text(t.metric, a))),
        );
    }
    xml.push_str("</testsuite>\n");
    w.write_all(xml.as_bytes())
        .and_then(|()| w.flush())
        .map_err(|source| ReportError::Write {
            what: "the JUnit XML",
            source,
        })
}

/// Escapes text for XML content and attribute values. Characters XML 1.0 cannot carry at all
/// (most control characters) become U+FFFD; tabs and line breaks become character references so
/// attribute values keep them.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' => out.push_str("&#9;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_controls() {
        assert_eq!(
            escape("p95 < 500ms & \"x\" > 'y'\n\u{1}"),
            "p95 &lt; 500ms &amp; &quot;x&quot; &gt; &apos;y&apos;&#10;\u{FFFD}"
        );
    }
}
