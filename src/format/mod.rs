//! Log line formats: the presets noisegate reads, the zero-copy line parser and the detection
//! of a format from the first lines of the input.
//!
//! A parsed line is a [`Record`] of slices borrowed from the input block: nothing is copied or
//! allocated here. Values that need decoding (`\xHH` escapes, the X-Forwarded-For client) are
//! decoded only by the callers that need them. This module knows nothing about noise.

pub mod request;
pub mod time;

use memchr::memchr;
use serde::Serialize;

/// A log line layout that noisegate can parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Pantheon's nginx format: combined with two spaces before the request, then
    /// `$request_time` and a quoted X-Forwarded-For list whose first entry is the client.
    Pantheon,
    /// nginx/Apache `combined`; extra fields after the user agent are ignored.
    Combined,
}

impl Format {
    /// Every preset, in the order detection prefers them on a tie.
    pub const ALL: [Format; 2] = [Format::Pantheon, Format::Combined];

    /// The preset's name as users type it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pantheon => "pantheon",
            Format::Combined => "combined",
        }
    }
}

/// One parsed line. Every field borrows from the input line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// `$remote_addr` (on Pantheon an internal routing address).
    pub remote_addr: &'a [u8],
    /// UTC epoch seconds of `$time_local`.
    pub time: i64,
    /// The request line as logged, still `\xHH`-escaped.
    pub request: &'a [u8],
    /// `$status`.
    pub status: u16,
    /// `$body_bytes_sent` (`-` counts as 0).
    pub bytes: u64,
    /// `$http_user_agent` as logged.
    pub user_agent: &'a [u8],
    /// `$request_time` in microseconds, when the format has it and the line gives a number.
    pub request_time_us: Option<u64>,
    /// The X-Forwarded-For list as logged, when the format has it.
    pub forwarded_for: Option<&'a [u8]>,
}

impl<'a> Record<'a> {
    /// The client address: the first X-Forwarded-For hop when there is one, else
    /// `$remote_addr`.
    pub fn client(&self) -> &'a [u8] {
        if let Some(xff) = self.forwarded_for {
            let first = match memchr(b',', xff) {
                Some(i) => &xff[..i],
                None => xff,
            };
            let first = first.trim_ascii();
            if !first.is_empty() && first != b"-" {
                return first;
            }
        }
        self.remote_addr
    }
}

/// Why a line could not be parsed. The variants are stable identifiers used in reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reject {
    /// The line is empty (or only a carriage return).
    Empty,
    /// The line is longer than the line-length cap.
    TooLong,
    /// The remote address or user field is missing.
    BadPrefix,
    /// The `[time_local]` field is missing or is not a valid time.
    BadTime,
    /// The quoted request field is missing or unterminated.
    BadRequest,
    /// The status is not three digits.
    BadStatus,
    /// The body size is not a number.
    BadBytes,
    /// The referer or user agent quoted fields are missing.
    BadQuoted,
    /// `$request_time` is not a number.
    BadRequestTime,
    /// The X-Forwarded-For field is missing.
    BadForwardedFor,
    /// Unexpected bytes after the last field.
    TrailingData,
}

impl Reject {
    /// Every reason, in report order.
    pub const ALL: [Reject; 11] = [
        Reject::Empty,
        Reject::TooLong,
        Reject::BadPrefix,
        Reject::BadTime,
        Reject::BadRequest,
        Reject::BadStatus,
        Reject::BadBytes,
        Reject::BadQuoted,
        Reject::BadRequestTime,
        Reject::BadForwardedFor,
        Reject::TrailingData,
    ];

    /// A short human description.
    pub fn describe(self) -> &'static str {
        match self {
            Reject::Empty => "empty line",
            Reject::TooLong => "line longer than the cap",
            Reject::BadPrefix => "no remote address and user before '['",
            Reject::BadTime => "no valid [time_local]",
            Reject::BadRequest => "no quoted request",
            Reject::BadStatus => "status is not 3 digits",
            Reject::BadBytes => "body size is not a number",
            Reject::BadQuoted => "no quoted referer and user agent",
            Reject::BadRequestTime => "request_time is not a number",
            Reject::BadForwardedFor => "no quoted X-Forwarded-For",
            Reject::TrailingData => "unexpected data after the last field",
        }
    }

    /// The snake_case identifier used in JSON.
    pub fn id(self) -> &'static str {
        match self {
            Reject::Empty => "empty",
            Reject::TooLong => "too_long",
            Reject::BadPrefix => "bad_prefix",
            Reject::BadTime => "bad_time",
            Reject::BadRequest => "bad_request",
            Reject::BadStatus => "bad_status",
            Reject::BadBytes => "bad_bytes",
            Reject::BadQuoted => "bad_quoted",
            Reject::BadRequestTime => "bad_request_time",
            Reject::BadForwardedFor => "bad_forwarded_for",
            Reject::TrailingData => "trailing_data",
        }
    }
}

