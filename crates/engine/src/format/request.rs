//! The `$request` field: method, target path and protocol, and nginx's `\xHH` escapes.
//!
//! A request line is attacker-written: it may be TLS bytes sent to a plain port, `-`, empty,
//! or a path with spaces. [`split`] never fails loudly; it returns `None` when there is no
//! method and path to speak of, and the line still counts as parsed.

use memchr::{memchr, memrchr};

/// The parts of a request line, borrowed from the (still escaped) log field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// `GET`, `POST`, ... (ASCII upper-case letters, `-` or `_`).
    pub method: &'a [u8],
    /// The path of the target, without query string or fragment; for an absolute-form target
    /// (`http://host/path`) only the path.
    pub path: &'a [u8],
    /// The query string after `?` (empty when none).
    pub query: &'a [u8],
}

fn is_method(m: &[u8]) -> bool {
    !m.is_empty()
        && m.len() <= 24
        && m.iter()
            .all(|&b| b.is_ascii_uppercase() || b == b'-' || b == b'_')
}

/// Splits `METHOD SP target [SP HTTP/x.y]`. The target may itself hold spaces (clients that
/// do not encode them), so the protocol is taken from the end.
pub fn split(request: &[u8]) -> Option<Request<'_>> {
    let sp = memchr(b' ', request)?;
    let method = &request[..sp];
    if !is_method(method) {
        return None;
    }
    let mut target = &request[sp + 1..];
    if let Some(last) = memrchr(b' ', target) {
        if target[last + 1..].starts_with(b"HTTP/") {
            target = &target[..last];
        }
    }
    let (path, query) = path_of_target(target)?;
    Some(Request {
        method,
        path,
        query,
    })
}

/// The path and query of a request target: origin-form as is, absolute-form after its
/// authority; fragment (`#`) removed. `*` and authority-form have no path.
fn path_of_target(target: &[u8]) -> Option<(&[u8], &[u8])> {
    let target = if target.first() == Some(&b'/') {
        target
    } else {
        let scheme_end = memchr(b':', target)?;
        let scheme = &target[..scheme_end];
        if !(scheme.eq_ignore_ascii_case(b"http") || scheme.eq_ignore_ascii_case(b"https")) {
            return None;
        }
        let after = target[scheme_end..].strip_prefix(b"://")?;
        match memchr(b'/', after) {
            Some(i) => &after[i..],
            None => b"/",
        }
    };
    Some(split_query(target))
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

fn hex(b: u8) -> Option<u8> {
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

/// Decodes `%XX` once (invalid escapes stay literal), like nginx before it matches locations.
pub(crate) fn percent_decode_into(s: &[u8], out: &mut Vec<u8>) {
    out.clear();
    decode_hex_escapes(s, b"%", out);
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
        assert_eq!(path(b"GET /a?b=c HTTP/2.0"), Some(&b"/a"[..]));
        assert_eq!(path(b"GET /a#frag"), Some(&b"/a"[..]));
        assert_eq!(path(b"GET /a b/c HTTP/1.1"), Some(&b"/a b/c"[..]));
        assert_eq!(path(b"GET http://x.org/owa/ HTTP/1.1"), Some(&b"/owa/"[..]));
        assert_eq!(path(b"GET https://x.org HTTP/1.1"), Some(&b"/"[..]));
    }

    #[test]
    fn garbage_has_no_path() {
        for r in [
            &b""[..],
            b"-",
            b"\\x16\\x03\\x01\\x00",
            b"get / HTTP/1.1",
            b"OPTIONS * HTTP/1.1",
            b"CONNECT x.org:443 HTTP/1.1",
            b"GET",
            b"GET ftp://x/y HTTP/1.1",
        ] {
            assert_eq!(path(r), None, "{}", String::from_utf8_lossy(r));
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

    #[test]
    fn percent_decodes_once() {
        let mut out = Vec::new();
        percent_decode_into(b"/%61utodiscover/%2541%zz%4", &mut out);
        assert_eq!(out, b"/autodiscover/%41%zz%4");
    }
}
