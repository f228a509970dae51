//! `noisegate block`: only the block that stops the noise, for pantheon.yml, nginx or Apache;
//! or `--merge FILE`, added to an existing pantheon.yml in place.

use crate::args::{self, InputArgs};
use crate::choice::choice;
use anyhow::{anyhow, Context, Result};
use clap::Args;
use noisegate_engine::{
    merge_pantheon_yml, plan_block_limited, replace_keeping_backup, terminal_path, terminal_text,
    yaml_diff, BlockPlan, Target, Upstream, MAX_ENTRIES, MAX_PANTHEON_YML,
};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `noisegate block`.
#[derive(Debug, Args)]
pub struct BlockArgs {
    #[command(flatten)]
    input: InputArgs,

    /// What to print the block for.
    #[arg(long, value_parser = choice::<Target>(), default_value_t = Target::Pantheon)]
    target: Target,

    /// Leave out the comments (request counts per entry).
    #[arg(long)]
    plain: bool,

    /// The site's upstream, whose default protected paths share Pantheon's 24-entry limit.
    #[arg(long, value_parser = choice::<Upstream>(), default_value_t = Upstream::None)]
    upstream: Upstream,

    /// At most N entries in the list (the upstream's defaults included), to leave room for
    /// the site's own protected paths: at most 24 for pantheon (the default); for nginx and
    /// apache it limits the exact entries beside the per-category rules (default: no limit).
    #[arg(long, value_name = "N")]
    max_entries: Option<usize>,

    /// Add the missing entries to this pantheon.yml in place (a .bak copy is kept).
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    merge: Option<PathBuf>,

    /// With --merge: print the change as a diff and write nothing.
    #[arg(long, requires = "merge")]
    dry_run: bool,
}

/// Runs the subcommand.
pub fn run(args: &BlockArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let pantheon = args.merge.is_some() || args.target == Target::Pantheon;
    if let Some(n) = args.max_entries.filter(|&n| pantheon && n > MAX_ENTRIES) {
        anyhow::bail!("--max-entries {n}: Pantheon allows at most {MAX_ENTRIES} entries");
    }
    let defaults = if pantheon {
        args.upstream.defaults().len()
    } else {
        0
    };
    if let Some(n) = args.max_entries.filter(|&n| n <= defaults) {
        anyhow::bail!("--max-entries {n} leaves no room for an entry (the upstream's defaults take {defaults})");
    }
    let scan = args.input.scan(false, false)?;
    let plan = plan_block_limited(&scan, args.upstream, args.max_entries);
    if let Some(note) = plan.over_limit_note().filter(|_| pantheon) {
        eprintln!("noisegate: warning: {note}");
    }
    match &args.merge {
        Some(file) => merge_into(file, &plan, args, out)?,
        None => out.write_all(args.target.render(&plan, args.plain).as_bytes())?,
    }
    out.flush()?;
    scan.save_state()?;
    Ok(args::warn(&scan))
}

/// The text of `file`, refused unread past [`MAX_PANTHEON_YML`] bytes (a hostile or wrong
/// file must not cost its size in memory).
fn read_capped(file: &std::path::Path) -> Result<String> {
    let mut text = String::new();
    std::fs::File::open(file)?
        .take(MAX_PANTHEON_YML as u64 + 1)
        .read_to_string(&mut text)?;
    if text.len() > MAX_PANTHEON_YML {
        anyhow::bail!("over {MAX_PANTHEON_YML} bytes; a pantheon.yml is a few hundred, refused");
    }
    Ok(text)
}

/// `block --merge FILE`: adds the missing entries to an existing pantheon.yml, atomically,
/// keeping a `.bak`; `--dry-run` prints the diff instead.
fn merge_into(
    file: &std::path::Path,
    plan: &BlockPlan,
    args: &BlockArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let shown = terminal_path(file);
    // Write through a symlink to the file it names, and keep the file's permissions.
    let target = std::fs::canonicalize(file).with_context(|| shown.clone())?;
    let text = read_capped(&target).with_context(|| shown.clone())?;
    let merged =
        merge_pantheon_yml(&text, plan, args.plain).map_err(|e| anyhow!("{shown}: {e}"))?;
    if !merged.over_limit.is_empty() {
        eprintln!(
            "noisegate: warning: {shown} can hold at most {} entries: left out {}",
            MAX_ENTRIES,
            terminal_text(&merged.over_limit.join(", "))
        );
    }
    if merged.added.is_empty() {
        let why = match merged.over_limit.is_empty() {
            true => "every path is already protected",
            false => "the list is full",
        };
        writeln!(out, "{shown}: nothing added: {why}")?;
        return Ok(());
    }
    if args.dry_run {
        out.write_all(yaml_diff(&shown, &text, &merged.text).as_bytes())?;
        return Ok(());
    }
    let bak = replace_keeping_backup(&target, text.as_bytes(), merged.text.as_bytes())?;
    let n = merged.added.len();
    let entries = if n == 1 {
        "1 entry".to_string()
    } else {
        format!("{n} entries")
    };
    writeln!(
        out,
        "{shown}: added {entries} ({}); the previous file is {}",
        terminal_text(&merged.added.join(", ")),
        terminal_path(&bak)
    )?;
    Ok(())
}
