//! `brood demo-target`: the built-in target on its own, until interrupted.

use brood_control::Outcome;
use brood_target::{Target, TargetConfig};

use crate::cli::DemoTargetArgs;

/// `brood demo-target`: serve the built-in target until interrupted.
pub fn demo_target(args: &DemoTargetArgs) -> Outcome {
    let bind = match args.bind.parse() {
        Ok(addr) => addr,
        Err(_) => {
            eprintln!(
                "brood: --bind: expected an address like 127.0.0.1:8089, got {:?}",
                args.bind
            );
            return Outcome::InvalidInput;
        }
    };
    let target = match Target::start(TargetConfig {
        bind,
        ..TargetConfig::default()
    }) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("brood: cannot serve the demo target on {bind}: {e}");
            return Outcome::Infrastructure;
        }
    };
    println!(
        "demo target on http://{} (shop API under /shop/); Ctrl-C to stop",
        target.addr()
    );
    let _ = brood_control::process::interrupts().recv();
    target.shutdown();
    Outcome::Success
}
