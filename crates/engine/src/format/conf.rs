//! Reading `log_format` and `access_log` directives out of an nginx configuration, so a user
//! can point noisegate at the nginx.conf that wrote the log instead of copying its format.
//!
//! A small tokenizer of nginx's configuration syntax (words, quoted strings with backslash
//! escapes, `#` comments, `;`, `{`, `}`). `include` is followed as nginx follows it: a
//! relative path is relative to the directory of the main file (nginx's conf prefix, not the
//! including file's directory), a path with `*`, `?` or `[` is a glob whose matches are read
//! in name order (none is fine), a plain path must exist. Unlike nginx, a loop of includes
//! is an error, and depth, file count and file size are capped. An `nginx -T` dump (every file
//! inline, each after a `# configuration file PATH:` line) is read without following its
//! includes.

use super::{Escape, LogFormat};
use crate::input::discover::Glob;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// Includes nested deeper than this are refused.
const MAX_DEPTH: usize = 16;
/// At most this many files are read for one configuration.
const MAX_FILES: usize = 1024;
/// A configuration file larger than this is refused.
const MAX_FILE_BYTES: u64 = 32 << 20;
/// What the error says when the format is not found, or a file cannot be read.
const DUMP_HINT: &str = "if nginx reads this configuration elsewhere, `nginx -T > all.conf` there writes all of it as one file for --nginx-conf";

/// A `log_format` directive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct LogFormatDef {
    /// Its name.
    pub(crate) name: String,
    /// Its `escape=` parameter.
    pub(crate) escape: Escape,
    /// The concatenated format strings.
    pub(crate) format: String,
    /// Line of the directive in the file.
    pub(crate) line: usize,
    /// The file, as shown in messages (empty for text parsed on its own).
    pub(crate) file: String,
}

/// What an nginx configuration says about access logs.
#[derive(Clone, Debug, Default)]
pub(crate) struct NginxConf {
    /// `log_format` directives, in file order.
    pub(crate) formats: Vec<LogFormatDef>,
    /// `access_log` directives (path, format name), in file order, `off` left out.
    pub(crate) access_logs: Vec<(String, String)>,
    /// The files read, the main one first.
    pub(crate) files: usize,
    /// The file being read, as shown in messages.
    file: String,
}

/// What an `include` directive is handed to: its argument and line; the directives of the
/// files it names go into the configuration in place.
type Include<'a> = dyn FnMut(&mut NginxConf, &str, usize) -> Result<(), String> + 'a;

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String, usize),
    End(u8),
}

fn tokens(text: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while let Some(c) = chars.next() {
        match c {
            '\n' => line += 1,
            c if c.is_whitespace() => {}
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        break;
                    }
                }
            }
            ';' | '{' | '}' => out.push(Tok::End(c as u8)),
            '"' | '\'' => {
                let start = line;
                let mut s = String::new();
                loop {
                    match chars.next() {
                        None => {
                            return Err(format!("line {start}: unterminated {c}-quoted string"))
                        }
                        Some(q) if q == c => break,
                        // As nginx: \" \' \\ \n \t \r are escapes; any other backslash stays.
                        Some('\\') => match chars.next() {
                            Some('n') => s.push('\n'),
                            Some('t') => s.push('\t'),
                            Some('r') => s.push('\r'),
                            Some(e @ ('"' | '\'' | '\\')) => s.push(e),
                            Some(e) => {
                                s.push('\\');
                                s.push(e);
                            }
                            None => return Err(format!("line {start}: unterminated string")),
                        },
                        Some(ch) => {
                            line += usize::from(ch == '\n');
                            s.push(ch);
                        }
                    }
                }
                out.push(Tok::Word(s, start));
            }
            _ => {
                let mut s = String::from(c);
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || ";{}\"'".contains(n) {
                        break;
                    }
                    s.push(n);
                    chars.next();
                }
                out.push(Tok::Word(s, line));
            }
        }
    }
    Ok(out)
}

