//! Noise records: what the storm details pass needs of each noise request (category, time,
//! status, method, client, path, user agent, client family), written compactly to the scan's
//! temporary spool, and read back in order (saved summaries keep them in their own form, see
//! [`crate::saved`]).
//!
//! A storm repeats one request thousands of times, so the strings of a request are written
//! once, as a *definition* in a numbered slot, and each request as a *line* naming its slot:
//!
//! - definition: `1`, slot (u32 LE), category (u8), family (u8, 255 = not known), then
//!   method, client, path and user agent, each as a u32 LE length and its bytes;
//! - line: `0`, slot (u32 LE), time (i64 LE), status (u16 LE, 0 = none).
//!
//! A definition replaces the slot's previous one; a line uses the latest. The scan's slots are
//! its memo's entries ([`super::memo`]), so a reader holds at most that many definitions.

use crate::classify::family::Family;
use std::io::{self, BufRead, Read, Write};

/// Most slots a spool may use (a reader allocates one definition per slot used).
const MAX_SLOTS: u32 = 1 << 16;

/// The slot [`write_full`] uses.
const FULL: u32 = 0;

/// The strings of a noise request, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Strings<'a> {
    /// Method (`-` when not logged).
    pub(crate) method: &'a [u8],
    /// Client address.
    pub(crate) client: &'a [u8],
    /// Decoded path, query removed (mailboxes masked).
    pub(crate) path: &'a [u8],
    /// Decoded user agent.
    pub(crate) user_agent: &'a [u8],
}

/// Borrowed fields of a record, for writing.
pub(crate) struct NoiseRef<'a> {
    pub(crate) category: u8,
    pub(crate) time: i64,
    pub(crate) status: u16,
    pub(crate) strings: Strings<'a>,
}

/// The strings of a slot, and what the requests that name it share.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Def {
    /// Category index.
    pub(crate) category: u8,
    /// The client family, when the writer knew it.
    pub(crate) family: Option<Family>,
    /// Method (`-` when not logged).
    pub(crate) method: Vec<u8>,
    /// Client address.
    pub(crate) client: Vec<u8>,
    /// Decoded path, query removed.
    pub(crate) path: Vec<u8>,
    /// Decoded user agent.
    pub(crate) user_agent: Vec<u8>,
}

/// One request: its slot, time and status.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Line {
    pub(crate) slot: u32,
    /// UTC epoch seconds.
    pub(crate) time: i64,
    /// Status (0 when the format has none).
    pub(crate) status: u16,
}

/// Writes the definition of `slot`: the category, the family if known, and the strings.
pub(crate) fn write_def(
    w: &mut impl Write,
    slot: u32,
    category: u8,
    family: Option<Family>,
    s: &Strings<'_>,
) -> io::Result<()> {
    let family = family
        .and_then(|f| Family::ALL.iter().position(|&g| g == f))
        .map_or(u8::MAX, |i| i as u8);
    let mut head = [0u8; 7];
    head[0] = 1;
    head[1..5].copy_from_slice(&slot.to_le_bytes());
    head[5] = category;
    head[6] = family;
    w.write_all(&head)?;
    for field in [s.method, s.client, s.path, s.user_agent] {
        let n = u32::try_from(field.len()).unwrap_or(u32::MAX);
        w.write_all(&n.to_le_bytes())?;
        w.write_all(&field[..n as usize])?;
    }
    Ok(())
}

/// Writes one request of `slot`.
#[inline]
pub(crate) fn write_line(w: &mut impl Write, slot: u32, time: i64, status: u16) -> io::Result<()> {
    let mut rec = [0u8; LINE];
    rec[1..5].copy_from_slice(&slot.to_le_bytes());
    rec[5..13].copy_from_slice(&time.to_le_bytes());
    rec[13..15].copy_from_slice(&status.to_le_bytes());
    w.write_all(&rec)
}

/// Writes one request with its own definition (for records that come one by one, not from
/// a scan).
pub(crate) fn write_full(w: &mut impl Write, r: &NoiseRef<'_>) -> io::Result<()> {
    write_def(w, FULL, r.category, None, &r.strings)?;
    write_line(w, FULL, r.time, r.status)
}

/// Most bytes a definition's buffer keeps for reuse.
const KEPT_CAPACITY: usize = 1024;

/// Bytes of a line record.
const LINE: usize = 15;

/// What [`Reader::next`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Item {
    /// A new definition of this slot (see [`Reader::def`]).
    Def(u32),
    /// A request.
    Line(Line),
}

/// Reads a spool back, keeping the definitions.
pub(crate) struct Reader<R> {
    r: R,
    defs: Vec<Def>,
    /// The definition the last [`Item::Def`] replaced.
    previous: Def,
}

fn corrupt(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("noise spool: {what}"))
}

impl<R: BufRead> Reader<R> {
    pub(crate) fn new(r: R) -> Self {
        Reader {
            r,
            defs: Vec::new(),
            previous: Def::default(),
        }
    }

