//! Reading a closed plain log file in parallel: the reader thread only decides where blocks
//! end, and each worker reads its block's bytes itself (`pread`) into a buffer of its own, so
//! the copying is shared by the workers and the bytes are in the worker's cache when it scans
//! them. (A memory map did the same without the copy, but paid more for it in page faults
//! and in giving the pages back, most with two threads: README, Performance.)
//!
//! The bytes a block stands for must not change between the reader's look at its end and the
//! worker's read, so a file is read this way only under a read lease
//! (`fcntl(F_SETLEASE, F_RDLCK)`, Linux): the kernel grants it only when no process has the
//! file open for writing, and a process that then opens it for writing or truncates it must
//! wait for the lease to be given up. The kernel tells noisegate with `SIGIO`; from then on
//! the file is no longer handed out as ranges: the reader reads the rest of it with `read`
//! (safe whatever the writer does), and the lease is released as soon as the blocks already
//! in flight are read, when the last holder of the [`Leased`] file drops it. The writer waits
//! that long, not for the whole scan. Should a read still come up short (the kernel breaks
//! an unanswered lease after its `lease-break-time`, 45 s by default) or fail (the disk),
//! the input is reported as not read fully, and an incremental run does not move on past it.
//!
//! A file that cannot be leased (a live log that nginx holds open, a file of another user, a
//! filesystem without leases) is read with `read` by the reader thread throughout.

use super::block::{Block, Bytes, ChunkConfig, Flow, Payload, Ranges, OVERLONG_HEAD};
use memchr::{memchr, memrchr};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Lease breaks signalled so far (any file): a lease taken before the count changed may be
/// wanted by a writer.
static LEASE_BREAKS: AtomicU64 = AtomicU64::new(0);

/// Whether closed plain files may be read under a lease by the workers. Off by default:
/// leasing installs a process-wide handler for `SIGIO` (see the module documentation), which
/// only the program that owns the process may decide, so turning it on is an `unsafe` call
/// of the binary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LeaseChoice {
    enabled: bool,
}

impl LeaseChoice {
    /// Read every input with `read` on its reader thread (the default).
    pub fn never() -> Self {
        LeaseChoice { enabled: false }
    }

    /// Lease plain files whenever the kernel grants it, and let the workers read them.
    ///
    /// # Safety
    ///
    /// The first lease installs a process-wide handler: `SIGIO` is taken to mean "a writer
    /// wants a leased file". The caller must own the process's handling of that signal (no
    /// other code of the process relies on its own handler or on its default action).
    pub unsafe fn auto() -> Self {
        LeaseChoice { enabled: true }
    }

    /// Whether leasing is allowed.
    pub(crate) fn enabled(self) -> bool {
        self.enabled
    }
}

/// A plain file open under a read lease.
#[derive(Debug)]
pub(crate) struct Leased {
    // Closing the file releases the lease.
    file: File,
    len: u64,
    breaks: u64,
}

/// Bytes the reader reads at once when it looks for a block's end.
const LOOK: usize = 16 << 10;

impl Leased {
    /// Leases `file` if it is a plain (not gzip) regular file longer than `start` that can be
    /// leased; `None` otherwise, and the caller reads it instead.
    #[cfg(target_os = "linux")]
    pub(crate) fn new(file: File, start: u64) -> Option<Arc<Leased>> {
        use std::os::fd::AsRawFd;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() <= start.max(2) {
            return None;
        }
        install_handler();
        let breaks = LEASE_BREAKS.load(Ordering::SeqCst);
        // SAFETY: plain fcntl on a descriptor we own.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) } != 0 {
            return None;
        }
        // Under the lease nobody writes: the length and the bytes stay as they are now.
        let len = file.metadata().ok()?.len();
        if len <= start.max(2) {
            return None;
        }
        let mut magic = [0u8; 2];
        if file.read_exact_at(&mut magic, 0).is_err() || magic == [0x1f, 0x8b] {
            return None;
        }
        Some(Arc::new(Leased { file, len, breaks }))
    }

    /// Without leases nothing is stable under a reader: always read.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn new(_file: File, _start: u64) -> Option<Arc<Leased>> {
        None
    }

    /// Whether a writer may be waiting for this file's lease (a lease break was signalled
    /// since it was taken): hand out no more of it.
    pub(crate) fn broken(&self) -> bool {
        LEASE_BREAKS.load(Ordering::SeqCst) != self.breaks
    }
}

