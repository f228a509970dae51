//! Saved summaries through the real binary: files of the first release (version 1) still give
//! the reports they gave, version-3 files round-trip, and newer, cut, corrupt or foreign files
//! are refused with the file named (exit 2, no panic), while a category this noisegate does
//! not know is counted as ordinary traffic.

use assert_cmd::Command;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn ng() -> Command {
    Command::cargo_bin("noisegate").unwrap()
}

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name)
}

/// Runs `noisegate args...` in the crate root: (exit code, stdout, stderr).
fn run(args: &[&std::ffi::OsStr]) -> (i32, String, String) {
    let out = ng()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn merge(files: &[&Path], extra: &[&str]) -> (i32, String, String) {
    let mut args: Vec<&std::ffi::OsStr> = vec!["merge".as_ref()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    args.extend(files.iter().map(|f| f.as_os_str()));
    run(&args)
}

/// The uncompressed text of a summary file.
fn text_of(path: &Path) -> String {
    let mut s = String::new();
    MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

fn write_gz(path: &Path, text: &str) {
    let mut gz = GzEncoder::new(std::fs::File::create(path).unwrap(), Default::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap();
}

/// Saves the summary of a sample log into `dir`.
fn save(dir: &Path, log: &str) -> PathBuf {
    let sum = dir.join(format!("{log}.sum"));
    let (code, _, err) = run(&[
        "--save-summary".as_ref(),
        sum.as_os_str(),
        sample(log).as_os_str(),
    ]);
    assert!(code == 0 || code == 1, "{err}");
    sum
}

/// Refused with exit 2, the file named, and no panic.
fn assert_refused(file: &Path, err: &str, code: i32) {
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&file.display().to_string()), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn version_1_files_give_the_reports_the_first_release_gave() {
    for name in ["v1-pantheon", "v1-malformed"] {
        let sum = data(&format!("{name}.sum"));
        let (code, json, err) = merge(&[&sum], &["-o", "json"]);
        assert_eq!(code, 0, "{err}");
        let want = std::fs::read_to_string(data(&format!("{name}.json"))).unwrap();
        // The expected reports change only as samples/expected does, when the report changes
        // on purpose (the loops key, the storm table headers).
        assert!(json == want, "{name}: the JSON report changed");
        let (code, text, err) = merge(&[&sum], &[]);
        assert_eq!(code, 0, "{err}");
        let want = std::fs::read_to_string(data(&format!("{name}.txt"))).unwrap();
        assert!(text == want, "{name}: the text report changed");
    }
}

#[test]
fn version_5_files_round_trip_and_upgrade_version_1() {
    let dir = tempfile::tempdir().unwrap();
    let sum = save(dir.path(), "malformed.log");
    let text = text_of(&sum);
    let header: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    assert_eq!(header["format"], "noisegate-summary");
    assert_eq!(header["version"], 5);
    assert!(text.lines().last().unwrap().starts_with(r#"{"end":"#));
    let (_, direct, _) = run(&[
        "-o".as_ref(),
        "json".as_ref(),
        sample("malformed.log").as_os_str(),
    ]);
    let (code, merged, err) = merge(&[&sum], &["-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        merged == direct,
        "merge of a saved run differs from the run"
    );
    // A version-1 file merged and saved again is a version-5 file with the same report.
    let again = dir.path().join("again.sum");
    let (code, _, err) = merge(
        &[&data("v1-pantheon.sum")],
        &["--save-summary", again.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{err}");
    assert!(text_of(&again).starts_with(r#"{"format":"noisegate-summary","version":5,"#));
    let (_, json, _) = merge(&[&again], &["-o", "json"]);
    assert!(json == std::fs::read_to_string(data("v1-pantheon.json")).unwrap());
}

#[test]
fn a_summary_from_a_newer_noisegate_is_refused_with_both_versions() {
    let dir = tempfile::tempdir().unwrap();
    let lines = dir.path().join("lines.sum");
    write_gz(
        &lines,
        "{\"format\":\"noisegate-summary\",\"version\":6,\"noisegate\":\"9.0.0\"}\n{\"new\":1}\n",
    );
    let object = dir.path().join("object.sum");
    write_gz(
        &object,
        r#"{"format":"noisegate-summary","version":6,"everything":{"else":[]}}"#,
    );
    for f in [&lines, &object] {
        let (code, out, err) = merge(&[f], &[]);
        assert_refused(f, &err, code);
        assert!(out.is_empty());
        let want = format!(
            "{}: written by a newer noisegate (summary version 6); this noisegate reads \
             versions 1 to 5: upgrade noisegate",
            f.display()
        );
        assert!(err.contains(&want), "{err}");
    }
}

#[test]
fn cut_corrupt_or_foreign_files_are_refused_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let sum = save(dir.path(), "pantheon.log");
    let gz = std::fs::read(&sum).unwrap();
    let text = text_of(&sum);
    let lines: Vec<&str> = text.lines().collect();
    let case = |name: &str, bytes: &[u8]| {
        let f = dir.path().join(name);
        std::fs::write(&f, bytes).unwrap();
        f
    };
    let gz_of = |name: &str, text: &str| {
        let f = dir.path().join(name);
        write_gz(&f, text);
        f
    };
    let mut flipped = gz.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x55;
    flipped[mid + 1] ^= 0xaa;
    let mut cases = vec![
        (case("half.sum", &gz[..gz.len() / 2]), ""),
        (case("flipped.sum", &flipped), ""),
        (case("empty.sum", b""), "not a noisegate summary"),
        (
            case("text.sum", b"not a summary"),
            "not a noisegate summary",
        ),
        (gz_of("plain.sum", "{\"a\":1}\n"), "not a noisegate summary"),
        (
            gz_of("no-end.sum", &(lines[..lines.len() - 1].join("\n") + "\n")),
            "cut short: no end record",
        ),
        (
            gz_of("cut-line.sum", &text[..text.len() - 5]),
            "cut short in line",
        ),
        (
            gz_of(
                "garbage.sum",
                &format!("{}\n{{\"key\":\n{}", lines[0], lines[1..].join("\n")),
            ),
            "line 2 column 0: not a summary record (EOF while parsing a value)",
        ),
        (
            gz_of(
                "bad-lines.sum",
                &text.replacen("\"parsed\":5000", "\"parsed\":4000", 1),
            ),
            "lines do not add up",
        ),
        (
            gz_of(
                "bad-reason.sum",
                &text.replacen("\"rejects\":{}", "\"rejects\":{\"bad_x\":0}", 1),
            ),
            "reject reason `bad_x` is unknown",
        ),
        (
            gz_of("bad-status.sum", &text.replacen("\"404\":", "\"4040\":", 1)),
            "status 4040 out of range",
        ),
    ];
    let hostile = [
        (
            "noise",
            "time",
            Value::from(i64::MIN),
            "time -9223372036854775808 out of range",
        ),
        ("minute", "at", Value::from(i64::MAX), "out of range"),
        (
            "category",
            "scanner",
            Value::from(u64::MAX),
            "scanner requests of a category add up",
        ),
        (
            "map",
            "overflow",
            Value::from(u64::MAX),
            "the counts of a map add up to more than",
        ),
        (
            "totals",
            "requests",
            Value::from(4999),
            "4999 requests in the totals, 5000 parsed",
        ),
    ];
    for (kind, field, value, want) in hostile {
        let name = format!("hostile-{kind}-{field}.sum");
        cases.push((
            gz_of(&name, &first_changed(&text, kind, field, value)),
            want,
        ));
    }
    for (f, want) in &cases {
        let (code, out, err) = merge(&[f], &["-o", "json"]);
        assert_refused(f, &err, code);
        assert!(out.is_empty(), "{}: {out}", f.display());
        assert!(err.contains(want), "{}: {err}", f.display());
    }
}

/// `text` with `field` of the first record of `kind` set to `value`.
fn first_changed(text: &str, kind: &str, field: &str, value: Value) -> String {
    let mut done = false;
    let lines: Vec<String> = text
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            match v.get_mut(kind) {
                Some(r) if !done => {
                    r[field] = value.clone();
                    done = true;
                    v.to_string()
                }
                _ => l.to_string(),
            }
        })
        .collect();
    assert!(done, "no {kind} record");
    lines.join("\n") + "\n"
}

#[test]
fn a_category_unknown_here_is_counted_as_ordinary_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let sum = save(dir.path(), "pantheon.log");
    // As a newer noisegate would write it had it a category this one does not know.
    let newer = dir.path().join("newer.sum");
    write_gz(
        &newer,
        &text_of(&sum).replace("\"autoconfig\"", "\"imap-probe\""),
    );
    let (_, direct, _) = merge(&[&sum], &["-o", "json"]);
    let (code, json, err) = merge(&[&newer], &["-o", "json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains(&format!(
            "{}: 14 requests of category `imap-probe`, unknown to this noisegate, are counted \
             as ordinary traffic",
            newer.display()
        )),
        "{err}"
    );
    let (d, n): (Value, Value) = (
        serde_json::from_str(&direct).unwrap(),
        serde_json::from_str(&json).unwrap(),
    );
    let autoconfig = d["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "autoconfig")
        .unwrap()["requests"]
        .as_u64()
        .unwrap();
    assert_eq!(autoconfig, 14);
    assert_eq!(n["lines"], d["lines"]);
    assert_eq!(n["totals"], d["totals"]);
    let noise = |v: &Value| v["noise"]["requests"].as_u64().unwrap();
    assert_eq!(noise(&n), noise(&d) - autoconfig);
    assert!(n["categories"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["id"] != "autoconfig" && c["id"] != "imap-probe"));
    let minutes: u64 = n["timeline"]["minutes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["noise"].as_u64().unwrap())
        .sum();
    assert_eq!(
        minutes,
        noise(&n),
        "the timeline lost the unknown noise too"
    );
}

#[test]
fn the_fuzz_seeds_of_every_version_load() {
    let seeds = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/summary_load");
    let all = [
        ("small.json", 1),
        ("small-v2.jsonl", 2),
        ("small-v3.jsonl", 3),
        ("small-v4.jsonl", 4),
        ("small-v5.jsonl", 5),
    ];
    for (name, version) in all {
        let text = std::fs::read(seeds.join(name)).unwrap();
        assert!(text.starts_with(
            format!(r#"{{"format":"noisegate-summary","version":{version},"#).as_bytes()
        ));
        let mut c = noisegate_engine::internals::Combiner::new(&Default::default()).unwrap();
        c.read(name, &text[..]).unwrap();
        let scan = c.finish().unwrap().scan;
        let l = scan.lines();
        assert!(
            l.total > 0 && l.total == l.parsed + l.rejected + l.filtered,
            "{name}"
        );
    }
}
