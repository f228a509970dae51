//! Hostile and broken input through the real binary: garbage and NUL bytes, invalid UTF-8 in
//! every field, files that change while they are read, unreadable
//! files, broken format definitions. Nothing panics, every line is counted as parsed,
//! filtered or rejected. (Memory under such input: `tests/memory.rs`.)

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What a run of the binary gave: exit code, stdout, stderr.
struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.stdout)))
    }
}

/// Runs noisegate with `args`, stdin from a file (or nothing). A death by signal fails.
fn run(args: &[&str], stdin: Option<&Path>) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(args)
        .stdin(match stdin {
            Some(p) => Stdio::from(std::fs::File::open(p).unwrap()),
            None => Stdio::null(),
        })
        .output()
        .unwrap();
    Run {
        code: out.status.code().expect("noisegate exited, not killed"),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).unwrap();
    p
}

/// A valid Pantheon line: an Autodiscover probe from client `n`.
fn probe(n: u32) -> String {
    format!(
        "10.0.0.1 - - [19/Feb/2016:02:{:02}:{:02} +0000]  \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 12 \"-\" \"Microsoft Office/16.0\" 0.250 \"198.51.100.{}\"\n",
        n / 60 % 60,
        n % 60,
        n % 250
    )
}

/// Every line counted once: parsed, filtered or rejected.
fn assert_counted(v: &Value) {
    let l = &v["lines"];
    let sum = l["parsed"].as_u64().unwrap()
        + l["filtered"].as_u64().unwrap()
        + l["rejected"].as_u64().unwrap();
    assert_eq!(l["total"].as_u64().unwrap(), sum, "{l}");
}

/// Deterministic bytes (xorshift), every value included, NUL and `\n` among them.
fn garbage(len: usize, mut seed: u64) -> Vec<u8> {
    (0..len)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 24) as u8
        })
        .collect()
}

#[test]
fn binary_garbage_and_nul_bytes_are_counted_as_rejected_lines() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = Vec::new();
    for i in 0..100 {
        data.extend(garbage(2000, i + 1));
        data.push(b'\n');
        data.extend(probe(i as u32).as_bytes());
    }
    data.extend(garbage(3000, 999));
    let lines = data.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let path = write(dir.path(), "garbage.log", &data);
    let p = path.to_str().unwrap();
    for args in [
        &["--format", "pantheon", "-o", "json", p][..],
        &["--format", "pantheon", "-o", "json", "-"],
    ] {
        // Most of its lines are garbage: the report is printed, and the run is an error.
        let r = run(args, Some(&path));
        assert_eq!(r.code, 2, "{}", r.stderr);
        let v = r.json();
        assert_counted(&v);
        assert_eq!(v["lines"]["total"], lines);
        assert_eq!(v["lines"]["parsed"], 100);
        assert_eq!(v["noise"]["requests"], 100);
    }
    // Without --format, detection still finds the format among the garbage.
    let r = run(&["-o", "json", p], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert_eq!(r.json()["lines"]["parsed"], 100);
    assert!(
        !r.stderr.bytes().any(|b| b < 0x20 && b != b'\n'),
        "{}",
        r.stderr
    );
}

#[test]
fn empty_and_one_byte_files_are_empty_reports() {
    let dir = tempfile::tempdir().unwrap();
    // A file whose only line is garbage is counted, and is an error: no line fits the format.
    for (name, data, total, code) in [
        ("empty.log", &b""[..], 0, 0),
        ("nl.log", b"\n", 1, 0),
        ("x.log", b"x", 1, 2),
    ] {
        let path = write(dir.path(), name, data);
        let r = run(
            &["--format", "pantheon", "-o", "json", path.to_str().unwrap()],
            None,
        );
        assert_eq!(r.code, code, "{name}: {}", r.stderr);
        let v = r.json();
        assert_counted(&v);
        assert_eq!(v["lines"]["total"], total, "{name}");
        assert_eq!(v["lines"]["parsed"], 0, "{name}");
    }
}

