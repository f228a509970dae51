//! Telling a log's format from its lines: each candidate format is tried on each line, and
//! the one that parses the most wins (the earlier one on a tie).
//!
//! The decision rests on the lines that parse, never on the first few alone: a log's head may
//! be lines an attacker shaped, or lines of another format, so looking goes on until one
//! format has parsed [`ENOUGH`] lines or a budget of [`MAX_LINES`] lines or [`MAX_BYTES`]
//! bytes is spent. The budget is counted in lines and their bytes, never in blocks, so the
//! decision is the same for any chunk size. This module decides; it does not hold lines.

use super::record::Miss;
use super::time::TimeCache;
use super::LogFormat;
use std::sync::Arc;

/// Lines one format must parse for detection to stop looking.
const ENOUGH: usize = 200;
/// The most non-empty lines detection looks at before deciding on what parsed.
const MAX_LINES: usize = 10_000;
/// The most bytes of lines detection looks at (the blocks holding them wait meanwhile).
const MAX_BYTES: usize = 16 << 20;

/// Detection in progress: how many of the lines seen so far each candidate parsed.
pub(crate) struct Detector<'c> {
    candidates: &'c [Arc<LogFormat>],
    parsed: Vec<usize>,
    times: Vec<TimeCache>,
    lines: usize,
    bytes: usize,
}

impl<'c> Detector<'c> {
    /// Nothing seen yet.
    pub(crate) fn new(candidates: &'c [Arc<LogFormat>]) -> Self {
        Detector {
            candidates,
            parsed: vec![0; candidates.len()],
            times: candidates.iter().map(|_| TimeCache::default()).collect(),
            lines: 0,
            bytes: 0,
        }
    }

    /// Tries every candidate on one non-empty line (without its line end).
    pub(crate) fn add(&mut self, line: &[u8]) {
        self.lines += 1;
        self.bytes += line.len();
        for (i, f) in self.candidates.iter().enumerate() {
            if f.parse(line, &mut self.times[i]).is_ok() {
                self.parsed[i] += 1;
            }
        }
    }

    /// Counts bytes no format is tried on: empty lines, and lines over the length cap (one
    /// line each, counted at the cap).
    pub(crate) fn skip(&mut self, bytes: usize, line: bool) {
        self.bytes += bytes;
        self.lines += usize::from(line);
    }

    /// Whether enough has been seen to decide.
    pub(crate) fn done(&self) -> bool {
        let best = self.parsed.iter().copied().max().unwrap_or(0);
        best >= ENOUGH || self.lines >= MAX_LINES || self.bytes >= MAX_BYTES
    }

    /// The candidate that parsed the most lines (the earlier on a tie); `None` when none
    /// parsed any.
    pub(crate) fn best(&self) -> Option<&'c Arc<LogFormat>> {
        let best = self.parsed.iter().copied().max().filter(|&n| n > 0)?;
        let i = self.parsed.iter().position(|&n| n == best)?;
        Some(&self.candidates[i])
    }
}

/// How many of `lines` each candidate parses, and its miss on the first line.
pub(crate) fn score<'p>(
    lines: &[&[u8]],
    candidates: &'p [Arc<LogFormat>],
) -> Vec<(usize, usize, Option<Miss<'p>>)> {
    candidates
        .iter()
        .enumerate()
        .map(|(i, fmt)| {
            let mut times = TimeCache::default();
            let ok = lines
                .iter()
                .filter(|l| fmt.parse(l, &mut times).is_ok())
                .count();
            let first = lines.first().and_then(|l| fmt.parse(l, &mut times).err());
            (i, ok, first)
        })
        .collect()
}

/// Picks the candidate that parses the most of `lines` (ties go to the earlier one). When
/// none parses any, returns a diagnosis of the first line: the closest candidate (the one
/// that got furthest) and where it diverged.
pub(crate) fn detect(
    lines: &[&[u8]],
    candidates: &[Arc<LogFormat>],
) -> Result<Arc<LogFormat>, String> {
    let scores = score(lines, candidates);
    let best = scores.iter().map(|s| s.1).max().unwrap_or(0);
    if best > 0 {
        let i = scores.iter().find(|s| s.1 == best).expect("max exists").0;
        return Ok(candidates[i].clone());
    }
    let closest = scores
        .iter()
        .filter_map(|(i, _, miss)| miss.map(|m| (m.column, std::cmp::Reverse(*i), m)))
        .max_by_key(|(col, i, _)| (*col, *i));
    let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    let mut msg = format!("no known log format fits (tried {})", names.join(", "));
    if let Some((_, std::cmp::Reverse(i), miss)) = closest {
        msg += &format!("; closest is {}: {}", candidates[i].name, miss.describe());
    }
    Err(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PANTHEON: &[u8] = b"203.0.113.56 - - [19/Feb/2016:02:00:00 +0000]  \"GET /edu HTTP/1.1\" 200 13142 \"-\" \"Mozilla/5.0 (X)\" 0.399 \"-\"";

    fn presets() -> Vec<Arc<LogFormat>> {
        LogFormat::presets().into_iter().map(Arc::new).collect()
    }

    #[test]
    fn a_hostile_head_does_not_decide() {
        let c = presets();
        let mut d = Detector::new(&c);
        for _ in 0..ENOUGH * 3 {
            d.add(b"garbage a hostile client shaped");
        }
        assert!(!d.done() && d.best().is_none());
        for _ in 0..ENOUGH - 1 {
            d.add(PANTHEON);
        }
        assert!(!d.done());
        d.add(PANTHEON);
        assert!(d.done());
        assert_eq!(d.best().unwrap().name, "pantheon");
    }

    #[test]
    fn the_budget_ends_the_looking() {
        let c = presets();
        let mut d = Detector::new(&c);
        for _ in 0..MAX_LINES - 1 {
            d.skip(1, true);
        }
        assert!(!d.done());
        d.add(PANTHEON);
        assert!(d.done());
        assert_eq!(d.best().unwrap().name, "pantheon");
        let mut d = Detector::new(&c);
        d.skip(MAX_BYTES, false);
        assert!(d.done() && d.best().is_none());
    }

    #[test]
    fn json_with_unset_variables_is_json() {
        let c = presets();
        let line = br#"{"remote_addr":"127.0.0.1","request":"GET / HTTP/1.1","status":"403","request_time":"0.000","upstream_response_time":""}"#;
        assert_eq!(detect(&[line], &c).unwrap().name, "json");
    }
}
