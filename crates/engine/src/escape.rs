//! Making log bytes safe to show. Log strings are written by whoever sends requests: they
//! may carry terminal escape sequences, CR/LF, bidi controls or invalid UTF-8. Everything that
//! reaches a terminal or a JSON string passes through here.

use std::fmt::Write;

/// Printable ASCII as is; everything else (control bytes, non-ASCII, and `\` itself) as
/// `\xHH`, so the text is unambiguous and inert in any terminal.
pub(crate) fn escape_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x20..0x7f).contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// A JSON-ready string: valid UTF-8 is kept as is (the JSON encoder escapes control
/// characters); each invalid byte becomes the text `\xHH`.
pub(crate) fn json_text(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for &b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
    out
}

/// Whether `c` must not reach a terminal as is: a control character (C0, DEL, C1, which
/// include ESC, CR and LF) or an invisible formatting one (bidi overrides and isolates,
/// zero-width characters, the BOM, the soft hyphen).
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{ad}'
                | '\u{61c}'
                | '\u{180e}'
                | '\u{200b}'..='\u{200f}'
                | '\u{2028}'..='\u{202e}'
                | '\u{2060}'..='\u{206f}'
                | '\u{feff}'
                | '\u{fff9}'..='\u{fffb}'
        )
}

/// A message for a terminal (stderr, or stdout when it names files): printable characters
/// as they are, each control or invisible formatting character as the `\xHH` of its UTF-8
/// bytes. Log text the reports already made printable passes unchanged.
pub fn terminal_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if unprintable(c) {
            for b in c.to_string().bytes() {
                let _ = write!(out, "\\x{b:02x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A file name for a terminal: [`terminal_text`] of its lossy display.
pub fn terminal_path(path: &std::path::Path) -> String {
    terminal_text(&path.display().to_string())
}

/// Serializes bytes with [`json_text`].
pub(crate) fn ser_bytes<S: serde::Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&json_text(bytes))
}

/// Shortens an escaped string to `width` characters, marking the cut with `...`.
pub(crate) fn fit(s: &str, width: usize) -> String {
    if s.chars().count() <= width {
        return s.to_string();
    }
    let keep = width.saturating_sub(3);
    let mut out: String = s.chars().take(keep).collect();
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralizes_control_and_non_ascii_bytes() {
        assert_eq!(escape_text(b"/a b"), "/a b");
        assert_eq!(escape_text(b"\x1b[31mred\r\n"), "\\x1b[31mred\\x0d\\x0a");
        assert_eq!(escape_text("\u{202e}".as_bytes()), "\\xe2\\x80\\xae");
        assert_eq!(escape_text(b"a\\b"), "a\\x5cb");
    }

    #[test]
    fn json_text_keeps_utf8_and_marks_invalid_bytes() {
        assert_eq!(json_text("é\u{1b}".as_bytes()), "é\u{1b}");
        assert_eq!(json_text(b"a\xffb"), "a\\xffb");
    }

    #[test]
    fn terminal_text_escapes_controls_and_invisible_characters_only() {
        assert_eq!(terminal_text("é/a\\b.log"), "é/a\\b.log");
        assert_eq!(
            terminal_text("x\u{1b}[31m\u{202e}\n\u{85}"),
            "x\\x1b[31m\\xe2\\x80\\xae\\x0a\\xc2\\x85"
        );
    }

    #[test]
    fn fit_cuts_long_strings() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdefg", 6), "abc...");
    }
}
