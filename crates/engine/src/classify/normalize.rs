//! The path nginx routes: what `ngx_http_parse_complex_uri` (nginx 1.22, `merge_slashes on`)
//! makes of a request's path before it matches a `location`, i.e. `$uri`. One pass, as nginx
//! does it: `%XX` decoded once and the decoded byte read as if sent (so `%2F` separates and
//! `%2e%2e` climbs), except a decoded `%`, `#` or `?`, which is kept as a plain byte; `//`
//! merged; `.` and `..` segments resolved. nginx answers 400 to (and never routes) a path with
//! a broken escape, a `%00`, or a `..` above the root: [`normalize`] returns `false` for
//! those. Case is kept: nginx and Pantheon's `protected_web_paths` compare case-sensitively.

use crate::format::request::hex;

/// `true` when [`normalize`] could change `path` (or refuse it); most paths are already as
/// nginx routes them, and callers then skip the copy.
#[inline]
pub(crate) fn needs_normalizing(path: &[u8]) -> bool {
    let mut prev = 0u8;
    for &b in path {
        if matches!(b, b'%' | b'?' | b'#') || (prev == b'/' && (b == b'/' || b == b'.')) {
            return true;
        }
        prev = b;
    }
    path.first() != Some(&b'/')
}

/// Where the last bytes written leave the reader, as in nginx's parser.
#[derive(Clone, Copy, PartialEq, Eq)]
enum At {
    /// Inside a segment.
    Usual,
    /// Just after a `/`.
    Slash,
    /// After `/.`.
    Dot,
    /// After `/..`.
    DotDot,
}

/// Writes the path nginx routes for `path` (cut at a `?` or `#`, as nginx ends the path there)
/// to `out`, and returns `true`; returns `false`, with `out` empty, when nginx would answer
/// 400 instead. A path that does not start with `/` is read as if it did
/// (`//%41utoDiscover/./x/../y.xml` becomes `/AutoDiscover/y.xml`; `/a/%2e%2e/..` is refused).
pub fn normalize(path: &[u8], out: &mut Vec<u8>) -> bool {
    normalize_as::<true>(path, out)
}

/// [`normalize`], with `SPANS` a segment's plain bytes copied whole, else one at a time (the
/// reference the property test holds the copies to).
#[inline]
fn normalize_as<const SPANS: bool>(path: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    out.push(b'/');
    let mut at = At::Slash;
    let mut i = usize::from(path.first() == Some(&b'/'));
    while i < path.len() {
        if SPANS && at == At::Usual {
            // The rest of a segment up to the next byte that may change it, as it is: one
            // copy, where one byte at a time cost about 20 instructions a byte.
            let run = segment_len(&path[i..]);
            out.extend_from_slice(&path[i..i + run]);
            i += run;
            if i == path.len() {
                break;
            }
        }
        let mut b = path[i];
        i += 1;
        if b == b'?' || b == b'#' {
            break;
        }
        if b == b'%' {
            let (Some(h), Some(l)) = (path.get(i), path.get(i + 1)) else {
                return refuse(out);
            };
            let (Some(h), Some(l)) = (hex(*h), hex(*l)) else {
                return refuse(out);
            };
            i += 2;
            b = h << 4 | l;
            if b == 0 {
                return refuse(out);
            }
            if matches!(b, b'%' | b'#' | b'?') {
                out.push(b);
                at = At::Usual;
                continue;
            }
        }
        match step(at, b, out) {
            Some(next) => at = next,
            None => return refuse(out),
        }
    }
    match at {
        At::Dot => {
            out.pop();
        }
        At::DotDot if !climb(out) => return refuse(out),
        _ => {}
    }
    true
}

