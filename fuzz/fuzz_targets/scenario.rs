//! Feeds arbitrary bytes to the YAML and TOML scenario parsers, the compiler, and the
//! stand-alone value parsers; any panic is a bug.

#![no_main]

use brood_plan::{
    compile, parse_duration, parse_scenario, parse_stages, parse_threshold, parse_wait, Format,
    LoadOptions, Scenario,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // Lossy decoding keeps inputs with a stray invalid byte useful instead of discarding them.
    let text = String::from_utf8_lossy(data);
    for format in [Format::Yaml, Format::Toml] {
        if let Ok(scenario) = parse_scenario(&text, format, "fuzz") {
            let _ = compile(&scenario, &LoadOptions::default());
            let with_host = LoadOptions {
                host: Some("http://127.0.0.1:1".to_string()),
                users: Some(3),
                ..LoadOptions::default()
            };
            let _ = compile(&scenario, &with_host);
        }
    }
    // Values are short; long inputs only slow the scenario parsers down here.
    if text.len() <= 256 {
        let _ = parse_duration(&text);
        let _ = parse_wait(&text);
        let _ = parse_threshold(&text);
        let _ = parse_stages(&text);
        if let Ok(scenario) = Scenario::quick(&text) {
            let _ = compile(&scenario, &LoadOptions::default());
        }
    }
});
