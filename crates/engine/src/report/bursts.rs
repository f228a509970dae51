//! Storms and surges in the view model, as serialized in JSON (`storms`, `surges`): when each
//! began and ended, how many minutes it lasted, its rate, peak and cost, and what it was made
//! of. It copies and rounds what [`crate::analysis`] found; it computes no new statistic.
//!
//! Uses only the leaves of `report/` (`units`, `counts`) and [`super::impact`], never
//! `model`: the model is built from these views, not the other way round.

use super::counts::{top, AgentCount, FamilyCount, MethodCount, PathCount};
use super::units::{round6, Seconds, Timestamp};
use crate::analysis::details::Details;
use crate::analysis::storms::Storm;
use crate::analysis::Analysis;
use crate::classify::CATEGORIES;
use crate::escape::ser_bytes;
use serde::Serialize;
use std::collections::BTreeMap;

/// What storms and surges both report.
#[derive(Debug, Serialize)]
pub(crate) struct BurstView {
    /// A storm's first request; the start of a surge's first minute.
    pub(crate) start: Timestamp,
    /// A storm's last request; the last second of a surge's last minute.
    pub(crate) end: Timestamp,
    /// From `start` to `end`.
    pub(crate) duration_s: Seconds,
    /// The whole minutes from `start`'s to `end`'s, both counted: what `rate_per_minute`
    /// and `mean_workers` are taken over. Not in the JSON (`noisegate/1` has no such key).
    #[serde(skip)]
    pub(crate) minutes: i64,
    /// Requests.
    pub(crate) requests: u64,
    /// Mean requests per minute over `minutes`.
    pub(crate) rate_per_minute: f64,
    /// The start of the busiest minute.
    pub(crate) peak_minute: Timestamp,
    /// Requests in the busiest minute.
    pub(crate) peak_per_minute: u64,
    /// Server seconds; `null` when the format has no `$request_time` (also below).
    pub(crate) request_time_s: Option<f64>,
    /// Mean PHP workers busy with it over `minutes`.
    pub(crate) mean_workers: Option<f64>,
    /// What it was made of; only for the first
    /// [`DETAILED`](crate::analysis::details::DETAILED) storms and surges, and only when the
    /// noise lines could be kept for a second look (see `caveats`). Its keys are absent from
    /// the JSON otherwise.
    #[serde(flatten)]
    pub(crate) details: Option<DetailsView>,
}

/// A client storm: one client's run of probes in one category.
#[derive(Debug, Serialize)]
pub(crate) struct StormView {
    /// The category id.
    pub(crate) category: &'static str,
    /// The client, as logged.
    #[serde(serialize_with = "ser_bytes")]
    pub(crate) client: Vec<u8>,
    /// When, how much, what it cost.
    #[serde(flatten)]
    pub(crate) burst: BurstView,
}

/// A surge: a run of minutes in which one category had many clients at once.
#[derive(Debug, Serialize)]
pub(crate) struct SurgeView {
    /// The category id.
    pub(crate) category: &'static str,
    /// Distinct clients in its minutes.
    pub(crate) clients: u64,
    /// When, how much, what it cost.
    #[serde(flatten)]
    pub(crate) burst: BurstView,
}

/// What a storm or surge was made of.
#[derive(Debug, Serialize)]
pub(crate) struct DetailsView {
    /// The most requests in any 60 seconds.
    pub(crate) peak_60s: u64,
    /// `false` when the storm probed in too many distinct seconds to keep them all (a client
    /// looping for days): `peak_60s` is then its busiest clock minute, a lower bound.
    pub(crate) peak_60s_exact: bool,
    /// Requests per status code (`"404"`).
    pub(crate) status: BTreeMap<String, u64>,
    /// Requests per method.
    pub(crate) methods: Vec<MethodCount>,
    /// The five paths with the most requests.
    pub(crate) top_paths: Vec<PathCount>,
    /// The five user agents with the most requests.
    pub(crate) user_agents: Vec<AgentCount>,
    /// Requests per client family.
    pub(crate) families: Vec<FamilyCount>,
}

fn details(d: Option<&Details>) -> Option<DetailsView> {
    d.map(|d| DetailsView {
        peak_60s: d.peak_60s(),
        peak_60s_exact: d.peak_60s_exact(),
        status: d
            .status
            .iter()
            .map(|(c, n)| (format!("{c:03}"), *n))
            .collect(),
        methods: top(&d.methods, 0),
        top_paths: top(&d.paths, 5),
        user_agents: top(&d.user_agents, 5),
        families: top(&d.families, 0),
    })
}

/// What the analysis says of a storm or a surge, in epoch seconds and microseconds.
struct Found {
    start: i64,
    end: i64,
    /// Whole minutes its rate and workers are counted over.
    minutes: i64,
    requests: u64,
    /// The busiest minute's start and its requests.
    peak: (i64, u64),
    request_time_us: u64,
}

