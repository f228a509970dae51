//! The verdicts of `noisegate dns`: which name points where, and what the mail admin should
//! change. Pure functions over the lookup results ([`Lookup`]), so every rule is tested
//! without a network; `super` does the lookups, `render` shows the result.

use serde::Serialize;
use std::net::IpAddr;

/// What a looked-up name is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// `d`: the website (A/AAAA).
    Web,
    /// `www.d`: the website too.
    Www,
    /// A random label under `d`: resolves only when `*.d` exists.
    Wildcard,
    /// `autodiscover.d` (Outlook).
    Autodiscover,
    /// `_autodiscover._tcp.d` SRV (Outlook's fallback).
    AutodiscoverSrv,
    /// `autoconfig.d` (Thunderbird).
    Autoconfig,
    /// `_mta-sts.d` TXT: the MTA-STS record.
    MtaStsTxt,
    /// `mta-sts.d`: the host that serves the MTA-STS policy.
    MtaStsHost,
}

/// The record types a role is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Query {
    Addresses,
    Srv,
    Txt,
}

impl Role {
    /// Every role, in the order they are shown.
    pub const ALL: [Role; 8] = [
        Role::Web,
        Role::Www,
        Role::Wildcard,
        Role::Autodiscover,
        Role::AutodiscoverSrv,
        Role::Autoconfig,
        Role::MtaStsTxt,
        Role::MtaStsHost,
    ];

    /// The name this role looks up under `domain` (`label` is the wildcard probe's label).
    pub fn name(self, domain: &str, label: &str) -> String {
        match self {
            Role::Web => domain.to_string(),
            Role::Www => format!("www.{domain}"),
            Role::Wildcard => format!("{label}.{domain}"),
            Role::Autodiscover => format!("autodiscover.{domain}"),
            Role::AutodiscoverSrv => format!("_autodiscover._tcp.{domain}"),
            Role::Autoconfig => format!("autoconfig.{domain}"),
            Role::MtaStsTxt => format!("_mta-sts.{domain}"),
            Role::MtaStsHost => format!("mta-sts.{domain}"),
        }
    }

    /// What is asked.
    pub fn query(self) -> Query {
        match self {
            Role::AutodiscoverSrv => Query::Srv,
            Role::MtaStsTxt => Query::Txt,
            _ => Query::Addresses,
        }
    }

    /// Whether mail clients or senders look the name up (the web names are references).
    pub fn is_mail(self) -> bool {
        !matches!(self, Role::Web | Role::Www | Role::Wildcard)
    }
}

/// An SRV record's target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SrvTarget {
    pub target: String,
    pub port: u16,
}

/// The records an answer held (lowercase names without the final dot).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Records {
    /// The CNAME chain's targets, in order.
    pub cnames: Vec<String>,
    pub addresses: Vec<IpAddr>,
    pub srv: Vec<SrvTarget>,
    pub txt: Vec<String>,
}

/// How a name's lookups ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Found(Records),
    /// The name exists, without records of the asked type.
    NoData,
    NxDomain,
    /// No answer: timed out, SERVFAIL, REFUSED, a network error.
    Failed(String),
}

/// One name's lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    pub role: Role,
    pub name: String,
    pub outcome: Outcome,
}

/// Where a name points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// At the website's addresses, or only through the wildcard: the cause of the probes.
    WebHost,
    /// At a mail provider: a known provider's CNAME target, or any SRV target.
    MailProvider,
    /// At addresses that are neither the website's nor a known provider's (a mail server of
    /// one's own, say).
    Elsewhere,
    /// The MTA-STS TXT record exists.
    Published,
    /// NXDOMAIN, or no data.
    Nowhere,
    /// No answer (timed out, SERVFAIL, REFUSED...).
    Unknown,
}

/// One name, judged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameCheck {
    pub lookup: Lookup,
    pub verdict: Verdict,
    /// The known mail provider the name's CNAME or SRV target belongs to.
    pub provider: Option<String>,
    /// The name gives the same answer as the wildcard probe.
    pub via_wildcard: bool,
}

/// Whether a domain needs a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Nothing to change.
    Ok,
    /// A name points at the website, or MTA-STS is set up inconsistently.
    Action,
    /// Nothing to change among what could be looked up, but some names gave no answer.
    Unknown,
}

/// One domain, judged: every name, and the sentences for the mail admin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainCheck {
    pub domain: String,
    pub names: Vec<NameCheck>,
    pub status: Status,
    /// One plain sentence for each thing to change (or one saying nothing needs to).
    pub advice: Vec<String>,
}

