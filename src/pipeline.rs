//! The parallel streaming scan: one reader thread cuts the inputs into blocks and feeds a
//! bounded queue; `threads` rayon workers each fold blocks into their own [`Summary`]; the
//! summaries are merged at the end.
//!
//! Memory is bounded by the queue depth times the block size plus the per-key caps, whatever
//! the input size. Reading overlaps with parsing. The format, when not given, is detected from
//! the first lines before any worker starts. Line numbers of rejected examples are resolved at
//! the end from each block's line count, so the reader never counts lines.

use crate::classify::Classifier;
use crate::format::{self, Format};
use crate::input::{self, Block, ChunkConfig, Flow, Input, Payload};
use crate::report::escape::escape_text;
use crate::scan::{ScanConfig, Scanner};
use crate::summary::{Caps, Summary};
use anyhow::{anyhow, Result};
use crossbeam_channel::{bounded, Receiver, Sender};
use std::sync::Mutex;

/// How a scan runs.
#[derive(Clone, Debug)]
pub struct ScanOptions {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Block size in bytes.
    pub chunk: usize,
    /// Longest line kept, in bytes.
    pub max_line: usize,
    /// The format, or `None` to detect it.
    pub format: Option<Format>,
    /// Caps on distinct keys.
    pub caps: Caps,
}

/// An input that could not be read (fully).
#[derive(Clone, Debug)]
pub struct SourceError {
    /// The input's name.
    pub source: String,
    /// What went wrong.
    pub message: String,
}

/// What a scan found.
#[derive(Debug)]
pub struct ScanResult {
    /// The merged summary.
    pub summary: Summary,
    /// The format used (`None` when the input had no lines).
    pub format: Option<Format>,
    /// Input names, by source index.
    pub sources: Vec<String>,
    /// Inputs that could not be read.
    pub errors: Vec<SourceError>,
}

/// How many non-empty lines detection looks at.
const DETECT_LINES: usize = 200;
/// How many bytes detection holds back at most before it decides (on what it has).
const DETECT_BYTES: usize = 8 << 20;

/// Scans `inputs` into one summary.
pub fn scan(inputs: &[Input], opts: &ScanOptions) -> Result<ScanResult> {
    let threads = opts.threads.max(1);
    let (tx, rx) = bounded::<Block>(threads * 2);
    let (pool_tx, pool_rx) = bounded::<Vec<u8>>(threads * 2 + 4);
    let chunk = ChunkConfig {
        chunk: opts.chunk,
        max_line: opts.max_line,
    };
    let owned: Vec<Input> = inputs.to_vec();
    let reader = std::thread::Builder::new()
        .name("noisegate-reader".into())
        .spawn(move || read_all(&owned, chunk, &tx, &pool_rx))?;
    let sources: Vec<String> = inputs.iter().map(Input::name).collect();

    let (format, pending) = match opts.format {
        Some(f) => (Some(f), Vec::new()),
        None => match detect(&rx, &sources, opts.max_line) {
            Ok(found) => found,
            Err(e) => {
                drop(rx);
                let _ = reader.join();
                return Err(e);
            }
        },
    };
    let cfg = ScanConfig {
        format: format.unwrap_or(Format::Combined),
        max_line: opts.max_line,
        caps: opts.caps,
        classifier: Classifier::new(),
    };
    let (summary, ledger) = run_workers(&cfg, threads, pending, &rx, &pool_tx)?;
    drop(rx);
    let errors = reader
        .join()
        .map_err(|_| anyhow!("the reader thread panicked"))?;
    let mut summary = summary;
    resolve_reject_lines(&mut summary, ledger);
    Ok(ScanResult {
        summary,
        format,
        sources,
        errors,
    })
}

/// The reader thread: every input in turn, cut into blocks.
fn read_all(
    inputs: &[Input],
    cfg: ChunkConfig,
    tx: &Sender<Block>,
    pool: &Receiver<Vec<u8>>,
) -> Vec<SourceError> {
    let mut errors = Vec::new();
    let mut take = || {
        pool.try_recv()
            .unwrap_or_else(|_| vec![0; cfg.chunk.max(1)])
    };
    for (i, input) in inputs.iter().enumerate() {
        let fail = |e: std::io::Error| SourceError {
            source: input.name(),
            message: e.to_string(),
        };
        let mut r = match input::open(input) {
            Ok(r) => r,
            Err(e) => {
                errors.push(fail(e));
                continue;
            }
        };
        let mut send = |b: Block| tx.send(b).is_ok();
        match input::read_blocks(i as u32, &mut r, cfg, &mut take, &mut send) {
            Ok(Flow::Done) => {}
            Ok(Flow::Stopped) => break,
            Err(e) => errors.push(fail(e)),
        }
    }
    errors
}

