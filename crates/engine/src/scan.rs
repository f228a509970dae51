//! The hot loop: one worker's pass over a block of whole lines, folding each line into the
//! worker's own [`Summary`].
//!
//! Per line: split at `\n` (memchr), parse into borrowed fields, apply the time window,
//! count, and classify the path. Nothing here allocates for a line unless it inserts a new key
//! into a map or keeps a rejected line as an example; the classifier's cache and the decode
//! buffers are the worker's own. This module does not know where blocks come from or how
//! summaries are merged.

use crate::classify::family::{in_category, is_scanner, FamilyCache};
use crate::classify::mailbox::MailScratch;
use crate::classify::{needs_normalizing, normalize, Class, Classifier, Scratch, CATEGORIES};
use crate::format::field::{first_hop, strip_port};
use crate::format::request::Version;
use crate::format::{request, time::TimeCache, ClientIp, Escape, LogFormat, Record, Reject};
use crate::summary::memo::{Derived, Found, KeyFields, Limits, Memo};
use crate::summary::noise::{self, Strings};
use crate::summary::{Caps, Summary, CHEAP_MS};
use memchr::memchr_iter;
use std::fs::File;
use std::io::{BufWriter, Seek};

/// Settings shared by every worker of a scan.
#[derive(Debug)]
pub struct ScanConfig {
    /// Lines longer than this many bytes are rejected.
    pub max_line: usize,
    /// Caps on distinct keys.
    pub caps: Caps,
    /// The compiled classifier.
    pub classifier: Classifier,
    /// Lines whose time is outside `[since, until)` are counted as filtered.
    pub window: (i64, i64),
    /// Overrides each format's client address policy.
    pub client: Option<ClientIp>,
    /// Keep each noise line in a temporary file, for the storm details pass.
    pub spool: bool,
    /// Keep the per-minute timeline and per-client activity (off for `block`, which needs
    /// neither).
    pub series: bool,
    /// Keep the local parts of the mailboxes the probes name (`--show-mailboxes`, at most a
    /// few per domain); without it only their hashes and first characters are kept. Kept
    /// paths hold them masked either way.
    pub mailboxes: bool,
}

impl Default for ScanConfig {
    /// A 1 MiB line cap, the default key caps, no time window.
    fn default() -> Self {
        ScanConfig {
            max_line: 1 << 20,
            caps: Caps::default(),
            classifier: Classifier::new(),
            window: (i64::MIN, i64::MAX),
            client: None,
            spool: false,
            series: true,
            mailboxes: false,
        }
    }
}

/// Where a block comes from: its source, its position, its format.
#[derive(Clone, Copy)]
pub struct BlockInfo<'f> {
    /// Source index.
    pub source: u32,
    /// Block sequence number within the source.
    pub seq: u64,
    /// The source's format.
    pub format: &'f LogFormat,
}

/// Decode buffers and the classifier's cache: what turning a record into a [`Routed`] needs.
pub(crate) struct Decoder {
    scratch: Scratch,
    /// The request line (or logged URI) with the log's escapes undone.
    line: Vec<u8>,
    agent: Vec<u8>,
    client: Vec<u8>,
}

/// A request with a path (any request, noise or not), decoded and classified: the path as
/// nginx routed it and the class it falls in.
pub(crate) struct Routed<'b> {
    /// The noise category, or `None` for other traffic.
    pub(crate) category: Option<usize>,
    /// The request's class (noise, near noise, other).
    pub(crate) class: Class,
    /// Method, if logged.
    pub(crate) method: Option<&'b [u8]>,
    /// Decoded path, query removed.
    pub(crate) path: &'b [u8],
    /// The nginx-normalized path.
    pub(crate) normalized: &'b [u8],
    /// Raw query string.
    pub(crate) query: &'b [u8],
}

impl Decoder {
    /// Buffers for a worker.
    pub fn new(classifier: &Classifier) -> Self {
        Decoder {
            scratch: classifier.scratch(),
            line: Vec::with_capacity(256),
            agent: Vec::with_capacity(256),
            client: Vec::with_capacity(64),
        }
    }

