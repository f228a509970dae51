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

use crate::summary::evidence::Evidence;
use crate::summary::{Summary, Tally};
use std::collections::{BTreeMap, HashMap};

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
    /// How widely it was asked for, for an entry left out over the limit.
    pub(crate) evidence: Option<Evidence>,
    /// For a directory entry narrowed to its exact paths: what it would have covered.
    pub(crate) trade: Option<TradeOff>,
}

/// What a narrowed directory entry would cover beyond the exact entries that replace it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TradeOff {
    /// Noise requests the directory entry would cover.
    pub(crate) whole: u64,
    /// Noise requests its exact entries cover.
    pub(crate) exact: u64,
    /// How many exact entries it takes.
    pub(crate) entries: usize,
}

/// A case-insensitive rule for a whole category (nginx and Apache only).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rule {
    /// Index in [`CATEGORIES`].
    pub(crate) category: usize,
    /// The roots it blocks, in any casing, with what is under them.
    pub(crate) roots: Vec<&'static str>,
    /// Noise requests seen under them.
    pub(crate) requests: u64,
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
    /// Entries left out over the limit: how many, their requests, and how widely they were
    /// asked for.
    pub(crate) over_limit: (usize, u64, Evidence),
    /// `false` when some noise has no per-path evidence (it came from a saved summary of
    /// version 2 or older): entries were then ranked by requests.
    pub(crate) evidence_complete: bool,
    /// Case-insensitive rules per category (nginx and Apache plans only).
    pub(crate) rules: Vec<Rule>,
    /// The same block for nginx and Apache: no entry limit, a rule per category where safe.
    pub(crate) server: Option<Box<BlockPlan>>,
}

/// A normalized noise path and what is known of it.
#[derive(Clone, Default)]
struct Member {
    requests: u64,
    category: usize,
    evidence: Evidence,
}

/// A candidate entry and the normalized noise paths it stands for.
#[derive(Default)]
struct Group {
    requests: u64,
    members: BTreeMap<Vec<u8>, Member>,
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
        let evidence: HashMap<&[u8], &Evidence> = cat.evidence.entries().into_iter().collect();
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
            let m = g.members.entry(norm).or_insert_with(|| Member {
                category: ci,
                ..Member::default()
            });
            m.requests += n;
            if let Some(e) = evidence.get(raw) {
                m.evidence.absorb(e);
            }
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
    /// The entries to protect, in the order they are written.
    pub fn paths(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.path.as_str()).collect()
    }

    /// For people, when entries were left out over the limit: how many, their requests and
    /// how widely they were asked for.
    pub fn over_limit_note(&self) -> Option<String> {
        let (n, requests, evidence) = &self.over_limit;
        if *n == 0 {
            return None;
        }
        let entries = if *n == 1 {
            "1 entry".to_string()
        } else {
            format!("{n} entries")
        };
        let from = match self.evidence_complete {
            true => format!(" ({})", evidence.describe()),
            false => String::new(),
        };
        Some(format!(
            "{entries} left out over the limit: {}{from}; the report (-o json: block.dropped) says which and why",
            plural(*requests, "request")
        ))
    }
}

/// Plans the block for the noise a scan found: at most [`MAX_ENTRIES`] less the upstream's
/// defaults, checked against what the site served.
pub fn plan_block(scan: &crate::pipeline::ScanResult, upstream: Upstream) -> BlockPlan {
    plan(&scan.summary, upstream)
}

/// Plans the block as [`plan_block`] does, with at most `max_entries` entries in the whole
/// list (the upstream's defaults included; Pantheon's list is never longer than
/// [`MAX_ENTRIES`]) and, for nginx and Apache, at most `max_entries` exact entries beside the
/// per-category rules (no limit when `None`).
pub fn plan_block_limited(
    scan: &crate::pipeline::ScanResult,
    upstream: Upstream,
    max_entries: Option<usize>,
) -> BlockPlan {
    plan_limited(&scan.summary, upstream, max_entries)
}

