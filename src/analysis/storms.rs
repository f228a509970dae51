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

/// Each (category, client) activity, sorted, with its key split.
fn activities(summary: &Summary) -> Vec<(usize, &[u8], Activity)> {
    summary
        .activity
        .entries()
        .into_iter()
        .map(|(key, act)| {
            let mut act = act.clone();
            act.normalize();
            (usize::from(key[0]), &key[1..], act)
        })
        .collect()
}

/// Splits sorted cells into runs separated by gaps longer than `gap` minutes.
fn runs(cells: &[Cell], gap: i64) -> Vec<&[Cell]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=cells.len() {
        if i == cells.len() || cells[i].minute - cells[i - 1].minute > gap {
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
        request_time_us: run.iter().map(|c| c.request_time_us).sum(),
    }
}

/// Every client storm, most requests first (ties: earlier, then category, then client).
pub fn storms(summary: &Summary, cfg: &StormConfig) -> Vec<Storm> {
    let mut out: Vec<Storm> = Vec::new();
    for (category, client, act) in activities(summary) {
        for run in runs(&act.cells, cfg.gap_minutes) {
            let storm = storm_of(category, client, run);
            if storm.requests >= cfg.min_requests && storm.rate() >= cfg.rate {
                out.push(storm);
            }
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

fn minute_load(summary: &Summary) -> MinuteLoad {
    let mut load = MinuteLoad::new();
    for (category, _, act) in activities(summary) {
        for c in &act.cells {
            let e = load.entry((category, c.minute)).or_default();
            e.0 += u64::from(c.requests);
            e.1 += 1;
            e.2 += c.request_time_us;
        }
    }
    load
}

/// Every surge, in time order (ties by category).
pub fn surges(summary: &Summary, cfg: &StormConfig) -> Vec<Surge> {
    let load = minute_load(summary);
    let mut out: Vec<Surge> = Vec::new();
    let hot = load
        .iter()
        .filter(|(_, l)| l.0 >= cfg.surge_min_requests && l.1 >= cfg.surge_min_clients);
    let mut open: HashMap<usize, Surge> = HashMap::new();
    let mut last_minute: HashMap<usize, i64> = HashMap::new();
    for (&(category, minute), &(requests, _, _)) in hot {
        let joins = last_minute
            .get(&category)
            .is_some_and(|&m| minute - m <= cfg.surge_gap_minutes);
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
        if requests > s.peak_minute_requests {
            (s.peak_minute, s.peak_minute_requests) = (minute * 60, requests);
        }
        last_minute.insert(category, minute);
    }
    out.extend(open.into_values());
    for s in &mut out {
        fill_surge(s, &load, summary);
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.category.cmp(&b.category)));
    out
}

/// Requests, server time and distinct clients over the whole span of a surge.
fn fill_surge(s: &mut Surge, load: &MinuteLoad, summary: &Summary) {
    let (from, to) = (s.start / 60, s.end / 60);
    for (_, &(requests, _, rt)) in load.range((s.category, from)..=(s.category, to)) {
        s.requests += requests;
        s.request_time_us += rt;
    }
    s.clients = activities(summary)
        .iter()
        .filter(|(c, _, act)| {
            *c == s.category && act.cells.iter().any(|c| (from..=to).contains(&c.minute))
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
        let found = storms(&s, &StormConfig::default());
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
        assert_eq!(storms(&s, &cfg).len(), 2);
        let lax = StormConfig {
            gap_minutes: 60,
            ..cfg
        };
        let one = storms(&s, &lax);
        assert!(
            one.is_empty(),
            "one run of 320 over 64 minutes is 5/min: {one:?}"
        );
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
        let found = surges(&s, &StormConfig::default());
        assert_eq!(found.len(), 2);
        assert_eq!((found[0].start, found[0].end), (6000, 103 * 60 + 59));
        assert_eq!((found[0].requests, found[0].clients), (108, 12));
        assert_eq!(found[1].requests, 36);
    }
}
