//! The records of a version-5 summary file (a version-4 file has the same records but each
//! minute's blocked count, a version-3 file neither it nor the domains map, a version-2 file
//! none of these nor the evidence maps), one JSON object per line,
//! and the byte-string form they use. These types are the file layout: they name categories, statuses, reject reasons and client families by
//! their ids, never by a position in an in-memory table, so they change only with
//! [`VERSION`].

use crate::summary::time::Cell;
use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// What identifies a summary file.
pub(crate) const FORMAT: &str = "noisegate-summary";
/// The version of the file layout this noisegate writes; it reads this one,
/// [`NO_BLOCKED_MINUTES`], [`NO_DOMAINS`], [`NO_EVIDENCE`] and version 1.
pub(crate) const VERSION: u32 = 5;
/// The version before [`VERSION`]: the same records but for each minute's `blocked` count
/// (which the version-5 writer added), so its minutes have none: every noise request of
/// them counts for the worst-minute rule of `check`, as one not known to be blocked.
pub(crate) const NO_BLOCKED_MINUTES: u32 = 4;
/// The version before [`NO_BLOCKED_MINUTES`]: the same records but for the `domains` map
/// (which the version-4 writer added), so its files have no mail domains.
pub(crate) const NO_DOMAINS: u32 = 3;
/// The version before [`NO_DOMAINS`]: the same records but for the evidence maps (which the
/// version-3 writer added to each category), so its files have none.
pub(crate) const NO_EVIDENCE: u32 = 2;
/// The refusal of a file written by a newer noisegate.
pub(super) fn newer(version: u32) -> anyhow::Error {
    anyhow::anyhow!(
        "written by a newer noisegate (summary version {version}); this noisegate reads \
         versions 1 to {VERSION}: upgrade noisegate"
    )
}

/// The non-zero counts of a table indexed by a number (milliseconds, ...), keyed by it.
pub(super) fn by_index(counts: &[u64]) -> BTreeMap<u64, u64> {
    let nonzero = counts.iter().enumerate().filter(|(_, &n)| n > 0);
    nonzero.map(|(i, &n)| (i as u64, n)).collect()
}

/// The first line of a file.
#[derive(Debug, Serialize, Deserialize)]
pub(super) struct Header<'a> {
    /// Always [`FORMAT`].
    #[serde(borrow)]
    pub(crate) format: Cow<'a, str>,
    /// The layout version.
    pub(crate) version: u32,
    /// The noisegate that wrote it.
    #[serde(borrow, default)]
    pub(crate) noisegate: Cow<'a, str>,
}