    /// Decodes and classifies the request of `rec`; `None` when nginx routed no path for it.
    /// The second value gives the user agent and client when asked (only noise needs them).
    #[inline(always)]
    pub(crate) fn decode<'b>(
        &'b mut self,
        classifier: &Classifier,
        rec: &'b Record<'b>,
        policy: &'b ClientIp,
    ) -> Option<(Routed<'b>, Who<'b>)> {
        let Decoder {
            scratch,
            line,
            agent,
            client,
        } = self;
        let t = target(rec, line)?;
        let routed = routed(&t, &mut scratch.normalized)?;
        let (class, normalized) = classifier.classify_routed(routed, &mut scratch.cache);
        let category = match class {
            Class::Noise(i) => Some(i),
            _ => None,
        };
        let probe = Routed {
            category,
            class,
            method: t.method,
            path: t.path,
            normalized,
            query: t.query,
        };
        let who = Who {
            agent,
            client,
            rec,
            policy,
        };
        Some((probe, who))
    }
}

/// The sender of a request, decoded on demand.
pub(crate) struct Who<'b> {
    agent: &'b mut Vec<u8>,
    client: &'b mut Vec<u8>,
    rec: &'b Record<'b>,
    policy: &'b ClientIp,
}

impl<'b> Who<'b> {
    /// The decoded user agent (`-` when empty) and client address.
    pub(crate) fn resolve(self) -> (&'b [u8], &'b [u8]) {
        let rec = self.rec;
        let ua = decode(rec.user_agent.unwrap_or(b""), rec.escape, self.agent);
        let ua: &[u8] = if ua.is_empty() { b"-" } else { ua };
        let client = decode(
            rec.client(self.policy).unwrap_or(b"-"),
            rec.escape,
            self.client,
        );
        (ua, client)
    }
}

/// One worker's state: its summary and its scratch space.
pub struct Scanner<'c> {
    cfg: &'c ScanConfig,
    decoder: Decoder,
    times: TimeCache,
    families: FamilyCache,
    mail: MailScratch,
    memo: Memo,
    spool: Option<BufWriter<File>>,
    /// Noise lines counted, to hold the shared maps to their caps every few of them.
    noise_lines: u64,
    /// What this worker has seen, but for the counts its memo still holds: read it through
    /// [`Scanner::summary`] or [`Scanner::into_summary`], which add them first. Only the
    /// per-line counters (lines, rejects, noise requests) are exact here at any time.
    pub(crate) summary: Summary,
}

/// Decodes a logged string as its format escaped it, into `scratch` when it must change.
fn decode<'a>(s: &'a [u8], escape: Escape, scratch: &'a mut Vec<u8>) -> &'a [u8] {
    match escape {
        Escape::Default => request::unescape(s, scratch),
        Escape::Json => request::json_unescape(s, scratch),
        Escape::None => s,
    }
}

impl<'c> Scanner<'c> {
    /// A worker with an empty summary.
    pub fn new(cfg: &'c ScanConfig) -> Self {
        Self::with_memo(cfg, Limits::default())
    }

    /// A worker whose memo has these limits.
    fn with_memo(cfg: &'c ScanConfig, limits: Limits) -> Self {
        Scanner {
            cfg,
            decoder: Decoder::new(&cfg.classifier),
            times: TimeCache::default(),
            families: FamilyCache::new(),
            mail: MailScratch::new(),
            memo: Memo::new(cfg.mailboxes, limits),
            spool: None,
            summary: Summary::new(&cfg.caps),
            noise_lines: 0,
        }
    }

    /// What this worker has seen so far, every count its memo held added.
    #[cfg(feature = "internals")]
    pub fn summary(&mut self) -> &Summary {
        self.memo.flush(&mut self.summary);
        &self.summary
    }

    /// What this worker has seen, every count its memo held added.
    #[cfg(feature = "internals")]
    pub fn into_summary(mut self) -> Summary {
        self.memo.flush(&mut self.summary);
        self.summary
    }

    /// The summary and the spool of noise lines (rewound), if spooling was on and worked.
    pub(crate) fn finish(mut self) -> (Summary, Option<File>) {
        self.memo.flush(&mut self.summary);
        self.summary.flush_latency();
        let spool = self.spool.take().and_then(|w| {
            let mut f = w.into_inner().ok()?;
            f.rewind().ok()?;
            Some(f)
        });
        if self.cfg.spool && spool.is_none() && self.summary.noise_requests() > 0 {
            self.summary.spool_failed = true;
        }
        (self.summary, spool)
    }

