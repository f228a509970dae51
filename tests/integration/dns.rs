//! `noisegate dns` through the real binary against a real DNS server: a dnsmasq on
//! 127.0.0.1 that the test starts with its own records (the website by CNAME and by
//! wildcard, Microsoft 365, an SRV record, MTA-STS without its host, nothing at all), plus
//! servers that time out or answer SERVFAIL. Every run names `--resolver`: nothing leaves
//! the loopback.

use crate::support::code_out_err;
use crate::support::dnsmasq::{Dnsmasq, ServFail, Silent};
use assert_cmd::Command;
use serde_json::Value;
use std::time::{Duration, Instant};

/// The test zone's addresses; names under .test that it does not know are NXDOMAIN.
const HOSTS: &str = "\
192.0.2.10 site.test www.site.test
192.0.2.20 m365.test www.m365.test
192.0.2.30 srv.test www.srv.test
192.0.2.40 sts.test www.sts.test
192.0.2.50 autodiscover.outlook.com
";

/// dnsmasq with the test zone, and `forward` as `DOMAIN=PORT` pairs sent on to servers of
/// the test's on the loopback.
fn zone(forward: &[(&str, u16)]) -> Dnsmasq {
    let mut options: Vec<String> = [
        "--local=/test/",
        "--cname=autodiscover.site.test,site.test",
        "--address=/wild.test/192.0.2.77",
        "--cname=autodiscover.m365.test,autodiscover.outlook.com",
        "--srv-host=_autodiscover._tcp.srv.test,autodiscover.mail.example.net,443,0,0",
        "--txt-record=_mta-sts.sts.test,v=STSv1; id=20240101",
        // Bytes a terminal would obey: an escape sequence and a right-to-left override.
        "--txt-record=_mta-sts.evil.test,v=STSv1; id=1\u{1b}[2J\u{202e}",
    ]
    .map(String::from)
    .to_vec();
    for (domain, port) in forward {
        options.push(format!("--server=/{domain}/127.0.0.1#{port}"));
    }
    Dnsmasq::start(HOSTS, &options)
}

/// Runs `noisegate dns` with `args` against `resolver` (1-second timeout).
fn dns(resolver: &str, args: &[&str]) -> (i32, String, String) {
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["dns", "--timeout", "1", "--resolver", resolver])
        .args(args)
        .output()
        .unwrap();
    code_out_err(out)
}

/// The line of `name` in the text output.
fn line<'a>(out: &'a str, name: &str) -> &'a str {
    // The wildcard probe's name ends in random hex: `noisegate-` finds it.
    let prefix = match name.ends_with('-') {
        true => format!("  {name}"),
        false => format!("  {name} "),
    };
    out.lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no line for {name} in\n{out}"))
}

#[test]
fn autodiscover_by_cname_to_the_website_needs_a_change() {
    let server = zone(&[]);
    let (code, out, err) = dns(&server.address(), &["site.test"]);
    assert_eq!(code, 1, "{out}{err}\n{}", server.log());
    assert!(out.starts_with("site.test: needs a change\n"), "{out}");
    assert_eq!(
        line(&out, "autodiscover.site.test"),
        "  autodiscover.site.test A/AAAA: points at the website - CNAME site.test; 192.0.2.10"
    );
    assert_eq!(
        line(&out, "site.test"),
        "  site.test A/AAAA: the website - 192.0.2.10"
    );
    assert!(
        line(&out, "noisegate-").ends_with("A/AAAA: nowhere: no wildcard *.site.test"),
        "{out}"
    );
    assert!(out.contains(
        "  => autodiscover.site.test points at the website; make it a CNAME to autodiscover.outlook.com if your mail is Microsoft 365, or to your mail provider's Autodiscover host, or remove it.\n"
    ), "{out}");
    assert_eq!(out.matches("  => ").count(), 1, "{out}");
}

