//! Time series kept in the summary: the per-minute timeline of all traffic and noise, and the
//! per-minute activity of each (category, client) pair that storms and surges are found in.
//!
//! Both are keyed by UTC minute and merge by adding, so they are independent of how the input
//! was split and of its order (logs need not be time-ordered). The timeline keeps at most
//! [`TIMELINE_CAP`] minutes (the latest ones, a set-based rule, so still independent of the
//! split); activity lives in a [`CappedMap`](super::CappedMap) keyed by category and client.

use super::keys::Tally;
use crate::classify::CATEGORIES;
use std::collections::HashMap;

/// Most minutes the timeline keeps: 65,536, about 45 days, so a month of logs fits whole.
/// Older minutes are dropped (and the timeline says so); storms and surges do not use it.
pub(crate) const TIMELINE_CAP: usize = 1 << 16;

/// What happened in one minute.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MinuteTotals {
    /// All requests.
    pub(crate) requests: u64,
    /// Noise requests.
    pub(crate) noise: u64,
    /// Server time of all requests, microseconds.
    pub(crate) request_time_us: u64,
    /// Server time of noise requests, microseconds.
    pub(crate) noise_time_us: u64,
    /// Noise requests answered 403 within [`CHEAP_MS`](crate::summary::CHEAP_MS): what a
    /// deployed block answers, which the worst-minute rule of `check` leaves out.
    pub(crate) blocked: u64,
    /// Noise requests per category, in [`CATEGORIES`] order.
    pub(crate) categories: [u64; CATEGORIES.len()],
}

impl MinuteTotals {
    fn absorb(&mut self, o: &MinuteTotals) {
        self.requests += o.requests;
        self.noise += o.noise;
        self.request_time_us = self.request_time_us.saturating_add(o.request_time_us);
        self.noise_time_us = self.noise_time_us.saturating_add(o.noise_time_us);
        self.blocked += o.blocked;
        for (a, b) in self.categories.iter_mut().zip(&o.categories) {
            *a += b;
        }
    }
}

/// Per-minute totals.
#[derive(Clone, Debug, Default)]
pub(crate) struct Timeline {
    minutes: HashMap<i64, MinuteTotals, foldhash::fast::RandomState>,
    /// Minutes before this one were dropped by the cap (`i64::MIN`: none).
    cutoff: i64,
    /// The minute being filled, kept aside: consecutive lines mostly share their minute.
    current: Option<(i64, MinuteTotals)>,
}

impl Timeline {
    /// An empty timeline.
    pub(crate) fn new() -> Self {
        Timeline {
            cutoff: i64::MIN,
            ..Timeline::default()
        }
    }

    /// The totals of `minute`, to update.
    #[inline]
    pub(crate) fn at(&mut self, minute: i64) -> Option<&mut MinuteTotals> {
        // The usual case first: the line falls in the minute being filled.
        let filling = matches!(self.current, Some((m, _)) if m == minute);
        if !filling || minute < self.cutoff {
            return self.at_other(minute);
        }
        self.current.as_mut().map(|c| &mut c.1)
    }

    /// [`Timeline::at`] for a minute other than the one being filled (or one below the cutoff).
    #[inline(never)]
    fn at_other(&mut self, minute: i64) -> Option<&mut MinuteTotals> {
        if minute < self.cutoff {
            return None;
        }
        if self.current.as_ref().map(|c| c.0) != Some(minute) {
            self.flush();
            self.current = Some((minute, MinuteTotals::default()));
        }
        self.current.as_mut().map(|c| &mut c.1)
    }

    fn flush(&mut self) {
        if let Some((m, t)) = self.current.take() {
            self.minutes.entry(m).or_default().absorb(&t);
            if self.minutes.len() >= TIMELINE_CAP + TIMELINE_CAP / 4 {
                self.prune();
            }
        }
    }

    /// Holds the timeline exactly to its cap (between checks it may hold a quarter more): the
    /// latest [`TIMELINE_CAP`] minutes, whatever the number of workers that filled it.
    pub(crate) fn settle(&mut self) {
        self.flush();
        self.prune();
    }

