//! `noisegate man [COMMAND]`, through the real binary and the real `man`: the pages render
//! and name the options and the commands; `man` is a command, never a file name.

use crate::support::man_binary;
use assert_cmd::Command;
use std::path::Path;

/// The roff page `noisegate man ARGS` writes, run in `cwd`.
fn page(args: &[&str], cwd: &Path) -> String {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .current_dir(cwd)
        .arg("man")
        .args(args)
        .output()
        .unwrap();
    crate::support::stdout_of_success(out)
}

/// The page as `man -l` shows it: plain ASCII, neither hyphenated nor justified (so option
/// names stay whole and words one space apart).
fn render(man: &Path, file: &Path) -> String {
    let out = std::process::Command::new(man)
        .args(["--nh", "--nj", "-l"])
        .arg(file)
        .env("LC_ALL", "C")
        .env("MANWIDTH", "250")
        .env("MANPAGER", "cat")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "man -l: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_man_pages_render_with_options_and_commands() {
    let dir = tempfile::tempdir().unwrap();
    // A file named like the command in the working directory changes nothing.
    std::fs::write(dir.path().join("man"), "x").unwrap();
    let top = page(&[], dir.path());
    assert!(top.contains("\n.TH noisegate 1 "), "{top}");
    let check = page(&["check"], dir.path());
    assert!(check.contains("\n.TH noisegate-check 1 "), "{check}");

    let Some(man) = man_binary() else { return };
    let file = dir.path().join("noisegate.1");
    std::fs::write(&file, &top).unwrap();
    let text = render(&man, &file);
    for word in [
        "NAME",
        "SYNOPSIS",
        "--since",
        "--trusted-proxies",
        "--nginx-conf",
        "--output",
        "Exit codes",
    ] {
        assert!(text.contains(word), "{word} not in\n{text}");
    }
    for command in [
        "report",
        "block",
        "merge",
        "check",
        "dns",
        "formats",
        "completions",
        "man",
    ] {
        let name = format!("noisegate-{command}(1)");
        assert!(text.contains(&name), "{name} not in\n{text}");
    }

    let file = dir.path().join("noisegate-check.1");
    std::fs::write(&file, &check).unwrap();
    let text = render(&man, &file);
    for word in ["noisegate check", "--max-noise-share", "--since", "--state"] {
        assert!(text.contains(word), "{word} not in\n{text}");
    }
}

#[test]
fn an_unknown_command_is_an_error_naming_the_commands() {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["man", "chek"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no command 'chek' (commands: report, block, merge, check, dns, formats"),
        "{err}"
    );
}
