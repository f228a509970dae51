//! Which entries the block keeps when they do not all fit, and how it accounts for them: an
//! attacker's many casings, each from one client, must not push out a path real clients ask
//! for; a noise path covered by an entry counts in that entry and is never listed as left out
//! (checked on fixed and random logs); a narrowed directory entry says what it would cover;
//! `--max-entries` leaves room in the list; a saved summary keeps the evidence, so `merge`
//! ranks as the run did, while a version-2 file (without it) ranks by requests and says so.

use assert_cmd::Command;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use proptest::prelude::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

const OUTLOOK: &str = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.4266; Pro)";

/// One line in Pantheon's format, at `second` seconds after midnight on 19 Feb 2016.
fn line(client: &str, req: &str, status: u16, ua: &str, second: u32) -> String {
    let (h, m, s) = (second / 3600 % 24, second / 60 % 60, second % 60);
    format!(
        "{client} - - [19/Feb/2016:{h:02}:{m:02}:{s:02} +0000]  \"{req}\" {status} 10 \"-\" \"{ua}\" 0.400 \"{client}\"\n"
    )
}

/// 24 casings of `/autodiscover` that no client sends, each 301 times from one address with
/// a script's user agent, and `/Autodiscover` from 300 Outlook clients once each.
pub(crate) fn attack_log() -> String {
    let mut s = String::new();
    for c in junk_casings() {
        for i in 0..301 {
            s += &line(
                "203.0.113.66",
                &format!("GET /{c}/x HTTP/1.1"),
                404,
                "python-requests/2.31",
                7200 + i % 60,
            );
        }
    }
    for i in 0..300u32 {
        s += &line(
            &format!("10.1.{}.{}", i / 250, i % 250),
            "POST /Autodiscover/Autodiscover.xml HTTP/1.1",
            404,
            OUTLOOK,
            i * 97 % 86_000,
        );
    }
    s
}

/// 24 casings of `autodiscover`, none of them the three real clients use.
pub(crate) fn junk_casings() -> Vec<String> {
    casings(27)
        .into_iter()
        .filter(|c| !["autodiscover", "Autodiscover", "AutoDiscover"].contains(&c.as_str()))
        .take(24)
        .collect()
}

/// The first `n` casings of `autodiscover`, its letters upper-cased by the bits of 0, 1, 2...
fn casings(n: u32) -> Vec<String> {
    (0..n)
        .map(|bits| {
            "autodiscover"
                .chars()
                .enumerate()
                .map(|(i, c)| match bits >> (i % 12) & 1 {
                    1 => c.to_ascii_uppercase(),
                    _ => c,
                })
                .collect()
        })
        .collect()
}

/// noisegate with `args` on `log` (written to a file): exit code, stdout, stderr.
fn run(args: &[&str], log: &str) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access.log");
    std::fs::write(&file, log).unwrap();
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(args)
        .arg(&file)
        .output()
        .unwrap();
    crate::support::code_out_err(out)
}

fn json(log: &str) -> Value {
    let (code, out, err) = run(&["-o", "json"], log);
    assert!(code == 0 || code == 1, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn junk_casings_from_one_client_do_not_push_out_real_clients() {
    let log = attack_log();
    assert_eq!(junk_casings().len(), 24);
    let (code, yml, err) = run(&["block"], &log);
    assert_eq!(code, 0, "{err}");
    assert!(
        yml.contains("  # 300 requests (autodiscover)\n  - /Autodiscover\n"),
        "{yml}"
    );
    assert_eq!(yml.matches("  - /").count(), 24, "{yml}");
    assert!(
        err.contains("1 entry left out over the limit: 301 requests (1 client, 1 day, 1 hour"),
        "{err}"
    );

    let v = json(&log);
    let b = &v["block"];
    let dropped = b["dropped"].as_array().unwrap();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    let d = &dropped[0];
    assert_eq!(d["requests"], 301);
    assert_eq!(d["evidence"]["clients"], 1);
    assert_eq!(d["evidence"]["mail_families"], serde_json::json!([]));
    let reason = d["reason"].as_str().unwrap();
    assert!(
        reason.contains("ranked by distinct clients times distinct hours"),
        "{reason}"
    );
    assert!(
        reason.contains("1 client, 1 day, 1 hour, no mail-client family"),
        "{reason}"
    );
    let over = &b["coverage"]["over_limit"];
    assert_eq!(over["entries"], 1);
    assert_eq!(over["requests"], 301);
    assert_eq!(over["evidence"]["clients"], 1);
    assert_eq!(b["coverage"]["covered_requests"], 24 * 301 - 301 + 300);

    let (_, text, _) = run(&[], &log);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains(
            "covers 7,223 of 7,524 noise requests (96.00%); left out over the limit: 1 entry with 301 requests from 1 client"
        ),
        "{text}"
    );
}

#[test]
fn real_clients_left_out_are_said_in_the_coverage_line() {
    // 26 casings, each from 33 Outlook clients: two cannot fit.
    let mut log = String::new();
    for (n, c) in casings(26).iter().enumerate() {
        for i in 0..33u32 {
            log += &line(
                &format!("10.{n}.1.{i}"),
                &format!("POST /{c}/a.xml HTTP/1.1"),
                404,
                OUTLOOK,
                i * 60,
            );
        }
    }
    let v = json(&log);
    check_accounting(&v);
    let over = &v["block"]["coverage"]["over_limit"];
    assert_eq!(over["entries"], 2, "{over}");
    assert_eq!(over["evidence"]["clients"], 32, "{over}");
    assert_eq!(over["evidence"]["limit"], 32, "{over}");
    let (_, text, _) = run(&[], &log);
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("left out over the limit: 2 entries with 66 requests from 32+ clients"),
        "{text}"
    );
    let (code, yml, err) = run(&["block", "--max-entries", "2"], &log);
    assert_eq!(code, 0, "{err}");
    assert_eq!(yml.matches("  - /").count(), 2, "{yml}");
}

