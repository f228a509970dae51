//! DNS checks of the records that steer mail clients (`noisegate dns`, and later the report's
//! `--check-dns`): the lookups, through a real stub resolver (the system's configuration or
//! the servers given), and the domain-name rules. The verdicts are pure functions in
//! [`verdict`]; [`render`] shows them as text or JSON. This is the only network code of
//! noisegate; the engine has none.

pub mod render;
pub mod verdict;

pub use verdict::DomainCheck;

use anyhow::{anyhow, Context, Result};
use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{RData, RecordType};
use hickory_resolver::{Resolver, TokioResolver};
use std::hash::{BuildHasher, Hasher};
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;
use verdict::{Lookup, Outcome, Query, Records, Role, SrvTarget};

/// How the lookups are made.
#[derive(Clone, Debug)]
pub struct DnsOptions {
    /// The servers to ask; none: the system's resolver configuration (`/etc/resolv.conf`).
    pub resolvers: Vec<SocketAddr>,
    /// How long one query waits for an answer.
    pub timeout: Duration,
    /// How many times a query that got no answer (or an error answer) is sent again before
    /// it counts as unanswered.
    pub retries: usize,
}

impl Default for DnsOptions {
    fn default() -> Self {
        DnsOptions {
            resolvers: Vec::new(),
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECONDS),
            retries: 1,
        }
    }
}

/// The default `--timeout`.
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 3;

/// Queries in flight at once (the resolver refuses more than 32 per connection).
const IN_FLIGHT: usize = 24;

/// A domain name as `noisegate dns` accepts it: letters, digits and hyphens (LDH), labels of
/// 1 to 63 bytes that neither start nor end with a hyphen, at least two labels, the last not
/// all digits, at most 253 bytes; lowercased, one final dot dropped.
pub fn parse_domain(s: &str) -> Result<String, String> {
    let shown = noisegate_engine::terminal_text(s);
    let d = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
    let bad = |why: &str| Err(format!("'{shown}' is not a domain name: {why}"));
    if d.is_empty() {
        return bad("it is empty");
    }
    if d.len() > 253 {
        return bad("it is longer than 253 bytes");
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return bad("it needs at least one dot (example.com)");
    }
    for label in &labels {
        if label.is_empty() || label.len() > 63 {
            return bad("each label between dots must be 1 to 63 characters");
        }
        if !label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return bad("only letters, digits, hyphens and dots are allowed");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return bad("a label cannot start or end with a hyphen");
        }
    }
    if labels
        .last()
        .is_some_and(|l| l.bytes().all(|b| b.is_ascii_digit()))
    {
        return bad("an address is not a domain");
    }
    Ok(d)
}

/// A server to ask: `IP:PORT`, `[IPv6]:PORT`, or an address alone (port 53).
pub fn parse_resolver(s: &str) -> Result<SocketAddr, String> {
    let s = s.trim();
    let bare = s
        .strip_prefix('[')
        .and_then(|v| v.strip_suffix(']'))
        .unwrap_or(s);
    let addr = match (s.parse::<SocketAddr>(), bare.parse::<IpAddr>()) {
        (Ok(addr), _) => Some(addr),
        (_, Ok(ip)) => Some(SocketAddr::new(ip, 53)),
        _ => None,
    };
    match addr {
        Some(addr) if addr.port() != 0 => Ok(addr),
        Some(_) => Err(format!(
            "'{}' names port 0, where no server listens",
            noisegate_engine::terminal_text(s)
        )),
        None => Err(format!(
            "'{}' is not a server address: IP:PORT, [IPv6]:PORT or an IP",
            noisegate_engine::terminal_text(s)
        )),
    }
}

/// Looks up, for each domain (as [`parse_domain`] returns it), the names that govern mail
/// clients' discovery and judges them. Unanswered lookups are verdicts, not errors: this
/// fails only when no resolver can be set up (no `/etc/resolv.conf`, no server given).
pub fn check_domains(domains: &[String], opts: &DnsOptions) -> Result<Vec<DomainCheck>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the DNS lookups")?;
    let label = wildcard_label();
    runtime.block_on(async {
        let resolver = resolver(opts)?;
        let mut wanted = Vec::new();
        for (i, domain) in domains.iter().enumerate() {
            for role in Role::ALL {
                let name = role.name(domain, &label);
                let types: &[RecordType] = match role.query() {
                    Query::Addresses => &[RecordType::A, RecordType::AAAA],
                    Query::Srv => &[RecordType::SRV],
                    Query::Txt => &[RecordType::TXT],
                };
                for &t in types {
                    wanted.push((i, role, name.clone(), t));
                }
            }
        }
        let queries: Vec<(String, RecordType)> =
            wanted.iter().map(|(_, _, n, t)| (n.clone(), *t)).collect();
        // Sent across the domains (every domain's first query, then every second one...), so
        // the first window is not one domain whose servers are down.
        let mut order: Vec<usize> = (0..queries.len()).collect();
        let per_domain = queries.len() / domains.len().max(1);
        order.sort_by_key(|&k| k % per_domain.max(1));
        let answers = ask_all(&resolver, &queries, &order).await;
        let mut lookups: Vec<Vec<Lookup>> = vec![Vec::new(); domains.len()];
        for ((i, role, name, _), outcome) in wanted.into_iter().zip(answers) {
            match lookups[i].iter_mut().find(|l| l.role == role) {
                Some(l) => {
                    l.outcome = merge(std::mem::replace(&mut l.outcome, Outcome::NoData), outcome)
                }
                None => lookups[i].push(Lookup {
                    role,
                    name,
                    outcome,
                }),
            }
        }
        Ok(domains
            .iter()
            .zip(lookups)
            .map(|(d, l)| verdict::judge(d, l))
            .collect())
    })
}

