//! A disk that fails under a run: reads that return `EIO` for a bad region part-way through a
//! log, whichever way noisegate reads it (a closed file in blocks by its workers, a file still
//! open for writing by the reader thread, a gzip file, standard input). The run exits 2 naming
//! the file and the system's error, the report lists the error, no made-up line is counted
//! (the bytes of a line a read stopped in are no line), and `--state` does not move past the
//! file: the next run, the disk healed, counts every line once.
//!
//! The failure is the kernel's error code returned by the real read calls of the real binary:
//! a small library (`tests/support/fail_reads.c`), built here with the system's C compiler and
//! loaded with `LD_PRELOAD`, fails the reads of one file that take a byte of a given region.

use crate::state::{line, lines, run as run_healed};
use serde_json::Value;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// Lines in the test log: about 12.5 MB, six of the workers' 2 MiB blocks.
const LINES: usize = 100_000;
/// The bad region: a sector's worth of bytes from the middle of the log's fourth 2 MiB block,
/// away from the ends where the reader looks for the line that ends a block.
const FAIL_AT: u64 = 7_000_000;
const FAIL_LEN: u64 = 4096;

/// The failing-read library, built once for the test binary; `None` (a skip notice) when no C
/// compiler can be run, a failure under `CI=true`.
fn library() -> Option<&'static Path> {
    static BUILT: OnceLock<Option<PathBuf>> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let so = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fail_reads.so");
            let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/fail_reads.c");
            let built = Command::new("cc")
                .args(["-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o"])
                .arg(&so)
                .arg(&source)
                .arg("-ldl")
                .status();
            match built {
                Ok(s) if s.success() => Some(so),
                other => {
                    if std::env::var("CI").as_deref() == Ok("true") {
                        panic!("cannot build {}: {other:?}", source.display());
                    }
                    eprintln!("skipped: no C compiler to build the failing-read library");
                    None
                }
            }
        })
        .as_deref()
}

/// Writes the log into `dir`; returns its path and its text.
fn write_log(dir: &Path, name: &str) -> (PathBuf, String) {
    let text = lines(0..LINES);
    let path = dir.join(name);
    fs::write(&path, &text).unwrap();
    (path, text)
}

/// The whole lines before the bad region.
fn lines_before_failure(text: &str) -> u64 {
    text.as_bytes()[..FAIL_AT as usize]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
}

/// noisegate with `args`, its reads of `failing` (a path as the kernel names
/// it, or `-` for standard input) failing in the bad region; `stdin` piped in when given.
fn run_failing(lib: &Path, failing: &str, args: &[&str], stdin: Option<&str>) -> Output {
    run_failing_at(lib, failing, FAIL_AT, args, stdin)
}

/// [`run_failing`] with the bad region at byte `at`.
fn run_failing_at(
    lib: &Path,
    failing: &str,
    at: u64,
    args: &[&str],
    stdin: Option<&str>,
) -> Output {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin("noisegate"));
    cmd.args(args)
        .env("LD_PRELOAD", lib)
        .env("NG_FAIL_PATH", failing)
        .env("NG_FAIL_AT", at.to_string())
        .env("NG_FAIL_LEN", FAIL_LEN.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().unwrap();
    let feeder = stdin.map(|text| {
        let mut pipe = child.stdin.take().unwrap();
        let text = text.to_string();
        // The reads fail before the end: the pipe then closes under the writer.
        std::thread::spawn(move || {
            let _ = pipe.write_all(text.as_bytes());
        })
    });
    let out = child.wait_with_output().unwrap();
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    out
}

/// What a run whose reads of `name` (as given) failed must show: exit 2, the file and the
/// system's error on stderr and in the report's errors, and no line rejected. Returns the
/// lines counted, every one parsed.
fn assert_failed_on(out: &Output, name: &str) -> u64 {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!("{name}: Input/output error")),
        "stderr: {stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let errors = v["errors"].as_array().expect("errors");
    assert!(
        errors.iter().any(|e| e["file"] == name
            && e["message"]
                .as_str()
                .is_some_and(|m| m.contains("Input/output error"))),
        "errors: {errors:?}"
    );
    let lines = &v["lines"];
    assert_eq!(
        lines["rejected"], 0,
        "a made-up line was counted: {}",
        v["rejects"]
    );
    let total = lines["total"].as_u64().unwrap();
    assert_eq!(lines["parsed"], total);
    total
}

/// A stream read up to its bad region: some lines counted, none from it on.
fn assert_read_up_to_failure(total: u64, text: &str) {
    let before = lines_before_failure(text);
    assert!(
        total > 0 && total <= before,
        "{total} lines counted, {before} before the failure"
    );
}

