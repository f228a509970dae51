//! Replacing a file the program writes (`--state`, `--save-summary`) atomically: a temporary
//! file next to the target, renamed over it. A symlink is written through (its target is
//! replaced, the link stays) and the replaced file's mode is kept; a new file is 0600. Every
//! temporary is registered, so that SIGINT, SIGTERM and SIGHUP remove it once
//! [`clean_up_on_signals`] is installed. `block --merge` replaces pantheon.yml keeping a
//! backup ([`replace_keeping_backup`]).

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
pub(crate) fn temporary(path: &Path) -> Result<(Temporary, PathBuf)> {
    let target = target(path);
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let tmp = Temporary::new_in(&dir)?;
    let mode = std::fs::metadata(&target).map_or(0o600, |m| m.permissions().mode() & 0o7777);
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))
        .with_context(|| crate::escape::terminal_path(path))?;
    Ok((tmp, target))
}

/// Writes `path` atomically with `fill` (see the module's rules).
pub(crate) fn write(path: &Path, fill: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let (mut tmp, target) = temporary(path)?;
    fill(tmp.as_file_mut()).with_context(|| crate::escape::terminal_path(path))?;
    tmp.as_file()
        .sync_all()
        .with_context(|| crate::escape::terminal_path(path))?;
    tmp.persist(&target)
        .map_err(|e| anyhow!("{}: {e}", crate::escape::terminal_path(path)))?;
    Ok(())
}

/// A temporary file that a signal must not leave behind: its path is registered for
/// [`clean_up_on_signals`]'s handler until it is persisted or dropped.
pub(crate) struct Temporary {
    file: tempfile::NamedTempFile,
    _registered: on_signal::Registered,
}

impl Temporary {
    /// A new temporary file in `dir` (mode 0600), registered.
    pub(crate) fn new_in(dir: &Path) -> Result<Self> {
        let file = tempfile::NamedTempFile::new_in(dir)
            .with_context(|| crate::escape::terminal_path(dir))?;
        let registered = on_signal::register(file.path());
        Ok(Temporary {
            file,
            _registered: registered,
        })
    }

    /// The file.
    pub(crate) fn as_file(&self) -> &File {
        self.file.as_file()
    }

    /// The file, to write.
    pub(crate) fn as_file_mut(&mut self) -> &mut File {
        self.file.as_file_mut()
    }

    /// Writes `bytes`, then flushes them to the disk (a full disk fails here, not later).
    pub(crate) fn fill(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write;
        self.file.write_all(bytes)?;
        self.file.as_file().sync_all()
    }

    /// Renames the file to `to` (replacing what `to` is, a symlink included: never its
    /// target).
    pub(crate) fn persist(self, to: &Path) -> std::io::Result<()> {
        let Temporary { file, _registered } = self;
        file.persist(to).map_err(|e| e.error)?;
        Ok(())
    }
}

impl std::io::Write for Temporary {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.file.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Replaces the file `path` names (through symlinks, keeping its mode) with `new`, keeping
/// `old` (the bytes it was read as) as `<file>.bak` with the same mode; returns the backup's
/// path.
///
/// Both files are written in full to temporaries in the file's directory and flushed before
/// anything is renamed, so a full disk or an error leaves the file and an existing backup as
/// they were. The backup is renamed into place: a symlink named `.bak` is replaced, its
/// target never written. Temporaries are removed on errors, and on SIGINT, SIGTERM and
/// SIGHUP once [`clean_up_on_signals`] is installed.
pub fn replace_keeping_backup(path: &Path, old: &[u8], new: &[u8]) -> Result<PathBuf> {
    let target = target(path);
    let dir = target
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut bak = target.as_os_str().to_owned();
    bak.push(".bak");
    let bak = PathBuf::from(bak);
    let mode = std::fs::metadata(&target)
        .with_context(|| crate::escape::terminal_path(path))?
        .permissions()
        .mode()
        & 0o7777;
    // Both with the file's mode: the backup is the file as it was.
    let mut backup = Temporary::new_in(dir)?;
    let mut merged = Temporary::new_in(dir)?;
    for t in [&backup, &merged] {
        t.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| crate::escape::terminal_path(path))?;
    }
    backup
        .fill(old)
        .with_context(|| crate::escape::terminal_path(&bak))?;
    merged
        .fill(new)
        .with_context(|| crate::escape::terminal_path(path))?;
    let shown = crate::escape::terminal_path;
    backup
        .persist(&bak)
        .map_err(|e| anyhow!("{}: {e}", shown(&bak)))?;
    merged
        .persist(&target)
        .map_err(|e| anyhow!("{}: {e}", shown(path)))?;
    Ok(bak)
}

