//! JSON-per-line logs (nginx `escape=json`, or any flat JSON object per line): a zero-copy
//! scanner of one flat object, and the mapping of its keys to fields.
//!
//! Values are borrowed as written (string escapes still in place; they are decoded only where
//! a value is used). Nested objects and arrays are skipped. Keys are mapped by the usual
//! names (`status`, `request_time`, `http_user_agent`, `@timestamp`, ...) unless the user gives
//! a mapping with `--json-fields`.
//!
//! It reads what nginx writes for a JSON-looking `log_format`: with `escape=json`, a variable
//! that is not set is `""` (read as absent, like `-`) and strings hold JSON escapes; with
//! `escape=default`, strings hold `\xHH` escapes instead. Each line says which: nginx's default
//! escaping writes a backslash only as `\x5C`, so every backslash starts `\xHH`, while JSON
//! escaping writes it as `\\`, so `\x` never occurs. A line with only `\x` escapes is decoded
//! as `escape=default`, any other as JSON. Numbers may be written bare or as strings.

use super::field::Field;
use super::plan::store;
use super::record::{Escape, Miss, Record, Reject};
use super::time::TimeCache;
use memchr::memchr2;

/// Key names understood without a mapping, and the field each one fills.
const AUTO_KEYS: &[(&str, Field)] = &[
    ("remote_addr", Field::RemoteAddr),
    ("remote_ip", Field::RemoteAddr),
    ("client_ip", Field::RemoteAddr),
    ("ip", Field::RemoteAddr),
    ("time_local", Field::TimeLocal),
    ("time_iso8601", Field::TimeIso8601),
    ("msec", Field::Msec),
    ("@timestamp", Field::AnyTime),
    ("timestamp", Field::AnyTime),
    ("time", Field::AnyTime),
    ("request", Field::Request),
    ("request_method", Field::RequestMethod),
    ("method", Field::RequestMethod),
    ("request_uri", Field::RequestUri),
    ("uri", Field::Uri),
    ("path", Field::Uri),
    ("status", Field::Status),
    ("status_code", Field::Status),
    ("body_bytes_sent", Field::BodyBytesSent),
    ("bytes_sent", Field::BytesSent),
    ("request_time", Field::RequestTime),
    ("upstream_response_time", Field::UpstreamResponseTime),
    ("http_referer", Field::Referer),
    ("referer", Field::Referer),
    ("http_user_agent", Field::UserAgent),
    ("user_agent", Field::UserAgent),
    ("http_x_forwarded_for", Field::ForwardedFor),
    ("x_forwarded_for", Field::ForwardedFor),
    ("host", Field::Host),
    ("http_host", Field::Host),
    ("server_name", Field::ServerName),
];

/// A JSON-lines format: which key fills which field.
#[derive(Clone, Debug)]
pub struct JsonLines {
    keys: Vec<(Box<[u8]>, Field)>,
}

impl JsonLines {
    /// The automatic mapping of the usual key names.
    pub fn auto() -> Self {
        JsonLines {
            keys: AUTO_KEYS
                .iter()
                .map(|(k, f)| (k.as_bytes().into(), *f))
                .collect(),
        }
    }