#[test]
fn a_wildcard_sends_autodiscover_to_the_website() {
    let server = zone(&[]);
    let (code, out, err) = dns(&server.address(), &["wild.test"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(line(&out, "noisegate-").contains("the wildcard *.wild.test exists - 192.0.2.77"));
    for name in ["autodiscover.wild.test", "autoconfig.wild.test"] {
        assert!(
            line(&out, name)
                .ends_with("points at the website (through the wildcard *.wild.test) - 192.0.2.77"),
            "{out}"
        );
        assert!(out.contains(&format!("  => {name} points at the website through the wildcard *.wild.test; give it a record of its own")), "{out}");
    }
}

#[test]
fn microsoft_365_and_an_srv_record_need_nothing() {
    let server = zone(&[]);
    let (code, out, err) = dns(&server.address(), &["m365.test", "srv.test"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        line(&out, "autodiscover.m365.test"),
        "  autodiscover.m365.test A/AAAA: points at a mail provider (Microsoft 365) - CNAME autodiscover.outlook.com; 192.0.2.50"
    );
    assert_eq!(
        line(&out, "_autodiscover._tcp.srv.test"),
        "  _autodiscover._tcp.srv.test SRV: points at a mail provider - SRV autodiscover.mail.example.net:443"
    );
    assert!(out.contains("m365.test: nothing to change\n"), "{out}");
    assert!(out.contains("srv.test: nothing to change\n"), "{out}");
}

#[test]
fn nothing_at_all_is_nowhere_and_fine() {
    let server = zone(&[]);
    let (code, out, err) = dns(&server.address(), &["nothing.test"]);
    assert_eq!(code, 0, "{out}{err}");
    for name in [
        "nothing.test",
        "autodiscover.nothing.test",
        "_autodiscover._tcp.nothing.test",
        "autoconfig.nothing.test",
        "_mta-sts.nothing.test",
        "mta-sts.nothing.test",
    ] {
        assert!(line(&out, name).ends_with(": nowhere (NXDOMAIN)"), "{out}");
    }
    assert!(out.ends_with(
        "  => Nothing to change for nothing.test: no mail-discovery name points at the website.\n"
    ), "{out}");
}

#[test]
fn mta_sts_txt_without_its_host_needs_a_change() {
    let server = zone(&[]);
    let (code, out, err) = dns(&server.address(), &["sts.test"]);
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        line(&out, "_mta-sts.sts.test"),
        "  _mta-sts.sts.test TXT: published - TXT \"v=STSv1; id=20240101\""
    );
    assert!(out.contains("  => _mta-sts.sts.test TXT exists but mta-sts.sts.test does not serve a policy host (it does not resolve); publish the policy at https://mta-sts.sts.test/.well-known/mta-sts.txt, or remove the TXT record.\n"), "{out}");
}

#[test]
fn a_server_that_never_answers_is_unknown_not_fatal() {
    let silent = Silent::start();
    let server = zone(&[("slow.test", silent.port())]);
    let started = Instant::now();
    let (code, out, err) = dns(&server.address(), &["nothing.test", "slow.test"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(started.elapsed() < Duration::from_secs(30));
    assert_eq!(
        line(&out, "autodiscover.slow.test"),
        "  autodiscover.slow.test A/AAAA: unknown: timed out"
    );
    assert!(
        out.contains("slow.test: some names could not be looked up\n"),
        "{out}"
    );
    assert!(out.contains("nothing.test: nothing to change\n"), "{out}");
}

#[test]
fn servfail_and_refused_are_unknown_with_their_reason() {
    let servfail = ServFail::start();
    let server = zone(&[("servfail.test", servfail.port())]);
    // .example is no domain of the zone's, and dnsmasq has no upstream: REFUSED.
    let (code, out, err) = dns(
        &server.address(),
        &["servfail.test", "refused.example", "site.test"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        line(&out, "autodiscover.servfail.test"),
        "  autodiscover.servfail.test A/AAAA: unknown: SERVFAIL"
    );
    assert_eq!(
        line(&out, "_mta-sts.refused.example"),
        "  _mta-sts.refused.example TXT: unknown: REFUSED"
    );
}

#[test]
fn no_answer_at_all_exits_2() {
    let silent = Silent::start();
    let (code, out, err) = dns(&format!("127.0.0.1:{}", silent.port()), &["example.com"]);
    assert_eq!(code, 2, "{out}{err}");
    assert_eq!(
        line(&out, "autodiscover.example.com"),
        "  autodiscover.example.com A/AAAA: unknown: timed out"
    );
    assert!(
        err.contains("noisegate: no DNS lookup was answered"),
        "{err}"
    );
}

#[test]
fn resolvers_separated_by_commas_are_all_asked() {
    let silent = Silent::start();
    let server = zone(&[]);
    let both = format!("127.0.0.1:{},{}", silent.port(), server.address());
    let (code, out, err) = dns(&both, &["m365.test"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        line(&out, "autodiscover.m365.test").contains("(Microsoft 365)"),
        "{out}"
    );
}

#[test]
fn invalid_domains_and_resolvers_are_usage_errors() {
    let long = format!("{}.com", "a".repeat(250));
    for bad in [
        "localhost",
        "exa_mple.com",
        "-a.example.com",
        "a..example.com",
        "192.0.2.1",
        long.as_str(),
        "exa\u{1b}[2Jmple.com",
    ] {
        // Refused before any lookup: the resolver named is never asked.
        let (code, out, err) = dns("127.0.0.1:9", &["--", "example.com", bad]);
        assert_eq!(code, 2, "{bad:?}: {out}{err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains("is not a domain name"), "{err}");
        assert!(!err.contains('\u{1b}'), "{err:?}");
    }
    let (code, _, err) = dns("dns.example:53", &["example.com"]);
    assert_eq!(code, 2);
    assert!(err.contains("is not a server address"), "{err}");
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .arg("dns")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn json_names_every_record_and_verdict() {
    let server = zone(&[]);
    let (code, out, err) = dns(&server.address(), &["-o", "json", "site.test", "m365.test"]);
    assert_eq!(code, 1, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["schema"], "noisegate/1");
    assert_eq!(v["kind"], "dns");
    assert_eq!(v["status"], "action");
    let domains = v["domains"].as_array().unwrap();
    assert_eq!(domains.len(), 2);
    let site = &domains[0];
    assert_eq!(site["domain"], "site.test");
    assert_eq!(site["status"], "action");
    let roles: Vec<&str> = site["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        [
            "web",
            "www",
            "wildcard",
            "autodiscover",
            "autodiscover_srv",
            "autoconfig",
            "mta_sts_txt",
            "mta_sts_host"
        ]
    );
    let autodiscover = &site["names"][3];
    assert_eq!(autodiscover["name"], "autodiscover.site.test");
    assert_eq!(autodiscover["type"], "A/AAAA");
    assert_eq!(autodiscover["answer"], "records");
    assert_eq!(autodiscover["verdict"], "web_host");
    assert_eq!(autodiscover["via_wildcard"], false);
    assert_eq!(
        autodiscover["records"]["cnames"],
        serde_json::json!(["site.test"])
    );
    assert_eq!(
        autodiscover["records"]["addresses"],
        serde_json::json!(["192.0.2.10"])
    );
    let srv = &site["names"][4];
    assert_eq!(
        (srv["answer"].as_str(), srv["verdict"].as_str()),
        (Some("nxdomain"), Some("nowhere"))
    );
    assert!(srv["records"].is_null());
    assert_eq!(site["advice"].as_array().unwrap().len(), 1);
    let m365 = &domains[1];
    assert_eq!(m365["status"], "ok");
    assert_eq!(m365["names"][3]["verdict"], "mail_provider");
    assert_eq!(m365["names"][3]["provider"], "Microsoft 365");
}

#[test]
fn records_from_dns_reach_the_terminal_inert() {
    let server = zone(&[]);
    let (code, out, err) = dns(&server.address(), &["evil.test"]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{202e}'),
        "{out:?}"
    );
    assert!(
        line(&out, "_mta-sts.evil.test").ends_with(r#"TXT "v=STSv1; id=1\u{1b}[2J\u{202e}""#),
        "{out}"
    );
    // JSON keeps the text, its control characters escaped by the encoder.
    let (_, json, _) = dns(&server.address(), &["-o", "json", "evil.test"]);
    assert!(!json.contains('\u{1b}'), "{json:?}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        v["domains"][0]["names"][6]["records"]["txt"][0],
        "v=STSv1; id=1\u{1b}[2J\u{202e}"
    );
}

/// `--check-dns` on the report looks up the mail domains the bundled sample names
/// (example.org and example.net): text after the report, a `dns` object at the end of the
/// JSON, which is otherwise the plain report's.
#[test]
fn the_report_checks_the_dns_of_the_domains_it_found() {
    let server = Dnsmasq::start(
        "192.0.2.10 example.org www.example.org\n192.0.2.20 example.net\n192.0.2.50 autodiscover.outlook.com\n",
        &[
            "--local=/example.org/".into(),
            "--local=/example.net/".into(),
            "--local=/outlook.com/".into(),
            "--cname=autodiscover.example.org,example.org".into(),
            "--cname=autodiscover.example.net,autodiscover.outlook.com".into(),
        ],
    );
    let report = |extra: &[&str]| {
        let out = Command::cargo_bin("noisegate")
            .unwrap()
            .args(["--check-dns", "--dns-timeout", "2", "--resolver"])
            .arg(server.address())
            .args(extra)
            .arg("samples/pantheon.log")
            .output()
            .unwrap();
        code_out_err(out)
    };
    let (code, text, err) = report(&[]);
    assert_eq!(code, 0, "{err}");
    let dns = text.split("\nDNS CHECK\n").nth(1).expect("a DNS section");
    assert!(
        line(dns, "autodiscover.example.org").contains("website"),
        "{dns}"
    );
    assert!(
        line(dns, "autodiscover.example.net").contains("mail provider"),
        "{dns}"
    );
    assert!(dns.contains("example.org: "), "{dns}");

    let (code, json, err) = report(&["-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let mut doc: Value = serde_json::from_str(&json).expect("one JSON document");
    // The report's keys keep their order; `dns` is added last.
    let at = |key: &str| json.find(&format!("\n  \"{key}\": ")).unwrap_or(usize::MAX);
    assert!(
        at("schema") < at("errors") && at("errors") < at("dns"),
        "{json}"
    );
    assert!(at("dns") < usize::MAX);
    let checks = doc["dns"]["domains"].as_array().unwrap();
    let status = |d: &str| {
        checks
            .iter()
            .find(|c| c["domain"] == d)
            .map(|c| c["status"].clone())
    };
    assert_eq!(status("example.org"), Some(Value::from("action")), "{json}");
    assert_eq!(doc["dns"]["status"], "action");
    doc.as_object_mut().unwrap().remove("dns");
    let plain = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["-o", "json", "samples/pantheon.log"])
        .output()
        .unwrap();
    let plain: Value = serde_json::from_slice(&plain.stdout).unwrap();
    assert_eq!(doc, plain, "the rest of the document is the plain report");

    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["--check-dns", "-o", "html", "samples/pantheon.log"])
        .output()
        .unwrap();
    let (code, _, err) = code_out_err(out);
    assert_eq!(code, 2);
    assert!(
        err.contains("--check-dns adds to a text, markdown or json report"),
        "{err}"
    );
}

/// A log whose probes name `n` mail domains, `d00.example` the busiest, each next one with one
/// request fewer than the one before.
fn log_of_domains(n: usize) -> String {
    let mut s = String::new();
    for d in 0..n {
        for i in 0..(n + 1 - d) {
            s.push_str(&format!(
                "203.0.113.{} - - [10/Mar/2024:10:00:{:02} +0000] \"GET /autodiscover/autodiscover.json/v1.0/u{i}@d{d:02}.example HTTP/1.1\" 404 100 \"-\" \"Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)\"\n",
                i % 200,
                i % 60
            ));
        }
    }
    s
}

/// Bug: `--check-dns` sent 14 queries for every domain the report found, 24 at a time and
/// each batch waiting for its slowest, so with a resolver that never answers a report of 30
/// domains took 36 s at `--dns-timeout 1` (1,000 domains: about an hour at the default 3 s).
/// Now a resolver that answers none of the first 24 queries gets no more.
#[test]
fn check_dns_with_a_dead_resolver_waits_one_timeout_not_one_per_batch() {
    let silent = Silent::start();
    let started = Instant::now();
    let out = Command::cargo_bin("noisegate")
        .unwrap()
        .args(["--check-dns", "--dns-timeout", "1", "--resolver"])
        .arg(format!("127.0.0.1:{}", silent.port()))
        .write_stdin(log_of_domains(30))
        .output()
        .unwrap();
    let (code, out, err) = code_out_err(out);
    let took = started.elapsed();
    assert_eq!(code, 0, "{err}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
    let section = out.split("\nDNS CHECK\n").nth(1).expect("a DNS section");
    assert!(
        line(section, "d00.example").contains("unknown: timed out"),
        "{section}"
    );
    assert!(
        line(section, "autodiscover.d05.example")
            .contains("unknown: not sent: none of the first 24 queries got a DNS response"),
        "{section}"
    );
    // `noisegate dns` stops as soon, and says nothing answered.
    let names: Vec<String> = (0..10).map(|d| format!("d{d:02}.example")).collect();
    let started = Instant::now();
    let args = names;
    let (code, _, err) = dns(
        &format!("127.0.0.1:{}", silent.port()),
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
}

/// Bug: `--check-dns` looked up every mail domain of the report (up to 1,000, 14 queries
/// each). It checks the 20 with the most requests and says how many it left out.
#[test]
fn check_dns_checks_the_20_busiest_domains_and_counts_the_rest() {
    let server = Dnsmasq::start("", &["--local=/example/".into()]);
    let run = |extra: &[&str]| {
        let out = Command::cargo_bin("noisegate")
            .unwrap()
            .args(["--check-dns", "--dns-timeout", "2", "--resolver"])
            .arg(server.address())
            .args(extra)
            .write_stdin(log_of_domains(30))
            .output()
            .unwrap();
        code_out_err(out)
    };
    let (code, json, err) = run(&["-o", "json"]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["mail_domains"].as_array().unwrap().len(), 30);
    let checked: Vec<&str> = v["dns"]["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["domain"].as_str().unwrap())
        .collect();
    let want: Vec<String> = (0..20).map(|d| format!("d{d:02}.example")).collect();
    assert_eq!(checked, want);
    assert_eq!(v["dns"]["domains_not_checked"], 10);
    assert_eq!(v["dns"]["status"], "ok", "{json}");
    let (code, text, err) = run(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("Only the 20 mail domains with the most requests were checked; 10 more are in the report"),
        "{text}"
    );
    assert!(!text.contains("d20.example:"), "{text}");
}

/// The first queries go to every domain in turn: two domains whose servers never answer,
/// named first, do not leave the next one unasked.
#[test]
fn domains_that_time_out_first_do_not_stop_the_others() {
    let silent = Silent::start();
    let server = zone(&[("slow.test", silent.port()), ("slower.test", silent.port())]);
    let (code, out, err) = dns(
        &server.address(),
        &["slow.test", "slower.test", "site.test"],
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        line(&out, "autodiscover.site.test").contains("website"),
        "{out}"
    );
    assert!(!out.contains("not sent"), "{out}");
}

/// Bug: `--dns-timeout` took any number: 0 was made 1 without a word, 100000 waited for
/// days, and 18446744073709551615 panicked (a deadline past what a clock holds). It is 1 to
/// 60, as `noisegate dns --timeout`, and anything else is a usage error before any lookup.
#[test]
fn dns_timeout_out_of_range_is_a_usage_error_not_a_panic() {
    for bad in ["0", "61", "100000", "18446744073709551615", "-1", "x"] {
        let out = Command::cargo_bin("noisegate")
            .unwrap()
            .args(["--check-dns", "--resolver", "127.0.0.1:9"])
            .arg(format!("--dns-timeout={bad}"))
            .arg("samples/pantheon.log")
            .output()
            .unwrap();
        let (code, out, err) = code_out_err(out);
        assert_eq!(code, 2, "{bad}: {out}{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(err.contains("--dns-timeout"), "{bad}: {err}");
    }
}
