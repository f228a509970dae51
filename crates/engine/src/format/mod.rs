//! Log formats: the presets, formats compiled from nginx `log_format` strings or read out of
//! an nginx.conf, JSON-per-line logs, and the detection of a format from the first lines.
//!
//! A parsed line is a [`Record`] of slices borrowed from the input block: nothing is copied or
//! allocated here. Values that need decoding (`\xHH` or JSON escapes, the client address) are
//! decoded only by the callers that need them. This module knows nothing about noise.

pub mod conf;
pub mod field;
pub mod json;
pub mod plan;
pub mod request;
pub mod time;

pub use field::Field;

use json::JsonLines;
use plan::Plan;
use std::sync::Arc;
use time::TimeCache;

/// How nginx escaped the values it wrote (`log_format ... escape=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Escape {
    /// `"`, `\` and non-printable bytes as `\xHH`.
    Default,
    /// JSON string escapes.
    Json,
    /// Nothing escaped.
    None,
}

impl Escape {
    /// The escaping a bare format string implies: `json` for a JSON object template
    /// (`{"status":"$status",...}`), else nginx's default.
    pub fn guess(fmt: &str) -> Escape {
        if fmt.trim_start().starts_with('{') {
            Escape::Json
        } else {
            Escape::Default
        }
    }

    /// `default`, `json` or `none`.
    pub fn from_name(name: &str) -> Option<Escape> {
        match name {
            "default" => Some(Escape::Default),
            "json" => Some(Escape::Json),
            "none" => Some(Escape::None),
            _ => None,
        }
    }
}

/// Whose address is "the client".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientIp {
    /// The first X-Forwarded-For hop, falling back to `$remote_addr` (Pantheon, where
    /// `$remote_addr` is an internal router).
    XffFirst,
    /// `$remote_addr`, falling back to the first X-Forwarded-For hop if the format lacks it.
    RemoteAddr,
}

/// One parsed line. Every field borrows from the input line; `None` when the format does not
/// write the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// How string values are escaped.
    pub escape: Escape,
    /// `$remote_addr`.
    pub remote_addr: Option<&'a [u8]>,
    /// `$http_x_forwarded_for` as logged.
    pub forwarded_for: Option<&'a [u8]>,
    /// UTC epoch seconds.
    pub time: Option<i64>,
    /// `$request` as logged.
    pub request: Option<&'a [u8]>,
    /// `$request_method`.
    pub method: Option<&'a [u8]>,
    /// `$request_uri` or `$uri`.
    pub uri: Option<&'a [u8]>,
    /// `$status`.
    pub status: Option<u16>,
    /// `$body_bytes_sent` (or `$bytes_sent`).
    pub bytes: Option<u64>,
    /// `$http_user_agent` as logged.
    pub user_agent: Option<&'a [u8]>,
    /// `$request_time`, microseconds.
    pub request_time_us: Option<u64>,
    /// Sum of `$upstream_response_time`, microseconds.
    pub upstream_time_us: Option<u64>,
    /// `$host`.
    pub host: Option<&'a [u8]>,
}

impl<'a> Record<'a> {
    /// A record with no field set.
    pub fn new(escape: Escape) -> Self {
        Record {
            escape,
            remote_addr: None,
            forwarded_for: None,
            time: None,
            request: None,
            method: None,
            uri: None,
            status: None,
            bytes: None,
            user_agent: None,
            request_time_us: None,
            upstream_time_us: None,
            host: None,
        }
    }

    /// Time the server spent: `$request_time`, else `$upstream_response_time`.
    pub fn server_time_us(&self) -> Option<u64> {
        self.request_time_us.or(self.upstream_time_us)
    }

    /// The client address by `policy`, without port.
    pub fn client(&self, policy: ClientIp) -> Option<&'a [u8]> {
        let xff = || self.forwarded_for.and_then(field::first_hop);
        let remote = || self.remote_addr.map(field::strip_port);
        match policy {
            ClientIp::XffFirst => xff().or_else(remote),
            ClientIp::RemoteAddr => remote().or_else(xff),
        }
    }
}

