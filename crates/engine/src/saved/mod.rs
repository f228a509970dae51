//! Saved summaries: `--save-summary FILE` writes the mergeable summary of a run and
//! `noisegate merge` combines saved summaries from several machines, containers or days with
//! the same merge the worker threads use, so the result is the report one run over all the
//! logs would give.
//!
//! # The file (version 5)
//! A gzip stream of JSON Lines. The first line is the header,
//! `{"format":"noisegate-summary","version":5,"noisegate":"<release>"}`; every other line is
//! one record, an object with one key naming its kind (`record::Record`), in this order:
//! `source` and `error` (the inputs, in source-index order), `run` (line counts, rejects by
//! reason id, time span, cheap answers by millisecond), `reject_example`, `totals`, then per
//! category a `category` record (by its id: `autodiscover`, ...) followed by its maps,
//! `served` and `activity` maps, the `domains` map (version 4 on: one `domain` record per mail
//! domain, see `domains`), `timeline` and its `minute`s (version 5 on with a `blocked` count:
//! the noise answered 403 in next to no time), the `noise` records of the storm
//! details, and last `end`, which counts the records before it: a file without it is
//! truncated. A map is a `map` record (which map, whose category, cap, threshold, overflow,
//! budget) followed by its entries, `key` records (`[key, count]`), `evidence` records or
//! `activity` records. A category's maps are `methods`, `clients`, `user_agents`, `paths`,
//! `families` and, last, `evidence`: per path (keys ascending), how widely it was asked for —
//! `[path, {"requests", "clients", "days", "hours", "families"}]`, the 32 smallest client
//! hashes, 32 earliest UTC days and hours since the epoch, and the client family ids — what
//! the block ranks its entries by when they do not all fit.
//! Status codes, milliseconds and category ids are keys, never positions; byte strings from
//! the logs are JSON strings when they are UTF-8, else arrays of byte values.
//!
//! Both ways are streams: the writer goes through the in-memory summary and the scan's noise
//! spools record by record, and the reader applies each line as it comes (noise records go
//! straight to the combined spool), one file at a time, so memory holds the combined summary
//! and one file's summary (both bounded by their caps), never a list of noise records. (A
//! version-1 file holds its summary in one JSON value, read whole; its noise records stream.)
//!
//! # Versions
//! The writer writes [`VERSION`] 5; any change an older reader would misread (a new record
//! kind or field, a changed meaning) takes the next version. Version 5 added each minute's
//! `blocked` count (a version-4 file reads with none: its noise all counts for the
//! worst-minute rule of `check`), version 4 the `domains` map (the mail domains behind the
//! noise; a version-3 file reads with none), version 3 the `evidence` maps; a noisegate that
//! reads only older versions refuses a file as newer. The reader also reads version 4,
//! version 3, version 2 (the same records without evidence: its noise has
//! no per-path evidence, and the block ranks by requests and says so) and version 1 (one JSON object with
//! positional tables, the layout of the first release; see `v1`). A file of a later version
//! is refused with both versions named, a file of another kind as "not a noisegate summary",
//! and a cut or corrupt file with the line where it fails; every message starts with the file
//! name. A saved file is input too: times must lie in the range a log can write and counts
//! must add up as a scan adds them (`bounds`), so nothing after the reader can overflow.
//!
//! # Unknown ids
//! A category id this noisegate does not know (a newer noisegate added it) does not make the
//! file unreadable: its requests are counted as this noisegate would count them had it read
//! the logs itself, as ordinary traffic. They stay in the totals and the per-minute totals and
//! leave every noise figure (its category record, maps, activity and noise records are
//! skipped; a minute's noise count drops by them and its noise server time in proportion), and
//! [`Combined::warnings`] says how many requests of which category were so counted. A reject
//! reason, map or record kind it does not know refuses the file with its name: those change
//! figures this noisegate cannot leave out.

mod bounds;
mod domains;
mod read;
mod record;
mod v1;
mod write;

