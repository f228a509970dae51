//! Reading `log_format` and `access_log` directives out of an nginx configuration, so a user
//! can point noisegate at the nginx.conf that wrote the log instead of copying its format.
//!
//! A small tokenizer of nginx's configuration syntax (words, quoted strings with backslash
//! escapes, `#` comments, `;`, `{`, `}`); `include` is not followed.

use super::{Escape, LogFormat};

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
}

/// What an nginx configuration says about access logs.
#[derive(Clone, Debug, Default)]
pub(crate) struct NginxConf {
    /// `log_format` directives, in file order.
    pub(crate) formats: Vec<LogFormatDef>,
    /// `access_log` directives (path, format name), in file order, `off` left out.
    pub(crate) access_logs: Vec<(String, String)>,
}

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
    /// Reads the directives out of the text of a configuration file.
    pub(crate) fn parse(text: &str) -> Result<NginxConf, String> {
        let mut conf = NginxConf::default();
        let mut words: Vec<(String, usize)> = Vec::new();
        for tok in tokens(text)? {
            match tok {
                Tok::Word(w, line) => words.push((w, line)),
                Tok::End(b';') => {
                    conf.directive(&words)?;
                    words.clear();
                }
                Tok::End(_) => words.clear(),
            }
        }
        Ok(conf)
    }

    fn directive(&mut self, words: &[(String, usize)]) -> Result<(), String> {
        let Some(((name, line), args)) = words.split_first() else {
            return Ok(());
        };
        match name.as_str() {
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
        if self.formats.is_empty() {
            "the file defines no log_format".to_string()
        } else {
            let names: Vec<&str> = self.formats.iter().map(|f| f.name.as_str()).collect();
            format!("defined: {}", names.join(", "))
        }
    }
}

impl LogFormat {
    /// The format an nginx configuration file defines: the `log_format` named `name`, or the
    /// one the first `access_log` uses (nginx's `combined` when it names none). Errors name
    /// the file and, for a bad `log_format`, its line.
    pub fn from_nginx_conf(path: &std::path::Path, name: Option<&str>) -> anyhow::Result<Self> {
        use anyhow::{anyhow, Context};
        let shown = path.display();
        let text = std::fs::read_to_string(path).with_context(|| format!("{shown}"))?;
        let conf = NginxConf::parse(&text).map_err(|e| anyhow!("{shown}: {e}"))?;
        match conf.select(name).map_err(|e| anyhow!("{shown}: {e}"))? {
            None => Ok(LogFormat::preset("combined").expect("preset")),
            Some(def) => LogFormat::custom(&def.name, &def.format, def.escape)
                .map_err(|e| anyhow!("{shown}:{}: log_format {}: {e}", def.line, def.name)),
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
