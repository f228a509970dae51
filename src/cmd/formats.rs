//! `noisegate formats [PATH]`: the built-in formats, or which of them (and of the user's
//! `--log-format` / `--nginx-conf` format) fits the first lines of a log, and how well.

use anyhow::{anyhow, Result};
use clap::Args;
use noisegate_engine::{describe_formats, fit_formats, Input, LogFormat};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

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
        all.push(LogFormat::from_log_format(fmt).map_err(|e| anyhow!("--log-format: {e}"))?);
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
        describe_formats(&all, out)?;
        return Ok(ExitCode::SUCCESS);
    };
    let fits = fit_formats(&Input::from_arg(path.as_os_str()), &all, out)?;
    Ok(if fits {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}
