//! nginx `log_format` strings compiled into a field plan, and the zero-copy parser that runs
//! a plan over a line.
//!
//! A format string is literal text and variables (`$name`, `${name}`). The plan is the
//! leading literal, then for each variable the literal that follows it. Parsing walks the
//! line once: a variable's value ends where the next literal starts. Two fields may contain
//! the literal that follows them and get their own rule: `$time_local` is always 26 bytes,
//! and `$upstream_response_time` is a list (`0.012, 0.034`).
//!
//! What makes a split unambiguous is nginx's escaping: a value never holds a raw `"` (it is
//! written `\x22`, or `\"` with `escape=json`, and `\` itself is escaped), nor a control byte,
//! so a quote preceded by an even number of backslashes is always one of the format's own
//! quotes, and the line's end is the format's end. A value may hold anything else: spaces,
//! `[`, `]`, `-`. So a *free* value (a variable nginx copies from the request, such as
//! `$remote_user` or `$http_x_forwarded_for`) that is not followed by a quote of the format
//! is anchored on the next one: the fields between it and that quote (`[$time_local]`) are
//! read backwards from the quote, and the free value takes what is left. Ordinary lines fit
//! the forward walk; only a line that does not is read again this way, so the hot path pays
//! nothing. (Two free values between the same two quotes cannot be told apart by any
//! parser; the later one then ends at the last occurrence of its literal. With
//! `escape=none` nginx guarantees nothing, and the same reading is only a best effort.)

use super::anchor::{escaped, first_quote, has_prefix, value_start, Extent};
use super::field::{self, Field};
use super::record::{Escape, Miss, Record, Reject};
use super::time::TimeCache;
use memchr::memchr;

/// One variable and the literal after it.
#[derive(Clone, Debug)]
struct VarStep {
    field: Field,
    extent: Extent,
    /// The literal text that follows; empty for a variable at the end of the line.
    after: Box<[u8]>,
    /// For a free value not followed by a quote: the quote (or line end) it is anchored on.
    anchor: Option<Anchor>,
    /// How the forward walk finds the value's end: `extent` and `after` folded into one
    /// dispatch (set by [`Plan::compile`] once the fields are settled).
    find: Find,
    /// `after` compiled for [`VarStep::after_at`].
    lit: Lit,
    /// `find` and the field's store in one dispatch for the forward walk (set by
    /// [`Plan::compile`] with `find`).
    op: Op,
}

/// What the forward walk does at a step: how the value ends *and* where it goes, in one
/// `match`, for the pairs that ordinary formats are made of (a text value, a number before
/// a one-byte literal, `$time_local`); any other pair goes through [`Find`] and [`store`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    /// [`value_end`], then [`store`].
    Any,
    /// `$request` as [`Find::Search`] (each text field by its own variant: the value is
    /// stored without a second dispatch on the field).
    RequestSearch,
    /// `$http_user_agent` as [`Find::Search`].
    UserAgentSearch,
    /// `$http_x_forwarded_for` as [`Find::Search`].
    ForwardedForSearch,
    /// `$remote_addr` as [`Find::Token`].
    RemoteAddrToken,
    /// `$request_method` as [`Find::Token`].
    MethodToken,
    /// `$host` as [`Find::Token`].
    HostToken,
    /// A value not kept, ending as [`Find::Search`].
    SkipSearch,
    /// `$status` as [`Find::TokenByte`].
    StatusByte,
    /// `$body_bytes_sent` or `$bytes_sent` as [`Find::Token`].
    BytesToken,
    /// `$request_time` as [`Find::Token`].
    SecondsToken,
    /// `$time_local` as [`Find::Fixed`].
    TimeFixed(usize),
}

/// A format whose steps are all known when noisegate is compiled, and whose literals all fit
/// a word ([`Lit::short`]): the forward walk runs them as straight-line code, each step's
/// `match` on its [`Op`] resolved by the compiler, each literal compared without testing
/// its length. The
/// dispatch and the loop around it cost about 10 instructions a step, a sixth of an ordinary
/// line's walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// The steps of [`PANTHEON`].
    Pantheon,
    /// The steps of [`COMBINED`].
    Combined,
    /// Any other format: one dispatch per step.
    Other,
}

/// The steps of the Pantheon preset (`combined`, then `$request_time` and
/// `"$http_x_forwarded_for"`).
const PANTHEON: [Op; 10] = [
    Op::RemoteAddrToken,
    Op::SkipSearch,
    Op::TimeFixed(26),
    Op::RequestSearch,
    Op::StatusByte,
    Op::BytesToken,
    Op::SkipSearch,
    Op::UserAgentSearch,
    Op::SecondsToken,
    Op::ForwardedForSearch,
];

/// The steps of nginx's own `combined` format.
const COMBINED: [Op; 8] = [
    Op::RemoteAddrToken,
    Op::SkipSearch,
    Op::TimeFixed(26),
    Op::RequestSearch,
    Op::StatusByte,
    Op::BytesToken,
    Op::SkipSearch,
    Op::UserAgentSearch,
];

/// How the forward walk finds where a value ends: one `match` per field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Find {
    /// At the end of the format, a value that takes the rest of the line.
    Rest,
    /// At the end of the format, a number or address: it ends at a space (what follows is
    /// trailing data) or the line's end.
    EndToken,
    /// [`Extent::Fixed`]: `after` right after so many bytes, else as `Search`.
    Fixed(usize),
    /// [`Extent::TimeList`]: the list, then the first `after`.
    TimeList,
    /// [`Extent::Token`]: the first byte of `after` by a short loop; `after` there, else as
    /// `Search` from that byte.
    Token,
    /// `Token` before a one-byte literal: that byte is the literal.
    TokenByte,
    /// The first `after` that is a real delimiter.
    Search,
}

/// A literal of up to 8 bytes compared as one masked 64-bit word when 8 bytes of the line
/// are there to load; longer literals, and the last bytes of a line, byte by byte.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Lit {
    /// The literal's bytes, little-endian, zero-padded.
    word: u64,
    /// Ones over the literal's bytes.
    mask: u64,
    /// The literal fits the word (1 to 8 bytes).
    short: bool,
    /// Its first byte (0 for an empty literal).
    first: u8,
    /// `first` 16 times: the pattern the searches compare with, made once.
    splat: Splat,
    /// `first` is no byte of a number (a digit or `.`), so a number read from a word ends
    /// where the search for `first` would end it.
    after_number: bool,
}

/// A byte repeated 16 times, for [`eq_mask`].
type Splat = [u8; 16];

impl Lit {
    fn new(lit: &[u8]) -> Lit {
        let short = !lit.is_empty() && lit.len() <= 8;
        let mut bytes = [0u8; 8];
        let mut mask = [0u8; 8];
        if short {
            bytes[..lit.len()].copy_from_slice(lit);
            mask[..lit.len()].fill(0xff);
        }
        Lit {
            word: u64::from_le_bytes(bytes),
            mask: u64::from_le_bytes(mask),
            short,
            first: lit.first().copied().unwrap_or(0),
            splat: [lit.first().copied().unwrap_or(0); 16],
            after_number: lit
                .first()
                .is_some_and(|&c| !c.is_ascii_digit() && c != b'.'),
        }
    }
}

