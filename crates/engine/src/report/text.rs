//! The text report: aligned, readable at 80 columns, colored only when asked. Every string
//! that came from a log goes through `escape_text` before it is written; a user agent, client
//! or path too long for its column is cut in the middle (`fit`: its end, a build number or a
//! file name, stays visible), a message or a rejected line at its end (`fit_head`).
//!
//! This file owns the layout helpers and the overview, noise, category, rejects, block and
//! mail-domain sections; the chart, the storm and surge tables and the impact are in `text/`. Like every
//! renderer it only lays out the view model: it computes no statistic and never probes the
//! terminal (color comes in [`Style`]).

use super::domains::{dns_command, MailDomainView, RECORDS_SENTENCE};
use super::model::{CategoryView, Report, TrafficView};
use super::output::Style;
use crate::escape::{escape_text, fit, fit_head, terminal_text};
use crate::numbers::{bytes, pct, plural, secs, span, thousands};
use std::io::{self, Write};

mod bursts;
mod chart;
mod impact;
mod out;

use out::{Out, WIDTH};

fn statuses(t: &TrafficView) -> String {
    let parts: Vec<String> = t
        .status
        .iter()
        .map(|(code, n)| format!("{code}: {}", thousands(*n)))
        .collect();
    parts.join(" · ")
}

fn opt_secs(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_string(), secs)
}

/// Writes the text report.
pub(crate) fn render(r: &Report, style: Style, w: &mut dyn Write) -> io::Result<()> {
    let mut o = Out { w, style };
    let title = o.paint("1", "noisegate");
    writeln!(
        o.w,
        "{title} {} · mail-client noise in nginx access logs",
        r.version
    )?;
    overview(&mut o, r)?;
    noise_table(&mut o, r)?;
    chart::when(&mut o, r)?;
    bursts::storms(&mut o, r)?;
    bursts::surges(&mut o, r)?;
    bursts::loops(&mut o, r)?;
    impact::impact(&mut o, r)?;
    for c in &r.categories {
        category(&mut o, c)?;
    }
    rejects(&mut o, r)?;
    block(&mut o, r)?;
    domains(&mut o, r)
}

fn overview(o: &mut Out, r: &Report) -> io::Result<()> {
    writeln!(o.w)?;
    // Inputs that could not be read come first: the figures below do not include them.
    for e in &r.errors {
        let what = format!(
            "{}: {}",
            escape_text(e.file.as_bytes()),
            terminal_text(&e.message)
        );
        let shown = o.paint("1;31", "NOT READ");
        writeln!(o.w, "{shown}   {}", fit_head(&what, 80 - 11))?;
    }
    let names: Vec<String> = r
        .inputs
        .iter()
        .filter(|i| !r.errors.iter().any(|e| e.file == **i))
        .map(|i| fit(&escape_text(i.as_bytes()), 64))
        .collect();
    if names.is_empty() {
        return lines_and_requests(o, r);
    }
    let inputs = match &names[..] {
        [first, .., last] if names.len() > 4 => {
            format!("{} files · {first} .. {last}", names.len())
        }
        _ => names.join(" · "),
    };
    let format = match &r.format {
        Some(f) => format!("{f} format"),
        None => "format unknown: no non-empty line".to_string(),
    };
    o.field("Input", &format!("{inputs} · {format}"))?;
    let mut notes: Vec<&String> = r.sources.iter().flat_map(|s| &s.notes).collect();
    notes.sort();
    notes.dedup();
    for note in notes {
        o.para(11, &format!("note: {note}"))?;
    }
    lines_and_requests(o, r)
}

/// The `Lines`, `Time`, `Requests` and `Statuses` fields of the overview.
fn lines_and_requests(o: &mut Out, r: &Report) -> io::Result<()> {
    let l = &r.lines;
    let filtered = if l.filtered > 0 {
        format!(" · {} outside the time window", thousands(l.filtered))
    } else {
        String::new()
    };
    o.field(
        "Lines",
        &format!(
            "{} read · {} parsed · {} rejected{filtered}",
            thousands(l.total),
            thousands(l.parsed),
            thousands(l.rejected)
        ),
    )?;
    if let Some(t) = &r.time {
        o.field(
            "Time",
            &format!("{} .. {} ({})", t.first, t.last, span(t.seconds.get())),
        )?;
    }
    let t = &r.totals;
    let server = t.request_time_s.map_or_else(
        || "no request_time in this format".to_string(),
        |s| format!("{} of server time", secs(s)),
    );
    o.field(
        "Requests",
        &format!(
            "{} · {} sent · {server}",
            thousands(t.requests),
            bytes(t.bytes)
        ),
    )?;
    o.field("Statuses", &statuses(t))
}