/// Mail providers, by the host names their setup guides have customers point CNAME or SRV
/// records at (a target equal to a suffix, or under it, belongs to the provider).
const PROVIDERS: &[(&str, &[&str])] = &[
    // Microsoft: "External DNS records for Microsoft 365" (autodiscover CNAME
    // autodiscover.outlook.com; Exchange Online hosts under outlook.com and office365.com).
    ("Microsoft 365", &["outlook.com", "office365.com"]),
    // Google Workspace's mail hosts (aspmx.l.google.com, smtp.google.com); not all of
    // google.com, whose ghs.google.com serves websites.
    (
        "Google Workspace",
        &[
            "l.google.com",
            "smtp.google.com",
            "googlemail.com",
            "gmail.com",
        ],
    ),
    (
        "Zoho Mail",
        &[
            "zoho.com",
            "zoho.eu",
            "zoho.in",
            "zoho.com.au",
            "zohomail.com",
        ],
    ),
    // Fastmail's hosts (its SRV records point at fastmail.com, mail at messagingengine.com).
    ("Fastmail", &["fastmail.com", "messagingengine.com"]),
    // GoDaddy's hosted email: autodiscover CNAME autodiscover.secureserver.net.
    ("GoDaddy", &["secureserver.net"]),
    // Rackspace Email: autodiscover CNAME autodiscover.emailsrvr.com.
    ("Rackspace Email", &["emailsrvr.com"]),
    // Migadu: autoconfig CNAME autoconfig.migadu.com, autodiscover SRV autodiscover.migadu.com.
    ("Migadu", &["migadu.com"]),
    ("Proton Mail", &["protonmail.ch", "proton.me"]),
    ("iCloud Mail", &["icloud.com"]),
    ("mailbox.org", &["mailbox.org"]),
];

/// The mail provider a host name belongs to.
pub fn provider_of(host: &str) -> Option<&'static str> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    PROVIDERS.iter().find_map(|(provider, suffixes)| {
        suffixes
            .iter()
            .any(|s| host == *s || host.strip_suffix(s).is_some_and(|h| h.ends_with('.')))
            .then_some(*provider)
    })
}

fn records(lookup: &Lookup) -> Option<&Records> {
    match &lookup.outcome {
        Outcome::Found(r) => Some(r),
        _ => None,
    }
}

/// Judges one domain's lookups (one per [`Role`], in any order; a missing role counts as
/// unknown).
pub fn judge(domain: &str, lookups: Vec<Lookup>) -> DomainCheck {
    let find = |role| lookups.iter().find(|l| l.role == role);
    let mut web = Web::default();
    for role in [Role::Web, Role::Www] {
        if let Some(l) = find(role) {
            web.names.push(l.name.clone());
            if let Some(r) = records(l) {
                web.addresses.extend(&r.addresses);
                web.names.extend(r.cnames.last().cloned());
            }
        }
    }
    let wildcard = find(Role::Wildcard).and_then(records);
    let names: Vec<NameCheck> = Role::ALL
        .into_iter()
        .map(|role| match find(role) {
            Some(l) => judge_name(l.clone(), &web, wildcard),
            None => judge_name(
                Lookup {
                    role,
                    name: role.name(domain, "*"),
                    outcome: Outcome::Failed("not looked up".into()),
                },
                &web,
                wildcard,
            ),
        })
        .collect();
    let advice = advise(domain, &names);
    let unknown = names
        .iter()
        .any(|n| n.lookup.role.is_mail() && n.verdict == Verdict::Unknown);
    let status = if !advice.is_empty() {
        Status::Action
    } else if unknown {
        Status::Unknown
    } else {
        Status::Ok
    };
    let advice = if advice.is_empty() {
        vec![settled(domain, &names)]
    } else {
        advice
    };
    DomainCheck {
        domain: domain.to_string(),
        names,
        status,
        advice,
    }
}

/// What the website is: its addresses, and the names that lead there (`D`, `www.D`, and
/// where their CNAME chains end).
#[derive(Default)]
struct Web {
    addresses: Vec<IpAddr>,
    names: Vec<String>,
}

