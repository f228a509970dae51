//! The details of each storm and surge: statuses, methods, paths, user agents, senders and
//! the busiest sliding 60 seconds.
//!
//! Which requests belong to a storm is known only once every line is counted, so the scan
//! keeps a compact record of each noise request (a few percent of the input) in temporary
//! files, and this second pass reads them back. The sums are order-free, so the result does
//! not depend on the workers' split.

use super::storms::{Storm, Surge};
use crate::classify::family::{in_category, Family, FamilyCache};
use crate::classify::CATEGORIES;
use crate::pipeline::ScanResult;
use crate::summary::noise;
use crate::summary::KeyCounts;
use anyhow::{Context, Result};
use foldhash::fast::FixedState;
use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Seek};

/// How many storms and surges get details (the largest storms; every surge up to this).
pub(crate) const DETAILED: usize = 200;

/// Bytes of keys each storm's list of paths and of user agents keeps (about 300 of usual
/// length; far fewer of the 7 KB kind an attacker can send), so the details of every storm
/// together stay within a few tens of MB.
const DETAIL_BYTES: usize = 32 << 10;

/// What a storm or surge was made of.
#[derive(Clone, Debug)]
pub(crate) struct Details {
    /// Requests by status.
    pub(crate) status: BTreeMap<u16, u64>,
    /// Requests by method.
    pub(crate) methods: KeyCounts,
    /// Requests by raw path.
    pub(crate) paths: KeyCounts,
    /// Requests by user agent.
    pub(crate) user_agents: KeyCounts,
    /// Requests by client family.
    pub(crate) families: KeyCounts,
    /// Requests per second, for the sliding peak, until there are more distinct seconds than
    /// `quota`; then dropped, and the peak is that of the busiest clock minute.
    seconds: HashMap<i64, u64, FixedState>,
    /// Requests per clock minute.
    minutes: HashMap<i64, u64, FixedState>,
    /// Most distinct seconds kept (its share of [`SECONDS`]).
    quota: usize,
    /// More distinct seconds than `quota` were seen.
    coarse: bool,
    /// The second and status of the last requests counted and how many in a row had both
    /// (none when 0), not yet in `status`, `seconds` and `minutes`: noise comes in time order
    /// and nearly all of it with one status, so a run costs one look-up in each instead of
    /// one a request.
    run: (i64, u16, u64),
    /// The status and the minute of the last runs and how many requests they had, not yet
    /// in `status` and `minutes`: a run ends at every second, but the status and the minute
    /// seldom change with it.
    status_run: (u16, u64),
    minute_run: (i64, u64),
}

/// Distinct seconds kept for the sliding peaks of all storms and surges together (about 8 MB):
/// a storm that probes every second for weeks is a client looping, and memory must not grow
/// with its length.
const SECONDS: usize = 1 << 18;

impl Default for Details {
    fn default() -> Self {
        Details {
            status: BTreeMap::new(),
            methods: KeyCounts::new(64),
            paths: KeyCounts::new(1000).with_key_budget(DETAIL_BYTES),
            user_agents: KeyCounts::new(1000).with_key_budget(DETAIL_BYTES),
            families: KeyCounts::new(64),
            seconds: HashMap::default(),
            minutes: HashMap::default(),
            quota: SECONDS,
            coarse: false,
            run: (0, 0, 0),
            status_run: (0, 0),
            minute_run: (0, 0),
        }
    }
}

impl Details {
    /// Counts a request at `t` with `status`; [`end_run`](Self::end_run) before the counts
    /// are read.
    fn at(&mut self, t: i64, status: u16) {
        if self.run.2 > 0 && (self.run.0, self.run.1) == (t, status) {
            self.run.2 += 1;
            return;
        }
        self.close_run();
        self.run = (t, status, 1);
    }

