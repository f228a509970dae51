//! `--follow`: watch a never-ending log on stdin (`tail -F access.log | noisegate --follow`).
//! A line is printed when a client storm starts and when it ends, and a compact status every
//! `--interval` seconds; output is flushed at once. Memory holds only the clients seen within
//! the last storm gap, so it stays bounded over days.
//!
//! Storms follow the report's rule (`--storm-gap`, `--storm-min-requests`, `--storm-rate`),
//! decided as lines arrive: a storm starts when a client's current run first qualifies, and
//! ends when the client has been quiet for longer than the gap (by log time, advanced by the
//! wall clock while the log is silent) or the input ends.

use anyhow::Result;
use noisegate_engine::analysis::storms::StormConfig;
use noisegate_engine::classify::{Classifier, CATEGORIES};
use noisegate_engine::escape::escape_text;
use noisegate_engine::format::time::{rfc3339, TimeCache};
use noisegate_engine::format::{self, ClientIp, LogFormat};
use noisegate_engine::numbers::thousands;
use noisegate_engine::pipeline::FormatChoice;
use noisegate_engine::scan::Decoder;
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One client's current run in one category.
struct Run {
    start: i64,
    last: i64,
    requests: u64,
    started: bool,
}

/// The state of a follow.
struct Watch<'w> {
    cfg: StormConfig,
    runs: HashMap<(usize, Vec<u8>), Run>,
    out: &'w mut dyn Write,
    /// Since the last status: lines, noise.
    lines: u64,
    noise: u64,
    /// The latest log time and when it was read.
    now: Option<(i64, Instant)>,
}

impl Watch<'_> {
    /// Log time now: the latest line's, advanced by the wall clock since it was read.
    fn clock(&self) -> Option<i64> {
        self.now.map(|(t, at)| t + at.elapsed().as_secs() as i64)
    }

    fn probe(&mut self, category: usize, client: &[u8], t: i64) -> Result<()> {
        self.noise += 1;
        let gap = self.cfg.gap_minutes * 60;
        let run = self.runs.entry((category, client.to_vec())).or_insert(Run {
            start: t,
            last: t,
            requests: 0,
            started: false,
        });
        if t - run.last > gap {
            *run = Run {
                start: t,
                last: t,
                requests: 0,
                started: false,
            };
        }
        run.requests += 1;
        run.last = run.last.max(t);
        let minutes = (run.last.div_euclid(60) - run.start.div_euclid(60) + 1) as f64;
        if !run.started
            && run.requests >= self.cfg.min_requests
            && run.requests as f64 / minutes >= self.cfg.rate
        {
            run.started = true;
            let (start, n) = (run.start, run.requests);
            writeln!(
                self.out,
                "{} storm started: {} from {} since {} ({} requests so far)",
                rfc3339(t),
                CATEGORIES[category].id,
                escape_text(client),
                rfc3339(start),
                thousands(n)
            )?;
            self.out.flush()?;
        }
        Ok(())
    }

    /// Ends the runs quiet for longer than the gap (all of them at the end of input).
    fn expire(&mut self, all: bool) -> Result<()> {
        let Some(now) = self.clock() else {
            return Ok(());
        };
        let gap = self.cfg.gap_minutes * 60;
        let mut ended: Vec<((usize, Vec<u8>), Run)> = Vec::new();
        self.runs.retain(|k, r| {
            let keep = !all && now - r.last <= gap;
            if !keep && r.started {
                ended.push((k.clone(), Run { ..*r }));
            }
            keep
        });
        ended.sort_by_key(|e| (e.1.start, e.0.clone()));
        for ((category, client), r) in ended {
            writeln!(
                self.out,
                "{} storm ended: {} from {}, {} requests from {} to {}",
                rfc3339(r.last),
                CATEGORIES[category].id,
                escape_text(&client),
                thousands(r.requests),
                rfc3339(r.start),
                rfc3339(r.last)
            )?;
        }
        self.out.flush()?;
        Ok(())
    }

    fn status(&mut self) -> Result<()> {
        let active = self.runs.values().filter(|r| r.started).count();
        let at = self.clock().map_or("-".to_string(), rfc3339);
        writeln!(
            self.out,
            "{at} status: {} lines, {} mail-client probes since the last status; {active} storm{} active",
            thousands(self.lines),
            thousands(self.noise),
            if active == 1 { "" } else { "s" }
        )?;
        self.out.flush()?;
        self.lines = 0;
        self.noise = 0;
        Ok(())
    }
}