    /// Scans a block of whole lines, the last one possibly without its `\n` (end of input).
    /// Returns the number of lines.
    pub fn scan_block(&mut self, at: BlockInfo<'_>, data: &[u8]) -> u64 {
        let mut start = 0;
        let mut n = 0;
        #[cfg(target_arch = "x86_64")]
        let finder = memchr::arch::x86_64::avx2::memchr::One::new(b'\n');
        #[cfg(target_arch = "x86_64")]
        let ends = match &finder {
            Some(f) => LineEnds::Avx2(f.iter(data)),
            None => LineEnds::Any(memchr_iter(b'\n', data)),
        };
        #[cfg(not(target_arch = "x86_64"))]
        let ends = memchr_iter(b'\n', data);
        for end in ends {
            n += 1;
            self.line(at, n, &data[start..end]);
            start = end + 1;
        }
        if start < data.len() {
            n += 1;
            self.line(at, n, &data[start..]);
        }
        self.summary.bound();
        n
    }

    /// Counts one line that the reader cut off at the line-length cap; `head` is its start.
    pub fn scan_overlong(&mut self, at: BlockInfo<'_>, head: &[u8]) -> u64 {
        let cap = self.cfg.max_line;
        let detail = || format!("longer than {cap} bytes");
        self.summary
            .reject(at.source, at.seq, 1, Reject::TooLong, head, detail);
        1
    }

    #[inline(always)]
    fn line(&mut self, at: BlockInfo<'_>, n: u64, line: &[u8]) {
        if line.len() > self.cfg.max_line {
            let cap = self.cfg.max_line;
            let detail = || format!("longer than {cap} bytes");
            self.summary
                .reject(at.source, at.seq, n, Reject::TooLong, line, detail);
            return;
        }
        let mut rec = Record::new(Escape::Default);
        match at.format.parse_into(line, &mut self.times, &mut rec) {
            Ok(()) => self.record(at.format, &rec),
            Err(miss) => self
                .summary
                .reject(at.source, at.seq, n, miss.reject, line, || miss.describe()),
        }
    }

