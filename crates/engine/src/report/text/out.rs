//! The text report's writer: line layout within 80 columns, headings, wrapped fields and
//! paragraphs, list rows, color when the style asks for it. A leaf of the text renderer: its
//! sections use it, it knows no section.

use crate::escape::{escape_text, fit};
use crate::numbers::thousands;
use crate::report::output::Style;
use crate::report::units::Timestamp;
use std::io::{self, Write};

/// Width of the key column in lists (clients, agents, paths).
pub(super) const KEY_WIDTH: usize = 62;
/// The width the report keeps to.
pub(super) const WIDTH: usize = 80;

/// Where the text report is written, and how.
pub(super) struct Out<'w> {
    pub(super) w: &'w mut dyn Write,
    pub(super) style: Style,
}

impl Out<'_> {
    pub(super) fn paint(&self, code: &str, s: &str) -> String {
        if self.style.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub(super) fn heading(&mut self, s: &str) -> io::Result<()> {
        let h = self.paint("1", s);
        writeln!(self.w, "\n{h}")
    }

    /// `name` in an 11-column gutter, then `value`, wrapped at its ` · ` separators so that
    /// lines stay within [`WIDTH`] columns.
    pub(super) fn field(&mut self, name: &str, value: &str) -> io::Result<()> {
        let mut line = format!("{name:<11}");
        let mut filled = 0;
        for (i, part) in value.split(" · ").enumerate() {
            let len = part.chars().count();
            if i > 0 && 11 + filled + 3 + len > WIDTH {
                writeln!(self.w, "{line}")?;
                line = format!("{:11}{part}", "");
                filled = len;
            } else {
                if i > 0 {
                    line.push_str(" · ");
                    filled += 3;
                }
                line.push_str(part);
                filled += len;
            }
        }
        writeln!(self.w, "{line}")
    }

    /// Free text, word-wrapped within [`WIDTH`] columns; continuation lines get `indent`
    /// plus two spaces.
    pub(super) fn para(&mut self, indent: usize, text: &str) -> io::Result<()> {
        let (mut line, mut lead) = (String::new(), indent);
        let mut width = lead;
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            let n = word.chars().count();
            if !line.is_empty() && width + 1 + n > WIDTH {
                writeln!(self.w, "{:lead$}{line}", "")?;
                line.clear();
                lead = indent + 2;
                width = lead;
            }
            if !line.is_empty() {
                line.push(' ');
                width += 1;
            }
            line.push_str(word);
            width += n;
        }
        writeln!(self.w, "{:lead$}{line}", "")
    }

    pub(super) fn list_row(&mut self, key: &[u8], n: u64) -> io::Result<()> {
        let key = fit(&escape_text(key), KEY_WIDTH);
        writeln!(self.w, "    {key:<KEY_WIDTH$} {:>11}", thousands(n))
    }
}

/// An instant as the tables show it: `2024-03-10T12:05:00Z` → `03-10 12:05`.
pub(super) fn short(t: Timestamp) -> String {
    let c = t.civil();
    format!("{:02}-{:02} {:02}:{:02}", c.month, c.day, c.hour, c.minute)
}