/// Why a line could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reject {
    /// The line is empty (or only white space for JSON).
    Empty,
    /// The line is longer than the line-length cap.
    TooLong,
    /// Literal text of the format is missing (the layout does not match).
    Layout,
    /// Unexpected bytes after the last field.
    TrailingData,
    /// Not one JSON object.
    NotJson,
    /// A field's value is not valid (a status that is not 3 digits, a time that is no time).
    Value(Field),
}

impl Reject {
    /// Number of distinct reasons, for counting tables.
    pub const COUNT: usize = 5 + Field::COUNT;

    /// Position in a counting table.
    pub fn index(self) -> usize {
        match self {
            Reject::Empty => 0,
            Reject::TooLong => 1,
            Reject::Layout => 2,
            Reject::TrailingData => 3,
            Reject::NotJson => 4,
            Reject::Value(f) => 5 + f as usize,
        }
    }

    /// The reason at a table position.
    pub fn from_index(i: usize) -> Reject {
        match i {
            0 => Reject::Empty,
            1 => Reject::TooLong,
            2 => Reject::Layout,
            3 => Reject::TrailingData,
            4 => Reject::NotJson,
            _ => Reject::Value(FIELDS[i - 5]),
        }
    }

    /// The identifier used in JSON and text: `empty`, `layout`, `bad_status`, ...
    pub fn id(self) -> String {
        match self {
            Reject::Empty => "empty".into(),
            Reject::TooLong => "too_long".into(),
            Reject::Layout => "layout".into(),
            Reject::TrailingData => "trailing_data".into(),
            Reject::NotJson => "not_json".into(),
            Reject::Value(Field::AnyTime) => "bad_time".into(),
            Reject::Value(f) => format!("bad_{}", f.var().trim_start_matches('$')),
        }
    }
}

/// Every field, in declaration order (for [`Reject::from_index`]).
const FIELDS: [Field; Field::COUNT] = [
    Field::RemoteAddr,
    Field::RemoteUser,
    Field::TimeLocal,
    Field::TimeIso8601,
    Field::Msec,
    Field::Request,
    Field::RequestMethod,
    Field::RequestUri,
    Field::Uri,
    Field::Args,
    Field::ServerProtocol,
    Field::Status,
    Field::BodyBytesSent,
    Field::BytesSent,
    Field::RequestLength,
    Field::RequestTime,
    Field::UpstreamResponseTime,
    Field::Referer,
    Field::UserAgent,
    Field::ForwardedFor,
    Field::Host,
    Field::ServerName,
    Field::AnyTime,
    Field::Opaque,
];

/// Where and why a line did not fit a format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Miss<'p> {
    /// Why.
    pub reject: Reject,
    /// 0-based byte column where the mismatch starts.
    pub column: usize,
    /// For [`Reject::Layout`]: the literal text the format expected there.
    pub expected: &'p [u8],
    /// For [`Reject::Layout`]: the field whose value should have ended with it.
    pub after: Option<Field>,
}

impl<'p> Miss<'p> {
    /// A miss without an expected literal.
    pub fn new(reject: Reject, column: usize) -> Self {
        Miss {
            reject,
            column,
            expected: b"",
            after: None,
        }
    }

    /// A layout miss: `lit` was expected at or after `column`, after the value of `after`.
    pub fn expected(column: usize, lit: &'p [u8], after: Option<Field>) -> Self {
        Miss {
            reject: Reject::Layout,
            column,
            expected: lit,
            after,
        }
    }

    /// For people: `column 48: expected "]  \""`.
    pub fn describe(&self) -> String {
        let col = self.column + 1;
        match self.reject {
            Reject::Layout => {
                let lit = crate::escape::escape_text(self.expected);
                match self.after {
                    Some(f) => format!("column {col}: no `{lit}` after {}", f.var()),
                    None => format!("column {col}: expected `{lit}`"),
                }
            }
            Reject::Value(f) => format!("column {col}: {} is not valid", f.var()),
            Reject::TrailingData => format!("column {col}: unexpected data after the last field"),
            Reject::NotJson => format!("column {col}: not a JSON object"),
            Reject::Empty => String::new(),
            Reject::TooLong => "line longer than the cap".to_string(),
        }
    }
}

/// How lines are parsed.
#[derive(Clone, Debug)]
pub enum Parser {
    /// A compiled `log_format`.
    Plan(Plan),
    /// One JSON object per line.
    Json(JsonLines),
}

