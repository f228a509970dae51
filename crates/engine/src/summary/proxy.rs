//! Evidence that the clients sit behind a proxy: the noise counted with `$remote_addr` as its
//! client all came from one address, while `X-Forwarded-For` names many different first hops.
//! Then every storm would be blamed on the proxy; the report says so and how to count the
//! forwarded clients instead (`--client-ip xff-first`). Mergeable like the rest of the
//! summary: the distinct first hops are a bottom-k sample of their hashes, so any split of
//! the lines gives the same evidence.

use std::hash::BuildHasher;

/// Distinct first hops kept (the smallest hashes).
const HOPS: usize = 64;

/// See the module documentation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProxyEvidence {
    /// Noise requests whose client was `$remote_addr`.
    pub(crate) by_remote: u64,
    /// Those among them with an `X-Forwarded-For` first hop other than the remote address.
    pub(crate) forwarded: u64,
    /// The remote addresses seen (two are enough to rule a single proxy out).
    remotes: Vec<Box<[u8]>>,
    /// Hashes of the distinct first hops, smallest first, at most [`HOPS`].
    hops: Vec<u64>,
}

impl ProxyEvidence {
    /// Counts a noise request whose client was `remote`, with `hop` the first
    /// `X-Forwarded-For` entry if any.
    pub(crate) fn note(&mut self, remote: &[u8], hop: Option<&[u8]>) {
        self.by_remote += 1;
        if self.remotes.len() < 2 && !self.remotes.iter().any(|r| **r == *remote) {
            self.remotes.push(remote.into());
            self.remotes.sort();
        }
        let Some(hop) = hop.filter(|h| *h != remote) else {
            return;
        };
        self.forwarded += 1;
        let hash = foldhash::fast::FixedState::with_seed(7).hash_one(hop);
        self.add_hop(hash);
    }

    fn add_hop(&mut self, hash: u64) {
        if let Err(at) = self.hops.binary_search(&hash) {
            if at < HOPS {
                self.hops.insert(at, hash);
                self.hops.truncate(HOPS);
            }
        }
    }

    /// Adds what another part of the input gave.
    pub(crate) fn merge(&mut self, o: &ProxyEvidence) {
        self.by_remote += o.by_remote;
        self.forwarded += o.forwarded;
        for r in &o.remotes {
            if self.remotes.len() < 2 && !self.remotes.contains(r) {
                self.remotes.push(r.clone());
            }
        }
        self.remotes.sort();
        for &h in &o.hops {
            self.add_hop(h);
        }
    }

    /// When the evidence is clear — one remote address for all of that noise, nine in ten of
    /// its requests forwarded, from at least two distinct first hops — that address and the
    /// number of distinct hops (at least; [`HOPS`] means "that many or more").
    pub(crate) fn single_proxy(&self) -> Option<(&[u8], usize)> {
        let clear = self.remotes.len() == 1
            && self.forwarded * 10 >= self.by_remote * 9
            && self.hops.len() >= 2;
        clear.then(|| (&*self.remotes[0], self.hops.len()))
    }

    /// Whether the hop count is a lower bound.
    pub(crate) fn hops_capped(&self) -> bool {
        self.hops.len() >= HOPS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_proxy_with_many_forwarded_clients_is_evidence_and_merges_by_split() {
        let mut whole = ProxyEvidence::default();
        let mut parts = [ProxyEvidence::default(), ProxyEvidence::default()];
        for i in 0..100u32 {
            let hop = format!("203.0.113.{}", i % 23);
            whole.note(b"127.0.0.1", Some(hop.as_bytes()));
            parts[(i % 2) as usize].note(b"127.0.0.1", Some(hop.as_bytes()));
        }
        let mut merged = parts[1].clone();
        merged.merge(&parts[0]);
        assert_eq!(merged, whole);
        assert_eq!(whole.single_proxy(), Some((&b"127.0.0.1"[..], 23)));
        // Two remote addresses, or no forwarding, is no evidence.
        let mut two = whole.clone();
        two.note(b"10.0.0.9", None);
        assert_eq!(two.single_proxy(), None);
        let mut direct = ProxyEvidence::default();
        for _ in 0..10 {
            direct.note(b"198.51.100.1", None);
        }
        assert_eq!(direct.single_proxy(), None);
    }
}
