//! Saved summaries are input, not trusted: through the real binary, `merge` refuses (exit 2,
//! the file named, the broken invariant said) a hand-edited file whose figures do not add up
//! as a scan adds them, whose records are out of the writer's order or given twice, whose
//! figures would pass what a count holds together with the files before it, a path's evidence
//! that no scan could make, and a file with the same bytes as one given before under another
//! name.

use assert_cmd::Command;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// `noisegate merge files...`: (exit code, stdout, stderr).
fn merge(files: &[&Path]) -> (i32, String, String) {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .arg("merge")
        .args(["-o", "json"])
        .args(files)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The summary of the Pantheon sample (it has `$request_time`), saved in `dir`: its path
/// and its records, one JSON value each (the header first).
fn saved(dir: &Path) -> (PathBuf, Vec<Value>) {
    let sum = dir.join("a.sum");
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/pantheon.log");
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .arg("--save-summary")
        .arg(&sum)
        .arg(log)
        .output()
        .unwrap();
    assert!(out.status.code() == Some(0) || out.status.code() == Some(1));
    let mut text = String::new();
    MultiGzDecoder::new(std::fs::File::open(&sum).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let records = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (sum, records)
}

fn write(path: &Path, records: &[Value]) {
    let mut gz = GzEncoder::new(std::fs::File::create(path).unwrap(), Default::default());
    for r in records {
        writeln!(gz, "{r}").unwrap();
    }
    gz.finish().unwrap();
}

/// The index of the first record of `kind` (with `id`, for a category).
fn find(records: &[Value], kind: &str, id: Option<&str>) -> usize {
    records
        .iter()
        .position(|r| {
            r.get(kind)
                .is_some_and(|v| id.is_none_or(|id| v["id"] == id))
        })
        .unwrap_or_else(|| panic!("no {kind} record"))
}

fn assert_refused(f: &Path, want: &str) {
    let (code, out, err) = merge(&[f]);
    assert_eq!(code, 2, "{}: {err}", f.display());
    assert!(out.is_empty(), "{out}");
    assert!(err.contains(&f.display().to_string()), "{err}");
    assert!(err.contains(want), "{}: {err}", f.display());
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn figures_that_do_not_add_up_are_refused_with_the_invariant() {
    let dir = tempfile::tempdir().unwrap();
    let (sum, good) = saved(dir.path());
    assert_eq!(merge(&[&sum]).0, 0);
    let run = find(&good, "run", None);
    let totals = find(&good, "totals", None);
    let autodiscover = find(&good, "category", Some("autodiscover"));
    assert!(good[totals]["totals"]["timed"].as_u64().unwrap() > 0);
    type Edit = Box<dyn Fn(&mut Vec<Value>)>;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "total",
            Box::new(move |r| {
                let n = r[run]["run"]["total"].as_u64().unwrap();
                r[run]["run"]["total"] = (n + 1).into();
            }),
            "lines do not add up",
        ),
        (
            "category-bytes",
            Box::new(move |r| {
                let all = r[totals]["totals"]["bytes"].as_u64().unwrap();
                r[autodiscover]["category"]["traffic"]["bytes"] = (all + 1).into();
            }),
            "the bytes of the categories add up to more than",
        ),
        (
            "category-status",
            Box::new(move |r| {
                let all = r[totals]["totals"]["status"]["404"].as_u64().unwrap();
                let c = &mut r[autodiscover]["category"]["traffic"];
                let n = c["requests"].as_u64().unwrap();
                // Within the category's requests, past the 404s of all requests.
                c["status"] = serde_json::json!({ "404": n });
                r[totals]["totals"]["status"]["404"] = (n - 1).into();
                r[totals]["totals"]["status"]["200"] = (all - n + 1 + all).into();
            }),
            "the categories' requests of status 404 add up to more than",
        ),
        (
            "latency",
            Box::new(move |r| {
                let t = &mut r[totals]["totals"];
                let timed = t["timed"].as_u64().unwrap();
                t["latency"] = serde_json::json!([[5, timed - 1]]);
            }),
            "the latency counts do not add up",
        ),
        (
            "cheap",
            Box::new(move |r| {
                let timed = r[totals]["totals"]["timed"].as_u64().unwrap();
                r[run]["run"]["cheap_answers"] = serde_json::json!({ "3": timed + 1 });
                r[run]["run"]["parsed"] =
                    (timed + 1 + r[run]["run"]["parsed"].as_u64().unwrap()).into();
                r[run]["run"]["total"] = r[run]["run"]["parsed"].clone();
                r[run]["run"]["rejected"] = 0.into();
                r[run]["run"]["filtered"] = 0.into();
                r[run]["run"]["rejects"] = serde_json::json!({});
                r[totals]["totals"]["requests"] = r[run]["run"]["parsed"].clone();
            }),
            "cheap answers (timed 403s and 404s) add up to more than",
        ),
        (
            "span",
            Box::new(move |r| {
                // No parsed line, yet a time span.
                let n = r[run]["run"]["total"].as_u64().unwrap();
                r[run]["run"]["parsed"] = 0.into();
                r[run]["run"]["filtered"] =
                    (n - r[run]["run"]["rejected"].as_u64().unwrap()).into();
            }),
            "a time span without a parsed line",
        ),
        (
            "run-twice",
            Box::new(move |r| {
                let mut again = r[run].clone();
                again["run"]["total"] = u64::MAX.into();
                again["run"]["parsed"] = u64::MAX.into();
                r.insert(autodiscover, again);
            }),
            "line 5: a run record after the totals records: not the order a summary is written in",
        ),
        (
            "category-twice",
            Box::new(move |r| {
                let again = r[autodiscover].clone();
                r.insert(autodiscover + 1, again);
            }),
            "category `autodiscover` is given twice",
        ),
        (
            "no-totals",
            Box::new(move |r| {
                r.remove(totals);
            }),
            "no totals record before this one",
        ),
    ];
    for (name, edit, want) in cases {
        let mut records = good.clone();
        edit(&mut records);
        // The end record counts the records.
        let end = records.len() - 1;
        records[end]["end"]["records"] = (records.len() as u64 - 2).into();
        let f = dir.path().join(format!("{name}.sum"));
        write(&f, &records);
        assert_refused(&f, want);
    }
}

/// The indexes of the evidence records of the category whose maps follow `category`.
fn evidence_of(records: &[Value], category: usize) -> Vec<usize> {
    let next = (category + 1..records.len())
        .find(|&i| records[i].get("category").is_some() || records[i]["map"]["of"] == "served")
        .unwrap();
    (category..next)
        .filter(|&i| records[i].get("evidence").is_some())
        .collect()
}

#[test]
fn evidence_a_scan_cannot_make_is_refused_with_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (_, good) = saved(dir.path());
    let autodiscover = find(&good, "category", Some("autodiscover"));
    let ev = evidence_of(&good, autodiscover);
    assert!(ev.len() >= 2, "{ev:?}");
    let e = |r: &Value| r["evidence"][1].clone();
    // An entry asked for by several clients, and one with more requests than clients,
    // days or hours (so one request fewer still fits them).
    let wide = *ev
        .iter()
        .find(|&&i| e(&good[i])["clients"].as_array().unwrap().len() >= 2)
        .expect("a path asked for by two clients");
    let spare = *ev
        .iter()
        .find(|&&i| {
            let v = e(&good[i]);
            let most = ["clients", "days", "hours"]
                .iter()
                .map(|s| v[s].as_array().unwrap().len() as u64)
                .max()
                .unwrap();
            i != wide && v["requests"].as_u64().unwrap() > most
        })
        .expect("a path with more requests than clients");
    let map = (0..autodiscover + 1000)
        .find(|&i| good[i]["map"]["of"] == "evidence")
        .unwrap();
    type Edit = Box<dyn Fn(&mut Vec<Value>)>;
    let set = |i: usize, field: &'static str, v: Value| -> Edit {
        Box::new(move |r: &mut Vec<Value>| r[i]["evidence"][1][field] = v.clone())
    };
    let clients = e(&good[wide])["clients"].as_array().unwrap().clone();
    let hours = e(&good[wide])["hours"].as_array().unwrap().clone();
    let day = hours[0].as_u64().unwrap() / 24;
    let cases: Vec<(&str, Edit, &str)> = vec![
        (
            "unsorted",
            set(wide, "clients", clients.iter().rev().cloned().collect()),
            "evidence clients not ascending and distinct",
        ),
        (
            "too-many",
            set(wide, "clients", (0..33).collect()),
            "more than 32 clients in evidence",
        ),
        (
            "days",
            set(wide, "days", vec![day + 1].into()),
            "evidence days that are not those of its hours",
        ),
        (
            "later",
            Box::new(move |r| {
                // Consistent, but a thousand days after the run.
                let v = &mut r[wide]["evidence"][1];
                for (f, by) in [("hours", 24_000), ("days", 1000)] {
                    let later: Vec<u64> = v[f]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|x| x.as_u64().unwrap() + by)
                        .collect();
                    v[f] = later.into();
                }
            }),
            "evidence hours or days outside the time span of the run",
        ),
        (
            "family",
            set(wide, "families", vec!["carrier-pigeon"].into()),
            "client family `carrier-pigeon` is unknown to this noisegate",
        ),
        (
            "more-than-the-path",
            Box::new(move |r| {
                // The map's sum stays: one request moves from `spare` to `wide`.
                for (i, d) in [(wide, 1i64), (spare, -1)] {
                    let n = r[i]["evidence"][1]["requests"].as_i64().unwrap();
                    r[i]["evidence"][1]["requests"] = (n + d).into();
                }
            }),
            "requests for a path with",
        ),
        (
            "overflow",
            Box::new(move |r| {
                let n = r[autodiscover]["category"]["traffic"]["requests"]
                    .as_u64()
                    .unwrap();
                r[map]["map"]["overflow"] = n.into();
            }),
            "the counts of a map add up to more than",
        ),
        (
            "twice",
            Box::new(move |r| {
                let again = r[wide].clone();
                r.insert(wide, again);
            }),
            "evidence keys not ascending",
        ),
        (
            "version-2",
            Box::new(|r| r[0]["version"] = 2.into()),
            "an evidence map in a version-2 file",
        ),
    ];
    for (name, edit, want) in cases {
        let mut records = good.clone();
        edit(&mut records);
        let end = records.len() - 1;
        records[end]["end"]["records"] = (records.len() as u64 - 2).into();
        let f = dir.path().join(format!("evidence-{name}.sum"));
        write(&f, &records);
        assert_refused(&f, want);
        let (_, _, err) = merge(&[&f]);
        assert!(err.contains("line "), "{name}: the line is named: {err}");
    }
}

