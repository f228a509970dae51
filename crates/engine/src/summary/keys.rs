//! `CappedMap`: values per byte-string key (counts in [`KeyCounts`], per-minute activity in
//! the storm tables), with a cap on distinct keys that keeps the result independent of how
//! the input was split.
//!
//! Keys are copied to the heap only when a new key is inserted; a hit costs one hash and no
//! allocation. The map's hasher is seeded per process, because keys (paths, user agents) are
//! chosen by whoever sends requests.
//!
//! Past the cap the map becomes a *bottom-k sample*: it keeps the `cap` keys with the smallest
//! rank (a hash with a fixed seed), each with its exact count, and counts everything else as
//! overflow. Which keys survive depends only on the set of keys, never on the order they came
//! in or on how summaries were split and merged, so the output stays the same for any thread
//! count or block size even under attack. The number of distinct keys is then estimated from
//! the rank of the last key kept (the KMV estimator). Iteration order never leaks out: every
//! accessor sorts.

use std::collections::HashMap;
use std::hash::BuildHasher;

type Map<V> = HashMap<Box<[u8]>, V, foldhash::fast::RandomState>;

/// A value kept per key: it can absorb another of its kind and say how many requests it holds.
pub(crate) trait Tally: Clone + Default {
    /// Adds `other` into `self`.
    fn absorb(&mut self, other: &Self);
    /// Requests it stands for (what is counted as overflow when its key is dropped).
    fn requests(&self) -> u64;
    /// Units of memory it holds, for a map with a budget ([`CappedMap::with_budget`]).
    fn weight(&self) -> usize {
        0
    }
    /// Makes the value as small as it can be without changing what it says.
    fn compact(&mut self) {}
}

impl Tally for u64 {
    fn absorb(&mut self, other: &Self) {
        *self += other;
    }

    fn requests(&self) -> u64 {
        *self
    }
}

/// Counts per key.
pub(crate) type KeyCounts = CappedMap<u64>;

/// The rank of a key for the bottom-k sample: a hash with a fixed seed.
fn rank(key: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6e6f_6973_6567_6174).hash_one(key)
}

/// Longest key kept as written. A longer one (a 7 KB X-Forwarded-For, user agent or path
/// that an attacker chose) is kept as its first bytes, `…#` and a digest of the whole, so a
/// map's memory is bounded by its cap times this, the printed key stays recognisable and says
/// it was shortened, and distinct long keys stay distinct.
pub(crate) const MAX_KEY_BYTES: usize = 256;

/// `key` as a map keeps it (see [`MAX_KEY_BYTES`]); the same key always gives the same result,
/// so samples and merges do not depend on where a key was seen first.
pub(crate) fn shorten(key: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if key.len() <= MAX_KEY_BYTES {
        return std::borrow::Cow::Borrowed(key);
    }
    use std::hash::BuildHasher;
    let digest = foldhash::fast::FixedState::with_seed(17).hash_one(key);
    let marker = format!("\u{2026}#{digest:016x}");
    let mut out = key[..MAX_KEY_BYTES - marker.len()].to_vec();
    out.extend_from_slice(marker.as_bytes());
    std::borrow::Cow::Owned(out)
}

/// Values per key, exact until `cap` distinct keys, then a deterministic sample.
#[derive(Clone, Debug)]
pub(crate) struct CappedMap<V: Tally> {
    map: Map<V>,
    cap: usize,
    /// Keys whose rank is at or above this were dropped (`u64::MAX`: none yet).
    threshold: u64,
    /// Requests of dropped keys.
    overflow: u64,
    /// Most weight kept (0: no budget), and the weight held now, counted up by one per
    /// [`slot`](Self::slot) (each use adds at most one unit) and made exact by `shed`.
    budget: usize,
    weight: usize,
    /// Most bytes of keys kept (each key counts [`entry_bytes`]; 0: no limit), and the bytes
    /// of the keys held now (exact).
    key_budget: usize,
    held_bytes: usize,
}

