//! The `$request` field as nginx reads it: method, target path and query, and nginx's `\xHH`
//! and JSON escapes of logged strings.
//!
//! [`split`] follows nginx's own request-line grammar (`ngx_http_parse_request_line`, nginx
//! 1.22): a line nginx answered 400 or 505 before routing it (a lower-case method, a space or
//! a control byte inside the target, `*`, userinfo, a bad version, TLS bytes) has no path, and
//! every line nginx routed has one, however oddly spaced or long its method. It never fails
//! loudly: a line without a path still counts as parsed. Resolving `%XX`, `//`, `.` and `..`
//! in the path is [`crate::classify::normalize`]'s job; [`Request::complex`] says when it is
//! needed, found in the same pass.

use memchr::memchr;
#[cfg(test)]
use memchr::memchr2;

/// The parts of a request line nginx would route, borrowed from the raw (unescaped) line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// `GET`, `POST`, ...: one or more ASCII upper-case letters, `-` or `_`, any length.
    pub method: &'a [u8],
    /// The path as sent, up to `?` or `#`; for an absolute-form target (`http://host/path`)
    /// the part after the authority, `/` when there is none.
    pub path: &'a [u8],
    /// The query string after `?`, up to `#` (empty when none).
    pub query: &'a [u8],
    /// nginx rewrites `path` before routing it (it holds `%`, `//` or `/.`).
    pub complex: bool,
    /// The protocol the line names.
    pub version: Version,
}

/// The protocol at the end of a request line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// None: an HTTP/0.9 request line, or one nginx never finished reading (the log shows
    /// what had arrived).
    Http09,
    /// `HTTP/1.x`, as sent.
    Http1,
    /// `HTTP/2.0` or `HTTP/3.0`: a line nginx's HTTP/2 or HTTP/3 module writes for a request
    /// (from its `:path`, checked as a request line's target is), or an HTTP/1 line naming
    /// that version, which nginx answers 505.
    Later,
}

fn is_method_byte(b: u8) -> bool {
    b.is_ascii_uppercase() || b == b'-' || b == b'_'
}

/// Splits a raw request line (`\xHH` escapes already undone) as nginx parses it:
/// `METHOD SP+ target [SP+ HTTP/1.x SP*]`. `None` when nginx would reject the line.
pub fn split(line: &[u8]) -> Option<Request<'_>> {
    match split_checked::<false>(line) {
        Ok(r) => r,
        Err(Escaped) => unreachable!("a backslash is only reported when asked"),
    }
}

/// The line holds a backslash: a logged escape may change what [`split`] finds.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Escaped;

/// [`split`] of a request line as logged, before its escapes are undone: `Err` when the line
/// holds a backslash (undoing the log's escapes may then change it), else what [`split`] of
/// the unescaped line (the same bytes) gives. Saves a search for `\` over every request.
#[inline]
pub(crate) fn split_logged(line: &[u8]) -> Result<Option<Request<'_>>, Escaped> {
    split_checked::<true>(line)
}

/// [`split`], and with `WATCH` an `Err` for any line holding a backslash. An accepted line
/// has none outside its target (method, spaces, authority and version have no `\`), and the
/// target is searched for one with its other bytes; a rejected line is searched whole.
#[inline(always)]
fn split_checked<const WATCH: bool>(line: &[u8]) -> Result<Option<Request<'_>>, Escaped> {
    let Some((m, start)) = method_end(line) else {
        return rejected::<WATCH>(line);
    };
    let at = match line[start] {
        b'/' => start,
        b if b.is_ascii_alphabetic() => match after_authority(line, start) {
            Some(at) => at,
            None => return rejected::<WATCH>(line),
        },
        _ => return rejected::<WATCH>(line),
    };
    let Some(t) = scan_target::<WATCH>(line, at) else {
        return rejected::<WATCH>(line);
    };
    let Some(version) = version(&line[t.end..]) else {
        return rejected::<WATCH>(line);
    };
    let method = &line[..m];
    if version == Version::Http09 && method != b"GET" {
        return rejected::<WATCH>(line);
    }
    Ok(Some(Request {
        method,
        path: t.path,
        query: t.query,
        complex: t.complex,
        version,
    }))
}

