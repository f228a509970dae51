//! `--state FILE`: the state file of incremental runs. It remembers, for each log file read,
//! enough to recognise its content again wherever logrotate put it (see `input::resume`), and
//! how far it was read. This module owns the file's layout (versioned), reading it, writing it
//! (atomically, through a symlink, keeping the mode) and the lock that lets one run at a time
//! use it.
//!
//! The state is written only after the report is out, so a crash before that makes the next run
//! read the same lines again.

use anyhow::{anyhow, bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The state file's layout version. Version 1 (identity by inode and first line only) is not
/// read: a run over a version-1 file starts fresh and says so.
pub(crate) const VERSION: u32 = 2;

/// How long a run waits for another run holding the state, unless `NOISEGATE_STATE_WAIT`
/// (seconds) says otherwise.
const WAIT: Duration = Duration::from_secs(10);

/// Hashes of a file's content at an offset: its first bytes and the bytes just before the
/// offset. Two files with the same mark at an offset hold the same bytes there, as far as a
/// 64-bit hash of up to 4 KiB at each end can tell.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Mark {
    /// Bytes hashed at the start: `min(offset, 4096)`.
    pub(crate) head_len: u32,
    /// FNV-1a of those bytes.
    pub(crate) head: u64,
    /// Bytes hashed just before the offset: `min(offset, 4096)`.
    pub(crate) tail_len: u32,
    /// FNV-1a of those bytes.
    pub(crate) tail: u64,
}

/// What a run remembers of one log file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileState {
    /// The path it had when it was read.
    pub(crate) path: PathBuf,
    /// Device, inode, size, modification time (ns) and compression of the file as last seen:
    /// when all are the same, the content is taken as unchanged without hashing it again.
    pub(crate) dev: u64,
    /// See `dev`.
    pub(crate) ino: u64,
    /// See `dev` (bytes on disk: compressed for a gzip file).
    pub(crate) size: u64,
    /// See `dev`.
    pub(crate) mtime_ns: i128,
    /// See `dev`.
    pub(crate) gz: bool,
    /// Bytes of content (decompressed) read or skipped, to the end of the last whole line.
    pub(crate) offset: u64,
    /// The content's length when known (`offset` equal to it: nothing is left to read).
    pub(crate) end: Option<u64>,
    /// The content's mark at `offset`.
    pub(crate) mark: Mark,
}

/// The state of all tracked files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    /// Layout version.
    pub(crate) version: u32,
    /// Tracked files.
    pub(crate) files: Vec<FileState>,
}

/// A state to save once the run's output is out, and the lock held until then.
#[derive(Debug)]
pub(crate) struct Pending {
    /// The state file as named.
    pub(crate) file: PathBuf,
    /// What to write.
    pub(crate) next: State,
    /// What this run could not account for (the report's caveats).
    pub(crate) lost: Vec<String>,
    /// The lock, released when this is dropped.
    pub(crate) _lock: std::fs::File,
}

/// Reads a state file; a missing one is an empty state. A version-1 file gives an empty state
/// and a note (returned) that the run starts fresh.
pub(crate) fn load(path: &Path) -> Result<(State, Option<String>)> {
    let fresh = State {
        version: VERSION,
        files: vec![],
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((fresh, None)),
        Err(e) => return Err(e).with_context(|| format!("{}", path.display())),
    };
    let version = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| v.get("version")?.as_u64())
        .with_context(|| format!("{}: not a noisegate state file", path.display()))?;
    if version == 1 {
        let note = format!(
            "{}: a state file of an older noisegate (version 1): starting fresh, every input is read in full",
            path.display()
        );
        return Ok((fresh, Some(note)));
    }
    if version != u64::from(VERSION) {
        bail!(
            "{}: state version {version} is not {VERSION}",
            path.display()
        );
    }
    let state: State = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a noisegate state file", path.display()))?;
    Ok((state, None))
}

/// Writes a state file atomically, through a symlink, keeping the mode of the file it
/// replaces (a new one is 0600).
pub(crate) fn save(path: &Path, state: &State) -> Result<()> {
    crate::replace::write(path, |f| Ok(serde_json::to_writer_pretty(f, state)?))
}

/// Takes the lock of the state file `path`: an advisory `flock` on `FILE.lock` next to the
/// file (its symlink's target). Waits up to 10 s for another run to finish, then fails naming
/// the file.
pub(crate) fn lock(path: &Path) -> Result<std::fs::File> {
    let target = crate::replace::target(path);
    let mut name = target.clone().into_os_string();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("{}", lock_path.display()))?;
    let wait = std::env::var("NOISEGATE_STATE_WAIT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(WAIT, Duration::from_secs_f64);
    let since = Instant::now();
    while !try_lock(&file) {
        if since.elapsed() >= wait {
            return Err(anyhow!(
                "{}: another noisegate run holds the state (waited {} s for {})",
                path.display(),
                wait.as_secs_f64(),
                lock_path.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(file)
}

/// Tries an exclusive `flock` without waiting.
#[cfg(target_os = "linux")]
fn try_lock(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this function borrows; no memory is involved.
    unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Without flock, runs are not kept apart.
#[cfg(not(target_os = "linux"))]
fn try_lock(_file: &std::fs::File) -> bool {
    true
}

/// A stable 64-bit FNV-1a hash (the same in every version of noisegate).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn version_1_starts_fresh_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("s.json");
        std::fs::write(&f, r#"{"version":1,"files":[]}"#).unwrap();
        let (state, note) = load(&f).unwrap();
        assert!(state.files.is_empty());
        assert!(note.unwrap().contains("starting fresh"));
    }
}
