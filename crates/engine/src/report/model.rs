//! The report's view model: every figure the renderers show, computed once from a scan, its
//! block plan and its analysis, in a deterministic order (counts descending, ties by key). Its
//! serde form *is* the JSON contract (`"schema": "noisegate/1"`, see README); renderers only
//! lay it out.
//!
//! This file owns the [`Report`] and its input, traffic, category and block parts; it takes
//! the storms and surges from `bursts`, the impact from `impact` and the timeline from
//! `timeline`, none of which may use this file. It must not render or round for display.

use super::bursts::{self, StormView, SurgeView};
use super::counts::{top, AgentCount, ClientCount, FamilyCount, MethodCount, PathCount};
use super::domains::{mail_domains, MailDomainView};
use super::impact::{self, ImpactView};
use super::timeline::{self, TimelineView};
use super::units::{Seconds, Timestamp};
use crate::analysis::Findings;
use crate::classify::CATEGORIES;
use crate::escape::ser_bytes;
use crate::format::Reject;
use crate::numbers::{pct, plural, share, thousands};
use crate::pipeline::ScanResult;
use crate::remedy::Target;
use crate::remedy::{self, BlockPlan};
use crate::summary::evidence::Evidence;
use crate::summary::{Summary, Traffic};
use serde::Serialize;
use std::collections::BTreeMap;

/// The JSON schema identifier.
pub const SCHEMA: &str = "noisegate/1";

/// The whole report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// Always [`SCHEMA`].
    pub(crate) schema: &'static str,
    /// noisegate's version.
    pub(crate) version: &'static str,
    /// The log format of the inputs: a name, `mixed`, or `null` when no input had a line.
    pub(crate) format: Option<String>,
    /// Input names.
    pub(crate) inputs: Vec<String>,
    /// Each input's format and what that format lacks.
    pub(crate) sources: Vec<SourceView>,
    /// Line accounting: `total = parsed + rejected + filtered`.
    pub(crate) lines: LinesView,
    /// Rejected lines by reason, with the first few.
    pub(crate) rejects: RejectsView,
    /// First and last timestamp.
    pub(crate) time: Option<SpanView>,
    /// All parsed requests.
    pub(crate) totals: TrafficView,
    /// All noise categories together.
    pub(crate) noise: NoiseView,
    /// Each category seen, most requests first.
    pub(crate) categories: Vec<CategoryView>,
    /// The paths to protect.
    pub(crate) block: BlockView,
    /// The mail domains the noise asked about, most requests first (ties by domain): what
    /// their mail admin fixes in DNS.
    pub(crate) mail_domains: Vec<MailDomainView>,
    /// `true` when more domains were seen than kept (a deterministic sample is listed).
    pub(crate) mail_domains_approximate: bool,
    /// What the noise costs.
    pub(crate) impact: ImpactView,
    /// Client storms, most requests first.
    pub(crate) storms: Vec<StormView>,
    /// Surges of a whole fleet, in time order.
    pub(crate) surges: Vec<SurgeView>,
    /// Client loops: long, slower runs that are no storm, most requests first.
    pub(crate) loops: Vec<StormView>,
    /// What limits the storms, surges and impact (caps reached, details missing).
    pub(crate) caveats: Vec<String>,
    /// Per-minute requests, noise and noise per category.
    pub(crate) timeline: TimelineView,
    /// Inputs that could not be read.
    pub(crate) errors: Vec<ErrorView>,
}

impl Report {
    /// The mail domains the noise asked about, most requests first: what `noisegate dns`
    /// checks.
    pub fn mail_domains(&self) -> &[MailDomainView] {
        &self.mail_domains
    }
}

/// One input.
#[derive(Debug, Serialize)]
pub(crate) struct SourceView {
    /// The input's name.
    pub(crate) file: String,
    /// Its format; `null` when it had no line.
    pub(crate) format: Option<String>,
    /// What the analysis lacks with this format ("no $request_time: ...").
    pub(crate) notes: Vec<String>,
}

/// Line accounting.
#[derive(Debug, Serialize)]
pub(crate) struct LinesView {
    /// Every line read.
    pub(crate) total: u64,
    /// Lines parsed into a request.
    pub(crate) parsed: u64,
    /// Lines the format did not fit.
    pub(crate) rejected: u64,
    /// Lines outside `--since`/`--until`.
    pub(crate) filtered: u64,
}

/// Rejected lines.
#[derive(Debug, Serialize)]
pub(crate) struct RejectsView {
    /// Count per reason id (only reasons seen).
    pub(crate) by_reason: BTreeMap<String, u64>,
    /// The first rejected lines, in input order.
    pub(crate) examples: Vec<RejectExampleView>,
}

