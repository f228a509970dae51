//! The "Mail domains behind the noise" part of the view model: per mail domain the probes
//! asked about, its requests, distinct mailboxes, categories, client families and the DNS
//! records its mail admin should check, with the one sentence that explains them. Its serde
//! form is the JSON report's `mail_domains` list (and `mail_domains_approximate`).
//!
//! A local part is personal data: a domain shows masked examples (`s*****@example.com`, the
//! first character and always five stars) unless the summary holds full local parts, which
//! it does only when the run was asked to show them (`--show-mailboxes`).

use super::counts::FamilyCount;
use crate::classify::family::Family;
use crate::classify::mailbox::push_masked;
use crate::classify::CATEGORIES;
use crate::summary::domains::DomainStats;
use crate::summary::Summary;
use serde::Serialize;

/// One mail domain the noise asked about.
#[derive(Debug, Serialize)]
pub struct MailDomainView {
    /// The domain (lower-case; an IDN as punycode).
    pub(crate) domain: String,
    /// Noise requests that named it.
    pub(crate) requests: u64,
    /// Distinct mailboxes of it the requests named; a lower bound when
    /// `mailboxes_at_least` is set.
    pub(crate) mailboxes: u64,
    /// Past the per-domain cap: more mailboxes than `mailboxes` were seen.
    pub(crate) mailboxes_at_least: bool,
    /// A few of its mailboxes: masked (`s*****@example.com`) unless `masked` is false.
    pub(crate) examples: Vec<String>,
    /// Whether `examples` are masked (false only with `--show-mailboxes`).
    pub(crate) masked: bool,
    /// Its requests per noise category, most first.
    pub(crate) categories: Vec<DomainCategory>,
    /// Its requests per client family, most first.
    pub(crate) families: Vec<FamilyCount>,
    /// The DNS records to check.
    pub(crate) records: Vec<DnsRecord>,
}

impl MailDomainView {
    /// The domain.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// `12 mailboxes`, `at least 128 mailboxes`, `1 mailbox`, or `no mailbox named`.
    pub(crate) fn mailboxes_phrase(&self) -> String {
        let n = match self.mailboxes {
            1 => "1 mailbox".to_string(),
            n => format!("{} mailboxes", crate::numbers::thousands(n)),
        };
        match (self.mailboxes, self.mailboxes_at_least) {
            (0, _) => "no mailbox named".to_string(),
            (_, true) => format!("at least {n}"),
            _ => n,
        }
    }
}

/// A category's requests for one domain.
#[derive(Debug, Serialize)]
pub(crate) struct DomainCategory {
    /// The category id.
    pub(crate) id: &'static str,
    /// Its requests.
    pub(crate) requests: u64,
}

/// A DNS record a mail admin should check.
#[derive(Debug, Serialize)]
pub(crate) struct DnsRecord {
    /// The name (`autodiscover.example.com`).
    pub(crate) name: String,
    /// The record type (`CNAME`, `SRV`, `TXT`).
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    /// What it should hold, for people.
    pub(crate) should: &'static str,
}

/// What the records do, for the mail admin.
pub(crate) const RECORDS_SENTENCE: &str = "These DNS records tell mail clients (Outlook, \
    Thunderbird, phones) and sending mail servers where the domain's mail service answers; \
    when they point at the web host, or are missing while a wildcard record (*.domain) sends \
    every name to the website, the clients probe the website instead and keep retrying: point \
    them at the mail provider (autodiscover.outlook.com for Microsoft 365) or remove them.";

/// The records to check for `d`.
fn records(d: &str) -> Vec<DnsRecord> {
    let r = |name: String, kind, should| DnsRecord { name, kind, should };
    vec![
        r(
            format!("autodiscover.{d}"),
            "CNAME",
            "the mail provider's Autodiscover host (autodiscover.outlook.com for Microsoft 365), or none",
        ),
        r(
            format!("_autodiscover._tcp.{d}"),
            "SRV",
            "the mail provider's Autodiscover server, or none",
        ),
        r(
            format!("autoconfig.{d}"),
            "CNAME",
            "the mail provider's autoconfig host, or none",
        ),
        r(
            format!("_mta-sts.{d}"),
            "TXT",
            "v=STSv1 with a policy id, only if the domain publishes an MTA-STS policy",
        ),
        r(
            format!("mta-sts.{d}"),
            "CNAME",
            "the host that serves the MTA-STS policy, never the website unless it serves it",
        ),
    ]
}