impl Ranges for Leased {
    /// Reads `buf.len()` bytes at `at`; a file that came up short changed under its lease.
    fn read_exact(&self, buf: &mut [u8], at: u64) -> io::Result<()> {
        self.file.read_exact_at(buf, at).map_err(|e| {
            if e.kind() == io::ErrorKind::UnexpectedEof {
                io::Error::other(format!(
                    "the file became shorter than {} bytes while it was read",
                    at + buf.len() as u64
                ))
            } else {
                e
            }
        })
    }
}

/// `SIGIO` (a writer wants a leased file) counts a lease break.
#[cfg(target_os = "linux")]
fn install_handler() {
    extern "C" fn on_lease_break(_: libc::c_int) {
        LEASE_BREAKS.fetch_add(1, Ordering::SeqCst);
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // SAFETY: installs a handler that only touches an atomic.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            let handler: extern "C" fn(libc::c_int) = on_lease_break;
            action.sa_sigaction = handler as libc::sighandler_t;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(libc::SIGIO, &action, std::ptr::null_mut());
        }
    });
}

/// Where the last newline in `[from, to)` of `f` is, reading back `LOOK` bytes at a time.
fn last_newline(f: &Leased, from: u64, to: u64, look: &mut Vec<u8>) -> io::Result<Option<u64>> {
    let mut end = to;
    while end > from {
        let start = end.saturating_sub(LOOK as u64).max(from);
        let n = (end - start) as usize;
        look.resize(n, 0);
        f.read_exact(look, start)?;
        if let Some(i) = memrchr(b'\n', look) {
            return Ok(Some(start + i as u64));
        }
        end = start;
    }
    Ok(None)
}

/// Where the line that runs through `from` ends: after its newline (`true`), or at the end
/// of the file (`false`). A line of gigabytes is looked through `LOOK` bytes at a time.
fn line_end(f: &Leased, from: u64, look: &mut Vec<u8>) -> io::Result<(u64, bool)> {
    let mut at = from;
    while at < f.len {
        let n = (f.len - at).min(LOOK as u64) as usize;
        look.resize(n, 0);
        f.read_exact(look, at)?;
        if let Some(i) = memchr(b'\n', look) {
            return Ok((at + i as u64 + 1, true));
        }
        at += n as u64;
    }
    Ok((f.len, false))
}

/// Cuts the leased file from byte `start` into blocks of whole lines of about `cfg.chunk`
/// bytes, which the workers read, and passes each to `send` (which returns `false` to stop).
/// A line longer than a block makes its block longer, and one over `cfg.max_line` is handed
/// out alone as [`Payload::Overlong`] (only its first bytes are read), as the reading
/// chunker does. Stops early, saying where, when a writer wants the file (see the module
/// documentation).
pub(crate) fn lease_blocks(
    source: u32,
    f: &Arc<Leased>,
    start: u64,
    cfg: ChunkConfig,
    send: &mut dyn FnMut(Block) -> bool,
) -> io::Result<LeaseEnd> {
    let len = f.len;
    let chunk = cfg.chunk.max(1) as u64;
    let first = start.min(len);
    let mut pos = first;
    let mut seq = 0;
    let mut look = Vec::with_capacity(LOOK);
    while pos < len {
        if f.broken() {
            return Ok(LeaseEnd {
                flow: Flow::Done,
                consumed: pos - first,
                resume: Some((pos, seq)),
            });
        }
        let target = pos.saturating_add(chunk).min(len);
        // The block ends after its last newline, or, for a line longer than the block,
        // after that line's newline; `nl`: whether it ends with one.
        let (end, nl, long) = if target == len {
            let mut last = [0u8];
            f.read_exact(&mut last, len - 1)?;
            (len, last[0] == b'\n', false)
        } else {
            match last_newline(f, pos, target, &mut look)? {
                Some(i) => (i + 1, true, false),
                None => {
                    let (end, nl) = line_end(f, target, &mut look)?;
                    (end, nl, true)
                }
            }
        };
        let (end, nl) = if end == len && cfg.hold_tail && !nl {
            let kept = last_newline(f, pos, len, &mut look)?;
            (kept.map_or(pos, |i| i + 1), true)
        } else {
            (end, nl)
        };
        if end == pos {
            break;
        }
        let line_len = end - pos - u64::from(nl);
        // A line over the cap travels alone, as its first bytes: the scanner counts it
        // rejected without reading the rest.
        let payload = if long && line_len > cfg.max_line as u64 {
            Payload::Overlong(line_len.min(OVERLONG_HEAD as u64) as usize)
        } else {
            Payload::Lines((end - pos) as usize)
        };
        let block = Block {
            source,
            seq,
            bytes: Bytes::Leased(f.clone(), pos..end),
            payload,
        };
        seq += 1;
        if !send(block) {
            return Ok(LeaseEnd {
                flow: Flow::Stopped,
                consumed: 0,
                resume: None,
            });
        }
        pos = end;
    }
    Ok(LeaseEnd {
        flow: Flow::Done,
        consumed: pos - first,
        resume: None,
    })
}

