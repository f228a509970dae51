//! Every request as nginx routed it: a differential test against a real nginx.
//!
//! The corpus (`tests/data/nginx-requests.txt`, one raw request line per line) is replayed over
//! raw sockets to an nginx that writes Pantheon's log format and, beside it, `$status "$uri"
//! "$request"`, with the noise roots answering 404 (as a CMS does) and every other path 200.
//! Then, line by line:
//! - noisegate's path for the logged line (`internals::route`) is nginx's `$uri`, and it has
//!   none exactly where nginx routed nothing (`$uri` empty: a 400, 414 or 505 before routing);
//! - its category is what noisegate's classifier gives nginx's `$uri`;
//! - no line is rejected, and the report's per-category counts are those of nginx's `$uri`s;
//! - the block `noisegate block --target nginx` builds from that log, included in a second
//!   nginx whose other paths answer 200, answers 403 exactly to the noise nginx routed under
//!   an entry of the block, and what nginx refused it refuses the same way.
//!
//! Without nginx this test prints `skipped: nginx not installed` and passes, except under
//! `CI=true`, where it fails. The regressions below it need no nginx: each runs the CLI on the
//! log lines of one bug where noisegate read a request otherwise than nginx routed it.

use crate::support::{self, nginx_available, Nginx, READY_PATH};

use noisegate_engine::internals::{route, Class, Classifier, CATEGORIES};
use noisegate_engine::LogFormat;
use serde_json::Value;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

const PANTHEON_FORMAT: &str = r#"'$remote_addr - $remote_user [$time_local]  "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time "$http_x_forwarded_for"'"#;

/// What nginx itself says of each request: its sequence number (when nginx read the headers),
/// status, `$uri`, `$request` (nginx's default escaping) and whether it reached the server's
/// phases (`$routed`, set by the server's first directive): a request refused after its URI was
/// parsed (an invalid host in the request line) has a `$uri` but was never routed.
const ROUTED_FORMAT: &str = r#"'$http_x_seq $status "$uri" "$request" $routed'"#;

/// Case-insensitive regular expressions for the noise roots: a CMS answers them 404.
const NOISE_LOCATIONS: &str = r#"
        location ~* ^/(autodiscover|\.well-known/autoconfig|microsoft-server-activesync|ews|owa|rpc|mapi|oab|ecp|powershell|\.well-known/caldav|\.well-known/carddav)(/|$) { return 404; }
        location ~* ^/(autodiscover\.xml|autodiscover\.json|mail/config-v1\.1\.xml|\.well-known/mta-sts\.txt)$ { return 404; }"#;

/// The corpus, each line decoded to the bytes to send.
fn corpus() -> Vec<Vec<u8>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/nginx-requests.txt");
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(unescape_case)
        .collect()
}

/// `\xHH`, `\t`, `\r`, `\n`, `\\` and `\{N:TEXT}` (TEXT repeated N times) in a corpus line.
fn unescape_case(line: &str) -> Vec<u8> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' || i + 1 >= b.len() {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let (bytes, used) = match b[i + 1] {
            b't' => (vec![b'\t'], 2),
            b'r' => (vec![b'\r'], 2),
            b'n' => (vec![b'\n'], 2),
            b'\\' => (vec![b'\\'], 2),
            b'x' => {
                let hex = std::str::from_utf8(&b[i + 2..i + 4]).unwrap();
                (vec![u8::from_str_radix(hex, 16).expect(line)], 4)
            }
            b'{' => {
                let end = i + line[i..].find('}').expect(line);
                let (n, text) = line[i + 2..end].split_once(':').expect(line);
                (
                    text.repeat(n.parse().expect(line)).into_bytes(),
                    end + 1 - i,
                )
            }
            _ => panic!("unknown escape in {line:?}"),
        };
        out.extend(bytes);
        i += used;
    }
    out
}

/// A server on `port` that logs both formats, includes `rules` and answers 200 otherwise.
fn config(dir: &Path, port: u16, rules: &str) -> String {
    let d = dir.display();
    support::config(
        dir,
        &format!(
            r#"    log_format pantheon {PANTHEON_FORMAT};
    log_format routed {ROUTED_FORMAT};
    lingering_close off;
    server {{
        listen 127.0.0.1:{port};
        server_name noisegate.test;
        set $routed yes;
        access_log "{d}/pantheon.log" pantheon;
        access_log "{d}/routed.log" routed;
{rules}
        location / {{ return 200 "page"; }}
        location = {READY_PATH} {{ access_log off; return 200 "{d}"; }}
    }}
"#
        ),
    )
}

