//! Throughput of each stage on a generated Pantheon log (~32 MB, realistic shape), in bytes
//! per second: parse, classify, the full per-worker scan (parse + classify + aggregate),
//! merge, and the end-to-end pipeline from a file with 1 and 2 threads; and the scan of
//! probes whose user agent is 8 KB of `m` (the first byte of many tokens) against the same
//! with `x` filler, which must run at the same rate: the family is matched in one pass.
//!
//! `cargo bench --bench throughput`; the figures are in README and BENCHMARKS.md.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use noisegate_engine::internals::{
    split_request, BlockInfo, Class, ScanConfig, Scanner, TimeCache,
};
use noisegate_engine::{scan, Input, LeaseChoice, LogFormat, ScanOptions};
use noisegate_gen::{generate, GenConfig};
use std::hint::black_box;

const LINES: u64 = 130_000;

fn log() -> Vec<u8> {
    let mut out = Vec::new();
    generate(&GenConfig::bench(LINES), &mut out).expect("generate");
    out
}

fn at(format: &LogFormat) -> BlockInfo<'_> {
    BlockInfo {
        source: 0,
        seq: 0,
        format,
    }
}

fn stages(c: &mut Criterion) {
    let data = log();
    let cfg = ScanConfig::default();
    let fmt = LogFormat::preset("pantheon").expect("preset");
    let mut g = c.benchmark_group("stage");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(20);
    g.bench_function("parse", |b| {
        b.iter(|| {
            let mut times = TimeCache::default();
            let mut ok = 0u64;
            for line in data.split(|&c| c == b'\n') {
                ok += u64::from(fmt.parse(line, &mut times).is_ok());
            }
            black_box(ok)
        })
    });
    let paths: Vec<&[u8]> = data
        .split(|&c| c == b'\n')
        .filter_map(|l| fmt.parse(l, &mut TimeCache::default()).ok())
        .filter_map(|r| split_request(r.request?).map(|q| q.path))
        .collect();
    g.bench_function("classify", |b| {
        let mut scratch = cfg.classifier.scratch();
        b.iter(|| {
            let mut noise = 0u64;
            for p in &paths {
                let (class, _) = cfg.classifier.classify(p, &mut scratch);
                noise += u64::from(matches!(class, Class::Noise(_)));
            }
            black_box(noise)
        })
    });
    g.bench_function("scan (parse+classify+aggregate)", |b| {
        b.iter_batched(
            || Scanner::new(&cfg),
            |mut s| {
                s.scan_block(at(&fmt), &data);
                s.into_summary()
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut a = Scanner::new(&cfg);
    a.scan_block(at(&fmt), &data);
    let a = a.into_summary();
    let mut m = c.benchmark_group("merge");
    m.sample_size(20);
    m.bench_function("merge two worker summaries", |b| {
        b.iter_batched(
            || a.clone(),
            |mut s| {
                s.merge(&a);
                s
            },
            BatchSize::LargeInput,
        )
    });
    m.finish();
}

fn pipeline(c: &mut Criterion) {
    let data = log();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bench.log");
    std::fs::write(&path, &data).expect("write");
    let mut g = c.benchmark_group("pipeline");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    for threads in [1, 2] {
        let mut opts = ScanOptions::new(threads);
        // SAFETY: this benchmark process relies on no SIGIO handler of its own.
        opts.lease = unsafe { LeaseChoice::auto() };
        g.bench_function(format!("file, {threads} thread(s)"), |b| {
            b.iter(|| scan(&[Input::Path(path.clone())], &opts).expect("scan"))
        });
    }
    g.finish();
}

/// 2,000 Autodiscover probes whose user agent is `Microsoft Office/16.0 (` and 8,000 bytes of
/// `filler`.
fn long_agents(filler: u8) -> Vec<u8> {
    let agent = format!(
        "Microsoft Office/16.0 ({})",
        String::from(filler as char).repeat(8000)
    );
    let line = format!("10.0.0.1 - - [19/Feb/2016:02:00:00 +0000]  \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 12 \"-\" \"{agent}\" 0.250 \"198.51.100.7\"\n");
    line.repeat(2000).into_bytes()
}

fn family(c: &mut Criterion) {
    let cfg = ScanConfig::default();
    let fmt = LogFormat::preset("pantheon").expect("preset");
    let mut g = c.benchmark_group("family");
    g.sample_size(10);
    for (name, filler) in [("8 KB hostile agent", b'm'), ("8 KB plain filler", b'x')] {
        let data = long_agents(filler);
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.bench_function(name, |b| {
            b.iter_batched(
                || Scanner::new(&cfg),
                |mut s| {
                    s.scan_block(at(&fmt), &data);
                    s.into_summary()
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, stages, pipeline, family);
criterion_main!(benches);
