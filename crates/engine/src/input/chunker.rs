//! The chunker: the only code that knows where read buffers end.
//!
//! It reads a source into large buffers and hands out blocks of whole lines: each block ends
//! at its last `\n`, and the partial line after it is carried to the start of the next buffer.
//! A line that grows past the line-length cap without a `\n` is not buffered further: it is
//! handed out as one [`Payload::Overlong`] line (its first bytes only) and skipped to its end,
//! so memory stays bounded whatever the input. Buffers come from and return to a pool, so a
//! long scan reuses the same few allocations.

use super::block::{Block, Bytes, ChunkConfig, Flow, Payload, OVERLONG_HEAD};
use memchr::{memchr, memrchr};
use std::io::{self, Read};

/// Reads until `*filled >= want` or end of input; returns `true` at end of input.
fn fill(r: &mut dyn Read, buf: &mut Vec<u8>, filled: &mut usize, want: usize) -> io::Result<bool> {
    if buf.len() < want {
        buf.resize(want, 0);
    }
    while *filled < want {
        match r.read(&mut buf[*filled..]) {
            Ok(0) => return Ok(true),
            Ok(n) => *filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(false)
}

/// Counts the bytes read through it.
struct Counting<'r> {
    inner: &'r mut dyn Read,
    n: u64,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.n += n as u64;
        Ok(n)
    }
}

/// Cuts `r` into blocks numbered from `first_seq` and passes each to `send` (which returns
/// `false` to stop).
/// `take` supplies empty buffers. On a read error, the whole lines read before it are sent,
/// then the error is returned. Returns how the input ended and how many of its bytes were
/// handed out (all, unless `hold_tail` kept a last partial line back).
pub(crate) fn read_blocks(
    source: u32,
    first_seq: u64,
    r: &mut dyn Read,
    cfg: ChunkConfig,
    take: &mut dyn FnMut() -> Vec<u8>,
    send: &mut dyn FnMut(Block) -> bool,
) -> io::Result<(Flow, u64)> {
    let mut counting = Counting { inner: r, n: 0 };
    let chunk = cfg.chunk.max(1);
    let mut seq = first_seq;
    let mut buf = take();
    let mut filled = 0usize;
    let mut block = |buf: Vec<u8>, payload: Payload, seq: &mut u64| {
        let b = Block {
            source,
            seq: *seq,
            bytes: Bytes::Owned(buf),
            payload,
        };
        *seq += 1;
        send(b)
    };
    loop {
        // A block of about `chunk` bytes; a line longer than that grows the buffer by a chunk
        // at a time until it ends or passes the cap.
        let want = if filled < chunk {
            chunk
        } else {
            filled + chunk
        };
        let eof = match fill(&mut counting, &mut buf, &mut filled, want) {
            Ok(eof) => eof,
            Err(e) => {
                // The whole lines read before it; the bytes after the last `\n` are no line
                // (the read stopped inside one) and would count as one the format rejects.
                if let Some(i) = memrchr(b'\n', &buf[..filled]) {
                    block(buf, Payload::Lines(i + 1), &mut seq);
                }
                return Err(e);
            }
        };
        if eof {
            let held = match memrchr(b'\n', &buf[..filled]) {
                _ if !cfg.hold_tail => 0,
                Some(i) => filled - (i + 1),
                None => filled,
            };
            let send_len = filled - held;
            if send_len > 0 && !block(buf, Payload::Lines(send_len), &mut seq) {
                return Ok((Flow::Stopped, 0));
            }
            return Ok((Flow::Done, counting.n - held as u64));
        }
        if let Some(i) = memrchr(b'\n', &buf[..filled]) {
            let carry = filled - (i + 1);
            let mut next = take();
            if next.len() < carry + chunk {
                next.resize(carry + chunk, 0);
            }
            next[..carry].copy_from_slice(&buf[i + 1..filled]);
            if !block(buf, Payload::Lines(i + 1), &mut seq) {
                return Ok((Flow::Stopped, 0));
            }
            buf = next;
            filled = carry;
        } else if filled > cfg.max_line {
            // Hand out a copy of the head only: the grown buffer stays here for the skip.
            let head = buf[..filled.min(OVERLONG_HEAD)].to_vec();
            let line_start = counting.n - filled as u64;
            let rest = skip_line(&mut counting, &mut buf)?;
            // An unfinished last line is held back like any other (a writer may finish it).
            if rest.is_none() && cfg.hold_tail {
                return Ok((Flow::Done, line_start));
            }
            if !block(head, Payload::Overlong(filled.min(OVERLONG_HEAD)), &mut seq) {
                return Ok((Flow::Stopped, 0));
            }
            match rest {
                Some(rest) => filled = rest,
                None => return Ok((Flow::Done, counting.n)),
            }
        }
    }
}

