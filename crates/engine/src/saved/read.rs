//! Reading the records of one summary file into a summary of its own, and its noise records
//! straight into the combined noise spool. Every layout ends here: version 5, 4, 3 and 2
//! records as they are read (a version-4 file has no blocked counts in its minutes, a
//! version-3 file no domains map, a version-2 file no evidence maps), version 1 files translated
//! record by record ([`super::v1`]).
//!
//! Ids are resolved against this noisegate's tables; a category it does not know is counted
//! as ordinary traffic (see the module doc of [`super`]), any other unknown id or an
//! inconsistent figure refuses the file.

use super::bounds;
use super::record::{self as rec, MapHead, Record, Run, Traffic as TrafficRec};
use super::record::{NO_BLOCKED_MINUTES, NO_DOMAINS, NO_EVIDENCE, VERSION};
use crate::classify::category_index;
use crate::classify::family::Family;
use crate::format::Reject;
use crate::pipeline::{SourceError, SourceFormat};
use crate::summary::evidence::Evidence;
use crate::summary::noise::{self, NoiseRef};
use crate::summary::time::{Activity, Cell, MinuteTotals};
use crate::summary::{
    Caps, KeyCounts, MapSettings, RejectExample, Summary, Traffic, CHEAP_MS, MAX_KEY_BYTES,
    MAX_LATENCY_MS, REJECT_EXAMPLES, REJECT_EXCERPT,
};
use anyhow::{bail, Context, Result};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;

/// The map that [`Record::Key`] and [`Record::Activity`] records fill.
#[derive(Clone, Copy, Debug)]
enum Open {
    /// None yet.
    Nothing,
    /// A counting map of a category (by index) or, without one, `served`.
    Counts(Option<usize>, usize),
    /// The activity map.
    Activity,
    /// The evidence map of a category (by index; `None`: one this noisegate does not know,
    /// whose entries are checked and skipped).
    Evidence(Option<usize>),
    /// The mail domains.
    Domains,
    /// A map of a category this noisegate does not know: its entries are skipped.
    Skip,
}

/// The per-category counting maps, by their names in the file.
const CATEGORY_MAPS: [&str; 5] = ["methods", "clients", "user_agents", "paths", "families"];

/// What one file holds, read so far.
pub(super) struct FileReader<'s> {
    /// Its summary.
    pub(crate) summary: Summary,
    /// Its inputs.
    pub(crate) sources: Vec<String>,
    /// Their formats.
    pub(crate) formats: Vec<SourceFormat>,
    /// Its unreadable inputs.
    pub(crate) errors: Vec<SourceError>,
    /// Requests of categories this noisegate does not know, by id.
    pub(crate) unknown: BTreeMap<String, u64>,
    /// Records read (the header excluded).
    pub(crate) records: u64,
    /// The layout version of the file ([`VERSION`] until the header says).
    pub(crate) version: u32,
    open: Open,
    /// The last key of the open evidence map: its keys ascend, as the writer writes them.
    last_key: Option<Vec<u8>>,
    spool: &'s mut dyn Write,
    /// Running sums checked as records come ([`bounds`]): requests of all categories, the
    /// counts of the open map and its bound, minute requests and noise, noise records.
    noise: u64,
    map: (u64, u64),
    minutes: (u64, u64),
    noise_records: u64,
    /// Where in the writer's order the records are ([`Stage`]), and the one-time records
    /// and sections seen: the categories, and the maps of the current one.
    stage: Stage,
    categories: Vec<String>,
    category_maps: Vec<String>,
    /// What the categories add up to against the totals: bytes, server time, timed
    /// requests, requests by status; and the minutes' server time.
    of_categories: (u64, u64, u64),
    status_of_categories: BTreeMap<u16, u64>,
    minute_time: u64,
}

/// The writer's order of records (see the module doc of [`super`]): a record may not come
/// after one of a later stage, and the stages marked once hold one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Stage {
    Inputs,
    Run,
    RejectExamples,
    Totals,
    Categories,
    Served,
    Activity,
    Domains,
    Timeline,
    Minutes,
    Noise,
}