/// Takes blocks until `DETECT_LINES` usable lines are seen, `DETECT_BYTES` are held, or the
/// input ends, and picks the format from the non-empty lines no longer than `max_line` (the
/// others are rejected whatever the format). Returns the blocks taken, to be scanned first.
fn detect(
    rx: &Receiver<Block>,
    sources: &[String],
    max_line: usize,
) -> Result<(Option<Format>, Vec<Block>)> {
    let mut pending = Vec::new();
    let mut sample: Vec<(u32, u64, Vec<u8>)> = Vec::new();
    let mut line_base = 0u64;
    let mut last_source = u32::MAX;
    let mut held = 0usize;
    while sample.len() < DETECT_LINES && held < DETECT_BYTES {
        let Ok(block) = rx.recv() else { break };
        held += block.buf.len();
        if block.source != last_source {
            (last_source, line_base) = (block.source, 0);
        }
        if let Payload::Lines(_) = block.payload {
            for (n, line) in block.data().split_inclusive(|&b| b == b'\n').enumerate() {
                let line = line.strip_suffix(b"\n").unwrap_or(line);
                let usable = !line.trim_ascii().is_empty() && line.len() <= max_line;
                if usable && sample.len() < DETECT_LINES {
                    sample.push((block.source, line_base + n as u64 + 1, line.to_vec()));
                }
            }
            line_base += block.data().split_inclusive(|&b| b == b'\n').count() as u64;
        } else {
            line_base += 1;
        }
        pending.push(block);
    }
    if sample.is_empty() {
        return Ok((None, pending));
    }
    let lines: Vec<&[u8]> = sample.iter().map(|s| &s.2[..]).collect();
    match format::detect(&lines) {
        Some(f) => Ok((Some(f), pending)),
        None => {
            let (source, line, text) = &sample[0];
            Err(anyhow!(
                "{}:{}: no known log format fits this line (tried {}; use --format): {}",
                sources[*source as usize],
                line,
                format::Format::ALL.map(Format::name).join(", "),
                escape_text(&text[..text.len().min(200)])
            ))
        }
    }
}

/// Lines per block: (source, seq, lines).
type Ledger = Vec<(u32, u64, u64)>;

fn run_workers(
    cfg: &ScanConfig,
    threads: usize,
    pending: Vec<Block>,
    rx: &Receiver<Block>,
    pool_tx: &Sender<Vec<u8>>,
) -> Result<(Summary, Ledger)> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("noisegate-worker-{i}"))
        .build()?;
    let pending = Mutex::new(pending);
    let results: Mutex<Vec<(Summary, Ledger)>> = Mutex::new(Vec::new());
    pool.scope(|s| {
        for _ in 0..threads {
            s.spawn(|_| {
                let mut scanner = Scanner::new(cfg);
                let mut ledger = Ledger::new();
                loop {
                    let next = pending.lock().expect("queue lock").pop();
                    let Some(block) = next.or_else(|| rx.recv().ok()) else {
                        break;
                    };
                    let n = match block.payload {
                        Payload::Lines(_) => {
                            scanner.scan_block(block.source, block.seq, block.data())
                        }
                        Payload::Overlong(_) => {
                            scanner.scan_overlong(block.source, block.seq, block.data())
                        }
                    };
                    ledger.push((block.source, block.seq, n));
                    let _ = pool_tx.try_send(block.buf);
                }
                results
                    .lock()
                    .expect("results lock")
                    .push((scanner.summary, ledger));
            });
        }
    });
    let mut summary = Summary::new(&cfg.caps);
    let mut ledger = Ledger::new();
    for (s, l) in results.into_inner().expect("results lock") {
        summary.merge(&s);
        ledger.extend(l);
    }
    Ok((summary, ledger))
}

/// Turns block-relative line numbers of reject examples into line numbers within the file.
fn resolve_reject_lines(summary: &mut Summary, mut ledger: Ledger) {
    ledger.sort_unstable();
    for ex in &mut summary.reject_examples {
        let before: u64 = ledger
            .iter()
            .filter(|&&(src, seq, _)| src == ex.source && seq < ex.block)
            .map(|e| e.2)
            .sum();
        ex.line += before;
        ex.block = 0;
    }
    summary.reject_examples.sort();
}