    fn prune(&mut self) {
        if self.minutes.len() <= TIMELINE_CAP {
            return;
        }
        let mut keys: Vec<i64> = self.minutes.keys().copied().collect();
        let at = keys.len() - TIMELINE_CAP;
        let (_, &mut cut, _) = keys.select_nth_unstable(at);
        self.cutoff = self.cutoff.max(cut);
        let cutoff = self.cutoff;
        self.minutes.retain(|&m, _| m >= cutoff);
    }

    /// Adds `o` into `self`.
    pub(crate) fn merge(&mut self, o: &Timeline) {
        self.flush();
        self.cutoff = self.cutoff.max(o.cutoff);
        o.each(|m, t| self.minutes.entry(m).or_default().absorb(t));
        let cutoff = self.cutoff;
        self.minutes.retain(|&m, _| m >= cutoff);
        self.prune();
    }

    /// Every minute, in no particular order.
    pub(crate) fn each(&self, mut f: impl FnMut(i64, &MinuteTotals)) {
        let current = self.current.as_ref();
        for (&m, t) in &self.minutes {
            match current {
                Some(c) if c.0 == m => {
                    let mut sum = *t;
                    sum.absorb(&c.1);
                    f(m, &sum);
                }
                _ => f(m, t),
            }
        }
        if let Some(c) = current.filter(|c| !self.minutes.contains_key(&c.0)) {
            f(c.0, &c.1);
        }
    }

    /// Every minute, in time order.
    pub(crate) fn sorted(&self) -> Vec<(i64, MinuteTotals)> {
        let mut v: Vec<(i64, MinuteTotals)> = self.minutes.iter().map(|(m, t)| (*m, *t)).collect();
        if let Some(c) = self.current {
            match v.iter_mut().find(|e| e.0 == c.0) {
                Some(e) => e.1.absorb(&c.1),
                None => v.push(c),
            }
        }
        v.sort_unstable_by_key(|e| e.0);
        v
    }

    /// `true` when the cap dropped the oldest minutes.
    pub(crate) fn truncated(&self) -> bool {
        self.cutoff != i64::MIN
    }

    /// The first minute kept (`None`: the cap dropped none), for saving.
    pub(crate) fn cutoff(&self) -> Option<i64> {
        self.truncated().then_some(self.cutoff)
    }

    /// Drops the minutes before `cutoff`, as a saved timeline that had dropped them says.
    pub(crate) fn restore_cutoff(&mut self, cutoff: i64) {
        self.flush();
        self.cutoff = self.cutoff.max(cutoff);
        let cutoff = self.cutoff;
        self.minutes.retain(|&m, _| m >= cutoff);
    }

    /// Adds the saved totals of a minute, holding the timeline to its cap as it grows.
    pub(crate) fn restore_minute(&mut self, minute: i64, totals: &MinuteTotals) {
        self.flush();
        if minute < self.cutoff {
            return;
        }
        self.minutes.entry(minute).or_default().absorb(totals);
        if self.minutes.len() >= TIMELINE_CAP + TIMELINE_CAP / 4 {
            self.prune();
        }
    }
}

/// One minute of one client's activity in one category.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cell {
    /// UTC minute (epoch seconds / 60).
    pub(crate) minute: i64,
    /// Requests.
    pub(crate) requests: u32,
    /// Second (0-59) of the first and of the last request in the minute.
    pub(crate) first_sec: u8,
    /// See `first_sec`.
    pub(crate) last_sec: u8,
    /// Server time, microseconds.
    pub(crate) request_time_us: u64,
}

// The caps and the README count a cell as 24 bytes.
const _: () = assert!(std::mem::size_of::<Cell>() == 24);

/// A client's per-minute activity in a category, sorted by minute once merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Activity {
    /// The minutes with requests.
    pub(crate) cells: Vec<Cell>,
}