    /// The latest definition of `slot` (empty if none was read).
    pub(crate) fn def(&self, slot: u32) -> &Def {
        static EMPTY: Def = Def {
            category: 0,
            family: None,
            method: Vec::new(),
            client: Vec::new(),
            path: Vec::new(),
            user_agent: Vec::new(),
        };
        self.defs.get(slot as usize).unwrap_or(&EMPTY)
    }

    /// Bytes the definitions' buffers hold.
    #[cfg(test)]
    fn held(&self) -> usize {
        let one = |d: &Def| {
            d.method.capacity() + d.client.capacity() + d.path.capacity() + d.user_agent.capacity()
        };
        self.defs.iter().map(one).sum::<usize>() + one(&self.previous)
    }

    /// The definition the last [`Item::Def`] replaced (empty if the slot had none).
    pub(crate) fn previous(&self) -> &Def {
        &self.previous
    }

    /// The next record; `None` at the end. A line wholly in the reader's buffer is decoded
    /// in place.
    pub(crate) fn next(&mut self) -> io::Result<Option<Item>> {
        let buf = self.r.fill_buf()?;
        let Some(&tag) = buf.first() else {
            return Ok(None);
        };
        if tag == 0 {
            if let Some(rec) = buf.first_chunk::<LINE>() {
                let line = decode_line(rec);
                self.r.consume(LINE);
                return Ok(Some(Item::Line(line)));
            }
            let mut rec = [0u8; LINE];
            self.r.read_exact(&mut rec)?;
            return Ok(Some(Item::Line(decode_line(&rec))));
        }
        if tag != 1 {
            return Err(corrupt("unknown record"));
        }
        // The definition replaced last is the caller's no more: its buffers are reused, but
        // not those a long one grew (they would go round every slot by the swaps).
        for v in [
            &mut self.previous.method,
            &mut self.previous.client,
            &mut self.previous.path,
            &mut self.previous.user_agent,
        ] {
            if v.capacity() > KEPT_CAPACITY {
                *v = Vec::new();
            }
        }
        let buf = self.r.fill_buf()?;
        if let Some((slot, n)) = decode_def(buf, &mut self.previous) {
            self.r.consume(n);
            return self.install(slot);
        }
        let mut head = [0u8; 7];
        self.r.read_exact(&mut head)?;
        let slot = u32::from_le_bytes(head[1..5].try_into().expect("4 bytes"));
        let d = &mut self.previous;
        d.category = head[5];
        d.family = Family::ALL.get(usize::from(head[6])).copied();
        for out in [&mut d.method, &mut d.client, &mut d.path, &mut d.user_agent] {
            let mut len = [0u8; 4];
            self.r.read_exact(&mut len)?;
            out.clear();
            (&mut self.r)
                .take(u64::from(u32::from_le_bytes(len)))
                .read_to_end(out)?;
        }
        self.install(slot)
    }

    /// Hands the line records at the front of the reader's buffer to `each`, up to a
    /// definition, the end, or a record the buffer holds only part of (which
    /// [`next`](Self::next) reads). A spool is mostly lines: decoded in a run, one costs a
    /// fraction of a call of `next` (about 100 instructions with the buffer's checks).
    pub(crate) fn buffered_lines(&mut self, mut each: impl FnMut(Line)) -> io::Result<()> {
        let buf = self.r.fill_buf()?;
        let mut used = 0;
        for rec in buf.chunks_exact(LINE) {
            let rec: &[u8; LINE] = rec.try_into().expect("LINE bytes");
            if rec[0] != 0 {
                break;
            }
            each(decode_line(rec));
            used += LINE;
        }
        self.r.consume(used);
        Ok(())
    }

    /// Makes the definition just read (in `previous`) that of `slot`, the one it replaces
    /// `previous`.
    fn install(&mut self, slot: u32) -> io::Result<Option<Item>> {
        if slot >= MAX_SLOTS {
            return Err(corrupt("slot out of range"));
        }
        let at = slot as usize;
        if self.defs.len() <= at {
            self.defs.resize_with(at + 1, Def::default);
        }
        std::mem::swap(&mut self.defs[at], &mut self.previous);
        Ok(Some(Item::Def(slot)))
    }
}

/// Decodes a definition wholly at the start of `buf` into `d`: its slot and length, or `None`
/// if `buf` ends first (`d` may then hold part of it).
fn decode_def(buf: &[u8], d: &mut Def) -> Option<(u32, usize)> {
    let head = buf.first_chunk::<7>()?;
    let slot = u32::from_le_bytes(head[1..5].try_into().expect("4 bytes"));
    let mut at = 7;
    for out in [&mut d.method, &mut d.client, &mut d.path, &mut d.user_agent] {
        let len = u32::from_le_bytes(*buf.get(at..)?.first_chunk::<4>()?) as usize;
        let bytes = buf.get(at + 4..)?.get(..len)?;
        out.clear();
        out.extend_from_slice(bytes);
        at += 4 + len;
    }
    d.category = head[5];
    d.family = Family::ALL.get(usize::from(head[6])).copied();
    Some((slot, at))
}

