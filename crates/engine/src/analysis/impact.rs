//! What the noise costs: server seconds, PHP-worker occupancy (mean over the log's wall time
//! and at the worst minute), what is already blocked, and what blocking would save.
//!
//! Occupancy is server time divided by wall time: 120 server seconds in one minute kept two
//! PHP workers busy for that minute. A blocked probe costs what nginx spends on a 403: the
//! median `$request_time` of the 403/404 answers nginx gave without PHP (within
//! [`CHEAP_MS`]), or 1 ms when the log has none.

use crate::summary::{Summary, CHEAP_MS};

/// The PHP workers a container is taken to have unless `--php-workers` says otherwise.
/// Pantheon runs a small fixed number per application container (historically 4 or 8,
/// depending on the plan); the larger one keeps "% of capacity" from overstating.
pub const DEFAULT_PHP_WORKERS: u32 = 8;

/// Load of a set of requests.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct Load {
    /// Requests.
    pub(crate) requests: u64,
    /// Server seconds.
    pub(crate) server_s: f64,
    /// Mean busy workers over the log's wall time.
    pub(crate) mean_workers: f64,
    /// The worst minute (epoch seconds) and the workers busy in it.
    pub(crate) peak_minute: Option<(i64, f64)>,
}

/// The impact section.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Impact {
    /// Wall time the log covers, seconds (at least one minute).
    pub(crate) wall_s: i64,
    /// Whether the format gives server time at all.
    pub(crate) timed: bool,
    /// Per category (in [`CATEGORIES`](crate::classify::CATEGORIES) order), whether every
    /// noise request of it had a server time: the time of its storms, loops and surges is
    /// then known; else (an input without `$request_time` beside one with it) it is not.
    pub(crate) timed_categories: Vec<bool>,
    /// All traffic.
    pub(crate) all: Load,
    /// Mail-client noise.
    pub(crate) noise: Load,
    /// PHP workers per container.
    pub(crate) php_workers: u32,
    /// Noise already answered 403 by nginx: requests and server seconds.
    pub(crate) already_blocked: (u64, f64),
    /// What a blocked probe costs, seconds.
    pub(crate) blocked_cost_s: f64,
    /// Noise requests that blocking would turn into 403s (not blocked yet).
    pub(crate) blockable: u64,
    /// Server seconds blocking would free.
    pub(crate) saved_s: f64,
    /// Mean workers blocking would free.
    pub(crate) saved_workers: f64,
}

/// The median of the cheap 403/404 answers, seconds; 1 ms when there are none.
fn blocked_cost(summary: &Summary) -> f64 {
    let n: u64 = summary.cheap_answers.iter().sum();
    if n == 0 {
        return 0.001;
    }
    let mut seen = 0;
    for (ms, count) in summary.cheap_answers.iter().enumerate() {
        seen += count;
        if seen * 2 >= n {
            return ms as f64 / 1000.0;
        }
    }
    CHEAP_MS as f64 / 1000.0
}

/// Computes the impact; `php_workers` from `--php-workers`; `covered` is the share of noise
/// requests the block covers (savings count only those).
pub(crate) fn impact(summary: &Summary, php_workers: u32, covered: f64) -> Impact {
    let wall_s = summary.span.map_or(60, |(a, b)| (b - a + 1).max(60));
    let minutes = summary.timeline.sorted();
    let peak = |f: fn(&crate::summary::time::MinuteTotals) -> u64| {
        minutes
            .iter()
            .map(|(m, t)| (m * 60, f(t) as f64 / 60e6))
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
    };
    let noise_us = summary
        .categories
        .iter()
        .fold(0u64, |a, c| a.saturating_add(c.traffic.request_time_us));
    let load = |requests: u64, us: u64, peak_minute| Load {
        requests,
        server_s: us as f64 / 1e6,
        mean_workers: us as f64 / 1e6 / wall_s as f64,
        peak_minute,
    };
    let blocked: u64 = summary.categories.iter().map(|c| c.blocked).sum();
    let blocked_us = summary
        .categories
        .iter()
        .fold(0u64, |a, c| a.saturating_add(c.blocked_time_us));
    let cost = blocked_cost(summary);
    // What the block covers, less what nginx already answers: an estimate that spreads the
    // unblocked noise's server time evenly over its requests.
    let unblocked = summary.noise_requests() - blocked;
    let blockable = (unblocked as f64 * covered.clamp(0.0, 1.0)).round() as u64;
    let blockable_s = noise_us.saturating_sub(blocked_us) as f64 / 1e6 * covered.clamp(0.0, 1.0);
    let saved_s = (blockable_s - blockable as f64 * cost).max(0.0);
    Impact {
        wall_s,
        timed: summary.totals.timed > 0,
        timed_categories: summary
            .categories
            .iter()
            .map(|c| c.traffic.timed == c.traffic.requests)
            .collect(),
        all: load(
            summary.totals.requests,
            summary.totals.request_time_us,
            peak(|t| t.request_time_us),
        ),
        noise: load(
            summary.noise_requests(),
            noise_us,
            peak(|t| t.noise_time_us),
        ),
        php_workers,
        already_blocked: (blocked, blocked_us as f64 / 1e6),
        blocked_cost_s: cost,
        blockable,
        saved_s,
        saved_workers: saved_s / wall_s as f64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Caps;

    #[test]
    fn median_of_cheap_answers_or_a_millisecond() {
        let mut s = Summary::new(&Caps::default());
        assert_eq!(blocked_cost(&s), 0.001);
        s.cheap_answers[0] = 3;
        s.cheap_answers[2] = 4;
        assert_eq!(blocked_cost(&s), 0.002);
    }

    #[test]
    fn occupancy_is_server_time_over_wall_time() {
        let mut s = Summary::new(&Caps::default());
        s.span = Some((0, 599));
        s.totals.add(Some(200), None, Some(300_000_000));
        s.timeline.at(3).unwrap().request_time_us = 120_000_000;
        let i = impact(&s, 8, 1.0);
        assert_eq!(i.wall_s, 600);
        assert_eq!(i.all.mean_workers, 0.5);
        assert_eq!(i.all.peak_minute, Some((180, 2.0)));
    }
}
