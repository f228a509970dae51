//! The Prometheus text exposition format (version 0.0.4), for node_exporter's textfile
//! collector: the report's figures, and with `check` whether it could check and what fired.
//!
//! Every metric is a gauge. The file is rewritten by each run and describes that run's window
//! (the `--since`/`--until` window, or what an incremental `--state` run read since the last
//! one): a figure that can go down on the next run is no counter, so no name ends in `_total`.
//! Units are in the names (`_seconds`, `_ratio` for a share from 0 to 1).
//!
//! The families come in a fixed order, each with its HELP and TYPE lines, and samples of a
//! labelled family in the order of their label values; every category is written, 0 when it
//! was not seen, so a series never disappears. Figures that need `$request_time` (server
//! seconds, PHP workers) are left out, family and all, when the format has none. Label values
//! are escaped as the format asks (`\\`, `\"`, `\n`).

use super::model::Report;
use crate::classify::CATEGORIES;
use std::io::{self, Write};

/// Every metric name starts with this.
const PREFIX: &str = "noisegate_";

/// The alert kinds `check` fires, in the order their samples are written.
pub(crate) const ALERT_KINDS: [&str; 5] = ["loop", "noise_rate", "noise_share", "storm", "surge"];

/// What `check` adds to the report's figures.
pub(crate) struct CheckState<'a> {
    /// The logs could be checked (every input read, with a format that fits it).
    pub(crate) success: bool,
    /// The kinds of the alerts that fired, one entry per alert.
    pub(crate) alerts: Vec<&'a str>,
}

/// A sample's value.
enum Value {
    Int(u64),
    Float(f64),
}

impl Value {
    fn text(&self) -> String {
        match *self {
            Value::Int(n) => n.to_string(),
            Value::Float(v) if v.is_nan() => "NaN".to_string(),
            Value::Float(v) if v.is_infinite() => if v > 0.0 { "+Inf" } else { "-Inf" }.to_string(),
            // Rust writes the shortest form that reads back exactly, never with an exponent.
            Value::Float(v) => v.to_string(),
        }
    }
}