#[test]
fn nginx_and_apache_have_no_entry_limit() {
    // 26 casings and a page served under /autodiscover: no case-insensitive rule can be
    // used, and all 26 exact entries are written (Pantheon's list holds 24).
    let mut log = line(
        "10.0.0.9",
        "GET /autodiscover/help HTTP/1.1",
        200,
        "Mozilla/5.0",
        1,
    );
    for (n, c) in casings(26).iter().enumerate() {
        log += &line(
            &format!("10.{n}.1.1"),
            &format!("POST /{c}/a.xml HTTP/1.1"),
            404,
            OUTLOOK,
            1,
        );
    }
    let (code, nginx, err) = run(&["block", "--target", "nginx"], &log);
    assert_eq!(code, 0, "{err}");
    assert_eq!(nginx.matches("location = ").count(), 26, "{nginx}");
    assert!(!nginx.contains("~*"), "{nginx}");
    assert!(!nginx.contains("limit"), "{nginx}");
    let (_, apache, _) = run(&["block", "--target", "apache"], &log);
    assert_eq!(apache.matches("RewriteRule ").count(), 26, "{apache}");
    let (_, nginx, _) = run(&["block", "--target", "nginx", "--max-entries", "3"], &log);
    assert_eq!(nginx.matches("location = ").count(), 3, "{nginx}");
    let (_, yml, _) = run(&["block"], &log);
    assert_eq!(yml.matches("  - /").count(), 24, "{yml}");
}

#[test]
fn max_entries_leaves_room_and_pantheon_allows_at_most_24() {
    let log = attack_log();
    let (code, _, err) = run(&["block", "--max-entries", "25"], &log);
    assert_eq!(code, 2);
    assert!(err.contains("at most 24"), "{err}");
    for (n, upstream) in [("0", "none"), ("3", "wordpress")] {
        let (code, _, err) = run(&["block", "--max-entries", n, "--upstream", upstream], &log);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("leaves no room"), "{err}");
    }
    let (code, yml, err) = run(
        &["block", "--max-entries", "5", "--upstream", "wordpress"],
        &log,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(yml.matches("  - /").count(), 2, "{yml}");
    assert!(yml.contains("  - /Autodiscover\n"), "{yml}");
    // nginx and Apache have no limit of their own; --max-entries bounds their exact entries.
    let (code, _, err) = run(
        &["block", "--target", "nginx", "--max-entries", "100"],
        &log,
    );
    assert_eq!(code, 0, "{err}");
}

/// The log of issue 17: a JSON autodiscover path with an address in it (unsafe in a config
/// file) under an exact entry, with a served look-alike that keeps `/autodiscover` narrowed.
fn covered_log() -> String {
    let mut s = String::new();
    for i in 0..20 {
        s += &line(
            "10.0.0.1",
            "GET /autodiscover/autodiscover.json/v1.0/user@example.com?Protocol=ActiveSync HTTP/1.1",
            404,
            OUTLOOK,
            100 + i,
        );
    }
    for i in 0..3 {
        s += &line(
            "10.0.0.2",
            "GET /autodiscover/autodiscover.json HTTP/1.1",
            404,
            OUTLOOK,
            200 + i,
        );
    }
    s += &line(
        "10.0.0.3",
        "GET /autodiscover-help HTTP/1.1",
        200,
        "Mozilla/5.0",
        300,
    );
    s
}

