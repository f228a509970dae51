//! Replacing a file the program writes (`--state`, `--save-summary`) atomically: a temporary
//! file next to the target, renamed over it. A symlink is written through (its target is
//! replaced, the link stays) and the replaced file's mode is kept; a new file is 0600.

use anyhow::{anyhow, Context, Result};
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// The file `path` names, through symlinks (up to 40; a dangling link names its target).
pub(crate) fn target(path: &Path) -> PathBuf {
    let mut at = path.to_path_buf();
    for _ in 0..40 {
        let Ok(link) = std::fs::read_link(&at) else {
            break;
        };
        at = match at.parent() {
            Some(dir) if link.is_relative() => dir.join(link),
            _ => link,
        };
    }
    at
}

/// A temporary file next to the file `path` names (through symlinks), with that file's mode
/// (0600 for a new file), and the path to persist it to.
pub(crate) fn temporary(path: &Path) -> Result<(tempfile::NamedTempFile, PathBuf)> {
    let target = target(path);
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let tmp =
        tempfile::NamedTempFile::new_in(&dir).with_context(|| format!("{}", dir.display()))?;
    let mode = std::fs::metadata(&target).map_or(0o600, |m| m.permissions().mode() & 0o7777);
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("{}", path.display()))?;
    Ok((tmp, target))
}

/// Writes `path` atomically with `fill` (see the module's rules).
pub(crate) fn write(path: &Path, fill: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let (mut tmp, target) = temporary(path)?;
    fill(tmp.as_file_mut()).with_context(|| format!("{}", path.display()))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| format!("{}", path.display()))?;
    tmp.persist(&target)
        .map_err(|e| anyhow!("{}: {e}", path.display()))?;
    Ok(())
}
