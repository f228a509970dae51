//! The parallel streaming scan. Reader threads (one per input at a time, so several gzip files
//! decompress in parallel) cut inputs into blocks and feed one bounded queue; `threads` rayon
//! workers fold blocks into their own [`Summary`]; the summaries are merged at the end.
//!
//! Each input's format is decided by its reader from its own first lines (or given by the
//! user), so a directory of mixed logs still reads, and the result does not depend on which
//! reader runs first. Memory is bounded by the queue depth times the block size plus the
//! per-key caps, whatever the input size. Line numbers of rejected examples are resolved at the
//! end from each block's line count, so no reader counts lines.

use crate::escape::escape_text;
use crate::format::{self, time::TimeCache, ClientIp, Detector, LogFormat, Reject};
use crate::input::{self, Block, ChunkConfig, Flow, Input, Payload};
use crate::scan::{BlockInfo, ScanConfig, Scanner};
use crate::summary::{Caps, Summary};
use anyhow::{bail, Result};
use crossbeam_channel::{bounded, Receiver, Sender};
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Which format each input is read with.
#[derive(Clone, Debug)]
pub enum FormatChoice {
    /// Detect each input's format among these candidates.
    Detect(Vec<Arc<LogFormat>>),
    /// Read every input with this format.
    Fixed(Arc<LogFormat>),
}

/// How a scan runs.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Block size in bytes.
    pub chunk: usize,
    /// Longest line kept, in bytes.
    pub max_line: usize,
    /// The format(s).
    pub format: FormatChoice,
    /// Caps on distinct keys.
    pub(crate) caps: Caps,
    /// Lines outside `[since, until)` (UTC epoch seconds) are counted as filtered.
    pub window: (i64, i64),
    /// Overrides the formats' client address policy.
    pub client: Option<ClientIp>,
    /// Keep the noise lines in temporary files for a second look (storm details).
    pub spool: bool,
    /// Keep the time series (timeline, per-client activity) storms are found in.
    pub series: bool,
    /// Keep the local parts of the mailboxes the probes name, to show them
    /// (`--show-mailboxes`); off, only counts and masked examples are kept.
    pub mailboxes: bool,
    /// Counters for a progress display, updated once per block.
    pub progress: Option<Arc<Progress>>,
    /// Where to start in each input (bytes; missing = 0), for incremental runs.
    pub(crate) starts: Vec<u64>,
    /// Keep back a last line without `\n` at the end of each input (incremental runs).
    pub(crate) hold_tail: bool,
    /// Handles an incremental run opened, read instead of reopening the path (missing = none).
    pub(crate) pinned: Vec<Option<Arc<std::fs::File>>>,
    /// Whether closed plain files may be leased and read by the workers (off unless the
    /// program opts in).
    pub lease: input::LeaseChoice,
}

/// How far a scan has come: bytes scanned and noise requests found. A worker adds both once it
/// has scanned a block (the noise first, then the bytes with `Release` ordering), so the bytes
/// never run ahead of the scan, whatever the readers have already handed out.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes of input (decompressed) scanned.
    pub bytes: AtomicU64,
    /// Noise requests counted so far.
    pub noise: AtomicU64,
}

impl ScanOptions {
    /// Where each input starts (bytes; missing = 0): set by an incremental run.
    pub fn starts(&self) -> &[u64] {
        &self.starts
    }

    /// Defaults: detection among the presets, 2 MiB blocks, 1 MiB line cap, no window.
    pub fn new(threads: usize) -> Self {
        ScanOptions {
            threads,
            chunk: 2 << 20,
            max_line: 1 << 20,
            format: FormatChoice::Detect(LogFormat::presets().into_iter().map(Arc::new).collect()),
            caps: Caps::default(),
            window: (i64::MIN, i64::MAX),
            client: None,
            spool: false,
            series: true,
            mailboxes: false,
            progress: None,
            starts: Vec::new(),
            hold_tail: false,
            pinned: Vec::new(),
            lease: input::LeaseChoice::never(),
        }
    }
}

/// An input that could not be read (fully), or whose format could not be told.
#[derive(Clone, Debug)]
pub struct SourceError {
    /// The input's name.
    pub source: String,
    /// What went wrong.
    pub message: String,
}