    /// Adds the run of requests counted last to `seconds`, and to the runs of its status and
    /// minute.
    fn close_run(&mut self) {
        let (t, status, n) = std::mem::take(&mut self.run);
        if n == 0 {
            return;
        }
        if self.status_run.1 > 0 && self.status_run.0 != status {
            *self.status.entry(self.status_run.0).or_default() += self.status_run.1;
            self.status_run.1 = 0;
        }
        self.status_run = (status, self.status_run.1 + n);
        let minute = t.div_euclid(60);
        if self.minute_run.1 > 0 && self.minute_run.0 != minute {
            *self.minutes.entry(self.minute_run.0).or_default() += self.minute_run.1;
            self.minute_run.1 = 0;
        }
        self.minute_run = (minute, self.minute_run.1 + n);
        if self.coarse {
            return;
        }
        *self.seconds.entry(t).or_default() += n;
        // Whether the quota is passed depends only on the set of seconds, never on the order
        // the records came in.
        if self.seconds.len() > self.quota {
            self.coarse = true;
            self.seconds = HashMap::default();
        }
    }

    /// Adds the requests counted last to the maps.
    fn end_run(&mut self) {
        self.close_run();
        let (status, n) = std::mem::take(&mut self.status_run);
        if n > 0 {
            *self.status.entry(status).or_default() += n;
        }
        let (minute, n) = std::mem::take(&mut self.minute_run);
        if n > 0 {
            *self.minutes.entry(minute).or_default() += n;
        }
    }

    /// Adds the requests of `o`, counted from other records. Past the quota when either was,
    /// or when the union of their seconds is: the same as counting all the records in one.
    fn merge(&mut self, o: &Details) {
        debug_assert_eq!(
            (o.run.2, o.status_run.1, o.minute_run.1),
            (0, 0, 0),
            "runs not ended"
        );
        self.end_run();
        for (s, n) in &o.status {
            *self.status.entry(*s).or_default() += n;
        }
        self.methods.merge(&o.methods);
        self.paths.merge(&o.paths);
        self.user_agents.merge(&o.user_agents);
        self.families.merge(&o.families);
        for (m, n) in &o.minutes {
            *self.minutes.entry(*m).or_default() += n;
        }
        self.coarse |= o.coarse;
        if !self.coarse {
            for (t, n) in &o.seconds {
                *self.seconds.entry(*t).or_default() += n;
            }
        }
        if self.coarse || self.seconds.len() > self.quota {
            self.coarse = true;
            self.seconds = HashMap::default();
        }
    }

    /// Whether [`peak_60s`](Self::peak_60s) is exact: `false` when the storm had too many
    /// distinct seconds to keep, and the peak is that of its busiest clock minute (a lower
    /// bound of the sliding one).
    pub(crate) fn peak_60s_exact(&self) -> bool {
        !self.coarse
    }

    /// The most requests in any 60-second window (`[t, t + 60)`), or past the quota of seconds
    /// in any clock minute.
    pub(crate) fn peak_60s(&self) -> u64 {
        debug_assert_eq!((self.run.2, self.minute_run.1), (0, 0), "runs not ended");
        if self.coarse {
            return self.minutes.values().copied().max().unwrap_or(0);
        }
        let first = self.seconds.keys().min().copied().unwrap_or(0);
        let last = self.seconds.keys().max().copied().unwrap_or(0);
        let span = last.saturating_sub(first).saturating_add(1);
        // A storm's seconds are dense in its span: count them in an array (no sort), of at
        // most a day's seconds (a storm's memory is bounded by its quota of seconds).
        if span
            <= (self.seconds.len() as i64)
                .saturating_mul(8)
                .clamp(1024, 86_400)
        {
            return peak_in_span(&self.seconds, first, span as usize);
        }
        peak_sorted(&self.seconds)
    }
}

/// The most requests in any 60 seconds, by sorting the seconds.
fn peak_sorted(seconds: &HashMap<i64, u64, FixedState>) -> u64 {
    let mut secs: Vec<(i64, u64)> = seconds.iter().map(|(t, n)| (*t, *n)).collect();
    secs.sort_unstable();
    let (mut best, mut sum, mut lo) = (0, 0, 0);
    for hi in 0..secs.len() {
        sum += secs[hi].1;
        while secs[hi].0 - secs[lo].0 >= 60 {
            sum -= secs[lo].1;
            lo += 1;
        }
        best = best.max(sum);
    }
    best
}

