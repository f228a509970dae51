//! Number formatting for people: thousands separators, byte sizes, durations, shares.

/// `1234567` → `1,234,567`.
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 request`, `1,234 requests`.
pub(crate) fn plural(n: u64, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", thousands(n))
}

/// Bytes in decimal units: `950 B`, `12.3 kB`, `4.56 GB`.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Seconds: `0.512 s`, `12.3 s`, `1,566.6 s`.
pub(crate) fn secs(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.3} s")
    } else {
        let tenths = (s * 10.0).round() as u64;
        format!("{}.{} s", thousands(tenths / 10), tenths % 10)
    }
}

/// A span of seconds: `45s`, `12m 5s`, `3h 2m`, `2d 4h`.
pub(crate) fn span(total: i64) -> String {
    let (d, h, m, s) = (
        total / 86_400,
        total / 3600 % 24,
        total / 60 % 60,
        total % 60,
    );
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// A share (0..1) as a percentage with two decimals.
pub(crate) fn pct(share: f64) -> String {
    format!("{:.2}%", share * 100.0)
}

/// `part / whole`, rounded to 6 decimals so that JSON stays short; 0 when `whole` is 0.
pub(crate) fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 1e6).round() / 1e6
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_for_people() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(bytes(950), "950 B");
        assert_eq!(bytes(12_345_678), "12.3 MB");
        assert_eq!(secs(0.5123), "0.512 s");
        assert_eq!(secs(1566.64), "1,566.6 s");
        assert_eq!(span(45), "45s");
        assert_eq!(span(3 * 3600 + 120), "3h 2m");
        assert_eq!(span(2 * 86_400 + 4 * 3600), "2d 4h");
        assert_eq!(pct(share(1, 3)), "33.33%");
        assert_eq!(share(1, 0), 0.0);
    }
}
