//! Incremental runs: which file is which, and where each starts. A log file is known by its
//! content, not by its name or inode (DESIGN invariant 10): the state remembers a hash of its
//! first bytes and of the bytes just before the offset read (`state::Mark`). Each run looks at
//! every candidate — the inputs and, for a live log named on its own, its rotated siblings in
//! the same directory (`.1`, `.2.gz`, `-YYYYMMDD`, `-YYYYMMDD.gz`, plain or gzip) — and:
//!
//! - a candidate whose device, inode, size and mtime are those remembered is unchanged;
//! - else a candidate whose content has a remembered file's mark at that file's offset holds
//!   the same bytes there and more maybe: it is resumed at the offset (renamed, compressed,
//!   copied by `copytruncate`, re-downloaded); a gzip file skips that many decompressed bytes;
//! - else it is new content, read from its start (the new live file, a truncated file);
//!   except a rotated sibling of a log never tracked before, which is history from before
//!   the first run: remembered as seen, not read.
//!
//! Each candidate is opened once; the run reads that handle and records what it read from it,
//! so a rotation during the run cannot misplace an offset. Remembered files no candidate
//! matches, that may have held unread lines, are reported with the bytes that were lost.

use super::discover::{family, rotations};
use super::state::{fnv1a, FileState, Mark, State};
use super::Input;
use anyhow::{bail, Context, Result};
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Bytes hashed at each end of what was read.
const MARK: u64 = 4096;

/// The identity of a file on disk, as `fstat` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Id {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    gz: bool,
}

impl Id {
    fn of(file: &File) -> io::Result<Id> {
        let m = file.metadata()?;
        let mut magic = [0u8; 2];
        let gz = file.read_exact_at(&mut magic, 0).is_ok() && magic == [0x1f, 0x8b];
        Ok(Id {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            gz,
        })
    }

    fn recorded(f: &FileState) -> Id {
        Id {
            dev: f.dev,
            ino: f.ino,
            size: f.size,
            mtime_ns: f.mtime_ns,
            gz: f.gz,
        }
    }
}

/// One file a run looked at.
#[derive(Debug)]
struct Entry {
    path: PathBuf,
    file: Arc<File>,
    id: Id,
    /// Its first bytes (up to 4 KiB) when the run began: the head of its mark if it is
    /// truncated during the run (copytruncate) and the bytes before the offset are gone.
    head: Vec<u8>,
    /// Where reading starts (or, if not read, how far it counts as read).
    start: u64,
    /// The remembered file it was recognised as.
    matched: Option<FileState>,
    /// Its index among the run's inputs, if it is read.
    slot: Option<usize>,
}

/// The inputs of an incremental run, where each starts, and what to remember after.
#[derive(Debug, Default)]
pub(crate) struct Resume {
    /// The inputs to read (rotated files that must be finished come before their log).
    pub(crate) inputs: Vec<Input>,
    /// Where each input starts.
    pub(crate) starts: Vec<u64>,
    /// The handle each input is read from.
    pub(crate) pinned: Vec<Option<Arc<File>>>,
    /// What can not be resumed exactly, for stderr.
    pub(crate) notes: Vec<String>,
    entries: Vec<Entry>,
    /// Remembered files of logs this run did not look at, kept as they are.
    kept: Vec<FileState>,
}

/// A reader of a file by position (`pread`), leaving the handle's offset alone.
struct At<'a> {
    file: &'a File,
    pos: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read_at(buf, self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// The content of `file` from `from` (decompressed for a gzip file).
fn content(file: &File, gz: bool, from: u64) -> io::Result<Box<dyn Read + '_>> {
    if !gz {
        return Ok(Box::new(At { file, pos: from }));
    }
    let mut r: Box<dyn Read> =
        Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(At {
            file,
            pos: 0,
        })));
    let skipped = io::copy(&mut r.by_ref().take(from), &mut io::sink())?;
    if skipped < from {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(r)
}

/// Up to `len` bytes of content from `from` (fewer at the end).
fn bytes(file: &File, gz: bool, from: u64, len: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    match content(file, gz, from) {
        Ok(r) => r.take(len).read_to_end(&mut out)?,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => 0,
        Err(e) => return Err(e),
    };
    Ok(out)
}

