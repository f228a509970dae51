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

/// The byte an escape `\xHH` at `s[i..]` stands for.
fn escaped_byte(s: &str, i: usize) -> Option<u8> {
    let hex = s.get(i..i + 4)?.strip_prefix("\\x")?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u8::from_str_radix(hex, 16).ok()
}

/// The units of an escaped string that a cut must not split: a character, an escape `\xHH`,
/// or the escapes of one UTF-8 character (`\xc3\xa9`, a lead byte and its continuation
/// bytes), each as wide as its characters.
fn units(s: &str) -> Vec<&str> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let len = match escaped_byte(s, i) {
            Some(lead) => {
                let follow = match lead {
                    0xc2..=0xdf => 1,
                    0xe0..=0xef => 2,
                    0xf0..=0xf4 => 3,
                    _ => 0,
                };
                let mut len = 4;
                for _ in 0..follow {
                    match escaped_byte(s, i + len) {
                        Some(0x80..=0xbf) => len += 4,
                        _ => break,
                    }
                }
                len
            }
            None => s[i..].chars().next().map_or(1, char::len_utf8),
        };
        out.push(&s[i..i + len]);
        i += len;
    }
    out
}

/// Columns of a unit: an escape or a character is as wide as its characters.
fn columns(u: &str) -> usize {
    u.chars().count()
}

/// Shortens an escaped string to at most `width` columns by cutting out its middle, marked
/// with `…`: the head and the tail stay, so two user agents or paths that differ only near
/// their end (`... Microsoft Outlook 16.0.17928; Pro)` and `... 16.0.17726; Pro)`) still look
/// different. Never cuts inside an escape `\xHH`, a character, or the escapes of one UTF-8
/// character; the result is `width` columns, or a few fewer when such a unit meets the cut.
pub(crate) fn fit(s: &str, width: usize) -> String {
    let units = units(s);
    if units.iter().map(|u| columns(u)).sum::<usize>() <= width {
        return s.to_string();
    }
    let Some(budget) = width.checked_sub(1) else {
        return String::new();
    };
    let (mut head, mut h) = (0, 0);
    while h < units.len() && head + columns(units[h]) <= budget / 2 {
        head += columns(units[h]);
        h += 1;
    }
    let (mut tail, mut t) = (0, units.len());
    while t > h && head + tail + columns(units[t - 1]) <= budget {
        tail += columns(units[t - 1]);
        t -= 1;
    }
    // An escape too wide for what the tail had left may leave room for the head.
    while h < t && head + tail + columns(units[h]) <= budget {
        head += columns(units[h]);
        h += 1;
    }
    let mut out = units[..h].concat();
    out.push('…');
    out.push_str(&units[t..].concat());
    out
}

/// Shortens an escaped string to at most `width` columns by cutting its end, marked with
/// `...` (for a log line, whose start is where it went wrong). Never cuts inside an escape or
/// a character.
pub(crate) fn fit_head(s: &str, width: usize) -> String {
    let units = units(s);
    if units.iter().map(|u| columns(u)).sum::<usize>() <= width {
        return s.to_string();
    }
    let keep = width.saturating_sub(3);
    let mut out = String::new();
    let mut used = 0;
    for u in units {
        if used + columns(u) > keep {
            break;
        }
        used += columns(u);
        out.push_str(u);
    }
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
    fn fit_cuts_long_strings_in_the_middle() {
        assert_eq!(fit("abcdef", 6), "abcdef");
        assert_eq!(fit("abcdefg", 6), "ab…efg");
        assert_eq!(fit("abcdefg", 1), "…");
        assert_eq!(fit("abcdefg", 0), "");
        let a = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17928; Pro)";
        let b = "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17726; Pro)";
        assert_ne!(fit(a, 60), fit(b, 60));
        assert!(fit(a, 60).ends_with("16.0.17928; Pro)"), "{}", fit(a, 60));
        assert_eq!(fit(a, 60).chars().count(), 60);
    }

    #[test]
    fn fit_never_cuts_an_escape_or_a_character() {
        let s = escape_text("é".repeat(20).as_bytes()); // 20 times `\xc3\xa9`, 160 columns
        for width in 0..=40 {
            let cut = fit(&s, width);
            assert!(cut.chars().count() <= width, "{width}: {cut}");
            assert!(cut.chars().count() + 7 >= width, "{width}: {cut}");
            for side in cut.split('…') {
                assert_eq!(side.len() % 8, 0, "{width}: {cut}");
                assert!(
                    side.is_empty() || side.starts_with("\\xc3"),
                    "{width}: {cut}"
                );
            }
            let head = fit_head(&s, width);
            assert!(head.chars().count() <= width.max(3), "{width}: {head}");
            assert!(head.trim_end_matches("...").len() % 8 == 0, "{head}");
        }
        // A lone continuation byte or an invalid lead is an escape of its own.
        assert_eq!(
            units("\\xa9\\xc3x\\xf0\\x9f\\x98\\x80"),
            ["\\xa9", "\\xc3", "x", "\\xf0\\x9f\\x98\\x80"]
        );
        assert_eq!(
            units("\\x5cxzz\\xg1"),
            ["\\x5c", "x", "z", "z", "\\", "x", "g", "1"]
        );
        assert_eq!(fit("日本語のパス/とても長い", 6), "日本…も長い");
        assert_eq!(fit_head("abcdefg", 6), "abc...");
    }
}
