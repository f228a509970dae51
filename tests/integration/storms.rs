//! Storms, surges, impact and senders through the real binary, on a log built here with known
//! storms: the reported start, end, requests and peaks must be exact, whatever the line order,
//! across a day and month boundary (and a leap day).

use assert_cmd::Command;
use serde_json::Value;

pub(crate) const OUTLOOK: &str =
    "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)";
const THUNDERBIRD: &str =
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0";

/// A Pantheon line at `t` (epoch seconds).
pub(crate) fn line(t: i64, req: &str, status: u16, ua: &str, rt: &str, client: &str) -> String {
    let days = t.div_euclid(86_400);
    let (y, m, d) = noisegate_engine::internals::civil_from_days(days);
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][m as usize - 1];
    let s = t.rem_euclid(86_400);
    format!(
        "10.0.0.1 - - [{d:02}/{month}/{y:04}:{:02}:{:02}:{:02} +0000]  \"{req}\" {status} 100 \"-\" \"{ua}\" {rt} \"{client}, 10.0.0.2\"\n",
        s / 3600,
        s / 60 % 60,
        s % 60
    )
}

/// 2024-02-29T23:50:00Z.
pub(crate) const T0: i64 = 1_709_250_600;

fn log() -> Vec<String> {
    let mut out = Vec::new();
    let storm = "POST /Autodiscover/Autodiscover.xml HTTP/1.1";
    // The storm: 45 a minute for 20 minutes from 23:50:07, and 5 more in minute 5.
    for k in 0..20 {
        for j in 0..45 {
            let t = T0 + k * 60 + (7 + j) % 60;
            out.push(line(t, storm, 404, OUTLOOK, "0.500", "203.0.113.66"));
        }
    }
    for s in 55..60 {
        out.push(line(
            T0 + 5 * 60 + s,
            storm,
            404,
            OUTLOOK,
            "0.500",
            "203.0.113.66",
        ));
    }
    // A steady Outlook, every 5 minutes for two hours: no storm.
    for k in 0..24 {
        let t = T0 + k * 300;
        out.push(line(
            t,
            "POST /autodiscover/autodiscover.xml HTTP/1.1",
            404,
            OUTLOOK,
            "0.400",
            "198.51.100.5",
        ));
    }
    // A Thunderbird fleet: 12 clients, 3 requests each in 03:00, 03:01 and 03:03.
    let fleet = "GET /.well-known/autoconfig/mail/config-v1.1.xml HTTP/1.1";
    for minute in [190, 191, 193] {
        for c in 0..12 {
            for r in 0..3 {
                let client = format!("192.0.2.{c}");
                out.push(line(
                    T0 + minute * 60 + c * 3 + r,
                    fleet,
                    404,
                    THUNDERBIRD,
                    "0.300",
                    &client,
                ));
            }
        }
    }
    // Already blocked, a scanner, and ordinary traffic every minute.
    for s in 0..3 {
        out.push(line(
            T0 + 3600 + s,
            "POST /autodiscover/autodiscover.xml HTTP/1.1",
            403,
            OUTLOOK,
            "0.001",
            "198.51.100.9",
        ));
    }
    let scan = "GET /autodiscover/autodiscover.json?@zdi/Powershell HTTP/1.1";
    out.push(line(
        T0 + 4000,
        scan,
        404,
        "python-requests/2.31.0",
        "0.200",
        "45.148.10.81",
    ));
    for k in 0..240 {
        out.push(line(
            T0 + k * 60 + 30,
            "GET / HTTP/1.1",
            200,
            "Mozilla/5.0",
            "0.050",
            "198.51.100.200",
        ));
    }
    out
}

fn ng() -> Command {
    Command::cargo_bin("noisegate").unwrap()
}

