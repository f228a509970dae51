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
use std::borrow::Cow;
use std::collections::HashMap;

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
    /// Loops: the fewest requests a loop holds.
    pub loop_min_requests: u64,
    /// Loops: the shortest span of a loop, minutes.
    pub loop_min_minutes: i64,
    /// Loops: the longest quiet gap inside a loop, minutes.
    pub loop_gap_minutes: i64,
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
            loop_min_requests: 100,
            loop_min_minutes: 60,
            loop_gap_minutes: 15,
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
pub(crate) struct Surge {
    /// Category index.
    pub(crate) category: usize,
    /// Start of the first surge minute and end of the last, epoch seconds.
    pub(crate) start: i64,
    /// See `start` (the last second of the last minute).
    pub(crate) end: i64,
    /// Requests of the category in the surge's minutes.
    pub(crate) requests: u64,
    /// Distinct clients in the surge's minutes.
    pub(crate) clients: u64,
    /// The busiest minute and its requests.
    pub(crate) peak_minute: i64,
    /// See `peak_minute`.
    pub(crate) peak_minute_requests: u64,
    /// Server time, microseconds.
    pub(crate) request_time_us: u64,
}

/// One (category, client) activity, sorted.
pub(crate) struct ClientActivity<'s> {
    /// Category index.
    pub(crate) category: usize,
    /// The client.
    pub(crate) client: &'s [u8],
    /// Its minutes, sorted (the summary's own when it is normalized already, as a settled
    /// summary's are).
    pub(crate) activity: Cow<'s, Activity>,
}

/// Each (category, client) activity, sorted, with its key split.
pub(crate) fn activities(summary: &Summary) -> Vec<ClientActivity<'_>> {
    summary
        .activity
        .entries()
        .into_iter()
        .map(|(key, act)| {
            let activity = if act.is_normalized() {
                Cow::Borrowed(act)
            } else {
                let mut a = act.clone();
                a.normalize();
                Cow::Owned(a)
            };
            ClientActivity {
                category: usize::from(key[0]),
                client: &key[1..],
                activity,
            }
        })
        .collect()
}

/// What a stretch of cells adds up to: span, requests, busiest minute, server time.
#[derive(Clone, Copy, Debug)]
struct Stretch {
    start: i64,
    end: i64,
    requests: u64,
    peak_minute: i64,
    peak_minute_requests: u64,
    request_time_us: u64,
}

impl Stretch {
    fn of(c: &Cell) -> Self {
        Stretch {
            start: c.minute * 60 + i64::from(c.first_sec),
            end: c.minute * 60 + i64::from(c.last_sec),
            requests: u64::from(c.requests),
            peak_minute: c.minute * 60,
            peak_minute_requests: u64::from(c.requests),
            request_time_us: c.request_time_us,
        }
    }

    /// Adds a later cell; on equal counts the earlier minute stays the peak.
    fn add(&mut self, c: &Cell) {
        self.end = c.minute * 60 + i64::from(c.last_sec);
        self.requests += u64::from(c.requests);
        self.request_time_us = self.request_time_us.saturating_add(c.request_time_us);
        if u64::from(c.requests) > self.peak_minute_requests {
            self.peak_minute = c.minute * 60;
            self.peak_minute_requests = u64::from(c.requests);
        }
    }

    /// `self` with `c` added, or `c` alone when it starts a new stretch.
    fn with(mut self, c: &Cell, joins: bool) -> Self {
        if joins {
            self.add(c);
            self
        } else {
            Stretch::of(c)
        }
    }

    fn qualifies(&self, cfg: &StormConfig) -> bool {
        let minutes = self.end.div_euclid(60) - self.start.div_euclid(60) + 1;
        self.requests >= cfg.min_requests && self.requests as f64 / minutes as f64 >= cfg.rate
    }

    fn storm(&self, category: usize, client: &[u8]) -> Storm {
        Storm {
            category,
            client: client.to_vec(),
            start: self.start,
            end: self.end,
            requests: self.requests,
            peak_minute: self.peak_minute,
            peak_minute_requests: self.peak_minute_requests,
            request_time_us: self.request_time_us,
        }
    }
}