/// One rejected line.
#[derive(Debug, Serialize)]
pub(crate) struct RejectExampleView {
    /// The input's name.
    pub(crate) file: String,
    /// Line number in it, from 1.
    pub(crate) line: u64,
    /// The reason id.
    pub(crate) reason: String,
    /// Where in the line it went wrong and what was expected.
    pub(crate) detail: String,
    /// The line as read (a bounded prefix of a long one).
    #[serde(serialize_with = "ser_bytes")]
    pub(crate) text: Vec<u8>,
}

/// The time covered by the logs.
#[derive(Debug, Serialize)]
pub(crate) struct SpanView {
    /// The earliest timestamp.
    pub(crate) first: Timestamp,
    /// The latest timestamp.
    pub(crate) last: Timestamp,
    /// From `first` to `last`.
    pub(crate) seconds: Seconds,
}

/// Counts, bytes and time of a set of requests.
#[derive(Debug, Serialize)]
pub(crate) struct TrafficView {
    /// Requests.
    pub(crate) requests: u64,
    /// Bytes sent.
    pub(crate) bytes: u64,
    /// Sum of `$request_time`; `null` (as the latencies below) when none of these requests
    /// had one.
    pub(crate) request_time_s: Option<f64>,
    /// Median `$request_time`.
    pub(crate) request_time_p50_s: Option<f64>,
    /// 95th percentile of `$request_time`.
    pub(crate) request_time_p95_s: Option<f64>,
    /// 99th percentile of `$request_time`.
    pub(crate) request_time_p99_s: Option<f64>,
    /// The longest `$request_time`.
    pub(crate) request_time_max_s: Option<f64>,
    /// Requests per status code (`"404"`).
    pub(crate) status: BTreeMap<String, u64>,
}

/// Noise over all categories.
#[derive(Debug, Serialize)]
pub(crate) struct NoiseView {
    /// Noise requests.
    pub(crate) requests: u64,
    /// Their share of all requests.
    pub(crate) share_of_requests: f64,
    /// Noise requests answered 404.
    pub(crate) not_found: u64,
    /// Their share of all 404s.
    pub(crate) share_of_404s: f64,
    /// Bytes sent to noise.
    pub(crate) bytes: u64,
    /// Server seconds of noise; `null` (as the share) without `$request_time`.
    pub(crate) request_time_s: Option<f64>,
    /// Their share of all server seconds.
    pub(crate) share_of_request_time: Option<f64>,
}

/// One noise category.
#[derive(Debug, Serialize)]
pub(crate) struct CategoryView {
    /// The category id (`autodiscover`).
    pub(crate) id: &'static str,
    /// Its name for people.
    pub(crate) name: &'static str,
    /// Its share of all requests.
    pub(crate) share_of_requests: f64,
    /// Its share of all server seconds; `null` without `$request_time`.
    pub(crate) share_of_request_time: Option<f64>,
    /// Its requests, bytes, time and statuses.
    #[serde(flatten)]
    pub(crate) traffic: TrafficView,
    /// Its requests answered 404.
    pub(crate) not_found: u64,
    /// Requests per method.
    pub(crate) methods: Vec<MethodCount>,
    /// Distinct clients (estimated when `approximate_lists` names `clients`).
    pub(crate) clients: u64,
    /// The clients with the most requests (`--top`).
    pub(crate) top_clients: Vec<ClientCount>,
    /// Distinct user agents (estimated when `approximate_lists` names `user_agents`).
    pub(crate) user_agents: u64,
    /// The user agents with the most requests (`--top`).
    pub(crate) top_user_agents: Vec<AgentCount>,
    /// Distinct raw paths (estimated when `approximate_lists` names `paths`).
    pub(crate) distinct_paths: u64,
    /// Requests by who sent them (client family from the user agent).
    pub(crate) families: Vec<FamilyCount>,
    /// Requests that look like exploit scans or scripts, not mail clients.
    pub(crate) scanner_requests: u64,
    /// Requests nginx already answered 403 (blocked before PHP).
    pub(crate) already_blocked: u64,
    /// Every distinct raw path (as logged, query removed), or past the cap a sample of them.
    pub(crate) paths: Vec<PathCount>,
    /// `true` when a per-key cap was reached: the lists named in `approximate_lists` then
    /// hold a deterministic sample of the keys (each with its exact count) and their
    /// distinct counts are estimates. Request, byte and time figures stay exact.
    pub(crate) approximate: bool,
    /// The lists that hold a sample: `methods`, `clients`, `user_agents`, `paths`.
    pub(crate) approximate_lists: Vec<&'static str>,
}