#[test]
fn sums_past_what_a_count_holds_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (sum, good) = saved(dir.path());
    let totals = find(&good, "totals", None);
    let mut big = good.clone();
    big[totals]["totals"]["bytes"] = (u64::MAX - 1).into();
    let f = dir.path().join("big.sum");
    write(&f, &big);
    assert_eq!(merge(&[&f]).0, 0, "alone it fits");
    let (code, out, err) = merge(&[&f, &sum]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains(&format!(
            "{}: more bytes than a count holds (18446744073709551615), with the files before it",
            sum.display()
        )),
        "{err}"
    );
}

#[test]
fn the_same_summary_under_another_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (sum, _) = saved(dir.path());
    let copy = dir.path().join("copy.sum");
    std::fs::copy(&sum, &copy).unwrap();
    let (code, out, err) = merge(&[&sum, &copy]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert!(
        err.contains(&format!(
            "{}: the same summary as {}, byte for byte: its lines would be counted twice",
            copy.display(),
            sum.display()
        )),
        "{err}"
    );
    // The same figures in other bytes (compressed again) are another file: a second run
    // over the same logs is the user's to know.
    let mut text = Vec::new();
    MultiGzDecoder::new(std::fs::File::open(&sum).unwrap())
        .read_to_end(&mut text)
        .unwrap();
    let mut gz = GzEncoder::new(
        std::fs::File::create(&copy).unwrap(),
        flate2::Compression::best(),
    );
    gz.write_all(&text).unwrap();
    gz.finish().unwrap();
    assert_eq!(merge(&[&sum, &copy]).0, 0);
}

