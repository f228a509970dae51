//! The engine of noisegate: reads nginx access logs, finds the mail-client probe noise in them
//! (Outlook Autodiscover, Thunderbird autoconfig, ActiveSync, EWS, OWA, MTA-STS, ...) and its
//! storms, reports what they cost, and plans the block that stops them.
//!
//! The modules follow the data flow, each owning one stage, and depend on each other in one
//! direction (a test checks it):
//!
//! ```text
//! input ──▶ format ──▶ classify ──▶ scan ──▶ summary ──▶ pipeline ──▶ analysis ──▶ report
//! (files,    (log_format  (taxonomy,   (one line  (the mergeable  (threads,   (storms,     (view model,
//!  gzip,      plans, JSON  nginx's      into a     aggregate)      merge)      impact)      renderers)
//!  chunker)   lines)       normalizer)  summary)                               remedy: the block
//! ```
//!
//! A run, as the `noisegate` binary does it:
//!
//! ```no_run
//! use noisegate_engine::{build_report, find, render, Input, Output, ScanOptions, Settings, Style};
//! # fn main() -> anyhow::Result<()> {
//! let mut result = noisegate_engine::scan(&[Input::Stdin], &ScanOptions::new(2))?;
//! let found = find(&mut result, &Settings::default())?;
//! let report = build_report(&result, &found, 10);
//! render(&report, Output::Json, Style { color: false, now: 0 }, &mut std::io::stdout())?;
//! # Ok(())
//! # }
//! ```
//!
//! Nothing here installs a signal handler, prints, or reads the environment unless asked:
//! reading closed files under a lease is an `unsafe` opt-in ([`LeaseChoice::auto`]).
//!
//! With the `internals` feature, `internals` exposes the stages one by one for benchmarks,
//! fuzzing and property tests; they carry no stability promise.
#![deny(missing_docs)]

mod alerts;
mod analysis;
mod choice;
mod classify;
mod escape;
mod fit;
mod follow;
mod format;
mod incremental;
mod input;
mod numbers;
mod pipeline;
mod remedy;
mod replace;
mod report;
mod saved;
mod scan;
mod summary;
mod swar;
mod window;

// Inputs and formats.
pub use choice::Choice;
pub use escape::{terminal_path, terminal_text};
pub use format::json::JsonLines;
pub use format::{ClientIp, LogFormat, Preset, TrustedProxies, PRESETS};
pub use input::discover::{check_glob, discover, Discovery};
pub use input::{Input, LeaseChoice};
pub use replace::{clean_up_on_signals, replace_keeping_backup};

// Scanning.
pub use fit::{describe as describe_formats, fit as fit_formats};
pub use incremental::Incremental;
pub use pipeline::{scan, FormatChoice, Progress, ScanOptions, ScanResult, SourceError};
pub use summary::Lines;
pub use window::{resolve as resolve_window, Bound};

// What is found.
pub use alerts::{
    check, untrusted, Alert, CheckReport, Thresholds, DEFAULT_MAX_NOISE_SHARE,
    DEFAULT_MAX_REJECTED_SHARE, NOISE_SHARE_MIN_REQUESTS,
};
pub use analysis::impact::DEFAULT_PHP_WORKERS;
pub use analysis::storms::{Storm, StormConfig};
pub use analysis::{find, Findings, Settings};
pub use follow::{Event, Follower, Status};

// The block.
pub use remedy::yaml::{diff as yaml_diff, merge as merge_pantheon_yml, Merged, MAX_PANTHEON_YML};
pub use remedy::{plan_block, plan_block_limited, BlockPlan, Target, Upstream, MAX_ENTRIES};

// Reports and saved summaries.
pub use report::{build as build_report, render, MailDomainView, Output, Report, Style, SCHEMA};
pub use saved::{combine as combine_summaries, save as save_summary, Combined};

/// The stages one by one, for benchmarks, fuzzing and property tests. Not needed to run a
/// scan, and without stability promise.
#[cfg(feature = "internals")]
pub mod internals {
    pub use crate::classify::{normalize, Class, Classifier, CATEGORIES};
    pub use crate::format::request::{split as split_request, Request};
    pub use crate::format::time::{civil_from_days, TimeCache};
    pub use crate::format::{Escape, Miss, Record};
    pub use crate::remedy::plan as plan_summary;
    pub use crate::saved::Combiner;
    pub use crate::scan::{route, BlockInfo, ScanConfig, Scanner};
    pub use crate::summary::Caps;
    pub use crate::summary::Summary;
}