fn noise_table(o: &mut Out, r: &Report) -> io::Result<()> {
    let n = &r.noise;
    o.heading("MAIL-CLIENT NOISE")?;
    if n.requests == 0 {
        return writeln!(o.w, "  none found: no request matched a mail-client path");
    }
    o.field(
        "  requests",
        &format!(
            "{} · {} of all requests · {} of all 404s · {}",
            thousands(n.requests),
            pct(n.share_of_requests),
            pct(n.share_of_404s),
            bytes(n.bytes)
        ),
    )?;
    if let (Some(s), Some(sh)) = (n.request_time_s, n.share_of_request_time) {
        o.field(
            "  server",
            &format!("{} · {} of all server time", secs(s), pct(sh)),
        )?;
    }
    writeln!(
        o.w,
        "\n  {:<14}{:>9}{:>8}{:>8}{:>10}{:>8}{:>8}{:>9}",
        "category", "requests", "share", "404", "server s", "p50 s", "p95 s", "clients"
    )?;
    for c in &r.categories {
        let t = &c.traffic;
        let f3 = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{v:.3}"));
        writeln!(
            o.w,
            "  {:<14}{:>9}{:>8}{:>8}{:>10}{:>8}{:>8}{:>9}",
            c.id,
            thousands(t.requests),
            pct(c.share_of_requests),
            thousands(c.not_found),
            t.request_time_s
                .map_or_else(|| "-".into(), |v| format!("{v:.1}")),
            f3(t.request_time_p50_s),
            f3(t.request_time_p95_s),
            thousands(c.clients),
        )?;
    }
    Ok(())
}

fn category(o: &mut Out, c: &CategoryView) -> io::Result<()> {
    let t = &c.traffic;
    o.heading(&format!("{} · {}", c.id, c.name))?;
    let time = match (t.request_time_s, c.share_of_request_time) {
        (Some(s), Some(sh)) => format!(" · {} server time ({})", secs(s), pct(sh)),
        _ => String::new(),
    };
    let w = &mut *o;
    w.field(
        "  requests",
        &format!(
            "{} ({} of all) · {}{time}",
            thousands(t.requests),
            pct(c.share_of_requests),
            bytes(t.bytes)
        ),
    )?;
    w.field("  statuses", &statuses(t))?;
    let methods: Vec<String> = c
        .methods
        .iter()
        .map(|m| format!("{}: {}", escape_text(&m.method), thousands(m.requests)))
        .collect();
    w.field("  methods", &methods.join(" · "))?;
    if t.request_time_s.is_some() {
        w.field(
            "  latency",
            &format!(
                "p50 {} · p95 {} · p99 {} · max {}",
                opt_secs(t.request_time_p50_s),
                opt_secs(t.request_time_p95_s),
                opt_secs(t.request_time_p99_s),
                opt_secs(t.request_time_max_s)
            ),
        )?;
    }
    who(w, c)
}

/// A category's clients, user agents, senders and paths.
fn who(w: &mut Out, c: &CategoryView) -> io::Result<()> {
    let distinct = |n: u64, list: &str| {
        if c.approximate_lists.contains(&list) {
            format!(
                "about {} distinct (a sample is listed: cap reached)",
                thousands(n)
            )
        } else {
            format!("{} distinct", thousands(n))
        }
    };
    w.field("  clients", &distinct(c.clients, "clients"))?;
    for x in &c.top_clients {
        w.list_row(&x.client, x.requests)?;
    }
    w.field("  agents", &distinct(c.user_agents, "user_agents"))?;
    for x in &c.top_user_agents {
        w.list_row(&x.user_agent, x.requests)?;
    }
    let senders: Vec<String> = c
        .families
        .iter()
        .map(|f| format!("{}: {}", escape_text(&f.family), thousands(f.requests)))
        .collect();
    w.field("  senders", &senders.join(" · "))?;
    if c.scanner_requests > 0 {
        let n = plural(c.scanner_requests, "request");
        let verb = if c.scanner_requests == 1 {
            "looks"
        } else {
            "look"
        };
        w.field(
            "  scanner",
            &format!("{n} {verb} like exploit scans or scripts"),
        )?;
    }
    if c.already_blocked > 0 {
        let n = plural(c.already_blocked, "request");
        w.field("  blocked", &format!("{n} already answered 403 by nginx"))?;
    }
    w.field("  paths", &distinct(c.distinct_paths, "paths"))?;
    for x in &c.paths {
        w.list_row(&x.path, x.requests)?;
    }
    Ok(())
}

