//! Logs as users have them, through the real binary: nginx `log_format` strings, nginx.conf,
//! JSON lines, the common preset, mixed inputs, directories with rotated files, time windows,
//! client address choice, format notes and the `formats` command.

use assert_cmd::Command;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};

fn noisegate() -> Command {
    Command::cargo_bin("noisegate").unwrap()
}

fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, data).unwrap();
    p
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// Runs with `--output json`; returns the exit code, the JSON and stderr.
fn run(args: &[&str], stdin: Option<&str>) -> (i32, Value, String) {
    let mut cmd = noisegate();
    cmd.args(["--output", "json"]).args(args);
    if let Some(data) = stdin {
        cmd.write_stdin(data.to_string());
    }
    let out = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    let v = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (out.status.code().unwrap(), v, err)
}

fn category<'v>(v: &'v Value, id: &str) -> &'v Value {
    v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no category {id} in {v}"))
}

fn pantheon(t: &str, req: &str, status: u16, xff: &str) -> String {
    format!("10.0.0.1 - - [19/Feb/2016:{t} +0000]  \"{req}\" {status} 12 \"-\" \"ua\" 0.250 \"{xff}\"\n")
}

fn combined(t: &str, req: &str, status: u16) -> String {
    format!("203.0.113.9 - - [19/Feb/2016:{t} +0000] \"{req}\" {status} 12 \"-\" \"ua\"\n")
}

const CUSTOM: &str =
    "$msec $remote_addr $request_method $request_uri $status $upstream_response_time $host";

#[test]
fn a_log_format_string_with_msec_uri_and_upstream_lists() {
    let lines = [
        "1455847200.123 1.2.3.4 POST /Autodiscover/Autodiscover.xml?x=1 404 0.012, 0.034 a.org",
        "1455847201.000 1.2.3.4 GET /owa/ 404 - a.org",
        "1455847202.500 5.6.7.8 GET / 200 0.100 : 0.050 a.org",
    ];
    let (code, v, err) = run(&["--log-format", CUSTOM], Some(&(lines.join("\n") + "\n")));
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["format"], "custom");
    assert_eq!(v["lines"]["parsed"], 3);
    let ad = category(&v, "autodiscover");
    assert_eq!(ad["paths"][0]["path"], "/Autodiscover/Autodiscover.xml");
    assert_eq!(ad["methods"][0]["method"], "POST");
    assert_eq!(ad["request_time_s"].as_f64().unwrap(), 0.046);
    assert_eq!(category(&v, "owa")["requests"], 1);
    assert_eq!(v["totals"]["request_time_s"].as_f64().unwrap(), 0.196);
    assert_eq!(v["time"]["first"], "2016-02-19T02:00:00Z");
    let notes = v["sources"][0]["notes"].as_array().unwrap();
    assert!(notes
        .iter()
        .any(|n| n.as_str().unwrap().contains("no $body_bytes_sent")));
    assert!(notes
        .iter()
        .any(|n| n.as_str().unwrap().contains("no $http_user_agent")));
    // The text report says each missing variable once.
    let text = noisegate()
        .args(["--log-format", CUSTOM])
        .write_stdin(lines.join("\n").repeat(3))
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert_eq!(text.matches("no $http_user_agent").count(), 1, "{text}");
}

#[test]
fn log_format_syntax_errors_name_the_position() {
    for (fmt, want) in [
        ("$remote_addr ${time_local", "column 14"),
        ("$remote_addr $ x", "column 14"),
        ("$remote_addr$status", "not separated"),
        ("no variables", "no variables"),
    ] {
        let (code, _, err) = run(&["--log-format", fmt], Some("x\n"));
        assert_eq!(code, 2, "{fmt}");
        assert!(err.contains(want), "{fmt}: {err}");
    }
}

const NGINX_CONF: &str = r#"
http {
    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" $request_time';
    log_format  js escape=json '{"t":"$time_iso8601","r":"$request","s":"$status","ua":"$http_user_agent"}';
    server {
        listen 80;
        access_log /var/log/nginx/access.log main;
    }
}
"#;

