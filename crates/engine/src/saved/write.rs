//! Writing a version-3 summary: the header line, then one record per line straight from the
//! in-memory summary and the scan's noise spools, with no copy of the summary and no list of
//! the noise records.

use super::record::{self as rec, Bytes, Header, MapHead, Record, Run, Traffic as TrafficRec};
use super::record::{FORMAT, VERSION};
use crate::classify::family::Family;
use crate::classify::CATEGORIES;
use crate::format::Reject;
use crate::pipeline::ScanResult;
use crate::summary::evidence::Evidence;
use crate::summary::noise;
use crate::summary::{CappedMap, CategoryStats, Summary, Tally, Traffic};
use anyhow::Result;
use serde::Serialize;
use std::borrow::Cow;
use std::io::{BufReader, Seek, Write};

/// Writes records, one a line, counting them for the end record.
struct Lines<W: Write> {
    w: W,
    records: u64,
}

impl<W: Write> Lines<W> {
    fn put(&mut self, r: &impl Serialize) -> Result<()> {
        serde_json::to_writer(&mut self.w, r)?;
        self.w.write_all(b"\n")?;
        self.records += 1;
        Ok(())
    }
}

/// Writes the summary file of `scan` to `w` (uncompressed).
pub(super) fn write(w: impl Write, scan: &mut ScanResult) -> Result<()> {
    let mut out = Lines { w, records: 0 };
    out.put(&Header {
        format: FORMAT.into(),
        version: VERSION,
        noisegate: env!("CARGO_PKG_VERSION").into(),
    })?;
    out.records = 0;
    for (name, f) in scan.sources.iter().zip(&scan.formats) {
        out.put(&Record::Source {
            name: name.into(),
            format: f.name.as_deref().map(Cow::from),
            notes: f.notes.clone(),
        })?;
    }
    for e in &scan.errors {
        out.put(&Record::Error {
            source: (&e.source).into(),
            message: (&e.message).into(),
        })?;
    }
    write_summary(&mut out, &scan.summary)?;
    write_noise(&mut out, scan)?;
    let records = out.records;
    out.put(&Record::End { records })
}

fn write_summary<W: Write>(out: &mut Lines<W>, s: &Summary) -> Result<()> {
    out.put(&Record::Run(run(s)))?;
    for ex in &s.reject_examples {
        out.put(&Record::RejectExample(rec::RejectExample {
            source: ex.source,
            line: ex.line,
            reason: ex.reason.id().into(),
            detail: (&ex.detail).into(),
            text: Bytes::of(&ex.text),
        }))?;
    }
    out.put(&Record::Totals(traffic(&s.totals)))?;
    for (c, stats) in CATEGORIES.iter().zip(&s.categories) {
        write_category(out, c.id, stats)?;
    }
    out.put(&Record::Map(head("served", None, &s.served)))?;
    for (k, n) in s.served.held() {
        out.put(&Record::Key(Bytes::of(k), *n))?;
    }
    out.put(&Record::Map(head("activity", None, &s.activity)))?;
    for (k, a) in s.activity.held() {
        let Some((c, client)) = k.split_first() else {
            continue;
        };
        let Some(cat) = CATEGORIES.get(usize::from(*c)) else {
            continue;
        };
        // Cells in minute order, each minute once, whatever order the lines came in (and
        // however the scan added them up).
        let sorted = a.cells.windows(2).all(|w| w[0].minute < w[1].minute);
        let normal;
        let a = if sorted {
            a
        } else {
            normal = {
                let mut n = a.clone();
                n.normalize();
                n
            };
            &normal
        };
        out.put(&Record::Activity(rec::Activity::of(
            cat.id, client, &a.cells,
        )))?;
    }
    out.put(&Record::Map(head("domains", None, &s.domains)))?;
    for (k, d) in s.domains.held() {
        out.put(&Record::Domain(super::domains::record(k, d)))?;
    }
    write_timeline(out, s)
}

fn run(s: &Summary) -> Run<'static> {
    let l = &s.lines;
    Run {
        total: l.total,
        parsed: l.parsed,
        rejected: l.rejected,
        filtered: l.filtered,
        rejects: s
            .rejects
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(i, &n)| (Cow::Owned(Reject::from_index(i).id()), n))
            .collect(),
        span: s.span,
        cheap_answers: rec::by_index(&s.cheap_answers),
        spool_failed: s.spool_failed,
    }
}

fn traffic(t: &Traffic) -> TrafficRec {
    TrafficRec {
        requests: t.requests,
        bytes: t.bytes,
        request_time_us: t.request_time_us,
        timed: t.timed,
        max_request_time_us: t.max_request_time_us,
        status: t.statuses().collect(),
        latency: t
            .latency
            .histogram()
            .iter_recorded()
            .map(|v| (v.value_iterated_to(), v.count_at_value()))
            .collect(),
    }
}

fn head<'a, V: Tally>(of: &'a str, category: Option<&'a str>, m: &CappedMap<V>) -> MapHead<'a> {
    let s = m.settings();
    MapHead {
        of: of.into(),
        category: category.map(Cow::from),
        cap: s.cap,
        threshold: s.threshold,
        overflow: s.overflow,
        budget: s.budget,
    }
}