/// The format an input was read with, and what that format lacks.
#[derive(Clone, Debug, Default)]
pub(crate) struct SourceFormat {
    /// The format's name (`None`: the input had no non-empty line).
    pub(crate) name: Option<String>,
    /// What the analysis lacks with it.
    pub(crate) notes: Vec<String>,
}

/// What a scan found.
#[derive(Debug)]
pub struct ScanResult {
    /// The merged summary.
    pub(crate) summary: Summary,
    /// Input names, by source index.
    pub(crate) sources: Vec<String>,
    /// The format of each input, by source index.
    pub(crate) formats: Vec<SourceFormat>,
    /// Inputs that could not be read.
    pub(crate) errors: Vec<SourceError>,
    /// The noise lines, one temporary file per worker, when spooling was asked for.
    pub(crate) spools: Vec<std::fs::File>,
    /// The client address policy the scan ran with (`None`: each format's own).
    pub client: Option<ClientIp>,
    /// Bytes of each input read to the end of its last whole line (after its start).
    pub(crate) consumed: Vec<u64>,
    /// The incremental-run state to save once the output is out (`--state`).
    pub(crate) pending_state: Option<crate::input::state::Pending>,
    /// Non-empty lines read and rejected, by source index (empty when not known, as for
    /// merged saved summaries).
    pub(crate) line_counts: Vec<(u64, u64)>,
}

impl ScanResult {
    /// A result holding `summary`, as if one input named `x` in `format` had been scanned.
    #[cfg(any(test, feature = "internals"))]
    pub fn from_summary(summary: Summary, format: &str) -> Self {
        ScanResult {
            summary,
            sources: vec!["x".into()],
            formats: vec![SourceFormat {
                name: Some(format.into()),
                ..SourceFormat::default()
            }],
            errors: vec![],
            spools: vec![],
            client: None,
            consumed: vec![],
            pending_state: None,
            line_counts: vec![],
        }
    }

    /// Lines read, and how each was counted.
    pub fn lines(&self) -> crate::summary::Lines {
        self.summary.lines
    }

    /// Drops the full local parts of the mailboxes the summary holds (a saved summary written
    /// with `--show-mailboxes` holds them): what a run that does not show them reports and
    /// saves.
    pub fn forget_mailboxes(&mut self) {
        self.summary.forget_mailboxes();
    }

    /// Noise requests (every category).
    pub fn noise_requests(&self) -> u64 {
        self.summary.noise_requests()
    }

    /// The inputs that could not be read (fully).
    pub fn errors(&self) -> &[SourceError] {
        &self.errors
    }

    /// Adds inputs that could not be read before the scan (unreadable directories).
    pub fn add_errors(&mut self, errors: Vec<SourceError>) {
        self.errors.extend(errors);
    }

    /// A warning for people when lines were rejected: how many, by which format, and where
    /// the first was.
    pub fn reject_warning(&self) -> Option<String> {
        let l = &self.summary.lines;
        if l.rejected == 0 {
            return None;
        }
        let first = self
            .summary
            .reject_examples
            .first()
            .map_or(String::new(), |e| {
                format!("; first at {}:{}", self.sources[e.source as usize], e.line)
            });
        Some(format!(
            "{} of {} lines did not fit the {} format{first}",
            crate::numbers::thousands(l.rejected),
            crate::numbers::thousands(l.total),
            self.format_name().unwrap_or("detected")
        ))
    }

    /// The format name shared by every input that had lines, `mixed`, or `None`.
    pub fn format_name(&self) -> Option<&str> {
        let mut names = self.formats.iter().filter_map(|f| f.name.as_deref());
        let first = names.next()?;
        Some(if names.all(|n| n == first) {
            first
        } else {
            "mixed"
        })
    }
}

/// A block and the format to read it with.
struct Work {
    block: Block,
    format: Arc<LogFormat>,
}

/// State shared by the reader threads.
struct Readers<'a> {
    inputs: &'a [Input],
    opts: &'a ScanOptions,
    next: AtomicUsize,
    pool: Receiver<Vec<u8>>,
    errors: Mutex<Vec<(usize, SourceError)>>,
    formats: Mutex<Vec<SourceFormat>>,
    undetected: AtomicUsize,
    consumed: Vec<AtomicU64>,
}

