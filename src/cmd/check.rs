//! `noisegate check`: the cron job's command. Quiet with exit 0 when the logs are healthy;
//! a short alert with exit 1 when one of the engine's rules fires
//! ([`noisegate_engine::check`]); exit 2 on errors. This module only renders.

use crate::args::{percentage, AnalysisArgs, InputArgs};
use crate::choice::choice;
use anyhow::Result;
use clap::{Args, ValueEnum};
use noisegate_engine::{
    build_report, find, terminal_text, CheckReport, Report, ScanResult, Thresholds, Upstream,
    DEFAULT_MAX_NOISE_SHARE, DEFAULT_MAX_REJECTED_SHARE,
};
use std::io::Write;
use std::process::ExitCode;

/// Output of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckOutput {
    /// A short alert for mail or a chat hook.
    Text,
    /// JSON for monitoring systems.
    Json,
    /// Prometheus text format, for node_exporter's textfile collector (the alert's exit
    /// code is kept).
    Prometheus,
}

/// Arguments of `noisegate check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    analysis: AnalysisArgs,

    /// Alert when mail-client noise is more than this percentage of all requests (and at
    /// least 100 requests); 100 turns the rule off.
    #[arg(long, value_name = "PCT", default_value_t = DEFAULT_MAX_NOISE_SHARE, value_parser = percentage)]
    max_noise_share: f64,

    /// Also alert when the worst minute holds more than this many noise requests.
    #[arg(long, value_name = "N_PER_MINUTE")]
    max_noise_rate: Option<u64>,

    /// An input with more than this percentage of its lines rejected cannot be checked
    /// (exit 2): its analysis cannot be trusted.
    #[arg(long, value_name = "PCT", default_value_t = DEFAULT_MAX_REJECTED_SHARE, value_parser = percentage)]
    max_rejected_share: f64,

    /// Alert on probes that cost nothing too (answered 403 in no time: the block is already
    /// deployed).
    #[arg(long)]
    include_blocked: bool,

    /// The site's upstream, whose default protected paths share Pantheon's 24-entry limit.
    #[arg(long, value_parser = choice::<Upstream>(), default_value_t = Upstream::None)]
    upstream: Upstream,

    /// Alert format.
    #[arg(long, short, value_enum, default_value_t = CheckOutput::Text)]
    output: CheckOutput,
}

/// Runs `check`; the exit code says whether it fired (1) or could not check (2). A check
/// that fails says so on stdout too, so that `| mail -E` sends it.
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let (mut report, mut scan, figures) = match evaluate(args) {
        Ok((report, scan, figures)) => (report, Some(scan), figures),
        Err(e) => {
            let e = terminal_text(&format!("{e:#}"));
            eprintln!("noisegate: {e}");
            (CheckReport::failed(e), None, None)
        }
    };
    // Metrics cannot take a line after them: the state is saved first, and a state that
    // cannot be saved makes them say the check failed (as its exit code 2 does).
    if args.output == CheckOutput::Prometheus && matches!(report.status(), "ok" | "alert") {
        if let Some(Err(e)) = scan.take().map(|s| s.save_state()) {
            let e = terminal_text(&format!("could not save the state: {e:#}"));
            eprintln!("noisegate: {e}");
            report = CheckReport::failed(e);
        }
    }
    match args.output {
        CheckOutput::Json => {
            serde_json::to_writer_pretty(&mut *out, &report)?;
            writeln!(out)?;
        }
        CheckOutput::Text => report.write_text(out)?,
        CheckOutput::Prometheus => report.write_prometheus(figures.as_ref(), super::now(), out)?,
    }
    out.flush()?;
    for e in report.errors().iter().filter(|e| e.kind != "failed") {
        eprintln!("noisegate: {}", terminal_text(&e.message));
    }
    Ok(match report.status() {
        "ok" | "alert" => {
            // Only a run that could check moves the state on. A state that cannot be saved
            // (a full disk) is said on stdout too: the next run would read the same lines.
            if let Some(Err(e)) = scan.as_ref().map(|s| s.save_state()) {
                let e = terminal_text(&format!("{e:#}"));
                writeln!(out, "noisegate: could not save the state: {e}")?;
                out.flush()?;
                eprintln!("noisegate: could not save the state: {e}");
                return Ok(ExitCode::from(2));
            }
            ExitCode::from(u8::from(report.fired()))
        }
        _ => ExitCode::from(2),
    })
}

/// Scans and applies the rules; with `-o prometheus`, also builds the report whose figures the
/// metrics carry.
fn evaluate(args: &CheckArgs) -> Result<(CheckReport, ScanResult, Option<Report>)> {
    let mut scan = args.input.scan(true, true)?;
    let found = find(&mut scan, &args.analysis.settings(args.upstream))?;
    let thresholds = Thresholds {
        max_noise_share: (args.max_noise_share < 100.0).then_some(args.max_noise_share),
        max_noise_rate: args.max_noise_rate,
        max_rejected_share: args.max_rejected_share,
        include_cheap: args.include_blocked,
    };
    let figures = (args.output == CheckOutput::Prometheus).then(|| build_report(&scan, &found, 1));
    Ok((
        noisegate_engine::check(&scan, &found, &thresholds),
        scan,
        figures,
    ))
}
