//! `KeyCounts`: exact counts per byte-string key, with a cap on distinct keys.
//!
//! Keys are copied to the heap only when a new key is inserted; a hit costs one hash and no
//! allocation. The hasher is seeded per process, because keys (paths, user agents) are chosen
//! by whoever sends requests. Iteration order never leaks out: [`KeyCounts::top`] sorts by
//! count descending, then key ascending.

use std::collections::HashMap;

type Map = HashMap<Box<[u8]>, u64, foldhash::fast::RandomState>;

/// Counts per key, exact until `cap` distinct keys are held.
#[derive(Clone, Debug)]
pub struct KeyCounts {
    map: Map,
    cap: usize,
    /// Counts that arrived for keys not kept because the cap was reached.
    pub overflow: u64,
}

impl KeyCounts {
    /// An empty map that keeps at most `cap` distinct keys.
    pub fn new(cap: usize) -> Self {
        KeyCounts {
            map: Map::default(),
            cap,
            overflow: 0,
        }
    }

    /// Adds `n` to `key`.
    #[inline]
    pub fn add(&mut self, key: &[u8], n: u64) {
        if let Some(v) = self.map.get_mut(key) {
            *v += n;
        } else if self.map.len() < self.cap {
            self.map.insert(key.into(), n);
        } else {
            self.overflow += n;
        }
    }

    /// Adds every count of `o`.
    pub fn merge(&mut self, o: &KeyCounts) {
        for (k, &v) in &o.map {
            self.add(k, v);
        }
        self.overflow += o.overflow;
    }

    /// Distinct keys kept.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// `true` when no key is kept.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// `true` once the cap dropped a key: counts of kept keys may then be low, and the number
    /// of distinct keys is a lower bound.
    pub fn approximate(&self) -> bool {
        self.overflow > 0
    }

    /// The cap on distinct keys.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The `n` largest entries (all when `n` is 0), count descending then key ascending.
    pub fn top(&self, n: usize) -> Vec<(&[u8], u64)> {
        let mut v: Vec<(&[u8], u64)> = self.map.iter().map(|(k, &c)| (&k[..], c)).collect();
        v.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        if n > 0 {
            v.truncate(n);
        }
        v
    }

    /// Every entry, in key order.
    pub fn sorted(&self) -> Vec<(&[u8], u64)> {
        let mut v: Vec<(&[u8], u64)> = self.map.iter().map(|(k, &c)| (&k[..], c)).collect();
        v.sort_unstable();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_sorts_and_caps() {
        let mut k = KeyCounts::new(2);
        k.add(b"b", 1);
        k.add(b"a", 1);
        k.add(b"b", 2);
        k.add(b"c", 5);
        assert_eq!(k.top(0), vec![(&b"b"[..], 3), (&b"a"[..], 1)]);
        assert_eq!(k.overflow, 5);
        assert!(k.approximate());
        let mut m = KeyCounts::new(10);
        m.merge(&k);
        assert_eq!(m.top(1), vec![(&b"b"[..], 3)]);
        assert_eq!(m.overflow, 5);
    }
}