/// Scans `inputs` into one summary.
pub fn scan(inputs: &[Input], opts: &ScanOptions) -> Result<ScanResult> {
    let threads = opts.threads.max(1);
    let (tx, rx) = bounded::<Work>(threads * 2);
    let (pool_tx, pool_rx) = bounded::<Vec<u8>>(threads * 2 + 4);
    let readers = Readers {
        inputs,
        opts,
        next: AtomicUsize::new(0),
        pool: pool_rx,
        errors: Mutex::new(Vec::new()),
        formats: Mutex::new(vec![SourceFormat::default(); inputs.len()]),
        undetected: AtomicUsize::new(0),
        consumed: inputs.iter().map(|_| AtomicU64::new(0)).collect(),
    };
    let cfg = ScanConfig {
        max_line: opts.max_line,
        caps: opts.caps,
        window: opts.window,
        client: opts.client.clone(),
        spool: opts.spool,
        series: opts.series,
        mailboxes: opts.mailboxes,
        ..ScanConfig::default()
    };
    let n_readers = threads.min(inputs.len()).max(1);
    // Inputs whose leased blocks a worker could not read: (input, why).
    let failed = Mutex::new(Vec::new());
    let (summary, ledger, spools) = std::thread::scope(|s| {
        for _ in 0..n_readers {
            let tx = tx.clone();
            let readers = &readers;
            s.spawn(move || readers.run(&tx));
        }
        // The workers end when the last reader drops its sender.
        drop(tx);
        let progress = opts.progress.as_deref();
        run_workers(&cfg, threads, &rx, &pool_tx, progress, &failed)
    })?;
    let mut consumed: Vec<u64> = readers
        .consumed
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .collect();
    let mut failed = failed.into_inner().expect("failed lock");
    failed.sort();
    failed.dedup_by_key(|f| f.0);
    for (i, why) in failed {
        // Not read fully: an incremental run reads it again from where it started.
        consumed[i] = 0;
        readers.fail(i, why);
    }
    let mut result = finish(inputs, readers, summary, ledger)?;
    result.consumed = consumed;
    result.spools = spools;
    result.client = opts.client.clone();
    Ok(result)
}

fn finish(
    inputs: &[Input],
    readers: Readers<'_>,
    mut summary: Summary,
    ledger: Ledger,
) -> Result<ScanResult> {
    let mut errors = readers.errors.into_inner().expect("errors lock");
    errors.sort_by_key(|e| e.0);
    let undetected = readers.undetected.load(Ordering::Relaxed);
    let formats = readers.formats.into_inner().expect("formats lock");
    let detected = formats.iter().filter(|f| f.name.is_some()).count();
    if undetected > 0 && detected == 0 {
        let first = errors
            .iter()
            .find(|e| e.1.message.contains("no known log format"));
        bail!(
            "{}",
            first.map_or("no known log format fits", |e| &e.1.message)
        );
    }
    let mut line_counts = vec![(0, 0); inputs.len()];
    for &(source, _, lines, rejected, blank) in &ledger {
        let c = &mut line_counts[source as usize];
        (c.0, c.1) = (c.0 + lines - blank, c.1 + rejected);
    }
    resolve_reject_lines(&mut summary, ledger);
    Ok(ScanResult {
        summary,
        sources: inputs.iter().map(Input::name).collect(),
        formats,
        errors: errors.into_iter().map(|e| e.1).collect(),
        spools: Vec::new(),
        client: None,
        consumed: Vec::new(),
        pending_state: None,
        line_counts,
    })
}

