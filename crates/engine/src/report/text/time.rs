//! The time sections of the text report: a chart of all traffic and noise over time, the
//! storms and surges tables, and the impact in plain words.

use super::Out;
use crate::escape::{escape_text, fit};
use crate::numbers::{pct, thousands};
use crate::report::model::Report;
use crate::report::time::{DetailsView, LoadView};
use std::io;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Bucket widths the chart may use, minutes.
const STEPS: [i64; 12] = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 10080];
/// Columns of the chart.
const COLUMNS: i64 = 64;

/// `2024-03-10T12:05:00Z` → `03-10 12:05`.
fn short(t: &str) -> String {
    if t.len() >= 16 {
        format!("{} {}", &t[5..10], &t[11..16])
    } else {
        t.to_string()
    }
}

fn bar(v: u64, max: u64) -> char {
    if v == 0 || max == 0 {
        ' '
    } else {
        BARS[((v * 8 - 1) / max).min(7) as usize]
    }
}

/// Minutes since the epoch of an RFC 3339 minute from the timeline.
fn minute_of(t: &str) -> Option<i64> {
    crate::format::time::parse_iso8601(t.as_bytes()).map(|s| s.div_euclid(60))
}

/// A chart of requests and noise per bucket, each row scaled to its own maximum.
pub(super) fn when(o: &mut Out, r: &Report) -> io::Result<()> {
    let m = &r.timeline.minutes;
    let (Some(first), Some(last)) = (m.first(), m.last()) else {
        return Ok(());
    };
    let (Some(start), Some(end)) = (minute_of(&first.minute), minute_of(&last.minute)) else {
        return Ok(());
    };
    // The smallest round width that fits the span in COLUMNS; past the largest, whatever fits.
    let fits = (end - start) / COLUMNS + 1;
    let step = STEPS.iter().copied().find(|&s| s >= fits).unwrap_or(fits);
    let buckets = ((end - start) / step + 1) as usize;
    let (mut all, mut noise) = (vec![0u64; buckets], vec![0u64; buckets]);
    for minute in m {
        let Some(at) = minute_of(&minute.minute) else {
            continue;
        };
        let i = (((at - start) / step) as usize).min(buckets - 1);
        all[i] += minute.requests;
        noise[i] += minute.noise;
    }
    let row = |v: &[u64]| -> String {
        let max = v.iter().copied().max().unwrap_or(0);
        v.iter().map(|&x| bar(x, max)).collect()
    };
    let width = match step {
        s if s % 10_080 == 0 => format!("{} week", s / 10_080),
        s if s % 1440 == 0 => format!("{} day", s / 1440),
        s if s % 60 == 0 => format!("{} h", s / 60),
        s => format!("{s} min"),
    };
    o.heading(&format!("WHEN (one column = {width})"))?;
    writeln!(o.w, "  all    {}", row(&all))?;
    let noise_row = o.paint("33", &row(&noise));
    writeln!(o.w, "  noise  {noise_row}")?;
    let from = short(&first.minute);
    let to = short(&last.minute);
    // The labels end under the last column when the chart is wide enough for both.
    match buckets.checked_sub(from.len() + to.len()) {
        Some(pad) if pad > 0 => writeln!(o.w, "         {from}{:pad$}{to}", ""),
        _ => writeln!(o.w, "         {from} .. {to}"),
    }
}

