//! Expansion of directory arguments into the log files under them.
//!
//! This module owns three decisions: which files under a directory are read (the default
//! access-log name rule, or a `--glob` on the file name), the order they are read in (stable,
//! oldest rotation first, independent of `readdir` order), and what is said about the rest
//! (one note per directory argument, errors for unreadable directories). It does not open any
//! file: explicit file arguments are passed through untouched, so opening errors are reported
//! where every input is opened.

use std::cmp::Reverse;
use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// How many distinct skipped names a note lists before it says `…`.
const NOTE_NAMES: usize = 3;

/// The files found for the command-line paths, in reading order, and what was left out.
///
/// A file found under a directory argument is in `files`; a note about what was skipped is in
/// `notes`; a directory (or directory entry) that could not be read is in `errors` with its
/// path. Errors do not stop the walk.
#[derive(Debug, Default)]
pub struct Discovery {
    /// Files to read, in order, each once.
    pub files: Vec<PathBuf>,
    /// Human-readable notes: skipped files per directory argument, symlinked directories not
    /// followed, directories with no files, an unusable glob.
    pub notes: Vec<String>,
    /// Directories or entries that could not be read, with their path.
    pub errors: Vec<(PathBuf, io::Error)>,
}

/// Expands each argument: a file stays as is (even if its name does not look like a log); a
/// directory is walked recursively.
///
/// An argument that is not a directory (a file, `-`, or a path that does not exist) is kept
/// as given, so that opening it reports any error. Under a directory:
///
/// - `glob`: when `Some`, a file is taken iff its file *name* matches the glob (see
///   [`check_glob`]); when `None`, iff the name looks like an access log (`access.log`,
///   `nginx-access.log`, their rotations). Each directory argument with skipped files gets
///   one note naming a few of them. An invalid glob takes no
///   file from any directory and adds a note (callers should [`check_glob`] first).
/// - Hidden entries (name starting with `.`) are skipped silently. Symlinks to files are
///   followed; symlinked directories are not (no cycles) and get a note. Other special files
///   (FIFOs, sockets) are skipped with a note.
/// - Order: within a directory, files first (by base name; for one log, rotated files oldest
///   first and the live file last: `x.log-20240301.gz`, `x.log-20240302.gz`, `x.log`, or
///   `x.log.3.gz`, `x.log.2.gz`, `x.log.1`, `x.log`), then subdirectories in name order, each
///   walked the same way. The result does not depend on `readdir` order.
/// - A file reached twice (same path, or the same file by another path or symlink) appears
///   once, at its first position.
pub fn discover(args: &[PathBuf], glob: Option<&str>) -> Discovery {
    let mut walker = Walker::new(glob);
    for arg in args {
        walker.argument(arg);
    }
    walker.out
}

/// True if a file name looks like an access log by the default rule.
///
/// The rule (ASCII case-insensitive): the name contains `access` and, after stripping an
/// optional `.gz` and then an optional rotation suffix (`.N`, `-YYYYMMDD` or `-YYYYMMDDHH`),
/// ends with `.log` or `_log`. So `nginx-access.log`, `nginx-access.log-20240301.gz`,
/// `access.log.1`, `access.log.2.gz`, `access.log.gz`, `access_log`, `site.access.log` are
/// access logs; `nginx-error.log`, `php-slow.log`, `access.log.bak`, `README` are not.
pub(crate) fn looks_like_access_log(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    if !lower.contains("access") {
        return false;
    }
    let parts = split_rotation(&lower);
    parts.base.ends_with(".log") || parts.base.ends_with("_log")
}

/// Validates a `--glob` up front; `Err` is a message naming the position of the error.
///
/// The glob matches a whole file name (not a path, so `/` is refused): `*` any run of
/// characters, `?` one character, `[abc]` one of a set, `[a-z]` a range, `[!x]` or `[^x]` one
/// character not in the set (`]` first in a set is literal), `\` makes the next character
/// literal. Matching is case-sensitive. Positions are 1-based characters.
pub fn check_glob(glob: &str) -> Result<(), String> {
    Glob::parse(glob).map(|_| ())
}