/// The storm rule, applied incrementally to one (category, client)'s minute cells in time
/// order. The report feeds it a client's merged cells; `--follow` feeds it cells as lines
/// arrive. Both get the same storms from the same cells.
///
/// A *run* is a stretch of cells where the quiet time between one minute's last request and
/// the next minute's first is at most the gap. A run that meets the rule as a whole is one
/// storm. Otherwise its dense stretches are judged instead (minutes at or above the rate,
/// joined across quiet gaps of at most the gap), so that a burst inside a long steady trickle
/// is not averaged away. Memory is constant per tracker: the run, the open dense stretch and
/// the dense storms already closed.
#[derive(Clone, Debug)]
pub(crate) struct StormTracker {
    cfg: StormConfig,
    category: usize,
    client: Vec<u8>,
    run: Option<Stretch>,
    dense: Option<Stretch>,
    closed: Vec<Stretch>,
}

impl StormTracker {
    /// A tracker for one category and client.
    pub(crate) fn new(cfg: StormConfig, category: usize, client: &[u8]) -> Self {
        StormTracker {
            cfg,
            category,
            client: client.to_vec(),
            run: None,
            dense: None,
            closed: Vec::new(),
        }
    }

    fn gap(&self) -> i64 {
        self.cfg.gap_minutes * 60
    }

    fn joins(&self, s: Option<&Stretch>, c: &Cell) -> bool {
        s.is_some_and(|s| c.minute * 60 + i64::from(c.first_sec) - s.end <= self.gap())
    }

    fn dense_cell(&self, c: &Cell) -> bool {
        f64::from(c.requests) >= self.cfg.rate
    }

    /// Adds the next minute (later than every cell before it). A quiet gap longer than the
    /// storm gap ends the current run first: its storms go to `out`.
    pub(crate) fn push(&mut self, c: &Cell, out: &mut Vec<Storm>) {
        if self.run.is_some() && !self.joins(self.run.as_ref(), c) {
            self.finish(out);
        }
        self.run = Some(match self.run {
            Some(r) => r.with(c, true),
            None => Stretch::of(c),
        });
        if self.dense_cell(c) {
            let joins = self.joins(self.dense.as_ref(), c);
            if !joins {
                self.closed
                    .extend(self.dense.take().filter(|d| d.qualifies(&self.cfg)));
            }
            self.dense = Some(match self.dense {
                Some(d) => d.with(c, joins),
                None => Stretch::of(c),
            });
        }
    }

    /// The storm the current run already holds, with `partial` (the minute still being
    /// filled, if any) added: its first request and its requests so far. The whole run is
    /// preferred to a dense stretch of it, as in [`StormTracker::finish`].
    pub(crate) fn storming(&self, partial: Option<&Cell>) -> Option<(i64, u64)> {
        let cfg = &self.cfg;
        let (mut run, mut dense, mut closed) = (self.run, self.dense, self.closed.first());
        if let Some(c) = partial {
            let joins = self.joins(run.as_ref(), c);
            run = Some(run.map_or(Stretch::of(c), |r| r.with(c, joins)));
            if !joins {
                (dense, closed) = (None, None);
            }
            if self.dense_cell(c) {
                let joins = self.joins(dense.as_ref(), c);
                dense = Some(dense.map_or(Stretch::of(c), |d| d.with(c, joins)));
            }
        }
        [run, closed.copied(), dense]
            .into_iter()
            .flatten()
            .find(|s| s.qualifies(cfg))
            .map(|s| (s.start, s.requests))
    }

    /// Ends the current run: its storms go to `out`.
    pub(crate) fn finish(&mut self, out: &mut Vec<Storm>) {
        let Some(run) = self.run.take() else { return };
        let dense = self.dense.take();
        let closed = std::mem::take(&mut self.closed);
        let (category, client) = (self.category, &self.client[..]);
        if run.qualifies(&self.cfg) {
            out.push(run.storm(category, client));
            return;
        }
        let last = dense.filter(|d| d.qualifies(&self.cfg));
        out.extend(
            closed
                .iter()
                .chain(&last)
                .map(|d| d.storm(category, client)),
        );
    }
}

