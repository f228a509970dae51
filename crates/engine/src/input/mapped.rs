//! Reading a plain log file through a memory map, so that its bytes reach the workers without
//! being copied out of the page cache by `read`.
//!
//! A mapped file that shrinks while it is read kills the reader with `SIGBUS`, so a file is
//! mapped only under a read lease (`fcntl(F_SETLEASE, F_RDLCK)`, Linux): the kernel grants
//! it only when no process has the file open for writing, and a process that then opens it
//! for writing or truncates it must wait for the lease to be given up. The kernel tells
//! noisegate with `SIGIO`; from then on the file is no longer handed out as map ranges: the
//! reader reads the rest of it with `read` (safe whatever the writer does), and the lease is
//! released as soon as the blocks already in flight are scanned, when the last holder of the
//! [`Mapping`] drops it and its file is closed. The writer waits that long, not for the
//! whole scan. Should a mapped page still fail (the kernel breaks an unanswered lease after
//! its `lease-break-time`, 45 s by default; or the disk fails), noisegate stops with a
//! message and exit code 2 instead of dying of the signal.
//!
//! A file that cannot be leased (a live log that nginx holds open, a file of another user, a
//! filesystem without leases) is read with `read` throughout.
//!
//! The pages a block used are dropped from the mapping once the block is scanned
//! (`MADV_DONTNEED`), so the resident set stays the size of the blocks in flight, not of
//! the file; the pages stay in the page cache.

use super::block::{Block, Bytes, ChunkConfig, Flow, Payload, SharedBytes, OVERLONG_HEAD};
use memchr::{memchr, memrchr};
use std::fs::File;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Lease breaks signalled so far (any file): a mapping made before the count changed may be
/// wanted by a writer.
static LEASE_BREAKS: AtomicU64 = AtomicU64::new(0);

/// Whether plain files may be memory-mapped. Off by default: mapping installs process-wide
/// handlers for `SIGIO` and `SIGBUS` (see the module documentation), which only the program
/// that owns the process may decide, so turning it on is an `unsafe` call of the binary.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmapChoice {
    enabled: bool,
}

impl MmapChoice {
    /// Read every input with `read` (the default).
    pub fn never() -> Self {
        MmapChoice { enabled: false }
    }

    /// Map plain files whenever the kernel grants a read lease on them.
    ///
    /// # Safety
    ///
    /// The first mapping installs process-wide handlers: `SIGIO` is taken to mean "a writer
    /// wants a leased file", and `SIGBUS` ends the process with exit code 2. The caller must
    /// own the process's handling of both signals (no other code of the process relies on
    /// its own handlers or on their default actions).
    pub unsafe fn auto() -> Self {
        MmapChoice { enabled: true }
    }

    /// Whether mapping is allowed.
    pub(crate) fn enabled(self) -> bool {
        self.enabled
    }
}

/// A leased, read-only map of a whole file.
#[derive(Debug)]
pub(crate) struct Mapping {
    map: memmap2::Mmap,
    // Closing the file (after the map is dropped) releases the lease.
    _file: File,
    breaks: u64,
}

impl Mapping {
    /// Maps `file` if it is a plain (not gzip) regular file longer than `start` that can be
    /// leased; `None` otherwise, and the caller reads it instead.
    #[cfg(target_os = "linux")]
    pub(crate) fn new(file: File, start: u64) -> Option<Arc<Mapping>> {
        use std::os::fd::AsRawFd;
        let meta = file.metadata().ok()?;
        if !meta.is_file() || meta.len() <= start.max(2) {
            return None;
        }
        install_handlers();
        let breaks = LEASE_BREAKS.load(Ordering::SeqCst);
        // SAFETY: plain fcntl on a descriptor we own.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLEASE, libc::F_RDLCK) } != 0 {
            return None;
        }
        // SAFETY: the lease keeps every writer (and so every truncation) out until `file`
        // is closed, after the map is dropped; a writer that asks is noticed (`broken`)
        // and no longer made to wait on new blocks, and a page that fails anyway ends the
        // process cleanly (`on_sigbus`).
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        if map.len() as u64 != meta.len() || map.starts_with(&[0x1f, 0x8b]) {
            return None;
        }
        let _ = map.advise(memmap2::Advice::Sequential);
        Some(Arc::new(Mapping {
            map,
            _file: file,
            breaks,
        }))
    }

    /// Without leases there is no safe map: always read.
    #[cfg(not(target_os = "linux"))]
    pub(crate) fn new(_file: File, _start: u64) -> Option<Arc<Mapping>> {
        None
    }

    /// The file's bytes.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Whether a writer may be waiting for this file's lease (a lease break was signalled
    /// since it was mapped): hand out no more of it.
    pub(crate) fn broken(&self) -> bool {
        LEASE_BREAKS.load(Ordering::SeqCst) != self.breaks
    }

    /// Drops the pages of `range` from this process (they stay in the page cache), and those
    /// of the 4 MiB before it. The kernel maps a whole large folio (up to 2 MiB of page
    /// cache) on one fault, so scanning the start of a block maps pages of the block before
    /// it again after that block was released: without reaching back, those stayed, and a
    /// 1 GB log read by one thread peaked at 258 MB (20 MB with it). Another block that still
    /// reads a page dropped here reads it back from the cache.
    pub(crate) fn release(&self, range: Range<usize>) {
        const PAGE: usize = 4096;
        const BACK: usize = 4 << 20;
        let start = range.start.saturating_sub(BACK) / PAGE * PAGE;
        let end = range.end.min(self.map.len());
        if end > start {
            // SAFETY: a shared, read-only file map: dropped pages are read again from the
            // file on the next access, so no byte any reader sees changes.
            let _ = unsafe {
                self.map.unchecked_advise_range(
                    memmap2::UncheckedAdvice::DontNeed,
                    start,
                    end - start,
                )
            };
        }
    }
}

