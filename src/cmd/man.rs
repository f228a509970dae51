//! `noisegate man [COMMAND]`: the man page (roff) of noisegate or of one of its commands,
//! generated from the command-line definition, on stdout.

use anyhow::{bail, Result};
use clap::{Args, CommandFactory};
use std::io::Write;
use std::process::ExitCode;

/// Arguments of `noisegate man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to write (noisegate-COMMAND(1)) [default: noisegate(1)].
    #[arg(value_name = "COMMAND")]
    command: Option<String>,
}

/// Writes the page.
pub fn run(args: &ManArgs, out: &mut impl Write) -> Result<ExitCode> {
    let mut cli = super::Cli::command().disable_help_subcommand(true);
    // Gives the commands their names as pages (noisegate-check) and in synopses.
    cli.build();
    let page = match &args.command {
        None => cli,
        Some(name) => match cli.find_subcommand(name) {
            Some(sub) => sub.clone(),
            None => {
                let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
                bail!("no command '{name}' (commands: {})", names.join(", "));
            }
        },
    };
    clap_mangen::Man::new(page).render(out)?;
    Ok(ExitCode::SUCCESS)
}