fn view(domain: &[u8], d: &DomainStats) -> MailDomainView {
    let name = String::from_utf8_lossy(domain).into_owned();
    let masked = d.full.is_empty();
    let examples = if masked {
        d.masked
            .iter()
            .map(|&c| {
                let mut out = Vec::new();
                push_masked(&[c], domain, &mut out);
                String::from_utf8_lossy(&out).into_owned()
            })
            .collect()
    } else {
        d.full
            .iter()
            .map(|l| format!("{}@{name}", String::from_utf8_lossy(l)))
            .collect()
    };
    let mut categories: Vec<DomainCategory> = CATEGORIES
        .iter()
        .zip(&d.categories)
        .filter(|(_, &n)| n > 0)
        .map(|(c, &requests)| DomainCategory { id: c.id, requests })
        .collect();
    categories.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.id.cmp(b.id)));
    let mut families: Vec<FamilyCount> = Family::ALL
        .iter()
        .zip(&d.families)
        .filter(|(_, &n)| n > 0)
        .map(|(f, &n)| FamilyCount::from((f.id().as_bytes(), n)))
        .collect();
    families.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.family.cmp(&b.family)));
    MailDomainView {
        records: records(&name),
        domain: name,
        requests: d.requests,
        mailboxes: d.distinct(),
        mailboxes_at_least: d.saturated,
        examples,
        masked,
        categories,
        families,
    }
}

/// Every mail domain kept, most requests first (ties by domain), and whether the cap on
/// domains dropped some.
pub(crate) fn mail_domains(s: &Summary) -> (Vec<MailDomainView>, bool) {
    let mut v: Vec<MailDomainView> = s
        .domains
        .entries()
        .into_iter()
        .map(|(k, d)| view(k, d))
        .collect();
    v.sort_by(|a, b| b.requests.cmp(&a.requests).then(a.domain.cmp(&b.domain)));
    (v, s.domains.approximate())
}

/// `noisegate dns example.org example.net`: the command that checks the domains' records.
pub(crate) fn dns_command(domains: &[MailDomainView]) -> String {
    let names: Vec<&str> = domains.iter().map(|d| d.domain.as_str()).collect();
    format!("noisegate dns {}", names.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::mailbox::Found;
    use crate::summary::{domains, Caps};

    fn summary(full: bool) -> Summary {
        let mut s = Summary::new(&Caps::default());
        let adds: [(&[u8], &[u8]); 5] = [
            (b"example.net", b"sales"),
            (b"example.org", b"info"),
            (b"example.org", b"support"),
            (b"example.org", b"info"),
            (b"example.net", b"zed"),
        ];
        for (domain, local) in adds {
            let m = Found {
                domain,
                local: Some(local),
                in_path: false,
            };
            domains::note(
                &mut s.domains,
                m.domain,
                m.local,
                0,
                Family::OutlookDesktop,
                full,
                1,
            );
        }
        let host_only = Found {
            domain: b"example.com",
            local: None,
            in_path: false,
        };
        domains::note(
            &mut s.domains,
            host_only.domain,
            None,
            7,
            Family::MtaSts,
            full,
            1,
        );
        s.settle();
        s
    }

    #[test]
    fn domains_sort_by_requests_then_name_and_mask_by_default() {
        let (v, approximate) = mail_domains(&summary(false));
        assert!(!approximate);
        let names: Vec<&str> = v.iter().map(MailDomainView::domain).collect();
        assert_eq!(names, ["example.org", "example.net", "example.com"]);
        assert_eq!(v[0].examples, ["i*****@example.org", "s*****@example.org"]);
        assert!(v[0].masked);
        assert_eq!((v[0].requests, v[0].mailboxes), (3, 2));
        assert_eq!(v[2].mailboxes_phrase(), "no mailbox named");
        assert_eq!(v[2].categories[0].id, "mta-sts");
        assert_eq!(v[0].records[0].name, "autodiscover.example.org");
        assert_eq!(v[0].records.len(), 5);
        assert_eq!(
            dns_command(&v),
            "noisegate dns example.org example.net example.com"
        );
    }

    #[test]
    fn full_mailboxes_show_only_when_kept() {
        let (v, _) = mail_domains(&summary(true));
        assert_eq!(v[1].examples, ["sales@example.net", "zed@example.net"]);
        assert!(!v[1].masked);
        let mut s = summary(true);
        s.forget_mailboxes();
        let (v, _) = mail_domains(&s);
        assert!(v.iter().all(|d| d.masked));
        assert!(v
            .iter()
            .flat_map(|d| &d.examples)
            .all(|e| e.contains("*****@")));
    }
}
