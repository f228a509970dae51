//! `noisegate completions SHELL`, through the real binary: the bash script is valid, defines
//! the completion and completes options, commands and shells; zsh and fish check their
//! scripts when installed; `completions` is a command, never a file name.

use assert_cmd::Command;
use std::path::Path;
use std::process::Command as Process;

fn script(shell: &str, cwd: &Path) -> String {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .current_dir(cwd)
        .args(["completions", shell])
        .output()
        .unwrap();
    crate::support::stdout_of_success(out)
}

/// Runs `bash -c CODE` with the bash script sourced first.
fn bash(file: &Path, code: &str) -> String {
    let out = Process::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(format!("source '{}' && {code}", file.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// What `_noisegate` offers for the command line `words`, completing the last word.
fn complete(file: &Path, words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let (cur, prev) = (words[words.len() - 1], words[words.len() - 2]);
    bash(
        file,
        &format!(
            "COMP_WORDS=({}); COMP_CWORD={}; _noisegate noisegate '{cur}' '{prev}'; echo \"${{COMPREPLY[*]}}\"",
            quoted.join(" "),
            words.len() - 1
        ),
    )
}

#[test]
fn the_bash_script_completes_options_commands_and_shells() {
    // Files named like the command and the shell in the working directory change nothing.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("completions"), "x").unwrap();
    std::fs::write(dir.path().join("bash"), "x").unwrap();
    let text = script("bash", dir.path());
    let file = dir.path().join("noisegate.bash");
    std::fs::write(&file, &text).unwrap();

    let check = Process::new("bash").arg("-n").arg(&file).output().unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let defined = bash(&file, "complete -p noisegate");
    assert!(defined.contains("-F _noisegate noisegate"), "{defined}");

    let offered = complete(&file, &["noisegate", "--trusted-p"]);
    assert_eq!(offered.trim(), "--trusted-proxies");
    let offered = complete(&file, &["noisegate", "--si"]);
    assert_eq!(offered.trim(), "--since");
    let offered = complete(&file, &["noisegate", "comp"]);
    assert_eq!(offered.trim(), "completions");
    let offered = complete(&file, &["noisegate", "completions", ""]);
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        assert!(offered.split_whitespace().any(|w| w == shell), "{offered}");
    }
    let offered = complete(&file, &["noisegate", "check", "--max-noise-s"]);
    assert_eq!(offered.trim(), "--max-noise-share");
}

#[test]
fn zsh_and_fish_accept_their_scripts_when_installed() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["zsh", "fish"] {
        let text = script(shell, dir.path());
        assert!(text.contains("trusted-proxies"), "{shell}");
        let file = dir.path().join(format!("noisegate.{shell}"));
        std::fs::write(&file, &text).unwrap();
        match Process::new(shell).arg("-n").arg(&file).output() {
            Ok(out) => assert!(
                out.status.success(),
                "{shell} -n: {}",
                String::from_utf8_lossy(&out.stderr)
            ),
            Err(_) => eprintln!("skipped: {shell} -n ({shell} not installed)"),
        }
    }
    for shell in ["elvish", "powershell"] {
        let text = script(shell, dir.path());
        assert!(
            text.contains("noisegate") && text.contains("--trusted-proxies"),
            "{shell}"
        );
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("possible values"));
}
