//! The details of each storm and surge: statuses, methods, paths, user agents, senders and
//! the busiest sliding 60 seconds.
//!
//! Which requests belong to a storm is known only once every line is counted, so the scan
//! keeps its noise lines (a few percent of the input) in temporary files, and this second
//! pass reads them back with the same formats, decoder and client policy as the first. The
//! sums are order-free, so the result does not depend on the workers' split.

use super::storms::{Storm, Surge};
use crate::classify::family::family;
use crate::classify::Classifier;
use crate::format::time::TimeCache;
use crate::pipeline::ScanResult;
use crate::scan::Decoder;
use crate::summary::KeyCounts;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufReader, Read};

/// How many storms and surges get details (the largest storms; every surge up to this).
pub const DETAILED: usize = 200;

/// What a storm or surge was made of.
#[derive(Clone, Debug)]
pub struct Details {
    /// Requests by status.
    pub status: BTreeMap<u16, u64>,
    /// Requests by method.
    pub methods: KeyCounts,
    /// Requests by raw path.
    pub paths: KeyCounts,
    /// Requests by user agent.
    pub user_agents: KeyCounts,
    /// Requests by client family.
    pub families: KeyCounts,
    /// Requests per second, for the sliding peak.
    seconds: HashMap<i64, u64>,
}

impl Default for Details {
    fn default() -> Self {
        Details {
            status: BTreeMap::new(),
            methods: KeyCounts::new(64),
            paths: KeyCounts::new(1000),
            user_agents: KeyCounts::new(1000),
            families: KeyCounts::new(64),
            seconds: HashMap::new(),
        }
    }
}

impl Details {
    /// The most requests in any 60-second window (`[t, t + 60)`).
    pub fn peak_60s(&self) -> u64 {
        let mut secs: Vec<(i64, u64)> = self.seconds.iter().map(|(t, n)| (*t, *n)).collect();
        secs.sort_unstable();
        let (mut best, mut sum, mut lo) = (0, 0, 0);
        for hi in 0..secs.len() {
            sum += secs[hi].1;
            while secs[hi].0 - secs[lo].0 >= 60 {
                sum -= secs[lo].1;
                lo += 1;
            }
            best = best.max(sum);
        }
        best
    }
}

/// Where a noise request may belong: storms by (category, client), surges by category.
struct Index<'a> {
    storms: HashMap<(usize, &'a [u8]), Vec<usize>>,
    surges: HashMap<usize, Vec<usize>>,
}

/// Reads one spooled record: source index and line.
fn next_record(r: &mut impl Read, line: &mut Vec<u8>) -> std::io::Result<Option<u32>> {
    let mut head = [0u8; 8];
    match r.read_exact(&mut head) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let source = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
    let len = u32::from_le_bytes(head[4..].try_into().expect("4 bytes")) as usize;
    line.resize(len, 0);
    r.read_exact(line)?;
    Ok(Some(source))
}

/// Details of the first [`DETAILED`] storms and surges, from the scan's spooled noise lines.
/// `None` for each when the scan kept no spool.
pub fn details(
    scan: &mut ScanResult,
    storms: &[Storm],
    surges: &[Surge],
) -> Result<(Vec<Details>, Vec<Details>)> {
    let (storms, surges) = (
        &storms[..storms.len().min(DETAILED)],
        &surges[..surges.len().min(DETAILED)],
    );
    let mut index = Index {
        storms: HashMap::new(),
        surges: HashMap::new(),
    };
    for (i, s) in storms.iter().enumerate() {
        index
            .storms
            .entry((s.category, &s.client[..]))
            .or_default()
            .push(i);
    }
    for (i, s) in surges.iter().enumerate() {
        index.surges.entry(s.category).or_default().push(i);
    }
    let mut out = (
        vec![Details::default(); storms.len()],
        vec![Details::default(); surges.len()],
    );
    if index.storms.is_empty() && index.surges.is_empty() {
        return Ok(out);
    }
    let classifier = Classifier::new();
    let mut decoder = Decoder::new(&classifier);
    let mut times = TimeCache::default();
    let mut line = Vec::new();
    for spool in &mut scan.spools {
        let mut r = BufReader::with_capacity(1 << 16, spool);
        while let Some(source) =
            next_record(&mut r, &mut line).context("reading back noise lines")?
        {
            let Some(format) = scan
                .formats
                .get(source as usize)
                .and_then(|f| f.format.as_ref())
            else {
                continue;
            };
            let Ok(rec) = format.parse(&line, &mut times) else {
                continue;
            };
            let policy = scan.client.unwrap_or(format.client);
            let (Some(t), Some((probe, who))) =
                (rec.time, decoder.probe(&classifier, &rec, policy))
            else {
                continue;
            };
            let Some(category) = probe.category else {
                continue;
            };
            let (ua, client) = who.resolve();
            let hit = |d: &mut Details| {
                *d.status.entry(rec.status.unwrap_or(0)).or_default() += 1;
                d.methods.add(probe.method.unwrap_or(b"-"), 1);
                d.paths.add(probe.path, 1);
                d.user_agents.add(ua, 1);
                d.families.add(family(ua).id().as_bytes(), 1);
                *d.seconds.entry(t).or_default() += 1;
            };
            for &i in index.storms.get(&(category, client)).into_iter().flatten() {
                if (storms[i].start..=storms[i].end).contains(&t) {
                    hit(&mut out.0[i]);
                }
            }
            for &i in index.surges.get(&category).into_iter().flatten() {
                if (surges[i].start..=surges[i].end).contains(&t) {
                    hit(&mut out.1[i]);
                }
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sliding_peak_spans_minute_boundaries() {
        let mut d = Details::default();
        for t in [50, 55, 59, 60, 61, 65, 109, 110, 200] {
            *d.seconds.entry(t).or_default() += 1;
        }
        // 50..109 holds 7 requests; no other 60 s window holds more.
        assert_eq!(d.peak_60s(), 7);
    }
}