/// What a map counts for one key: its bytes and a fixed share for the entry itself (the
/// table slot, the value, the allocation's header), so that many short keys and a few long
/// ones are both bounded by the same figure.
pub(crate) const ENTRY_BYTES: usize = 64;

/// The bytes a key counts for in a map's byte budget.
#[inline]
fn entry_bytes(key: &[u8]) -> usize {
    key.len() + ENTRY_BYTES
}

/// The settings of a map, as a saved summary keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MapSettings {
    /// Most distinct keys kept.
    pub(crate) cap: usize,
    /// Keys whose rank is at or above this were dropped (`u64::MAX`: none yet).
    pub(crate) threshold: u64,
    /// Requests of dropped keys.
    pub(crate) overflow: u64,
    /// Most weight kept (0: no budget).
    pub(crate) budget: usize,
}

impl<V: Tally> CappedMap<V> {
    /// An empty map that keeps at most `cap` distinct keys.
    pub(crate) fn new(cap: usize) -> Self {
        CappedMap {
            map: Map::default(),
            cap: cap.max(1),
            threshold: u64::MAX,
            overflow: 0,
            budget: 0,
            weight: 0,
            key_budget: 0,
            held_bytes: 0,
        }
    }

    /// The same map, also bounded by the bytes of its keys: past `bytes` (it may hold a quarter
    /// more between checks) it keeps the keys of smallest rank whose [`entry_bytes`] add up
    /// to at most `bytes` and drops the rest as overflow. Like the cap, a rule on the set of
    /// keys.
    pub(crate) fn with_key_budget(mut self, bytes: usize) -> Self {
        self.key_budget = bytes.max(1);
        self
    }

    /// A map that also keeps the total [`weight`](Tally::weight) of its values within
    /// `budget` (it may hold a quarter more between checks). Past it, the map keeps the keys of
    /// smallest rank whose weights add up to at most `budget` and drops the rest as
    /// overflow: a rule on the set of keys and their (compacted) values, so merged partial
    /// maps keep the same keys as one map of everything.
    pub(crate) fn with_budget(cap: usize, budget: usize) -> Self {
        CappedMap {
            budget: budget.max(1),
            ..Self::new(cap)
        }
    }

    /// The value of `key` to update, inserted if new; `None` when the cap keeps `key` out
    /// (then count what it would have held with [`CappedMap::dropped`]).
    #[inline]
    pub(crate) fn slot(&mut self, key: &[u8]) -> Option<&mut V> {
        let short = shorten(key);
        let key: &[u8] = &short;
        if self.budget > 0 {
            self.weight += 1;
            if self.weight >= self.budget + self.budget / 4 {
                self.shed();
            }
        }
        if !self.map.contains_key(key) {
            if self.threshold != u64::MAX && rank(key) >= self.threshold {
                return None;
            }
            self.map.insert(key.into(), V::default());
            self.held_bytes += entry_bytes(key);
            // Prune lazily, a quarter over the cap, so that inserting past the cap stays
            // amortized O(1); the accessors look only at the `cap` smallest ranks.
            if self.map.len() >= self.cap + self.cap / 4 {
                self.prune();
            }
            if self.key_budget > 0 && self.held_bytes >= self.key_budget + self.key_budget / 4 {
                self.shed();
                if self.threshold != u64::MAX && rank(key) >= self.threshold {
                    return None;
                }
            }
        }
        self.map.get_mut(key)
    }

    /// Adds `value` under `key` (inserted if new), its whole weight counted against the
    /// budget, or counts its requests as dropped when the cap keeps `key` out. For values that
    /// hold many units at once ([`slot`](Self::slot) counts one per use).
    pub(crate) fn absorb(&mut self, key: &[u8], value: &V) {
        match self.slot(key) {
            Some(mine) => mine.absorb(value),
            None => {
                self.overflow += value.requests();
                return;
            }
        }
        if self.budget > 0 {
            self.weight += value.weight().saturating_sub(1);
            if self.weight >= self.budget + self.budget / 4 {
                self.shed();
            }
        }
    }