/// The length of a file's content (decompressing a gzip file).
fn length(file: &File, id: Id) -> io::Result<u64> {
    if id.gz {
        io::copy(&mut content(file, true, 0)?, &mut io::sink())
    } else {
        Ok(id.size)
    }
}

/// The mark of a file's content at `offset` hashing `lens` bytes at each end (given its first
/// bytes); `None` if it is shorter.
fn mark(
    file: &File,
    id: Id,
    head: &[u8],
    offset: u64,
    lens: (u32, u32),
) -> io::Result<Option<Mark>> {
    let (h, t) = (u64::from(lens.0), u64::from(lens.1));
    if (head.len() as u64) < h || (!id.gz && id.size < offset) || t > offset {
        return Ok(None);
    }
    let tail = bytes(file, id.gz, offset - t, t)?;
    if (tail.len() as u64) < t {
        return Ok(None);
    }
    Ok(Some(Mark {
        head_len: lens.0,
        head: fnv1a(&head[..h as usize]),
        tail_len: lens.1,
        tail: fnv1a(&tail),
    }))
}

/// The lengths a mark at `offset` hashes: up to 4 KiB at each end.
fn lens(offset: u64) -> (u32, u32) {
    let n = offset.min(MARK) as u32;
    (n, n)
}

/// Whether a candidate holds what the remembered `f` held, at `f`'s offset.
fn holds(file: &File, id: Id, head: &[u8], f: &FileState) -> io::Result<bool> {
    if id == Id::recorded(f) {
        return Ok(true);
    }
    let n = f.mark.head_len as usize;
    if f.offset == 0 || head.len() < n || fnv1a(&head[..n]) != f.mark.head {
        return Ok(false);
    }
    let want = (f.mark.head_len, f.mark.tail_len);
    Ok(mark(file, id, head, f.offset, want)? == Some(f.mark))
}

/// The remembered file a candidate continues: of those it holds, the one read furthest.
fn recognise(
    file: &File,
    id: Id,
    head: &[u8],
    known: &[&FileState],
) -> io::Result<Option<FileState>> {
    let mut best: Option<&FileState> = None;
    for f in known {
        if best.is_some_and(|b| b.offset >= f.offset) {
            continue;
        }
        if holds(file, id, head, f)? {
            best = Some(f);
        }
    }
    Ok(best.cloned())
}

/// The files a run looks at: each input, its rotated siblings first; whether each is an input.
fn candidates(inputs: &[Input]) -> Result<Vec<(PathBuf, bool)>> {
    let mut named = HashSet::new();
    for input in inputs {
        let Input::Path(path) = input else {
            bail!("--state cannot follow stdin: name the log file instead of piping it");
        };
        named.insert(path.clone());
    }
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for input in inputs {
        let Input::Path(path) = input else {
            unreachable!("checked above")
        };
        for sibling in rotations(path) {
            if !named.contains(&sibling) && seen.insert(sibling.clone()) {
                out.push((sibling, false));
            }
        }
        if seen.insert(path.clone()) {
            out.push((path.clone(), true));
        }
    }
    Ok(out)
}

/// A log's family: its directory and base name.
fn family_of(path: &Path) -> (PathBuf, String) {
    let (dir, base, _) = family(path);
    (dir, base)
}

/// Plans an incremental run over `inputs` from `state` (see the module's rules).
pub(crate) fn resume(state: &State, inputs: &[Input]) -> Result<Resume> {
    let list = candidates(inputs)?;
    let families: HashSet<_> = list.iter().map(|(p, _)| family_of(p)).collect();
    let (scope, kept): (Vec<&FileState>, Vec<&FileState>) = state
        .files
        .iter()
        .partition(|f| families.contains(&family_of(&f.path)));
    let tracked: HashSet<_> = scope.iter().map(|f| family_of(&f.path)).collect();
    let mut plan = Resume {
        kept: kept.into_iter().cloned().collect(),
        ..Resume::default()
    };
    for (path, input) in list {
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(_) if !input => continue,
            Err(e) => return Err(e).with_context(|| format!("{}", path.display())),
        };
        let id = Id::of(&file).with_context(|| format!("{}", path.display()))?;
        let shown = || format!("{}", path.display());
        let head = bytes(&file, id.gz, 0, MARK).with_context(shown)?;
        let matched = recognise(&file, id, &head, &scope).with_context(shown)?;
        let tracked_log = tracked.contains(&family_of(&path));
        let start = match &matched {
            Some(f) => f.offset,
            None if input || tracked_log => 0,
            // History from before the first run: seen, not read.
            None => length(&file, id).with_context(shown)?,
        };
        let read = input || (tracked_log && !done(id, start, matched.as_ref()));
        plan.add(path, (file, id, head), start, matched, read);
    }
    plan.notes = lost(&scope, &plan.entries);
    Ok(plan)
}

