//! The timeline of the view model: requests, noise and noise per category for each UTC minute,
//! as serialized in JSON (`timeline`). It only copies the summary's per-minute counts (the
//! charts' buckets are the renderers' layout, not figures of the model) and uses nothing of
//! the model but the `units` leaf.

use super::units::Timestamp;
use crate::classify::CATEGORIES;
use crate::summary::Summary;
use serde::Serialize;
use std::collections::BTreeMap;

/// One minute of the timeline.
#[derive(Debug, Serialize)]
pub(crate) struct MinuteView {
    /// The start of the minute.
    pub(crate) minute: Timestamp,
    /// All requests in it.
    pub(crate) requests: u64,
    /// Noise requests in it.
    pub(crate) noise: u64,
    /// Noise requests per category id (only categories seen in that minute).
    pub(crate) categories: BTreeMap<&'static str, u64>,
}

/// The timeline: every minute that had a request, oldest first.
#[derive(Debug, Serialize)]
pub(crate) struct TimelineView {
    /// `true` when the oldest minutes were dropped by the cap.
    pub(crate) truncated: bool,
    /// The minutes, in time order.
    pub(crate) minutes: Vec<MinuteView>,
}

/// The timeline of `summary`.
pub(crate) fn timeline(summary: &Summary) -> TimelineView {
    let minutes = summary
        .timeline
        .sorted()
        .into_iter()
        .map(|(m, t)| MinuteView {
            minute: Timestamp::from_epoch_minute(m),
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