/// Installs handlers for SIGINT, SIGTERM and SIGHUP (those not ignored) that remove the
/// temporary files being written (a merge's, a backup's, a state file's) and then end the
/// process as the signal would have. The library installs nothing unless this is called.
pub fn clean_up_on_signals() {
    on_signal::install();
}

#[cfg(target_os = "linux")]
mod on_signal {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, Ordering};

    /// The temporaries alive at once: a merge has two, a state file one.
    const SLOTS: usize = 8;
    static PATHS: [AtomicPtr<libc::c_char>; SLOTS] =
        [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

    /// A registered path; unregistered (and freed) on drop.
    pub(crate) struct Registered(Option<usize>);

    /// Registers `path` for removal on a signal (silently not when every slot is taken or
    /// the path holds a NUL byte: the file is still removed on drop as before).
    pub(crate) fn register(path: &Path) -> Registered {
        let Ok(c) = CString::new(path.as_os_str().as_bytes()) else {
            return Registered(None);
        };
        let raw = c.into_raw();
        for (i, slot) in PATHS.iter().enumerate() {
            let free = std::ptr::null_mut();
            if slot
                .compare_exchange(free, raw, Ordering::SeqCst, Ordering::SeqCst)
                .is_ok()
            {
                return Registered(Some(i));
            }
        }
        // SAFETY: `raw` came from `into_raw` above and was stored nowhere.
        drop(unsafe { CString::from_raw(raw) });
        Registered(None)
    }

    impl Drop for Registered {
        fn drop(&mut self) {
            let Some(i) = self.0 else { return };
            // Whoever swaps the pointer out owns it: this drop or the handler, never both.
            let raw = PATHS[i].swap(std::ptr::null_mut(), Ordering::SeqCst);
            if !raw.is_null() {
                // SAFETY: `raw` came from `into_raw` in `register`, and is no longer shared.
                drop(unsafe { CString::from_raw(raw) });
            }
        }
    }

    extern "C" fn on_signal(signal: libc::c_int) {
        for slot in &PATHS {
            let raw = slot.swap(std::ptr::null_mut(), Ordering::SeqCst);
            if !raw.is_null() {
                // SAFETY: unlink(2) is async-signal-safe; `raw` is a NUL-terminated path
                // this handler now owns (it is leaked: the process is ending).
                unsafe { libc::unlink(raw) };
            }
        }
        // SAFETY: signal(2) and raise(3) are async-signal-safe: the default action (the
        // process ends by this signal) runs as soon as the handler returns.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    pub(crate) fn install() {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                // SAFETY: reads the current action, and installs one that only calls
                // async-signal-safe functions on atomics; a signal the process was told to
                // ignore (nohup) stays ignored.
                unsafe {
                    let mut old: libc::sigaction = std::mem::zeroed();
                    if libc::sigaction(signal, std::ptr::null(), &mut old) != 0
                        || old.sa_sigaction == libc::SIG_IGN
                    {
                        continue;
                    }
                    let mut action: libc::sigaction = std::mem::zeroed();
                    let handler: extern "C" fn(libc::c_int) = on_signal;
                    action.sa_sigaction = handler as libc::sighandler_t;
                    action.sa_flags = libc::SA_RESTART;
                    libc::sigemptyset(&mut action.sa_mask);
                    libc::sigaction(signal, &action, std::ptr::null_mut());
                }
            }
        });
    }
}

#[cfg(not(target_os = "linux"))]
mod on_signal {
    use std::path::Path;

    pub(crate) struct Registered;

    pub(crate) fn register(_: &Path) -> Registered {
        Registered
    }

    pub(crate) fn install() {}
}
