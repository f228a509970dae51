//! Unit tests of the verdicts: lookups written by hand, no network.
use super::*;

const D: &str = "example.com";

fn addrs(list: &[&str]) -> Records {
    Records {
        addresses: list.iter().map(|a| a.parse().unwrap()).collect(),
        ..Records::default()
    }
}

fn cname(chain: &[&str], list: &[&str]) -> Records {
    Records {
        cnames: chain.iter().map(|c| c.to_string()).collect(),
        ..addrs(list)
    }
}

fn lookup(role: Role, outcome: Outcome) -> Lookup {
    Lookup {
        role,
        name: role.name(D, "noisegate-0"),
        outcome,
    }
}

/// A domain whose website is 192.0.2.10, without wildcard, and nothing else unless `set`.
fn check(set: Vec<(Role, Outcome)>) -> DomainCheck {
    let mut all: Vec<Lookup> = Role::ALL
        .into_iter()
        .map(|role| {
            let outcome = match role {
                Role::Web | Role::Www => Outcome::Found(addrs(&["192.0.2.10"])),
                _ => Outcome::NxDomain,
            };
            lookup(role, outcome)
        })
        .collect();
    for (role, outcome) in set {
        all.iter_mut().find(|l| l.role == role).unwrap().outcome = outcome;
    }
    judge(D, all)
}

fn verdict(c: &DomainCheck, role: Role) -> &NameCheck {
    c.names.iter().find(|n| n.lookup.role == role).unwrap()
}

#[test]
fn nothing_at_all_needs_nothing() {
    let c = check(vec![]);
    assert_eq!(c.status, Status::Ok);
    assert_eq!(verdict(&c, Role::Autodiscover).verdict, Verdict::Nowhere);
    assert_eq!(c.advice.len(), 1);
    assert!(
        c.advice[0].starts_with("Nothing to change"),
        "{:?}",
        c.advice
    );
}

#[test]
fn autodiscover_at_the_website_by_cname() {
    let c = check(vec![(
        Role::Autodiscover,
        Outcome::Found(cname(&["live-site.pantheonsite.io"], &["192.0.2.10"])),
    )]);
    let n = verdict(&c, Role::Autodiscover);
    assert_eq!((n.verdict, n.via_wildcard), (Verdict::WebHost, false));
    assert_eq!(c.status, Status::Action);
    assert_eq!(
        c.advice,
        vec!["autodiscover.example.com points at the website; make it a CNAME to autodiscover.outlook.com if your mail is Microsoft 365, or to your mail provider's Autodiscover host, or remove it."]
    );
}

#[test]
fn the_wildcard_counts_as_the_website() {
    // The wildcard points somewhere the website's records do not (another CDN address).
    let c = check(vec![
        (Role::Wildcard, Outcome::Found(addrs(&["198.51.100.7"]))),
        (Role::Autoconfig, Outcome::Found(addrs(&["198.51.100.7"]))),
    ]);
    let n = verdict(&c, Role::Autoconfig);
    assert_eq!((n.verdict, n.via_wildcard), (Verdict::WebHost, true));
    assert!(
        c.advice[0].contains("through the wildcard *.example.com"),
        "{:?}",
        c.advice
    );
    // Its own record elsewhere: not the wildcard's answer.
    let c = check(vec![
        (Role::Wildcard, Outcome::Found(addrs(&["198.51.100.7"]))),
        (Role::Autoconfig, Outcome::Found(addrs(&["203.0.113.5"]))),
    ]);
    assert_eq!(verdict(&c, Role::Autoconfig).verdict, Verdict::Elsewhere);
    assert_eq!(c.status, Status::Ok);
}

#[test]
fn providers_by_cname_and_srv() {
    let c = check(vec![
        (
            Role::Autodiscover,
            Outcome::Found(cname(
                &["autodiscover.outlook.com", "autod.ms-acdc.office.com"],
                &["52.97.1.1"],
            )),
        ),
        (
            Role::AutodiscoverSrv,
            Outcome::Found(Records {
                srv: vec![SrvTarget {
                    target: "mail.example.net".into(),
                    port: 443,
                }],
                ..Records::default()
            }),
        ),
    ]);
    let n = verdict(&c, Role::Autodiscover);
    assert_eq!(n.verdict, Verdict::MailProvider);
    assert_eq!(n.provider.as_deref(), Some("Microsoft 365"));
    let s = verdict(&c, Role::AutodiscoverSrv);
    assert_eq!(s.verdict, Verdict::MailProvider);
    assert_eq!(
        s.provider, None,
        "any SRV target is the provider's, known or not"
    );
    assert_eq!(c.status, Status::Ok);
    assert_eq!(provider_of("outlook.office365.com."), Some("Microsoft 365"));
    assert_eq!(provider_of("notoutlook.com"), None);
    assert_eq!(provider_of("autoconfig.migadu.com"), Some("Migadu"));
}

