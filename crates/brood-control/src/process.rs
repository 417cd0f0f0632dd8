//! What a command takes from its process: a runtime for its async work, and Ctrl-C as
//! [`Command`]s (the first press stops, any later one aborts).

use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Mutex, OnceLock};

use crate::observer::Command;

/// A single-threaded runtime with timers and I/O, as every command's async work uses.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The built-in demo target on a free port of 127.0.0.1, for `--demo-target`; `None` (with the
/// reason printed) when it cannot start.
pub fn demo_target() -> Option<brood_target::Target> {
    match brood_target::Target::start(brood_target::TargetConfig::default()) {
        Ok(t) => Some(t),
        Err(e) => {
            eprintln!("brood: cannot start the demo target: {e}");
            None
        }
    }
}

/// Who hears Ctrl-C, and how often it was pressed. The process has one handler; each call to
/// [`interrupts`] adds a listener to it.
struct Listeners {
    pressed: usize,
    senders: Vec<Sender<Command>>,
}

static LISTENERS: OnceLock<Mutex<Listeners>> = OnceLock::new();

/// Ctrl-C (and SIGTERM) from now on: `Stop` for the first press, `Abort` for every later one.
pub fn interrupts() -> Receiver<Command> {
    let (tx, rx) = std::sync::mpsc::channel();
    let listeners = LISTENERS.get_or_init(|| {
        let _ = ctrlc::set_handler(|| {
            if let Some(listeners) = LISTENERS.get() {
                let mut l = listeners.lock().unwrap_or_else(|e| e.into_inner());
                l.pressed += 1;
                let command = if l.pressed == 1 {
                    Command::Stop
                } else {
                    Command::Abort
                };
                l.senders.retain(|s| s.send(command).is_ok());
            }
        });
        Mutex::new(Listeners {
            pressed: 0,
            senders: Vec::new(),
        })
    });
    let mut l = listeners.lock().unwrap_or_else(|e| e.into_inner());
    l.pressed = 0;
    l.senders.push(tx);
    rx
}