impl Readers<'_> {
    /// One reader thread: takes the next input until none is left.
    fn run(&self, tx: &Sender<Work>) {
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(input) = self.inputs.get(i) else {
                return;
            };
            match self.read(i, input, tx) {
                Ok(Flow::Done) => {}
                Ok(Flow::Stopped) => return,
                Err(e) => self.fail(i, e.to_string()),
            }
        }
    }

    fn fail(&self, i: usize, message: String) {
        let source = self.inputs[i].name();
        let e = SourceError { source, message };
        self.errors.lock().expect("errors lock").push((i, e));
    }

    fn read(&self, i: usize, input: &Input, tx: &Sender<Work>) -> std::io::Result<Flow> {
        let start = self.opts.starts.get(i).copied().unwrap_or(0);
        let cfg = ChunkConfig {
            chunk: self.opts.chunk,
            max_line: self.opts.max_line,
            hold_tail: self.opts.hold_tail,
        };
        let mut src = SourceReader::new(self, i, tx);
        let mut take = || {
            self.pool
                .try_recv()
                .unwrap_or_else(|_| vec![0; cfg.chunk.max(1)])
        };
        let pinned = self.opts.pinned.get(i).and_then(Option::as_deref);
        let flow = match leased(input, start, self.opts.lease, pinned) {
            Some(file) => {
                let end = input::lease_blocks(i as u32, &file, start, cfg, &mut |b| src.accept(b));
                // Let go of the file so the lease ends with the blocks in flight.
                drop(file);
                end.and_then(|end| match end.resume {
                    None => Ok((end.flow, end.consumed)),
                    // A writer wants the file: read the rest instead.
                    Some((at, seq)) => input::open_at(input, at, pinned).and_then(|mut r| {
                        let (flow, rest) =
                            input::read_blocks(i as u32, seq, &mut r, cfg, &mut take, &mut |b| {
                                src.accept(b)
                            })?;
                        Ok((flow, end.consumed + rest))
                    }),
                })
            }
            None => {
                let mut r = input::open_at(input, start, pinned)?;
                input::read_blocks(i as u32, 0, &mut r, cfg, &mut take, &mut |b| src.accept(b))
            }
        };
        src.finish();
        if src.hung_up {
            return Ok(Flow::Stopped);
        }
        let (_, consumed) = flow?;
        self.consumed[i].store(consumed, Ordering::Relaxed);
        Ok(Flow::Done)
    }
}

/// A plain file input under a read lease, when one can be had (see [`input::Leased`]).
fn leased(
    input: &Input,
    start: u64,
    choice: input::LeaseChoice,
    pinned: Option<&std::fs::File>,
) -> Option<Arc<input::Leased>> {
    let Input::Path(path) = input else {
        return None;
    };
    if !choice.enabled() {
        return None;
    }
    let file = match pinned {
        Some(f) => input::reopen(f)?,
        None => std::fs::File::open(path).ok()?,
    };
    input::Leased::new(file, start)
}

struct SourceReader<'r, 'a> {
    readers: &'r Readers<'a>,
    tx: &'r Sender<Work>,
    index: usize,
    format: Option<Arc<LogFormat>>,
    /// Detection under way (`None` once decided, or with a fixed format).
    detector: Option<Detector<'a>>,
    /// The blocks read while detecting, sent once the format is known.
    held: Vec<Block>,
    /// The lines detection tried: (line number, held block, range in its data).
    sample: Vec<(u64, usize, Range<usize>)>,
    lines_seen: u64,
    /// `false` once the format could not be told: the input is abandoned.
    open: bool,
    /// The consumer hung up: stop reading everything.
    hung_up: bool,
}

impl<'r, 'a> SourceReader<'r, 'a> {
    fn new(readers: &'r Readers<'a>, index: usize, tx: &'r Sender<Work>) -> Self {
        let (format, detector) = match &readers.opts.format {
            FormatChoice::Fixed(f) => (Some(f.clone()), None),
            FormatChoice::Detect(candidates) => (None, Some(Detector::new(candidates))),
        };
        if let Some(f) = &format {
            readers.formats.lock().expect("formats lock")[index] = SourceFormat {
                name: Some(f.name.clone()),
                notes: f.notes(&[]),
            };
        }
        SourceReader {
            readers,
            tx,
            index,
            format,
            detector,
            held: Vec::new(),
            sample: Vec::new(),
            lines_seen: 0,
            open: true,
            hung_up: false,
        }
    }

    fn send(&mut self, block: Block, format: &Arc<LogFormat>) -> bool {
        let work = Work {
            block,
            format: format.clone(),
        };
        self.hung_up = self.tx.send(work).is_err();
        !self.hung_up
    }