use crate::pipeline::{ScanResult, SourceError, SourceFormat};
use crate::summary::{Caps, Summary};
use anyhow::{anyhow, bail, Context, Result};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use read::FileReader;
use record::{newer, Header, Record, NO_BLOCKED_MINUTES, NO_DOMAINS, NO_EVIDENCE};
pub(crate) use record::{FORMAT, VERSION};
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, BufWriter, Cursor, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Longest line of a version-2 or 3 file: far above what a record of bounded summary holds.
const MAX_RECORD: usize = 64 << 20;
/// Longest header line.
const MAX_HEADER: usize = 4096;

/// Writes the summary of `scan` to `path` (atomically: a temporary file renamed over it; a
/// symlink is written through and the replaced file's mode kept, a new file is 0600).
pub fn save(path: &Path, scan: &mut ScanResult) -> Result<()> {
    let shown = path.display();
    let (tmp, target) = crate::replace::temporary(path)?;
    // Records are serialized on this thread and compressed on another, so the two overlap.
    let compress = |rx: std::sync::mpsc::Receiver<Vec<u8>>| -> Result<_> {
        let mut gz = GzEncoder::new(BufWriter::new(tmp), flate2::Compression::fast());
        for piece in rx {
            gz.write_all(&piece)?;
        }
        gz.finish()?.into_inner().map_err(|e| anyhow!("{e}"))
    };
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
    let tmp = std::thread::scope(|s| {
        let worker = s.spawn(move || compress(rx));
        let mut w = Pieces {
            tx,
            buf: Vec::with_capacity(PIECE),
        };
        let wrote = write::write(&mut w, scan).and_then(|()| Ok(w.flush()?));
        drop(w);
        let tmp = worker.join().expect("the compressor does not panic");
        // The compressor's own error (a full disk) explains a stopped writer.
        tmp.and_then(|tmp| wrote.map(|()| tmp))
    })
    .with_context(|| format!("{shown}"))?;
    tmp.persist(&target).map_err(|e| anyhow!("{shown}: {e}"))?;
    Ok(())
}

/// Saved summaries combined into one scan result.
#[derive(Debug)]
pub struct Combined {
    /// The result, as if one run had read all their inputs.
    pub scan: ScanResult,
    /// What a person should know about how they were read (one sentence each, file first).
    pub warnings: Vec<String>,
}

/// Bytes handed to the compressor at a time.
const PIECE: usize = 256 << 10;

/// A writer that hands full pieces to the compressing thread.
struct Pieces {
    tx: std::sync::mpsc::SyncSender<Vec<u8>>,
    buf: Vec<u8>,
}

impl Write for Pieces {
    #[inline]
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.write_all(b)?;
        Ok(b.len())
    }

    #[inline]
    fn write_all(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= PIECE {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let piece = std::mem::replace(&mut self.buf, Vec::with_capacity(PIECE));
        self.tx
            .send(piece)
            .map_err(|_| std::io::Error::other("the compressor stopped"))
    }
}

/// Combines saved summaries one file at a time.
pub struct Combiner {
    caps: Caps,
    summary: Summary,
    sources: Vec<String>,
    formats: Vec<SourceFormat>,
    errors: Vec<SourceError>,
    spool: BufWriter<std::fs::File>,
    warnings: Vec<String>,
    /// The files loaded: ((digest of their bytes, size), name), to refuse one given twice;
    /// the digest's keys are random, drawn for this run.
    loaded: Vec<((u64, u64), String)>,
    keys: std::hash::RandomState,
}

impl Combiner {
    /// An empty combination with these caps.
    pub fn new(caps: &Caps) -> Result<Self> {
        Ok(Combiner {
            caps: *caps,
            summary: Summary::new(caps),
            sources: Vec::new(),
            formats: Vec::new(),
            errors: Vec::new(),
            spool: BufWriter::new(tempfile::tempfile().context("temporary noise spool")?),
            warnings: Vec::new(),
            loaded: Vec::new(),
            keys: std::hash::RandomState::new(),
        })
    }