fn decode_line(rec: &[u8; LINE]) -> Line {
    Line {
        slot: u32::from_le_bytes(rec[1..5].try_into().expect("4 bytes")),
        time: i64::from_le_bytes(rec[5..13].try_into().expect("8 bytes")),
        status: u16::from_le_bytes(rec[13..15].try_into().expect("2 bytes")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything a reader gives, read as the details pass reads it (runs of lines from the
    /// buffer, the rest one by one): per line, its slot's definition then and the line.
    fn read_all(buf: &[u8], capacity: usize) -> Vec<(Def, i64, u16)> {
        let mut rd = Reader::new(std::io::BufReader::with_capacity(capacity, buf));
        let mut got = Vec::new();
        loop {
            let mut run = Vec::new();
            rd.buffered_lines(|l| run.push(l)).unwrap();
            for l in run {
                got.push((rd.def(l.slot).clone(), l.time, l.status));
            }
            match rd.next().unwrap() {
                None => return got,
                Some(Item::Line(l)) => got.push((rd.def(l.slot).clone(), l.time, l.status)),
                Some(Item::Def(_)) => {}
            }
        }
    }

    #[test]
    fn lines_name_the_latest_definition_of_their_slot_at_any_buffer_size() {
        let mut buf = Vec::new();
        let mut want = Vec::new();
        for i in 0..60u8 {
            let path = format!("/autodiscover/{}", "x".repeat(usize::from(i) * 3));
            let ua = "u".repeat(usize::from(i % 7) * 11);
            let r = NoiseRef {
                category: i % 8,
                time: i64::from(i) * 1000 - 7,
                status: 400 + u16::from(i),
                strings: Strings {
                    method: b"GET",
                    client: b"203.0.113.9",
                    path: path.as_bytes(),
                    user_agent: ua.as_bytes(),
                },
            };
            let slot = u32::from(i % 5);
            let family = (i % 2 == 0).then_some(Family::Thunderbird);
            // A slot is redefined every few lines; some lines come with their own.
            if i % 3 == 0 {
                write_full(&mut buf, &r).unwrap();
            } else {
                write_def(&mut buf, slot + 1, r.category, family, &r.strings).unwrap();
                write_line(&mut buf, slot + 1, r.time, r.status).unwrap();
                for k in 0..=i64::from(i % 5) {
                    write_line(&mut buf, slot + 1, r.time + 1 + k, 0).unwrap();
                }
            }
            let def = Def {
                category: r.category,
                family: if i % 3 == 0 { None } else { family },
                method: b"GET".to_vec(),
                client: b"203.0.113.9".to_vec(),
                path: path.as_bytes().to_vec(),
                user_agent: ua.as_bytes().to_vec(),
            };
            want.push((def.clone(), r.time, r.status));
            if i % 3 != 0 {
                for k in 0..=i64::from(i % 5) {
                    want.push((def.clone(), r.time + 1 + k, 0));
                }
            }
        }
        for capacity in [1, 7, 11, 15, 16, 31, 64, 100, 1 << 16] {
            assert_eq!(read_all(&buf, capacity), want, "capacity {capacity}");
        }
    }

    /// A slot that holds 7 KB strings now and then (a key too long to memoize) does not
    /// pass its buffers on to every other slot through the swaps.
    #[test]
    fn long_definitions_do_not_spread_to_every_slot() {
        let long = "x".repeat(7000);
        let (long, short) = (long.as_bytes(), &b"/autodiscover/autodiscover.xml"[..]);
        let strings = |s: &'static [u8], text| Strings {
            method: s,
            client: text,
            path: text,
            user_agent: text,
        };
        let (big, small) = (strings(b"GET", long), strings(b"GET", short));
        let mut buf = Vec::new();
        for slot in 0..1000 {
            write_def(&mut buf, 4096, 0, None, &big).unwrap();
            write_line(&mut buf, 4096, 1, 404).unwrap();
            write_def(&mut buf, slot, 0, None, &small).unwrap();
            write_line(&mut buf, slot, 1, 404).unwrap();
        }
        let mut rd = Reader::new(&buf[..]);
        let mut most = 0;
        while rd.next().unwrap().is_some() {
            most = most.max(rd.held());
        }
        assert!(
            most < 1000 * 4 * KEPT_CAPACITY / 4 + 4 * 3 * 8192,
            "{most} bytes held"
        );
    }

    #[test]
    fn a_corrupt_spool_is_an_error() {
        assert!(Reader::new(&[7u8, 0, 0][..]).next().is_err());
        let mut buf = Vec::new();
        let r = NoiseRef {
            category: 0,
            time: 0,
            status: 0,
            strings: Strings {
                method: b"",
                client: b"",
                path: b"",
                user_agent: b"",
            },
        };
        write_def(&mut buf, MAX_SLOTS, 0, None, &r.strings).unwrap();
        assert!(Reader::new(&buf[..]).next().is_err());
        // Cut in the middle of a line.
        let mut buf = Vec::new();
        write_line(&mut buf, 1, 5, 404).unwrap();
        assert!(Reader::new(&buf[..9]).next().is_err());
    }
}