impl SharedBytes for Mapping {
    fn bytes(&self) -> &[u8] {
        Mapping::bytes(self)
    }

    fn release(&self, range: Range<usize>) {
        Mapping::release(self, range)
    }
}

/// `SIGIO` (a writer wants a leased file) counts a lease break; `SIGBUS` (a mapped page
/// could not be read) ends the process with a message and exit code 2.
#[cfg(target_os = "linux")]
fn install_handlers() {
    extern "C" fn on_lease_break(_: libc::c_int) {
        LEASE_BREAKS.fetch_add(1, Ordering::SeqCst);
    }
    extern "C" fn on_sigbus(_: libc::c_int) {
        const MSG: &[u8] =
            b"noisegate: an input file changed or failed under its memory map while it was read\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe.
        unsafe {
            libc::write(2, MSG.as_ptr().cast(), MSG.len());
            libc::_exit(2);
        }
    }
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let set = |signal: libc::c_int, handler: extern "C" fn(libc::c_int)| {
            // SAFETY: installs a handler that only touches an atomic or calls
            // async-signal-safe functions.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = handler as libc::sighandler_t;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        };
        set(libc::SIGIO, on_lease_break);
        set(libc::SIGBUS, on_sigbus);
    });
}

/// Where the line that runs through `from` ends (after its newline, or at the end of the
/// file). The pages passed over are given back as the search goes, so a line of gigabytes
/// costs no memory.
fn line_end(map: &Mapping, from: usize) -> usize {
    const STEP: usize = 1 << 20;
    let data = map.bytes();
    let mut at = from;
    while at < data.len() {
        let stop = at.saturating_add(STEP).min(data.len());
        if let Some(i) = memchr(b'\n', &data[at..stop]) {
            return at + i + 1;
        }
        map.release(at..stop);
        at = stop;
    }
    data.len()
}

/// Cuts the mapped file from byte `start` into blocks of whole lines of about `cfg.chunk`
/// bytes and passes each to `send` (which returns `false` to stop). A line longer than a
/// block makes its block longer, and one over `cfg.max_line` is handed out alone as
/// [`Payload::Overlong`], as the reading chunker does. Stops early, saying where, when a
/// writer wants the file (see the module documentation).
pub(crate) fn map_blocks(
    source: u32,
    map: &Arc<Mapping>,
    start: usize,
    cfg: ChunkConfig,
    send: &mut dyn FnMut(Block) -> bool,
) -> MapEnd {
    let data = map.bytes();
    let len = data.len();
    let chunk = cfg.chunk.max(1);
    let mut pos = start.min(len);
    let mut seq = 0;
    while pos < len {
        if map.broken() {
            let consumed = (pos - start.min(len)) as u64;
            return MapEnd {
                flow: Flow::Done,
                consumed,
                resume: Some((pos as u64, seq)),
            };
        }
        let target = pos.saturating_add(chunk).min(len);
        // The block ends after its last newline, or, for a line longer than the block,
        // after that line's newline.
        let (end, long) = if target == len {
            (len, false)
        } else {
            match memrchr(b'\n', &data[pos..target]) {
                Some(i) => (pos + i + 1, false),
                None => (line_end(map, target), true),
            }
        };
        let end = if end == len && cfg.hold_tail && data[len - 1] != b'\n' {
            memrchr(b'\n', &data[pos..len]).map_or(pos, |i| pos + i + 1)
        } else {
            end
        };
        if end == pos {
            break;
        }
        let line_len = end - pos - usize::from(data[end - 1] == b'\n');
        // A line over the cap travels alone, as its first bytes: the scanner counts it
        // rejected without touching (and so mapping) the rest.
        let payload = if long && line_len > cfg.max_line {
            Payload::Overlong(line_len.min(OVERLONG_HEAD))
        } else {
            Payload::Lines(end - pos)
        };
        let block = Block {
            source,
            seq,
            bytes: Bytes::Mapped(map.clone(), pos..end),
            payload,
        };
        seq += 1;
        if !send(block) {
            return MapEnd {
                flow: Flow::Stopped,
                consumed: 0,
                resume: None,
            };
        }
        pos = end;
    }
    MapEnd {
        flow: Flow::Done,
        consumed: (pos - start.min(len)) as u64,
        resume: None,
    }
}

