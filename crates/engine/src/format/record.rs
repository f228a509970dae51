//! What parsing a line gives: a [`Record`] of borrowed fields, or why it did not fit
//! ([`Reject`], [`Miss`]); and the two policies a format carries (how nginx escaped values,
//! whose address is the client). A leaf of `format`: the parsers make these, nothing here
//! parses a line.

use super::field::{self, Field};

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
    pub(crate) fn from_name(name: &str) -> Option<Escape> {
        match name {
            "default" => Some(Escape::Default),
            "json" => Some(Escape::Json),
            "none" => Some(Escape::None),
            _ => None,
        }
    }
}

/// Whose address is "the client".
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientIp {
    /// The first X-Forwarded-For hop, falling back to `$remote_addr` (Pantheon, where
    /// `$remote_addr` is an internal router).
    XffFirst,
    /// `$remote_addr`, falling back to the first X-Forwarded-For hop if the format lacks it.
    RemoteAddr,
    /// The first address, from `$remote_addr` leftwards through X-Forwarded-For, that is not a
    /// trusted proxy (nginx's realip module with `real_ip_recursive on`).
    Trusted(std::sync::Arc<super::realip::TrustedProxies>),
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
    /// `$uri` (the path nginx routed: decoded, normalized, no query), else `$request_uri` (the
    /// target as sent).
    pub uri: Option<&'a [u8]>,
    /// Whether `uri` is `$uri`, which nginx already routed.
    pub uri_routed: bool,
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
    /// `$host` (or `$server_name` in a format without `$host`).
    pub host: Option<&'a [u8]>,
}

impl<'a> Record<'a> {
    /// A record with no field set.
    pub(crate) fn new(escape: Escape) -> Self {
        Record {
            escape,
            remote_addr: None,
            forwarded_for: None,
            time: None,
            request: None,
            method: None,
            uri: None,
            uri_routed: false,
            status: None,
            bytes: None,
            user_agent: None,
            request_time_us: None,
            upstream_time_us: None,
            host: None,
        }
    }

    /// Time the server spent: `$request_time`, else `$upstream_response_time`.
    pub(crate) fn server_time_us(&self) -> Option<u64> {
        self.request_time_us.or(self.upstream_time_us)
    }

    /// The client address by `policy`, without port.
    ///
    /// A hop or address of only digits and dots (an IPv4 address, the usual case) is its own
    /// client: there is no white space to trim, no port to strip, and it is never empty, `-`
    /// or `unknown`. It is taken as it is, found eight bytes at a time; anything else is
    /// read as [`Record::client_slowly`] reads it. The scan asks for every noise line's
    /// client, and reading the address byte by byte cost about as much as the memo's lookup.
    #[inline]
    pub(crate) fn client(&self, policy: &ClientIp) -> Option<&'a [u8]> {
        match (policy, self.forwarded_for, self.remote_addr) {
            (ClientIp::XffFirst, Some(xff), _) => {
                let n = plain(xff);
                if n > 0 && xff.get(n).is_none_or(|&b| b == b',') {
                    return Some(&xff[..n]);
                }
            }
            (ClientIp::RemoteAddr, _, Some(remote)) if plain(remote) == remote.len() => {
                return Some(remote);
            }
            _ => {}
        }
        self.client_slowly(policy)
    }

    /// The client address by `policy`, without port, read byte by byte.
    fn client_slowly(&self, policy: &ClientIp) -> Option<&'a [u8]> {
        let xff = || self.forwarded_for.and_then(field::first_hop);
        let remote = || self.remote_addr.map(field::strip_port);
        match policy {
            ClientIp::XffFirst => xff().or_else(remote),
            ClientIp::RemoteAddr => remote().or_else(xff),
            ClientIp::Trusted(t) => t.client(self.remote_addr, self.forwarded_for),
        }
    }
}

/// The length of the start of `x` made of digits and dots (and `/`, which lies between
/// them), eight bytes at a time: a byte is in `.` ..= `9` when adding `0x80 - b'.'` to it
/// sets its high bit and adding `0x7f - b'9'` does not. The bytes' high bits are cleared
/// first, so that no byte carries into the next, and a byte that had it set stops.
#[inline]
fn plain(x: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH: u64 = ONES << 7;
    // The first byte of the eight at `at` that is not plain, if any.
    let stop = |at: usize| {
        let w = u64::from_le_bytes(x[at..at + 8].try_into().unwrap());
        let low = w & !HIGH;
        let from_dot = low + ONES * u64::from(0x80 - b'.');
        let past_nine = low + ONES * u64::from(0x7f - b'9');
        let stops = (!from_dot | past_nine | w) & HIGH;
        (stops != 0).then(|| at + stops.trailing_zeros() as usize / 8)
    };
    if x.len() < 8 {
        return x
            .iter()
            .position(|b| !(b'.'..=b'9').contains(b))
            .unwrap_or(x.len());
    }
    let mut at = 0;
    while at + 8 < x.len() {
        if let Some(i) = stop(at) {
            return i;
        }
        at += 8;
    }
    // The last eight bytes, overlapping those already read (which are all plain).
    stop(x.len() - 8).unwrap_or(x.len())
}

/// Why a line could not be parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Reject {
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
    pub(crate) const COUNT: usize = 5 + Field::COUNT;

    /// Position in a counting table.
    pub(crate) fn index(self) -> usize {
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
    pub(crate) fn from_index(i: usize) -> Reject {
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
    pub(crate) fn id(self) -> String {
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
    pub(crate) reject: Reject,
    /// 0-based byte column where the mismatch starts.
    pub(crate) column: usize,
    /// For [`Reject::Layout`]: the literal text the format expected there.
    pub(crate) expected: &'p [u8],
    /// For [`Reject::Layout`]: the field whose value should have ended with it.
    pub(crate) after: Option<Field>,
}

impl<'p> Miss<'p> {
    /// A miss without an expected literal.
    pub(crate) fn new(reject: Reject, column: usize) -> Self {
        Miss {
            reject,
            column,
            expected: b"",
            after: None,
        }
    }

    /// A layout miss: `lit` was expected at or after `column`, after the value of `after`.
    pub(crate) fn expected(column: usize, lit: &'p [u8], after: Option<Field>) -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Addresses, ports, lists and the junk proxies write, from a few telling bytes.
    fn header() -> impl Strategy<Value = Option<Vec<u8>>> {
        prop::option::of(prop::collection::vec(
            prop::sample::select(b"0129./:,[] \t-uUnknowa\xae\xb0".to_vec()),
            0..40,
        ))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4000))]

        /// The plain address taken as it is is the client read byte by byte.
        #[test]
        fn a_plain_client_is_the_client_read_slowly(xff in header(), remote in header()) {
            let mut rec = Record::new(Escape::Default);
            rec.forwarded_for = xff.as_deref();
            rec.remote_addr = remote.as_deref();
            for policy in [ClientIp::XffFirst, ClientIp::RemoteAddr] {
                prop_assert_eq!(rec.client(&policy), rec.client_slowly(&policy));
            }
        }

        #[test]
        fn plain_stops_at_the_first_other_byte(
            x in prop::collection::vec(prop::sample::select(b"09./-:,\x00\xae\xb0\xff".to_vec()), 0..40),
        ) {
            let want = x.iter().position(|b| !(b'.'..=b'9').contains(b)).unwrap_or(x.len());
            prop_assert_eq!(plain(&x), want);
        }
    }
}
