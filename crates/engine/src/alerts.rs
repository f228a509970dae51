//! The cron job's rules: whether the logs could be checked at all (every input read, and read
//! with a format that fits it), and when they call for an alert (a storm, a surge, a loop, a
//! noise share or a worst minute over a threshold) — and the `check` document that says so.
//! The binary only renders [`CheckReport`]; every rule lives here.
//!
//! Noise that costs nothing is no reason to alert: once the block is deployed, nginx answers
//! the probes with a 403 in no time, and the clients keep retrying forever. A storm, surge or
//! loop whose requests took at most [`CHEAP_MS`] ms each on average, and the noise answered
//! 403 that fast, do not fire unless asked ([`Thresholds::include_cheap`]). Without
//! `$request_time` nothing is known to be cheap, so everything counts.

use crate::analysis::Findings;
use crate::escape::{escape_text, terminal_text};
use crate::format::time::rfc3339;
use crate::numbers::{pct, plural, share, thousands};
use crate::pipeline::ScanResult;
use crate::remedy;
use crate::report::domains::{dns_command, mail_domains, MailDomainView};
use crate::report::prometheus::{self, CheckState};
use crate::report::{bursts, Report, StormView, SurgeView, SCHEMA};
use crate::summary::time::MinuteTotals;
use crate::summary::CHEAP_MS;
use serde::Serialize;
use std::io::{self, Write};

/// `check`'s default noise-share threshold, percent of all requests.
pub const DEFAULT_MAX_NOISE_SHARE: f64 = 20.0;
/// The noise-share rule needs at least this many noise requests (a dozen probes in a quiet
/// log of forty lines is no alarm).
pub const NOISE_SHARE_MIN_REQUESTS: u64 = 100;
/// `check`'s default limit on rejected lines, percent of an input's lines.
pub const DEFAULT_MAX_REJECTED_SHARE: f64 = 5.0;

/// What `check` alerts on besides storms, surges and loops.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Thresholds {
    /// Alert when costly noise is more than this percentage of all requests (and at least
    /// [`NOISE_SHARE_MIN_REQUESTS`]); `None` disables the rule.
    pub max_noise_share: Option<f64>,
    /// Alert when the worst minute holds more than this many noise requests.
    pub max_noise_rate: Option<u64>,
    /// An input with more than this percentage of its lines rejected cannot be checked.
    pub max_rejected_share: f64,
    /// Alert on storms, surges, loops and noise that cost nothing too (already blocked).
    pub include_cheap: bool,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_noise_share: Some(DEFAULT_MAX_NOISE_SHARE),
            max_noise_rate: None,
            max_rejected_share: DEFAULT_MAX_REJECTED_SHARE,
            include_cheap: false,
        }
    }
}

/// One reason to alert, or one reason the logs could not be checked.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Alert {
    /// Alerts: `storm`, `surge`, `loop`, `noise_share`, `noise_rate`. Errors: `unreadable`,
    /// `no_format_fits`, `rejected_lines`, `fields_missing`, `failed`.
    pub kind: &'static str,
    /// One line for a person.
    pub message: String,
}

impl Alert {
    fn new(kind: &'static str, message: String) -> Self {
        Alert { kind, message }
    }
}

/// Storms, surges and loops that fired no alert because they cost nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Quiet {
    /// Storms.
    pub storms: usize,
    /// Surges.
    pub surges: usize,
    /// Loops.
    pub loops: usize,
}

/// The outcome of a check: the `check -o json` document.
#[derive(Debug, Serialize)]
pub struct CheckReport {
    schema: &'static str,
    status: &'static str,
    errors: Vec<Alert>,
    alerts: Vec<Alert>,
    storms: Vec<StormView>,
    surges: Vec<SurgeView>,
    loops: Vec<StormView>,
    already_blocked: Quiet,
    /// What limits the findings (as the report's `caveats`): a sample, a proxy, ...
    notes: Vec<String>,
    noise_requests: u64,
    share_of_requests: f64,
    block_paths: Vec<String>,
    pantheon_yml: String,
    /// The mail domains behind the noise, as the report lists them.
    mail_domains: Vec<MailDomainView>,
}

