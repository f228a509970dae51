//! Hostile Pantheon logs: what anyone on the internet can write into an access log, each
//! field within nginx's default 8 KB header buffer. `tests/memory.rs` runs them small against
//! the debug binary; `examples/floodlog.rs` writes them full size for `benches/attack.sh`.
//!
//! Line `i` of an attack is a pure function of the attack and `i`, so a log is the same
//! whether it is written whole or in parts, and a test knows its counts without reading it.

use std::io::{self, Write};

/// One probe path in each category, in the engine's order of categories.
pub const CATEGORY_PATHS: [&str; 8] = [
    "/autodiscover/autodiscover.xml",
    "/.well-known/autoconfig/mail/config-v1.1.xml",
    "/Microsoft-Server-ActiveSync",
    "/EWS/Exchange.asmx",
    "/owa/",
    "/rpc/rpcproxy.dll",
    "/.well-known/caldav",
    "/.well-known/mta-sts.txt",
];

/// An attack: every line it writes is a mail-client probe.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attack {
    /// Autodiscover probes, each from a new client (IPv6 and IPv4 alternating) for a new path,
    /// a new user agent every fifth; the minutes jump around a month, so each probe opens a
    /// new client-minute.
    Flood,
    /// Probes in turn in the first `categories` categories, all within one minute, each from a
    /// new first X-Forwarded-For hop of `bytes` bytes.
    Clients { categories: usize, bytes: usize },
    /// Autodiscover probes within one minute, each with a new path, a new user agent and a new
    /// first X-Forwarded-For hop of about `bytes` bytes each.
    Unique { bytes: usize },
    /// Autodiscover probes from a hundred clients, each with a user agent of `bytes` bytes of
    /// `fill`.
    Agent { bytes: usize, fill: u8 },
    /// The four above in turn, line by line, with `bytes` bytes of hostile field (`m` for the
    /// agent).
    Mix { bytes: usize },
}

/// Appends formatted text to `out`.
fn put(out: &mut Vec<u8>, text: std::fmt::Arguments) {
    out.write_fmt(text).expect("writing to a Vec");
}

/// Appends a field of `len` bytes: `head`, then `fill` up to `len`.
fn field(out: &mut Vec<u8>, head: std::fmt::Arguments, fill: u8, len: usize) {
    let start = out.len();
    put(out, head);
    let written = out.len() - start;
    out.resize(out.len() + len.saturating_sub(written), fill);
}

/// Appends a Pantheon line for `path` at `minute` minutes and `second` seconds past
/// 2024-03-01 00:00 UTC, with user agent `agent` and X-Forwarded-For `client`, each field
/// written by its closure.
fn line(
    out: &mut Vec<u8>,
    (minute, second): (u64, u64),
    path: impl FnOnce(&mut Vec<u8>),
    agent: impl FnOnce(&mut Vec<u8>),
    client: impl FnOnce(&mut Vec<u8>),
) {
    put(
        out,
        format_args!(
            "10.0.0.1 - - [{:02}/Mar/2024:{:02}:{:02}:{second:02} +0000]  \"POST ",
            1 + minute / 1440,
            minute / 60 % 24,
            minute % 60
        ),
    );
    path(out);
    out.extend_from_slice(b" HTTP/1.1\" 404 12 \"-\" \"");
    agent(out);
    out.extend_from_slice(b"\" 0.250 \"");
    client(out);
    out.extend_from_slice(b"\"\n");
}

/// A forged first X-Forwarded-For hop of `len` bytes, new for each `i`, and the proxy's own.
fn forged(out: &mut Vec<u8>, i: u64, len: usize) {
    field(out, format_args!("{i:x}."), b'f', len);
    out.extend_from_slice(b", 10.0.0.2");
}

/// The client of probe `i` in the flood: an IPv6 address for even `i`, IPv4 for odd.
fn flood_client(out: &mut Vec<u8>, i: u64) {
    if i % 2 == 0 {
        put(out, format_args!("2001:db8::{i:x}"));
    } else {
        let b = |shift: u32| (i >> shift) & 255;
        put(
            out,
            format_args!("{}.{}.{}.{}", 1 + (i >> 24) % 223, b(16), b(8), b(0)),
        );
    }
}