#[test]
fn srv_target_dot_is_nowhere() {
    let c = check(vec![(
        Role::AutodiscoverSrv,
        Outcome::Found(Records {
            srv: vec![SrvTarget {
                target: ".".into(),
                port: 0,
            }],
            ..Records::default()
        }),
    )]);
    assert_eq!(verdict(&c, Role::AutodiscoverSrv).verdict, Verdict::Nowhere);
}

#[test]
fn mta_sts_consistency() {
    let txt = |s: &str| {
        Outcome::Found(Records {
            txt: vec![s.into()],
            ..Records::default()
        })
    };
    let c = check(vec![(Role::MtaStsTxt, txt("v=STSv1; id=20240101"))]);
    assert_eq!(c.status, Status::Action);
    assert!(
        c.advice[0].contains("does not serve a policy host"),
        "{:?}",
        c.advice
    );
    let c = check(vec![
        (Role::MtaStsTxt, txt("v=STSv1; id=1")),
        (Role::MtaStsHost, Outcome::Found(addrs(&["192.0.2.10"]))),
    ]);
    assert!(
        c.advice[0].contains("points at the website"),
        "{:?}",
        c.advice
    );
    let c = check(vec![
        (Role::MtaStsTxt, txt("v=STSv1; id=1")),
        (
            Role::MtaStsHost,
            Outcome::Found(cname(&["mta-sts.mail.example.net"], &["203.0.113.9"])),
        ),
    ]);
    assert_eq!(c.status, Status::Ok, "{:?}", c.advice);
    let c = check(vec![(Role::MtaStsTxt, txt("hello"))]);
    assert!(
        c.advice[0].contains("not an MTA-STS record"),
        "{:?}",
        c.advice
    );
    // The policy host without the TXT record: senders never look, nothing to change.
    let c = check(vec![(
        Role::MtaStsHost,
        Outcome::Found(addrs(&["192.0.2.10"])),
    )]);
    assert_eq!(c.status, Status::Ok);
}

#[test]
fn unanswered_names_are_unknown_not_fatal() {
    let c = check(vec![(
        Role::Autodiscover,
        Outcome::Failed("timed out".into()),
    )]);
    assert_eq!(verdict(&c, Role::Autodiscover).verdict, Verdict::Unknown);
    assert_eq!(c.status, Status::Unknown);
    assert!(c.advice[0].contains("autodiscover.example.com could not be looked up"));
    // An action still wins over an unknown.
    let c = check(vec![
        (Role::Autodiscover, Outcome::Failed("SERVFAIL".into())),
        (Role::Autoconfig, Outcome::Found(addrs(&["192.0.2.10"]))),
    ]);
    assert_eq!(c.status, Status::Action);
}

#[test]
fn a_missing_lookup_is_unknown() {
    let c = judge(D, vec![]);
    assert!(c.names.iter().all(|n| n.verdict == Verdict::Unknown));
    assert_eq!(c.names.len(), Role::ALL.len());
    assert_eq!(c.status, Status::Unknown);
}

#[test]
fn a_cname_to_where_the_website_goes_is_the_website() {
    // www is a CNAME to a CDN whose addresses rotate: the same target is the website.
    let c = check(vec![
        (
            Role::Www,
            Outcome::Found(cname(&["live-site.pantheonsite.io"], &["192.0.2.11"])),
        ),
        (
            Role::Autodiscover,
            Outcome::Found(cname(&["live-site.pantheonsite.io"], &["192.0.2.12"])),
        ),
        (
            Role::Autoconfig,
            Outcome::Found(cname(&["www.example.com"], &[])),
        ),
    ]);
    assert_eq!(verdict(&c, Role::Autodiscover).verdict, Verdict::WebHost);
    assert_eq!(verdict(&c, Role::Autoconfig).verdict, Verdict::WebHost);
    assert_eq!(c.advice.len(), 2, "{:?}", c.advice);
    // Google Sites' host serves websites: no mail provider.
    assert_eq!(provider_of("ghs.google.com"), None);
    assert_eq!(
        provider_of("alt1.aspmx.l.google.com"),
        Some("Google Workspace")
    );
}
