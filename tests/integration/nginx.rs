//! End to end against a real nginx: each test starts nginx on 127.0.0.1 writing four access
//! logs at once — Pantheon's `log_format`, the built-in `combined`, a custom `log_format` with
//! `$request_time $upstream_response_time $host`, and an `escape=json` one — sends a known mix
//! of requests over raw TCP (pages, a redirect, a proxied location, unknown paths, mail-client
//! probes of every category in several casings, user agents with quotes, backslashes, control
//! and non-UTF-8 bytes, with and without X-Forwarded-For, TLS bytes), and checks that
//! noisegate's counts per category, status, method, path, client and user agent are exactly
//! what was sent, and that the bytes are what the client received.
//!
//! Without nginx these tests print `skipped: nginx not installed` and pass, except under
//! `CI=true`, where they fail.

use crate::support::{self, exchange, nginx_available, Nginx, READY_PATH};

use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The nginx harness

/// Pantheon's nginx `log_format` (two spaces before the request).
const PANTHEON_FORMAT: &str = r#"$remote_addr - $remote_user [$time_local]  "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time "$http_x_forwarded_for""#;

/// A custom format with an upstream time that is `-` for requests nginx answers itself.
const CUSTOM_FORMAT: &str = r#"$remote_addr [$time_local] "$request" $status $body_bytes_sent $request_time $upstream_response_time $host "$http_user_agent""#;

/// A JSON format (`escape=json`); every value is a string.
const JSON_FORMAT: &str = r#"{"remote_addr":"$remote_addr","time_local":"$time_local","request":"$request","status":"$status","body_bytes_sent":"$body_bytes_sent","request_time":"$request_time","http_user_agent":"$http_user_agent","http_x_forwarded_for":"$http_x_forwarded_for"}"#;

/// The four access logs: (file name, `access_log` format name).
const LOGS: [(&str, &str); 4] = [
    ("pantheon.log", "pantheon"),
    ("combined.log", "combined"),
    ("custom.log", "custom"),
    ("json.log", "jsonlog"),
];

/// Waits (at most 5 s) until every access log has `lines` lines. nginx writes an unbuffered
/// access log line when it finalizes the request, which may be just after the client has
/// read the whole response (lingering close).
fn wait_for_log_lines(nginx: &Nginx, lines: usize) {
    let deadline = Instant::now() + Duration::from_secs(5);
    for (name, _) in LOGS {
        loop {
            let data = fs::read(nginx.path(name)).unwrap_or_default();
            let n = data.iter().filter(|&&b| b == b'\n').count();
            if n == lines {
                break;
            }
            assert!(
                n < lines && Instant::now() < deadline,
                "{name} has {n} lines, {lines} requests were sent\n{}",
                nginx.error_logs()
            );
            sleep(Duration::from_millis(20));
        }
    }
}

