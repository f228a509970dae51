//! `noisegate completions SHELL`: the shell's completion script for noisegate, generated from
//! the command-line definition, on stdout.

use anyhow::Result;
use clap::{Args, CommandFactory};
use clap_complete::Shell;
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `noisegate completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    shell: Shell,
}

/// Writes the completion script.
pub fn run(args: &CompletionsArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mut cli = super::Cli::command();
    clap_complete::generate(args.shell, &mut cli, "noisegate", out);
    Ok(ExitCode::SUCCESS)
}
