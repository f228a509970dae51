//! The remedy: which paths to protect, checked against what the site really serves, and the
//! `pantheon.yml` text that protects them.
//!
//! Rules (Pantheon's documentation of `protected_web_paths` in `pantheon.yml`): exact, case-sensitive paths with a
//! leading `/`, no wildcards, at most 24 entries, an entry also protecting what is nested under
//! it. Prefix semantics are not documented, so the checks are conservative both ways:
//! - an entry *covers* a noise path only when the path equals it or continues with `/`;
//! - an entry *endangers* a served path whenever the path merely starts with it
//!   (`/owa` endangers `/owa-help`).
//!
//! Only bytes from a small safe set ever reach the emitted YAML; a path with anything else is
//! dropped with a reason, never quoted or escaped into the file.

use crate::classify::{needs_normalizing, normalize, trim_trailing_slash, CATEGORIES};
use crate::escape::escape_text;
use crate::numbers::plural;

pub(crate) mod targets;
pub(crate) mod yaml;

use crate::summary::Summary;
use std::collections::BTreeMap;

pub use targets::Target;
pub(crate) use yaml::pantheon_yml;

/// Pantheon's limit on `protected_web_paths` entries.
pub const MAX_ENTRIES: usize = 24;

/// One path to protect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    /// The path, safe by construction.
    pub(crate) path: String,
    /// Noise requests it covers.
    pub(crate) requests: u64,
    /// Ids of the categories of those requests.
    pub(crate) categories: Vec<&'static str>,
}

impl Entry {
    /// The comment every target writes above the entry: `# 12 requests (autodiscover)`.
    pub(crate) fn comment(&self) -> String {
        format!(
            "# {} ({})",
            plural(self.requests, "request"),
            self.categories.join(", ")
        )
    }
}

/// A path that was not emitted, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dropped {
    /// The path, escaped for display.
    pub(crate) path: String,
    /// Noise requests it stood for.
    pub(crate) requests: u64,
    /// Why it was left out.
    pub(crate) reason: String,
}

/// The checked list of paths to protect.
#[derive(Clone, Debug, Default)]
pub struct BlockPlan {
    /// What to protect, most requests first.
    pub(crate) entries: Vec<Entry>,
    /// Directory entries replaced by their exact paths, and why.
    pub(crate) narrowed: Vec<Dropped>,
    /// Paths left out, and why.
    pub(crate) dropped: Vec<Dropped>,
    /// What limits the checks (caps reached).
    pub(crate) warnings: Vec<String>,
    /// The upstream whose defaults share the budget.
    pub(crate) upstream: Upstream,
    /// All noise requests.
    pub(crate) noise_requests: u64,
    /// Noise requests that the entries cover.
    pub(crate) covered_requests: u64,
}

/// A candidate entry and the normalized noise paths it stands for.
#[derive(Default)]
struct Group {
    requests: u64,
    members: BTreeMap<Vec<u8>, (u64, usize)>,
}

/// Only paths made of `A-Z a-z 0-9 / . _ ~ -`, starting with `/`, without `..` or `//`, at
/// most 255 bytes, reach a config file.
pub(crate) fn is_safe(path: &[u8]) -> bool {
    path.first() == Some(&b'/')
        && path.len() <= 255
        && !path.windows(2).any(|w| w == b".." || w == b"//")
        && path
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"/._~-".contains(&b))
}

/// The dir root (with the casing of `norm`) that `norm` falls under, if any.
fn dir_prefix(norm: &[u8], category: usize) -> Option<&[u8]> {
    CATEGORIES[category]
        .roots
        .iter()
        .filter(|r| r.dir)
        .map(|r| r.path.as_bytes())
        .find(|root| {
            norm.len() >= root.len()
                && norm[..root.len()].eq_ignore_ascii_case(root)
                && (norm.len() == root.len() || norm[root.len()] == b'/')
        })
        .map(|root| &norm[..root.len()])
}

/// Noise paths, normalized, grouped under the entry that would cover them.
fn groups(summary: &Summary) -> BTreeMap<Vec<u8>, Group> {
    let mut groups: BTreeMap<Vec<u8>, Group> = BTreeMap::new();
    let mut normalized = Vec::new();
    for (ci, cat) in summary.categories.iter().enumerate() {
        for (raw, n) in cat.paths.sorted() {
            // The path nginx routes, as the scan classified it; a path nginx refuses (only
            // a saved summary of an older noisegate could hold one) covers nothing.
            let norm = if !needs_normalizing(raw) {
                trim_trailing_slash(raw).to_vec()
            } else if normalize(raw, &mut normalized) {
                trim_trailing_slash(&normalized).to_vec()
            } else {
                continue;
            };
            let key = dir_prefix(&norm, ci).unwrap_or(&norm).to_vec();
            let g = groups.entry(key).or_default();
            g.requests += n;
            g.members.entry(norm).or_insert((0, ci)).0 += n;
        }
    }
    groups
}