fn run(lines: &[String], args: &[&str]) -> Value {
    let out = ng()
        .args(["--output", "json"])
        .args(args)
        .write_stdin(lines.concat())
        .assert()
        .success()
        .get_output()
        .clone();
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn a_known_storm_is_reported_exactly_in_any_line_order() {
    let mut lines = log();
    let v = run(&lines, &[]);
    let storms = v["storms"].as_array().unwrap();
    assert_eq!(storms.len(), 1, "{storms:?}");
    let s = &storms[0];
    assert_eq!(s["category"], "autodiscover");
    assert_eq!(s["client"], "203.0.113.66");
    assert_eq!(s["start"], "2024-02-29T23:50:07Z");
    assert_eq!(s["end"], "2024-03-01T00:09:51Z");
    assert_eq!(s["requests"], 905);
    assert_eq!(s["peak_minute"], "2024-02-29T23:55:00Z");
    assert_eq!(s["peak_per_minute"], 50);
    assert_eq!(s["request_time_s"].as_f64().unwrap(), 452.5);
    assert_eq!(s["rate_per_minute"].as_f64().unwrap(), 45.25);
    // Details from the second look at the noise lines.
    assert_eq!(s["peak_60s"], 50);
    assert_eq!(s["status"]["404"], 905);
    assert_eq!(s["methods"][0]["method"], "POST");
    assert_eq!(s["top_paths"][0]["path"], "/Autodiscover/Autodiscover.xml");
    assert_eq!(s["top_paths"][0]["requests"], 905);
    assert_eq!(s["families"][0]["family"], "outlook-desktop");
    assert_eq!(s["user_agents"][0]["user_agent"], OUTLOOK);
    // Reversed and interleaved, the report is the same.
    lines.reverse();
    let (even, odd): (Vec<_>, Vec<_>) = lines
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 0);
    let shuffled: Vec<String> = odd.into_iter().chain(even).map(|(_, l)| l).collect();
    let mut w = run(&shuffled, &["--chunk-size", "4K"]);
    let mut v = v;
    for x in [&mut v, &mut w] {
        x["rejects"]["examples"] = Value::Null;
    }
    assert_eq!(v, w);
}

#[test]
fn a_fleet_is_a_surge_and_thresholds_can_be_changed() {
    let v = run(&log(), &[]);
    let surges = v["surges"].as_array().unwrap();
    assert_eq!(surges.len(), 1, "{surges:?}");
    let s = &surges[0];
    assert_eq!(s["category"], "autoconfig");
    assert_eq!(s["start"], "2024-03-01T03:00:00Z");
    assert_eq!(s["end"], "2024-03-01T03:03:59Z");
    assert_eq!(
        (s["requests"].as_u64(), s["clients"].as_u64()),
        (Some(108), Some(12))
    );
    assert_eq!(s["peak_per_minute"], 36);
    assert_eq!(s["status"]["404"], 108);
    assert_eq!(s["families"][0]["family"], "thunderbird");
    assert_eq!(s["peak_60s"], 36);
    for args in [
        &["--storm-min-requests", "1000"][..],
        &["--storm-rate", "46"],
        &["--storm-gap", "0", "--storm-min-requests", "200"],
    ] {
        assert!(
            run(&log(), args)["storms"].as_array().unwrap().is_empty(),
            "{args:?}"
        );
    }
    let v = run(&log(), &["--storm-min-requests", "20", "--storm-rate", "4"]);
    assert_eq!(
        v["storms"].as_array().unwrap().len(),
        1,
        "the steady client stays out"
    );
    assert!(run(&log(), &["--surge-min-clients", "13"])["surges"]
        .as_array()
        .unwrap()
        .is_empty());
    assert_eq!(
        run(&log(), &["--surge-gap", "1"])["surges"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn impact_timeline_and_senders() {
    let v = run(&log(), &["--php-workers", "4"]);
    let i = &v["impact"];
    assert_eq!(i["php_workers"], 4);
    assert_eq!(i["noise"]["peak_minute"], "2024-02-29T23:55:00Z");
    // 50 storm probes at 0.5 s and the steady client at 0.4 s: 25.4 s in that minute.
    assert_eq!(
        i["noise"]["peak_minute_workers"].as_f64().unwrap(),
        0.423333
    );
    assert_eq!(i["already_blocked_requests"], 3);
    assert_eq!(i["blocked_request_cost_s"].as_f64().unwrap(), 0.001);
    let minutes = v["timeline"]["minutes"].as_array().unwrap();
    let peak = minutes
        .iter()
        .find(|m| m["minute"] == "2024-02-29T23:55:00Z")
        .unwrap();
    assert_eq!(peak["noise"], 51);
    assert_eq!(peak["categories"]["autodiscover"], 51);
    assert_eq!(peak["requests"], 52);
    let ad = v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "autodiscover")
        .unwrap();
    assert_eq!(ad["families"][0]["family"], "outlook-desktop");
    assert_eq!(ad["scanner_requests"], 1);
    assert_eq!(ad["already_blocked"], 3);
    let text = ng().write_stdin(log().concat()).output().unwrap().stdout;
    let text = String::from_utf8(text).unwrap();
    for want in [
        "WHEN (one column",
        "STORMS: 1",
        "203.0.113.66",
        "SURGES: 1",
        "IMPACT",
        "Already blocked: 3",
    ] {
        assert!(text.contains(want), "{want} missing:\n{text}");
    }
}

#[test]
fn far_apart_times_keep_the_chart_in_80_columns() {
    let lines = [
        line(
            -30_000_000_000,
            "GET /owa/ HTTP/1.1",
            404,
            "x",
            "0.1",
            "1.1.1.1",
        ),
        line(
            32_000_000_000,
            "GET /owa/ HTTP/1.1",
            404,
            "x",
            "0.1",
            "1.1.1.1",
        ),
        line(T0, "GET /owa/ HTTP/1.1", 404, "x", "0.1", "1.1.1.1"),
    ];
    let out = ng()
        .args(["--color", "never"])
        .write_stdin(lines.concat())
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("WHEN"));
    assert!(text.contains("3 read · 3 parsed"), "{text}");
    assert!(text.lines().all(|l| l.chars().count() <= 80), "{text}");
}

#[test]
fn without_a_writable_tmpdir_details_are_missing_and_said_so() {
    let out = ng()
        .args(["--output", "json"])
        .env("TMPDIR", "/nonexistent/noisegate")
        .write_stdin(log().concat())
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["storms"][0]["requests"], 905, "storms are still found");
    assert!(v["storms"][0]["peak_60s"].is_null());
    assert!(
        v["caveats"][0].as_str().unwrap().contains("TMPDIR"),
        "{}",
        v["caveats"]
    );
}

