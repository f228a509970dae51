//! `Summary`, the one aggregate of a scan, and its `merge`.
//!
//! Workers fold lines into their own `Summary`; summaries of threads, blocks, files and runs
//! combine with [`Summary::merge`], which is associative and commutative, so the result does
//! not depend on how the input was split (a property test checks this). Every per-key map has
//! a cap ([`Caps`]); past it new keys are counted in an overflow figure and the map says it
//! became approximate, so memory is bounded by the caps, never by the input size.

pub(crate) mod domains;
pub(crate) mod evidence;
mod keys;
pub(crate) mod memo;
pub(crate) mod noise;
mod proxy;
pub(crate) mod time;

pub(crate) use keys::{settle_group, shorten, MapSettings};
pub(crate) use keys::{CappedMap, KeyCounts, Tally, MAX_KEY_BYTES};
pub(crate) use proxy::ProxyEvidence;
pub(crate) use time::{Activity, Timeline};

use crate::classify::CATEGORIES;
use crate::format::Reject;
use hdrhistogram::Histogram;
use std::borrow::Cow;

/// Highest latency the histograms resolve (one hour, in milliseconds); longer times are
/// recorded as this value. nginx logs times with millisecond resolution, so the histograms
/// count milliseconds: three significant digits are then exact below 2.048 s.
pub(crate) const MAX_LATENCY_MS: u64 = 3_600_000;
/// A 403 or 404 answered within this many milliseconds was answered by nginx, not PHP.
pub(crate) const CHEAP_MS: u64 = 10;
/// How many rejected lines are kept as examples.
pub(crate) const REJECT_EXAMPLES: usize = 5;
/// How many bytes of a rejected line are kept in its example.
pub(crate) const REJECT_EXCERPT: usize = 160;

/// The caps on what the maps of strings from the log keep: distinct keys and the bytes of
/// their keys (each key counts its length and 64 bytes for its entry). Clients, user agents
/// and paths are capped over all categories together: one category's flood takes its share,
/// not a map per category.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    /// Distinct (category, client) pairs.
    pub(crate) clients: usize,
    /// Bytes of their keys.
    pub(crate) clients_bytes: usize,
    /// Distinct (category, user agent) pairs.
    pub(crate) user_agents: usize,
    /// Bytes of their keys.
    pub(crate) user_agents_bytes: usize,
    /// Distinct (category, raw path) pairs.
    pub(crate) paths: usize,
    /// Bytes of their keys.
    pub(crate) paths_bytes: usize,
    /// Distinct methods per category.
    pub(crate) methods: usize,
    /// Distinct near-noise paths served with 2xx/3xx.
    pub(crate) served: usize,
    /// Bytes of their keys.
    pub(crate) served_bytes: usize,
    /// Distinct (category, client) pairs whose per-minute activity is kept for storms.
    pub(crate) activity: usize,
    /// Bytes of their keys.
    pub(crate) activity_bytes: usize,
    /// Per-minute activity cells (one per pair and minute with a probe, 24 bytes each) kept
    /// for storms.
    pub(crate) activity_cells: usize,
    /// Distinct mail domains.
    pub(crate) domains: usize,
    /// Bytes of their keys.
    pub(crate) domains_bytes: usize,
}

impl Default for Caps {
    fn default() -> Self {
        Caps {
            clients: 50_000,
            clients_bytes: 4 << 20,
            user_agents: 10_000,
            user_agents_bytes: 2 << 20,
            paths: 10_000,
            paths_bytes: 2 << 20,
            methods: 64,
            served: 10_000,
            served_bytes: 2 << 20,
            activity: 50_000,
            activity_bytes: 4 << 20,
            activity_cells: 250_000,
            domains: domains::DOMAINS_CAP,
            domains_bytes: domains::DOMAINS_BYTES,
        }
    }
}

/// How every input line was accounted for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lines {
    /// All lines read.
    pub total: u64,
    /// Lines that fit the format and were counted.
    pub parsed: u64,
    /// Lines that did not fit.
    pub rejected: u64,
    /// Lines that fit but fell outside the time window (`--since`/`--until`):
    /// `total = parsed + rejected + filtered`.
    pub filtered: u64,
}