    /// Counts a parsed line.
    #[inline(always)]
    fn record(&mut self, format: &LogFormat, rec: &Record<'_>) {
        let s = &mut self.summary;
        s.lines.total += 1;
        if let Some(t) = rec.time {
            if t < self.cfg.window.0 || t >= self.cfg.window.1 {
                s.lines.filtered += 1;
                return;
            }
            s.see_time(t);
        }
        s.lines.parsed += 1;
        let (status, rt) = (rec.status, rec.server_time_us());
        s.totals.add(status, rec.bytes, rt);
        if let (Some(403 | 404), Some(us)) = (status, rt) {
            if let Some(n) = s.cheap_answers.get_mut((us / 1000) as usize) {
                *n += 1;
            }
        }
        let minute = rec
            .time
            .filter(|_| self.cfg.series)
            .map(|t| t.div_euclid(60));
        if let Some(m) = minute.and_then(|m| s.timeline.at(m)) {
            m.requests += 1;
            m.request_time_us = m.request_time_us.saturating_add(rt.unwrap_or(0));
        }
        let policy = self.cfg.client.as_ref().unwrap_or(&format.client);
        let Some((p, who)) = self.decoder.decode(&self.cfg.classifier, rec, policy) else {
            return;
        };
        // Whatever a block entry could cover and the site answered 2xx/3xx: a real page, a
        // redirect the site wants, or a mail endpoint it really hosts.
        if p.class != Class::Other && status.is_some_and(|s| (200..400).contains(&s)) {
            s.served.add(self.mail.mask(p.normalized), 1);
        }
        let Some(i) = p.category else {
            return;
        };
        // Answered as a deployed block answers: a 403 in next to no time.
        let blocked = status == Some(403) && rt.is_some_and(|us| us <= CHEAP_MS * 1000);
        if let Some(m) = minute.and_then(|m| s.timeline.at(m)) {
            m.noise += 1;
            m.categories[i] += 1;
            m.noise_time_us = m.noise_time_us.saturating_add(rt.unwrap_or(0));
            m.blocked += u64::from(blocked);
        }
        let c = &mut s.categories[i];
        c.traffic.add(status, rec.bytes, rt);
        if blocked {
            c.blocked += 1;
            c.blocked_time_us = c.blocked_time_us.saturating_add(rt.unwrap_or(0));
        }
        if let (ClientIp::RemoteAddr, Some(remote)) = (policy, rec.remote_addr) {
            let hop = rec.forwarded_for.and_then(first_hop);
            s.proxy.note(strip_port(remote), hop);
        }
        // What the request, host, agent and client make of the line is worked out once per
        // distinct combination of them; the memo keeps it and adds up the counts.
        let fields = KeyFields {
            category: i,
            escape: rec.escape,
            method: p.method,
            path: p.path,
            query: p.query,
            host: rec.host,
            user_agent: rec.user_agent,
            client: rec.client(policy),
        };
        let entry = match self.memo.find(&fields) {
            Found::Hit(e) => e,
            miss => {
                let (mail, path) = self.mail.look(p.path, p.query, rec.host);
                let (ua, client) = who.resolve();
                let family = in_category(self.families.family(ua), &CATEGORIES[i], ua);
                let derived = Derived {
                    family,
                    scanner: is_scanner(&CATEGORIES[i], p.path, p.query, family),
                    strings: Strings {
                        method: p.method.unwrap_or(b"-"),
                        path,
                        user_agent: ua,
                        client,
                    },
                    mail: mail.map(|m| (m.domain, m.local)),
                };
                self.memo.insert(miss, i, &derived, s)
            }
        };
        let series = rec.time.filter(|_| self.cfg.series);
        let activity = series.map(|t| (t, rt.unwrap_or(0)));
        let spooling = self.cfg.spool && series.is_some();
        let got = self.memo.count(entry, rec.time, activity, spooling, s);
        s.categories[i].scanner += u64::from(got.scanner);
        if let (Some(t), true) = (series, spooling) {
            // The entry's strings once (again after another key took its slot), then a line.
            let slot = entry as u32;
            keep(&mut self.spool, &mut s.spool_failed, |w| {
                if let Some(strings) = &got.define {
                    noise::write_def(w, slot, i as u8, Some(got.family), strings)?;
                }
                noise::write_line(w, slot, t, status.unwrap_or(0))
            });
        }
        self.memo.settle_unkept(entry, s);
        // The maps shared by the categories are held to their caps every few noise lines.
        self.noise_lines += 1;
        if self.noise_lines % 64 == 0 {
            s.bound();
        }
    }
}

/// The `\n`s of a block: found by the AVX2 searcher directly when the processor has AVX2
/// (without [`memchr_iter`]'s choice of searcher at each line), else by [`memchr_iter`].
#[cfg(target_arch = "x86_64")]
enum LineEnds<'a, 'h> {
    Avx2(memchr::arch::x86_64::avx2::memchr::OneIter<'a, 'h>),
    Any(memchr::Memchr<'h>),
}

#[cfg(target_arch = "x86_64")]
impl Iterator for LineEnds<'_, '_> {
    type Item = usize;

    #[inline(always)]
    fn next(&mut self) -> Option<usize> {
        match self {
            LineEnds::Avx2(i) => i.next(),
            LineEnds::Any(i) => i.next(),
        }
    }
}

/// Writes to the worker's spool, created on first use. A spool that cannot be written is
/// given up, and the summary says so (the storm details are then missing). Inlined: it
/// runs for every noise line.
#[inline(always)]
fn keep(
    spool: &mut Option<BufWriter<File>>,
    failed: &mut bool,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) {
    if spool.is_none() && !*failed {
        match tempfile::tempfile() {
            Ok(f) => *spool = Some(BufWriter::with_capacity(1 << 16, f)),
            Err(_) => *failed = true,
        }
    }
    let Some(w) = spool else { return };
    if write(w).is_err() {
        *spool = None;
        *failed = true;
    }
}

/// A request's method (if logged), path as sent and query, unescaped, and whether nginx
/// rewrites the path before routing it.
struct Target<'a> {
    method: Option<&'a [u8]>,
    path: &'a [u8],
    query: &'a [u8],
    complex: bool,
}