fn burst(f: Found, timed: bool, details: Option<DetailsView>) -> BurstView {
    let wall = (f.minutes * 60).max(1) as f64;
    let seconds = f.request_time_us as f64 / 1e6;
    let (start, end) = (Timestamp::from_epoch(f.start), Timestamp::from_epoch(f.end));
    BurstView {
        start,
        end,
        duration_s: Seconds::between(start, end),
        minutes: f.minutes,
        requests: f.requests,
        rate_per_minute: round6(f.requests as f64 * 60.0 / wall),
        peak_minute: Timestamp::from_epoch(f.peak.0),
        peak_per_minute: f.peak.1,
        request_time_s: timed.then(|| round6(seconds)),
        mean_workers: timed.then(|| round6(seconds / wall)),
        details,
    }
}

/// Whether the server time of category `c`'s storms, loops and surges is known: every noise
/// request of it had one (a run over inputs with and without `$request_time` knows only part).
fn timed(a: &Analysis, c: usize) -> bool {
    a.impact.timed_categories.get(c).copied().unwrap_or(false)
}

/// The storms of `a`, most requests first.
pub(crate) fn storms(a: &Analysis) -> Vec<StormView> {
    runs(a, &a.storms, &a.storm_details)
}

/// The loops of `a` (no details are kept for them), most requests first.
pub(crate) fn loops(a: &Analysis) -> Vec<StormView> {
    runs(a, &a.loops, &[])
}

/// One client's runs (storms or loops) as views, with the details found for the first ones.
fn runs(a: &Analysis, runs: &[Storm], found: &[Details]) -> Vec<StormView> {
    let found = runs.iter().enumerate().map(|(i, s)| StormView {
        category: CATEGORIES[s.category].id,
        client: s.client.clone(),
        burst: burst(
            Found {
                start: s.start,
                end: s.end,
                minutes: s.minutes(),
                requests: s.requests,
                peak: (s.peak_minute, s.peak_minute_requests),
                request_time_us: s.request_time_us,
            },
            timed(a, s.category),
            details(found.get(i)),
        ),
    });
    found.collect()
}

/// The surges of `a`, in time order.
pub(crate) fn surges(a: &Analysis) -> Vec<SurgeView> {
    let found = a.surges.iter().enumerate().map(|(i, s)| SurgeView {
        category: CATEGORIES[s.category].id,
        clients: s.clients,
        burst: burst(
            Found {
                start: s.start,
                end: s.end,
                // A surge spans whole minutes, gaps between its hot minutes included.
                minutes: s.end.div_euclid(60) - s.start.div_euclid(60) + 1,
                requests: s.requests,
                peak: (s.peak_minute, s.peak_minute_requests),
                request_time_us: s.request_time_us,
            },
            timed(a, s.category),
            details(a.surge_details.get(i)),
        ),
    });
    found.collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::impact::Impact;
    use crate::analysis::storms::{Storm, Surge};

    /// A long, sparse storm and a three-minute surge, found by hand.
    fn analysis() -> Analysis {
        let storm = Storm {
            category: 0,
            client: b"203.0.113.9".to_vec(),
            start: 7,
            end: 7 + 299_999 * 60,
            requests: 7,
            peak_minute: 0,
            peak_minute_requests: 1,
            request_time_us: 0,
        };
        let surge = Surge {
            category: 0,
            start: 600,
            end: 600 + 3 * 60 - 1,
            requests: 90,
            clients: 12,
            peak_minute: 660,
            peak_minute_requests: 40,
            request_time_us: 0,
        };
        Analysis {
            storms: vec![storm],
            storm_details: Vec::new(),
            surges: vec![surge],
            surge_details: Vec::new(),
            loops: Vec::new(),
            impact: Impact::default(),
            caveats: Vec::new(),
        }
    }

    #[test]
    fn minutes_come_from_the_analysis_not_from_the_rounded_rate() {
        let (a, storms_of, surges_of) = (analysis(), storms, surges);
        let (storms, surges) = (storms_of(&a), surges_of(&a));
        let b = &storms[0].burst;
        assert_eq!(b.minutes, 300_000);
        // The rounded rate cannot give them back: 7 / 0.000023 is about 304,348.
        assert_eq!(b.rate_per_minute, 0.000023);
        assert_ne!((7.0 / b.rate_per_minute).round() as i64, b.minutes);
        assert_eq!(surges[0].burst.minutes, 3);
        assert_eq!(surges[0].burst.duration_s, Seconds::new(179));
    }

    #[test]
    fn json_keeps_times_as_rfc3339_strings_and_has_no_minutes_key() {
        let (a, storms_of, surges_of) = (analysis(), storms, surges);
        let (storms, surges) = (storms_of(&a), surges_of(&a));
        let storm = serde_json::to_value(&storms[0]).unwrap();
        assert_eq!(storm["start"], "1970-01-01T00:00:07Z");
        assert_eq!(storm["peak_minute"], "1970-01-01T00:00:00Z");
        assert_eq!(storm["duration_s"], 299_999 * 60);
        assert!(storm.get("minutes").is_none());
        let surge = serde_json::to_value(&surges[0]).unwrap();
        assert_eq!(surge["end"], "1970-01-01T00:12:59Z");
        assert!(surge.get("minutes").is_none());
    }
}
