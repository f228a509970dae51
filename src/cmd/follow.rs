//! `--follow`: watch a never-ending log on stdin (`tail -F access.log | noisegate --follow`).
//! A line is printed when a client storm starts and when it ends, and a compact status every
//! `--interval` seconds; output is flushed at once. The storm decisions are the engine's
//! [`Follower`] (the report's storm rule, fed as lines arrive); this module reads stdin, keeps
//! the clock and prints.
//!
//! A storm ends when its client has been quiet for longer than the gap, by log time advanced
//! by the wall clock while the log is silent, or when the input ends.

use anyhow::Result;
use noisegate_engine::{ClientIp, Event, Follower, FormatChoice, StormConfig};
use std::io::{BufRead, Read, Write};
use std::time::{Duration, Instant};

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

/// Seconds since the epoch by the wall clock.
fn wall() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(i64::MAX, |d| d.as_secs() as i64)
}

/// Writes events and flushes.
fn emit(out: &mut dyn Write, events: &mut Vec<Event>) -> Result<()> {
    for e in events.drain(..) {
        writeln!(out, "{e}")?;
    }
    out.flush()?;
    Ok(())
}

/// Follows stdin until it ends.
pub fn run(o: &FollowOptions, out: &mut dyn Write) -> Result<()> {
    let (tx, rx) = crossbeam_channel::bounded::<Vec<u8>>(1024);
    let max_line = o.max_line;
    std::thread::spawn(move || read_lines(tx, max_line));
    let mut f = Follower::new(o.choice.clone(), o.storms, o.client.clone());
    let mut events = Vec::new();
    // The latest log time and when it was read: log time advances with the wall clock
    // while the log is silent.
    let mut read_at = Instant::now();
    let clock = |f: &Follower, at: Instant| f.latest().map(|t| t + at.elapsed().as_secs() as i64);
    let mut next_status = Instant::now() + o.interval;
    // Runs are ended every second, so that a storm that ends while the log is silent (or while
    // other clients keep writing it) is told within a second, not at the next status.
    let second = Duration::from_secs(1);
    let mut next_expire = Instant::now() + second;
    loop {
        let wait = next_status
            .min(next_expire)
            .saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(line) => {
                let line = line.strip_suffix(b"\n").unwrap_or(&line);
                if f.line(line, wall(), &mut events) {
                    read_at = Instant::now();
                }
            }
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {}
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => break,
        }
        let at = Instant::now();
        let status = at >= next_status;
        if status || at >= next_expire {
            if let Some(now) = clock(&f, read_at) {
                f.expire(now, false, &mut events);
            }
            next_expire = at + second;
        }
        if !events.is_empty() {
            emit(out, &mut events)?;
        }
        if status {
            writeln!(out, "{}", f.status(clock(&f, read_at)))?;
            out.flush()?;
            next_status = at + o.interval;
        }
    }
    f.expire(i64::MAX, true, &mut events);
    emit(out, &mut events)
}