/// Counts, bytes and time of a set of requests.
#[derive(Clone, Debug)]
pub(crate) struct Traffic {
    /// Requests.
    pub(crate) requests: u64,
    /// Body bytes sent.
    pub(crate) bytes: u64,
    /// Sum of `$request_time`, microseconds.
    pub(crate) request_time_us: u64,
    /// Requests that had a `$request_time`.
    pub(crate) timed: u64,
    /// The longest `$request_time`, microseconds (exact).
    pub(crate) max_request_time_us: u64,
    /// Requests by status code (index = code, 0..=999).
    pub(crate) status: Vec<u64>,
    /// `$request_time` distribution, milliseconds.
    pub(crate) latency: Latency,
}

/// Values below this many milliseconds have a bucket of their own in the latency histogram
/// (three significant digits): counted in a plain array first, they add up the same.
const EXACT_MS: usize = 2048;

/// A `$request_time` distribution in milliseconds: a histogram, and counts of the values
/// below [`EXACT_MS`] not yet moved into it. Every read goes through [`Latency::histogram`]
/// or [`Latency::histogram_mut`], which see the counts.
#[derive(Clone, Debug)]
pub(crate) struct Latency {
    histogram: Histogram<u64>,
    /// Counts by millisecond, empty until the first value below [`EXACT_MS`].
    exact: Vec<u64>,
    /// Values counted in `exact` and not yet in `histogram`.
    pending: u64,
}

impl Latency {
    fn new() -> Self {
        Latency {
            histogram: Histogram::new_with_bounds(1, MAX_LATENCY_MS, 3).expect("valid bounds"),
            exact: Vec::new(),
            pending: 0,
        }
    }

    /// Counts one time, in milliseconds (at most [`MAX_LATENCY_MS`]).
    #[inline]
    pub(crate) fn record(&mut self, ms: u64) {
        match self.exact.get_mut(ms as usize) {
            Some(n) => {
                *n += 1;
                self.pending += 1;
            }
            None => self.record_slow(ms),
        }
    }

    #[cold]
    #[inline(never)]
    fn record_slow(&mut self, ms: u64) {
        if self.exact.is_empty() && (ms as usize) < EXACT_MS {
            self.exact = vec![0; EXACT_MS];
            self.record(ms);
        } else {
            self.histogram.saturating_record(ms);
        }
    }

    /// Moves the pending counts into the histogram.
    pub(crate) fn flush(&mut self) {
        if self.pending == 0 {
            return;
        }
        for (ms, n) in self.exact.iter_mut().enumerate() {
            if *n > 0 {
                self.histogram.saturating_record_n(ms as u64, *n);
                *n = 0;
            }
        }
        self.pending = 0;
    }

    /// The distribution, with the pending counts.
    pub(crate) fn histogram(&self) -> Cow<'_, Histogram<u64>> {
        if self.pending == 0 {
            Cow::Borrowed(&self.histogram)
        } else {
            let mut l = self.clone();
            l.flush();
            Cow::Owned(l.histogram)
        }
    }

    /// The distribution, with the pending counts, to change.
    pub(crate) fn histogram_mut(&mut self) -> &mut Histogram<u64> {
        self.flush();
        &mut self.histogram
    }
}

impl Traffic {
    fn new() -> Self {
        Traffic {
            requests: 0,
            bytes: 0,
            request_time_us: 0,
            timed: 0,
            max_request_time_us: 0,
            status: vec![0; 1000],
            latency: Latency::new(),
        }
    }

