//! The fields noisegate reads out of a log line, named after the nginx variables that write
//! them, and the decoding of their values (numbers, times, lists of times).
//!
//! Decoding never allocates. A value that does not decode makes the line rejected with the
//! field named, so a user learns which part of the format does not match the log.

use super::time::{parse_iso8601, TimeCache, RANGE};
use memchr::memchr;
use serde::Serialize;

/// A field of a log line, by the nginx variable that writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Field {
    /// `$remote_addr`.
    RemoteAddr,
    /// `$remote_user`.
    RemoteUser,
    /// `$time_local`: `19/Feb/2016:02:00:00 +0000`.
    TimeLocal,
    /// `$time_iso8601`: `2016-02-19T02:00:00+00:00`.
    TimeIso8601,
    /// `$msec`: `1455847200.123`.
    Msec,
    /// `$request`: `GET /path?q HTTP/1.1`.
    Request,
    /// `$request_method`.
    RequestMethod,
    /// `$request_uri`: the path with its query, as sent.
    RequestUri,
    /// `$uri` (`$document_uri`): the normalized path, without query.
    Uri,
    /// `$args` (`$query_string`).
    Args,
    /// `$server_protocol`.
    ServerProtocol,
    /// `$status`.
    Status,
    /// `$body_bytes_sent`.
    BodyBytesSent,
    /// `$bytes_sent`.
    BytesSent,
    /// `$request_length`.
    RequestLength,
    /// `$request_time`, seconds.
    RequestTime,
    /// `$upstream_response_time`: seconds, or a list of them, or `-`.
    UpstreamResponseTime,
    /// `$http_referer`.
    Referer,
    /// `$http_user_agent`.
    UserAgent,
    /// `$http_x_forwarded_for`.
    ForwardedFor,
    /// `$host` (`$http_host`).
    Host,
    /// `$server_name`.
    ServerName,
    /// A time whose form is told by its value (JSON logs): ISO 8601, `$time_local` or epoch.
    AnyTime,
    /// Any other variable (`$http_<name>`, `$cookie_<name>`, ...): read and ignored.
    Opaque,
}

impl Field {
    /// Number of variants, for tables indexed by field.
    pub(crate) const COUNT: usize = Field::Opaque as usize + 1;

    /// The field an nginx variable name (without `$`) writes.
    pub(crate) fn from_var(name: &str) -> Field {
        match name {
            "remote_addr" => Field::RemoteAddr,
            "remote_user" => Field::RemoteUser,
            "time_local" => Field::TimeLocal,
            "time_iso8601" => Field::TimeIso8601,
            "msec" => Field::Msec,
            "request" => Field::Request,
            "request_method" => Field::RequestMethod,
            "request_uri" => Field::RequestUri,
            "uri" | "document_uri" => Field::Uri,
            "args" | "query_string" => Field::Args,
            "server_protocol" => Field::ServerProtocol,
            "status" => Field::Status,
            "body_bytes_sent" => Field::BodyBytesSent,
            "bytes_sent" => Field::BytesSent,
            "request_length" => Field::RequestLength,
            "request_time" => Field::RequestTime,
            "upstream_response_time" => Field::UpstreamResponseTime,
            "http_referer" => Field::Referer,
            "http_user_agent" => Field::UserAgent,
            "http_x_forwarded_for" => Field::ForwardedFor,
            "host" | "http_host" => Field::Host,
            "server_name" => Field::ServerName,
            _ => Field::Opaque,
        }
    }