/// The length of the method of a request line and where its target starts (after one
/// space or more); `None` when the line has no such start. The first 16 bytes tested at once.
#[inline(always)]
fn method_end(line: &[u8]) -> Option<(usize, usize)> {
    if let Some(w) = line.first_chunk::<16>() {
        let v = Lanes::load(w);
        let method = (v.within(b'A', b'Z') | v.eq(b'-') | v.eq(b'_')).mask();
        let m = (!method).trailing_zeros();
        let spaces = v.eq(b' ').mask();
        if m == 0 || (m < 16 && spaces >> m & 1 == 0) {
            return None;
        }
        // The first byte after the spaces, if within the 16.
        let start = m + 1 + (!(spaces >> (m + 1))).trailing_zeros();
        if start < 16 {
            return Some((m as usize, start as usize));
        }
    }
    method_end_bytewise(line)
}

/// [`method_end`] a byte at a time.
#[cold]
fn method_end_bytewise(line: &[u8]) -> Option<(usize, usize)> {
    let m = line.iter().position(|&b| !is_method_byte(b))?;
    if m == 0 || line[m] != b' ' {
        return None;
    }
    let gap = line[m + 1..].iter().position(|&b| b != b' ')?;
    Some((m, m + 1 + gap))
}

/// A line [`split_checked`] rejects: `Err` when watching for backslashes and it holds one.
#[cold]
#[inline(never)]
fn rejected<const WATCH: bool>(line: &[u8]) -> Result<Option<Request<'_>>, Escaped> {
    if WATCH && memchr(b'\\', line).is_some() {
        Err(Escaped)
    } else {
        Ok(None)
    }
}

/// A target's path, query, whether its path is complex, and where it ends.
#[derive(Debug, PartialEq, Eq)]
struct Target<'a> {
    path: &'a [u8],
    query: &'a [u8],
    complex: bool,
    end: usize,
}

/// Byte-set tests over 16 bytes at a time: SSE2 vectors on x86_64 (every such processor has
/// SSE2), else a bit mask per test, bit `k` for byte `k`. [`Lanes::mask`] gives the bits
/// either way.
#[cfg(target_arch = "x86_64")]
mod lanes {
    use std::arch::x86_64::{
        __m128i, _mm_and_si128, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_min_epu8, _mm_movemask_epi8,
        _mm_or_si128, _mm_set1_epi8, _mm_sub_epi8,
    };

    /// 16 bytes, or the result of a test on each.
    #[derive(Clone, Copy)]
    pub(super) struct Lanes(__m128i);

    impl Lanes {
        #[inline(always)]
        pub(super) fn load(w: &[u8; 16]) -> Lanes {
            // SAFETY: `w` is 16 readable bytes and `_mm_loadu_si128` needs no alignment.
            Lanes(unsafe { _mm_loadu_si128(w.as_ptr().cast::<__m128i>()) })
        }

        /// The bytes equal to `b`.
        #[inline(always)]
        pub(super) fn eq(self, b: u8) -> Lanes {
            // SAFETY: register-only SSE2 intrinsics (SSE2 is part of x86_64).
            Lanes(unsafe { _mm_cmpeq_epi8(self.0, _mm_set1_epi8(b as i8)) })
        }

        /// The bytes from `lo` to `hi`.
        #[inline(always)]
        pub(super) fn within(self, lo: u8, hi: u8) -> Lanes {
            // SAFETY: register-only SSE2 intrinsics. `b - lo` (wrapping) is at most `hi - lo`
            // (unsigned) when it is its own minimum with that.
            Lanes(unsafe {
                let x = _mm_sub_epi8(self.0, _mm_set1_epi8(lo as i8));
                _mm_cmpeq_epi8(_mm_min_epu8(x, _mm_set1_epi8((hi - lo) as i8)), x)
            })
        }

        /// Spaces and the control bytes (below 0x20 and DEL).
        #[inline(always)]
        pub(super) fn space_or_control(self) -> Lanes {
            // SAFETY: register-only SSE2 intrinsics. A byte is 0x20 or below (unsigned) when
            // it is its own minimum with 0x20.
            let low = unsafe { _mm_cmpeq_epi8(_mm_min_epu8(self.0, _mm_set1_epi8(0x20)), self.0) };
            Lanes(low) | self.eq(0x7f)
        }

        /// Bit `k` set where test `k` holds.
        #[inline(always)]
        pub(super) fn mask(self) -> u32 {
            // SAFETY: a register-only SSE2 intrinsic.
            unsafe { _mm_movemask_epi8(self.0) as u32 }
        }
    }