/// Discards input up to and including the next `\n`; what follows it is moved to the start of
/// `buf` and its length returned. `None` at end of input.
fn skip_line(r: &mut dyn Read, buf: &mut Vec<u8>) -> io::Result<Option<usize>> {
    if buf.is_empty() {
        buf.resize(64 * 1024, 0);
    }
    loop {
        let n = match r.read(buf) {
            Ok(0) => return Ok(None),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if let Some(i) = memchr(b'\n', &buf[..n]) {
            buf.copy_within(i + 1..n, 0);
            return Ok(Some(n - i - 1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut(input: &[u8], chunk: usize, max_line: usize) -> Vec<(Payload, Vec<u8>)> {
        let mut out = Vec::new();
        let cfg = ChunkConfig {
            chunk,
            max_line,
            hold_tail: false,
        };
        let mut r = input;
        read_blocks(0, 0, &mut r, cfg, &mut Vec::new, &mut |b| {
            out.push((b.payload, b.data().unwrap().to_vec()));
            true
        })
        .unwrap();
        out
    }

    #[test]
    fn blocks_end_on_newlines_and_keep_every_byte() {
        let input = b"aa\nbbbb\nc\n\nddddd";
        for chunk in 1..20 {
            let blocks = cut(input, chunk, 100);
            let joined: Vec<u8> = blocks.iter().flat_map(|b| b.1.clone()).collect();
            assert_eq!(joined, input, "chunk {chunk}");
            for (p, data) in &blocks[..blocks.len() - 1] {
                assert!(matches!(p, Payload::Lines(_)));
                assert!(data.ends_with(b"\n"), "chunk {chunk}");
            }
        }
    }

    #[test]
    fn overlong_lines_become_one_marker() {
        let mut input = b"ok\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 5000));
        input.extend_from_slice(b"\nafter\n");
        let blocks = cut(&input, 64, 100);
        let overlong: Vec<_> = blocks
            .iter()
            .filter(|b| matches!(b.0, Payload::Overlong(_)))
            .collect();
        assert_eq!(overlong.len(), 1);
        let head = &overlong[0].1;
        assert!(!head.is_empty() && head.len() <= OVERLONG_HEAD);
        assert!(head.iter().all(|&b| b == b'x'));
        let lines: Vec<u8> = blocks
            .iter()
            .filter(|b| matches!(b.0, Payload::Lines(_)))
            .flat_map(|b| b.1.clone())
            .collect();
        assert_eq!(lines, b"ok\nafter\n");
    }

    #[test]
    fn overlong_line_at_end_without_newline() {
        let input = vec![b'y'; 1000];
        let blocks = cut(&input, 64, 100);
        assert_eq!(blocks.len(), 1);
        assert!(matches!(blocks[0].0, Payload::Overlong(_)));
    }

    #[test]
    fn an_unfinished_overlong_last_line_is_held_back() {
        let mut input = b"a\nb\n".to_vec();
        input.extend(std::iter::repeat_n(b'x', 3000));
        let cfg = ChunkConfig {
            chunk: 16,
            max_line: 100,
            hold_tail: true,
        };
        let mut blocks = Vec::new();
        let mut r = &input[..];
        let (flow, consumed) = read_blocks(0, 0, &mut r, cfg, &mut Vec::new, &mut |b| {
            blocks.push((b.payload, b.data().unwrap().to_vec()));
            true
        })
        .unwrap();
        assert_eq!(flow, Flow::Done);
        assert_eq!(consumed, 4, "the next run starts at the unfinished line");
        assert!(blocks.iter().all(|b| matches!(b.0, Payload::Lines(_))));
        assert_eq!(
            blocks.iter().flat_map(|b| b.1.clone()).collect::<Vec<u8>>(),
            b"a\nb\n"
        );
    }

    /// A reader whose bytes past `fail_at` cannot be read (a disk that cannot read a sector).
    struct FailsAt<'a> {
        data: &'a [u8],
        at: usize,
        fail_at: usize,
    }

    impl Read for FailsAt<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.at >= self.fail_at {
                return Err(io::Error::from_raw_os_error(5));
            }
            let n = buf.len().min(self.fail_at - self.at).min(7);
            buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    /// On a read error the lines read whole before it are handed out, and nothing of the line
    /// the read stopped in: its first bytes are no line, and would be rejected as one.
    #[test]
    fn a_read_error_hands_out_the_whole_lines_before_it() {
        let input = b"aa\nbbbb\nc\n\nddddd\neee\n";
        for chunk in 1..12 {
            for fail_at in 0..input.len() {
                let cfg = ChunkConfig {
                    chunk,
                    max_line: 100,
                    hold_tail: false,
                };
                let mut r = FailsAt {
                    data: input,
                    at: 0,
                    fail_at,
                };
                let mut got = Vec::new();
                let end = read_blocks(0, 0, &mut r, cfg, &mut Vec::new, &mut |b| {
                    assert!(matches!(b.payload, Payload::Lines(_)));
                    got.extend_from_slice(b.data().unwrap());
                    true
                });
                assert_eq!(end.unwrap_err().raw_os_error(), Some(5));
                let whole = input[..fail_at]
                    .iter()
                    .rposition(|&b| b == b'\n')
                    .map_or(0, |i| i + 1);
                assert_eq!(got, &input[..whole], "chunk {chunk}, error at {fail_at}");
            }
        }
    }
}
