//! Reading version-1 summaries, the layout of the first release: one JSON object (`format`,
//! `version`, `noisegate`, `sources`, `errors`, `summary`, `noise`) whose tables are
//! positional. Their positions are frozen here as that release had them (categories, reject
//! reasons, the fields of a reject example), so the in-memory tables may grow without breaking
//! these files. Each part is translated into the records of later versions; the noise records stream
//! through one at a time, only the summary part is held whole (bounded by its caps).

use super::read::FileReader;
use super::record::{self as rec, Bytes, MapHead, Record, Run, Traffic as TrafficRec};
use super::record::{newer, FORMAT, VERSION};
use anyhow::{anyhow, bail, Context, Result};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;

/// The categories of version 1, by index.
const CATEGORIES: [&str; 8] = [
    "autodiscover",
    "autoconfig",
    "activesync",
    "ews",
    "owa",
    "exchange",
    "dav",
    "mta-sts",
];

/// The reject reasons of version 1, by index (their ids).
const REJECTS: [&str; 29] = [
    "empty",
    "too_long",
    "layout",
    "trailing_data",
    "not_json",
    "bad_remote_addr",
    "bad_remote_user",
    "bad_time_local",
    "bad_time_iso8601",
    "bad_msec",
    "bad_request",
    "bad_request_method",
    "bad_request_uri",
    "bad_uri",
    "bad_args",
    "bad_server_protocol",
    "bad_status",
    "bad_body_bytes_sent",
    "bad_bytes_sent",
    "bad_request_length",
    "bad_request_time",
    "bad_upstream_response_time",
    "bad_http_referer",
    "bad_http_user_agent",
    "bad_http_x_forwarded_for",
    "bad_host",
    "bad_server_name",
    "bad_time",
    "bad_a variable",
];

/// The field names of version 1's `{"Value": field}` reject reasons, in [`REJECTS`] order
/// from its sixth entry.
const FIELDS: [&str; 24] = [
    "remote_addr",
    "remote_user",
    "time_local",
    "time_iso8601",
    "msec",
    "request",
    "request_method",
    "request_uri",
    "uri",
    "args",
    "server_protocol",
    "status",
    "body_bytes_sent",
    "bytes_sent",
    "request_length",
    "request_time",
    "upstream_response_time",
    "referer",
    "user_agent",
    "forwarded_for",
    "host",
    "server_name",
    "any_time",
    "opaque",
];

#[derive(Deserialize)]
struct Source {
    name: String,
    format: Option<String>,
    notes: Vec<String>,
}

#[derive(Deserialize)]
struct Summary {
    lines: Lines,
    rejects: Vec<u64>,
    reject_examples: Vec<RejectExample>,
    totals: Traffic,
    span: Option<(i64, i64)>,
    categories: Vec<Category>,
    served: Map<u64>,
    timeline: Timeline,
    activity: Map<Activity>,
    cheap_answers: Vec<u64>,
    spool_failed: bool,
}

#[derive(Deserialize)]
struct Lines {
    total: u64,
    parsed: u64,
    rejected: u64,
    filtered: u64,
}

#[derive(Deserialize)]
struct RejectExample {
    source: u32,
    line: u64,
    reason: Reason,
    detail: String,
    text: Vec<u8>,
}

#[derive(Deserialize)]
enum Reason {
    Empty,
    TooLong,
    Layout,
    TrailingData,
    NotJson,
    Value(String),
}

#[derive(Deserialize)]
struct Traffic {
    requests: u64,
    bytes: u64,
    request_time_us: u64,
    timed: u64,
    max_request_time_us: u64,
    status: Vec<(u64, u64)>,
    latency: Vec<(u64, u64)>,
}

#[derive(Deserialize)]
struct Category {
    traffic: Traffic,
    methods: Map<u64>,
    clients: Map<u64>,
    user_agents: Map<u64>,
    paths: Map<u64>,
    families: Map<u64>,
    scanner: u64,
    blocked: u64,
    blocked_time_us: u64,
}

#[derive(Deserialize)]
struct Map<V> {
    cap: usize,
    threshold: u64,
    overflow: u64,
    #[serde(default)]
    budget: usize,
    entries: Vec<(Vec<u8>, V)>,
}

#[derive(Deserialize)]
struct Activity {
    cells: Vec<Cell>,
}

#[derive(Deserialize)]
struct Cell {
    minute: i64,
    requests: u32,
    first_sec: u8,
    last_sec: u8,
    request_time_us: u64,
}

#[derive(Deserialize)]
struct Timeline {
    cutoff: i64,
    minutes: Vec<(i64, Minute)>,
}

#[derive(Deserialize)]
struct Minute {
    requests: u64,
    noise: u64,
    request_time_us: u64,
    noise_time_us: u64,
    categories: Vec<u64>,
}