impl VarStep {
    /// `hay.starts_with(&self.after)`.
    #[inline(always)]
    fn after_at(&self, hay: &[u8]) -> bool {
        self.after_at_as::<false>(hay)
    }

    /// [`VarStep::after_at`]; with `SHORT`, for a literal known to fit the word
    /// ([`Lit::short`], as in the formats of a [`Shape`]), without testing that it does.
    #[inline(always)]
    fn after_at_as<const SHORT: bool>(&self, hay: &[u8]) -> bool {
        debug_assert!(!SHORT || self.lit.short, "a literal of 1 to 8 bytes");
        if SHORT || self.lit.short {
            if let Some(w) = hay.first_chunk::<8>() {
                return (u64::from_le_bytes(*w) ^ self.lit.word) & self.lit.mask == 0;
            }
            // Near the line's end: a one-byte literal (a last quote) by one compare.
            if self.lit.mask == 0xff {
                return hay.first() == Some(&self.lit.first);
            }
        }
        has_prefix(hay, &self.after)
    }
}

/// The next quote of the format after a free value, which no value can forge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Anchor {
    /// The step whose literal holds the quote (the last step when the line end anchors).
    last: usize,
    /// The quote's offset in that literal; `None`: no quote follows, the line's end anchors.
    quote: Option<usize>,
}

/// A compiled `log_format`.
#[derive(Clone, Debug)]
pub(crate) struct Plan {
    lead: Box<[u8]>,
    vars: Vec<VarStep>,
    /// How nginx escaped values when it wrote the log.
    pub(crate) escape: Escape,
    /// Accept anything after a space at the end of the line (for presets that users extend).
    pub(crate) allow_trailing: bool,
    has: [bool; Field::COUNT],
    /// Some value is anchored: a line the forward walk rejects is read again from the quotes.
    reanchor: bool,
    /// Whether the steps are those of a format the walk knows by heart (set by
    /// [`Plan::compile`] with the steps' [`Op`]s).
    shape: Shape,
}

/// Splits a format string into literal text and variable names.
fn tokenize(fmt: &str) -> Result<Vec<(bool, String)>, String> {
    let b = fmt.as_bytes();
    let mut out: Vec<(bool, String)> = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'$' {
            let ch = fmt[i..].chars().next().expect("in bounds");
            lit.push(ch);
            i += ch.len_utf8();
            continue;
        }
        let (name, next) = if b.get(i + 1) == Some(&b'{') {
            let close = fmt[i..]
                .find('}')
                .ok_or(format!("column {}: '${{' without '}}'", i + 1))?;
            (&fmt[i + 2..i + close], i + close + 1)
        } else {
            let n = b[i + 1..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                .count();
            (&fmt[i + 1..i + 1 + n], i + 1 + n)
        };
        if name.is_empty() || !name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            return Err(format!(
                "column {}: '$' is not followed by a variable name",
                i + 1
            ));
        }
        if !lit.is_empty() {
            out.push((false, std::mem::take(&mut lit)));
        }
        out.push((true, name.to_string()));
        i = next;
    }
    if !lit.is_empty() {
        out.push((false, lit));
    }
    Ok(out)
}

impl Plan {
    /// Compiles an nginx `log_format` string (the concatenated text, quotes already removed).
    pub(crate) fn compile(fmt: &str, escape: Escape) -> Result<Plan, String> {
        let tokens = tokenize(fmt)?;
        let mut plan = Plan {
            lead: Box::default(),
            vars: Vec::new(),
            escape,
            allow_trailing: false,
            has: [false; Field::COUNT],
            reanchor: false,
            shape: Shape::Other,
        };
        let mut iter = tokens.iter().peekable();
        if let Some((false, lit)) = iter.peek() {
            plan.lead = lit.as_bytes().into();
            iter.next();
        }
        while let Some((_, name)) = iter.next() {
            let after: Box<[u8]> = match iter.peek() {
                Some((false, lit)) => {
                    let lit = lit.as_bytes().into();
                    iter.next();
                    lit
                }
                Some((true, next)) => {
                    return Err(format!(
                        "${name} and ${next} are not separated by any text, so their values \
                         cannot be told apart"
                    ))
                }
                None => Box::default(),
            };
            plan.push(Field::from_var(name), after);
        }
        if plan.vars.is_empty() {
            return Err("the format has no variables".to_string());
        }
        plan.settle();
        plan.anchor();
        plan.fold();
        Ok(plan)
    }

    fn push(&mut self, field: Field, after: Box<[u8]>) {
        let extent = match field {
            Field::TimeLocal => Extent::Fixed(26),
            Field::UpstreamResponseTime => Extent::TimeList,
            f if f.is_token() => Extent::Token,
            _ => Extent::Search,
        };
        self.has[field as usize] = true;
        let lit = Lit::new(&after);
        self.vars.push(VarStep {
            field,
            extent,
            after,
            anchor: None,
            find: Find::Search,
            lit,
            op: Op::Any,
        });
    }

    /// Anchors each free value that no quote of the format follows directly on the next
    /// quote (or the line's end): between the two, only its own bytes are of unknown shape.
    fn anchor(&mut self) {
        let n = self.vars.len();
        for i in 0..n {
            let v = &self.vars[i];
            if v.extent != Extent::Search || v.after.is_empty() || v.after.contains(&b'"') {
                continue;
            }
            let quote = (i + 1..n).find_map(|j| memchr(b'"', &self.vars[j].after).map(|q| (j, q)));
            self.vars[i].anchor = Some(match quote {
                Some((last, q)) => Anchor {
                    last,
                    quote: Some(q),
                },
                None => Anchor {
                    last: n - 1,
                    quote: None,
                },
            });
        }
        self.reanchor = self.vars.iter().any(|v| v.anchor.is_some());
    }

    /// Folds each step's extent and literal into the one dispatch of the forward walk (after
    /// [`Plan::settle`]: at the end of the format, whether a value is a token is told by its
    /// settled field, as the walk always did).
    fn fold(&mut self) {
        for v in &mut self.vars {
            v.find = if v.after.is_empty() {
                if v.field.is_token() {
                    Find::EndToken
                } else {
                    Find::Rest
                }
            } else {
                match v.extent {
                    Extent::Fixed(n) => Find::Fixed(n),
                    Extent::TimeList => Find::TimeList,
                    Extent::Token if v.after.len() == 1 => Find::TokenByte,
                    Extent::Token => Find::Token,
                    Extent::Search => Find::Search,
                }
            };
            v.op = match (v.find, v.field) {
                (Find::Search, Field::Request) => Op::RequestSearch,
                (Find::Search, Field::UserAgent) => Op::UserAgentSearch,
                (Find::Search, Field::ForwardedFor) => Op::ForwardedForSearch,
                (Find::Token, Field::RemoteAddr) => Op::RemoteAddrToken,
                (Find::Token, Field::RequestMethod) => Op::MethodToken,
                (Find::Token, Field::Host) => Op::HostToken,
                (Find::Search, Field::RemoteUser | Field::Referer | Field::Opaque) => {
                    Op::SkipSearch
                }
                (Find::TokenByte, Field::Status) => Op::StatusByte,
                (Find::Token, Field::BodyBytesSent | Field::BytesSent) => Op::BytesToken,
                (Find::Token, Field::RequestTime) => Op::SecondsToken,
                (Find::Fixed(n), Field::TimeLocal) => Op::TimeFixed(n),
                _ => Op::Any,
            };
        }
        let ops: Vec<Op> = self.vars.iter().map(|v| v.op).collect();
        // The shapes' walks compare every literal as one word without testing that it fits.
        let short = self.vars.iter().all(|v| v.lit.short);
        self.shape = if !short {
            Shape::Other
        } else if ops == PANTHEON {
            Shape::Pantheon
        } else if ops == COMBINED {
            Shape::Combined
        } else {
            Shape::Other
        };
    }

