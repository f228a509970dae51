//! `Evidence`: per noise path, how widely it was asked for — by how many clients, on how many
//! days and in how many hours, by which client families — beside its request count, which one
//! client can multiply at will. The block ranks its entries by it when they do not all fit.
//!
//! Each figure is a set kept to its [`LIMIT`] smallest members, so a count is exact below the
//! limit and means "at least the limit" at it; the union of two such sets, cut again to the
//! limit, is the set of the union cut to the limit, so merging is associative and commutative
//! and the figures do not depend on how the input was split.

use super::keys::Tally;
use crate::classify::family::Family;
use std::hash::BuildHasher;

/// The most members a set keeps: counts saturate here.
pub(crate) const LIMIT: usize = 32;

/// How widely one noise path was asked for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Evidence {
    /// Requests.
    pub(crate) requests: u64,
    /// The smallest hashes of its clients, ascending.
    clients: Vec<u32>,
    /// The earliest UTC days (epoch days) it was asked on, ascending.
    days: Vec<u32>,
    /// The earliest UTC hours (epoch hours) it was asked in, ascending.
    hours: Vec<u32>,
    /// Bit `f` set when a request came from [`Family`] `f`.
    families: u16,
}

/// Inserts `v` into the sorted set `set`, keeping its [`LIMIT`] smallest members.
#[inline]
fn insert(set: &mut Vec<u32>, v: u32) {
    if set.len() >= LIMIT && set.last().is_some_and(|&l| v >= l) {
        return;
    }
    if let Err(at) = set.binary_search(&v) {
        set.insert(at, v);
        set.truncate(LIMIT);
    }
}

fn union(a: &mut Vec<u32>, b: &[u32]) {
    for &v in b {
        insert(a, v);
    }
}

/// A client's hash: fixed, so a set means the same in every thread and run.
fn client_hash(client: &[u8]) -> u32 {
    let h = foldhash::fast::FixedState::with_seed(0x636c_6965_6e74).hash_one(client);
    (h >> 32) as u32
}

/// The mail-client families (not scripts, browsers or unknown agents), in their order.
const MAIL: [Family; 7] = [
    Family::OutlookDesktop,
    Family::OutlookMac,
    Family::OutlookMobile,
    Family::AppleMail,
    Family::Thunderbird,
    Family::AndroidMail,
    Family::MtaSts,
];

impl Evidence {
    /// Counts one request from `client` of `family`, at `time` (UTC epoch seconds) if logged.
    #[inline]
    pub(crate) fn add(&mut self, client: &[u8], family: Family, time: Option<i64>) {
        self.requests += 1;
        insert(&mut self.clients, client_hash(client));
        if let Some(t) = time {
            let hour = t.div_euclid(3600).clamp(0, i64::from(u32::MAX)) as u32;
            insert(&mut self.hours, hour);
            insert(&mut self.days, hour / 24);
        }
        self.families |= 1 << (family as u16);
    }

    /// Distinct clients, up to [`LIMIT`].
    pub(crate) fn clients(&self) -> usize {
        self.clients.len()
    }

    /// Distinct UTC days, up to [`LIMIT`].
    pub(crate) fn days(&self) -> usize {
        self.days.len()
    }

    /// Distinct UTC hours, up to [`LIMIT`].
    pub(crate) fn hours(&self) -> usize {
        self.hours.len()
    }

    /// The mail-client families that asked for it (scripts and unknown agents are not counted).
    pub(crate) fn mail_families(&self) -> Vec<&'static str> {
        MAIL.iter()
            .filter(|&&f| self.families & (1 << (f as u16)) != 0)
            .map(|f| f.id())
            .collect()
    }

    /// What the block ranks by, largest first: distinct clients times distinct hours (an
    /// attacker must have many addresses *and* keep sending for hours; a log without times
    /// counts one hour), then days, mail-client families, and last requests.
    pub(crate) fn rank(&self) -> (usize, usize, usize, u64) {
        (
            self.clients() * self.hours().max(1),
            self.days(),
            self.mail_families().len(),
            self.requests,
        )
    }

    /// `3 clients, 1 day, 2 hours, outlook-desktop` (a count at the limit reads `32+`).
    pub(crate) fn describe(&self) -> String {
        let n = |v: usize, one: &str, many: &str| {
            let more = if v >= LIMIT { "+" } else { "" };
            format!("{v}{more} {}", if v == 1 { one } else { many })
        };
        let fams = self.mail_families();
        format!(
            "{}, {}, {}, {}",
            n(self.clients(), "client", "clients"),
            n(self.days(), "day", "days"),
            n(self.hours(), "hour", "hours"),
            if fams.is_empty() {
                "no mail-client family".to_string()
            } else {
                fams.join("+")
            }
        )
    }
}

impl Tally for Evidence {
    fn absorb(&mut self, o: &Self) {
        self.requests += o.requests;
        union(&mut self.clients, &o.clients);
        union(&mut self.days, &o.days);
        union(&mut self.hours, &o.hours);
        self.families |= o.families;
    }

    fn requests(&self) -> u64 {
        self.requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_saturate_and_merge_in_any_order() {
        let mut whole = Evidence::default();
        let mut parts = [Evidence::default(), Evidence::default()];
        for i in 0..100u32 {
            let client = format!("10.0.0.{i}");
            let t = Some(i64::from(i) * 3600 * 7);
            whole.add(client.as_bytes(), Family::OutlookDesktop, t);
            parts[(i % 2) as usize].add(client.as_bytes(), Family::OutlookDesktop, t);
        }
        let mut merged = parts[1].clone();
        merged.absorb(&parts[0]);
        assert_eq!(merged, whole);
        assert_eq!(whole.clients(), LIMIT);
        assert_eq!(whole.requests, 100);
        assert!(whole
            .describe()
            .starts_with("32+ clients, 29 days, 32+ hours"));
        let mut one = Evidence::default();
        for _ in 0..301 {
            one.add(b"192.0.2.9", Family::Script, Some(0));
        }
        assert_eq!(
            one.describe(),
            "1 client, 1 day, 1 hour, no mail-client family"
        );
        assert!(whole.rank() > one.rank());
    }
}
