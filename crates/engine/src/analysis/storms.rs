//! Storms and surges: when mail clients hammer the site.
//!
//! A *storm* is one client's run of activity in one category with no gap longer than
//! `gap_minutes`, holding at least `min_requests` at a mean rate of at least `rate` requests
//! per minute. A *surge* is a run of minutes (joined when at most `surge_gap_minutes` apart) in
//! which a category got at least `surge_min_requests` requests from at least
//! `surge_min_clients` clients: a fleet that no single client makes a storm of. Both are pure
//! functions of the summary's per-minute activity, so they do not depend on line order.

use crate::summary::time::{Activity, Cell};
use crate::summary::Summary;
use std::collections::{BTreeMap, HashMap};

/// The thresholds (see the module doc); defaults in [`StormConfig::default`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StormConfig {
    /// Longest quiet gap inside a storm, minutes.
    pub gap_minutes: i64,
    /// Fewest requests a storm holds.
    pub min_requests: u64,
    /// Lowest mean rate of a storm, requests per minute.
    pub rate: f64,
    /// Fewest requests in a surge minute.
    pub surge_min_requests: u64,
    /// Fewest distinct clients in a surge minute.
    pub surge_min_clients: u64,
    /// Surge minutes at most this far apart are one surge.
    pub surge_gap_minutes: i64,
}

impl Default for StormConfig {
    fn default() -> Self {
        StormConfig {
            gap_minutes: 5,
            min_requests: 120,
            rate: 20.0,
            surge_min_requests: 30,
            surge_min_clients: 10,
            surge_gap_minutes: 2,
        }
    }
}

/// One client's storm.
#[derive(Clone, Debug, PartialEq)]
pub struct Storm {
    /// Category index.
    pub category: usize,
    /// The client.
    pub client: Vec<u8>,
    /// First and last request, epoch seconds.
    pub start: i64,
    /// See `start`.
    pub end: i64,
    /// Requests.
    pub requests: u64,
    /// The busiest minute (epoch seconds of its start) and its requests.
    pub peak_minute: i64,
    /// See `peak_minute`.
    pub peak_minute_requests: u64,
    /// Server time, microseconds.
    pub request_time_us: u64,
}

impl Storm {
    /// Whole minutes from the first to the last request's minute, at least 1.
    pub fn minutes(&self) -> i64 {
        self.end.div_euclid(60) - self.start.div_euclid(60) + 1
    }

    /// Mean requests per minute.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.minutes() as f64
    }
}

/// A category's surge.
#[derive(Clone, Debug, PartialEq)]
pub struct Surge {
    /// Category index.
    pub category: usize,
    /// Start of the first surge minute and end of the last, epoch seconds.
    pub start: i64,
    /// See `start` (the last second of the last minute).
    pub end: i64,
    /// Requests of the category in the surge's minutes.
    pub requests: u64,
    /// Distinct clients in the surge's minutes.
    pub clients: u64,
    /// The busiest minute and its requests.
    pub peak_minute: i64,
    /// See `peak_minute`.
    pub peak_minute_requests: u64,
    /// Server time, microseconds.
    pub request_time_us: u64,
}

/// One (category, client) activity, sorted.
pub struct ClientActivity<'s> {
    /// Category index.
    pub category: usize,
    /// The client.
    pub client: &'s [u8],
    /// Its minutes, sorted.
    pub activity: Activity,
}

/// Each (category, client) activity, sorted, with its key split.
pub fn activities(summary: &Summary) -> Vec<ClientActivity<'_>> {
    summary
        .activity
        .entries()
        .into_iter()
        .map(|(key, act)| {
            let mut activity = act.clone();
            activity.normalize();
            ClientActivity {
                category: usize::from(key[0]),
                client: &key[1..],
                activity,
            }
        })
        .collect()
}

/// Splits sorted cells into runs where the quiet time between one minute's last request and
/// the next minute's first is longer than `gap` seconds.
fn runs(cells: &[Cell], gap: i64) -> Vec<&[Cell]> {
    let at = |c: &Cell, sec: u8| c.minute * 60 + i64::from(sec);
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=cells.len() {
        if i == cells.len()
            || at(&cells[i], cells[i].first_sec) - at(&cells[i - 1], cells[i - 1].last_sec) > gap
        {
            out.push(&cells[start..i]);
            start = i;
        }
    }
    out
}

