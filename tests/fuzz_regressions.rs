//! Inputs the fuzzers (`fuzz/`) found, replayed through the same checks in the normal test
//! suite: `tests/fuzz-inputs/TARGET/*`.

use noisegate::classify::{normalize, Classifier};
use noisegate::format::LogFormat;
use noisegate::scan::{BlockInfo, ScanConfig, Scanner};
use std::path::Path;

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-inputs")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
    files.sort();
    files.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn preset_lines() {
    let cfg = ScanConfig {
        max_line: 4096,
        ..ScanConfig::default()
    };
    let cases = inputs("preset_lines");
    assert!(!cases.is_empty());
    for data in cases {
        let lines = match &data[..] {
            [] => 0,
            _ => data.split(|&b| b == b'\n').count() as u64 - u64::from(data.ends_with(b"\n")),
        };
        for format in LogFormat::presets() {
            let mut scanner = Scanner::new(&cfg);
            let at = BlockInfo {
                source: 0,
                seq: 0,
                format: &format,
            };
            assert_eq!(scanner.scan_block(at, &data), lines);
            let l = scanner.summary.lines;
            assert_eq!(l.total, lines);
            assert_eq!(l.parsed + l.filtered + l.rejected, lines);
        }
    }
}

#[test]
fn classify() {
    let c = Classifier::new();
    for path in inputs("classify") {
        let (mut scratch, mut once, mut twice) = (Vec::new(), Vec::new(), Vec::new());
        normalize(&path, &mut scratch, &mut once);
        assert!(once.starts_with(b"/"));
        if !once.contains(&b'%') {
            normalize(&once, &mut scratch, &mut twice);
            assert_eq!(once, twice);
        }
        let mut s = c.scratch();
        let _ = c.classify(&path, &mut s);
    }
}
