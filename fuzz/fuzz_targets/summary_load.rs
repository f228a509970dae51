//! Reading a saved summary (the uncompressed text of either version): arbitrary bytes must be
//! refused or combined into a report without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegate_engine::saved::Combiner;

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
    let plan = noisegate_engine::remedy::plan(&scan.summary, Default::default());
    if let Ok(analysis) = noisegate_engine::analysis::analyze(&mut scan, Default::default(), 8, 1.0) {
        let report = noisegate_engine::report::build(&scan, &plan, &analysis, 5);
        serde_json::to_string(&report).unwrap();
    }
});
