//! Reading backwards from a quote: the part of the line parser that anchors a free value.
//!
//! nginx writes every variable's value escaped (`escape=default`: `"`, `\`, control bytes and
//! bytes over 126 as `\xHH`; `escape=json`: `\"`, `\\`, `\u00HH`), so a quote that no odd
//! number of backslashes precedes is always one of the format's own, and the line's end is the
//! format's end. Between a free value and that quote, every other field has a known shape
//! (`$time_local` is 26 bytes, a number has no space), so those fields are read from the quote
//! backwards, and the free value is what is left, whatever it holds. Here are the shapes
//! of values and the searches that reading needs; the plan (`plan.rs`) decides when to use
//! them. A leaf: it knows no plan.

use memchr::{memchr, memrchr};

/// How a variable's value ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Extent {
    /// At the first occurrence of the following literal.
    Search,
    /// After exactly this many bytes (`$time_local`), else as `Search`.
    Fixed(usize),
    /// After a list of times (`$upstream_response_time`).
    TimeList,
    /// Like `Search`, for short values without spaces (numbers, addresses): a plain loop
    /// beats setting up a vectorized search.
    Token,
}

/// `hay.starts_with(lit)` for the short literals of a format, compared inline: a call to
/// `memcmp` per field costs more than the comparison.
#[inline(always)]
pub(super) fn has_prefix(hay: &[u8], lit: &[u8]) -> bool {
    hay.len() >= lit.len() && hay.iter().zip(lit).all(|(a, b)| a == b)
}

/// Whether the byte at `i` is escaped: preceded by an odd number of backslashes. Almost
/// always one look at the byte before.
#[inline(always)]
pub(super) fn escaped(hay: &[u8], i: usize) -> bool {
    i > 0 && hay[i - 1] == b'\\' && backslashes_odd(&hay[..i])
}

/// Whether `hay` ends with an odd number of backslashes.
#[cold]
#[inline(never)]
fn backslashes_odd(hay: &[u8]) -> bool {
    hay.iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// The first quote in `hay` that no value can hold (one not escaped by a backslash).
pub(super) fn first_quote(hay: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        i += memchr(b'"', hay.get(i..)?)?;
        if !escaped(hay, i) {
            return Some(i);
        }
        i += 1;
    }
}

/// The last occurrence of `lit` in `hay`.
fn rfind_literal(hay: &[u8], lit: &[u8]) -> Option<usize> {
    let mut end = hay.len();
    loop {
        let i = memrchr(lit[0], &hay[..end])?;
        if has_prefix(&hay[i..], lit) {
            return Some(i);
        }
        end = i;
    }
}

/// Reading backwards: where a value of `extent` that ends at the end of `hay` starts, given
/// that `lit` comes right before it. A fixed-width value is counted back; a list of times
/// takes as many items as there are; any other value starts after the last `lit`.
pub(super) fn value_start(extent: Extent, hay: &[u8], lit: &[u8]) -> Option<usize> {
    let start = match extent {
        Extent::Fixed(n) => hay.len().checked_sub(n)?,
        Extent::TimeList => time_list_start(hay),
        Extent::Search | Extent::Token => {
            return rfind_literal(hay, lit).map(|i| i + lit.len());
        }
    };
    hay[..start].ends_with(lit).then_some(start)
}

/// Where a trailing `$upstream_response_time` list of `hay` starts: `time_list_len` read
/// backwards.
fn time_list_start(hay: &[u8]) -> usize {
    let item = |end: usize| {
        let n = hay[..end]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_digit() || **c == b'.' || **c == b'-')
            .count();
        end - n
    };
    let mut start = item(hay.len());
    loop {
        let before = &hay[..start];
        const SEPARATORS: [&[u8]; 2] = [b", ", b" : "];
        let Some(sep) = SEPARATORS.iter().find(|s| before.ends_with(s)) else {
            return start;
        };
        let next = item(start - sep.len());
        if next == start - sep.len() {
            return start;
        }
        start = next;
    }
}

#[cfg(test)]
mod tests {
    use super::super::plan::Plan;
    use super::super::record::{Escape, Record};
    use super::super::time::TimeCache;

    fn parse<'a>(fmt: &str, line: &'a [u8]) -> Result<Record<'a>, String> {
        let plan = Plan::compile(fmt, Escape::Default).unwrap();
        plan.parse(line, &mut TimeCache::default())
            .map_err(|m| format!("{:?} at {}", m.reject, m.column))
    }

    /// `$remote_user` as nginx writes it for any `Authorization: Basic` header: escaped only
    /// for `"`, `\` and control bytes, so it may hold spaces, brackets and a forged time.
    const HOSTILE_USERS: [&str; 9] = [
        "a [b",
        "a]b",
        "\\x22 ] [",
        "a b c",
        "-",
        "",
        "[",
        "x [19/Feb/2016:02:00:00 +0000]  ",
        "x [19/Feb/2016:02:00:00 +0000] 404 7 [",
    ];

    #[test]
    fn a_free_value_is_anchored_on_the_next_quote() {
        let fmt =
            "$remote_addr - $remote_user [$time_local]  \"$request\" $status $body_bytes_sent";
        for user in HOSTILE_USERS {
            let line = format!(
                "127.0.0.1 - {user} [30/Nov/2026:03:47:01 +0000]  \"POST /Autodiscover/Autodiscover.xml HTTP/1.1\" 404 7"
            );
            let r = parse(fmt, line.as_bytes()).unwrap_or_else(|e| panic!("{user:?}: {e}"));
            assert_eq!(r.time, Some(1_796_010_421), "{user:?}");
            assert_eq!(r.status, Some(404), "{user:?}");
            assert_eq!(
                r.request,
                Some(&b"POST /Autodiscover/Autodiscover.xml HTTP/1.1"[..])
            );
        }
        // Anchoring finds what is there, it does not invent a time.
        let no_time = "127.0.0.1 - a [b [30/Nov/2026:03:47:01]  \"GET / HTTP/1.1\" 404 7";
        assert!(parse(fmt, no_time.as_bytes()).is_err());
    }

    #[test]
    fn unquoted_values_anywhere_are_anchored() {
        // An unquoted X-Forwarded-For before the time, a list of times after a free value.
        let fmt = "$remote_addr $http_x_forwarded_for [$time_local] \"$request\" $status";
        let line =
            b"1.2.3.4 1.1.1.1, [::1] x [ [19/Feb/2016:02:00:00 +0000] \"GET / HTTP/1.1\" 200";
        let r = parse(fmt, line).unwrap();
        assert_eq!(r.forwarded_for, Some(&b"1.1.1.1, [::1] x ["[..]));
        assert_eq!(r.time, Some(1_455_847_200));
        let fmt = "$remote_user $upstream_response_time \"$request\" $status";
        let r = parse(fmt, b"a 1 0.012, 0.034 \"GET / HTTP/1.1\" 200").unwrap();
        assert_eq!(r.upstream_time_us, Some(46_000));
        // No quote after the free value: the line's end anchors it.
        let fmt = "$remote_addr \"$request\" $http_x_user $status $request_time";
        let r = parse(fmt, b"1.2.3.4 \"GET / HTTP/1.1\" a 200 0.1 b 404 0.5").unwrap();
        assert_eq!((r.status, r.request_time_us), (Some(404), Some(500_000)));
        assert!(parse(fmt, b"1.2.3.4 \"GET / HTTP/1.1\" a b 404").is_err());
    }
}