/// Every client storm, most requests first (ties: earlier, then category, then client).
pub(crate) fn storms(acts: &[ClientActivity<'_>], cfg: &StormConfig) -> Vec<Storm> {
    let mut out: Vec<Storm> = Vec::new();
    for a in acts {
        let mut tracker = StormTracker::new(*cfg, a.category, a.client);
        for c in &a.activity.cells {
            tracker.push(c, &mut out);
        }
        tracker.finish(&mut out);
    }
    sort_storms(&mut out);
    out
}

/// Every client loop: one client's run of probes in one category (no quiet gap longer than
/// `loop_gap_minutes`) that spans at least `loop_min_minutes` and holds at least
/// `loop_min_requests`, whatever its rate — Outlook retrying every few seconds for hours,
/// below the storm rate. A run that holds a storm of the same client is reported as that
/// storm, not again as a loop. Most requests first.
pub(crate) fn loops(
    acts: &[ClientActivity<'_>],
    cfg: &StormConfig,
    storms: &[Storm],
) -> Vec<Storm> {
    let gap = cfg.loop_gap_minutes * 60;
    let mut out = Vec::new();
    for a in acts {
        let mut run: Option<Stretch> = None;
        let close = |run: Option<Stretch>, out: &mut Vec<Storm>| {
            let Some(r) = run else { return };
            let long = r.end - r.start >= cfg.loop_min_minutes * 60;
            let stormy = storms.iter().any(|s| {
                s.category == a.category
                    && s.client == a.client
                    && s.start <= r.end
                    && r.start <= s.end
            });
            if long && r.requests >= cfg.loop_min_requests && !stormy {
                out.push(r.storm(a.category, a.client));
            }
        };
        for c in &a.activity.cells {
            let joins = run.is_some_and(|r| c.minute * 60 + i64::from(c.first_sec) - r.end <= gap);
            if !joins {
                close(run.take(), &mut out);
            }
            run = Some(run.map_or(Stretch::of(c), |r| r.with(c, joins)));
        }
        close(run, &mut out);
    }
    sort_storms(&mut out);
    out
}

/// Most requests first; ties: earlier, then category, then client.
pub(crate) fn sort_storms(storms: &mut [Storm]) {
    storms.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then(a.start.cmp(&b.start))
            .then(a.category.cmp(&b.category))
            .then(a.client.cmp(&b.client))
    });
}

/// Per (category, minute), sorted by both: requests, distinct clients, server time.
type MinuteLoad = Vec<((usize, i64), (u64, u64, u64))>;