    /// The nginx variable (or, for [`Field::AnyTime`], a description) for messages.
    pub(crate) fn var(self) -> &'static str {
        match self {
            Field::RemoteAddr => "$remote_addr",
            Field::RemoteUser => "$remote_user",
            Field::TimeLocal => "$time_local",
            Field::TimeIso8601 => "$time_iso8601",
            Field::Msec => "$msec",
            Field::Request => "$request",
            Field::RequestMethod => "$request_method",
            Field::RequestUri => "$request_uri",
            Field::Uri => "$uri",
            Field::Args => "$args",
            Field::ServerProtocol => "$server_protocol",
            Field::Status => "$status",
            Field::BodyBytesSent => "$body_bytes_sent",
            Field::BytesSent => "$bytes_sent",
            Field::RequestLength => "$request_length",
            Field::RequestTime => "$request_time",
            Field::UpstreamResponseTime => "$upstream_response_time",
            Field::Referer => "$http_referer",
            Field::UserAgent => "$http_user_agent",
            Field::ForwardedFor => "$http_x_forwarded_for",
            Field::Host => "$host",
            Field::ServerName => "$server_name",
            Field::AnyTime => "a time",
            Field::Opaque => "a variable",
        }
    }

    /// `true` for fields whose values never hold a space (numbers, addresses, names).
    pub(crate) fn is_token(self) -> bool {
        matches!(
            self,
            Field::RemoteAddr
                | Field::TimeIso8601
                | Field::Msec
                | Field::RequestMethod
                | Field::ServerProtocol
                | Field::Status
                | Field::BodyBytesSent
                | Field::BytesSent
                | Field::RequestLength
                | Field::RequestTime
                | Field::Host
                | Field::ServerName
        )
    }

    /// `true` for fields whose value is decoded (numbers, times) rather than kept as text.
    pub(crate) fn is_decoded(self) -> bool {
        self.is_time()
            || matches!(
                self,
                Field::Status
                    | Field::BodyBytesSent
                    | Field::BytesSent
                    | Field::RequestTime
                    | Field::UpstreamResponseTime
            )
    }

    /// `true` for fields whose value is a time.
    pub(crate) fn is_time(self) -> bool {
        matches!(
            self,
            Field::TimeLocal | Field::TimeIso8601 | Field::Msec | Field::AnyTime
        )
    }
}

/// Digits only, at most 19 of them.
pub(crate) fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}

/// A three-digit status.
pub(crate) fn parse_status(b: &[u8]) -> Option<u16> {
    match *b {
        [a, c, d] if a.is_ascii_digit() && c.is_ascii_digit() && d.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(c - b'0') * 10 + u16::from(d - b'0'))
        }
        _ => None,
    }
}

/// A status that `rest` starts with, when it is three digits followed by `next`: the
/// value of [`parse_status`], read from one 4-byte word (`next` must be no digit).
#[inline(always)]
pub(crate) fn leading_status(rest: &[u8], next: u8) -> Option<u16> {
    let w = u32::from_le_bytes(*rest.first_chunk::<4>()?);
    // The three low bytes are digits (high nibble 3, still 3 once 6 is added), the top one
    // is `next`.
    const HIGH: u32 = 0x00f0_f0f0;
    const ZEROS: u32 = 0x0030_3030;
    if w & HIGH != ZEROS || w.wrapping_add(0x0006_0606) & HIGH != ZEROS || (w >> 24) as u8 != next {
        return None;
    }
    Some((((w & 0xf) * 100) + ((w >> 8 & 0xf) * 10) + (w >> 16 & 0xf)) as u16)
}

/// `$request_time` as nginx writes it under ten seconds (`0.031`, `%T.%03M`) followed by
/// `next`: the value of [`parse_seconds_us`], in microseconds, read from one 8-byte word
/// (`next` must be no digit nor `.`). Any other shape is `None`.
#[inline(always)]
pub(crate) fn leading_seconds(rest: &[u8], next: u8) -> Option<u64> {
    let w = u64::from_le_bytes(*rest.first_chunk::<8>()?);
    // Bytes 0, 2, 3 and 4 are digits (high nibble 3, still 3 once 6 is added; the other
    // bytes masked off), byte 1 is `.`, byte 5 is `next`.
    const HIGH: u64 = 0x0000_00f0_f0f0_00f0;
    const ZEROS: u64 = 0x0000_0030_3030_0030;
    const SIX: u64 = 0x0000_0006_0606_0006;
    let digits = w & 0x0000_00ff_ffff_00ff;
    if digits & HIGH != ZEROS
        || digits.wrapping_add(SIX) & HIGH != ZEROS
        || (w >> 8) as u8 != b'.'
        || (w >> 40) as u8 != next
    {
        return None;
    }
    let digit = |k: u32| (w >> (8 * k)) & 0xf;
    Some(digit(0) * 1_000_000 + (digit(2) * 100 + digit(3) * 10 + digit(4)) * 1000)
}