fn storm_of(category: usize, client: &[u8], run: &[Cell]) -> Storm {
    let (first, last) = (run[0], run[run.len() - 1]);
    let peak = run
        .iter()
        .max_by(|a, b| a.requests.cmp(&b.requests).then(b.minute.cmp(&a.minute)))
        .expect("a run is not empty");
    Storm {
        category,
        client: client.to_vec(),
        start: first.minute * 60 + i64::from(first.first_sec),
        end: last.minute * 60 + i64::from(last.last_sec),
        requests: run.iter().map(|c| u64::from(c.requests)).sum(),
        peak_minute: peak.minute * 60,
        peak_minute_requests: u64::from(peak.requests),
        request_time_us: run
            .iter()
            .fold(0u64, |a, c| a.saturating_add(c.request_time_us)),
    }
}

/// The storms of one run: the run itself when it qualifies; otherwise its dense stretches
/// (minutes at or above the rate, joined across quiet gaps), so that a burst inside a long
/// steady trickle is not averaged away.
fn storms_of_run(category: usize, client: &[u8], run: &[Cell], cfg: &StormConfig) -> Vec<Storm> {
    let qualifies = |s: &Storm| s.requests >= cfg.min_requests && s.rate() >= cfg.rate;
    let whole = storm_of(category, client, run);
    if qualifies(&whole) {
        return vec![whole];
    }
    let dense: Vec<Cell> = run
        .iter()
        .filter(|c| f64::from(c.requests) >= cfg.rate)
        .copied()
        .collect();
    if dense.len() == run.len() {
        return Vec::new();
    }
    runs(&dense, cfg.gap_minutes * 60)
        .into_iter()
        .map(|r| storm_of(category, client, r))
        .filter(|s| qualifies(s))
        .collect()
}

/// Every client storm, most requests first (ties: earlier, then category, then client).
pub fn storms(acts: &[ClientActivity<'_>], cfg: &StormConfig) -> Vec<Storm> {
    let mut out: Vec<Storm> = Vec::new();
    for a in acts {
        for run in runs(&a.activity.cells, cfg.gap_minutes * 60) {
            out.extend(storms_of_run(a.category, a.client, run, cfg));
        }
    }
    out.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then(a.start.cmp(&b.start))
            .then(a.category.cmp(&b.category))
            .then(a.client.cmp(&b.client))
    });
    out
}

/// Per (category, minute): requests, distinct clients, server time.
type MinuteLoad = BTreeMap<(usize, i64), (u64, u64, u64)>;