/// Whether a sibling has nothing left to read from `start` (cheaply known).
fn done(id: Id, start: u64, matched: Option<&FileState>) -> bool {
    match matched {
        Some(f) if id == Id::recorded(f) => f.end == Some(start),
        _ => !id.gz && id.size <= start,
    }
}

impl Resume {
    fn add(
        &mut self,
        path: PathBuf,
        (file, id, head): (File, Id, Vec<u8>),
        start: u64,
        matched: Option<FileState>,
        read: bool,
    ) {
        let file = Arc::new(file);
        let slot = read.then(|| {
            self.inputs.push(Input::Path(path.clone()));
            self.starts.push(start);
            self.pinned.push(Some(file.clone()));
            self.inputs.len() - 1
        });
        self.entries.push(Entry {
            path,
            file,
            id,
            head,
            start,
            matched,
            slot,
        });
    }
}

/// Notes on remembered files no candidate holds that may have had lines not yet read.
fn lost(scope: &[&FileState], entries: &[Entry]) -> Vec<String> {
    let mut notes = Vec::new();
    for f in scope {
        let claimed = entries
            .iter()
            .any(|e| e.matched.as_ref().is_some_and(|m| m == *f));
        let (_, _, live) = family(&f.path);
        let unread = f.end.unwrap_or(f.offset).saturating_sub(f.offset);
        if claimed || f.offset == 0 || (!live && unread == 0) {
            continue;
        }
        let after = if live {
            ", and any written after it,"
        } else {
            ""
        };
        notes.push(format!(
            "{}: the file read to byte {} is gone (deleted, or rotated into another directory): \
             {unread} bytes it held at the last run{after} could not be read",
            f.path.display(),
            f.offset
        ));
    }
    notes
}

/// The state after a run that read `consumed` bytes of each input of `plan`.
pub(crate) fn advance(plan: &Resume, consumed: &[u64]) -> State {
    let mut files = plan.kept.clone();
    for e in &plan.entries {
        let read = e.slot.and_then(|i| consumed.get(i)).copied().unwrap_or(0);
        if let Some(f) = remember(e, e.start + read) {
            files.push(f);
        }
    }
    State {
        version: super::state::VERSION,
        files,
    }
}

/// The mark of an entry read to `offset`, from its handle; if the bytes before the offset are
/// gone (truncated during the run), its head as the run began and no tail.
fn fresh_mark(e: &Entry, id: Id, offset: u64) -> Option<Mark> {
    let head = bytes(&e.file, id.gz, 0, MARK).ok()?;
    if let Ok(Some(m)) = mark(&e.file, id, &head, offset, lens(offset)) {
        return Some(m);
    }
    let h = lens(offset).0.min(e.head.len() as u32);
    Some(Mark {
        head_len: h,
        head: fnv1a(&e.head[..h as usize]),
        tail_len: 0,
        tail: fnv1a(b""),
    })
}

/// What to remember of an entry read to `offset` (from its handle, whatever its name now).
fn remember(e: &Entry, offset: u64) -> Option<FileState> {
    let id = Id::of(&e.file).unwrap_or(e.id);
    let same = e.matched.as_ref().filter(|f| f.offset == offset);
    let (mark, end) = match same {
        Some(f) if id == Id::recorded(f) => (f.mark, f.end),
        Some(f) => (f.mark, (!id.gz).then_some(id.size)),
        None => (fresh_mark(e, id, offset)?, (!id.gz).then_some(id.size)),
    };
    let end = match end {
        None if id.gz => length(&e.file, id).ok(),
        end => end,
    };
    Some(FileState {
        path: e.path.clone(),
        dev: id.dev,
        ino: id.ino,
        size: id.size,
        mtime_ns: id.mtime_ns,
        gz: id.gz,
        offset,
        end,
        mark,
    })
}
