//! `--state` under the real logrotate: for each rotation scheme users have (`create`,
//! `copytruncate`, `create` + `compress` + `delaycompress`, `create` + `compress`, `dateext` +
//! `compress`), a writer appends numbered probe lines (`GET /autodiscover/N`) continuously
//! while the test interleaves forced rotations and incremental runs over the live file alone
//! and over its directory, each with its own state file. Every number written must be counted
//! exactly once by each, and the totals must agree. Without logrotate: a failure under
//! `CI=true`, else a skip notice.

use assert_cmd::Command;
use serde_json::Value;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Numbered line `n`: a probe whose path carries the number.
fn line(n: u64) -> String {
    format!(
        "10.0.0.1 - - [19/Feb/2016:02:{:02}:{:02} +0000]  \"GET /autodiscover/{n} HTTP/1.1\" 404 1 \"-\" \"ua\" 0.100 \"198.51.100.{}\"\n",
        n / 60 % 60,
        n % 60,
        n % 250
    )
}

/// A writer appending numbered lines to `log`, as nginx does: it reopens the path when asked
/// (the `reopen` flag file, which logrotate's postrotate creates, like nginx's USR1).
struct Writer {
    stop: Arc<AtomicBool>,
    /// Held by the test to keep the writer still (around a copytruncate, see below).
    pause: Arc<Mutex<()>>,
    thread: JoinHandle<u64>,
}

impl Writer {
    fn start(log: &Path, reopen: &Path) -> Writer {
        let (stop, pause) = (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(())));
        let (log, reopen) = (log.to_path_buf(), reopen.to_path_buf());
        let (s, p) = (stop.clone(), pause.clone());
        let open = move |log: &Path| {
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)
                .unwrap()
        };
        let thread = std::thread::spawn(move || {
            let mut file = open(&log);
            let mut n = 0;
            while !s.load(Ordering::Relaxed) {
                let _still = p.lock().unwrap();
                if reopen.exists() {
                    file = open(&log);
                    fs::remove_file(&reopen).unwrap();
                }
                file.write_all(line(n).as_bytes()).unwrap();
                n += 1;
                drop(_still);
                std::thread::sleep(Duration::from_micros(700));
            }
            n
        });
        Writer {
            stop,
            pause,
            thread,
        }
    }

    /// Stops the writer; returns how many lines it wrote.
    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().unwrap()
    }
}

/// What one consumer (the live file alone, or the directory) counted over all its runs.
#[derive(Default)]
struct Tally {
    total: u64,
    seen: Vec<u32>,
    runs: usize,
}

impl Tally {
    /// One incremental run over `input` with `state`.
    fn run(&mut self, input: &Path, state: &Path) {
        let out = Command::cargo_bin("noisegate")
            .unwrap()
            .args(["--top", "0", "--output", "json", "--state"])
            .arg(state)
            .arg(input)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            v["lines"]["rejected"], 0,
            "a line was cut: {}",
            v["rejects"]
        );
        self.total += v["lines"]["total"].as_u64().unwrap();
        self.runs += 1;
        for c in v["categories"].as_array().unwrap() {
            for p in c["paths"].as_array().unwrap() {
                let path = p["path"].as_str().unwrap();
                let n: usize = path
                    .strip_prefix("/autodiscover/")
                    .unwrap()
                    .parse()
                    .unwrap();
                if self.seen.len() <= n {
                    self.seen.resize(n + 1, 0);
                }
                self.seen[n] += p["requests"].as_u64().unwrap() as u32;
            }
        }
    }

    /// Every number below `written` counted once, and nothing else.
    fn check(&self, scheme: &str, what: &str, written: u64) {
        let wrong: Vec<String> = (0..self.seen.len().max(written as usize))
            .filter(|&n| self.seen.get(n).copied().unwrap_or(0) != u32::from(n < written as usize))
            .take(10)
            .map(|n| format!("{n}×{}", self.seen.get(n).copied().unwrap_or(0)))
            .collect();
        assert!(
            wrong.is_empty() && self.total == written,
            "{scheme}, {what}: {} written, {} counted in {} runs; wrong counts: {wrong:?}",
            written,
            self.total,
            self.runs
        );
    }
}

