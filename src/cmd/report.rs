//! `noisegate [report]`: the full report of the mail-client noise (the default command), or
//! with `--follow` a watch over a never-ending stdin.

use super::follow;
use crate::args::{self, InputArgs, ViewArgs};
use anyhow::{bail, Result};
use clap::Args;
use noisegate_engine::{build_report, find, render, save_summary, ScanResult, Style};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of the report.
#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    view: ViewArgs,

    /// Also write the mergeable summary of this run to FILE (see `merge`).
    #[arg(long, value_name = "FILE")]
    save_summary: Option<PathBuf>,

    /// Watch a never-ending stdin (tail -F log | noisegate --follow): a line when a storm starts
    /// or ends, a status every --interval.
    #[arg(long, conflicts_with_all = ["state", "save_summary", "since", "until", "output"])]
    follow: bool,

    /// With --follow: seconds between status lines.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "follow"
    )]
    interval: u64,
}

/// Runs the report (or `--follow`).
pub fn run(args: &ReportArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if args.follow {
        if !args.input.paths.is_empty() {
            bail!("--follow reads stdin: tail -F access.log | noisegate --follow");
        }
        let options = follow::FollowOptions {
            choice: args.input.format()?,
            storms: args.view.analysis.storms(),
            interval: std::time::Duration::from_secs(args.interval.max(1)),
            client: args.input.client(),
            max_line: args.input.max_line,
        };
        follow::run(&options, out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(path) = &args.save_summary {
        args::check_writable(path, "--save-summary")?;
    }
    let scan = args.input.scan(true, false)?;
    let scan = show(scan, &args.view, args.save_summary.as_deref(), out)?;
    out.flush()?;
    scan.save_state()?;
    Ok(args::warn(&scan))
}

/// Analyzes a scan, writes its summary if asked, and renders the report.
pub fn show(
    mut scan: ScanResult,
    v: &ViewArgs,
    save: Option<&Path>,
    out: &mut dyn Write,
) -> Result<ScanResult> {
    if let Some(path) = save {
        save_summary(path, &mut scan)?;
    }
    let found = find(&mut scan, &v.analysis.settings(v.upstream))?;
    let report = build_report(&scan, &found, v.top);
    let style = Style {
        color: args::use_color(v.color),
        now: super::now(),
    };
    render(&report, v.output, style, out)?;
    Ok(scan)
}
