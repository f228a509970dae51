//! Timestamps: nginx `$time_local` (`19/Feb/2016:02:00:00 +0000`) to UTC epoch seconds, and
//! epoch seconds back to RFC 3339 for reports.
//!
//! Parsing is on the hot path, so a [`TimeCache`] remembers the last timestamp it parsed
//! (a busy log writes the same second on many lines in a row) and the last date and UTC
//! offset (consecutive lines almost always share them, and then only `HH:MM:SS` is read).
//! Nothing here allocates except [`rfc3339`], which runs once per report field.

/// Seconds since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's days_from_civil).
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day).
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Formats epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub(crate) fn rfc3339(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

fn two_digits(b: &[u8]) -> Option<u32> {
    match b {
        [a @ b'0'..=b'9', c @ b'0'..=b'9'] => Some(u32::from(a - b'0') * 10 + u32::from(c - b'0')),
        _ => None,
    }
}

fn month(b: &[u8]) -> Option<u32> {
    const NAMES: [&[u8; 3]; 12] = [
        b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
        b"Dec",
    ];
    NAMES.iter().position(|n| n[..] == *b).map(|i| i as u32 + 1)
}

/// Parses `dd/Mon/yyyy` plus `+hhmm` into (epoch seconds of local midnight shifted to UTC).
fn day_base(date: &[u8], tz: &[u8]) -> Option<i64> {
    if date.len() != 11 || date[2] != b'/' || date[6] != b'/' || tz.len() != 5 {
        return None;
    }
    let d = two_digits(&date[0..2])?;
    let m = month(&date[3..6])?;
    let y = two_digits(&date[7..9])? * 100 + two_digits(&date[9..11])?;
    if d == 0 || d > 31 {
        return None;
    }
    let sign = match tz[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let off = i64::from(two_digits(&tz[1..3])?) * 3600 + i64::from(two_digits(&tz[3..5])?) * 60;
    Some(days_from_civil(i64::from(y), m, d) * 86_400 - sign * off)
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || b.len() > 4 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0, |a, &c| a * 10 + u32::from(c - b'0')))
}

/// Parses ISO 8601 / RFC 3339 (`2016-02-19T02:00:00+00:00`, `...Z`, fractions, a space
/// instead of `T`, no offset = UTC) to UTC epoch seconds.
pub(crate) fn parse_iso8601(b: &[u8]) -> Option<i64> {
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, m, d) = (digits(&b[0..4])?, digits(&b[5..7])?, digits(&b[8..10])?);
    let (h, mi, s) = (
        digits(&b[11..13])?,
        digits(&b[14..16])?,
        digits(&b[17..19])?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &b[19..];
    if let Some(frac) = rest.strip_prefix(b".") {
        let n = frac.iter().take_while(|c| c.is_ascii_digit()).count();
        rest = &frac[n..];
    }
    let offset = match rest {
        b"" | b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), hh1, hh2, b':', mm1, mm2]
        | [sign @ (b'+' | b'-'), hh1, hh2, mm1, mm2] => {
            let secs = i64::from(digits(&[*hh1, *hh2])? * 3600 + digits(&[*mm1, *mm2])? * 60);
            if *sign == b'+' {
                secs
            } else {
                -secs
            }
        }
        _ => return None,
    };
    let day = days_from_civil(i64::from(y), m, d);
    Some(day * 86_400 + i64::from(h * 3600 + mi * 60 + s) - offset)
}

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what RFC 3339 can write back, and so the
/// times a log may hold.
pub(crate) const RANGE: std::ops::RangeInclusive<i64> = -62_167_219_200..=253_402_300_799;

/// Remembers the last `$time_local` parsed and its date and offset, so that a run of lines
/// from the same second costs one comparison, and from the same day only the `HH:MM:SS`
/// digits.
#[derive(Default, Clone)]
pub struct TimeCache {
    last: [u8; 26],
    last_epoch: Option<i64>,
    date: [u8; 11],
    tz: [u8; 5],
    base: i64,
    valid: bool,
}

impl TimeCache {
    /// Parses `dd/Mon/yyyy:HH:MM:SS +zzzz` (exactly 26 bytes) to UTC epoch seconds, `None`
    /// out of [`RANGE`].
    /// The second of the last line is answered inline; another one out of line.
    #[inline(always)]
    pub(crate) fn parse(&mut self, t: &[u8]) -> Option<i64> {
        let whole: &[u8; 26] = t.try_into().ok()?;
        if self.last_epoch.is_some() && *whole == self.last {
            return self.last_epoch;
        }
        self.parse_second(whole)
    }

