//! The same block for servers other than Pantheon: nginx `location` blocks and Apache
//! `.htaccess` rewrite rules. These have no entry limit and can match without regard to case,
//! so each category whose roots cover no served path gets one case-insensitive rule on its
//! roots, anchored at a segment boundary (`/autodiscover` and what is under `/autodiscover/`,
//! never `/autodiscover-help`): it blocks casings the log never showed. A category with a
//! served path under a root (or when not every served path is known) keeps exact entries with
//! Pantheon's semantics: an entry blocks its exact path and everything under `path/`,
//! case-sensitively, on the normalized URI. Entries and roots are safe by construction
//! ([`super::is_safe`]); nothing else reaches the text.

use super::{under_root, BlockPlan, Entry, Rule};
use crate::classify::CATEGORIES;
use crate::numbers::plural;

/// Where a block is deployed: one entry per target, each with its renderer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// pantheon.yml `protected_web_paths`.
    Pantheon,
    /// nginx `location` blocks answering 403, to include in a `server { }`.
    Nginx,
    /// Apache `.htaccess` rewrite rules.
    Apache,
}

crate::choice::choice_table!(Target {
    Pantheon => ("pantheon", "pantheon.yml protected_web_paths"),
    Nginx => ("nginx", "nginx location blocks answering 403, to include in a server { }"),
    Apache => ("apache", "Apache .htaccess rewrite rules"),
});

impl Target {
    /// The block for this target; `plain` leaves out the comments.
    pub fn render(self, plan: &BlockPlan, plain: bool) -> String {
        match self {
            Target::Pantheon => super::pantheon_yml(plan, plain),
            Target::Nginx => nginx(plan, plain),
            Target::Apache => apache(plan, plain),
        }
    }
}

/// The nginx/Apache plan of `plan` (its own when it has none).
fn server(plan: &BlockPlan) -> &BlockPlan {
    plan.server.as_deref().unwrap_or(plan)
}

/// The exact entries a rule does not already block.
fn exact(plan: &BlockPlan) -> impl Iterator<Item = &Entry> {
    plan.entries.iter().filter(|e| {
        !plan.rules.iter().any(|r| {
            r.roots
                .iter()
                .any(|root| under_root(e.path.as_bytes(), root.as_bytes()))
        })
    })
}

/// A rule's roots as regex alternatives, `prefix` removed from each (dots escaped; roots are
/// made of letters, digits, `/`, `.` and `-`).
fn alternatives(rule: &Rule, prefix: &str) -> String {
    rule.roots
        .iter()
        .map(|r| r.strip_prefix(prefix).unwrap_or(r).replace('.', "\\."))
        .collect::<Vec<_>>()
        .join("|")
}

fn rule_comment(rule: &Rule) -> String {
    format!(
        "# {} ({}), in any casing\n",
        plural(rule.requests, "request"),
        CATEGORIES[rule.category].id
    )
}

/// nginx: for each category that allows it a case-insensitive regex `location ~*` on its
/// roots; for each other entry an exact `location =` and a prefix `location ^~ path/` (which
/// also keeps regex locations from taking the request), all answering 403. Include it inside
/// the `server { }` block, before the server's own regex locations.
pub(crate) fn nginx(plan: &BlockPlan, plain: bool) -> String {
    let plan = server(plan);
    let mut out = header(plan);
    if !plan.rules.is_empty() {
        out.push_str(
            "# Include it inside server { }, before the server's own regex locations (location ~):\n\
             # nginx tries regex locations in order and takes the first that matches.\n",
        );
    }
    for r in &plan.rules {
        if !plain {
            out.push_str(&rule_comment(r));
        }
        out.push_str(&format!(
            "location ~* \"^/(?:{})(?:/|$)\" {{ return 403; }}\n",
            alternatives(r, "/")
        ));
    }
    for e in exact(plan) {
        if !plain {
            out.push_str(&e.comment());
            out.push('\n');
        }
        out.push_str(&format!(
            "location = {p} {{ return 403; }}\nlocation ^~ {p}/ {{ return 403; }}\n",
            p = e.path
        ));
    }
    out
}