/// Sends `line` and headers on a new connection and reads until nginx closes. What nginx
/// answers is read from its log (an HTTP/0.9 answer has no status line), so errors such as a
/// reset after a 414 are ignored.
fn send(port: u16, seq: usize, line: &[u8]) {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = line.to_vec();
    let headers = format!("\r\nHost: noisegate.test\r\nX-Seq: {seq}\r\nConnection: close\r\n\r\n");
    request.extend_from_slice(headers.as_bytes());
    let _ = stream.write_all(&request);
    let _ = stream.shutdown(Shutdown::Write);
    let _ = stream.read_to_end(&mut Vec::new());
}

/// One line of the `routed` log.
#[derive(Debug)]
struct Logged {
    seq: Option<usize>,
    status: u16,
    /// `$uri` of a request nginx routed; `None` when it routed nothing.
    uri: Option<Vec<u8>>,
}

/// Undoes nginx's default log escaping (`\xHH`).
fn unescape_log(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'\\' && s.get(i + 1) == Some(&b'x') {
            let hex = std::str::from_utf8(&s[i + 2..i + 4]).unwrap();
            out.push(u8::from_str_radix(hex, 16).unwrap());
            i += 4;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    out
}

fn parse_routed(line: &[u8]) -> Logged {
    let text = String::from_utf8_lossy(line);
    let mut parts = line.splitn(3, |&b| b == b' ');
    let seq = std::str::from_utf8(parts.next().unwrap())
        .unwrap()
        .parse()
        .ok();
    let status = std::str::from_utf8(parts.next().unwrap())
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("{text}"));
    let rest = parts.next().unwrap().strip_prefix(b"\"").expect(&text);
    let end = rest.iter().position(|&b| b == b'"').expect(&text);
    let uri = unescape_log(&rest[..end]);
    let routed = line.ends_with(b" yes");
    assert!(!routed || uri.starts_with(b"/"), "{text}");
    let uri = routed.then_some(uri);
    Logged { seq, status, uri }
}

/// The lines of a log once it has `n` of them (nginx writes each as its request ends).
fn log_lines(nginx: &Nginx, name: &str, n: usize) -> Vec<Vec<u8>> {
    for _ in 0..200 {
        let data = fs::read(nginx.path(name)).unwrap_or_default();
        let lines: Vec<Vec<u8>> = data
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        if lines.len() >= n {
            assert_eq!(lines.len(), n, "{name}: one line per request");
            return lines;
        }
        sleep(Duration::from_millis(50));
    }
    panic!("{name} never had {n} lines: {}", nginx.error_logs());
}

/// Replays the corpus to `nginx`; its `routed` log, checked to be in the corpus's order.
fn replay(nginx: &Nginx, cases: &[Vec<u8>]) -> Vec<Logged> {
    for (seq, line) in cases.iter().enumerate() {
        send(nginx.port, seq, line);
    }
    let logged: Vec<Logged> = log_lines(nginx, "routed.log", cases.len())
        .iter()
        .map(|l| parse_routed(l))
        .collect();
    for (i, l) in logged.iter().enumerate() {
        assert!(
            l.seq.is_none_or(|s| s == i),
            "log out of order at {i}: {l:?}"
        );
    }
    logged
}

/// A case or path for a failure message, at most 120 bytes of it.
fn show(b: &[u8]) -> String {
    let head = String::from_utf8_lossy(&b[..b.len().min(120)]);
    if b.len() > 120 {
        format!("{head}... ({} bytes)", b.len())
    } else {
        head.into_owned()
    }
}

/// noisegate's stdout with `args`; exit code 0 required.
fn noisegate(args: &[&dyn AsRef<std::ffi::OsStr>]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(args)
        .output()
        .unwrap();
    crate::support::stdout_of_success(out)
}