    /// Counts one request; `None` for what the log format does not record.
    #[inline]
    pub(crate) fn add(
        &mut self,
        status: Option<u16>,
        bytes: Option<u64>,
        request_time_us: Option<u64>,
    ) {
        self.requests += 1;
        self.bytes = self.bytes.saturating_add(bytes.unwrap_or(0));
        if let Some(status) = status {
            self.status[usize::from(status)] += 1;
        }
        if let Some(us) = request_time_us {
            self.timed += 1;
            self.request_time_us = self.request_time_us.saturating_add(us);
            self.max_request_time_us = self.max_request_time_us.max(us);
            self.latency
                .record((us.saturating_add(500) / 1000).min(MAX_LATENCY_MS));
        }
    }

    fn merge(&mut self, o: &Traffic) {
        self.requests += o.requests;
        self.bytes = self.bytes.saturating_add(o.bytes);
        self.request_time_us = self.request_time_us.saturating_add(o.request_time_us);
        self.timed += o.timed;
        self.max_request_time_us = self.max_request_time_us.max(o.max_request_time_us);
        for (a, b) in self.status.iter_mut().zip(&o.status) {
            *a += b;
        }
        self.latency
            .histogram_mut()
            .add(&*o.latency.histogram())
            .expect("histograms share their bounds");
    }

    /// The `q` quantile of `$request_time` in microseconds: the lowest value of its histogram
    /// bucket, rounded to the millisecond (exact below 2.048 s, within 0.1% above).
    pub(crate) fn latency_quantile(&self, q: f64) -> u64 {
        let h = self.latency.histogram();
        h.lowest_equivalent(h.value_at_quantile(q)) * 1000
    }

    /// Status codes seen, ascending, with their counts.
    pub(crate) fn statuses(&self) -> impl Iterator<Item = (u16, u64)> + '_ {
        self.status
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(code, &n)| (code as u16, n))
    }
}

/// Everything kept about one noise category.
#[derive(Clone, Debug)]
pub(crate) struct CategoryStats {
    /// Its requests.
    pub(crate) traffic: Traffic,
    /// Requests by method.
    pub(crate) methods: KeyCounts,
    /// Requests by client address.
    pub(crate) clients: KeyCounts,
    /// Requests by user agent (as logged).
    pub(crate) user_agents: KeyCounts,
    /// Requests by raw path: unescaped, query removed, not normalized.
    pub(crate) paths: KeyCounts,
    /// Requests by client family (ids of [`crate::classify::family::Family`]).
    pub(crate) families: KeyCounts,
    /// How widely each raw path was asked for (same keys and cap as `paths`; kept in saved
    /// summaries from version 3 on).
    pub(crate) evidence: CappedMap<evidence::Evidence>,
    /// Requests that look like exploit scans or scripts rather than mail clients.
    pub(crate) scanner: u64,
    /// Requests already answered 403 by nginx (a 403 within [`CHEAP_MS`] ms).
    pub(crate) blocked: u64,
    /// Their server time, microseconds.
    pub(crate) blocked_time_us: u64,
}

impl CategoryStats {
    fn new(caps: &Caps) -> Self {
        CategoryStats {
            traffic: Traffic::new(),
            methods: KeyCounts::new(caps.methods),
            clients: KeyCounts::new(caps.clients).with_key_budget(caps.clients_bytes),
            user_agents: KeyCounts::new(caps.user_agents).with_key_budget(caps.user_agents_bytes),
            paths: KeyCounts::new(caps.paths).with_key_budget(caps.paths_bytes),
            families: KeyCounts::new(64),
            evidence: CappedMap::new(caps.paths).with_key_budget(caps.paths_bytes),
            scanner: 0,
            blocked: 0,
            blocked_time_us: 0,
        }
    }

    fn merge(&mut self, o: &CategoryStats) {
        self.traffic.merge(&o.traffic);
        self.methods.merge(&o.methods);
        self.clients.merge(&o.clients);
        self.user_agents.merge(&o.user_agents);
        self.paths.merge(&o.paths);
        self.families.merge(&o.families);
        self.evidence.merge(&o.evidence);
        self.scanner += o.scanner;
        self.blocked += o.blocked;
        self.blocked_time_us = self.blocked_time_us.saturating_add(o.blocked_time_us);
    }
}