    /// The automatic mapping, overridden by `spec`: `field=key,...` where `field` is an nginx
    /// variable name (`status`, `request_time`, `http_user_agent`, ...).
    pub fn with_fields(spec: &str) -> Result<Self, String> {
        let mut map = Self::auto();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (var, key) = pair
                .split_once('=')
                .ok_or(format!("'{pair}' is not FIELD=KEY"))?;
            let field = Field::from_var(var.trim().trim_start_matches('$'));
            if field == Field::Opaque {
                return Err(format!("'{var}' is not a field noisegate reads (try status, request, request_uri, request_time, http_user_agent, remote_addr, time_iso8601, ...)"));
            }
            map.keys.retain(|(_, f)| *f != field);
            map.keys.insert(0, (key.trim().as_bytes().into(), field));
        }
        Ok(map)
    }

    fn field_of(&self, key: &[u8]) -> Option<Field> {
        self.keys.iter().find(|(k, _)| **k == *key).map(|(_, f)| *f)
    }

    /// Parses one line holding one JSON object.
    pub(crate) fn parse<'a, 'p>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
    ) -> Result<Record<'a>, Miss<'p>> {
        let line = line.trim_ascii();
        if line.is_empty() {
            return Err(Miss::new(Reject::Empty, 0));
        }
        let mut rec = Record::new(Escape::Json);
        let mut s = Scan {
            b: line,
            pos: 0,
            hex: false,
            json: false,
        };
        s.object(|key, value, at| match self.field_of(key) {
            Some(f) => {
                store(&mut rec, f, value, times, true).ok_or(Miss::new(Reject::Value(f), at))
            }
            None => Ok(()),
        })?;
        if s.pos != line.len() {
            return Err(Miss::new(Reject::TrailingData, s.pos));
        }
        if s.hex && !s.json {
            rec.escape = Escape::Default;
        }
        Ok(rec)
    }
}

/// A cursor over one JSON object.
struct Scan<'a> {
    b: &'a [u8],
    pos: usize,
    /// A string held a `\xHH` escape (nginx's `escape=default`).
    hex: bool,
    /// A string held any other escape (JSON's).
    json: bool,
}

