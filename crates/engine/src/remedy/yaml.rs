//! `pantheon.yml`: the snippet for a new file, and the merge into an existing one.
//!
//! The merge edits the text, not a re-serialized document, so the user's comments, key order
//! and quoting stay as they were: it only inserts list items (and `api_version: 1` when the
//! key is missing). A real YAML parser checks the file before (valid YAML, a mapping,
//! `api_version: 1`, a list of strings) and the result after (every other key unchanged, the
//! list exactly the old one plus the new entries).
//!
//! The file is the user's, but it may come from anywhere: before the loader builds a document,
//! one pass of the event parser refuses anchors and aliases (a few hundred bytes of nested
//! aliases expand to gigabytes) and nesting deeper than [`MAX_DEPTH`], and a file over
//! [`MAX_PANTHEON_YML`] bytes is refused unread.

use super::{BlockPlan, Entry, MAX_ENTRIES};
use anyhow::{anyhow, bail, Result};
use yaml_rust2::parser::{Event, Parser};
use yaml_rust2::{Yaml, YamlLoader};

/// The largest `pantheon.yml` read, in bytes (1 MiB): a real one is a few hundred bytes.
pub const MAX_PANTHEON_YML: usize = 1 << 20;

/// The deepest nesting of lists and mappings accepted: Pantheon's keys nest a few levels.
const MAX_DEPTH: usize = 64;

/// A YAML scalar as its author wrote it (`2`, `"1"`, `1.0`), for messages.
fn yaml_value(v: &Yaml) -> String {
    match v {
        Yaml::Integer(i) => i.to_string(),
        Yaml::Real(r) => r.clone(),
        Yaml::String(s) => format!("{s:?}"),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Null => "empty".to_string(),
        _ => "not a number".to_string(),
    }
}

/// The `pantheon.yml` text for `plan`: `api_version: 1` and `protected_web_paths`, each entry
/// under a comment with the requests it covers unless `plain`.
pub fn pantheon_yml(plan: &BlockPlan, plain: bool) -> String {
    let mut out = String::from("api_version: 1\n");
    if plan.entries.is_empty() {
        out.push_str("# noisegate: no mail-client noise to protect against in these logs\n");
        return out;
    }
    let upstream = plan.upstream.defaults();
    if !plain && !upstream.is_empty() {
        out.push_str(&format!(
            "# the upstream also protects {} (counted in the {MAX_ENTRIES}-entry limit)\n",
            upstream.join(", ")
        ));
    }
    out.push_str("protected_web_paths:\n");
    for e in &plan.entries {
        if !plain {
            out.push_str(&format!("  {}\n", e.comment()));
        }
        out.push_str(&format!("  - {}\n", e.path));
    }
    out
}

/// What a merge did.
#[derive(Debug, PartialEq, Eq)]
pub struct Merged {
    /// The new file text (equal to the old one when nothing was added).
    pub text: String,
    /// Entries added, in order.
    pub added: Vec<String>,
    /// Entries left out because the file's list is full.
    pub over_limit: Vec<String>,
}

/// `true` when `existing` already protects `path`: the same path, or a parent of it.
fn covers(existing: &str, path: &str) -> bool {
    let parent = existing.trim_end_matches('/');
    // Only an entry that names a path protects anything: an empty one (which is also what a
    // YAML tag without a value reads as) or `/` must not make every path look covered.
    if !existing.starts_with('/') || parent.is_empty() {
        return false;
    }
    path == existing || path == parent || path.starts_with(&format!("{parent}/"))
}

/// Refuses, in one pass of the event parser and without building anything, what would make
/// loading `text` costly: an anchor or alias (`&a`, `*a`), nesting deeper than [`MAX_DEPTH`].
fn cheap_to_load(text: &str) -> Result<()> {
    let mut parser = Parser::new_from_str(text);
    let mut depth = 0usize;
    loop {
        let (event, at) = parser
            .next_token()
            .map_err(|e| anyhow!("not valid YAML: {e}"))?;
        let anchor = match event {
            Event::StreamEnd => return Ok(()),
            Event::Alias(_) => 1,
            Event::Scalar(_, _, anchor, _) => anchor,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                depth += 1;
                anchor
            }
            Event::SequenceEnd | Event::MappingEnd => {
                depth -= 1;
                0
            }
            _ => 0,
        };
        if anchor != 0 {
            bail!(
                "line {}: YAML anchors and aliases (&name, *name) are refused; a pantheon.yml needs none",
                at.line()
            );
        }
        if depth > MAX_DEPTH {
            bail!("line {}: nested deeper than {MAX_DEPTH} levels", at.line());
        }
    }
}

