//! The cron job's rules: when the logs call for an alert (a storm, a surge, a noise share or a
//! worst minute over a threshold), and the `check` document that says so. The binary only
//! renders [`CheckReport`]; every rule lives here.

use crate::analysis::Findings;
use crate::escape::escape_text;
use crate::format::time::rfc3339;
use crate::numbers::{pct, share, thousands};
use crate::pipeline::ScanResult;
use crate::remedy;
use crate::report::SCHEMA;
use crate::report::{views, StormView, SurgeView};
use serde::Serialize;

/// Thresholds beyond storms and surges; `None` disables one.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Thresholds {
    /// Alert when noise is more than this percentage of all requests.
    pub max_noise_share: Option<f64>,
    /// Alert when the worst minute holds more than this many noise requests.
    pub max_noise_rate: Option<u64>,
}

/// One reason to alert.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// `storm`, `surge`, `noise_share` or `noise_rate`.
    pub kind: &'static str,
    /// One line for a person.
    pub message: String,
}

/// The outcome of a check: the `check -o json` document.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    /// `noisegate/1`.
    pub(crate) schema: &'static str,
    /// `ok` or `alert`.
    pub(crate) status: &'static str,
    /// Why it fired, if it did.
    pub(crate) alerts: Vec<Alert>,
    /// The storms found.
    pub(crate) storms: Vec<StormView>,
    /// The surges found.
    pub(crate) surges: Vec<SurgeView>,
    /// Noise requests.
    pub(crate) noise_requests: u64,
    /// Noise as a share of all requests.
    pub(crate) share_of_requests: f64,
    /// The block's entries.
    pub(crate) block_paths: Vec<String>,
    /// The block as pantheon.yml.
    pub(crate) pantheon_yml: String,
}

impl CheckReport {
    /// Why it fired, if it did.
    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// The block, as pantheon.yml.
    pub fn pantheon_yml(&self) -> &str {
        &self.pantheon_yml
    }

    /// Whether any rule fired.
    pub fn fired(&self) -> bool {
        !self.alerts.is_empty()
    }
}

/// Applies every rule to a scan and what was found in it.
pub fn check(scan: &ScanResult, found: &Findings, t: &Thresholds) -> CheckReport {
    let (storms, surges, _) = views(&found.analysis);
    let mut alerts: Vec<Alert> = storms.iter().map(storm_alert).collect();
    alerts.extend(surges.iter().map(surge_alert));
    let s = &scan.summary;
    let noise = s.noise_requests();
    let share = share(noise, s.totals.requests);
    if let Some(max) = t.max_noise_share.filter(|max| share * 100.0 > *max) {
        alerts.push(Alert {
            kind: "noise_share",
            message: format!(
                "mail-client noise is {} of all requests (limit {max}%)",
                pct(share)
            ),
        });
    }
    if let Some(max) = t.max_noise_rate {
        let worst = s
            .timeline
            .sorted()
            .into_iter()
            .max_by_key(|(m, t)| (t.noise, -m));
        if let Some((m, t)) = worst.filter(|(_, t)| t.noise > max) {
            alerts.push(Alert {
                kind: "noise_rate",
                message: format!(
                    "{} noise requests in the minute from {} (limit {max})",
                    thousands(t.noise),
                    rfc3339(m * 60)
                ),
            });
        }
    }
    let status = if alerts.is_empty() { "ok" } else { "alert" };
    CheckReport {
        schema: SCHEMA,
        status,
        alerts,
        storms,
        surges,
        noise_requests: noise,
        share_of_requests: share,
        block_paths: found.plan.entries.iter().map(|e| e.path.clone()).collect(),
        pantheon_yml: remedy::pantheon_yml(&found.plan, false),
    }
}

fn storm_alert(st: &StormView) -> Alert {
    let b = &st.burst;
    let workers = b
        .mean_workers
        .map_or(String::new(), |w| format!(", {w:.2} PHP workers busy"));
    Alert {
        kind: "storm",
        message: format!(
            "{} storm from {} since {}: {} requests, up to {} a minute{workers}",
            st.category,
            escape_text(&st.client),
            b.start,
            thousands(b.requests),
            b.peak_per_minute
        ),
    }
}

fn surge_alert(su: &SurgeView) -> Alert {
    let b = &su.burst;
    Alert {
        kind: "surge",
        message: format!(
            "{} surge since {}: {} requests from {} clients, up to {} a minute",
            su.category,
            b.start,
            thousands(b.requests),
            su.clients,
            b.peak_per_minute
        ),
    }
}
