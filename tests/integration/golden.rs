//! Golden tests: the reports on the bundled samples must match `samples/expected/` byte for
//! byte, and the samples themselves must be what the generator makes.
//!
//! After an intended change of output, regenerate with
//! `UPDATE_GOLDEN=1 cargo test --test integration golden::` and review the diff.

use noisegate_gen::{generate, GenConfig, GenFormat};
use std::path::Path;

/// (expected file, arguments): each runs from the repository root.
const CASES: &[(&str, &[&str])] = &[
    (
        "pantheon.txt",
        &["--color", "never", "samples/pantheon.log"],
    ),
    (
        "pantheon.json",
        &["--output", "json", "samples/pantheon.log"],
    ),
    ("pantheon.block.yml", &["block", "samples/pantheon.log"]),
    (
        "pantheon.md",
        &["--output", "markdown", "samples/pantheon.log"],
    ),
    (
        "combined.txt",
        &["--color", "never", "samples/combined.log"],
    ),
    (
        "combined.json",
        &["--output", "json", "samples/combined.log"],
    ),
    ("combined.block.yml", &["block", "samples/combined.log"]),
    (
        "malformed.txt",
        &["--color", "never", "samples/malformed.log"],
    ),
    (
        "malformed.json",
        &["--output", "json", "samples/malformed.log"],
    ),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn reports_on_samples_match_expected_output() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failed = Vec::new();
    for (expected, args) in CASES {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_noisegate"))
            .args(*args)
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let path = root().join("samples/expected").join(expected);
        if update {
            std::fs::write(&path, &out.stdout).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(&out.stdout[..]) {
            failed.push(*expected);
        }
    }
    assert!(
        failed.is_empty(),
        "output differs from samples/expected for {failed:?}; if intended, run UPDATE_GOLDEN=1 cargo test --test integration golden::"
    );
}

#[test]
fn text_reports_fit_in_80_columns() {
    for (expected, _) in CASES.iter().filter(|c| c.0.ends_with(".txt")) {
        let text = std::fs::read_to_string(root().join("samples/expected").join(expected)).unwrap();
        for (i, line) in text.lines().enumerate() {
            assert!(line.chars().count() <= 80, "{expected}:{}: {line}", i + 1);
        }
    }
}

#[test]
fn samples_are_what_the_generator_makes() {
    let mut malformed = GenConfig::sample(GenFormat::Pantheon);
    malformed.malformed_share = 0.03;
    malformed.seed = 7;
    malformed.lines = 2000;
    for (file, cfg) in [
        ("pantheon.log", GenConfig::sample(GenFormat::Pantheon)),
        ("combined.log", GenConfig::sample(GenFormat::Combined)),
        ("malformed.log", malformed),
    ] {
        let mut made = Vec::new();
        generate(&cfg, &mut made).unwrap();
        let bundled = std::fs::read(root().join("samples").join(file)).unwrap();
        assert!(
            made == bundled,
            "samples/{file} is not what the generator makes"
        );
    }
}