impl NginxConf {
    /// Reads the directives out of the text of a configuration file, `include` left out.
    #[cfg(test)]
    pub(crate) fn parse(text: &str) -> Result<NginxConf, String> {
        let mut conf = NginxConf::default();
        conf.read(text, &mut |_, _, _| Ok(()))?;
        Ok(conf)
    }

    /// Reads the directives of `text` into `self`, handing `include`s to `include`. Errors of
    /// this text say `line N: ...`; those of included files come back whole.
    fn read(&mut self, text: &str, include: &mut Include<'_>) -> Result<(), String> {
        let mut words: Vec<(String, usize)> = Vec::new();
        for tok in tokens(text)? {
            match tok {
                Tok::Word(w, line) => words.push((w, line)),
                Tok::End(b';') => {
                    if let [(name, line), (arg, _)] = words.as_slice() {
                        if name == "include" {
                            include(self, arg, *line)?;
                            words.clear();
                            continue;
                        }
                    }
                    self.directive(&words)?;
                    words.clear();
                }
                Tok::End(_) => words.clear(),
            }
        }
        Ok(())
    }

    fn directive(&mut self, words: &[(String, usize)]) -> Result<(), String> {
        let Some(((name, line), args)) = words.split_first() else {
            return Ok(());
        };
        match name.as_str() {
            "include" => return Err(format!("line {line}: include takes one file")),
            "log_format" => {
                let Some(((fmt_name, _), mut rest)) = args.split_first() else {
                    return Err(format!("line {line}: log_format without a name"));
                };
                let mut escape = Escape::Default;
                if let Some(((first, _), tail)) = rest.split_first() {
                    if let Some(e) = first.strip_prefix("escape=") {
                        escape = Escape::from_name(e)
                            .ok_or(format!("line {line}: unknown escape={e}"))?;
                        rest = tail;
                    }
                }
                self.formats.push(LogFormatDef {
                    name: fmt_name.clone(),
                    escape,
                    format: rest.iter().map(|(s, _)| s.as_str()).collect(),
                    line: *line,
                    file: self.file.clone(),
                });
            }
            "access_log" => {
                let path = args.first().map_or("", |a| a.0.as_str());
                if path != "off" && !path.is_empty() {
                    let format = args
                        .get(1)
                        .filter(|(a, _)| !a.contains('='))
                        .map_or("combined", |a| a.0.as_str());
                    self.access_logs
                        .push((path.to_string(), format.to_string()));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// The format to use: `name`, or the one the first `access_log` uses. `Ok(None)` means
    /// nginx's built-in `combined`.
    pub(crate) fn select(&self, name: Option<&str>) -> Result<Option<&LogFormatDef>, String> {
        let name = match name {
            Some(n) => n,
            None => match self.access_logs.first() {
                Some((_, f)) => f.as_str(),
                None => {
                    return Err(format!(
                        "no access_log directive; name a format with --log-format-name ({})",
                        self.defined()
                    ))
                }
            },
        };
        match self.formats.iter().find(|f| f.name == name) {
            Some(f) => Ok(Some(f)),
            None if name == "combined" => Ok(None),
            None => Err(format!("no log_format named '{name}' ({})", self.defined())),
        }
    }

    fn defined(&self) -> String {
        let files = match self.files {
            0 | 1 => "the file defines".to_string(),
            n => format!("the {n} files read define"),
        };
        if self.formats.is_empty() {
            format!("{files} no log_format")
        } else {
            let names: Vec<&str> = self.formats.iter().map(|f| f.name.as_str()).collect();
            format!("defined: {}", names.join(", "))
        }
    }
}

/// Reads a configuration file and the files it includes.
struct Loader {
    /// Where relative includes are found: the main file's directory.
    prefix: PathBuf,
    /// The files being read, outermost first: canonical path and path as shown.
    stack: Vec<(PathBuf, String)>,
}

impl Loader {
    /// Reads the file at `path` (shown as `shown`) into `conf`, following its includes.
    fn load(&mut self, conf: &mut NginxConf, path: &Path, shown: &str) -> Result<(), String> {
        if self.stack.len() > MAX_DEPTH {
            return Err(format!(
                "{shown}: includes nested more than {MAX_DEPTH} deep"
            ));
        }
        let canonical = std::fs::canonicalize(path).map_err(|e| format!("{shown}: {e}"))?;
        if let Some(i) = self.stack.iter().position(|(c, _)| *c == canonical) {
            let chain: Vec<&str> = self.stack[i..].iter().map(|(_, s)| s.as_str()).collect();
            return Err(format!("include loop: {} -> {shown}", chain.join(" -> ")));
        }
        conf.files += 1;
        if conf.files > MAX_FILES {
            return Err(format!("{shown}: more than {MAX_FILES} files included"));
        }
        let text = read_capped(path).map_err(|e| format!("{shown}: {e}"))?;
        self.stack.push((canonical, shown.to_string()));
        let outer = std::mem::replace(&mut conf.file, shown.to_string());
        let result = if !is_dump(&text) {
            conf.read(&text, &mut |conf, arg, line| self.include(conf, arg, line))
        } else {
            conf.read(&text, &mut |_, _, _| Ok(()))
        };
        conf.file = outer;
        self.stack.pop();
        result.map_err(|e| {
            if e.starts_with("line ") {
                format!("{shown}: {e}")
            } else {
                e
            }
        })
    }

    /// Follows `include ARG;` at `line` of the file being read.
    fn include(&mut self, conf: &mut NginxConf, arg: &str, line: usize) -> Result<(), String> {
        let at = format!(
            "included at {}:{line}",
            self.stack.last().map_or("", |(_, s)| s.as_str())
        );
        let path = self.prefix.join(arg);
        let files = if arg.contains(['*', '?', '[']) {
            expand(&path).map_err(|e| format!("include {arg} ({at}): {e}"))?
        } else {
            vec![path]
        };
        for file in files {
            let shown = file.display().to_string();
            // The file's own error says where it was included; errors deeper in say theirs.
            self.load(conf, &file, &shown).map_err(|e| {
                if e.starts_with(&format!("{shown}: ")) {
                    format!("{e} ({at})")
                } else {
                    e
                }
            })?;
        }
        Ok(())
    }
}

/// Whether `text` is the output of `nginx -T`: a line `# configuration file PATH:` starts
/// each file (nginx's own messages may come first, if its stderr went to the file too).
fn is_dump(text: &str) -> bool {
    text.lines()
        .any(|l| l.starts_with("# configuration file ") && l.trim_end().ends_with(':'))
}

/// The text of a regular file of at most [`MAX_FILE_BYTES`].
fn read_capped(path: &Path) -> std::io::Result<String> {
    let file = std::fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let mut text = String::new();
    file.take(MAX_FILE_BYTES + 1).read_to_string(&mut text)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "larger than {} MiB",
            MAX_FILE_BYTES >> 20
        )));
    }
    Ok(text)
}

