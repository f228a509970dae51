//! The Markdown report, for a ticket or a pull request: the summary, tables of the categories,
//! storms and surges, the impact, and the block in a fenced code block. Strings from the log
//! are made printable (`escape_text`, once: strings the model already escaped are not escaped
//! again) and stripped of Markdown meaning before they are written: no emphasis, link, HTML,
//! entity (`&rlm;`) or autolink (`https://`, `www.`, `a@b`) survives.
//! Like every renderer it only lays out the view model and computes no statistic.

use super::model::Report;
use super::units::Timestamp;
use crate::escape::{escape_text, terminal_text};
use crate::numbers::{bytes, pct, secs, thousands};
use std::io::{self, Write};

/// A log string (raw bytes) as inert Markdown text: printable ASCII only, Markdown
/// punctuation escaped.
fn md(raw: &[u8]) -> String {
    md_text(&escape_text(raw))
}

/// A string already made printable (the model's escaped paths and reasons, caveats,
/// messages) as inert Markdown text: a control or invisible character left would be shown as
/// `\xHH`; a `\` is kept as is, so the `\xHH` escapes read as they were made (a log's own
/// backslash is `\x5c`, never doubled). Backslash-escaped: the characters of emphasis,
/// links, code, tables, HTML and headings, `&` (entities), `~` (strikethrough), and `:` and
/// `@` and the `.` of `www.`, which GitHub would turn into links.
fn md_text(s: &str) -> String {
    let s = terminal_text(s);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let www = c == '.' && out.len() >= 3 && out[out.len() - 3..].eq_ignore_ascii_case("www");
        if "|`*_[]<>#&~:@".contains(c) || www {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or_else(|| "-".to_string(), f)
}

/// Writes the Markdown report.
pub(crate) fn render(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    summary(r, w)?;
    for c in &r.caveats {
        writeln!(w, "> Note: {}\n", md_text(c))?;
    }
    for e in &r.errors {
        writeln!(
            w,
            "> **Not read:** {}: {}\n",
            md(e.file.as_bytes()),
            md_text(&e.message)
        )?;
    }
    categories(r, w)?;
    storms(r, w)?;
    impact(r, w)?;
    block(r, w)?;
    domains(r, w)
}

fn summary(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "# Mail-client noise report (noisegate {})\n", r.version)?;
    let inputs: Vec<String> = r.inputs.iter().map(|i| md(i.as_bytes())).collect();
    writeln!(
        w,
        "- **Input:** {} ({} format)",
        inputs.join(", "),
        r.format.as_deref().unwrap_or("no")
    )?;
    let l = &r.lines;
    writeln!(
        w,
        "- **Lines:** {} read, {} parsed, {} rejected, {} outside the time window",
        thousands(l.total),
        thousands(l.parsed),
        thousands(l.rejected),
        thousands(l.filtered)
    )?;
    if let Some(t) = &r.time {
        writeln!(w, "- **Time:** {} to {}", t.first, t.last)?;
    }
    let t = &r.totals;
    let server = opt(t.request_time_s, secs);
    writeln!(
        w,
        "- **Requests:** {}, {} sent, {server} of server time",
        thousands(t.requests),
        bytes(t.bytes)
    )?;
    let n = &r.noise;
    let share_time = opt(n.share_of_request_time, pct);
    writeln!(
        w,
        "- **Mail-client noise:** {} requests, {} of all requests, {} of 404s, {share_time} of server time\n",
        thousands(n.requests),
        pct(n.share_of_requests),
        pct(n.share_of_404s)
    )
}

fn categories(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    if r.categories.is_empty() {
        return writeln!(w, "No request matched a mail-client path.\n");
    }
    writeln!(w, "## Categories\n")?;
    writeln!(
        w,
        "| category | requests | share | 404s | server s | p50 | p95 | clients | top path |"
    )?;
    writeln!(w, "|---|---:|---:|---:|---:|---:|---:|---:|---|")?;
    for c in &r.categories {
        let t = &c.traffic;
        let top = c.paths.first().map_or(String::new(), |p| md(&p.path));
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {top} |",
            c.id,
            thousands(t.requests),
            pct(c.share_of_requests),
            thousands(c.not_found),
            opt(t.request_time_s, |v| format!("{v:.1}")),
            opt(t.request_time_p50_s, |v| format!("{v:.3}")),
            opt(t.request_time_p95_s, |v| format!("{v:.3}")),
            thousands(c.clients)
        )?;
    }
    writeln!(w)
}

fn storms(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    if !r.storms.is_empty() {
        writeln!(w, "## Storms\n")?;
        writeln!(
            w,
            "| category | client | start | end | requests | peak/min | workers |"
        )?;
        writeln!(w, "|---|---|---|---|---:|---:|---:|")?;
        for s in &r.storms {
            let b = &s.burst;
            writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} | {} |",
                s.category,
                md(&s.client),
                b.start,
                b.end,
                thousands(b.requests),
                b.peak_per_minute,
                opt(b.mean_workers, |v| format!("{v:.2}"))
            )?;
        }
        writeln!(w)?;
    }
    if !r.surges.is_empty() {
        writeln!(w, "## Surges\n")?;
        writeln!(
            w,
            "| category | start | end | requests | clients | peak/min |"
        )?;
        writeln!(w, "|---|---|---|---:|---:|---:|")?;
        for s in &r.surges {
            let b = &s.burst;
            writeln!(
                w,
                "| {} | {} | {} | {} | {} | {} |",
                s.category,
                b.start,
                b.end,
                thousands(b.requests),
                s.clients,
                b.peak_per_minute
            )?;
        }
        writeln!(w)?;
    }
    Ok(())
}

