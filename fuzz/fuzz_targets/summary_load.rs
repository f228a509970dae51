//! Reading a saved summary: arbitrary JSON must be refused or combined into a report
//! without a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegate_engine::saved::{self, SummaryFile};

fuzz_target!(|data: &[u8]| {
    let Ok(file) = serde_json::from_slice::<SummaryFile>(data) else {
        return;
    };
    let Ok(mut scan) = saved::combine(vec![file], &Default::default()) else {
        return;
    };
    let plan = noisegate_engine::remedy::plan(&scan.summary, Default::default());
    if let Ok(analysis) = noisegate_engine::analysis::analyze(&mut scan, Default::default(), 8, 1.0) {
        let report = noisegate_engine::report::build(&scan, &plan, &analysis, 5);
        serde_json::to_string(&report).unwrap();
    }
});