    /// The weight its values hold now, exactly.
    #[cfg(test)]
    pub(crate) fn exact_weight(&self) -> usize {
        self.map.values().map(Tally::weight).sum()
    }

    /// Counts requests whose key [`CappedMap::slot`] kept out.
    pub(crate) fn dropped(&mut self, requests: u64) {
        self.overflow += requests;
    }

    /// Drops every key whose rank is not among the `cap` smallest.
    fn prune(&mut self) {
        if self.map.len() <= self.cap {
            return;
        }
        let mut ranks: Vec<u64> = self.map.keys().map(|k| rank(k)).collect();
        let (_, &mut first_out, _) = ranks.select_nth_unstable(self.cap);
        self.lower_threshold(first_out);
    }

    /// Compacts every value and, if their weight or the bytes of their keys are over a
    /// budget, drops the keys of largest rank until neither is.
    fn shed(&mut self) {
        let mut entries: Vec<(u64, usize, usize)> = self
            .map
            .iter_mut()
            .map(|(k, v)| {
                v.compact();
                (rank(k), v.weight(), entry_bytes(k))
            })
            .collect();
        entries.sort_unstable();
        let (mut weight, mut bytes) = (0usize, 0usize);
        for (r, w, b) in entries {
            weight = weight.saturating_add(w);
            bytes = bytes.saturating_add(b);
            let heavy = self.budget > 0 && weight > self.budget;
            let wide = self.key_budget > 0 && bytes > self.key_budget;
            if heavy || wide {
                self.lower_threshold(r);
                break;
            }
        }
        self.weight = self.map.values().map(Tally::weight).sum();
    }

    /// Whether the map holds more than its budgets allow (weight made exact first).
    fn over(&mut self) -> bool {
        if self.budget > 0 {
            self.weight = self.map.values().map(Tally::weight).sum();
        }
        (self.budget > 0 && self.weight > self.budget)
            || (self.key_budget > 0 && self.held_bytes > self.key_budget)
    }

    /// Holds the map exactly to its cap and budgets (between checks it may hold a quarter
    /// more): what it keeps is then the rule on the set of keys, whatever the order they came.
    pub(crate) fn settle(&mut self) {
        self.prune();
        if self.over() {
            self.shed();
        }
    }

    /// Bytes of the keys held (see [`entry_bytes`]).
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    fn lower_threshold(&mut self, threshold: u64) {
        if threshold >= self.threshold {
            return;
        }
        self.threshold = threshold;
        let (mut dropped, mut bytes) = (0, 0);
        self.map.retain(|k, v| {
            let keep = rank(k) < threshold;
            if !keep {
                dropped += v.requests();
                bytes += entry_bytes(k);
            }
            keep
        });
        self.overflow += dropped;
        self.held_bytes -= bytes;
    }

    /// Adds every value of `o`.
    pub(crate) fn merge(&mut self, o: &CappedMap<V>) {
        self.lower_threshold(o.threshold);
        for (k, v) in &o.map {
            self.absorb(k, v);
        }
        self.overflow += o.overflow;
        // Compacting only shrinks values, so an uncompacted total within the budget needs no
        // shedding.
        self.settle();
    }

    /// The kept entries: all of them, or past the cap the `cap` smallest ranks.
    fn kept(&self) -> Vec<(&[u8], &V)> {
        let mut v: Vec<(&[u8], &V)> = self.map.iter().map(|(k, c)| (&k[..], c)).collect();
        if v.len() > self.cap {
            v.sort_unstable_by_key(|(k, _)| rank(k));
            v.truncate(self.cap);
        }
        v
    }