impl<'a> Scan<'a> {
    fn err<T>(&self) -> Result<T, Miss<'static>> {
        Err(Miss::new(Reject::NotJson, self.pos))
    }

    fn ws(&mut self) {
        while self.b.get(self.pos).is_some_and(u8::is_ascii_whitespace) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), Miss<'static>> {
        self.ws();
        if self.b.get(self.pos) == Some(&c) {
            self.pos += 1;
            Ok(())
        } else {
            self.err()
        }
    }

    /// A string's raw content (escapes kept); the cursor is on its opening quote.
    fn string(&mut self) -> Result<&'a [u8], Miss<'static>> {
        self.eat(b'"')?;
        let start = self.pos;
        loop {
            let Some(i) = memchr2(b'"', b'\\', &self.b[self.pos..]) else {
                return self.err();
            };
            self.pos += i;
            if self.b[self.pos] == b'\\' {
                match self.b.get(self.pos + 1) {
                    Some(b'x') => self.hex = true,
                    Some(_) => self.json = true,
                    None => return self.err(),
                }
                self.pos += 2;
            } else {
                self.pos += 1;
                return Ok(&self.b[start..self.pos - 1]);
            }
        }
    }

    /// A value: a string's content, a scalar's text, or a skipped object/array (empty).
    fn value(&mut self) -> Result<&'a [u8], Miss<'static>> {
        self.ws();
        match self.b.get(self.pos) {
            Some(b'"') => self.string(),
            Some(b'{' | b'[') => self.skip_nested().map(|_| &self.b[..0]),
            Some(_) => {
                let start = self.pos;
                while self.b.get(self.pos).is_some_and(|c| !b",}] \t".contains(c)) {
                    self.pos += 1;
                }
                let v = &self.b[start..self.pos];
                if v.is_empty() {
                    return self.err();
                }
                Ok(if v == b"null" { &b"-"[..] } else { v })
            }
            None => self.err(),
        }
    }

    fn skip_nested(&mut self) -> Result<(), Miss<'static>> {
        let mut depth = 0usize;
        while let Some(&c) = self.b.get(self.pos) {
            match c {
                b'"' => {
                    self.string()?;
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        self.err()
    }

    /// `{ "key": value, ... }`, each pair passed to `each` with the value's column.
    fn object<'p>(
        &mut self,
        mut each: impl FnMut(&'a [u8], &'a [u8], usize) -> Result<(), Miss<'p>>,
    ) -> Result<(), Miss<'p>> {
        self.eat(b'{')?;
        self.ws();
        if self.b.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            let key = self.string()?;
            self.eat(b':')?;
            self.ws();
            let at = self.pos;
            let value = self.value()?;
            each(key, value, at)?;
            self.ws();
            match self.b.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    self.ws();
                    return Ok(());
                }
                _ => return self.err(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<'a>(j: &JsonLines, line: &'a [u8]) -> Result<Record<'a>, Reject> {
        j.parse(line, &mut TimeCache::default())
            .map_err(|m| m.reject)
    }

    #[test]
    fn maps_usual_keys() {
        let line = br#"{"time_iso8601":"2016-02-19T02:00:00+00:00","remote_addr":"1.2.3.4","request":"POST /Autodiscover/Autodiscover.xml HTTP/1.1","status":"404","body_bytes_sent":12,"request_time":"0.731","http_user_agent":"Outlook \"16\"","nested":{"a":[1,"}"]},"x":null}"#;
        let r = parse(&JsonLines::auto(), line).unwrap();
        assert_eq!(r.time, Some(1_455_847_200));
        assert_eq!(r.status, Some(404));
        assert_eq!(r.bytes, Some(12));
        assert_eq!(r.request_time_us, Some(731_000));
        assert_eq!(r.user_agent, Some(&br#"Outlook \"16\""#[..]));
        assert_eq!(r.remote_addr, Some(&b"1.2.3.4"[..]));
    }

    #[test]
    fn reads_what_nginx_writes_with_either_escaping() {
        let j = JsonLines::auto();
        // escape=json: an unset $upstream_response_time is "", a quote is \".
        let line = br#"{"status":"403","request_time":"0.000","upstream_response_time":"","msec":"1764474421.123","http_user_agent":"a \"b\" \\x"}"#;
        let r = parse(&j, line).unwrap();
        assert_eq!((r.status, r.upstream_time_us), (Some(403), None));
        assert_eq!((r.time, r.escape), (Some(1_764_474_421), Escape::Json));
        // escape=default: `-` for unset, \xHH inside strings.
        let line = br#"{"status":"404","upstream_response_time":"-","time_iso8601":"2026-11-30T03:47:01+00:00","http_user_agent":"a \x22b\x22 \x5C"}"#;
        let r = parse(&j, line).unwrap();
        assert_eq!((r.status, r.upstream_time_us), (Some(404), None));
        assert_eq!((r.time, r.escape), (Some(1_796_010_421), Escape::Default));
        assert_eq!(r.user_agent, Some(&br"a \x22b\x22 \x5C"[..]));
        // Bare numbers, null, and an empty time or byte count.
        let line = br#"{"status":404,"body_bytes_sent":"","request_time":null,"time_local":""}"#;
        let r = parse(&j, line).unwrap();
        assert_eq!(
            (r.status, r.bytes, r.request_time_us, r.time),
            (Some(404), None, None, None)
        );
    }

    #[test]
    fn user_mapping_overrides() {
        let j = JsonLines::with_fields("status=code, request_uri=u").unwrap();
        let r = parse(&j, br#"{"code":301,"u":"/owa/","status":"x"}"#).unwrap();
        assert_eq!(r.status, Some(301));
        assert_eq!(r.uri, Some(&b"/owa/"[..]));
        assert!(JsonLines::with_fields("nonsense").is_err());
        assert!(JsonLines::with_fields("http_x_custom=a").is_err());
    }

    #[test]
    fn rejects_what_is_not_one_object() {
        let j = JsonLines::auto();
        assert_eq!(parse(&j, b"").unwrap_err(), Reject::Empty);
        assert_eq!(parse(&j, b"{\"a\":").unwrap_err(), Reject::NotJson);
        assert_eq!(parse(&j, b"not json").unwrap_err(), Reject::NotJson);
        assert_eq!(
            parse(&j, b"{\"status\":\"abc\"}").unwrap_err(),
            Reject::Value(Field::Status)
        );
        assert_eq!(parse(&j, b"{} {}").unwrap_err(), Reject::TrailingData);
        assert_eq!(parse(&j, b"{\"a\":\"\\").unwrap_err(), Reject::NotJson);
    }
}