/// One line after the header: an object with one key naming the record's kind.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub(super) enum Record<'a> {
    /// An input of the saved run, in source-index order.
    Source {
        #[serde(borrow)]
        name: Cow<'a, str>,
        #[serde(borrow)]
        format: Option<Cow<'a, str>>,
        notes: Vec<String>,
    },
    /// An input that could not be read.
    Error {
        #[serde(borrow)]
        source: Cow<'a, str>,
        #[serde(borrow)]
        message: Cow<'a, str>,
    },
    /// The figures of the whole run.
    Run(Run<'a>),
    /// A rejected line kept as an example.
    RejectExample(#[serde(borrow)] RejectExample<'a>),
    /// All parsed requests.
    Totals(Traffic),
    /// One noise category's figures; the maps of its keys follow as [`Record::Map`] sections.
    Category(#[serde(borrow)] Category<'a>),
    /// Opens a map: the [`Record::Key`], [`Record::Evidence`] or [`Record::Activity`] records
    /// after it are its entries, up to the next `map`.
    Map(MapHead<'a>),
    /// An entry of a counting map: key and count.
    Key(#[serde(borrow)] Bytes<'a>, u64),
    /// An entry of the activity map: a (category, client) pair's minutes.
    Activity(#[serde(borrow)] Activity<'a>),
    /// An entry of a category's evidence map (version 3 on): path and how widely it was
    /// asked for.
    Evidence(#[serde(borrow)] Bytes<'a>, #[serde(borrow)] EvidenceRec<'a>),
    /// An entry of the `domains` map (version 4 on): a mail domain the noise asked about.
    Domain(#[serde(borrow)] DomainRec<'a>),
    /// The timeline: minutes before `cutoff` were dropped by its cap.
    Timeline { cutoff: Option<i64> },
    /// One minute of the timeline.
    Minute(#[serde(borrow)] Minute<'a>),
    /// One noise request, for the storm details.
    Noise(#[serde(borrow)] Noise<'a>),
    /// The last line: how many records came before it (header excluded). A file without it
    /// is truncated.
    End { records: u64 },
}

/// A rejected line kept as an example.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RejectExample<'a> {
    pub(crate) source: u32,
    pub(crate) line: u64,
    #[serde(borrow)]
    pub(crate) reason: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) detail: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) text: Bytes<'a>,
}

/// One noise category's figures.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Category<'a> {
    #[serde(borrow)]
    pub(crate) id: Cow<'a, str>,
    pub(crate) traffic: Traffic,
    pub(crate) scanner: u64,
    pub(crate) blocked: u64,
    pub(crate) blocked_time_us: u64,
}

/// How widely one path was asked for (`summary::evidence::Evidence`): its requests, the
/// smallest 32-bit hashes of its clients (foldhash with a fixed seed: the same in every run
/// of any noisegate that writes this version), its earliest UTC days and hours since the
/// epoch, each set ascending with at most 32 members, and the ids of its client families.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EvidenceRec<'a> {
    pub(crate) requests: u64,
    pub(crate) clients: Vec<u32>,
    pub(crate) days: Vec<u32>,
    pub(crate) hours: Vec<u32>,
    #[serde(borrow)]
    pub(crate) families: Vec<Cow<'a, str>>,
}

/// A mail domain (`summary::domains::DomainStats`): its requests, by category id and by
/// client family id (non-zero only), the smallest 64-bit hashes of its distinct mailboxes
/// (foldhash with a fixed seed of `local@domain`, ascending, at most 128) and whether more
/// were seen, the first characters of its local parts (at most 3, ascending: the masked
/// examples) and, only in a file saved with `--show-mailboxes`, its smallest local parts
/// (at most 10, ascending).
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct DomainRec<'a> {
    #[serde(borrow)]
    pub(crate) domain: Cow<'a, str>,
    pub(crate) requests: u64,
    #[serde(borrow)]
    pub(crate) categories: BTreeMap<Cow<'a, str>, u64>,
    #[serde(borrow)]
    pub(crate) families: BTreeMap<Cow<'a, str>, u64>,
    pub(crate) mailboxes: Vec<u64>,
    pub(crate) saturated: bool,
    #[serde(borrow)]
    pub(crate) masked: Cow<'a, str>,
    #[serde(borrow, default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) full: Vec<Cow<'a, str>>,
}

/// A (category, client) pair's minutes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Activity<'a> {
    #[serde(borrow)]
    pub(crate) category: Cow<'a, str>,
    #[serde(borrow)]
    pub(crate) client: Bytes<'a>,
    /// (minute, requests, first second, last second, server time in µs).
    pub(crate) cells: Vec<(i64, u32, u8, u8, u64)>,
}

impl<'a> Activity<'a> {
    /// The record of `client`'s `cells` in `category`.
    pub(super) fn of(category: &'a str, client: &'a [u8], cells: &[Cell]) -> Self {
        Activity {
            category: category.into(),
            client: Bytes::of(client),
            cells: cells
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
        }
    }
}

/// One minute of the timeline.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Minute<'a> {
    pub(crate) at: i64,
    pub(crate) requests: u64,
    pub(crate) noise: u64,
    pub(crate) request_time_us: u64,
    pub(crate) noise_time_us: u64,
    /// Noise requests answered 403 in next to no time (version 5 on; `None` before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) blocked: Option<u64>,
    /// Noise requests by category id (non-zero only).
    #[serde(borrow)]
    pub(crate) categories: BTreeMap<Cow<'a, str>, u64>,
}

/// One noise request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Noise<'a> {
    #[serde(borrow)]
    pub(crate) category: Cow<'a, str>,
    pub(crate) time: i64,
    pub(crate) status: u16,
    #[serde(borrow)]
    pub(crate) method: Bytes<'a>,
    #[serde(borrow)]
    pub(crate) client: Bytes<'a>,
    #[serde(borrow)]
    pub(crate) path: Bytes<'a>,
    #[serde(borrow)]
    pub(crate) user_agent: Bytes<'a>,
}

