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
//!   the first run: remembered as seen, not read;
//! - a live log this state reads that is missing (renamed, not yet made again) waits for the
//!   next run with a note; one never read before is an error.
//!
//! Each candidate is opened once; the run reads that handle and records what it read from it,
//! so a rotation during the run cannot misplace an offset. What logrotate is still writing
//! waits for the next run: a gzip file whose stream ends early, a file that starts like a
//! remembered one but is shorter than its offset (a copy being made), a second file holding
//! a remembered file already taken (`.1` beside its finished `.1.gz`). Remembered files no
//! candidate matches, that may have held unread lines, are reported with the bytes that were
//! lost — unless files were renamed or made while the plan opened them: then they are kept.

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
    /// What can not be resumed exactly or waits for the next run, for stderr.
    pub(crate) notes: Vec<String>,
    /// Of those, what was lost (remembered files gone, with their bytes), for the report.
    pub(crate) lost: Vec<String>,
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
    // A gzip stream that ends early (still being written) gives what it has.
    let eof = |e: &io::Error| e.kind() == io::ErrorKind::UnexpectedEof;
    match content(file, gz, from).and_then(|r| r.take(len).read_to_end(&mut out)) {
        Err(e) if !eof(&e) => Err(e),
        _ => Ok(out),
    }
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

/// A log's family: its directory, resolved (`access.log`, `./access.log` and the same file
/// through a symlinked directory are one family), and its base name.
fn family_of(path: &Path) -> (PathBuf, String) {
    let (dir, base, _) = family(path);
    let dir = if dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        dir
    };
    let dir = std::fs::canonicalize(&dir)
        .or_else(|_| std::path::absolute(&dir))
        .unwrap_or(dir);
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
    let mut plan = Resume {
        kept: kept.into_iter().cloned().collect(),
        ..Resume::default()
    };
    let mut look = Look {
        tracked: scope.iter().map(|f| family_of(&f.path)).collect(),
        scope,
        opened: HashSet::new(),
        left: false,
    };
    for (path, input) in list {
        look.consider(&mut plan, path, input)?;
    }
    // Files renamed or made while the plan opened them: a remembered file may be among those
    // not opened, so none is given up.
    look.left |= moved(&families, &look.opened);
    let unclaimed = look.scope.iter().filter(|f| !claimed(f, &plan.entries));
    if look.left {
        // A file left for the next run may be one of these: keep them for it.
        plan.kept.extend(unclaimed.map(|f| (*f).clone()));
    } else {
        plan.lost = unclaimed.filter_map(|f| lost(f)).collect();
        plan.notes.extend(plan.lost.iter().cloned());
    }
    Ok(plan)
}

/// What a plan knows while it looks at the candidates one by one.
struct Look<'s> {
    /// Remembered files of the logs this run looks at.
    scope: Vec<&'s FileState>,
    /// The logs (directory, base name) read with this state before.
    tracked: HashSet<(PathBuf, String)>,
    /// Device and inode of the files opened so far (one file under two names is read once).
    opened: HashSet<(u64, u64)>,
    /// Whether a candidate was left for the next run.
    left: bool,
}

impl Look<'_> {
    /// Opens a candidate, recognises it and adds it to `plan` (or leaves it for later).
    fn consider(&mut self, plan: &mut Resume, path: PathBuf, input: bool) -> Result<()> {
        let shown = || format!("{}", path.display());
        let file = match File::open(&path) {
            Ok(f) => f,
            // Renamed or deleted since it was listed (logrotate at work).
            Err(e) if !input || (e.kind() == io::ErrorKind::NotFound && !family(&path).2) => {
                self.left = true;
                return Ok(());
            }
            // A live log this state reads, renamed and not yet made again (logrotate's
            // `create` between its two steps): its lines are in the rotated file, now or at
            // the next run. A live log never read before stays an error (a wrong name).
            Err(e)
                if e.kind() == io::ErrorKind::NotFound
                    && self.tracked.contains(&family_of(&path)) =>
            {
                plan.notes.push(format!(
                    "{}: not found (being rotated?): read at the next run",
                    shown()
                ));
                self.left = true;
                return Ok(());
            }
            Err(e) => return Err(e).with_context(shown),
        };
        let (id, head, matched) = match self.recognise(&file) {
            Ok(seen) => seen,
            Err(e) if !input => {
                plan.notes.push(format!("{}: {e}: not read", shown()));
                self.left = true;
                return Ok(());
            }
            Err(e) => return Err(e).with_context(shown),
        };
        if !self.opened.insert((id.dev, id.ino)) {
            return Ok(());
        }
        let twin = matched.as_ref().and_then(|m| twin(m, &plan.entries));
        let why = twin.or_else(|| {
            unfinished(&file, id, &head, matched.as_ref(), &self.scope).map(String::from)
        });
        if let Some(why) = why {
            plan.notes
                .push(format!("{}: {why}: left for the next run", shown()));
            self.left = true;
            return Ok(());
        }
        let tracked_log = self.tracked.contains(&family_of(&path));
        let start = match &matched {
            Some(f) => f.offset,
            None if input || tracked_log => 0,
            // History from before the first run: seen, not read.
            None => length(&file, id).with_context(shown)?,
        };
        let read = input || (tracked_log && !done(id, start, matched.as_ref()));
        plan.add(path, (file, id, head), start, matched, read);
        Ok(())
    }

    /// A candidate's identity, first bytes and the remembered file it continues, if any.
    fn recognise(&self, file: &File) -> io::Result<(Id, Vec<u8>, Option<FileState>)> {
        let id = Id::of(file)?;
        let head = bytes(file, id.gz, 0, MARK)?;
        let matched = recognise(file, id, &head, &self.scope)?;
        Ok((id, head, matched))
    }
}