/// Plans the entries for the noise in `summary`, with Pantheon's limit less the upstream's
/// defaults (whether Pantheon counts both lists is not documented: assume it does).
pub fn plan(summary: &Summary, upstream: Upstream) -> BlockPlan {
    plan_limited(summary, upstream, None)
}

fn plan_limited(summary: &Summary, upstream: Upstream, max_entries: Option<usize>) -> BlockPlan {
    let defaults = upstream.defaults().len();
    let total = max_entries.unwrap_or(MAX_ENTRIES).min(MAX_ENTRIES);
    let max = total.saturating_sub(defaults);
    let why = match (max_entries, defaults) {
        (None, 0) => format!("Pantheon's limit of {MAX_ENTRIES} entries"),
        (None, d) => format!(
            "Pantheon's limit of {MAX_ENTRIES} entries, {max} after the upstream's {d} defaults"
        ),
        (Some(_), 0) => format!("--max-entries {total}"),
        (Some(_), d) => format!("--max-entries {total}, {max} after the upstream's {d} defaults"),
    };
    let mut plan = plan_within(summary, max, &why);
    plan.upstream = upstream;
    // nginx and Apache: no limit of their own, and a case-insensitive rule per category
    // where that blocks nothing served.
    let server_max = max_entries.unwrap_or(usize::MAX);
    let mut server = plan_within(summary, server_max, &format!("--max-entries {server_max}"));
    server.rules = rules(summary);
    plan.server = Some(Box::new(server));
    plan
}

/// The shortest of `entries` that covers `path`: equal to it, or a parent of it at a `/`.
fn cover(entries: &HashMap<&[u8], usize>, path: &[u8]) -> Option<usize> {
    path.iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'/' && i > 0)
        .map(|(i, _)| &path[..i])
        .chain(std::iter::once(path))
        .find_map(|p| entries.get(p).copied())
}

/// What one candidate entry covers.
#[derive(Default)]
struct Covered {
    requests: u64,
    categories: Vec<&'static str>,
    evidence: Evidence,
}

/// How the block ranks candidate entries, most evidence first: see [`Evidence::rank`]; by
/// requests alone when some noise has no evidence.
fn rank_key(c: &Covered, complete: bool) -> (usize, usize, usize, u64) {
    if complete {
        c.evidence.rank()
    } else {
        (0, 0, 0, c.requests)
    }
}