    /// [`TimeCache::parse`] of a second other than the last one; a time out of [`RANGE`] is
    /// refused (and not kept, so the last second answered inline is always in it).
    #[inline(never)]
    fn parse_second(&mut self, whole: &[u8; 26]) -> Option<i64> {
        let epoch = self.parse_new(whole).filter(|t| RANGE.contains(t))?;
        (self.last, self.last_epoch) = (*whole, Some(epoch));
        Some(epoch)
    }

    fn parse_new(&mut self, t: &[u8]) -> Option<i64> {
        if t.len() != 26 || t[11] != b':' || t[14] != b':' || t[17] != b':' || t[20] != b' ' {
            return None;
        }
        // Fixed-size arrays compare inline, without a memcmp call.
        let date: [u8; 11] = t[0..11].try_into().ok()?;
        let tz: [u8; 5] = t[21..26].try_into().ok()?;
        if !self.valid || self.date != date || self.tz != tz {
            self.base = day_base(&date, &tz)?;
            (self.date, self.tz, self.valid) = (date, tz, true);
        }
        let h = two_digits(&t[12..14])?;
        let mi = two_digits(&t[15..17])?;
        let s = two_digits(&t[18..20])?;
        if h > 23 || mi > 59 || s > 60 {
            return None;
        }
        Some(self.base + i64::from(h * 3600 + mi * 60 + s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_local_time_with_offset() {
        let mut c = TimeCache::default();
        assert_eq!(c.parse(b"19/Feb/2016:02:00:00 +0000"), Some(1_455_847_200));
        assert_eq!(c.parse(b"18/Feb/2016:21:00:00 -0500"), Some(1_455_847_200));
        assert_eq!(c.parse(b"19/Feb/2016:03:30:00 +0130"), Some(1_455_847_200));
        assert_eq!(c.parse(b"19/Feb/2016:02:00:01 +0000"), Some(1_455_847_201));
    }

    #[test]
    fn a_repeated_second_is_answered_from_the_cache_and_a_new_one_is_not() {
        let mut c = TimeCache::default();
        let t = b"19/Feb/2016:02:00:00 +0000";
        assert_eq!(c.parse(t), Some(1_455_847_200));
        assert_eq!(c.parse(t), Some(1_455_847_200));
        // A bad time after a good one is still refused, and does not replace the cache.
        assert_eq!(c.parse(b"19/Feb/2016:02:00:0x +0000"), None);
        assert_eq!(c.parse(b"19/Feb/2016:02:00:0"), None);
        assert_eq!(c.parse(t), Some(1_455_847_200));
        assert_eq!(c.parse(b"19/Feb/2016:02:00:00 +0100"), Some(1_455_843_600));
    }

    #[test]
    fn rejects_bad_times() {
        let mut c = TimeCache::default();
        for bad in [
            &b"19/Foo/2016:02:00:00 +0000"[..],
            b"19/Feb/2016:25:00:00 +0000",
            b"19/Feb/2016 02:00:00 +0000",
            b"19/Feb/2016:02:00:00 0000",
            b"",
            b"19/Feb/2016:02:00:00 +000000",
        ] {
            assert_eq!(c.parse(bad), None, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn times_rfc3339_cannot_write_are_refused_every_time() {
        let mut c = TimeCache::default();
        let first = b"01/Jan/0000:00:00:00 +0000";
        assert_eq!(c.parse(first), Some(-62_167_219_200));
        // An hour before year 0 in UTC: refused, and not answered from the cache next time.
        let before = b"01/Jan/0000:00:00:00 +0100";
        assert_eq!(c.parse(before), None);
        assert_eq!(c.parse(before), None);
        assert_eq!(c.parse(first), Some(-62_167_219_200));
        let mut t = TimeCache::default();
        assert_eq!(
            super::super::field::parse_time(super::super::field::Field::TimeLocal, before, &mut t),
            None
        );
    }

    #[test]
    fn parses_iso8601() {
        let want = Some(1_455_847_200);
        assert_eq!(parse_iso8601(b"2016-02-19T02:00:00+00:00"), want);
        assert_eq!(parse_iso8601(b"2016-02-19T02:00:00Z"), want);
        assert_eq!(parse_iso8601(b"2016-02-19T02:00:00.123Z"), want);
        assert_eq!(parse_iso8601(b"2016-02-18T21:00:00-05:00"), want);
        assert_eq!(parse_iso8601(b"2016-02-19 03:00:00+0100"), want);
        assert_eq!(parse_iso8601(b"2016-02-19T02:00:00"), want);
        assert_eq!(parse_iso8601(b"2016-13-19T02:00:00Z"), None);
        assert_eq!(parse_iso8601(b"2016-02-19T02:00:00+0"), None);
        assert_eq!(parse_iso8601(b"garbage"), None);
    }

    #[test]
    fn round_trips_civil_dates() {
        for days in [-800_000, -1, 0, 1, 16_850, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(rfc3339(1_455_847_200), "2016-02-19T02:00:00Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
