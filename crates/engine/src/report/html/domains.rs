//! The HTML report's "Mail domains behind the noise" section: a table of the domains (requests,
//! mailboxes, masked examples unless shown, categories, client families), the DNS records to
//! check per domain, and what they do. Every string goes through `log` or `esc`.

use super::markup::{esc, log};
use crate::numbers::thousands;
use crate::report::domains::RECORDS_SENTENCE;
use crate::report::model::Report;
use std::io::{self, Write};

/// The section; nothing when no noise request named a domain.
pub(super) fn domains(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let all = &r.mail_domains;
    if all.is_empty() {
        return Ok(());
    }
    writeln!(w, "<h2>Mail domains behind the noise</h2>")?;
    if r.mail_domains_approximate {
        writeln!(
            w,
            "<p>More domains were asked for than noisegate keeps: these are a sample.</p>"
        )?;
    }
    writeln!(
        w,
        "<table><tr><th>domain</th><th class=n>requests</th><th class=n>mailboxes</th>\
         <th>examples</th><th>categories</th><th>clients</th><th>records to check</th></tr>"
    )?;
    for d in all {
        let examples: Vec<String> = d.examples.iter().map(|e| log(e.as_bytes())).collect();
        let cats: Vec<String> = d
            .categories
            .iter()
            .map(|c| format!("{} {}", esc(c.id), thousands(c.requests)))
            .collect();
        let fams: Vec<String> = d
            .families
            .iter()
            .map(|f| format!("{} {}", log(&f.family), thousands(f.requests)))
            .collect();
        let recs: Vec<String> = d
            .records
            .iter()
            .map(|x| format!("<code>{}</code> {}", log(x.name.as_bytes()), x.kind))
            .collect();
        let at_least = if d.mailboxes_at_least { "≥ " } else { "" };
        writeln!(
            w,
            "<tr><td><code>{}</code></td><td class=n>{}</td><td class=n>{at_least}{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            log(d.domain.as_bytes()),
            thousands(d.requests),
            thousands(d.mailboxes),
            examples.join("<br>"),
            cats.join("<br>"),
            fams.join("<br>"),
            recs.join("<br>")
        )?;
    }
    writeln!(w, "</table>")?;
    writeln!(w, "<p>{}</p>", esc(RECORDS_SENTENCE))
}