/// One name's verdict, given the website and the wildcard probe's records.
fn judge_name(lookup: Lookup, web: &Web, wildcard: Option<&Records>) -> NameCheck {
    let (verdict, provider, via_wildcard) = match &lookup.outcome {
        Outcome::Failed(_) => (Verdict::Unknown, None, false),
        Outcome::NoData | Outcome::NxDomain => (Verdict::Nowhere, None, false),
        Outcome::Found(r) => {
            let via_wildcard = lookup.role != Role::Wildcard
                && lookup.role.query() == Query::Addresses
                && wildcard.is_some_and(|w| same_answer(r, w));
            match lookup.role.query() {
                Query::Txt => (Verdict::Published, None, false),
                Query::Srv => {
                    let target = r
                        .srv
                        .iter()
                        .find(|s| s.target != "." && !s.target.is_empty());
                    match target {
                        None => (Verdict::Nowhere, None, false),
                        Some(t) => {
                            let provider = provider_of(&t.target).map(str::to_string);
                            (Verdict::MailProvider, provider, false)
                        }
                    }
                }
                Query::Addresses => {
                    let provider = r.cnames.iter().find_map(|c| provider_of(c));
                    let at_web = r.addresses.iter().any(|a| web.addresses.contains(a))
                        || r.cnames.iter().any(|c| web.names.contains(c));
                    if let Some(p) = provider {
                        (Verdict::MailProvider, Some(p.to_string()), via_wildcard)
                    } else if matches!(lookup.role, Role::Web | Role::Www) || at_web || via_wildcard
                    {
                        (Verdict::WebHost, None, via_wildcard)
                    } else if r.addresses.is_empty() && r.cnames.is_empty() {
                        (Verdict::Nowhere, None, false)
                    } else {
                        (Verdict::Elsewhere, None, via_wildcard)
                    }
                }
            }
        }
    };
    NameCheck {
        lookup,
        verdict,
        provider,
        via_wildcard,
    }
}

/// Whether two answers are the same (addresses and the chain's last target, in any order).
fn same_answer(a: &Records, b: &Records) -> bool {
    let mut x = a.addresses.clone();
    let mut y = b.addresses.clone();
    x.sort();
    y.sort();
    !x.is_empty() && x == y && a.cnames.last() == b.cnames.last()
}

/// The sentences for each thing to change.
fn advise(domain: &str, names: &[NameCheck]) -> Vec<String> {
    let get = |role| names.iter().find(|n| n.lookup.role == role);
    let mut advice = Vec::new();
    let fix = |n: &NameCheck, target: &str| {
        let name = &n.lookup.name;
        if n.via_wildcard {
            format!(
                "{name} points at the website through the wildcard *.{domain}; give it a record of its own ({target}), or remove the wildcard."
            )
        } else {
            format!("{name} points at the website; {target}, or remove it.")
        }
    };
    if let Some(n) = get(Role::Autodiscover).filter(|n| n.verdict == Verdict::WebHost) {
        advice.push(fix(
            n,
            "make it a CNAME to autodiscover.outlook.com if your mail is Microsoft 365, or to your mail provider's Autodiscover host",
        ));
    }
    if let Some(n) = get(Role::Autoconfig).filter(|n| n.verdict == Verdict::WebHost) {
        advice.push(fix(
            n,
            "make it a CNAME to your mail provider's autoconfig host if it has one",
        ));
    }
    if let (Some(txt), Some(host)) = (get(Role::MtaStsTxt), get(Role::MtaStsHost)) {
        if txt.verdict == Verdict::Published {
            let (t, h) = (&txt.lookup.name, &host.lookup.name);
            let sts = records(&txt.lookup)
                .is_some_and(|r| r.txt.iter().any(|s| s.starts_with("v=STSv1")));
            if !sts {
                advice.push(format!(
                    "The TXT record at {t} is not an MTA-STS record (it must start with v=STSv1); fix it or remove it."
                ));
            } else if host.verdict == Verdict::Nowhere {
                advice.push(format!(
                    "{t} TXT exists but {h} does not serve a policy host (it does not resolve); publish the policy at https://{h}/.well-known/mta-sts.txt, or remove the TXT record."
                ));
            } else if host.verdict == Verdict::WebHost {
                advice.push(format!(
                    "{t} TXT exists but {h} points at the website, where senders fetch /.well-known/mta-sts.txt; point {h} at the host that serves your MTA-STS policy, or remove the TXT record."
                ));
            }
        }
    }
    advice
}

/// The sentence for a domain with nothing to change.
fn settled(domain: &str, names: &[NameCheck]) -> String {
    let unknown: Vec<&str> = names
        .iter()
        .filter(|n| n.lookup.role.is_mail() && n.verdict == Verdict::Unknown)
        .map(|n| n.lookup.name.as_str())
        .collect();
    if unknown.is_empty() {
        format!("Nothing to change for {domain}: no mail-discovery name points at the website.")
    } else {
        format!(
            "Nothing to change for {domain} among the names that answered; {} could not be looked up: ask again, or another resolver (--resolver).",
            unknown.join(", ")
        )
    }
}

#[cfg(test)]
#[path = "verdict_tests.rs"]
mod tests;
