//! `floor`: the least any per-line analysis of a log can cost, to compare noisegate with.
//! Splits the file into lines with `memchr` on as many threads as asked, reads each line's
//! status (the number after the request's closing quote) and prints the line count and the
//! sum of the statuses. No parsing of other fields, no classification, no aggregation.
//!
//! Each thread takes the next 1 MiB of the file, reads it (`pread`) into a buffer of its own
//! and scans the lines that start in it; on two cores that was faster than scanning a memory
//! map, and scaled better from one thread to two (README, Performance).
//!
//! `cargo run --release --example floor -- FILE [THREADS]`

use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes a thread takes at a time.
const PART: u64 = 1 << 20;

/// The status of a line in Pantheon's or the combined format: the digits after the space
/// that follows the request's closing quote; 0 when there is none.
fn status(line: &[u8]) -> u64 {
    let Some(open) = memchr::memchr(b'"', line) else {
        return 0;
    };
    let Some(close) = memchr::memchr(b'"', &line[open + 1..]) else {
        return 0;
    };
    line[open + close + 2..]
        .iter()
        .skip(1)
        .take_while(|b| b.is_ascii_digit())
        .fold(0, |n, &b| n * 10 + u64::from(b - b'0'))
}

/// Lines and the sum of their statuses in `data`.
fn scan(data: &[u8]) -> (u64, u64) {
    let (mut lines, mut sum, mut start) = (0, 0, 0);
    for end in memchr::memchr_iter(b'\n', data) {
        lines += 1;
        sum += status(&data[start..end]);
        start = end + 1;
    }
    if start < data.len() {
        lines += 1;
        sum += status(&data[start..]);
    }
    (lines, sum)
}

/// Reads `[from, to)` of `file` into `buf` (fewer bytes at its end).
fn read(file: &std::fs::File, buf: &mut Vec<u8>, from: u64, to: u64) -> std::io::Result<usize> {
    buf.resize((to - from) as usize, 0);
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], from + got as u64)? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Lines and status sum of the lines that start in part `k` of `file` (`len` bytes): from
/// after the first newline at or past its first byte's predecessor, to the newline that ends
/// its last line (read past the part as far as needed).
fn part(file: &std::fs::File, len: u64, k: u64, buf: &mut Vec<u8>) -> std::io::Result<(u64, u64)> {
    let (start, end) = (k * PART, ((k + 1) * PART).min(len));
    // One byte before the part tells whether a line starts at its first byte.
    let from = start.saturating_sub(1);
    let mut n = read(file, buf, from, end)?;
    let first = if k == 0 {
        0
    } else {
        match memchr::memchr(b'\n', &buf[..n]) {
            Some(i) => i + 1,
            None => return Ok((0, 0)),
        }
    };
    if first >= n {
        return Ok((0, 0));
    }
    // The last line that starts here ends at the first newline at or after `end - 1`.
    while buf[n - 1] != b'\n' && from + (n as u64) < len {
        let more = (from + n as u64 + (64 << 10)).min(len);
        let mut tail = Vec::new();
        let got = read(file, &mut tail, from + n as u64, more)?;
        let cut = memchr::memchr(b'\n', &tail[..got]).map_or(got, |i| i + 1);
        buf.truncate(n);
        buf.extend_from_slice(&tail[..cut]);
        n += cut;
        if cut < got || got == 0 {
            break;
        }
    }
    Ok(scan(&buf[first..n]))
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: floor FILE [THREADS]");
    let threads: usize = args.next().map_or(2, |t| t.parse().expect("THREADS"));
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len();
    let next = AtomicU64::new(0);
    let (lines, sum) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> std::io::Result<(u64, u64)> {
                    let (mut total, mut buf) = ((0, 0), Vec::new());
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k * PART >= len {
                            return Ok(total);
                        }
                        let (l, s) = part(&file, len, k, &mut buf)?;
                        total = (total.0 + l, total.1 + s);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("a scan thread"))
            .try_fold((0, 0), |a, b| b.map(|b| (a.0 + b.0, a.1 + b.1)))
    })?;
    println!("{lines} lines, status sum {sum}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    #[test]
    fn reads_the_status_after_the_request() {
        let line =
            br#"10.0.0.1 - - [19/Feb/2016:02:00:00 +0000]  "GET / HTTP/1.1" 404 12 "-" "ua""#;
        assert_eq!(super::status(line), 404);
        assert_eq!(super::scan(b"a \"b\" 200 1\nc \"d\" 301 2\n"), (2, 501));
    }

    /// Every line is counted once, whichever part it starts in: lines that end on a part's
    /// last byte, start on its first, or run through several parts.
    #[test]
    fn parts_count_each_line_once() {
        let part = super::PART as usize;
        for lens in [
            vec![part - 1, 10],
            vec![part - 2, 5],
            vec![3 * part + 7, 1],
            vec![9; 300_000],
        ] {
            let mut f = tempfile::NamedTempFile::new().unwrap();
            let mut want = (0, 0);
            for (i, n) in lens.iter().enumerate() {
                let line = format!("\"x\" {}", 200 + i % 3);
                let pad = n.saturating_sub(line.len());
                f.write_all(line.as_bytes()).unwrap();
                f.write_all(&vec![b' '; pad]).unwrap();
                f.write_all(b"\n").unwrap();
                want = (want.0 + 1, want.1 + 200 + (i % 3) as u64);
            }
            let file = f.reopen().unwrap();
            let len = file.metadata().unwrap().len();
            let mut buf = Vec::new();
            let mut got = (0, 0);
            for k in 0..len.div_ceil(super::PART) {
                let (l, s) = super::part(&file, len, k, &mut buf).unwrap();
                got = (got.0 + l, got.1 + s);
            }
            assert_eq!(got, want, "{:?}", &lens[..lens.len().min(3)]);
        }
    }
}
