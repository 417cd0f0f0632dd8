//! No input makes the parser or the compiler panic: valid scenario files mutated byte by byte,
//! and random text fed to every stand-alone value parser and to the template parser, whose
//! output must also read back as the same template.

use std::panic::{catch_unwind, AssertUnwindSafe};

use std::path::Path;

use brood_plan::{
    compile, parse_duration, parse_scenario, parse_stages, parse_threshold, parse_wait, Format,
    LoadOptions, Scenario, Template, Url,
};

/// xorshift64*: a fixed seed makes every run feed the same inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Bytes that matter to YAML, TOML and the value syntaxes, so mutations reach deeper than
/// random bytes would.
const INTERESTING: &[u8] = b":-[]{}\"'#,.\n \t=/?&%0123456789smhx<>!*&|~\\\x00\xff()_";

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..=rng.below(2) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let at = at.min(out.len() - 1);
                out[at] ^= 1 << rng.below(8);
            }
            1 => out.insert(at, INTERESTING[rng.below(INTERESTING.len())]),
            2 if at < out.len() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at..end);
            }
            3 if at < out.len() => {
                let end = (at + 1 + rng.below(32)).min(out.len());
                let copy = out[at..end].to_vec();
                let to = rng.below(out.len() + 1);
                out.splice(to..to, copy);
            }
            4 if !out.is_empty() => {
                let at = at.min(out.len() - 1);
                out[at] = INTERESTING[rng.below(INTERESTING.len())];
            }
            _ => out.push(rng.next() as u8),
        }
    }
    out
}

fn exercise(text: &str, format: Format) {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        if let Ok(mut scenario) = parse_scenario(text, format, "fuzz") {
            let _ = compile(&scenario, &LoadOptions::default());
            // Feed files named by a mutated scenario are looked up among the test data.
            let _ = scenario.read_feeds(Path::new(&data_dir()));
            let opts = LoadOptions {
                users: Some(7),
                host: Some("http://h".into()),
                tags: vec!["buy".into(), "search".into()],
                exclude_tags: vec!["pay".into()],
                ..LoadOptions::default()
            };
            if let Ok(plan) = compile(&scenario, &opts) {
                let _ = plan.describe();
                let _ = plan.expected_mix();
            }
        }
    }));
    assert!(outcome.is_ok(), "panicked on {format:?} input:\n{text}");
}

fn data_dir() -> String {
    format!("{}/tests/data", env!("CARGO_MANIFEST_DIR"))
}

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/{name}", data_dir())).unwrap()
}

#[test]
fn mutated_scenarios_never_panic() {
    let seeds = [
        (data("full.yaml"), Format::Yaml),
        (data("full.toml"), Format::Toml),
        (data("stages.yaml"), Format::Yaml),
        (data("open.toml"), Format::Toml),
        (data("shopper.yaml"), Format::Yaml),
        (data("shopper.toml"), Format::Toml),
    ];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (seed, format) in &seeds {
        let mut current = seed.clone();
        for _ in 0..2000 {
            // Mostly a few edits away from the seed, so most inputs get past the syntax and reach
            // the checks; now and then mutations pile up on the last input.
            let base = if rng.below(4) == 0 { &current } else { seed };
            current = mutate(&mut rng, base);
            exercise(&String::from_utf8_lossy(&current), *format);
        }
    }
}

#[test]
fn random_values_never_panic() {
    let mut rng = Rng(42);
    let pieces = [
        "1",
        "0",
        "-",
        ".",
        "5",
        "s",
        "ms",
        "m",
        "h",
        "d",
        "x",
        "..",
        "(",
        ")",
        ",",
        "between",
        "constant",
        "constant_pacing",
        "constant_throughput",
        ":",
        "/s",
        "p",
        "99.9",
        "<",
        "<=",
        "==",
        ">",
        "%",
        "GET",
        " ",
        "/cart",
        "http://",
        "https://",
        "[::1]",
        "@",
        "#",
        "?",
        "é",
        "failure_rate",
        "rps",
        "avg",
        "99999999999999999999999",
        "\u{0}",
        ":8080",
        "1e308",
        "{{",
        "}}",
        "{",
        "\"",
        "\\",
        "env.",
        "user_id",
        "random_int",
        "(1, 9)",
        "uuid",
        "token",
    ];
    for _ in 0..20_000 {
        let text: String = (0..rng.below(8))
            .map(|_| pieces[rng.below(pieces.len())])
            .collect();
        let outcome = catch_unwind(|| {
            let _ = parse_duration(&text);
            let _ = parse_wait(&text);
            let _ = parse_threshold(&text);
            let _ = parse_stages(&text);
            let _ = Url::parse(&text);
            if let Ok(template) = Template::parse(&text) {
                let shown = template.to_string();
                assert_eq!(Template::parse(&shown), Ok(template), "{shown:?}");
            }
            if let Ok(scenario) = Scenario::quick(&text) {
                let _ = compile(&scenario, &LoadOptions::default());
            }
        });
        assert!(outcome.is_ok(), "panicked on {text:?}");
    }
}