fn plan_within(summary: &Summary, max_entries: usize, limit: &str) -> BlockPlan {
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
    let groups = groups(summary);
    let mut candidates: Vec<Vec<u8>> = Vec::new();
    let mut pending: Vec<(Vec<u8>, Dropped)> = Vec::new();
    let mut narrowed: Vec<Vec<u8>> = Vec::new();
    for (key, g) in &groups {
        plan_group(
            &mut plan,
            &mut candidates,
            &mut pending,
            &mut narrowed,
            &served,
            key,
            g,
        );
    }
    // A nested entry is covered by its parent: keep the parents only.
    candidates.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    candidates.dedup();
    let mut kept: HashMap<&[u8], usize> = HashMap::new();
    let mut paths: Vec<&[u8]> = Vec::new();
    for c in &candidates {
        if cover(&kept, c).is_none() {
            kept.insert(c, paths.len());
            paths.push(c);
        }
    }
    // Each noise path counts in the one entry that covers it, if any.
    let mut covered: Vec<Covered> = paths.iter().map(|_| Covered::default()).collect();
    let members = || groups.values().flat_map(|g| g.members.iter());
    plan.evidence_complete = members().all(|(_, m)| m.evidence.requests == m.requests);
    for (path, m) in members() {
        if let Some(i) = cover(&kept, path) {
            let c = &mut covered[i];
            c.requests += m.requests;
            c.categories.push(CATEGORIES[m.category].id);
            c.evidence.absorb(&m.evidence);
        }
    }
    let complete = plan.evidence_complete;
    let mut order: Vec<usize> = (0..paths.len()).collect();
    order.sort_by(|&a, &b| {
        rank_key(&covered[b], complete)
            .cmp(&rank_key(&covered[a], complete))
            .then_with(|| paths[a].cmp(paths[b]))
    });
    let cut = max_entries.min(order.len());
    let entry = |i: usize, covered: &mut Vec<Covered>| {
        let c = std::mem::take(&mut covered[i]);
        let mut categories = c.categories;
        categories.sort_unstable();
        categories.dedup();
        (
            Entry {
                path: String::from_utf8(paths[i].to_vec()).expect("safe paths are ASCII"),
                requests: c.requests,
                categories,
            },
            c.evidence,
        )
    };
    let last_kept = (cut > 0).then(|| {
        let i = order[cut - 1];
        (
            escape_text(paths[i]),
            covered[i].evidence.describe(),
            covered[i].requests,
            rank_key(&covered[i], complete),
        )
    });
    for &i in &order[cut..] {
        let tie = last_kept
            .as_ref()
            .is_some_and(|l| l.3 == rank_key(&covered[i], complete));
        let (e, evidence) = entry(i, &mut covered);
        let this = if complete {
            format!("{}, {}", evidence.describe(), plural(e.requests, "request"))
        } else {
            plural(e.requests, "request")
        };
        let mut below = match &last_kept {
            Some((p, d, n, _)) if complete => {
                format!("the last kept, {p}, has {d}, {}", plural(*n, "request"))
            }
            Some((p, _, n, _)) => format!("the last kept, {p}, has {}", plural(*n, "request")),
            None => "no entry fits".to_string(),
        };
        if tie {
            below.push_str(" (a tie, broken by path order)");
        }
        let rule = if complete {
            "entries are ranked by distinct clients times distinct hours, then days, \
             mail-client families, then requests"
        } else {
            "entries are ranked by requests, since part of the noise came from a saved summary \
             of version 2 or older, which keeps no per-path clients"
        };
        plan.over_limit.0 += 1;
        plan.over_limit.1 += e.requests;
        plan.over_limit.2.absorb(&evidence);
        plan.dropped.push(Dropped {
            path: e.path,
            requests: e.requests,
            reason: format!("over {limit}: {rule}; this one has {this}; {below}"),
            evidence: complete.then_some(evidence),
            trade: None,
        });
    }
    let mut entries: Vec<Entry> = Vec::new();
    for &i in &order[..cut] {
        entries.push(entry(i, &mut covered).0);
    }
    // The evidence chose them; they are written most requests first.
    entries.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.path.cmp(&b.path))
    });
    // Only what no entry covers is left out.
    let kept: HashMap<&[u8], usize> = entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.path.as_bytes(), i))
        .collect();
    for (raw, d) in pending {
        if cover(&kept, &raw).is_none() {
            plan.dropped.push(d);
        }
    }
    plan.covered_requests = members()
        .filter(|(p, _)| cover(&kept, p).is_some())
        .map(|(_, m)| m.requests)
        .sum();
    // What each narrowed directory entry would have covered beyond its exact entries.
    for (d, key) in plan.narrowed.iter_mut().zip(&narrowed) {
        let g = &groups[key];
        let exact: u64 = g
            .members
            .iter()
            .filter(|(p, _)| cover(&kept, p).is_some())
            .map(|(_, m)| m.requests)
            .sum();
        let mut under = HashMap::new();
        under.insert(key.as_slice(), 0);
        let n = entries
            .iter()
            .filter(|e| cover(&under, e.path.as_bytes()).is_some())
            .count();
        d.trade = Some(TradeOff {
            whole: g.requests,
            exact,
            entries: n,
        });
    }
    plan.entries = entries;
    plan.dropped.sort_by(|a, b| {
        b.requests
            .cmp(&a.requests)
            .then_with(|| a.path.cmp(&b.path))
    });
    plan
}

