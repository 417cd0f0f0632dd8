//! The `brood` binary: parses the command line and hands each command to its module.

mod aws;
mod backend;
mod cli;
mod distributed;
mod exit;
mod outputs;
mod run;
mod serve;
mod settings;
mod worker;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let outcome = match cli.command {
        cli::Command::Run(args) => run::run(*args),
        cli::Command::Check(args) => run::check(&args),
        cli::Command::DemoTarget(args) => run::demo_target(&args),
        cli::Command::Worker(args) => worker::worker(&args),
        cli::Command::Runs(args) => run::list_runs(&args),
        cli::Command::Serve(args) => serve::serve(&args),
        cli::Command::Aws(command) => aws::aws_command(&command),
        cli::Command::Cleanup(args) => aws::cleanup_command(&args),
    };
    outcome.into()
}