fn rejects(o: &mut Out, r: &Report) -> io::Result<()> {
    if r.lines.rejected == 0 {
        return Ok(());
    }
    o.heading(&format!(
        "REJECTED LINES: {} (not in the {} format)",
        thousands(r.lines.rejected),
        r.format.as_deref().unwrap_or("detected")
    ))?;
    for (reason, n) in &r.rejects.by_reason {
        writeln!(o.w, "  {reason:<20}{:>10}", thousands(*n))?;
    }
    for e in &r.rejects.examples {
        let file = escape_text(e.file.as_bytes());
        let detail = if e.detail.is_empty() {
            String::new()
        } else {
            format!(" ({})", e.detail)
        };
        o.para(2, &format!("{file}:{}: {}{detail}", e.line, e.reason))?;
        writeln!(o.w, "    {}", fit_head(&escape_text(&e.text), WIDTH - 4))?;
    }
    Ok(())
}

fn block(o: &mut Out, r: &Report) -> io::Result<()> {
    let b = &r.block;
    o.heading("BLOCK IT: pantheon.yml")?;
    for line in b.pantheon_yml.lines() {
        writeln!(o.w, "  {line}")?;
    }
    if let Some(covers) = b.coverage.sentence() {
        writeln!(o.w)?;
        o.para(2, &format!("covers {covers}"))?;
    }
    for w in &b.warnings {
        o.para(2, &format!("warning: {w}"))?;
    }
    for (what, list) in [("narrowed", &b.narrowed), ("left out", &b.dropped)] {
        for d in list {
            let requests = plural(d.requests, "request");
            o.para(2, &format!("{what} {} ({requests}):", fit(&d.path, 48)))?;
            o.para(4, &d.reason)?;
        }
    }
    if !b.paths.is_empty() {
        writeln!(o.w)?;
        let cure = if r.mail_domains.is_empty() {
            "The lasting cure is DNS: tell the mail admin, and point autodiscover.<domain> at the mail provider."
        } else {
            "The lasting cure is DNS: the mail domains below and the records their mail admin should fix."
        };
        for step in [
            "Deploy: commit pantheon.yml at the repository root and deploy it Dev -> Test -> Live as a normal release (not a hotfix); existing Multidevs pick it up only after a new commit there.",
            "Then nginx answers these probes with a cheap 403 before PHP starts. Outlook keeps retrying, but each retry now costs nginx, not a PHP worker.",
            cure,
        ] {
            o.para(2, step)?;
        }
    }
    Ok(())
}

/// Domains listed in full; the rest are counted (the JSON report lists them all).
const SHOWN: usize = 20;

/// The section; nothing when no noise request named a domain.
fn domains(o: &mut Out, r: &Report) -> io::Result<()> {
    let all = &r.mail_domains;
    if all.is_empty() {
        return Ok(());
    }
    o.heading("MAIL DOMAINS BEHIND THE NOISE")?;
    if r.mail_domains_approximate {
        o.para(
            2,
            "More domains were asked for than noisegate keeps: these are a sample by name, each with its exact requests, not the busiest; a busy domain can be missing from it.",
        )?;
    }
    for d in all.iter().take(SHOWN) {
        domain(o, d)?;
    }
    if all.len() > SHOWN {
        let more = all.len() - SHOWN;
        o.para(
            2,
            &format!(
                "... and {} (see -o json).",
                plural(more as u64, "more domain")
            ),
        )?;
    }
    writeln!(o.w)?;
    o.para(2, RECORDS_SENTENCE)?;
    o.para(
        2,
        &format!(
            "Check them with: {}",
            dns_command(&all[..all.len().min(SHOWN)])
        ),
    )
}

fn domain(o: &mut Out, d: &MailDomainView) -> io::Result<()> {
    writeln!(o.w)?;
    let name = escape_text(d.domain.as_bytes());
    o.para(
        2,
        &format!(
            "{name}: {} · {}",
            plural(d.requests, "request"),
            d.mailboxes_phrase()
        ),
    )?;
    if !d.examples.is_empty() {
        let examples: Vec<String> = d
            .examples
            .iter()
            .map(|e| escape_text(e.as_bytes()))
            .collect();
        let what = if d.masked { "masked" } else { "shown" };
        o.para(4, &format!("mailboxes ({what}): {}", examples.join(", ")))?;
    }
    let cats: Vec<String> = d
        .categories
        .iter()
        .map(|c| format!("{} {}", c.id, thousands(c.requests)))
        .collect();
    o.para(4, &format!("categories: {}", cats.join(", ")))?;
    let fams: Vec<String> = d
        .families
        .iter()
        .map(|f| format!("{} {}", escape_text(&f.family), thousands(f.requests)))
        .collect();
    o.para(4, &format!("clients: {}", fams.join(", ")))?;
    let recs: Vec<String> = d
        .records
        .iter()
        .map(|x| format!("{} {}", escape_text(x.name.as_bytes()), x.kind))
        .collect();
    o.para(4, &format!("check: {}", recs.join(", ")))
}
