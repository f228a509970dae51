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

/// The `<svg id="{id}" ...>...</svg>` of a report page.
fn svg_of(page: &str, id: &str) -> String {
    let start = page.find(&format!("<svg id=\"{id}\"")).expect("the chart");
    let end = start + page[start..].find("</svg>").unwrap() + "</svg>".len();
    page[start..end].to_string()
}

/// A screenshot of `svg` alone at its own scale (960 units to 960 pixels): (width, RGB rows).
fn shot_of(bin: &str, dir: &Path, svg: &str, height: u32) -> (usize, Vec<Vec<[u8; 3]>>) {
    let page = dir.join("chart.html");
    std::fs::write(
        &page,
        format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><style>body{{margin:0}}\
             svg text{{font:12px system-ui,sans-serif}}</style></head><body>\
             <div style=\"width:960px\">{svg}</div></body></html>"
        ),
    )
    .unwrap();
    let shot = dir.join("chart.png");
    let _ = std::fs::remove_file(&shot);
    let out = headless(
        bin,
        &dir.join("profile"),
        &[
            &format!("--window-size=960,{height}"),
            "--hide-scrollbars",
            &format!("--screenshot={}", shot.display()),
        ],
        &page,
    );
    assert!(shot.exists(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut reader = png::Decoder::new(std::fs::File::open(&shot).unwrap())
        .read_info()
        .unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    let rows = buf[..info.buffer_size()]
        .chunks(info.width as usize * channels)
        .map(|row| row.chunks(channels).map(|p| [p[0], p[1], p[2]]).collect())
        .collect();
    (info.width as usize, rows)
}

/// Runs of columns in rows `y0..y1` holding dark (text) pixels, runs closer than `gap` joined.
fn text_runs(rows: &[Vec<[u8; 3]>], y0: usize, y1: usize, gap: usize) -> Vec<(usize, usize)> {
    let width = rows[0].len();
    let dark: Vec<bool> = (0..width)
        .map(|x| (y0..y1).any(|y| rows[y][x].iter().all(|&c| c < 140)))
        .collect();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for (x, &d) in dark.iter().enumerate() {
        if !d {
            continue;
        }
        match runs.last_mut() {
            Some(r) if x - r.1 <= gap => r.1 = x,
            _ => runs.push((x, x)),
        }
    }
    runs
}

/// The time chart as Chromium draws it: columns drawn in the plot, and as many separate
/// labels under the axis as it has ticks (overlapping labels would merge); a log of three
/// minutes fills the plot's width; the storm timeline has a bar.
#[test]
fn the_chart_reads_at_a_glance_in_a_real_browser() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mut short = String::new();
    for i in 0..60 {
        short += &format!(
            "10.0.0.1 - - [19/Feb/2016:02:{:02}:{:02} +0000]  \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 1 \"-\" \"Microsoft Office/16.0\" 0.1 \"198.51.100.{}\"\n",
            i / 20,
            i % 60,
            i % 3
        );
    }
    for (page, what) in [
        (html(&["samples/pantheon.log"], None), "a day"),
        (html(&[], Some(&short)), "three minutes"),
    ] {
        let svg = svg_of(&page, "traffic");
        let ticks = svg.matches("class=\"tick\"").count();
        assert!(ticks >= 3, "{what}: {ticks} ticks");
        let (width, rows) = shot_of(bin, dir.path(), &svg, 256);
        assert_eq!(width, 960);
        // The plot: x 64..948, y 30..220. Orange noise columns are drawn in it.
        let orange = |p: &[u8; 3]| p[0] > 180 && p[1] > 70 && p[1] < 160 && p[2] < 80;
        let drawn: Vec<usize> = (64..948)
            .filter(|&x| (30..220).any(|y| orange(&rows[y][x])))
            .collect();
        assert!(!drawn.is_empty(), "{what}: nothing drawn in the plot");
        if what == "three minutes" {
            assert!(
                drawn[0] < 64 + 90 && *drawn.last().unwrap() > 948 - 90,
                "{what}: the columns span {:?}..{:?}, not the plot's width",
                drawn.first(),
                drawn.last()
            );
        }
        // The tick labels sit under the axis (y 225..242), one run of text each.
        let runs = text_runs(&rows, 225, 242, 8);
        assert_eq!(
            runs.len(),
            ticks,
            "{what}: labels {runs:?} for {ticks} ticks"
        );
        assert!(
            runs.iter().all(|r| r.0 > 0 && r.1 < width - 1),
            "{what}: a label is cut"
        );
    }
    let page = html(&["samples/pantheon.log"], None);
    let svg = svg_of(&page, "storms");
    assert!(svg.contains("<title>storm: autodiscover from 217.160.44.19"));
    assert!(
        page.contains("<td class=t>2024-03-10T11:45:00Z</td>"),
        "times do not wrap"
    );
    assert!(
        page.contains("(7.67% of 8) in the worst minute"),
        "the worst minute's share"
    );
}