/// A byte count: digits, or `-` for none.
pub(crate) fn parse_bytes(b: &[u8]) -> Option<u64> {
    if b == b"-" {
        Some(0)
    } else {
        parse_u64(b)
    }
}

/// [`parse_bytes`] of `rest[..end]`: a count of up to 8 digits is read from one 8-byte word
/// of `rest` (the value and what follows it in the line) instead of digit by digit; anything
/// else as [`parse_bytes`].
#[inline(always)]
pub(crate) fn parse_bytes_in(rest: &[u8], end: usize) -> Option<u64> {
    if let (1..=8, Some(w)) = (end, rest.first_chunk::<8>()) {
        // The value's bytes moved to the top of the word, most significant digit first (the
        // word is little-endian), below them `0`s: the 8-digit number with leading zeros.
        let shift = 8 * (8 - end as u32);
        let w = u64::from_le_bytes(*w) << shift | (ZEROS & ((1u64 << shift) - 1));
        // Every byte is `0x30..=0x39`: its high nibble is 3, and still 3 after adding 6.
        const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
        if w & HIGH == ZEROS && w.wrapping_add(0x0606_0606_0606_0606) & HIGH == ZEROS {
            return Some(eight_digits(w));
        }
    }
    parse_bytes(rest.get(..end)?)
}

/// The number that `rest` starts with, when it is 1 to 7 digits followed by a byte that is
/// not one, all within `rest`'s first 8 bytes: (how many digits, their value). A whole
/// token read from one word, without searching for its end first.
#[inline(always)]
pub(crate) fn leading_number(rest: &[u8]) -> Option<(usize, u64)> {
    const HIGH: u64 = 0xf0f0_f0f0_f0f0_f0f0;
    let w = u64::from_le_bytes(*rest.first_chunk::<8>()?);
    // A byte that is not a digit has a high nibble other than 3, or one other than 3 once 6
    // is added. Adding 6 carries into the next byte only from a byte of 0xfa or more, which
    // is not a digit itself, so the lowest flagged byte is the first that is not a digit.
    let not_digit = (w & HIGH ^ ZEROS) | (w.wrapping_add(0x0606_0606_0606_0606) & HIGH ^ ZEROS);
    let n = (not_digit.trailing_zeros() / 8) as usize;
    if n == 0 || n == 8 {
        return None;
    }
    let shift = 8 * (8 - n as u32);
    Some((
        n,
        eight_digits(w << shift | (ZEROS & ((1u64 << shift) - 1))),
    ))
}

/// Eight ASCII `0`s.
const ZEROS: u64 = 0x3030_3030_3030_3030;

/// Eight ASCII digits in a little-endian word (the first digit the most significant) to
/// their value: pairs, then fours, then the whole, by multiplications.
#[inline(always)]
fn eight_digits(w: u64) -> u64 {
    const MASK: u64 = 0x0000_00ff_0000_00ff;
    const MUL1: u64 = 100 + (1_000_000 << 32);
    const MUL2: u64 = 1 + (10_000 << 32);
    let v = w - 0x3030_3030_3030_3030;
    let v = v * 10 + (v >> 8);
    (v & MASK)
        .wrapping_mul(MUL1)
        .wrapping_add(((v >> 16) & MASK).wrapping_mul(MUL2))
        >> 32
}