#[test]
fn savings_count_only_what_the_block_covers() {
    let mut lines = Vec::new();
    for s in 0..10 {
        lines.push(line(
            T0 + s,
            "GET /.well-known/mta-sts.txt HTTP/1.1",
            404,
            "x",
            "0.500",
            "1.1.1.1",
        ));
        lines.push(line(
            T0 + s,
            "GET /owa/ HTTP/1.1",
            404,
            "x",
            "0.500",
            "1.1.1.2",
        ));
    }
    // The site really serves its MTA-STS policy: that path is not blocked.
    lines.push(line(
        T0 + 20,
        "GET /.well-known/mta-sts.txt HTTP/1.1",
        200,
        "x",
        "0.500",
        "1.1.1.3",
    ));
    let v = run(&lines, &[]);
    assert_eq!(v["block"]["coverage"]["covered_requests"], 10);
    assert_eq!(v["impact"]["blockable_requests"], 10);
    let saved = v["impact"]["saved_request_time_s"].as_f64().unwrap();
    // 10 covered probes at 0.5 s, less what 10 nginx 403s cost (1 ms each: no cheap answers).
    assert!((4.99 - saved).abs() < 1e-6, "{saved}");
}

fn check(lines: &[String], args: &[&str]) -> (i32, String, String) {
    let out = ng()
        .arg("check")
        .args(args)
        .write_stdin(lines.concat())
        .output()
        .unwrap();
    crate::support::code_out_err(out)
}

#[test]
fn check_is_quiet_when_healthy_and_alerts_with_exit_1() {
    let quiet: Vec<String> = log()
        .into_iter()
        .filter(|l| l.contains("GET / HTTP"))
        .collect();
    assert_eq!(check(&quiet, &[]), (0, String::new(), String::new()));
    let (code, out, _) = check(&log(), &[]);
    assert_eq!(code, 1);
    assert!(
        out.contains(
            "autodiscover storm from 203.0.113.66: 905 requests from 2024-02-29T23:50:07Z to 2024-03-01T00:09:51Z"
        ),
        "{out}"
    );
    assert!(
        out.contains("autoconfig surge: 108 requests from 12 clients from 2024-03-01T03:00:00Z to"),
        "{out}"
    );
    assert!(out.contains("protected_web_paths:\n"), "{out}");
    // A window after the storm leaves the surge; stricter surges leave nothing.
    let late = ["--since", "2024-03-01T01:00:00Z"];
    let (code, out, _) = check(&log(), &late);
    assert_eq!(code, 1);
    assert!(
        !out.contains("storm from") && out.contains("autoconfig surge:"),
        "{out}"
    );
    let strict = ["--surge-min-clients", "20", "--max-noise-share", "100"];
    let (code, out, _) = check(&log(), &[&late[..], &strict[..]].concat());
    assert_eq!((code, out.as_str()), (0, ""));
}