    /// Takes one block; `false` to stop reading this input.
    fn accept(&mut self, block: Block) -> bool {
        if let Some(f) = self.format.clone() {
            return self.send(block, &f);
        }
        // Detection reads the lines here: a leased range is read now.
        let block = match block.owned() {
            Ok(b) => b,
            Err(e) => {
                self.readers.fail(self.index, e.to_string());
                self.held.clear();
                self.open = false;
                return false;
            }
        };
        self.collect(&block);
        self.held.push(block);
        if self.detector.as_ref().is_some_and(Detector::done) {
            return self.decide();
        }
        true
    }

    /// Shows the lines of `block` to detection until it has seen enough (counted in lines,
    /// so the decision is the same for any block size).
    fn collect(&mut self, block: &Block) {
        let max_line = self.readers.opts.max_line;
        let Some(det) = self.detector.as_mut() else {
            return;
        };
        if let Payload::Overlong(_) = block.payload {
            self.lines_seen += 1;
            return det.skip(max_line, true);
        }
        let data = block.data().unwrap_or_default();
        let mut start = 0;
        while start < data.len() && !det.done() {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |i| start + i);
            self.lines_seen += 1;
            let line = &data[start..end];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.trim_ascii().is_empty() || line.len() > max_line {
                det.skip(line.len() + 1, line.len() > max_line);
            } else {
                det.add(line);
                let at = start..start + line.len();
                self.sample.push((self.lines_seen, self.held.len(), at));
            }
            start = end + 1;
        }
    }

    /// Decides the format on the lines that parsed and sends the held blocks.
    fn decide(&mut self) -> bool {
        let Some(det) = self.detector.take() else {
            return true;
        };
        let (format, name) = match det.best() {
            Some(f) => (f.clone(), Some(f.name.clone())),
            None if self.sample.is_empty() => (self.candidates()[0].clone(), None),
            None => {
                let lines: Vec<&[u8]> = self.sample_lines().take(1).collect();
                let msg = match format::detect(&lines, self.candidates()) {
                    Err(msg) => msg,
                    Ok(_) => "no known log format fits".to_string(),
                };
                return self.undetectable(&msg);
            }
        };
        let mut times = TimeCache::default();
        let records: Vec<_> = self
            .sample_lines()
            .filter_map(|l| format.parse(l, &mut times).ok())
            .take(200)
            .collect();
        let notes = format.notes(&records);
        self.readers.formats.lock().expect("formats lock")[self.index] =
            SourceFormat { name, notes };
        for block in std::mem::take(&mut self.held) {
            if !self.send(block, &format) {
                return false;
            }
        }
        self.sample.clear();
        self.format = Some(format);
        true
    }

    /// The candidates detection chooses among.
    fn candidates(&self) -> &'a [Arc<LogFormat>] {
        let opts: &'a ScanOptions = self.readers.opts;
        match &opts.format {
            FormatChoice::Detect(candidates) => candidates,
            FormatChoice::Fixed(_) => unreachable!("a fixed format is decided up front"),
        }
    }

    /// The lines detection tried, in order.
    fn sample_lines(&self) -> impl Iterator<Item = &[u8]> {
        let held = &self.held;
        self.sample
            .iter()
            .map(move |(_, b, range)| &held[*b].data().unwrap_or_default()[range.clone()])
    }

    fn undetectable(&mut self, msg: &str) -> bool {
        let (line, b, range) = &self.sample[0];
        let text = &self.held[*b].data().unwrap_or_default()[range.clone()];
        let name = self.readers.inputs[self.index].name();
        // A mailbox's local part is not shown, as in the samples of rejected lines: masked
        // before the line is cut, so a cut cannot leave one unmasked.
        let masked = crate::classify::mailbox::mask_text(text);
        let shown = escape_text(&masked[..masked.len().min(200)]);
        self.readers.fail(
            self.index,
            format!("{name}:{line}: {msg}; use --format or --log-format\n  the line: {shown}"),
        );
        self.readers.undetected.fetch_add(1, Ordering::Relaxed);
        self.held.clear();
        self.open = false;
        false
    }

    /// At the end of the input (or a read error): decides on what was held, if not done yet.
    fn finish(&mut self) {
        if self.format.is_none() && self.open && !self.held.is_empty() {
            // What was seen is all there is: decide on it.
            self.decide();
        }
    }
}

