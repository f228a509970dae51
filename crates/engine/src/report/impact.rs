//! The impact of the view model: what the noise costs in server time and PHP workers, and what
//! blocking saves, as serialized in JSON (`impact`). It copies and rounds the figures of
//! [`crate::analysis::impact`]; it computes no new statistic and uses nothing else of the model.

use super::units::{round6, Seconds, Timestamp};
use crate::analysis::impact::{Impact, Load};
use serde::Serialize;

/// Load of a set of requests.
#[derive(Debug, Serialize)]
pub(crate) struct LoadView {
    /// Requests.
    pub(crate) requests: u64,
    /// Server seconds; `null` (as the figures below) when the format has no `$request_time`.
    pub(crate) request_time_s: Option<f64>,
    /// Mean PHP workers busy over the log's wall time.
    pub(crate) mean_workers: Option<f64>,
    /// The start of the minute that kept the most workers busy.
    pub(crate) peak_minute: Option<Timestamp>,
    /// Workers busy in that minute.
    pub(crate) peak_minute_workers: Option<f64>,
    /// Mean busy workers as a share of `php_workers`.
    pub(crate) share_of_capacity: Option<f64>,
    /// Busy workers of the peak minute as a share of `php_workers`.
    pub(crate) peak_share_of_capacity: Option<f64>,
}

/// What the noise costs and what blocking saves.
#[derive(Debug, Serialize)]
pub(crate) struct ImpactView {
    /// `false` when the format has no `$request_time`: the server-time and worker figures
    /// are then `null`.
    pub(crate) timed: bool,
    /// The wall time the log covers (at least one minute).
    pub(crate) wall_time_s: Seconds,
    /// PHP workers per container (`--php-workers`).
    pub(crate) php_workers: u32,
    /// All traffic.
    pub(crate) all: LoadView,
    /// Mail-client noise.
    pub(crate) noise: LoadView,
    /// Noise nginx already answered 403 (without PHP).
    pub(crate) already_blocked_requests: u64,
    /// Server seconds of those requests.
    pub(crate) already_blocked_request_time_s: Option<f64>,
    /// What one blocked probe is estimated to cost, seconds.
    pub(crate) blocked_request_cost_s: Option<f64>,
    /// Noise requests the block covers that nginx does not already answer.
    pub(crate) blockable_requests: u64,
    /// Estimated server seconds the block frees.
    pub(crate) saved_request_time_s: Option<f64>,
    /// Estimated mean workers the block frees.
    pub(crate) saved_workers: Option<f64>,
}

fn load(l: &Load, workers: u32, timed: bool) -> LoadView {
    let cap = f64::from(workers.max(1));
    let peak = l.peak_minute.filter(|_| timed);
    LoadView {
        requests: l.requests,
        request_time_s: timed.then(|| round6(l.server_s)),
        mean_workers: timed.then(|| round6(l.mean_workers)),
        peak_minute: peak.map(|p| Timestamp::from_epoch(p.0)),
        peak_minute_workers: peak.map(|p| round6(p.1)),
        share_of_capacity: timed.then(|| round6(l.mean_workers / cap)),
        peak_share_of_capacity: peak.map(|p| round6(p.1 / cap)),
    }
}

/// The view of `i`.
pub(crate) fn impact(i: &Impact) -> ImpactView {
    let timed = i.timed;
    ImpactView {
        timed,
        wall_time_s: Seconds::new(i.wall_s),
        php_workers: i.php_workers,
        all: load(&i.all, i.php_workers, timed),
        noise: load(&i.noise, i.php_workers, timed),
        already_blocked_requests: i.already_blocked.0,
        already_blocked_request_time_s: timed.then(|| round6(i.already_blocked.1)),
        blocked_request_cost_s: timed.then_some(i.blocked_cost_s),
        blockable_requests: i.blockable,
        saved_request_time_s: timed.then(|| round6(i.saved_s)),
        saved_workers: timed.then(|| round6(i.saved_workers)),
    }
}