    /// Fields that duplicate a better one are read but not used: `$bytes_sent` when
    /// `$body_bytes_sent` is there, `$uri` or `$request_uri` when `$request` is, and so on.
    fn settle(&mut self) {
        let has = self.has;
        let shadowed = |f: Field| match f {
            Field::BytesSent => has[Field::BodyBytesSent as usize],
            Field::RequestUri => has[Field::Request as usize],
            Field::Uri => has[Field::Request as usize] || has[Field::RequestUri as usize],
            Field::TimeIso8601 => has[Field::TimeLocal as usize],
            Field::Msec => has[Field::TimeLocal as usize] || has[Field::TimeIso8601 as usize],
            _ => false,
        };
        for v in &mut self.vars {
            if shadowed(v.field) {
                v.field = Field::Opaque;
            }
        }
    }

    /// `true` when the format writes `field`.
    pub(crate) fn has(&self, field: Field) -> bool {
        self.has[field as usize]
    }

    /// Parses one line (no `\n`; a trailing `\r` is ignored): the forward walk, and when
    /// that does not fit and some value is anchored, the walk that anchors it on quotes.
    #[inline]
    pub(crate) fn parse<'a, 'p>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
    ) -> Result<Record<'a>, Miss<'p>> {
        let mut rec = Record::new(self.escape);
        self.parse_into(line, times, &mut rec).map(|()| rec)
    }

    /// [`Plan::parse`] into `rec`, which must hold no field yet (as [`Record::new`] makes
    /// it; the caller's, so that it is not written twice): no record is moved through a
    /// `Result`. After an `Err`, `rec` holds nothing meaningful. Inlined into the scanner's
    /// line: the call, the saved registers and the record's setup cost about 40 instructions
    /// a line (plain30 198.1M -> 193.5M). In profiles the parser's cost is then under
    /// `Scanner::line`; for a view of the parser alone, build with `#[inline(never)]` here.
    #[inline(always)]
    pub(crate) fn parse_into<'a, 'p>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
        rec: &mut Record<'a>,
    ) -> Result<(), Miss<'p>> {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() || !has_prefix(line, &self.lead) {
            return Err(self.lead_miss(line));
        }
        debug_assert_eq!(*rec, Record::new(rec.escape), "a record with no field");
        rec.escape = self.escape;
        match self.forward(line, times, rec) {
            Ok(()) => Ok(()),
            Err(miss) => self.retry(line, times, rec, miss),
        }
    }

    /// Why a line is empty or lacks the leading literal.
    #[cold]
    #[inline(never)]
    fn lead_miss<'p>(&'p self, line: &[u8]) -> Miss<'p> {
        if line.is_empty() {
            Miss::new(Reject::Empty, 0)
        } else {
            Miss::expected(0, &self.lead, None)
        }
    }

    /// A line the forward walk rejected: read again with anchored values, if there are any;
    /// else (or if that fails too) the forward walk's miss.
    #[cold]
    #[inline(never)]
    fn retry<'a, 'p>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
        rec: &mut Record<'a>,
        miss: Miss<'p>,
    ) -> Result<(), Miss<'p>> {
        if !self.reanchor {
            return Err(miss);
        }
        *rec = Record::new(self.escape);
        self.anchored(line, times, rec).map_err(|_| miss)
    }

    /// Every value ends at the first occurrence of the literal after it. One walk for each
    /// escaping, so that the walk of a default log does not test for JSON at every field.
    #[inline(always)]
    fn forward<'a, 'p>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
        rec: &mut Record<'a>,
    ) -> Result<(), Miss<'p>> {
        if self.escape == Escape::Json {
            self.walk::<true>(line, times, rec)
        } else {
            self.walk::<false>(line, times, rec)
        }
    }

    /// [`Plan::forward`] for `escape=json` (`JSON`) or not.
    #[inline(always)]
    fn walk<'a, 'p, const JSON: bool>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
        rec: &mut Record<'a>,
    ) -> Result<(), Miss<'p>> {
        // Known shapes for the escapings of plain-text logs only: JSON logs are rarer, and
        // each shape is a copy of its steps in the scanner's code.
        if !JSON {
            match self.shape {
                Shape::Pantheon => return self.walk_pantheon::<JSON>(line, times, rec),
                Shape::Combined => return self.walk_combined::<JSON>(line, times, rec),
                Shape::Other => {}
            }
        }
        self.walk_steps::<JSON>(line, times, rec)
    }

    /// [`Plan::walk`] by one dispatch per step, for any format.
    #[inline(always)]
    fn walk_steps<'a, 'p, const JSON: bool>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
        rec: &mut Record<'a>,
    ) -> Result<(), Miss<'p>> {
        let mut pos = self.lead.len();
        for v in &self.vars {
            pos = op_step::<JSON>(v, line, pos, rec, times)?;
        }
        self.end(line, pos)
    }

    /// [`Plan::walk`] for [`Shape::Pantheon`]: the steps of [`COMBINED`] in a row, then the
    /// two that [`PANTHEON`] adds.
    #[inline(always)]
    fn walk_pantheon<'a, 'p, const JSON: bool>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
        rec: &mut Record<'a>,
    ) -> Result<(), Miss<'p>> {
        let [a, b, c, d, e, f, g, h, i, j] = &self.vars[..] else {
            return self.walk_steps::<JSON>(line, times, rec);
        };
        let [.., oi, oj] = PANTHEON;
        let vars = [a, b, c, d, e, f, g, h];
        let mut pos = combined_steps::<JSON>(vars, line, self.lead.len(), rec, times)?;
        pos = op_as::<JSON, true>(i, oi, line, pos, rec, times)?;
        pos = op_as::<JSON, true>(j, oj, line, pos, rec, times)?;
        self.end(line, pos)
    }

    /// [`Plan::walk`] for [`Shape::Combined`]: the steps of [`COMBINED`] in a row.
    #[inline(always)]
    fn walk_combined<'a, 'p, const JSON: bool>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
        rec: &mut Record<'a>,
    ) -> Result<(), Miss<'p>> {
        let [a, b, c, d, e, f, g, h] = &self.vars[..] else {
            return self.walk_steps::<JSON>(line, times, rec);
        };
        let vars = [a, b, c, d, e, f, g, h];
        let pos = combined_steps::<JSON>(vars, line, self.lead.len(), rec, times)?;
        self.end(line, pos)
    }

    /// Anchored values take what the fields up to their quote leave; the rest as `forward`.
    fn anchored<'a, 'p>(
        &'p self,
        line: &'a [u8],
        times: &mut TimeCache,
        rec: &mut Record<'a>,
    ) -> Result<(), Miss<'p>> {
        let json = self.escape == Escape::Json;
        let mut pos = self.lead.len();
        let mut i = 0;
        while let Some(v) = self.vars.get(i) {
            match v.anchor {
                Some(a) => {
                    pos = self.segment(line, pos, i, a, rec, times)?;
                    i = a.last + 1;
                }
                None => {
                    pos = step(v, line, pos, rec, times, json)?;
                    i += 1;
                }
            }
        }
        self.end(line, pos)
    }

    /// Reads the anchored value at `pos` (step `first`) and the steps up to `a.last`: finds
    /// the anchor, reads those steps backwards from it, and gives the anchored value the
    /// rest. Returns where the value after `a.last` starts.
    fn segment<'a, 'p>(
        &'p self,
        line: &'a [u8],
        pos: usize,
        first: usize,
        a: Anchor,
        rec: &mut Record<'a>,
        times: &mut TimeCache,
    ) -> Result<usize, Miss<'p>> {
        let last = &self.vars[a.last];
        let at = match a.quote {
            Some(q) => first_quote(&line[pos..]).and_then(|i| (pos + i).checked_sub(q)),
            None => line.len().checked_sub(last.after.len()),
        };
        let after = at
            .filter(|&at| at >= pos && has_prefix(&line[at..], &last.after))
            .ok_or(Miss::expected(pos, &last.after, Some(last.field)))?;
        let mut cur = after;
        for k in (first + 1..=a.last).rev() {
            let (v, lit) = (&self.vars[k], &self.vars[k - 1].after);
            let start = value_start(v.extent, &line[pos..cur], lit).ok_or(Miss::expected(
                pos,
                lit,
                Some(self.vars[k - 1].field),
            ))? + pos;
            self.store(rec, v.field, &line[start..cur], times)
                .ok_or(Miss::new(Reject::Value(v.field), start))?;
            cur = start - lit.len();
        }
        let v = &self.vars[first];
        self.store(rec, v.field, &line[pos..cur], times)
            .ok_or(Miss::new(Reject::Value(v.field), pos))?;
        Ok(after + last.after.len())
    }

    /// `Ok` unless bytes are left after the last literal.
    #[inline(always)]
    fn end<'p>(&self, line: &[u8], pos: usize) -> Result<(), Miss<'p>> {
        if pos < line.len() && !(self.allow_trailing && line[pos] == b' ') {
            return Err(trailing_miss(pos));
        }
        Ok(())
    }

    /// [`store`], where `escape=json` writes a variable that is not set as `""`.
    #[inline(always)]
    fn store<'a>(
        &self,
        rec: &mut Record<'a>,
        f: Field,
        value: &'a [u8],
        times: &mut TimeCache,
    ) -> Option<()> {
        store(rec, f, value, times, self.escape == Escape::Json)
    }
}

