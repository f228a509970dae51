//! The mail domains behind the noise: per domain a probe asked about, its requests, its
//! distinct mailboxes, its categories and its client families ([`DomainStats`]), in a
//! [`CappedMap`] bounded like every other map (a cap on domains and a budget on their bytes).
//!
//! Every part merges so that the result does not depend on how the input was split: the
//! mailboxes are the [`MAILBOX_CAP`] smallest 64-bit hashes of the full mailbox (exact below
//! the cap, then a lower bound and flagged), the examples the smallest few by byte order.
//! A local part is personal data: the masked examples keep only its first byte; the full
//! local parts are kept only when the scan is asked to ([`crate::scan::ScanConfig`]'s
//! `mailboxes`), and then at most [`FULL_EXAMPLES`].

use super::keys::{CappedMap, Tally};
use crate::classify::family::Family;
use crate::classify::CATEGORIES;
use std::hash::BuildHasher;

/// Distinct mailboxes counted exactly per domain; past it the count is a lower bound.
pub(crate) const MAILBOX_CAP: usize = 128;
/// Masked examples kept per domain.
pub(crate) const MASKED_EXAMPLES: usize = 3;
/// Full mailboxes kept per domain (only when asked).
pub(crate) const FULL_EXAMPLES: usize = 10;
/// Most domains kept.
pub(crate) const DOMAINS_CAP: usize = 1_000;
/// Most bytes of their keys.
pub(crate) const DOMAINS_BYTES: usize = 256 << 10;

/// Everything kept about one mail domain.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct DomainStats {
    /// Noise requests that named it.
    pub(crate) requests: u64,
    /// Those requests by category (index in [`CATEGORIES`]).
    pub(crate) categories: [u64; CATEGORIES.len()],
    /// Those requests by client family (index in [`Family::ALL`]).
    pub(crate) families: [u64; Family::ALL.len()],
    /// The smallest hashes of its distinct mailboxes, ascending.
    pub(crate) mailboxes: Vec<u64>,
    /// More distinct mailboxes were seen than [`MAILBOX_CAP`].
    pub(crate) saturated: bool,
    /// The smallest distinct first bytes of its local parts (masked examples), ascending.
    pub(crate) masked: Vec<u8>,
    /// The smallest distinct local parts, ascending (empty unless asked for).
    pub(crate) full: Vec<Box<[u8]>>,
}

/// The hash a mailbox is counted by: fixed seed, the same in every run.
pub(crate) fn mailbox_hash(local: &[u8], domain: &[u8]) -> u64 {
    let hash =
        |key: &[u8]| foldhash::fast::FixedState::with_seed(0x6d61_696c_626f_7865).hash_one(key);
    // `local@domain` on the stack: a mailbox found in a log is at most 64 + 1 + 253 bytes.
    let mut buf = [0u8; 320];
    let n = local.len() + 1 + domain.len();
    match buf.get_mut(..n) {
        Some(key) => {
            key[..local.len()].copy_from_slice(local);
            key[local.len()] = b'@';
            key[local.len() + 1..].copy_from_slice(domain);
            hash(key)
        }
        None => hash(&[local, b"@", domain].concat()),
    }
}

/// Inserts `v` into the ascending, distinct `set` kept to its `cap` smallest members; `true`
/// when a member was dropped (or `v` was not kept) over the cap.
fn keep_smallest<T: Ord>(set: &mut Vec<T>, v: T, cap: usize) -> bool {
    match set.binary_search(&v) {
        Ok(_) => false,
        Err(i) if i >= cap => true,
        Err(i) => {
            set.insert(i, v);
            let over = set.len() > cap;
            set.truncate(cap);
            over
        }
    }
}

impl DomainStats {
    /// Counts `n` requests; `local` is their mailbox's local part, if they named one, `full`
    /// keeps the local part itself as an example.
    pub(crate) fn add(
        &mut self,
        domain: &[u8],
        local: Option<&[u8]>,
        category: usize,
        family: Family,
        full: bool,
        n: u64,
    ) {
        self.requests = self.requests.saturating_add(n);
        if let Some(c) = self.categories.get_mut(category) {
            *c = c.saturating_add(n);
        }
        if let Some(i) = Family::ALL.iter().position(|&f| f == family) {
            self.families[i] = self.families[i].saturating_add(n);
        }
        let Some(local) = local.filter(|l| !l.is_empty()) else {
            return;
        };
        self.saturated |= keep_smallest(
            &mut self.mailboxes,
            mailbox_hash(local, domain),
            MAILBOX_CAP,
        );
        keep_smallest(&mut self.masked, local[0], MASKED_EXAMPLES);
        if full
            && (self.full.len() < FULL_EXAMPLES || self.full.last().is_some_and(|l| **l > *local))
        {
            keep_smallest(&mut self.full, local.into(), FULL_EXAMPLES);
        }
    }

    /// Distinct mailboxes: exact, or when [`saturated`](Self::saturated) at least this many.
    pub(crate) fn distinct(&self) -> u64 {
        self.mailboxes.len() as u64
    }

    /// Drops the full local parts (what a run without `--show-mailboxes` may not show).
    pub(crate) fn forget_full(&mut self) {
        self.full.clear();
    }
}

