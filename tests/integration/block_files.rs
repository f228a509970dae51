//! The files `block --merge` writes next to pantheon.yml, through the real binary: a `.bak`
//! that is a symlink is replaced, its target never written; a full disk (a small tmpfs,
//! when the tests run as root) leaves the file and its existing backup as they were; a
//! SIGINT, SIGTERM or SIGHUP in the middle of the writing (delivered by strace as the first
//! rename starts) leaves no temporary behind, nor does a SIGTERM while a saved summary or a
//! state file is written; and every byte outside the inserted entries
//! stays: comments inside a flow list, each line's own line ending.

use crate::support::running_as_root;
use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::process::Stdio;

const LOG: &str = "10.0.0.1 - - [19/Feb/2016:02:00:00 +0000]  \"POST /Autodiscover/Autodiscover.xml HTTP/1.1\" 404 10 \"-\" \"ua\" 0.400 \"198.51.100.7\"\n";

fn merge(file: &Path) -> (i32, String, String) {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["block", "--plain", "--merge"])
        .arg(file)
        .write_stdin(LOG)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The names in `dir`, sorted.
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

const FILE: &str = "api_version: 1\nprotected_web_paths:\n  - /private\n";

#[test]
fn a_symlinked_backup_is_replaced_and_its_target_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pantheon.yml");
    std::fs::write(&file, FILE).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    std::os::unix::fs::symlink(&victim, dir.path().join("pantheon.yml.bak")).unwrap();
    let (code, out, err) = merge(&file);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("added 1 entry (/Autodiscover)"), "{out}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
    let bak = dir.path().join("pantheon.yml.bak");
    assert!(!bak.symlink_metadata().unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(&bak).unwrap(), FILE);
    for f in [&file, &bak] {
        let mode = f.metadata().unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640, "{}", f.display());
    }
    assert_eq!(
        names(dir.path()),
        ["pantheon.yml", "pantheon.yml.bak", "victim"]
    );
}

/// A tmpfs of `size` mounted on a new directory, unmounted on drop.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        if !running_as_root() {
            eprintln!("skipped: not root, no tmpfs to fill");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ok = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            eprintln!("skipped: tmpfs cannot be mounted here");
            return None;
        }
        Some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.0.path())
            .status();
    }
}

#[test]
fn a_full_disk_leaves_the_file_and_its_backup_as_they_were() {
    let Some(fs) = Tmpfs::mount("64k") else {
        return;
    };
    let dir = fs.0.path();
    // A backup worth keeping, and a file as big as the merge writes twice.
    let padding = format!("# {}\n", "x".repeat(6000));
    let text = format!("{padding}{FILE}");
    let file = dir.join("pantheon.yml");
    std::fs::write(&file, &text).unwrap();
    std::fs::write(dir.join("pantheon.yml.bak"), "good backup\n").unwrap();
    // Fill the disk up to less than one copy of the file.
    let filler = dir.join("filler");
    let mut f = std::fs::File::create(&filler).unwrap();
    let block = vec![b'.'; 1024];
    while std::io::Write::write_all(&mut f, &block).is_ok() {}
    drop(f);
    let len = std::fs::metadata(&filler).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&filler)
        .unwrap()
        .set_len(len - 4096)
        .unwrap();
    let (code, out, err) = merge(&file);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("pantheon.yml"), "{err}");
    assert!(err.contains("No space left"), "{err}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
    assert_eq!(
        std::fs::read_to_string(dir.join("pantheon.yml.bak")).unwrap(),
        "good backup\n"
    );
    assert_eq!(names(dir), ["filler", "pantheon.yml", "pantheon.yml.bak"]);
}