#[derive(Deserialize)]
struct Noise {
    category: u8,
    time: i64,
    status: u16,
    method: Vec<u8>,
    client: Vec<u8>,
    path: Vec<u8>,
    user_agent: Vec<u8>,
}

/// Reads a whole-document summary into `fr`: version 1, or a refusal that names the version.
pub(super) fn read(r: impl Read, fr: &mut FileReader<'_>) -> Result<()> {
    let mut de = serde_json::Deserializer::from_reader(r);
    let mut failure = None;
    let top = Top {
        fr,
        failure: &mut failure,
    };
    let outcome = top.deserialize(&mut de).and_then(|()| de.end());
    if let Some(e) = failure {
        return Err(e);
    }
    outcome.map_err(|e| anyhow!("not a noisegate summary ({e})"))
}

/// The top-level object; a failure of ours is kept aside so its message survives serde.
struct Top<'a, 's> {
    fr: &'a mut FileReader<'s>,
    failure: &'a mut Option<anyhow::Error>,
}

impl Top<'_, '_> {
    fn fail<E: de::Error>(&mut self, e: anyhow::Error) -> E {
        let msg = format!("{e:#}");
        *self.failure = Some(e);
        E::custom(msg)
    }
}

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a noisegate summary")
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let format = match map.next_key::<String>()?.as_deref() {
            Some("format") => map.next_value::<String>()?,
            _ => return Err(de::Error::custom("no `format` first")),
        };
        let version = match map.next_key::<String>()?.as_deref() {
            Some("version") => map.next_value::<u32>()?,
            _ => return Err(de::Error::custom("no `version` second")),
        };
        if format != FORMAT {
            return Err(de::Error::custom(format!("format `{format}`")));
        }
        if version > VERSION {
            return Err(self.fail(newer(version)));
        }
        if version != 1 {
            return Err(de::Error::custom(format!(
                "version {version} in one object"
            )));
        }
        while let Some(key) = map.next_key::<String>()? {
            self.entry(&key, &mut map)?;
        }
        self.fr.finish().map_err(|e| self.fail(e))
    }
}

impl Top<'_, '_> {
    /// Applies the value of one key of the top-level object.
    fn entry<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "sources" => {
                for s in map.next_value::<Vec<Source>>()? {
                    let r = Record::Source {
                        name: s.name.into(),
                        format: s.format.map(Cow::from),
                        notes: s.notes,
                    };
                    self.fr.apply(r).map_err(|e| self.fail(e))?;
                }
            }
            "errors" => {
                for (source, message) in map.next_value::<Vec<(String, String)>>()? {
                    let r = Record::Error {
                        source: source.into(),
                        message: message.into(),
                    };
                    self.fr.apply(r).map_err(|e| self.fail(e))?;
                }
            }
            "summary" => {
                let s = map.next_value::<Summary>()?;
                summary(self.fr, s).map_err(|e| self.fail(e))?;
            }
            "noise" => map.next_value_seed(NoiseList(self))?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// The `noise` array, applied record by record.
struct NoiseList<'t, 'a, 's>(&'t mut Top<'a, 's>);

impl<'de> DeserializeSeed<'de> for NoiseList<'_, '_, '_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for NoiseList<'_, '_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of noise records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(n) = seq.next_element::<Noise>()? {
            let Some(&category) = CATEGORIES.get(usize::from(n.category)) else {
                return Err(self.0.fail(anyhow!("noise of category {}", n.category)));
            };
            let r = Record::Noise(rec::Noise {
                category: category.into(),
                time: n.time,
                status: n.status,
                method: Bytes::of(&n.method),
                client: Bytes::of(&n.client),
                path: Bytes::of(&n.path),
                user_agent: Bytes::of(&n.user_agent),
            });
            self.0.fr.apply(r).map_err(|e| self.0.fail(e))?;
        }
        Ok(())
    }
}

/// Applies a version-1 summary as the records a later version holds.
fn summary(fr: &mut FileReader<'_>, s: Summary) -> Result<()> {
    fr.apply(Record::Run(run(&s)?))?;
    for ex in s.reject_examples {
        fr.apply(Record::RejectExample(rec::RejectExample {
            source: ex.source,
            line: ex.line,
            reason: reason(&ex.reason)?.into(),
            detail: ex.detail.into(),
            text: Bytes(ex.text.into()),
        }))?;
    }
    fr.apply(Record::Totals(traffic(&s.totals)?))?;
    if s.categories.len() > CATEGORIES.len() {
        bail!("{} categories in a version-1 summary", s.categories.len());
    }
    for (id, c) in CATEGORIES.iter().zip(s.categories) {
        category(fr, id, c)?;
    }
    counts(fr, "served", None, s.served)?;
    activity(fr, s.activity)?;
    let cutoff = (s.timeline.cutoff != i64::MIN).then_some(s.timeline.cutoff);
    fr.apply(Record::Timeline { cutoff })?;
    for (at, m) in s.timeline.minutes {
        let categories = CATEGORIES
            .iter()
            .zip(&m.categories)
            .filter(|(_, n)| **n > 0)
            .map(|(id, n)| (Cow::Borrowed(*id), *n))
            .collect();
        fr.apply(Record::Minute(rec::Minute {
            at,
            requests: m.requests,
            noise: m.noise,
            request_time_us: m.request_time_us,
            noise_time_us: m.noise_time_us,
            blocked: None,
            categories,
        }))?;
    }
    Ok(())
}