impl Stage {
    /// The stage of record `r` (a key or activity record belongs to the open map's).
    fn of(r: &Record<'_>, now: Stage) -> Stage {
        match r {
            Record::Source { .. } | Record::Error { .. } => Stage::Inputs,
            Record::Run(_) => Stage::Run,
            Record::RejectExample(_) => Stage::RejectExamples,
            Record::Totals(_) => Stage::Totals,
            Record::Category(_) => Stage::Categories,
            Record::Map(h) => match (&*h.of, &h.category) {
                ("served", None) => Stage::Served,
                ("activity", None) => Stage::Activity,
                ("domains", None) => Stage::Domains,
                _ => Stage::Categories,
            },
            Record::Key(..)
            | Record::Evidence(..)
            | Record::Activity(_)
            | Record::Domain(_)
            | Record::End { .. } => now,
            Record::Timeline { .. } => Stage::Timeline,
            Record::Minute(_) => Stage::Minutes,
            Record::Noise(_) => Stage::Noise,
        }
    }

    /// Whether a file holds exactly one record of this stage.
    fn once(self) -> bool {
        matches!(
            self,
            Stage::Run
                | Stage::Totals
                | Stage::Served
                | Stage::Activity
                | Stage::Domains
                | Stage::Timeline
        )
    }

    /// The record that opens the stage, for messages.
    fn name(self) -> &'static str {
        match self {
            Stage::Inputs => "source",
            Stage::Run => "run",
            Stage::RejectExamples => "reject_example",
            Stage::Totals => "totals",
            Stage::Categories => "category",
            Stage::Served => "served map",
            Stage::Activity => "activity map",
            Stage::Domains => "domains map",
            Stage::Timeline => "timeline",
            Stage::Minutes => "minute",
            Stage::Noise => "noise",
        }
    }
}

impl<'s> FileReader<'s> {
    /// A reader that writes the file's noise records to `spool`.
    pub(crate) fn new(caps: &Caps, spool: &'s mut dyn Write) -> Self {
        FileReader {
            summary: Summary::new(caps),
            sources: Vec::new(),
            formats: Vec::new(),
            errors: Vec::new(),
            unknown: BTreeMap::new(),
            records: 0,
            version: VERSION,
            open: Open::Nothing,
            last_key: None,
            spool,
            noise: 0,
            map: (0, 0),
            minutes: (0, 0),
            noise_records: 0,
            stage: Stage::Inputs,
            categories: Vec::new(),
            category_maps: Vec::new(),
            of_categories: (0, 0, 0),
            status_of_categories: BTreeMap::new(),
            minute_time: 0,
        }
    }

    /// Refuses a record out of the writer's order, a second one of a kind written once, a
    /// category given twice and a map of a category other than the one it follows.
    fn in_order(&mut self, r: &Record<'_>) -> Result<()> {
        let stage = Stage::of(r, self.stage);
        if stage < self.stage || stage == self.stage && stage.once() && !is_entry(r) {
            bail!(
                "a {} record after the {} records: not the order a summary is written in",
                stage.name(),
                self.stage.name()
            );
        }
        let skipped = |s: Stage| self.stage < s && stage > s;
        if let Some(s) = [Stage::Run, Stage::Totals, Stage::Timeline]
            .into_iter()
            .find(|&s| skipped(s) || matches!(r, Record::End { .. }) && self.stage < s)
        {
            bail!("no {} record before this one", s.name());
        }
        match r {
            Record::Category(c) => {
                if self.categories.iter().any(|id| *id == *c.id) {
                    bail!("category `{}` is given twice", c.id);
                }
                self.categories.push(c.id.to_string());
                self.category_maps.clear();
            }
            // (A map of no category but served and activity is refused as unknown below.)
            Record::Map(h) if h.category.is_some() => {
                let of = h.category.as_deref().unwrap_or_default();
                if self.categories.last().map(String::as_str) != Some(of) {
                    bail!("a map of category `{of}` outside its category's records");
                }
                if self.category_maps.contains(&h.of.to_string()) {
                    bail!("map `{}` of category `{of}` is given twice", h.of);
                }
                self.category_maps.push(h.of.to_string());
            }
            _ => {}
        }
        let entry = matches!(
            r,
            Record::Key(..) | Record::Evidence(..) | Record::Activity(_) | Record::Domain(_)
        );
        if !entry && !matches!(r, Record::Map(_)) {
            // Entries belong to the map right before them, never to an earlier one.
            self.open = Open::Nothing;
        }
        self.stage = stage;
        Ok(())
    }