impl CheckReport {
    /// A check that could not run at all (`message` says why).
    pub fn failed(message: String) -> Self {
        CheckReport {
            schema: SCHEMA,
            status: "error",
            errors: vec![Alert::new("failed", message)],
            alerts: Vec::new(),
            storms: Vec::new(),
            surges: Vec::new(),
            loops: Vec::new(),
            already_blocked: Quiet::default(),
            notes: Vec::new(),
            noise_requests: 0,
            share_of_requests: 0.0,
            block_paths: Vec::new(),
            pantheon_yml: String::new(),
            mail_domains: Vec::new(),
        }
    }

    /// `ok`, `alert`, or `error` (the logs could not be checked).
    pub fn status(&self) -> &'static str {
        self.status
    }

    /// Why the logs could not be checked.
    pub fn errors(&self) -> &[Alert] {
        &self.errors
    }

    /// Why it fired, if it did.
    pub fn alerts(&self) -> &[Alert] {
        &self.alerts
    }

    /// Whether any rule fired.
    pub fn fired(&self) -> bool {
        !self.alerts.is_empty()
    }

    /// The Prometheus text format (see README): when this run happened (`now`, seconds since
    /// the epoch), whether it could check and what fired, and `report`'s figures (the report
    /// of the same scan and findings). Logs that could not be checked give no figures: a
    /// dashboard shows a gap, not zeros it cannot vouch for.
    pub fn write_prometheus(
        &self,
        report: Option<&Report>,
        now: i64,
        out: &mut dyn Write,
    ) -> io::Result<()> {
        let success = self.errors.is_empty();
        let state = CheckState {
            success,
            alerts: self.alerts.iter().map(|a| a.kind).collect(),
        };
        prometheus::render(report.filter(|_| success), Some(&state), now, out)
    }

    /// The mail domains behind the noise, for the alert: the first few, and the command
    /// that checks their DNS records.
    fn write_domains(&self, out: &mut dyn Write) -> io::Result<()> {
        const SHOWN: usize = 5;
        let all = &self.mail_domains;
        if all.is_empty() {
            return Ok(());
        }
        writeln!(
            out,
            "Mail domains behind the noise (their DNS sends the clients here):"
        )?;
        for d in all.iter().take(SHOWN) {
            writeln!(
                out,
                "- {}: {} · {}",
                terminal_text(&d.domain),
                plural(d.requests, "request"),
                d.mailboxes_phrase()
            )?;
        }
        if all.len() > SHOWN {
            writeln!(out, "- and {} more", all.len() - SHOWN)?;
        }
        writeln!(
            out,
            "Check them with: {}",
            terminal_text(&dns_command(&all[..all.len().min(SHOWN)]))
        )
    }

    /// The text for a person: nothing when healthy; the reasons it could not check; or the
    /// alert with the block that stops the noise.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        if !self.errors.is_empty() {
            writeln!(out, "noisegate: could not check the logs")?;
            for e in &self.errors {
                writeln!(out, "- {}", terminal_text(&e.message))?;
            }
            return writeln!(
                out,
                "\nUntil this is fixed, noisegate cannot tell whether mail clients are storming \
                 the site. Fix the input or the format (see `noisegate formats LOG`)."
            );
        }
        if self.fired() {
            writeln!(out, "noisegate: mail-client noise alert")?;
            for a in &self.alerts {
                writeln!(out, "- {}", terminal_text(&a.message))?;
            }
            for n in &self.notes {
                writeln!(out, "note: {}", terminal_text(n))?;
            }
            writeln!(out, "\nBlock it in pantheon.yml:\n\n{}", self.pantheon_yml)?;
            self.write_domains(out)?;
        }
        Ok(())
    }
}