/// A rejected line kept as an example. While a scan runs, `line` counts within the block
/// `block` of source `source`; the pipeline then turns it into the line number in the file
/// (and sets `block` to 0), so examples sort by position either way.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct RejectExample {
    /// Input source index.
    pub(crate) source: u32,
    /// Block sequence number within the source (0 once resolved).
    pub(crate) block: u64,
    /// Line number (1-based) within the block, or within the file once resolved.
    pub(crate) line: u64,
    /// Why it was rejected.
    pub(crate) reason: Reject,
    /// Where in the line and what was expected, for people.
    pub(crate) detail: String,
    /// The first bytes of the line.
    pub(crate) text: Vec<u8>,
}

impl RejectExample {
    /// Where the line is: (source, block, line).
    pub(crate) fn position(&self) -> (u32, u64, u64) {
        (self.source, self.block, self.line)
    }
}

/// The aggregate of a scan.
#[derive(Clone, Debug)]
pub struct Summary {
    /// Line accounting.
    pub(crate) lines: Lines,
    /// Rejected lines by reason (index = [`Reject::index`]).
    pub(crate) rejects: [u64; Reject::COUNT],
    /// The first rejected lines, by position.
    pub(crate) reject_examples: Vec<RejectExample>,
    /// All parsed requests.
    pub(crate) totals: Traffic,
    /// Earliest and latest timestamp seen (UTC epoch seconds).
    pub(crate) span: Option<(i64, i64)>,
    /// Per category, in [`CATEGORIES`] order.
    pub(crate) categories: Vec<CategoryStats>,
    /// Normalized paths that are noise or start like a noise root, answered 2xx/3xx: what a
    /// block entry must not cover.
    pub(crate) served: KeyCounts,
    /// Per-minute totals.
    pub(crate) timeline: Timeline,
    /// Per (category, client): per-minute activity, for storms and surges.
    pub(crate) activity: CappedMap<Activity>,
    /// 403/404 responses answered within [`CHEAP_MS`], by whole milliseconds: what a blocked
    /// probe costs.
    pub(crate) cheap_answers: [u64; CHEAP_MS as usize + 1],
    /// A worker could not keep its noise lines for the storm details pass.
    pub(crate) spool_failed: bool,
    /// Whether the clients seem to sit behind one proxy (not kept in saved summaries).
    pub(crate) proxy: ProxyEvidence,
    /// The mail domains the noise asked about.
    pub(crate) domains: CappedMap<domains::DomainStats>,
    /// The caps its maps were made with.
    caps: Caps,
}

impl Summary {
    /// Lines read, and how each was counted.
    #[cfg(feature = "internals")]
    pub fn lines(&self) -> Lines {
        self.lines
    }

    /// The identity of `merge`.
    pub fn new(caps: &Caps) -> Self {
        Summary {
            lines: Lines::default(),
            rejects: [0; Reject::COUNT],
            reject_examples: Vec::new(),
            totals: Traffic::new(),
            span: None,
            categories: CATEGORIES
                .iter()
                .map(|_| CategoryStats::new(caps))
                .collect(),
            served: KeyCounts::new(caps.served).with_key_budget(caps.served_bytes),
            timeline: Timeline::new(),
            activity: CappedMap::with_budget(caps.activity, caps.activity_cells)
                .with_key_budget(caps.activity_bytes),
            cheap_answers: [0; CHEAP_MS as usize + 1],
            spool_failed: false,
            proxy: ProxyEvidence::default(),
            domains: domains::new_map(caps.domains, caps.domains_bytes),
            caps: *caps,
        }
    }

    /// Holds the maps shared by the categories to their common caps once they are a quarter
    /// over (cheap enough to call every few lines; each map holds itself to its own caps).
    pub(crate) fn bound(&mut self) {
        self.settle_groups(false);
    }

    /// Moves the latency counts kept aside while scanning into the histograms (reads see
    /// them either way; flushed, they need no copy).
    pub(crate) fn flush_latency(&mut self) {
        self.totals.latency.flush();
        for c in &mut self.categories {
            c.traffic.latency.flush();
        }
    }

