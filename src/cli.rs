//! The command line: clap definitions, and the resolution of every decision (format, threads,
//! color) before any input byte is read. `run` returns the exit code; main stays thin.

use crate::format::Format;
use crate::input::Input;
use crate::pipeline::{self, ScanOptions, ScanResult};
use crate::remedy;
use crate::report::{self, Output, Style};
use crate::summary::Caps;
use anyhow::{bail, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

/// Finds mail-client probe noise (Outlook Autodiscover, Thunderbird autoconfig, ActiveSync,
/// EWS, OWA, ...) in nginx access logs, reports what it costs, and prints the pantheon.yml
/// block that stops it.
///
/// Reads Pantheon's nginx format or combined, plain or gzip, from files or stdin.
/// Exit codes: 0 done, 2 usage, input or I/O error.
#[derive(Debug, Parser)]
#[command(name = "noisegate", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    report: ReportArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Full report of the mail-client noise (the default command).
    Report(ReportArgs),
    /// Print only the pantheon.yml snippet that protects the noise paths.
    Block(BlockArgs),
}

/// Log format choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// Decide from the first lines.
    Auto,
    /// Pantheon's nginx format.
    Pantheon,
    /// nginx/Apache combined.
    Combined,
}

/// When to color the text report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorArg {
    /// Only when stdout is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

#[derive(Debug, Args)]
struct InputArgs {
    /// Log files (plain or gzip); `-` or none reads stdin.
    #[arg(value_name = "PATH")]
    paths: Vec<OsString>,

    /// Log format of the input.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    format: FormatArg,

    /// Worker threads [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,

    /// Block size handed to each worker (e.g. 2M, 512K).
    #[arg(long, default_value = "2M", value_parser = parse_size)]
    chunk_size: usize,

    /// Lines longer than this are counted as rejected (e.g. 1M).
    #[arg(long, default_value = "1M", value_parser = parse_size)]
    max_line: usize,
}

#[derive(Debug, Args)]
struct ReportArgs {
    #[command(flatten)]
    input: InputArgs,

    /// Report format.
    #[arg(long, short, value_enum, default_value_t = Output::Text)]
    output: Output,

    /// Color in the text report.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,

    /// Entries in each category's top-clients and top-user-agents lists; 0 lists all.
    #[arg(long, default_value_t = 10)]
    top: usize,
}

#[derive(Debug, Args)]
struct BlockArgs {
    #[command(flatten)]
    input: InputArgs,
}

/// Parses `2M`, `512K`, `1G` or a plain byte count.
fn parse_size(s: &str) -> Result<usize, String> {
    let (num, mult) = match s.as_bytes().last() {
        Some(b'K' | b'k') => (&s[..s.len() - 1], 1 << 10),
        Some(b'M' | b'm') => (&s[..s.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    let n: usize = num
        .parse()
        .map_err(|_| format!("'{s}' is not a size like 2M, 512K or 4096"))?;
    match n.checked_mul(mult) {
        Some(v) if v > 0 => Ok(v),
        _ => Err(format!("'{s}' is out of range")),
    }
}

impl InputArgs {
    fn inputs(&self) -> Vec<Input> {
        if self.paths.is_empty() {
            vec![Input::Stdin]
        } else {
            self.paths.iter().map(|p| Input::from_arg(p)).collect()
        }
    }

    fn options(&self) -> ScanOptions {
        let threads = self
            .threads
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        ScanOptions {
            threads,
            chunk: self.chunk_size,
            max_line: self.max_line,
            format: match self.format {
                FormatArg::Auto => None,
                FormatArg::Pantheon => Some(Format::Pantheon),
                FormatArg::Combined => Some(Format::Combined),
            },
            caps: Caps::default(),
        }
    }

    fn scan(&self) -> Result<ScanResult> {
        let inputs = self.inputs();
        if self.paths.is_empty() && io::stdin().is_terminal() {
            bail!("no input: name a log file, or pipe one in (cat nginx-access.log | noisegate); see --help");
        }
        if inputs.iter().filter(|i| **i == Input::Stdin).count() > 1 {
            bail!("stdin ('-') can be read only once");
        }
        pipeline::scan(&inputs, &self.options())
    }
}

fn use_color(arg: ColorArg) -> bool {
    match arg {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Tells stderr about unreadable inputs and rejected lines; returns the exit code they imply.
fn warn(scan: &ScanResult) -> ExitCode {
    let l = &scan.summary.lines;
    if l.rejected > 0 {
        let first = scan
            .summary
            .reject_examples
            .first()
            .map_or(String::new(), |e| {
                format!("; first at {}:{}", scan.sources[e.source as usize], e.line)
            });
        eprintln!(
            "noisegate: warning: {} of {} lines did not fit the {} format{first}",
            l.rejected,
            l.total,
            scan.format.map_or("detected", Format::name)
        );
    }
    for e in &scan.errors {
        eprintln!("noisegate: {}: {}", e.source, e.message);
    }
    if scan.errors.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// Parses the command line and runs it.
pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let scan = match cli.command {
        None => report_cmd(&cli.report, &mut out)?,
        Some(Command::Report(args)) => report_cmd(&args, &mut out)?,
        Some(Command::Block(args)) => block_cmd(&args, &mut out)?,
    };
    out.flush()?;
    Ok(warn(&scan))
}

fn report_cmd(args: &ReportArgs, out: &mut dyn Write) -> Result<ScanResult> {
    let style = Style {
        color: use_color(args.color),
    };
    let scan = args.input.scan()?;
    let plan = remedy::plan(&scan.summary);
    let report = report::build(&scan, &plan, args.top);
    report::render(&report, args.output, style, out)?;
    Ok(scan)
}

fn block_cmd(args: &BlockArgs, out: &mut dyn Write) -> Result<ScanResult> {
    let scan = args.input.scan()?;
    let plan = remedy::plan(&scan.summary);
    out.write_all(remedy::pantheon_yml(&plan).as_bytes())?;
    Ok(scan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("x").is_err());
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
