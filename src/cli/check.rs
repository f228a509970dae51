//! `noisegate check`: the cron job's command. Quiet with exit 0 when the logs are healthy;
//! a short alert with exit 1 when a storm or surge is found, or when the noise share or the
//! noise rate of the worst minute passes a threshold; exit 2 on errors.

use super::{AnalysisArgs, InputArgs};
use crate::choice::choice;
use anyhow::Result;
use clap::{Args, ValueEnum};
use noisegate_engine::analysis;
use noisegate_engine::numbers::{pct, thousands};
use noisegate_engine::remedy::{self, Upstream};
use noisegate_engine::report::{views, StormView, SurgeView};
use serde::Serialize;
use std::io::Write;
use std::process::ExitCode;

/// Output of `check`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CheckOutput {
    /// A short alert for mail or a chat hook.
    Text,
    /// JSON for monitoring systems.
    Json,
}

/// Arguments of `noisegate check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    analysis: AnalysisArgs,

    /// Also alert when noise is more than this percentage of all requests.
    #[arg(long, value_name = "PCT")]
    max_noise_share: Option<f64>,

    /// Also alert when the worst minute holds more than this many noise requests.
    #[arg(long, value_name = "N_PER_MINUTE")]
    max_noise_rate: Option<u64>,

    /// The site's upstream, whose default protected paths share Pantheon's 24-entry limit.
    #[arg(long, value_parser = choice::<Upstream>(), default_value_t = Upstream::None)]
    upstream: Upstream,

    /// Alert format.
    #[arg(long, short, value_enum, default_value_t = CheckOutput::Text)]
    output: CheckOutput,
}

/// One reason to alert.
#[derive(Debug, Serialize)]
struct Alert {
    kind: &'static str,
    message: String,
}

/// The JSON document of `check`.
#[derive(Debug, Serialize)]
struct CheckView<'a> {
    schema: &'static str,
    status: &'static str,
    alerts: &'a [Alert],
    storms: Vec<StormView>,
    surges: Vec<SurgeView>,
    noise_requests: u64,
    share_of_requests: f64,
    block_paths: Vec<String>,
    pantheon_yml: String,
}

/// Runs `check`; the exit code says whether it fired.
pub fn run(args: &CheckArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let mut scan = args.input.scan(true, true)?;
    let plan = remedy::plan(&scan.summary, args.upstream);
    let covered = match plan.noise_requests {
        0 => 1.0,
        n => plan.covered_requests as f64 / n as f64,
    };
    let a = &args.analysis;
    let found = analysis::analyze(&mut scan, a.config()?, a.php_workers, covered)?;
    let (storms, surges, _) = views(&found);
    let s = &scan.summary;
    let mut alerts = Vec::new();
    for st in &storms {
        let b = &st.burst;
        let workers = b
            .mean_workers
            .map_or(String::new(), |w| format!(", {w:.2} PHP workers busy"));
        alerts.push(Alert {
            kind: "storm",
            message: format!(
                "{} storm from {} since {}: {} requests, up to {} a minute{workers}",
                st.category,
                noisegate_engine::escape::escape_text(&st.client),
                b.start,
                thousands(b.requests),
                b.peak_per_minute
            ),
        });
    }
    for su in &surges {
        let b = &su.burst;
        alerts.push(Alert {
            kind: "surge",
            message: format!(
                "{} surge since {}: {} requests from {} clients, up to {} a minute",
                su.category,
                b.start,
                thousands(b.requests),
                su.clients,
                b.peak_per_minute
            ),
        });
    }
    let noise = s.noise_requests();
    let share = noisegate_engine::numbers::share(noise, s.totals.requests);
    if args
        .max_noise_share
        .is_some_and(|m| !m.is_finite() || m < 0.0)
    {
        anyhow::bail!("--max-noise-share must be a percentage");
    }
    if let Some(max) = args.max_noise_share {
        if share * 100.0 > max {
            alerts.push(Alert {
                kind: "noise_share",
                message: format!(
                    "mail-client noise is {} of all requests (limit {max}%)",
                    pct(share)
                ),
            });
        }
    }
    if let Some(max) = args.max_noise_rate {
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
                    noisegate_engine::format::time::rfc3339(m * 60)
                ),
            });
        }
    }
    let fired = !alerts.is_empty();
    match args.output {
        CheckOutput::Json => {
            let view = CheckView {
                schema: noisegate_engine::report::model::SCHEMA,
                status: if fired { "alert" } else { "ok" },
                alerts: &alerts,
                storms,
                surges,
                noise_requests: noise,
                share_of_requests: share,
                block_paths: plan.entries.iter().map(|e| e.path.clone()).collect(),
                pantheon_yml: remedy::pantheon_yml(&plan, false),
            };
            serde_json::to_writer_pretty(&mut *out, &view)?;
            writeln!(out)?;
        }
        CheckOutput::Text if fired => {
            writeln!(out, "noisegate: mail-client noise alert")?;
            for a in &alerts {
                writeln!(out, "- {}", a.message)?;
            }
            writeln!(
                out,
                "\nBlock it in pantheon.yml:\n\n{}",
                remedy::pantheon_yml(&plan, false)
            )?;
        }
        CheckOutput::Text => {}
    }
    out.flush()?;
    super::save_state(&scan)?;
    for e in &scan.errors {
        eprintln!("noisegate: {}: {}", e.source, e.message);
    }
    Ok(if !scan.errors.is_empty() {
        ExitCode::from(2)
    } else if fired {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