/// The path nginx routes for `t`: its path as sent, or normalized into `out`; `None` when nginx
/// refuses it (400).
#[inline]
fn routed<'a>(t: &Target<'a>, out: &'a mut Vec<u8>) -> Option<&'a [u8]> {
    if !t.complex {
        Some(t.path)
    } else if normalize(t.path, out) {
        Some(out)
    } else {
        None
    }
}

/// The path nginx routed for one log line (`$uri`) and the id of its noise category, if any;
/// `None` when the line does not parse or nginx routed no path for it. One line at a time,
/// for tests that compare noisegate with a real nginx.
#[cfg(feature = "internals")]
pub fn route(
    classifier: &Classifier,
    format: &LogFormat,
    line: &[u8],
) -> Option<(Vec<u8>, Option<&'static str>)> {
    let rec = format.parse(line, &mut TimeCache::default()).ok()?;
    let (mut buf, mut out) = (Vec::new(), Vec::new());
    let t = target(&rec, &mut buf)?;
    let uri = routed(&t, &mut out)?.to_vec();
    let mut scratch = classifier.scratch();
    let category = match classifier.classify_routed(&uri, &mut scratch.cache).0 {
        Class::Noise(i) => Some(CATEGORIES[i].id),
        _ => None,
    };
    Some((uri, category))
}

/// The target of a record: from `$request` (read by nginx's grammar: `None` when nginx routed
/// nothing), or from `$request_method` and `$request_uri`/`$uri`. The log's escapes are undone
/// into `line` when there are any.
#[inline(always)]
fn target<'a>(rec: &Record<'a>, line: &'a mut Vec<u8>) -> Option<Target<'a>> {
    if let Some(req) = rec.request {
        // A request without a backslash is split as logged: undoing escapes leaves it as is.
        let r = match rec.escape {
            Escape::None => request::split(req),
            _ => match request::split_logged(req) {
                Ok(r) => r,
                Err(_) => request::split(decode(req, rec.escape, line)),
            },
        }?;
        // A line without a version that nginx answered 400, 408 or 414 is one it never
        // finished reading (cut at a bare CR, a timeout, its buffer's end); an HTTP/1 line
        // naming HTTP/2.0 is answered 505. Neither was routed.
        let refused = match r.version {
            Version::Http09 => matches!(rec.status, Some(400 | 408 | 414)),
            Version::Later => rec.status == Some(505),
            Version::Http1 => false,
        };
        if refused {
            return None;
        }
        return Some(Target {
            method: Some(r.method),
            path: r.path,
            query: r.query,
            complex: r.complex,
        });
    }
    let uri = decode(rec.uri?, rec.escape, line);
    if rec.uri_routed {
        // nginx's `$uri`: already decoded and normalized, a `?` or `%` in it is a plain byte.
        return Some(Target {
            method: rec.method,
            path: uri,
            query: b"",
            complex: false,
        });
    }
    let (path, query) = request::split_query(uri);
    let path: &[u8] = if path.is_empty() { b"/" } else { path };
    Some(Target {
        method: rec.method,
        path,
        query,
        complex: needs_normalizing(path),
    })
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The line ends found by the AVX2 searcher, when there is one, are memchr's.
        #[test]
        fn line_ends_are_memchr_iter(
            data in prop::collection::vec(prop::sample::select(b"\nab".to_vec()), 0..300),
        ) {
            let want: Vec<usize> = memchr_iter(b'\n', &data).collect();
            if let Some(f) = memchr::arch::x86_64::avx2::memchr::One::new(b'\n') {
                let got: Vec<usize> = LineEnds::Avx2(f.iter(&data)).collect();
                prop_assert_eq!(&got, &want);
            }
            let got: Vec<usize> = LineEnds::Any(memchr_iter(b'\n', &data)).collect();
            prop_assert_eq!(got, want);
        }
    }
}

/// The memo changes how often the summary's maps are written, never what they hold.
#[cfg(test)]
mod memo_tests {
    use super::*;
    use proptest::prelude::*;