/// strace, if it can trace here (under `CI=true` it must be installed: `.ci/run` does).
fn strace() -> Option<PathBuf> {
    let path = PathBuf::from("/usr/bin/strace");
    if !path.is_file() && std::env::var("CI").as_deref() == Ok("true") {
        panic!("strace not installed, and CI=true: .ci/run must install it");
    }
    let works = std::process::Command::new(&path)
        .args(["-o", "/dev/null", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !works {
        eprintln!("skipped: strace not installed or not allowed to trace");
        return None;
    }
    Some(path)
}

/// Runs noisegate `args` (in `dir`, the log on stdin) under strace, which sends `signal` as
/// the first rename starts, that rename not done: every temporary is written then, and the
/// process ends on the signal before it could see the rename's result. Asserts it ended by
/// the signal and left no temporary in `dir`.
fn signalled(strace: &Path, dir: &Path, signal: (&str, i32), args: &[&std::ffi::OsStr]) {
    use std::os::unix::process::ExitStatusExt;
    let (name, number) = signal;
    let mut command = std::process::Command::new(strace);
    // The signals' default actions, whatever this test process inherited (under `nohup`,
    // SIGHUP is ignored, and noisegate keeps an ignored signal ignored, as it should).
    // SAFETY: between fork and exec only async-signal-safe calls: signal(2).
    unsafe {
        use std::os::unix::process::CommandExt;
        command.pre_exec(|| {
            for s in [libc::SIGHUP, libc::SIGINT, libc::SIGTERM] {
                libc::signal(s, libc::SIG_DFL);
            }
            Ok(())
        });
    }
    let out = command
        .args([
            "-f",
            "-o",
            "/dev/null",
            "-e",
            "trace=rename,renameat,renameat2",
        ])
        .arg("-e")
        .arg(format!(
            "inject=rename,renameat,renameat2:signal={name}:error=EPERM:when=1"
        ))
        .arg(assert_cmd::cargo::cargo_bin("noisegate"))
        .args(args)
        .stdin(std::fs::File::open(write_log(dir)).unwrap())
        .output()
        .unwrap();
    // strace ends as the traced process did: by the signal, its default action.
    assert_eq!(
        out.status.signal(),
        Some(number),
        "{name} {args:?}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let left = names(dir);
    assert!(
        !left.iter().any(|n| n.starts_with(".tmp")),
        "{name} {args:?} left {left:?}"
    );
}

#[test]
fn a_signal_while_writing_leaves_no_temporary_and_the_file_untouched() {
    let Some(strace) = strace() else {
        return;
    };
    for signal in [("SIGTERM", 15), ("SIGINT", 2), ("SIGHUP", 1)] {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pantheon.yml");
        std::fs::write(&file, FILE).unwrap();
        let args = ["block", "--plain", "--merge"].map(std::ffi::OsStr::new);
        signalled(
            &strace,
            dir.path(),
            signal,
            &[&args[..], &[file.as_os_str()]].concat(),
        );
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            FILE,
            "{}",
            signal.0
        );
        assert_eq!(names(dir.path()), ["access.log", "pantheon.yml"]);
    }
    // The other files written by renaming a temporary: a saved summary, a state file.
    let dir = tempfile::tempdir().unwrap();
    for flag in ["--save-summary", "--state"] {
        let file = dir.path().join(&flag[2..]);
        // --state reads a named log (the same log, written by `signalled`, as on stdin).
        let log = dir.path().join("access.log");
        let args = [
            std::ffi::OsStr::new(flag),
            file.as_os_str(),
            log.as_os_str(),
        ];
        signalled(&strace, dir.path(), ("SIGTERM", 15), &args);
        assert!(!file.exists(), "{flag}");
    }
}

fn write_log(dir: &Path) -> PathBuf {
    let p = dir.join("access.log");
    std::fs::write(&p, LOG).unwrap();
    p
}

#[test]
fn flow_list_comments_and_mixed_line_ends_stay_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pantheon.yml");
    let flow = "# site\r\napi_version: 1\nprotected_web_paths: [ # mail paths\r\n  /private,  # keep me\n  /owa\r\n]  # end\nphp_version: 8.2\r\n";
    std::fs::write(&file, flow).unwrap();
    let (code, _, err) = merge(&file);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        "# site\r\napi_version: 1\nprotected_web_paths: [ # mail paths\r\n  /private,  # keep me\n  /owa,\r\n  /Autodiscover\r\n]  # end\nphp_version: 8.2\r\n".as_bytes()
    );
    let block =
        "api_version: 1\r\nprotected_web_paths:\n  - /private\r\n  - /owa\nphp_version: 8.2\r\n";
    std::fs::write(&file, block).unwrap();
    let (code, _, err) = merge(&file);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        "api_version: 1\r\nprotected_web_paths:\n  - /private\r\n  - /owa\n  - /Autodiscover\nphp_version: 8.2\r\n".as_bytes()
    );
    assert_eq!(
        std::fs::read(dir.path().join("pantheon.yml.bak")).unwrap(),
        block.as_bytes()
    );
}