/// Which files under a directory are taken.
enum Selector {
    /// [`looks_like_access_log`].
    Default,
    /// A valid `--glob`.
    Glob(Glob, String),
    /// An invalid `--glob`: nothing is taken.
    Invalid,
}

impl Selector {
    fn takes(&self, name: &str) -> bool {
        match self {
            Selector::Default => looks_like_access_log(name),
            Selector::Glob(glob, _) => glob.matches(name),
            Selector::Invalid => false,
        }
    }

    /// The end of the skipped-files note: why they were skipped.
    fn reason(&self, count: usize) -> String {
        let (verb, noun) = if count == 1 {
            ("does", "an access log")
        } else {
            ("do", "access logs")
        };
        match self {
            Selector::Glob(_, text) => format!("{verb} not match --glob `{text}`"),
            Selector::Invalid => "could not be matched: the --glob is invalid".to_string(),
            Selector::Default => format!("{verb} not look like {noun}"),
        }
    }
}

/// Files skipped under one directory argument.
#[derive(Default)]
struct Skipped {
    count: usize,
    names: Vec<String>,
    more: bool,
}

impl Skipped {
    fn add(&mut self, name: &str) {
        self.count += 1;
        if self.names.iter().any(|n| n == name) {
            return;
        }
        if self.names.len() < NOTE_NAMES {
            self.names.push(name.to_string());
        } else {
            self.more = true;
        }
    }
}

/// The entries of one directory, sorted.
#[derive(Default)]
struct Listing {
    /// Files (and symlinks to files), with their lossy UTF-8 names.
    files: Vec<(PathBuf, String)>,
    dirs: Vec<PathBuf>,
    /// Entries left out with a note (symlinked directories, special files), and why.
    left_out: Vec<(PathBuf, &'static str)>,
}

/// The walk's state: the result so far and the files already taken.
struct Walker {
    selector: Selector,
    seen: HashSet<PathBuf>,
    out: Discovery,
}

impl Walker {
    fn new(glob: Option<&str>) -> Self {
        let mut out = Discovery::default();
        let selector = match glob.map(|g| (g, Glob::parse(g))) {
            None => Selector::Default,
            Some((text, Ok(glob))) => Selector::Glob(glob, text.to_string()),
            Some((_, Err(message))) => {
                out.notes.push(format!(
                    "invalid --glob ({message}); no file is taken from directories"
                ));
                Selector::Invalid
            }
        };
        Walker {
            selector,
            seen: HashSet::new(),
            out,
        }
    }

    /// One command-line path: `-` and non-directories are kept, directories are walked.
    fn argument(&mut self, arg: &Path) {
        let is_dir = arg != Path::new("-") && fs::metadata(arg).is_ok_and(|m| m.is_dir());
        if !is_dir {
            self.take(arg.to_path_buf());
            return;
        }
        let mut skipped = Skipped::default();
        let before = self.out.files.len();
        self.walk(arg, &mut skipped);
        let shown = display_dir(arg);
        if skipped.count > 0 {
            let reason = self.selector.reason(skipped.count);
            let mut names = skipped.names.join(", ");
            if skipped.more {
                names.push_str(", …");
            }
            let plural = if skipped.count == 1 { "" } else { "s" };
            let hint = match self.selector {
                Selector::Default => "; use --glob to choose",
                _ => "",
            };
            self.out.notes.push(format!(
                "{shown}: skipped {} file{plural} that {reason} ({names}){hint}",
                skipped.count
            ));
        } else if self.out.files.len() == before {
            self.out.notes.push(format!("{shown}: no files found"));
        }
    }

    /// Adds a file unless the same file was already taken.
    fn take(&mut self, path: PathBuf) {
        let key = if path == Path::new("-") {
            path.clone()
        } else {
            fs::canonicalize(&path).unwrap_or_else(|_| path.clone())
        };
        if self.seen.insert(key) {
            self.out.files.push(path);
        }
    }

    /// Files of `dir` first, then its subdirectories, depth first.
    fn walk(&mut self, dir: &Path, skipped: &mut Skipped) {
        let Some(listing) = self.list(dir) else {
            return;
        };
        for (path, name) in listing.files {
            if self.selector.takes(&name) {
                self.take(path);
            } else {
                skipped.add(&name);
            }
        }
        for sub in listing.dirs {
            self.walk(&sub, skipped);
        }
    }

