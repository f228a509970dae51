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
    /// Three ascending sets one after another, in one allocation (a map holds thousands of
    /// these): the smallest hashes of its clients, the earliest UTC days (epoch days) and the
    /// earliest UTC hours (epoch hours) it was asked in.
    sets: Vec<u32>,
    /// The length of each set.
    lens: [u8; 3],
    /// Bit `f` set when a request came from [`Family`] `f`.
    families: u16,
}

const CLIENTS: usize = 0;
const DAYS: usize = 1;
const HOURS: usize = 2;

/// A client's hash: fixed, so a set means the same in every thread and run.
pub(crate) fn client_hash(client: &[u8]) -> u32 {
    let h = foldhash::fast::FixedState::with_seed(0x636c_6965_6e74).hash_one(client);
    (h >> 32) as u32
}

impl Evidence {
    /// Where set `i` lies in `sets`.
    fn range(&self, i: usize) -> std::ops::Range<usize> {
        let start: usize = self.lens[..i].iter().map(|&l| usize::from(l)).sum();
        start..start + usize::from(self.lens[i])
    }

    /// Inserts `v` into set `i`, keeping its [`LIMIT`] smallest members.
    #[inline]
    fn insert(&mut self, i: usize, v: u32) {
        let r = self.range(i);
        let set = &self.sets[r.clone()];
        if set.len() >= LIMIT && set.last().is_some_and(|&l| v >= l) {
            return;
        }
        if let Err(at) = set.binary_search(&v) {
            if set.len() >= LIMIT {
                self.sets.remove(r.end - 1);
                self.lens[i] -= 1;
            }
            if self.sets.capacity() == 0 {
                self.sets.reserve_exact(3);
            }
            self.sets.insert(r.start + at, v);
            self.lens[i] += 1;
        }
    }

    /// Counts one request from `client` of `family`, at `time` (UTC epoch seconds) if logged.
    #[cfg(test)]
    pub(crate) fn add(&mut self, client: &[u8], family: Family, time: Option<i64>) {
        self.add_hashed(client_hash(client), family, time);
    }

    /// Counts one request from the client of hash `client` ([`client_hash`], which the
    /// caller keeps to work it out once per client), of `family`, at `time` if logged.
    #[inline]
    pub(crate) fn add_hashed(&mut self, client: u32, family: Family, time: Option<i64>) {
        self.requests += 1;
        self.insert(CLIENTS, client);
        if let Some(t) = time {
            let hour = t.div_euclid(3600).clamp(0, i64::from(u32::MAX)) as u32;
            self.insert(HOURS, hour);
            self.insert(DAYS, hour / 24);
        }
        self.families |= 1 << (family as u16);
    }

    /// Distinct clients, up to [`LIMIT`].
    pub(crate) fn clients(&self) -> usize {
        usize::from(self.lens[CLIENTS])
    }

    /// Distinct UTC days, up to [`LIMIT`].
    pub(crate) fn days(&self) -> usize {
        usize::from(self.lens[DAYS])
    }

    /// Distinct UTC hours, up to [`LIMIT`].
    pub(crate) fn hours(&self) -> usize {
        usize::from(self.lens[HOURS])
    }

    /// The mail-client families that asked for it (scripts and unknown agents are not counted).
    pub(crate) fn mail_families(&self) -> Vec<&'static str> {
        Family::ALL
            .iter()
            .filter(|&&f| f.is_mail() && self.families & (1 << (f as u16)) != 0)
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

/// Why a saved [`Evidence`] cannot be one a scan makes.
pub(crate) type Broken = String;

impl Evidence {
    /// What a saved summary keeps of it: requests; the client hashes, days and hours, each
    /// ascending; and the family bits.
    pub(crate) fn parts(&self) -> (u64, [&[u32]; 3], u16) {
        let set = |i| &self.sets[self.range(i)];
        (
            self.requests,
            [set(CLIENTS), set(DAYS), set(HOURS)],
            self.families,
        )
    }