/// Lines per block: (source, seq, lines, rejected non-empty lines, empty lines).
type Ledger = Vec<(u32, u64, u64, u64, u64)>;

/// What the workers return: the merged summary, the block ledger, the spools.
type WorkerResults = (Summary, Ledger, Vec<std::fs::File>);

fn run_workers(
    cfg: &ScanConfig,
    threads: usize,
    rx: &Receiver<Work>,
    pool_tx: &Sender<Vec<u8>>,
    progress: Option<&Progress>,
    failed: &Mutex<Vec<(usize, String)>>,
) -> Result<WorkerResults> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("noisegate-worker-{i}"))
        .build()?;
    let results: Mutex<Vec<(Summary, Ledger, Option<std::fs::File>)>> = Mutex::new(Vec::new());
    pool.scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| {
                let mut scanner = Scanner::new(cfg);
                let mut ledger = Ledger::new();
                let mut seen = 0;
                // The bytes of the leased blocks this worker reads.
                let mut own = Vec::new();
                while let Ok(Work { block, format }) = rx.recv() {
                    let at = BlockInfo {
                        source: block.source,
                        seq: block.seq,
                        format: &format,
                    };
                    let empty = Reject::Empty.index();
                    let before = (
                        scanner.summary.lines.rejected,
                        scanner.summary.rejects[empty],
                    );
                    let data = match block.load(&mut own) {
                        Ok(data) => data,
                        Err(e) => {
                            let mut failed = failed.lock().expect("failed lock");
                            failed.push((block.source as usize, e.to_string()));
                            continue;
                        }
                    };
                    let n = match block.payload {
                        Payload::Lines(_) => scanner.scan_block(at, data),
                        Payload::Overlong(_) => scanner.scan_overlong(at, data),
                    };
                    // Empty lines are no sign of a wrong format: left out of the counts.
                    let blank = scanner.summary.rejects[empty] - before.1;
                    let rejected = scanner.summary.lines.rejected - before.0 - blank;
                    ledger.push((block.source, block.seq, n, rejected, blank));
                    if let Some(p) = progress {
                        let noise = scanner.summary.noise_requests();
                        p.noise.fetch_add(noise - seen, Ordering::Relaxed);
                        seen = noise;
                        p.bytes.fetch_add(block.input_len(), Ordering::Release);
                    }
                    block.recycle(|buf| {
                        let _ = pool_tx.try_send(buf);
                    });
                }
                let (summary, spool) = scanner.finish();
                let mut results = results.lock().expect("results lock");
                results.push((summary, ledger, spool));
            });
        }
    });
    // The first worker's summary takes in the others, each dropped once merged, so memory
    // holds two summaries at most; settling makes the result the same for any split.
    let mut summary: Option<Summary> = None;
    let mut ledger = Ledger::new();
    let mut spools = Vec::new();
    for (s, l, spool) in results.into_inner().expect("results lock") {
        match &mut summary {
            None => summary = Some(s),
            Some(all) => all.merge(&s),
        }
        ledger.extend(l);
        spools.extend(spool);
    }
    let mut summary = summary.unwrap_or_else(|| Summary::new(&cfg.caps));
    summary.settle();
    Ok((summary, ledger, spools))
}