/// Reads the value of `v` at `pos` and the literal after it; returns where the next value
/// starts.
#[inline(always)]
fn step<'a, 'p>(
    v: &'p VarStep,
    line: &'a [u8],
    pos: usize,
    rec: &mut Record<'a>,
    times: &mut TimeCache,
    json: bool,
) -> Result<usize, Miss<'p>> {
    let rest = &line[pos..];
    let Some(end) = value_end(v, line, pos) else {
        return Err(layout_miss(v, rest, pos));
    };
    if store(rec, v.field, &rest[..end], times, json).is_none() {
        return Err(value_miss(v.field, pos));
    }
    Ok(pos + end + v.after.len())
}

/// The steps of [`COMBINED`] (the start of [`PANTHEON`] too) in a row from `pos`, each
/// [`op_as`] with its operation a constant. Returns where the value after them starts.
#[inline(always)]
fn combined_steps<'a, 'p, const JSON: bool>(
    vars: [&'p VarStep; 8],
    line: &'a [u8],
    mut pos: usize,
    rec: &mut Record<'a>,
    times: &mut TimeCache,
) -> Result<usize, Miss<'p>> {
    let [a, b, c, d, e, f, g, h] = vars;
    let [oa, ob, oc, od, oe, of, og, oh] = COMBINED;
    pos = op_as::<JSON, true>(a, oa, line, pos, rec, times)?;
    pos = op_as::<JSON, true>(b, ob, line, pos, rec, times)?;
    pos = op_as::<JSON, true>(c, oc, line, pos, rec, times)?;
    pos = op_as::<JSON, true>(d, od, line, pos, rec, times)?;
    pos = op_as::<JSON, true>(e, oe, line, pos, rec, times)?;
    pos = op_as::<JSON, true>(f, of, line, pos, rec, times)?;
    pos = op_as::<JSON, true>(g, og, line, pos, rec, times)?;
    op_as::<JSON, true>(h, oh, line, pos, rec, times)
}

/// [`step`] by the step's [`Op`]: one dispatch where [`step`] has two.
#[inline(always)]
fn op_step<'a, 'p, const JSON: bool>(
    v: &'p VarStep,
    line: &'a [u8],
    pos: usize,
    rec: &mut Record<'a>,
    times: &mut TimeCache,
) -> Result<usize, Miss<'p>> {
    op_as::<JSON, false>(v, v.op, line, pos, rec, times)
}

