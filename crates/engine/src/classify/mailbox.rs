//! The mail domain (and mailbox, when the request names one) a noise request probes for: from
//! Outlook's REST Autodiscover path (`/autodiscover/autodiscover.json/v1.0/someone@example.com`),
//! from an `Email=` or `emailaddress=` query parameter, or from a `$host` such as
//! `autodiscover.example.com`.
//!
//! Only noise requests get here, and every string is the sender's: the work per request is
//! bounded (the mailbox is at most [`MAX_MAILBOX`] bytes, the query is read for at most
//! [`MAX_PARAMS`] parameters), nothing panics, and anything that is not a plain hostname (LDH
//! labels, at least one dot, at most 253 bytes, lower-cased; IDN stays punycode) or a plain
//! local part is ignored. The local part is personal data: [`MailScratch::look`] hides it in a
//! path that is kept.

/// Longest local part kept (RFC 5321).
pub(crate) const MAX_LOCAL: usize = 64;
/// Longest domain (RFC 1035, without the root dot).
pub(crate) const MAX_DOMAIN: usize = 253;
/// Longest mailbox: local part, `@`, domain.
pub(crate) const MAX_MAILBOX: usize = MAX_LOCAL + 1 + MAX_DOMAIN;
/// How many query parameters are looked at.
const MAX_PARAMS: usize = 32;
/// The REST Autodiscover path before the mailbox (matched without regard to case).
const REST: &[u8] = b"/autodiscover.json/v1.0/";
/// Host prefixes that name a mail domain.
const HOST_PREFIXES: [&[u8]; 3] = [b"autodiscover.", b"autoconfig.", b"mta-sts."];

/// What a request says about the mail domain it probes for. The bytes live in the caller's
/// buffer: `mailbox[..at]` is the local part (empty when only the domain is known),
/// `mailbox[at + 1..]` (or all of it, without a local part) the lower-cased domain.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Found<'b> {
    /// The domain, lower-case.
    pub(crate) domain: &'b [u8],
    /// The local part, lower-case, if the request named a mailbox.
    pub(crate) local: Option<&'b [u8]>,
    /// The mailbox came from the path (so a kept path must hide it).
    pub(crate) in_path: bool,
}

/// The mail domain a noise request names: a mailbox in the REST Autodiscover path, else in
/// the first `Email`/`emailaddress` parameter, else the domain of a `$host` that starts with
/// `autodiscover.`, `autoconfig.` or `mta-sts.`. `buf` holds the decoded bytes.
pub(crate) fn find<'b>(
    path: &[u8],
    query: &[u8],
    host: Option<&[u8]>,
    buf: &'b mut Vec<u8>,
) -> Option<Found<'b>> {
    buf.clear();
    let mut in_path = false;
    let at = match rest_segment(path).and_then(|s| mailbox(s, buf)) {
        Some(at) => {
            in_path = true;
            Some(at)
        }
        None => {
            buf.clear();
            query_mailbox(query, buf)
        }
    };
    if let Some(at) = at {
        let (local, domain) = buf.split_at(at);
        return Some(Found {
            domain: &domain[1..],
            local: Some(local),
            in_path,
        });
    }
    buf.clear();
    let host = host?;
    let host = match memchr::memchr(b':', host) {
        Some(i) => &host[..i],
        None => host,
    };
    let rest = HOST_PREFIXES.iter().find_map(|p| {
        (host.len() > p.len() && host[..p.len()].eq_ignore_ascii_case(p)).then(|| &host[p.len()..])
    })?;
    push_domain(rest, buf)?;
    Some(Found {
        domain: buf,
        local: None,
        in_path: false,
    })
}

/// A worker's buffers for [`find`] and [`masked_path`].
#[derive(Debug, Default)]
pub(crate) struct MailScratch {
    buf: Vec<u8>,
    masked: Vec<u8>,
    /// The kept path once [`mask_path`] has masked what [`mask_segment`] left.
    kept: Vec<u8>,
}

impl MailScratch {
    /// Buffers for a worker.
    pub(crate) fn new() -> Self {
        MailScratch {
            buf: Vec::with_capacity(MAX_MAILBOX),
            masked: Vec::new(),
            kept: Vec::new(),
        }
    }