#[test]
fn check_thresholds_json_and_errors() {
    let calm = [
        "--storm-min-requests",
        "100000",
        "--surge-min-clients",
        "100",
        "--loop-min-requests",
        "100000",
        "--max-noise-share",
        "100",
    ];
    assert_eq!(check(&log(), &calm).0, 0);
    let (code, out, _) = check(
        &log(),
        &[&calm[..], &["--max-noise-rate", "40", "-o", "json"]].concat(),
    );
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "alert");
    assert_eq!(v["alerts"][0]["kind"], "noise_rate");
    assert!(v["alerts"][0]["message"]
        .as_str()
        .unwrap()
        .contains("51 noise requests in the minute from 2024-02-29T23:55:00Z"));
    assert!(v["block_paths"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p == "/Autodiscover"));
    let (code, out, _) = check(
        &log(),
        &[&calm[..6], &["--max-noise-share", "99", "-o", "json"]].concat(),
    );
    assert_eq!(code, 0);
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap()["status"], "ok");
    let (code, _, err) = check(&log(), &["/nonexistent/access.log"]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/access.log"), "{err}");
}

#[test]
fn saved_summaries_merge_into_the_report_of_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let lines = log();
    let (a, b) = lines.split_at(lines.len() / 2);
    let (fa, fb) = (dir.path().join("a.log"), dir.path().join("b.log"));
    std::fs::write(&fa, a.concat()).unwrap();
    std::fs::write(&fb, b.concat() + "broken line\n").unwrap();
    let (sa, sb) = (dir.path().join("a.sum"), dir.path().join("b.sum"));
    for (log, sum) in [(&fa, &sa), (&fb, &sb)] {
        ng().args(["--output", "json", "--save-summary"])
            .arg(sum)
            .arg(log)
            .assert()
            .success();
    }
    let whole = ng()
        .args(["--output", "json"])
        .arg(&fa)
        .arg(&fb)
        .output()
        .unwrap();
    let merged = ng()
        .args(["merge", "--output", "json"])
        .arg(&sa)
        .arg(&sb)
        .assert()
        .success()
        .get_output()
        .clone();
    let (w, m): (Value, Value) = (
        serde_json::from_slice(&whole.stdout).unwrap(),
        serde_json::from_slice(&merged.stdout).unwrap(),
    );
    assert_eq!(
        m["storms"][0]["peak_60s"], 50,
        "storm details survive the merge"
    );
    assert_eq!(
        m["rejects"]["examples"][0]["file"],
        w["rejects"]["examples"][0]["file"]
    );
    assert_eq!(w, m);
    let bad = dir.path().join("bad.sum");
    std::fs::write(&bad, "not a summary").unwrap();
    let out = ng().arg("merge").arg(&bad).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a noisegate summary"));
}

#[test]
fn follow_reports_storms_as_they_start_and_end() {
    let out = ng()
        .arg("--follow")
        .write_stdin(log().concat())
        .assert()
        .success()
        .get_output()
        .clone();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("storm started: autodiscover from 203.0.113.66 since 2024-02-29T23:50:07Z (120 requests so far)"),
        "{text}"
    );
    assert!(
        text.contains("storm ended: autodiscover from 203.0.113.66, 905 requests from 2024-02-29T23:50:07Z to 2024-03-01T00:09:51Z"),
        "{text}"
    );
    assert_eq!(text.matches("storm started").count(), 1, "{text}");
}

#[test]
fn follow_prints_a_status_while_the_log_is_quiet() {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(["--follow", "--interval", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(log()[..3].concat().as_bytes()).unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "status: 3 lines, 3 mail-client probes since the last status; 0 storms active"
        ),
        "{text}"
    );
}

