//! Outputs that carry log strings and file names, through the real binary: the Markdown
//! report lets no HTML entity, autolink or Markdown through and escapes each byte once (a
//! byte 0xC3 is `\xc3`, a backslash of the log `\x5c`, whether the model escaped it before
//! or not); a file name with ESC or a bidi override reaches no terminal raw, on stderr
//! (errors, warnings, notes) or stdout (`formats`, `check`).

use assert_cmd::Command;
use std::path::Path;

fn ng(args: &[&std::ffi::OsStr], stdin: &[u8]) -> (i32, Vec<u8>, Vec<u8>) {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(args)
        .write_stdin(stdin)
        .output()
        .unwrap();
    (out.status.code().unwrap_or(-1), out.stdout, out.stderr)
}

fn line(path: &[u8], status: u16, ua: &[u8]) -> Vec<u8> {
    let mut l = b"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] \"POST ".to_vec();
    l.extend_from_slice(path);
    l.extend_from_slice(format!(" HTTP/1.1\" {status} 5 \"-\" \"").as_bytes());
    l.extend_from_slice(ua);
    l.extend_from_slice(b"\"\n");
    l
}

#[test]
fn markdown_lets_no_entity_autolink_or_double_escape_through() {
    // The `@` starts a segment: nothing before it to mask as a mailbox's local part.
    let hostile = b"/autodiscover/\xc3\\a&rlm;&zwj;&nbsp;https://evil.example/x.www.evil.example:a/@evil.example";
    let mut log = Vec::new();
    for _ in 0..5 {
        log.extend(line(
            hostile,
            404,
            b"Microsoft Office/16.0 &nbsp; https://ua.example WWW.ua.example",
        ));
    }
    // A page the site serves under the noise path: the block is narrowed, saying why with
    // the path the model escaped already.
    log.extend(line(b"/autodiscover/\xc3\\x", 200, b"Mozilla"));
    let (code, out, err) = ng(
        &["report".as_ref(), "-o".as_ref(), "markdown".as_ref()],
        &log,
    );
    assert_eq!(code, 0, "{}", String::from_utf8_lossy(&err));
    let md = String::from_utf8(out).unwrap();
    for (i, _) in md.match_indices('&') {
        assert_eq!(&md[i - 1..i], "\\", "an entity left: {md}");
    }
    for (i, _) in md.match_indices('@') {
        assert_eq!(&md[i - 1..i], "\\", "an e-mail autolink left: {md}");
    }
    let lower = md.to_lowercase();
    for link in ["https://", "http://", "www."] {
        assert!(!lower.contains(link), "{link} left: {md}");
    }
    assert!(md.contains("/autodiscover/\\xc3\\x5ca\\&rlm;\\&zwj;\\&nbsp;https\\://evil.example/x.www\\.evil.example\\:a/\\@evil.example"), "{md}");
    assert!(
        md.contains("- Narrowed /autodiscover: would also block /autodiscover/\\xc3\\x5cx (served"),
        "{md}"
    );
    assert!(
        !md.contains("\\x5cx5c") && !md.contains("\\x5cxc3"),
        "escaped twice: {md}"
    );
}

/// Whether `bytes` hold an ESC or the UTF-8 of U+202E (RIGHT-TO-LEFT OVERRIDE).
fn raw_controls(bytes: &[u8]) -> bool {
    bytes.contains(&0x1b) || bytes.windows(3).any(|w| w == "\u{202e}".as_bytes())
}

#[test]
fn file_names_with_control_characters_reach_no_terminal_raw() {
    let dir = tempfile::tempdir().unwrap();
    let name = "x\u{1b}[31mred\u{202e}.log";
    let shown = "x\\x1b[31mred\\xe2\\x80\\xae.log";
    let log = dir.path().join(name);
    std::fs::write(
        &log,
        line(b"/autodiscover/autodiscover.xml", 404, b"Outlook"),
    )
    .unwrap();
    let missing = dir.path().join(format!("missing-{name}"));
    let skipped = dir.path().join(format!("d-{name}"));
    std::fs::create_dir(&skipped).unwrap();
    std::fs::write(skipped.join(name), "not a log line\n").unwrap();
    let yml = dir.path().join(format!("{name}.yml"));
    let p = |p: &Path| p.as_os_str().to_owned();
    let cases: Vec<(Vec<std::ffi::OsString>, i32)> = vec![
        (vec!["formats".into(), p(&log)], 0),
        (vec!["report".into(), p(&missing)], 2),
        (vec!["report".into(), p(&skipped), p(&log)], 0),
        (vec!["check".into(), p(&missing)], 2),
        (vec!["block".into(), "--merge".into(), p(&yml), p(&log)], 2),
        (vec!["merge".into(), p(&log), p(&log)], 2),
    ];
    for (args, want) in cases {
        let args: Vec<&std::ffi::OsStr> = args.iter().map(|a| a.as_os_str()).collect();
        let (code, out, err) = ng(&args, b"");
        let (o, e) = (String::from_utf8_lossy(&out), String::from_utf8_lossy(&err));
        assert_eq!(code, want, "{args:?}: {o}{e}");
        assert!(
            !raw_controls(&out) && !raw_controls(&err),
            "{args:?}: {o}{e}"
        );
        assert!(o.contains(shown) || e.contains(shown), "{args:?}: {o}{e}");
    }
}