    /// Holds every map exactly to its caps: what is kept is then a rule on the set of keys
    /// seen, the same for any split of the input. A scan's result is settled before use.
    pub(crate) fn settle(&mut self) {
        for c in &mut self.categories {
            for m in [
                &mut c.methods,
                &mut c.clients,
                &mut c.user_agents,
                &mut c.paths,
                &mut c.families,
            ] {
                m.settle();
            }
            c.evidence.settle();
        }
        self.served.settle();
        self.activity.settle();
        self.domains.settle();
        self.timeline.settle();
        self.settle_groups(true);
    }

    fn settle_groups(&mut self, exact: bool) {
        let caps = self.caps;
        let cats = &mut self.categories[..];
        settle_group(
            cats,
            |c| &mut c.clients,
            caps.clients,
            caps.clients_bytes,
            exact,
        );
        let agents = (caps.user_agents, caps.user_agents_bytes);
        settle_group(cats, |c| &mut c.user_agents, agents.0, agents.1, exact);
        settle_group(cats, |c| &mut c.paths, caps.paths, caps.paths_bytes, exact);
        // The block's evidence has the paths' keys and limits, so it keeps the same paths.
        settle_group(
            cats,
            |c| &mut c.evidence,
            caps.paths,
            caps.paths_bytes,
            exact,
        );
    }