/// A cursor over one line; each method consumes one field or literal.
struct Fields<'a> {
    line: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    fn rest(&self) -> &'a [u8] {
        &self.line[self.pos..]
    }

    /// Consumes one expected byte.
    #[inline]
    fn byte(&mut self, b: u8, err: Reject) -> Result<(), Reject> {
        if self.line.get(self.pos) == Some(&b) {
            self.pos += 1;
            Ok(())
        } else {
            Err(err)
        }
    }

    /// Bytes up to (not including) the next `stop`, which is consumed.
    fn until(&mut self, stop: u8, err: Reject) -> Result<&'a [u8], Reject> {
        let rest = self.rest();
        let i = memchr(stop, rest).ok_or(err)?;
        self.pos += i + 1;
        Ok(&rest[..i])
    }

    /// Like [`Fields::until`] for fields known to be short (addresses, the user), where a
    /// plain loop costs less than setting up a vectorized search.
    #[inline]
    fn until_short(&mut self, stop: u8, err: Reject) -> Result<&'a [u8], Reject> {
        let rest = self.rest();
        let i = rest.iter().position(|&b| b == stop).ok_or(err)?;
        self.pos += i + 1;
        Ok(&rest[..i])
    }

    /// `$time_local` between `[` and `]`: always 26 bytes in nginx logs, so look there first.
    #[inline]
    fn time_field(&mut self) -> Result<&'a [u8], Reject> {
        let rest = self.rest();
        if rest.get(26) == Some(&b']') {
            self.pos += 27;
            return Ok(&rest[..26]);
        }
        self.until(b']', Reject::BadTime)
    }

    /// A `"quoted"` field; `\"` inside (Apache's escape) does not end it. nginx writes `"` as
    /// `\x22`, so for nginx logs the first quote always closes.
    fn quoted(&mut self, err: Reject) -> Result<&'a [u8], Reject> {
        self.byte(b'"', err)?;
        let rest = self.rest();
        let mut from = 0;
        loop {
            let i = from + memchr(b'"', &rest[from..]).ok_or(err)?;
            let slashes = rest[..i].iter().rev().take_while(|&&b| b == b'\\').count();
            if slashes % 2 == 0 {
                self.pos += i + 1;
                return Ok(&rest[..i]);
            }
            from = i + 1;
        }
    }

    /// A run of bytes up to the next space (or the end of the line). Tokens are short
    /// (status, size, time), so a plain loop beats a memchr call here.
    #[inline]
    fn token(&mut self) -> &'a [u8] {
        let rest = self.rest();
        let i = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
        self.pos += i;
        &rest[..i]
    }
}

fn parse_status(b: &[u8]) -> Option<u16> {
    match *b {
        [a, c, d] if a.is_ascii_digit() && c.is_ascii_digit() && d.is_ascii_digit() => {
            Some(u16::from(a - b'0') * 100 + u16::from(c - b'0') * 10 + u16::from(d - b'0'))
        }
        _ => None,
    }
}

fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    b.iter().try_fold(0u64, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u64::from(c - b'0'))
    })
}

/// `$request_time` (`0.399`, `12`, `-`) in microseconds; `Ok(None)` for `-`.
pub fn parse_seconds_us(b: &[u8]) -> Result<Option<u64>, Reject> {
    if b == b"-" {
        return Ok(None);
    }
    let (int, frac) = match memchr(b'.', b) {
        Some(i) => (&b[..i], &b[i + 1..]),
        None => (b, &b[..0]),
    };
    if int.len() > 9 || frac.iter().any(|c| !c.is_ascii_digit()) {
        return Err(Reject::BadRequestTime);
    }
    let secs = parse_u64(int).ok_or(Reject::BadRequestTime)?;
    let mut us = 0u64;
    for i in 0..6 {
        us = us * 10 + frac.get(i).map_or(0, |&c| u64::from(c - b'0'));
    }
    Ok(Some(secs * 1_000_000 + us))
}