/// Checks the file and returns (its document, its list, whether it overrides the defaults).
fn inspect(text: &str) -> Result<(Yaml, Vec<String>, bool)> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    cheap_to_load(text)?;
    let docs = YamlLoader::load_from_str(text).map_err(|e| anyhow!("not valid YAML: {e}"))?;
    let doc = docs.into_iter().next().unwrap_or(Yaml::Null);
    let doc = match doc {
        Yaml::Null => Yaml::Hash(Default::default()),
        d @ Yaml::Hash(_) => d,
        _ => bail!("the file is not a YAML mapping"),
    };
    match &doc["api_version"] {
        Yaml::Integer(1) | Yaml::BadValue => {}
        other => bail!(
            "api_version is {}; noisegate writes for api_version 1",
            yaml_value(other)
        ),
    }
    let list = match &doc["protected_web_paths"] {
        Yaml::BadValue | Yaml::Null => Vec::new(),
        Yaml::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(str::to_string))
            .collect::<Option<Vec<_>>>()
            .ok_or(anyhow!(
                "protected_web_paths holds something that is not a path"
            ))?,
        _ => bail!("protected_web_paths is not a list"),
    };
    let overrides = doc["protected_web_paths_override"].as_bool() == Some(true);
    Ok((doc, list, overrides))
}

/// Where a top-level key's line is.
fn key_line(lines: &[&str], key: &str) -> Option<usize> {
    lines.iter().position(|l| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

/// Inserts `items` (already formatted lines) into the `protected_web_paths` list of `text`.
fn insert(text: &str, items: &[String]) -> Result<String> {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let Some(k) = key_line(&lines, "protected_web_paths") else {
        if out.last().is_some_and(|l| !l.is_empty()) {
            out.push(String::new());
        }
        out.push("protected_web_paths:".to_string());
        out.extend(items.iter().map(|i| format!("  {i}")));
        return Ok(out.join(eol) + eol);
    };
    let after = lines[k].split_once(':').map_or("", |x| x.1).trim();
    let after = match after.split(" #").next().unwrap_or("").trim() {
        a if a.starts_with('#') => "",
        "~" | "null" | "Null" | "NULL" => "[]",
        a => a,
    };
    if !after.is_empty() {
        let inner = after
            .strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .ok_or(anyhow!("protected_web_paths is written in a form noisegate does not edit; add the entries by hand"))?;
        let mut block = vec!["protected_web_paths:".to_string()];
        block.extend(
            inner
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| format!("  - {s}")),
        );
        block.extend(items.iter().map(|i| format!("  {i}")));
        out.splice(k..=k, block);
        return Ok(out.join(eol) + eol);
    }
    // The list's lines: indented items and comments until the next top-level line.
    let mut last_item = k;
    let mut indent = "  ".to_string();
    for (i, l) in lines.iter().enumerate().skip(k + 1) {
        let t = l.trim_start();
        if !l.is_empty() && !l.starts_with([' ', '\t', '-', '#']) {
            break;
        }
        if t.starts_with('-') {
            if last_item == k {
                indent = l[..l.len() - t.len()].to_string();
            }
            last_item = i;
        }
    }
    let at = last_item + 1;
    out.splice(at..at, items.iter().map(|i| format!("{indent}{i}")));
    Ok(out.join(eol)
        + if text.ends_with('\n') || text.is_empty() {
            eol
        } else {
            ""
        })
}

/// The entries the file should hold: the upstream's defaults first when it `overrides` them,
/// then the plan's.
fn wanted(plan: &BlockPlan, overrides: bool) -> Vec<Entry> {
    let mut wanted: Vec<Entry> = Vec::new();
    if overrides {
        wanted.extend(plan.upstream.defaults().iter().map(|p| Entry {
            path: p.to_string(),
            requests: 0,
            categories: vec!["upstream default"],
        }));
    }
    wanted.extend(plan.entries.iter().cloned());
    wanted
}

/// Merges the entries of `plan` (and, when the file sets `protected_web_paths_override`,
/// the upstream's defaults) into the text of an existing `pantheon.yml`.
/// A `text` over [`MAX_PANTHEON_YML`] bytes is refused.
pub fn merge(text: &str, plan: &BlockPlan, plain: bool) -> Result<Merged> {
    if text.len() > MAX_PANTHEON_YML {
        bail!("the file is over {MAX_PANTHEON_YML} bytes; a pantheon.yml is a few hundred");
    }
    let (before, list, overrides) = inspect(text)?;
    let wanted = wanted(plan, overrides);
    let mut have = list.clone();
    let budget = MAX_ENTRIES
        - if overrides {
            0
        } else {
            plan.upstream.defaults().len()
        };
    let (mut items, mut added, mut over_limit) = (Vec::new(), Vec::new(), Vec::new());
    for e in wanted {
        if have.iter().any(|h| covers(h, &e.path)) {
            continue;
        }
        if have.len() >= budget {
            over_limit.push(e.path.clone());
            continue;
        }
        if !plain && e.requests > 0 {
            items.push(e.comment());
        }
        items.push(format!("- {}", e.path));
        have.push(e.path.clone());
        added.push(e.path);
    }
    if added.is_empty() {
        return Ok(Merged {
            text: text.to_string(),
            added,
            over_limit,
        });
    }
    let mut new = insert(text, &items)?;
    if matches!(before["api_version"], Yaml::BadValue) {
        new = with_api_version(&new);
    }
    check(&before, &new, &have)?;
    Ok(Merged {
        text: new,
        added,
        over_limit,
    })
}

/// `api_version: 1` as the first key: after a byte-order mark, directives and `---`.
fn with_api_version(text: &str) -> String {
    let (bom, body) = match text.strip_prefix('\u{feff}') {
        Some(rest) => ("\u{feff}", rest),
        None => ("", text),
    };
    let eol = if body.contains("\r\n") { "\r\n" } else { "\n" };
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        let t = line.trim_end();
        if !(t.starts_with('%') || t == "---") {
            break;
        }
        at += line.len();
    }
    format!("{bom}{}api_version: 1{eol}{}", &body[..at], &body[at..])
}