/// Whether entry `e` covers normalized noise path `p` (equal, or a parent at a `/`).
fn covers(e: &str, p: &str) -> bool {
    p == e || p.starts_with(&format!("{e}/"))
}

/// The invariants of a block: entries' requests add up to the covered requests, and nothing
/// listed as left out is covered by an entry.
fn check_accounting(v: &Value) {
    let b = &v["block"];
    let entries = b["entries"].as_array().unwrap();
    let sum: u64 = entries
        .iter()
        .map(|e| e["requests"].as_u64().unwrap())
        .sum();
    assert_eq!(
        sum,
        b["coverage"]["covered_requests"].as_u64().unwrap(),
        "{b}"
    );
    for d in b["dropped"].as_array().unwrap() {
        let p = d["path"].as_str().unwrap();
        for e in entries {
            let e = e["path"].as_str().unwrap();
            assert!(!covers(e, p), "{p} is left out but {e} covers it: {b}");
        }
    }
}

#[test]
fn covered_sub_paths_count_in_their_entry_and_are_not_left_out() {
    let log = covered_log();
    let (code, yml, err) = run(&["block"], &log);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        yml,
        "api_version: 1\nprotected_web_paths:\n  # 23 requests (autodiscover)\n  - /autodiscover/autodiscover.json\n"
    );
    let v = json(&log);
    check_accounting(&v);
    assert_eq!(v["block"]["dropped"], serde_json::json!([]));
    assert_eq!(v["block"]["coverage"]["covered_requests"], 23);
    assert_eq!(v["block"]["entries"][0]["requests"], 23);
}

#[test]
fn a_narrowed_directory_entry_says_what_it_would_cover() {
    // Redirects on /autodiscover and /owa keep their directory entries out.
    let mut log = String::new();
    for p in ["/autodiscover", "/owa"] {
        log += &line(
            "10.0.0.9",
            &format!("GET {p} HTTP/1.1"),
            301,
            "Mozilla/5.0",
            10,
        );
    }
    for (i, p) in [
        "/autodiscover/autodiscover.xml",
        "/autodiscover/autodiscover.json",
        "/autodiscover/a b.xml",
        "/owa/auth/logon.aspx",
    ]
    .iter()
    .enumerate()
    {
        for n in 0..(i as u32 + 2) {
            let p = p.replace(' ', "%20");
            log += &line(
                &format!("10.0.1.{n}"),
                &format!("GET {p} HTTP/1.1"),
                404,
                OUTLOOK,
                20,
            );
        }
    }
    let v = json(&log);
    check_accounting(&v);
    let narrowed = v["block"]["narrowed"].as_array().unwrap();
    let ad = narrowed
        .iter()
        .find(|d| d["path"] == "/autodiscover")
        .unwrap();
    assert_eq!(ad["directory_requests"], 2 + 3 + 4 + 1);
    assert_eq!(ad["exact_requests"], 2 + 3);
    assert_eq!(ad["exact_entries"], 2);
    let reason = ad["reason"].as_str().unwrap();
    assert!(
        reason.contains("protecting /autodiscover would cover 10 requests in 1 entry"),
        "{reason}"
    );
    assert!(
        reason.contains("5 requests more if the site can do without those 2xx/3xx answers"),
        "{reason}"
    );
    let owa = narrowed.iter().find(|d| d["path"] == "/owa").unwrap();
    assert_eq!(owa["exact_entries"], 1);
}