/// The logrotate configuration of a scheme for `log`; postrotate asks the writer to reopen
/// and waits until it has (nginx reopens on USR1 as quickly).
fn config(log: &Path, reopen: &Path, options: &[&str]) -> String {
    let post = if options.contains(&"copytruncate") {
        String::new()
    } else {
        let r = reopen.display();
        format!(
            "    postrotate\n        touch {r}; while [ -e {r} ]; do sleep 0.01; done\n    endscript\n"
        )
    };
    format!(
        "{} {{\n    rotate 100\n    missingok\n    ifempty\n    nomail\n    {}\n{post}}}\n",
        log.display(),
        options.join("\n    ")
    )
}

/// Runs logrotate once, forced. For copytruncate the writer is held still meanwhile: logrotate
/// itself loses lines written between its copy and its truncation (its manual says so).
fn rotate(bin: &Path, dir: &Path, writer: &Writer, copytruncate: bool) {
    let _still = copytruncate.then(|| writer.pause.lock().unwrap());
    let out = std::process::Command::new(bin)
        .arg("-f")
        .arg("-s")
        .arg(dir.join("logrotate.status"))
        .arg(dir.join("logrotate.conf"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "logrotate: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The two consumers of the same logs: the live file alone, and its directory.
struct Consumers {
    log: PathBuf,
    logs: PathBuf,
    by_file: (Tally, PathBuf),
    by_dir: (Tally, PathBuf),
}

impl Consumers {
    /// One incremental run of each.
    fn run(&mut self) {
        self.by_file.0.run(&self.log, &self.by_file.1);
        self.by_dir.0.run(&self.logs, &self.by_dir.1);
    }
}

/// One scheme: 7 rotations (two of them back to back, one during the runs) among 13 runs of
/// each consumer.
fn scheme(options: &[&str]) {
    let Some(bin) = crate::support::logrotate_binary() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    fs::create_dir(&logs).unwrap();
    let (log, reopen) = (logs.join("access.log"), dir.path().join("reopen"));
    let conf = config(&log, &reopen, options);
    fs::write(dir.path().join("logrotate.conf"), conf).unwrap();
    let mut all = Consumers {
        log: log.clone(),
        logs,
        by_file: (Tally::default(), dir.path().join("file.json")),
        by_dir: (Tally::default(), dir.path().join("dir.json")),
    };
    let writer = Writer::start(&log, &reopen);
    let (dated, copytruncate) = (
        options.contains(&"dateext"),
        options.contains(&"copytruncate"),
    );
    let rotate = || {
        if dated {
            // dateformat -%s: one rotation a second at most.
            std::thread::sleep(Duration::from_millis(1010));
        }
        rotate(&bin, dir.path(), &writer, copytruncate);
    };
    interleave(&mut all, rotate);
    let written = writer.stop();
    all.run();
    let name = options.join(" + ");
    let mut files: Vec<String> = fs::read_dir(&all.logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        8,
        "{name}: 7 rotations and the live file: {files:?}"
    );
    let (by_file, by_dir) = (&all.by_file.0, &all.by_dir.0);
    eprintln!(
        "{name}: {written} lines written; counted {} (file) and {} (directory)",
        by_file.total, by_dir.total
    );
    by_file.check(&name, "the live file", written);
    by_dir.check(&name, "the directory", written);
}

/// 12 steps of runs and rotations while the writer writes.
fn interleave(all: &mut Consumers, rotate: impl Fn() + Sync) {
    for step in 0..12 {
        std::thread::sleep(Duration::from_millis(120));
        if step == 9 {
            // A rotation while the runs read.
            std::thread::scope(|s| {
                let during = s.spawn(&rotate);
                all.run();
                during.join().unwrap();
            });
            continue;
        }
        all.run();
        let times = match step {
            5 => 2,
            s if s % 2 == 1 => 1,
            _ => 0,
        };
        for _ in 0..times {
            rotate();
        }
    }
}

#[test]
fn create() {
    scheme(&["create"]);
}

#[test]
fn copytruncate() {
    scheme(&["copytruncate"]);
}

#[test]
fn create_compress_delaycompress() {
    scheme(&["create", "compress", "delaycompress"]);
}

#[test]
fn create_compress() {
    scheme(&["create", "compress"]);
}

#[test]
fn dateext_compress() {
    scheme(&["create", "dateext", "dateformat -%s", "compress"]);
}