/// The most requests in any 60 seconds of `span` seconds from `first`, every one of
/// `seconds` in it. A window that ends on a second with no request holds no more than the
/// one ending on the last second with requests before it, so this is the peak of the windows
/// `[t - 59, t]` over the seconds `t` with requests.
fn peak_in_span(seconds: &HashMap<i64, u64, FixedState>, first: i64, span: usize) -> u64 {
    let mut per = vec![0u64; span];
    for (t, n) in seconds {
        per[(t - first) as usize] += n;
    }
    let (mut best, mut sum) = (0, 0);
    for i in 0..span {
        sum += per[i];
        if i >= 60 {
            sum -= per[i - 60];
        }
        best = best.max(sum);
    }
    best
}

/// Where a noise request may belong: storms by (category, client), surges by category (and
/// by time).
struct Index<'a> {
    storms: HashMap<(usize, &'a [u8]), Vec<usize>, FixedState>,
    times: HashMap<usize, Times, FixedState>,
}

/// The surges of a category by time. Their starts and the seconds after their ends cut time
/// into intervals in each of which the same surges hold every second: a second's surges are
/// found by a binary search, where a slot's storms are tested one by one (a client has few,
/// but a category of a log that spans days had 30 to 40 surges to test, a third of the
/// details pass of a real nginx log).
#[derive(Debug, Default)]
struct Times {
    /// Sorted and distinct: where each interval starts.
    bounds: Vec<i64>,
    /// For each interval, the surges that hold it, by their index.
    holding: Vec<Vec<usize>>,
}

impl Times {
    /// The intervals of `spans`: each surge's index and span (inclusive).
    fn new(spans: &[(usize, i64, i64)]) -> Self {
        let mut bounds: Vec<i64> = spans
            .iter()
            .flat_map(|&(_, start, end)| [Some(start), end.checked_add(1)])
            .flatten()
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        // No bound falls inside an interval, so what holds its first second holds it all.
        let holding = bounds
            .iter()
            .map(|&b| {
                spans
                    .iter()
                    .filter(|&&(_, start, end)| (start..=end).contains(&b))
                    .map(|&(index, _, _)| index)
                    .collect()
            })
            .collect();
        Times { bounds, holding }
    }

    /// The surges that hold `t`, and the first and last second of its interval.
    fn at(&self, t: i64) -> (&[usize], i64, i64) {
        let i = self.bounds.partition_point(|&b| b <= t);
        let hi = self.bounds.get(i).map_or(i64::MAX, |&b| b - 1);
        match i.checked_sub(1) {
            None => (&[], i64::MIN, hi),
            Some(k) => (&self.holding[k], self.bounds[k], hi),
        }
    }
}