/// A label value as the text format wants it.
fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Writes one gauge family: its HELP and TYPE lines, then its samples (`label` is the name of
/// the one label of a labelled family).
fn gauge(
    w: &mut dyn Write,
    name: &str,
    help: &str,
    label: Option<&str>,
    samples: &[(&str, Value)],
) -> io::Result<()> {
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    writeln!(w, "# HELP {PREFIX}{name} {help}")?;
    writeln!(w, "# TYPE {PREFIX}{name} gauge")?;
    for (value_of_label, v) in samples {
        match label {
            Some(l) => writeln!(
                w,
                "{PREFIX}{name}{{{l}=\"{}\"}} {}",
                escape_label(value_of_label),
                v.text()
            )?,
            None => writeln!(w, "{PREFIX}{name} {}", v.text())?,
        }
    }
    Ok(())
}

/// One unlabelled sample.
fn one(w: &mut dyn Write, name: &str, help: &str, v: Value) -> io::Result<()> {
    gauge(w, name, help, None, &[("", v)])
}

/// Writes the metrics: the time of the run (`now`, seconds since the epoch), `check`'s state
/// when given, and the report's figures when there is a report (a check that could not run
/// has none).
pub(crate) fn render(
    r: Option<&Report>,
    check: Option<&CheckState>,
    now: i64,
    w: &mut dyn Write,
) -> io::Result<()> {
    one(
        w,
        "last_run_timestamp_seconds",
        "When noisegate wrote these metrics, seconds since the epoch.",
        Value::Int(now.max(0) as u64),
    )?;
    if let Some(c) = check {
        one(
            w,
            "check_success",
            "1 when the check could check the logs (every input read with a format that fits it), 0 when it could not (exit 2).",
            Value::Int(u64::from(c.success)),
        )?;
        one(
            w,
            "check_fired",
            "1 when a rule of the check fired (exit 1), else 0.",
            Value::Int(u64::from(!c.alerts.is_empty())),
        )?;
        let kinds: Vec<(&str, Value)> = ALERT_KINDS
            .iter()
            .map(|k| {
                (
                    *k,
                    Value::Int(c.alerts.iter().filter(|a| *a == k).count() as u64),
                )
            })
            .collect();
        gauge(
            w,
            "check_alerts",
            "Alerts the check fired in this run, by kind.",
            Some("kind"),
            &kinds,
        )?;
    }
    if let Some(r) = r {
        figures(r, w)?;
    }
    Ok(())
}

/// The report's figures.
fn figures(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let l = &r.lines;
    one(
        w,
        "lines_read",
        "Lines read in this run's window, parsed, rejected or outside the time window.",
        Value::Int(l.total),
    )?;
    one(
        w,
        "lines_rejected",
        "Lines read that did not fit the log format.",
        Value::Int(l.rejected),
    )?;
    one(
        w,
        "window_seconds",
        "The wall time the requests read cover (at least 60).",
        Value::Int(r.impact.wall_time_s.get().max(0) as u64),
    )?;
    one(
        w,
        "requests",
        "Requests parsed in the window, noise or not.",
        Value::Int(r.totals.requests),
    )?;
    let mut ids: Vec<&str> = CATEGORIES.iter().map(|c| c.id).collect();
    ids.sort_unstable();
    let seen = |id: &str| r.categories.iter().find(|c| c.id == id);
    let requests: Vec<(&str, Value)> = ids
        .iter()
        .map(|id| (*id, Value::Int(seen(id).map_or(0, |c| c.traffic.requests))))
        .collect();
    gauge(
        w,
        "noise_requests",
        "Mail-client noise requests in the window, by category.",
        Some("category"),
        &requests,
    )?;
    if r.impact.timed {
        let seconds: Vec<(&str, Value)> = ids
            .iter()
            .map(|id| {
                let s = seen(id).and_then(|c| c.traffic.request_time_s);
                (*id, Value::Float(s.unwrap_or(0.0)))
            })
            .collect();
        gauge(
            w,
            "noise_server_seconds",
            "Server time ($request_time) spent on mail-client noise in the window, by category.",
            Some("category"),
            &seconds,
        )?;
    }
    let blocked = r.impact.already_blocked_requests;
    let ratio = if r.noise.requests == 0 {
        0.0
    } else {
        blocked as f64 / r.noise.requests as f64
    };
    one(
        w,
        "noise_blocked_ratio",
        "Share of the noise requests nginx already answered 403 (blocked before PHP), 0 to 1.",
        Value::Float(ratio),
    )?;
    for (name, help, n) in [
        (
            "storms",
            "Client storms found in the window (one client hammering a noise path).",
            r.storms.len(),
        ),
        (
            "surges",
            "Surges found in the window (a fleet of clients on one category at once).",
            r.surges.len(),
        ),
        (
            "loops",
            "Client loops found in the window (one client retrying for hours).",
            r.loops.len(),
        ),
    ] {
        one(w, name, help, Value::Int(n as u64))?;
    }
    if let Some(workers) = r.impact.noise.peak_minute_workers {
        one(
            w,
            "noise_worst_minute_php_workers",
            "PHP workers kept busy by mail-client noise in its worst minute of the window.",
            Value::Float(workers),
        )?;
    }
    one(
        w,
        "php_workers",
        "PHP workers per container the figures are measured against (--php-workers).",
        Value::Int(u64::from(r.impact.php_workers)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_label("autodiscover"), "autodiscover");
    }

    #[test]
    fn values_are_written_as_the_format_reads_them() {
        assert_eq!(Value::Int(42).text(), "42");
        assert_eq!(Value::Float(0.25).text(), "0.25");
        assert_eq!(Value::Float(1e-7).text(), "0.0000001");
        assert_eq!(Value::Float(f64::NAN).text(), "NaN");
        assert_eq!(Value::Float(f64::INFINITY).text(), "+Inf");
        assert_eq!(Value::Float(f64::NEG_INFINITY).text(), "-Inf");
    }

    #[test]
    fn a_failed_check_still_says_when_and_that_it_failed() {
        let mut out = Vec::new();
        let state = CheckState {
            success: false,
            alerts: Vec::new(),
        };
        render(None, Some(&state), 1_700_000_000, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("\nnoisegate_last_run_timestamp_seconds 1700000000\n"));
        assert!(text.contains("\nnoisegate_check_success 0\n"));
        assert!(text.contains("\nnoisegate_check_alerts{kind=\"storm\"} 0\n"));
        assert!(!text.contains("noisegate_requests"));
    }
}