/// The block.
#[derive(Debug, Serialize)]
pub(crate) struct BlockView {
    /// The `protected_web_paths` entries.
    pub(crate) paths: Vec<String>,
    /// The same entries with what each covers.
    pub(crate) entries: Vec<EntryView>,
    /// What share of the noise the entries cover.
    pub(crate) coverage: CoverageView,
    /// Directory entries replaced by their exact paths because they would cover a served page.
    pub(crate) narrowed: Vec<DroppedView>,
    /// Paths left out (unsafe characters, served pages, over the entry limit).
    pub(crate) dropped: Vec<DroppedView>,
    /// What limited the checks (caps reached).
    pub(crate) warnings: Vec<String>,
    /// The block as a `pantheon.yml` snippet.
    pub(crate) pantheon_yml: String,
    /// The same block as nginx `location` blocks.
    pub(crate) nginx: String,
    /// The same block as Apache `.htaccess` rules.
    pub(crate) apache: String,
}

/// One entry.
#[derive(Debug, Serialize)]
pub(crate) struct EntryView {
    /// The protected path.
    pub(crate) path: String,
    /// Noise requests it covers.
    pub(crate) requests: u64,
    /// The ids of the categories it covers.
    pub(crate) categories: Vec<&'static str>,
}

/// What share of noise the entries cover.
#[derive(Debug, Serialize)]
pub(crate) struct CoverageView {
    /// All noise requests.
    pub(crate) noise_requests: u64,
    /// Those the entries cover.
    pub(crate) covered_requests: u64,
    /// `covered_requests / noise_requests`.
    pub(crate) share: f64,
    /// Entries left out over the entry limit (absent when none was).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) over_limit: Option<OverLimitView>,
}

/// The entries left out over the limit, together.
#[derive(Debug, Serialize)]
pub(crate) struct OverLimitView {
    /// How many.
    pub(crate) entries: usize,
    /// Their noise requests.
    pub(crate) requests: u64,
    /// How widely they were asked for (absent when part of the noise came from a saved
    /// summary of version 2 or older, which keeps no per-path clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) evidence: Option<EvidenceView>,
}

/// How widely a set of noise paths was asked for; counts stop at `limit` (then read "at
/// least").
#[derive(Debug, Serialize)]
pub(crate) struct EvidenceView {
    /// Distinct clients.
    pub(crate) clients: usize,
    /// Distinct UTC days.
    pub(crate) days: usize,
    /// Distinct UTC hours.
    pub(crate) hours: usize,
    /// Mail-client families (ids).
    pub(crate) mail_families: Vec<&'static str>,
    /// Where the counts stop.
    pub(crate) limit: usize,
}

impl From<&Evidence> for EvidenceView {
    fn from(e: &Evidence) -> Self {
        EvidenceView {
            clients: e.clients(),
            days: e.days(),
            hours: e.hours(),
            mail_families: e.mail_families(),
            limit: crate::summary::evidence::LIMIT,
        }
    }
}

impl CoverageView {
    /// `1,200 of 1,250 noise requests (96.00%)`, or `None` when there was no noise.
    pub(crate) fn sentence(&self) -> Option<String> {
        (self.noise_requests > 0).then(|| {
            format!(
                "{} of {} noise requests ({})",
                thousands(self.covered_requests),
                thousands(self.noise_requests),
                pct(self.share)
            ) + &match &self.over_limit {
                Some(o) => {
                    let from = match &o.evidence {
                        Some(e) if e.clients >= e.limit => format!(" from {}+ clients", e.limit),
                        Some(e) if e.clients == 1 => " from 1 client".to_string(),
                        Some(e) => format!(" from {} clients", e.clients),
                        None => String::new(),
                    };
                    let entries = match o.entries {
                        1 => "1 entry".to_string(),
                        n => format!("{n} entries"),
                    };
                    format!(
                        "; left out over the limit: {entries} with {}{from}",
                        plural(o.requests, "request")
                    )
                }
                None => String::new(),
            }
        })
    }
}