#[test]
fn formats_come_from_an_nginx_conf() {
    let dir = tempfile::tempdir().unwrap();
    let conf = write(dir.path(), "nginx.conf", NGINX_CONF.as_bytes());
    let conf = conf.to_str().unwrap();
    let main = "1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] \"GET /EWS/Exchange.asmx HTTP/1.1\" 404 0 \"-\" \"x\" 0.300\n";
    let (code, v, err) = run(&["--nginx-conf", conf], Some(main));
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["format"], "main");
    assert_eq!(category(&v, "ews")["request_time_s"].as_f64().unwrap(), 0.3);
    let js =
        r#"{"t":"2016-02-19T02:00:00+00:00","r":"GET /owa/ HTTP/1.1","s":"404","ua":"say \"hi\""}"#;
    let (code, v, err) = run(&["--nginx-conf", conf, "--log-format-name", "js"], Some(js));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        category(&v, "owa")["top_user_agents"][0]["user_agent"],
        "say \"hi\""
    );
    let (code, _, err) = run(
        &["--nginx-conf", conf, "--log-format-name", "nope"],
        Some(js),
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("no log_format named 'nope' (defined: main, js)"),
        "{err}"
    );
}

#[test]
fn json_lines_by_usual_names_or_a_mapping() {
    let auto = "{\"time_local\":\"19/Feb/2016:02:00:00 +0000\",\"remote_addr\":\"1.2.3.4\",\"request\":\"POST /autodiscover/autodiscover.xml HTTP/1.1\",\"status\":404,\"request_time\":\"0.5\",\"http_user_agent\":\"caf\u{e9} \\u00e9 \\\"q\\\"\"}\n";
    let (code, v, err) = run(&[], Some(auto));
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["format"], "json");
    let ad = category(&v, "autodiscover");
    assert_eq!(ad["top_clients"][0]["client"], "1.2.3.4");
    assert_eq!(ad["top_user_agents"][0]["user_agent"], "café é \"q\"");
    let custom = "{\"ts\":\"2016-02-19T02:00:00Z\",\"code\":\"404\",\"u\":\"/Microsoft-Server-ActiveSync\",\"m\":\"OPTIONS\"}\n";
    let map = "time_iso8601=ts,status=code,request_uri=u,request_method=m";
    let (code, v, err) = run(&["--format", "json", "--json-fields", map], Some(custom));
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        category(&v, "activesync")["methods"][0]["method"],
        "OPTIONS"
    );
    assert_eq!(v["totals"]["status"]["404"], 1);
    let (code, _, err) = run(&["--json-fields", "bogus"], Some(custom));
    assert_eq!(code, 2);
    assert!(err.contains("--json-fields"), "{err}");
}

#[test]
fn common_format_is_detected_and_lacks_what_it_lacks() {
    let line = "1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] \"GET /owa/ HTTP/1.1\" 404 12\n";
    let (code, v, _) = run(&[], Some(&line.repeat(3)));
    assert_eq!(code, 0);
    assert_eq!(v["format"], "common");
    assert_eq!(category(&v, "owa")["requests"], 3);
    let notes = v["sources"][0]["notes"].to_string();
    assert!(notes.contains("no $http_user_agent"), "{notes}");
}

#[test]
fn undetectable_input_names_the_closest_format_and_where_it_diverged() {
    let line = "1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] GET /owa/ 404\n";
    let (code, v, err) = run(&[], Some(line));
    assert_eq!(code, 2);
    assert!(v.is_null());
    assert!(err.contains("<stdin>:1: no known log format fits"), "{err}");
    assert!(err.contains("closest is pantheon: column 40"), "{err}");
    assert!(err.contains("GET /owa/ 404"), "{err}");
}

#[test]
fn each_input_gets_its_own_format() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.log",
        pantheon("02:00:00", "GET /owa/ HTTP/1.1", 404, "-").as_bytes(),
    );
    let b = write(
        dir.path(),
        "b.log",
        combined("02:00:01", "GET /owa/ HTTP/1.1", 404).as_bytes(),
    );
    let bad = write(dir.path(), "c.log", b"not a log line\n");
    let (code, v, err) = run(
        &[
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            bad.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 2, "the undetectable input is an error");
    assert!(err.contains("c.log:1: no known log format fits"), "{err}");
    assert_eq!(v["format"], "mixed");
    assert_eq!(v["sources"][0]["format"], "pantheon");
    assert_eq!(v["sources"][1]["format"], "combined");
    assert_eq!(category(&v, "owa")["requests"], 2);
}

/// Pantheon's collect-logs layout with rotated, gzipped files and an error log.
fn pantheon_tree(dir: &Path) {
    for (server, day) in [("app_server_10.0.0.1", "19"), ("app_server_10.0.0.2", "20")] {
        let logs = format!("{server}/logs/nginx");
        let old = pantheon(
            "01:00:00",
            "POST /autodiscover/autodiscover.xml HTTP/1.1",
            404,
            "-",
        );
        let old = old.replace("19/Feb", &format!("{day}/Feb"));
        write(
            dir,
            &format!("{logs}/nginx-access.log-20160218.gz"),
            &gzip(old.as_bytes()),
        );
        let live = pantheon("02:00:00", "GET /owa/ HTTP/1.1", 404, "-")
            .replace("19/Feb", &format!("{day}/Feb"));
        write(dir, &format!("{logs}/nginx-access.log"), live.as_bytes());
        write(
            dir,
            &format!("{logs}/nginx-error.log"),
            b"2016/02/19 error\n",
        );
    }
}

