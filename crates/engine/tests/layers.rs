//! The engine's modules depend on each other in one direction: no cycle among the top-level
//! modules, and none among files (a parent module that uses a child's items while the child
//! uses the parent's counts as a cycle; declaring or re-exporting a child does not). Read
//! from the source, so a new `use` that closes a loop fails here with the loop named.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

type Module = Vec<String>;

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn module_of(root: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Module = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// The code of a file without comments and without its trailing unit-test module (tests may
/// reach across modules).
fn code(text: &str) -> String {
    let tests = ["#[cfg(test)]", "#[cfg(all(test"]
        .iter()
        .filter_map(|m| text.find(m))
        .min();
    let text = tests.map_or(text, |i| &text[..i]);
    text.lines()
        .map(|l| l.find("//").map_or(l, |i| &l[..i]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The longest known module that `path` (module names, then maybe an item) starts with.
fn resolve(mods: &BTreeSet<Module>, path: &[String]) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|k| path[..k].to_vec())
        .find(|m| mods.contains(m))
}

/// `prefix::a::b::C` paths in `line`, as their segments after the prefix.
fn paths_after(line: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let seg: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        out.push(
            seg.split("::")
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        );
    }
    out
}

fn edges(root: &Path) -> BTreeMap<Module, BTreeSet<Module>> {
    let mut files = Vec::new();
    sources(root, &mut files);
    let mods: BTreeSet<Module> = files.iter().map(|f| module_of(root, f)).collect();
    let mut out = BTreeMap::new();
    for f in &files {
        let m = module_of(root, f);
        let parent: Module = m[..m.len().saturating_sub(1)].to_vec();
        let mut to = BTreeSet::new();
        for line in code(&std::fs::read_to_string(f).unwrap()).lines() {
            let t = line.trim_start();
            let declares = t.starts_with("mod ") || t.starts_with("pub mod ");
            let reexports = (t.starts_with("pub use ") || t.starts_with("pub(crate) use "))
                && !t.contains("crate::")
                && !t.contains("super::");
            if declares || reexports {
                continue;
            }
            for p in paths_after(line, "crate::") {
                to.extend(resolve(&mods, &p));
            }
            for p in paths_after(line, "super::") {
                to.extend(resolve(&mods, &[parent.clone(), p].concat()));
            }
            // A parent naming one of its children (`targets::nginx(...)`, `use child::X`).
            for word in line.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':')) {
                if let Some((head, _)) = word.split_once("::") {
                    let child = [m.clone(), vec![head.to_string()]].concat();
                    if mods.contains(&child) {
                        to.insert(child);
                    }
                }
            }
        }
        to.remove(&m);
        out.insert(m, to);
    }
    out
}

/// A cycle in `g`, if any, as the modules along it.
fn cycle(g: &BTreeMap<Module, BTreeSet<Module>>) -> Option<Vec<Module>> {
    fn visit(
        g: &BTreeMap<Module, BTreeSet<Module>>,
        v: &Module,
        state: &mut BTreeMap<Module, u8>,
        stack: &mut Vec<Module>,
    ) -> Option<Vec<Module>> {
        state.insert(v.clone(), 1);
        stack.push(v.clone());
        for w in g.get(v).into_iter().flatten() {
            match state.get(w) {
                Some(1) => {
                    let at = stack.iter().position(|s| s == w).unwrap();
                    return Some(stack[at..].to_vec());
                }
                Some(_) => {}
                None => {
                    if let Some(c) = visit(g, w, state, stack) {
                        return Some(c);
                    }
                }
            }
        }
        stack.pop();
        state.insert(v.clone(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for v in g.keys() {
        if !state.contains_key(v) {
            if let Some(c) = visit(g, v, &mut state, &mut Vec::new()) {
                return Some(c);
            }
        }
    }
    None
}

fn shown(c: &[Module]) -> String {
    let names: Vec<String> = c.iter().map(|m| m.join("::")).collect();
    format!("{} -> {}", names.join(" -> "), names[0])
}

#[test]
fn modules_depend_in_one_direction() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = edges(&root);
    assert!(files.len() > 20, "the sources were not found");
    if let Some(c) = cycle(&files) {
        panic!("a cycle among files: {}", shown(&c));
    }
    let mut top: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
    for (from, to) in &files {
        let key = |m: &Module| m[..m.len().min(1)].to_vec();
        let set = top.entry(key(from)).or_default();
        set.extend(to.iter().map(key).filter(|t| *t != key(from)));
    }
    if let Some(c) = cycle(&top) {
        panic!("a cycle among top-level modules: {}", shown(&c));
    }
}

#[test]
fn the_checker_sees_a_cycle() {
    let m = |s: &str| vec![s.to_string()];
    let g: BTreeMap<Module, BTreeSet<Module>> = [
        (m("a"), [m("b")].into()),
        (m("b"), [m("c")].into()),
        (m("c"), [m("a")].into()),
    ]
    .into();
    assert_eq!(shown(&cycle(&g).unwrap()), "a -> b -> c -> a");
    let line = "use crate::report::model::SCHEMA; x::y";
    assert_eq!(
        paths_after(line, "crate::")[0],
        ["report", "model", "SCHEMA"]
    );
}

/// The names the crate root re-exports (outside the opt-in `internals` module).
fn public_names(lib: &str) -> Vec<String> {
    let root = lib.split("pub mod internals").next().unwrap();
    let mut names = Vec::new();
    for stmt in root.split(';') {
        let Some(at) = stmt.find("\npub use ") else {
            continue;
        };
        let rest: String = stmt[at + 9..]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let items = match rest.find('{') {
            Some(i) => rest[i + 1..].trim_end_matches('}').to_string(),
            None => rest.rsplit("::").next().unwrap().to_string(),
        };
        let items = items.replace(", }", "");
        for item in items.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            names.push(item.rsplit(" as ").next().unwrap().to_string());
        }
    }
    names
}

#[test]
fn the_public_api_stays_small() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let names = public_names(&lib);
    assert!(names.len() > 30, "the re-exports were not read: {names:?}");
    assert!(names.contains(&"scan".to_string()), "{names:?}");
    assert!(names.contains(&"build_report".to_string()), "{names:?}");
    assert!(
        names.len() < 80,
        "{} public items: keep the API small ({names:?})",
        names.len()
    );
    assert!(lib.contains("#![deny(missing_docs)]"));
}
