//! Limits on a scenario's text checked before it is parsed, in one pass over it: its size and how
//! deeply its values nest. Parsers spend time and memory out of proportion on hostile input
//! (YAML nested 100,000 levels deep takes tens of seconds to refuse), and no real scenario comes
//! near either limit.

use crate::error::Position;
use crate::source::{position_of, Format};

/// The largest scenario text: 4 MiB. Feed files are read apart and are not counted.
pub const MAX_SCENARIO_BYTES: usize = 4 * 1024 * 1024;
/// The deepest nesting of values (mappings, lists, flow brackets); a scenario with picks inside
/// steps inside tasks uses about a dozen levels.
pub const MAX_NESTING: usize = 64;

/// Why a scenario's text is refused before it is parsed.
#[derive(Debug, PartialEq)]
pub enum Shape {
    TooBig { bytes: usize },
    TooDeep { at: Position },
}

impl Shape {
    pub fn message(&self) -> String {
        match self {
            Shape::TooBig { bytes } => format!(
                "the scenario is {bytes} bytes; the most brood reads is {MAX_SCENARIO_BYTES} \
                 (4 MiB)"
            ),
            Shape::TooDeep { .. } => format!("values nest more than {MAX_NESTING} levels deep"),
        }
    }

    pub fn hint(&self) -> &'static str {
        match self {
            Shape::TooBig { .. } => "put large data in a feed file (`feeds:`), which is read apart",
            Shape::TooDeep { .. } => "flatten the nested lists or mappings",
        }
    }
}

/// Checks the size and the nesting depth of `text` in one linear pass.
pub fn check_shape(text: &str, format: Format) -> Result<(), Shape> {
    if text.len() > MAX_SCENARIO_BYTES {
        return Err(Shape::TooBig { bytes: text.len() });
    }
    match deepest(text, format) {
        Some(offset) => Err(Shape::TooDeep {
            at: position_of(text, offset),
        }),
        None => Ok(()),
    }
}

/// The byte offset where nesting first goes past [`MAX_NESTING`], if it does.
///
/// Counted: open flow brackets (`[`, `{`) outside strings and comments, and for YAML the block
/// levels (indentation steps still open, plus `- ` entries that start a line). Block scalars
/// (`|`, `>`) and quoted strings are skipped, so brackets in bodies do not count. The count can
/// only be higher than the parser's, never lower, and stays far from the limit for real files.
fn deepest(text: &str, format: Format) -> Option<usize> {
    let yaml = format == Format::Yaml;
    let mut flow = 0usize;
    let mut indents: Vec<usize> = Vec::new();
    // Inside a block scalar whose header line was indented this much.
    let mut block_scalar: Option<usize> = None;
    let mut quote: Option<u8> = None;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let blank = line.trim().is_empty();
        if let Some(header) = block_scalar {
            if blank || indent > header {
                continue;
            }
            block_scalar = None;
        }
        let mut block = 0;
        let mut at = indent;
        if yaml && flow == 0 && quote.is_none() && !blank && bytes[indent] != b'#' {
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
            // `- - - x`: each entry indicator opens a list.
            while bytes.get(at) == Some(&b'-')
                && matches!(bytes.get(at + 1), Some(b' ' | b'\n' | b'\r') | None)
            {
                block += 1;
                at += 2;
                while bytes.get(at) == Some(&b' ') {
                    at += 1;
                }
            }
        }
        let base = indents.len() + block;
        if base + flow > MAX_NESTING {
            return Some(start + at.min(line.len()));
        }
        let mut previous = b' ';
        let mut i = at.min(bytes.len());
        while i < bytes.len() {
            let b = bytes[i];
            match quote {
                Some(q) => {
                    if q == b'"' && b == b'\\' {
                        i += 1;
                    } else if b == q {
                        quote = None;
                    }
                }
                None => match b {
                    b'#' if previous == b' ' || previous == b'\t' => break,
                    b'"' => quote = Some(b),
                    // In YAML a quote opens a string only where a value starts (`don't` is
                    // plain text); in TOML always.
                    b'\''
                        if !yaml
                            || matches!(
                                previous,
                                b' ' | b'\t' | b':' | b'[' | b'{' | b',' | b'-'
                            ) =>
                    {
                        quote = Some(b)
                    }
                    b'[' | b'{' => {
                        flow += 1;
                        if base + flow > MAX_NESTING {
                            return Some(start + i);
                        }
                    }
                    b']' | b'}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            if !matches!(b, b'\n' | b'\r') {
                previous = b;
            }
            i += 1;
        }
        if yaml && quote.is_none() && flow == 0 && opens_block_scalar(line) {
            block_scalar = Some(indent);
        }
    }
    None
}