    /// Adds the gzip summary file at `path`. A file with the same bytes as one loaded before
    /// (a copy under another name too: their digests, keyed for this run, are compared) is
    /// refused: its lines would be counted twice.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let shown = crate::escape::terminal_path(path);
        let file = std::fs::File::open(path).with_context(|| shown.clone())?;
        let digest = std::rc::Rc::new(std::cell::RefCell::new(Digest {
            file,
            hasher: self.keys.build_hasher(),
            size: 0,
        }));
        let r = MultiGzDecoder::new(BufReader::new(DigestReader(digest.clone())));
        self.read_checked(&shown, r, move || {
            // What the decompressor left unread belongs to the file too.
            std::io::copy(&mut DigestReader(digest.clone()), &mut std::io::sink())?;
            let d = digest.borrow();
            Ok(Some((d.hasher.finish(), d.size)))
        })
    }

    /// Adds a summary read from `r` (its uncompressed text); `name` prefixes every message.
    /// A file that fails adds nothing. (Fuzzing and tests; `load` reads files.)
    #[cfg(any(test, feature = "internals"))]
    pub fn read(&mut self, name: &str, r: impl Read) -> Result<()> {
        self.read_checked(name, r, || Ok(None))
    }

    /// [`Self::read`], refusing the file when `digest` (run once it is read) is that of a file
    /// loaded before.
    fn read_checked(
        &mut self,
        name: &str,
        r: impl Read,
        digest: impl FnOnce() -> Result<Option<(u64, u64)>>,
    ) -> Result<()> {
        self.spool.flush()?;
        let mark = self.spool.get_mut().stream_position()?;
        let mut fr = FileReader::new(&self.caps, &mut self.spool);
        let loaded = &self.loaded;
        let read = read_file(r, &mut fr)
            .and_then(|()| fits(&self.summary, &fr.summary))
            .and_then(|()| digest())
            .and_then(|d| match d.and_then(|d| loaded.iter().find(|l| l.0 == d)) {
                Some((_, other)) => bail!(
                    "the same summary as {other}, byte for byte: its lines would be counted twice"
                ),
                None => Ok(d),
            });
        let digest = match read {
            Ok(d) => d,
            Err(e) => {
                // Drop the noise records the file had added before it failed.
                self.spool.flush()?;
                self.spool.get_mut().set_len(mark)?;
                self.spool.get_mut().seek(SeekFrom::Start(mark))?;
                return Err(e.context(name.to_string()));
            }
        };
        if let Some(d) = digest {
            self.loaded.push((d, name.to_string()));
        }
        let offset = self.sources.len() as u32;
        for ex in &mut fr.summary.reject_examples {
            ex.source += offset;
        }
        self.summary.merge(&fr.summary);
        self.sources.append(&mut fr.sources);
        self.formats.append(&mut fr.formats);
        self.errors.append(&mut fr.errors);
        for (id, n) in &fr.unknown {
            self.warnings.push(format!(
                "{name}: {n} requests of category `{id}`, unknown to this noisegate, are \
                 counted as ordinary traffic"
            ));
        }
        Ok(())
    }

    /// The combined result.
    pub fn finish(mut self) -> Result<Combined> {
        self.spool.flush()?;
        let spool = self.spool.into_inner().map_err(|e| anyhow!("{e}"))?;
        let scan = ScanResult {
            summary: self.summary,
            sources: self.sources,
            formats: self.formats,
            errors: self.errors,
            spools: vec![spool],
            client: None,
            consumed: Vec::new(),
            pending_state: None,
            line_counts: Vec::new(),
        };
        Ok(Combined {
            scan,
            warnings: self.warnings,
        })
    }
}

/// Refuses a file whose figures, added to those of the files before it, would pass what a
/// count holds: its lines (every other count of a file is at most its lines), and the bytes
/// and server time (of the categories and minutes too, which are at most the totals').
fn fits(before: &Summary, file: &Summary) -> Result<()> {
    let (a, b) = (&before.totals, &file.totals);
    for (what, x, y) in [
        ("lines", before.lines.total, file.lines.total),
        ("bytes", a.bytes, b.bytes),
        (
            "microseconds of server time",
            a.request_time_us,
            b.request_time_us,
        ),
    ] {
        if x.checked_add(y).is_none() {
            bail!(
                "more {what} than a count holds ({}), with the files before it",
                u64::MAX
            );
        }
    }
    Ok(())
}

