//! The text report's "MAIL DOMAINS BEHIND THE NOISE" section: per mail domain its requests,
//! mailboxes (masked unless shown), categories, client families and the DNS records to
//! check, then the sentence for the mail admin and the command that checks the records.
//! Domains are plain hostnames by construction; examples still go through `escape_text`.

use super::out::Out;
use crate::escape::escape_text;
use crate::numbers::{plural, thousands};
use crate::report::domains::{dns_command, MailDomainView, RECORDS_SENTENCE};
use crate::report::model::Report;
use std::io;

/// Domains listed in full; the rest are counted (the JSON report lists them all).
const SHOWN: usize = 20;

/// The section; nothing when no noise request named a domain.
pub(super) fn domains(o: &mut Out, r: &Report) -> io::Result<()> {
    let all = &r.mail_domains;
    if all.is_empty() {
        return Ok(());
    }
    o.heading("MAIL DOMAINS BEHIND THE NOISE")?;
    if r.mail_domains_approximate {
        o.para(
            2,
            "More domains were asked for than noisegate keeps: these are a sample, each with its exact requests.",
        )?;
    }
    for d in all.iter().take(SHOWN) {
        domain(o, d)?;
    }
    if all.len() > SHOWN {
        let more = all.len() - SHOWN;
        o.para(
            2,
            &format!(
                "... and {} (see -o json).",
                plural(more as u64, "more domain")
            ),
        )?;
    }
    writeln!(o.w)?;
    o.para(2, RECORDS_SENTENCE)?;
    o.para(
        2,
        &format!(
            "Check them with: {}",
            dns_command(&all[..all.len().min(SHOWN)])
        ),
    )
}

fn domain(o: &mut Out, d: &MailDomainView) -> io::Result<()> {
    writeln!(o.w)?;
    let name = escape_text(d.domain.as_bytes());
    o.para(
        2,
        &format!(
            "{name}: {} · {}",
            plural(d.requests, "request"),
            d.mailboxes_phrase()
        ),
    )?;
    if !d.examples.is_empty() {
        let examples: Vec<String> = d
            .examples
            .iter()
            .map(|e| escape_text(e.as_bytes()))
            .collect();
        let what = if d.masked { "masked" } else { "shown" };
        o.para(4, &format!("mailboxes ({what}): {}", examples.join(", ")))?;
    }
    let cats: Vec<String> = d
        .categories
        .iter()
        .map(|c| format!("{} {}", c.id, thousands(c.requests)))
        .collect();
    o.para(4, &format!("categories: {}", cats.join(", ")))?;
    let fams: Vec<String> = d
        .families
        .iter()
        .map(|f| format!("{} {}", escape_text(&f.family), thousands(f.requests)))
        .collect();
    o.para(4, &format!("clients: {}", fams.join(", ")))?;
    let recs: Vec<String> = d
        .records
        .iter()
        .map(|x| format!("{} {}", escape_text(x.name.as_bytes()), x.kind))
        .collect();
    o.para(4, &format!("check: {}", recs.join(", ")))
}