/// [`op_step`] with the step's [`Op`] given: `v.op` itself, or the same op as a constant,
/// when the compiler then keeps only its arm. Inlined when optimized; unoptimized, a call:
/// there each inlined copy keeps its own stack slots, some 70 KiB of them, and the ten in a row
/// of [`Plan::walk_pantheon`] ([`combined_steps`] and two more) overflowed the stack of a worker thread.
#[cfg_attr(not(debug_assertions), inline(always))]
fn op_as<'a, 'p, const JSON: bool, const SHORT: bool>(
    v: &'p VarStep,
    op: Op,
    line: &'a [u8],
    pos: usize,
    rec: &mut Record<'a>,
    times: &mut TimeCache,
) -> Result<usize, Miss<'p>> {
    debug_assert_eq!(op, v.op, "the step's own op");
    let rest = &line[pos..];
    let end = match op {
        Op::Any => return step(v, line, pos, rec, times, JSON),
        Op::RequestSearch => {
            let end = search_end::<SHORT>(v, line, pos)?;
            rec.request = Some(&rest[..end]);
            end
        }
        Op::UserAgentSearch => {
            let end = search_end::<SHORT>(v, line, pos)?;
            rec.user_agent = Some(&rest[..end]);
            end
        }
        Op::ForwardedForSearch => {
            let end = search_end::<SHORT>(v, line, pos)?;
            rec.forwarded_for = Some(&rest[..end]);
            end
        }
        Op::RemoteAddrToken => {
            let end = token_end::<SHORT>(v, line, pos).ok_or_else(|| layout_miss(v, rest, pos))?;
            rec.remote_addr = Some(&rest[..end]);
            end
        }
        Op::MethodToken => {
            let end = token_end::<SHORT>(v, line, pos).ok_or_else(|| layout_miss(v, rest, pos))?;
            rec.method = Some(&rest[..end]);
            end
        }
        Op::HostToken => {
            let end = token_end::<SHORT>(v, line, pos).ok_or_else(|| layout_miss(v, rest, pos))?;
            rec.host = Some(&rest[..end]);
            end
        }
        Op::SkipSearch => search_end::<SHORT>(v, line, pos)?,
        Op::StatusByte => {
            // Three digits and the one-byte literal, read from one word.
            if v.lit.after_number {
                if let Some(s) = field::leading_status(rest, v.lit.first) {
                    rec.status = Some(s);
                    return Ok(pos + 3 + v.after.len());
                }
            }
            let Some(end) = find_byte_at(line, pos, &v.lit.splat) else {
                return Err(layout_miss(v, rest, pos));
            };
            let value = &rest[..end];
            if !(JSON && value.is_empty()) {
                let Some(s) = field::parse_status(value) else {
                    return Err(value_miss(v.field, pos));
                };
                rec.status = Some(s);
            }
            end
        }
        Op::BytesToken => {
            // Digits, then the literal, which starts with a byte that is no digit: the first
            // occurrence of that byte, where `token_end` ends the token too. Count read and
            // end found at once.
            if let Some((end, bytes)) = field::leading_number(rest) {
                if v.after_at_as::<SHORT>(&rest[end..]) {
                    rec.bytes = Some(bytes);
                    return Ok(pos + end + v.after.len());
                }
            }
            let Some(end) = token_end::<SHORT>(v, line, pos) else {
                return Err(layout_miss(v, rest, pos));
            };
            if !(JSON && end == 0) {
                let Some(b) = field::parse_bytes_in(rest, end) else {
                    return Err(value_miss(v.field, pos));
                };
                rec.bytes = Some(b);
            }
            end
        }
        Op::SecondsToken => {
            // nginx's `0.031`, then the literal, read from one word.
            if v.lit.after_number {
                if let Some(us) = field::leading_seconds(rest, v.lit.first) {
                    if v.after_at_as::<SHORT>(&rest[5..]) {
                        rec.request_time_us = Some(us);
                        return Ok(pos + 5 + v.after.len());
                    }
                }
            }
            let Some(end) = token_end::<SHORT>(v, line, pos) else {
                return Err(layout_miss(v, rest, pos));
            };
            let value = &rest[..end];
            if !(JSON && value.is_empty()) {
                let Some(us) = field::parse_seconds_us(value) else {
                    return Err(value_miss(v.field, pos));
                };
                rec.request_time_us = us;
            }
            end
        }
        Op::TimeFixed(n) => {
            let end = match rest.get(n..) {
                Some(after) if v.after_at_as::<SHORT>(after) => n,
                _ => match find_literal::<SHORT>(line, pos, 0, v) {
                    Some(end) => end,
                    None => return Err(layout_miss(v, rest, pos)),
                },
            };
            let value = &rest[..end];
            if !(JSON && value.is_empty()) {
                let Some(t) = field::parse_time(Field::TimeLocal, value, times) else {
                    return Err(value_miss(v.field, pos));
                };
                rec.time = Some(t);
            }
            end
        }
    };
    Ok(pos + end + v.after.len())
}

/// [`value_end`] for [`Find::Search`], or the miss.
#[inline(always)]
fn search_end<'p, const SHORT: bool>(
    v: &'p VarStep,
    line: &[u8],
    pos: usize,
) -> Result<usize, Miss<'p>> {
    find_literal::<SHORT>(line, pos, 0, v).ok_or_else(|| layout_miss(v, &line[pos..], pos))
}

/// [`value_end`] for [`Find::Token`].
#[inline(always)]
fn token_end<const SHORT: bool>(v: &VarStep, line: &[u8], pos: usize) -> Option<usize> {
    let i = find_byte_at(line, pos, &v.lit.splat)?;
    if v.after_at_as::<SHORT>(&line[pos + i..]) {
        return Some(i);
    }
    find_literal::<SHORT>(line, pos, i, v)
}

/// The literal after `v` is missing.
#[cold]
#[inline(never)]
fn layout_miss<'p>(v: &'p VarStep, rest: &[u8], pos: usize) -> Miss<'p> {
    Miss::expected(pos + typical_len(v, rest), &v.after, Some(v.field))
}

/// The value of `f` at `pos` does not decode.
#[cold]
#[inline(never)]
fn value_miss<'p>(f: Field, pos: usize) -> Miss<'p> {
    Miss::new(Reject::Value(f), pos)
}

/// Bytes after the last literal.
#[cold]
#[inline(never)]
fn trailing_miss<'p>(pos: usize) -> Miss<'p> {
    Miss::new(Reject::TrailingData, pos)
}

/// Where the value of `v` at `pos` ends in `line` (as an offset from `pos`); the line must
/// then continue with `v.after`. Always inlined: once the anchored reading grew the parser,
/// the compiler stopped inlining it, and a call per field cost 6% of a scan (hyperfine, 1
/// thread, 1 GB: 1.165 -> 1.103 s).
#[inline(always)]
fn value_end(v: &VarStep, line: &[u8], pos: usize) -> Option<usize> {
    let rest = line.get(pos..)?;
    let from = match v.find {
        Find::Rest => return Some(rest.len()),
        Find::EndToken => return Some(find_byte_at(line, pos, &[b' '; 16]).unwrap_or(rest.len())),
        Find::Fixed(n) => {
            if rest.len() >= n && v.after_at(&rest[n..]) {
                return Some(n);
            }
            0
        }
        Find::TimeList => time_list_len(rest),
        Find::Token => {
            let i = find_byte_at(line, pos, &v.lit.splat)?;
            if v.after_at(&rest[i..]) {
                return Some(i);
            }
            i
        }
        Find::TokenByte => return find_byte_at(line, pos, &v.lit.splat),
        Find::Search => 0,
    };
    find_literal::<false>(line, pos, from, v)
}

/// The first `pat[0]` in `line[at..]`, as an offset from `at`: [`find_byte`], except that a
/// value within 16 bytes of the line's end (the last of a format, `"1.2.3.4"`) is read in
/// the line's last 16 bytes by one compare, the bytes before `at` shifted out of the mask.
#[inline(always)]
fn find_byte_at(line: &[u8], at: usize, pat: &Splat) -> Option<usize> {
    let hay = line.get(at..)?;
    // The long value first: one test of the length on the way to the first compare.
    if hay.len() >= 16 {
        return find_byte(hay, pat);
    }
    let Some(w) = line.last_chunk::<16>() else {
        return find_byte_short(hay, pat);
    };
    // `hay` is the last `hay.len()` bytes of `w`.
    let m = eq_mask(w, pat) >> (16 - hay.len());
    (m != 0).then(|| m.trailing_zeros() as usize)
}

