//! The time side of the report's view model: the per-minute timeline, storms, surges and the
//! impact figures, as serialized in JSON (`timeline`, `storms`, `surges`, `impact`).

use super::model::{AgentCount, FamilyCount, MethodCount, PathCount};
use crate::analysis::details::Details;
use crate::analysis::Analysis;
use crate::classify::CATEGORIES;
use crate::escape::ser_bytes;
use crate::format::time::rfc3339;
use crate::summary::KeyCounts;
use crate::summary::Summary;
use serde::Serialize;
use std::collections::BTreeMap;

/// One minute of the timeline.
#[derive(Debug, Serialize)]
pub struct MinuteView {
    pub minute: String,
    pub requests: u64,
    pub noise: u64,
    /// Noise requests per category id (only categories seen in that minute).
    pub categories: BTreeMap<&'static str, u64>,
}

/// The timeline.
#[derive(Debug, Serialize)]
pub struct TimelineView {
    /// `true` when the oldest minutes were dropped by the cap.
    pub truncated: bool,
    pub minutes: Vec<MinuteView>,
}

/// A storm or a surge in time: what storms and surges both report.
#[derive(Debug, Serialize)]
pub struct BurstView {
    pub start: String,
    pub end: String,
    pub duration_s: i64,
    pub requests: u64,
    pub rate_per_minute: f64,
    pub peak_minute: String,
    pub peak_per_minute: u64,
    /// `null` when the format has no `$request_time` (also below).
    pub request_time_s: Option<f64>,
    /// Mean PHP workers busy with it while it lasted.
    pub mean_workers: Option<f64>,
    /// What it was made of (for the first storms and surges; see README).
    #[serde(flatten)]
    pub details: Option<DetailsView>,
}

/// A client storm.
#[derive(Debug, Serialize)]
pub struct StormView {
    pub category: &'static str,
    #[serde(serialize_with = "ser_bytes")]
    pub client: Vec<u8>,
    #[serde(flatten)]
    pub burst: BurstView,
}

/// What a storm or surge was made of.
#[derive(Debug, Serialize)]
pub struct DetailsView {
    /// The most requests in any 60 seconds.
    pub peak_60s: u64,
    pub status: BTreeMap<String, u64>,
    pub methods: Vec<MethodCount>,
    pub top_paths: Vec<PathCount>,
    pub user_agents: Vec<AgentCount>,
    pub families: Vec<FamilyCount>,
}

/// A surge.
#[derive(Debug, Serialize)]
pub struct SurgeView {
    pub category: &'static str,
    /// Distinct clients in its minutes.
    pub clients: u64,
    #[serde(flatten)]
    pub burst: BurstView,
}

/// Load of a set of requests.
#[derive(Debug, Serialize)]
pub struct LoadView {
    pub requests: u64,
    /// `null` (as the figures below) when the format has no `$request_time`.
    pub request_time_s: Option<f64>,
    pub mean_workers: Option<f64>,
    pub peak_minute: Option<String>,
    pub peak_minute_workers: Option<f64>,
    /// Mean busy workers as a share of `php_workers`.
    pub share_of_capacity: Option<f64>,
    pub peak_share_of_capacity: Option<f64>,
}

/// What the noise costs and what blocking saves.
#[derive(Debug, Serialize)]
pub struct ImpactView {
    /// `false` when the format has no `$request_time`: the time figures are then 0.
    pub timed: bool,
    pub wall_time_s: i64,
    pub php_workers: u32,
    pub all: LoadView,
    pub noise: LoadView,
    pub already_blocked_requests: u64,
    pub already_blocked_request_time_s: Option<f64>,
    pub blocked_request_cost_s: Option<f64>,
    /// Noise requests the block covers that nginx does not already answer.
    pub blockable_requests: u64,
    /// Estimated server time and mean workers the block frees.
    pub saved_request_time_s: Option<f64>,
    pub saved_workers: Option<f64>,
}

