//! `--state`: incremental runs count each line exactly once through appends, a last line still
//! being written, logrotate's rename and copytruncate, truncation, and a crash between
//! reading and saving the state.

use assert_cmd::Command;
use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;

/// Line `i` of a log of probes (also the read-error tests' log).
pub(crate) fn line(i: usize) -> String {
    format!("10.0.0.1 - - [19/Feb/2016:02:{:02}:{:02} +0000]  \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 1 \"-\" \"ua\" 0.100 \"198.51.100.{}\"\n", i / 60 % 60, i % 60, i % 250)
}

pub(crate) fn lines(range: std::ops::Range<usize>) -> String {
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

/// One incremental run that must succeed with no line rejected (also the read-error tests'
/// healed run); returns the lines it counted.
pub(crate) fn run(log: &Path, state: &Path) -> u64 {
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

/// One incremental run that must succeed; returns its report and what it said on stderr.
fn run_noted(log: &Path, state: &Path) -> (Value, String) {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["-o", "json", "--state"])
        .arg(state)
        .arg(log)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    (serde_json::from_slice(&out.stdout).unwrap(), stderr)
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

/// Runs noisegate with `args`; returns its exit code and stderr.
fn noisegate(args: &[&std::ffi::OsStr], env: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = Command::cargo_bin("noisegate").unwrap();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.args(args).output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_re_downloaded_file_reads_only_its_new_lines() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    append(&log, &lines(0..100));
    assert_eq!(run(&log, &state), 100);
    // rsync or sftp: a new inode with the same bytes and more, renamed over the old one.
    let fetched = dir.path().join(".access.log.part");
    fs::write(&fetched, lines(0..150)).unwrap();
    fs::rename(&fetched, &log).unwrap();
    assert_eq!(run(&log, &state), 50);
    assert_eq!(run(&log, &state), 0);
}

#[test]
fn compress_without_delaycompress_finishes_the_gzip_file() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    append(&log, &lines(0..10));
    assert_eq!(run(&log, &state), 10);
    append(&log, &lines(10..16));
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(&fs::read(&log).unwrap()).unwrap();
    fs::write(dir.path().join("access.log.1.gz"), enc.finish().unwrap()).unwrap();
    fs::remove_file(&log).unwrap();
    append(&log, &lines(16..20));
    assert_eq!(
        run(&log, &state),
        10,
        "6 from the gzip file, 4 from the new one"
    );
    assert_eq!(run(&log, &state), 0);
}

#[test]
fn a_deleted_rotation_is_said_with_the_bytes_lost() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    append(&log, &lines(0..10));
    let partial = line(10);
    append(&log, &partial[..partial.len() - 5]);
    assert_eq!(run(&log, &state), 10, "the unfinished line waits");
    fs::remove_file(&log).unwrap();
    append(&log, &lines(10..13));
    let (v, stderr) = run_noted(&log, &state);
    let said = format!(
        "is gone (deleted, or rotated into another directory): {} bytes",
        partial.len() - 5
    );
    assert!(stderr.contains(&said), "{stderr}");
    assert!(v["caveats"].to_string().contains(&said), "{}", v["caveats"]);
}

#[test]
fn a_second_run_waits_for_the_first_then_gives_up() {
    use std::os::fd::AsRawFd;
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    append(&log, &lines(0..10));
    let lock = fs::File::create(dir.path().join("state.json.lock")).unwrap();
    // SAFETY: flock on a descriptor this test owns.
    assert_eq!(unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) }, 0);
    let args = ["--state".as_ref(), state.as_os_str(), log.as_os_str()];
    let (code, stderr) = noisegate(&args, &[("NOISEGATE_STATE_WAIT", "0.3")]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("another noisegate run holds the state"),
        "{stderr}"
    );
    assert!(!state.exists(), "nothing was counted or saved");
    // Released while the second run waits: it goes on.
    let holder = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        drop(lock);
    });
    let (code, stderr) = noisegate(&args, &[("NOISEGATE_STATE_WAIT", "5")]);
    holder.join().unwrap();
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(run(&log, &state), 0);
}

#[test]
fn state_and_summary_write_through_a_symlink_and_keep_the_mode() {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    append(&log, &lines(0..10));
    let store = dir.path().join("store");
    fs::create_dir(&store).unwrap();
    let mut args: Vec<std::ffi::OsString> = vec![log.clone().into()];
    for (name, flag) in [("state.json", "--state"), ("summary.ngs", "--save-summary")] {
        let (target, link) = (store.join(name), dir.path().join(name));
        // A state of an older noisegate, to be replaced (with a note); any old summary.
        fs::write(&target, r#"{"version":1,"files":[]}"#).unwrap();
        fs::set_permissions(&target, fs::Permissions::from_mode(0o640)).unwrap();
        symlink(&target, &link).unwrap();
        args.extend([flag.into(), link.into()]);
    }
    let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
    let (code, stderr) = noisegate(&args, &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains("starting fresh"), "{stderr}");
    for name in ["state.json", "summary.ngs"] {
        let link = fs::symlink_metadata(dir.path().join(name)).unwrap();
        assert!(link.file_type().is_symlink(), "{name}: the link stays");
        let target = fs::metadata(store.join(name)).unwrap();
        let text = fs::read(store.join(name)).unwrap();
        assert!(
            !text.starts_with(b"{\"version\":1"),
            "{name}: written through the link"
        );
        assert_eq!(
            target.permissions().mode() & 0o777,
            0o640,
            "{name}: mode kept"
        );
    }
    let fresh = dir.path().join("new.json");
    run(&log, &fresh);
    let mode = fs::metadata(&fresh).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "a new state file is the user's alone");
}