/// Every query's outcome, sent in the `order` given (indices into `queries`): [`IN_FLIGHT`]
/// at a time, a new one sent as soon as one ends, once one of the first [`IN_FLIGHT`] got a
/// response from a server (any, SERVFAIL too). When none of them did (all timed out or met a
/// network error: no server is there), the rest are not sent and fail as "not sent", so a
/// dead resolver costs one query's time, not one per [`IN_FLIGHT`] names.
async fn ask_all(
    resolver: &TokioResolver,
    queries: &[(String, RecordType)],
    order: &[usize],
) -> Vec<Outcome> {
    let window = IN_FLIGHT.min(order.len());
    let mut answers = vec![
        Outcome::Failed(format!(
            "not sent: none of the first {window} queries got a DNS response"
        ));
        queries.len()
    ];
    let mut set = tokio::task::JoinSet::new();
    let mut ids = std::collections::HashMap::new();
    let (mut next, mut responded) = (0, false);
    loop {
        // Past the first window only once a server responded.
        while next < order.len() && set.len() < IN_FLIGHT && (responded || next < window) {
            let k = order[next];
            let (resolver, (name, t)) = (resolver.clone(), queries[k].clone());
            let task = set.spawn(async move { ask(&resolver, &name, t).await });
            ids.insert(task.id(), k);
            next += 1;
        }
        let Some(done) = set.join_next_with_id().await else {
            break;
        };
        match done {
            Ok((id, (outcome, heard))) => {
                responded |= heard;
                if let Some(&k) = ids.get(&id) {
                    answers[k] = outcome;
                }
            }
            Err(e) => {
                if let Some(&k) = ids.get(&e.id()) {
                    answers[k] = Outcome::Failed(format!("lookup failed: {e}"));
                }
            }
        }
    }
    answers
}

/// The resolver: the given servers (UDP, TCP for truncated answers), else the system's.
fn resolver(opts: &DnsOptions) -> Result<TokioResolver> {
    let provider = TokioRuntimeProvider::default();
    let mut builder = if opts.resolvers.is_empty() {
        TokioResolver::builder_tokio().map_err(|e| {
            anyhow!("cannot read the system's resolver configuration (/etc/resolv.conf): {e}; name a server with --resolver IP:PORT")
        })?
    } else {
        let servers = opts
            .resolvers
            .iter()
            .map(|addr| {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut ns.connections {
                    c.port = addr.port();
                }
                ns
            })
            .collect();
        Resolver::builder_with_config(ResolverConfig::from_name_servers(servers), provider)
    };
    let o = builder.options_mut();
    o.timeout = opts.timeout;
    o.attempts = opts.retries;
    // What DNS publishes is the question, not this machine's /etc/hosts.
    o.use_hosts_file = ResolveHosts::Never;
    builder
        .build()
        .map_err(|e| anyhow!("cannot set up the DNS resolver: {e}"))
}

/// One query, as an outcome, and whether a server responded (with records or an error code).
async fn ask(resolver: &TokioResolver, name: &str, t: RecordType) -> (Outcome, bool) {
    if name.len() > 253 {
        return (
            Outcome::Failed("the name is longer than 253 bytes".into()),
            false,
        );
    }
    // The final dot: the name as it is, never under a search domain.
    match resolver.lookup(format!("{name}."), t).await {
        Ok(lookup) => {
            let mut r = Records::default();
            for record in lookup.answers() {
                match &record.data {
                    RData::CNAME(c) => r.cnames.push(host(&c.0.to_ascii())),
                    RData::A(a) => r.addresses.push(IpAddr::V4(a.0)),
                    RData::AAAA(a) => r.addresses.push(IpAddr::V6(a.0)),
                    RData::SRV(s) => r.srv.push(SrvTarget {
                        target: host(&s.target.to_ascii()),
                        port: s.port,
                    }),
                    RData::TXT(t) => r.txt.push(
                        t.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect(),
                    ),
                    _ => {}
                }
            }
            if r == Records::default() {
                (Outcome::NoData, true)
            } else {
                (Outcome::Found(r), true)
            }
        }
        Err(e) => (failure(&e), matches!(e, NetError::Dns(_))),
    }
}