    /// Evidence from saved [`parts`](Self::parts), if a scan could have made it: at least one
    /// request, client and family; each set strictly ascending, of at most [`LIMIT`] members
    /// and no more than the requests; family bits of known families; days and hours both
    /// empty (no time logged) or not, and the days of the hours kept the first of the days
    /// kept — all of them while fewer than [`LIMIT`] hours are kept (hours and days are cut
    /// to their earliest apart, so past the limit the days may reach further).
    pub(crate) fn from_parts(
        requests: u64,
        sets: [&[u32]; 3],
        families: u16,
    ) -> Result<Self, Broken> {
        const NAMES: [&str; 3] = ["clients", "days", "hours"];
        if requests == 0 {
            return Err("evidence of no request".into());
        }
        for (set, name) in sets.iter().zip(NAMES) {
            if set.len() > LIMIT {
                return Err(format!("more than {LIMIT} {name} in evidence"));
            }
            if set.len() as u64 > requests {
                return Err(format!("more {name} than requests in evidence"));
            }
            if !set.windows(2).all(|w| w[0] < w[1]) {
                return Err(format!("evidence {name} not ascending and distinct"));
            }
        }
        let [clients, days, hours] = sets;
        if clients.is_empty() {
            return Err("evidence without a client".into());
        }
        if families == 0 || u32::from(families) >> Family::ALL.len() != 0 {
            return Err("evidence families none or unknown".into());
        }
        let mut of_hours: Vec<u32> = hours.iter().map(|h| h / 24).collect();
        of_hours.dedup();
        let consistent = if hours.len() < LIMIT {
            of_hours == days
        } else {
            days.starts_with(&of_hours)
        };
        if !consistent {
            return Err("evidence days that are not those of its hours".into());
        }
        let mut e = Evidence {
            requests,
            families,
            ..Evidence::default()
        };
        for (i, set) in sets.iter().enumerate() {
            e.sets.extend_from_slice(set);
            e.lens[i] = set.len() as u8;
        }
        Ok(e)
    }
}

impl Tally for Evidence {
    fn absorb(&mut self, o: &Self) {
        self.requests += o.requests;
        for i in [CLIENTS, DAYS, HOURS] {
            for &v in &o.sets[o.range(i)] {
                self.insert(i, v);
            }
        }
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
        // Any order, any split: the same sets.
        let mut reversed = Evidence::default();
        let mut thirds = [
            Evidence::default(),
            Evidence::default(),
            Evidence::default(),
        ];
        for i in (0..100u32).rev() {
            let client = format!("10.0.0.{i}");
            let t = Some(i64::from(i) * 3600 * 7);
            reversed.add(client.as_bytes(), Family::OutlookDesktop, t);
            thirds[(i * 7 % 3) as usize].add(client.as_bytes(), Family::OutlookDesktop, t);
        }
        assert_eq!(reversed, whole);
        let mut merged = Evidence::default();
        for p in thirds.iter().rev() {
            merged.absorb(p);
        }
        assert_eq!(merged, whole);
        assert_eq!(
            whole.sets.len(),
            whole.clients() + whole.days() + whole.hours()
        );
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

    #[test]
    fn client_hashes_are_fixed_since_saved_summaries_hold_them() {
        // Version-3 summary files hold these hashes: a change needs a new file version.
        assert_eq!(client_hash(b"203.0.113.66"), 1_829_467_864);
    }

    /// Evidence of `n` requests at pseudo-random times (some before 1970, some untimed) from
    /// a few hundred clients.
    fn scattered(seed: u64, n: usize) -> Evidence {
        let mut x = seed;
        let mut e = Evidence::default();
        for _ in 0..n {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let t = match x >> 60 {
                0 => None,
                1 => Some(-((x >> 20) as i64 % 9_000_000)),
                _ => Some(((x >> 16) % (1 + (x >> 8) % 40_000_000)) as i64),
            };
            let family = Family::ALL[(x >> 40) as usize % Family::ALL.len()];
            e.add(format!("c{}", (x >> 30) % 300).as_bytes(), family, t);
        }
        e
    }

    #[test]
    fn saved_parts_read_back_and_every_scan_passes_the_checks() {
        for seed in 0..300 {
            let mut e = scattered(seed, 1 + seed as usize % 200);
            if seed % 2 == 1 {
                e.absorb(&scattered(seed * 7, 90));
            }
            let (r, sets, f) = e.parts();
            assert_eq!(Evidence::from_parts(r, sets, f), Ok(e.clone()), "{seed}");
        }
        let e = scattered(3, 500);
        assert_eq!((e.clients(), e.hours()), (LIMIT, LIMIT));
        assert!(e.days() == LIMIT, "the days reach past the hours' days");
        let (r, [c, d, h], f) = e.parts();
        let broken =
            |r: u64, sets: [&[u32]; 3], f: u16| Evidence::from_parts(r, sets, f).unwrap_err();
        let mut unsorted = c.to_vec();
        unsorted.swap(0, 1);
        assert!(broken(r, [&unsorted, d, h], f).contains("clients not ascending"));
        let mut twice = c.to_vec();
        twice[1] = twice[0];
        assert!(broken(r, [&twice, d, h], f).contains("not ascending and distinct"));
        let mut long = c.to_vec();
        long.push(u32::MAX);
        assert!(broken(r, [&long, d, h], f).contains("more than 32 clients"));
        assert!(broken(3, [&c[..3], d, &h[..3]], f).contains("more days than requests"));
        assert!(broken(r, [&[], d, h], f).contains("without a client"));
        assert!(broken(0, [c, d, h], f).contains("no request"));
        assert!(broken(r, [c, d, h], 0).contains("families"));
        assert!(broken(r, [c, d, h], 1 << 9).contains("families"));
        assert!(broken(r, [c, &d[1..], h], f).contains("not those of its hours"));
        assert!(broken(r, [c, &[], h], f).contains("not those of its hours"));
        // Fewer hours: their days are all the days.
        assert!(broken(r, [c, d, &h[..5]], f).contains("not those of its hours"));
        let few = h[..5].iter().map(|h| h / 24).fold(Vec::new(), |mut v, d| {
            if v.last() != Some(&d) {
                v.push(d);
            }
            v
        });
        assert!(Evidence::from_parts(r, [c, &few, &h[..5]], f).is_ok());
    }
}
