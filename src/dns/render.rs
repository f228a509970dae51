//! Showing DNS checks: the text for a mail admin (every byte that came from DNS made inert
//! for a terminal), the `noisegate/1` JSON document with `"kind": "dns"`, and the exit code
//! a set of checks implies.

use super::verdict::{DomainCheck, NameCheck, Outcome, Query, Records, Role, Status, Verdict};
use noisegate_engine::{terminal_text, SCHEMA};
use serde::Serialize;
use std::io::{self, Write};
use std::net::IpAddr;

/// What a set of checks comes to: `action` (exit 1) when a domain needs a change,
/// `unknown` (exit 2) when no lookup at all was answered, else `ok` (exit 0).
pub fn overall(checks: &[DomainCheck]) -> (&'static str, u8) {
    let answered = checks
        .iter()
        .flat_map(|c| &c.names)
        .any(|n| n.verdict != Verdict::Unknown);
    if checks.iter().any(|c| c.status == Status::Action) {
        ("action", 1)
    } else if !answered {
        ("unknown", 2)
    } else {
        ("ok", 0)
    }
}

/// The text: for each domain, its status, one line per name, then what to change.
pub fn write_text(checks: &[DomainCheck], out: &mut dyn Write) -> io::Result<()> {
    for (i, check) in checks.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        let status = match check.status {
            Status::Ok => "nothing to change",
            Status::Action => "needs a change",
            Status::Unknown => "some names could not be looked up",
        };
        writeln!(out, "{}: {status}", terminal_text(&check.domain))?;
        for n in &check.names {
            let line = format!(
                "  {} {}: {}{}",
                n.lookup.name,
                types(n.lookup.role),
                phrase(n, &check.domain),
                details(&n.lookup.outcome)
            );
            writeln!(out, "{}", terminal_text(&line))?;
        }
        for sentence in &check.advice {
            writeln!(out, "  => {}", terminal_text(sentence))?;
        }
    }
    Ok(())
}

fn types(role: Role) -> &'static str {
    match role.query() {
        Query::Addresses => "A/AAAA",
        Query::Srv => "SRV",
        Query::Txt => "TXT",
    }
}

/// What the verdict says, in words.
fn phrase(n: &NameCheck, domain: &str) -> String {
    let role = n.lookup.role;
    let wildcard = if n.via_wildcard {
        format!(" (through the wildcard *.{domain})")
    } else {
        String::new()
    };
    match (role, n.verdict) {
        (Role::Web | Role::Www, Verdict::WebHost) => "the website".into(),
        (Role::Wildcard, Verdict::Nowhere) => format!("nowhere: no wildcard *.{domain}"),
        (Role::Wildcard, _) if n.verdict != Verdict::Unknown => {
            format!("resolves: the wildcard *.{domain} exists")
        }
        (_, Verdict::WebHost) => format!("points at the website{wildcard}"),
        (_, Verdict::MailProvider) => match &n.provider {
            Some(p) => format!("points at a mail provider ({p}){wildcard}"),
            None => format!("points at a mail provider{wildcard}"),
        },
        (_, Verdict::Elsewhere) => {
            format!("points elsewhere (neither the website nor a known mail provider){wildcard}")
        }
        (_, Verdict::Published) => "published".into(),
        (_, Verdict::Nowhere) => match n.lookup.outcome {
            Outcome::NxDomain => "nowhere (NXDOMAIN)".into(),
            Outcome::Found(_) => "nowhere (no target)".into(),
            _ => "nowhere (no data)".into(),
        },
        (_, Verdict::Unknown) => match &n.lookup.outcome {
            Outcome::Failed(reason) => format!("unknown: {reason}"),
            _ => "unknown".into(),
        },
    }
}

/// The records, after a dash: the CNAME chain, addresses, SRV targets, TXT strings.
fn details(outcome: &Outcome) -> String {
    let Outcome::Found(r) = outcome else {
        return String::new();
    };
    let mut parts = Vec::new();
    if !r.cnames.is_empty() {
        parts.push(format!("CNAME {}", r.cnames.join(" -> ")));
    }
    if !r.addresses.is_empty() {
        let a: Vec<String> = r.addresses.iter().map(IpAddr::to_string).collect();
        parts.push(a.join(", "));
    }
    for s in &r.srv {
        parts.push(format!("SRV {}:{}", s.target, s.port));
    }
    for t in &r.txt {
        parts.push(format!("TXT {t:?}"));
    }
    format!(" - {}", parts.join("; "))
}

#[derive(Serialize)]
struct Document<'a> {
    schema: &'static str,
    version: &'static str,
    kind: &'static str,
    status: &'static str,
    domains: Vec<DomainJson<'a>>,
}

#[derive(Serialize)]
struct DomainJson<'a> {
    domain: &'a str,
    status: Status,
    advice: &'a [String],
    names: Vec<NameJson<'a>>,
}

#[derive(Serialize)]
struct NameJson<'a> {
    role: Role,
    name: &'a str,
    #[serde(rename = "type")]
    types: &'static str,
    answer: &'static str,
    reason: Option<&'a str>,
    records: Option<&'a Records>,
    verdict: Verdict,
    provider: Option<&'a str>,
    via_wildcard: bool,
}

/// The checks as the `dns` object a report's JSON carries with `--check-dns` (pretty, at
/// the top level's indentation): the status and the domains, as in `noisegate dns -o json`.
/// `not_checked` is how many more domains the report found and left out.
pub fn json_object(checks: &[DomainCheck], not_checked: usize) -> serde_json::Result<String> {
    #[derive(Serialize)]
    struct Dns<'a> {
        status: &'static str,
        domains: Vec<DomainJson<'a>>,
        domains_not_checked: usize,
    }
    serde_json::to_string_pretty(&Dns {
        status: overall(checks).0,
        domains: domains_json(checks),
        domains_not_checked: not_checked,
    })
}

fn domains_json(checks: &[DomainCheck]) -> Vec<DomainJson<'_>> {
    checks
        .iter()
        .map(|c| DomainJson {
            domain: &c.domain,
            status: c.status,
            advice: &c.advice,
            names: c.names.iter().map(name_json).collect(),
        })
        .collect()
}

/// The `noisegate/1` JSON document of the checks.
pub fn write_json(checks: &[DomainCheck], out: &mut dyn Write) -> io::Result<()> {
    let domains = domains_json(checks);
    let doc = Document {
        schema: SCHEMA,
        version: env!("CARGO_PKG_VERSION"),
        kind: "dns",
        status: overall(checks).0,
        domains,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

fn name_json(n: &NameCheck) -> NameJson<'_> {
    let (answer, reason, records) = match &n.lookup.outcome {
        Outcome::Found(r) => ("records", None, Some(r)),
        Outcome::NoData => ("no_data", None, None),
        Outcome::NxDomain => ("nxdomain", None, None),
        Outcome::Failed(why) => ("failed", Some(why.as_str()), None),
    };
    NameJson {
        role: n.lookup.role,
        name: &n.lookup.name,
        types: types(n.lookup.role),
        answer,
        reason,
        records,
        verdict: n.verdict,
        provider: n.provider.as_deref(),
        via_wildcard: n.via_wildcard,
    }
}