/// Parses one line (without its `\n`; a trailing `\r` is ignored) in `format`.
///
/// ```
/// use noisegate::format::{parse, time::TimeCache, Format};
/// let line = br#"10.0.0.1 - - [19/Feb/2016:02:00:00 +0000]  "POST /autodiscover/autodiscover.xml HTTP/1.1" 404 512 "-" "Microsoft Office/16.0" 0.731 "198.51.100.7, 10.0.0.2""#;
/// let rec = parse(Format::Pantheon, line, &mut TimeCache::default()).unwrap();
/// assert_eq!(rec.status, 404);
/// assert_eq!(rec.request_time_us, Some(731_000));
/// assert_eq!(rec.client(), b"198.51.100.7");
/// ```
#[inline]
pub fn parse<'a>(
    format: Format,
    line: &'a [u8],
    times: &mut time::TimeCache,
) -> Result<Record<'a>, Reject> {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if line.is_empty() {
        return Err(Reject::Empty);
    }
    let mut f = Fields { line, pos: 0 };
    let remote_addr = f.until_short(b' ', Reject::BadPrefix)?;
    // `- $remote_user ` then `[`: the user may be anything but a `[`.
    let user = f.until_short(b'[', Reject::BadPrefix)?;
    if remote_addr.is_empty() || !user.ends_with(b" ") {
        return Err(Reject::BadPrefix);
    }
    let time = times.parse(f.time_field()?).ok_or(Reject::BadTime)?;
    f.byte(b' ', Reject::BadRequest)?;
    if format == Format::Pantheon {
        f.byte(b' ', Reject::BadRequest)?;
    }
    let request = f.quoted(Reject::BadRequest)?;
    f.byte(b' ', Reject::BadStatus)?;
    let status = parse_status(f.token()).ok_or(Reject::BadStatus)?;
    f.byte(b' ', Reject::BadBytes)?;
    let bytes = match f.token() {
        b"-" => 0,
        b => parse_u64(b).ok_or(Reject::BadBytes)?,
    };
    f.byte(b' ', Reject::BadQuoted)?;
    f.quoted(Reject::BadQuoted)?; // referer
    f.byte(b' ', Reject::BadQuoted)?;
    let user_agent = f.quoted(Reject::BadQuoted)?;
    let mut rec = Record {
        remote_addr,
        time,
        request,
        status,
        bytes,
        user_agent,
        request_time_us: None,
        forwarded_for: None,
    };
    if format == Format::Pantheon {
        f.byte(b' ', Reject::BadRequestTime)?;
        rec.request_time_us = parse_seconds_us(f.token())?;
        f.byte(b' ', Reject::BadForwardedFor)?;
        rec.forwarded_for = Some(f.quoted(Reject::BadForwardedFor)?);
        if !f.rest().is_empty() {
            return Err(Reject::TrailingData);
        }
    } else if !f.rest().is_empty() && !f.rest().starts_with(b" ") {
        return Err(Reject::TrailingData);
    }
    Ok(rec)
}

/// How many lines each preset parses out of a sample, for detection and `formats`.
pub fn score(lines: &[&[u8]]) -> Vec<(Format, usize)> {
    Format::ALL
        .iter()
        .map(|&fmt| {
            let mut times = time::TimeCache::default();
            let ok = lines
                .iter()
                .filter(|l| parse(fmt, l, &mut times).is_ok())
                .count();
            (fmt, ok)
        })
        .collect()
}

