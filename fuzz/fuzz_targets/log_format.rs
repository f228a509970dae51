//! The `log_format` compiler and the parser of what it compiles: the input is a format string,
//! a NUL byte, and lines. Compiling may fail (with a message); it must not panic, and
//! neither may parsing any line with what it compiled.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegate_engine::internals::{Escape, TimeCache};
use noisegate_engine::LogFormat;

fuzz_target!(|data: &[u8]| {
    let (fmt, lines) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b""[..]),
    };
    let fmt = String::from_utf8_lossy(fmt);
    for escape in [Escape::guess(&fmt), Escape::Default, Escape::Json, Escape::None] {
        let Ok(format) = LogFormat::custom("fuzz", &fmt, escape) else {
            continue;
        };
        let mut times = TimeCache::default();
        for line in lines.split(|&b| b == b'\n') {
            if let Err(miss) = format.parse(line, &mut times) {
                let _ = miss.describe();
            }
        }
    }
});