/// How cutting a leased file ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct LeaseEnd {
    /// Whether the consumer still wanted blocks.
    pub(crate) flow: Flow,
    /// Bytes after `start` handed out.
    pub(crate) consumed: u64,
    /// A writer wants the file: the byte to go on reading it from with `read`, and the next
    /// block number.
    pub(crate) resume: Option<(u64, u64)>,
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::io::Write;
    use std::path::Path;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Mutex, MutexGuard};

    /// Held while a test leases: a lease break (counted process-wide) marks every lease taken
    /// before it as wanted by a writer, which would send another test's file to the read path.
    static LEASING: Mutex<()> = Mutex::new(());

    fn alone() -> MutexGuard<'static, ()> {
        LEASING.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A closed file holding `bytes`.
    fn closed(bytes: &[u8]) -> tempfile::TempPath {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        f.into_temp_path()
    }

    /// One line as a scanner sees it: over the cap (its first bytes), or whole.
    type Line = (bool, Vec<u8>);

    /// The lines of blocks as the scanner sees them, and the input bytes they stand for.
    fn lines(blocks: &[(Payload, Vec<u8>, u64)], max_line: usize) -> (Vec<Line>, u64) {
        let mut out = Vec::new();
        for (payload, data, _) in blocks {
            match payload {
                Payload::Overlong(_) => out.push((true, data.clone())),
                Payload::Lines(_) => {
                    let body = data.strip_suffix(b"\n").unwrap_or(data);
                    for line in body.split(|&b| b == b'\n') {
                        let long = line.len() > max_line;
                        let kept = if long { &line[..OVERLONG_HEAD] } else { line };
                        out.push((long, kept.to_vec()));
                    }
                }
            }
        }
        (out, blocks.iter().map(|b| b.2).sum())
    }

    /// Cuts the leased file at `path` from `start`: the blocks (payload, bytes read by a
    /// worker, input length) and the bytes handed out.
    fn cut_leased(
        path: &Path,
        start: u64,
        cfg: ChunkConfig,
    ) -> (Vec<(Payload, Vec<u8>, u64)>, u64) {
        let file = Leased::new(File::open(path).unwrap(), start).expect("a closed file is leased");
        let mut blocks = Vec::new();
        let end = lease_blocks(0, &file, start, cfg, &mut |b| {
            assert_eq!(b.seq as usize, blocks.len());
            assert!(b.data().is_none(), "the worker reads it");
            let mut own = Vec::new();
            let data = b.load(&mut own).unwrap().to_vec();
            blocks.push((b.payload, data, b.input_len()));
            true
        })
        .unwrap();
        assert_eq!((end.flow, end.resume), (Flow::Done, None));
        (blocks, end.consumed)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Cut from a leased file, the blocks hold the file's lines from the start offset
        /// (over-long ones as their first bytes; a last unfinished one only without a held
        /// tail), end on newlines, hold no more than a block or a line under the cap, and stand
        /// for the bytes handed out: lines up to three times
        /// as long as what the reader looks through at once, blocks as short as a byte.
        #[test]
        fn leased_blocks_hold_the_files_lines(
            lens in proptest::collection::vec(
                prop_oneof![6 => 0usize..80, 1 => 80usize..3 * LOOK], 1..40),
            unfinished in any::<bool>(),
            chunk in prop_oneof![1usize..200, 200usize..2 * LOOK, Just(1 << 20)],
            max_line in prop_oneof![Just(1usize << 20), 200usize..LOOK],
            hold_tail in any::<bool>(),
            skip in 0usize..4,
        ) {
            let mut text = Vec::new();
            let mut starts = Vec::new();
            for (i, len) in lens.iter().enumerate() {
                starts.push(text.len());
                text.extend((0..*len).map(|j| b'a' + ((i + j) % 26) as u8));
                text.push(b'\n');
            }
            if unfinished {
                text.pop();
            }
            let start = starts[skip.min(starts.len() - 1)];
            let cfg = ChunkConfig { chunk, max_line, hold_tail };
            let path = closed(&text);
            let _alone = alone();
            if text.len() as u64 <= (start as u64).max(2) {
                prop_assert!(Leased::new(File::open(&path).unwrap(), start as u64).is_none());
                return Ok(());
            }
            let (leased, consumed) = cut_leased(&path, start as u64, cfg);
            let rest = &text[start..];
            let kept = match rest.iter().rposition(|&b| b == b'\n') {
                _ if !hold_tail || !unfinished => rest.len(),
                Some(i) => i + 1,
                None => 0,
            };
            prop_assert_eq!(consumed, kept as u64);
            let whole = vec![(Payload::Lines(kept), rest[..kept].to_vec(), kept as u64)];
            let (leased_lines, leased_len) = lines(&leased, max_line);
            prop_assert_eq!(leased_len, consumed, "the blocks stand for what was handed out");
            let expected = if kept == 0 { vec![] } else { lines(&whole, max_line).0 };
            prop_assert_eq!(leased_lines, expected);
            for (i, (payload, data, _)) in leased.iter().enumerate() {
                match payload {
                    // What a worker holds is bounded: a block, or one line under the cap.
                    Payload::Lines(_) => {
                        prop_assert!(data.len() <= chunk.max(max_line + 1), "{}", data.len());
                        prop_assert!(i + 1 == leased.len() || data.ends_with(b"\n"));
                    }
                    Payload::Overlong(_) => prop_assert!(data.len() <= OVERLONG_HEAD),
                }
            }
        }
    }

    #[test]
    fn gzip_and_files_open_for_writing_are_not_leased() {
        let path = closed(b"\x1f\x8b\x08\x00 not really gzip\n");
        let _alone = alone();
        assert!(Leased::new(File::open(&path).unwrap(), 0).is_none());
        let mut writer = tempfile::NamedTempFile::new().unwrap();
        writer.write_all(b"a line\n").unwrap();
        let reader = File::open(writer.path()).unwrap();
        assert!(Leased::new(reader, 0).is_none(), "a writer holds it open");
    }

    #[test]
    fn a_file_shorter_than_its_lease_said_is_an_error_not_a_short_block() {
        let path = closed(b"one\ntwo\nthree\n");
        // What the kernel allows once an unanswered lease break times out: the file is cut
        // under the reader. (A lease keeps this process's own writer out too, for 45 s: the
        // test holds the file as if leased.)
        let _alone = alone();
        let file = Arc::new(Leased {
            file: File::open(&path).unwrap(),
            len: 14,
            breaks: LEASE_BREAKS.load(Ordering::SeqCst),
        });
        let mut blocks = Vec::new();
        let cfg = ChunkConfig {
            chunk: 4,
            max_line: 1 << 20,
            hold_tail: false,
        };
        lease_blocks(0, &file, 0, cfg, &mut |b| {
            blocks.push(b);
            true
        })
        .unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(6)
            .unwrap();
        let mut own = Vec::new();
        assert_eq!(blocks[0].load(&mut own).unwrap(), b"one\n");
        let e = blocks[1].load(&mut own).unwrap_err();
        assert!(e.to_string().contains("became shorter than 8 bytes"), "{e}");
    }

    #[test]
    fn a_writer_is_noticed_and_waits_only_for_the_blocks_in_flight() {
        let text = b"one\ntwo\nthree\nfour\n";
        let path = closed(text);
        let _alone = alone();
        let file = Leased::new(File::open(&path).unwrap(), 0).expect("a closed file is leased");
        let opened = Arc::new(AtomicBool::new(false));
        let writer = {
            let (path, opened) = (path.to_path_buf(), opened.clone());
            std::thread::spawn(move || {
                let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
                opened.store(true, Ordering::SeqCst);
                f.set_len(0).unwrap();
            })
        };
        // The writer waits, and the kernel's signal marks the file as wanted.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !file.broken() {
            assert!(
                std::time::Instant::now() < deadline,
                "no lease-break signal"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!opened.load(Ordering::SeqCst));
        // The cut stops at once and says where to read on.
        let cfg = ChunkConfig {
            chunk: 4,
            max_line: 1 << 20,
            hold_tail: false,
        };
        let end = lease_blocks(0, &file, 4, cfg, &mut |_| panic!("no block after a break"));
        assert_eq!(end.unwrap().resume, Some((4, 0)));
        let mut all = vec![0; text.len()];
        file.read_exact(&mut all, 0).unwrap();
        assert_eq!(all, text, "the file still reads while it is held");
        drop(file);
        writer.join().unwrap();
        assert!(opened.load(Ordering::SeqCst));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }
}
