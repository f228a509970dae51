//! `noisegate check` as cron runs it: never "healthy" when it could not look (a format that
//! fits nothing, too many rejected lines, fields the key map cannot find, an unwritable state
//! directory), every failure on stdout as well so that `mail -E` sends it, quiet once the
//! probes are blocked, and loud for the slow Outlook loop that no storm rule catches. The
//! crontab line itself runs with a fake `mail` on PATH that records what it was sent.

use crate::storms::{line, OUTLOOK, T0};
use assert_cmd::Command;
use serde_json::Value;
use std::path::Path;

fn check(dir: &Path, lines: &[String], args: &[&str]) -> (i32, String, String) {
    std::fs::write(dir.join("access.log"), lines.concat()).unwrap();
    check_log(dir, args)
}

/// `check ARGS DIR/access.log`.
fn check_log(dir: &Path, args: &[&str]) -> (i32, String, String) {
    let log = dir.join("access.log");
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .arg("check")
        .args(args)
        .arg(&log)
        .output()
        .unwrap();
    crate::support::code_out_err(out)
}

/// Ordinary traffic: `n` page views spread over `minutes` from T0.
fn pages(n: i64, minutes: i64) -> Vec<String> {
    (0..n)
        .map(|i| {
            let t = T0 + i * minutes * 60 / n;
            line(
                t,
                "GET /blog/ HTTP/1.1",
                200,
                "Mozilla/5.0",
                "0.120",
                "198.51.100.7",
            )
        })
        .collect()
}

const PROBE: &str = "POST /autodiscover/autodiscover.xml HTTP/1.1";

#[test]
fn a_format_that_fits_nothing_is_an_error_not_healthy() {
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string("samples/pantheon.log").unwrap();
    let lines = vec![sample];
    // The regression: --format json on a Pantheon log printed nothing and exited 0.
    let (code, out, err) = check(dir.path(), &lines, &["--format", "json"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        out.starts_with("noisegate: could not check the logs"),
        "{out}"
    );
    assert!(out.contains("none of the 5,000 lines"), "{out}");
    assert!(err.contains("fit the json format"), "{err}");
    let (code, out, _) = check(dir.path(), &lines, &["--format", "json", "-o", "json"]);
    assert_eq!(code, 2);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "error");
    assert_eq!(v["errors"][0]["kind"], "no_format_fits");
    // The report on such a log is no report either.
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["--format", "json", "samples/pantheon.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("none of the 5,000 lines"));
    // Nor is one on a log most of whose lines do not fit (60 of 100 here); a few are warned of.
    let dir2 = tempfile::tempdir().unwrap();
    let mut mostly_bad = pages(40, 10);
    mostly_bad.extend((0..60).map(|i| format!("garbage line {i}\n")));
    let log = dir2.path().join("access.log");
    std::fs::write(&log, mostly_bad.concat()).unwrap();
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["--format", "pantheon"])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("60 of 100 lines"));
    // A log_format off by one space (one space before the request, not two).
    let off = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time "$http_x_forwarded_for""#;
    let (code, out, _) = check(dir.path(), &lines, &["--log-format", off]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("could not check"), "{out}");
}

#[test]
fn too_many_rejected_lines_or_missing_fields_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy("samples/malformed.log", dir.path().join("access.log")).unwrap();
    // 26 of its 1,992 non-empty lines (1.3%) do not fit: under the default 5%, over 1%.
    let (code, out, _) = check_log(dir.path(), &["--max-noise-share", "100"]);
    assert_ne!(code, 2, "{out}");
    let (code, out, _) = check_log(dir.path(), &["--max-rejected-share", "1"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("26 of 1,992 lines") && out.contains("access.log:28"),
        "{out}"
    );
    // JSON lines whose key map names a key the log does not have.
    let json = r#"{"remote_addr":"1.2.3.4","time_local":"01/Mar/2024:00:00:00 +0000","request":"GET / HTTP/1.1","status":"200"}"#;
    let lines = vec![format!("{json}\n"); 10];
    let (code, _, _) = check(dir.path(), &lines, &["--format", "json"]);
    assert_eq!(code, 0);
    let (code, out, _) = check(
        dir.path(),
        &lines,
        &["--format", "json", "--json-fields", "status=code"],
    );
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("has a status"), "{out}");
}