/// Per-minute load of each category. Requests come from the timeline, which counts every
/// request; clients and server time from the per-client activity (a sample past its cap).
fn minute_load(summary: &Summary, acts: &[ClientActivity<'_>]) -> MinuteLoad {
    let mut load = MinuteLoad::new();
    for a in acts {
        for c in &a.activity.cells {
            let e = load.entry((a.category, c.minute)).or_default();
            e.0 += u64::from(c.requests);
            e.1 += 1;
            e.2 = e.2.saturating_add(c.request_time_us);
        }
    }
    for (minute, t) in summary.timeline.sorted() {
        for (category, &n) in t.categories.iter().enumerate() {
            if let Some(e) = load.get_mut(&(category, minute)) {
                e.0 = e.0.max(n);
            }
        }
    }
    load
}

/// Every surge, in time order (ties by category).
pub fn surges(summary: &Summary, acts: &[ClientActivity<'_>], cfg: &StormConfig) -> Vec<Surge> {
    let load = minute_load(summary, acts);
    let mut out: Vec<Surge> = Vec::new();
    let hot = load
        .iter()
        .filter(|(_, l)| l.0 >= cfg.surge_min_requests && l.1 >= cfg.surge_min_clients);
    let mut open: HashMap<usize, Surge> = HashMap::new();
    for (&(category, minute), _) in hot {
        let joins = open
            .get(&category)
            .is_some_and(|s| minute - s.end.div_euclid(60) <= cfg.surge_gap_minutes);
        if !joins {
            out.extend(open.remove(&category));
        }
        let s = open.entry(category).or_insert(Surge {
            category,
            start: minute * 60,
            end: minute * 60 + 59,
            requests: 0,
            clients: 0,
            peak_minute: minute * 60,
            peak_minute_requests: 0,
            request_time_us: 0,
        });
        s.end = minute * 60 + 59;
    }
    out.extend(open.into_values());
    for s in &mut out {
        fill_surge(s, &load, acts);
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.category.cmp(&b.category)));
    out
}

/// Requests, peak, server time and distinct clients over the whole span of a surge.
fn fill_surge(s: &mut Surge, load: &MinuteLoad, acts: &[ClientActivity<'_>]) {
    let (from, to) = (s.start.div_euclid(60), s.end.div_euclid(60));
    for (&(_, minute), &(requests, _, rt)) in load.range((s.category, from)..=(s.category, to)) {
        s.requests += requests;
        s.request_time_us = s.request_time_us.saturating_add(rt);
        if requests > s.peak_minute_requests {
            (s.peak_minute, s.peak_minute_requests) = (minute * 60, requests);
        }
    }
    s.clients = acts
        .iter()
        .filter(|a| a.category == s.category)
        .filter(|a| {
            let cells = &a.activity.cells;
            let i = cells.partition_point(|c| c.minute < from);
            cells.get(i).is_some_and(|c| c.minute <= to)
        })
        .count() as u64;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{Caps, Summary};

    fn summary_with(events: &[(usize, &str, i64, u32)]) -> Summary {
        let mut s = Summary::new(&Caps::default());
        for &(cat, client, t, n) in events {
            let mut key = vec![cat as u8];
            key.extend_from_slice(client.as_bytes());
            let act = s.activity.slot(&key).unwrap();
            for i in 0..n {
                act.add(t + i64::from(i % 60), 1000);
            }
        }
        s
    }

    #[test]
    fn finds_a_storm_and_ignores_a_steady_client() {
        // 40 requests a minute for 10 minutes, then quiet; another client hourly.
        let mut ev: Vec<(usize, &str, i64, u32)> =
            (0..10).map(|m| (0, "1.1.1.1", 600 + m * 60, 40)).collect();
        ev.extend((0..24).map(|h| (0, "2.2.2.2", h * 3600, 1)));
        let s = summary_with(&ev);
        let found = storms(&activities(&s), &StormConfig::default());
        assert_eq!(found.len(), 1);
        let st = &found[0];
        assert_eq!(st.client, b"1.1.1.1");
        assert_eq!((st.start, st.end), (600, 600 + 9 * 60 + 39));
        assert_eq!((st.requests, st.peak_minute_requests), (400, 40));
        assert_eq!(st.minutes(), 10);
    }

    #[test]
    fn gaps_split_runs_and_weak_runs_are_not_storms() {
        let mut ev: Vec<(usize, &str, i64, u32)> =
            (0..4).map(|m| (0, "1.1.1.1", m * 60, 40)).collect();
        ev.extend((0..4).map(|m| (0, "1.1.1.1", 3600 + m * 60, 40)));
        let s = summary_with(&ev);
        let cfg = StormConfig::default();
        assert_eq!(storms(&activities(&s), &cfg).len(), 2);
        let lax = StormConfig {
            gap_minutes: 60,
            ..cfg
        };
        let one = storms(&activities(&s), &lax);
        assert!(
            one.is_empty(),
            "one run of 320 over 64 minutes is 5/min: {one:?}"
        );
    }

    #[test]
    fn a_burst_inside_steady_polling_is_still_a_storm() {
        let mut ev: Vec<(usize, &str, i64, u32)> =
            (0..600).map(|m| (0, "1.1.1.1", m * 60, 2)).collect();
        ev.extend((300..330).map(|m| (0, "1.1.1.1", m * 60, 100)));
        let s = summary_with(&ev);
        let found = storms(&activities(&s), &StormConfig::default());
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!((found[0].start, found[0].requests), (300 * 60, 30 * 102));
    }

    #[test]
    fn the_gap_is_measured_in_seconds() {
        let cell = |minute, first_sec, last_sec| Cell {
            minute,
            requests: 1,
            first_sec,
            last_sec,
            request_time_us: 0,
        };
        // 23:50:00 then 23:55:59 is a 359 s gap: more than 5 minutes.
        assert_eq!(runs(&[cell(0, 0, 0), cell(5, 59, 59)], 300).len(), 2);
        assert_eq!(runs(&[cell(0, 0, 0), cell(5, 0, 0)], 300).len(), 1);
    }

    #[test]
    fn a_fleet_makes_a_surge() {
        let mut ev: Vec<(usize, &str, i64, u32)> = Vec::new();
        let clients: Vec<String> = (0..12).map(|i| format!("10.0.0.{i}")).collect();
        for minute in [100, 101, 103, 110] {
            for c in &clients {
                ev.push((0, c.as_str(), minute * 60, 3));
            }
        }
        let s = summary_with(&ev);
        let found = surges(&s, &activities(&s), &StormConfig::default());
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].start, found[0].end), (6000, 103 * 60 + 59));
        assert_eq!((found[0].requests, found[0].clients), (108, 12));
        assert_eq!(found[1].requests, 36);
    }
}
