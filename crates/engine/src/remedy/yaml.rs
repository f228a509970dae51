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
fn key_line(lines: &[(&str, &str)], key: &str) -> Option<usize> {
    lines.iter().position(|(l, _)| {
        l.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with(':'))
    })
}

/// The lines of `text`, each as (its text, its own line ending: `\n`, `\r\n`, or empty for a
/// last line without one). Joined back they are `text`, byte for byte.
fn split_lines(text: &str) -> Vec<(&str, &str)> {
    text.split_inclusive('\n')
        .map(|l| {
            let body = l
                .strip_suffix('\n')
                .map_or(l, |b| b.strip_suffix('\r').unwrap_or(b));
            (body, &l[body.len()..])
        })
        .collect()
}

/// The line ending for new lines next to line `i`: its own, else the nearest one before it,
/// else `\n`.
fn ending_near<'a>(lines: &[(&str, &'a str)], i: usize) -> &'a str {
    lines[..=i.min(lines.len().saturating_sub(1))]
        .iter()
        .rev()
        .map(|l| l.1)
        .find(|e| !e.is_empty())
        .unwrap_or("\n")
}

/// One entry to insert: its comment line (unless plain) and its path.
type Item = (Option<String>, String);

/// Inserts `items` into the `protected_web_paths` list of `text`. Only bytes are added (and
/// an empty value, `~` or `[]`, taken out): every other byte of the file, comments and each
/// line's own ending included, stays as it was.
fn insert(text: &str, items: &[Item]) -> Result<String> {
    let lines = split_lines(text);
    let Some(k) = key_line(&lines, "protected_web_paths") else {
        let eol = ending_near(&lines, lines.len());
        let mut out = text.to_string();
        if !out.is_empty() && !out.ends_with('\n') {
            out.push_str(eol);
        }
        if lines.last().is_some_and(|l| !l.0.is_empty()) {
            out.push_str(eol);
        }
        out.push_str("protected_web_paths:");
        out.push_str(eol);
        for line in block_lines(items) {
            out.push_str(&format!("  {line}{eol}"));
        }
        return Ok(out);
    };
    let mut out: Vec<(String, &str)> = lines.iter().map(|(l, e)| (l.to_string(), *e)).collect();
    let (key, rest) = lines[k].0.split_once(':').unwrap_or((lines[k].0, ""));
    let value = rest.trim_start();
    let empty = ["~", "null", "Null", "NULL", "[]"]
        .into_iter()
        .chain(empty_flow(value))
        .find(|w| {
            value
                .strip_prefix(w)
                .is_some_and(|after| after.is_empty() || after.starts_with([' ', '\t']))
        });
    if let Some(word) = empty {
        // `protected_web_paths: ~  # none yet` -> `protected_web_paths:  # none yet`
        let after = &value[word.len()..];
        out[k].0 = match after.trim().is_empty() {
            true => format!("{key}:"),
            false => format!("{key}:{after}"),
        };
    } else if value.starts_with('[') {
        return flow_insert(text, &lines, k, items);
    } else if !value.is_empty() && !value.starts_with('#') {
        bail!("protected_web_paths is written in a form noisegate does not edit; add the entries by hand");
    }
    // The list's lines: indented items and comments until the next top-level line.
    let mut last_item = k;
    let mut indent = "  ".to_string();
    for (i, (l, _)) in lines.iter().enumerate().skip(k + 1) {
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
    let mut eol = out[last_item].1;
    let last_line = eol.is_empty();
    if last_line {
        eol = ending_near(&lines, last_item);
        out[last_item].1 = eol;
    }
    let mut new: Vec<(String, &str)> = block_lines(items)
        .into_iter()
        .map(|l| (format!("{indent}{l}"), eol))
        .collect();
    if last_line {
        if let Some(l) = new.last_mut() {
            l.1 = "";
        }
    }
    out.splice(last_item + 1..last_item + 1, new);
    Ok(out.into_iter().map(|(l, e)| l + e).collect())
}

/// The block-list lines of `items`: `# comment`, `- /path`.
fn block_lines(items: &[Item]) -> Vec<String> {
    let mut out = Vec::new();
    for (comment, path) in items {
        out.extend(comment.clone());
        out.push(format!("- {path}"));
    }
    out
}

/// `value` itself when it is an empty flow list on one line written with spaces (`[ ]`).
fn empty_flow(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('[')?;
    let close = inner.find(']')?;
    inner[..close]
        .trim_matches([' ', '\t'])
        .is_empty()
        .then(|| &value[..close + 2])
}

/// Whether `text` holds a CR that is not part of a CRLF (a line break to YAML, not to
/// [`split_lines`]).
fn lone_cr(text: &str) -> bool {
    let b = text.as_bytes();
    b.iter()
        .enumerate()
        .any(|(i, &c)| c == b'\r' && b.get(i + 1) != Some(&b'\n'))
}

/// The byte offset of the character at `index` in `text` (the YAML scanner counts characters).
fn byte_at(text: &str, index: usize) -> Option<usize> {
    text.char_indices()
        .map(|(b, _)| b)
        .chain([text.len()])
        .nth(index)
}

/// Where a scalar that starts at byte `start` ends: after its closing quote, or, for a plain
/// one, before a comment or the end of its line. `None` for a quoted one never closed.
fn scalar_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    match bytes.get(start) {
        Some(b'"') => {
            let mut i = start + 1;
            while i < bytes.len() {
                match bytes[i] {
                    b'\\' => i += 2,
                    b'"' => return Some(i + 1),
                    _ => i += 1,
                }
            }
            None
        }
        Some(b'\'') => {
            let mut i = start + 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return Some(i + 1);
                }
                i += 1;
            }
            None
        }
        _ => {
            let line = text[start..].split(['\r', '\n']).next().unwrap_or("");
            let line = [" #", "\t#"]
                .iter()
                .filter_map(|c| line.find(c))
                .min()
                .map_or(line, |at| &line[..at]);
            Some(start + line.trim_end().len())
        }
    }
}

