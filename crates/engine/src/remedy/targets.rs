//! The same block for servers other than Pantheon: nginx `location` blocks and Apache
//! `.htaccess` rewrite rules, with Pantheon's semantics: an entry blocks its exact path and
//! everything under `path/`, case-sensitively, on the normalized URI. Entries are safe by
//! construction ([`super::is_safe`]); nothing else reaches the text.

use super::BlockPlan;

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

/// nginx: for each entry an exact `location =` and a prefix `location ^~ path/` (which also
/// keeps regex locations from taking the request), both answering 403. Include it inside the
/// `server { }` block.
pub(crate) fn nginx(plan: &BlockPlan, plain: bool) -> String {
    let mut out = header(plan);
    for e in &plan.entries {
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
    if plan.entries.is_empty() {
        out.push_str("# no mail-client noise to block in these logs\n");
    }
    out
}

/// Apache `.htaccess`: one case-sensitive `RewriteRule` per entry, forbidding the path and
/// what is under it.
pub(crate) fn apache(plan: &BlockPlan, plain: bool) -> String {
    let mut out = header(plan);
    if plan.entries.is_empty() {
        return out;
    }
    out.push_str(
        "# Put these rules before the CMS's own (WordPress: above `# BEGIN WordPress`), or the\n\
         # CMS sends the probes to index.php first.\n<IfModule mod_rewrite.c>\nRewriteEngine On\n",
    );
    for e in &plan.entries {
        if !plain {
            out.push_str(&e.comment());
            out.push('\n');
        }
        // In .htaccess the pattern sees the path without its leading slash.
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
