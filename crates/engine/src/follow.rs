//! Following a live log (`tail -F access.log | noisegate --follow`): lines in, storm events
//! out. Each (category, client) seen within the last storm gap has a
//! [`StormTracker`](crate::analysis::storms::StormTracker) — the one the report uses — fed
//! minute by minute, so a storm announced here is the storm the report finds in the same
//! lines. Memory holds only those live clients, so it stays bounded over days.
//!
//! This module owns the per-line decisions (format detection, parsing, classification,
//! storm start and end); reading stdin, the wall clock and printing belong to the caller.
//! Lines are taken in arrival order: a line older than its client's current minute is
//! counted in that minute (a live log is nearly ordered; the report, which sorts, may place
//! such a line a minute earlier).

use crate::analysis::storms::{Storm, StormConfig, StormTracker};
use crate::classify::{Classifier, CATEGORIES};
use crate::escape::escape_text;
use crate::format::time::{rfc3339, TimeCache};
use crate::format::{self, ClientIp, LogFormat};
use crate::numbers::thousands;
use crate::pipeline::FormatChoice;
use crate::scan::Decoder;
use crate::summary::shorten;
use crate::summary::time::Cell;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

/// How far ahead of the wall clock a line's time may be before it is ignored (a stray
/// timestamp must not end every storm).
const FUTURE: i64 = 3600;

/// Misses in a row after which a detected format is decided again.
const REDETECT: u32 = 50;

/// Most (category, client) pairs followed at once: past it, a sample (see [`Follower`]).
pub(crate) const MAX_FOLLOWED: usize = 50_000;

/// Most bytes the followed pairs may hold (see [`held`]): with clients of 256 bytes (the
/// longest kept, see [`shorten`]) about 15,000 pairs, so memory stays bounded by bytes too.
const MAX_FOLLOWED_BYTES: usize = 16 << 20;

/// What one followed pair holds: its key three times (the map, the rank index, the tracker)
/// and a fixed share for the tracker, the cell and the table entries.
fn held(key: &(usize, Vec<u8>)) -> usize {
    3 * key.1.len() + 256
}

/// What a followed log did.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A client's run first met the storm rule.
    Started {
        /// The log time of the line that made it a storm.
        at: i64,
        /// Category index.
        category: usize,
        /// The client.
        client: Vec<u8>,
        /// The storm's first request.
        since: i64,
        /// Its requests so far.
        requests: u64,
    },
    /// A storm ended (its client was quiet for longer than the gap, or the input ended).
    Ended(Storm),
    /// More than 50,000 (category, client) pairs, or more than 16 MB of them, probed within
    /// the storm gap: from now on a sample of them is followed (said once).
    Sampled {
        /// The log time when the cap was reached.
        at: i64,
    },
    /// A run announced as a storm ended without meeting the rule over its final span (it
    /// slowed down inside its own gap); it is no storm in the report either.
    Faded {
        /// Category index.
        category: usize,
        /// The client.
        client: Vec<u8>,
        /// The run's last request.
        last: i64,
    },
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::Started {
                at,
                category,
                client,
                since,
                requests,
            } => write!(
                f,
                "{} storm started: {} from {} since {} ({} requests so far)",
                rfc3339(*at),
                CATEGORIES[*category].id,
                escape_text(client),
                rfc3339(*since),
                thousands(*requests)
            ),
            Event::Ended(s) => write!(
                f,
                "{} storm ended: {} from {}, {} requests from {} to {}",
                rfc3339(s.end),
                CATEGORIES[s.category].id,
                escape_text(&s.client),
                thousands(s.requests),
                rfc3339(s.start),
                rfc3339(s.end)
            ),
            Event::Sampled { at } => write!(
                f,
                "{} note: more than {} clients, or more than {} MB of them, probe within the \
                 storm gap: following a sample of them (the same clients whatever the order of \
                 the lines)",
                rfc3339(*at),
                thousands(MAX_FOLLOWED as u64),
                MAX_FOLLOWED_BYTES >> 20
            ),
            Event::Faded {
                category,
                client,
                last,
            } => write!(
                f,
                "{} storm ended: {} from {} slowed below the storm rule over its whole run",
                rfc3339(*last),
                CATEGORIES[*category].id,
                escape_text(client)
            ),
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} status: {} lines, {} mail-client probes since the last status; {} storm{} active",
            self.at.map_or("-".to_string(), rfc3339),
            thousands(self.lines),
            thousands(self.noise),
            self.active,
            if self.active == 1 { "" } else { "s" }
        )
    }
}

/// One live (category, client): its tracker, the minute being filled, and whether its
/// current run was announced.
struct Live {
    tracker: StormTracker,
    cell: Cell,
    started: bool,
}

