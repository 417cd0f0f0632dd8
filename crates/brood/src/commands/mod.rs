//! One module per command: each turns its flags into the controller library's inputs and calls
//! it; none imports another command's module.

pub mod aws;
pub mod check;
pub mod cleanup;
pub mod demo_target;
pub mod run;
pub mod runs;
pub mod serve;
pub mod worker;

/// A runtime for one command's AWS calls; `None` (with the reason printed) when none can start.
pub fn runtime() -> Option<tokio::runtime::Runtime> {
    match brood_control::process::runtime() {
        Ok(rt) => Some(rt),
        Err(e) => {
            eprintln!("brood: {e}");
            None
        }
    }
}