    /// Reads and sorts one directory; `None` (with an error recorded) if it cannot be read.
    fn list(&mut self, dir: &Path) -> Option<Listing> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) => {
                self.out.errors.push((dir.to_path_buf(), e));
                return None;
            }
        };
        let mut listing = Listing::default();
        for entry in entries {
            match entry {
                Ok(entry) => self.classify(&entry, &mut listing),
                Err(e) => self.out.errors.push((dir.to_path_buf(), e)),
            }
        }
        listing
            .files
            .sort_by_cached_key(|(path, name)| file_order(name, path));
        listing
            .dirs
            .sort_by(|a, b| a.file_name().cmp(&b.file_name()));
        listing.left_out.sort();
        for (path, why) in listing.left_out.drain(..) {
            self.out.notes.push(format!("{}: {why}", path.display()));
        }
        Some(listing)
    }

    /// Puts one directory entry into the listing, or notes why it is left out.
    fn classify(&mut self, entry: &fs::DirEntry, listing: &mut Listing) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            return;
        }
        let path = entry.path();
        let file_type = match entry.file_type() {
            Ok(t) => t,
            Err(e) => {
                self.out.errors.push((path, e));
                return;
            }
        };
        let special = "not a regular file, skipped";
        if file_type.is_dir() {
            listing.dirs.push(path);
        } else if file_type.is_file() {
            listing.files.push((path, name));
        } else if file_type.is_symlink() {
            match fs::metadata(&path) {
                Ok(m) if m.is_dir() => listing
                    .left_out
                    .push((path, "symlinked directory not followed")),
                Ok(m) if !m.is_file() => listing.left_out.push((path, special)),
                // A symlink to a file, or a dangling one (opening it reports the error).
                _ => listing.files.push((path, name)),
            }
        } else {
            listing.left_out.push((path, special));
        }
    }
}

/// A directory argument as shown in notes: with a trailing `/`.
fn display_dir(dir: &Path) -> String {
    let mut shown = dir.display().to_string();
    if !shown.ends_with('/') {
        shown.push('/');
    }
    shown
}

/// A file name taken apart: `base` + optional rotation + optional `.gz`.
#[derive(Debug, PartialEq, Eq)]
struct Rotation<'a> {
    base: &'a str,
    rotated: Rotated,
    gz: bool,
}

/// The rotation suffix of a file name.
#[derive(Debug, PartialEq, Eq)]
enum Rotated {
    /// No suffix.
    No,
    /// `-YYYYMMDD`, `-YYYYMMDDHH` (or the same digits after a `.`), as `YYYYMMDDHH`.
    Date(u64),
    /// `.N`: a higher number is older.
    Number(u64),
}

/// Splits a name into base, rotation suffix and `.gz` (case as given; callers lowercase).
fn split_rotation(name: &str) -> Rotation<'_> {
    let (rest, gz) = match name.strip_suffix(".gz") {
        Some(rest) => (rest, true),
        None => (name, false),
    };
    let Some(cut) = rest.rfind(['.', '-']) else {
        return Rotation {
            base: rest,
            rotated: Rotated::No,
            gz,
        };
    };
    let (base, digits) = (&rest[..cut], &rest[cut + 1..]);
    let numeric = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    let value = digits.parse::<u64>().ok();
    let rotated = match (numeric, digits.len(), value, &rest[cut..cut + 1]) {
        (true, 8, Some(v), _) => Rotated::Date(v * 100),
        (true, 10, Some(v), _) => Rotated::Date(v),
        (true, _, Some(v), ".") => Rotated::Number(v),
        _ => Rotated::No,
    };
    if rotated == Rotated::No || base.is_empty() {
        return Rotation {
            base: rest,
            rotated: Rotated::No,
            gz,
        };
    }
    Rotation { base, rotated, gz }
}

/// Sort key of a file in a directory: by base name, then oldest first (dated ascending,
/// numbered descending, an unsuffixed `.gz`, the live file), then by full name.
type FileOrder = (String, u8, Reverse<u64>, u64, OsString);