    /// Applies one record; `true` at the end record.
    pub(crate) fn apply(&mut self, r: Record<'_>) -> Result<bool> {
        self.in_order(&r)?;
        match r {
            Record::Source {
                name,
                format,
                notes,
            } => {
                self.sources.push(name.into_owned());
                let name = format.map(|f| f.into_owned());
                self.formats.push(SourceFormat { name, notes });
            }
            Record::Error { source, message } => self.errors.push(SourceError {
                source: source.into_owned(),
                message: message.into_owned(),
            }),
            Record::Run(run) => self.run(&run)?,
            Record::RejectExample(ex) => self.reject_example(ex)?,
            Record::Totals(t) => self.totals(&t)?,
            Record::Category(c) => self.category(c)?,
            Record::Map(head) => self.open_map(&head)?,
            Record::Key(key, n) => self.key(&key.0, n)?,
            Record::Evidence(key, e) => self.evidence(&key.0, &e)?,
            Record::Activity(a) => self.activity(&a)?,
            Record::Domain(d) => self.domain(&d)?,
            Record::Timeline { cutoff } => {
                if let Some(c) = cutoff {
                    self.summary.timeline.restore_cutoff(bounds::minute(c)?);
                }
            }
            Record::Minute(m) => self.minute(&m)?,
            Record::Noise(n) => self.noise(&n)?,
            Record::End { records } => {
                if records != self.records {
                    bail!(
                        "the end record counts {records} records, the file has {}",
                        self.records
                    );
                }
                self.finish()?;
                return Ok(true);
            }
        }
        self.records += 1;
        Ok(false)
    }

    fn totals(&mut self, t: &TrafficRec) -> Result<()> {
        let parsed = self.summary.lines.parsed;
        if t.requests != parsed {
            bail!(
                "{} requests in the totals, {parsed} parsed lines",
                t.requests
            );
        }
        set_traffic(&mut self.summary.totals, t)?;
        // A cheap answer is a timed 403 or 404.
        let s = &self.summary;
        let bound = t
            .timed
            .min(s.totals.status[403].saturating_add(s.totals.status[404]));
        let cheap = s.cheap_answers.iter().copied();
        bounds::sum_within(cheap, bound, "cheap answers (timed 403s and 404s)")
    }

    fn category(&mut self, r: rec::Category<'_>) -> Result<()> {
        let all = self.summary.totals.requests;
        bounds::add(
            &mut self.noise,
            r.traffic.requests,
            all,
            "the requests of the categories",
        )?;
        // Each category's requests are some of the totals': so are their bytes, server time,
        // timed requests and statuses.
        let t = &self.summary.totals;
        let sums = &mut self.of_categories;
        bounds::add(
            &mut sums.0,
            r.traffic.bytes,
            t.bytes,
            "the bytes of the categories",
        )?;
        let time = r.traffic.request_time_us;
        let what = "the server time of the categories";
        bounds::add(&mut sums.1, time, t.request_time_us, what)?;
        let what = "the timed requests of the categories";
        bounds::add(&mut sums.2, r.traffic.timed, t.timed, what)?;
        if r.traffic.max_request_time_us > t.max_request_time_us {
            bail!("a category's longest request is longer than the longest of all requests");
        }
        for (&code, &n) in &r.traffic.status {
            let all = t.status.get(usize::from(code)).copied().unwrap_or(0);
            let sum = self.status_of_categories.entry(code).or_default();
            bounds::add(
                sum,
                n,
                all,
                &format!("the categories' requests of status {code}"),
            )?;
        }
        let n = r.traffic.requests;
        bounds::sum_within([r.scanner], n, "scanner requests of a category")?;
        bounds::sum_within([r.blocked], n, "blocked requests of a category")?;
        // Blocked: answered 403 within CHEAP_MS, so timed and cheap.
        let forbidden = r.traffic.status.get(&403).copied().unwrap_or(0);
        bounds::sum_within(
            [r.blocked],
            forbidden,
            "blocked requests (403s) of a category",
        )?;
        let cheap = r.blocked.saturating_mul(CHEAP_MS * 1000);
        if r.blocked_time_us > r.traffic.request_time_us.min(cheap) {
            bail!("the blocked requests of a category take more server time than they can");
        }
        match category_index(&r.id) {
            Some(i) => {
                let c = &mut self.summary.categories[i];
                set_traffic(&mut c.traffic, &r.traffic)?;
                (c.scanner, c.blocked, c.blocked_time_us) =
                    (r.scanner, r.blocked, r.blocked_time_us);
            }
            None => *self.unknown.entry(r.id.into_owned()).or_default() += r.traffic.requests,
        }
        Ok(())
    }