/// The first comment lines of a server config, saying when there is nothing to block.
fn header(plan: &BlockPlan) -> String {
    let mut out = String::from("# noisegate: mail-client probes answered 403 before PHP\n");
    if plan.entries.is_empty() && plan.rules.is_empty() {
        out.push_str("# no mail-client noise to block in these logs\n");
    }
    out
}

/// Apache `.htaccess`: for each category that allows it one case-insensitive (`NC`)
/// `RewriteRule` on its roots, and one case-sensitive `RewriteRule` per other entry,
/// forbidding the path and what is under it.
pub(crate) fn apache(plan: &BlockPlan, plain: bool) -> String {
    let plan = server(plan);
    let mut out = header(plan);
    if plan.entries.is_empty() && plan.rules.is_empty() {
        return out;
    }
    out.push_str(
        "# Put these rules before the CMS's own (WordPress: above `# BEGIN WordPress`), or the\n\
         # CMS sends the probes to index.php first.\n<IfModule mod_rewrite.c>\nRewriteEngine On\n",
    );
    // In .htaccess the pattern sees the path without its leading slash.
    for r in &plan.rules {
        if !plain {
            out.push_str(&rule_comment(r));
        }
        out.push_str(&format!(
            "RewriteRule ^(?:{})(/.*)?$ - [NC,F,L]\n",
            alternatives(r, "/")
        ));
    }
    for e in exact(plan) {
        if !plain {
            out.push_str(&e.comment());
            out.push('\n');
        }
        let pattern = e.path[1..].replace('.', "\\.");
        out.push_str(&format!("RewriteRule ^{pattern}(/.*)?$ - [F,L]\n"));
    }
    out.push_str("</IfModule>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::remedy::test_plan as plan;

    fn with_rule(paths: &[&str]) -> BlockPlan {
        let mut p = plan(paths);
        p.rules = vec![Rule {
            category: 0,
            roots: vec!["/autodiscover", "/autodiscover.xml", "/autodiscover.json"],
            requests: 9,
        }];
        p
    }

    #[test]
    fn a_rule_per_category_replaces_its_exact_entries() {
        let p = with_rule(&["/Autodiscover", "/owa"]);
        let text = nginx(&p, false);
        assert!(text.contains(
            "# 9 requests (autodiscover), in any casing\nlocation ~* \"^/(?:autodiscover|autodiscover\\.xml|autodiscover\\.json)(?:/|$)\" { return 403; }\n"
        ), "{text}");
        assert!(!text.contains("location = /Autodiscover"), "{text}");
        assert!(text.contains("location = /owa { return 403; }"), "{text}");
        let text = apache(&p, true);
        assert!(text.contains(
            "RewriteRule ^(?:autodiscover|autodiscover\\.xml|autodiscover\\.json)(/.*)?$ - [NC,F,L]\n"
        ), "{text}");
        assert!(text.contains("RewriteRule ^owa(/.*)?$ - [F,L]\n"), "{text}");
        assert!(!text.contains("Autodiscover(/"), "{text}");
    }

    #[test]
    fn nginx_exact_and_nested() {
        let text = nginx(&plan(&["/Autodiscover"]), true);
        assert!(text.contains("location = /Autodiscover { return 403; }\n"));
        assert!(text.contains("location ^~ /Autodiscover/ { return 403; }\n"));
    }

    #[test]
    fn apache_escapes_dots_and_stays_case_sensitive() {
        let text = apache(&plan(&["/.well-known/mta-sts.txt"]), false);
        assert!(text.contains("RewriteRule ^\\.well-known/mta-sts\\.txt(/.*)?$ - [F,L]\n"));
        assert!(!text.contains("NC"));
        assert!(text.contains("# 3 requests (autodiscover)"));
    }
}