    /// A Pantheon line: a noise request of some kind (mailboxes, queries, case variants), or
    /// other traffic; user agents of every family and one longer than a memo key may be;
    /// clients with and without a forwarded address; times over days, hours and minutes.
    fn line(kind: u8, n: u32) -> String {
        let long_agent = format!("Microsoft Office/16.0 ({})", "x".repeat(600));
        let agents = [
            "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)",
            "Thunderbird/128.0",
            "-",
            "curl/8.5",
            "iOS/17.2 (21C62) dataaccessd/1.0",
            long_agent.as_str(),
            // nginx's escapes of a hostile agent: a quote, a backslash, a control byte.
            r"Outlook \x22quoted\x22 \x5C\x0A",
        ];
        let request = match kind % 8 {
            0 => "POST /Autodiscover/Autodiscover.xml HTTP/1.1".to_string(),
            1 => "POST /autodiscover/autodiscover.xml HTTP/1.1".to_string(),
            2 => format!(
                "GET /autodiscover/autodiscover.json/v1.0/u{}@d{}.example?Protocol=X HTTP/1.1",
                n % 13,
                n % 3
            ),
            3 => format!(
                "GET /mail/config-v1.1.xml?emailaddress=m{}%40d{}.example HTTP/1.1",
                n % 7,
                n % 2
            ),
            4 => "GET /.well-known/mta-sts.txt HTTP/1.1".to_string(),
            5 => format!("GET /EWS/Exchange.asmx/{} HTTP/1.1", n % 5),
            6 => r"GET /owa/auth/logon.aspx?x=\x22 HTTP/1.1".to_string(),
            _ => "GET /blog/ HTTP/1.1".to_string(),
        };
        let agent = agents[(n / 3) as usize % agents.len()];
        let client = match n % 9 {
            0 => "-".to_string(),
            1 => String::new(),
            c => format!("203.0.113.{}, 10.0.0.2", (n / 9) % 40 + c),
        };
        let (day, hour, minute, second) = (1 + n % 2, (n / 7) % 24, (n / 2) % 60, n % 60);
        // Three lines in four are one client's storm: five minutes of its probes.
        let (client, day, hour, minute) = if kind >= 64 {
            ("198.51.100.7".to_string(), 1, 5, n % 5)
        } else {
            (client, day, hour, minute)
        };
        format!(
            "10.0.{}.1 - - [{day:02}/Mar/2024:{hour:02}:{minute:02}:{second:02} +0000]  \"{request}\" 404 {n} \"-\" \"{agent}\" 0.{:03} \"{client}\"\n",
            n % 4,
            n % 1000
        )
    }