impl Activity {
    /// Counts one request at `t` (epoch seconds).
    #[inline]
    pub(crate) fn add(&mut self, t: i64, request_time_us: u64) {
        let (minute, sec) = (t.div_euclid(60), t.rem_euclid(60) as u8);
        match self.cells.last_mut() {
            Some(c) if c.minute == minute => {
                c.requests += 1;
                c.first_sec = c.first_sec.min(sec);
                c.last_sec = c.last_sec.max(sec);
                c.request_time_us = c.request_time_us.saturating_add(request_time_us);
            }
            _ => self.cells.push(Cell {
                minute,
                requests: 1,
                first_sec: sec,
                last_sec: sec,
                request_time_us,
            }),
        }
    }

    /// Sorts by minute and joins cells of the same minute.
    pub(crate) fn normalize(&mut self) {
        self.cells.sort_unstable_by_key(|c| c.minute);
        let mut out: Vec<Cell> = Vec::with_capacity(self.cells.len());
        for c in self.cells.drain(..) {
            match out.last_mut() {
                Some(l) if l.minute == c.minute => join(l, &c),
                _ => out.push(c),
            }
        }
        out.shrink_to_fit();
        self.cells = out;
    }
}

impl Activity {
    /// Whether the cells are normalized (sorted by minute, one cell a minute).
    pub(crate) fn is_normalized(&self) -> bool {
        self.cells.windows(2).all(|w| w[0].minute < w[1].minute)
    }
}

/// Joins `c` into `into`, a cell of the same minute.
fn join(into: &mut Cell, c: &Cell) {
    into.requests += c.requests;
    into.first_sec = into.first_sec.min(c.first_sec);
    into.last_sec = into.last_sec.max(c.last_sec);
    into.request_time_us = into.request_time_us.saturating_add(c.request_time_us);
}

impl Tally for Activity {
    /// The same cells as extending and normalizing, but in linear time when both sides are
    /// normalized (the usual case: a client's minutes absorbed again and again as a scan
    /// goes, where sorting the whole list each time grew with its length).
    fn absorb(&mut self, other: &Self) {
        if !self.is_normalized() || !other.is_normalized() {
            self.cells.extend_from_slice(&other.cells);
            self.normalize();
            return;
        }
        let (Some(last), Some(first)) = (self.cells.last_mut(), other.cells.first()) else {
            self.cells.extend_from_slice(&other.cells);
            return;
        };
        if last.minute <= first.minute {
            // Later minutes: join at the seam, append the rest.
            let rest = if last.minute == first.minute {
                join(last, first);
                &other.cells[1..]
            } else {
                &other.cells[..]
            };
            self.cells.reserve_exact(rest.len());
            self.cells.extend_from_slice(rest);
            return;
        }
        // Two workers' lists interleave, mostly a cell or two at a time (each worker's blocks
        // cover a few minutes of the log): merged a cell at a time, the side taken chosen
        // without a branch. A binary search for each run, and a branch on which side comes
        // next (a coin toss), took 7.0 ms of the serial merge of two workers' summaries of
        // the 24%-noise log; this, 5.2.
        let (a, b) = (&self.cells[..], &other.cells[..]);
        let mut out = Vec::with_capacity(a.len() + b.len());
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            let (x, y) = (&a[i], &b[j]);
            if x.minute == y.minute {
                let mut c = *x;
                join(&mut c, y);
                out.push(c);
                (i, j) = (i + 1, j + 1);
                continue;
            }
            let first = x.minute < y.minute;
            out.push(*if first { x } else { y });
            i += usize::from(first);
            j += usize::from(!first);
        }
        out.extend_from_slice(&a[i..]);
        out.extend_from_slice(&b[j..]);
        out.shrink_to_fit();
        self.cells = out;
    }

    fn requests(&self) -> u64 {
        self.cells.iter().map(|c| u64::from(c.requests)).sum()
    }

    fn weight(&self) -> usize {
        self.cells.len()
    }

    fn compact(&mut self) {
        if self.is_normalized() {
            self.cells.shrink_to_fit();
        } else {
            self.normalize();
        }
    }
}