/// Details of the first [`DETAILED`] storms and surges, from the scan's spooled noise lines.
/// `None` for each when the scan kept no spool.
///
/// Each worker's spool is read on its own thread into its own details, which are then merged:
/// every sum is order-free and the quota of seconds depends only on the union of the seconds,
/// so the result is the same as one pass over all the spools.
pub(crate) fn details(
    scan: &mut ScanResult,
    storms: &[Storm],
    surges: &[Surge],
) -> Result<(Vec<Details>, Vec<Details>)> {
    let (storms, surges) = (
        &storms[..storms.len().min(DETAILED)],
        &surges[..surges.len().min(DETAILED)],
    );
    let mut index = Index {
        storms: HashMap::default(),
        times: HashMap::default(),
    };
    for (i, s) in storms.iter().enumerate() {
        index
            .storms
            .entry((s.category, &s.client[..]))
            .or_default()
            .push(i);
    }
    let mut by_category: HashMap<usize, Vec<(usize, i64, i64)>> = HashMap::new();
    for (i, s) in surges.iter().enumerate() {
        by_category
            .entry(s.category)
            .or_default()
            .push((i, s.start, s.end));
    }
    for (category, spans) in by_category {
        index.times.insert(category, Times::new(&spans));
    }
    let quota = SECONDS / (storms.len() + surges.len()).max(1);
    let empty = || {
        let with_quota = || Details {
            quota,
            ..Details::default()
        };
        (
            vec![with_quota(); storms.len()],
            vec![with_quota(); surges.len()],
        )
    };
    if index.storms.is_empty() && index.times.is_empty() {
        return Ok(empty());
    }
    let index = &index;
    let parts: Vec<Result<_>> = std::thread::scope(|s| {
        let readers: Vec<_> = scan
            .spools
            .iter_mut()
            .map(|spool| {
                s.spawn(move || {
                    let mut out = empty();
                    read_spool(spool, index, storms, &mut out)?;
                    Ok(out)
                })
            })
            .collect();
        readers
            .into_iter()
            .map(|r| r.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    });
    let mut out = empty();
    for part in parts {
        let (a, b) = part?;
        for (mine, theirs) in out.0.iter_mut().zip(&a).chain(out.1.iter_mut().zip(&b)) {
            mine.merge(theirs);
        }
    }
    // Past a cap the lists keep what the rule on the set of keys keeps, whatever the order
    // the workers' spools were read in.
    for d in out.0.iter_mut().chain(out.1.iter_mut()) {
        for m in [
            &mut d.methods,
            &mut d.paths,
            &mut d.user_agents,
            &mut d.families,
        ] {
            m.settle();
        }
    }
    Ok(out)
}

/// What the details pass keeps per slot of a spool: the storms and surges its requests may
/// belong to, how many requests each has counted but not yet added to its lists (a slot's
/// strings are the same for all of them), and their family. Only the storms and surges its
/// requests fell in are kept with counts: a category's surges are shared by all its slots
/// (a slot of a log that spans days had 30 to 160 of them, and a list of them per slot
/// spread the slots over tens of MB).
#[derive(Default)]
struct Slot<'a> {
    /// Its client's storms: index and span (epoch seconds, inclusive).
    storms: Vec<(usize, i64, i64)>,
    /// The surges of its category by time.
    times: Option<&'a Times>,
    family: Option<Family>,
    /// The storms and surges (is it a storm, its index, its place in `pending`) whose span
    /// holds every second of `within`: a slot's requests come in time order, mostly, and a
    /// surge spans hours, so a request seldom looks past these.
    hits: Vec<(bool, usize, usize)>,
    within: (i64, i64),
    /// Requests counted and not yet in the lists: is it a storm, its index, how many.
    pending: Vec<(bool, usize, u64)>,
}

impl<'a> Slot<'a> {
    /// A slot defined anew: its storms, and the surges of its category by time.
    fn define(
        &mut self,
        storms: impl IntoIterator<Item = (usize, i64, i64)>,
        times: Option<&'a Times>,
    ) {
        debug_assert!(self.pending.is_empty(), "flushed before");
        // The slot's buffer kept: a flood of keys that are never memoized defines a slot at
        // every request.
        self.storms.clear();
        self.storms.extend(storms);
        self.times = times;
        self.within = (1, 0);
    }

    /// Remembers the storms and surges whose span holds `t`, unless those of the second
    /// before still do.
    fn hits(&mut self, t: i64) {
        if (self.within.0..=self.within.1).contains(&t) {
            return;
        }
        // The targets of `t`, and the seconds around it no span starts or ends in.
        let (mut lo, mut hi) = (i64::MIN, i64::MAX);
        self.hits.clear();
        let mut hit = |storm: bool, index: usize| {
            let at = match self
                .pending
                .iter()
                .position(|p| (p.0, p.1) == (storm, index))
            {
                Some(at) => at,
                None => {
                    self.pending.push((storm, index, 0));
                    self.pending.len() - 1
                }
            };
            self.hits.push((storm, index, at));
        };
        for &(index, start, end) in &self.storms {
            if t < start {
                hi = hi.min(start.saturating_sub(1));
            } else if t > end {
                lo = lo.max(end.saturating_add(1));
            } else {
                hit(true, index);
                (lo, hi) = (lo.max(start), hi.min(end));
            }
        }
        if let Some(times) = self.times {
            let (holding, first, last) = times.at(t);
            for &index in holding {
                hit(false, index);
            }
            (lo, hi) = (lo.max(first), hi.min(last));
        }
        self.within = (lo, hi);
    }