/// Inserts `items` into the flow list (`[/a, /b]`) that starts on line `k`, before its `]`:
/// on that line when the list is on one line (without the count comments, which have no
/// place there), else as lines of their own with the list's indentation. Nothing of the
/// list is rewritten: its comments and line ends stay.
fn flow_insert(text: &str, lines: &[(&str, &str)], k: usize, items: &[Item]) -> Result<String> {
    use yaml_rust2::scanner::{Scanner, TokenType};
    let refuse = || {
        anyhow!("protected_web_paths is written in a form noisegate does not edit; add the entries by hand")
    };
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let body = &text[bom..];
    let mut tokens = Scanner::new(body.chars())
        .skip_while(|t| !(t.1 == TokenType::FlowSequenceStart && t.0.line() == k + 1));
    tokens.next().ok_or_else(refuse)?;
    let (mut depth, mut prev, mut last_item, mut close) =
        (1usize, TokenType::FlowSequenceStart, None, None);
    for t in tokens {
        match t.1 {
            TokenType::FlowSequenceStart | TokenType::FlowMappingStart => depth += 1,
            TokenType::FlowSequenceEnd | TokenType::FlowMappingEnd => depth -= 1,
            TokenType::Scalar(..) if depth == 1 => last_item = Some(t.0),
            _ => {}
        }
        if depth == 0 {
            close = Some(t.0);
            break;
        }
        prev = t.1;
    }
    let close = close.ok_or_else(refuse)?;
    let at = |m: yaml_rust2::scanner::Marker| byte_at(body, m.index()).map(|b| b + bom);
    let close_at = at(close).ok_or_else(refuse)?;
    let trailing_comma = prev == TokenType::FlowEntry;
    let needs_comma = !matches!(prev, TokenType::FlowEntry | TokenType::FlowSequenceStart);
    let paths: Vec<&str> = items.iter().map(|i| i.1.as_str()).collect();
    let mut out = text.to_string();
    // Back over the blanks before `]`, to right after the last item or comma.
    let before = text[..close_at].trim_end_matches([' ', '\t']).len();
    // The scanner's lines are ours unless a lone CR broke one: then nothing is edited.
    let close_line = close.line() - 1;
    if close_line < k || close_line >= lines.len() || text.contains('\r') && lone_cr(text) {
        return Err(refuse());
    }
    if close_line == k {
        let lead = match (needs_comma, text[..before].ends_with(',')) {
            (true, _) => ", ",
            (false, true) => " ",
            (false, false) => "",
        };
        out.insert_str(before, &format!("{lead}{}", paths.join(", ")));
        return Ok(out);
    }
    let item_line = last_item
        .map(|m| m.line() - 1)
        .filter(|&l| l > k && l < lines.len());
    let indent = match item_line {
        Some(l) => {
            let l = lines[l].0;
            l[..l.len() - l.trim_start().len()].to_string()
        }
        None => "  ".to_string(),
    };
    let mut new = Vec::new();
    for (n, (comment, path)) in items.iter().enumerate() {
        new.extend(comment.iter().map(|c| format!("{indent}{c}")));
        let comma = if n + 1 < items.len() || trailing_comma {
            ","
        } else {
            ""
        };
        new.push(format!("{indent}{path}{comma}"));
    }
    if text[..before].ends_with('\n') {
        // `]` opens its line: the new lines go before it, and the last item gets its comma.
        let eol = lines[close_line - 1].1;
        let block: String = new.iter().map(|l| format!("{l}{eol}")).collect();
        out.insert_str(before, &block);
        if needs_comma {
            let item = last_item.ok_or_else(refuse)?;
            let end = scalar_end(text, at(item).ok_or_else(refuse)?).ok_or_else(refuse)?;
            out.insert(end, ',');
        }
    } else {
        let eol = lines[k].1;
        let lead = if needs_comma { "," } else { "" };
        let block: String = new.iter().map(|l| format!("{eol}{l}")).collect();
        out.insert_str(before, &format!("{lead}{block}"));
    }
    Ok(out)
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
        let comment = (!plain && e.requests > 0).then(|| e.comment());
        items.push((comment, e.path.clone()));
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
    let mut at = 0;
    for line in body.split_inclusive('\n') {
        let t = line.trim_end();
        if !(t.starts_with('%') || t == "---") {
            break;
        }
        at += line.len();
    }
    // The new line ends as the line it goes before does.
    let eol = split_lines(&body[at..])
        .first()
        .map(|l| l.1)
        .filter(|e| !e.is_empty())
        .or_else(|| split_lines(&body[..at]).last().map(|l| l.1))
        .unwrap_or("\n");
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
            "api_version: 1\nprotected_web_paths: [/a, /b, /owa]\n"
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
    fn keeps_mixed_line_ends_byte_for_byte() {
        let mixed = "# a\r\napi_version: 1\nprotected_web_paths:\r\n  - /a\n  - /b\r\nx: 1\n";
        let m = merge(mixed, &plan(&["/owa"]), true).unwrap();
        assert_eq!(
            m.text,
            "# a\r\napi_version: 1\nprotected_web_paths:\r\n  - /a\n  - /b\r\n  - /owa\r\nx: 1\n"
        );
        let m = merge("x: 1\r\ny: 2\n", &plan(&["/owa"]), true).unwrap();
        assert_eq!(
            m.text,
            "api_version: 1\r\nx: 1\r\ny: 2\n\nprotected_web_paths:\n  - /owa\n"
        );
        let m = merge("protected_web_paths:\r\n  - /a", &plan(&["/owa"]), true).unwrap();
        assert_eq!(
            m.text,
            "api_version: 1\r\nprotected_web_paths:\r\n  - /a\r\n  - /owa"
        );
    }

    #[test]
    fn flow_lists_keep_their_comments_and_form() {
        let one = "protected_web_paths: [/a, '/b #x' ] # keep\nz: 1\n";
        let m = merge(one, &plan(&["/owa", "/ews"]), false).unwrap();
        assert!(
            m.text
                .ends_with("protected_web_paths: [/a, '/b #x', /owa, /ews ] # keep\nz: 1\n"),
            "{}",
            m.text
        );
        let multi = "protected_web_paths: [ # mail\r\n    /a,   # first\n    \"/b\"  # second\r\n]  # end\nz: 1\n";
        let m = merge(multi, &plan(&["/owa"]), false).unwrap();
        assert_eq!(
            m.text,
            "api_version: 1\r\nprotected_web_paths: [ # mail\r\n    /a,   # first\n    \"/b\",  # second\r\n    # 3 requests (autodiscover)\r\n    /owa\r\n]  # end\nz: 1\n"
        );
        let trailing = "protected_web_paths: [\n  /a,\n  /b]\n";
        let m = merge(trailing, &plan(&["/owa"]), true).unwrap();
        assert!(m.text.ends_with("[\n  /a,\n  /b,\n  /owa]\n"), "{}", m.text);
        let m = merge(trailing, &plan(&["/owa", "/ews"]), false).unwrap();
        assert!(
            m.text.ends_with(
                "[\n  /a,\n  /b,\n  # 3 requests (autodiscover)\n  /owa,\n  # 3 requests (autodiscover)\n  /ews]\n"
            ),
            "{}",
            m.text
        );
        let comma = "protected_web_paths: [/a, # one\n  ]\n";
        let m = merge(comma, &plan(&["/owa", "/ews"]), true).unwrap();
        assert!(
            m.text.ends_with("[/a, # one\n  /owa,\n  /ews,\n  ]\n"),
            "{}",
            m.text
        );
        for lone in [
            "protected_web_paths: [\r  /a,\r  /b\r]\n",
            "protected_web_paths: [\n  /a,\r\r  /b]\n",
        ] {
            let err = merge(lone, &plan(&["/owa"]), true).unwrap_err();
            assert!(err.to_string().contains("does not edit"), "{err}");
        }
        let empty = "protected_web_paths: [ ] # none yet\n";
        let m = merge(empty, &plan(&["/owa"]), true).unwrap();
        assert!(
            m.text
                .ends_with("protected_web_paths: # none yet\n  - /owa\n"),
            "{}",
            m.text
        );
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
