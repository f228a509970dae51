//! The commands: the clap definition of the command line (one module per command, each with
//! its arguments and its `run`), and the dispatch. Every command returns its exit code:
//! 0 done, 1 a check fired, 2 an input could not be read; errors become 2 in `main`.

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::io::{self, Write};
use std::process::ExitCode;

mod block;
mod check;
mod completions;
mod dns;
mod follow;
mod formats;
mod man;
mod merge;
mod report;

/// Finds mail-client probe noise (Outlook Autodiscover, Thunderbird autoconfig, ActiveSync,
/// EWS, OWA, ...) in nginx access logs, reports what it costs, and prints the pantheon.yml
/// block that stops it.
///
/// Reads Pantheon's nginx format, combined, common, JSON lines or any nginx log_format, plain
/// or gzip, from files, directories or stdin. Exit codes: 0 done, 1 a check fired, 2 usage,
/// input or I/O error.
#[derive(Debug, Parser)]
#[command(name = "noisegate", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    report: report::ReportArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Full report of the mail-client noise (the default command).
    Report(report::ReportArgs),
    /// Print only the pantheon.yml snippet that protects the noise paths.
    Block(block::BlockArgs),
    /// Combine summaries saved with --save-summary into one report.
    Merge(merge::MergeArgs),
    /// For cron: quiet (exit 0) when healthy; an alert (exit 1) on a storm, a surge or a
    /// threshold; exit 2 on errors.
    Check(check::CheckArgs),
    /// Look up the DNS records that send mail clients to the website (autodiscover,
    /// autoconfig, MTA-STS, a wildcard) and say what to change; exit 1 when something should.
    Dns(dns::DnsArgs),
    /// List the built-in formats, or tell which one fits a log's first lines.
    Formats(formats::FormatsArgs),
    /// Print the completion script for a shell (bash, zsh, fish, elvish, powershell).
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff): noisegate's, or a command's (noisegate man check).
    Man(man::ManArgs),
}

/// This moment, seconds since the epoch (the time the Prometheus metrics carry).
pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Parses the command line and runs it.
pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let code = match &cli.command {
        None => report::run(&cli.report, &mut out)?,
        Some(Command::Report(args)) => report::run(args, &mut out)?,
        Some(Command::Block(args)) => block::run(args, &mut out)?,
        Some(Command::Merge(args)) => merge::run(args, &mut out)?,
        Some(Command::Check(args)) => check::run(args, &mut out)?,
        Some(Command::Dns(args)) => dns::run(args, &mut out)?,
        Some(Command::Formats(args)) => formats::run(args, &mut out)?,
        Some(Command::Completions(args)) => completions::run(args, &mut out)?,
        Some(Command::Man(args)) => man::run(args, &mut out)?,
    };
    out.flush()?;
    Ok(code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