fn impact(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let i = &r.impact;
    let (Some(nw), Some(aw)) = (i.noise.mean_workers, i.all.mean_workers) else {
        return Ok(());
    };
    writeln!(w, "## Impact\n")?;
    let peak = |m: Option<Timestamp>, v: Option<f64>| match (m, v) {
        (Some(m), Some(v)) => format!(", {v:.1} at the worst minute ({m})"),
        _ => String::new(),
    };
    writeln!(
        w,
        "- Mail-client probes kept {nw:.2} PHP workers busy on average{}.",
        peak(i.noise.peak_minute, i.noise.peak_minute_workers)
    )?;
    writeln!(
        w,
        "- All traffic kept {aw:.2} busy on average{}.",
        peak(i.all.peak_minute, i.all.peak_minute_workers)
    )?;
    writeln!(
        w,
        "- The block turns {} more probes into 403s, freeing about {} server seconds.\n",
        thousands(i.blockable_requests),
        opt(i.saved_request_time_s, |v| thousands(v.round() as u64))
    )
}

fn block(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let b = &r.block;
    writeln!(
        w,
        "## Block it: pantheon.yml\n\n```yaml\n{}```\n",
        b.pantheon_yml
    )?;
    if let Some(covers) = b.coverage.sentence() {
        writeln!(w, "Covers {covers}.")?;
    }
    for (what, list) in [("Narrowed", &b.narrowed), ("Left out", &b.dropped)] {
        for d in list {
            writeln!(w, "- {what} {}: {}", md_text(&d.path), md_text(&d.reason))?;
        }
    }
    let cure = if r.mail_domains.is_empty() {
        "point the `autodiscover` DNS record at the mail provider"
    } else {
        "then have the mail admin fix the DNS records of the mail domains below"
    };
    writeln!(
        w,
        "\nDeploy: commit `pantheon.yml` at the repository root, deploy Dev → Test → Live, re-commit on existing Multidevs; {cure}."
    )
}

/// The mail domains behind the noise: a table, the records to check per domain, and what
/// they do.
fn domains(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let all = &r.mail_domains;
    if all.is_empty() {
        return Ok(());
    }
    writeln!(w, "\n## Mail domains behind the noise\n")?;
    if r.mail_domains_approximate {
        writeln!(
            w,
            "> Note: more domains were asked for than noisegate keeps; these are a sample by name, not the busiest; a busy domain can be missing from it.\n"
        )?;
    }
    writeln!(
        w,
        "| Domain | Requests | Mailboxes | Examples | Categories | Clients |\n|---|---:|---:|---|---|---|"
    )?;
    for d in all {
        let list = |v: Vec<String>| v.join(", ");
        let cats = list(
            d.categories
                .iter()
                .map(|c| format!("{} {}", c.id, thousands(c.requests)))
                .collect(),
        );
        let fams = list(
            d.families
                .iter()
                .map(|f| format!("{} {}", md(&f.family), thousands(f.requests)))
                .collect(),
        );
        let mailboxes = match d.mailboxes_at_least {
            true => format!("≥ {}", thousands(d.mailboxes)),
            false => thousands(d.mailboxes),
        };
        writeln!(
            w,
            "| {} | {} | {mailboxes} | {} | {} | {} |",
            md_text(&d.domain),
            thousands(d.requests),
            list(d.examples.iter().map(|e| md(e.as_bytes())).collect()),
            md_text(&cats),
            fams
        )?;
    }
    writeln!(w, "\nRecords to check:\n")?;
    for d in all {
        let recs: Vec<String> = d
            .records
            .iter()
            .map(|x| format!("{} ({})", md_text(&x.name), x.kind))
            .collect();
        writeln!(w, "- {}: {}", md_text(&d.domain), recs.join(", "))?;
    }
    writeln!(w, "\n{}", md_text(super::domains::RECORDS_SENTENCE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_strings_lose_their_markdown_meaning() {
        assert_eq!(
            md(b"a|b`c*d_[x](y)<s>#"),
            "a\\|b\\`c\\*d\\_\\[x\\](y)\\<s\\>\\#"
        );
        assert_eq!(md(b"\x1b[1m\n"), "\\x1b\\[1m\\x0a");
        assert_eq!(
            md(b"&rlm;https://x.io www.y WWW.z a@b.c"),
            "\\&rlm;https\\://x.io www\\.y WWW\\.z a\\@b.c"
        );
        assert_eq!(md(b"/\xc3\\"), "/\\xc3\\x5c");
        assert_eq!(md_text("/\\xc3\\x5c"), "/\\xc3\\x5c");
        assert_eq!(md_text("a\u{202e}b"), "a\\xe2\\x80\\xaeb");
    }
}