#[test]
fn probes_that_cost_nothing_do_not_alert_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    // 150 autodiscover POSTs answered 403 in no time, as nginx does once the block is in.
    let mut lines = pages(200, 60);
    lines.extend((0..150).map(|i| line(T0 + i, PROBE, 403, OUTLOOK, "0.000", "203.0.113.5")));
    let (code, out, _) = check(dir.path(), &lines, &["-o", "json"]);
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["already_blocked"]["storms"], 1);
    assert_eq!(v["storms"].as_array().unwrap().len(), 1, "still found");
    let (code, out, _) = check(dir.path(), &lines, &["--include-blocked"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("autodiscover storm from 203.0.113.5"), "{out}");
    // The same storm answered by PHP in half a second alerts.
    let costly: Vec<String> = lines
        .iter()
        .map(|l| {
            l.replace(" 403 100 ", " 404 100 ")
                .replace(" 0.000 ", " 0.500 ")
        })
        .collect();
    assert_eq!(check(dir.path(), &costly, &[]).0, 1);
}

/// The worst-minute rule counts what costs: noise answered 403 in no time is left out unless
/// `--include-blocked`, and a minute that also holds probes PHP answered counts those.
#[test]
fn the_worst_minute_leaves_out_probes_that_cost_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // 150 blocked probes, 60 in each of the first two minutes.
    let mut lines = pages(200, 60);
    lines.extend((0..150).map(|i| line(T0 + i, PROBE, 403, OUTLOOK, "0.000", "203.0.113.5")));
    let rate = ["--max-noise-rate", "40"];
    let (code, out, _) = check(dir.path(), &lines, &rate);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = check(
        dir.path(),
        &lines,
        &[&rate[..], &["--include-blocked"]].concat(),
    );
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("60 noise requests in the minute from"),
        "{out}"
    );
    // 50 probes that PHP answered, from another client, in the first minute: those count.
    lines.extend((0..50).map(|i| line(T0 + i, PROBE, 404, OUTLOOK, "0.400", "203.0.113.6")));
    let (code, out, _) = check(dir.path(), &lines, &rate);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("50 noise requests in the minute from")
            && out.contains("(limit 40; 60 more answered 403 in no time)"),
        "{out}"
    );
    let (code, out, _) = check(dir.path(), &lines, &["--max-noise-rate", "50"]);
    assert_eq!(code, 0, "{out}");
}