    fn noise(&mut self, n: &rec::Noise<'_>) -> Result<()> {
        bounds::time(n.time)?;
        bounds::add(&mut self.noise_records, 1, self.noise, "noise records")?;
        // The noise of a category this noisegate does not know is ordinary traffic here.
        let Some(i) = category_index(&n.category) else {
            return Ok(());
        };
        let r = NoiseRef {
            category: i as u8,
            time: n.time,
            status: n.status,
            strings: noise::Strings {
                method: &n.method.0,
                client: &n.client.0,
                path: &n.path.0,
                user_agent: &n.user_agent.0,
            },
        };
        noise::write_full(&mut self.spool, &r)?;
        Ok(())
    }

    fn minute(&mut self, m: &rec::Minute<'_>) -> Result<()> {
        let at = bounds::minute(m.at)?;
        let parsed = self.summary.lines.parsed;
        bounds::add(
            &mut self.minutes.0,
            m.requests,
            parsed,
            "the requests of the minutes",
        )?;
        bounds::add(
            &mut self.minutes.1,
            m.noise,
            self.noise,
            "the noise of the minutes",
        )?;
        bounds::sum_within([m.noise], m.requests, "the noise of a minute")?;
        let all = self.summary.totals.request_time_us;
        let what = "the server time of the minutes";
        bounds::add(&mut self.minute_time, m.request_time_us, all, what)?;
        let what = "the noise server time of a minute";
        bounds::sum_within([m.noise_time_us], m.request_time_us, what)?;
        let per_category = m.categories.values().copied();
        bounds::sum_within(per_category, m.noise, "the categories of a minute")?;
        let blocked = match (m.blocked, self.version > NO_BLOCKED_MINUTES) {
            (Some(b), true) => b,
            (None, false) => 0,
            (Some(_), false) => bail!(
                "a minute's blocked count in a version-{} file (it came with version {})",
                self.version,
                NO_BLOCKED_MINUTES + 1
            ),
            (None, true) => bail!("a minute without its blocked count"),
        };
        bounds::sum_within([blocked], m.noise, "the blocked noise of a minute")?;
        let mut t = MinuteTotals {
            requests: m.requests,
            noise: m.noise,
            request_time_us: m.request_time_us,
            noise_time_us: m.noise_time_us,
            blocked,
            ..MinuteTotals::default()
        };
        minute_categories(&mut t, &m.categories);
        self.summary.timeline.restore_minute(at, &t);
        Ok(())
    }

    fn run(&mut self, r: &Run<'_>) -> Result<()> {
        let s = &mut self.summary;
        let sum = r
            .parsed
            .checked_add(r.rejected)
            .and_then(|n| n.checked_add(r.filtered));
        if sum != Some(r.total) {
            bail!(
                "lines do not add up: {} parsed + {} rejected + {} filtered is not {} in total",
                r.parsed,
                r.rejected,
                r.filtered,
                r.total
            );
        }
        s.lines.total = r.total;
        s.lines.parsed = r.parsed;
        s.lines.rejected = r.rejected;
        s.lines.filtered = r.filtered;
        s.rejects = [0; Reject::COUNT];
        for (id, &n) in &r.rejects {
            s.rejects[reject(id)?.index()] = n;
        }
        if s.rejects.iter().try_fold(0u64, |a, &n| a.checked_add(n)) != Some(r.rejected) {
            bail!("rejected lines by reason do not add up to {}", r.rejected);
        }
        if r.parsed == 0 && r.span.is_some() {
            bail!("a time span without a parsed line");
        }
        s.span = match r.span {
            Some((a, b)) => Some((bounds::time(a.min(b))?, bounds::time(a.max(b))?)),
            None => None,
        };
        let cheap = r.cheap_answers.values().copied();
        bounds::sum_within(cheap, r.parsed, "cheap answers")?;
        s.cheap_answers = [0; CHEAP_MS as usize + 1];
        for (&ms, &n) in &r.cheap_answers {
            // A noisegate with a wider "cheap" bound may save more; those are not cheap here.
            if let Some(slot) = s.cheap_answers.get_mut(ms as usize) {
                *slot = n;
            }
        }
        s.spool_failed = r.spool_failed;
        Ok(())
    }

