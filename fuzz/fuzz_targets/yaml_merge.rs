//! Merging a block into an arbitrary `pantheon.yml`: it may refuse the file, but what it
//! writes must be YAML that holds every entry of the block that fits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use noisegate_engine::internals::{plan_summary, BlockInfo, ScanConfig, Scanner};
use noisegate_engine::{merge_pantheon_yml, BlockPlan};
use std::sync::OnceLock;

fn plan() -> &'static BlockPlan {
    static P: OnceLock<BlockPlan> = OnceLock::new();
    P.get_or_init(|| {
        let cfg = ScanConfig::default();
        let format = noisegate_engine::LogFormat::preset("combined").unwrap();
        let mut scanner = Scanner::new(&cfg);
        let log = b"1.2.3.4 - - [19/Feb/2016:02:00:00 +0000] \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 5 \"-\" \"Microsoft Office/16.0\"\n\
1.2.3.4 - - [19/Feb/2016:02:00:01 +0000] \"GET /.well-known/autoconfig/mail/config-v1.1.xml HTTP/1.1\" 404 5 \"-\" \"Thunderbird\"\n";
        let at = BlockInfo { source: 0, seq: 0, format: &format };
        scanner.scan_block(at, log);
        plan_summary(scanner.summary(), Default::default())
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let plan = plan();
    for plain in [false, true] {
        let Ok(merged) = merge_pantheon_yml(text, plan, plain) else {
            continue;
        };
        let out = &merged.text;
        yaml_rust2::YamlLoader::load_from_str(out).expect("merged pantheon.yml is YAML");
        for path in plan.paths() {
            if !merged.over_limit.iter().any(|o| o == path) {
                assert!(out.contains(path), "{path} missing");
            }
        }
    }
});