/// The category id noisegate's classifier gives a path nginx routed.
fn category_of(c: &Classifier, uri: &[u8]) -> Option<&'static str> {
    match c.classify_uri(uri, &mut c.scratch()) {
        Class::Noise(i) => Some(CATEGORIES[i].id),
        _ => None,
    }
}

#[test]
fn noisegate_sees_every_request_as_nginx_routed_it() {
    if !nginx_available() {
        return;
    }
    let cases = corpus();
    assert!(cases.len() >= 300, "a corpus of {} lines", cases.len());
    let nginx = Nginx::start(&[], |dir, port| config(dir, port, NOISE_LOCATIONS));
    let logged = replay(&nginx, &cases);
    let pantheon = log_lines(&nginx, "pantheon.log", cases.len());

    let classifier = Classifier::new();
    let format = LogFormat::preset("pantheon").unwrap();
    let mut failures = Vec::new();
    let mut by_category: BTreeMap<&str, u64> = BTreeMap::new();
    for ((case, line), ours) in cases.iter().zip(&pantheon).zip(&logged) {
        let want = ours
            .uri
            .as_ref()
            .map(|u| (u.clone(), category_of(&classifier, u)));
        if let Some((_, Some(id))) = &want {
            *by_category.entry(id).or_default() += 1;
        }
        let got = route(&classifier, &format, line);
        if got != want {
            failures.push(format!(
                "{}\n    nginx {}: {:?}\n    noisegate: {:?}",
                show(case),
                ours.status,
                want.map(|(u, c)| (show(&u), c)),
                got.map(|(u, c)| (show(&u), c)),
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} lines differ from nginx:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );

    let log = nginx.path("pantheon.log");
    let v: Value =
        serde_json::from_str(&noisegate(&[&"-o", &"json", &"--top", &"0", &log])).unwrap();
    assert_eq!(v["lines"]["total"], cases.len(), "{}", v["lines"]);
    assert_eq!(v["lines"]["rejected"], 0, "{}", v["rejects"]);
    let counted: BTreeMap<&str, u64> = v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c["requests"].as_u64().unwrap()))
        .collect();
    assert_eq!(counted, by_category, "requests per category");
    block_answers_403_to_the_routed_noise(&cases, &logged, &log);
}

/// The `P` of each `location = P { return 403; }` of an nginx block, and the roots of its
/// case-insensitive rules (`location ~* "^/(?:a|b\.c)(?:/|$)"`).
fn entries(conf: &str) -> (Vec<String>, Vec<String>) {
    let exact = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("location = "))
        .map(|l| l.strip_suffix(" { return 403; }").unwrap().to_string())
        .collect();
    let roots = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("location ~* \"^/(?:"))
        .flat_map(|l| {
            l.strip_suffix(")(?:/|$)\" { return 403; }")
                .unwrap()
                .split('|')
                .map(|a| format!("/{}", a.replace("\\.", ".")))
                .collect::<Vec<_>>()
        })
        .collect();
    (exact, roots)
}

/// The block noisegate builds from `log`, in a second nginx: 403 exactly for the noise nginx
/// routed under one of its entries; 200 for everything else nginx routed; what nginx refused
/// before routing, refused alike.
fn block_answers_403_to_the_routed_noise(cases: &[Vec<u8>], first: &[Logged], log: &Path) {
    let conf = noisegate(&[&"block", &"--target", &"nginx", &log]);
    let (entries, roots) = entries(&conf);
    assert!(
        !entries.is_empty() || !roots.is_empty(),
        "no entries:\n{conf}"
    );
    let under = |uri: &[u8], e: &[u8], case: bool| {
        uri.len() >= e.len()
            && (uri[..e.len()] == *e || case && uri[..e.len()].eq_ignore_ascii_case(e))
            && (uri.len() == e.len() || uri[e.len()] == b'/')
    };
    let covered = |uri: &[u8]| {
        entries.iter().any(|e| under(uri, e.as_bytes(), false))
            || roots.iter().any(|r| under(uri, r.as_bytes(), true))
    };
    let rules = format!("        include \"{}\";", "noise.conf");
    let nginx = Nginx::start(&[("noise.conf", &conf)], |dir, port| {
        let include = rules.replace("noise.conf", &dir.join("noise.conf").display().to_string());
        config(dir, port, &include)
    });
    let second = replay(&nginx, cases);
    let classifier = Classifier::new();
    let (mut failures, mut blocked) = (Vec::new(), 0);
    for ((case, a), b) in cases.iter().zip(first).zip(&second) {
        let want = match &a.uri {
            None => a.status,
            Some(u) if covered(u) => {
                assert!(
                    category_of(&classifier, u).is_some(),
                    "{} is no noise",
                    show(u)
                );
                blocked += 1;
                403
            }
            Some(_) => 200,
        };
        if b.status != want || b.uri != a.uri {
            failures.push(format!("{}: {} (want {want})", show(case), b.status));
        }
    }
    assert!(
        failures.is_empty(),
        "the block answers otherwise:\n{}\nblock:\n{conf}",
        failures.join("\n")
    );
    assert!(blocked > 0, "nothing blocked:\n{conf}");
    let routed = first.iter().filter(|l| l.uri.is_some()).count();
    let noise = first
        .iter()
        .filter_map(|l| l.uri.as_deref())
        .filter(|u| category_of(&classifier, u).is_some())
        .count();
    eprintln!(
        "{} lines: nginx routed {routed}, {noise} of them noise; the block ({} entries) answered 403 to {blocked}",
        cases.len(),
        entries.len()
    );
}

