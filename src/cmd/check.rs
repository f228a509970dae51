//! `noisegate check`: the cron job's command. Quiet with exit 0 when the logs are healthy;
//! a short alert with exit 1 when one of the engine's rules fires
//! ([`noisegate_engine::check`]); exit 2 on errors. This module only renders.

use crate::args::{non_negative, AnalysisArgs, InputArgs};
use crate::choice::choice;
use anyhow::Result;
use clap::{Args, ValueEnum};
use noisegate_engine::{find, Thresholds, Upstream};
use std::io::Write;
use std::process::ExitCode;

/// Output of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckOutput {
    /// A short alert for mail or a chat hook.
    Text,
    /// JSON for monitoring systems.
    Json,
}

/// Arguments of `noisegate check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    analysis: AnalysisArgs,

    /// Also alert when noise is more than this percentage of all requests.
    #[arg(long, value_name = "PCT", value_parser = non_negative)]
    max_noise_share: Option<f64>,

    /// Also alert when the worst minute holds more than this many noise requests.
    #[arg(long, value_name = "N_PER_MINUTE")]
    max_noise_rate: Option<u64>,

    /// The site's upstream, whose default protected paths share Pantheon's 24-entry limit.
    #[arg(long, value_parser = choice::<Upstream>(), default_value_t = Upstream::None)]
    upstream: Upstream,

    /// Alert format.
    #[arg(long, short, value_enum, default_value_t = CheckOutput::Text)]
    output: CheckOutput,
}

/// Runs `check`; the exit code says whether it fired.
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let mut scan = args.input.scan(true, true)?;
    let found = find(&mut scan, &args.analysis.settings(args.upstream))?;
    let thresholds = Thresholds {
        max_noise_share: args.max_noise_share,
        max_noise_rate: args.max_noise_rate,
    };
    let checked = noisegate_engine::check(&scan, &found, &thresholds);
    match args.output {
        CheckOutput::Json => {
            serde_json::to_writer_pretty(&mut *out, &checked)?;
            writeln!(out)?;
        }
        CheckOutput::Text if checked.fired() => {
            writeln!(out, "noisegate: mail-client noise alert")?;
            for a in checked.alerts() {
                writeln!(out, "- {}", a.message)?;
            }
            writeln!(
                out,
                "\nBlock it in pantheon.yml:\n\n{}",
                checked.pantheon_yml()
            )?;
        }
        CheckOutput::Text => {}
    }
    out.flush()?;
    scan.save_state()?;
    for e in scan.errors() {
        eprintln!("noisegate: {}: {}", e.source, e.message);
    }
    Ok(if !scan.errors().is_empty() {
        ExitCode::from(2)
    } else if checked.fired() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