/// The figures of a run that are not per category.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Run<'a> {
    /// `total = parsed + rejected + filtered`.
    pub(crate) total: u64,
    pub(crate) parsed: u64,
    pub(crate) rejected: u64,
    pub(crate) filtered: u64,
    /// Rejected lines by reason id (non-zero only).
    #[serde(borrow)]
    pub(crate) rejects: BTreeMap<Cow<'a, str>, u64>,
    /// Earliest and latest timestamp, UTC epoch seconds.
    pub(crate) span: Option<(i64, i64)>,
    /// 403/404 answers within a few milliseconds, by whole milliseconds (non-zero only).
    pub(crate) cheap_answers: BTreeMap<u64, u64>,
    /// A worker could not keep its noise lines.
    pub(crate) spool_failed: bool,
}

/// Counts, bytes and time of a set of requests.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Traffic {
    pub(crate) requests: u64,
    pub(crate) bytes: u64,
    pub(crate) request_time_us: u64,
    pub(crate) timed: u64,
    pub(crate) max_request_time_us: u64,
    /// Requests by status code (non-zero only).
    pub(crate) status: BTreeMap<u16, u64>,
    /// `$request_time` histogram, milliseconds: (value, count) pairs.
    pub(crate) latency: Vec<(u64, u64)>,
}

/// Which map a [`Record::Map`] opens, and its settings.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MapHead<'a> {
    /// `methods`, `clients`, `user_agents`, `paths`, `families`, `evidence` (of a
    /// category), `served` or `activity`.
    #[serde(borrow)]
    pub(crate) of: Cow<'a, str>,
    /// The category id, for the maps of a category.
    #[serde(borrow)]
    pub(crate) category: Option<Cow<'a, str>>,
    pub(crate) cap: usize,
    pub(crate) threshold: u64,
    pub(crate) overflow: u64,
    pub(crate) budget: usize,
}

/// A byte string from a log: a JSON string when it is UTF-8, else an array of byte values.
#[derive(Debug, Default)]
pub(super) struct Bytes<'a>(pub Cow<'a, [u8]>);

impl<'a> Bytes<'a> {
    /// Borrows `b`.
    pub(crate) fn of(b: &'a [u8]) -> Self {
        Bytes(Cow::Borrowed(b))
    }
}

impl Serialize for Bytes<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => s.serialize_str(text),
            Err(_) => s.collect_seq(self.0.iter()),
        }
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(BytesVisitor)
    }
}

struct BytesVisitor;

impl<'de> Visitor<'de> for BytesVisitor {
    type Value = Bytes<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string or an array of bytes")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Bytes(Cow::Borrowed(v.as_bytes())))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Bytes(Cow::Owned(v.as_bytes().to_vec())))
    }

    fn visit_borrowed_bytes<E: de::Error>(self, v: &'de [u8]) -> Result<Self::Value, E> {
        Ok(Bytes(Cow::Borrowed(v)))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
        Ok(Bytes(Cow::Owned(v.to_vec())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(b) = seq.next_element::<u8>()? {
            out.push(b);
        }
        Ok(Bytes(Cow::Owned(out)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_are_a_string_when_utf8_and_an_array_otherwise() {
        for b in [&b"/owa/\xc3\xa9"[..], b"\xff\x00a", b""] {
            let json = serde_json::to_string(&Bytes::of(b)).unwrap();
            assert_eq!(
                std::str::from_utf8(b).is_ok(),
                json.starts_with('"'),
                "{json}"
            );
            let back: Bytes = serde_json::from_str(&json).unwrap();
            assert_eq!(&back.0[..], b);
        }
    }

    #[test]
    fn records_are_one_key_objects() {
        let r = Record::Key(Bytes::of(b"POST"), 3);
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"key":["POST",3]}"#);
        let r: Record = serde_json::from_str(r#"{"end":{"records":7}}"#).unwrap();
        assert!(matches!(r, Record::End { records: 7 }));
        assert!(serde_json::from_str::<Record>(r#"{"what":1}"#).is_err());
    }
}