#[test]
fn invalid_utf8_in_every_field_is_parsed_or_rejected_and_reported_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let good = probe(1);
    // The same line with one field at a time replaced by invalid UTF-8 (written as a marker
    // first, then swapped for the raw bytes).
    let fields = [
        ("10.0.0.1", "10.0.\u{1}.1"),
        ("- - [", "- \u{1} ["),
        ("/autodiscover/autodiscover.xml", "/autodiscover/\u{1}.xml"),
        ("HTTP/1.1", "HTTP/\u{1}"),
        ("\"-\"", "\"\u{1}\""),
        ("Microsoft Office/16.0", "Microsoft \u{1} Office"),
        ("0.250", "0.2\u{1}"),
        ("198.51.100.1\"", "198.51.\u{1}\""),
    ];
    let mut data = Vec::new();
    for (from, to) in fields {
        let line = good.replacen(from, to, 1);
        assert_ne!(line, good, "{from}");
        for b in line.bytes() {
            if b == 1 {
                data.extend_from_slice(b"\xff\xfe\xc3\x28\xed\xa0\x80");
            } else {
                data.push(b);
            }
        }
    }
    let path = write(dir.path(), "utf8.log", &data);
    let p = path.to_str().unwrap();
    let r = run(&["--format", "pantheon", "-o", "json", p], None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_counted(&v);
    assert_eq!(v["lines"]["total"], fields.len());
    // The request-time field cannot hold bytes that are not a number: only that line is
    // rejected; the others parse, and their strings come out as valid UTF-8.
    assert_eq!(v["lines"]["rejected"], 1, "{}", v["rejects"]);
    // Bytes that are not UTF-8 are written as `\xHH` text.
    let json = String::from_utf8(r.stdout.clone()).expect("valid UTF-8");
    assert!(
        json.contains(r"Microsoft \\xff\\xfe\\xc3(\\xed\\xa0\\x80 Office"),
        "{json}"
    );
    for out in ["text", "markdown", "html"] {
        let r = run(&["--format", "pantheon", "-o", out, p], None);
        assert_eq!(r.code, 0, "{out}: {}", r.stderr);
        let text = String::from_utf8(r.stdout).expect("valid UTF-8");
        assert!(!text.contains('\u{1}'), "{out}");
    }
}

#[test]
fn a_file_that_grows_or_shrinks_while_read_is_read_consistently() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.log");
    let body: String = (0..200_000).map(probe).collect();
    std::fs::write(&path, &body).unwrap();
    let p = path.to_str().unwrap().to_string();
    // Growing: a writer appends whole lines while noisegate reads.
    let mut writer = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    let grower = std::thread::spawn(move || {
        for n in 0..2000 {
            writer.write_all(probe(n).as_bytes()).unwrap();
        }
    });
    let r = run(&["-o", "json", &p], None);
    grower.join().unwrap();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = r.json();
    assert_counted(&v);
    let total = v["lines"]["total"].as_u64().unwrap();
    assert!((200_000..=202_000).contains(&total), "{total}");
    assert_eq!(v["lines"]["rejected"], 0);
    // Shrinking: truncated while read, by a writer that had it open before (so it is read,
    // not leased) and by one that opens it after (it waits for noisegate's lease, or, if it
    // came first, noisegate reads what is left). Either way: no crash, every line counted.
    for early in [true, false] {
        std::fs::write(&path, &body).unwrap();
        let held = early.then(|| std::fs::OpenOptions::new().write(true).open(&path).unwrap());
        let truncate = {
            let path = path.clone();
            std::thread::spawn(move || {
                std::thread::sleep(std::time::Duration::from_millis(20));
                match held {
                    Some(f) => f.set_len(1000).unwrap(),
                    None => std::fs::OpenOptions::new()
                        .write(true)
                        .open(&path)
                        .unwrap()
                        .set_len(1000)
                        .unwrap(),
                }
            })
        };
        let r = run(&["-o", "json", &p], None);
        truncate.join().unwrap();
        assert_eq!(r.code, 0, "{}", r.stderr);
        let v = r.json();
        assert_counted(&v);
        assert!(v["lines"]["total"].as_u64().unwrap() <= 200_000);
    }
}

#[test]
fn unreadable_files_in_a_directory_are_errors_and_the_rest_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    std::fs::create_dir(&logs).unwrap();
    write(&logs, "nginx-access.log", probe(1).as_bytes());
    std::os::unix::fs::symlink("/nonexistent/noisegate", logs.join("nginx-access.log.1")).unwrap();
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        // Permissions stop everyone but root; as root the dangling link stands alone.
        let locked = write(&logs, "nginx-access.log.2", probe(2).as_bytes());
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    }
    let r = run(&["-o", "json", logs.to_str().unwrap()], None);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("nginx-access.log.1"), "{}", r.stderr);
    let v = r.json();
    assert_eq!(v["lines"]["total"], 1);
    assert_eq!(v["noise"]["requests"], 1);
    let errors = v["errors"].as_array().unwrap();
    assert_eq!(errors.len(), if root { 1 } else { 2 }, "{errors:?}");
}

#[test]
fn a_broken_nginx_conf_is_an_error_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(
        dir.path(),
        "nginx.conf",
        b"http {\n    log_format main '$remote_addr \"$request\" $status;\n}\n",
    );
    let input = write(dir.path(), "a.log", probe(1).as_bytes());
    let r = run(
        &[
            "--nginx-conf",
            conf.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("nginx.conf"), "{}", r.stderr);
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
}