/// What `--follow` takes from the command line.
pub struct FollowOptions {
    /// The format, or the candidates to detect it among.
    pub choice: FormatChoice,
    /// The storm rule.
    pub storms: StormConfig,
    /// Time between status lines.
    pub interval: Duration,
    /// Overrides the format's client address policy.
    pub client: Option<ClientIp>,
    /// Longer lines are skipped, never buffered whole.
    pub max_line: usize,
}

/// Reads stdin line by line into `tx`; a line longer than `max_line` is skipped to its end and
/// sent empty, so memory stays bounded.
fn read_lines(tx: crossbeam_channel::Sender<Vec<u8>>, max_line: usize) {
    let mut stdin = std::io::stdin().lock();
    let limit = max_line as u64 + 1;
    loop {
        let mut line = Vec::new();
        match (&mut stdin).take(limit).read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        if line.len() as u64 >= limit && !line.ends_with(b"\n") {
            line.clear();
            let mut rest = Vec::new();
            loop {
                rest.clear();
                match (&mut stdin).take(1 << 16).read_until(b'\n', &mut rest) {
                    Ok(0) | Err(_) => break,
                    Ok(_) if rest.ends_with(b"\n") => break,
                    Ok(_) => {}
                }
            }
        }
        if tx.send(line).is_err() {
            return;
        }
    }
}

/// How far ahead of the wall clock a line's time may be before it is ignored (a stray
/// timestamp must not end every storm).
const FUTURE: i64 = 3600;

/// Follows stdin until it ends.
pub fn run(o: &FollowOptions, out: &mut dyn Write) -> Result<()> {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(1024);
    let max_line = o.max_line;
    std::thread::spawn(move || read_lines(tx, max_line));
    let (choice, cfg, interval) = (&o.choice, o.storms, o.interval);
    let mut misses = 0u32;
    let classifier = Classifier::new();
    let mut decoder = Decoder::new(&classifier);
    let mut times = TimeCache::default();
    let mut format: Option<Arc<LogFormat>> = match choice {
        FormatChoice::Fixed(f) => Some(f.clone()),
        FormatChoice::Detect(_) => None,
    };
    let mut w = Watch {
        cfg,
        runs: HashMap::new(),
        out,
        lines: 0,
        noise: 0,
        now: None,
    };
    let mut next_status = Instant::now() + interval;
    loop {
        let wait = next_status.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(line) => {
                w.lines += 1;
                let line = line.strip_suffix(b"\n").unwrap_or(&line);
                if format.is_none() {
                    if let FormatChoice::Detect(candidates) = choice {
                        format = format::detect(&[line], candidates).ok();
                    }
                }
                let Some(f) = &format else { continue };
                let Ok(rec) = f.parse(line, &mut times) else {
                    // Many misses in a row: the format was told from a misleading first line.
                    misses += 1;
                    if misses >= 50 && matches!(choice, FormatChoice::Detect(_)) {
                        (format, misses) = (None, 0);
                    }
                    continue;
                };
                misses = 0;
                let Some(t) = rec.time else { continue };
                let wall = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(i64::MAX, |d| d.as_secs() as i64);
                if t > wall.saturating_add(FUTURE) {
                    continue;
                }
                w.now = Some((w.now.map_or(t, |n| n.0.max(t)), Instant::now()));
                let policy = o.client.unwrap_or(f.client);
                let Some((probe, who)) = decoder.probe(&classifier, &rec, policy) else {
                    continue;
                };
                if let Some(category) = probe.category {
                    let (_, client) = who.resolve();
                    let client = client.to_vec();
                    w.probe(category, &client, t)?;
                }
                if w.lines % 4096 == 0 {
                    w.expire(false)?;
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                w.expire(false)?;
                w.status()?;
                next_status = Instant::now() + interval;
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
    }
    w.expire(true)
}