    impl std::ops::BitOr for Lanes {
        type Output = Lanes;
        #[inline(always)]
        fn bitor(self, o: Lanes) -> Lanes {
            // SAFETY: a register-only SSE2 intrinsic.
            Lanes(unsafe { _mm_or_si128(self.0, o.0) })
        }
    }

    impl std::ops::BitAnd for Lanes {
        type Output = Lanes;
        #[inline(always)]
        fn bitand(self, o: Lanes) -> Lanes {
            // SAFETY: a register-only SSE2 intrinsic.
            Lanes(unsafe { _mm_and_si128(self.0, o.0) })
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
use portable_lanes as lanes;

/// [`lanes`] without vector instructions (tested against it on x86_64).
#[cfg(any(test, not(target_arch = "x86_64")))]
mod portable_lanes {
    /// 16 bytes, or the result of a test on each.
    #[derive(Clone, Copy)]
    pub(super) enum Lanes {
        Bytes([u8; 16]),
        Mask(u32),
    }

    impl Lanes {
        #[inline(always)]
        pub(super) fn load(w: &[u8; 16]) -> Lanes {
            Lanes::Bytes(*w)
        }

        fn test(self, f: impl Fn(u8) -> bool) -> Lanes {
            let Lanes::Bytes(w) = self else {
                unreachable!("tests apply to bytes")
            };
            let mut m = 0u32;
            for (k, &c) in w.iter().enumerate() {
                m |= u32::from(f(c)) << k;
            }
            Lanes::Mask(m)
        }

        pub(super) fn eq(self, b: u8) -> Lanes {
            self.test(|c| c == b)
        }

        pub(super) fn within(self, lo: u8, hi: u8) -> Lanes {
            self.test(|c| (lo..=hi).contains(&c))
        }

        pub(super) fn space_or_control(self) -> Lanes {
            self.test(|c| c <= 0x20 || c == 0x7f)
        }

        pub(super) fn mask(self) -> u32 {
            match self {
                Lanes::Mask(m) => m,
                Lanes::Bytes(_) => unreachable!("a mask comes from a test"),
            }
        }
    }

    impl std::ops::BitOr for Lanes {
        type Output = Lanes;
        fn bitor(self, o: Lanes) -> Lanes {
            Lanes::Mask(self.mask() | o.mask())
        }
    }

    impl std::ops::BitAnd for Lanes {
        type Output = Lanes;
        fn bitand(self, o: Lanes) -> Lanes {
            Lanes::Mask(self.mask() & o.mask())
        }
    }
}

use lanes::Lanes;

/// The lowest `n` bits (`n` at most 31).
#[inline(always)]
fn low_bits(n: u32) -> u32 {
    (1 << n) - 1
}

/// The bytes at which a scan of a target stops: a space or a control byte, and with `WATCH`
/// a backslash.
#[inline(always)]
fn stop_lanes<const WATCH: bool>(v: Lanes) -> Lanes {
    let stop = v.space_or_control();
    if WATCH {
        stop | v.eq(b'\\')
    } else {
        stop
    }
}

/// The bytes of `line` from `p` (fewer than 16 of them, `p` at least 1) and the byte before
/// each, as 16 of each: how many are in the line, and how many bits to drop first (the last
/// 17 bytes of the line are read whole); bytes past the end read as spaces.
#[inline(always)]
fn tail_window(line: &[u8], p: usize) -> (Lanes, Lanes, u32, u32) {
    let left = (line.len() - p) as u32;
    let mut buf = [b' '; 17];
    let w = match line.last_chunk::<17>() {
        Some(w) => w,
        None => {
            let rest = &line[p - 1..];
            buf[..rest.len()].copy_from_slice(rest);
            &buf
        }
    };
    let (prev, cur) = (w[..16].try_into(), w[1..].try_into());
    let (prev, cur): (&[u8; 16], &[u8; 16]) = (prev.expect("16"), cur.expect("16"));
    let seen = if line.len() >= 17 { 16 - left } else { 0 };
    (Lanes::load(cur), Lanes::load(prev), left, seen)
}

/// The position of the first byte of `line` from `p` on at which `stops` holds, or the end.
#[inline(always)]
fn first_stop(line: &[u8], mut p: usize, stops: impl Fn(Lanes) -> Lanes) -> usize {
    loop {
        if let Some(w) = line.get(p..).and_then(<[u8]>::first_chunk::<16>) {
            let m = stops(Lanes::load(w)).mask();
            if m != 0 {
                return p + m.trailing_zeros() as usize;
            }
            p += 16;
            continue;
        }
        let left = line.len() - p;
        let m = if let Some(w) = line.last_chunk::<16>() {
            stops(Lanes::load(w)).mask() >> (16 - left)
        } else {
            let mut buf = [b' '; 16];
            buf[..left].copy_from_slice(&line[p..]);
            stops(Lanes::load(&buf)).mask()
        };
        return p + (m | 1 << left).trailing_zeros() as usize;
    }
}

/// Scans the origin-form part of a target from `at` (a `/`, or the `?` or space that ends an
/// authority) to the first space or the end: no control byte or DEL may occur (nor, with
/// `WATCH`, a backslash). 16 bytes at a time: the path up to `?` or `#`, looking for `%`, `//`
/// and `/.` too; then a query up to `#`; then the rest.
#[inline(always)]
fn scan_target<const WATCH: bool>(line: &[u8], at: usize) -> Option<Target<'_>> {
    let mut p = at;
    // The path. The byte before `at` is never a `/` (it is a space, or ends an authority).
    // Bits of `%`, `//` or `/.` seen in the path.
    let mut odd_seen = 0;
    let ends = |v: Lanes| stop_lanes::<WATCH>(v) | v.eq(b'?') | v.eq(b'#');
    let odd = |v: Lanes, prev: Lanes| v.eq(b'%') | prev.eq(b'/') & (v.eq(b'/') | v.eq(b'.'));
    let cut = loop {
        if let Some(w) = line.get(p - 1..).and_then(<[u8]>::first_chunk::<17>) {
            let (prev, cur) = (w[..16].try_into(), w[1..].try_into());
            let (prev, cur): (&[u8; 16], &[u8; 16]) = (prev.expect("16"), cur.expect("16"));
            let (v, prev) = (Lanes::load(cur), Lanes::load(prev));
            let (end, odd) = (ends(v).mask(), odd(v, prev).mask());
            if end != 0 {
                let first = end.trailing_zeros();
                odd_seen |= odd & low_bits(first);
                break p + first as usize;
            }
            odd_seen |= odd;
            p += 16;
            continue;
        }
        let (v, prev, left, seen) = tail_window(line, p);
        let end = ends(v).mask() >> seen | !low_bits(left);
        let first = end.trailing_zeros();
        odd_seen |= odd(v, prev).mask() >> seen & low_bits(first);
        break p + first as usize;
    };
    let complex = odd_seen != 0;
    let path: &[u8] = if cut == at { b"/" } else { &line[at..cut] };
    let (query, end) = match line.get(cut) {
        Some(b'?') => {
            let q = first_stop(line, cut + 1, |v| stop_lanes::<WATCH>(v) | v.eq(b'#'));
            let end = match line.get(q) {
                Some(b'#') => first_stop(line, q + 1, stop_lanes::<WATCH>),
                _ => q,
            };
            (&line[cut + 1..q], end)
        }
        Some(b'#') => (
            &line[cut..cut],
            first_stop(line, cut + 1, stop_lanes::<WATCH>),
        ),
        _ => (&line[cut..cut], cut),
    };
    if end < line.len() && line[end] != b' ' {
        return None;
    }
    Some(Target {
        path,
        query,
        complex,
        end,
    })
}

/// The nginx reading of [`split`] as first written, a search at a time: what the one-pass
/// scan is tested against.
#[cfg(test)]
fn split_reference(line: &[u8]) -> Option<Request<'_>> {
    let m = line.iter().position(|&b| !is_method_byte(b))?;
    if m == 0 || line[m] != b' ' {
        return None;
    }
    let start = m + 1 + line[m + 1..].iter().position(|&b| b != b' ')?;
    let at = match line[start] {
        b'/' => start,
        b if b.is_ascii_alphabetic() => after_authority(line, start)?,
        _ => return None,
    };
    let t = target_reference(line, at)?;
    let version = version(&line[t.end..])?;
    let method = &line[..m];
    if version == Version::Http09 && method != b"GET" {
        return None;
    }
    Some(Request {
        method,
        path: t.path,
        query: t.query,
        complex: t.complex,
        version,
    })
}

/// [`scan_target`] a search at a time.
#[cfg(test)]
fn target_reference(line: &[u8], at: usize) -> Option<Target<'_>> {
    let rest = &line[at..];
    let end = memchr(b' ', rest).unwrap_or(rest.len());
    let uri = &rest[..end];
    let control = uri
        .iter()
        .fold(false, |acc, &b| acc | (b < 0x20) | (b == 0x7f));
    if control {
        return None;
    }
    let cut = memchr2(b'?', b'#', uri).unwrap_or(uri.len());
    let head = &uri[..cut];
    let complex = memchr(b'%', head).is_some()
        || head
            .iter()
            .zip(head.iter().skip(1))
            .fold(false, |acc, (&a, &b)| {
                acc | ((a == b'/') & ((b == b'/') | (b == b'.')))
            });
    let query = match uri.get(cut) {
        Some(b'?') => {
            let q = &uri[cut + 1..];
            &q[..memchr(b'#', q).unwrap_or(q.len())]
        }
        _ => &uri[..0],
    };
    let path: &[u8] = if cut == 0 { b"/" } else { head };
    let end = at + end;
    Some(Target {
        path,
        query,
        complex,
        end,
    })
}