    fn reject_example(&mut self, r: rec::RejectExample<'_>) -> Result<()> {
        let examples = &mut self.summary.reject_examples;
        examples.push(RejectExample {
            source: r.source,
            block: 0,
            line: r.line,
            reason: reject(&r.reason)?,
            detail: r.detail.into_owned(),
            text: r.text.0[..r.text.0.len().min(REJECT_EXCERPT)].to_vec(),
        });
        examples.sort();
        examples.truncate(REJECT_EXAMPLES);
        Ok(())
    }

    fn open_map(&mut self, h: &MapHead<'_>) -> Result<()> {
        let settings = MapSettings {
            cap: h.cap,
            threshold: h.threshold,
            overflow: h.overflow,
            budget: h.budget,
        };
        self.open = match (&*h.of, h.category.as_deref()) {
            ("served", None) => Open::Counts(None, 0),
            ("activity", None) => Open::Activity,
            ("domains", None) => {
                if self.version <= NO_DOMAINS {
                    bail!(
                        "a domains map in a version-{} file (it came with version {})",
                        self.version,
                        NO_DOMAINS + 1
                    );
                }
                self.last_key = None;
                Open::Domains
            }
            ("evidence", Some(id)) => {
                if self.version <= NO_EVIDENCE {
                    bail!(
                        "an evidence map in a version-{} file (they came with version {})",
                        self.version,
                        NO_EVIDENCE + 1
                    );
                }
                if !self.category_maps.iter().any(|m| m == "paths") {
                    bail!("the evidence map of category `{id}` before its paths map");
                }
                self.last_key = None;
                Open::Evidence(category_index(id))
            }
            (of, Some(id)) => {
                let Some(which) = CATEGORY_MAPS.iter().position(|m| *m == of) else {
                    bail!("unknown map `{of}` of category `{id}`");
                };
                match category_index(id) {
                    Some(i) => Open::Counts(Some(i), which),
                    None => Open::Skip,
                }
            }
            (of, None) => bail!("unknown map `{of}`"),
        };
        let bound = match self.open {
            Open::Counts(Some(i), _) | Open::Evidence(Some(i)) => {
                self.summary.categories[i].traffic.requests
            }
            Open::Counts(None, _) => self.summary.lines.parsed,
            Open::Activity | Open::Domains => self.noise,
            Open::Nothing | Open::Skip | Open::Evidence(None) => u64::MAX,
        };
        self.map = (0, bound);
        bounds::add(&mut self.map.0, h.overflow, bound, "the counts of a map")?;
        match self.open {
            Open::Counts(c, which) => self.counts(c, which).restore_settings(settings),
            Open::Activity => self.summary.activity.restore_settings(settings),
            Open::Domains => self.summary.domains.restore_settings(settings),
            Open::Evidence(Some(i)) => self.summary.categories[i]
                .evidence
                .restore_settings(settings),
            Open::Nothing | Open::Skip | Open::Evidence(None) => {}
        }
        Ok(())
    }

    fn counts(&mut self, category: Option<usize>, which: usize) -> &mut KeyCounts {
        let Some(i) = category else {
            return &mut self.summary.served;
        };
        let c = &mut self.summary.categories[i];
        match which {
            0 => &mut c.methods,
            1 => &mut c.clients,
            2 => &mut c.user_agents,
            3 => &mut c.paths,
            _ => &mut c.families,
        }
    }