/// Per-minute load of each category. Requests come from the timeline, which counts every
/// request; clients and server time from the per-client activity (a sample past its cap).
/// Summed in an array per category over the minutes its activity spans, when those arrays
/// are not much larger than the cells (an array walk against a hash look-up per cell: a
/// quarter of a million cells took 6 to 8 ms in a map), else in a hash map; either way
/// sorted by (category, minute).
fn minute_load(summary: &Summary, acts: &[ClientActivity<'_>]) -> MinuteLoad {
    minute_load_dense(summary, acts).unwrap_or_else(|| minute_load_hashed(summary, acts))
}

/// [`minute_load`] in arrays, one per category over the minutes its cells span: `None` when
/// they would hold more than twice as many minutes as there are cells (and 65,536 more).
fn minute_load_dense(summary: &Summary, acts: &[ClientActivity<'_>]) -> Option<MinuteLoad> {
    let cells: usize = acts.iter().map(|a| a.activity.cells.len()).sum();
    // Each category's first and last minute.
    let mut span: Vec<Option<(i64, i64)>> = Vec::new();
    for a in acts {
        let (Some(first), Some(last)) = (a.activity.cells.first(), a.activity.cells.last()) else {
            continue;
        };
        if span.len() <= a.category {
            span.resize(a.category + 1, None);
        }
        let s = span[a.category].get_or_insert((first.minute, last.minute));
        *s = (s.0.min(first.minute), s.1.max(last.minute));
    }
    // Where each category's array starts.
    let mut starts = Vec::with_capacity(span.len());
    let mut total = 0usize;
    for s in &span {
        starts.push(total);
        if let Some((first, last)) = s {
            let minutes = usize::try_from(last.checked_sub(*first)?)
                .ok()?
                .checked_add(1)?;
            total = total.checked_add(minutes)?;
        }
    }
    if total > cells.saturating_mul(2).saturating_add(1 << 16) {
        return None;
    }
    let at = |category: usize, minute: i64| -> Option<usize> {
        let (first, last) = (*span.get(category)?)?;
        (first..=last)
            .contains(&minute)
            .then(|| starts[category] + (minute - first) as usize)
    };
    let mut load = vec![(0u64, 0u64, 0u64); total];
    for a in acts {
        for c in &a.activity.cells {
            let e = &mut load[at(a.category, c.minute)?];
            e.0 += u64::from(c.requests);
            e.1 += 1;
            e.2 = e.2.saturating_add(c.request_time_us);
        }
    }
    summary.timeline.each(|minute, t| {
        for (category, &n) in t.categories.iter().enumerate() {
            if let Some(i) = at(category, minute).filter(|_| n > 0) {
                // A minute no client's cell holds has no entry, as in the map.
                let e = &mut load[i];
                if e.1 > 0 {
                    e.0 = e.0.max(n);
                }
            }
        }
    });
    let mut out = Vec::new();
    for (category, s) in span.iter().enumerate() {
        let Some((first, _)) = s else { continue };
        let start = starts[category];
        let end = starts.get(category + 1).copied().unwrap_or(total);
        for (i, e) in load[start..end].iter().enumerate() {
            if e.1 > 0 {
                out.push(((category, first + i as i64), *e));
            }
        }
    }
    Some(out)
}

/// [`minute_load`] in a hash map (one entry per noisy minute), sorted once.
fn minute_load_hashed(summary: &Summary, acts: &[ClientActivity<'_>]) -> MinuteLoad {
    let mut load: HashMap<(usize, i64), (u64, u64, u64), foldhash::fast::RandomState> =
        HashMap::default();
    for a in acts {
        for c in &a.activity.cells {
            let e = load.entry((a.category, c.minute)).or_default();
            e.0 += u64::from(c.requests);
            e.1 += 1;
            e.2 = e.2.saturating_add(c.request_time_us);
        }
    }
    summary.timeline.each(|minute, t| {
        for (category, &n) in t.categories.iter().enumerate() {
            if n > 0 {
                if let Some(e) = load.get_mut(&(category, minute)) {
                    e.0 = e.0.max(n);
                }
            }
        }
    });
    let mut load: MinuteLoad = load.into_iter().collect();
    load.sort_unstable_by_key(|&(k, _)| k);
    load
}

/// Every surge, in time order (ties by category). `acts` in key order, as [`activities`]
/// gives them.
pub(crate) fn surges(
    summary: &Summary,
    acts: &[ClientActivity<'_>],
    cfg: &StormConfig,
) -> Vec<Surge> {
    let load = minute_load(summary, acts);
    let mut out: Vec<Surge> = Vec::new();
    let hot = load
        .iter()
        .filter(|(_, l)| l.0 >= cfg.surge_min_requests && l.1 >= cfg.surge_min_clients);
    let mut open: HashMap<usize, Surge> = HashMap::new();
    for &((category, minute), _) in hot {
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
        // The activities are in key order, so a category's are one stretch of them.
        let from = acts.partition_point(|a| a.category < s.category);
        let to = from + acts[from..].partition_point(|a| a.category <= s.category);
        fill_surge(s, &load, &acts[from..to]);
    }
    out.sort_by(|a, b| a.start.cmp(&b.start).then(a.category.cmp(&b.category)));
    out
}

/// Requests, peak, server time and distinct clients over the whole span of a surge, from the
/// activities of its category (and maybe others).
fn fill_surge(s: &mut Surge, load: &MinuteLoad, acts: &[ClientActivity<'_>]) {
    let (from, to) = (s.start.div_euclid(60), s.end.div_euclid(60));
    let first = load.partition_point(|&(k, _)| k < (s.category, from));
    let last = load.partition_point(|&(k, _)| k <= (s.category, to));
    for &((_, minute), (requests, _, rt)) in &load[first..last] {
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
            requests: 200,
            first_sec,
            last_sec,
            request_time_us: 0,
        };
        // 23:50:00 then 23:55:59 is a 359 s gap: more than 5 minutes, two runs.
        let runs = |cells: &[Cell]| {
            let mut t = StormTracker::new(StormConfig::default(), 0, b"c");
            let mut out = Vec::new();
            for c in cells {
                t.push(c, &mut out);
            }
            t.finish(&mut out);
            out.len()
        };
        assert_eq!(runs(&[cell(0, 0, 0), cell(5, 59, 59)]), 2);
        assert_eq!(runs(&[cell(0, 0, 0), cell(5, 0, 0)]), 1);
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

    /// Random activity in a few categories, over a few minutes or (`wide`) over a span far
    /// too wide for the arrays, and timeline counts at random minutes (some with no client's
    /// cell).
    fn scattered() -> impl proptest::strategy::Strategy<Value = Summary> {
        use proptest::prelude::*;
        let event = (0usize..4, 0u8..6, 0i64..90, 1u32..30);
        let noted = (0usize..4, 0i64..90, 1u64..400);
        (
            prop::collection::vec(event, 0..120),
            prop::collection::vec(noted, 0..40),
            prop::bool::weighted(0.2),
        )
            .prop_map(|(events, noted, wide)| {
                let spread = if wide { 100_000 } else { 1 };
                let mut s = Summary::new(&Caps::default());
                for (cat, client, minute, n) in events {
                    let act = s.activity.slot(&[cat as u8, b'c', client]).unwrap();
                    for i in 0..n {
                        act.add(
                            minute * spread * 60 + i64::from(i % 60),
                            1000 + u64::from(i),
                        );
                    }
                }
                for (cat, minute, n) in noted {
                    if let Some(m) = s.timeline.at(minute * spread) {
                        m.categories[cat] += n;
                    }
                }
                s.settle();
                s
            })
    }

    proptest::proptest! {
        /// The load summed in arrays is the load summed in a map, whenever the arrays are
        /// used; they are for activity over a few minutes.
        #[test]
        fn the_array_load_is_the_map_load(s in scattered()) {
            let acts = activities(&s);
            let hashed = minute_load_hashed(&s, &acts);
            let dense = minute_load_dense(&s, &acts);
            let narrow = acts
                .iter()
                .flat_map(|a| &a.activity.cells)
                .all(|c| (0..90).contains(&c.minute));
            proptest::prop_assert!(dense.is_some() || !narrow);
            if let Some(dense) = dense {
                proptest::prop_assert_eq!(dense, hashed);
            }
        }

        /// A surge counts the distinct clients of its category with a request in its span.
        #[test]
        fn a_surge_counts_the_clients_of_its_category(s in scattered()) {
            let acts = activities(&s);
            let cfg = StormConfig { surge_min_requests: 5, surge_min_clients: 2, ..StormConfig::default() };
            for surge in surges(&s, &acts, &cfg) {
                let (from, to) = (surge.start.div_euclid(60), surge.end.div_euclid(60));
                let clients = acts
                    .iter()
                    .filter(|a| a.category == surge.category)
                    .filter(|a| a.activity.cells.iter().any(|c| (from..=to).contains(&c.minute)))
                    .count() as u64;
                proptest::prop_assert_eq!(surge.clients, clients);
            }
        }
    }
}