/// A path left out of the block or narrowed, and why.
#[derive(Debug, Serialize)]
pub(crate) struct DroppedView {
    /// The path (or directory entry) concerned.
    pub(crate) path: String,
    /// Noise requests it had.
    pub(crate) requests: u64,
    /// Why, for people.
    pub(crate) reason: String,
    /// For an entry left out over the limit: how widely it was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) evidence: Option<EvidenceView>,
    /// For a narrowed directory entry: the noise requests it would cover.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) directory_requests: Option<u64>,
    /// For a narrowed directory entry: the noise requests its exact entries cover.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exact_requests: Option<u64>,
    /// For a narrowed directory entry: how many exact entries replace it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) exact_entries: Option<usize>,
}

impl From<&remedy::Dropped> for DroppedView {
    fn from(d: &remedy::Dropped) -> Self {
        DroppedView {
            path: d.path.clone(),
            requests: d.requests,
            reason: match d.trade.filter(|t| t.whole != t.exact || t.entries != 1) {
                Some(t) => format!(
                    "{}; protecting {} would cover {} in 1 entry, and any new path under it; \
                     its exact paths cover {} in {}{}",
                    d.reason,
                    d.path,
                    plural(t.whole, "request"),
                    plural(t.exact, "request"),
                    match t.entries {
                        1 => "1 entry".to_string(),
                        n => format!("{n} entries"),
                    },
                    match t.whole.saturating_sub(t.exact) {
                        0 => String::new(),
                        more => format!(
                            ": {} more if the site can do without those 2xx/3xx answers",
                            plural(more, "request")
                        ),
                    }
                ),
                None => d.reason.clone(),
            },
            evidence: d.evidence.as_ref().map(EvidenceView::from),
            directory_requests: d.trade.map(|t| t.whole),
            exact_requests: d.trade.map(|t| t.exact),
            exact_entries: d.trade.map(|t| t.entries),
        }
    }
}

/// An input error.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorView {
    /// The input's name.
    pub(crate) file: String,
    /// What went wrong.
    pub(crate) message: String,
}

fn seconds(us: u64) -> f64 {
    us as f64 / 1e6
}

fn traffic(t: &Traffic) -> TrafficView {
    let timed = t.timed > 0;
    let q = |p: f64| timed.then(|| seconds(t.latency_quantile(p)));
    TrafficView {
        requests: t.requests,
        bytes: t.bytes,
        request_time_s: timed.then(|| seconds(t.request_time_us)),
        request_time_p50_s: q(0.50),
        request_time_p95_s: q(0.95),
        request_time_p99_s: q(0.99),
        request_time_max_s: timed.then(|| seconds(t.max_request_time_us)),
        status: t.statuses().map(|(c, n)| (format!("{c:03}"), n)).collect(),
    }
}

fn category(s: &Summary, i: usize, top_n: usize) -> CategoryView {
    let c = &s.categories[i];
    let t = &c.traffic;
    let timed = s.totals.timed > 0;
    let approximate_lists: Vec<&'static str> = [
        ("methods", &c.methods),
        ("clients", &c.clients),
        ("user_agents", &c.user_agents),
        ("paths", &c.paths),
    ]
    .into_iter()
    .filter(|(_, k)| k.approximate())
    .map(|(name, _)| name)
    .collect();
    CategoryView {
        id: CATEGORIES[i].id,
        name: CATEGORIES[i].name,
        share_of_requests: share(t.requests, s.totals.requests),
        share_of_request_time: timed.then(|| share(t.request_time_us, s.totals.request_time_us)),
        traffic: traffic(t),
        not_found: t.status[404],
        methods: top(&c.methods, 0),
        clients: c.clients.distinct(),
        top_clients: top(&c.clients, top_n),
        user_agents: c.user_agents.distinct(),
        top_user_agents: top(&c.user_agents, top_n),
        distinct_paths: c.paths.distinct(),
        families: top(&c.families, 0),
        scanner_requests: c.scanner,
        already_blocked: c.blocked,
        paths: top(&c.paths, 0),
        approximate: !approximate_lists.is_empty(),
        approximate_lists,
    }
}

fn noise(s: &Summary) -> NoiseView {
    let cats = &s.categories;
    let requests = s.noise_requests();
    // Category figures saturate (a hostile log can claim absurd sizes), so their sums must too.
    let sum = |f: fn(&Traffic) -> u64| {
        cats.iter()
            .fold(0u64, |a, c| a.saturating_add(f(&c.traffic)))
    };
    let not_found = sum(|t| t.status[404]);
    let rt = sum(|t| t.request_time_us);
    let timed = s.totals.timed > 0;
    NoiseView {
        requests,
        share_of_requests: share(requests, s.totals.requests),
        not_found,
        share_of_404s: share(not_found, s.totals.status[404]),
        bytes: sum(|t| t.bytes),
        request_time_s: timed.then(|| seconds(rt)),
        share_of_request_time: timed.then(|| share(rt, s.totals.request_time_us)),
    }
}

