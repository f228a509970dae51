//! The `STORMS` and `SURGES` tables of the text report, each row followed by one line on what
//! the storm or surge was made of. Every figure, the minutes included, comes from the view
//! model as it is; nothing here derives one figure from another.

use super::out::{short, Out};
use crate::escape::{escape_text, fit};
use crate::numbers::thousands;
use crate::report::bursts::DetailsView;
use crate::report::bursts::StormView;
use crate::report::model::Report;
use std::io;

/// The storms table, when there is a storm.
pub(super) fn storms(o: &mut Out, r: &Report) -> io::Result<()> {
    clients(o, "STORMS", "one client hammering", &r.storms)
}

/// The loops table, when there is a loop.
pub(super) fn loops(o: &mut Out, r: &Report) -> io::Result<()> {
    clients(o, "LOOPS", "one client retrying for hours", &r.loops)
}

/// A table of one-client runs (storms or loops).
fn clients(o: &mut Out, title: &str, what: &str, runs: &[StormView]) -> io::Result<()> {
    if !runs.is_empty() {
        o.heading(&format!("{title}: {} ({what})", runs.len()))?;
        writeln!(
            o.w,
            "  {:<12} {:<19} {:<11} {:>7} {:>8} {:>8} {:>7}",
            "category", "client", "start", "minutes", "requests", "peak/min", "workers"
        )?;
        for s in runs {
            let (client, b) = (fit(&escape_text(&s.client), 19), &s.burst);
            writeln!(
                o.w,
                "  {:<12} {client:<19} {:<11} {:>7} {:>8} {:>8} {:>7}",
                s.category,
                short(b.start),
                thousands(b.minutes.max(0) as u64),
                thousands(b.requests),
                thousands(b.peak_per_minute),
                workers(b.mean_workers)
            )?;
            if let Some(d) = &b.details {
                details(o, d)?;
            }
        }
    }
    Ok(())
}

/// The surges table, when there is a surge.
pub(super) fn surges(o: &mut Out, r: &Report) -> io::Result<()> {
    if !r.surges.is_empty() {
        o.heading(&format!(
            "SURGES: {} (a fleet of clients at once)",
            r.surges.len()
        ))?;
        writeln!(
            o.w,
            "  {:<12} {:<11} {:>7} {:>8} {:>8} {:>8} {:>7}",
            "category", "start", "minutes", "requests", "clients", "peak/min", "workers"
        )?;
        for s in &r.surges {
            let b = &s.burst;
            writeln!(
                o.w,
                "  {:<12} {:<11} {:>7} {:>8} {:>8} {:>8} {:>7}",
                s.category,
                short(b.start),
                thousands(b.minutes.max(0) as u64),
                thousands(b.requests),
                thousands(s.clients),
                thousands(b.peak_per_minute),
                workers(b.mean_workers)
            )?;
            if let Some(d) = &b.details {
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
    let at_least = if d.peak_60s_exact { "" } else { "at least " };
    parts.push(format!("peak 60 s: {at_least}{}", d.peak_60s));
    if let Some(p) = d.top_paths.first() {
        parts.push(fit(&escape_text(&p.path), 60));
    }
    o.para(4, &parts.join(" · "))
}