/// The position just after `scheme://host[:port]` (at its `/`, `?` or space) for an
/// absolute-form target starting at `start`. nginx accepts any scheme, a host of letters,
/// digits, `.` and `-` (or an IP literal in brackets) without `..`, and digits as port;
/// userinfo, an empty host and a target ending inside the authority are 400.
fn after_authority(line: &[u8], start: usize) -> Option<usize> {
    let rest = &line[start..];
    let colon = rest
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b"+-.".contains(&b)))?;
    let host_start = start + colon + 3;
    if !rest[colon..].starts_with(b"://") || host_start >= line.len() {
        return None;
    }
    let host_end = host_end(line, host_start)?;
    if !valid_host(&line[host_start..host_end]) {
        return None;
    }
    let mut i = host_end;
    if line.get(i) == Some(&b':') {
        i += 1;
        i += line[i..].iter().take_while(|b| b.is_ascii_digit()).count();
    }
    matches!(line.get(i), Some(b'/' | b'?' | b' ')).then_some(i)
}

/// Where the host starting at `i` ends: after its `]` for an IP literal, else at the first
/// byte that is not a letter, digit, `.` or `-`.
fn host_end(line: &[u8], i: usize) -> Option<usize> {
    let rest = &line[i..];
    if rest[0] == b'[' {
        let lit = b"-._~!$&'()*+,;=:";
        let n = rest[1..]
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || lit.contains(&b)))?;
        return (rest[1 + n] == b']').then_some(i + n + 2);
    }
    let n = rest
        .iter()
        .position(|&b| !(b.is_ascii_alphanumeric() || b == b'.' || b == b'-'))
        .unwrap_or(rest.len());
    Some(i + n)
}