/// A named log format and whose address it takes as the client.
#[derive(Clone, Debug)]
pub struct LogFormat {
    /// `pantheon`, `combined`, `common`, `json`, or `custom`/the log_format's name.
    pub name: String,
    /// The nginx `log_format` text, or a description.
    pub spec: String,
    /// The parser.
    pub parser: Parser,
    /// Client address policy.
    pub client: ClientIp,
}

/// The built-in presets: (name, nginx log_format, allow trailing fields).
pub const PRESETS: [(&str, &str, bool); 3] = [
    (
        "pantheon",
        "$remote_addr - $remote_user [$time_local]  \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time \"$http_x_forwarded_for\"",
        false,
    ),
    (
        "combined",
        "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"",
        true,
    ),
    (
        "common",
        "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent",
        false,
    ),
];

/// Every preset name, in the order detection prefers them on a tie.
pub const PRESET_NAMES: [&str; 4] = ["pantheon", "combined", "common", "json"];

impl LogFormat {
    /// A preset by name.
    pub fn preset(name: &str) -> Option<LogFormat> {
        if name == "json" {
            return Some(Self::json(JsonLines::auto()));
        }
        let (name, fmt, trailing) = PRESETS.iter().find(|p| p.0 == name)?;
        let mut plan = Plan::compile(fmt, Escape::Default).expect("presets compile");
        plan.allow_trailing = *trailing;
        let client = if *name == "pantheon" {
            ClientIp::XffFirst
        } else {
            ClientIp::RemoteAddr
        };
        Some(LogFormat {
            name: name.to_string(),
            spec: fmt.to_string(),
            parser: Parser::Plan(plan),
            client,
        })
    }

    /// Every preset, in detection order.
    pub fn presets() -> Vec<LogFormat> {
        PRESET_NAMES
            .iter()
            .map(|n| Self::preset(n).expect("known preset"))
            .collect()
    }

    /// JSON lines with this key mapping.
    pub fn json(map: JsonLines) -> LogFormat {
        LogFormat {
            name: "json".to_string(),
            spec: "one JSON object per line".to_string(),
            parser: Parser::Json(map),
            client: ClientIp::RemoteAddr,
        }
    }

    /// A format from an nginx `log_format` string.
    pub fn custom(name: &str, fmt: &str, escape: Escape) -> Result<LogFormat, String> {
        Ok(LogFormat {
            name: name.to_string(),
            spec: fmt.to_string(),
            parser: Parser::Plan(Plan::compile(fmt, escape)?),
            client: ClientIp::RemoteAddr,
        })
    }

    /// Parses one line (without its `\n`).
    #[inline]
    pub fn parse<'a, 'p>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
    ) -> Result<Record<'a>, Miss<'p>> {
        match &self.parser {
            Parser::Plan(p) => p.parse(line, times),
            Parser::Json(j) => j.parse(line, times),
        }
    }

    /// What the analysis lacks with this format, one sentence each. For JSON lines, judged
    /// from `sample` (records parsed from the first lines).
    pub fn notes(&self, sample: &[Record<'_>]) -> Vec<String> {
        let has = |f: &[Field], pick: fn(&Record<'_>) -> bool| match &self.parser {
            Parser::Plan(p) => f.iter().any(|&f| p.has(f)),
            Parser::Json(_) => sample.iter().any(pick),
        };
        let mut notes = Vec::new();
        let mut note = |ok: bool, text: &str| {
            if !ok {
                notes.push(text.to_string());
            }
        };
        let path_fields = [Field::Request, Field::RequestUri, Field::Uri];
        note(
            has(&path_fields, |r| r.request.is_some() || r.uri.is_some()),
            "no $request, $request_uri or $uri: no path to classify, so no noise can be found",
        );
        note(
            has(&[Field::Status], |r| r.status.is_some()),
            "no $status: status counts and 404 shares unavailable",
        );
        let time_fields = [Field::TimeLocal, Field::TimeIso8601, Field::Msec];
        note(
            has(&time_fields, |r| r.time.is_some()),
            "no $time_local, $time_iso8601 or $msec: time span and time windows unavailable",
        );
        let rt = [Field::RequestTime, Field::UpstreamResponseTime];
        note(
            has(&rt, |r| r.server_time_us().is_some()),
            "no $request_time: server seconds and latency unavailable",
        );
        let bytes = [Field::BodyBytesSent, Field::BytesSent];
        note(
            has(&bytes, |r| r.bytes.is_some()),
            "no $body_bytes_sent: bytes unavailable",
        );
        note(
            has(&[Field::UserAgent], |r| r.user_agent.is_some()),
            "no $http_user_agent: user agents unavailable",
        );
        let client = [Field::RemoteAddr, Field::ForwardedFor];
        note(
            has(&client, |r| r.client(ClientIp::RemoteAddr).is_some()),
            "no $remote_addr: clients unavailable",
        );
        notes
    }
}

