//! Analysis of a scan: storms and surges in time, what the noise costs, and the block planned
//! for it ([`find`]). Storms, surges and impact are pure functions of the merged
//! [`Summary`](crate::summary::Summary); the storm details are the one step that reads input
//! again: the noise lines the scan kept in temporary files. Nothing here renders output.

pub(crate) mod details;
pub(crate) mod impact;
pub(crate) mod storms;

use crate::pipeline::ScanResult;
use crate::remedy::{self, BlockPlan, Upstream};
use anyhow::Result;
use details::Details;
use impact::Impact;
use storms::{Storm, StormConfig, Surge};

/// Everything the analysis finds.
#[derive(Clone, Debug)]
pub(crate) struct Analysis {
    /// Client storms, most requests first.
    pub storms: Vec<Storm>,
    /// Details of the first [`details::DETAILED`] storms.
    pub(crate) storm_details: Vec<Details>,
    /// Surges, in time order.
    pub(crate) surges: Vec<Surge>,
    /// Details of the first [`details::DETAILED`] surges.
    pub(crate) surge_details: Vec<Details>,
    /// Client loops (long, slower runs that are no storm), most requests first.
    pub(crate) loops: Vec<Storm>,
    /// What the noise costs.
    pub(crate) impact: Impact,
    /// What limits these findings (a cap reached, details unavailable), for people.
    pub(crate) caveats: Vec<String>,
}

/// What the analysis of a scan needs to be told.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Settings {
    /// The storm and surge rules.
    pub storms: StormConfig,
    /// PHP workers per container, for occupancy as a share of capacity.
    pub php_workers: u32,
    /// The upstream whose default protected paths share the block's entries.
    pub upstream: Upstream,
}

impl Default for Settings {
    /// The documented defaults: the storm rule's, 8 PHP workers, no upstream.
    fn default() -> Self {
        Settings {
            storms: StormConfig::default(),
            php_workers: impact::DEFAULT_PHP_WORKERS,
            upstream: Upstream::None,
        }
    }
}

/// The block planned for a scan and everything found in it.
#[derive(Clone, Debug)]
pub struct Findings {
    /// The block.
    pub(crate) plan: BlockPlan,
    /// Storms, surges, impact.
    pub(crate) analysis: Analysis,
}

/// Plans the block and analyzes the scan: the one path from a scan to what the report and
/// `check` show (savings count only what the block covers).
pub fn find(scan: &mut ScanResult, settings: &Settings) -> Result<Findings> {
    let plan = remedy::plan(&scan.summary, settings.upstream);
    let covered = match plan.noise_requests {
        0 => 1.0,
        n => plan.covered_requests as f64 / n as f64,
    };
    let analysis = analyze(scan, settings.storms, settings.php_workers, covered)?;
    Ok(Findings { plan, analysis })
}

/// Runs every analysis on a scan; the storm details read back the scan's spooled noise.
/// `covered` is the share of noise requests the block covers.
pub(crate) fn analyze(
    scan: &mut ScanResult,
    config: StormConfig,
    php_workers: u32,
    covered: f64,
) -> Result<Analysis> {
    let summary = &scan.summary;
    let acts = storms::activities(summary);
    // Each walks every client's minutes (tens of MB, 2 to 6 ms): the surges on a thread of
    // their own while the storms and then the loops are found.
    let (storms, surges, loops) = std::thread::scope(|s| {
        let surges = s.spawn(|| storms::surges(summary, &acts, &config));
        let storms = storms::storms(&acts, &config);
        let loops = storms::loops(&acts, &config, &storms);
        let surges = surges
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
        (storms, surges, loops)
    });
    drop(acts);
    let impact = impact::impact(summary, php_workers, covered);
    let mut caveats = Vec::new();
    if let Some(state) = &scan.pending_state {
        caveats.extend(state.lost.iter().map(|l| format!("--state: {l}")));
    }
    if summary.activity.approximate() {
        caveats.push(format!(
            "more than {} (category, client) pairs probed, more than {} MB of their keys, or more than {} client-minutes of probes: storms and surges were found in a sample of the clients, so some may be missing and surge client counts are low",
            summary.activity.cap(),
            summary.activity.key_budget() >> 20,
            summary.activity.budget()
        ));
    }
    if let Some((addr, hops)) = summary.proxy.single_proxy() {
        let more = if summary.proxy.hops_capped() {
            " or more"
        } else {
            ""
        };
        caveats.push(format!(
            "every probe counted by its $remote_addr came from {}, while X-Forwarded-For names \
             {hops}{more} different clients: the clients sit behind a proxy, and its address \
             takes the blame for their storms; --trusted-proxies {} counts the client that \
             proxy saw (a first hop the sender forged is not believed), --client-ip xff-first \
             the first hop as written",
            crate::escape::escape_text(addr),
            crate::escape::escape_text(addr)
        ));
    }
    let partly: Vec<&str> = impact
        .timed_categories
        .iter()
        .zip(crate::classify::CATEGORIES.iter())
        .filter(|&(&timed, _)| impact.timed && !timed)
        .map(|(_, k)| k.id)
        .collect();
    if !partly.is_empty() {
        caveats.push(format!(
            "some {} requests have no server time (an input whose format has no \
             $request_time, beside one that has it): they add nothing to the server times, \
             the time and PHP workers of their storms, loops and surges are not known, and \
             check does not take those for blocked",
            partly.join(", ")
        ));
    }
    if summary.timeline.truncated() {
        caveats.push("the log spans more than 45 days: the timeline and the worst minute cover the latest 45".to_string());
    }
    let (storm_details, surge_details) = if summary.spool_failed {
        caveats.push("the noise lines could not be kept in a temporary file (is TMPDIR writable?): storm and surge details are missing".to_string());
        (Vec::new(), Vec::new())
    } else {
        details::details(scan, &storms, &surges)?
    };
    Ok(Analysis {
        storms,
        storm_details,
        surges,
        surge_details,
        loops,
        impact,
        caveats,
    })
}
