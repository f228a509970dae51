//! `noisegate formats [PATH]`: the built-in formats, or which of them (and of the user's
//! `--log-format` / `--nginx-conf` format) fits the first lines of a log, and how well.

use anyhow::{anyhow, Result};
use clap::Args;
use noisegate_engine::escape::escape_text;
use noisegate_engine::format::{self, LogFormat, Parser};
use noisegate_engine::input::{self, Input};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// How many lines `formats PATH` tries.
const SAMPLE_LINES: usize = 1000;

/// Arguments of `noisegate formats`.
#[derive(Debug, Args)]
pub struct FormatsArgs {
    /// A log (plain or gzip; `-` for stdin) whose first 1000 lines the formats are tried on.
    #[arg(value_name = "PATH")]
    path: Option<PathBuf>,

    /// Also try this nginx log_format string.
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,

    /// Also try the log_format this nginx configuration uses.
    #[arg(long, value_name = "FILE")]
    nginx_conf: Option<PathBuf>,

    /// With --nginx-conf: the log_format to try [default: the first access_log's].
    #[arg(long, value_name = "NAME", requires = "nginx_conf")]
    log_format_name: Option<String>,
}

fn candidates(args: &FormatsArgs) -> Result<Vec<Arc<LogFormat>>> {
    let mut all = LogFormat::presets();
    if let Some(fmt) = &args.log_format {
        let escape = format::Escape::guess(fmt);
        all.push(
            LogFormat::custom("custom", fmt, escape).map_err(|e| anyhow!("--log-format: {e}"))?,
        );
    }
    if let Some(conf) = &args.nginx_conf {
        all.push(LogFormat::from_nginx_conf(
            conf,
            args.log_format_name.as_deref(),
        )?);
    }
    Ok(all.into_iter().map(Arc::new).collect())
}

/// Runs the subcommand.
pub fn run(args: &FormatsArgs, out: &mut dyn Write) -> Result<ExitCode> {
    let all = candidates(args)?;
    let Some(path) = &args.path else {
        for f in &all {
            let client = match f.client {
                format::ClientIp::XffFirst => "client: first X-Forwarded-For hop",
                format::ClientIp::RemoteAddr => "client: $remote_addr",
            };
            writeln!(out, "{:<10} {client}", f.name)?;
            let spec = match &f.parser {
                Parser::Plan(_) => f.spec.clone(),
                Parser::Json(_) => format!("{} (keys by name, or --json-fields)", f.spec),
            };
            writeln!(out, "    {spec}")?;
        }
        return Ok(ExitCode::SUCCESS);
    };
    let input = Input::from_arg(path.as_os_str());
    let lines = first_lines(&input)?;
    let refs: Vec<&[u8]> = lines.iter().map(|l| &l[..]).collect();
    writeln!(
        out,
        "{}: first {} non-empty lines",
        input.name(),
        refs.len()
    )?;
    let mut scores = format::score(&refs, &all);
    scores.sort_by_key(|s| std::cmp::Reverse(s.1));
    for (i, ok, _) in &scores {
        writeln!(out, "  {:<12}{:>6} parsed", all[*i].name, ok)?;
    }
    match format::detect(&refs, &all) {
        Ok(best) => {
            writeln!(out, "fits: {}", best.name)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(msg) => {
            let first = refs.first().map_or(String::new(), |l| escape_text(l));
            writeln!(out, "{msg}\n  line 1: {first}")?;
            Ok(ExitCode::from(2))
        }
    }
}

/// The first non-empty lines of an input, without line ends.
fn first_lines(input: &Input) -> Result<Vec<Vec<u8>>> {
    let r = input::open(input).map_err(|e| anyhow!("{}: {e}", input.name()))?;
    let mut r = BufReader::new(r.take(64 << 20));
    let mut lines = Vec::new();
    let mut buf = Vec::new();
    while lines.len() < SAMPLE_LINES {
        buf.clear();
        if r.read_until(b'\n', &mut buf)? == 0 {
            break;
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if !line.trim_ascii().is_empty() {
            lines.push(line.to_vec());
        }
    }
    Ok(lines)
}