    /// Counts a request at `t` with `status` in the storms and surges that hold it.
    #[inline]
    fn count(&mut self, t: i64, status: u16, out: &mut (Vec<Details>, Vec<Details>)) {
        self.hits(t);
        for &(storm, index, at) in &self.hits {
            let d = if storm {
                &mut out.0[index]
            } else {
                &mut out.1[index]
            };
            d.at(t, status);
            self.pending[at].2 += 1;
        }
    }

    /// Adds the pending requests to the lists of their storms and surges.
    fn flush(&mut self, def: &noise::Def, out: &mut (Vec<Details>, Vec<Details>)) {
        let fam = self.family.unwrap_or(Family::Other);
        for (storm, index, n) in self.pending.drain(..) {
            if n == 0 {
                continue;
            }
            let d = if storm {
                &mut out.0[index]
            } else {
                &mut out.1[index]
            };
            d.methods.add(&def.method, n);
            d.paths.add(&def.path, n);
            d.user_agents.add(&def.user_agent, n);
            d.families.add(fam.id().as_bytes(), n);
        }
        // The places in `pending` the hits point to are gone.
        self.within = (1, 0);
    }
}

/// Counts a request in its slot (none before the slot's first definition, in a corrupt spool).
#[inline]
fn count_line(slots: &mut [Slot<'_>], line: noise::Line, out: &mut (Vec<Details>, Vec<Details>)) {
    if let Some(slot) = slots.get_mut(line.slot as usize) {
        slot.count(line.time, line.status, out);
    }
}

/// Adds the records of one spool to the storms and surges they belong to.
fn read_spool(
    spool: &mut std::fs::File,
    index: &Index<'_>,
    storms: &[Storm],
    out: &mut (Vec<Details>, Vec<Details>),
) -> Result<()> {
    spool.rewind().context("reading back noise records")?;
    let mut rd = noise::Reader::new(BufReader::with_capacity(1 << 20, &*spool));
    let mut families = FamilyCache::new();
    let mut slots: Vec<Slot> = Vec::new();
    loop {
        // Runs of lines straight from the buffer; definitions, and lines split by its end,
        // one by one.
        rd.buffered_lines(|line| count_line(&mut slots, line, out))
            .context("reading back noise records")?;
        let Some(item) = rd.next().context("reading back noise records")? else {
            break;
        };
        let line = match item {
            noise::Item::Def(at) => {
                // The slot's requests so far go to the lists under its old strings.
                let at = at as usize;
                if slots.len() <= at {
                    slots.resize_with(at + 1, Slot::default);
                }
                let slot = &mut slots[at];
                slot.flush(rd.previous(), out);
                let def = rd.def(at as u32);
                let category = usize::from(def.category);
                // Storms name their client as the activity map keeps it (a long one shortened).
                let client = crate::summary::shorten(&def.client);
                let storms_of = index.storms.get(&(category, &client[..]));
                let spans = storms_of
                    .into_iter()
                    .flatten()
                    .map(|&i| (i, storms[i].start, storms[i].end));
                slot.define(spans, index.times.get(&category));
                slot.family = CATEGORIES.get(category).map(|c| {
                    def.family.unwrap_or_else(|| {
                        in_category(families.family(&def.user_agent), c, &def.user_agent)
                    })
                });
                continue;
            }
            noise::Item::Line(line) => line,
        };
        count_line(&mut slots, line, out);
    }
    for (at, slot) in slots.iter_mut().enumerate() {
        slot.flush(rd.def(at as u32), out);
    }
    for d in out.0.iter_mut().chain(out.1.iter_mut()) {
        d.end_run();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    proptest::proptest! {
        /// Counting the seconds in an array gives the peak that sorting them gives.
        #[test]
        fn the_array_peak_is_the_sorted_peak(
            times in proptest::collection::vec((0i64..5000, 1u64..4), 1..400),
            spread in 1i64..50,
        ) {
            let mut seconds: HashMap<i64, u64, FixedState> = HashMap::default();
            for (t, n) in times {
                *seconds.entry(t * spread - 7000).or_default() += n;
            }
            let first = *seconds.keys().min().unwrap();
            let span = (*seconds.keys().max().unwrap() - first + 1) as usize;
            proptest::prop_assert_eq!(peak_in_span(&seconds, first, span), peak_sorted(&seconds));
        }
    }

    proptest::proptest! {
        /// The storms and surges a request counts in are those whose span holds its second,
        /// and each counts every such request, for spans that overlap or not, seconds in any
        /// order, and any split of them into storms (tested one by one) and surges (found by
        /// time), spans at the ends of i64 included.
        #[test]
        fn a_slot_counts_a_request_in_the_spans_that_hold_its_second(
            spans in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => (0i64..500, 0i64..200).prop_map(|(start, len)| (start, start + len)),
                    1 => (0i64..500).prop_map(|start| (start, i64::MAX)),
                    1 => (0i64..500).prop_map(|end| (i64::MIN, end)),
                ],
                0..12,
            ),
            storms in 0usize..12,
            times in proptest::collection::vec(
                proptest::prop_oneof![8 => 0i64..800, 1 => proptest::sample::select(vec![i64::MIN, i64::MAX])],
                1..100,
            ),
            flush_at in 0usize..100,
        ) {
            let storms = storms.min(spans.len());
            // Storm k is span k; surge k is span storms + k, and its index in the list of all
            // surges 100 + k.
            let surges: Vec<(usize, i64, i64)> = spans[storms..]
                .iter()
                .enumerate()
                .map(|(k, &(a, b))| (100 + k, a, b))
                .collect();
            let times_of = Times::new(&surges);
            let target = |k: usize| if k < storms { (true, k) } else { (false, 100 + k - storms) };
            let mut slot = Slot::default();
            slot.define(
                spans[..storms].iter().enumerate().map(|(k, &(a, b))| (k, a, b)),
                Some(&times_of),
            );
            let mut out = (
                vec![Details::default(); storms],
                vec![Details::default(); 100 + spans.len()],
            );
            let mut want: BTreeMap<(bool, usize), u64> = BTreeMap::new();
            let mut got: BTreeMap<(bool, usize), u64> = BTreeMap::new();
            let def = noise::Def::default();
            for (n, &t) in times.iter().enumerate() {
                if n == flush_at {
                    // A definition in between: what was pending goes to the lists.
                    slot.flush(&def, &mut out);
                }
                slot.hits(t);
                let hits: Vec<(bool, usize)> = slot.hits.iter().map(|h| (h.0, h.1)).collect();
                let holding: Vec<(bool, usize)> = (0..spans.len())
                    .filter(|&k| (spans[k].0..=spans[k].1).contains(&t))
                    .map(target)
                    .collect();
                proptest::prop_assert_eq!(&hits, &holding, "second {}", t);
                for h in holding {
                    *want.entry(h).or_default() += 1;
                }
                slot.count(t, 404, &mut out);
            }
            slot.flush(&def, &mut out);
            for (storm, d) in [(true, &out.0), (false, &out.1)] {
                for (index, d) in d.iter().enumerate() {
                    let n = d.families.get(Family::Other.id().as_bytes()).copied().unwrap_or(0);
                    if n > 0 {
                        got.insert((storm, index), n);
                    }
                }
            }
            proptest::prop_assert_eq!(got, want);
        }

        /// Counting runs of requests gives the statuses, minutes, seconds and quota that
        /// counting each request gives, runs broken by a second or a status or not at all.
        #[test]
        fn runs_count_what_single_requests_count(
            reqs in proptest::collection::vec((0i64..300, 0u16..3, 1usize..5), 0..200),
            quota in 1usize..120,
        ) {
            let mut d = Details { quota, ..Details::default() };
            let (mut status, mut minutes, mut seconds) =
                (BTreeMap::new(), HashMap::<i64, u64>::new(), HashMap::<i64, u64>::new());
            for &(t, s, times) in &reqs {
                let s = [404, 403, 301][usize::from(s)];
                for _ in 0..times {
                    d.at(t, s);
                    *status.entry(s).or_default() += 1;
                    *minutes.entry(t.div_euclid(60)).or_default() += 1;
                    *seconds.entry(t).or_default() += 1;
                }
            }
            d.end_run();
            proptest::prop_assert_eq!(&d.status, &status);
            proptest::prop_assert_eq!(&d.minutes.into_iter().collect::<BTreeMap<_, _>>(),
                &minutes.into_iter().collect::<BTreeMap<_, _>>());
            proptest::prop_assert_eq!(d.coarse, seconds.len() > quota);
            if !d.coarse {
                proptest::prop_assert_eq!(d.seconds.into_iter().collect::<BTreeMap<_, _>>(),
                    seconds.into_iter().collect::<BTreeMap<_, _>>());
            }
        }
    }

    #[test]
    fn sliding_peak_spans_minute_boundaries() {
        let mut d = Details::default();
        for t in [50, 55, 59, 60, 61, 65, 109, 110, 200] {
            d.at(t, 404);
        }
        d.end_run();
        // 50..109 holds 7 requests; no other 60 s window holds more.
        assert_eq!(d.peak_60s(), 7);
        assert!(d.peak_60s_exact());
    }

    #[test]
    fn past_its_quota_of_seconds_the_peak_is_the_busiest_minute_in_any_order() {
        let times: Vec<i64> = (0..10_000).map(|i| i * 7 % 5000 + i % 3 * 3600).collect();
        let peak = |order: &mut dyn Iterator<Item = &i64>| {
            let mut d = Details {
                quota: 1000,
                ..Details::default()
            };
            for &t in order {
                d.at(t, 404);
            }
            d.end_run();
            assert!(d.seconds.is_empty(), "the seconds are given up");
            (d.peak_60s(), d.peak_60s_exact())
        };
        let mut minutes = std::collections::HashMap::<i64, u64>::new();
        for t in &times {
            *minutes.entry(t.div_euclid(60)).or_default() += 1;
        }
        let busiest = *minutes.values().max().unwrap();
        assert_eq!(peak(&mut times.iter()), (busiest, false));
        assert_eq!(peak(&mut times.iter().rev()), (busiest, false));
    }

    #[test]
    fn merged_halves_equal_the_whole_quota_included() {
        let times: Vec<i64> = (0..3000).map(|i| i * 13 % 2000 + i % 5 * 900).collect();
        for quota in [100_000, 1500, 10] {
            let count = |ts: &[i64]| {
                let mut d = Details {
                    quota,
                    ..Details::default()
                };
                for &t in ts {
                    d.at(t, 404);
                    d.paths.add(format!("/p{}", t % 7).as_bytes(), 1);
                }
                d.end_run();
                d
            };
            let whole = count(&times);
            for cut in [0, 1, 1000, 2999] {
                let mut merged = count(&times[..cut]);
                merged.merge(&count(&times[cut..]));
                assert_eq!(
                    (merged.peak_60s(), merged.peak_60s_exact()),
                    (whole.peak_60s(), whole.peak_60s_exact()),
                    "quota {quota}, cut {cut}"
                );
                assert_eq!(merged.paths.sorted(), whole.paths.sorted());
                assert_eq!(merged.minutes, whole.minutes);
            }
        }
    }
}