/// The storms and surges tables.
pub(super) fn storms(o: &mut Out, r: &Report) -> io::Result<()> {
    if !r.storms.is_empty() {
        o.heading(&format!(
            "STORMS: {} (one client hammering)",
            r.storms.len()
        ))?;
        writeln!(
            o.w,
            "  {:<12} {:<22} {:<11} {:>5} {:>8} {:>6} {:>7}",
            "category", "client", "start", "min", "requests", "peak", "workers"
        )?;
        for s in &r.storms {
            let client = fit(&escape_text(&s.client), 22);
            writeln!(
                o.w,
                "  {:<12} {client:<22} {:<11} {:>5} {:>8} {:>6} {:>7}",
                s.category,
                short(&s.burst.start),
                minutes(s.burst.requests, s.burst.rate_per_minute),
                thousands(s.burst.requests),
                s.burst.peak_per_minute,
                workers(s.burst.mean_workers)
            )?;
            if let Some(d) = &s.burst.details {
                details(o, d)?;
            }
        }
    }
    if !r.surges.is_empty() {
        o.heading(&format!(
            "SURGES: {} (a fleet of clients at once)",
            r.surges.len()
        ))?;
        writeln!(
            o.w,
            "  {:<12} {:<11} {:>5} {:>8} {:>8} {:>6} {:>7}",
            "category", "start", "min", "requests", "clients", "peak", "workers"
        )?;
        for s in &r.surges {
            writeln!(
                o.w,
                "  {:<12} {:<11} {:>5} {:>8} {:>8} {:>6} {:>7}",
                s.category,
                short(&s.burst.start),
                s.burst.duration_s / 60 + 1,
                thousands(s.burst.requests),
                s.clients,
                s.burst.peak_per_minute,
                workers(s.burst.mean_workers)
            )?;
            if let Some(d) = &s.burst.details {
                details(o, d)?;
            }
        }
    }
    Ok(())
}

/// Mean workers, or `-` without `$request_time`.
fn workers(w: Option<f64>) -> String {
    w.map_or_else(|| "-".to_string(), |w| format!("{w:.2}"))
}

/// The minutes a rate was computed over.
fn minutes(requests: u64, rate: f64) -> u64 {
    (requests as f64 / rate.max(f64::MIN_POSITIVE)).round() as u64
}

/// One line under a storm or surge: what it was made of.
fn details(o: &mut Out, d: &DetailsView) -> io::Result<()> {
    let mut parts: Vec<String> = Vec::new();
    parts.extend(
        d.methods
            .iter()
            .map(|m| format!("{} {}", escape_text(&m.method), thousands(m.requests))),
    );
    parts.extend(
        d.status
            .iter()
            .map(|(c, n)| format!("{c}: {}", thousands(*n))),
    );
    parts.extend(
        d.families
            .iter()
            .map(|f| format!("{} {}", escape_text(&f.family), thousands(f.requests))),
    );
    parts.push(format!("peak 60 s: {}", d.peak_60s));
    if let Some(p) = d.top_paths.first() {
        parts.push(fit(&escape_text(&p.path), 60));
    }
    o.para(4, &parts.join(" · "))
}

/// The impact in plain words.
pub(super) fn impact(o: &mut Out, r: &Report) -> io::Result<()> {
    let i = &r.impact;
    for c in &r.caveats {
        o.para(2, &format!("warning: {c}"))?;
    }
    if r.noise.requests == 0 {
        return Ok(());
    }
    o.heading("IMPACT")?;
    let (n, a) = (&i.noise, &i.all);
    let (Some(nw), Some(aw)) = (n.mean_workers, a.mean_workers) else {
        return o.para(
            2,
            "no $request_time in this format: PHP-worker occupancy unavailable.",
        );
    };
    let peak = |l: &LoadView| match (&l.peak_minute, l.peak_minute_workers) {
        (Some(m), Some(w)) => format!(", {w:.1} at the worst minute ({})", short(m)),
        _ => String::new(),
    };
    let share = pct(n.share_of_capacity.unwrap_or(0.0));
    let (workers, np, ap) = (i.php_workers, peak(n), peak(a));
    o.para(2, &format!("Mail-client probes kept {nw:.2} PHP workers busy on average ({share} of {workers}){np}."))?;
    o.para(2, &format!("All traffic kept {aw:.2} busy on average{ap}."))?;
    if i.already_blocked_requests > 0 {
        let n = thousands(i.already_blocked_requests);
        o.para(
            2,
            &format!("Already blocked: {n} probes were answered 403 by nginx."),
        )?;
    }
    let cost_ms = i.blocked_request_cost_s.unwrap_or(0.0) * 1000.0;
    let saved = thousands(i.saved_request_time_s.unwrap_or(0.0).round() as u64);
    let freed = i.saved_workers.unwrap_or(0.0);
    o.para(
        2,
        &format!(
            "The block below turns {} more probes into 403s at about {cost_ms:.0} ms each, freeing about {saved} server seconds ({freed:.2} workers on average).",
            thousands(i.blockable_requests)
        ),
    )
}