fn block(plan: &BlockPlan) -> BlockView {
    BlockView {
        paths: plan.entries.iter().map(|e| e.path.clone()).collect(),
        entries: plan
            .entries
            .iter()
            .map(|e| EntryView {
                path: e.path.clone(),
                requests: e.requests,
                categories: e.categories.clone(),
            })
            .collect(),
        coverage: CoverageView {
            noise_requests: plan.noise_requests,
            covered_requests: plan.covered_requests,
            share: share(plan.covered_requests, plan.noise_requests),
            over_limit: (plan.over_limit.0 > 0).then(|| OverLimitView {
                entries: plan.over_limit.0,
                requests: plan.over_limit.1,
                evidence: plan
                    .evidence_complete
                    .then(|| EvidenceView::from(&plan.over_limit.2)),
            }),
        },
        narrowed: plan.narrowed.iter().map(DroppedView::from).collect(),
        dropped: plan.dropped.iter().map(DroppedView::from).collect(),
        warnings: plan.warnings.clone(),
        pantheon_yml: Target::Pantheon.render(plan, false),
        nginx: Target::Nginx.render(plan, false),
        apache: Target::Apache.render(plan, false),
    }
}

/// Every category seen, most requests first (ties by id).
fn categories(s: &Summary, top_n: usize) -> Vec<CategoryView> {
    let mut categories: Vec<CategoryView> = (0..CATEGORIES.len())
        .filter(|&i| s.categories[i].traffic.requests > 0)
        .map(|i| category(s, i, top_n))
        .collect();
    categories.sort_by(|a, b| {
        b.traffic
            .requests
            .cmp(&a.traffic.requests)
            .then_with(|| a.id.cmp(b.id))
    });
    categories
}

fn sources(scan: &ScanResult) -> Vec<SourceView> {
    let formats = scan.sources.iter().zip(&scan.formats);
    formats
        .map(|(file, f)| SourceView {
            file: file.clone(),
            format: f.name.clone(),
            notes: f.notes.clone(),
        })
        .collect()
}

fn rejects(scan: &ScanResult) -> RejectsView {
    let s = &scan.summary;
    RejectsView {
        by_reason: (0..Reject::COUNT)
            .filter(|&i| s.rejects[i] > 0)
            .map(|i| (Reject::from_index(i).id(), s.rejects[i]))
            .collect(),
        examples: s
            .reject_examples
            .iter()
            .map(|e| RejectExampleView {
                file: scan.sources[e.source as usize].clone(),
                line: e.line,
                reason: e.reason.id(),
                detail: e.detail.clone(),
                text: e.text.clone(),
            })
            .collect(),
    }
}

fn span(s: &Summary) -> Option<SpanView> {
    s.span.map(|(a, b)| {
        let (first, last) = (Timestamp::from_epoch(a), Timestamp::from_epoch(b));
        SpanView {
            first,
            last,
            seconds: Seconds::between(first, last),
        }
    })
}

fn errors(scan: &ScanResult) -> Vec<ErrorView> {
    let errors = scan.errors.iter();
    errors
        .map(|e| ErrorView {
            file: e.source.clone(),
            message: e.message.clone(),
        })
        .collect()
}

/// Builds the report; `top` bounds the client and user-agent lists (0 = all).
pub fn build(scan: &ScanResult, found: &Findings, top: usize) -> Report {
    let (plan, analysis) = (&found.plan, &found.analysis);
    let s = &scan.summary;
    let (mail_domains, mail_domains_approximate) = mail_domains(s);
    Report {
        schema: SCHEMA,
        version: env!("CARGO_PKG_VERSION"),
        format: scan.format_name().map(str::to_string),
        inputs: scan.sources.clone(),
        sources: sources(scan),
        lines: LinesView {
            total: s.lines.total,
            parsed: s.lines.parsed,
            rejected: s.lines.rejected,
            filtered: s.lines.filtered,
        },
        rejects: rejects(scan),
        time: span(s),
        totals: traffic(&s.totals),
        noise: noise(s),
        categories: categories(s, top),
        block: block(plan),
        mail_domains,
        mail_domains_approximate,
        impact: impact::impact(&analysis.impact),
        storms: bursts::storms(analysis),
        surges: bursts::surges(analysis),
        loops: bursts::loops(analysis),
        caveats: analysis.caveats.clone(),
        timeline: timeline::timeline(s),
        errors: errors(scan),
    }
}