/// The mail domains of a saved file are checked as a scan makes them: a domain that is no
/// lower-case hostname, counts that do not add up or pass their category's or the noise's,
/// mailbox hashes out of order or past the cap, an example no scan keeps, and a domains map in
/// a file of a version that had none.
#[test]
fn mail_domains_a_scan_cannot_make_are_refused_with_the_rule() {
    let dir = tempfile::tempdir().unwrap();
    let (_, records) = saved(dir.path());
    let at = find(&records, "domain", None);
    type Spoil = (&'static str, fn(&mut Value));
    let spoil: [Spoil; 8] = [
        ("is not a lower-case hostname", |d| {
            d["domain"] = "Example.ORG".into()
        }),
        ("is not a lower-case hostname", |d| {
            d["domain"] = "<b>x</b>.org".into()
        }),
        ("do not add up to its requests", |d| {
            d["requests"] = (d["requests"].as_u64().unwrap() + 1).into()
        }),
        ("do not add up to its requests", |d| {
            d["families"] = serde_json::json!({"thunderbird": 1})
        }),
        ("not what a scan keeps", |d| {
            d["mailboxes"].as_array_mut().unwrap().reverse()
        }),
        ("not what a scan keeps", |d| d["saturated"] = true.into()),
        ("not what a scan keeps", |d| d["masked"] = "<".into()),
        ("not what a scan keeps", |d| {
            d["full"] = serde_json::json!(["<script>", "a"])
        }),
    ];
    for (i, (want, f)) in spoil.iter().enumerate() {
        let mut r = records.clone();
        f(&mut r[at]["domain"]);
        let path = dir.path().join(format!("d{i}.sum"));
        write(&path, &r);
        assert_refused(&path, want);
    }
    // More requests than the whole noise, in one domain.
    let mut r = records.clone();
    let d = &mut r[at]["domain"];
    let cat = d["categories"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    d["categories"] = serde_json::json!({ cat.clone(): 1_000_000 });
    d["families"] = serde_json::json!({"thunderbird": 1_000_000});
    d["requests"] = 1_000_000.into();
    let path = dir.path().join("big.sum");
    write(&path, &r);
    assert_refused(&path, "add up to more than");
    // A domains map in a version-3 file.
    let mut r = records.clone();
    r[0]["version"] = 3.into();
    let path = dir.path().join("v3.sum");
    write(&path, &r);
    assert_refused(&path, "a domains map in a version-3 file");
    // A version-3 file without it (nor the minutes' blocked counts of version 5) reads, with
    // no domains.
    let mut r: Vec<Value> = records
        .iter()
        .filter(|r| r.get("domain").is_none() && r["map"]["of"] != "domains")
        .cloned()
        .collect();
    for m in r.iter_mut().filter_map(|r| r.get_mut("minute")) {
        m.as_object_mut().unwrap().remove("blocked");
    }
    r[0]["version"] = 3.into();
    let end = r.len() - 1;
    r[end]["end"]["records"] = (end as u64 - 1).into();
    let path = dir.path().join("v3-ok.sum");
    write(&path, &r);
    let (code, out, err) = merge(&[&path]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["mail_domains"], serde_json::json!([]));
}

/// Bug: a mail domain given twice was read twice and added up: each record passed the checks
/// alone, and the domain showed twice its requests (example.net 20 of its 10), past what its
/// categories allow. Domains are read as the writer gives them: once each, in byte order.
#[test]
fn a_mail_domain_given_twice_or_out_of_order_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (_, records) = saved(dir.path());
    let at = find(&records, "domain", None);
    assert!(records[at + 1].get("domain").is_some(), "two domains");
    let end = records.len();
    let fixed = |r: &mut Vec<Value>| {
        let last = r.len() - 1;
        r[last]["end"]["records"] = (last as u64 - 1).into();
    };
    let mut twice = records.clone();
    twice.insert(at, records[at].clone());
    fixed(&mut twice);
    assert_eq!(twice.len(), end + 1);
    let path = dir.path().join("twice.sum");
    write(&path, &twice);
    assert_refused(&path, "given twice or out of the writer's order");
    let mut swapped = records.clone();
    swapped.swap(at, at + 1);
    let path = dir.path().join("swapped.sum");
    write(&path, &swapped);
    assert_refused(&path, "given twice or out of the writer's order");
    // As written, it reads.
    let path = dir.path().join("ok.sum");
    write(&path, &records);
    assert_eq!(merge(&[&path]).0, 0);
}

/// Each minute's count of the noise answered 403 in next to no time (version 5 on, what the
/// worst-minute rule of `check` leaves out) is checked and kept: more than the minute's noise
/// is refused, and so is a count in a file of a version that had none, or a version-5 minute
/// without one; a version-4 file without them reads; merged and saved again, every minute keeps
/// its count.
#[test]
fn the_blocked_noise_of_a_minute_is_checked_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (sum, records) = saved(dir.path());
    let minutes: Vec<usize> = (0..records.len())
        .filter(|&i| records[i].get("minute").is_some())
        .collect();
    let at = *minutes
        .iter()
        .find(|&&i| records[i]["minute"]["blocked"].as_u64() > Some(0))
        .expect("a minute with blocked noise in the sample");
    type Spoil = (&'static str, fn(&mut Vec<Value>, usize));
    let spoil: [Spoil; 3] = [
        ("the blocked noise of a minute", |r, at| {
            let m = &mut r[at]["minute"];
            m["blocked"] = (m["noise"].as_u64().unwrap() + 1).into();
        }),
        ("a minute's blocked count in a version-4 file", |r, _| {
            r[0]["version"] = 4.into()
        }),
        ("a minute without its blocked count", |r, at| {
            r[at]["minute"].as_object_mut().unwrap().remove("blocked");
        }),
    ];
    for (i, (want, f)) in spoil.iter().enumerate() {
        let mut r = records.clone();
        f(&mut r, at);
        let path = dir.path().join(format!("m{i}.sum"));
        write(&path, &r);
        assert_refused(&path, want);
    }
    let mut r = records.clone();
    for &i in &minutes {
        r[i]["minute"].as_object_mut().unwrap().remove("blocked");
    }
    r[0]["version"] = 4.into();
    let v4 = dir.path().join("v4.sum");
    write(&v4, &r);
    let (code, from_v4, err) = merge(&[&v4]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        from_v4,
        merge(&[&sum]).1,
        "the report does not show the counts"
    );
    let again = dir.path().join("again.sum");
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .arg("merge")
        .arg("--save-summary")
        .arg(&again)
        .arg(&sum)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let mut text = String::new();
    MultiGzDecoder::new(std::fs::File::open(&again).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    let blocked = |records: &mut dyn Iterator<Item = Value>| -> Vec<(Value, Value)> {
        records
            .filter_map(|r| r.get("minute").cloned())
            .map(|m| (m["at"].clone(), m["blocked"].clone()))
            .collect()
    };
    assert_eq!(
        blocked(&mut text.lines().map(|l| serde_json::from_str(l).unwrap())),
        blocked(&mut records.into_iter())
    );
}