/// Why a candidate recognised as `m` waits, if an entry was recognised as `m` already.
fn twin(m: &FileState, entries: &[Entry]) -> Option<String> {
    let e = entries.iter().find(|e| e.matched.as_ref() == Some(m))?;
    Some(format!(
        "holds the same lines as {} (a copy or compression in progress?)",
        e.path.display()
    ))
}

/// Why a candidate must wait for the next run, if it must: a copy still being made (it starts
/// as a remembered file does but is shorter than what was read of it), or a gzip file still
/// being written (its stream ends early).
fn unfinished(
    file: &File,
    id: Id,
    head: &[u8],
    matched: Option<&FileState>,
    scope: &[&FileState],
) -> Option<&'static str> {
    let starts_like = |f: &FileState| {
        let n = f.mark.head_len as usize;
        f.offset > 0 && head.len() >= n && fnv1a(&head[..n]) == f.mark.head
    };
    let short = |f: &&FileState| !id.gz && id.size < f.offset && starts_like(f);
    if matched.is_none() && scope.iter().any(short) {
        return Some("shorter than the file it starts like (a copy still being made?)");
    }
    let complete = matched.is_some_and(|f| id == Id::recorded(f) && f.end.is_some());
    if id.gz && !complete && length(file, id).is_err() {
        return Some("its gzip stream ends early (still being compressed?)");
    }
    None
}

/// Whether a file of one of these logs is in its directory now that was not opened.
fn moved(families: &HashSet<(PathBuf, String)>, opened: &HashSet<(u64, u64)>) -> bool {
    let dirs: HashSet<&PathBuf> = families.iter().map(|(d, _)| d).collect();
    dirs.into_iter().any(|dir| {
        let listed = if dir.as_os_str().is_empty() {
            std::fs::read_dir(".")
        } else {
            std::fs::read_dir(dir)
        };
        let Ok(entries) = listed else { return false };
        entries.flatten().any(|e| {
            let path = dir.join(e.file_name());
            let meta = std::fs::metadata(&path);
            families.contains(&family_of(&path))
                && meta.is_ok_and(|m| m.is_file() && !opened.contains(&(m.dev(), m.ino())))
        })
    })
}

/// Whether a plan's entries recognised the remembered `f`.
fn claimed(f: &FileState, entries: &[Entry]) -> bool {
    entries
        .iter()
        .any(|e| e.matched.as_ref().is_some_and(|m| m == f))
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

/// A note on a remembered file no candidate holds, if it may have had lines not yet read.
fn lost(f: &FileState) -> Option<String> {
    let (_, _, live) = family(&f.path);
    let unread = f.end.unwrap_or(f.offset).saturating_sub(f.offset);
    if f.offset == 0 || (!live && unread == 0) {
        return None;
    }
    let after = if live {
        ", and any written after it,"
    } else {
        ""
    };
    Some(format!(
        "{}: the file read to byte {} is gone (deleted, or rotated into another directory): \
         {unread} bytes it held at the last run{after} could not be read",
        f.path.display(),
        f.offset
    ))
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
        // Absolute, so that a run started from another directory knows it.
        path: std::path::absolute(&e.path).unwrap_or_else(|_| e.path.clone()),
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
