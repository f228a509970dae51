//! The `domain` records of a summary file (version 4 on): one mail domain of the `domains`
//! map each, written from a [`DomainStats`] and read back into one only when it is what a
//! scan can make: a plain lower-case hostname, counts that add up, hashes and examples
//! ascending, distinct and within their caps. A file is input too (see `bounds`).
//!
//! Full local parts are in a file only when the run that saved it was asked to show them
//! (`--show-mailboxes`); `merge` drops them again unless it is asked too.

use super::record::DomainRec;
use crate::classify::family::Family;
use crate::classify::mailbox::{valid_domain, valid_local};
use crate::classify::{category_index, CATEGORIES};
use crate::summary::domains::{DomainStats, FULL_EXAMPLES, MAILBOX_CAP, MASKED_EXAMPLES};
use anyhow::{bail, Result};
use std::borrow::Cow;

/// The record of domain `key`.
pub(super) fn record<'a>(key: &'a [u8], d: &'a DomainStats) -> DomainRec<'a> {
    DomainRec {
        domain: String::from_utf8_lossy(key),
        requests: d.requests,
        categories: CATEGORIES
            .iter()
            .zip(&d.categories)
            .filter(|(_, &n)| n > 0)
            .map(|(c, &n)| (Cow::Borrowed(c.id), n))
            .collect(),
        families: Family::ALL
            .iter()
            .zip(&d.families)
            .filter(|(_, &n)| n > 0)
            .map(|(f, &n)| (Cow::Borrowed(f.id()), n))
            .collect(),
        mailboxes: d.mailboxes.clone(),
        saturated: d.saturated,
        masked: String::from_utf8_lossy(&d.masked),
        full: d.full.iter().map(|l| String::from_utf8_lossy(l)).collect(),
    }
}

/// Whether `v` ascends strictly.
fn ascending<T: Ord>(v: &[T]) -> bool {
    v.windows(2).all(|w| w[0] < w[1])
}

/// The domain a record holds, checked; `categories` are the requests of each category read
/// so far. The requests of a category this noisegate does not know leave the domain's (they
/// are ordinary traffic here).
pub(super) fn stats(r: &DomainRec<'_>, categories: &[u64]) -> Result<DomainStats> {
    let name = r.domain.as_bytes();
    if !valid_domain(name) || name.iter().any(u8::is_ascii_uppercase) {
        bail!("mail domain {:?} is not a lower-case hostname", r.domain);
    }
    let mut d = DomainStats::default();
    let mut sum = 0u64;
    let mut unknown = 0u64;
    for (id, &n) in &r.categories {
        sum = sum.saturating_add(n);
        match category_index(id) {
            Some(i) => {
                if n > categories[i] {
                    bail!(
                        "mail domain {}: more `{id}` requests than the category has",
                        r.domain
                    );
                }
                d.categories[i] = n;
            }
            None => unknown = unknown.saturating_add(n),
        }
    }
    if sum != r.requests {
        bail!(
            "mail domain {}: its categories do not add up to its requests",
            r.domain
        );
    }
    let mut sum = 0u64;
    for (id, &n) in &r.families {
        let Some(i) = Family::ALL.iter().position(|f| f.id() == id) else {
            bail!("client family `{id}` is unknown to this noisegate");
        };
        sum = sum.saturating_add(n);
        d.families[i] = n;
    }
    if sum != r.requests {
        bail!(
            "mail domain {}: its client families do not add up to its requests",
            r.domain
        );
    }
    d.requests = r.requests - unknown;
    let masked = r.masked.as_bytes();
    let full: Vec<&[u8]> = r.full.iter().map(|l| l.as_bytes()).collect();
    let held = r.mailboxes.len();
    let ok = ascending(&r.mailboxes)
        && held <= MAILBOX_CAP
        && (!r.saturated || held == MAILBOX_CAP)
        && held as u64 <= r.requests
        && ascending(masked)
        && masked.len() <= MASKED_EXAMPLES.min(held)
        && (masked.is_empty() == (held == 0))
        && masked.iter().all(|&c| valid_local(&[c]))
        && ascending(&full)
        && full.len() <= FULL_EXAMPLES.min(held)
        && full.iter().all(|l| valid_local(l));
    if !ok {
        bail!(
            "mail domain {}: its mailboxes are not what a scan keeps",
            r.domain
        );
    }
    d.mailboxes = r.mailboxes.clone();
    d.saturated = r.saturated;
    d.masked = masked.to_vec();
    d.full = full.iter().map(|&l| l.into()).collect();
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> DomainStats {
        let mut d = DomainStats::default();
        for l in ["info", "sales", "support", "zed", "anna"] {
            d.add(
                b"example.org",
                Some(l.as_bytes()),
                0,
                Family::Thunderbird,
                true,
                1,
            );
        }
        d
    }

    #[test]
    fn a_record_reads_back_as_written() {
        let d = sample();
        let r = record(b"example.org", &d);
        let json = serde_json::to_string(&r).unwrap();
        let back: DomainRec = serde_json::from_str(&json).unwrap();
        assert_eq!(stats(&back, &[5; 8]).unwrap(), d);
    }

    #[test]
    fn records_no_scan_makes_are_refused() {
        let d = sample();
        let bad: [fn(&mut DomainRec<'_>); 10] = [
            |r| r.domain = "Example.org".into(),
            |r| r.domain = "x@example.org".into(),
            |r| r.requests += 1,
            |r| r.mailboxes.reverse(),
            |r| r.saturated = true,
            |r| r.masked = "zsi".into(),
            |r| r.masked = "<".into(),
            |r| r.full.push("<script>".into()),
            |r| r.full.reverse(),
            |r| {
                r.families.insert("nobody".into(), 0);
            },
        ];
        for (i, spoil) in bad.iter().enumerate() {
            let mut r = record(b"example.org", &d);
            spoil(&mut r);
            assert!(stats(&r, &[5; 8]).is_err(), "case {i}");
        }
        assert!(
            stats(&record(b"example.org", &d), &[4; 8]).is_err(),
            "over its category"
        );
    }
}
