//! `--trusted-proxies` against nginx's own realip module: one nginx, configured with
//! `set_real_ip_from` and `real_ip_recursive on`, writes two logs of the same requests: the
//! original `$realip_remote_addr` with the X-Forwarded-For header as sent (what noisegate
//! reads), and the client realip chose. noisegate must name the same client for every request,
//! forged first hops, ports, IPv6, hops that are no address and repeated headers included.
//! Without the option, a forged first hop takes the blame: the case the option exists for.

use crate::support::{nginx_available, Nginx, READY_PATH};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const TRUSTED: &str = "127.0.0.1,10.0.0.0/8,2001:db8::/32";

/// What noisegate reads: the address nginx saw and the header as sent.
const READ_FORMAT: &str = r#"$realip_remote_addr - - [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for""#;
/// The same line with `$remote_addr` in front: how noisegate is told to read it.
const AS_READ: &str = r#"$remote_addr - - [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" "$http_x_forwarded_for""#;

fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    let from: String = TRUSTED
        .split(',')
        .map(|n| format!("        set_real_ip_from {n};\n"))
        .collect();
    crate::support::config(
        dir,
        &format!(
            r#"    log_format reader '{READ_FORMAT}';
    log_format truth '$remote_addr';
    server {{
        listen 127.0.0.1:{port};
{from}        real_ip_header X-Forwarded-For;
        real_ip_recursive on;
        access_log "{d}/read.log" reader;
        access_log "{d}/truth.log" truth;
        location = {READY_PATH} {{ access_log off; return 200 "{d}"; }}
        location / {{ return 404; }}
    }}
"#
        ),
    )
}

/// Each request's X-Forwarded-For headers (none, one or several).
const CASES: &[&[&str]] = &[
    &["192.0.2.55, 198.51.100.7, 10.0.0.2"],
    &["198.51.100.8"],
    &["10.1.1.1, 10.2.2.2"],
    &["198.51.100.9, unknown"],
    &["junk, 10.3.3.3"],
    &["[2001:db8::1]:80, 198.51.100.10:5"],
    &[],
    &["203.0.113.1 10.0.0.9"],
    &["2001:db8::5, 2001:db9::6"],
    &["198.51.100.12", "10.0.0.4"],
    &["192.0.2.55"],
];

fn clients(v: &Value) -> BTreeMap<String, u64> {
    let mut all = BTreeMap::new();
    for c in v["categories"].as_array().unwrap() {
        for t in c["top_clients"].as_array().unwrap() {
            *all.entry(t["client"].as_str().unwrap().to_string())
                .or_default() += t["requests"].as_u64().unwrap();
        }
    }
    all
}

fn noisegate(log: &Path, extra: &[&str]) -> Value {
    let out = assert_cmd::Command::cargo_bin("noisegate")
        .unwrap()
        .args(["-o", "json", "--top", "0", "--log-format", AS_READ])
        .args(extra)
        .arg(log)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).unwrap()
}

#[test]
fn trusted_proxies_name_the_client_nginx_realip_names() {
    if !nginx_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "nginx must be installed in CI"
        );
        return;
    }
    let nginx = Nginx::start(&[], config);
    for (i, headers) in CASES.iter().enumerate() {
        let mut req = format!(
            "POST /autodiscover/autodiscover.xml?case={i} HTTP/1.1\r\nHost: noisegate.test\r\nUser-Agent: Microsoft Office/16.0\r\nConnection: close\r\n"
        );
        for h in *headers {
            req += &format!("X-Forwarded-For: {h}\r\n");
        }
        req += "\r\n";
        let resp = crate::support::exchange(nginx.port, req.as_bytes()).unwrap();
        assert_eq!(resp.status, 404);
    }
    // nginx writes its access log when a request ends: wait for every line.
    let truth_path = nginx.path("truth.log");
    for _ in 0..100 {
        let n = std::fs::read_to_string(&truth_path)
            .unwrap_or_default()
            .lines()
            .count();
        if n == CASES.len() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let mut want = BTreeMap::<String, u64>::new();
    for line in std::fs::read_to_string(&truth_path).unwrap().lines() {
        *want.entry(line.to_string()).or_default() += 1;
    }
    assert_eq!(want.values().sum::<u64>(), CASES.len() as u64);
    let v = noisegate(&nginx.path("read.log"), &["--trusted-proxies", TRUSTED]);
    assert_eq!(v["lines"]["parsed"], CASES.len() as u64, "{}", v["lines"]);
    assert_eq!(clients(&v), want, "noisegate and nginx's realip disagree");
    // The forged first hop of the first request is not believed; the last request, sent by
    // 192.0.2.55 through a trusted proxy, is.
    assert_eq!(want["192.0.2.55"], 1, "{want:?}");

    // Without it, the forged first hop is the client of the first request.
    let v = noisegate(&nginx.path("read.log"), &["--client-ip", "xff-first"]);
    assert_eq!(clients(&v)["192.0.2.55"], 2);
}

#[test]
fn trusted_proxies_are_checked_before_reading() {
    for (bad, says) in [
        ("10.0.0.0/33", "10.0.0.0/33"),
        ("proxy.example", "proxy.example"),
    ] {
        let out = assert_cmd::Command::cargo_bin("noisegate")
            .unwrap()
            .args(["--trusted-proxies", bad, "-"])
            .write_stdin("")
            .assert()
            .code(2)
            .get_output()
            .stderr
            .clone();
        let err = String::from_utf8_lossy(&out);
        assert!(
            err.contains(says) && err.contains("--trusted-proxies"),
            "{err}"
        );
    }
    let out = assert_cmd::Command::cargo_bin("noisegate")
        .unwrap()
        .args([
            "--trusted-proxies",
            "10.0.0.0/8",
            "--client-ip",
            "xff-first",
            "-",
        ])
        .write_stdin("")
        .assert()
        .code(2)
        .get_output()
        .stderr
        .clone();
    assert!(String::from_utf8_lossy(&out).contains("cannot be used with"));
}
