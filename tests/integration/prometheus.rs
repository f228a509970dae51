//! `check -o prometheus` and `--output prometheus`: the text exposition format, validated by
//! Prometheus's own `promtool check metrics` (skipped without promtool, a failure when `CI`
//! is set), with exact figures on a known log and the exit codes of `check` kept.

use crate::support::promtool_binary;
use assert_cmd::Command;
use std::io::Write;
use std::process::Stdio;

fn noisegate() -> Command {
    let mut cmd = Command::cargo_bin("noisegate").unwrap();
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    cmd
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Runs noisegate; returns its exit code and stdout.
fn run(args: &[&str]) -> (i32, String) {
    let out = noisegate().args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// `promtool check metrics` on `text`: its exit code and what it said (it lints on stdout and
/// stderr alike).
fn promtool(text: &str) -> Option<(i32, String)> {
    let bin = promtool_binary()?;
    let mut child = std::process::Command::new(bin)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    Some((out.status.code().unwrap(), said))
}

/// The value of the sample `series` (a name with its labels, as written).
fn value(text: &str, series: &str) -> Option<String> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map(str::to_string)
}

fn valid(text: &str) {
    if let Some((code, said)) = promtool(text) {
        assert_eq!(code, 0, "promtool: {said}\n{text}");
        assert!(said.trim().is_empty(), "promtool lints: {said}\n{text}");
    }
}

#[test]
fn check_writes_valid_metrics_with_the_figures_of_the_sample() {
    let before = now();
    let (code, text) = run(&["check", "-o", "prometheus", "samples/pantheon.log"]);
    let after = now();
    // The sample has a storm: the check fires, exit 1, and the metrics are written all the same.
    assert_eq!(code, 1, "{text}");
    valid(&text);
    let at: u64 = value(&text, "noisegate_last_run_timestamp_seconds")
        .unwrap()
        .parse()
        .unwrap();
    assert!((before..=after).contains(&at), "{at}");
    for (series, expected) in [
        ("noisegate_check_success", "1"),
        ("noisegate_check_fired", "1"),
        ("noisegate_check_alerts{kind=\"storm\"}", "1"),
        ("noisegate_check_alerts{kind=\"noise_share\"}", "1"),
        ("noisegate_check_alerts{kind=\"surge\"}", "0"),
        ("noisegate_lines_read", "5000"),
        ("noisegate_lines_rejected", "0"),
        ("noisegate_requests", "5000"),
        (
            "noisegate_noise_requests{category=\"autodiscover\"}",
            "1278",
        ),
        ("noisegate_noise_requests{category=\"dav\"}", "0"),
        (
            "noisegate_noise_server_seconds{category=\"autodiscover\"}",
            "1088.978",
        ),
        ("noisegate_storms", "1"),
        ("noisegate_surges", "0"),
        ("noisegate_noise_worst_minute_php_workers", "0.613683"),
        ("noisegate_php_workers", "8"),
    ] {
        assert_eq!(
            value(&text, series).as_deref(),
            Some(expected),
            "{series}\n{text}"
        );
    }
    // 3 of the 1,313 noise requests were answered 403.
    let ratio: f64 = value(&text, "noisegate_noise_blocked_ratio")
        .unwrap()
        .parse()
        .unwrap();
    assert!((ratio - 3.0 / 1313.0).abs() < 1e-12, "{ratio}");
    // Every family has its HELP and TYPE, and every type is a gauge.
    let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
    let helps = text.lines().filter(|l| l.starts_with("# HELP ")).count();
    assert_eq!(types.len(), helps);
    assert!(types.len() >= 15, "{types:?}");
    assert!(types.iter().all(|t| t.ends_with(" gauge")), "{types:?}");
    assert!(!text.contains("_total"));
}

#[test]
fn the_metrics_are_deterministic_but_for_the_time_of_the_run() {
    let strip = |t: String| -> String {
        t.lines()
            .filter(|l| !l.starts_with("noisegate_last_run_timestamp_seconds "))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let args = [
        "check",
        "-o",
        "prometheus",
        "--threads",
        "1",
        "samples/pantheon.log",
    ];
    let (_, one) = run(&args);
    let (_, two) = run(&[
        "check",
        "-o",
        "prometheus",
        "--threads",
        "3",
        "--chunk-size",
        "4K",
        "samples/pantheon.log",
    ]);
    assert_eq!(strip(one), strip(two));
}

#[test]
fn a_healthy_check_exits_0_and_says_so() {
    let (code, text) = run(&[
        "check",
        "-o",
        "prometheus",
        "--max-noise-share",
        "100",
        "--storm-min-requests",
        "1000000",
        "samples/combined.log",
    ]);
    assert_eq!(code, 0, "{text}");
    valid(&text);
    assert_eq!(value(&text, "noisegate_check_fired").as_deref(), Some("0"));
    assert_eq!(
        value(&text, "noisegate_check_success").as_deref(),
        Some("1")
    );
}

#[test]
fn a_check_that_cannot_check_says_so_without_figures() {
    let (code, text) = run(&["check", "-o", "prometheus", "no-such-dir/access.log"]);
    assert_eq!(code, 2, "{text}");
    valid(&text);
    assert_eq!(
        value(&text, "noisegate_check_success").as_deref(),
        Some("0")
    );
    assert_eq!(value(&text, "noisegate_check_fired").as_deref(), Some("0"));
    assert!(value(&text, "noisegate_last_run_timestamp_seconds").is_some());
    assert!(!text.contains("noisegate_noise_requests"), "{text}");
    // A log no format fits: the check could not check either (exit 2).
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("access.log");
    std::fs::write(&junk, "not a log line\nnor this one\n").unwrap();
    let (code, text) = run(&["check", "-o", "prometheus", junk.to_str().unwrap()]);
    assert_eq!(code, 2, "{text}");
    valid(&text);
    assert_eq!(
        value(&text, "noisegate_check_success").as_deref(),
        Some("0")
    );
}

#[test]
fn the_report_writes_the_same_figures_without_the_check() {
    let (code, text) = run(&["--output", "prometheus", "samples/pantheon.log"]);
    assert_eq!(code, 0);
    valid(&text);
    assert!(!text.contains("noisegate_check_"), "{text}");
    assert_eq!(
        value(&text, "noisegate_noise_requests{category=\"autodiscover\"}").as_deref(),
        Some("1278")
    );
    // A format without $request_time: no server seconds or workers, rather than zeros.
    let (code, text) = run(&["-o", "prometheus", "samples/combined.log"]);
    assert_eq!(code, 0, "{text}");
    valid(&text);
    assert!(!text.contains("noisegate_noise_server_seconds"), "{text}");
    assert!(
        !text.contains("noisegate_noise_worst_minute_php_workers"),
        "{text}"
    );
}

#[test]
fn an_incremental_check_saves_its_state_before_writing_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    std::fs::copy(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/pantheon.log"),
        &log,
    )
    .unwrap();
    let state = dir.path().join("state");
    let args = [
        "check",
        "-o",
        "prometheus",
        "--state",
        state.to_str().unwrap(),
        log.to_str().unwrap(),
    ];
    let (code, text) = run(&args);
    assert_eq!(code, 1, "{text}");
    valid(&text);
    assert_eq!(
        value(&text, "noisegate_lines_read").as_deref(),
        Some("5000")
    );
    assert!(state.exists());
    // The next run reads only what was added since: nothing, so nothing fires.
    let (code, text) = run(&args);
    assert_eq!(code, 0, "{text}");
    valid(&text);
    assert_eq!(value(&text, "noisegate_lines_read").as_deref(), Some("0"));
    assert_eq!(
        value(&text, "noisegate_check_success").as_deref(),
        Some("1")
    );
    assert_eq!(value(&text, "noisegate_storms").as_deref(), Some("0"));
}

/// A usage error prints no metrics at all (exit 2), so that the crontab guard `[ -s FILE.tmp ]`
/// keeps the last good file instead of an empty or partial one.
#[test]
fn a_usage_error_prints_no_metrics() {
    for bad in [
        &[
            "check",
            "-o",
            "prometheus",
            "--storm-rate",
            "nan",
            "samples/pantheon.log",
        ][..],
        &[
            "check",
            "-o",
            "prometheus",
            "--max-noise-share",
            "-3",
            "samples/pantheon.log",
        ],
        &[
            "check",
            "-o",
            "prometheus",
            "--no-such-flag",
            "samples/pantheon.log",
        ],
    ] {
        let (code, out) = run(bad);
        assert_eq!(code, 2, "{bad:?}");
        assert!(out.is_empty(), "{bad:?}: {out}");
    }
}
