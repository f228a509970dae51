//! Log formats: the presets, formats compiled from nginx `log_format` strings or read out of
//! an nginx.conf, JSON-per-line logs, and the detection of a format from a log's lines.
//!
//! A parsed line is a [`Record`] of slices borrowed from the input block: nothing is copied or
//! allocated here. Values that need decoding (`\xHH` or JSON escapes, the client address) are
//! decoded only by the callers that need them. This module knows nothing about noise.

mod anchor;
pub(crate) mod conf;
mod detect;
pub(crate) mod field;
pub(crate) mod json;
pub(crate) mod plan;
mod realip;
mod record;
pub(crate) mod request;
pub(crate) mod time;

pub(crate) use detect::{detect, score, Detector};
pub(crate) use field::Field;
pub use realip::TrustedProxies;
pub(crate) use record::Reject;
pub use record::{ClientIp, Escape};
pub use record::{Miss, Record};

use json::JsonLines;
use plan::Plan;
use time::TimeCache;

/// How lines are parsed.
#[derive(Clone, Debug)]
pub(crate) enum Parser {
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
    pub(crate) spec: String,
    /// The parser.
    pub(crate) parser: Parser,
    /// Client address policy.
    pub(crate) client: ClientIp,
}

/// One built-in format: an entry of [`PRESETS`], the one table that `--format`, detection and
/// `noisegate formats` list.
#[derive(Debug)]
pub struct Preset {
    /// Its name (`--format NAME`).
    pub name: &'static str,
    /// One line of help.
    pub help: &'static str,
    kind: PresetKind,
}

#[derive(Debug)]
enum PresetKind {
    /// An nginx `log_format`; `trailing`: fields after it are allowed.
    Nginx {
        text: &'static str,
        trailing: bool,
        client: ClientIp,
    },
    /// One JSON object per line, keys mapped by name.
    JsonLines,
}

/// The built-in formats, in the order detection prefers them on a tie.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "pantheon",
        help: "Pantheon's nginx format",
        kind: PresetKind::Nginx {
            text: "$remote_addr - $remote_user [$time_local]  \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time \"$http_x_forwarded_for\"",
            trailing: false,
            client: ClientIp::XffFirst,
        },
    },
    Preset {
        name: "combined",
        help: "nginx/Apache combined",
        kind: PresetKind::Nginx {
            text: "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"",
            trailing: true,
            client: ClientIp::RemoteAddr,
        },
    },
    Preset {
        name: "common",
        help: "nginx/Apache common",
        kind: PresetKind::Nginx {
            text: "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent",
            trailing: false,
            client: ClientIp::RemoteAddr,
        },
    },
    Preset {
        name: "json",
        help: "One JSON object per line (keys mapped by name, see --json-fields)",
        kind: PresetKind::JsonLines,
    },
];

impl Preset {
    /// The format; a JSON preset maps keys as `json` says.
    pub fn build(&self, json: &JsonLines) -> LogFormat {
        match &self.kind {
            PresetKind::JsonLines => LogFormat::json(json.clone()),
            PresetKind::Nginx {
                text,
                trailing,
                client,
            } => {
                let mut plan = Plan::compile(text, Escape::Default).expect("presets compile");
                plan.allow_trailing = *trailing;
                LogFormat {
                    name: self.name.to_string(),
                    spec: text.to_string(),
                    parser: Parser::Plan(plan),
                    client: client.clone(),
                }
            }
        }
    }
}

impl LogFormat {
    /// A preset by name.
    pub fn preset(name: &str) -> Option<LogFormat> {
        let p = PRESETS.iter().find(|p| p.name == name)?;
        Some(p.build(&JsonLines::auto()))
    }

    /// Every preset, in detection order, JSON keys mapped by name.
    pub fn presets() -> Vec<LogFormat> {
        Self::presets_with(&JsonLines::auto())
    }