/// [`run_failing`] over `log` with `--state` and a JSON report.
fn run_failing_with_state(lib: &Path, log: &Path, state: &Path) -> Output {
    let (log, state) = (log.to_str().unwrap(), state.to_str().unwrap());
    run_failing(lib, log, &["-o", "json", "--state", state, log], None)
}

/// A closed log, read in leased blocks by the workers (`pread`): the block that holds the bad
/// region is lost, every other block counted.
#[test]
fn a_disk_error_in_a_closed_log_is_its_error_and_the_state_stays_before_it() {
    let Some(lib) = library() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = write_log(dir.path(), "access.log");
    let state = dir.path().join("state");
    let out = run_failing_with_state(lib, &log, &state);
    let total = assert_failed_on(&out, log.to_str().unwrap());
    let shortest = line(0).len() as u64;
    let lost = LINES as u64 - total;
    assert!(
        lost > 0 && lost <= (2 << 20) / shortest + 1,
        "{lost} lines lost: more than one block's"
    );
    assert_eq!(
        run_healed(&log, &state),
        LINES as u64,
        "the next run must count every line: the state moved past lines never counted"
    );
}

/// A bad region where the reader looks for the line that ends the first 2 MiB block: that
/// block cannot be cut, so the file is read no further (no line counted), as README says;
/// the run exits 2 naming it and the state stays before it.
#[test]
fn a_disk_error_where_a_block_ends_stops_the_file_there() {
    let Some(lib) = library() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = write_log(dir.path(), "access.log");
    let state = dir.path().join("state");
    let (path, st) = (log.to_str().unwrap(), state.to_str().unwrap());
    let args = ["-o", "json", "--state", st, path];
    let out = run_failing_at(lib, path, (2 << 20) - 152, &args, None);
    assert_eq!(assert_failed_on(&out, path), 0);
    assert_eq!(run_healed(&log, &state), LINES as u64);
}

/// A log still open for writing (nginx's own), read by the reader thread (`read`).
#[test]
fn a_disk_error_in_a_log_open_for_writing_is_its_error_and_the_state_stays_before_it() {
    let Some(lib) = library() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (log, text) = write_log(dir.path(), "access.log");
    let state = dir.path().join("state");
    let writer = OpenOptions::new().append(true).open(&log).unwrap();
    let out = run_failing_with_state(lib, &log, &state);
    assert_read_up_to_failure(assert_failed_on(&out, log.to_str().unwrap()), &text);
    drop(writer);
    assert_eq!(run_healed(&log, &state), LINES as u64);
}

/// A gzip file, read through the decompressor: the failing byte is one of the compressed file.
#[test]
fn a_disk_error_in_a_gzip_log_is_its_error() {
    let Some(lib) = library() else { return };
    let dir = tempfile::tempdir().unwrap();
    // Incompressible enough that the failing byte falls inside: each line's client and time
    // differ, and the level is the fastest.
    let text = lines(0..LINES * 4);
    let gz = dir.path().join("access.log.1.gz");
    let mut enc =
        flate2::write::GzEncoder::new(File::create(&gz).unwrap(), flate2::Compression::none());
    enc.write_all(text.as_bytes()).unwrap();
    enc.finish().unwrap();
    assert!(fs::metadata(&gz).unwrap().len() > FAIL_AT);
    let out = run_failing(
        lib,
        gz.to_str().unwrap(),
        &["-o", "json", gz.to_str().unwrap()],
        None,
    );
    assert_read_up_to_failure(assert_failed_on(&out, gz.to_str().unwrap()), &text);
}

/// Standard input (a pipe): the failure is the pipe's.
#[test]
fn a_read_error_on_standard_input_is_its_error() {
    let Some(lib) = library() else { return };
    let text = lines(0..LINES);
    let out = run_failing(lib, "-", &["-o", "json"], Some(&text));
    assert_read_up_to_failure(assert_failed_on(&out, "<stdin>"), &text);
}

/// The cron check: a log it could not read fully is no healthy site, whatever the lines read
/// say. It exits 2 and says so, and its metrics say the check did not succeed.
#[test]
fn the_check_on_a_disk_error_says_it_could_not_check() {
    let Some(lib) = library() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (log, _) = write_log(dir.path(), "access.log");
    let path = log.to_str().unwrap();
    let out = run_failing(lib, path, &["check", path], None);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    // What cron mails: the check's own words, the file and the error.
    assert!(
        stdout.contains("could not check the logs")
            && stdout.contains(&format!("{path}: Input/output error")),
        "stdout: {stdout}"
    );
    assert!(stderr.contains("Input/output error"), "stderr: {stderr}");
    let out = run_failing(lib, path, &["check", "-o", "prometheus", path], None);
    let metrics = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        metrics.lines().any(|l| l == "noisegate_check_success 0"),
        "{metrics}"
    );
}