/// A random log: noise paths in several casings (some with bytes no config file gets), their
/// sub-paths, and look-alikes answered 2xx/3xx.
fn random_log() -> impl Strategy<Value = String> {
    let root = prop::sample::select(vec![
        "autodiscover",
        "Autodiscover",
        "AUTODISCOVER",
        "owa",
        "OWA",
        "ews",
        "autodiscover.xml",
        ".well-known/autoconfig",
    ]);
    let rest = prop::sample::select(vec![
        "",
        "/autodiscover.xml",
        "/autodiscover.json",
        "/autodiscover.json/v1.0/a@b.c",
        "/x@y",
        "/a/b",
        "-help",
        "s",
    ]);
    let status = prop::sample::select(vec![404u16, 404, 404, 200, 301]);
    let req = (root, rest, status, 0u32..5, 1u32..4);
    prop::collection::vec(req, 1..30).prop_map(|reqs| {
        let mut s = String::new();
        for (root, rest, status, client, n) in reqs {
            for k in 0..n {
                s += &line(
                    &format!("10.9.0.{client}"),
                    &format!("GET /{root}{rest} HTTP/1.1"),
                    status,
                    OUTLOOK,
                    k,
                );
            }
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn entries_add_up_and_nothing_covered_is_left_out(log in random_log()) {
        check_accounting(&json(&log));
        let (code, _, err) = run(&["block", "--max-entries", "3"], &log);
        prop_assert_eq!(code, 0, "{}", err);
    }
}

/// `noisegate args... files...`: its JSON report, the exit code checked.
fn json_of(args: &[&str], files: &[&Path]) -> Value {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(args)
        .args(["-o", "json"])
        .args(files)
        .output()
        .unwrap();
    let code = out.status.code().unwrap();
    assert!(
        code == 0 || code == 1,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Saves the summary of `log` as `name` in `dir`.
fn save(dir: &Path, name: &str, log: &str) -> PathBuf {
    let sum = dir.join(name);
    let (code, _, err) = run(&["--save-summary", sum.to_str().unwrap()], log);
    assert!(code == 0 || code == 1, "{err}");
    sum
}

#[test]
fn a_saved_summary_keeps_the_evidence_and_merge_gives_the_block_of_the_run() {
    let log = attack_log();
    let direct = json(&log);
    let dir = tempfile::tempdir().unwrap();
    let sum = save(dir.path(), "attack.sum", &log);
    let merged = json_of(&["merge"], &[&sum]);
    check_accounting(&merged);
    assert_eq!(merged["block"], direct["block"]);
    let reason = merged["block"]["dropped"][0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("ranked by distinct clients times distinct hours"),
        "{reason}"
    );
    assert_eq!(merged["block"]["dropped"][0]["evidence"]["clients"], 1);
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .arg("merge")
        .arg(&sum)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("left out over the limit: 1 entry with 301 requests from 1 client"),
        "{text}"
    );

    // Any split of the log, saved apart and merged, gives the same block too.
    let (mut a, mut b) = (String::new(), String::new());
    for (i, l) in log.lines().enumerate() {
        let half = if i % 3 == 0 { &mut a } else { &mut b };
        half.push_str(l);
        half.push('\n');
    }
    let parts = [save(dir.path(), "a.sum", &a), save(dir.path(), "b.sum", &b)];
    let merged = json_of(&["merge"], &[&parts[1], &parts[0]]);
    assert_eq!(merged["block"], direct["block"]);
}

/// The uncompressed text of a summary file.
fn text_of(path: &Path) -> String {
    let mut s = String::new();
    MultiGzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// A version-2 file with the figures of the version-5 file `v3`: its records without the
/// evidence and domains maps and the minutes' blocked counts (what version 2 wrote), and the
/// end record counting what is left.
fn as_version_2(v3: &Path, v2: &Path) {
    let text = text_of(v3);
    let mut lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .filter(|r: &Value| r.get("evidence").is_none() && r["map"]["of"] != "evidence")
        .filter(|r: &Value| r.get("domain").is_none() && r["map"]["of"] != "domains")
        .collect();
    for m in lines.iter_mut().filter_map(|r| r.get_mut("minute")) {
        m.as_object_mut().unwrap().remove("blocked");
    }
    assert_eq!(lines[0]["version"], 5);
    lines[0]["version"] = 2.into();
    let end = lines.len() - 1;
    lines[end]["end"]["records"] = (end as u64 - 1).into();
    let mut gz = GzEncoder::new(std::fs::File::create(v2).unwrap(), Default::default());
    for r in &lines {
        writeln!(gz, "{r}").unwrap();
    }
    gz.finish().unwrap();
}

#[test]
fn a_version_2_summary_has_no_evidence_and_says_it_ranked_by_requests() {
    let dir = tempfile::tempdir().unwrap();
    let v3 = save(dir.path(), "attack.sum", &attack_log());
    let sum = dir.path().join("attack-v2.sum");
    as_version_2(&v3, &sum);
    let v = json_of(&["merge"], &[&sum]);
    check_accounting(&v);
    let dropped = v["block"]["dropped"].as_array().unwrap();
    assert_eq!(dropped.len(), 1, "{dropped:?}");
    let reason = dropped[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("ranked by requests, since part of the noise came from a saved summary"),
        "{reason}"
    );
    assert!(dropped[0].get("evidence").is_none(), "{dropped:?}");
    let over = &v["block"]["coverage"]["over_limit"];
    assert_eq!(over["entries"], 1, "{over}");
    assert!(over.get("evidence").is_none(), "{over}");
    // Merged with a version-3 file, part of the noise still has no evidence: by requests.
    let other = save(
        dir.path(),
        "other.sum",
        &line("10.9.9.9", "GET /autodiscover HTTP/1.1", 404, OUTLOOK, 5),
    );
    let v = json_of(&["merge"], &[&other, &sum]);
    let reason = v["block"]["dropped"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("ranked by requests"), "{reason}");
}