#[test]
fn directories_are_read_recursively_in_rotation_order() {
    let dir = tempfile::tempdir().unwrap();
    pantheon_tree(dir.path());
    let (code, v, err) = run(&[dir.path().to_str().unwrap()], None);
    assert_eq!(code, 0, "{err}");
    let inputs: Vec<String> = v["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            i.as_str()
                .unwrap()
                .rsplit(std::path::MAIN_SEPARATOR)
                .take(4)
                .collect::<Vec<_>>()
                .join("<")
        })
        .collect();
    assert_eq!(inputs.len(), 4, "{inputs:?}");
    assert!(inputs[0].starts_with("nginx-access.log-20160218.gz<nginx<logs<app_server_10.0.0.1"));
    assert!(inputs[1].starts_with("nginx-access.log<nginx<logs<app_server_10.0.0.1"));
    assert!(inputs[3].starts_with("nginx-access.log<nginx<logs<app_server_10.0.0.2"));
    assert!(
        err.contains("skipped 2 files that do not look like access logs"),
        "{err}"
    );
    assert_eq!(v["lines"]["total"], 4);
    assert_eq!(category(&v, "autodiscover")["requests"], 2);
    let (_, v, _) = run(
        &[
            "--glob",
            "*error*",
            dir.path().to_str().unwrap(),
            "--format",
            "combined",
        ],
        None,
    );
    assert_eq!(v["inputs"].as_array().unwrap().len(), 2);
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("README"), "x").unwrap();
    let (code, _, err) = run(&[empty.path().to_str().unwrap()], None);
    assert_eq!(
        code, 2,
        "a directory without logs is an error, not a healthy empty report"
    );
    assert!(
        err.contains("no log file to read") && err.contains("--glob"),
        "{err}"
    );
    let (code, _, err) = run(&["--glob", "[x", dir.path().to_str().unwrap()], None);
    assert_eq!(code, 2);
    assert!(err.contains("--glob"), "{err}");
}

#[test]
fn gzip_inputs_read_in_parallel_match_one_plain_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut all = String::new();
    let mut args = Vec::new();
    for i in 0..4 {
        let mut part = String::new();
        for j in 0..500 {
            let t = format!("0{i}:{:02}:{:02}", j / 60 % 60, j % 60);
            part += &pantheon(
                &t,
                "POST /Autodiscover/Autodiscover.xml HTTP/1.1",
                404,
                "198.51.100.7",
            );
            part += &pantheon(&t, "GET /blog/ HTTP/1.1", 200, "198.51.100.8");
        }
        args.push(write(
            dir.path(),
            &format!("p{i}.log.gz"),
            &gzip(part.as_bytes()),
        ));
        all += &part;
    }
    let whole = write(dir.path(), "all.log", all.as_bytes());
    let strs: Vec<&str> = args.iter().map(|p| p.to_str().unwrap()).collect();
    let (_, mut many, _) = run(&strs, None);
    let (_, mut one, _) = run(&[whole.to_str().unwrap()], None);
    for v in [&mut many, &mut one] {
        v["inputs"] = Value::Null;
        v["sources"] = Value::Null;
    }
    assert_eq!(many, one);
    assert_eq!(one["lines"]["total"], 4000);
}

#[test]
fn time_windows_count_what_they_leave_out() {
    let mut log = String::new();
    for h in 0..10 {
        log += &pantheon(&format!("{h:02}:30:00"), "GET /owa/ HTTP/1.1", 404, "-");
    }
    log += "broken line\n";
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "a.log", log.as_bytes());
    let file = file.to_str().unwrap();
    let check = |args: &[&str], parsed: u64| {
        let (code, v, err) = run(args, None);
        assert_eq!(code, 0, "{args:?}: {err}");
        let l = &v["lines"];
        assert_eq!(l["parsed"], parsed, "{args:?}");
        assert_eq!(l["rejected"], 1);
        assert_eq!(l["filtered"], 10 - parsed);
        assert_eq!(
            category(&v, "owa")["requests"].as_u64().unwrap_or(0),
            parsed
        );
    };
    check(&["--since", "2016-02-19T05:00:00Z", file], 5);
    check(
        &[
            "--since",
            "2016-02-19T05:00:00+01:00",
            "--until",
            "2016-02-19T06:00:00Z",
            file,
        ],
        2,
    );
    check(&["--since", "3h", file], 4);
    check(&["--until", "3h", file], 6);
    let (code, v, _) = run(&["--since", "24h", "--now", file], None);
    assert_eq!((code, v["lines"]["filtered"].as_u64()), (0, Some(10)));
    let (code, _, err) = run(&["--since", "3h"], Some(&log));
    assert_eq!(code, 2);
    assert!(err.contains("--now"), "{err}");
    let (code, _, err) = run(&["--since", "yesterday", file], None);
    assert_eq!(code, 2);
    assert!(err.contains("RFC 3339"), "{err}");
}