    /// `true` once the cap dropped a key: the lists hold a sample of the keys (with exact
    /// values), and [`CappedMap::distinct`] is an estimate.
    pub(crate) fn approximate(&self) -> bool {
        self.overflow > 0 || self.map.len() > self.cap
    }

    /// Distinct keys: exact, or past the cap estimated from the rank of the last key kept.
    pub(crate) fn distinct(&self) -> u64 {
        if !self.approximate() {
            return self.map.len() as u64;
        }
        // KMV with k = the keys kept: the cap, or fewer when a budget dropped more.
        let kept = self.kept();
        let last = kept.iter().map(|(k, _)| rank(k)).max().unwrap_or(u64::MAX);
        let fraction = (last as f64 + 1.0) / 2f64.powi(64);
        ((kept.len() as f64 - 1.0).max(0.0) / fraction).round() as u64
    }

    /// The cap on distinct keys.
    pub(crate) fn cap(&self) -> usize {
        self.cap
    }

    /// The budget on the bytes of the keys (0: none).
    pub(crate) fn key_budget(&self) -> usize {
        self.key_budget
    }

    /// The budget on total weight (0: none).
    pub(crate) fn budget(&self) -> usize {
        self.budget
    }

    /// Requests that belong to keys not kept.
    #[cfg(test)]
    pub(crate) fn overflow(&self) -> u64 {
        let kept: u64 = self.kept().iter().map(|e| e.1.requests()).sum();
        let all: u64 = self.map.values().map(Tally::requests).sum();
        self.overflow + (all - kept)
    }

    /// Every kept entry, in key order.
    pub(crate) fn entries(&self) -> Vec<(&[u8], &V)> {
        let mut v = self.kept();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Its settings, for saving.
    pub(crate) fn settings(&self) -> MapSettings {
        MapSettings {
            cap: self.cap,
            threshold: self.threshold,
            overflow: self.overflow,
            budget: self.budget,
        }
    }

    /// The value held for `key` (kept, or past the cap not yet pruned), if any.
    pub(crate) fn get(&self, key: &[u8]) -> Option<&V> {
        self.map.get(&*shorten(key))
    }

    /// The value held for `key` to change in place (never inserts).
    pub(crate) fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.map.get_mut(&*shorten(key))
    }

    /// Every entry held (kept, or past the cap not yet pruned), in key order, for saving:
    /// with [`settings`](Self::settings) it is all [`merge`](Self::merge) reads of a map.
    pub(crate) fn held(&self) -> Vec<(&[u8], &V)> {
        let mut v: Vec<(&[u8], &V)> = self.map.iter().map(|(k, c)| (&k[..], c)).collect();
        v.sort_unstable_by(|a, b| a.0.cmp(b.0));
        v
    }

    /// Empties the map and takes saved settings: their threshold and overflow, the tighter of
    /// the two caps, and this map's own budget (as [`merge`](Self::merge) into it would hold
    /// them; bottom-k and the budget rule are set-based, so a bound applied early keeps the
    /// keys a merge into this map would keep).
    pub(crate) fn restore_settings(&mut self, s: MapSettings) {
        self.map.clear();
        self.cap = self.cap.min(s.cap).max(1);
        self.threshold = s.threshold;
        self.overflow = s.overflow;
        self.weight = 0;
        self.held_bytes = 0;
    }

    /// Adds a saved entry, holding the map to its cap and budget as it grows.
    pub(crate) fn restore_entry(&mut self, key: &[u8], value: V) {
        let short = shorten(key);
        let key: &[u8] = &short;
        if self.threshold != u64::MAX && rank(key) >= self.threshold {
            self.overflow += value.requests();
            return;
        }
        self.weight = self.weight.saturating_add(value.weight());
        match self.map.get_mut(key) {
            Some(mine) => mine.absorb(&value),
            None => {
                self.held_bytes += entry_bytes(key);
                self.map.insert(key.into(), value);
            }
        }
        if self.map.len() >= self.cap + self.cap / 4 {
            self.prune();
        }
        let heavy = self.budget > 0 && self.weight >= self.budget + self.budget / 4;
        let wide = self.key_budget > 0 && self.held_bytes >= self.key_budget + self.key_budget / 4;
        if heavy || wide {
            self.shed();
        }
    }
}

