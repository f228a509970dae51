//! Every line as nginx wrote it, whatever a client put in it: a real nginx writes six access
//! logs at once — Pantheon's `log_format`, `combined`, `common`, a custom format with
//! unquoted request values (`$remote_user` before the time, `$http_x_forwarded_for` before
//! the last field), and one JSON template written with `escape=json` and with
//! `escape=default` — while a client sends mail-client probes and pages with hostile
//! `Authorization: Basic` users (spaces, brackets, quotes, a forged time, control bytes,
//! 5 KB), user agents, referers and X-Forwarded-For lists (quotes, brackets, `\`, control
//! bytes, 7 KB). noisegate must parse every line (0 rejected) and count each probe in its
//! category and client; a hostile head must not hide the storm after it; a JSON log's `""`
//! upstream times lose no line.
//!
//! Without nginx these tests print `skipped: nginx not installed` and pass, except under
//! `CI=true`, where they fail.

use crate::support::{self, exchange, nginx_available, Nginx, READY_PATH};

use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

/// Pantheon's nginx `log_format` (two spaces before the request).
const PANTHEON: &str = r#"$remote_addr - $remote_user [$time_local]  "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time "$http_x_forwarded_for""#;
/// nginx/Apache `common` (nginx has no built-in of that name).
const COMMON: &str =
    r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent"#;
/// Unquoted request values: the user before the time and status, the X-Forwarded-For list
/// before the last field (anchored on the line's end).
const CUSTOM: &str = r#"$remote_addr $remote_user [$time_local] $status "$request" $body_bytes_sent $upstream_response_time "$http_user_agent" $http_x_forwarded_for $request_time"#;
/// One JSON template, logged with `escape=json` and with `escape=default`.
const JSON: &str = r#"{"remote_addr":"$remote_addr","remote_user":"$remote_user","time_iso8601":"$time_iso8601","msec":"$msec","request":"$request","status":"$status","body_bytes_sent":"$body_bytes_sent","request_time":"$request_time","upstream_response_time":"$upstream_response_time","http_referer":"$http_referer","http_user_agent":"$http_user_agent","http_x_forwarded_for":"$http_x_forwarded_for"}"#;

