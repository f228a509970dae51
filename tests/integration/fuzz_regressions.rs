//! Inputs the fuzzers (`fuzz/`) found, replayed through the same checks in the normal test
//! suite: `tests/fuzz-inputs/TARGET/*`.

use noisegate_engine::internals::{
    normalize, plan_summary, BlockInfo, Classifier, ScanConfig, Scanner,
};
use noisegate_engine::{merge_pantheon_yml, LogFormat};
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
            let l = scanner.summary().lines();
            assert_eq!(l.total, lines);
            assert_eq!(l.parsed + l.filtered + l.rejected, lines);
        }
    }
}

#[test]
fn classify() {
    let c = Classifier::new();
    for path in inputs("classify") {
        let (mut once, mut twice) = (Vec::new(), Vec::new());
        if normalize(&path, &mut once) {
            assert!(once.starts_with(b"/"));
            if !once.contains(&b'%') {
                assert!(normalize(&once, &mut twice));
                assert_eq!(once, twice);
            }
        }
        let mut s = c.scratch();
        let _ = c.classify(&path, &mut s);
    }
}

#[test]
fn yaml_merge() {
    let cfg = ScanConfig::default();
    let format = LogFormat::preset("combined").unwrap();
    let mut scanner = Scanner::new(&cfg);
    let log = b"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 5 \"-\" \"Microsoft Office/16.0\"\n\
1.2.3.4 - - [19/Feb/2016:02:00:01 +0000] \"GET /.well-known/autoconfig/mail/config-v1.1.xml HTTP/1.1\" 404 5 \"-\" \"Thunderbird\"\n";
    let at = BlockInfo {
        source: 0,
        seq: 0,
        format: &format,
    };
    scanner.scan_block(at, log);
    let plan = plan_summary(scanner.summary(), Default::default());
    let cases = inputs("yaml_merge");
    assert!(!cases.is_empty());
    for data in cases {
        let Ok(text) = std::str::from_utf8(&data) else {
            continue;
        };
        for plain in [false, true] {
            let Ok(merged) = merge_pantheon_yml(text, &plan, plain) else {
                continue;
            };
            yaml_rust2::YamlLoader::load_from_str(&merged.text).expect("YAML");
            for path in plan.paths() {
                if !merged.over_limit.iter().any(|o| o == path) {
                    assert!(merged.text.contains(path), "{path} missing");
                }
            }
        }
    }
}
