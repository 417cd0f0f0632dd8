//! The `brood` binary: parses the command line and hands each command to its module, which turns
//! the flags into the controller library's inputs.

mod cli;
mod commands;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let outcome = match cli.command {
        cli::Command::Run(args) => commands::run::run(*args),
        cli::Command::Check(args) => commands::check::check(&args),
        cli::Command::DemoTarget(args) => commands::demo_target::demo_target(&args),
        cli::Command::Worker(args) => commands::worker::worker(*args),
        cli::Command::Runs(args) => commands::runs::runs(&args),
        cli::Command::Serve(args) => commands::serve::serve(&args),
        cli::Command::Aws(command) => commands::aws::aws(&command),
        cli::Command::Cleanup(args) => commands::cleanup::cleanup(&args),
    };
    ExitCode::from(outcome.code())
}