/// nginx's check of a host from the request line: not empty (a trailing dot aside), no `..`.
fn valid_host(host: &[u8]) -> bool {
    let host = host.strip_suffix(b".").unwrap_or(host);
    !host.is_empty() && !host.windows(2).any(|w| w == b"..")
}

/// After the target: spaces, then nothing (HTTP/0.9), `HTTP/1.minor` or `HTTP/2.0` /
/// `HTTP/3.0`, then spaces. `None` for anything else (nginx's 400 or 505).
#[inline(always)]
fn version(rest: &[u8]) -> Option<Version> {
    // The usual ending, ` HTTP/1.1`, read as one word and a digit.
    if let (9, Some(w)) = (rest.len(), rest.first_chunk::<8>()) {
        if u64::from_le_bytes(*w) == u64::from_le_bytes(*b" HTTP/1.") && rest[8].is_ascii_digit() {
            return Some(Version::Http1);
        }
    }
    version_any(rest)
}

/// [`version`] of any ending.
#[cold]
#[inline(never)]
fn version_any(rest: &[u8]) -> Option<Version> {
    let rest = &rest[rest.iter().take_while(|&&b| b == b' ').count()..];
    if rest.is_empty() {
        return Some(Version::Http09);
    }
    let end = rest.iter().position(|&b| b == b' ').unwrap_or(rest.len());
    if !rest[end..].iter().all(|&b| b == b' ') {
        return None;
    }
    let proto = &rest[..end];
    if proto == b"HTTP/2.0" || proto == b"HTTP/3.0" {
        return Some(Version::Later);
    }
    let minor = proto.strip_prefix(b"HTTP/1.")?;
    if minor.is_empty() || !minor.iter().all(u8::is_ascii_digit) {
        return None;
    }
    // nginx refuses a further digit once the minor version is above 99.
    let mut n = 0u32;
    for (i, &d) in minor.iter().enumerate() {
        if i > 0 && n > 99 {
            return None;
        }
        n = n * 10 + u32::from(d - b'0');
    }
    Some(Version::Http1)
}