/// The files a glob path names, sorted (as glob(3) sorts, byte order): each component with
/// `*`, `?` or `[` matches the names in its directory (a leading `.` only explicitly).
fn expand(pattern: &Path) -> Result<Vec<PathBuf>, String> {
    let mut found = vec![PathBuf::new()];
    for component in pattern.components() {
        let Component::Normal(name) = component else {
            found.iter_mut().for_each(|p| p.push(component));
            continue;
        };
        let name = name.to_string_lossy();
        if !name.contains(['*', '?', '[']) {
            found.iter_mut().for_each(|p| p.push(&*name));
            continue;
        }
        let glob = Glob::parse(&name)?;
        let mut next = Vec::new();
        for dir in &found {
            let listed = if dir.as_os_str().is_empty() {
                std::fs::read_dir(".")
            } else {
                std::fs::read_dir(dir)
            };
            let Ok(entries) = listed else { continue };
            for entry in entries.flatten() {
                let entry = entry.file_name();
                let entry = entry.to_string_lossy();
                if (!entry.starts_with('.') || name.starts_with('.')) && glob.matches(&entry) {
                    next.push(dir.join(&*entry));
                }
            }
        }
        found = next;
    }
    found.retain(|p| p.exists());
    found.sort_by(|a, b| {
        a.as_os_str()
            .as_encoded_bytes()
            .cmp(b.as_os_str().as_encoded_bytes())
    });
    Ok(found)
}