/// Turns block-relative line numbers of reject examples into line numbers within the file.
fn resolve_reject_lines(summary: &mut Summary, mut ledger: Ledger) {
    ledger.sort_unstable();
    for ex in &mut summary.reject_examples {
        let before: u64 = ledger
            .iter()
            .filter(|&&(src, seq, ..)| src == ex.source && seq < ex.block)
            .map(|e| e.2)
            .sum();
        ex.line += before;
        ex.block = 0;
    }
    summary.reject_examples.sort();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicBool;

    /// A leased block that a worker cannot read (its file cut under an expired lease) is its
    /// input's error, and no block of fewer lines; the other blocks are counted.
    #[test]
    fn a_block_a_worker_cannot_read_is_its_inputs_error() {
        #[derive(Debug)]
        struct Cut;
        impl input::Ranges for Cut {
            fn read_exact(&self, _: &mut [u8], at: u64) -> std::io::Result<()> {
                Err(std::io::Error::other(format!("shorter than {at} bytes")))
            }
        }
        let line = "203.0.113.7 - - [10/Mar/2024:12:00:00 +0000] \
                    \"GET /autodiscover/autodiscover.xml HTTP/1.1\" 404 0 \"-\" \"ua\"\n";
        let format = Arc::new(LogFormat::preset("combined").unwrap());
        let (tx, rx) = bounded(4);
        let (pool_tx, _pool) = bounded(4);
        for (source, bytes) in [
            (0, input::Bytes::Owned(line.as_bytes().to_vec())),
            (
                1,
                input::Bytes::Leased(Arc::new(Cut), 7..7 + line.len() as u64),
            ),
            (2, input::Bytes::Owned(line.as_bytes().to_vec())),
        ] {
            let payload = Payload::Lines(line.len());
            let block = Block {
                source,
                seq: 0,
                bytes,
                payload,
            };
            let format = format.clone();
            tx.send(Work { block, format }).unwrap();
        }
        drop(tx);
        let failed = Mutex::new(Vec::new());
        let cfg = ScanConfig::default();
        let (summary, ledger, _) = run_workers(&cfg, 2, &rx, &pool_tx, None, &failed).unwrap();
        assert_eq!((summary.lines.total, summary.lines.parsed), (2, 2));
        assert_eq!(ledger.len(), 2);
        let failed = failed.into_inner().unwrap();
        assert_eq!(failed, vec![(1, "shorter than 7 bytes".to_string())]);
    }

    /// A log whose every line is one noise request of the same length.
    fn noise_log(lines: usize) -> (tempfile::NamedTempFile, u64) {
        use std::io::Write;
        let line = "203.0.113.7 - - [10/Mar/2024:12:00:00 +0000] \
                    \"GET /autodiscover/autodiscover.xml HTTP/1.1\" 404 0 \"-\" \"Microsoft Office/16.0\"\n";
        let mut f = tempfile::NamedTempFile::new().unwrap();
        for _ in 0..lines {
            f.write_all(line.as_bytes()).unwrap();
        }
        f.flush().unwrap();
        (f, line.len() as u64)
    }

    /// The progress counters count bytes scanned, not bytes handed out: at every moment the
    /// bytes counted are lines already counted as noise, and at the end they are the input.
    #[test]
    fn progress_counts_scanned_bytes_only() {
        let (file, line_len) = noise_log(40_000);
        let size = file.as_file().metadata().unwrap().len();
        // SAFETY: the test process relies on no SIGIO handler of its own.
        for lease in [input::LeaseChoice::never(), unsafe {
            input::LeaseChoice::auto()
        }] {
            let progress = Arc::new(Progress::default());
            let mut opts = ScanOptions::new(2);
            opts.chunk = 4096;
            opts.lease = lease;
            opts.progress = Some(progress.clone());
            let inputs = [Input::Path(file.path().to_path_buf())];
            let done = AtomicBool::new(false);
            let (result, ahead) = std::thread::scope(|s| {
                let watcher = s.spawn(|| {
                    let mut ahead = 0u64;
                    while !done.load(Ordering::Relaxed) {
                        let bytes = progress.bytes.load(Ordering::Acquire);
                        let scanned = progress.noise.load(Ordering::Relaxed) * line_len;
                        ahead = ahead.max(bytes.saturating_sub(scanned));
                    }
                    ahead
                });
                let result = scan(&inputs, &opts).unwrap();
                done.store(true, Ordering::Relaxed);
                (result, watcher.join().unwrap())
            });
            assert_eq!(result.summary.noise_requests(), 40_000);
            assert_eq!(
                ahead, 0,
                "bytes counted before they were scanned ({lease:?})"
            );
            assert_eq!(progress.bytes.load(Ordering::Acquire), size);
            assert_eq!(progress.noise.load(Ordering::Relaxed), 40_000);
        }
    }
}