#[test]
fn client_addresses_lose_ports_and_unknown_hops() {
    let mut log = String::new();
    let cases = [
        ("198.51.100.1:5678, 10.0.0.2", "198.51.100.1"),
        ("[2001:db8::1]:443", "2001:db8::1"),
        ("2001:db8::2", "2001:db8::2"),
        ("unknown, 198.51.100.3", "10.0.0.1"),
    ];
    for (xff, _) in cases {
        log += &pantheon("02:00:00", "GET /owa/ HTTP/1.1", 404, xff);
    }
    let (_, v, _) = run(&["--top", "0"], Some(&log));
    let clients: Vec<&str> = category(&v, "owa")["top_clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    for (_, want) in cases {
        assert!(clients.contains(&want), "{want} not in {clients:?}");
    }
    let (_, v, _) = run(&["--client-ip", "remote-addr"], Some(&log));
    assert_eq!(category(&v, "owa")["top_clients"][0]["client"], "10.0.0.1");
    assert_eq!(category(&v, "owa")["clients"], 1);
}

#[test]
fn formats_command_lists_and_tests_formats() {
    let out = noisegate().arg("formats").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ["pantheon", "combined", "common", "json"] {
        assert!(text.contains(name), "{text}");
    }
    assert!(text.contains("$http_x_forwarded_for"));
    let log = combined("02:00:00", "GET / HTTP/1.1", 200).repeat(5) + "junk\n";
    let out = noisegate()
        .args(["formats", "-"])
        .write_stdin(log)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("first 6 non-empty lines"), "{text}");
    assert!(text.contains("combined         5 parsed"), "{text}");
    assert!(text.contains("fits: combined"), "{text}");
    let out = noisegate()
        .args(["formats", "-", "--log-format", "$remote_addr $status"])
        .write_stdin("1.2.3.4 404\n")
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("fits: custom"), "{text}");
    let out = noisegate()
        .args(["formats", "-"])
        .write_stdin("junk\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A relative `--since` counts back from the newest line of all the inputs (a first pass finds
/// it), whatever their order: a directory with yesterday's rotated gzip and today's live log
/// keeps the last two hours of today.
#[test]
fn a_relative_since_counts_back_from_the_newest_line_of_every_input() {
    let dir = tempfile::tempdir().unwrap();
    let line = |day: u32, h: u32, m: u32| {
        format!("10.0.0.1 - - [{day:02}/Feb/2016:{h:02}:{m:02}:00 +0000]  \"GET /blog/ HTTP/1.1\" 200 10 \"-\" \"ua\" 0.010 \"-\"\n")
    };
    let day = |d: u32, hours: u32| -> String {
        (0..hours)
            .flat_map(|h| (0..60).step_by(10).map(move |m| (h, m)))
            .map(|(h, m)| line(d, h, m))
            .collect()
    };
    let rotated = dir.path().join("access.log.1.gz");
    std::fs::write(&rotated, gzip(day(18, 24).as_bytes())).unwrap();
    let live = dir.path().join("access.log");
    std::fs::write(&live, day(19, 12)).unwrap();
    let (rotated, live, all) = (
        rotated.to_str().unwrap(),
        live.to_str().unwrap(),
        dir.path().to_str().unwrap(),
    );
    for args in [[all, ""], [live, rotated], [rotated, live]] {
        let args: Vec<&str> = args.into_iter().filter(|a| !a.is_empty()).collect();
        let (code, v, err) = run(&[&["--since", "2h"][..], &args].concat(), None);
        assert_eq!(code, 0, "{err}");
        // 09:50 to 11:50 on the 19th, both ends kept.
        assert_eq!(v["lines"]["parsed"], 13, "{args:?}");
        assert_eq!(v["lines"]["filtered"], 24 * 6 + 12 * 6 - 13, "{args:?}");
        assert_eq!(v["time"]["first"], "2016-02-19T09:50:00Z", "{args:?}");
    }
}