/// The logs: (file, nginx format name, noisegate's arguments for it, its name detected).
const LOGS: [(&str, &str, &[&str], &str); 6] = [
    (
        "pantheon.log",
        "pantheon",
        &["--format", "pantheon"],
        "pantheon",
    ),
    (
        "combined.log",
        "combined",
        &["--format", "combined"],
        "combined",
    ),
    ("common.log", "commonfmt", &["--format", "common"], "common"),
    ("custom.log", "custom", &["--log-format", CUSTOM], ""),
    ("json.log", "jsonfmt", &["--format", "json"], "json"),
    (
        "json-default.log",
        "jsondefault",
        &["--format", "json"],
        "json",
    ),
];

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    let logs: String = LOGS
        .iter()
        .map(|(file, name, ..)| format!("        access_log \"{d}/{file}\" {name};\n"))
        .collect();
    support::config(
        dir,
        &format!(
            r#"    log_format pantheon '{PANTHEON}';
    log_format commonfmt '{COMMON}';
    log_format custom '{CUSTOM}';
    log_format jsonfmt escape=json '{JSON}';
    log_format jsondefault '{JSON}';
    server {{
        listen 127.0.0.1:{port};
        server_name noisegate.test;
{logs}
        location / {{ return 404; }}
        location = / {{ return 200 "home"; }}
        location = /old {{ return 301 /; }}
        location ^~ /ecp/ {{ return 403; }}
        location /app/ {{ proxy_pass http://127.0.0.1:{port}/backend/; }}
        location /backend/ {{ access_log off; return 200 "backend"; }}
        location = {READY_PATH} {{ access_log off; return 200 "{d}"; }}
    }}
"#
        ),
    )
}

/// Base64, for `Authorization: Basic`.
fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `$remote_user` values: nginx logs the user of any Basic header, escaping only `"`, `\`
/// and control bytes, so these reach the log as spaces, brackets and forged fields.
fn hostile_users() -> Vec<Vec<u8>> {
    let mut users: Vec<Vec<u8>> = [
        &b"a [b"[..],
        b"a]b",
        b"\" ] [",
        b"a b c",
        b"-",
        b"",
        b"[",
        b"x [30/Nov/2026:03:47:01 +0000]  ",
        b"x [30/Nov/2026:03:47:01 +0000] 404 0 [",
        b"back\\slash \x01ctl\x7f tab\there \xff",
    ]
    .iter()
    .map(|u| u.to_vec())
    .collect();
    users.push(b"[ ] ".repeat(1250));
    users
}

/// User agents, referers and X-Forwarded-For tails a client chooses.
fn hostile_headers() -> Vec<Vec<u8>> {
    vec![
        b"x\" 200 0 \"-\" \"y".to_vec(),
        b"] [ \" \\ [30/Nov/2026:03:47:01 +0000]".to_vec(),
        b"\x01\x02\x7f\xff\t-".to_vec(),
        b"\" [ ] \\".repeat(1000),
        b"Microsoft Office/16.0".to_vec(),
    ]
}

/// One request: `user` in a Basic header when given; `ua`, `referer` and an
/// X-Forwarded-For list of `hop` and a hostile tail.
fn request(
    method: &str,
    path: &str,
    user: Option<&[u8]>,
    hdr: &[u8],
    hop: Option<&str>,
) -> Vec<u8> {
    let mut r = format!("{method} {path} HTTP/1.1\r\nHost: noisegate.test\r\n").into_bytes();
    if let Some(user) = user {
        let cred = [user, b":secret"].concat();
        r.extend_from_slice(format!("Authorization: Basic {}\r\n", base64(&cred)).as_bytes());
    }
    for name in ["User-Agent", "Referer"] {
        r.extend_from_slice(format!("{name}: ").as_bytes());
        r.extend_from_slice(hdr);
        r.extend_from_slice(b"\r\n");
    }
    if let Some(hop) = hop {
        r.extend_from_slice(format!("X-Forwarded-For: {hop}, ").as_bytes());
        r.extend_from_slice(&hdr[..hdr.len().min(200)]);
        r.extend_from_slice(b"\r\n");
    }
    if method == "POST" {
        r.extend_from_slice(b"Content-Length: 0\r\n");
    }
    r.extend_from_slice(b"Connection: close\r\n\r\n");
    r
}

/// What was sent: requests, and per category its requests and the clients Pantheon's format
/// names (first X-Forwarded-For hop, else the peer).
#[derive(Default)]
struct Sent {
    requests: u64,
    categories: BTreeMap<&'static str, (u64, BTreeMap<String, u64>)>,
}

impl Sent {
    fn send(
        &mut self,
        nginx: &Nginx,
        raw: &[u8],
        expect: u16,
        probe: Option<(&'static str, &str)>,
    ) {
        let resp =
            exchange(nginx.port, raw).unwrap_or_else(|e| panic!("{e}\n{}", nginx.error_logs()));
        let head = String::from_utf8_lossy(&raw[..raw.len().min(300)]);
        assert_eq!(resp.status, expect, "{head}");
        self.requests += 1;
        if let Some((id, client)) = probe {
            let c = self.categories.entry(id).or_default();
            c.0 += 1;
            *c.1.entry(client.to_string()).or_default() += 1;
        }
    }
}

/// Starts nginx with the six logs. `None` without nginx (outside CI).
fn start() -> Option<Nginx> {
    nginx_available().then(|| Nginx::start(&[], config))
}

/// Waits (at most 10 s) until every log has `lines` lines.
fn wait_for_lines(nginx: &Nginx, lines: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    for (file, ..) in LOGS {
        loop {
            let n = fs::read(nginx.path(file))
                .unwrap_or_default()
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            if n == lines {
                break;
            }
            assert!(
                n < lines && Instant::now() < deadline,
                "{file}: {n} lines of {lines}"
            );
            sleep(Duration::from_millis(20));
        }
    }
}

/// Probes of four categories: (method, path, nginx's status, category).
const PROBES: [(&str, &str, u16, &str); 4] = [
    (
        "POST",
        "/Autodiscover/Autodiscover.xml",
        404,
        "autodiscover",
    ),
    ("GET", "/owa/", 404, "owa"),
    ("OPTIONS", "/Microsoft-Server-ActiveSync", 404, "activesync"),
    ("GET", "/ecp/", 403, "exchange"),
];

/// Every hostile user and header on probes of four categories and on pages nginx serves
/// itself, redirects, blocks and proxies.
fn send_mix(nginx: &Nginx) -> Sent {
    let mut sent = Sent::default();
    let headers = hostile_headers();
    for (i, user) in hostile_users().iter().enumerate() {
        for (j, hdr) in headers.iter().enumerate() {
            let hop = format!("198.51.100.{}", (i + j) % 7);
            let (method, path, status, id) = PROBES[(i + j) % PROBES.len()];
            let raw = request(method, path, Some(user), hdr, Some(&hop));
            sent.send(nginx, &raw, status, Some((id, &hop)));
            let pages: [(&str, u16); 3] = [("/", 200), ("/old", 301), ("/app/x", 200)];
            let (path, status) = pages[(i + j) % 3];
            sent.send(
                nginx,
                &request("GET", path, Some(user), hdr, None),
                status,
                None,
            );
        }
    }
    // A hostile X-Forwarded-For as a whole, and no Basic header at all.
    for hdr in &headers {
        let mut raw = request("GET", "/", None, hdr, None);
        let at = raw.len() - 2;
        raw.splice(at..at, [b"X-Forwarded-For: ", &hdr[..], b"\r\n"].concat());
        sent.send(nginx, &raw, 200, None);
    }
    wait_for_lines(nginx, sent.requests);
    sent
}

/// noisegate's JSON report; exit code 0 required.
fn report(args: &[&str], log: &Path) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(["--output", "json", "--top", "0"])
        .args(args)
        .arg(log)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?} {log:?}: {err}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Every line parsed, every probe in its category with its clients.
fn check(v: &Value, sent: &Sent, forwarded: bool, what: &str) {
    let n = sent.requests;
    let lines = &v["lines"];
    assert_eq!(lines["total"], n, "{what}: {lines}");
    assert_eq!(lines["parsed"], n, "{what}: rejects {}", v["rejects"]);
    assert_eq!(lines["rejected"], 0, "{what}: rejects {}", v["rejects"]);
    let noise: u64 = sent.categories.values().map(|c| c.0).sum();
    assert_eq!(v["noise"]["requests"], noise, "{what}");
    let cats = v["categories"].as_array().unwrap();
    assert_eq!(cats.len(), sent.categories.len(), "{what}");
    for (id, (requests, clients)) in &sent.categories {
        let c = cats
            .iter()
            .find(|c| c["id"] == *id)
            .unwrap_or_else(|| panic!("{what}: no {id}"));
        assert_eq!(c["requests"], *requests, "{what}: {id}");
        let got: BTreeMap<String, u64> = c["top_clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["client"].as_str().unwrap().to_string(),
                    e["requests"].as_u64().unwrap(),
                )
            })
            .collect();
        let want = if forwarded {
            clients.clone()
        } else {
            BTreeMap::from([("127.0.0.1".to_string(), *requests)])
        };
        assert_eq!(got, want, "{what}: {id} clients");
    }
}

#[test]
fn hostile_values_shift_no_field_in_any_format() {
    let Some(nginx) = start() else {
        return;
    };
    let sent = send_mix(&nginx);
    assert_eq!(sent.requests, 115);
    // The lines really are hostile: the first user splits naively, the JSON logs hold "".
    let pantheon = fs::read_to_string(nginx.path("pantheon.log")).unwrap();
    assert!(pantheon.contains("127.0.0.1 - a [b [") && pantheon.contains(" - x [30/Nov/2026"));
    let json = String::from_utf8_lossy(&fs::read(nginx.path("json.log")).unwrap()).into_owned();
    assert!(json.contains(r#""upstream_response_time":"""#));
    let conf = nginx.path("nginx.conf");
    for (file, name, args, detected) in LOGS {
        let log = nginx.path(file);
        let forwarded = name == "pantheon";
        check(
            &report(args, &log),
            &sent,
            forwarded,
            &format!("{file} {args:?}"),
        );
        if !detected.is_empty() {
            let v = report(&[], &log);
            assert_eq!(v["format"], detected, "{file}");
            check(&v, &sent, forwarded, &format!("{file} auto"));
        }
        let by_conf = [
            "--nginx-conf",
            conf.to_str().unwrap(),
            "--log-format-name",
            name,
        ];
        if name != "combined" {
            // A format read out of nginx.conf takes `$remote_addr` as the client.
            let what = format!("{file} {by_conf:?}");
            check(&report(&by_conf, &log), &sent, false, &what);
        }
    }
}

/// The user agents of a category, decoded: the same whatever the log's escaping.
fn user_agents(v: &Value, id: &str) -> Value {
    let cats = v["categories"].as_array().unwrap();
    let c = cats.iter().find(|c| c["id"] == id).unwrap();
    c["top_user_agents"].clone()
}

#[test]
fn escaped_values_decode_alike_in_every_format() {
    let Some(nginx) = start() else {
        return;
    };
    send_mix(&nginx);
    let want = user_agents(&report(&[], &nginx.path("pantheon.log")), "autodiscover");
    assert_eq!(want.as_array().unwrap().len(), 5, "{want}");
    for (file, _, args, _) in LOGS {
        if file != "common.log" {
            let v = report(args, &nginx.path(file));
            assert_eq!(user_agents(&v, "autodiscover"), want, "{file}");
        }
    }
}

#[test]
fn json_unset_upstream_times_lose_no_line() {
    let Some(nginx) = start() else {
        return;
    };
    let sent = send_mix(&nginx);
    let json = fs::read(nginx.path("json.log")).unwrap();
    let json = String::from_utf8_lossy(&json);
    let unset = json
        .lines()
        .filter(|l| l.contains(r#""upstream_response_time":"""#))
        .count();
    // Everything but the 18 proxied requests was answered by nginx itself.
    assert_eq!(unset as u64, sent.requests - 18);
    // The first lines all have "": still told to be JSON.
    assert!(json.lines().take(1).all(|l| l.contains(r#":"""#)));
    let pantheon = report(&[], &nginx.path("pantheon.log"));
    let share = &pantheon["noise"]["share_of_requests"];
    assert!(share.as_f64().is_some_and(|s| s > 0.3), "{share}");
    for file in ["json.log", "json-default.log"] {
        let v = report(&[], &nginx.path(file));
        assert_eq!(v["format"], "json", "{file}");
        assert_eq!(v["lines"]["rejected"], 0, "{file}: {}", v["rejects"]);
        assert_eq!(v["lines"]["parsed"], sent.requests, "{file}");
        assert_eq!(&v["noise"]["share_of_requests"], share, "{file}");
        assert_eq!(v["noise"]["requests"], pantheon["noise"]["requests"]);
    }
}

/// The storm after the head: 1,000 Autodiscover probes from one client.
const STORM: u64 = 1000;
/// The head: lines that no format parsed before noisegate anchored `$remote_user`.
const HEAD: u64 = 200;

/// Sends the hostile head and the storm; returns how many requests.
fn send_head_and_storm(nginx: &Nginx) -> Sent {
    let mut sent = Sent::default();
    let hdr = b"Mozilla/5.0";
    for _ in 0..HEAD {
        sent.send(
            nginx,
            &request("GET", "/", Some(b"a [b"), hdr, None),
            200,
            None,
        );
    }
    let outlook = b"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)";
    let probe = request(
        "POST",
        "/Autodiscover/Autodiscover.xml",
        None,
        outlook,
        Some("198.51.100.77"),
    );
    for _ in 0..STORM {
        sent.send(nginx, &probe, 404, Some(("autodiscover", "198.51.100.77")));
    }
    wait_for_lines(nginx, sent.requests);
    sent
}

/// The storms a report found, as (category, requests).
fn storms(v: &Value) -> Vec<(String, u64)> {
    let list = v["storms"].as_array().unwrap();
    list.iter()
        .map(|s| {
            (
                s["category"].as_str().unwrap_or("").to_string(),
                s["requests"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_hostile_head_hides_no_storm() {
    let Some(nginx) = start() else {
        return;
    };
    let sent = send_head_and_storm(&nginx);
    for (file, _, _, detected) in LOGS {
        if detected.is_empty() {
            continue;
        }
        let v = report(&[], &nginx.path(file));
        assert_eq!(v["format"], detected, "{file}");
        assert_eq!(
            v["lines"]["parsed"], sent.requests,
            "{file}: {}",
            v["rejects"]
        );
        assert_eq!(v["noise"]["requests"], STORM, "{file}");
        assert_eq!(storms(&v), [("autodiscover".to_string(), STORM)], "{file}");
    }
    // A head no format parses at all (300 lines of something else) is rejected, counted,
    // and decides nothing: the format is told from the lines after it.
    let log = nginx.path("pantheon.log");
    let junk = "not an access log line [x] \"y\"\n".repeat(300);
    let with_junk = nginx.path("junk-head.log");
    fs::write(
        &with_junk,
        [junk.as_bytes(), &fs::read(&log).unwrap()].concat(),
    )
    .unwrap();
    let v = report(&[], &with_junk);
    assert_eq!(v["format"], "pantheon");
    assert_eq!(v["lines"]["rejected"], 300, "{}", v["lines"]);
    assert_eq!(v["lines"]["parsed"], sent.requests);
    assert_eq!(storms(&v), [("autodiscover".to_string(), STORM)]);
}

/// Detection looks past a head no format parses and past a format that never reaches 200
/// lines, and decides the same for any block size and thread count (no nginx needed).
#[test]
fn detection_past_the_head_is_the_same_for_any_block_size() {
    let dir = tempfile::tempdir().unwrap();
    let mut log = String::new();
    for i in 0..300 {
        log += &format!("garbage {i} [x] \"y\"\n");
    }
    for i in 0..150 {
        log += &format!("198.51.100.9 - a [b [30/Nov/2026:03:46:{:02} +0000] \"GET / HTTP/1.1\" 200 4 \"-\" \"ua\"\n", i % 60);
    }
    for i in 0..250 {
        log += &format!("10.0.0.1 - a [b [30/Nov/2026:03:47:{:02} +0000]  \"POST /Autodiscover/Autodiscover.xml HTTP/1.1\" 404 153 \"-\" \"Microsoft Office/16.0\" 0.001 \"198.51.100.7\"\n", i % 60);
    }
    let path = dir.path().join("access.log");
    fs::write(&path, log).unwrap();
    let run = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_noisegate"))
            .args(["--output", "json"])
            .args(extra)
            .arg(&path)
            .output()
            .unwrap();
        // 450 of 700 lines do not fit: the report is printed, and the run is an error.
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let whole = run(&[]);
    let v: Value = serde_json::from_slice(&whole).unwrap();
    assert_eq!(v["format"], "pantheon");
    assert_eq!(v["lines"]["parsed"], 250, "{}", v["lines"]);
    assert_eq!(v["lines"]["rejected"], 450, "{}", v["lines"]);
    assert_eq!(v["noise"]["requests"], 250);
    for extra in [
        &["--threads", "1", "--chunk-size", "7"][..],
        &["--threads", "2", "--chunk-size", "1K"],
        &["--threads", "3", "--chunk-size", "64K"],
    ] {
        assert!(run(extra) == whole, "{extra:?}");
    }
}
