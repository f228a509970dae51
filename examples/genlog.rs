//! `genlog`: command-line front end of `noisegate_gen`, the deterministic nginx access-log
//! generator. Writes a synthetic log (by line count or by size) to stdout or a file and prints
//! the throughput to stderr.
//!
//! `cargo run --release --example genlog -- --bytes 1G -o /tmp/g.log`

use std::fs::File;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, ValueEnum};
use noisegate_gen::{generate, GenConfig, GenFormat};

/// Generate a realistic, deterministic nginx access log.
#[derive(Parser, Debug)]
#[command(name = "genlog")]
struct Args {
    /// Line layout.
    #[arg(long, value_enum, default_value_t = Format::Pantheon)]
    format: Format,
    /// Exact number of lines (default: 5000 with --sample, else 1000000).
    #[arg(long, conflicts_with = "bytes")]
    lines: Option<u64>,
    /// Write at least this many bytes (suffix K, M or G: powers of 1024).
    #[arg(long, value_parser = parse_size)]
    bytes: Option<u64>,
    /// PRNG seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Distinct ordinary client IPs.
    #[arg(long)]
    clients: Option<u32>,
    /// Share of malformed lines (e.g. 0.01).
    #[arg(long)]
    malformed: Option<f64>,
    /// Share of mail-client noise lines (e.g. 0.03).
    #[arg(long)]
    noise: Option<f64>,
    /// Unix seconds of the first line.
    #[arg(long)]
    start: Option<i64>,
    /// Seconds covered by the log.
    #[arg(long)]
    span: Option<i64>,
    /// Leave out the Outlook Autodiscover storm.
    #[arg(long)]
    no_storm: bool,
    /// Start from the small sample defaults (5000 lines, one day, 300 clients).
    #[arg(long)]
    sample: bool,
    /// Output file (default: stdout).
    #[arg(short = 'o', long)]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Pantheon,
    Combined,
}

/// Parses `123`, `64K`, `100M`, `1G` (powers of 1024).
fn parse_size(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let mult = match c.to_ascii_uppercase() {
                'K' => 1u64 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown size suffix in {s:?}")),
            };
            (&s[..i], mult)
        }
        _ => (s, 1),
    };
    let n: u64 = num.parse().map_err(|e| format!("bad size {s:?}: {e}"))?;
    n.checked_mul(mult)
        .ok_or_else(|| format!("size {s:?} too large"))
}

/// Builds the generator configuration from the defaults and the overrides.
fn config(a: &Args) -> GenConfig {
    let format = match a.format {
        Format::Pantheon => GenFormat::Pantheon,
        Format::Combined => GenFormat::Combined,
    };
    let mut cfg = if a.sample {
        GenConfig::sample(format)
    } else {
        GenConfig::bench(1_000_000)
    };
    cfg.format = format;
    cfg.lines = a.lines.unwrap_or(cfg.lines);
    cfg.seed = a.seed.unwrap_or(cfg.seed);
    cfg.clients = a.clients.unwrap_or(cfg.clients);
    cfg.malformed_share = a.malformed.unwrap_or(cfg.malformed_share);
    cfg.noise_share = a.noise.unwrap_or(cfg.noise_share);
    cfg.start_epoch = a.start.unwrap_or(cfg.start_epoch);
    cfg.span_secs = a.span.unwrap_or(cfg.span_secs);
    cfg.storm &= !a.no_storm;
    cfg
}

/// A writer that counts the bytes passed through it.
struct Counting<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Average line size of `cfg` (without the storm), measured on a prefix.
fn average_line_size(cfg: &GenConfig) -> io::Result<f64> {
    let mut probe = cfg.clone();
    probe.lines = 200_000;
    probe.storm = false;
    let mut sink = Counting {
        inner: io::sink(),
        bytes: 0,
    };
    generate(&probe, &mut sink)?;
    Ok(sink.bytes as f64 / probe.lines as f64)
}

/// Writes at least `target` bytes: one run sized from the average line, then, if it fell
/// short, further runs that continue in time after the previous one (so lines stay ordered).
/// Returns the number of lines written.
fn write_bytes<W: Write>(cfg: &GenConfig, target: u64, out: &mut Counting<W>) -> io::Result<u64> {
    let avg = average_line_size(cfg)?;
    let mut cfg = cfg.clone();
    let mut lines = 0;
    while out.bytes < target {
        let missing = (target - out.bytes) as f64;
        cfg.lines = (missing / avg * 1.01) as u64 + 1;
        generate(&cfg, out)?;
        lines += cfg.lines;
        cfg.start_epoch += cfg.span_secs.max(1);
        cfg.seed = cfg.seed.wrapping_add(1);
        cfg.storm = false;
    }
    Ok(lines)
}

fn run(args: &Args) -> io::Result<()> {
    let cfg = config(args);
    let sink: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(File::create(path)?),
        None => Box::new(io::stdout().lock()),
    };
    let mut out = Counting {
        inner: sink,
        bytes: 0,
    };
    let began = Instant::now();
    let lines = match args.bytes {
        Some(target) => write_bytes(&cfg, target, &mut out)?,
        None => {
            generate(&cfg, &mut out)?;
            cfg.lines
        }
    };
    out.flush()?;
    let secs = began.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "genlog: {} lines, {} bytes in {:.3} s: {:.1} MB/s",
        lines,
        out.bytes,
        secs,
        out.bytes as f64 / secs / 1e6
    );
    Ok(())
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        if e.kind() != io::ErrorKind::BrokenPipe {
            eprintln!("genlog: {e}");
            std::process::exit(1);
        }
    }
}