/// Applies every rule to a scan and what was found in it.
pub fn check(scan: &ScanResult, found: &Findings, t: &Thresholds) -> CheckReport {
    let a = &found.analysis;
    let (storms, surges, loops) = (bursts::storms(a), bursts::surges(a), bursts::loops(a));
    let counts = |b: &bursts::BurstView| t.include_cheap || !cheap(b);
    let mut alerts: Vec<Alert> = Vec::new();
    alerts.extend(storms.iter().filter(|s| counts(&s.burst)).map(storm_alert));
    alerts.extend(surges.iter().filter(|s| counts(&s.burst)).map(surge_alert));
    alerts.extend(loops.iter().filter(|s| counts(&s.burst)).map(loop_alert));
    let quiet = Quiet {
        storms: storms.iter().filter(|s| !counts(&s.burst)).count(),
        surges: surges.iter().filter(|s| !counts(&s.burst)).count(),
        loops: loops.iter().filter(|s| !counts(&s.burst)).count(),
    };
    let s = &scan.summary;
    let noise = s.noise_requests();
    let blocked = if t.include_cheap {
        0
    } else {
        a.impact.already_blocked.0
    };
    alerts.extend(share_alert(
        noise - blocked.min(noise),
        s.totals.requests,
        t,
    ));
    alerts.extend(rate_alert(scan, t));
    let errors = input_errors(scan, t);
    let status = match (errors.is_empty(), alerts.is_empty()) {
        (false, _) => "error",
        (true, false) => "alert",
        (true, true) => "ok",
    };
    CheckReport {
        schema: SCHEMA,
        status,
        errors,
        alerts,
        storms,
        surges,
        loops,
        already_blocked: quiet,
        notes: a.caveats.clone(),
        noise_requests: noise,
        share_of_requests: share(noise, s.totals.requests),
        block_paths: found.plan.entries.iter().map(|e| e.path.clone()).collect(),
        pantheon_yml: remedy::pantheon_yml(&found.plan, false),
        mail_domains: mail_domains(s).0,
    }
}

/// Whether a storm, surge or loop cost nothing: timed, and at most [`CHEAP_MS`] a request.
fn cheap(b: &bursts::BurstView) -> bool {
    b.request_time_s
        .is_some_and(|s| s * 1000.0 <= (b.requests * CHEAP_MS) as f64)
}

/// The noise-share rule.
fn share_alert(noise: u64, requests: u64, t: &Thresholds) -> Option<Alert> {
    let max = t.max_noise_share?;
    let sh = share(noise, requests);
    (noise >= NOISE_SHARE_MIN_REQUESTS && sh * 100.0 > max).then(|| {
        Alert::new(
            "noise_share",
            format!(
                "mail-client noise is {} of all requests ({} of {}; limit {max}%)",
                pct(sh),
                thousands(noise),
                thousands(requests)
            ),
        )
    })
}

/// The worst-minute rule: the noise of each minute but what was answered as a deployed block
/// answers (unless `--include-blocked`).
fn rate_alert(scan: &ScanResult, t: &Thresholds) -> Option<Alert> {
    let max = t.max_noise_rate?;
    let counted = |w: &MinuteTotals| {
        if t.include_cheap {
            w.noise
        } else {
            w.noise - w.blocked.min(w.noise)
        }
    };
    let worst = scan
        .summary
        .timeline
        .sorted()
        .into_iter()
        .map(|(m, w)| (m, counted(&w), w.noise))
        .max_by_key(|&(m, n, _)| (n, -m));
    let (m, n, all) = worst.filter(|&(_, n, _)| n > max)?;
    let cheap = if n < all {
        format!("; {} more answered 403 in no time", thousands(all - n))
    } else {
        String::new()
    };
    Some(Alert::new(
        "noise_rate",
        format!(
            "{} noise requests in the minute from {} (limit {max}{cheap})",
            thousands(n),
            rfc3339(m * 60)
        ),
    ))
}

/// Why the analysis of a scan cannot be trusted, beside inputs that could not be read: an
/// input none of whose lines fit its format, more than `max_rejected_share` percent of an
/// input's lines rejected, or lines that carry nothing to analyze. The report warns with it;
/// `check` refuses to call such logs healthy.
pub fn untrusted(scan: &ScanResult, max_rejected_share: f64) -> Vec<Alert> {
    let t = Thresholds {
        max_rejected_share,
        ..Thresholds::default()
    };
    let mut all = input_errors(scan, &t);
    all.retain(|a| a.kind != "unreadable");
    all
}