    fn key(&mut self, key: &[u8], n: u64) -> Result<()> {
        bounds::add(&mut self.map.0, n, self.map.1, "the counts of a map")?;
        match self.open {
            Open::Counts(c, which) => self.counts(c, which).restore_entry(key, n),
            Open::Skip => {}
            Open::Nothing | Open::Activity | Open::Evidence(_) | Open::Domains => {
                bail!("a key outside a counting map")
            }
        }
        Ok(())
    }

    /// An entry of an evidence map: checked as a scan makes it (see
    /// [`Evidence::from_parts`]), its key as a map keeps it and after the one before, its
    /// hours and days within the run's time span, its requests within those of its path in the
    /// category's paths map (when that map holds the path: both are samples, and a file
    /// merged from files with and without evidence has evidence for some requests only).
    fn evidence(&mut self, key: &[u8], e: &rec::EvidenceRec<'_>) -> Result<()> {
        let Open::Evidence(category) = self.open else {
            bail!("evidence outside an evidence map");
        };
        if key.len() > MAX_KEY_BYTES {
            bail!("an evidence key of more than {MAX_KEY_BYTES} bytes, longer than a map keeps");
        }
        if self.last_key.as_deref().is_some_and(|last| last >= key) {
            bail!("evidence keys not ascending: given twice or out of the writer's order");
        }
        self.last_key = Some(key.to_vec());
        bounds::add(
            &mut self.map.0,
            e.requests,
            self.map.1,
            "the counts of a map",
        )?;
        let mut families = 0u16;
        let mut last = None;
        for id in &e.families {
            let Some(f) = Family::ALL.iter().find(|f| f.id() == id) else {
                bail!("client family `{id}` is unknown to this noisegate");
            };
            if last.is_some_and(|l| l >= *f) {
                bail!("evidence families not in order or given twice");
            }
            last = Some(*f);
            families |= 1 << (*f as u16);
        }
        let sets = [&e.clients[..], &e.days, &e.hours];
        let ev = Evidence::from_parts(e.requests, sets, families).map_err(anyhow::Error::msg)?;
        // Every time it has was seen in the run's span (hours clamped as the scan does).
        if let (Some(&first), Some(&last)) = (e.hours.first(), e.hours.last()) {
            let hour = |t: i64| t.div_euclid(3600).clamp(0, i64::from(u32::MAX)) as u32;
            let Some((a, b)) = self.summary.span else {
                bail!("evidence hours without a time span");
            };
            let (a, b) = (hour(a), hour(b));
            let days = (e.days.first(), e.days.last());
            let days_in =
                days.0.is_some_and(|&d| d >= a / 24) && days.1.is_some_and(|&d| d <= b / 24);
            if first < a || last > b || !days_in {
                bail!("evidence hours or days outside the time span of the run");
            }
        }
        let Some(i) = category else {
            return Ok(());
        };
        let c = &mut self.summary.categories[i];
        if let Some(&n) = c.paths.get(key) {
            if e.requests > n {
                bail!(
                    "evidence of {} requests for a path with {n} requests in the paths map",
                    e.requests
                );
            }
        }
        c.evidence.restore_entry(key, ev);
        Ok(())
    }

    /// An entry of the domains map, after the one before in byte order: checked as a scan makes it (see
    /// [`super::domains::stats`]), its requests within the noise and each category's within
    /// that category's.
    fn domain(&mut self, d: &rec::DomainRec<'_>) -> Result<()> {
        if !matches!(self.open, Open::Domains) {
            bail!("a domain outside the domains map");
        }
        // As the writer gives them: each domain once, in byte order (a domain given twice
        // would add up past what each record's checks allow).
        let key = d.domain.as_bytes();
        if self.last_key.as_deref().is_some_and(|last| last >= key) {
            bail!(
                "mail domain {} not after the one before: given twice or out of the writer's order",
                crate::escape::terminal_text(&d.domain)
            );
        }
        self.last_key = Some(key.to_vec());
        bounds::add(
            &mut self.map.0,
            d.requests,
            self.map.1,
            "the requests of the domains",
        )?;
        let per_category: Vec<u64> = self
            .summary
            .categories
            .iter()
            .map(|c| c.traffic.requests)
            .collect();
        let stats = super::domains::stats(d, &per_category)?;
        self.summary
            .domains
            .restore_entry(d.domain.as_bytes(), stats);
        Ok(())
    }

