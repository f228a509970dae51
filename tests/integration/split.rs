//! Property tests of the merge: however the lines are split (into blocks, files, workers) and
//! in whatever order the parts are merged, the report is the same as for the whole input
//! (its mail domains included, with and without the mailboxes kept in full).

use noisegate_engine::internals::{BlockInfo, ScanConfig, Scanner, Summary};
use noisegate_engine::{
    build_report, find, scan, FormatChoice, Input, LogFormat, ScanOptions, ScanResult, Settings,
};
use proptest::prelude::*;
use std::sync::LazyLock;

/// One scan configuration (its classifier compiles every category's pattern) for every case;
/// scanning only reads it.
static CONFIG: LazyLock<ScanConfig> = LazyLock::new(ScanConfig::default);
/// The same, keeping the mailboxes' local parts (`--show-mailboxes`).
static SHOWING: LazyLock<ScanConfig> = LazyLock::new(|| ScanConfig {
    mailboxes: true,
    ..ScanConfig::default()
});

/// Line templates: noise of several kinds, ordinary traffic, garbage requests, bad lines.
fn line(kind: u8, n: u16) -> String {
    let t = format!("{:02}:{:02}:{:02}", n % 24, n % 60, (n / 7) % 60);
    let day = 10 + n % 3;
    let client = format!("198.51.100.{}", n % 17);
    // Mailboxes and domains for the mail-domain lines: a few domains, many local parts.
    let rest = format!(
        "GET /autodiscover/autodiscover.json/v1.0/u{}@d{}.example?Protocol=AutodiscoverV1 HTTP/1.1",
        n % 37,
        n % 5
    );
    let query = format!(
        "GET /mail/config-v1.1.xml?emailaddress=m{}%40D{}.example HTTP/1.1",
        n % 23,
        n % 4
    );
    let (req, status, ua) = match kind % 11 {
        9 => (rest.as_str(), 404, "Microsoft Office/16.0"),
        10 => (query.as_str(), 404, "Thunderbird/128"),
        0 => (
            "POST /Autodiscover/Autodiscover.xml HTTP/1.1",
            404,
            "Microsoft Office/16.0",
        ),
        1 => (
            "POST /autodiscover/autodiscover.xml HTTP/1.1",
            403,
            "Microsoft Office/16.0",
        ),
        2 => (
            "GET /.well-known/autoconfig/mail/config-v1.1.xml?e=1 HTTP/1.1",
            404,
            "Thunderbird/128",
        ),
        3 => ("GET /owa/auth HTTP/1.1", 404, "curl/8"),
        4 => ("GET /blog/ HTTP/1.1", 200, "Mozilla/5.0"),
        5 => ("GET /owa-help HTTP/1.1", 200, "Mozilla/5.0"),
        6 => ("\\x16\\x03\\x01", 400, "-"),
        7 => return format!("broken line {n}\n"),
        _ => return "\n".to_string(),
    };
    let rt = f64::from(n % 1500) / 1000.0;
    format!(
        "10.0.0.1 - - [{day}/Mar/2024:{t} +0000]  \"{req}\" {status} {n} \"-\" \"{ua}\" {rt:.3} \"{client}, 10.0.0.2\"\n"
    )
}

fn lines() -> impl Strategy<Value = Vec<String>> {
    prop::collection::vec(
        (any::<u8>(), any::<u16>()).prop_map(|(k, n)| line(k, n)),
        1..120,
    )
}

fn json(summary: Summary) -> serde_json::Value {
    let mut result = ScanResult::from_summary(summary, "pantheon");
    let found = find(&mut result, &Settings::default()).unwrap();
    let mut v = serde_json::to_value(build_report(&result, &found, 0)).unwrap();
    v["rejects"]["examples"] = serde_json::Value::Null;
    v
}

fn pantheon() -> LogFormat {
    LogFormat::preset("pantheon").unwrap()
}

fn at(format: &LogFormat, seq: u64) -> BlockInfo<'_> {
    BlockInfo {
        source: 0,
        seq,
        format,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Summaries of random parts, merged in a random order and grouping, equal the summary of
    /// the whole.
    #[test]
    fn merge_of_random_splits_equals_whole(
        lines in lines(),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..8),
        order in any::<u64>(),
        show in any::<bool>(),
    ) {
        let cfg = if show { &*SHOWING } else { &*CONFIG };
        let fmt = pantheon();
        let whole_text = lines.concat();
        let mut whole = Scanner::new(cfg);
        whole.scan_block(at(&fmt, 0), whole_text.as_bytes());

        let mut idx: Vec<usize> = cuts.iter().map(|i| i.index(lines.len() + 1)).collect();
        idx.extend([0, lines.len()]);
        idx.sort_unstable();
        let mut parts: Vec<Summary> = idx
            .windows(2)
            .enumerate()
            .map(|(seq, w)| {
                let mut s = Scanner::new(cfg);
                s.scan_block(at(&fmt, seq as u64), lines[w[0]..w[1]].concat().as_bytes());
                s.into_summary()
            })
            .collect();
        // A deterministic shuffle, then a merge tree of uneven shape.
        let n = parts.len();
        for i in 0..n {
            parts.swap(i, (order as usize).wrapping_mul(i + 7) % n);
        }
        while parts.len() > 1 {
            let b = parts.pop().unwrap();
            let at = (order as usize) % parts.len();
            parts[at].merge(&b);
        }
        let mut merged = Summary::new(&cfg.caps);
        merged.merge(&parts[0]);
        prop_assert_eq!(json(merged), json(whole.into_summary()));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(12))]

    /// Through the real pipeline: any block size and thread count gives the same report,
    /// rejected-line positions included.
    #[test]
    fn pipeline_is_independent_of_block_size_and_threads(
        lines in lines(),
        chunk in 1usize..4096,
        threads in 1usize..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        std::fs::write(&path, lines.concat()).unwrap();
        let run = |chunk: usize, threads: usize| {
            let mut opts = ScanOptions::new(threads);
            opts.chunk = chunk;
            opts.format = FormatChoice::Fixed(std::sync::Arc::new(pantheon()));
            let mut r = scan(&[Input::Path(path.clone())], &opts).unwrap();
            let found = find(&mut r, &Settings::default()).unwrap();
            serde_json::to_string(&build_report(&r, &found, 0)).unwrap()
        };
        prop_assert_eq!(run(chunk, threads), run(1 << 21, 1));
    }
}
