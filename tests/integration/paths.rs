//! Property tests of path normalization and classification: what an attacker can vary in a
//! request path without changing what nginx serves must not change what noisegate sees.

use noisegate_engine::internals::{normalize, Class, Classifier, CATEGORIES};
use proptest::prelude::*;
use std::sync::LazyLock;

/// One classifier for every case: building one compiles every category's pattern (one per
/// case took 7 s over 2,000 cases in the debug build), and classifying only reads it.
static CLASSIFIER: LazyLock<Classifier> = LazyLock::new(Classifier::new);

/// Paths built from segments that exercise normalization: dots, empty segments, escapes,
/// mixed case, noise roots.
fn paths() -> impl Strategy<Value = String> {
    let segment = prop_oneof![
        Just(String::new()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("autodiscover".to_string()),
        Just("AutoDiscover.xml".to_string()),
        Just(".well-known".to_string()),
        Just("autoconfig".to_string()),
        Just("owa".to_string()),
        Just("%2e".to_string()),
        Just("%2F".to_string()),
        Just("%25".to_string()),
        "[a-zA-Z0-9._~-]{1,8}",
    ];
    prop::collection::vec(segment, 0..7).prop_map(|s| format!("/{}", s.join("/")))
}

/// The path nginx routes for `p`, or `None` where nginx answers 400 (a `..` above the root).
fn norm(p: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    normalize(p, &mut out).then_some(out)
}

/// `path` with some unreserved bytes written as `%XX` (upper- or lower-case hex) and some
/// letters in the other case, chosen by the bits of `mask`.
fn disguise(path: &str, mask: u64) -> String {
    let mut out = String::new();
    let mut in_escape = 0u8;
    for (i, c) in path.chars().enumerate() {
        let bit = |k: usize| mask.rotate_left((i * 3 + k) as u32) & 1 == 1;
        let c = if bit(0) {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        };
        let unreserved = c.is_ascii_alphanumeric() || "-._~".contains(c);
        // The two hex digits of an escape already there stay as they are.
        let escaped = in_escape > 0;
        in_escape = if c == '%' {
            2
        } else {
            in_escape.saturating_sub(1)
        };
        if unreserved && !escaped && bit(1) {
            let hex = format!("%{:02X}", c as u32);
            out.push_str(&if bit(2) {
                hex.to_ascii_lowercase()
            } else {
                hex
            });
        } else {
            out.push(c);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Normalizing twice gives what normalizing once gave (`%` decoding aside: nginx decodes
    /// once, so `%2541` is `/%41` and not `/A`), and the result starts with `/` and holds no
    /// `//`, `/./` or `/../`.
    #[test]
    fn normalizing_is_idempotent(path in paths()) {
        let Some(once) = norm(path.as_bytes()) else {
            return Ok(());
        };
        prop_assert!(once.starts_with(b"/"));
        let text = String::from_utf8_lossy(&once).into_owned();
        prop_assert!(!text.contains("//") && !text.contains("/./") && !text.contains("/../"), "{}", text);
        if !once.contains(&b'%') {
            prop_assert_eq!(norm(&once), Some(once));
        }
    }

    /// Case and percent-encoding of unreserved characters do not change the class.
    #[test]
    fn class_ignores_case_and_encoding(path in paths(), mask in any::<u64>()) {
        let c = &*CLASSIFIER;
        let (mut s1, mut s2) = (c.scratch(), c.scratch());
        let plain = c.classify(path.as_bytes(), &mut s1).0;
        let disguised = disguise(&path, mask);
        let other = c.classify(disguised.as_bytes(), &mut s2).0;
        prop_assert_eq!(plain, other, "{} vs {}", path, disguised);
    }
}

#[test]
fn disguised_noise_is_still_noise() {
    let c = Classifier::new();
    let mut s = c.scratch();
    for (path, id) in [
        ("/%41uto%64iscover/%61utodiscover.XML", "autodiscover"),
        (
            "//.well-known//autoconfig/mail/./config-v1.1.xml",
            "autoconfig",
        ),
        ("/x/../OWA/", "owa"),
        ("/%2e%77ell-known/mta-sts.txt", "mta-sts"),
    ] {
        match c.classify(path.as_bytes(), &mut s).0 {
            Class::Noise(i) => assert_eq!(CATEGORIES[i].id, id, "{path}"),
            other => panic!("{path}: {other:?}"),
        }
    }
}
