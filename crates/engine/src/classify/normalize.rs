//! Path normalization as nginx does it before matching a `location`: `%XX` decoded once,
//! `//` merged, `.` and `..` segments resolved (never above the root). Case is kept: nginx
//! and Pantheon's `protected_web_paths` compare case-sensitively.

use crate::format::request::percent_decode_into;

/// `true` when [`normalize`] could change `path`; most paths are already normal, and the
/// classifier then skips the copy.
#[inline]
pub(crate) fn needs_normalizing(path: &[u8]) -> bool {
    let mut prev = 0u8;
    for &b in path {
        if b == b'%' || (prev == b'/' && (b == b'/' || b == b'.')) {
            return true;
        }
        prev = b;
    }
    path.first() != Some(&b'/')
}

/// Writes the normalized form of `path` to `out` (`decoded` is scratch). The result always
/// starts with `/`; a trailing `/` is kept when the input had one
/// (`//%41utoDiscover/./x/../y.xml` becomes `/AutoDiscover/y.xml`).
pub fn normalize(path: &[u8], decoded: &mut Vec<u8>, out: &mut Vec<u8>) {
    percent_decode_into(path, decoded);
    out.clear();
    out.push(b'/');
    let trailing = decoded.ends_with(b"/") || decoded.ends_with(b"/.") || decoded.ends_with(b"/..");
    for seg in decoded.split(|&b| b == b'/') {
        match seg {
            b"" | b"." => {}
            b".." => {
                let keep = out[..out.len() - 1]
                    .iter()
                    .rposition(|&b| b == b'/')
                    .map_or(1, |i| i + 1);
                out.truncate(keep);
            }
            _ => {
                out.extend_from_slice(seg);
                out.push(b'/');
            }
        }
    }
    if !trailing && out.len() > 1 {
        out.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(p: &str) -> String {
        let (mut d, mut o) = (Vec::new(), Vec::new());
        normalize(p.as_bytes(), &mut d, &mut o);
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn resolves_like_nginx() {
        assert_eq!(norm("/a//b"), "/a/b");
        assert_eq!(norm("/a/./b/"), "/a/b/");
        assert_eq!(norm("/a/../b"), "/b");
        assert_eq!(norm("/../../b"), "/b");
        assert_eq!(norm("/a/b/.."), "/a/");
        assert_eq!(norm("/%41%2fB"), "/A/B");
        assert_eq!(norm("//%41utoDiscover/./x/../y.xml"), "/AutoDiscover/y.xml");
        assert_eq!(norm("/%252e"), "/%2e");
        assert_eq!(norm("/"), "/");
        assert_eq!(norm("/.."), "/");
        assert_eq!(norm("a/b"), "/a/b");
    }

    #[test]
    fn fast_check_agrees_with_normalize() {
        for p in ["/a/b", "/a//b", "/a/.b", "/a%20", "/", "/x.y/z", "rel"] {
            let changed = norm(p) != p;
            assert!(!changed || needs_normalizing(p.as_bytes()), "{p}");
        }
    }
}
