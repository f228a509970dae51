//! The JSON-lines parser, with automatic keys and with a key map.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegate_engine::internals::TimeCache;
use noisegate_engine::{JsonLines, LogFormat};

fuzz_target!(|data: &[u8]| {
    let auto = LogFormat::json(JsonLines::auto());
    let mapped = LogFormat::json(
        JsonLines::with_fields("status=code,request_time=duration,request_uri=url").unwrap(),
    );
    let mut times = TimeCache::default();
    for line in data.split(|&b| b == b'\n') {
        for f in [&auto, &mapped] {
            if let Err(miss) = f.parse(line, &mut times) {
                let _ = miss.describe();
            }
        }
    }
});