impl Live {
    fn last(&self) -> i64 {
        self.cell.minute * 60 + i64::from(self.cell.last_sec)
    }
}

/// Counts since the last [`Follower::status`]; shown as the status line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// The log time now, when a line with a time was read.
    pub at: Option<i64>,
    /// Lines read.
    pub lines: u64,
    /// Mail-client probes among them.
    pub noise: u64,
    /// Storms in progress now.
    pub active: usize,
}

/// The state of a follow.
pub struct Follower {
    cfg: StormConfig,
    choice: FormatChoice,
    format: Option<Arc<LogFormat>>,
    client: Option<ClientIp>,
    misses: u32,
    classifier: Classifier,
    decoder: Decoder,
    times: TimeCache,
    live: HashMap<(usize, Vec<u8>), Live>,
    /// The followed pairs by the rank of their key, to keep the smallest when full.
    ranks: std::collections::BTreeMap<u64, (usize, Vec<u8>)>,
    sampled: bool,
    /// Bytes the followed pairs hold (see [`held`]).
    bytes: usize,
    status: Status,
    latest: Option<i64>,
}

impl Follower {
    /// A follower with this format choice, storm rule and client policy override.
    pub fn new(choice: FormatChoice, cfg: StormConfig, client: Option<ClientIp>) -> Self {
        let classifier = Classifier::new();
        let decoder = Decoder::new(&classifier);
        let format = match &choice {
            FormatChoice::Fixed(f) => Some(f.clone()),
            FormatChoice::Detect(_) => None,
        };
        Follower {
            cfg,
            choice,
            format,
            client,
            misses: 0,
            classifier,
            decoder,
            times: TimeCache::default(),
            live: HashMap::new(),
            ranks: std::collections::BTreeMap::new(),
            sampled: false,
            bytes: 0,
            status: Status::default(),
            latest: None,
        }
    }

    /// The newest log time read so far.
    pub fn latest(&self) -> Option<i64> {
        self.latest
    }

    /// Takes one line (without its `\n`); `wall` is the wall clock, epoch seconds. Returns
    /// whether the line advanced the log time.
    pub fn line(&mut self, line: &[u8], wall: i64, events: &mut Vec<Event>) -> bool {
        self.status.lines += 1;
        if self.format.is_none() {
            if let FormatChoice::Detect(candidates) = &self.choice {
                self.format = format::detect(&[line], candidates).ok();
            }
        }
        let Some(f) = &self.format else { return false };
        let Ok(rec) = f.parse(line, &mut self.times) else {
            // Many misses in a row: the format was told from a misleading first line.
            self.misses += 1;
            if self.misses >= REDETECT && matches!(self.choice, FormatChoice::Detect(_)) {
                (self.format, self.misses) = (None, 0);
            }
            return false;
        };
        self.misses = 0;
        let Some(t) = rec.time.filter(|&t| t <= wall.saturating_add(FUTURE)) else {
            return false;
        };
        self.latest = Some(self.latest.map_or(t, |l| l.max(t)));
        let policy = self.client.as_ref().unwrap_or(&f.client);
        let rt = rec.server_time_us().unwrap_or(0);
        let Some((probe, who)) = self.decoder.decode(&self.classifier, &rec, policy) else {
            return true;
        };
        if let Some(category) = probe.category {
            let client = who.resolve().1.to_vec();
            self.probe(category, client, t, rt, events);
        }
        true
    }

    fn probe(&mut self, category: usize, client: Vec<u8>, t: i64, rt: u64, ev: &mut Vec<Event>) {
        self.status.noise += 1;
        let cfg = self.cfg;
        let (minute, sec) = (t.div_euclid(60), t.rem_euclid(60) as u8);
        let fresh = Cell {
            minute,
            requests: 0,
            first_sec: sec,
            last_sec: sec,
            request_time_us: 0,
        };
        // A long client (an attacker's X-Forwarded-For) is kept as the report keeps it: shortened.
        let key = (category, shorten(&client).into_owned());
        if !self.live.contains_key(&key) && !self.admit(&key, t, ev) {
            return;
        }
        let live = self.live.entry(key.clone()).or_insert_with(|| Live {
            tracker: StormTracker::new(cfg, category, &key.1),
            cell: fresh,
            started: false,
        });
        if minute > live.cell.minute {
            let done = live.cell;
            let done_last = live.last();
            let mut ended = Vec::new();
            live.tracker.push(&done, &mut ended);
            live.cell = fresh;
            if t - done_last > cfg.gap_minutes * 60 {
                live.tracker.finish(&mut ended);
                report_end(&key, live.started, ended, Some(done_last), ev);
                live.started = false;
            }
        }
        // A late line counts in the minute being filled, without widening it.
        let sec = if minute < live.cell.minute {
            live.cell.first_sec
        } else {
            sec
        };
        let c = &mut live.cell;
        c.requests += 1;
        c.first_sec = c.first_sec.min(sec);
        c.last_sec = c.last_sec.max(sec);
        c.request_time_us = c.request_time_us.saturating_add(rt);
        if !live.started {
            if let Some((since, requests)) = live.tracker.storming(Some(&live.cell)) {
                live.started = true;
                ev.push(Event::Started {
                    at: t,
                    category,
                    client: key.1.clone(),
                    since,
                    requests,
                });
            }
        }
    }