/// Holds a group of maps (`map` of each of `owners`: the same kind of key in every category)
/// to one cap on their keys and one budget on their bytes, together. Past either, every map keeps only the keys below
/// the rank where the group's keys, taken in rank order, pass the cap or the budget: a rule
/// on the union of the maps' keys, so merged parts keep what the whole would (each map's own
/// cap and budget must be at least the group's). With `exact` false it acts only once a
/// quarter over either limit, so it is cheap to call often.
pub(crate) fn settle_group<T, V: Tally>(
    owners: &mut [T],
    map: fn(&mut T) -> &mut CappedMap<V>,
    cap: usize,
    bytes: usize,
    exact: bool,
) {
    let (keys, held) = owners
        .iter_mut()
        .map(map)
        .fold((0, 0), |(k, b), m| (k + m.map.len(), b + m.held_bytes));
    let (cap_at, bytes_at) = if exact {
        (cap, bytes)
    } else {
        (cap + cap / 4, bytes + bytes / 4)
    };
    if keys <= cap_at && held <= bytes_at {
        return;
    }
    let mut ranked: Vec<(u64, usize)> = owners
        .iter_mut()
        .map(map)
        .flat_map(|m| m.map.keys().map(|k| (rank(k), entry_bytes(k))))
        .collect();
    ranked.sort_unstable();
    let (mut n, mut sum) = (0usize, 0usize);
    for (r, b) in ranked {
        n += 1;
        sum = sum.saturating_add(b);
        if n > cap || sum > bytes {
            for m in owners.iter_mut().map(map) {
                m.lower_threshold(r);
            }
            return;
        }
    }
}

impl CappedMap<u64> {
    /// Adds `n` to `key`.
    #[inline]
    pub(crate) fn add(&mut self, key: &[u8], n: u64) {
        let short = shorten(key);
        let key: &[u8] = &short;
        if let Some(v) = self.map.get_mut(key) {
            *v += n;
        } else if let Some(v) = self.slot(key) {
            *v += n;
        } else {
            self.overflow += n;
        }
    }

    /// The `n` largest kept entries (all when `n` is 0), count descending then key ascending.
    pub(crate) fn top(&self, n: usize) -> Vec<(&[u8], u64)> {
        let mut v: Vec<(&[u8], u64)> = self.kept().into_iter().map(|(k, c)| (k, *c)).collect();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        if n > 0 {
            v.truncate(n);
        }
        v
    }