fn file_order(name: &str, path: &Path) -> FileOrder {
    let parts = split_rotation(name);
    let (class, number, date) = match parts.rotated {
        Rotated::Date(d) => (0, 0, d),
        Rotated::Number(n) => (1, n, 0),
        Rotated::No if parts.gz => (2, 0, 0),
        Rotated::No => (3, 0, 0),
    };
    let full = path.file_name().unwrap_or_default().to_os_string();
    (parts.base.to_string(), class, Reverse(number), date, full)
}

/// The family of a log file: its directory and its name without rotation suffix or `.gz`
/// (`access.log` for `access.log`, `access.log.2.gz` and `access.log-20240301.gz`), and whether
/// the name is the live file's (no suffix at all).
pub(crate) fn family(path: &Path) -> (PathBuf, String, bool) {
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let parts = split_rotation(&name);
    let live = parts.rotated == Rotated::No && !parts.gz;
    (dir, parts.base.to_string(), live)
}

/// The rotated siblings of the live log `path` in its directory (`.N`, `.N.gz`, `-DATE`,
/// `-DATE.gz`, `.gz`), oldest first; none for a name that is itself rotated.
pub(crate) fn rotations(path: &Path) -> Vec<PathBuf> {
    let (dir, base, live) = family(path);
    let Some(name) = path.file_name() else {
        return vec![];
    };
    let Ok(entries) = fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &dir
    }) else {
        return vec![];
    };
    if !live {
        return vec![];
    }
    let mut found: Vec<(FileOrder, PathBuf)> = entries
        .flatten()
        .filter(|e| e.file_name() != name && e.path().is_file())
        .filter_map(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            let parts = split_rotation(&n);
            let rotated = parts.rotated != Rotated::No || parts.gz;
            (rotated && parts.base == base).then(|| (file_order(&n, &e.path()), dir.join(&n)))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, p)| p).collect()
}

/// One element of a compiled glob.
#[derive(Debug, PartialEq, Eq)]
enum Token {
    Literal(char),
    One,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Token {
    /// Whether this single-character token accepts `c` (`Star` is handled by the matcher).
    fn accepts(&self, c: char) -> bool {
        match self {
            Token::Literal(l) => *l == c,
            Token::One => true,
            Token::Star => false,
            Token::Class { negated, ranges } => {
                ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != *negated
            }
        }
    }
}

/// A compiled file-name glob.
#[derive(Debug)]
pub(crate) struct Glob {
    tokens: Vec<Token>,
}

impl Glob {
    pub(crate) fn parse(glob: &str) -> Result<Glob, String> {
        if glob.is_empty() {
            return Err("empty glob".to_string());
        }
        let chars: Vec<char> = glob.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let token = match chars[i] {
                '*' => Token::Star,
                '?' => Token::One,
                '[' => {
                    let (token, next) = parse_class(&chars, i, glob)?;
                    tokens.push(token);
                    i = next;
                    continue;
                }
                '\\' => match chars.get(i + 1) {
                    Some(&c) => {
                        i += 1;
                        Token::Literal(c)
                    }
                    None => return Err(glob_error("trailing `\\`", i, glob)),
                },
                '/' => return Err(glob_error("`/` (the glob matches file names)", i, glob)),
                c => Token::Literal(c),
            };
            if !(token == Token::Star && tokens.last() == Some(&Token::Star)) {
                tokens.push(token);
            }
            i += 1;
        }
        Ok(Glob { tokens })
    }

