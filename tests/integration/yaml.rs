//! `block --merge` on a hostile `pantheon.yml`, through the real binary: nested YAML aliases
//! (a few hundred bytes that expand to billions of nodes), anchors, deep nesting and a file
//! over the size cap are refused with exit 2 and the file left as it was; `&` and `*` in
//! quotes and comments are not anchors. The peak memory of the refusal is in `tests/memory.rs`.

use assert_cmd::Command;
use std::path::Path;

/// Probes that `block` wants to protect, so a merge has something to add.
const LOG: &str = "10.0.0.1 - - [19/Feb/2016:02:00:00 +0000]  \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 10 \"-\" \"ua\" 0.400 \"198.51.100.7\"\n";

/// A billion laughs in YAML: each level a list of nine aliases of the level below, nine
/// levels deep (9^9 strings once expanded), in 306 bytes.
fn alias_bomb() -> String {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    let mut s = format!("a: &a [{}]\n", ["x"; 9].join(","));
    for w in names.windows(2) {
        let below = vec![format!("*{}", w[0]); 9].join(",");
        s += &format!("{}: &{} [{below}]\n", w[1], w[1]);
    }
    s
}

/// Runs `block --merge file` on [`LOG`]: (exit code, stderr).
fn merge(file: &Path) -> (i32, String) {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["block", "--merge"])
        .arg(file)
        .write_stdin(LOG)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Writes `text` as `pantheon.yml`, merges, and checks the refusal: exit 2, a message naming
/// the file and holding `why`, the file unchanged and no `.bak`.
fn refused(text: &str, why: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pantheon.yml");
    std::fs::write(&file, text).unwrap();
    let (code, err) = merge(&file);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("pantheon.yml") && err.contains(why), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    assert!(!dir.path().join("pantheon.yml.bak").exists());
}

#[test]
fn alias_bombs_are_refused_before_expansion() {
    let bomb = alias_bomb();
    assert!(bomb.len() < 350, "{}", bomb.len());
    refused(&bomb, "aliases");
    refused(&format!("api_version: 1\n{bomb}"), "aliases");
    // In block style and inside the list noisegate edits.
    refused(
        "api_version: 1\nbase: &b /private\nprotected_web_paths:\n  - *b\n",
        "aliases",
    );
}

#[test]
fn anchors_without_aliases_and_deep_nesting_are_refused() {
    refused(
        "api_version: 1\nworkflows: &w\n  sync_code: {}\n",
        "anchors",
    );
    let deep = format!("x: {}{}\n", "[".repeat(100), "]".repeat(100));
    refused(&deep, "nested deeper");
}

#[test]
fn a_file_over_the_size_cap_is_refused_unread() {
    let big = format!("api_version: 1\n{}", "# padding\n".repeat(110_000));
    assert!(big.len() > 1 << 20);
    refused(&big, "over 1048576 bytes");
}

#[test]
fn ampersands_and_stars_in_quotes_and_comments_are_no_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pantheon.yml");
    let text = "api_version: 1 # &a *a\nweb_docroot: \"*a &b\"\nphp_version: '&c'\n";
    std::fs::write(&file, text).unwrap();
    let (code, err) = merge(&file);
    assert_eq!(code, 0, "{err}");
    let after = std::fs::read_to_string(&file).unwrap();
    assert!(after.starts_with(text), "{after}");
    assert!(after.contains("- /autodiscover"), "{after}");
}
