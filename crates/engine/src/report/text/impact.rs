//! The `IMPACT` section of the text report: the caveats, then what the noise costs in PHP
//! workers and what the block saves, in plain words. It formats the impact view's figures
//! (seconds as milliseconds, rounding for display) and computes none.

use super::out::{short, Out};
use crate::numbers::{pct, thousands};
use crate::report::impact::LoadView;
use crate::report::model::Report;
use std::io;

/// `, 3.2 at the worst minute (03-10 11:45)`, or nothing without `$request_time`; with
/// `capacity`, that minute's share of the PHP workers too: `(03-10 11:45, 40.00% of 8)`.
fn peak(l: &LoadView, capacity: Option<u32>) -> String {
    match (l.peak_minute, l.peak_minute_workers) {
        (Some(m), Some(w)) => {
            let share = match (capacity, l.peak_share_of_capacity) {
                (Some(n), Some(s)) => format!(", {} of {n}", pct(s)),
                _ => String::new(),
            };
            format!(", {w:.1} at the worst minute ({}{share})", short(m))
        }
        _ => String::new(),
    }
}

/// The caveats and the impact in plain words.
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
    let share = pct(n.share_of_capacity.unwrap_or(0.0));
    let workers = i.php_workers;
    let (np, ap) = (peak(n, Some(workers)), peak(a, None));
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