/// Paths the site answered 2xx/3xx that a block entry could cover.
struct Served<'s> {
    paths: Vec<(&'s [u8], u64)>,
    /// `false` when the cap on served paths was reached: some are unknown, so no directory
    /// entry can be proven safe.
    complete: bool,
}

impl<'s> Served<'s> {
    fn new(summary: &'s Summary) -> Self {
        Served {
            paths: summary.served.sorted(),
            complete: !summary.served.approximate(),
        }
    }

    /// Why `entry` must not be emitted, if it would cover a served path.
    fn endangers(&self, entry: &[u8]) -> Option<String> {
        let (p, n) = self.paths.iter().find(|(p, _)| p.starts_with(entry))?;
        let served = plural(*n, "request");
        Some(if *p == entry {
            format!("the site answered it 2xx/3xx ({served}): it may really serve it")
        } else {
            format!(
                "would also block {} (served 2xx/3xx: {served})",
                escape_text(p)
            )
        })
    }
}

fn categories_of(members: &[(u64, usize)]) -> Vec<&'static str> {
    let mut ids: Vec<usize> = members.iter().map(|m| m.1).collect();
    ids.sort_unstable();
    ids.dedup();
    ids.into_iter().map(|i| CATEGORIES[i].id).collect()
}

/// The upstream whose default protected paths share the 24-entry budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Upstream {
    /// Pantheon's WordPress upstream.
    Wordpress,
    /// Pantheon's Drupal 7 upstream.
    Drupal7,
    /// Pantheon's Drupal (8 and later) upstreams.
    Drupal,
    /// No upstream defaults.
    #[default]
    None,
}

crate::choice::choice_table!(Upstream {
    Wordpress => ("wordpress", "Pantheon's WordPress upstream"),
    Drupal7 => ("drupal7", "Pantheon's Drupal 7 upstream"),
    Drupal => ("drupal", "Pantheon's Drupal (8 and later) upstreams"),
    None => ("none", "No upstream defaults"),
});

impl Upstream {
    /// The upstream's default `protected_web_paths`, as Pantheon documents them for its
    /// WordPress and Drupal 7 upstreams (for Drupal 8 and later the Drupal 7 list is assumed).
    pub fn defaults(self) -> &'static [&'static str] {
        match self {
            Upstream::Wordpress => &["/private/", "/wp-content/uploads/private/", "/xmlrpc.php"],
            Upstream::Drupal7 | Upstream::Drupal => &["/private", "/sites/default/files/private"],
            Upstream::None => &[],
        }
    }
}

impl BlockPlan {
    /// The entries to protect, most requests first.
    pub fn paths(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.path.as_str()).collect()
    }
}

/// Plans the block for the noise a scan found: at most [`MAX_ENTRIES`] less the upstream's
/// defaults, checked against what the site served.
pub fn plan_block(scan: &crate::pipeline::ScanResult, upstream: Upstream) -> BlockPlan {
    plan(&scan.summary, upstream)
}

/// Plans the entries for the noise in `summary`, with Pantheon's limit less the upstream's
/// defaults (whether Pantheon counts both lists is not documented: assume it does).
pub fn plan(summary: &Summary, upstream: Upstream) -> BlockPlan {
    let max = MAX_ENTRIES - upstream.defaults().len();
    let mut plan = plan_within(summary, max);
    plan.upstream = upstream;
    plan
}