/// Seconds (`0.399`, `12`) in microseconds; `Some(None)` for `-`, `None` when invalid.
/// Inlined for what nginx writes; any other shape is read out of line.
#[inline(always)]
pub(crate) fn parse_seconds_us(b: &[u8]) -> Option<Option<u64>> {
    if b == b"-" {
        return Some(None);
    }
    // What nginx writes (`$request_time` and `$upstream_response_time` are `%T.%03M`):
    // one to three integer digits, a dot, three digits.
    if let [int @ .., b'.', m0, m1, m2] = b {
        let (m0, m1, m2) = (*m0, *m1, *m2);
        // Digits as values 0..=9; any other byte wraps to 10 or more.
        let d = |c: u8| u64::from(c.wrapping_sub(b'0'));
        let secs = match *int {
            [a] => Some(d(a)).filter(|&a| a < 10),
            [a, c] => (d(a) < 10 && d(c) < 10).then(|| d(a) * 10 + d(c)),
            [a, c, e] => {
                (d(a) < 10 && d(c) < 10 && d(e) < 10).then(|| d(a) * 100 + d(c) * 10 + d(e))
            }
            _ => None,
        };
        if let Some(secs) = secs.filter(|_| d(m0) < 10 && d(m1) < 10 && d(m2) < 10) {
            let ms = d(m0) * 100 + d(m1) * 10 + d(m2);
            return Some(Some(secs * 1_000_000 + ms * 1000));
        }
    }
    parse_seconds_general_us(b)
}

/// [`parse_seconds_us`] for any shape: 1 to 9 integer digits, then an optional `.` and any
/// number of digits, of which the first 6 count. One pass.
#[inline(never)]
fn parse_seconds_general_us(b: &[u8]) -> Option<Option<u64>> {
    let int = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if int == 0 || int > 9 {
        return None;
    }
    let secs = b[..int]
        .iter()
        .fold(0u64, |acc, &c| acc * 10 + u64::from(c - b'0'));
    let frac = match &b[int..] {
        [] => &b[..0],
        [b'.', frac @ ..] => frac,
        _ => return None,
    };
    let mut us = 0u64;
    for i in 0..6 {
        let d = match frac.get(i) {
            Some(&c) if c.is_ascii_digit() => u64::from(c - b'0'),
            Some(_) => return None,
            None => 0,
        };
        us = us * 10 + d;
    }
    if frac.len() > 6 && !frac[6..].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(Some(secs * 1_000_000 + us))
}

/// `$upstream_response_time`: one time, or several separated by `, ` (retries) or ` : `
/// (internal redirects), some of them `-`. Returns their sum, `Some(None)` when none is a
/// number, `None` when invalid.
pub(crate) fn parse_seconds_list_us(b: &[u8]) -> Option<Option<u64>> {
    let mut sum: Option<u64> = None;
    for part in b.split(|&c| c == b',' || c == b':') {
        let part = part.trim_ascii();
        if let Some(us) = parse_seconds_us(part)? {
            sum = Some(sum.unwrap_or(0).saturating_add(us));
        }
    }
    Some(sum)
}

/// A time field to UTC epoch seconds. Inlined: the plan calls it with a constant field.
#[inline(always)]
pub(crate) fn parse_time(field: Field, b: &[u8], times: &mut TimeCache) -> Option<i64> {
    let t = match field {
        // The cache answers only times in `RANGE`.
        Field::TimeLocal => return times.parse(b),
        Field::TimeIso8601 => parse_iso8601(b),
        Field::Msec => parse_epoch(b),
        _ => {
            if b.len() == 26 && b.get(2) == Some(&b'/') {
                times.parse(b)
            } else if b.first().is_some_and(|c| c.is_ascii_digit()) && !b.contains(&b'-') {
                parse_epoch(b)
            } else {
                parse_iso8601(b)
            }
        }
    };
    t.filter(|t| RANGE.contains(t))
}

/// `1455847200.123` (seconds since the epoch, any fraction) to whole seconds.
fn parse_epoch(b: &[u8]) -> Option<i64> {
    let int = match memchr(b'.', b) {
        Some(i) if b[i + 1..].iter().all(u8::is_ascii_digit) => &b[..i],
        Some(_) => return None,
        None => b,
    };
    if int.len() > 12 {
        return None;
    }
    parse_u64(int).map(|v| v as i64)
}