/// `--follow --interval 3600 --storm-gap 1` on a storm of 130 requests ending at T, then
/// `after` written to its stdin (kept open): how long after the writing it told that the storm
/// ended, and the line that told it (`None` after 30 s).
fn follow_until_the_storm_ends(after: &[(String, u64)]) -> Option<(std::time::Duration, String)> {
    use std::io::{BufRead, Write};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(["--follow", "--interval", "3600", "--storm-gap", "1"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(stdout).lines() {
            let _ = tx.send((std::time::Instant::now(), l.unwrap()));
        }
    });
    let mut stdin = child.stdin.take().unwrap();
    let probe = "POST /autodiscover/autodiscover.xml HTTP/1.1";
    let storm: String = (0..130)
        .map(|k| line(T0 + k, probe, 404, OUTLOOK, "0.300", "203.0.113.5"))
        .collect();
    stdin.write_all(storm.as_bytes()).unwrap();
    stdin.flush().unwrap();
    let written = std::time::Instant::now();
    let writer = {
        let after = after.to_vec();
        std::thread::spawn(move || {
            for (l, pause_ms) in after {
                stdin.write_all(l.as_bytes()).unwrap();
                stdin.flush().unwrap();
                std::thread::sleep(std::time::Duration::from_millis(pause_ms));
            }
            // Held open until the test has its answer.
            stdin
        })
    };
    let ended = loop {
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok((at, l)) if l.contains("storm ended") => break Some((at - written, l)),
            Ok(_) => {}
            Err(_) => break None,
        }
    };
    drop(writer.join().unwrap());
    let _ = child.wait();
    ended
}

/// `--follow` tells that a storm ended once the log's clock passes the storm gap, while stdin
/// stays open: within a second or two, not at the next status line (an hour away here) nor at
/// the end of input. Silent log: a page view at T + 55 s moves the clock, the wall clock the
/// rest, and the storm ends at T + 61 s, some 6 s later. Busy log: page views of other
/// clients every 100 ms for 8 s, each 2 s of log time later, pass T + 61 s in about 3 s.
#[test]
fn follow_tells_a_storm_ended_while_the_log_is_silent_or_busy() {
    let page = |t: i64| {
        line(
            t,
            "GET / HTTP/1.1",
            200,
            "Mozilla/5.0",
            "0.100",
            "198.51.100.7",
        )
    };
    let silent = vec![(page(T0 + 129 + 55), 0)];
    let busy: Vec<(String, u64)> = (1..80).map(|k| (page(T0 + 129 + 2 * k), 100)).collect();
    // The log, and the seconds after the storm within which its end must be told (the busy
    // log's page views go on for 8 s).
    for (name, after, (from, to)) in [("silent", silent, (4, 12)), ("busy", busy, (2, 6))] {
        let (told, l) = follow_until_the_storm_ends(&after)
            .unwrap_or_else(|| panic!("no end within 30 s of a {name} log"));
        assert!(
            l.contains("autodiscover from 203.0.113.5, 130 requests"),
            "{l}"
        );
        let secs = std::time::Duration::from_secs;
        assert!(
            told >= secs(from) && told <= secs(to),
            "{name} log: told {told:?} after the storm: {l}"
        );
    }
}

#[test]
fn review_follow_ups_for_check_follow_and_merge() {
    // check stays quiet (stderr too) on a healthy directory with a skipped error log.
    let dir = tempfile::tempdir().unwrap();
    let quiet: Vec<String> = log()
        .into_iter()
        .filter(|l| l.contains("GET / HTTP"))
        .collect();
    std::fs::write(dir.path().join("access.log"), quiet.concat()).unwrap();
    std::fs::write(dir.path().join("error.log"), "oops\n").unwrap();
    let out = ng().arg("check").arg(dir.path()).output().unwrap();
    assert_eq!(
        (out.status.code(), out.stdout.len(), out.stderr.len()),
        (Some(0), 0, 0)
    );
    // --follow honours --client-ip and refuses options it cannot honour.
    let out = ng()
        .args(["--follow", "--client-ip", "remote-addr"])
        .write_stdin(log().concat())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("storm started: autodiscover from 10.0.0.1")
    );
    for extra in [
        &["--state", "s.json"][..],
        &["--since", "1h"],
        &["-o", "json"],
    ] {
        let out = Command::cargo_bin("noisegate")
            .unwrap()
            .arg("--follow")
            .args(extra)
            .write_stdin("")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{extra:?}");
    }
    // merge refuses the same summary twice.
    let (log_file, sum) = (dir.path().join("a.log"), dir.path().join("a.sum"));
    std::fs::write(&log_file, log().concat()).unwrap();
    ng().arg("--save-summary")
        .arg(&sum)
        .arg(&log_file)
        .assert()
        .success();
    let out = ng().arg("merge").arg(&sum).arg(&sum).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("given twice"));
}