    fn activity(&mut self, a: &rec::Activity<'_>) -> Result<()> {
        if !matches!(self.open, Open::Activity) {
            bail!("activity outside the activity map");
        }
        for &(minute, requests, ..) in &a.cells {
            bounds::minute(minute)?;
            bounds::add(&mut self.map.0, u64::from(requests), self.map.1, "activity")?;
        }
        let Some(i) = category_index(&a.category) else {
            return Ok(());
        };
        let mut key = Vec::with_capacity(a.client.0.len() + 1);
        crate::summary::time::activity_key(i, &a.client.0, &mut key);
        let cells = a
            .cells
            .iter()
            .map(|&(minute, requests, first, last, us)| Cell {
                minute,
                requests,
                first_sec: first.min(59),
                last_sec: last.min(59),
                request_time_us: us,
            })
            .collect();
        self.summary
            .activity
            .restore_entry(&key, Activity { cells });
        Ok(())
    }

    /// Checks what only the whole file can tell.
    pub(crate) fn finish(&mut self) -> Result<()> {
        let n = self.sources.len();
        if let Some(ex) = self
            .summary
            .reject_examples
            .iter()
            .find(|e| e.source as usize >= n)
        {
            bail!(
                "a rejected line of input {}, but the file has {n} inputs",
                ex.source
            );
        }
        Ok(())
    }
}

/// Whether `r` is an entry of a map (which repeats within its map's stage).
fn is_entry(r: &Record<'_>) -> bool {
    matches!(
        r,
        Record::Key(..)
            | Record::Evidence(..)
            | Record::Activity(_)
            | Record::Domain(_)
            | Record::End { .. }
    )
}

/// Fills a minute's per-category counts; the noise of unknown categories leaves its noise
/// figures (its server time and blocked count in proportion: the minute does not keep them
/// apart).
fn minute_categories(t: &mut MinuteTotals, categories: &BTreeMap<Cow<'_, str>, u64>) {
    let mut unknown = 0u64;
    for (id, &n) in categories {
        match category_index(id) {
            Some(i) => t.categories[i] = n,
            None => unknown = unknown.saturating_add(n),
        }
    }
    if unknown > 0 && t.noise > 0 {
        let kept = t.noise.saturating_sub(unknown);
        let part = |n: u64| (u128::from(n) * u128::from(kept) / u128::from(t.noise)) as u64;
        t.noise_time_us = part(t.noise_time_us);
        t.blocked = part(t.blocked);
        t.noise = kept;
    }
}

/// The reject reason with this id.
pub(super) fn reject(id: &str) -> Result<Reject> {
    (0..Reject::COUNT)
        .map(Reject::from_index)
        .find(|r| r.id() == id)
        .with_context(|| format!("reject reason `{id}` is unknown to this noisegate"))
}

fn set_traffic(t: &mut Traffic, r: &TrafficRec) -> Result<()> {
    bounds::sum_within(r.status.values().copied(), r.requests, "requests by status")?;
    bounds::sum_within([r.timed], r.requests, "timed requests")?;
    // Each timed request is counted once in the latency distribution, and adds its time.
    let latency = r.latency.iter().map(|p| p.1);
    bounds::sum_within(latency.clone(), r.timed, "the latency counts")?;
    if latency.sum::<u64>() != r.timed {
        bail!(
            "the latency counts do not add up to the {} timed requests",
            r.timed
        );
    }
    if r.timed == 0 && (r.request_time_us > 0 || r.max_request_time_us > 0) {
        bail!("server time without a timed request");
    }
    if r.max_request_time_us > r.request_time_us {
        bail!("the longest request is longer than all requests together");
    }
    t.requests = r.requests;
    t.bytes = r.bytes;
    t.request_time_us = r.request_time_us;
    t.timed = r.timed;
    t.max_request_time_us = r.max_request_time_us;
    t.status.iter_mut().for_each(|n| *n = 0);
    for (&code, &n) in &r.status {
        *t.status
            .get_mut(usize::from(code))
            .with_context(|| format!("status {code} out of range"))? = n;
    }
    let h = t.latency.histogram_mut();
    h.reset();
    for &(ms, n) in &r.latency {
        h.saturating_record_n(ms.min(MAX_LATENCY_MS), n);
    }
    Ok(())
}