/// How many of `lines` each candidate parses, and its miss on the first line.
pub fn score<'p>(
    lines: &[&[u8]],
    candidates: &'p [Arc<LogFormat>],
) -> Vec<(usize, usize, Option<Miss<'p>>)> {
    candidates
        .iter()
        .enumerate()
        .map(|(i, fmt)| {
            let mut times = TimeCache::default();
            let ok = lines
                .iter()
                .filter(|l| fmt.parse(l, &mut times).is_ok())
                .count();
            let first = lines.first().and_then(|l| fmt.parse(l, &mut times).err());
            (i, ok, first)
        })
        .collect()
}

/// Picks the candidate that parses the most of `lines` (ties go to the earlier one). When
/// none parses any, returns a diagnosis of the first line: the closest candidate (the one
/// that got furthest) and where it diverged.
pub fn detect(lines: &[&[u8]], candidates: &[Arc<LogFormat>]) -> Result<Arc<LogFormat>, String> {
    let scores = score(lines, candidates);
    let best = scores.iter().map(|s| s.1).max().unwrap_or(0);
    if best > 0 {
        let i = scores.iter().find(|s| s.1 == best).expect("max exists").0;
        return Ok(candidates[i].clone());
    }
    let closest = scores
        .iter()
        .filter_map(|(i, _, miss)| miss.map(|m| (m.column, std::cmp::Reverse(*i), m)))
        .max_by_key(|(col, i, _)| (*col, *i));
    let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    let mut msg = format!("no known log format fits (tried {})", names.join(", "));
    if let Some((_, std::cmp::Reverse(i), miss)) = closest {
        msg += &format!("; closest is {}: {}", candidates[i].name, miss.describe());
    }
    Err(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PANTHEON: &[u8] = b"203.0.113.56 - - [19/Feb/2016:02:00:00 +0000]  \"GET /edu HTTP/1.1\" 200 13142 \"https://example.org/a\" \"Mozilla/5.0 (X)\" 0.399 \"122.248.101.126, 50.57.202.75, 10.0.0.1\"";
    const COMBINED: &[u8] = b"203.0.113.56 - frank [19/Feb/2016:02:00:00 +0000] \"POST /Autodiscover/Autodiscover.xml HTTP/1.1\" 404 - \"-\" \"Microsoft Office/16.0\"";

    fn p<'a>(name: &str, line: &'a [u8]) -> Result<Record<'a>, Reject> {
        let f = LogFormat::preset(name).unwrap();
        let r = f.parse(line, &mut TimeCache::default());
        r.map_err(|m| m.reject)
    }

    fn presets() -> Vec<Arc<LogFormat>> {
        LogFormat::presets().into_iter().map(Arc::new).collect()
    }

    #[test]
    fn parses_pantheon() {
        let r = p("pantheon", PANTHEON).unwrap();
        assert_eq!(r.remote_addr, Some(&b"203.0.113.56"[..]));
        assert_eq!(r.time, Some(1_455_847_200));
        assert_eq!(r.request, Some(&b"GET /edu HTTP/1.1"[..]));
        assert_eq!((r.status, r.bytes), (Some(200), Some(13142)));
        assert_eq!(r.user_agent, Some(&b"Mozilla/5.0 (X)"[..]));
        assert_eq!(r.request_time_us, Some(399_000));
        assert_eq!(r.client(ClientIp::XffFirst), Some(&b"122.248.101.126"[..]));
        assert_eq!(r.client(ClientIp::RemoteAddr), Some(&b"203.0.113.56"[..]));
    }

    #[test]
    fn pantheon_client_falls_back_to_remote_addr() {
        let line = [&PANTHEON[..PANTHEON.len() - 41], b"\"-\""].concat();
        let r = p("pantheon", &line).unwrap();
        assert_eq!(r.client(ClientIp::XffFirst), Some(&b"203.0.113.56"[..]));
    }

    #[test]
    fn parses_combined_common_and_crlf() {
        let line = [COMBINED, b"\r"].concat();
        let r = p("combined", &line).unwrap();
        assert_eq!(r.bytes, Some(0));
        assert_eq!(r.request_time_us, None);
        let extra = [COMBINED, b" \"extra\" 0.1"].concat();
        assert!(p("combined", &extra).is_ok());
        assert_eq!(p("pantheon", COMBINED), Err(Reject::Layout));
        assert_eq!(p("combined", PANTHEON), Err(Reject::Layout));
        let common = &COMBINED[..COMBINED.len() - b" \"-\" \"Microsoft Office/16.0\"".len()];
        assert_eq!(p("common", common).unwrap().status, Some(404));
        assert_eq!(p("common", COMBINED), Err(Reject::TrailingData));
    }

    #[test]
    fn garbage_request_is_still_a_record() {
        let line =
            br#"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] "\x16\x03\x01\x00" 400 157 "-" "-""#;
        assert_eq!(p("combined", line).unwrap().status, Some(400));
        let line = br#"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] "" 400 0 "-" "-""#;
        assert_eq!(p("combined", line).unwrap().request, Some(&b""[..]));
    }

    #[test]
    fn apache_escaped_quotes_stay_inside_the_field() {
        let line =
            br#"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] "GET /a\"b HTTP/1.1" 200 1 "-" "x \"y\"""#;
        let r = p("combined", line).unwrap();
        assert_eq!(r.request, Some(&br#"GET /a\"b HTTP/1.1"#[..]));
        assert_eq!(r.user_agent, Some(&br#"x \"y\""#[..]));
    }

    #[test]
    fn rejects_name_the_field() {
        let cases: [(&[u8], Reject); 5] = [
            (b"", Reject::Empty),
            (b"garbage", Reject::Layout),
            (b"1.2.3.4 - - [nope]  \"GET / HTTP/1.1\"", Reject::Value(Field::TimeLocal)),
            (
                b"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000]  \"GET / HTTP/1.1\" 2x0 1 \"-\" \"ua\" 0.1 \"-\"",
                Reject::Value(Field::Status),
            ),
            (
                b"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000]  \"GET / HTTP/1.1\" 200 1 \"-\" \"ua\" x \"-\"",
                Reject::Value(Field::RequestTime),
            ),
        ];
        for (line, want) in cases {
            assert_eq!(p("pantheon", line).unwrap_err(), want);
        }
        for i in 0..Reject::COUNT {
            assert_eq!(Reject::from_index(i).index(), i);
        }
        assert_eq!(Reject::Value(Field::Status).id(), "bad_status");
    }

    #[test]
    fn detects_the_format_that_parses_most() {
        let c = presets();
        assert_eq!(detect(&[PANTHEON, b"junk"], &c).unwrap().name, "pantheon");
        assert_eq!(detect(&[COMBINED], &c).unwrap().name, "combined");
        let json = br#"{"status":404,"request":"GET / HTTP/1.1"}"#;
        assert_eq!(detect(&[json], &c).unwrap().name, "json");
        let err = detect(&[b"junk"], &c).unwrap_err();
        assert!(
            err.contains("tried pantheon, combined, common, json"),
            "{err}"
        );
        let near = b"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] GET / 200";
        let err = detect(&[near], &c).unwrap_err();
        assert!(
            err.contains("closest is pantheon: column 40: no `]  \"` after $time_local"),
            "{err}"
        );
    }

    #[test]
    fn notes_what_a_format_lacks() {
        let common = LogFormat::preset("common").unwrap();
        let notes = common.notes(&[]);
        assert!(notes.iter().any(|n| n.contains("no $request_time")));
        assert!(notes.iter().any(|n| n.contains("no $http_user_agent")));
        assert!(LogFormat::preset("pantheon").unwrap().notes(&[]).is_empty());
    }
}