    /// Whether a new pair is followed: always below [`MAX_FOLLOWED`]; past it, only when its
    /// rank (a fixed hash) is below the largest followed one, which is then let go. The pairs
    /// followed are so the ones of smallest rank, whatever the order of the lines.
    fn admit(&mut self, key: &(usize, Vec<u8>), t: i64, ev: &mut Vec<Event>) -> bool {
        let rank = rank(key);
        let weight = held(key);
        while self.live.len() >= MAX_FOLLOWED || self.bytes + weight > MAX_FOLLOWED_BYTES {
            if !self.sampled {
                self.sampled = true;
                ev.push(Event::Sampled { at: t });
            }
            match self.ranks.last_key_value() {
                Some((&top, _)) if rank < top => {
                    if let Some((_, out)) = self.ranks.pop_last() {
                        if self.live.remove(&out).is_some() {
                            self.bytes -= held(&out);
                        }
                    }
                }
                _ => return false,
            }
        }
        self.ranks.insert(rank, key.clone());
        self.bytes += weight;
        true
    }

    /// Ends the runs quiet for longer than the storm gap at log time `now` (every run when
    /// `all`, at the end of input); their storms become events, in start order.
    pub fn expire(&mut self, now: i64, all: bool, events: &mut Vec<Event>) {
        let gap = self.cfg.gap_minutes * 60;
        let mut ended: Vec<((usize, Vec<u8>), Live)> = Vec::new();
        let keys: Vec<(usize, Vec<u8>)> = self
            .live
            .iter()
            .filter(|(_, l)| all || now - l.last() > gap)
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.ranks.remove(&rank(&k));
            if let Some(l) = self.live.remove(&k) {
                self.bytes -= held(&k);
                ended.push((k, l));
            }
        }
        ended.sort_by_key(|(k, l)| (l.last(), k.clone()));
        for (key, mut l) in ended {
            let mut storms = Vec::new();
            l.tracker.push(&l.cell, &mut storms);
            let last = l.last();
            l.tracker.finish(&mut storms);
            report_end(&key, l.started, storms, Some(last), events);
        }
    }

    /// The counts since the last call, and the storms in progress, at log time `at`.
    pub fn status(&mut self, at: Option<i64>) -> Status {
        let active = self.live.values().filter(|l| l.started).count();
        let s = Status {
            at,
            active,
            ..self.status
        };
        self.status = Status::default();
        s
    }
}

/// The rank of a followed pair: a fixed hash, the same in every run.
fn rank(key: &(usize, Vec<u8>)) -> u64 {
    use std::hash::BuildHasher;
    foldhash::fast::FixedState::with_seed(11).hash_one(key)
}

/// The events of a run that ended: its storms, or that an announced storm faded.
fn report_end(
    key: &(usize, Vec<u8>),
    started: bool,
    storms: Vec<Storm>,
    last: Option<i64>,
    ev: &mut Vec<Event>,
) {
    if storms.is_empty() {
        if started {
            ev.push(Event::Faded {
                category: key.0,
                client: key.1.clone(),
                last: last.unwrap_or(0),
            });
        }
        return;
    }
    let mut storms = storms;
    storms.sort_by_key(|s| s.start);
    ev.extend(storms.into_iter().map(Event::Ended));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_client_is_followed_under_its_shortened_name() {
        let mut f = Follower::new(
            FormatChoice::Fixed(std::sync::Arc::new(LogFormat::preset("pantheon").unwrap())),
            StormConfig::default(),
            None,
        );
        let client = format!("203.0.113.{}", "9".repeat(7000));
        let mut ev = Vec::new();
        for i in 0..200 {
            let line = format!(
                "10.0.0.1 - - [01/Mar/2024:00:00:{:02} +0000]  \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 1 \"-\" \"Outlook\" 0.1 \"{client}\"",
                i % 60
            );
            f.line(line.as_bytes(), i64::MAX, &mut ev);
        }
        f.expire(i64::MAX, true, &mut ev);
        let Some(Event::Ended(s)) = ev.last() else {
            panic!("{ev:?}")
        };
        assert_eq!(s.client, shorten(client.as_bytes()).into_owned());
        assert_eq!(s.requests, 200);
    }
}
