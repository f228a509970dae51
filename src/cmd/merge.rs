//! `noisegate merge SUMMARY...`: one report from summaries saved with `--save-summary` (from
//! several app containers, machines or days), merged as the worker threads merge.

use super::report::show;
use crate::args::{self, ViewArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use noisegate_engine::{combine_summaries, terminal_path, terminal_text};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `noisegate merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Summary files written by --save-summary.
    #[arg(value_name = "SUMMARY", required = true)]
    files: Vec<PathBuf>,

    #[command(flatten)]
    view: ViewArgs,

    /// Write the combined summary to FILE too.
    #[arg(long, value_name = "FILE")]
    save_summary: Option<PathBuf>,

    /// Show the mailboxes in full when the summaries hold them (saved with
    /// --show-mailboxes), and keep them in --save-summary; without it they are masked.
    #[arg(long)]
    show_mailboxes: bool,
}

/// Runs the subcommand.
pub fn run(args: &MergeArgs, out: &mut dyn Write) -> Result<ExitCode> {
    if let Some(path) = &args.save_summary {
        args::check_writable(path, "--save-summary")?;
    }
    let mut seen = Vec::new();
    for f in &args.files {
        let id = std::fs::canonicalize(f).with_context(|| terminal_path(f))?;
        if seen.contains(&id) {
            bail!(
                "{} is given twice: its lines would be counted twice",
                terminal_path(f)
            );
        }
        seen.push(id);
    }
    let mut merged = combine_summaries(&args.files)?;
    for w in &merged.warnings {
        eprintln!("noisegate: warning: {}", terminal_text(w));
    }
    if !args.show_mailboxes {
        merged.scan.forget_mailboxes();
    }
    let scan = show(
        merged.scan,
        &args.view,
        args.save_summary.as_deref(),
        None,
        out,
    )?;
    Ok(args::warn(&scan))
}