    /// The report of `text` scanned in two blocks by one worker, its storm details read
    /// back from its spool.
    fn report(cfg: &ScanConfig, limits: Limits, text: &str) -> String {
        let format = LogFormat::preset("pantheon").unwrap();
        let mut scanner = Scanner::with_memo(cfg, limits);
        // Two blocks: the memo carries entries over from one block to the next.
        let half = text[..text.len() / 2].rfind('\n').map_or(0, |i| i + 1);
        for (seq, part) in [&text[..half], &text[half..]].into_iter().enumerate() {
            let at = BlockInfo {
                source: 0,
                seq: seq as u64,
                format: &format,
            };
            scanner.scan_block(at, part.as_bytes());
        }
        let (summary, spool) = scanner.finish();
        let mut result = crate::ScanResult::from_summary(summary, "pantheon");
        result.spools.extend(spool);
        // The saved summary holds what the report may not show: every kept path's evidence,
        // every client's activity, every noise record.
        let dir = tempfile::tempdir().unwrap();
        let saved = dir.path().join("s.json.gz");
        crate::save_summary(&saved, &mut result).unwrap();
        let mut kept = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(File::open(&saved).unwrap()),
            &mut kept,
        )
        .unwrap();
        let found = crate::find(&mut result, &crate::Settings::default()).unwrap();
        let report = serde_json::to_string(&crate::build_report(&result, &found, 0)).unwrap();
        format!("{report}\n{kept}")
    }

    /// No memo to speak of: two entries, and stages absorbed at every line.
    const TINY: Limits = Limits {
        slots: 2,
        stage_keys: 1,
        stage_cells: 1,
        stage_bytes: 1,
        table_bytes: usize::MAX,
        window: 4096,
    };

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn a_tiny_memo_and_the_default_one_give_the_same_report(
            lines in prop::collection::vec((any::<u8>(), 0u32..5000), 160..400),
            show in any::<bool>(),
            small in any::<bool>(),
        ) {
            let cfg = ScanConfig { mailboxes: show, spool: true, ..ScanConfig::default() };
            let text: String = lines.iter().map(|&(k, n)| line(k, n)).collect();
            let want = report(&cfg, TINY, &text);
            // A table of 8 entries evicts all the time; the default one rarely.
            let limits = if small {
                // Judging every 8 lines, it also stands aside for 120 lines at a time, and
                // its 1,000 bytes take two or three keys: the others are counted unkept.
                Limits {
                    slots: 8,
                    stage_keys: 5,
                    stage_cells: 7,
                    stage_bytes: 300,
                    table_bytes: 1000,
                    window: 8,
                }
            } else {
                Limits::default()
            };
            prop_assert_eq!(report(&cfg, limits, &text), want);
        }
    }

    /// Scans Pantheon-format `text` as one block.
    fn scan_pantheon(scanner: &mut Scanner<'_>, text: &str) {
        let format = LogFormat::preset("pantheon").unwrap();
        let at = BlockInfo {
            source: 0,
            seq: 0,
            format: &format,
        };
        scanner.scan_block(at, text.as_bytes());
    }

    /// The stages hold thousands of activity cells at once: absorbed, they count against the
    /// activity map's budget of cells, which holds the map's memory between its checks.
    #[test]
    fn absorbed_activity_stays_within_the_budget() {
        let mut cfg = ScanConfig::default();
        cfg.caps.activity_cells = 500;
        let mut scanner = Scanner::with_memo(&cfg, Limits::default());
        // 200 clients, each probing once a minute for 30 minutes: 6,000 cells.
        let mut text = String::new();
        for minute in 0..30 {
            for c in 0..200 {
                text.push_str(&format!(
                    "10.0.0.1 - - [01/Mar/2024:05:{minute:02}:00 +0000]  \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 5 \"-\" \"Microsoft Office/16.0\" 0.100 \"198.51.{}.{}\"\n",
                    c / 100,
                    c % 100
                ));
            }
        }
        scan_pantheon(&mut scanner, &text);
        scanner.memo.flush(&mut scanner.summary);
        let held = scanner.summary.activity.exact_weight();
        assert!(held > 0 && held <= 500 + 500 / 4, "{held} cells held");
    }

    /// Distinct keys with long agents fill the table up to its bytes and no further, and the
    /// bytes the memo counts are its entries' buffers.
    #[test]
    fn the_table_holds_its_bytes() {
        let cfg = ScanConfig::default();
        let limits = Limits {
            table_bytes: 40_000,
            ..Limits::default()
        };
        let mut scanner = Scanner::with_memo(&cfg, limits);
        let mut text = String::new();
        for n in 0..3000 {
            let agent = "x".repeat(if n % 3 == 0 { 400 } else { 20 });
            text.push_str(&format!(
                "10.0.0.1 - - [01/Mar/2024:05:00:00 +0000]  \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 5 \"-\" \"{agent} {n}\" 0.100 \"198.51.100.{}\"\n",
                n % 200
            ));
        }
        scan_pantheon(&mut scanner, &text);
        let (counted, held, used) = scanner.memo.table_bytes();
        assert_eq!(counted, held);
        assert!(held <= 40_000 && held > 30_000, "{held} bytes");
        assert!(used > 40, "{used} entries in use");
    }

    /// The lines above make a storm whose details come from the spool, so the property
    /// compares them too.
    #[test]
    fn the_lines_make_a_storm_with_details() {
        let cfg = ScanConfig {
            spool: true,
            ..ScanConfig::default()
        };
        let text: String = (0..400u32).map(|n| line(128 + (n % 8) as u8, n)).collect();
        let both = report(&cfg, TINY, &text);
        let v: serde_json::Value = serde_json::from_str(both.lines().next().unwrap()).unwrap();
        let storm = &v["storms"][0];
        assert_eq!(storm["client"], "198.51.100.7", "{v:#}");
        assert!(
            storm["families"].as_array().is_some_and(|a| a.len() > 3),
            "{storm:#}"
        );
        assert!(
            storm["top_paths"].as_array().is_some_and(|a| a.len() > 3),
            "{storm:#}"
        );
    }
}
