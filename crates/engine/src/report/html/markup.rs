//! Strings made inert for HTML: the report's own text, and bytes from the log (made printable
//! first). A leaf: the page and its charts both use it.

use crate::escape::escape_text;

/// Text as inert HTML.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Bytes from the log as inert HTML.
pub(super) fn log(raw: &[u8]) -> String {
    esc(&escape_text(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_strings_are_inert() {
        assert_eq!(
            log(b"<script>alert('x')</script>&"),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"
        );
        assert_eq!(log(b"\x1b\"q"), "\\x1b&quot;q");
    }
}
