//! The HTML report: self-contained, escaped, and rendered by a real browser (Debian's
//! chromium, installed by .ci/run) into a screenshot that is not blank, with the key figures
//! in the page's text.

use assert_cmd::Command;
use std::path::Path;

fn html(args: &[&str], stdin: Option<&str>) -> String {
    let mut cmd = Command::cargo_bin("noisegate").unwrap();
    cmd.args(["--output", "html"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(s) = stdin {
        cmd.write_stdin(s.to_string());
    }
    let out = cmd.assert().success().get_output().clone();
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn self_contained_and_escaped() {
    let page = html(&["samples/pantheon.log"], None);
    assert!(page.starts_with("<!doctype html>"));
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "nothing from the network"
    );
    assert!(page.contains("<svg") && page.contains("storm: autodiscover from 217.160.44.19"));
    assert!(page.contains("<pre id=\"block\">api_version: 1"));
    let line = "10.0.0.1 - - [19/Feb/2016:02:00:00 +0000]  \"GET /owa/<script>alert(1)</script> HTTP/1.1\" 404 1 \"-\" \"<b>ua</b>\" 0.1 \"-\"\n";
    let page = html(&[], Some(&line.repeat(3)));
    assert!(!page.contains("<script>alert"), "log strings are escaped");
    assert!(!page.contains("<b>ua</b>"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}

/// Debian's chromium; without it the test is skipped, except under CI=true.
fn chromium() -> Option<&'static str> {
    if Path::new("/usr/bin/chromium").exists() {
        return Some("/usr/bin/chromium");
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "chromium not installed, and CI=true: .ci/run must install it"
    );
    eprintln!("skipped: chromium not installed");
    None
}

fn headless(bin: &str, profile: &Path, args: &[&str], page: &Path) -> std::process::Output {
    std::process::Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
        ])
        .args([
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap()
}

#[test]
fn a_real_browser_renders_it() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("report.html");
    std::fs::write(&page, html(&["samples/pantheon.log"], None)).unwrap();
    let shot = dir.path().join("shot.png");
    let profile = dir.path().join("profile");
    let out = headless(
        bin,
        &profile,
        &[
            "--window-size=1200,1600",
            &format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    assert!(
        shot.exists(),
        "no screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let decoder = png::Decoder::new(std::fs::File::open(&shot).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = &buf[..info.buffer_size()];
    let channels = info.color_type.samples();
    let inked = px
        .chunks(channels)
        .filter(|p| p[..3].iter().any(|&c| c < 200))
        .count();
    let total = px.len() / channels;
    assert!(
        inked * 100 > total,
        "the screenshot is blank: {inked} of {total} pixels inked"
    );
    let dom = headless(bin, &profile, &["--dump-dom"], &page);
    let text = String::from_utf8_lossy(&dom.stdout);
    for figure in [
        "1,313",
        "26.26%",
        "217.160.44.19",
        "1,200",
        "api_version: 1",
        "/Autodiscover",
    ] {
        assert!(
            text.contains(figure),
            "{figure} missing from the rendered page"
        );
    }
}
