//! Noise records: what the storm details pass needs of each noise request (category, time,
//! status, method, client, path, user agent), written compactly to the scan's temporary
//! spool, and read back in order (saved summaries keep them in their own form, see
//! [`crate::saved`]).
//!
//! Layout of one record: category (u8), time (i64 LE), status (u16 LE, 0 = none), then
//! method, client, path and user agent, each as a u32 LE length and its bytes.

use std::io::{self, BufRead, Read, Write};

/// One noise request, owned.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct NoiseRecord {
    /// Category index.
    pub(crate) category: u8,
    /// UTC epoch seconds.
    pub(crate) time: i64,
    /// Status (0 when the format has none).
    pub(crate) status: u16,
    /// Method (`-` when not logged).
    pub(crate) method: Vec<u8>,
    /// Client address.
    pub(crate) client: Vec<u8>,
    /// Decoded path, query removed.
    pub(crate) path: Vec<u8>,
    /// Decoded user agent.
    pub(crate) user_agent: Vec<u8>,
}

/// Borrowed fields of a record, for writing.
pub(crate) struct NoiseRef<'a> {
    pub(crate) category: u8,
    pub(crate) time: i64,
    pub(crate) status: u16,
    pub(crate) method: &'a [u8],
    pub(crate) client: &'a [u8],
    pub(crate) path: &'a [u8],
    pub(crate) user_agent: &'a [u8],
}

/// Writes one record.
pub(crate) fn write(w: &mut impl Write, r: &NoiseRef<'_>) -> io::Result<()> {
    w.write_all(&[r.category])?;
    w.write_all(&r.time.to_le_bytes())?;
    w.write_all(&r.status.to_le_bytes())?;
    for field in [r.method, r.client, r.path, r.user_agent] {
        let n = u32::try_from(field.len()).unwrap_or(u32::MAX);
        w.write_all(&n.to_le_bytes())?;
        w.write_all(&field[..n as usize])?;
    }
    Ok(())
}

fn read_field(r: &mut impl Read, out: &mut Vec<u8>) -> io::Result<()> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    out.resize(u32::from_le_bytes(len) as usize, 0);
    r.read_exact(out)
}

/// Reads the next record into `rec`; `false` at the end. A record wholly in the reader's
/// buffer is decoded in place; one that straddles the buffer's end is read piece by piece.
pub(crate) fn read(r: &mut impl BufRead, rec: &mut NoiseRecord) -> io::Result<bool> {
    let buf = r.fill_buf()?;
    if buf.is_empty() {
        return Ok(false);
    }
    if let Some(n) = decode(buf, rec) {
        r.consume(n);
        return Ok(true);
    }
    read_slowly(r, rec)
}

/// Decodes one record from the start of `buf`; its length, or `None` if `buf` ends first.
#[inline]
fn decode(buf: &[u8], rec: &mut NoiseRecord) -> Option<usize> {
    let head = buf.first_chunk::<11>()?;
    let mut at = 11;
    let mut field = |out: &mut Vec<u8>| {
        let len = u32::from_le_bytes(*buf.get(at..)?.first_chunk::<4>()?) as usize;
        let bytes = buf.get(at + 4..at + 4 + len)?;
        out.clear();
        out.extend_from_slice(bytes);
        at += 4 + len;
        Some(())
    };
    field(&mut rec.method)?;
    field(&mut rec.client)?;
    field(&mut rec.path)?;
    field(&mut rec.user_agent)?;
    rec.category = head[0];
    rec.time = i64::from_le_bytes(head[1..9].try_into().expect("8 bytes"));
    rec.status = u16::from_le_bytes(head[9..11].try_into().expect("2 bytes"));
    Some(at)
}

/// [`read`] for a record that straddles the end of the reader's buffer.
fn read_slowly(r: &mut impl Read, rec: &mut NoiseRecord) -> io::Result<bool> {
    let mut head = [0u8; 11];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    rec.category = head[0];
    rec.time = i64::from_le_bytes(head[1..9].try_into().expect("8 bytes"));
    rec.status = u16::from_le_bytes(head[9..11].try_into().expect("2 bytes"));
    read_field(r, &mut rec.method)?;
    read_field(r, &mut rec.client)?;
    read_field(r, &mut rec.path)?;
    read_field(r, &mut rec.user_agent)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let mut buf = Vec::new();
        let r = NoiseRef {
            category: 2,
            time: -5,
            status: 404,
            method: b"POST",
            client: b"1.2.3.4",
            path: b"/owa/",
            user_agent: b"",
        };
        write(&mut buf, &r).unwrap();
        write(&mut buf, &r).unwrap();
        let mut rd = &buf[..];
        let mut rec = NoiseRecord::default();
        assert!(read(&mut rd, &mut rec).unwrap());
        assert_eq!((rec.category, rec.time, rec.status), (2, -5, 404));
        assert_eq!(
            (&rec.method[..], &rec.path[..], &rec.user_agent[..]),
            (&b"POST"[..], &b"/owa/"[..], &b""[..])
        );
        assert!(read(&mut rd, &mut rec).unwrap());
        assert!(!read(&mut rd, &mut rec).unwrap());
    }

    #[test]
    fn records_that_straddle_the_buffer_read_the_same() {
        let mut buf = Vec::new();
        let mut want = Vec::new();
        for i in 0..50u8 {
            let path = format!("/autodiscover/{}", "x".repeat(usize::from(i) * 3));
            let ua = "u".repeat(usize::from(i % 7) * 11);
            let r = NoiseRef {
                category: i % 8,
                time: i64::from(i) * 1000 - 7,
                status: 400 + u16::from(i),
                method: b"GET",
                client: b"203.0.113.9",
                path: path.as_bytes(),
                user_agent: ua.as_bytes(),
            };
            write(&mut buf, &r).unwrap();
            want.push((r.category, r.time, r.status, path, ua));
        }
        for capacity in [1, 7, 11, 16, 64, 1 << 16] {
            let mut rd = std::io::BufReader::with_capacity(capacity, &buf[..]);
            let mut rec = NoiseRecord::default();
            let mut got = Vec::new();
            while read(&mut rd, &mut rec).unwrap() {
                got.push((
                    rec.category,
                    rec.time,
                    rec.status,
                    String::from_utf8(rec.path.clone()).unwrap(),
                    String::from_utf8(rec.user_agent.clone()).unwrap(),
                ));
            }
            assert_eq!(got, want, "capacity {capacity}");
        }
    }
}