#[test]
fn rotations_from_before_the_first_run_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(lines(0..7).as_bytes()).unwrap();
    fs::write(dir.path().join("access.log.2.gz"), enc.finish().unwrap()).unwrap();
    fs::write(dir.path().join("access.log.1"), lines(7..9)).unwrap();
    append(&log, &lines(9..12));
    assert_eq!(run(&log, &state), 3, "only the live file");
    append(&log, &lines(12..14));
    fs::rename(
        dir.path().join("access.log.1"),
        dir.path().join("access.log.2"),
    )
    .unwrap();
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    append(&log, &lines(14..15));
    assert_eq!(
        run(&log, &state),
        3,
        "2 in the rotated file, 1 in the new one"
    );
    assert_eq!(run(&log, &state), 0);
}

#[test]
fn a_live_log_caught_between_rename_and_create_waits_for_the_next_run() {
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    append(&log, &lines(0..10));
    assert_eq!(run(&log, &state), 10);
    append(&log, &lines(10..13));
    // logrotate's `create`: renamed; the new file is not made yet.
    fs::rename(&log, dir.path().join("access.log.1")).unwrap();
    let (v, stderr) = run_noted(&log, &state);
    assert!(
        stderr.contains("access.log: not found (being rotated?): read at the next run"),
        "{stderr}"
    );
    assert_eq!(v["lines"]["total"], 3, "the rest of the renamed file");
    append(&log, &lines(13..15));
    assert_eq!(run(&log, &state), 2, "the new file alone");
    assert_eq!(run(&log, &state), 0);
    // A log this state never read is a wrong name, not a rotation.
    let other = dir.path().join("other.log");
    let args = ["--state".as_ref(), state.as_os_str(), other.as_os_str()];
    let (code, stderr) = noisegate(&args, &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("other.log"), "{stderr}");
}

/// The same log named another way is the same log to `--state`: a state written by a run given
/// `access.log` from its directory, then logrotate's rename (with a gzip copy of the rotated file
/// being made), then a run given `./access.log.1 ./access.log`, the directory as `.`, its
/// absolute path or a symlink to it, counts each line once: the two lines written before the
/// rotation and the three after it, the gzip copy left for the next run, which then counts
/// nothing; a run started from another directory then reads only what came after. (The
/// directory was compared as written: `./access.log` was another log than `access.log`, and the
/// rotated file and its copy were read again from their first line.)
#[test]
fn a_log_named_another_way_is_the_same_log() {
    type Spelling = dyn Fn(&Path) -> Vec<String>;
    let spellings: [&Spelling; 4] = [
        &|_| vec!["./access.log.1".into(), "./access.log".into()],
        &|_| vec![".".into()],
        &|d| vec![d.display().to_string()],
        &|d| vec![d.parent().unwrap().join("link").display().to_string()],
    ];
    for (k, second) in spellings.iter().enumerate() {
        let top = tempfile::tempdir().unwrap();
        let dir = top.path().join("logs");
        fs::create_dir(&dir).unwrap();
        std::os::unix::fs::symlink(&dir, top.path().join("link")).unwrap();
        let state = top.path().join("state");
        let run_from = |cwd: &Path, args: &[String]| -> u64 {
            let out = Command::cargo_bin("noisegate")
                .unwrap()
                .current_dir(cwd)
                .args(["-o", "json", "--state"])
                .arg(&state)
                .args(args)
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{err}");
            let v: Value = serde_json::from_slice(&out.stdout).unwrap();
            v["lines"]["total"].as_u64().unwrap()
        };
        let run_in = |args: &[String]| run_from(&dir, args);
        let log = dir.join("access.log");
        append(&log, &lines(0..10));
        assert_eq!(run_in(&["access.log".into()]), 10);
        append(&log, &lines(10..12));
        fs::rename(&log, dir.join("access.log.1")).unwrap();
        let mut gz = flate2::write::GzEncoder::new(
            fs::File::create(dir.join("access.log.1.gz")).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(lines(0..12).as_bytes()).unwrap();
        gz.finish().unwrap();
        append(&log, &lines(12..15));
        assert_eq!(run_in(&second(&dir)), 5, "spelling {k}");
        fs::remove_file(dir.join("access.log.1")).unwrap();
        assert_eq!(run_in(&second(&dir)), 0, "spelling {k}, the copy");
        // Then from another directory: the state names the files absolutely.
        append(&log, &lines(15..17));
        assert_eq!(
            run_from(top.path(), &["logs".into()]),
            2,
            "spelling {k}, elsewhere"
        );
    }
}