    /// `path` as it may be kept: every mailbox's local part in it masked ([`mask_path`]).
    /// For paths kept without [`MailScratch::look`] (the served look-alikes).
    pub(crate) fn mask<'s>(&'s mut self, path: &'s [u8]) -> &'s [u8] {
        mask_path(path, &mut self.kept)
    }

    /// What a noise request names ([`find`]), and its path as it may be kept: with the local
    /// part of a REST Autodiscover mailbox masked, always (paths are kept in lists, storm
    /// details and saved summaries; a mailbox is shown, when asked, only among its domain's),
    /// and so is the local part of any other mailbox the path holds, valid or not
    /// ([`mask_path`]: a second mailbox, a domain without a dot, a local part of 70 bytes).
    pub(crate) fn look<'s>(
        &'s mut self,
        path: &'s [u8],
        query: &[u8],
        host: Option<&[u8]>,
    ) -> (Option<Found<'s>>, &'s [u8]) {
        let MailScratch { buf, masked, kept } = self;
        let found = find(path, query, host, buf);
        let path = match &found {
            Some(f) if f.in_path => {
                mask_segment(path, f.local.unwrap_or_default(), f.domain, masked)
            }
            _ => path,
        };
        (found, mask_path(path, kept))
    }
}

/// The path segment after `/autodiscover.json/v1.0/`, if the path has one.
fn rest_segment(path: &[u8]) -> Option<&[u8]> {
    // Paths are case-insensitive: compare at each `/` (one pass, no copy).
    let start = memchr::memchr_iter(b'/', path).find(|&i| {
        path.get(i..i + REST.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(REST))
    })?;
    let seg = &path[start + REST.len()..];
    let end = memchr::memchr(b'/', seg).unwrap_or(seg.len());
    Some(&seg[..end])
}

/// The first `Email` or `emailaddress` parameter's value, as a mailbox into `buf`.
fn query_mailbox(query: &[u8], buf: &mut Vec<u8>) -> Option<usize> {
    for param in query.split(|&b| b == b'&').take(MAX_PARAMS) {
        let Some(eq) = memchr::memchr(b'=', param) else {
            continue;
        };
        let name = &param[..eq];
        if name.eq_ignore_ascii_case(b"email") || name.eq_ignore_ascii_case(b"emailaddress") {
            return mailbox(&param[eq + 1..], buf);
        }
    }
    None
}

/// Decodes `%XX` in `s` into `buf` (lower-cased), then checks it is `local@domain`; the
/// position of the `@` in `buf`.
fn mailbox(s: &[u8], buf: &mut Vec<u8>) -> Option<usize> {
    if s.len() > 3 * MAX_MAILBOX {
        return None;
    }
    let mut i = 0;
    while i < s.len() {
        let b = match s[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                i += 2;
                (hex_val(hex[0])? << 4) | hex_val(hex[1])?
            }
            b => b,
        };
        buf.push(b.to_ascii_lowercase());
        i += 1;
    }
    if buf.len() > MAX_MAILBOX {
        return None;
    }
    let at = memchr::memrchr(b'@', buf)?;
    let local = &buf[..at];
    if local.is_empty() || local.len() > MAX_LOCAL || !local.iter().all(|&b| local_byte(b)) {
        return None;
    }
    // The domain is lower-cased already; drop a root dot and check it in place.
    if buf.len() > at + 1 && buf.last() == Some(&b'.') {
        buf.pop();
    }
    valid_domain(&buf[at + 1..]).then_some(at)
}

fn hex_val(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// A byte a local part may hold (RFC 5322 `atext` and the dot).
fn local_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&b)
}

/// Appends `d`, lower-cased and without a root dot, if it is a plain hostname.
fn push_domain(d: &[u8], buf: &mut Vec<u8>) -> Option<()> {
    let d = d.strip_suffix(b".").unwrap_or(d);
    if !valid_domain(d) {
        return None;
    }
    buf.extend(d.iter().map(u8::to_ascii_lowercase));
    Some(())
}

