//! `floor`: the least any per-line analysis of a log can cost, to compare noisegate with.
//! Maps the file, splits it into lines with `memchr` on as many threads as asked, reads each line's
//! status (the number after the request's closing quote) and prints the line count and the
//! sum of the statuses. No parsing of other fields, no classification, no aggregation.
//!
//! `cargo run --release --example floor -- FILE [THREADS]`

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
    (lines, sum)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: floor FILE [THREADS]");
    let threads: usize = args.next().map_or(2, |t| t.parse().expect("THREADS"));
    let file = std::fs::File::open(path)?;
    // SAFETY: a benchmark over a file nobody writes while it runs.
    let map = unsafe { memmap2::Mmap::map(&file)? };
    let data: &[u8] = &map;
    // Cut at newlines into one part per thread.
    let mut cuts = vec![0];
    for i in 1..threads {
        let at = (data.len() * i / threads).max(*cuts.last().unwrap());
        let next = memchr::memchr(b'\n', &data[at..]).map_or(data.len(), |n| at + n + 1);
        cuts.push(next);
    }
    cuts.push(data.len());
    let (lines, sum) = std::thread::scope(|s| {
        let parts: Vec<_> = cuts
            .windows(2)
            .map(|w| {
                let part = &data[w[0]..w[1]];
                s.spawn(move || scan(part))
            })
            .collect();
        parts
            .into_iter()
            .map(|p| p.join().expect("a scan thread"))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    println!("{lines} lines, status sum {sum}");
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_the_status_after_the_request() {
        let line =
            br#"10.0.0.1 - - [19/Feb/2016:02:00:00 +0000]  "GET / HTTP/1.1" 404 12 "-" "ua""#;
        assert_eq!(super::status(line), 404);
        assert_eq!(super::scan(b"a \"b\" 200 1\nc \"d\" 301 2\n"), (2, 501));
    }
}
