//! What a saved figure may be: a saved summary is input too, and what reads it (merge,
//! analysis, report) may rely on the figures a scan makes. Times lie in the range a log can
//! write, and counts add up as the scan adds them: every count of a file is at most its line
//! total, so sums over files that fit in a `u64` cannot overflow anywhere later.
//!
//! Records come in the writer's order (run, totals, each category before its maps, noise
//! last), and each figure is checked against the ones before it.

use anyhow::{bail, Result};

/// Largest time, in epoch seconds, a log can write (`$msec` has at most 12 integer digits,
/// `$time_local` a 4-digit year); the smallest is its negative.
const MAX_TIME: i64 = 999_999_999_999;

/// `t` (epoch seconds), if a log can write it.
pub(super) fn time(t: i64) -> Result<i64> {
    if !(-MAX_TIME..=MAX_TIME).contains(&t) {
        bail!("time {t} out of range");
    }
    Ok(t)
}

/// `m` (epoch minutes), if a log can write it.
pub(super) fn minute(m: i64) -> Result<i64> {
    if !(-MAX_TIME / 60 - 1..=MAX_TIME / 60).contains(&m) {
        bail!("minute {m} out of range");
    }
    Ok(m)
}

/// Adds `n` to the running sum `sum`, which may not pass `bound`; `what` names the figures.
pub(super) fn add(sum: &mut u64, n: u64, bound: u64, what: &str) -> Result<()> {
    match sum.checked_add(n) {
        Some(t) if t <= bound => {
            *sum = t;
            Ok(())
        }
        _ => bail!("{what} add up to more than {bound}"),
    }
}

/// Checks that `items` add up to at most `bound`.
pub(super) fn sum_within(
    items: impl IntoIterator<Item = u64>,
    bound: u64,
    what: &str,
) -> Result<()> {
    let mut sum = 0;
    for n in items {
        add(&mut sum, n, bound, what)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_refuse_overflow_and_excess() {
        let mut s = 1;
        add(&mut s, 9, 10, "x").unwrap();
        assert!(add(&mut s, 1, 10, "x").is_err());
        assert!(sum_within([u64::MAX, 1], u64::MAX, "x").is_err());
        assert!(time(1_710_000_000).is_ok() && time(i64::MAX).is_err());
        assert!(minute(i64::MIN).is_err());
    }
}