// ---------------------------------------------------------------------------------------------
// Regressions, through the CLI: request lines nginx routed one way and noisegate read another.

/// A Pantheon log line for `request` answered `status`.
fn pantheon_line(request: &str, status: u16) -> String {
    format!("10.0.0.1 - - [19/Feb/2016:02:00:00 +0000]  \"{request}\" {status} 10 \"-\" \"Microsoft Office/16.0\" 0.400 \"198.51.100.7\"\n")
}

/// noisegate with `args` on `log` (stdin); stdout, exit code 0 required.
fn run_on(args: &[&str], log: &str) -> String {
    let out = assert_cmd::Command::cargo_bin("noisegate")
        .unwrap()
        .args(args)
        .write_stdin(log.to_string())
        .output()
        .unwrap();
    crate::support::stdout_of_success(out)
}

fn requests_by_category(log: &str) -> BTreeMap<String, u64> {
    let v: Value = serde_json::from_str(&run_on(&["-o", "json"], log)).unwrap();
    assert_eq!(v["lines"]["rejected"], 0, "{}", v["rejects"]);
    v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().into(),
                c["requests"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// nginx sent all seven to the noise locations; noisegate counted one.
#[test]
fn odd_spacing_and_long_methods_are_routed_noise() {
    let log: String = [
        "POST  /Autodiscover/Autodiscover.xml HTTP/1.1",
        "POST /Autodiscover/Autodiscover.xml  HTTP/1.1",
        "GET /autodiscover.xml  HTTP/1.1",
        "GET /.well-known/mta-sts.txt  HTTP/1.1",
        "GET /mail/config-v1.1.xml  HTTP/1.1",
        "GET   /mail/config-v1.1.xml   HTTP/1.1   ",
        "ABCDEFGHIJKLMNOPQRSTUVWXYZAB /Autodiscover/Autodiscover.xml HTTP/1.1",
    ]
    .iter()
    .map(|r| pantheon_line(r, 404))
    .collect();
    let want = BTreeMap::from([
        ("autodiscover".into(), 4),
        ("autoconfig".into(), 2),
        ("mta-sts".into(), 1),
    ]);
    assert_eq!(requests_by_category(&log), want);
}

/// nginx serves `http://localhost?/Autodiscover/...` as `/`: the query is no path, and one
/// such request answered 200 must not make `/Autodiscover` look served and empty the block.
#[test]
fn absolute_form_with_an_empty_path_does_not_empty_the_block() {
    let mut log = pantheon_line("POST /Autodiscover/Autodiscover.xml HTTP/1.1", 404).repeat(200);
    log += &pantheon_line(
        "GET http://localhost?/Autodiscover/Autodiscover.xml HTTP/1.1",
        200,
    );
    let v: Value = serde_json::from_str(&run_on(&["-o", "json"], &log)).unwrap();
    assert_eq!(v["block"]["paths"], serde_json::json!(["/Autodiscover"]));
    assert_eq!(v["block"]["coverage"]["covered_requests"], 200);
    assert_eq!(v["block"]["dropped"], serde_json::json!([]));

    let dir = tempfile::tempdir().unwrap();
    let yml = dir.path().join("pantheon.yml");
    fs::write(&yml, "api_version: 1\n").unwrap();
    let out = run_on(&["block", "--merge", yml.to_str().unwrap()], &log);
    assert!(out.contains("added 1 entry (/Autodiscover)"), "{out}");
    assert!(fs::read_to_string(&yml)
        .unwrap()
        .contains("- /Autodiscover"));
}

/// nginx answers 400 before routing to a lower-case method, a space inside the target, a
/// control byte, a `..` above the root or a `%00`: no path, so no noise, and nothing served.
#[test]
fn requests_nginx_refuses_have_no_path() {
    let log: String = [
        ("get /autodiscover/autodiscover.xml HTTP/1.1", 400),
        ("GET /autodiscover/a b.xml HTTP/1.1", 400),
        ("GET /owa/\\x1B HTTP/1.1", 400),
        ("GET /../owa/ HTTP/1.1", 400),
        ("GET /owa/%00 HTTP/1.1", 400),
        ("POST /autodiscover/autodiscover.xml", 400),
        ("GET /owa/ HTTP/2.0", 505),
    ]
    .iter()
    .map(|(r, s)| pantheon_line(r, *s))
    .collect();
    assert_eq!(requests_by_category(&log), BTreeMap::new());
}

/// A line without a version is an HTTP/0.9 GET, routed, unless nginx answered it 400, 408 or
/// 414 (it never finished reading it: the log shows what had arrived); an `HTTP/2.0` line is
/// what nginx's HTTP/2 module logs, routed, unless it was sent over HTTP/1 and answered 505.
#[test]
fn version_less_and_http2_lines_count_unless_nginx_refused_them() {
    let log: String = [
        ("GET /autodiscover/autodiscover.xml", 404),
        ("GET /autodiscover/autodiscover.xml", 400),
        ("GET /autodiscover/autodiscover.xml", 408),
        (
            "GET /autodiscover/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            414,
        ),
        ("POST /EWS/Exchange.asmx HTTP/2.0", 404),
        ("POST /EWS/Exchange.asmx HTTP/2.0", 505),
    ]
    .iter()
    .map(|(r, s)| pantheon_line(r, *s))
    .collect();
    let want = BTreeMap::from([("autodiscover".into(), 1), ("ews".into(), 1)]);
    assert_eq!(requests_by_category(&log), want);
}

/// The regression: a `$uri` field (what nginx routed: decoded once, normalized) was decoded
/// and normalized again, so `%2e%2e` left by nginx climbed a segment and a decoded `?` cut
/// the path short.
#[test]
fn a_logged_uri_is_taken_as_nginx_routed_it() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let lines = [
        // nginx routed /x/%2e%2e/autodiscover (from /x/%252e%252e/autodiscover): not noise.
        r#"1.2.3.4 [30/Nov/2026:03:47:01 +0000] "GET" "/x/%2e%2e/autodiscover" 404"#,
        // nginx routed /autodiscover/a?b.xml (from /autodiscover/a%3Fb.xml): noise, whole.
        r#"1.2.3.4 [30/Nov/2026:03:47:02 +0000] "POST" "/autodiscover/a?b.xml" 404"#,
    ];
    std::fs::write(&log, lines.join("\n") + "\n").unwrap();
    for field in ["$uri", "$request_uri"] {
        let format = format!(r#"$remote_addr [$time_local] "$request_method" "{field}" $status"#);
        let out = assert_cmd::Command::cargo_bin("noisegate")
            .unwrap()
            .args(["-o", "json", "--top", "0", "--log-format", &format])
            .arg(&log)
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let paths: Vec<&str> = v["categories"][0]["paths"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap())
            .collect();
        if field == "$uri" {
            assert_eq!(v["noise"]["requests"], 1, "{field}");
            assert_eq!(paths, ["/autodiscover/a?b.xml"], "{field}");
        } else {
            // As sent, both are read as nginx would route them: %2e%2e climbs, ? starts a query.
            assert_eq!(v["noise"]["requests"], 2, "{field}");
        }
    }
}
