//! Every preset's parser, classification and aggregation on arbitrary bytes: the scanner
//! must count each line exactly once, as parsed, filtered or rejected, and never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegate_engine::internals::{BlockInfo, ScanConfig, Scanner};
use noisegate_engine::LogFormat;
use std::sync::{Mutex, OnceLock};

fn config() -> &'static (ScanConfig, Vec<LogFormat>) {
    static S: OnceLock<(ScanConfig, Vec<LogFormat>)> = OnceLock::new();
    S.get_or_init(|| {
        let cfg = ScanConfig {
            max_line: 4096,
            ..ScanConfig::default()
        };
        (cfg, LogFormat::presets())
    })
}

/// One scanner per preset, kept across inputs (their summaries are capped): the checks
/// compare counts before and after each input.
fn scanners() -> &'static Mutex<Vec<Scanner<'static>>> {
    static S: OnceLock<Mutex<Vec<Scanner<'static>>>> = OnceLock::new();
    S.get_or_init(|| {
        let (cfg, formats) = config();
        Mutex::new(formats.iter().map(|_| Scanner::new(cfg)).collect())
    })
}

fuzz_target!(|data: &[u8]| {
    let (_, formats) = config();
    let lines = match data {
        [] => 0,
        _ => data.split(|&b| b == b'\n').count() as u64 - u64::from(data.ends_with(b"\n")),
    };
    let mut scanners = scanners().lock().unwrap();
    for (format, scanner) in formats.iter().zip(scanners.iter_mut()) {
        let before = scanner.summary().lines();
        let at = BlockInfo {
            source: 0,
            seq: 0,
            format,
        };
        let n = scanner.scan_block(at, data);
        assert_eq!(n, lines);
        let l = scanner.summary().lines();
        assert_eq!(l.total - before.total, n);
        assert_eq!(
            (l.parsed - before.parsed) + (l.filtered - before.filtered) + (l.rejected - before.rejected),
            n
        );
    }
});