/// A file being read, and the digest and size of what was read of it.
struct Digest {
    file: std::fs::File,
    hasher: std::hash::DefaultHasher,
    size: u64,
}

/// Reads the file of a [`Digest`], adding what it reads to the digest.
struct DigestReader(std::rc::Rc<std::cell::RefCell<Digest>>);

impl Read for DigestReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut d = self.0.borrow_mut();
        let n = d.file.read(buf)?;
        d.hasher.write(&buf[..n]);
        d.size += n as u64;
        Ok(n)
    }
}

/// Combines the summary files at `paths`.
pub fn combine(paths: &[impl AsRef<Path>]) -> Result<Combined> {
    let mut c = Combiner::new(&Caps::default())?;
    for p in paths {
        c.load(p.as_ref())?;
    }
    c.finish()
}

/// Reads one file: a version-5, 4, 3 or 2 header line and its records, else a whole-document
/// file.
fn read_file(r: impl Read, fr: &mut FileReader<'_>) -> Result<()> {
    let mut r = BufReader::with_capacity(64 << 10, r);
    let mut first = Vec::new();
    (&mut r)
        .take(MAX_HEADER as u64)
        .read_until(b'\n', &mut first)
        .map_err(|e| anyhow!("not a noisegate summary ({e})"))?;
    let header = match first.last() {
        Some(b'\n') => serde_json::from_slice::<Header>(&first).ok(),
        _ => None,
    };
    match header {
        Some(h)
            if h.format == FORMAT
                && [VERSION, NO_BLOCKED_MINUTES, NO_DOMAINS, NO_EVIDENCE].contains(&h.version) =>
        {
            fr.version = h.version;
            read_records(r, fr)
        }
        Some(h) if h.format == FORMAT && h.version > VERSION => Err(newer(h.version)),
        _ => {
            fr.version = 1;
            v1::read(Cursor::new(first).chain(r), fr)
        }
    }
}

/// Reads the records after a version-5, 4, 3 or 2 header, up to and including the end record.
fn read_records(mut r: impl BufRead, fr: &mut FileReader<'_>) -> Result<()> {
    let mut line = Vec::new();
    let mut at = 1u64;
    loop {
        line.clear();
        at += 1;
        let n = (&mut r)
            .take(MAX_RECORD as u64 + 1)
            .read_until(b'\n', &mut line)
            .with_context(|| format!("cut or corrupt at line {at}"))?;
        if n == 0 {
            bail!("cut short: no end record after line {}", at - 1);
        }
        if line.last() != Some(&b'\n') {
            if line.len() > MAX_RECORD {
                bail!("line {at} is longer than {MAX_RECORD} bytes");
            }
            bail!("cut short in line {at}");
        }
        let rec: Record = serde_json::from_slice(&line).map_err(|e| not_a_record(&e, at))?;
        if fr.apply(rec).with_context(|| format!("line {at}"))? {
            break;
        }
    }
    let mut rest = [0u8; 1];
    if r.read(&mut rest).context("after the end record")? > 0 {
        bail!("data after the end record (line {at})");
    }
    Ok(())
}

