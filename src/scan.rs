//! The hot loop: one worker's pass over a block of whole lines, folding each line into the
//! worker's own [`Summary`].
//!
//! Per line: split at `\n` (memchr), parse into borrowed fields, count, and classify the path.
//! Nothing here allocates for a line unless it inserts a new key into a map; the classifier's
//! cache and the unescape buffers are the worker's own. This module does not know where blocks
//! come from or how summaries are merged.

use crate::classify::{Class, Classifier, Scratch};
use crate::format::{self, request, time::TimeCache, Format, Record, Reject};
use crate::summary::{Caps, Summary};
use memchr::memchr_iter;

/// Settings shared by every worker of a scan.
#[derive(Debug)]
pub struct ScanConfig {
    /// The log format of every line.
    pub format: Format,
    /// Lines longer than this many bytes are rejected.
    pub max_line: usize,
    /// Caps on distinct keys.
    pub caps: Caps,
    /// The compiled classifier.
    pub classifier: Classifier,
}

impl ScanConfig {
    /// `format` with a 1 MiB line cap and the default key caps.
    pub fn new(format: Format) -> Self {
        ScanConfig {
            format,
            max_line: 1 << 20,
            caps: Caps::default(),
            classifier: Classifier::new(),
        }
    }
}

/// One worker's state: its summary and its scratch space.
pub struct Scanner<'c> {
    cfg: &'c ScanConfig,
    scratch: Scratch,
    path_buf: Vec<u8>,
    text_buf: Vec<u8>,
    times: TimeCache,
    /// What this worker has seen.
    pub summary: Summary,
}

impl<'c> Scanner<'c> {
    /// A worker with an empty summary.
    pub fn new(cfg: &'c ScanConfig) -> Self {
        Scanner {
            cfg,
            scratch: cfg.classifier.scratch(),
            path_buf: Vec::with_capacity(256),
            text_buf: Vec::with_capacity(256),
            times: TimeCache::default(),
            summary: Summary::new(&cfg.caps),
        }
    }

    /// Scans block `seq` of source `source`: whole lines, the last one possibly without its
    /// `\n` (end of input). Returns the number of lines.
    pub fn scan_block(&mut self, source: u32, seq: u64, data: &[u8]) -> u64 {
        let mut start = 0;
        let mut n = 0;
        for end in memchr_iter(b'\n', data) {
            n += 1;
            self.line(source, seq, n, &data[start..end]);
            start = end + 1;
        }
        if start < data.len() {
            n += 1;
            self.line(source, seq, n, &data[start..]);
        }
        n
    }

    /// Counts one line that the reader cut off at the line-length cap; `head` is its start.
    pub fn scan_overlong(&mut self, source: u32, seq: u64, head: &[u8]) -> u64 {
        self.summary.reject(source, seq, 1, Reject::TooLong, head);
        1
    }

    #[inline]
    fn line(&mut self, source: u32, seq: u64, n: u64, line: &[u8]) {
        if line.len() > self.cfg.max_line {
            self.summary.reject(source, seq, n, Reject::TooLong, line);
            return;
        }
        match format::parse(self.cfg.format, line, &mut self.times) {
            Ok(rec) => self.record(&rec),
            Err(why) => self.summary.reject(source, seq, n, why, line),
        }
    }

    #[inline]
    fn record(&mut self, rec: &Record<'_>) {
        let s = &mut self.summary;
        s.lines.total += 1;
        s.lines.parsed += 1;
        s.see_time(rec.time);
        s.totals.add(rec.status, rec.bytes, rec.request_time_us);
        let Some(req) = request::split(rec.request) else {
            return;
        };
        let path = request::unescape(req.path, &mut self.path_buf);
        let (class, norm) = self.cfg.classifier.classify(path, &mut self.scratch);
        // Whatever a block entry could cover and the site answered 2xx/3xx: a real page, a
        // redirect the site wants, or a mail endpoint it really hosts.
        if class != Class::Other && (200..400).contains(&rec.status) {
            s.served.add(norm, 1);
        }
        match class {
            Class::Noise(i) => {
                let c = &mut s.categories[i];
                c.traffic.add(rec.status, rec.bytes, rec.request_time_us);
                c.methods.add(req.method, 1);
                c.paths.add(path, 1);
                c.clients
                    .add(request::unescape(rec.client(), &mut self.text_buf), 1);
                c.user_agents
                    .add(request::unescape(rec.user_agent, &mut self.text_buf), 1);
            }
            Class::NearNoise | Class::Other => {}
        }
    }
}