/// A storm whose time nobody logged is not known to cost nothing, even beside a log that has
/// `$request_time`: a 403 storm from a combined-format log alerts, its server time is unknown
/// (not 0), and the report says why. (It was taken for blocked, since the run had timed lines.)
#[test]
fn a_storm_without_server_time_is_not_taken_for_blocked() {
    let dir = tempfile::tempdir().unwrap();
    let timed = dir.path().join("pantheon.log");
    std::fs::write(&timed, pages(200, 60).concat()).unwrap();
    let untimed = dir.path().join("access.log");
    let storm: String = (0..300)
        .map(|i| {
            format!(
                "203.0.113.9 - - [01/Mar/2024:00:{:02}:{:02} +0000] \"{PROBE}\" 403 0 \"-\" \"{OUTLOOK}\"\n",
                i / 60,
                i % 60
            )
        })
        .collect();
    std::fs::write(&untimed, storm).unwrap();
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("noisegate")
            .unwrap()
            .args(args)
            .arg(&timed)
            .arg(&untimed)
            .output()
            .unwrap();
        crate::support::code_out_err(out)
    };
    let (code, out, err) = run(&["check", "--max-noise-share", "100"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("autodiscover storm from 203.0.113.9"), "{out}");
    let (code, out, err) = run(&["-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let storm = &v["storms"][0];
    assert_eq!(storm["client"], "203.0.113.9");
    assert!(
        storm["request_time_s"].is_null() && storm["mean_workers"].is_null(),
        "{storm}"
    );
    assert!(
        v["caveats"].as_array().unwrap().iter().any(|c| c
            .as_str()
            .unwrap()
            .contains("some autodiscover requests have no server time")),
        "{}",
        v["caveats"]
    );
    // Timed and cheap in the same place, it is blocked and quiet.
    let cheap: String = (0..300)
        .map(|i| line(T0 + 600 + i, PROBE, 403, OUTLOOK, "0.000", "203.0.113.9"))
        .collect();
    std::fs::write(&untimed, cheap).unwrap();
    let (code, out, _) = run(&["check", "--max-noise-share", "100"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn the_slow_outlook_loop_alerts_and_a_normal_client_stays_quiet() {
    let dir = tempfile::tempdir().unwrap();
    // One client POSTing every 6 s for 10 h: 6,000 probes, far below the storm rate.
    let mut looping = pages(3000, 600);
    looping
        .extend((0..6000).map(|i| line(T0 + i * 6, PROBE, 404, OUTLOOK, "0.400", "203.0.113.8")));
    let (code, out, _) = check(
        dir.path(),
        &looping,
        &["--max-noise-share", "100", "-o", "json"],
    );
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["storms"].as_array().unwrap().len(), 0, "no storm: {out}");
    assert_eq!(v["alerts"][0]["kind"], "loop");
    assert_eq!(v["loops"][0]["requests"], 6000);
    assert!(v["alerts"][0]["message"]
        .as_str()
        .unwrap()
        .contains("autodiscover loop from 203.0.113.8: 6,000 requests from 2024-02-29T23:50:00Z"));
    // With the loop rule off, the default noise share (67% of requests) still alerts.
    let (code, out, _) = check(dir.path(), &looping, &["--loop-min-requests", "100000"]);
    assert_eq!(code, 1);
    assert!(out.contains("of all requests"), "{out}");
    // A mail client that looks for its settings a few times a day is quiet.
    let mut normal = pages(3000, 600);
    normal.extend((0..5).map(|i| line(T0 + i * 7200, PROBE, 404, OUTLOOK, "0.400", "203.0.113.9")));
    assert_eq!(
        check(dir.path(), &normal, &[]),
        (0, String::new(), String::new())
    );
}

#[test]
fn an_unwritable_state_or_a_typo_fails_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/state.json");
    let (code, out, err) = check(
        dir.path(),
        &pages(10, 10),
        &["--state", missing.to_str().unwrap()],
    );
    assert_eq!(code, 2);
    assert!(
        out.contains("could not check") && out.contains("does not exist"),
        "{out}"
    );
    assert!(
        err.contains(&dir.path().join("no/such/dir").display().to_string()),
        "{err}"
    );
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["chek", "logs/"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("did you mean `noisegate check`?"), "{err}");
    let sum = dir.path().join("gone/x.sum");
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .arg("--save-summary")
        .arg(&sum)
        .arg("samples/pantheon.log")
        .output()
        .unwrap();
    assert_eq!(
        (out.status.code(), out.stdout.len()),
        (Some(2), 0),
        "nothing scanned first"
    );
}

#[test]
fn unread_inputs_are_named_at_the_top_of_the_report() {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["samples/pantheon.log", "missing.log"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    let top: Vec<&str> = text.lines().take(4).collect();
    assert!(top[2].starts_with("NOT READ   missing.log: "), "{text}");
    assert!(
        top[3].starts_with("Input      samples/pantheon.log · pantheon format"),
        "{text}"
    );
}

#[test]
fn the_crontab_line_mails_alerts_and_failures_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    // A fake mail(1): with -E, an empty message is not sent; otherwise it is recorded.
    let sent = dir.path().join("sent");
    let mail = bin.join("mail");
    std::fs::write(
        &mail,
        format!(
            "#!/bin/sh\nbody=$(cat)\n[ -z \"$body\" ] && exit 0\nprintf '%s\\n---\\n' \"$body\" >> {}\n",
            sent.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&mail, std::fs::Permissions::from_mode(0o755)).unwrap();
    let noisegate = Path::new(env!("CARGO_BIN_EXE_noisegate")).parent().unwrap();
    let path = format!("{}:{}:/usr/bin:/bin", bin.display(), noisegate.display());
    let cron = |log: &[String], args: &str| {
        let file = dir.path().join("access.log");
        std::fs::write(&file, log.concat()).unwrap();
        let _ = std::fs::remove_file(&sent);
        let line = format!(
            "noisegate check {args} {} | mail -E -s 'mail-client noise' ops@example.org",
            file.display()
        );
        let status = std::process::Command::new("sh")
            .args(["-c", &line])
            .env("PATH", &path)
            .status()
            .unwrap();
        assert!(status.success());
        std::fs::read_to_string(&sent).unwrap_or_default()
    };
    assert_eq!(cron(&pages(500, 60), ""), "", "a healthy log sends nothing");
    let mut storm = pages(500, 60);
    storm.extend((0..300).map(|i| line(T0 + i, PROBE, 404, OUTLOOK, "0.500", "203.0.113.66")));
    let mailed = cron(&storm, "");
    assert!(
        mailed.starts_with("noisegate: mail-client noise alert"),
        "{mailed}"
    );
    assert!(
        mailed.contains("autodiscover storm from 203.0.113.66"),
        "{mailed}"
    );
    let mailed = cron(&pages(500, 60), "--format combined");
    assert!(
        mailed.starts_with("noisegate: could not check the logs"),
        "{mailed}"
    );
}

#[test]
fn clients_behind_one_proxy_are_named_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    // Every $remote_addr is the proxy; X-Forwarded-For holds 23 clients, 300 probes in 5 min.
    let format = r#"$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time "$http_x_forwarded_for""#;
    let lines: Vec<String> = (0..300)
        .map(|i| {
            let t = T0 + i;
            let stamp = line(t, PROBE, 404, OUTLOOK, "0.4", "x");
            let time = &stamp[stamp.find('[').unwrap()..=stamp.find(']').unwrap()];
            format!(
                "127.0.0.1 {time} \"{PROBE}\" 404 100 0.400 \"203.0.113.{}, 127.0.0.1\"\n",
                i % 23
            )
        })
        .collect();
    let (code, out, _) = check(dir.path(), &lines, &["--log-format", format]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("storm from 127.0.0.1"), "{out}");
    assert!(
        out.contains("note: every probe counted by its $remote_addr came from 127.0.0.1, while X-Forwarded-For names 23 different clients")
            && out.contains("--client-ip xff-first")
            && out.contains("--trusted-proxies 127.0.0.1"),
        "{out}"
    );
    // Trusting the proxy names the clients it saw, as the note says.
    let (_, out, _) = check(
        dir.path(),
        &lines,
        &[
            "--log-format",
            format,
            "--trusted-proxies",
            "127.0.0.1",
            "-o",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["notes"].as_array().unwrap().len(), 0, "{out}");
    assert_eq!(v["surges"][0]["clients"], 23, "{out}");
    let (_, out, _) = check(
        dir.path(),
        &lines,
        &[
            "--log-format",
            format,
            "--client-ip",
            "xff-first",
            "-o",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["notes"].as_array().unwrap().len(), 0, "{out}");
    assert_eq!(v["surges"][0]["clients"], 23, "{out}");
}

/// An incremental check that could not check leaves its state where it was, in text and in
/// metrics (which save it on another path, before they are printed): the next run reads the
/// same lines again.
#[test]
fn a_check_that_could_not_check_does_not_move_its_state() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let state = state.to_str().unwrap();
    // 10% of the lines fit no format: more than the 5% a check takes.
    let mut lines = pages(900, 60);
    lines.extend((0..100).map(|i| format!("garbage {i}\n")));
    let lines_read = |out: &str| -> u64 {
        out.lines()
            .find_map(|l| l.strip_prefix("noisegate_lines_read "))
            .expect("the lines metric")
            .parse()
            .unwrap()
    };
    for output in ["text", "prometheus"] {
        let (code, out, _) = check(dir.path(), &lines, &["--state", state, "-o", output]);
        assert_eq!(code, 2, "{output}: {out}");
        let (code, out, _) = check_log(dir.path(), &["--state", state, "-o", output]);
        assert_eq!(code, 2, "{output}, again: {out}");
        let tolerant = ["--state", state, "--max-rejected-share", "50"];
        let (code, out, err) =
            check_log(dir.path(), &[&tolerant[..], &["-o", "prometheus"]].concat());
        assert_eq!(code, 0, "{output}: {out}{err}");
        assert_eq!(lines_read(&out), 1000, "{output}: the state moved on");
        let (_, out, _) = check_log(dir.path(), &[&tolerant[..], &["-o", "prometheus"]].concat());
        assert_eq!(
            lines_read(&out),
            0,
            "{output}: a run that could check moves it on"
        );
        std::fs::remove_file(state).unwrap();
    }
}

/// Probes from `clients` different clients spread over a day, one at a time: no storm, loop or
/// surge, only noise (Thunderbird asking for the settings of `domain(i)`).
fn scattered(n: i64, domain: impl Fn(i64) -> String) -> Vec<String> {
    (0..n)
        .map(|i| {
            line(
                T0 + i * 613,
                &format!(
                    "GET /.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=u{i}%40{} HTTP/1.1",
                    domain(i)
                ),
                404,
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0",
                "0.300",
                &format!("198.51.{}.{}", i / 250, i % 250 + 1),
            )
        })
        .collect()
}

/// The noise-share rule waits for 100 noise requests: 99 of 109 requests stay quiet, 100 of
/// 110 alert.
#[test]
fn the_noise_share_rule_needs_a_hundred_noise_requests() {
    let dir = tempfile::tempdir().unwrap();
    for (n, want) in [(99, 0), (100, 1)] {
        let mut lines = pages(10, 60);
        lines.extend(scattered(n, |_| "example.org".into()));
        let (code, out, err) = check(dir.path(), &lines, &[]);
        assert_eq!(code, want, "{n} probes: {out}{err}");
        if want == 1 {
            assert!(
                out.contains("mail-client noise is 90.91% of all requests (100 of 110; limit 20%)"),
                "{out}"
            );
            assert!(!out.contains("storm") && !out.contains("surge") && !out.contains("loop"));
        }
    }
}

/// The alert ends with the first five mail domains behind the noise, how many more there are,
/// and the command that checks their DNS; `-o json` lists them all.
#[test]
fn the_alert_names_five_mail_domains_and_the_command_that_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    let lines = scattered(210, |i| format!("d{}.example", i % 7));
    let (code, out, _) = check(dir.path(), &lines, &[]);
    assert_eq!(code, 1, "{out}");
    let listed: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("Mail domains behind the noise"))
        .skip(1)
        .collect();
    assert_eq!(
        listed[..5]
            .iter()
            .map(|l| l.split(':').next().unwrap())
            .collect::<Vec<_>>(),
        [
            "- d0.example",
            "- d1.example",
            "- d2.example",
            "- d3.example",
            "- d4.example"
        ],
        "{out}"
    );
    assert_eq!(listed[5], "- and 2 more", "{out}");
    assert_eq!(
        listed[6],
        "Check them with: noisegate dns d0.example d1.example d2.example d3.example d4.example",
        "{out}"
    );
    let (_, out, _) = check_log(dir.path(), &["-o", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["mail_domains"].as_array().unwrap().len(), 7, "{out}");
}