/// The refusal of a line that is no record, placed by line and column of the file.
fn not_a_record(e: &serde_json::Error, at: u64) -> anyhow::Error {
    let what = e.to_string();
    // serde_json places the error within the line: the file's line says more.
    let what = what.split(" at line ").next().unwrap_or_default();
    anyhow!(
        "line {at} column {}: not a summary record ({what})",
        e.column()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::time::activity_key;
    use crate::summary::KeyCounts;

    fn scan_of(summary: Summary) -> ScanResult {
        ScanResult {
            summary,
            sources: vec!["a.log".into()],
            formats: vec![SourceFormat::default()],
            errors: Vec::new(),
            spools: Vec::new(),
            client: None,
            consumed: Vec::new(),
            pending_state: None,
            line_counts: Vec::new(),
        }
    }

    /// A summary whose maps are past their caps and budget, with bytes that are not UTF-8.
    fn crowded(caps: &Caps) -> Summary {
        let mut s = Summary::new(caps);
        let mut key = Vec::new();
        for i in 0..600u64 {
            let client = format!("198.51.100.{i}\u{ff}").into_bytes();
            for _ in 0..1 + i % 3 {
                s.lines.total += 1;
                s.lines.parsed += 1;
                s.totals.add(Some(404), Some(10), Some(1000));
                s.categories[2].traffic.add(Some(404), Some(10), Some(1000));
            }
            s.categories[2].clients.add(&client, 1 + i % 3);
            let path = [b'/', (i % 256) as u8];
            s.categories[2].paths.add(&path, 1);
            let family = crate::classify::family::Family::ALL[i as usize % 9];
            let t = i as i64 * 3000 - 90_000;
            s.see_time(t);
            match s.categories[2].evidence.slot(&path) {
                Some(e) => e.add(&client, family, Some(t)),
                None => s.categories[2].evidence.dropped(1),
            }
            activity_key(2, &client, &mut key);
            if let Some(a) = s.activity.slot(&key) {
                for m in 0..(i % 4) as i64 {
                    a.add(m * 60 + 7, 1000);
                }
            } else {
                s.activity.dropped(i % 4);
            }
        }
        s
    }

    #[test]
    fn maps_past_their_caps_read_back_as_they_merge() {
        let caps = Caps {
            clients: 50,
            paths: 20,
            activity: 40,
            activity_cells: 60,
            ..Caps::default()
        };
        let mut buf = Vec::new();
        write::write(&mut buf, &mut scan_of(crowded(&caps))).unwrap();
        let mut c = Combiner::new(&caps).unwrap();
        c.read("t.sum", &buf[..]).unwrap();
        let got = c.finish().unwrap().scan.summary;
        let mut want = Summary::new(&caps);
        want.merge(&crowded(&caps));
        let (g, w) = (&got.categories[2], &want.categories[2]);
        assert!(w.clients.approximate() && w.paths.approximate());
        for (g, w) in [(&g.clients, &w.clients), (&g.paths, &w.paths)] {
            assert_eq!(g.sorted(), w.sorted());
            assert_eq!((g.overflow(), g.distinct()), (w.overflow(), w.distinct()));
        }
        assert!(w.evidence.approximate());
        assert_eq!(g.evidence.entries(), w.evidence.entries());
        let kept = |m: &KeyCounts| m.sorted().iter().map(|e| e.0.to_vec()).collect::<Vec<_>>();
        let evidence: Vec<_> = g.evidence.entries().iter().map(|e| e.0.to_vec()).collect();
        assert_eq!(evidence, kept(&g.paths), "evidence of the paths kept");
        assert_eq!(got.activity.entries(), want.activity.entries());
        assert_eq!(got.activity.overflow(), want.activity.overflow());
    }

    #[test]
    fn a_failed_file_adds_nothing() {
        let caps = Caps::default();
        let mut spool = tempfile::tempfile().unwrap();
        for time in 0..3 {
            let r = crate::summary::noise::NoiseRef {
                category: 1,
                time,
                status: 404,
                strings: crate::summary::noise::Strings {
                    method: b"GET",
                    client: b"::1",
                    path: b"/.well-known/autoconfig/mail/config-v1.1.xml",
                    user_agent: b"\xff",
                },
            };
            crate::summary::noise::write_full(&mut spool, &r).unwrap();
        }
        let spooled = spool.metadata().unwrap().len();
        let mut scan = scan_of(crowded(&caps));
        scan.spools.push(spool);
        let mut buf = Vec::new();
        write::write(&mut buf, &mut scan).unwrap();
        let mut c = Combiner::new(&caps).unwrap();
        let cut = &buf[..buf.len() - 10];
        let e = c.read("t.sum", cut).unwrap_err();
        assert!(format!("{e:#}").starts_with("t.sum: cut short"), "{e:#}");
        c.read("t.sum", &buf[..]).unwrap();
        let scan = c.finish().unwrap().scan;
        assert_eq!(scan.sources.len(), 1);
        let len = scan.spools[0].metadata().unwrap().len();
        assert_eq!(len, spooled, "the noise records of the good file only");
    }
}