/// A host name as shown: lowercase, without the final dot (the root stays `.`).
fn host(name: &str) -> String {
    if name == "." {
        return name.to_string();
    }
    name.strip_suffix('.').unwrap_or(name).to_ascii_lowercase()
}

/// The outcome an error stands for: no such name, no data, or why there was no answer.
fn failure(e: &NetError) -> Outcome {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(no))
            if no.response_code == ResponseCode::NXDomain =>
        {
            Outcome::NxDomain
        }
        NetError::Dns(DnsError::NoRecordsFound(_)) => Outcome::NoData,
        NetError::Dns(DnsError::ResponseCode(code)) => Outcome::Failed(match code {
            ResponseCode::ServFail => "SERVFAIL".to_string(),
            ResponseCode::Refused => "REFUSED".to_string(),
            other => format!("error response {other}"),
        }),
        NetError::Timeout => Outcome::Failed("timed out".into()),
        other => Outcome::Failed(other.to_string()),
    }
}

/// A name's outcome from its A and AAAA queries: records if either had some; NXDOMAIN
/// (which holds for every type); no answer if one failed; else no data.
fn merge(a: Outcome, b: Outcome) -> Outcome {
    match (a, b) {
        (Outcome::Found(mut x), Outcome::Found(y)) => {
            for c in y.cnames {
                if !x.cnames.contains(&c) {
                    x.cnames.push(c);
                }
            }
            x.addresses.extend(y.addresses);
            x.srv.extend(y.srv);
            x.txt.extend(y.txt);
            Outcome::Found(x)
        }
        (found @ Outcome::Found(_), _) | (_, found @ Outcome::Found(_)) => found,
        (Outcome::NxDomain, _) | (_, Outcome::NxDomain) => Outcome::NxDomain,
        (failed @ Outcome::Failed(_), _) | (_, failed @ Outcome::Failed(_)) => failed,
        _ => Outcome::NoData,
    }
}

/// The wildcard probe's label: `noisegate-` and 16 random hex digits (no name anyone set).
fn wildcard_label() -> String {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("noisegate-{:016x}", h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert_eq!(parse_domain("Example.COM."), Ok("example.com".into()));
        assert_eq!(
            parse_domain("a-b.example.co.uk"),
            Ok("a-b.example.co.uk".into())
        );
        for bad in [
            "",
            "localhost",
            "-a.example.com",
            "a-.example.com",
            "a..example.com",
            "exa_mple.com",
            "ex ample.com",
            "1.2.3.4",
            "exa\u{1b}[31mmple.com",
            "xn--bcher-kva.example\u{e9}",
        ] {
            assert!(parse_domain(bad).is_err(), "{bad:?}");
        }
        let long = format!("{}.com", vec!["a".repeat(63); 4].join("."));
        assert!(long.len() > 253);
        assert!(parse_domain(&long).is_err());
        assert!(parse_domain(&format!("{}.com", "a".repeat(64))).is_err());
        let msg = parse_domain("\u{1b}[2Jx").unwrap_err();
        assert!(!msg.contains('\u{1b}'), "{msg}");
    }

    #[test]
    fn resolvers() {
        assert_eq!(
            parse_resolver("127.0.0.1:5353"),
            Ok("127.0.0.1:5353".parse().unwrap())
        );
        assert_eq!(parse_resolver("::1"), Ok("[::1]:53".parse().unwrap()));
        // Bug: an IPv6 address in brackets without a port was refused, and port 0 taken.
        assert_eq!(parse_resolver("[::1]"), Ok("[::1]:53".parse().unwrap()));
        assert!(parse_resolver("127.0.0.1:0").is_err());
        assert!(parse_resolver("dns.example").is_err());
    }

    #[test]
    fn outcomes_merge() {
        let found = Outcome::Found(Records {
            addresses: vec!["192.0.2.1".parse().unwrap()],
            ..Records::default()
        });
        let failed = Outcome::Failed("timed out".into());
        assert_eq!(merge(found.clone(), failed.clone()), found);
        assert_eq!(merge(Outcome::NoData, failed.clone()), failed);
        assert_eq!(merge(failed, Outcome::NxDomain), Outcome::NxDomain);
        assert_eq!(merge(Outcome::NoData, Outcome::NoData), Outcome::NoData);
        assert_eq!(
            host("Autodiscover.Outlook.com."),
            "autodiscover.outlook.com"
        );
        assert_eq!(host("."), ".");
        assert!(wildcard_label().starts_with("noisegate-"));
    }
}
