//! `noisegate dns DOMAIN...`: looks up the DNS records that send mail clients to the website
//! (autodiscover, autoconfig, MTA-STS, a wildcard) and says what to change. The lookups and
//! verdicts live in [`crate::dns`]; this module holds the arguments and the exit code.

use crate::dns::{self, render, DnsOptions};
use anyhow::Result;
use clap::{Args, ValueEnum};
use std::io::Write;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// Output of `dns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DnsOutput {
    /// One line per name, then what to change.
    Text,
    /// The noisegate/1 JSON document, with "kind": "dns".
    Json,
}

/// Arguments of `noisegate dns`.
#[derive(Debug, Args)]
#[command(after_help = "\
For each DOMAIN it looks up autodiscover.DOMAIN, _autodiscover._tcp.DOMAIN (SRV),
autoconfig.DOMAIN, _mta-sts.DOMAIN (TXT), mta-sts.DOMAIN, the website (DOMAIN, www.DOMAIN)
and a random name under DOMAIN (a wildcard). Each name points at the website (the cause of
the probes), at a mail provider, elsewhere, nowhere, or is unknown (no answer).

It sends DNS queries to the system's resolver (/etc/resolv.conf) or to --resolver.

Exit codes: 0 nothing to change; 1 a name points at the website, or MTA-STS is set up
inconsistently; 2 usage error, or no lookup was answered at all.")]
pub struct DnsArgs {
    /// The domains to check (example.com; letters, digits, hyphens, at least one dot).
    #[arg(value_name = "DOMAIN", required = true, value_parser = dns::parse_domain)]
    domains: Vec<String>,

    /// Ask this DNS server instead of the system's resolver: IP:PORT, [IPv6]:PORT or an IP
    /// (port 53); repeat it or separate servers with commas.
    #[arg(long, value_name = "IP:PORT", value_delimiter = ',', value_parser = dns::parse_resolver)]
    resolver: Vec<SocketAddr>,

    /// Seconds one query waits for an answer (each is sent twice before it counts as
    /// unanswered).
    #[arg(long, value_name = "SECONDS", default_value_t = dns::DEFAULT_TIMEOUT_SECONDS,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    timeout: u64,

    /// Output format.
    #[arg(long, short, value_enum, default_value_t = DnsOutput::Text)]
    output: DnsOutput,
}

/// Runs `dns`: 0 nothing to change, 1 something to change, 2 nothing could be looked up.
pub fn run(args: &DnsArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let mut domains: Vec<String> = Vec::new();
    for d in &args.domains {
        if !domains.contains(d) {
            domains.push(d.clone());
        }
    }
    let opts = DnsOptions {
        resolvers: args.resolver.clone(),
        timeout: Duration::from_secs(args.timeout),
        ..DnsOptions::default()
    };
    let checks = dns::check_domains(&domains, &opts)?;
    match args.output {
        DnsOutput::Text => render::write_text(&checks, out)?,
        DnsOutput::Json => render::write_json(&checks, out)?,
    }
    out.flush()?;
    let (status, code) = render::overall(&checks);
    if status == "unknown" {
        eprintln!("noisegate: no DNS lookup was answered; is the resolver reachable?");
    }
    Ok(ExitCode::from(code))
}