fn plan_within(summary: &Summary, max_entries: usize) -> BlockPlan {
    let mut plan = BlockPlan {
        noise_requests: summary.noise_requests(),
        ..BlockPlan::default()
    };
    let served = Served::new(summary);
    if !served.complete {
        plan.warnings.push(format!(
            "more than {} distinct paths that look like noise were served 2xx/3xx: directory \
             entries were not used, and exact paths were checked against a sample only",
            summary.served.cap()
        ));
    }
    if summary.categories.iter().any(|c| c.paths.approximate()) {
        plan.warnings.push(
            "a category has more distinct paths than its cap: the block is built from a sample \
             of them"
                .to_string(),
        );
    }
    let mut entries: Vec<Entry> = Vec::new();
    for (key, g) in groups(summary) {
        plan_group(&mut plan, &mut entries, &served, key, g);
    }
    // A nested entry is covered by its parent: fold it in.
    let parents: Vec<String> = entries.iter().map(|e| e.path.clone()).collect();
    let mut folded: Vec<Entry> = Vec::new();
    for e in entries {
        match parents
            .iter()
            .find(|p| e.path.starts_with(&format!("{p}/")))
        {
            Some(parent) => folded.push(Entry {
                path: parent.clone(),
                ..e
            }),
            None => folded.push(e),
        }
    }
    let mut entries: Vec<Entry> = Vec::new();
    for e in folded {
        match entries.iter_mut().find(|x| x.path == e.path) {
            Some(x) => {
                x.requests += e.requests;
                x.categories.extend(e.categories);
                x.categories.sort_unstable();
                x.categories.dedup();
            }
            None => entries.push(e),
        }
    }
    entries.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.path.cmp(&b.path))
    });
    for e in entries.drain(max_entries.min(entries.len())..) {
        plan.dropped.push(Dropped {
            path: e.path,
            requests: e.requests,
            reason: format!(
                "over Pantheon's limit of {MAX_ENTRIES} entries ({} left after the upstream's defaults)",
                max_entries
            ),
        });
    }
    plan.covered_requests = covered(summary, &entries);
    plan.entries = entries;
    plan.dropped.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.path.cmp(&b.path))
    });
    plan
}

/// One group: its directory entry when that is safe, else each of its exact paths.
fn plan_group(
    plan: &mut BlockPlan,
    entries: &mut Vec<Entry>,
    served: &Served,
    key: Vec<u8>,
    g: Group,
) {
    let members: Vec<(u64, usize)> = g.members.values().copied().collect();
    let whole = g.members.len() > 1 || !g.members.contains_key(&key);
    if whole && is_safe(&key) {
        let why = if served.complete {
            served.endangers(&key)
        } else {
            Some("not every served path is known (cap reached)".to_string())
        };
        let Some(reason) = why else {
            entries.push(Entry {
                path: String::from_utf8(key).expect("safe paths are ASCII"),
                requests: g.requests,
                categories: categories_of(&members),
            });
            return;
        };
        plan.narrowed.push(Dropped {
            path: escape_text(&key),
            requests: g.requests,
            reason,
        });
    }
    for (path, (n, ci)) in g.members {
        let reason = if is_safe(&path) {
            served.endangers(&path)
        } else {
            Some(
                "unsafe in a config file: only A-Z a-z 0-9 / . _ ~ - are emitted, without .."
                    .to_string(),
            )
        };
        match reason {
            Some(reason) => plan.dropped.push(Dropped {
                path: escape_text(&path),
                requests: n,
                reason,
            }),
            None => entries.push(Entry {
                path: String::from_utf8(path).expect("safe paths are ASCII"),
                requests: n,
                categories: vec![CATEGORIES[ci].id],
            }),
        }
    }
}

/// Noise requests whose normalized path equals an entry or lies under it.
fn covered(summary: &Summary, entries: &[Entry]) -> u64 {
    groups(summary)
        .values()
        .flat_map(|g| g.members.iter())
        .filter(|(p, _)| {
            entries.iter().any(|e| {
                let e = e.path.as_bytes();
                p.starts_with(e) && (p.len() == e.len() || p[e.len()] == b'/')
            })
        })
        .map(|(_, (n, _))| n)
        .sum()
}

/// A plan of `paths`, 3 requests each, for tests of the renderers.
#[cfg(test)]
pub(crate) fn test_plan(paths: &[&str]) -> BlockPlan {
    BlockPlan {
        entries: paths
            .iter()
            .map(|p| Entry {
                path: p.to_string(),
                requests: 3,
                categories: vec!["autodiscover"],
            })
            .collect(),
        ..BlockPlan::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_paths_only() {
        assert!(is_safe(b"/Autodiscover/Autodiscover.xml"));
        assert!(is_safe(b"/.well-known/mta-sts.txt"));
        for bad in [
            &b"autodiscover"[..],
            b"/a b",
            b"/a:b",
            b"/a#b",
            b"/a\"",
            b"/\xc3\xa9",
        ] {
            assert!(!is_safe(bad));
        }
    }

    #[test]
    fn dir_prefix_keeps_casing() {
        assert_eq!(
            dir_prefix(b"/AutoDiscover/x.xml", 0),
            Some(&b"/AutoDiscover"[..])
        );
        assert_eq!(dir_prefix(b"/autodiscover.xml", 0), None);
        assert_eq!(dir_prefix(b"/autodiscoverx", 0), None);
    }
}