/// The first `b` in a short `hay` (a number, an address, a referer): 16, then 32 bytes at a
/// time as a bit mask ([`eq_mask`]), without setting up a
/// vectorized search.
#[inline(always)]
fn find_byte(hay: &[u8], pat: &Splat) -> Option<usize> {
    let Some(w) = hay.first_chunk::<16>() else {
        return find_byte_short(hay, pat);
    };
    // Most values end within their first 16 bytes.
    let m = eq_mask(w, pat);
    if m != 0 {
        return Some(m.trailing_zeros() as usize);
    }
    let mut i = 16;
    while let Some(w) = hay.get(i..).and_then(<[u8]>::first_chunk::<32>) {
        let (lo, hi) = w.split_at(16);
        let lo: &[u8; 16] = lo.try_into().expect("16 bytes");
        let hi: &[u8; 16] = hi.try_into().expect("16 bytes");
        let m = eq_mask(lo, pat) | eq_mask(hi, pat) << 16;
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 32;
    }
    if let Some(w) = hay.get(i..).and_then(<[u8]>::first_chunk::<16>) {
        let m = eq_mask(w, pat);
        if m != 0 {
            return Some(i + m.trailing_zeros() as usize);
        }
        i += 16;
    }
    // The last 16 bytes, of which the first `seen` were read above.
    let w = hay.last_chunk::<16>().expect("16 bytes or more");
    let seen = i - (hay.len() - 16);
    let m = eq_mask(w, pat) >> seen;
    (m != 0).then(|| i + m.trailing_zeros() as usize)
}

/// Bit `k` set where `w[k] == b`: one vector compare (SSE2 is part of x86_64).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn eq_mask(w: &[u8; 16], pat: &Splat) -> u32 {
    use std::arch::x86_64::{__m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8};
    // SAFETY: `w` and `pat` are 16 readable bytes each and `_mm_loadu_si128` needs no
    // alignment; the other intrinsics only compute on registers, with SSE2, which every
    // x86_64 processor has.
    unsafe {
        let v = _mm_loadu_si128(w.as_ptr().cast::<__m128i>());
        let p = _mm_loadu_si128(pat.as_ptr().cast::<__m128i>());
        _mm_movemask_epi8(_mm_cmpeq_epi8(v, p)) as u32
    }
}

/// Bit `k` set where `w[k] == b`.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
fn eq_mask(w: &[u8; 16], pat: &Splat) -> u32 {
    eq_mask_portable(w, pat[0])
}

/// [`eq_mask`] without vector instructions (tested against it on x86_64).
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn eq_mask_portable(w: &[u8; 16], b: u8) -> u32 {
    let mut m = 0u32;
    for (k, &c) in w.iter().enumerate() {
        m |= u32::from(c == b) << k;
    }
    m
}

/// [`find_byte_swar`] out of line: the walk reads the end of a line by [`find_byte_at`], so
/// that fewer than 16 bytes reach [`find_byte`] only in lines that short, and the word
/// search's constants need no registers in the walk.
#[cold]
#[inline(never)]
fn find_byte_short(hay: &[u8], pat: &Splat) -> Option<usize> {
    find_byte_swar(hay, pat[0])
}