/// The client of a request from an X-Forwarded-For list: its first hop, with a port or the
/// brackets of `[v6]:port` removed. `None` when the list is empty, `-` or `unknown`.
pub(crate) fn first_hop(xff: &[u8]) -> Option<&[u8]> {
    let first = match find_byte(b',', xff) {
        Some(i) => &xff[..i],
        None => xff,
    };
    let addr = strip_port(first.trim_ascii());
    let unknown = addr.is_empty() || addr == b"-" || addr.eq_ignore_ascii_case(b"unknown");
    (!unknown).then_some(addr)
}

/// `1.2.3.4:567` → `1.2.3.4`; `[2001:db8::1]:443` → `2001:db8::1`; a bare IPv6 address stays.
pub(crate) fn strip_port(a: &[u8]) -> &[u8] {
    if let Some(rest) = a.strip_prefix(b"[") {
        return match find_byte(b']', rest) {
            Some(i) => &rest[..i],
            None => a,
        };
    }
    // One colon: an address and its port; none or several: an address as it is (IPv6).
    match find_byte(b':', a) {
        Some(i) if find_byte(b':', &a[i + 1..]).is_none() => &a[..i],
        _ => a,
    }
}

/// The first `b` in `hay`: a plain loop over an address-sized string (memchr's set-up costs
/// more than the search there), memchr over a longer one.
#[inline]
fn find_byte(b: u8, hay: &[u8]) -> Option<usize> {
    if hay.len() <= 64 {
        hay.iter().position(|&c| c == b)
    } else {
        memchr(b, hay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_times() {
        assert_eq!(parse_seconds_us(b"0.399"), Some(Some(399_000)));
        assert_eq!(parse_seconds_us(b"12"), Some(Some(12_000_000)));
        assert_eq!(parse_seconds_us(b"1.2345678"), Some(Some(1_234_567)));
        assert_eq!(parse_seconds_us(b"-"), Some(None));
        assert_eq!(parse_seconds_us(b"1e3"), None);
        assert_eq!(parse_seconds_us(b""), None);
        assert_eq!(parse_seconds_us(b"1."), Some(Some(1_000_000)));
        assert_eq!(parse_seconds_us(b".5"), None);
        assert_eq!(parse_seconds_us(b"1.2x"), None);
        assert_eq!(parse_seconds_us(b"1.2345678x"), None);
        // nginx's own `%T.%03M` shape, read without the general loop, and its neighbours.
        assert_eq!(parse_seconds_us(b"123.456"), Some(Some(123_456_000)));
        assert_eq!(parse_seconds_us(b"1234.567"), Some(Some(1_234_567_000)));
        assert_eq!(parse_seconds_us(b".123"), None);
        assert_eq!(parse_seconds_us(b"1.23x"), None);
        assert_eq!(parse_seconds_us(b"x.123"), None);
        assert_eq!(parse_seconds_us(b"1234567890"), None);
        assert_eq!(
            parse_seconds_us(b"999999999.9"),
            Some(Some(999_999_999_900_000))
        );
        assert_eq!(parse_seconds_list_us(b"0.012, 0.034"), Some(Some(46_000)));
        assert_eq!(parse_seconds_list_us(b"0.010 : -"), Some(Some(10_000)));
        assert_eq!(parse_seconds_list_us(b"-"), Some(None));
        assert_eq!(parse_seconds_list_us(b"x"), None);
        assert_eq!(parse_bytes(b"-"), Some(0));
        assert_eq!(parse_status(b"404"), Some(404));
        assert_eq!(parse_status(b"40"), None);
        let mut t = TimeCache::default();
        let want = Some(1_455_847_200);
        assert_eq!(parse_time(Field::Msec, b"1455847200.123", &mut t), want);
        assert_eq!(parse_time(Field::AnyTime, b"1455847200", &mut t), want);
        assert_eq!(
            parse_time(Field::AnyTime, b"2016-02-19T02:00:00+00:00", &mut t),
            want
        );
        assert_eq!(
            parse_time(Field::AnyTime, b"19/Feb/2016:02:00:00 +0000", &mut t),
            want
        );
    }

    mod words {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(4000))]

            /// The word read decodes as the byte loop does, for any value length and any
            /// bytes after it.
            #[test]
            fn parse_bytes_in_is_parse_bytes(
                rest in prop::collection::vec(prop::sample::select(b"0123456789-/: x\x7f\xff".to_vec()), 0..24),
                end in 0usize..24,
            ) {
                let want = rest.get(..end).and_then(parse_bytes);
                prop_assert_eq!(parse_bytes_in(&rest, end), want);
            }

            /// The number a byte string starts with, as a byte loop reads it.
            #[test]
            fn leading_number_is_a_digit_loop(rest in prop::collection::vec(prop_oneof![
                8 => prop::sample::select(b"0123456789".to_vec()),
                1 => any::<u8>(),
            ], 0..12)) {
                let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
                let want = (rest.len() >= 8 && (1..8).contains(&n)).then(|| (n, parse_u64(&rest[..n]).unwrap()));
                prop_assert_eq!(leading_number(&rest), want);
            }

            /// A status or a time read from a word is what the search for the byte after it,
            /// then the byte loop, read; and every three-digit status and `d.ddd` time is read.
            #[test]
            fn leading_status_and_seconds_are_search_then_parse(
                rest in prop::collection::vec(prop_oneof![
                    6 => prop::sample::select(b"0123456789".to_vec()),
                    1 => prop::sample::select(b". \"-x/:\xff".to_vec()),
                ], 0..10),
                next in prop::sample::select(b" \"x,".to_vec()),
                status in 0u16..1000,
                ms in 0u64..10_000,
            ) {
                // Where the search for `next` ends the value.
                let before = |n: usize| rest.iter().position(|&c| c == next) == Some(n);
                let want = before(3).then(|| parse_status(&rest[..3])).flatten();
                prop_assert_eq!(leading_status(&rest, next), want);
                let time = (rest.len() >= 8 && before(5) && rest[1] == b'.')
                    .then(|| parse_seconds_us(&rest[..5]).flatten())
                    .flatten();
                prop_assert_eq!(leading_seconds(&rest, next), time);
                let line = format!("{status:03}{}xyzw", next as char).into_bytes();
                prop_assert_eq!(leading_status(&line, next), Some(status));
                let time = format!("{}.{:03}", ms / 1000, ms % 1000);
                let line = format!("{time}{}xy", next as char).into_bytes();
                prop_assert_eq!(leading_seconds(&line, next), parse_seconds_us(time.as_bytes()).unwrap());
            }

            /// Numbers of every length read back.
            #[test]
            fn parse_bytes_in_reads_numbers(n in 0u64..100_000_000_000, tail in prop::collection::vec(any::<u8>(), 0..10)) {
                let mut rest = n.to_string().into_bytes();
                let end = rest.len();
                rest.extend_from_slice(&tail);
                prop_assert_eq!(parse_bytes_in(&rest, end), Some(n));
            }
        }
    }

    #[test]
    fn clients_from_forwarded_for() {
        assert_eq!(first_hop(b"1.2.3.4, 10.0.0.1"), Some(&b"1.2.3.4"[..]));
        assert_eq!(first_hop(b" 1.2.3.4:5678 "), Some(&b"1.2.3.4"[..]));
        assert_eq!(
            first_hop(b"[2001:db8::1]:443, x"),
            Some(&b"2001:db8::1"[..])
        );
        assert_eq!(first_hop(b"2001:db8::1"), Some(&b"2001:db8::1"[..]));
        assert_eq!(first_hop(b"unknown, 1.2.3.4"), None);
        assert_eq!(first_hop(b"-"), None);
        assert_eq!(first_hop(b""), None);
    }

    #[test]
    fn variable_names() {
        assert_eq!(Field::from_var("http_user_agent"), Field::UserAgent);
        assert_eq!(Field::from_var("http_x_custom"), Field::Opaque);
        assert_eq!(Field::from_var("cookie_session"), Field::Opaque);
        assert_eq!(Field::from_var("document_uri"), Field::Uri);
    }
}