fn run(s: &Summary) -> Result<Run<'static>> {
    let mut rejects = BTreeMap::new();
    for (i, &n) in s.rejects.iter().enumerate().filter(|(_, &n)| n > 0) {
        let id = REJECTS.get(i).context("reject reason out of range")?;
        rejects.insert(Cow::Borrowed(*id), n);
    }
    Ok(Run {
        total: s.lines.total,
        parsed: s.lines.parsed,
        rejected: s.lines.rejected,
        filtered: s.lines.filtered,
        rejects,
        span: s.span,
        cheap_answers: rec::by_index(&s.cheap_answers),
        spool_failed: s.spool_failed,
    })
}

fn reason(r: &Reason) -> Result<&'static str> {
    Ok(match r {
        Reason::Empty => REJECTS[0],
        Reason::TooLong => REJECTS[1],
        Reason::Layout => REJECTS[2],
        Reason::TrailingData => REJECTS[3],
        Reason::NotJson => REJECTS[4],
        Reason::Value(field) => {
            let i = FIELDS
                .iter()
                .position(|f| f == field)
                .with_context(|| format!("reject reason of field `{field}`"))?;
            REJECTS[5 + i]
        }
    })
}

fn traffic(t: &Traffic) -> Result<TrafficRec> {
    let mut status = BTreeMap::new();
    for &(code, n) in &t.status {
        let code = u16::try_from(code).with_context(|| format!("status {code} out of range"))?;
        status.insert(code, n);
    }
    Ok(TrafficRec {
        requests: t.requests,
        bytes: t.bytes,
        request_time_us: t.request_time_us,
        timed: t.timed,
        max_request_time_us: t.max_request_time_us,
        status,
        latency: t.latency.clone(),
    })
}

fn category(fr: &mut FileReader<'_>, id: &'static str, c: Category) -> Result<()> {
    fr.apply(Record::Category(rec::Category {
        id: id.into(),
        traffic: traffic(&c.traffic)?,
        scanner: c.scanner,
        blocked: c.blocked,
        blocked_time_us: c.blocked_time_us,
    }))?;
    counts(fr, "methods", Some(id), c.methods)?;
    counts(fr, "clients", Some(id), c.clients)?;
    counts(fr, "user_agents", Some(id), c.user_agents)?;
    counts(fr, "paths", Some(id), c.paths)?;
    counts(fr, "families", Some(id), c.families)
}

fn head<'a, V>(of: &'a str, category: Option<&'a str>, m: &Map<V>) -> Record<'a> {
    Record::Map(MapHead {
        of: of.into(),
        category: category.map(Cow::from),
        cap: m.cap,
        threshold: m.threshold,
        overflow: m.overflow,
        budget: m.budget,
    })
}

fn counts(fr: &mut FileReader<'_>, of: &str, category: Option<&str>, m: Map<u64>) -> Result<()> {
    fr.apply(head(of, category, &m))?;
    for (k, n) in m.entries {
        fr.apply(Record::Key(Bytes(k.into()), n))?;
    }
    Ok(())
}

fn activity(fr: &mut FileReader<'_>, m: Map<Activity>) -> Result<()> {
    fr.apply(head("activity", None, &m))?;
    for (k, a) in m.entries {
        let Some((&c, client)) = k.split_first() else {
            bail!("an activity key without a category");
        };
        let Some(&category) = CATEGORIES.get(usize::from(c)) else {
            bail!("activity of category {c}");
        };
        fr.apply(Record::Activity(rec::Activity {
            category: category.into(),
            client: Bytes::of(client),
            cells: a
                .cells
                .iter()
                .map(|c| {
                    (
                        c.minute,
                        c.requests,
                        c.first_sec,
                        c.last_sec,
                        c.request_time_us,
                    )
                })
                .collect(),
        }))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_version_1_id_is_known() {
        for id in REJECTS {
            super::super::read::reject(id).unwrap();
        }
        for id in CATEGORIES {
            assert!(crate::classify::category_index(id).is_some(), "{id}");
        }
    }
}
