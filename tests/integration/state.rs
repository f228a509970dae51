//! `--state`: incremental runs count each line exactly once through appends, a last line still
//! being written, logrotate's rename and copytruncate, truncation, and a crash between
//! reading and saving the state.

use assert_cmd::Command;
use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

fn line(i: usize) -> String {
    format!("10.0.0.1 - - [19/Feb/2016:02:{:02}:{:02} +0000]  \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 1 \"-\" \"ua\" 0.100 \"198.51.100.{}\"\n", i / 60 % 60, i % 60, i % 250)
}

fn lines(range: std::ops::Range<usize>) -> String {
    range.map(line).collect()
}

fn append(path: &Path, text: &str) {
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

/// One incremental run; returns the lines it counted.
fn run(log: &Path, state: &Path) -> u64 {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["--output", "json", "--state"])
        .arg(state)
        .arg(log)
        .assert()
        .success()
        .get_output()
        .clone();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["lines"]["rejected"], 0,
        "a line was cut: {}",
        v["rejects"]
    );
    v["lines"]["total"].as_u64().unwrap()
}

#[test]
fn appends_and_a_line_still_being_written() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    append(&log, &lines(0..10));
    assert_eq!(run(&log, &state), 10);
    assert_eq!(run(&log, &state), 0);
    let next = lines(10..15);
    append(&log, &next[..next.len() - 20]);
    assert_eq!(run(&log, &state), 4, "the unfinished line waits");
    append(&log, &next[next.len() - 20..]);
    assert_eq!(run(&log, &state), 1);
}

#[test]
fn logrotate_rename_finishes_the_old_file_then_reads_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    append(&log, &lines(0..10));
    assert_eq!(run(&log, &state), 10);
    append(&log, &lines(10..12));
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, &lines(12..15));
    assert_eq!(
        run(&log, &state),
        5,
        "2 left in the rotated file, 3 in the new one"
    );
    assert_eq!(run(&log, &state), 0);
}

#[test]
fn copytruncate_and_truncation_start_over() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    append(&log, &lines(0..10));
    assert_eq!(run(&log, &state), 10);
    fs::copy(&log, dir.path().join("access.log.1")).unwrap();
    fs::write(&log, lines(100..112)).unwrap();
    assert_eq!(
        run(&log, &state),
        12,
        "copytruncate: a new first line, read from 0"
    );
    fs::write(&log, lines(200..202)).unwrap();
    assert_eq!(run(&log, &state), 2, "truncated below the offset");
}

#[test]
fn a_crash_before_saving_reads_the_same_lines_again() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    append(&log, &lines(0..10));
    assert_eq!(run(&log, &state), 10);
    append(&log, &lines(10..17));
    let saved = fs::read(&state).unwrap();
    assert_eq!(run(&log, &state), 7);
    fs::write(&state, saved).unwrap(); // as if that run had died before writing its state
    assert_eq!(run(&log, &state), 7);
    assert_eq!(run(&log, &state), 0);
}

#[test]
fn state_with_stdin_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["--state"])
        .arg(dir.path().join("s.json"))
        .write_stdin(lines(0..2))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--state cannot follow stdin"));
}

#[test]
fn a_directory_with_its_rotated_file_counts_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let (log, state) = (logs.join("nginx-access.log"), dir.path().join("state.json"));
    append(&log, &lines(0..10));
    assert_eq!(run(&logs, &state), 10);
    append(&log, &lines(10..13));
    fs::rename(&log, logs.join("nginx-access.log.1")).unwrap();
    append(&log, &lines(13..15));
    assert_eq!(run(&logs, &state), 5);
    assert_eq!(run(&logs, &state), 0);
}

#[test]
fn gzip_files_and_other_spellings_of_a_path_are_not_read_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (gz, state) = (
        dir.path().join("access.log.1.gz"),
        dir.path().join("state.json"),
    );
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(lines(0..15).as_bytes()).unwrap();
    fs::write(&gz, enc.finish().unwrap()).unwrap();
    assert_eq!(run(&gz, &state), 15);
    assert_eq!(run(&gz, &state), 0);
    let log = dir.path().join("access.log");
    append(&log, &lines(0..4));
    assert_eq!(run(&log, &state), 4);
    let other = dir.path().join(".").join("access.log");
    assert_eq!(run(&other, &state), 0, "the same file by another path");
}
