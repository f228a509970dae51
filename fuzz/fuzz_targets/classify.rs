//! The path normalizer and the classifier: normalizing is idempotent, a normalized path
//! starts with `/`, and a path is classified as its normal form is.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegate_engine::internals::{normalize, Classifier};
use std::sync::OnceLock;

fuzz_target!(|path: &[u8]| {
    static C: OnceLock<Classifier> = OnceLock::new();
    let c = C.get_or_init(Classifier::new);
    let (mut once, mut twice) = (Vec::new(), Vec::new());
    // A path nginx refuses (400) has no normal form.
    if normalize(path, &mut once) {
        assert!(once.starts_with(b"/"));
        // Decoding `%XX` once more may change a path that held `%25XX`; resolving segments
        // may not.
        if !once.contains(&b'%') {
            assert!(normalize(&once, &mut twice));
            assert_eq!(once, twice);
        }
    }
    let mut s = c.scratch();
    let (class, norm) = c.classify(path, &mut s);
    let norm = norm.to_vec();
    let mut s2 = c.scratch();
    if !norm.contains(&b'%') {
        assert_eq!(c.classify(&norm, &mut s2).0, class);
    }
});
