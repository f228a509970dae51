//! The time window of a run (`--since`, `--until`): each bound an RFC 3339 time or a span back
//! from a reference — now, or the newest line of the inputs, which takes a first pass over
//! them. Lines outside `[since, until)` are counted as filtered by the scan.

use crate::format::time::parse_iso8601;
use crate::input::Input;
use crate::pipeline::{self, ScanOptions};
use anyhow::{bail, Result};
use std::str::FromStr;

/// One bound of the window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// An absolute time, epoch seconds.
    At(i64),
    /// This many seconds back from the reference.
    Ago(i64),
}

impl FromStr for Bound {
    type Err = String;

    /// RFC 3339 (`2024-03-10T00:00:00Z`), or relative: `90s`, `90m`, `24h`, `7d`, `2w`.
    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(t) = parse_iso8601(s.as_bytes()) {
            return Ok(Bound::At(t));
        }
        let unit = s.chars().last().unwrap_or(' ');
        let secs = match unit {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 7 * 86_400,
            _ => {
                return Err(format!(
                    "'{s}' is neither RFC 3339 (2024-03-10T00:00:00Z) nor relative (90m, 24h, 7d)"
                ))
            }
        };
        let n: i64 = s[..s.len() - unit.len_utf8()]
            .parse()
            .map_err(|_| format!("'{s}': expected a number before '{unit}'"))?;
        Ok(Bound::Ago(n.checked_mul(secs).ok_or("time out of range")?))
    }
}

/// The window `[since, until)` in epoch seconds. A relative bound counts back from `now`
/// when given, else from the newest line of `inputs` (a first pass with `opts`, which stdin
/// cannot give). An open bound is unbounded; inputs without a timed line leave the window
/// open.
pub fn resolve(
    since: Option<Bound>,
    until: Option<Bound>,
    now: Option<i64>,
    inputs: &[Input],
    opts: &ScanOptions,
) -> Result<(i64, i64)> {
    let relative = [since, until]
        .iter()
        .any(|b| matches!(b, Some(Bound::Ago(_))));
    let reference = match now {
        _ if !relative => 0,
        Some(now) => now,
        None => {
            if inputs.contains(&Input::Stdin) {
                bail!("a relative --since/--until counts back from the newest line, which needs a second pass that stdin cannot give: add --now, or give an RFC 3339 time");
            }
            let first = pipeline::scan(inputs, opts)?;
            match first.summary.span {
                Some((_, newest)) => newest,
                None => return Ok((i64::MIN, i64::MAX)),
            }
        }
    };
    let at = |b: Option<Bound>, open: i64| match b {
        None => open,
        Some(Bound::At(t)) => t,
        Some(Bound::Ago(d)) => reference.saturating_sub(d),
    };
    Ok((at(since, i64::MIN), at(until, i64::MAX)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds() {
        assert_eq!("90m".parse(), Ok(Bound::Ago(5400)));
        assert_eq!("7d".parse(), Ok(Bound::Ago(7 * 86_400)));
        assert_eq!("2016-02-19T02:00:00Z".parse(), Ok(Bound::At(1_455_847_200)));
        assert!("yesterday".parse::<Bound>().is_err());
        assert!("xh".parse::<Bound>().is_err());
        assert!("5µ".parse::<Bound>().is_err());
        assert!("".parse::<Bound>().is_err());
    }

    #[test]
    fn relative_bounds_count_back_from_the_reference() {
        let opts = ScanOptions::new(1);
        let w = resolve(
            Some(Bound::Ago(60)),
            None,
            Some(1000),
            &[Input::Stdin],
            &opts,
        );
        assert_eq!(w.unwrap(), (940, i64::MAX));
        let w = resolve(Some(Bound::Ago(60)), None, None, &[Input::Stdin], &opts);
        assert!(w.is_err(), "stdin cannot be read twice");
        let w = resolve(None, Some(Bound::At(5)), None, &[Input::Stdin], &opts);
        assert_eq!(w.unwrap(), (i64::MIN, 5));
    }
}
