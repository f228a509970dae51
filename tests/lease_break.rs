//! Read leases through the real binary and the real kernel: a writer that opens a file
//! noisegate reads under a lease waits only for the blocks in flight, and a lease that the
//! kernel breaks under a run makes the run report the file as not read fully (exit 2) without
//! `--state` moving past it.
//!
//! A binary of its own, not a module of `tests/integration/`: the second test sets the
//! machine's `/proc/sys/fs/lease-break-time` to one second while it runs (only root may; CI
//! runs as root), and a lease-holding run of another test, slowed by the load of a parallel
//! test run, could then have its own lease broken. Cargo runs test binaries one at a time, and
//! the two tests here take turns.

use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LEASE_BREAK_TIME: &str = "/proc/sys/fs/lease-break-time";

/// The tests of this binary one at a time: one changes the break time, the other measures a
/// writer's wait.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The kernel's `lease-break-time`, the seconds a writer waits for a read lease to be given
/// up before the kernel breaks it; put back when dropped (it is the machine's).
struct LeaseBreakTime(String);

impl LeaseBreakTime {
    /// Sets it to `seconds`, or `None` when this process may not.
    fn set(seconds: u32) -> Option<LeaseBreakTime> {
        let old = fs::read_to_string(LEASE_BREAK_TIME).ok()?;
        fs::write(LEASE_BREAK_TIME, format!("{seconds}\n")).ok()?;
        Some(LeaseBreakTime(old))
    }
}

impl Drop for LeaseBreakTime {
    fn drop(&mut self) {
        let _ = fs::write(LEASE_BREAK_TIME, &self.0);
    }
}

/// Probes `from..to` of a log: each line's time and client follow from its number, so the
/// same numbers give the same bytes.
fn probes(from: usize, to: usize) -> String {
    (from..to)
        .map(|i| {
            format!(
                "10.0.0.1 - - [19/Feb/2016:{:02}:{:02}:{:02} +0000]  \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 1 \"-\" \"ua\" 0.100 \"198.51.100.{}\"\n",
                i / 3600 % 24,
                i / 60 % 60,
                i % 60,
                i % 250
            )
        })
        .collect()
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

/// Whether process `pid` holds a lease on the file of inode `ino` (`/proc/locks`).
fn holds_lease(pid: u32, ino: u64) -> bool {
    let locks = fs::read_to_string("/proc/locks").unwrap_or_default();
    locks.lines().any(|l| {
        let f: Vec<&str> = l.split_whitespace().collect();
        f.get(1) == Some(&"LEASE")
            && f.get(4) == Some(&pid.to_string().as_str())
            && f.get(5).is_some_and(|id| id.ends_with(&format!(":{ino}")))
    })
}

/// Starts noisegate on `log` with `args` before it (reports on pipes), and returns it once it
/// holds its lease on the log, with the time it was started.
fn start_leased(log: &Path, args: &[&str]) -> (Child, Instant) {
    let ino = fs::metadata(log).unwrap().ino();
    let child = Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(args)
        .arg(log)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !holds_lease(child.id(), ino) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "noisegate took no lease on the log: {}",
            fs::read_to_string("/proc/locks").unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    (child, started)
}

/// A lease the kernel breaks while noisegate reads under it (noisegate stopped, so that it
/// cannot answer, and a writer truncating the file): the blocks already handed out come up
/// short. The run says so and exits 2, and the state does not move past the file. To tell
/// that from the state's own check for a file cut below its offset, the file is grown back,
/// line for line as it was and longer, after the scan and before the state is saved (the
/// report's write blocks on a pipe of one page, which the test does not read yet): a state
/// that had moved on to where the first run stopped would then resume there, and the next
/// run would count only the lines past that point.
#[test]
fn a_lease_broken_under_a_run_is_an_error_and_the_next_run_reads_the_file_again() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let Some(_restore) = LeaseBreakTime::set(1) else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{LEASE_BREAK_TIME} not writable, and CI=true: CI runs as root"
        );
        eprintln!("skipped: {LEASE_BREAK_TIME} is not writable (not root)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (log, state) = (dir.path().join("access.log"), dir.path().join("state.json"));
    let (all, kept) = (400_000, 1_000);
    append(&log, &probes(0, all));
    let state_arg = state.to_str().unwrap();
    let (mut child, _) = start_leased(
        &log,
        &["-o", "json", "--threads", "2", "--state", state_arg],
    );
    // Started on a pipe of the default size, which the report has not reached yet (the scan
    // is under way).
    let mut stdout = child.stdout.take().unwrap();
    // SAFETY: plain fcntl on the pipe's end this process holds.
    let page = unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_SETPIPE_SZ, 4096) };
    assert!(page > 0 && page < 8192, "pipe of {page} bytes");
    let pid = child.id();
    // Past the format's detection (its first lines), far from the end (the debug build reads
    // these 52 MB in over a second).
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: signals to the child this test started, which has not been waited for.
    let signal = |sig| assert_eq!(unsafe { libc::kill(pid as libc::pid_t, sig) }, 0);
    signal(libc::SIGSTOP);
    // The writer waits for the lease until the kernel breaks it.
    let opened = Instant::now();
    let writer = OpenOptions::new().write(true).open(&log).unwrap();
    let wait = opened.elapsed();
    writer.set_len(probes(0, kept).len() as u64).unwrap();
    drop(writer);
    signal(libc::SIGCONT);
    // The report's first byte: the scan is over, and the rest of the report waits for the
    // pipe; the state is saved after it.
    let mut report = vec![0u8; 1];
    stdout.read_exact(&mut report).unwrap();
    append(&log, &probes(kept, all + 500));
    stdout.read_to_end(&mut report).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        wait >= Duration::from_millis(500),
        "the writer did not wait for the lease: {wait:?}"
    );
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("became shorter than"), "{stderr}");
    assert!(stderr.contains("access.log"), "{stderr}");
    assert!(
        report.len() > 2 * page as usize,
        "a report of {} bytes",
        report.len()
    );
    let next = Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(["-o", "json", "--state"])
        .arg(&state)
        .arg(&log)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&next.stderr);
    assert_eq!(next.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&next.stdout).unwrap();
    assert_eq!(v["lines"]["total"], all + 500, "{stderr}");
    assert_eq!(v["lines"]["rejected"], 0, "{}", v["rejects"]);
}

/// A writer that opens a file noisegate reads under a lease waits only while the blocks
/// already handed out are read, not for the scan, and far less than the kernel's break time:
/// noisegate lets the lease go and reads the rest with `read`, every line counted once.
#[test]
fn a_writer_waits_for_the_blocks_in_flight_not_for_the_scan() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let all = 400_000;
    append(&log, &probes(0, all));
    let (child, started) = start_leased(&log, &["-o", "json", "--threads", "2"]);
    // Well into the scan, far from its end.
    std::thread::sleep(Duration::from_millis(100));
    let opened = Instant::now();
    let writer = OpenOptions::new().write(true).open(&log).unwrap();
    let wait = opened.elapsed();
    let out = child.wait_with_output().unwrap();
    let scan = started.elapsed();
    drop(writer);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["lines"]["total"], all, "{stderr}");
    assert_eq!(v["lines"]["rejected"], 0, "{}", v["rejects"]);
    // The debug build's blocks in flight took 250-270 ms to read and scan, the whole run
    // 1.2 s (3 runs by hand).
    assert!(
        wait * 2 < scan,
        "the writer waited {wait:?} of a run of {scan:?}"
    );
}
