//! Typed values of the view model: a UTC instant ([`Timestamp`]) and a span of whole seconds
//! ([`Seconds`]), and the rounding every derived figure gets. A leaf of `report/`: it uses
//! nothing of the view model.
//!
//! Each type serializes exactly as the `noisegate/1` JSON has always written it (an instant
//! as an RFC 3339 UTC string, a span as an integer), so the JSON does not change with them.
//! Renderers only format these values; nothing here parses text back into a time.

use crate::format::time::{civil_from_days, rfc3339};
use serde::{Serialize, Serializer};
use std::fmt;

/// A UTC instant, whole seconds since 1970-01-01T00:00:00Z.
///
/// Displays and serializes as RFC 3339 UTC (`2024-03-10T11:45:00Z`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Timestamp(i64);

/// A [`Timestamp`]'s calendar date and time of day, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Civil {
    /// Proleptic Gregorian year.
    pub(crate) year: i64,
    /// 1 to 12.
    pub(crate) month: u32,
    /// 1 to 31.
    pub(crate) day: u32,
    /// 0 to 23.
    pub(crate) hour: u32,
    /// 0 to 59.
    pub(crate) minute: u32,
    /// 0 to 59.
    pub(crate) second: u32,
}

impl Timestamp {
    /// The instant `epoch` seconds after 1970-01-01T00:00:00Z.
    pub(crate) const fn from_epoch(epoch: i64) -> Self {
        Timestamp(epoch)
    }

    /// The start of minute `minute`, counted in minutes since the epoch.
    pub(crate) const fn from_epoch_minute(minute: i64) -> Self {
        Timestamp(minute * 60)
    }

    /// Seconds since the epoch.
    pub(crate) const fn epoch(self) -> i64 {
        self.0
    }

    /// The minute it falls in, counted in minutes since the epoch.
    pub(crate) const fn epoch_minute(self) -> i64 {
        self.0.div_euclid(60)
    }

    /// Its date and time of day, UTC.
    pub(crate) fn civil(self) -> Civil {
        let (year, month, day) = civil_from_days(self.0.div_euclid(86_400));
        // In 0..86_400, so each part fits a u32.
        let secs = self.0.rem_euclid(86_400) as u32;
        Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
        }
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 UTC; width and alignment flags apply to the whole text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&rfc3339(self.0))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A span of time in whole seconds; serializes as the integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct Seconds(i64);

impl Seconds {
    /// A span of `n` seconds.
    pub(crate) const fn new(n: i64) -> Self {
        Seconds(n)
    }

    /// From `from` to `to` (negative when `to` comes first).
    pub(crate) const fn between(from: Timestamp, to: Timestamp) -> Self {
        Seconds(to.0 - from.0)
    }

    /// The number of seconds.
    pub(crate) const fn get(self) -> i64 {
        self.0
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(self.0)
    }
}

/// Rounds a derived figure (a rate, seconds, workers) to six decimals, as the JSON shows it.
pub(super) fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_serialize_as_the_rfc3339_strings_they_replace() {
        for epoch in [0, 1_710_071_100, 1_709_251_199, -1, 253_402_300_799] {
            let t = Timestamp::from_epoch(epoch);
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                serde_json::to_string(&rfc3339(epoch)).unwrap()
            );
            assert_eq!(t.to_string(), rfc3339(epoch));
        }
    }

    #[test]
    fn civil_parts_match_the_rfc3339_text() {
        // 2024-02-29T23:59:07Z, a leap day.
        let c = Timestamp::from_epoch(1_709_251_147).civil();
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2024, 2, 29, 23, 59, 7)
        );
        let before = Timestamp::from_epoch(-1).civil();
        assert_eq!((before.year, before.hour, before.second), (1969, 23, 59));
    }

    #[test]
    fn minutes_round_down_before_the_epoch_too() {
        assert_eq!(Timestamp::from_epoch(-1).epoch_minute(), -1);
        assert_eq!(Timestamp::from_epoch(119).epoch_minute(), 1);
        assert_eq!(Timestamp::from_epoch_minute(2).epoch(), 120);
    }

    #[test]
    fn seconds_serialize_as_integers() {
        let s = Seconds::between(Timestamp::from_epoch(60), Timestamp::from_epoch(185));
        assert_eq!(serde_json::to_string(&s).unwrap(), "125");
        assert_eq!(format!("{:>6}", Timestamp::from_epoch(0)).len(), 20);
    }
}