/// [`find_byte`] for fewer than 16 bytes: 8 at a time in a register, the last 8 read as
/// one word too.
#[inline(always)]
fn find_byte_swar(hay: &[u8], b: u8) -> Option<usize> {
    let pattern = crate::swar::splat(b);
    let zeros = |w: &[u8; 8]| crate::swar::zero_bytes(u64::from_le_bytes(*w) ^ pattern);
    let mut i = 0;
    while let Some(w) = hay.get(i..).and_then(<[u8]>::first_chunk::<8>) {
        let zero = zeros(w);
        if zero != 0 {
            return Some(i + (zero.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    let Some(w) = hay.last_chunk::<8>() else {
        return hay.iter().position(|&c| c == b);
    };
    // The last 8 bytes, of which the first `seen` (none of them `b`, so no borrow comes from
    // them) were read above.
    let seen = i - (hay.len() - 8);
    let zero = zeros(w).checked_shr(8 * seen as u32).unwrap_or(0);
    (zero != 0).then(|| i + (zero.trailing_zeros() / 8) as usize)
}

/// Where the literal after `v` should have been, for messages: after a fixed-width or list
/// value, else where the value starts.
fn typical_len(v: &VarStep, rest: &[u8]) -> usize {
    match v.extent {
        Extent::Fixed(n) => n.min(rest.len()),
        Extent::TimeList => time_list_len(rest),
        Extent::Search | Extent::Token => 0,
    }
}

/// The first occurrence of `v.after` in `hay` (`line[at..]`, the value and what follows it)
/// at or after `from` that is a real delimiter (a quote preceded by an odd number of
/// backslashes is part of the value); an offset from `at`. `SHORT` as for
/// [`VarStep::after_at_as`].
#[inline(always)]
fn find_literal<const SHORT: bool>(
    line: &[u8],
    at: usize,
    from: usize,
    v: &VarStep,
) -> Option<usize> {
    let hay = line.get(at..)?;
    let first = v.lit.first;
    let mut i = from + find_near(line, at.checked_add(from)?, &v.lit.splat)?;
    loop {
        if v.after_at_as::<SHORT>(&hay[i..]) && !(first == b'"' && escaped(hay, i)) {
            return Some(i);
        }
        i += 1;
        i += memchr(first, hay.get(i..)?)?;
    }
}

/// The first `pat[0]` in `line[at..]`, as an offset from `at`: the first 128 bytes as
/// [`find_byte_at`] does, the rest by `memchr`. Most values end within them (an address,
/// `-`, a short referer), and setting up the vectorized search costs more than reading them.
#[inline(always)]
fn find_near(line: &[u8], at: usize, pat: &Splat) -> Option<usize> {
    const NEAR: usize = 128;
    let hay = line.get(at..)?;
    if hay.len() <= NEAR {
        return find_byte_at(line, at, pat);
    }
    match find_byte(&hay[..NEAR], pat) {
        Some(i) => Some(i),
        None => memchr(pat[0], &hay[NEAR..]).map(|i| NEAR + i),
    }
}

/// Length of a leading `$upstream_response_time` list: `0.012, 0.034 : -`.
fn time_list_len(s: &[u8]) -> usize {
    let item = |s: &[u8]| {
        s.iter()
            .take_while(|c| c.is_ascii_digit() || **c == b'.' || **c == b'-')
            .count()
    };
    let mut end = item(s);
    loop {
        let rest = &s[end..];
        let sep = [&b", "[..], b" : "]
            .iter()
            .find(|sep| rest.starts_with(sep))
            .map_or(0, |sep| sep.len());
        let n = if sep > 0 { item(&rest[sep..]) } else { 0 };
        if n == 0 {
            return end;
        }
        end += sep + n;
    }
}

/// Decodes `value` into the record field it belongs to; `None` when it is not valid. With
/// `empty_is_unset` (JSON, where nginx writes a variable that is not set as `""`), an empty
/// number or time is absent, as `-` is.
#[inline(always)]
pub(super) fn store<'a>(
    rec: &mut Record<'a>,
    f: Field,
    value: &'a [u8],
    times: &mut TimeCache,
    empty_is_unset: bool,
) -> Option<()> {
    if empty_is_unset && value.is_empty() && f.is_decoded() {
        return Some(());
    }
    match f {
        Field::RemoteAddr => rec.remote_addr = Some(value),
        Field::Request => rec.request = Some(value),
        Field::RequestMethod => rec.method = Some(value),
        // `$uri` is what nginx routed; `$request_uri`, as sent, is routed here only without it.
        Field::Uri => (rec.uri, rec.uri_routed) = (Some(value), true),
        Field::RequestUri => {
            if !rec.uri_routed {
                rec.uri = Some(value);
            }
        }
        Field::Status => rec.status = Some(field::parse_status(value)?),
        Field::BodyBytesSent | Field::BytesSent => rec.bytes = Some(field::parse_bytes(value)?),
        Field::RequestTime => rec.request_time_us = field::parse_seconds_us(value)?,
        Field::UpstreamResponseTime => rec.upstream_time_us = field::parse_seconds_list_us(value)?,
        Field::UserAgent => rec.user_agent = Some(value),
        Field::ForwardedFor => rec.forwarded_for = Some(value),
        Field::Host => rec.host = Some(value),
        // The server block's name stands for the host when the format has no `$host`.
        Field::ServerName => {
            if rec.host.is_none() {
                rec.host = Some(value);
            }
        }
        // `$time_local` by its own arm: the time cache, without dispatching on the field again.
        Field::TimeLocal => rec.time = Some(field::parse_time(Field::TimeLocal, value, times)?),
        Field::TimeIso8601 | Field::Msec | Field::AnyTime => {
            rec.time = Some(field::parse_time(f, value, times)?);
        }
        Field::RemoteUser
        | Field::Args
        | Field::ServerProtocol
        | Field::RequestLength
        | Field::Referer
        | Field::Opaque => {}
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse<'a>(fmt: &str, line: &'a [u8]) -> Result<Record<'a>, String> {
        let plan = Plan::compile(fmt, Escape::Default).unwrap();
        plan.parse(line, &mut TimeCache::default())
            .map_err(|m| format!("{:?} at {}", m.reject, m.column))
    }

    #[test]
    fn the_pantheon_steps_start_with_the_combined_ones() {
        assert_eq!(
            PANTHEON[..COMBINED.len()],
            COMBINED,
            "walk_pantheon reuses them"
        );
    }

    #[test]
    fn compiles_variables_and_literals() {
        let p =
            Plan::compile("$remote_addr [${time_local}] \"$request\"", Escape::Default).unwrap();
        assert_eq!(&*p.lead, b"");
        assert_eq!(p.vars.len(), 3);
        assert_eq!(&*p.vars[1].after, b"] \"");
        assert!(p.has(Field::TimeLocal));
        assert!(Plan::compile("$a$b", Escape::Default)
            .unwrap_err()
            .contains("not separated"));
        assert!(Plan::compile("x ${a", Escape::Default)
            .unwrap_err()
            .contains("column 3"));
        assert!(Plan::compile("x $ y", Escape::Default)
            .unwrap_err()
            .contains("column 3"));
        assert!(Plan::compile("no vars", Escape::Default).is_err());
    }

    #[test]
    fn parses_a_custom_format_with_lists_and_spaces() {
        let fmt = "$remote_addr [$time_local] \"$request\" $status $body_bytes_sent $request_time $upstream_response_time $host \"$http_user_agent\"";
        let line = b"1.2.3.4 [19/Feb/2016:02:00:00 +0000] \"GET /owa/ HTTP/1.1\" 404 12 0.050 0.012, 0.034 example.org \"Mozilla/5.0 (X)\"";
        let r = parse(fmt, line).unwrap();
        assert_eq!(r.remote_addr, Some(&b"1.2.3.4"[..]));
        assert_eq!(r.time, Some(1_455_847_200));
        assert_eq!(r.status, Some(404));
        assert_eq!(r.request_time_us, Some(50_000));
        assert_eq!(r.upstream_time_us, Some(46_000));
        assert_eq!(r.host, Some(&b"example.org"[..]));
        assert_eq!(r.user_agent, Some(&b"Mozilla/5.0 (X)"[..]));
        let dash =
            b"1.2.3.4 [19/Feb/2016:02:00:00 +0000] \"GET / HTTP/1.1\" 200 1 0.001 - h \"ua\"";
        assert_eq!(parse(fmt, dash).unwrap().upstream_time_us, None);
    }

    #[test]
    fn misses_name_the_column_and_the_field() {
        let fmt = "$remote_addr \"$request\" $status";
        assert_eq!(
            parse(fmt, b"1.2.3.4 \"GET /\" 4x4").unwrap_err(),
            "Value(Status) at 16"
        );
        assert_eq!(parse(fmt, b"1.2.3.4 GET").unwrap_err(), "Layout at 0");
        assert_eq!(
            parse(fmt, b"1.2.3.4 \"GET /\" 404 extra").unwrap_err(),
            "TrailingData at 19"
        );
        assert_eq!(parse(fmt, b"").unwrap_err(), "Empty at 0");
    }

    #[test]
    fn json_escaped_quotes_do_not_end_a_value() {
        let plan = Plan::compile(
            "{\"ua\":\"$http_user_agent\",\"status\":$status}",
            Escape::Json,
        )
        .unwrap();
        let line = br#"{"ua":"say \"hi\" \\","status":404}"#;
        let r = plan.parse(line, &mut TimeCache::default()).unwrap();
        assert_eq!(r.user_agent, Some(&br#"say \"hi\" \\"#[..]));
        assert_eq!(r.status, Some(404));
    }

    #[test]
    fn json_writes_an_unset_variable_as_empty() {
        let fmt = "{\"s\":\"$status\",\"u\":\"$upstream_response_time\",\"t\":\"$request_time\"}";
        let plan = Plan::compile(fmt, Escape::Json).unwrap();
        let r = plan.parse(
            br#"{"s":"403","u":"","t":"0.000"}"#,
            &mut TimeCache::default(),
        );
        let r = r.unwrap();
        assert_eq!((r.status, r.upstream_time_us), (Some(403), None));
        assert_eq!(r.request_time_us, Some(0));
        let plan = Plan::compile(fmt, Escape::Default).unwrap();
        let r = plan.parse(
            br#"{"s":"403","u":"","t":"0.000"}"#,
            &mut TimeCache::default(),
        );
        assert!(
            r.is_err(),
            "escape=default writes `-`, never an empty number"
        );
    }

    mod fast_paths {
        use super::super::*;
        use proptest::prelude::*;

        /// Bytes from a small alphabet, so that the searched bytes and literals occur often.
        fn bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
            prop::collection::vec(prop::sample::select(b" \"\\-[]a0".to_vec()), 0..max)
        }

        fn step(after: &[u8]) -> VarStep {
            VarStep {
                field: Field::Opaque,
                extent: Extent::Search,
                after: after.into(),
                anchor: None,
                find: Find::Search,
                lit: Lit::new(after),
                op: Op::Any,
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// The searches by word and by vector find what a byte loop finds.
            #[test]
            fn find_byte_is_position(hay in bytes(80), b in prop::sample::select(b" \"-x".to_vec())) {
                let want = hay.iter().position(|&c| c == b);
                prop_assert_eq!(find_byte(&hay, &[b; 16]), want);
                prop_assert_eq!(find_near(&hay, 0, &[b; 16]), want);
                prop_assert_eq!(find_byte_swar(&hay, b), want);
            }

            /// The searches of a value within a line (after other bytes, which may hold the
            /// searched byte) find what a byte loop over the value finds.
            #[test]
            fn find_byte_at_is_position(line in bytes(80), at in 0usize..90, b in prop::sample::select(b" \"-x".to_vec())) {
                let want = line.get(at..).and_then(|hay| hay.iter().position(|&c| c == b));
                prop_assert_eq!(find_byte_at(&line, at, &[b; 16]), want);
                prop_assert_eq!(find_near(&line, at, &[b; 16]), want);
            }

            /// The vector compare and the portable loop agree.
            #[test]
            fn eq_mask_is_portable(w in prop::array::uniform16(prop::sample::select(b" \"-x".to_vec())), b in prop::sample::select(b" \"-x".to_vec())) {
                prop_assert_eq!(eq_mask(&w, &[b; 16]), eq_mask_portable(&w, b));
            }

            /// The masked word compares as `starts_with`, at any distance from the line's end.
            #[test]
            fn after_at_is_starts_with(hay in bytes(20), lit in bytes(12)) {
                let v = step(&lit);
                prop_assert_eq!(v.after_at(&hay), hay.starts_with(&lit));
                if (1..=8).contains(&lit.len()) {
                    prop_assert_eq!(v.after_at_as::<true>(&hay), hay.starts_with(&lit));
                }
            }

            /// The fused steps ([`Op`]), and the known shapes' straight-line walks ([`Shape`]),
            /// read every line as the two dispatches ([`Find`], then [`store`]) do: the same
            /// record, or the same miss.
            #[test]
            fn ops_are_find_then_store(
                fields in prop::collection::vec(prop_oneof![
                    4 => prop::collection::vec(prop::sample::select(b"a0.-:".to_vec()), 1..8),
                    1 => bytes(12),
                ], 10),
                digits in prop_oneof![
                    4 => prop::collection::vec(prop::sample::select(b"0123456789".to_vec()), 1..10),
                    1 => prop::collection::vec(prop::sample::select(b"0123456789.-x ".to_vec()), 0..12),
                ],
                // `$request_time`: mostly as nginx writes it (read from a word).
                time in prop_oneof![
                    3 => (0u64..10_000).prop_map(|ms| format!("{}.{:03}", ms / 1000, ms % 1000)),
                    1 => prop::collection::vec(prop::sample::select(b"0123456789.-x \"".to_vec()), 0..8)
                        .prop_map(|t| String::from_utf8_lossy(&t).into_owned()),
                ],
                json in any::<bool>(),
            ) {
                // The Pantheon layout, nginx's `combined` and one with the other fused pairs;
                // lines of each shape, a good part of them (about one in five) parsing.
                let fmts = [
                    ("pantheon", "$remote_addr - $remote_user [$time_local]  \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time \"$http_x_forwarded_for\""),
                    ("combined", "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\""),
                    ("mix", "$host $bytes_sent [$time_local] $status \"$request_method\" $request_time $http_user_agent"),
                ];
                let d = String::from_utf8_lossy(&digits).into_owned();
                let f: Vec<String> = fields.iter().map(|v| String::from_utf8_lossy(v).into_owned()).collect();
                let lines = [
                    format!("{} - {} [10/Mar/2024:00:00:0{} +0000]  \"{}\" {} {} \"{}\" \"{}\" {} \"{}\"",
                        f[0], f[1], &d[..d.len().min(1)], f[2], &d[..d.len().min(3)], d, f[3], f[4], time, f[6]),
                    format!("{} {} [10/Mar/2024:00:00:00 +0000] {} \"{}\" {} {}", f[7], d, &d[..d.len().min(3)], f[8], time, f[0]),
                    format!("{} {} [{}] {} \"{}\" {} {}", f[7], f[1], f[2], f[3], f[4], time, f[6]),
                    format!("{} - {} [10/Mar/2024:00:00:0{} +0000] \"{}\" {} {} \"{}\" \"{}\"",
                        f[0], f[1], &d[..d.len().min(1)], f[2], &d[..d.len().min(3)], d, f[3], f[4]),
                ];
                let escape = if json { Escape::Json } else { Escape::Default };
                for (_, fmt) in fmts {
                    let plan = Plan::compile(fmt, escape).unwrap();
                    let mut generic = plan.clone();
                    generic.shape = Shape::Other;
                    for v in &mut generic.vars {
                        v.op = Op::Any;
                    }
                    for line in &lines {
                        let want = generic.parse(line.as_bytes(), &mut TimeCache::default());
                        let got = plan.parse(line.as_bytes(), &mut TimeCache::default());
                        prop_assert_eq!(got, want, "{}", line);
                    }
                }
            }

            /// `find_literal` finds the first occurrence not escaped by an odd number of
            /// backslashes (for a literal that starts with a quote), from any start.
            #[test]
            fn find_literal_is_first_real_delimiter(before in bytes(20), hay in bytes(100), lit in bytes(4), from in 0usize..100) {
                prop_assume!(!lit.is_empty());
                let naive = (from..hay.len()).find(|&i| {
                    let odd = hay[..i].iter().rev().take_while(|&&c| c == b'\\').count() % 2 == 1;
                    hay[i..].starts_with(&lit) && !(lit[0] == b'"' && odd)
                });
                let want = if from > hay.len() { None } else { naive };
                prop_assert_eq!(find_literal::<false>(&hay, 0, from, &step(&lit)), want);
                if lit.len() <= 8 {
                    prop_assert_eq!(find_literal::<true>(&hay, 0, from, &step(&lit)), want);
                }
                // The same value after other bytes of its line.
                let line = [&before[..], &hay[..]].concat();
                prop_assert_eq!(find_literal::<false>(&line, before.len(), from, &step(&lit)), want);
            }
        }
    }

    /// The presets that most logs use get their straight-line walks (which the property test
    /// `ops_are_find_then_store` compares with the dispatch).
    #[test]
    fn presets_have_known_shapes() {
        let shape = |fmt: &str, escape| Plan::compile(fmt, escape).unwrap().shape;
        let pantheon = "$remote_addr - $remote_user [$time_local]  \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time \"$http_x_forwarded_for\"";
        let combined = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";
        assert_eq!(shape(pantheon, Escape::Default), Shape::Pantheon);
        assert_eq!(shape(combined, Escape::Default), Shape::Combined);
        assert_eq!(shape(combined, Escape::Json), Shape::Combined);
        assert_eq!(
            shape("$remote_addr \"$request\" $status", Escape::Default),
            Shape::Other
        );
    }

    #[test]
    fn better_fields_shadow_weaker_ones() {
        let r = parse("$request_uri $uri $status", b"/a?b /a 200").unwrap();
        assert_eq!(r.uri, Some(&b"/a?b"[..]));
    }
}