/// The merged text must parse, keep every other key as it was, and hold exactly `list`.
fn check(before: &Yaml, new: &str, list: &[String]) -> Result<()> {
    let (after, got, _) = inspect(new)
        .map_err(|e| anyhow!("the merge produced a broken file ({e}); nothing was written"))?;
    if got != list {
        bail!("the merge did not produce the expected list; nothing was written");
    }
    let (Yaml::Hash(b), Yaml::Hash(a)) = (before, &after) else {
        bail!("the file is not a YAML mapping");
    };
    for (k, v) in b {
        if k.as_str() != Some("protected_web_paths") && a.get(k) != Some(v) {
            bail!("the merge would change {k:?}; nothing was written");
        }
    }
    Ok(())
}

/// A unified-style diff of `old` → `new` (one hunk around what changed).
pub fn diff(name: &str, old: &str, new: &str) -> String {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let pre = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let post = a[pre..]
        .iter()
        .rev()
        .zip(b[pre..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let mut out = format!("--- {name}\n+++ {name} (noisegate)\n");
    // As GNU diff: an empty side starts at the line before the change.
    let (na, nb) = (a.len() - pre - post, b.len() - pre - post);
    let start = |n: usize| if n == 0 { pre } else { pre + 1 };
    out += &format!("@@ -{},{na} +{},{nb} @@\n", start(na), start(nb));
    for l in &a[pre..a.len() - post] {
        out += &format!("-{l}\n");
    }
    for l in &b[pre..b.len() - post] {
        out += &format!("+{l}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remedy::Upstream;

    use crate::remedy::test_plan as plan;

    const FILE: &str = "# site config\napi_version: 1\n\nweb_docroot: true  # keep me\nprotected_web_paths:\n    # existing\n    - /private\n    - /Autodiscover\nphp_version: 8.2\n";

    #[test]
    fn adds_missing_entries_keeping_comments_and_order() {
        let m = merge(
            FILE,
            &plan(&["/Autodiscover", "/Autodiscover/x.xml", "/owa"]),
            false,
        )
        .unwrap();
        assert_eq!(m.added, ["/owa"]);
        assert_eq!(
            m.text,
            "# site config\napi_version: 1\n\nweb_docroot: true  # keep me\nprotected_web_paths:\n    # existing\n    - /private\n    - /Autodiscover\n    # 3 requests (autodiscover)\n    - /owa\nphp_version: 8.2\n"
        );
        let again = merge(&m.text, &plan(&["/owa"]), false).unwrap();
        assert!(again.added.is_empty());
        assert_eq!(again.text, m.text);
    }

    #[test]
    fn new_list_flow_list_and_missing_api_version() {
        let m = merge("php_version: 8.2\n", &plan(&["/owa"]), true).unwrap();
        assert_eq!(
            m.text,
            "api_version: 1\nphp_version: 8.2\n\nprotected_web_paths:\n  - /owa\n"
        );
        let m = merge(
            "api_version: 1\nprotected_web_paths: [/a, /b]\n",
            &plan(&["/owa"]),
            true,
        )
        .unwrap();
        assert_eq!(
            m.text,
            "api_version: 1\nprotected_web_paths:\n  - /a\n  - /b\n  - /owa\n"
        );
        let m = merge(
            "api_version: 1\nprotected_web_paths: []\n",
            &plan(&["/owa"]),
            true,
        )
        .unwrap();
        assert_eq!(m.text, "api_version: 1\nprotected_web_paths:\n  - /owa\n");
    }

    #[test]
    fn keeps_line_ends_headers_and_empty_lists() {
        let crlf = "api_version: 1\r\nprotected_web_paths:\r\n  - /a\r\n";
        let m = merge(crlf, &plan(&["/owa"]), true).unwrap();
        assert_eq!(
            m.text,
            "api_version: 1\r\nprotected_web_paths:\r\n  - /a\r\n  - /owa\r\n"
        );
        let m = merge(
            "\u{feff}%YAML 1.2\n---\nphp_version: 8.2\n",
            &plan(&["/owa"]),
            true,
        )
        .unwrap();
        let want = "\u{feff}%YAML 1.2\n---\napi_version: 1\nphp_version: 8.2\n\nprotected_web_paths:\n  - /owa\n";
        assert_eq!(m.text, want);
        for empty in [
            "protected_web_paths: # none yet\n",
            "protected_web_paths: ~\n",
        ] {
            let m = merge(&format!("api_version: 1\n{empty}"), &plan(&["/owa"]), true).unwrap();
            assert!(m.text.ends_with("  - /owa\n"), "{empty}: {}", m.text);
        }
    }

    #[test]
    fn refuses_bad_files() {
        for (text, want) in [
            ("api_version: 2\n", "api_version"),
            ("a: [\n", "not valid YAML"),
            ("- a\n- b\n", "not a YAML mapping"),
            ("protected_web_paths: /x\n", "not a list"),
        ] {
            let err = merge(text, &plan(&["/owa"]), true).unwrap_err().to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn refuses_what_is_costly_to_load_before_loading_it() {
        for (text, want) in [
            (
                "a: &a [x, x]\nb: [*a, *a]\n",
                "line 1: YAML anchors and aliases",
            ),
            ("api_version: 1\nw: &w {}\n", "line 2: YAML anchors"),
            (
                "api_version: 1\nprotected_web_paths:\n  - &p /a\n",
                "line 3:",
            ),
            (
                &format!("x: {}{}\n", "[".repeat(64), "]".repeat(64)),
                "deeper than 64",
            ),
            (&"#".repeat(MAX_PANTHEON_YML + 1), "over 1048576 bytes"),
        ] {
            let err = merge(text, &plan(&["/owa"]), true).unwrap_err().to_string();
            assert!(err.contains(want), "{text:.40}: {err}");
        }
        let nested = format!("x: {}{}\n", "[".repeat(63), "]".repeat(63));
        assert!(merge(&nested, &plan(&["/owa"]), true).is_ok());
        let quoted = "api_version: 1 # &a *a\nweb_docroot: \"*a &b\"\n";
        assert_eq!(
            merge(quoted, &plan(&["/owa"]), true).unwrap().added,
            ["/owa"]
        );
    }

    #[test]
    fn override_repeats_the_upstream_defaults_and_the_limit_holds() {
        let mut p = plan(&["/owa"]);
        p.upstream = Upstream::Drupal7;
        let m = merge("protected_web_paths_override: true\n", &p, true).unwrap();
        assert_eq!(
            m.added,
            ["/private", "/sites/default/files/private", "/owa"]
        );
        let full: String = (0..24).map(|i| format!("  - /p{i}\n")).collect();
        let m = merge(
            &format!("protected_web_paths:\n{full}"),
            &plan(&["/owa"]),
            true,
        )
        .unwrap();
        assert_eq!(m.over_limit, ["/owa"]);
        assert!(m.added.is_empty());
    }

    #[test]
    fn diff_shows_the_inserted_lines() {
        let d = diff("pantheon.yml", "a\nb\n", "a\nx\nb\n");
        assert_eq!(
            d,
            "--- pantheon.yml\n+++ pantheon.yml (noisegate)\n@@ -1,0 +2,1 @@\n+x\n"
        );
    }
}