    /// Whole-name match, `*` backtracking to its latest position only (linear-ish, no
    /// exponential blowup).
    pub(crate) fn matches(&self, name: &str) -> bool {
        let name: Vec<char> = name.chars().collect();
        let tokens = &self.tokens;
        let (mut t, mut n) = (0, 0);
        let mut star: Option<(usize, usize)> = None;
        while n < name.len() {
            match tokens.get(t) {
                Some(Token::Star) => {
                    star = Some((t, n));
                    t += 1;
                    continue;
                }
                Some(token) if token.accepts(name[n]) => {
                    t += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
            let Some((st, sn)) = star else {
                return false;
            };
            star = Some((st, sn + 1));
            t = st + 1;
            n = sn + 1;
        }
        tokens[t..].iter().all(|token| *token == Token::Star)
    }
}

/// Parses `[...]` starting at `chars[start] == '['`; returns the token and the index after `]`.
fn parse_class(chars: &[char], start: usize, glob: &str) -> Result<(Token, usize), String> {
    let unclosed = || glob_error("unclosed `[`", start, glob);
    let mut i = start + 1;
    let negated = matches!(chars.get(i), Some('!' | '^'));
    if negated {
        i += 1;
    }
    let first = i;
    let mut ranges = Vec::new();
    loop {
        let mut lo = *chars.get(i).ok_or_else(unclosed)?;
        if lo == ']' && i > first {
            return Ok((Token::Class { negated, ranges }, i + 1));
        }
        if lo == '\\' {
            i += 1;
            lo = *chars.get(i).ok_or_else(unclosed)?;
        }
        match (chars.get(i + 1), chars.get(i + 2)) {
            (Some('-'), Some(&hi)) if hi != ']' => {
                if hi < lo {
                    return Err(glob_error(&format!("empty range `{lo}-{hi}`"), i, glob));
                }
                ranges.push((lo, hi));
                i += 3;
            }
            _ => {
                ranges.push((lo, lo));
                i += 1;
            }
        }
    }
}

fn glob_error(what: &str, index: usize, glob: &str) -> String {
    format!("{what} at position {} in glob `{glob}`", index + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    /// Creates each relative path (with its parent directories) as a small file.
    fn touch(root: &Path, files: &[&str]) {
        for f in files {
            let path = root.join(f);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(&path, b"x\n").unwrap();
        }
    }

    /// The found files relative to `root`, as strings with `/`.
    fn rel(d: &Discovery, root: &Path) -> Vec<String> {
        d.files
            .iter()
            .map(|p| {
                let r = p.strip_prefix(root).unwrap_or(p);
                r.to_string_lossy().replace('\\', "/")
            })
            .collect()
    }

    const PANTHEON: &[&str] = &[
        "app_server_B/logs/nginx/nginx-error.log",
        "app_server_A/logs/nginx/nginx-access.log",
        "app_server_B/logs/nginx/nginx-access.log-20240302.gz",
        "app_server_A/logs/nginx/nginx-access.log-20240302.gz",
        "app_server_A/logs/nginx/nginx-error.log",
        "app_server_B/logs/nginx/nginx-access.log",
        "app_server_A/logs/nginx/nginx-access.log-20240301.gz",
        "app_server_B/logs/nginx/nginx-access.log-20240301.gz",
        "app_server_A/logs/php/php-error.log",
    ];

    #[test]
    fn pantheon_layout_order_and_note() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), PANTHEON);
        let d = discover(&[dir.path().to_path_buf()], None);
        assert_eq!(
            rel(&d, dir.path()),
            [
                "app_server_A/logs/nginx/nginx-access.log-20240301.gz",
                "app_server_A/logs/nginx/nginx-access.log-20240302.gz",
                "app_server_A/logs/nginx/nginx-access.log",
                "app_server_B/logs/nginx/nginx-access.log-20240301.gz",
                "app_server_B/logs/nginx/nginx-access.log-20240302.gz",
                "app_server_B/logs/nginx/nginx-access.log",
            ]
        );
        assert!(d.errors.is_empty());
        let expected = format!(
            "{}/: skipped 3 files that do not look like access logs \
             (nginx-error.log, php-error.log); use --glob to choose",
            dir.path().display()
        );
        assert_eq!(d.notes, [expected]);
    }