/// A YAML line whose value is a block scalar header: `key: |`, `- >-`, `body: |2+`.
fn opens_block_scalar(line: &str) -> bool {
    let value = match line.find(" #") {
        Some(comment) => &line[..comment],
        None => line,
    }
    .trim_end();
    let Some(header) = value.rsplit(' ').next() else {
        return false;
    };
    let mut chars = header.chars();
    matches!(chars.next(), Some('|' | '>'))
        && chars.all(|c| matches!(c, '-' | '+' | '1'..='9'))
        && (value.len() == header.len()
            || value[..value.len() - header.len()]
                .trim_end()
                .ends_with([':', '-']))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_error(text: &str, format: Format) -> Option<Position> {
        match check_shape(text, format) {
            Err(Shape::TooDeep { at }) => Some(at),
            Err(other) => panic!("{other:?}"),
            Ok(()) => None,
        }
    }

    #[test]
    fn real_scenarios_pass() {
        let yaml = "host: http://h\nusers:\n  - name: a\n    tasks:\n      - name: t\n        steps:\n          - pick:\n              - {weight: 1, steps: [{get: /a, check: {json: {/x: {exists: true}}}}]}\n";
        assert_eq!(depth_error(yaml, Format::Yaml), None);
        let toml =
            "host = 'http://h'\n[[users]]\ntasks = [{ get = '/a', query = { q = ['x', 'y'] } }]\n";
        assert_eq!(depth_error(toml, Format::Toml), None);
    }

    #[test]
    fn flow_brackets_too_deep_are_found_where_they_pass_the_limit() {
        let deep = format!("a: {}{}\n", "[".repeat(100_000), "]".repeat(100_000));
        let at = depth_error(&deep, Format::Yaml).unwrap();
        assert_eq!((at.line, at.column), (1, 3 + MAX_NESTING - 1 + 1));
        let toml = format!("a = {}{}\n", "[".repeat(200), "]".repeat(200));
        assert!(depth_error(&toml, Format::Toml).is_some());
    }

    #[test]
    fn yaml_block_nesting_counts_indentation_and_entry_dashes() {
        let dashes = format!("a:\n  {}x\n", "- ".repeat(100));
        assert!(depth_error(&dashes, Format::Yaml).is_some());
        let mut indented = String::new();
        for level in 0..70 {
            indented.push_str(&" ".repeat(level));
            indented.push_str("k:\n");
        }
        assert!(depth_error(&indented, Format::Yaml).is_some());
        let fine = format!("a:\n  {}x\n", "- ".repeat(20));
        assert_eq!(depth_error(&fine, Format::Yaml), None);
    }

    #[test]
    fn brackets_in_strings_block_scalars_and_comments_do_not_count() {
        let many = "[".repeat(500);
        let text = format!(
            "a: \"{many}\"\nb: '{many}'\nc: don't {many}\n# {many}\nd: |\n  {many}\n  more {many}\ne: 1 # {many}\n"
        );
        // `c` is plain text with brackets: counted (a parser would refuse it too).
        let at = depth_error(&text, Format::Yaml).unwrap();
        assert_eq!(at.line, 3);
        let without_c: String = text
            .lines()
            .filter(|l| !l.starts_with("c:"))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(depth_error(&without_c, Format::Yaml), None);
    }

    #[test]
    fn the_size_limit_comes_first() {
        let big = "#".repeat(MAX_SCENARIO_BYTES + 1);
        assert_eq!(
            check_shape(&big, Format::Yaml),
            Err(Shape::TooBig {
                bytes: MAX_SCENARIO_BYTES + 1
            })
        );
    }
}
