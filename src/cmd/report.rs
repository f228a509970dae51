//! `noisegate [report]`: the full report of the mail-client noise (the default command), or
//! with `--follow` a watch over a never-ending stdin.

use super::follow;
use crate::args::{self, InputArgs, ViewArgs};
use anyhow::{bail, Context, Result};
use clap::Args;
use noisegate_engine::{
    build_report, find, render, save_summary, Output, Report, ScanResult, Style,
};
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

    /// Look up the DNS records of the mail domains the report found (as `noisegate dns`
    /// does) and add what to change to the report (text, markdown and json output). Sends
    /// DNS queries to the system's resolver or --resolver.
    #[arg(long, conflicts_with = "follow")]
    check_dns: bool,

    /// With --check-dns: the DNS servers to ask (IP:PORT, comma-separated) instead of the
    /// system's resolver configuration.
    #[arg(long, value_name = "IP:PORT", value_delimiter = ',', value_parser = crate::dns::parse_resolver, requires = "check_dns")]
    resolver: Vec<std::net::SocketAddr>,

    /// With --check-dns: seconds one DNS query waits for an answer (1 to 60, as for
    /// `noisegate dns --timeout`).
    #[arg(long, value_name = "SECONDS", default_value_t = crate::dns::DEFAULT_TIMEOUT_SECONDS, requires = "check_dns",
          value_parser = clap::value_parser!(u64).range(1..=60))]
    dns_timeout: u64,
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
    let dns = args.check_dns.then(|| crate::dns::DnsOptions {
        resolvers: args.resolver.clone(),
        timeout: std::time::Duration::from_secs(args.dns_timeout),
        ..crate::dns::DnsOptions::default()
    });
    if dns.is_some()
        && !matches!(
            args.view.output,
            Output::Text | Output::Json | Output::Markdown
        )
    {
        bail!("--check-dns adds to a text, markdown or json report, not to -o html or prometheus");
    }
    let scan = args.input.scan(true, false)?;
    let save = args.save_summary.as_deref();
    let scan = show(scan, &args.view, save, dns.as_ref(), out)?;
    out.flush()?;
    scan.save_state()?;
    let code = args::warn(&scan);
    // The process ends next, and gives back the scan's memory at once: dropping its maps
    // (tens of thousands of allocations) one by one took about 2 ms of a 400 ms run.
    std::mem::forget(scan);
    Ok(code)
}

/// Analyzes a scan, writes its summary if asked, and renders the report; with `dns`, the
/// DNS checks of the mail domains it found too.
pub fn show(
    mut scan: ScanResult,
    v: &ViewArgs,
    save: Option<&Path>,
    dns: Option<&crate::dns::DnsOptions>,
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
    match dns {
        None => render(&report, v.output, style, out)?,
        Some(opts) => render_with_dns(&report, v.output, style, opts, out)?,
    }
    Ok(scan)
}

/// The report, then the DNS checks of the mail domains it found: after the text or Markdown
/// report, or as the `dns` object of the JSON one.
fn render_with_dns(
    report: &Report,
    output: Output,
    style: Style,
    opts: &crate::dns::DnsOptions,
    out: &mut dyn Write,
) -> Result<()> {
    let mut domains: Vec<String> = report
        .mail_domains()
        .iter()
        .filter_map(|d| crate::dns::parse_domain(d.domain()).ok())
        .collect();
    // Most requests first: the busiest are checked, the rest named by count.
    let not_checked = domains.len().saturating_sub(CHECK_DNS_DOMAINS);
    domains.truncate(CHECK_DNS_DOMAINS);
    let checks = if domains.is_empty() {
        Vec::new()
    } else {
        crate::dns::check_domains(&domains, opts)?
    };
    if output == Output::Json {
        // The report's document with one more key at its end, its keys left in their order.
        let mut doc = Vec::new();
        render(report, output, style, &mut doc)?;
        let end = doc
            .iter()
            .rposition(|&b| b == b'}')
            .context("the JSON report")?;
        let dns = crate::dns::render::json_object(&checks, not_checked)?;
        out.write_all(doc[..end].trim_ascii_end())?;
        writeln!(out, ",\n  \"dns\": {}\n}}", dns.replace('\n', "\n  "))?;
        return Ok(());
    }
    render(report, output, style, out)?;
    let markdown = output == Output::Markdown;
    writeln!(out)?;
    writeln!(
        out,
        "{}",
        if markdown {
            "## DNS check"
        } else {
            "DNS CHECK"
        }
    )?;
    writeln!(out)?;
    if checks.is_empty() {
        writeln!(
            out,
            "No mail domain was named in the noise: nothing to look up."
        )?;
        return Ok(());
    }
    if markdown {
        writeln!(out, "```text")?;
    }
    crate::dns::render::write_text(&checks, out)?;
    if markdown {
        writeln!(out, "```")?;
    }
    if not_checked > 0 {
        writeln!(out)?;
        writeln!(
            out,
            "Only the {CHECK_DNS_DOMAINS} mail domains with the most requests were checked; \
             {not_checked} more are in the report: check them with noisegate dns DOMAIN..."
        )?;
    }
    Ok(())
}

/// How many of the report's mail domains `--check-dns` looks up, most requests first: 14
/// queries each, so a report of 1,000 domains does not send 14,000.
const CHECK_DNS_DOMAINS: usize = 20;
