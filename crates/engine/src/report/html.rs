//! The HTML report: one self-contained file (inline CSS and SVG, one inline script for the
//! copy button, nothing from the network) with the summary and the impact, the caveats, a
//! chart of all traffic and noise over time with storms shaded, the storms and surges, the
//! categories and the block.
//!
//! Every string from the log is made printable (`escape_text`) and then HTML-escaped. Like
//! every renderer it only lays out the view model: it computes no statistic and reads times
//! from their typed values, never from text.

use super::bursts::{BurstView, StormView};
use super::impact::LoadView;
use super::model::{CategoryView, Report};
use super::units::Timestamp;
use crate::escape::escape_text;
use crate::numbers::{bytes, pct, secs, thousands};
use std::io::{self, Write};

/// Text as inert HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Bytes from the log as inert HTML.
fn log(raw: &[u8]) -> String {
    esc(&escape_text(raw))
}

const STYLE: &str = "body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:64em;padding:0 1em;color:#222}\
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:.5em 0}td,th{padding:.2em .7em;border-bottom:1px solid #eee;text-align:left}\
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}\
.key{display:flex;gap:1em;flex-wrap:wrap}.key div{background:#fff4e5;border-radius:6px;padding:.6em 1em}\
.key b{display:block;font-size:1.5em}pre{background:#f6f6f6;padding:1em;overflow:auto}\
button{font:inherit;padding:.3em 1em}svg text{font:12px system-ui,sans-serif}";

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
    chart(r, w)?;
    storms(r, w)?;
    categories(r, w)?;
    block(r, w)?;
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
        r.time
            .as_ref()
            .map_or(String::new(), |t| format!(" · {} to {}", t.first, t.last))
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
    let peak = |l: &LoadView| match (l.peak_minute, l.peak_minute_workers) {
        (Some(m), Some(v)) => format!(", {v:.1} at the worst minute ({m})"),
        _ => String::new(),
    };
    writeln!(
        w,
        "<p>Mail-client probes kept <b>{nw:.2}</b> PHP workers busy on average{} ({} of {}). \
         All traffic kept {aw:.2} busy{}. The block below turns {} more probes into 403s, \
         freeing about {} server seconds.</p>",
        peak(&i.noise),
        pct(i.noise.share_of_capacity.unwrap_or(0.0)),
        i.php_workers,
        peak(&i.all),
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

/// The SVG chart: requests and noise per bucket, storms shaded.
fn chart(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let m = &r.timeline.minutes;
    let (Some(first), Some(last)) = (m.first(), m.last()) else {
        return Ok(());
    };
    let (start, end) = (first.minute.epoch_minute(), last.minute.epoch_minute());
    const COLS: i64 = 240;
    let step = ((end - start) / COLS + 1).max(1);
    let n = ((end - start) / step + 1) as usize;
    let (mut all, mut noise) = (vec![0u64; n], vec![0u64; n]);
    for x in m {
        let i = (((x.minute.epoch_minute() - start) / step) as usize).min(n - 1);
        all[i] += x.requests;
        noise[i] += x.noise;
    }
    let max = all.iter().copied().max().unwrap_or(1).max(1) as f64;
    let (width, height) = (960.0, 220.0);
    let x = |i: f64| 40.0 + i * (width - 50.0) / n as f64;
    let y = |v: u64| height - 25.0 - v as f64 / max * (height - 40.0);
    let points = |v: &[u64]| -> String {
        v.iter()
            .enumerate()
            .map(|(i, &c)| format!("{:.1},{:.1}", x(i as f64), y(c)))
            .collect::<Vec<_>>()
            .join(" ")
    };
    writeln!(w, "<h2>When</h2><svg viewBox=\"0 0 {width} {height}\" width=\"100%\" role=\"img\" aria-label=\"requests and noise over time\">")?;
    for s in &r.storms {
        let column = |t: Timestamp| ((t.epoch_minute() - start) / step) as f64;
        let (x0, x1) = (x(column(s.burst.start)), x(column(s.burst.end) + 1.0));
        shade(w, s, x0, (x1 - x0).max(2.0), height - 35.0)?;
    }
    writeln!(
        w,
        "<polyline fill=\"none\" stroke=\"#888\" stroke-width=\"1.5\" points=\"{}\"/>",
        points(&all)
    )?;
    writeln!(
        w,
        "<polyline fill=\"none\" stroke=\"#e07000\" stroke-width=\"2\" points=\"{}\"/>",
        points(&noise)
    )?;
    let (first, last) = (first.minute, last.minute);
    writeln!(
        w,
        "<text x=\"40\" y=\"{}\">{first}</text><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{last}</text>\
         <text x=\"40\" y=\"12\">peak {} requests per {step} min · <tspan fill=\"#888\">all traffic</tspan> · \
         <tspan fill=\"#e07000\">mail-client noise</tspan> · <tspan fill=\"#d9534f\">storms shaded</tspan></text></svg>",
        height - 8.0,
        width - 10.0,
        height - 8.0,
        thousands(max as u64)
    )
}

/// The shaded band of storm `s` on the chart, `width` wide from `x`.
fn shade(w: &mut dyn Write, s: &StormView, x: f64, width: f64, height: f64) -> io::Result<()> {
    writeln!(
        w,
        "<rect x=\"{x:.1}\" y=\"10\" width=\"{width:.1}\" height=\"{height:.1}\" fill=\"#f5c2c0\"><title>storm: {} from {}</title></rect>",
        s.category,
        log(&s.client)
    )
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
        "<tr><td>{category}</td><td>{who}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
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
    writeln!(
        w,
        "<p>Commit <code>pantheon.yml</code> at the repository root and deploy Dev → Test → Live \
         (not as a hotfix); existing Multidevs need a new commit. nginx then answers these probes \
         with a 403 before PHP; Outlook keeps retrying, at nginx's cost. The lasting cure is DNS: \
         tell the mail admin and point <code>autodiscover.&lt;domain&gt;</code> at the mail provider.</p>"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_strings_are_inert() {
        assert_eq!(
            log(b"<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
        assert_eq!(log(b"\x1b\"q"), "\\x1b&quot;q");
    }
}