impl LogFormat {
    /// The format an nginx configuration file defines, with the files it includes: the
    /// `log_format` named `name`, or the one the first `access_log` uses (nginx's `combined`
    /// when it names none). Errors name the file and, for a bad `log_format`, its line.
    pub fn from_nginx_conf(path: &std::path::Path, name: Option<&str>) -> anyhow::Result<Self> {
        use anyhow::anyhow;
        let shown = path.display().to_string();
        // Empty for a bare file name: includes are then relative to the working directory.
        let prefix = path.parent().map_or_else(PathBuf::new, Path::to_path_buf);
        let mut loader = Loader {
            prefix,
            stack: Vec::new(),
        };
        let mut conf = NginxConf::default();
        loader.load(&mut conf, path, &shown).map_err(|e| {
            // The main file itself unreadable or broken: no hint.
            if conf.files <= 1 && e.starts_with(&format!("{shown}: ")) {
                anyhow!("{e}")
            } else {
                anyhow!("{e}; {DUMP_HINT}")
            }
        })?;
        let def = conf.select(name).map_err(|e| {
            if e.starts_with("no log_format") {
                anyhow!("{shown}: {e}; {DUMP_HINT}")
            } else {
                anyhow!("{shown}: {e}")
            }
        })?;
        match def {
            None => Ok(LogFormat::preset("combined").expect("preset")),
            Some(def) => LogFormat::custom(&def.name, &def.format, def.escape)
                .map_err(|e| anyhow!("{}:{}: log_format {}: {e}", def.file, def.line, def.name)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONF: &str = r#"
user www-data;
http {
    # a comment with 'quotes' and ; semicolons
    log_format main '$remote_addr - $remote_user [$time_local] "$request" '
                    '$status $body_bytes_sent "$http_referer" '
                    "\"$http_user_agent\" $request_time";
    log_format  json escape=json '{"status":"$status",'
        '"request":"$request"}';
    server {
        access_log off;
        access_log /var/log/nginx/access.log main buffer=32k;
        access_log /var/log/nginx/json.log json;
    }
}
"#;

    #[test]
    fn reads_multi_line_formats_and_access_logs() {
        let c = NginxConf::parse(CONF).unwrap();
        assert_eq!(c.formats.len(), 2);
        assert_eq!(
            c.formats[0].format,
            "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time"
        );
        assert_eq!(c.formats[0].line, 5);
        assert_eq!(c.formats[1].escape, Escape::Json);
        assert_eq!(
            c.formats[1].format,
            r#"{"status":"$status","request":"$request"}"#
        );
        assert_eq!(
            c.access_logs[0],
            ("/var/log/nginx/access.log".into(), "main".into())
        );
        assert_eq!(c.select(None).unwrap().unwrap().name, "main");
        assert_eq!(c.select(Some("json")).unwrap().unwrap().name, "json");
        assert!(c.select(Some("combined")).unwrap().is_none());
        assert!(c
            .select(Some("nope"))
            .unwrap_err()
            .contains("defined: main, json"));
    }

    #[test]
    fn keeps_backslashes_nginx_keeps() {
        let c = NginxConf::parse(r#"log_format f '$remote_addr \[$time_local\] \"$request\"';"#)
            .unwrap();
        assert_eq!(
            c.formats[0].format,
            r#"$remote_addr \[$time_local\] "$request""#
        );
    }

    #[test]
    fn reports_broken_files() {
        assert!(NginxConf::parse("log_format x 'abc;")
            .unwrap_err()
            .contains("line 1"));
        assert!(NginxConf::parse("log_format x escape=xml '$a';").is_err());
        let none = NginxConf::parse("events {}").unwrap();
        assert!(none.select(None).unwrap_err().contains("no access_log"));
    }
}
