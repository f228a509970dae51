//! Analysis: pure functions of a merged [`Summary`](crate::summary::Summary) — storms and
//! surges in time, and what the noise costs. Nothing here reads input or renders output.

pub mod details;
pub mod impact;
pub mod storms;

use crate::pipeline::ScanResult;
use anyhow::Result;
use details::Details;
use impact::Impact;
use storms::{Storm, StormConfig, Surge};

/// Everything the analysis finds.
#[derive(Clone, Debug)]
pub struct Analysis {
    /// The thresholds used.
    pub config: StormConfig,
    /// Client storms, most requests first.
    pub storms: Vec<Storm>,
    /// Details of the first [`details::DETAILED`] storms.
    pub storm_details: Vec<Details>,
    /// Surges, in time order.
    pub surges: Vec<Surge>,
    /// Details of the first [`details::DETAILED`] surges.
    pub surge_details: Vec<Details>,
    /// What the noise costs.
    pub impact: Impact,
}

/// Runs every analysis on a scan; the storm details read back the scan's spooled noise.
pub fn analyze(scan: &mut ScanResult, config: StormConfig, php_workers: u32) -> Result<Analysis> {
    let summary = &scan.summary;
    let storms = storms::storms(summary, &config);
    let surges = storms::surges(summary, &config);
    let impact = impact::impact(summary, php_workers);
    let (storm_details, surge_details) = details::details(scan, &storms, &surges)?;
    Ok(Analysis {
        config,
        storms,
        storm_details,
        surges,
        surge_details,
        impact,
    })
}
