//! Analysis: pure functions of a merged [`Summary`](crate::summary::Summary) — storms and
//! surges in time, and what the noise costs. Nothing here reads input or renders output.

pub mod impact;
pub mod storms;

use crate::summary::Summary;
use impact::Impact;
use storms::{Storm, StormConfig, Surge};

/// Everything the analysis finds.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The thresholds used.
    pub config: StormConfig,
    /// Client storms, most requests first.
    pub storms: Vec<Storm>,
    /// Surges, in time order.
    pub surges: Vec<Surge>,
    /// What the noise costs.
    pub impact: Impact,
}

/// Runs every analysis on `summary`.
pub fn analyze(summary: &Summary, config: StormConfig, php_workers: u32) -> Analysis {
    Analysis {
        config,
        storms: storms::storms(summary, &config),
        surges: storms::surges(summary, &config),
        impact: impact::impact(summary, php_workers),
    }
}