/// One group: its directory entry when that is safe, else each of its exact paths; paths
/// that cannot be entries go to `pending` (left out unless another entry covers them).
fn plan_group(
    plan: &mut BlockPlan,
    candidates: &mut Vec<Vec<u8>>,
    pending: &mut Vec<(Vec<u8>, Dropped)>,
    narrowed: &mut Vec<Vec<u8>>,
    served: &Served,
    key: &[u8],
    g: &Group,
) {
    let whole = g.members.len() > 1 || !g.members.contains_key(key);
    if whole && is_safe(key) {
        let why = if served.complete {
            served.endangers(key)
        } else {
            Some("not every served path is known (cap reached)".to_string())
        };
        let Some(reason) = why else {
            candidates.push(key.to_vec());
            return;
        };
        plan.narrowed.push(Dropped {
            path: escape_text(key),
            requests: g.requests,
            reason,
            evidence: None,
            trade: None,
        });
        narrowed.push(key.to_vec());
    }
    for (path, m) in &g.members {
        let reason = if is_safe(path) {
            served.endangers(path)
        } else {
            Some(
                "unsafe in a config file: only A-Z a-z 0-9 / . _ ~ - are emitted, without .."
                    .to_string(),
            )
        };
        match reason {
            Some(reason) => pending.push((
                path.clone(),
                Dropped {
                    path: escape_text(path),
                    requests: m.requests,
                    reason,
                    evidence: None,
                    trade: None,
                },
            )),
            None => candidates.push(path.clone()),
        }
    }
}

/// `true` when normalized `path` lies under root `root`, in any casing: equal to it or
/// continuing with `/`.
pub(crate) fn under_root(path: &[u8], root: &[u8]) -> bool {
    path.len() >= root.len()
        && path[..root.len()].eq_ignore_ascii_case(root)
        && (path.len() == root.len() || path[root.len()] == b'/')
}

/// One case-insensitive rule per category, on the roots of the category under which noise
/// was seen and no served path lies (none when not every served path is known).
fn rules(summary: &Summary) -> Vec<Rule> {
    if summary.served.approximate() {
        return Vec::new();
    }
    let served = summary.served.sorted();
    let groups = groups(summary);
    let mut rules: Vec<Rule> = Vec::new();
    for (ci, cat) in CATEGORIES.iter().enumerate() {
        let roots: Vec<&'static str> = cat
            .roots
            .iter()
            .map(|r| r.path)
            .filter(|r| {
                let seen = groups
                    .values()
                    .flat_map(|g| g.members.iter())
                    .any(|(p, m)| m.category == ci && under_root(p, r.as_bytes()));
                let spared = served
                    .iter()
                    .any(|(p, _)| under_root(trim_trailing_slash(p), r.as_bytes()));
                seen && !spared
            })
            .collect();
        let requests: u64 = groups
            .values()
            .flat_map(|g| g.members.iter())
            .filter(|(p, m)| m.category == ci && roots.iter().any(|r| under_root(p, r.as_bytes())))
            .map(|(_, m)| m.requests)
            .sum();
        if !roots.is_empty() {
            rules.push(Rule {
                category: ci,
                roots,
                requests,
            });
        }
    }
    rules
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
    fn cover_finds_the_shortest_entry_at_a_segment_boundary() {
        let entries: HashMap<&[u8], usize> = [
            (&b"/Autodiscover"[..], 0),
            (b"/autodiscover/autodiscover.json", 1),
            (b"/autodiscover/autodiscover.json/v1.0", 2),
        ]
        .into_iter()
        .collect();
        assert_eq!(cover(&entries, b"/Autodiscover"), Some(0));
        assert_eq!(cover(&entries, b"/Autodiscover/x.xml"), Some(0));
        assert_eq!(cover(&entries, b"/Autodiscover-help"), None);
        assert_eq!(cover(&entries, b"/autodiscover"), None);
        assert_eq!(
            cover(&entries, b"/autodiscover/autodiscover.json/v1.0/a@b.c"),
            Some(1)
        );
        assert_eq!(cover(&entries, b"/"), None);
        assert_eq!(cover(&entries, b""), None);
    }

    #[test]
    fn under_root_ignores_case_and_stops_at_segments() {
        assert!(under_root(b"/AUTODISCOVER/x", b"/autodiscover"));
        assert!(under_root(b"/Owa", b"/owa"));
        assert!(!under_root(b"/owa-news", b"/owa"));
        assert!(!under_root(b"/owasp", b"/owa"));
        assert!(!under_root(b"/ow", b"/owa"));
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