impl Attack {
    /// Appends line `i` (with its newline) to `out`.
    pub fn line(&self, i: u64, out: &mut Vec<u8>) {
        let one_minute = (0, i % 60);
        match *self {
            Attack::Flood => line(
                out,
                (i * 7919 % 40_320, i % 60),
                |o| put(o, format_args!("/autodiscover/{i:x}/autodiscover.xml")),
                |o| put(o, format_args!("Microsoft Office/16.0 ({})", i / 5)),
                |o| flood_client(o, i),
            ),
            Attack::Clients { categories, bytes } => {
                let path = CATEGORY_PATHS[i as usize % categories.clamp(1, 8)];
                line(
                    out,
                    one_minute,
                    |o| o.extend_from_slice(path.as_bytes()),
                    |o| o.extend_from_slice(b"Microsoft Office/16.0"),
                    |o| forged(o, i, bytes),
                );
            }
            Attack::Unique { bytes } => line(
                out,
                one_minute,
                |o| field(o, format_args!("/autodiscover/{i:x}/"), b'p', bytes),
                |o| {
                    field(
                        o,
                        format_args!("Microsoft Office/16.0 ({i:x} "),
                        b'u',
                        bytes,
                    )
                },
                |o| forged(o, i, bytes),
            ),
            Attack::Agent { bytes, fill } => line(
                out,
                one_minute,
                |o| o.extend_from_slice(CATEGORY_PATHS[0].as_bytes()),
                |o| o.resize(o.len() + bytes, fill),
                |o| put(o, format_args!("198.51.100.{}, 10.0.0.2", i % 100)),
            ),
            Attack::Mix { bytes } => {
                let attack = match i % 4 {
                    0 => Attack::Flood,
                    1 => Attack::Clients {
                        categories: 8,
                        bytes,
                    },
                    2 => Attack::Unique { bytes },
                    _ => Attack::Agent { bytes, fill: b'm' },
                };
                attack.line(i, out);
            }
        }
    }

    /// Writes lines `0..lines` to `out`.
    pub fn write(&self, lines: u64, out: &mut impl Write) -> io::Result<()> {
        let mut buf = Vec::with_capacity(1 << 20);
        for i in 0..lines {
            self.line(i, &mut buf);
            if buf.len() >= 1 << 20 {
                out.write_all(&buf)?;
                buf.clear();
            }
        }
        out.write_all(&buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(a: Attack, i: u64) -> String {
        let mut v = Vec::new();
        a.line(i, &mut v);
        String::from_utf8(v).unwrap()
    }

    #[test]
    fn fields_have_the_asked_length() {
        let l = text(
            Attack::Clients {
                categories: 8,
                bytes: 7000,
            },
            9,
        );
        assert!(l.contains("\"POST /.well-known/autoconfig/mail/config-v1.1.xml "));
        let xff = l.rsplit('"').nth(1).unwrap();
        assert_eq!(xff.len(), 7000 + ", 10.0.0.2".len(), "{xff}");
        assert!(xff.starts_with("9.fff"));
        let l = text(Attack::Unique { bytes: 7000 }, 1);
        assert!(l.len() > 21_000 && l.len() < 21_300, "{}", l.len());
        let l = text(
            Attack::Agent {
                bytes: 8000,
                fill: b'm',
            },
            3,
        );
        assert!(l.contains(&format!("\"{}\"", "m".repeat(8000))));
        assert!(text(Attack::Flood, 1).ends_with(" 0.250 \"1.0.0.1\"\n"));
    }

    #[test]
    fn a_log_is_its_lines() {
        let mut whole = Vec::new();
        Attack::Mix { bytes: 100 }.write(9, &mut whole).unwrap();
        let lines: String = (0..9)
            .map(|i| text(Attack::Mix { bytes: 100 }, i))
            .collect();
        assert_eq!(String::from_utf8(whole).unwrap(), lines);
        assert_eq!(lines.lines().count(), 9);
    }
}