/// How many bytes at the start of `rest` a segment keeps as they are (inside a segment,
/// only `/`, `%`, `?` and `#` change what nginx routes), eight at a time.
#[inline]
fn segment_len(rest: &[u8]) -> usize {
    use crate::swar::{splat, zero_bytes};
    let mut i = 0;
    while let Some(w) = rest.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        // A byte of a word equal to `b`: its lane of `w ^ splat(b)` is zero.
        let w = u64::from_le_bytes(*w);
        let m = zero_bytes(w ^ splat(b'/'))
            | zero_bytes(w ^ splat(b'%'))
            | zero_bytes(w ^ splat(b'?'))
            | zero_bytes(w ^ splat(b'#'));
        if m != 0 {
            return i + (m.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    i + rest[i..]
        .iter()
        .position(|&b| matches!(b, b'/' | b'%' | b'?' | b'#'))
        .unwrap_or(rest.len() - i)
}

fn refuse(out: &mut Vec<u8>) -> bool {
    out.clear();
    false
}

/// Reads one byte `b` (decoded if it was escaped) in state `at`; `None` when a `..` climbs
/// above the root.
fn step(at: At, b: u8, out: &mut Vec<u8>) -> Option<At> {
    let next = match (at, b) {
        (At::Slash, b'/') => return Some(At::Slash),
        (At::Dot, b'/') => {
            out.pop();
            return Some(At::Slash);
        }
        (At::DotDot, b'/') => return climb(out).then_some(At::Slash),
        (_, b'/') => At::Slash,
        (At::Slash, b'.') => At::Dot,
        (At::Dot, b'.') => At::DotDot,
        _ => At::Usual,
    };
    out.push(b);
    Some(next)
}

/// Drops the `/..` that `out` ends with and the segment before it; `false` when there is
/// none (nginx's 400 for a `..` above the root).
fn climb(out: &mut Vec<u8>) -> bool {
    let slash = out.len() - 3;
    match out[..slash].iter().rposition(|&b| b == b'/') {
        Some(i) => {
            out.truncate(i + 1);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn norm(p: &str) -> Option<String> {
        let mut o = Vec::new();
        normalize(p.as_bytes(), &mut o).then(|| String::from_utf8(o).unwrap())
    }

    #[test]
    fn resolves_like_nginx() {
        let cases = [
            ("/a//b", "/a/b"),
            ("/a/./b/", "/a/b/"),
            ("/a/../b", "/b"),
            ("/a/b/..", "/a/"),
            ("/a/b/.", "/a/b/"),
            ("/%41%2fB", "/A/B"),
            ("//%41utoDiscover/./x/../y.xml", "/AutoDiscover/y.xml"),
            ("/%252e", "/%2e"),
            ("/a/%2e%2E/b", "/b"),
            ("/a%2F%2F..%2fb", "/b"),
            ("/%23x%3f%3F", "/#x??"),
            ("/a/...", "/a/..."),
            ("/a/.b/..c", "/a/.b/..c"),
            ("/a\\..\\b", "/a\\..\\b"),
            ("/a;p=1/b", "/a;p=1/b"),
            ("/a?x/../..", "/a"),
            ("/a/..#x", "/"),
            ("/", "/"),
            ("", "/"),
            ("a/b", "/a/b"),
        ];
        for (p, want) in cases {
            assert_eq!(norm(p).as_deref(), Some(want), "{p}");
        }
    }

    #[test]
    fn refuses_what_nginx_answers_400() {
        for p in [
            "/..",
            "/../b",
            "/a/../..",
            "/./..",
            "/%2e%2e",
            "/a/%2e%2e/..",
            "/%00",
            "/a%zz",
            "/a%4",
            "/a%",
            "/a%4?",
        ] {
            assert_eq!(norm(p), None, "{p}");
        }
    }

    proptest::proptest! {
        /// Copying a segment's plain bytes whole routes every path as reading them one by one
        /// does: paths of the bytes that matter (`/`, `.`, `%` and hex digits, `?`, `#`) between
        /// plain ones, in runs longer than a word, and any bytes at all.
        #[test]
        fn segments_copied_whole_route_as_bytes_read_one_by_one(
            parts in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![
                        "/", ".", "..", "%", "%2e", "%2E", "%2f", "%2F", "%25", "%00", "%4", "?",
                        "#", "%3f", "%23", "a", "B", "\\", "x.y", ";", "2", "f",
                    ]).prop_map(|s| s.as_bytes().to_vec()),
                    "[a-zA-Z0-9_.~-]{1,20}".prop_map(String::into_bytes),
                    proptest::collection::vec(proptest::num::u8::ANY, 0..12),
                ],
                0..12,
            ),
        ) {
            let path = parts.concat();
            let (mut want, mut got) = (Vec::new(), Vec::new());
            let ok = normalize_as::<false>(&path, &mut want);
            proptest::prop_assert_eq!(normalize(&path, &mut got), ok);
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn fast_check_agrees_with_normalize() {
        for p in [
            "/a/b", "/a//b", "/a/.b", "/a%20", "/", "/x.y/z", "rel", "/a?b",
        ] {
            let changed = norm(p).as_deref() != Some(p);
            assert!(!changed || needs_normalizing(p.as_bytes()), "{p}");
        }
    }
}