/// Picks the preset that parses the most of `lines` (ties go to the earlier preset), or
/// `None` when no preset parses any of them.
pub fn detect(lines: &[&[u8]]) -> Option<Format> {
    let scores = score(lines);
    let best = scores.iter().map(|s| s.1).max()?;
    if best == 0 {
        return None;
    }
    scores.iter().find(|s| s.1 == best).map(|s| s.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PANTHEON: &[u8] = b"203.0.113.56 - - [19/Feb/2016:02:00:00 +0000]  \"GET /edu HTTP/1.1\" 200 13142 \"https://example.org/a\" \"Mozilla/5.0 (X)\" 0.399 \"122.248.101.126, 50.57.202.75, 10.0.0.1\"";
    const COMBINED: &[u8] = b"203.0.113.56 - frank [19/Feb/2016:02:00:00 +0000] \"POST /Autodiscover/Autodiscover.xml HTTP/1.1\" 404 - \"-\" \"Microsoft Office/16.0\"";

    fn p(fmt: Format, line: &[u8]) -> Result<Record<'_>, Reject> {
        parse(fmt, line, &mut time::TimeCache::default())
    }

    #[test]
    fn parses_pantheon() {
        let r = p(Format::Pantheon, PANTHEON).unwrap();
        assert_eq!(r.remote_addr, b"203.0.113.56");
        assert_eq!(r.time, 1_455_847_200);
        assert_eq!(r.request, b"GET /edu HTTP/1.1");
        assert_eq!((r.status, r.bytes), (200, 13142));
        assert_eq!(r.user_agent, b"Mozilla/5.0 (X)");
        assert_eq!(r.request_time_us, Some(399_000));
        assert_eq!(r.client(), b"122.248.101.126");
    }

    #[test]
    fn pantheon_client_falls_back_to_remote_addr() {
        let line = [&PANTHEON[..PANTHEON.len() - 41], b"\"-\""].concat();
        let r = p(Format::Pantheon, &line).unwrap();
        assert_eq!(r.client(), b"203.0.113.56");
    }

    #[test]
    fn parses_combined_and_crlf() {
        let line = [COMBINED, b"\r"].concat();
        let r = p(Format::Combined, &line).unwrap();
        assert_eq!(r.bytes, 0);
        assert_eq!(r.client(), b"203.0.113.56");
        assert_eq!(r.request_time_us, None);
        assert_eq!(p(Format::Pantheon, COMBINED), Err(Reject::BadRequest));
        assert_eq!(p(Format::Combined, PANTHEON), Err(Reject::BadRequest));
    }

    #[test]
    fn garbage_request_is_still_a_record() {
        let line =
            br#"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] "\x16\x03\x01\x00" 400 157 "-" "-""#;
        assert_eq!(p(Format::Combined, line).unwrap().status, 400);
        let line = br#"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] "" 400 0 "-" "-""#;
        assert_eq!(p(Format::Combined, line).unwrap().request, b"");
    }

    #[test]
    fn apache_escaped_quotes_stay_inside_the_field() {
        let line =
            br#"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] "GET /a\"b HTTP/1.1" 200 1 "-" "x \"y\"""#;
        let r = p(Format::Combined, line).unwrap();
        assert_eq!(r.request, br#"GET /a\"b HTTP/1.1"#);
        assert_eq!(r.user_agent, br#"x \"y\""#);
    }

    #[test]
    fn rejects_name_the_field() {
        let cases: [(&[u8], Reject); 6] = [
            (b"", Reject::Empty),
            (b"garbage", Reject::BadPrefix),
            (b"1.2.3.4 - - [nope]  \"GET / HTTP/1.1\"", Reject::BadTime),
            (
                b"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000]  \"GET / HTTP/1.1\" 2x0 1",
                Reject::BadStatus,
            ),
            (
                b"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000]  \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\" x \"-\"",
                Reject::BadRequestTime,
            ),
            (
                b"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000]  \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\" 0.1",
                Reject::BadForwardedFor,
            ),
        ];
        for (line, want) in cases {
            assert_eq!(p(Format::Pantheon, line).unwrap_err(), want);
        }
    }

    #[test]
    fn seconds_to_micros() {
        assert_eq!(parse_seconds_us(b"0.399"), Ok(Some(399_000)));
        assert_eq!(parse_seconds_us(b"12"), Ok(Some(12_000_000)));
        assert_eq!(parse_seconds_us(b"1.2345678"), Ok(Some(1_234_567)));
        assert_eq!(parse_seconds_us(b"-"), Ok(None));
        assert!(parse_seconds_us(b"1e3").is_err());
        assert!(parse_seconds_us(b"").is_err());
    }

    #[test]
    fn detects_the_format_that_parses_most() {
        assert_eq!(detect(&[PANTHEON, b"junk"]), Some(Format::Pantheon));
        assert_eq!(detect(&[COMBINED]), Some(Format::Combined));
        assert_eq!(detect(&[b"junk"]), None);
        assert_eq!(detect(&[]), None);
    }
}