    /// Every preset, in detection order, JSON keys mapped as `json` says.
    pub fn presets_with(json: &JsonLines) -> Vec<LogFormat> {
        PRESETS.iter().map(|p| p.build(json)).collect()
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

    /// A format from an nginx `log_format` string, named `custom`; one that starts with `{` is
    /// read with `escape=json`.
    pub fn from_log_format(fmt: &str) -> Result<LogFormat, String> {
        Self::custom("custom", fmt, Escape::guess(fmt))
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

    /// [`LogFormat::parse`] into `rec`, which must hold no field yet (as [`Record::new`]
    /// makes it): the scanner's path, where no record moves through a `Result`. After an
    /// `Err`, `rec` holds nothing meaningful.
    #[inline(always)]
    pub(crate) fn parse_into<'a, 'p>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
        rec: &mut Record<'a>,
    ) -> Result<(), Miss<'p>> {
        match &self.parser {
            Parser::Plan(p) => p.parse_into(line, times, rec),
            Parser::Json(j) => {
                *rec = j.parse(line, times)?;
                Ok(())
            }
        }
    }

    /// What the analysis lacks with this format, one sentence each. For JSON lines, judged
    /// from `sample` (records parsed from the first lines).
    pub(crate) fn notes(&self, sample: &[Record<'_>]) -> Vec<String> {
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
            has(&client, |r| r.client(&ClientIp::RemoteAddr).is_some()),
            "no $remote_addr: clients unavailable",
        );
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

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
        assert_eq!(r.client(&ClientIp::XffFirst), Some(&b"122.248.101.126"[..]));
        assert_eq!(r.client(&ClientIp::RemoteAddr), Some(&b"203.0.113.56"[..]));
    }

    #[test]
    fn pantheon_client_falls_back_to_remote_addr() {
        let line = [&PANTHEON[..PANTHEON.len() - 41], b"\"-\""].concat();
        let r = p("pantheon", &line).unwrap();
        assert_eq!(r.client(&ClientIp::XffFirst), Some(&b"203.0.113.56"[..]));
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

    /// Every `$remote_user` of up to three tricky pieces (what nginx writes for a Basic
    /// header: spaces, brackets, dashes, escaped quotes, a forged time or status), in each
    /// preset: no field moves.
    #[test]
    fn no_user_shifts_a_preset_field() {
        let pieces = [
            " ",
            "[",
            "]",
            "-",
            "\\x22",
            "a",
            "[19/Feb/2016:02:00:00 +0000]",
            " 404 1 ",
            "  ",
        ];
        let mut users = vec![String::new()];
        for _ in 0..3 {
            let longer: Vec<String> = users
                .iter()
                .flat_map(|u| pieces.iter().map(move |p| format!("{u}{p}")))
                .collect();
            users.extend(longer);
        }
        users.sort();
        users.dedup();
        let request = "POST /Autodiscover/Autodiscover.xml HTTP/1.1";
        let tail = " 404 153 \"-\" \"Microsoft Office/16.0\"";
        for user in &users {
            let head = format!("203.0.113.56 - {user} [30/Nov/2026:03:47:01 +0000]");
            let lines = [
                (
                    "pantheon",
                    format!("{head}  \"{request}\"{tail} 0.001 \"198.51.100.7\""),
                ),
                ("combined", format!("{head} \"{request}\"{tail}")),
                ("common", format!("{head} \"{request}\" 404 153")),
            ];
            for (name, line) in lines {
                let r =
                    p(name, line.as_bytes()).unwrap_or_else(|e| panic!("{name} {user:?}: {e:?}"));
                let what = format!("{name} {user:?}");
                assert_eq!(r.time, Some(1_796_010_421), "{what}");
                assert_eq!(r.request, Some(request.as_bytes()), "{what}");
                assert_eq!((r.status, r.bytes), (Some(404), Some(153)), "{what}");
                assert_eq!(r.remote_addr, Some(&b"203.0.113.56"[..]), "{what}");
            }
        }
        assert_eq!(users.len(), 784);
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