/// The key of a (category, client) pair in the activity map.
pub(crate) fn activity_key(category: usize, client: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.push(category as u8);
    out.extend_from_slice(client);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_merges_and_sorts_minutes() {
        let mut a = Timeline::new();
        a.at(10).unwrap().requests += 1;
        a.at(5).unwrap().requests += 2;
        a.at(10).unwrap().noise += 1;
        let mut b = Timeline::new();
        b.at(5).unwrap().requests += 1;
        let mut m = Timeline::new();
        m.merge(&b);
        m.merge(&a);
        let v = m.sorted();
        assert_eq!(v.len(), 2);
        assert_eq!((v[0].0, v[0].1.requests), (5, 3));
        assert_eq!((v[1].1.requests, v[1].1.noise), (1, 1));
    }

    #[test]
    fn activity_joins_minutes_in_any_order() {
        let mut a = Activity::default();
        for t in [125, 61, 170, 119, 60] {
            a.add(t, 1000);
        }
        a.normalize();
        assert_eq!(a.cells.len(), 2);
        assert_eq!(a.cells[0].minute, 1);
        assert_eq!(
            (
                a.cells[0].requests,
                a.cells[0].first_sec,
                a.cells[0].last_sec
            ),
            (3, 0, 59)
        );
        assert_eq!(
            (
                a.cells[1].requests,
                a.cells[1].first_sec,
                a.cells[1].last_sec
            ),
            (2, 5, 50)
        );
        assert_eq!(a.requests(), 5);
    }

    mod absorb {
        use super::*;
        use proptest::prelude::*;

        fn activity(times: &[(i64, u64)], normalize: bool) -> Activity {
            let mut a = Activity::default();
            for &(t, rt) in times {
                a.add(t, rt);
            }
            if normalize {
                a.normalize();
            }
            a
        }

        /// `a` absorbing `b`, and `a` extended by `b` and normalized.
        fn both_ways(a: &Activity, b: &Activity) -> (Activity, Activity) {
            let (mut fast, mut slow) = (a.clone(), a.clone());
            fast.absorb(b);
            slow.cells.extend_from_slice(&b.cells);
            slow.normalize();
            (fast, slow)
        }

        proptest! {
            /// Absorbing gives the cells (and the capacity-free list) that extending and
            /// normalizing gives, whether either side is normalized, disjoint, interleaved or
            /// empty.
            #[test]
            fn equals_extend_and_normalize(
                a in proptest::collection::vec((0i64..1200, 0u64..5000), 0..60),
                b in proptest::collection::vec((0i64..1200, 0u64..5000), 0..60),
                shift in 0i64..1300,
                na: bool,
                nb: bool,
            ) {
                let b: Vec<_> = b.into_iter().map(|(t, rt)| (t + shift, rt)).collect();
                let (mut fast, mut slow) = both_ways(&activity(&a, na), &activity(&b, nb));
                prop_assert_eq!(&fast.cells, &slow.cells);
                fast.compact();
                slow.compact();
                prop_assert_eq!(fast.cells, slow.cells);
            }

            /// The same for long lists, in runs of any length (the merge takes a cell at a time,
            /// the side chosen without a branch): one side's minutes in stretches of up to 300,
            /// the other's in the gaps or over them.
            #[test]
            fn long_runs_equal_extend_and_normalize(
                stretches in proptest::collection::vec((0i64..4, 1i64..300), 1..20),
                shift in 0i64..50,
            ) {
                let (mut x, mut y, mut at) = (Vec::new(), Vec::new(), 0i64);
                for (k, &(side, len)) in stretches.iter().enumerate() {
                    for m in at..at + len {
                        let cell = (m * 60 + k as i64 % 60, 10);
                        match side {
                            0 => x.push(cell),
                            1 => y.push(cell),
                            2 => y.push((cell.0 + shift * 60, 7)),
                            _ => {
                                x.push(cell);
                                y.push(cell);
                            }
                        }
                    }
                    at += len;
                }
                let (fast, slow) = both_ways(&activity(&x, true), &activity(&y, true));
                prop_assert_eq!(&fast.cells, &slow.cells);
            }
        }
    }
}