    /// Every kept entry, in key order.
    pub(crate) fn sorted(&self) -> Vec<(&[u8], u64)> {
        let mut v: Vec<(&[u8], u64)> = self.kept().into_iter().map(|(k, c)| (k, *c)).collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_are_kept_short_recognisable_and_distinct() {
        let mut m = KeyCounts::new(10);
        let (a, b) = (vec![b'a'; 7000], [vec![b'a'; 6999], vec![b'b']].concat());
        m.add(&a, 1);
        m.add(&b, 2);
        m.add(&a, 1);
        let kept = m.sorted();
        assert_eq!(kept.len(), 2);
        for (k, _) in &kept {
            assert_eq!(k.len(), MAX_KEY_BYTES);
            assert!(String::from_utf8_lossy(k).contains("\u{2026}#"));
        }
        assert_eq!(kept.iter().map(|e| e.1).sum::<u64>(), 4);
        assert_eq!(shorten(b"short"), &b"short"[..]);
    }

    #[test]
    fn counts_and_sorts_exactly_under_the_cap() {
        let mut k = KeyCounts::new(10);
        k.add(b"b", 1);
        k.add(b"a", 1);
        k.add(b"b", 2);
        assert_eq!(k.top(0), vec![(&b"b"[..], 3), (&b"a"[..], 1)]);
        assert_eq!(k.top(1), vec![(&b"b"[..], 3)]);
        assert!(!k.approximate());
        assert_eq!(k.distinct(), 2);
    }

    fn keys(range: std::ops::Range<u32>) -> Vec<Vec<u8>> {
        range.map(|i| format!("/k{i}").into_bytes()).collect()
    }

    #[test]
    fn past_the_cap_the_kept_keys_do_not_depend_on_order_or_split() {
        let all = keys(0..5000);
        let mut whole = KeyCounts::new(100);
        for k in &all {
            whole.add(k, 2);
        }
        let mut parts = [
            KeyCounts::new(100),
            KeyCounts::new(100),
            KeyCounts::new(100),
        ];
        for (i, k) in all.iter().rev().enumerate() {
            parts[i % 3].add(k, 1);
            parts[(i + 1) % 3].add(k, 1);
        }
        let mut merged = KeyCounts::new(100);
        for p in parts.iter().rev() {
            merged.merge(p);
        }
        assert!(whole.approximate() && merged.approximate());
        assert_eq!(whole.sorted(), merged.sorted());
        assert_eq!(whole.sorted().len(), 100);
        assert!(
            whole.sorted().iter().all(|&(_, n)| n == 2),
            "kept counts are exact"
        );
        let kept: u64 = whole.sorted().iter().map(|e| e.1).sum();
        assert_eq!(kept + whole.overflow(), 10_000);
        assert_eq!(merged.overflow(), whole.overflow());
        let est = whole.distinct() as f64;
        assert!((est - 5000.0).abs() < 1500.0, "KMV estimate {est}");
    }

    #[test]
    fn past_the_budget_the_kept_keys_do_not_depend_on_order_or_split() {
        use crate::summary::time::Activity;
        // 300 clients, each probing in 1 to 40 distinct minutes, the minutes out of order
        // and repeated, so that compacting matters as much as dropping.
        let events: Vec<(Vec<u8>, i64)> = (0..6000u64)
            .map(|i| {
                let client = i * 7919 % 300;
                let minute = (i * 104_729 % (1 + client % 40)) as i64;
                (
                    format!("c{client}").into_bytes(),
                    minute * 60 + (i % 60) as i64,
                )
            })
            .collect();
        let fill = |events: &[(Vec<u8>, i64)]| {
            let mut m: CappedMap<Activity> = CappedMap::with_budget(1000, 500);
            for (k, t) in events {
                if let Some(a) = m.slot(k) {
                    a.add(*t, 1);
                } else {
                    m.dropped(1);
                }
            }
            m
        };
        let summary = |m: &CappedMap<Activity>| {
            let mut m = m.clone();
            let mut fresh = CappedMap::with_budget(1000, 500);
            fresh.merge(&m);
            m = fresh;
            let kept: Vec<(Vec<u8>, Vec<i64>)> = m
                .entries()
                .into_iter()
                .map(|(k, a)| (k.to_vec(), a.cells.iter().map(|c| c.minute).collect()))
                .collect();
            (kept, m.overflow(), m.approximate())
        };
        let whole = summary(&fill(&events));
        assert!(whole.2, "the budget was reached");
        let kept_cells: usize = whole.0.iter().map(|e| e.1.len()).sum();
        assert!(kept_cells <= 500 && kept_cells > 400, "{kept_cells}");
        let requests: u64 = events.len() as u64;
        let kept_requests: u64 = {
            let m = fill(&events);
            m.entries().iter().map(|e| e.1.requests()).sum()
        };
        assert_eq!(
            kept_requests + whole.1,
            requests,
            "nothing is lost from the totals"
        );
        for parts in [2, 3, 7] {
            let mut merged: CappedMap<Activity> = CappedMap::with_budget(1000, 500);
            for chunk in events.chunks(events.len() / parts + 1).rev() {
                merged.merge(&fill(chunk));
            }
            assert_eq!(summary(&merged), whole, "{parts} parts");
        }
    }

    /// Three maps of one group (clients of three categories): keys short and long, some in
    /// several maps, so that the group's cap, its byte budget and the maps' own caps all bind.
    fn group_events() -> Vec<(usize, Vec<u8>)> {
        (0..9000u64)
            .map(|i| {
                let key = i * 7919 % 2500;
                let long = key % 5 == 0;
                let mut k = format!("client-{key}-").into_bytes();
                if long {
                    k.resize(300 + (key % 7) as usize * 1000, b'x');
                }
                (((i % 3) as usize + usize::from(key % 11 == 0)) % 3, k)
            })
            .collect()
    }

    fn fill_group(events: &[(usize, Vec<u8>)], cap: usize, bytes: usize) -> Vec<KeyCounts> {
        let mut maps: Vec<KeyCounts> = (0..3)
            .map(|_| KeyCounts::new(cap).with_key_budget(bytes))
            .collect();
        for (n, (m, k)) in events.iter().enumerate() {
            maps[*m].add(k, 1);
            if n % 64 == 0 {
                settle_group(&mut maps, itself, cap, bytes, false);
            }
        }
        maps
    }

    fn settled(mut maps: Vec<KeyCounts>, cap: usize, bytes: usize) -> Vec<KeyCounts> {
        for m in &mut maps {
            m.settle();
        }
        settle_group(&mut maps, itself, cap, bytes, true);
        maps
    }

    type Kept = Vec<(Vec<(Vec<u8>, u64)>, u64)>;

    fn itself(m: &mut KeyCounts) -> &mut KeyCounts {
        m
    }

    fn kept_of(maps: &[KeyCounts]) -> Kept {
        maps.iter()
            .map(|m| {
                let kept = m
                    .sorted()
                    .into_iter()
                    .map(|(k, n)| (k.to_vec(), n))
                    .collect();
                (kept, m.overflow())
            })
            .collect()
    }

    #[test]
    fn a_group_holds_its_keys_and_bytes_and_keeps_the_same_keys_for_any_split() {
        for (cap, bytes) in [(600, 1 << 30), (5000, 40_000), (300, 60_000)] {
            let events = group_events();
            let whole = settled(fill_group(&events, cap, bytes), cap, bytes);
            let keys: usize = whole.iter().map(|m| m.sorted().len()).sum();
            let held: usize = whole.iter().map(|m| m.held_bytes()).sum();
            assert!(keys <= cap, "{keys} keys over the cap {cap}");
            assert!(held <= bytes, "{held} bytes over the budget {bytes}");
            assert!(whole.iter().all(|m| m.approximate()), "every limit binds");
            let counted: u64 = kept_of(&whole)
                .iter()
                .map(|(k, o)| k.iter().map(|e| e.1).sum::<u64>() + o)
                .sum();
            assert_eq!(counted, events.len() as u64, "totals stay exact");
            let want = kept_of(&whole);
            for parts in [2, 3, 5] {
                let mut merged: Vec<KeyCounts> = (0..3)
                    .map(|_| KeyCounts::new(cap).with_key_budget(bytes))
                    .collect();
                for chunk in events.chunks(events.len() / parts + 1).rev() {
                    let part = fill_group(chunk, cap, bytes);
                    for (m, p) in merged.iter_mut().zip(&part) {
                        m.merge(p);
                    }
                    settle_group(&mut merged, itself, cap, bytes, true);
                }
                assert_eq!(
                    kept_of(&merged),
                    want,
                    "cap {cap}, {bytes} bytes, {parts} parts"
                );
            }
        }
    }
}