impl Tally for DomainStats {
    fn absorb(&mut self, o: &Self) {
        self.requests = self.requests.saturating_add(o.requests);
        for (a, b) in self.categories.iter_mut().zip(&o.categories) {
            *a = a.saturating_add(*b);
        }
        for (a, b) in self.families.iter_mut().zip(&o.families) {
            *a = a.saturating_add(*b);
        }
        self.saturated |= o.saturated;
        for &h in &o.mailboxes {
            self.saturated |= keep_smallest(&mut self.mailboxes, h, MAILBOX_CAP);
        }
        for &c in &o.masked {
            keep_smallest(&mut self.masked, c, MASKED_EXAMPLES);
        }
        for l in &o.full {
            keep_smallest(&mut self.full, l.clone(), FULL_EXAMPLES);
        }
    }

    fn requests(&self) -> u64 {
        self.requests
    }
}

/// Counts `n` noise requests of category `category` from `family` that named `local@domain`
/// (or only `domain`); `full` keeps the local part as an example.
#[inline]
pub(crate) fn note(
    map: &mut CappedMap<DomainStats>,
    domain: &[u8],
    local: Option<&[u8]>,
    category: usize,
    family: Family,
    full: bool,
    n: u64,
) {
    match map.slot(domain) {
        Some(d) => d.add(domain, local, category, family, full, n),
        None => map.dropped(n),
    }
}

/// The map of mail domains a scan keeps, with at most `cap` domains and `bytes` of keys.
pub(crate) fn new_map(cap: usize, bytes: usize) -> CappedMap<DomainStats> {
    CappedMap::new(cap).with_key_budget(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(mailboxes: std::ops::Range<u32>, full: bool) -> DomainStats {
        let mut d = DomainStats::default();
        for i in mailboxes {
            let local = format!("user{i}");
            d.add(
                b"example.org",
                Some(local.as_bytes()),
                i as usize % 3,
                Family::ALL[i as usize % 9],
                full,
                1,
            );
        }
        d
    }

    #[test]
    fn counts_exactly_below_the_cap_and_flags_past_it() {
        let d = stats(0..50, false);
        assert_eq!((d.distinct(), d.saturated, d.requests), (50, false, 50));
        assert_eq!(d.masked, vec![b'u']);
        assert!(d.full.is_empty(), "no full local part unless asked");
        let d = stats(0..1000, true);
        assert_eq!((d.distinct(), d.saturated), (MAILBOX_CAP as u64, true));
        assert_eq!(d.full.len(), FULL_EXAMPLES);
        assert_eq!(&*d.full[0], b"user0");
        assert_eq!(&*d.full[1], b"user1");
        assert_eq!(&*d.full[2], b"user10");
        assert_eq!(d.categories.iter().sum::<u64>(), 1000);
        assert_eq!(d.families.iter().sum::<u64>(), 1000);
    }

    /// 3,000 domains, long and short, into a map of 100 domains and 6 KB: the domains kept,
    /// their figures and the overflow are the same for any split and merge order.
    #[test]
    fn past_the_domain_cap_the_kept_domains_do_not_depend_on_the_split() {
        let events: Vec<(String, String)> = (0..9000u32)
            .map(|i| {
                let d = i * 7919 % 3000;
                let label = if d % 7 == 0 {
                    "x".repeat(60)
                } else {
                    "d".into()
                };
                (format!("{label}{d}.example"), format!("u{}", i % 41))
            })
            .collect();
        let fill = |events: &[(String, String)]| {
            let mut m = new_map(100, 6000);
            for (d, l) in events {
                let (d, l) = (d.as_bytes(), l.as_bytes());
                note(&mut m, d, Some(l), 1, Family::Thunderbird, false, 1);
            }
            m
        };
        let kept = |m: &CappedMap<DomainStats>| -> Vec<(Vec<u8>, DomainStats)> {
            m.entries()
                .into_iter()
                .map(|(k, v)| (k.to_vec(), v.clone()))
                .collect()
        };
        let mut whole = fill(&events);
        whole.settle();
        assert!(whole.approximate());
        let want = kept(&whole);
        assert!(want.len() <= 100 && want.len() > 10, "{}", want.len());
        let requests: u64 = want.iter().map(|e| e.1.requests).sum();
        assert_eq!(
            requests + whole.overflow(),
            9000,
            "every request is counted"
        );
        for parts in [2, 3, 7] {
            let mut merged = new_map(100, 6000);
            for chunk in events.chunks(events.len() / parts + 1).rev() {
                merged.merge(&fill(chunk));
            }
            assert_eq!(kept(&merged), want, "{parts} parts");
        }
    }

    #[test]
    fn merged_parts_equal_the_whole_for_any_split() {
        for n in [40u32, 129, 700] {
            let whole = stats(0..n, true);
            for parts in [2u32, 3, 7] {
                let mut merged = DomainStats::default();
                let step = n / parts + 1;
                let mut at = 0;
                while at < n {
                    merged.absorb(&stats(at..(at + step).min(n), true));
                    at += step;
                }
                assert_eq!(merged, whole, "{n} mailboxes in {parts} parts");
            }
        }
    }
}