/// Whether `d` is a hostname: LDH labels of 1 to 63 bytes, no hyphen at either end, at least
/// two labels, at most 253 bytes, and a top-level label of at least two bytes that is not
/// all digits (not an address; no top-level domain has one letter, so `a@b.c`, a
/// placeholder some clients send, names no domain).
pub(crate) fn valid_domain(d: &[u8]) -> bool {
    if d.len() > MAX_DOMAIN || memchr::memchr(b'.', d).is_none() {
        return false;
    }
    let labels_ok = d.split(|&b| b == b'.').all(|l| {
        (1..=63).contains(&l.len())
            && l.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
            && l[0] != b'-'
            && l[l.len() - 1] != b'-'
    });
    let tld = d.rsplit(|&b| b == b'.').next().unwrap_or_default();
    labels_ok && tld.len() >= 2 && !tld.iter().all(u8::is_ascii_digit)
}

/// Whether `l` is a local part as [`find`] keeps it (lower-case).
pub(crate) fn valid_local(l: &[u8]) -> bool {
    !l.is_empty()
        && l.len() <= MAX_LOCAL
        && l.iter().all(|&b| local_byte(b) && !b.is_ascii_uppercase())
}

/// `path` with the mailbox of its REST Autodiscover segment replaced by the masked form
/// (`s*****@example.com`), written into `out`; `path` itself when it names none.
#[cfg(test)]
fn masked_path<'a>(path: &'a [u8], out: &'a mut Vec<u8>) -> &'a [u8] {
    let Some(seg) = rest_segment(path) else {
        return path;
    };
    let mut scratch = Vec::new();
    let Some(at) = mailbox(seg, &mut scratch) else {
        return path;
    };
    mask_segment(path, &scratch[..at], &scratch[at + 1..], out)
}

/// `path` with its REST Autodiscover segment, which [`find`] read as `local@domain`,
/// replaced by the masked mailbox, written into `out`.
fn mask_segment<'a>(path: &'a [u8], local: &[u8], domain: &[u8], out: &'a mut Vec<u8>) -> &'a [u8] {
    let Some(seg) = rest_segment(path) else {
        return path;
    };
    let start = seg.as_ptr() as usize - path.as_ptr() as usize;
    out.clear();
    out.extend_from_slice(&path[..start]);
    push_masked(local, domain, out);
    out.extend_from_slice(&path[start + seg.len()..]);
    out
}