fn write_category<W: Write>(out: &mut Lines<W>, id: &str, c: &CategoryStats) -> Result<()> {
    out.put(&Record::Category(rec::Category {
        id: id.into(),
        traffic: traffic(&c.traffic),
        scanner: c.scanner,
        blocked: c.blocked,
        blocked_time_us: c.blocked_time_us,
    }))?;
    let maps = [
        ("methods", &c.methods),
        ("clients", &c.clients),
        ("user_agents", &c.user_agents),
        ("paths", &c.paths),
        ("families", &c.families),
    ];
    for (of, m) in maps {
        out.put(&Record::Map(head(of, Some(id), m)))?;
        for (k, n) in m.held() {
            out.put(&Record::Key(Bytes::of(k), *n))?;
        }
    }
    out.put(&Record::Map(head("evidence", Some(id), &c.evidence)))?;
    for (k, e) in c.evidence.held() {
        out.put(&Record::Evidence(Bytes::of(k), evidence(e)))?;
    }
    Ok(())
}

fn evidence(e: &Evidence) -> rec::EvidenceRec<'static> {
    let (requests, [clients, days, hours], families) = e.parts();
    rec::EvidenceRec {
        requests,
        clients: clients.to_vec(),
        days: days.to_vec(),
        hours: hours.to_vec(),
        families: Family::ALL
            .iter()
            .filter(|&&f| families & (1 << (f as u16)) != 0)
            .map(|f| Cow::Borrowed(f.id()))
            .collect(),
    }
}

fn write_timeline<W: Write>(out: &mut Lines<W>, s: &Summary) -> Result<()> {
    out.put(&Record::Timeline {
        cutoff: s.timeline.cutoff(),
    })?;
    for (at, m) in s.timeline.sorted() {
        out.put(&Record::Minute(rec::Minute {
            at,
            requests: m.requests,
            noise: m.noise,
            request_time_us: m.request_time_us,
            noise_time_us: m.noise_time_us,
            blocked: Some(m.blocked),
            categories: CATEGORIES
                .iter()
                .zip(m.categories)
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| (Cow::Borrowed(c.id), n))
                .collect(),
        }))?;
    }
    Ok(())
}

/// Copies the noise records of every spool, one at a time.
fn write_noise<W: Write>(out: &mut Lines<W>, scan: &mut ScanResult) -> Result<()> {
    for spool in &mut scan.spools {
        spool.rewind()?;
        let mut rd = noise::Reader::new(BufReader::with_capacity(1 << 20, &*spool));
        while let Some(item) = rd.next()? {
            let noise::Item::Line(l) = item else {
                continue;
            };
            let n = rd.def(l.slot);
            let Some(cat) = CATEGORIES.get(usize::from(n.category)) else {
                continue;
            };
            let r = rec::Noise {
                category: cat.id.into(),
                time: l.time,
                status: l.status,
                method: Bytes::of(&n.method),
                client: Bytes::of(&n.client),
                path: Bytes::of(&n.path),
                user_agent: Bytes::of(&n.user_agent),
            };
            if !plain_noise(&mut out.w, &r)? {
                out.put(&Record::Noise(r))?;
            } else {
                out.records += 1;
            }
        }
        spool.rewind()?;
    }
    Ok(())
}

/// A string JSON writes as it is: printable ASCII without `"` or `\\`.
fn plain(b: &[u8]) -> bool {
    b.iter()
        .all(|&c| (0x20..0x7f).contains(&c) && c != b'"' && c != b'\\')
}

/// Writes a noise record whose strings need no escaping, as serde would write it, and returns
/// `true`; `false` (nothing written) when one needs escaping. Noise records are most of a
/// saved summary, and this is several times faster than serde's general path.
fn plain_noise(w: &mut impl Write, r: &rec::Noise<'_>) -> Result<bool> {
    let fields = [&r.method.0, &r.client.0, &r.path.0, &r.user_agent.0];
    if !plain(r.category.as_bytes()) || !fields.iter().all(|f| plain(f)) {
        return Ok(false);
    }
    w.write_all(b"{\"noise\":{\"category\":\"")?;
    w.write_all(r.category.as_bytes())?;
    w.write_all(b"\",\"time\":")?;
    w.write_all(itoa::Buffer::new().format(r.time).as_bytes())?;
    w.write_all(b",\"status\":")?;
    w.write_all(itoa::Buffer::new().format(r.status).as_bytes())?;
    for (name, f) in ["method", "client", "path", "user_agent"]
        .iter()
        .zip(fields)
    {
        w.write_all(b",\"")?;
        w.write_all(name.as_bytes())?;
        w.write_all(b"\":\"")?;
        w.write_all(f)?;
        w.write_all(b"\"")?;
    }
    w.write_all(b"}}\n")?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_plain_noise_record_is_what_serde_writes() {
        let strings: [&[u8]; 8] = [
            b"",
            b"POST",
            b"2001:db8::1",
            b"/Autodiscover/autodiscover.xml",
            b"Microsoft Office/16.0 (Windows NT 10.0; 16.0.4266; Pro)",
            b"a\"b",
            b"back\\slash",
            b"\xc3\xa9\x1b[31m\x7f",
        ];
        for (i, a) in strings.iter().enumerate() {
            for b in &strings {
                let r = rec::Noise {
                    category: "autodiscover".into(),
                    time: -1_700_000_000 + i as i64,
                    status: [0, 404, 65535][i % 3],
                    method: Bytes::of(a),
                    client: Bytes::of(b),
                    path: Bytes::of(a),
                    user_agent: Bytes::of(b),
                };
                let mut fast = Vec::new();
                let wrote = plain_noise(&mut fast, &r).unwrap();
                assert_eq!(wrote, plain(a) && plain(b), "{a:?} {b:?}");
                let mut slow = serde_json::to_vec(&Record::Noise(r)).unwrap();
                slow.push(b'\n');
                if wrote {
                    assert_eq!(
                        String::from_utf8_lossy(&fast),
                        String::from_utf8_lossy(&slow)
                    );
                } else {
                    assert!(fast.is_empty());
                }
            }
        }
    }
}