/// Inputs that could not be read, or not with a format that fits them.
fn input_errors(scan: &ScanResult, t: &Thresholds) -> Vec<Alert> {
    let mut out: Vec<Alert> = scan
        .errors
        .iter()
        .map(|e| Alert::new("unreadable", format!("{}: {}", e.source, e.message)))
        .collect();
    let l = scan.summary.lines;
    let per_source: Vec<(usize, u64, u64)> = if scan.line_counts.is_empty() {
        vec![(usize::MAX, l.total, l.rejected)]
    } else {
        let counts = scan.line_counts.iter().enumerate();
        counts.map(|(i, &(n, r))| (i, n, r)).collect()
    };
    for (i, lines, rejected) in per_source {
        let over = rejected as f64 * 100.0 > t.max_rejected_share * lines as f64;
        if rejected == 0 || (rejected < lines && !over) {
            continue;
        }
        let name = scan.sources.get(i).map_or("the input", String::as_str);
        let format = scan
            .formats
            .get(i)
            .and_then(|f| f.name.as_deref())
            .or(scan.format_name())
            .unwrap_or("detected");
        let first = scan
            .summary
            .reject_examples
            .iter()
            .find(|e| i == usize::MAX || e.source as usize == i)
            .map_or(String::new(), |e| {
                let src = scan
                    .sources
                    .get(e.source as usize)
                    .map_or("", String::as_str);
                format!("; first at {src}:{}", e.line)
            });
        out.push(if rejected == lines {
            let message = match lines {
                1 => format!("the one line of {name} does not fit the {format} format{first}"),
                n => format!(
                    "none of the {} lines of {name} fit the {format} format{first}",
                    thousands(n)
                ),
            };
            Alert::new("no_format_fits", message)
        } else {
            Alert::new(
                "rejected_lines",
                format!(
                    "{} of {} lines of {name} ({}) did not fit the {format} format (limit {}%){first}",
                    thousands(rejected),
                    thousands(lines),
                    pct(share(rejected, lines)),
                    t.max_rejected_share
                ),
            )
        });
    }
    out.extend(missing_fields(scan));
    out
}

/// Lines that parse but carry nothing to analyze: no time at all, or (JSON lines, whose keys
/// are looked up by name) no status — a key map that names keys the log does not have.
fn missing_fields(scan: &ScanResult) -> Vec<Alert> {
    let s = &scan.summary;
    let parsed = s.lines.parsed;
    if parsed == 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    if s.span.is_none() {
        out.push(Alert::new(
            "fields_missing",
            format!(
                "none of the {} parsed lines has a time: the format does not match the log",
                thousands(parsed)
            ),
        ));
    }
    let json = scan.format_name() == Some("json");
    if json && s.totals.status.iter().all(|&n| n == 0) {
        out.push(Alert::new(
            "fields_missing",
            format!(
                "none of the {} JSON lines has a status under the key the key map reads \
                 (--json-fields)",
                thousands(parsed)
            ),
        ));
    }
    out
}

/// "from 11:45 to 12:14" for a run.
fn span(b: &bursts::BurstView) -> String {
    format!("from {} to {}", b.start, b.end)
}

fn workers(b: &bursts::BurstView) -> String {
    b.mean_workers
        .map_or(String::new(), |w| format!(", {w:.2} PHP workers busy"))
}

fn storm_alert(st: &StormView) -> Alert {
    let b = &st.burst;
    Alert::new(
        "storm",
        format!(
            "{} storm from {}: {} requests {}, up to {} a minute{}",
            st.category,
            escape_text(&st.client),
            thousands(b.requests),
            span(b),
            thousands(b.peak_per_minute),
            workers(b)
        ),
    )
}

fn surge_alert(su: &SurgeView) -> Alert {
    let b = &su.burst;
    Alert::new(
        "surge",
        format!(
            "{} surge: {} requests from {} clients {}, up to {} a minute{}",
            su.category,
            thousands(b.requests),
            thousands(su.clients),
            span(b),
            thousands(b.peak_per_minute),
            workers(b)
        ),
    )
}

fn loop_alert(lo: &StormView) -> Alert {
    let b = &lo.burst;
    Alert::new(
        "loop",
        format!(
            "{} loop from {}: {} requests {} ({:.1} a minute, without a break longer than the \
             loop gap){}",
            lo.category,
            escape_text(&lo.client),
            thousands(b.requests),
            span(b),
            b.rate_per_minute,
            workers(b)
        ),
    )
}