    /// Bytes of the keys its maps hold (each counts its length and a fixed share for its
    /// entry): what bounds its memory, with the activity cells and the fixed tables.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        let per_category: usize = self
            .categories
            .iter()
            .map(|c| {
                c.methods.held_bytes()
                    + c.clients.held_bytes()
                    + c.user_agents.held_bytes()
                    + c.paths.held_bytes()
                    + c.families.held_bytes()
            })
            .sum();
        per_category + self.served.held_bytes() + self.activity.held_bytes()
    }

    /// Counts a rejected line and keeps it as an example if it is among the first; `detail`
    /// is called only then.
    pub(crate) fn reject(
        &mut self,
        source: u32,
        block: u64,
        line: u64,
        reason: Reject,
        text: &[u8],
        detail: impl FnOnce() -> String,
    ) {
        self.lines.total += 1;
        self.lines.rejected += 1;
        self.rejects[reason.index()] += 1;
        // Copy the line only when it is among the first; most rejects cost no allocation.
        let full = self.reject_examples.len() >= REJECT_EXAMPLES;
        if full && (source, block, line) >= self.reject_examples[REJECT_EXAMPLES - 1].position() {
            return;
        }
        let ex = RejectExample {
            source,
            block,
            line,
            reason,
            detail: detail(),
            // A mailbox's local part is never kept, even from a line that did not parse.
            text: {
                let masked = crate::classify::mailbox::mask_text(text);
                masked[..masked.len().min(REJECT_EXCERPT)].to_vec()
            },
        };
        if full {
            self.reject_examples[REJECT_EXAMPLES - 1] = ex;
        } else {
            self.reject_examples.push(ex);
        }
        self.reject_examples.sort();
    }

    /// Widens the time span to include `t`.
    #[inline]
    pub(crate) fn see_time(&mut self, t: i64) {
        match &mut self.span {
            Some((a, b)) => {
                *a = (*a).min(t);
                *b = (*b).max(t);
            }
            None => self.span = Some((t, t)),
        }
    }

    /// Adds `o` into `self`.
    pub fn merge(&mut self, o: &Summary) {
        self.proxy.merge(&o.proxy);
        self.lines.total += o.lines.total;
        self.lines.parsed += o.lines.parsed;
        self.lines.rejected += o.lines.rejected;
        self.lines.filtered += o.lines.filtered;
        for (a, b) in self.rejects.iter_mut().zip(&o.rejects) {
            *a += b;
        }
        self.reject_examples
            .extend(o.reject_examples.iter().cloned());
        self.reject_examples.sort();
        self.reject_examples.truncate(REJECT_EXAMPLES);
        self.totals.merge(&o.totals);
        if let Some((a, b)) = o.span {
            self.see_time(a);
            self.see_time(b);
        }
        for (a, b) in self.categories.iter_mut().zip(&o.categories) {
            a.merge(b);
        }
        self.served.merge(&o.served);
        self.timeline.merge(&o.timeline);
        self.activity.merge(&o.activity);
        self.domains.merge(&o.domains);
        for (a, b) in self.cheap_answers.iter_mut().zip(&o.cheap_answers) {
            *a += b;
        }
        self.spool_failed |= o.spool_failed;
        self.settle_groups(true);
    }

    /// Drops the full local parts of the mailboxes (kept only when a run was asked to show
    /// them): what a run without `--show-mailboxes` may print or save.
    pub(crate) fn forget_mailboxes(&mut self) {
        let held: Vec<Vec<u8>> = self.domains.held().iter().map(|e| e.0.to_vec()).collect();
        for k in held {
            if let Some(d) = self.domains.get_mut(&k) {
                d.forget_full();
            }
        }
    }

    /// Noise requests over all categories.
    pub fn noise_requests(&self) -> u64 {
        self.categories.iter().map(|c| c.traffic.requests).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod latency {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            /// Counts kept aside and moved later give the histogram that recording each value
            /// gives, read before or after a flush, merged or reset.
            #[test]
            fn exact_counts_are_the_histogram(
                a in prop::collection::vec(prop_oneof![0u64..2100, 0..=MAX_LATENCY_MS], 0..300),
                b in prop::collection::vec(0u64..3000, 0..50),
                flush_at in 0usize..300,
            ) {
                let mut want = Histogram::<u64>::new_with_bounds(1, MAX_LATENCY_MS, 3).unwrap();
                let mut got = Latency::new();
                for (i, &ms) in a.iter().enumerate() {
                    want.saturating_record(ms);
                    got.record(ms);
                    if i == flush_at {
                        got.flush();
                    }
                }
                prop_assert!(*got.histogram() == want);
                let mut other = Latency::new();
                for &ms in &b {
                    want.saturating_record(ms);
                    other.record(ms);
                }
                got.histogram_mut().add(&*other.histogram()).unwrap();
                prop_assert!(*got.histogram() == want);
                prop_assert_eq!(got.histogram().value_at_quantile(0.5), want.value_at_quantile(0.5));
                got.record(5);
                got.histogram_mut().reset();
                prop_assert_eq!(got.histogram().len(), 0);
            }
        }
    }

    #[test]
    fn long_keys_in_every_category_stay_within_the_byte_budgets() {
        let caps = Caps::default();
        let mut s = Summary::new(&caps);
        let filler = "f".repeat(1000);
        for i in 0..40_000usize {
            let c = &mut s.categories[i % CATEGORIES.len()];
            let key = format!("198.51.{i}{filler}");
            c.clients.add(key.as_bytes(), 1);
            c.user_agents.add(key.as_bytes(), 1);
            c.paths.add(key.as_bytes(), 1);
            if i % 64 == 0 {
                s.bound();
                assert!(s.held_bytes() < 3 * (8 << 20), "bounded between checks too");
            }
        }
        s.settle();
        let held = |f: fn(&CategoryStats) -> &KeyCounts| -> usize {
            s.categories.iter().map(|c| f(c).held_bytes()).sum()
        };
        assert!(held(|c| &c.clients) <= caps.clients_bytes);
        assert!(held(|c| &c.user_agents) <= caps.user_agents_bytes);
        assert!(held(|c| &c.paths) <= caps.paths_bytes);
        assert!(
            held(|c| &c.clients) > caps.clients_bytes * 9 / 10,
            "the budget is used"
        );
        let counted: u64 = s
            .categories
            .iter()
            .map(|c| c.clients.sorted().iter().map(|e| e.1).sum::<u64>() + c.clients.overflow())
            .sum();
        assert_eq!(counted, 40_000, "every request is still counted");
        assert!(s.categories.iter().all(|c| c.clients.approximate()));
    }
}
