//! The HTML report: one self-contained file (inline CSS and SVG, one inline script for the
//! copy button, nothing from the network) with the summary and the impact, the caveats, a
//! chart of all traffic and noise over time with storms shaded, the storms and surges, the
//! categories, the block and the mail domains behind the noise.
//!
//! Every string from the log is made printable (`escape_text`) and then HTML-escaped. Like
//! every renderer it only lays out the view model: it computes no statistic and reads times
//! from their typed values, never from text.

use super::bursts::BurstView;
use super::domains::RECORDS_SENTENCE;
use super::impact::LoadView;
use super::model::{CategoryView, Report};
use crate::numbers::{bytes, pct, secs, thousands};
use markup::{esc, log};
use std::io::{self, Write};

mod chart;
mod markup;

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:64em;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;border-bottom:1px solid #eee;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
.key{display:flex;gap:1em;flex-wrap:wrap}.key div{background:#fff4e5;border-radius:6px;padding:.6em 1em}\
.key b{display:block;font-size:1.5em}pre{background:#f6f6f6;padding:1em;overflow:auto}\
button{font:inherit;padding:.3em 1em}svg text{font:12px system-ui,sans-serif}.t{white-space:nowrap}";

/// Writes the HTML report.
pub(crate) fn render(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>Mail-client noise report</title><style>{STYLE}</style></head><body>"
    )?;
    summary(r, w)?;
    warnings(r, w)?;
    chart::render(r, w)?;
    storms(r, w)?;
    categories(r, w)?;
    block(r, w)?;
    domains(r, w)?;
    writeln!(w, "</body></html>")
}

fn summary(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    writeln!(w, "<h1>Mail-client noise report</h1>")?;
    let inputs: Vec<String> = r.inputs.iter().map(|i| log(i.as_bytes())).collect();
    let l = &r.lines;
    writeln!(
        w,
        "<p>{} · {} format · {} lines read, {} parsed, {} rejected{}</p>",
        inputs.join(", "),
        esc(r.format.as_deref().unwrap_or("no")),
        thousands(l.total),
        thousands(l.parsed),
        thousands(l.rejected),
        r.time.as_ref().map_or(String::new(), |t| format!(
            " · <span class=t>{}</span> to <span class=t>{}</span>",
            t.first, t.last
        ))
    )?;
    let n = &r.noise;
    let mut cards = vec![
        (thousands(n.requests), "mail-client probes".to_string()),
        (pct(n.share_of_requests), "of all requests".to_string()),
        (pct(n.share_of_404s), "of all 404s".to_string()),
    ];
    if let Some(share) = n.share_of_request_time {
        cards.push((pct(share), "of server time".to_string()));
    }
    if let Some(mw) = r.impact.noise.mean_workers {
        cards.push((
            format!("{mw:.2}"),
            "PHP workers busy on average".to_string(),
        ));
    }
    writeln!(w, "<div class=\"key\">")?;
    for (v, what) in cards {
        writeln!(w, "<div><b>{v}</b>{what}</div>")?;
    }
    writeln!(w, "</div>")?;
    impact(r, w)
}

fn impact(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let i = &r.impact;
    let (Some(nw), Some(aw)) = (i.noise.mean_workers, i.all.mean_workers) else {
        return writeln!(
            w,
            "<p>No <code>$request_time</code> in this format: worker occupancy unavailable.</p>"
        );
    };
    let load = |l: &LoadView, mean: f64| {
        let mut s = format!("<b>{mean:.2}</b>");
        if let Some(share) = l.share_of_capacity {
            s += &format!(" ({} of {})", pct(share), i.php_workers);
        }
        s += " on average";
        if let (Some(m), Some(v)) = (l.peak_minute, l.peak_minute_workers) {
            s += &format!(", {v:.1}");
            if let Some(share) = l.peak_share_of_capacity {
                s += &format!(" ({} of {})", pct(share), i.php_workers);
            }
            s += &format!(" in the worst minute (<span class=t>{m}</span>)");
        }
        s
    };
    writeln!(
        w,
        "<p>PHP workers kept busy by mail-client probes: {}; by all traffic: {}. The block \
         below turns {} more probes into 403s, freeing about {} server seconds.</p>",
        load(&i.noise, nw),
        load(&i.all, aw),
        thousands(i.blockable_requests),
        thousands(i.saved_request_time_s.unwrap_or(0.0).round() as u64)
    )?;
    Ok(())
}

/// Caveats and unreadable inputs, always shown.
fn warnings(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    for c in &r.caveats {
        writeln!(w, "<p><i>Note: {}</i></p>", esc(c))?;
    }
    for e in &r.errors {
        writeln!(
            w,
            "<p><b>Not read:</b> {}: {}</p>",
            log(e.file.as_bytes()),
            log(e.message.as_bytes())
        )?;
    }
    Ok(())
}

fn storms(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    if r.storms.is_empty() && r.surges.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>Storms</h2><table><tr><th>category</th><th>client</th><th>start</th><th>end</th><th class=n>requests</th><th class=n>peak/min</th><th class=n>workers</th></tr>")?;
    for s in &r.storms {
        storm_row(w, s.category, &log(&s.client), &s.burst)?;
    }
    for s in &r.surges {
        let who = format!("surge: {} clients", s.clients);
        storm_row(w, s.category, &who, &s.burst)?;
    }
    writeln!(w, "</table>")
}

/// One row of the storms table; `who` is already escaped HTML.
fn storm_row(w: &mut dyn Write, category: &str, who: &str, b: &BurstView) -> io::Result<()> {
    writeln!(
        w,
        "<tr><td>{category}</td><td>{who}</td><td class=t>{}</td><td class=t>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
        b.start,
        b.end,
        thousands(b.requests),
        b.peak_per_minute,
        b.mean_workers.map_or("-".to_string(), |v| format!("{v:.2}"))
    )
}

fn categories(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    if r.categories.is_empty() {
        return writeln!(w, "<p>No request matched a mail-client path.</p>");
    }
    writeln!(w, "<h2>Categories</h2><table><tr><th>category</th><th class=n>requests</th><th class=n>share</th><th class=n>404s</th><th class=n>server time</th><th class=n>p95</th><th class=n>clients</th></tr>")?;
    for c in &r.categories {
        let t = &c.traffic;
        writeln!(
            w,
            "<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            c.id,
            thousands(t.requests),
            pct(c.share_of_requests),
            thousands(c.not_found),
            t.request_time_s.map_or("-".to_string(), secs),
            t.request_time_p95_s.map_or("-".to_string(), secs),
            thousands(c.clients)
        )?;
    }
    writeln!(w, "</table>")?;
    for c in &r.categories {
        details(c, w)?;
    }
    Ok(())
}

fn details(c: &CategoryView, w: &mut dyn Write) -> io::Result<()> {
    writeln!(
        w,
        "<details><summary>{} · {} · {}</summary>",
        c.id,
        esc(c.name),
        bytes(c.traffic.bytes)
    )?;
    let rows = |w: &mut dyn Write, title: &str, items: Vec<(String, u64)>| -> io::Result<()> {
        writeln!(
            w,
            "<table><tr><th>{title}</th><th class=n>requests</th></tr>"
        )?;
        for (k, n) in items {
            writeln!(w, "<tr><td>{k}</td><td class=n>{}</td></tr>", thousands(n))?;
        }
        writeln!(w, "</table>")
    };
    rows(
        w,
        "path",
        c.paths
            .iter()
            .take(20)
            .map(|p| (log(&p.path), p.requests))
            .collect(),
    )?;
    rows(
        w,
        "client",
        c.top_clients
            .iter()
            .map(|p| (log(&p.client), p.requests))
            .collect(),
    )?;
    rows(
        w,
        "user agent",
        c.top_user_agents
            .iter()
            .map(|p| (log(&p.user_agent), p.requests))
            .collect(),
    )?;
    writeln!(w, "</details>")
}

fn block(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let b = &r.block;
    writeln!(w, "<h2>Block it: pantheon.yml</h2>")?;
    writeln!(w, "<pre id=\"block\">{}</pre>", esc(&b.pantheon_yml))?;
    writeln!(
        w,
        "<button type=\"button\" onclick=\"navigator.clipboard.writeText(document.getElementById('block').textContent);this.textContent='Copied'\">Copy</button>"
    )?;
    if let Some(covers) = b.coverage.sentence() {
        writeln!(w, "<p>Covers {covers}.</p>")?;
    }
    if !b.narrowed.is_empty() || !b.dropped.is_empty() {
        writeln!(w, "<ul>")?;
        for (what, list) in [("narrowed", &b.narrowed), ("left out", &b.dropped)] {
            for d in list {
                writeln!(
                    w,
                    "<li>{what} <code>{}</code>: {}</li>",
                    esc(&d.path),
                    esc(&d.reason)
                )?;
            }
        }
        writeln!(w, "</ul>")?;
    }
    let cure = if r.mail_domains.is_empty() {
        "tell the mail admin and point <code>autodiscover.&lt;domain&gt;</code> at the mail provider"
    } else {
        "the mail domains below and the records their mail admin should fix"
    };
    writeln!(
        w,
        "<p>Commit <code>pantheon.yml</code> at the repository root and deploy Dev → Test → Live \
         (not as a hotfix); existing Multidevs need a new commit. nginx then answers these probes \
         with a 403 before PHP; Outlook keeps retrying, at nginx's cost. The lasting cure is DNS: \
         {cure}.</p>"
    )
}

/// The section; nothing when no noise request named a domain.
fn domains(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let all = &r.mail_domains;
    if all.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>Mail domains behind the noise</h2>")?;
    if r.mail_domains_approximate {
        writeln!(
            w,
            "<p>More domains were asked for than noisegate keeps: these are a sample by name, not the busiest; a busy domain can be missing from it.</p>"
        )?;
    }
    writeln!(
        w,
        "<table><tr><th>domain</th><th class=n>requests</th><th class=n>mailboxes</th>\
         <th>examples</th><th>categories</th><th>clients</th><th>records to check</th></tr>"
    )?;
    for d in all {
        let examples: Vec<String> = d.examples.iter().map(|e| log(e.as_bytes())).collect();
        let cats: Vec<String> = d
            .categories
            .iter()
            .map(|c| format!("{} {}", esc(c.id), thousands(c.requests)))
            .collect();
        let fams: Vec<String> = d
            .families
            .iter()
            .map(|f| format!("{} {}", log(&f.family), thousands(f.requests)))
            .collect();
        let recs: Vec<String> = d
            .records
            .iter()
            .map(|x| format!("<code>{}</code> {}", log(x.name.as_bytes()), x.kind))
            .collect();
        let at_least = if d.mailboxes_at_least { "≥ " } else { "" };
        writeln!(
            w,
            "<tr><td><code>{}</code></td><td class=n>{}</td><td class=n>{at_least}{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            log(d.domain.as_bytes()),
            thousands(d.requests),
            thousands(d.mailboxes),
            examples.join("<br>"),
            cats.join("<br>"),
            fams.join("<br>"),
            recs.join("<br>")
        )?;
    }
    writeln!(w, "</table>")?;
    writeln!(w, "<p>{}</p>", esc(RECORDS_SENTENCE))
}