fn round(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The timeline of `summary`.
pub fn timeline(summary: &Summary) -> TimelineView {
    let minutes = summary
        .timeline
        .sorted()
        .into_iter()
        .map(|(m, t)| MinuteView {
            minute: rfc3339(m * 60),
            requests: t.requests,
            noise: t.noise,
            categories: CATEGORIES
                .iter()
                .zip(t.categories)
                .filter(|(_, n)| *n > 0)
                .map(|(c, n)| (c.id, n))
                .collect(),
        })
        .collect();
    TimelineView {
        truncated: summary.timeline.truncated(),
        minutes,
    }
}

fn load(l: &crate::analysis::impact::Load, workers: u32, timed: bool) -> LoadView {
    let cap = f64::from(workers.max(1));
    let peak = l.peak_minute.filter(|_| timed);
    LoadView {
        requests: l.requests,
        request_time_s: timed.then(|| round(l.server_s)),
        mean_workers: timed.then(|| round(l.mean_workers)),
        peak_minute: peak.map(|p| rfc3339(p.0)),
        peak_minute_workers: peak.map(|p| round(p.1)),
        share_of_capacity: timed.then(|| round(l.mean_workers / cap)),
        peak_share_of_capacity: peak.map(|p| round(p.1 / cap)),
    }
}

fn list<T: for<'a> From<(&'a [u8], u64)>>(k: &KeyCounts, top: usize) -> Vec<T> {
    k.top(top).into_iter().map(T::from).collect()
}

fn details(d: Option<&Details>) -> Option<DetailsView> {
    d.map(|d| DetailsView {
        peak_60s: d.peak_60s(),
        status: d
            .status
            .iter()
            .map(|(c, n)| (format!("{c:03}"), *n))
            .collect(),
        methods: list(&d.methods, 0),
        top_paths: list(&d.paths, 5),
        user_agents: list(&d.user_agents, 5),
        families: list(&d.families, 0),
    })
}

/// The common view of a storm or surge: `span` is (start, end, the wall seconds its rate and
/// workers are counted over), `peak` the busiest minute and its requests.
fn burst(
    span: (i64, i64, i64),
    requests: u64,
    peak: (i64, u64),
    request_time_us: u64,
    timed: bool,
    details: Option<DetailsView>,
) -> BurstView {
    let (start, end, wall) = span;
    let seconds = request_time_us as f64 / 1e6;
    BurstView {
        start: rfc3339(start),
        end: rfc3339(end),
        duration_s: end - start,
        requests,
        rate_per_minute: round(requests as f64 * 60.0 / wall.max(1) as f64),
        peak_minute: rfc3339(peak.0),
        peak_per_minute: peak.1,
        request_time_s: timed.then(|| round(seconds)),
        mean_workers: timed.then(|| round(seconds / wall.max(1) as f64)),
        details,
    }
}

/// Storms, surges and impact of `a`.
pub fn views(a: &Analysis) -> (Vec<StormView>, Vec<SurgeView>, ImpactView) {
    let timed = a.impact.timed;
    let storms = a
        .storms
        .iter()
        .enumerate()
        .map(|(i, s)| StormView {
            category: CATEGORIES[s.category].id,
            client: s.client.clone(),
            burst: burst(
                (s.start, s.end, s.minutes() * 60),
                s.requests,
                (s.peak_minute, s.peak_minute_requests),
                s.request_time_us,
                timed,
                details(a.storm_details.get(i)),
            ),
        })
        .collect();
    let surges = a
        .surges
        .iter()
        .enumerate()
        .map(|(i, s)| SurgeView {
            category: CATEGORIES[s.category].id,
            clients: s.clients,
            burst: burst(
                (s.start, s.end, s.end - s.start + 1),
                s.requests,
                (s.peak_minute, s.peak_minute_requests),
                s.request_time_us,
                timed,
                details(a.surge_details.get(i)),
            ),
        })
        .collect();
    let i = &a.impact;
    let impact = ImpactView {
        timed: i.timed,
        wall_time_s: i.wall_s,
        php_workers: i.php_workers,
        all: load(&i.all, i.php_workers, timed),
        noise: load(&i.noise, i.php_workers, timed),
        already_blocked_requests: i.already_blocked.0,
        already_blocked_request_time_s: timed.then(|| round(i.already_blocked.1)),
        blocked_request_cost_s: timed.then_some(i.blocked_cost_s),
        blockable_requests: i.blockable,
        saved_request_time_s: timed.then(|| round(i.saved_s)),
        saved_workers: timed.then(|| round(i.saved_workers)),
    };
    (storms, surges, impact)
}