/// The nginx.conf: everything inside `dir`, one server on `port` writing all four logs.
fn config(dir: &Path, port: u16) -> String {
    let d = dir.display();
    let access_logs: String = LOGS
        .iter()
        .map(|(file, format)| format!("        access_log \"{d}/{file}\" {format};\n"))
        .collect();
    support::config(
        dir,
        &format!(
            r#"    log_format pantheon '{PANTHEON_FORMAT}';
    log_format custom '{CUSTOM_FORMAT}';
    log_format jsonlog escape=json '{JSON_FORMAT}';

    server {{
        listen 127.0.0.1:{port};
        server_name noisegate.test;
{access_logs}
        location / {{ return 404; }}
        location = / {{ return 200 "home"; }}
        location = /blog/post/ {{ return 200 "post"; }}
        location = /old {{ return 301 /blog/post/; }}
        # Proxied to the same server, so $upstream_response_time is a number here and `-`
        # everywhere else; the inner request is not logged.
        location /app/ {{ proxy_pass http://127.0.0.1:{port}/backend/; }}
        location /backend/ {{ access_log off; return 200 "backend"; }}
        location = {READY_PATH} {{ access_log off; return 200 "{d}"; }}
    }}
"#
        ),
    )
}

// ---------------------------------------------------------------------------------------------
// The raw HTTP client

/// One HTTP request. `host: None` sends no Host header (valid only with HTTP/1.0).
fn request(
    method: &str,
    target: &[u8],
    proto: &str,
    host: Option<&str>,
    ua: &[u8],
    xff: Option<&str>,
    body: &[u8],
) -> Vec<u8> {
    let mut r = Vec::new();
    r.extend_from_slice(method.as_bytes());
    r.push(b' ');
    r.extend_from_slice(target);
    r.extend_from_slice(format!(" {proto}\r\n").as_bytes());
    if let Some(host) = host {
        r.extend_from_slice(format!("Host: {host}\r\n").as_bytes());
    }
    r.extend_from_slice(b"User-Agent: ");
    r.extend_from_slice(ua);
    r.extend_from_slice(b"\r\n");
    if let Some(xff) = xff {
        r.extend_from_slice(format!("X-Forwarded-For: {xff}\r\n").as_bytes());
    }
    if !body.is_empty() || method == "POST" {
        r.extend_from_slice(format!("Content-Length: {}\r\n", body.len()).as_bytes());
    }
    r.extend_from_slice(b"Connection: close\r\n\r\n");
    r.extend_from_slice(body);
    r
}

/// Log bytes as noisegate's JSON shows them: UTF-8 as is, any other byte as the text `\xHH`.
fn as_text(bytes: &[u8]) -> String {
    let mut s = String::new();
    for chunk in bytes.utf8_chunks() {
        s.push_str(chunk.valid());
        for b in chunk.invalid() {
            s.push_str(&format!("\\x{b:02x}"));
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// The request mix and its tally

const BROWSER: &[u8] = b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
const OUTLOOK: &[u8] =
    b"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)";
const THUNDERBIRD: &[u8] =
    b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.0";
const IPHONE: &[u8] = b"Apple-iPhone14C2/2102.55";
const EWS_CLIENT: &[u8] = b"ExchangeServicesClient/15.00.0913.015";
const DAV_CLIENT: &[u8] = b"iOS/17.0 (21A329) dataaccessd/1.0";
const MTA_STS: &[u8] = b"Go-http-client/1.1";
/// A double quote, a backslash, UTF-8 `é`, a control byte, DEL, a tab and a byte that is not
/// UTF-8. nginx's default escaping writes `\x22 \x5C \xC3\xA9 \x01 \x7F \x09 \xFF`;
/// `escape=json` writes `\" \\ \u0001 \t` and copies DEL, `é` and `\xFF` as raw bytes (so
/// the JSON log is not valid UTF-8).
const ODD_UA: &[u8] = b"Odd \"quoted\" back\\slash caf\xC3\xA9 ctl\x01 del\x7F tab\there bad\xFF";
/// A parser that ignored escaping would end this user agent at `x`.
const SNEAKY_UA: &[u8] = b"x\" 200 0 \"-\" \"y";
const AUTODISCOVER_BODY: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\"><Request><EMailAddress>a@b.c</EMailAddress></Request></Autodiscover>";
/// The first bytes of a TLS ClientHello, sent to the plain-HTTP port.
const TLS_HELLO: &[u8] = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03";

/// What one category received.
#[derive(Debug, Default, PartialEq)]
struct CategoryTally {
    requests: u64,
    bytes: u64,
    status: BTreeMap<String, u64>,
    methods: BTreeMap<String, u64>,
    paths: BTreeMap<String, u64>,
    user_agents: BTreeMap<String, u64>,
    /// First X-Forwarded-For hop, else the peer address: Pantheon's idea of the client.
    forwarded_clients: BTreeMap<String, u64>,
}

/// What was sent, and what nginx answered (statuses checked as they come in, body bytes as
/// received: nginx logs the same as `$body_bytes_sent`).
#[derive(Debug, Default)]
struct Tally {
    requests: u64,
    bytes: u64,
    status: BTreeMap<String, u64>,
    categories: BTreeMap<&'static str, CategoryTally>,
}

struct Mix<'a> {
    nginx: &'a Nginx,
    tally: Tally,
}

impl Mix<'_> {
    /// Sends one request, checks nginx's status, and counts it.
    fn send(&mut self, raw: &[u8], expect: u16, category: Option<(&'static str, &str)>) {
        let resp = exchange(self.nginx.port, raw).unwrap_or_else(|e| {
            panic!(
                "{:?}: {e}\n{}",
                String::from_utf8_lossy(raw),
                self.nginx.error_logs()
            )
        });
        assert_eq!(
            resp.status,
            expect,
            "status of {:?}",
            String::from_utf8_lossy(raw)
        );
        let bytes = resp.body.len() as u64;
        let t = &mut self.tally;
        t.requests += 1;
        t.bytes += bytes;
        *t.status.entry(expect.to_string()).or_default() += 1;
        if let Some((id, client)) = category {
            let (method, target, ua) = parse_sent(raw);
            let path = target.split(|&b| b == b'?').next().unwrap();
            let c = t.categories.entry(id).or_default();
            c.requests += 1;
            c.bytes += bytes;
            *c.status.entry(expect.to_string()).or_default() += 1;
            *c.methods.entry(method).or_default() += 1;
            *c.paths.entry(as_text(path)).or_default() += 1;
            *c.user_agents.entry(as_text(&ua)).or_default() += 1;
            *c.forwarded_clients.entry(client.to_string()).or_default() += 1;
        }
    }

    /// A request with a Host header, counted in `category` if any.
    #[allow(clippy::too_many_arguments)]
    fn http(
        &mut self,
        method: &str,
        target: &[u8],
        ua: &[u8],
        xff: Option<&str>,
        body: &[u8],
        expect: u16,
        category: Option<&'static str>,
    ) {
        let host = if self.tally.requests % 3 == 0 {
            "www.example.test"
        } else {
            "noisegate.test"
        };
        let raw = request(method, target, "HTTP/1.1", Some(host), ua, xff, body);
        let client = match xff {
            Some(list) => list.split(',').next().unwrap().trim().to_string(),
            None => "127.0.0.1".to_string(),
        };
        self.send(&raw, expect, category.map(|id| (id, client.as_str())));
    }
}

/// Method, request target and user agent of a request this file built.
fn parse_sent(raw: &[u8]) -> (String, Vec<u8>, Vec<u8>) {
    let line_end = raw.windows(2).position(|w| w == b"\r\n").unwrap();
    let mut parts = raw[..line_end].split(|&b| b == b' ');
    let method = String::from_utf8(parts.next().unwrap().to_vec()).unwrap();
    let target = parts.next().unwrap().to_vec();
    let ua = raw
        .split(|&b| b == b'\n')
        .find_map(|l| l.strip_prefix(b"User-Agent: "))
        .map(|l| l.strip_suffix(b"\r").unwrap().to_vec())
        .unwrap();
    (method, target, ua)
}

/// Starts nginx, sends the mix, waits until all four logs have every line. `None` when nginx
/// is not installed (outside CI).
fn run_mix() -> Option<(Nginx, Tally)> {
    if !nginx_available() {
        return None;
    }
    let nginx = Nginx::start(&[], config);
    let mut m = Mix {
        nginx: &nginx,
        tally: Tally::default(),
    };

    // Pages, a redirect, HEAD, a proxied location, unknown and look-alike paths.
    for i in 0..40 {
        let xff = format!("203.0.113.{}", i % 5);
        let xff = (i % 2 == 0).then_some(xff.as_str());
        m.http("GET", b"/", BROWSER, xff, b"", 200, None);
    }
    for _ in 0..30 {
        m.http(
            "GET",
            b"/blog/post/",
            BROWSER,
            Some("203.0.113.9"),
            b"",
            200,
            None,
        );
    }
    for _ in 0..12 {
        m.http("GET", b"/old", BROWSER, None, b"", 301, None);
    }
    for _ in 0..6 {
        m.http("HEAD", b"/", BROWSER, None, b"", 200, None);
    }
    for _ in 0..10 {
        m.http("GET", b"/app/", BROWSER, None, b"", 200, None);
    }
    for _ in 0..5 {
        m.http("GET", b"/app/feed?x=1", ODD_UA, None, b"", 200, None);
    }
    for _ in 0..10 {
        m.http("GET", b"/wp-login.php", SNEAKY_UA, None, b"", 404, None);
    }
    for _ in 0..3 {
        m.http("GET", b"/autodiscover-help", BROWSER, None, b"", 404, None);
    }
    for _ in 0..2 {
        let target = b"/search?q=\"quoted\"&b=\\x";
        m.http("GET", target, ODD_UA, None, b"", 404, None);
    }
    for _ in 0..2 {
        m.send(TLS_HELLO, 400, None);
    }
    let no_host = request("GET", b"/blog/post/", "HTTP/1.0", None, BROWSER, None, b"");
    m.send(&no_host, 200, None);

    // Outlook's Autodiscover in four casings and odd spellings nginx normalizes.
    let casings: [&[u8]; 4] = [
        b"/autodiscover/autodiscover.xml",
        b"/Autodiscover/Autodiscover.xml",
        b"/AutoDiscover/AutoDiscover.xml",
        b"/AUTODISCOVER/AUTODISCOVER.XML",
    ];
    for i in 0..48 {
        let hop = [7, 7, 8, 9, 7, 10][i % 6];
        let xff = format!("198.51.100.{hop}, 10.0.0.1");
        let path = casings[i % 4];
        let ad = Some("autodiscover");
        m.http(
            "POST",
            path,
            OUTLOOK,
            Some(&xff),
            AUTODISCOVER_BODY,
            404,
            ad,
        );
    }
    for _ in 0..4 {
        let target = b"/autodiscover/autodiscover.json?Email=a%40b.c&Protocol=ActiveSync";
        let xff = Some("198.51.100.20");
        m.http("GET", target, OUTLOOK, xff, b"", 404, Some("autodiscover"));
    }
    for path in [
        &b"//autodiscover//autodiscover.xml"[..],
        b"/%61utodiscover/autodiscover.xml",
        b"/autodiscover.xml",
    ] {
        for _ in 0..2 {
            let ad = Some("autodiscover");
            m.http("POST", path, OUTLOOK, None, AUTODISCOVER_BODY, 404, ad);
        }
    }
    // Thunderbird's autoconfig.
    for i in 0..16 {
        let target: &[u8] = if i % 4 == 3 {
            b"/mail/config-v1.1.xml?emailaddress=a%40b.c"
        } else {
            b"/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=a%40b.c"
        };
        let xff = Some("198.51.100.30");
        m.http(
            "GET",
            target,
            THUNDERBIRD,
            xff,
            b"",
            404,
            Some("autoconfig"),
        );
    }
    // ActiveSync.
    for _ in 0..8 {
        let target = b"/Microsoft-Server-ActiveSync";
        m.http(
            "OPTIONS",
            target,
            IPHONE,
            None,
            b"",
            404,
            Some("activesync"),
        );
    }
    for _ in 0..4 {
        let target = b"/Microsoft-Server-ActiveSync?Cmd=Sync&User=a&DeviceType=iPhone";
        let xff = Some("198.51.100.40, 10.0.0.1");
        m.http("POST", target, IPHONE, xff, b"", 404, Some("activesync"));
    }
    // EWS.
    for i in 0..12 {
        let target: &[u8] = if i % 4 == 0 {
            b"/ews/exchange.asmx"
        } else {
            b"/EWS/Exchange.asmx"
        };
        m.http("POST", target, EWS_CLIENT, None, b"", 404, Some("ews"));
    }
    // OWA, with the odd user agent, quotes in the query and in the path, and HTTP/1.0.
    for _ in 0..7 {
        let xff = Some("198.51.100.50");
        m.http("GET", b"/owa/", ODD_UA, xff, b"", 404, Some("owa"));
    }
    let target = b"/OWA/auth/logon.aspx?url=\"https://x/owa/\"&reason=0";
    m.http("GET", target, ODD_UA, None, b"", 404, Some("owa"));
    let target = b"/owa/auth/\"x\".aspx";
    m.http("GET", target, ODD_UA, None, b"", 404, Some("owa"));
    let http10 = request("GET", b"/owa/", "HTTP/1.0", None, SNEAKY_UA, None, b"");
    m.send(&http10, 404, Some(("owa", "127.0.0.1")));
    // Other Exchange endpoints.
    let exchange: [(&str, &[u8], u64); 5] = [
        ("RPC_IN_DATA", b"/rpc/rpcproxy.dll", 3),
        ("GET", b"/mapi/nspi/", 2),
        ("GET", b"/oab/oab.xml", 2),
        ("GET", b"/ecp/", 2),
        ("GET", b"/PowerShell/", 1),
    ];
    for (method, target, n) in exchange {
        for _ in 0..n {
            m.http(method, target, OUTLOOK, None, b"", 404, Some("exchange"));
        }
    }
    // CalDAV/CardDAV discovery.
    for target in [&b"/.well-known/caldav"[..], b"/.well-known/carddav"] {
        for _ in 0..3 {
            m.http("PROPFIND", target, DAV_CLIENT, None, b"", 404, Some("dav"));
        }
    }
    // MTA-STS, never with X-Forwarded-For.
    for _ in 0..6 {
        let target = b"/.well-known/mta-sts.txt";
        m.http("GET", target, MTA_STS, None, b"", 404, Some("mta-sts"));
    }

    let tally = m.tally;
    wait_for_log_lines(&nginx, tally.requests as usize);
    Some((nginx, tally))
}

// ---------------------------------------------------------------------------------------------
// Running noisegate and checking its report

/// noisegate's JSON report with `args`; exit code 0 required.
fn noisegate_json(args: &[OsString]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(["--output", "json", "--top", "0"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "noisegate {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn args(list: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    list.iter().map(|a| a.as_ref().to_os_string()).collect()
}

/// Which client noisegate should name for each request.
#[derive(Clone, Copy)]
enum Clients {
    /// The first X-Forwarded-For hop, else `$remote_addr` (Pantheon).
    Forwarded,
    /// `$remote_addr`, always 127.0.0.1 here.
    RemoteAddr,
    /// Not part of the contract for this format.
    Unchecked,
}

/// A `{key: count}` object, or a `[{name_key, requests}]` list, as a map.
fn counts(v: &Value, name_key: &str) -> BTreeMap<String, u64> {
    match v {
        Value::Object(map) => map
            .iter()
            .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
            .collect(),
        Value::Array(list) => list
            .iter()
            .map(|e| {
                let name = e[name_key].as_str().unwrap().to_string();
                (name, e["requests"].as_u64().unwrap())
            })
            .collect(),
        other => panic!("not a count map or list: {other}"),
    }
}

/// The report must count exactly what was sent.
fn check(v: &Value, t: &Tally, clients: Clients, has_request_time: bool, what: &str) {
    let n = t.requests;
    assert_eq!(v["schema"], "noisegate/1", "{what}");
    assert_eq!(v["lines"]["total"], n, "{what}: lines {}", v["lines"]);
    assert_eq!(v["lines"]["parsed"], n, "{what}: rejects {}", v["rejects"]);
    assert_eq!(
        v["lines"]["rejected"], 0,
        "{what}: rejects {}",
        v["rejects"]
    );
    assert_eq!(v["totals"]["requests"], n, "{what}");
    assert_eq!(v["totals"]["bytes"], t.bytes, "{what}");
    assert_eq!(counts(&v["totals"]["status"], ""), t.status, "{what}");
    assert!(v["time"]["first"].is_string(), "{what}: {}", v["time"]);
    let rt = &v["totals"]["request_time_s"];
    if has_request_time {
        assert!(rt.as_f64().is_some_and(|s| s >= 0.0), "{what}: {rt}");
    } else {
        assert!(rt.is_null(), "{what}: {rt}");
    }

    let noise: u64 = t.categories.values().map(|c| c.requests).sum();
    assert_eq!(v["noise"]["requests"], noise, "{what}");
    let cats: BTreeMap<&str, &Value> = v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_str().unwrap(), c))
        .collect();
    assert_eq!(
        cats.keys().collect::<Vec<_>>(),
        t.categories.keys().collect::<Vec<_>>(),
        "{what}: categories"
    );
    for (id, want) in &t.categories {
        let c = cats[id];
        let ctx = format!("{what}: category {id}");
        assert_eq!(c["requests"], want.requests, "{ctx}");
        assert_eq!(c["bytes"], want.bytes, "{ctx}");
        assert_eq!(counts(&c["status"], ""), want.status, "{ctx}");
        assert_eq!(c["not_found"], want.status["404"], "{ctx}");
        assert_eq!(counts(&c["methods"], "method"), want.methods, "{ctx}");
        assert_eq!(counts(&c["paths"], "path"), want.paths, "{ctx}");
        assert_eq!(c["distinct_paths"], want.paths.len(), "{ctx}");
        let uas = counts(&c["top_user_agents"], "user_agent");
        assert_eq!(uas, want.user_agents, "{ctx}");
        assert_eq!(c["user_agents"], want.user_agents.len(), "{ctx}");
        assert_eq!(c["approximate"], false, "{ctx}");
        let got = counts(&c["top_clients"], "client");
        match clients {
            Clients::Forwarded => assert_eq!(got, want.forwarded_clients, "{ctx}"),
            Clients::RemoteAddr => {
                let all_local = BTreeMap::from([("127.0.0.1".into(), want.requests)]);
                assert_eq!(got, all_local, "{ctx}");
            }
            Clients::Unchecked => {}
        }
        if has_request_time {
            assert!(c["request_time_s"].as_f64().is_some(), "{ctx}");
        }
    }
    // The odd user agent comes back exactly as sent, whatever the log's escaping.
    let owa = cats["owa"];
    assert_eq!(
        owa["top_user_agents"][0]["user_agent"].as_str().unwrap(),
        as_text(ODD_UA),
        "{what}"
    );
    assert_eq!(owa["top_user_agents"][0]["requests"], 9, "{what}");
}

#[test]
fn pantheon_log_format() {
    let Some((nginx, tally)) = run_mix() else {
        return;
    };
    let log = nginx.path("pantheon.log");
    for extra in [args(&[&"--format", &"pantheon"]), args(&[])] {
        let what = format!("pantheon {extra:?}");
        let v = noisegate_json(&[extra, args(&[&log])].concat());
        assert_eq!(v["format"], "pantheon", "{what}");
        check(&v, &tally, Clients::Forwarded, true, &what);
        // The top client is the first X-Forwarded-For hop; without the header, the peer.
        let cats = v["categories"].as_array().unwrap();
        let top = |id: &str| {
            let c = cats.iter().find(|c| c["id"] == id).unwrap();
            c["top_clients"][0].clone()
        };
        assert_eq!(top("autodiscover")["client"], "198.51.100.7", "{what}");
        assert_eq!(top("autodiscover")["requests"], 24, "{what}");
        assert_eq!(top("mta-sts")["client"], "127.0.0.1", "{what}");
        assert_eq!(top("autoconfig")["client"], "198.51.100.30", "{what}");
    }
}

#[test]
fn combined_log_format() {
    let Some((nginx, tally)) = run_mix() else {
        return;
    };
    let log = nginx.path("combined.log");
    for extra in [args(&[&"--format", &"combined"]), args(&[])] {
        let what = format!("combined {extra:?}");
        let v = noisegate_json(&[extra, args(&[&log])].concat());
        assert_eq!(v["format"], "combined", "{what}");
        check(&v, &tally, Clients::RemoteAddr, false, &what);
    }
}

#[test]
fn custom_log_format_with_upstream_time_and_host() {
    let Some((nginx, tally)) = run_mix() else {
        return;
    };
    // The log really has both kinds of $upstream_response_time: a number where nginx
    // proxied, `-` where it answered itself.
    let text = fs::read(nginx.path("custom.log")).unwrap();
    let text = String::from_utf8_lossy(&text);
    let upstream_time = |request_start: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.contains(request_start))
            .map(|l| {
                let after = &l[l.find(" HTTP/1.1\" ").unwrap() + 11..];
                after.split(' ').nth(3).unwrap().to_string()
            })
            .collect()
    };
    let proxied = upstream_time("\"GET /app/");
    assert_eq!(proxied.len(), 15);
    assert!(
        proxied.iter().all(|t| t.parse::<f64>().is_ok()),
        "{proxied:?}"
    );
    let direct = upstream_time("\"GET / HTTP/1.1\"");
    assert_eq!(direct.len(), 40);
    assert!(direct.iter().all(|t| t == "-"), "{direct:?}");
    let log = nginx.path("custom.log");
    let conf = nginx.path("nginx.conf");
    for extra in [
        args(&[&"--log-format", &CUSTOM_FORMAT]),
        args(&[&"--nginx-conf", &conf, &"--log-format-name", &"custom"]),
    ] {
        let what = format!("custom {extra:?}");
        let v = noisegate_json(&[extra, args(&[&log])].concat());
        check(&v, &tally, Clients::RemoteAddr, true, &what);
        assert!(v["totals"]["request_time_s"].is_number(), "{what}");
    }
}

#[test]
fn json_log_format() {
    let Some((nginx, tally)) = run_mix() else {
        return;
    };
    let log = nginx.path("json.log");
    let conf = nginx.path("nginx.conf");
    for extra in [
        args(&[&"--format", &"json"]),
        args(&[&"--nginx-conf", &conf, &"--log-format-name", &"jsonlog"]),
    ] {
        let what = format!("json {extra:?}");
        let v = noisegate_json(&[extra, args(&[&log])].concat());
        check(&v, &tally, Clients::Unchecked, true, &what);
    }
}
