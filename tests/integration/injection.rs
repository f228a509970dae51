//! Log strings written by attackers, through every renderer: one hostile corpus in the
//! paths, user agents and client addresses of noise requests, then the text, Markdown, HTML
//! and JSON reports and every block output. Text-like outputs show the strings escaped, HTML
//! escapes them, JSON carries them exactly, and none reaches a block.

use serde_json::Value;
use std::process::Command;

/// Hostile strings: terminal escapes, CR/LF, bidi and zero-width characters, YAML and
/// Markdown specials, HTML, nginx and shell metacharacters. Each carries the marker `pwn`.
const CORPUS: &[&str] = &[
    "\x1b[31mpwn\x1b]0;title\x07",
    "pwn\r\nSet-Cookie: x=1",
    "pwn\u{202e}fdp.exe\u{2066}\u{2069}",
    "p\u{200b}wn\u{200d}\u{feff}",
    "pwn: # { } [ ] & * ! | > ' \" % @ `",
    "<script>alert('pwn')</script><img src=x onerror=pwn>",
    "pwn; return 200; } location / { deny all; $host \\",
    "pwn | ![x](http://evil/) **b** _i_ <br>",
];

/// The path a client sends for `s`: nginx (1.22) routes no request whose target holds a
/// space, a control byte or a `%` that starts no escape, so those are percent-encoded; other
/// bytes, above 0x7f too, are sent as they are.
fn sent_path(s: &str) -> String {
    let mut out = Vec::new();
    for b in s.bytes() {
        match b {
            b' ' | b'%' | 0..=0x1f | 0x7f => out.extend(format!("%{b:02X}").bytes()),
            _ => out.push(b),
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were replaced")
}

/// `s` as nginx's default escaping writes it: `"`, `\` and bytes outside printable ASCII as
/// `\xHH`.
fn nginx_escaped(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0..=0x1f | 0x7f.. => format!("\\x{b:02X}"),
            _ => char::from(b).to_string(),
        })
        .collect()
}

/// Lines as a log holds them: nginx writes `"` and bytes outside printable ASCII as `\xHH`;
/// a log written without escaping holds them raw. Both kinds are here.
fn log() -> String {
    let mut out = String::new();
    for (i, s) in CORPUS.iter().enumerate() {
        let escaped = nginx_escaped(s);
        let raw: String = s.replace('"', "'").replace(['\r', '\n'], " ");
        let lines = [
            (3, nginx_escaped(&sent_path(s)), &escaped),
            (2, sent_path(&raw), &raw),
        ];
        for (n, path, text) in lines {
            for k in 0..n {
                out += &format!(
                    "10.0.0.1 - - [19/Feb/2016:02:{i:02}:{k:02} +0000]  \"GET /owa/{path} HTTP/1.1\" 404 12 \"-\" \"{text}\" 0.250 \"{text}\"\n"
                );
            }
        }
    }
    out
}

fn run(args: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.log");
    std::fs::write(&path, log()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(args)
        .arg("--format")
        .arg("pantheon")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Characters that must never be printed raw from a log: controls (but newline), bidi
/// overrides and isolates, zero-width characters.
fn dangerous(c: char) -> bool {
    (c.is_control() && c != '\n')
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

#[test]
fn text_markdown_and_html_show_hostile_strings_escaped() {
    for output in ["text", "markdown", "html"] {
        let out = String::from_utf8(run(&["-o", output])).expect("valid UTF-8");
        assert!(
            out.contains("pwn"),
            "{output}: the hostile requests are reported"
        );
        let bad: Vec<char> = out.chars().filter(|&c| dangerous(c)).collect();
        assert!(bad.is_empty(), "{output}: raw {bad:?}");
        if output != "text" {
            assert!(!out.contains("<script>alert"), "{output}: raw HTML");
            assert!(!out.contains("<img src=x"), "{output}: raw HTML");
        }
        if output == "markdown" {
            assert!(
                !out.contains("![x](http://evil/)"),
                "markdown: a live image link"
            );
        }
        if output == "html" {
            assert!(
                out.contains("&lt;script&gt;") || out.contains("\\x3cscript"),
                "html"
            );
        }
    }
}

#[test]
fn json_carries_hostile_strings_exactly() {
    let v: Value = serde_json::from_slice(&run(&["-o", "json"])).expect("valid JSON");
    let owa = v["categories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "owa")
        .unwrap();
    let strings = |list: &str, key: &str| -> Vec<String> {
        owa[list]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[key].as_str().unwrap().to_string())
            .collect()
    };
    let agents = strings("top_user_agents", "user_agent");
    let clients = strings("top_clients", "client");
    let paths = strings("paths", "path");
    for s in CORPUS {
        // nginx's `\xHH` escapes are undone: the agent is the string that was sent.
        assert!(
            agents.iter().any(|a| a == s),
            "user agent {s:?} in {agents:?}"
        );
        // The client is the first hop, without what looks like a `:port`.
        let first_hop = s.split(':').next().unwrap();
        assert!(
            clients.iter().any(|c| c == first_hop),
            "client {first_hop:?} in {clients:?}"
        );
        // A path ends at `#` (a fragment); what was sent percent-encoded stays so.
        let path = format!("/owa/{}", sent_path(s.split('#').next().unwrap()));
        assert!(paths.contains(&path), "path {path:?} in {paths:?}");
    }
}

#[test]
fn no_hostile_string_reaches_a_block() {
    let report: Value = serde_json::from_slice(&run(&["-o", "json"])).unwrap();
    let outputs = [
        run(&["block"]),
        run(&["block", "--plain"]),
        run(&["block", "--target", "nginx"]),
        run(&["block", "--target", "apache"]),
        report["block"]["pantheon_yml"].as_str().unwrap().into(),
        report["block"]["paths"].to_string().into_bytes(),
    ];
    for out in outputs {
        let text = String::from_utf8(out).expect("valid UTF-8");
        assert!(text.contains("owa"), "the noise is blocked: {text}");
        assert!(
            !text.contains("pwn"),
            "a log string reached the block: {text}"
        );
        assert!(!text.chars().any(dangerous), "{text}");
    }
    let yaml = String::from_utf8(run(&["block"])).unwrap();
    let docs = yaml_rust2::YamlLoader::load_from_str(&yaml).expect("valid YAML");
    let entries = docs[0]["protected_web_paths"].as_vec().expect("a list");
    for e in entries {
        let path = e.as_str().expect("plain strings");
        assert!(path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._~-".contains(&b)));
    }
}