/// The report's storms, as `--follow` prints their end.
fn ended_lines(report: &Value) -> Vec<String> {
    report["storms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "storm ended: {} from {}, {} requests from {} to {}",
                s["category"].as_str().unwrap(),
                s["client"].as_str().unwrap(),
                s["requests"],
                s["start"].as_str().unwrap(),
                s["end"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn follow_and_the_report_find_the_same_storms() {
    // The regression: a 200-minute trickle (one probe a minute) and then 150 probes in 150 s
    // from the same client was a 150-request storm in the report and nothing in --follow.
    let probe = "POST /autodiscover/autodiscover.xml HTTP/1.1";
    let mut trickle: Vec<String> = (0..200)
        .map(|m| line(T0 + m * 60 + 30, probe, 404, OUTLOOK, "0.2", "198.51.100.9"))
        .collect();
    trickle.extend(
        (0..150).map(|s| line(T0 + 12_000 + s, probe, 404, OUTLOOK, "0.2", "198.51.100.9")),
    );
    for lines in [trickle, log()] {
        let report = run(&lines, &[]);
        let expected = ended_lines(&report);
        assert!(!expected.is_empty());
        let out = ng()
            .arg("--follow")
            .write_stdin(lines.concat())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        for e in &expected {
            assert!(text.contains(e.as_str()), "missing {e:?} in\n{text}");
        }
        assert_eq!(
            text.matches("storm ended").count(),
            expected.len(),
            "{text}"
        );
        assert_eq!(
            text.matches("storm started").count(),
            expected.len(),
            "{text}"
        );
    }
    let report = run(
        &(0..150)
            .map(|s| line(T0 + 12_000 + s, probe, 404, OUTLOOK, "0.2", "198.51.100.9"))
            .collect::<Vec<_>>(),
        &[],
    );
    assert_eq!(report["storms"][0]["requests"], 150);
}

#[test]
fn follow_keeps_a_bounded_sample_of_clients_and_bounded_client_names() {
    // 60,000 clients probing within one minute, then one client with a 7 KB name storming.
    let mut lines: Vec<String> = (0..60_000)
        .map(|i| {
            let client = format!("10.{}.{}.{}", i / 65_536, (i / 256) % 256, i % 256);
            line(
                T0 + i / 1000,
                "POST /autodiscover/autodiscover.xml HTTP/1.1",
                404,
                OUTLOOK,
                "0.1",
                &client,
            )
        })
        .collect();
    let long = format!("203.0.113.{}", "9".repeat(7000));
    lines.extend((0..200).map(|i| {
        line(
            T0 + 60 + i / 4,
            "POST /autodiscover/autodiscover.xml HTTP/1.1",
            404,
            OUTLOOK,
            "0.1",
            &long,
        )
    }));
    let out = ng()
        .arg("--follow")
        .write_stdin(lines.concat())
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        text.matches("note: more than 50,000 clients, or more than 16 MB of them, probe within the storm gap")
            .count(),
        1,
        "{}",
        &text[..text.len().min(2000)]
    );
    // The long client is shortened to a bounded, recognisable name, if it is in the sample.
    assert!(
        text.lines().all(|l| l.len() < 1000),
        "a line carries a 7 KB name"
    );
}

/// A client looping every second for three and a half days: more distinct seconds than the storm details
/// keep. The sliding peak then falls back to the busiest clock minute and says so, in any line
/// order, and the storm itself stays exact.
#[test]
fn a_storm_longer_than_the_seconds_kept_reports_its_busiest_minute_as_a_lower_bound() {
    let xml = "POST /autodiscover/autodiscover.xml HTTP/1.1";
    let seconds = 7 * 43_200;
    let mut lines: Vec<String> = (0..seconds)
        .map(|i| line(T0 + i, xml, 404, OUTLOOK, "0.100", "198.51.100.9"))
        .collect();
    // One minute with a burst: 30 more requests in its first second.
    let burst = T0 + 3600 * 5;
    lines.extend((0..30).map(|_| line(burst, xml, 404, OUTLOOK, "0.100", "198.51.100.9")));
    for order in [false, true] {
        if order {
            lines.reverse();
        }
        let v = run(&lines, &[]);
        let storm = &v["storms"][0];
        assert_eq!(storm["requests"], seconds + 30);
        assert_eq!(storm["peak_60s_exact"], false, "{storm}");
        assert_eq!(storm["peak_60s"], 90, "the busiest clock minute");
    }
    // A short storm keeps its exact sliding peak.
    let short: Vec<String> = lines.iter().take(600).cloned().collect();
    let v = run(&short, &[]);
    assert_eq!(v["storms"][0]["peak_60s_exact"], true);
}
