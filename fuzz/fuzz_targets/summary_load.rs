//! Reading a saved summary (the uncompressed text of either version): arbitrary bytes must be
//! refused or combined into a report without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegate_engine::internals::Combiner;
use noisegate_engine::{build_report, find, Settings};

fuzz_target!(|data: &[u8]| {
    let Ok(mut combiner) = Combiner::new(&Default::default()) else {
        return;
    };
    if combiner.read("fuzz", data).is_err() {
        return;
    }
    let Ok(combined) = combiner.finish() else {
        return;
    };
    let mut scan = combined.scan;
    if let Ok(found) = find(&mut scan, &Settings::default()) {
        let report = build_report(&scan, &found, 5);
        serde_json::to_string(&report).unwrap();
    }
});
