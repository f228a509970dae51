//! `--state FILE`: incremental runs. For each log file the state remembers its identity
//! (device and inode, and a hash of its first line) and the byte offset the last run read to
//! (always the end of a whole line). The next run starts each file there, so no line is
//! counted twice or skipped:
//!
//! - the same file, grown: read from the offset;
//! - the same inode but shorter, or another first line (truncated, or `copytruncate`): read
//!   from 0;
//! - another inode under the same name (renamed away by logrotate): first finish the old file
//!   from the offset if it is still in the directory, then read the new one from 0.
//!
//! The state file is written atomically (temporary file, then rename) and only after the
//! report is out, so a crash before that makes the next run read the same lines again.

use super::Input;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The state file's layout version.
const VERSION: u32 = 1;

/// What a run remembers of one log file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileState {
    /// The path as given.
    pub(crate) path: PathBuf,
    /// Device and inode.
    pub(crate) dev: u64,
    /// See `dev`.
    pub(crate) ino: u64,
    /// FNV-1a of the first line (up to 4 KiB): tells a truncated-and-rewritten file.
    pub(crate) first_line: u64,
    /// Bytes read, to the end of the last whole line.
    pub(crate) offset: u64,
}

/// The state of all tracked files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    /// Layout version.
    pub(crate) version: u32,
    /// Tracked files.
    pub(crate) files: Vec<FileState>,
}

/// The inputs of an incremental run and where each starts.
#[derive(Debug)]
pub(crate) struct Resume {
    /// The inputs to read (rotated files that must be finished come first).
    pub(crate) inputs: Vec<Input>,
    /// Where each input starts.
    pub(crate) starts: Vec<u64>,
    /// For each input, whether it is tracked in the next state.
    pub(crate) tracked: Vec<bool>,
}

/// A stable 64-bit FNV-1a hash (the same in every version of noisegate).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The hash of a file's first line (0 for an empty file).
fn first_line(path: &Path) -> std::io::Result<u64> {
    let mut head = Vec::with_capacity(4096);
    std::fs::File::open(path)?
        .take(4096)
        .read_to_end(&mut head)?;
    let line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    Ok(if head.is_empty() { 0 } else { fnv1a(line) })
}

/// Reads a state file; a missing one is an empty state.
pub(crate) fn load(path: &Path) -> Result<State> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(State {
                version: VERSION,
                files: vec![],
            })
        }
        Err(e) => return Err(e).with_context(|| format!("{}", path.display())),
    };
    let state: State = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a noisegate state file", path.display()))?;
    if state.version != VERSION {
        bail!(
            "{}: state version {} is not {VERSION}",
            path.display(),
            state.version
        );
    }
    Ok(state)
}

/// Writes a state file atomically.
pub(crate) fn save(path: &Path, state: &State) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("{}", dir.display()))?;
    serde_json::to_writer_pretty(&mut tmp, state)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path)
        .with_context(|| format!("{}", path.display()))?;
    Ok(())
}

/// The file in `dir` with this device and inode, if any (a rotated log).
fn find_inode(dir: &Path, dev: u64, ino: u64) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.dev() == dev && m.ino() == ino)
        })
}

/// Whether a file starts with the gzip magic bytes.
fn is_gzip(path: &Path) -> bool {
    let mut head = [0u8; 2];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok()
        && head == [0x1f, 0x8b]
}

/// Where to resume a file that the state knew as `b`: its offset while it is the same file
/// grown (a gzip file's offset counts decompressed bytes, so only its identity is checked),
/// else 0.
fn resume_at(path: &Path, meta: &std::fs::Metadata, b: &FileState) -> u64 {
    let same_start = first_line(path).ok() == Some(b.first_line);
    let grown = is_gzip(path) || meta.len() >= b.offset;
    if same_start && grown {
        b.offset
    } else {
        0
    }
}

/// Plans an incremental run over `inputs` from `state`. Files are matched by device and
/// inode first (whatever path names them now), then by path.
pub(crate) fn resume(state: &State, inputs: &[Input]) -> Result<Resume> {
    let mut plan = Resume {
        inputs: vec![],
        starts: vec![],
        tracked: vec![],
    };
    let mut ids = Vec::new();
    for input in inputs {
        let Input::Path(path) = input else {
            bail!("--state cannot follow stdin: name the log file instead of piping it");
        };
        let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        ids.push((meta.dev(), meta.ino()));
    }
    for (input, &(dev, ino)) in inputs.iter().zip(&ids) {
        let Input::Path(path) = input else {
            unreachable!("checked above")
        };
        let meta = std::fs::metadata(path).with_context(|| format!("{}", path.display()))?;
        let same_file = state.files.iter().find(|f| (f.dev, f.ino) == (dev, ino));
        let mut start = 0;
        if let Some(b) = same_file {
            start = resume_at(path, &meta, b);
        } else if let Some(b) = state.files.iter().find(|f| f.path == *path) {
            // Renamed away: finish the old file first, unless it is an input of its own.
            let old = path.parent().and_then(|d| find_inode(d, b.dev, b.ino));
            if let Some(old) = old.filter(|_| !ids.contains(&(b.dev, b.ino))) {
                plan.inputs.push(Input::Path(old));
                plan.starts.push(b.offset);
                plan.tracked.push(false);
            }
        }
        plan.inputs.push(input.clone());
        plan.starts.push(start);
        plan.tracked.push(true);
    }
    Ok(plan)
}

/// The state after a run that read `consumed` bytes of each input of `plan`.
pub(crate) fn advance(plan: &Resume, consumed: &[u64]) -> State {
    let mut files = Vec::new();
    for (i, input) in plan.inputs.iter().enumerate() {
        let Input::Path(path) = input else { continue };
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        if !plan.tracked[i] {
            continue;
        }
        files.push(FileState {
            path: path.clone(),
            dev: meta.dev(),
            ino: meta.ino(),
            first_line: first_line(path).unwrap_or(0),
            offset: plan.starts[i] + consumed.get(i).copied().unwrap_or(0),
        });
    }
    State {
        version: VERSION,
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_is_stable() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