/// `/path?query#fragment` → (`/path`, `query`).
pub(crate) fn split_query(target: &[u8]) -> (&[u8], &[u8]) {
    let end = target
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(target.len());
    let query = match target.get(end) {
        Some(b'?') => {
            let q = &target[end + 1..];
            &q[..memchr(b'#', q).unwrap_or(q.len())]
        }
        _ => &target[..0],
    };
    (&target[..end], query)
}

pub(crate) fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `s` to `out` with every `<marker>HH` (two hex digits) decoded to its byte; an
/// invalid escape stays as it is.
fn decode_hex_escapes(s: &[u8], marker: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < s.len() {
        let at = i + marker.len();
        if s[i..].starts_with(marker) && at + 1 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[at]), hex(s[at + 1])) {
                out.push(h << 4 | l);
                i = at + 2;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
}

/// Undoes nginx's `\xHH` escaping of logged strings. Returns `s` itself when it holds no
/// backslash (the common case), else the decoded bytes in `scratch`.
pub(crate) fn unescape<'a>(s: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    if memchr(b'\\', s).is_none() {
        return s;
    }
    scratch.clear();
    decode_hex_escapes(s, b"\\x", scratch);
    scratch
}

/// Undoes JSON string escaping (`\"`, `\\`, `\n`, `\u00e9`, surrogate pairs). Returns `s`
/// itself when it holds no backslash, else the decoded bytes in `scratch`. A broken escape is
/// kept as written.
pub(crate) fn json_unescape<'a>(s: &'a [u8], scratch: &'a mut Vec<u8>) -> &'a [u8] {
    if memchr(b'\\', s).is_none() {
        return s;
    }
    scratch.clear();
    let mut i = 0;
    while i < s.len() {
        if s[i] != b'\\' || i + 1 >= s.len() {
            scratch.push(s[i]);
            i += 1;
            continue;
        }
        let simple = match s[i + 1] {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(c) = simple {
            scratch.push(c);
            i += 2;
        } else if let Some((ch, used)) = json_u_escape(&s[i..]) {
            let mut buf = [0u8; 4];
            scratch.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            i += used;
        } else {
            scratch.push(s[i]);
            i += 1;
        }
    }
    scratch
}

/// A `\uXXXX` escape (or a surrogate pair of two) at the start of `s`.
fn json_u_escape(s: &[u8]) -> Option<(char, usize)> {
    let unit = |s: &[u8]| -> Option<u32> {
        let hex4 = s.strip_prefix(b"\\u")?.get(..4)?;
        hex4.iter()
            .try_fold(0u32, |a, &c| hex(c).map(|d| a << 4 | u32::from(d)))
    };
    let hi = unit(s)?;
    if (0xD800..0xDC00).contains(&hi) {
        let lo = unit(s.get(6..)?)?;
        let code = 0x10000 + ((hi - 0xD800) << 10) + (lo.checked_sub(0xDC00)?);
        return char::from_u32(code).map(|c| (c, 12));
    }
    char::from_u32(hi).map(|c| (c, 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(r: &[u8]) -> Option<&[u8]> {
        split(r).map(|r| r.path)
    }

    #[test]
    fn splits_ordinary_requests() {
        let r = split(b"POST /Autodiscover/Autodiscover.xml HTTP/1.1").unwrap();
        assert_eq!(r.method, b"POST");
        assert_eq!(r.path, b"/Autodiscover/Autodiscover.xml");
        assert!(!r.complex);
        assert_eq!(r.version, Version::Http1);
        assert_eq!(split(b"GET /a HTTP/2.0").unwrap().version, Version::Later);
        let r = split(b"GET /a?b=c#d HTTP/1.0").unwrap();
        assert_eq!((r.path, r.query), (&b"/a"[..], &b"b=c"[..]));
        assert_eq!(path(b"GET /a#frag"), Some(&b"/a"[..]));
        assert!(split(b"GET /a/./b HTTP/1.1").unwrap().complex);
        assert!(split(b"GET /a%41 HTTP/1.1").unwrap().complex);
        assert!(!split(b"GET /a?//%41 HTTP/1.1").unwrap().complex);
    }

    #[test]
    fn spaces_and_long_methods_as_nginx_reads_them() {
        let p = Some(&b"/Autodiscover/Autodiscover.xml"[..]);
        assert_eq!(path(b"POST  /Autodiscover/Autodiscover.xml HTTP/1.1"), p);
        assert_eq!(path(b"POST /Autodiscover/Autodiscover.xml  HTTP/1.1"), p);
        assert_eq!(path(b"POST /Autodiscover/Autodiscover.xml HTTP/1.1   "), p);
        let long = b"PROPFIND_AND_SOME_MORE_LETTERS-X /owa/ HTTP/1.1";
        assert_eq!(path(long), Some(&b"/owa/"[..]));
        let r = split(b"GET /x").unwrap();
        assert_eq!(r.version, Version::Http09);
        assert_eq!(path(b"GET /x   "), Some(&b"/x"[..]));
    }

    #[test]
    fn absolute_form_targets() {
        let cases: [(&[u8], &[u8], &[u8]); 7] = [
            (b"GET http://x.org/owa/ HTTP/1.1", b"/owa/", b""),
            (b"GET https://x.org HTTP/1.1", b"/", b""),
            (b"GET HTTPS://x.org:443/ews HTTP/1.1", b"/ews", b""),
            (
                b"GET http://localhost?/Autodiscover/a.xml HTTP/1.1",
                b"/",
                b"/Autodiscover/a.xml",
            ),
            (b"GET http://h:80?q HTTP/1.1", b"/", b"q"),
            (b"GET http://[::1]:8080/a HTTP/1.1", b"/a", b""),
            (b"GET ftp://x/y HTTP/1.1", b"/y", b""),
        ];
        for (line, p, q) in cases {
            let r = split(line).unwrap_or_else(|| panic!("{}", String::from_utf8_lossy(line)));
            assert_eq!(
                (r.path, r.query),
                (p, q),
                "{}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn what_nginx_rejects_has_no_path() {
        for r in [
            &b""[..],
            b"-",
            b"\x16\x03\x01\x00",
            b"get / HTTP/1.1",
            b"Get / HTTP/1.1",
            b"OPTIONS * HTTP/1.1",
            b"CONNECT x.org:443 HTTP/1.1",
            b"GET",
            b"GET ",
            b"GET\t/ HTTP/1.1",
            b" GET / HTTP/1.1",
            b"GET /a b/c HTTP/1.1",
            b"GET /a\x00b HTTP/1.1",
            b"GET /a\x7f HTTP/1.1",
            b"GET /a\tb HTTP/1.1",
            b"POST /x",
            b"GET / HTTP/2",
            b"GET / HTTP/2.1",
            b"GET / HTTP/1",
            b"GET / HTTP/1.1x",
            b"GET / HTTP/1.1000",
            b"GET / http/1.1",
            b"GET http://u@h/ HTTP/1.1",
            b"GET http:///x HTTP/1.1",
            b"GET http://a..b/x HTTP/1.1",
            b"GET http://h#f HTTP/1.1",
            b"GET http://h",
            b"GET http:/h/x HTTP/1.1",
        ] {
            assert_eq!(path(r), None, "{}", String::from_utf8_lossy(r));
        }
    }

    mod one_pass {
        use super::super::*;
        use proptest::prelude::*;

        /// Request lines built from parts nginx treats specially, so that every rule is met.
        fn lines() -> impl Strategy<Value = Vec<u8>> {
            let methods: Vec<&[u8]> = vec![
                b"GET",
                b"POST",
                b"get",
                b"G\\x45T",
                b"",
                b"A_B-C",
                b"PROPFIND_AND_SOME_MORE",
            ];
            let gaps: Vec<&[u8]> = vec![b" ", b"  ", b"", b"\t"];
            let starts: Vec<&[u8]> = vec![
                b"",
                b"http://h",
                b"https://x.org:443",
                b"http://[::1]:80",
                b"http://a..b",
                b"http://u@h",
                b"ftp://",
            ];
            let versions: Vec<&[u8]> = vec![
                b"",
                b" HTTP/1.1",
                b" HTTP/1.0",
                b"  HTTP/1.1  ",
                b" HTTP/2.0",
                b" HTTP/1.x",
                b" HTTP/1.1000",
                b" HTTP/1.\\x31",
                b" HTTP/1",
                b" ",
            ];
            let target = prop::collection::vec(
                prop::sample::select(b"//..?#%a\\x41 \x00\x1f\x7f\x80\xff:@".to_vec()),
                0..70,
            );
            (
                prop::sample::select(methods),
                prop::sample::select(gaps),
                prop::sample::select(starts),
                target,
                prop::sample::select(versions),
            )
                .prop_map(|(m, g, s, t, v)| [m, g, s, &t, v].concat())
        }

        fn any_bytes() -> impl Strategy<Value = Vec<u8>> {
            prop::collection::vec(any::<u8>(), 0..60)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(20000))]

            /// The one-pass split reads every line as the search-at-a-time one does, and the
            /// logged split tells a line holding a backslash apart or agrees with them.
            #[test]
            fn one_pass_split_is_the_reference(line in lines()) {
                let want = split_reference(&line);
                prop_assert_eq!(split(&line), want);
                match split_logged(&line) {
                    Ok(r) => {
                        prop_assert_eq!(r, want);
                        prop_assert!(!line.contains(&b'\\'));
                    }
                    Err(Escaped) => prop_assert!(line.contains(&b'\\')),
                }
            }

            #[test]
            fn one_pass_split_of_any_bytes(line in any_bytes()) {
                prop_assert_eq!(split(&line), split_reference(&line));
                let r = split_logged(&line);
                prop_assert!(r.is_err() == line.contains(&b'\\'));
            }

            #[test]
            fn one_pass_target_from_any_start(mut line in lines(), at in 1usize..80) {
                prop_assume!(line.len() >= 2);
                let at = at.min(line.len() - 1);
                // As in a request line: a method before the target, which follows no `/`.
                if line[at - 1] == b'/' {
                    line[at - 1] = b'x';
                }
                prop_assert_eq!(scan_target::<false>(&line, at), target_reference(&line, at));
            }

            #[test]
            fn method_end_is_bytewise(line in lines()) {
                prop_assert_eq!(method_end(&line), method_end_bytewise(&line));
            }

            #[test]
            fn lanes_are_portable(w in prop::array::uniform16(any::<u8>()), b in any::<u8>()) {
                use super::super::portable_lanes::Lanes as P;
                let (v, p) = (Lanes::load(&w), P::load(&w));
                prop_assert_eq!(v.eq(b).mask(), p.eq(b).mask());
                prop_assert_eq!(v.space_or_control().mask(), p.space_or_control().mask());
                let hi = b.saturating_add(w[0] % 32);
                prop_assert_eq!(v.within(b, hi).mask(), p.within(b, hi).mask());
                prop_assert_eq!((v.eq(b) | v.space_or_control()).mask(), (p.eq(b) | p.space_or_control()).mask());
                prop_assert_eq!((v.eq(b) & v.space_or_control()).mask(), (p.eq(b) & p.space_or_control()).mask());
            }
        }
    }

    #[test]
    fn unescapes_nginx_hex() {
        let mut s = Vec::new();
        assert_eq!(unescape(b"/plain", &mut s), b"/plain");
        assert_eq!(unescape(br"/a\x22b\x5Cc", &mut s), b"/a\"b\\c");
        assert_eq!(unescape(br"/bad\xZZ\x4", &mut s), br"/bad\xZZ\x4");
    }

    #[test]
    fn unescapes_json() {
        let mut s = Vec::new();
        assert_eq!(json_unescape(b"/plain", &mut s), b"/plain");
        assert_eq!(json_unescape(br#"a\"b\\c\/d\n"#, &mut s), b"a\"b\\c/d\n");
        assert_eq!(
            json_unescape(br"\u00e9\ud83d\ude00", &mut s),
            "\u{e9}\u{1f600}".as_bytes()
        );
        assert_eq!(json_unescape(br"\uZZ\", &mut s), br"\uZZ\");
    }
}