/// The length of the `@` that starts `s`: `@` itself, `%40`, or `%40` percent-encoded again
/// (`%2540`, `%252540`, ...); 0 when `s` does not start with one.
fn at_sign(s: &[u8]) -> usize {
    match s.first() {
        Some(b'@') => 1,
        Some(b'%') => {
            let mut i = 1;
            while s.get(i..i + 2) == Some(b"25") {
                i += 2;
            }
            if s.get(i..i + 2) == Some(b"40") {
                i + 2
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// Writes `s` into `out` with the local part of every mailbox in it masked: before each `@`
/// ([`at_sign`]: `%40` and `%2540` too), the bytes back to the last `boundary` byte become
/// their first byte and five stars, as [`push_masked`] writes them. One pass; `false` (and
/// `out` not meaningful) when there was nothing to mask.
fn mask_locals(s: &[u8], boundary: impl Fn(u8) -> bool, out: &mut Vec<u8>) -> bool {
    let (mut start, mut copied, mut i) = (0, 0, 0);
    let mut changed = false;
    out.clear();
    while i < s.len() {
        let at = at_sign(&s[i..]);
        if at > 0 {
            if i > start {
                out.extend_from_slice(&s[copied..=start]);
                out.extend_from_slice(b"*****");
                copied = i;
                changed = true;
            }
            i += at;
            start = i;
            continue;
        }
        if boundary(s[i]) {
            start = i + 1;
        }
        i += 1;
    }
    if changed {
        out.extend_from_slice(&s[copied..]);
    }
    changed
}

/// `path` (as kept: in lists, storm details, the served look-alikes, saved summaries) with
/// the local part of every mailbox in it masked, whether or not the mailbox names a domain
/// [`find`] keeps: the bytes back to the previous `/` ([`mask_locals`]). Written into `out`;
/// `path` itself when it holds no `@`.
pub(crate) fn mask_path<'a>(path: &'a [u8], out: &'a mut Vec<u8>) -> &'a [u8] {
    if memchr::memchr2(b'@', b'%', path).is_none() || !mask_locals(path, |b| b == b'/', out) {
        return path;
    }
    out
}

/// `text` (a log line, for the samples of rejected lines) with the local part of every
/// `local@domain` or `local%40domain` in it masked ([`mask_locals`]), back to a space, a
/// control byte or a delimiter (`/?=&:,;<>[]`): so the path and parameter names around it
/// stay readable, and a local part no mailbox may hold (quoted, with parentheses, UTF-8) is
/// hidden all the same. `text` itself when there is nothing to mask.
pub(crate) fn mask_text(text: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    let boundary = |b: u8| b <= b' ' || b == 0x7f || b"/?=&:,;<>[]".contains(&b);
    let mut out = Vec::new();
    if mask_locals(text, boundary, &mut out) {
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

/// Appends `local@domain` masked: its first byte and always five stars, so the length of
/// the local part does not show.
pub(crate) fn push_masked(local: &[u8], domain: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(&local[..local.len().min(1)]);
    out.extend_from_slice(b"*****@");
    out.extend_from_slice(domain);
}

/// Whether the haystack holds the REST Autodiscover marker, for callers that decide cheaply.
#[cfg(test)]
fn has_rest(path: &[u8]) -> bool {
    memchr::memmem::find(&path.to_ascii_lowercase(), REST).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailboxes_in_a_line_are_masked_and_the_rest_kept() {
        let mask = |t: &str| String::from_utf8(mask_text(t.as_bytes()).into_owned()).unwrap();
        assert_eq!(
            mask("GET /autodiscover/autodiscover.json/v1.0/secret.person@example.org?Protocol=x"),
            "GET /autodiscover/autodiscover.json/v1.0/s*****@example.org?Protocol=x"
        );
        assert_eq!(
            mask("?emailaddress=hiddenname%40example.org&x=1 and Email=JOHN@b.org"),
            "?emailaddress=h*****%40example.org&x=1 and Email=J*****@b.org"
        );
        // A one-byte local part is shown as masked too; nothing before `@`, nothing masked.
        assert_eq!(mask("a@b.org @x %40y"), "a*****@b.org @x %40y");
        assert_eq!(mask("no mailbox here"), "no mailbox here");
        assert!(matches!(mask_text(b"plain"), std::borrow::Cow::Borrowed(_)));
        assert_eq!(mask("x@@y"), "x*****@@y");
        assert_eq!(mask("%4"), "%4");
        assert_eq!(mask("v1.0/qzab(x)@e.org"), "v1.0/q*****@e.org");
        assert_eq!(mask(r#"v1.0/\"qzab\"@e.org"#), r#"v1.0/\*****@e.org"#);
        assert_eq!(mask("u=j\u{f6}hn@e.org x"), "u=j*****@e.org x");
        assert_eq!(
            mask(r#"mailto:qz@e.org, "qz@e.org""#),
            r#"mailto:q*****@e.org, "*****@e.org""#
        );
        assert_eq!(mask("x=qz%2540e.org"), "x=q*****%2540e.org");
    }

    fn found(path: &str, query: &str, host: Option<&str>) -> Option<(String, Option<String>)> {
        let mut buf = Vec::new();
        let f = find(
            path.as_bytes(),
            query.as_bytes(),
            host.map(str::as_bytes),
            &mut buf,
        )?;
        let s = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        Some((s(f.domain), f.local.map(s)))
    }

    #[test]
    fn finds_the_mailbox_in_the_rest_path_the_query_and_the_host() {
        let want = |d: &str, l: Option<&str>| Some((d.to_string(), l.map(str::to_string)));
        assert_eq!(
            found(
                "/autodiscover/autodiscover.json/v1.0/Someone@Example.COM",
                "Protocol=AutodiscoverV1",
                None
            ),
            want("example.com", Some("someone"))
        );
        assert_eq!(
            found(
                "/.well-known/autoconfig/mail/config-v1.1.xml",
                "a=1&EmailAddress=info%40example.org&email=x@y.net",
                None
            ),
            want("example.org", Some("info"))
        );
        assert_eq!(
            found(
                "/Autodiscover/Autodiscover.xml",
                "",
                Some("AutoDiscover.Example.net:443")
            ),
            want("example.net", None)
        );
        assert_eq!(
            found("/.well-known/mta-sts.txt", "", Some("mta-sts.example.org")),
            want("example.org", None)
        );
        assert_eq!(
            found(
                "/autodiscover/autodiscover.xml",
                "",
                Some("www.example.org")
            ),
            None
        );
        assert!(has_rest(b"/AUTODISCOVER/AUTODISCOVER.JSON/V1.0/a@b.c"));
    }

    #[test]
    fn hostile_strings_are_ignored_without_panicking() {
        let long = "a".repeat(70);
        let huge = "%41".repeat(100_000);
        let label = "b".repeat(64);
        let cases = [
            format!("{long}@example.com"),
            format!("x@{label}.com"),
            "x@example".into(),
            "x@1.2.3.4".into(),
            "x@-bad.com".into(),
            "x@bad-.com".into(),
            "x@exa mple.com".into(),
            "x@ex%00ample.com".into(),
            "x y@example.com".into(),
            "<script>@example.com".into(),
            "@example.com".into(),
            "x@".into(),
            "%".into(),
            "%4".into(),
            "%zz@example.com".into(),
            "x@ex..ample.com".into(),
            "a@b.c".into(),
            "x@é.com".into(),
            format!("{huge}@example.com"),
            format!("x@{}", "a.".repeat(200)),
        ];
        for c in &cases {
            let path = format!("/autodiscover/autodiscover.json/v1.0/{c}");
            assert_eq!(found(&path, "", None), None, "{c}");
            assert_eq!(
                found("/autodiscover", &format!("Email={c}"), None),
                None,
                "{c}"
            );
            let mut out = Vec::new();
            assert_eq!(masked_path(path.as_bytes(), &mut out), path.as_bytes());
        }
        for host in [
            "autodiscover.",
            "autodiscover.x",
            "mta-sts.1.2",
            "autoconfig.a_b.com",
        ] {
            assert_eq!(found("/autodiscover", "", Some(host)), None, "{host}");
        }
        // Parameters past the limit are not read.
        let many = format!("{}email=a@example.com", "x=1&".repeat(40));
        assert_eq!(found("/autodiscover", &many, None), None);
        assert_eq!(
            found(
                "/autodiscover/autodiscover.json/v1.0/xn--bcher-kva.example@xn--bcher-kva.example",
                "",
                None
            ),
            Some((
                "xn--bcher-kva.example".into(),
                Some("xn--bcher-kva.example".into())
            ))
        );
    }

    #[test]
    fn mask_path_masks_every_local_part_back_to_the_segment_start() {
        let m = |p: &str| {
            let mut out = Vec::new();
            String::from_utf8(mask_path(p.as_bytes(), &mut out).to_vec()).unwrap()
        };
        assert_eq!(m("/a/bob@intranet/c"), "/a/b*****@intranet/c");
        assert_eq!(m("/a/bob(x)@x.org"), "/a/b*****@x.org");
        assert_eq!(m("/a/bob%2540x.org"), "/a/b*****%2540x.org");
        assert_eq!(m("/a/bob%252540x.org"), "/a/b*****%252540x.org");
        assert_eq!(m("/a@x.org/bob%40y.org"), "/a*****@x.org/b*****%40y.org");
        assert_eq!(m("/s*****@x.org"), "/s*****@x.org");
        assert_eq!(m("/@x/%40/%25/%2540"), "/@x/%40/%25/%2540");
        assert_eq!(m("/plain/%41"), "/plain/%41");
    }

    #[test]
    fn the_masked_path_hides_the_local_part_and_its_length() {
        let mut out = Vec::new();
        let p = b"/autodiscover/autodiscover.json/v1.0/Someone.Long@example.com/x";
        assert_eq!(
            masked_path(p, &mut out),
            b"/autodiscover/autodiscover.json/v1.0/s*****@example.com/x"
        );
        let mut out = Vec::new();
        assert_eq!(
            masked_path(b"/autodiscover/x", &mut out),
            b"/autodiscover/x"
        );
        assert!(valid_local(b"info") && !valid_local(b"Info") && !valid_local(b""));
    }
}