/// How cutting a mapped file ended.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct MapEnd {
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
    use std::io::Write;
    use std::sync::atomic::AtomicBool;
    use std::sync::{Mutex, MutexGuard};

    /// Held while a test maps: a lease break (counted process-wide) marks every map made
    /// before it as wanted by a writer, which would send another test's map to the read path.
    static MAPPING: Mutex<()> = Mutex::new(());

    fn alone() -> MutexGuard<'static, ()> {
        MAPPING.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A closed file holding `bytes`, mapped (no one has it open for writing), with the
    /// mapping lock.
    fn mapped(bytes: &[u8]) -> (tempfile::TempPath, Arc<Mapping>, MutexGuard<'static, ()>) {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(bytes).unwrap();
        let path = f.into_temp_path();
        let guard = alone();
        let map = Mapping::new(File::open(&path).unwrap(), 0).expect("a closed file is leased");
        (path, map, guard)
    }

    fn cut(map: &Arc<Mapping>, start: usize, chunk: usize, hold_tail: bool) -> (Vec<Vec<u8>>, u64) {
        let cfg = ChunkConfig {
            chunk,
            max_line: 1 << 20,
            hold_tail,
        };
        let mut blocks = Vec::new();
        let end = map_blocks(0, map, start, cfg, &mut |b| {
            assert_eq!(b.seq as usize, blocks.len());
            blocks.push(b.data().to_vec());
            b.recycle(|_| panic!("a mapped block has no pool buffer"));
            true
        });
        assert_eq!((end.flow, end.resume), (Flow::Done, None));
        (blocks, end.consumed)
    }

    #[test]
    fn blocks_end_on_newlines_and_keep_every_byte() {
        let text = b"a\nbb\nccc\n\nA line longer than any block here\nlast";
        let (_path, map, _alone) = mapped(text);
        for chunk in [1, 2, 3, 5, 8, 64] {
            let (blocks, consumed) = cut(&map, 0, chunk, false);
            assert_eq!(blocks.concat(), text, "chunk {chunk}");
            assert_eq!(consumed, text.len() as u64);
            for b in &blocks[..blocks.len() - 1] {
                assert!(b.ends_with(b"\n"), "chunk {chunk}: {b:?}");
            }
        }
    }

    #[test]
    fn a_held_tail_and_a_start_offset_are_respected() {
        let text = b"one\ntwo\nthree";
        let (_path, map, _alone) = mapped(text);
        let (blocks, consumed) = cut(&map, 0, 4, true);
        assert_eq!(blocks.concat(), b"one\ntwo\n");
        assert_eq!(consumed, 8);
        let (blocks, consumed) = cut(&map, 4, 64, false);
        assert_eq!(blocks.concat(), b"two\nthree");
        assert_eq!(consumed, 9);
    }

    #[test]
    fn gzip_and_files_open_for_writing_are_not_mapped() {
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(b"\x1f\x8b\x08\x00 not really gzip\n").unwrap();
        let path = f.into_temp_path();
        assert!(Mapping::new(File::open(&path).unwrap(), 0).is_none());
        let mut writer = tempfile::NamedTempFile::new().unwrap();
        writer.write_all(b"a line\n").unwrap();
        let reader = File::open(writer.path()).unwrap();
        assert!(Mapping::new(reader, 0).is_none(), "a writer holds it open");
    }

    #[test]
    fn a_writer_is_noticed_and_waits_only_for_the_blocks_in_flight() {
        let text = b"one\ntwo\nthree\nfour\n";
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(text).unwrap();
        let path = f.into_temp_path();
        let _alone = alone();
        let map = Mapping::new(File::open(&path).unwrap(), 0).expect("a closed file is leased");
        let opened = Arc::new(AtomicBool::new(false));
        let writer = {
            let (path, opened) = (path.to_path_buf(), opened.clone());
            std::thread::spawn(move || {
                let f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
                opened.store(true, Ordering::SeqCst);
                f.set_len(0).unwrap();
            })
        };
        // The writer waits, and the kernel's signal marks the map as wanted.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !map.broken() {
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
        let end = map_blocks(0, &map, 4, cfg, &mut |_| panic!("no block after a break"));
        assert_eq!(end.resume, Some((4, 0)));
        assert_eq!(end.consumed, 0);
        assert_eq!(map.bytes(), text, "the map still reads while it is held");
        drop(map);
        writer.join().unwrap();
        assert!(opened.load(Ordering::SeqCst));
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    }
}