    #[test]
    fn numeric_rotation_order() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "access.log",
            "access.log.10.gz",
            "access.log.1",
            "access.log.3.gz",
            "access.log.2.gz",
            "other_access.log.1",
            "other_access.log",
        ];
        touch(dir.path(), &names);
        let d = discover(&[dir.path().to_path_buf()], None);
        assert_eq!(
            rel(&d, dir.path()),
            [
                "access.log.10.gz",
                "access.log.3.gz",
                "access.log.2.gz",
                "access.log.1",
                "access.log",
                "other_access.log.1",
                "other_access.log",
            ]
        );
        assert!(d.notes.is_empty(), "{:?}", d.notes);
    }

    #[test]
    fn hourly_dates_unsuffixed_gz_and_files_before_subdirs() {
        let dir = tempfile::tempdir().unwrap();
        let names = [
            "z/access.log",
            "access.log",
            "access.log.gz",
            "access.log-2024030112.gz",
            "access.log-20240301.gz",
            "access.log-2024030200",
            "app_server_10.0.0.2/access.log",
            "app_server_10.0.0.1/access.log",
        ];
        touch(dir.path(), &names);
        let d = discover(&[dir.path().to_path_buf()], None);
        assert_eq!(
            rel(&d, dir.path()),
            [
                "access.log-20240301.gz",
                "access.log-2024030112.gz",
                "access.log-2024030200",
                "access.log.gz",
                "access.log",
                "app_server_10.0.0.1/access.log",
                "app_server_10.0.0.2/access.log",
                "z/access.log",
            ]
        );
    }

    #[test]
    fn glob_picks_only_matching_names() {
        let dir = tempfile::tempdir().unwrap();
        touch(
            dir.path(),
            &["a.txt", "sub/b.txt", "access.log", "c.txt.gz"],
        );
        let d = discover(&[dir.path().to_path_buf()], Some("*.txt"));
        assert_eq!(rel(&d, dir.path()), ["a.txt", "sub/b.txt"]);
        assert_eq!(d.notes.len(), 1);
        assert!(
            d.notes[0].ends_with(
                "skipped 2 files that do not match --glob `*.txt` (access.log, c.txt.gz)"
            ),
            "{}",
            d.notes[0]
        );
    }

    #[test]
    fn explicit_files_kept_even_if_not_log_like() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), &["README", "notes.bak"]);
        let readme = dir.path().join("README");
        let missing = dir.path().join("missing.log");
        let args = [readme.clone(), PathBuf::from("-"), missing.clone()];
        let d = discover(&args, None);
        assert_eq!(d.files, [readme, PathBuf::from("-"), missing]);
        assert!(d.notes.is_empty() && d.errors.is_empty());
    }

    #[test]
    fn duplicates_appear_once_at_first_position() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), &["access.log", "access.log.1"]);
        let live = dir.path().join("access.log");
        let dotted = dir.path().join(".").join("access.log");
        let args = [live.clone(), dir.path().to_path_buf(), dotted, live.clone()];
        let d = discover(&args, None);
        assert_eq!(d.files, [live, dir.path().join("access.log.1")]);
    }

    #[test]
    fn hidden_entries_skipped_silently() {
        let dir = tempfile::tempdir().unwrap();
        touch(
            dir.path(),
            &[
                ".access.log",
                ".git/access.log",
                "logs/.old/access.log",
                "access.log",
            ],
        );
        let d = discover(&[dir.path().to_path_buf()], None);
        assert_eq!(rel(&d, dir.path()), ["access.log"]);
        assert!(d.notes.is_empty(), "{:?}", d.notes);
    }

    #[test]
    fn order_does_not_depend_on_creation_order() {
        let mut results = Vec::new();
        for rotate in 0..PANTHEON.len() {
            let dir = tempfile::tempdir().unwrap();
            let mut files = PANTHEON.to_vec();
            files.rotate_left(rotate);
            if rotate % 2 == 1 {
                files.reverse();
            }
            touch(dir.path(), &files);
            let d = discover(&[dir.path().to_path_buf()], None);
            results.push(rel(&d, dir.path()));
        }
        assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
    }

    #[test]
    fn empty_directory_is_noted() {
        let dir = tempfile::tempdir().unwrap();
        let d = discover(&[dir.path().to_path_buf()], None);
        assert!(d.files.is_empty());
        assert_eq!(
            d.notes,
            [format!("{}/: no files found", dir.path().display())]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_to_files_followed_to_dirs_noted() {
        use std::os::unix::fs::symlink;
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        touch(other.path(), &["elsewhere-access.log", "sub/access.log"]);
        symlink(
            other.path().join("elsewhere-access.log"),
            dir.path().join("x-access.log"),
        )
        .unwrap();
        symlink(other.path().join("sub"), dir.path().join("linked")).unwrap();
        symlink(dir.path(), dir.path().join("loop")).unwrap();
        let d = discover(&[dir.path().to_path_buf()], None);
        assert_eq!(rel(&d, dir.path()), ["x-access.log"]);
        assert_eq!(d.notes.len(), 2, "{:?}", d.notes);
        assert!(d.notes[0].ends_with("linked: symlinked directory not followed"));
        assert!(d.notes[1].ends_with("loop: symlinked directory not followed"));
    }

    #[cfg(unix)]
    #[test]
    fn unreadable_directory_is_an_error_and_walk_continues() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), &["a/access.log", "b/access.log"]);
        let locked = dir.path().join("a");
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o000)).unwrap();
        if fs::read_dir(&locked).is_ok() {
            // Running as root: permissions are not enforced.
            fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
            return;
        }
        let d = discover(&[dir.path().to_path_buf()], None);
        fs::set_permissions(&locked, fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(rel(&d, dir.path()), ["b/access.log"]);
        assert_eq!(d.errors.len(), 1);
        assert_eq!(d.errors[0].0, locked);
    }

    #[test]
    fn default_rule() {
        for yes in [
            "access.log",
            "access_log",
            "site.access.log",
            "nginx-access.log",
            "nginx-access.log-20240301",
            "nginx-access.log-20240301.gz",
            "nginx-access.log-2024030112.gz",
            "access.log.1",
            "access.log.2.gz",
            "access.log.gz",
            "ACCESS.LOG",
            "ssl_access_log.1",
        ] {
            assert!(looks_like_access_log(yes), "{yes}");
        }
        for no in [
            "nginx-error.log",
            "php-slow.log",
            "README",
            "access.log.bak",
            "access.log.xz",
            "access.txt",
            "access.log-2024.gz",
            "error.log.1",
        ] {
            assert!(!looks_like_access_log(no), "{no}");
        }
    }

    #[test]
    fn glob_matching() {
        let m = |g: &str, name: &str| Glob::parse(g).unwrap().matches(name);
        assert!(m("*.txt", "a.txt") && m("*.txt", ".txt") && !m("*.txt", "a.txt.gz"));
        assert!(m("a?c", "abc") && !m("a?c", "ac"));
        assert!(m("[abc]x", "bx") && !m("[abc]x", "dx"));
        assert!(m("[a-z]1", "q1") && !m("[a-z]1", "Q1"));
        assert!(m("[!x]*", "yz") && !m("[!x]*", "xz") && m("[^x]", "y"));
        assert!(m("[]a]", "]") && m("[a-]", "-") && m("\\*", "*") && !m("\\*", "a"));
        assert!(m("*access*log*", "nginx-access.log-20240301.gz"));
        assert!(m("**a**b", "xxaxxb") && !m("*a*b", "xxaxxa"));
        assert!(m("é?", "éü"));
    }

    #[test]
    fn glob_syntax_errors_name_the_position() {
        assert_eq!(
            check_glob("ab[cd"),
            Err("unclosed `[` at position 3 in glob `ab[cd`".to_string())
        );
        assert_eq!(
            check_glob("[z-a]"),
            Err("empty range `z-a` at position 2 in glob `[z-a]`".to_string())
        );
        assert!(check_glob("[]").unwrap_err().contains("position 1"));
        assert!(check_glob("a\\").unwrap_err().contains("position 2"));
        assert!(check_glob("logs/*.log").unwrap_err().contains("position 5"));
        assert!(check_glob("").is_err());
        assert_eq!(check_glob("*.log[.-][0-9]*"), Ok(()));
    }

    #[test]
    fn invalid_glob_in_discover_takes_no_dir_files() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), &["access.log"]);
        let file = dir.path().join("access.log");
        let d = discover(&[dir.path().to_path_buf(), file.clone()], Some("[a"));
        assert_eq!(d.files, [file]);
        assert!(d.notes[0].starts_with("invalid --glob (unclosed `[` at position 1"));
    }
}
