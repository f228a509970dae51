//! Which built-in (or given) format fits a log, and how well: `noisegate formats`. The
//! candidates are tried on the first lines of the input; the best is the one detection would
//! pick.

use crate::escape::{escape_text, terminal_text};
use crate::format::{self, ClientIp, LogFormat, Parser};
use crate::input::{self, Input};
use anyhow::{anyhow, Result};
use std::io::{BufRead, BufReader, Read, Write};
use std::sync::Arc;

/// How many lines a fit tries.
const SAMPLE_LINES: usize = 1000;

/// Lists the formats: name, whose address is the client, and the `log_format` text.
pub fn describe(formats: &[Arc<LogFormat>], out: &mut dyn Write) -> std::io::Result<()> {
    for f in formats {
        let client = match &f.client {
            ClientIp::XffFirst => "client: first X-Forwarded-For hop",
            ClientIp::RemoteAddr => "client: $remote_addr",
            ClientIp::Trusted(_) => "client: first address not a trusted proxy",
        };
        writeln!(out, "{:<10} {client}", terminal_text(&f.name))?;
        let spec = match &f.parser {
            Parser::Plan(_) => f.spec.clone(),
            Parser::Json(_) => format!("{} (keys by name, or --json-fields)", f.spec),
        };
        writeln!(out, "    {}", terminal_text(&spec))?;
    }
    Ok(())
}

/// Tries every format on the first non-empty lines of `input` and writes how many each
/// parses and which fits; `false` when none does (with the diagnosis of the first line).
pub fn fit(input: &Input, formats: &[Arc<LogFormat>], out: &mut dyn Write) -> Result<bool> {
    let lines = first_lines(input)?;
    let refs: Vec<&[u8]> = lines.iter().map(|l| &l[..]).collect();
    writeln!(
        out,
        "{}: first {} non-empty lines",
        terminal_text(&input.name()),
        refs.len()
    )?;
    let mut scores = format::score(&refs, formats);
    scores.sort_by_key(|s| std::cmp::Reverse(s.1));
    for (i, ok, _) in &scores {
        writeln!(out, "  {:<12}{:>6} parsed", formats[*i].name, ok)?;
    }
    match format::detect(&refs, formats) {
        Ok(best) => {
            writeln!(out, "fits: {}", best.name)?;
            Ok(true)
        }
        Err(msg) => {
            let first = refs.first().map_or(String::new(), |l| escape_text(l));
            writeln!(
                out,
                "{}\n  line 1: {first}",
                terminal_text(&msg.to_string())
            )?;
            Ok(false)
        }
    }
}

/// The first non-empty lines of an input, without line ends.
fn first_lines(input: &Input) -> Result<Vec<Vec<u8>>> {
    let r = input::open(input).map_err(|e| anyhow!("{}: {e}", terminal_text(&input.name())))?;
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
