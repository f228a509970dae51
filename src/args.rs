//! The options the commands share (inputs and formats, storm and view settings) and their
//! resolution: every option is parsed and checked before the first byte of input is read
//! (clap value parsers refuse a bad number at once); `InputArgs::scan` then reads.

use crate::choice::choice;
use crate::progress;
use anyhow::{anyhow, bail, Result};
use clap::{Args, CommandFactory, ValueEnum};
use noisegate_engine::{
    check_glob, discover, resolve_window, terminal_path, terminal_text, Bound, ClientIp,
    FormatChoice, Incremental, Input, JsonLines, LeaseChoice, LogFormat, Output, Progress,
    ScanOptions, ScanResult, Settings, SourceError, StormConfig, TrustedProxies, Upstream,
    DEFAULT_PHP_WORKERS, PRESETS,
};
use std::ffi::OsString;
use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Whose address is the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ClientArg {
    /// Pantheon: the first X-Forwarded-For hop; other formats: $remote_addr.
    Auto,
    /// The first X-Forwarded-For hop, else $remote_addr.
    XffFirst,
    /// $remote_addr.
    RemoteAddr,
}

/// When to draw a progress bar on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProgressArg {
    /// Only when stderr is a terminal, and only for runs longer than about a second.
    Auto,
    /// Never.
    Never,
}

/// When to color the text report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorArg {
    /// Only when stdout is a terminal and NO_COLOR is not set.
    Auto,
    Always,
    Never,
}

/// `--format auto`: decide for each input.
const AUTO: &str = "auto";

/// `--format`'s values: `auto` and the engine's table of built-in formats.
fn format_names() -> clap::builder::PossibleValuesParser {
    let auto =
        clap::builder::PossibleValue::new(AUTO).help("Decide for each input from its first lines");
    let presets = PRESETS
        .iter()
        .map(|p| clap::builder::PossibleValue::new(p.name).help(p.help));
    clap::builder::PossibleValuesParser::new(std::iter::once(auto).chain(presets))
}

/// A percentage: a finite number from 0 to 100.
pub(crate) fn percentage(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=100.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a percentage from 0 to 100")),
    }
}

/// A number that is finite and not negative (a rate, a percentage).
pub(crate) fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a number of at least 0")),
    }
}

#[derive(Debug, Args)]
pub(crate) struct InputArgs {
    /// Log files (plain or gzip) or directories (searched recursively); `-` or none reads stdin.
    #[arg(value_name = "PATH")]
    pub(crate) paths: Vec<OsString>,

    /// Log format of the input: auto (decide for each input from its first lines) or a
    /// built-in format.
    #[arg(long, default_value = AUTO, value_parser = format_names())]
    pub(crate) format: String,

    /// An nginx log_format string, e.g. '$remote_addr [$time_local] "$request" $status'.
    #[arg(long, value_name = "FORMAT", conflicts_with_all = ["nginx_conf", "format"])]
    pub(crate) log_format: Option<String>,

    /// Read the log format out of this nginx configuration file.
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    pub(crate) nginx_conf: Option<PathBuf>,

    /// With --nginx-conf: the log_format to use [default: the first access_log's].
    #[arg(long, value_name = "NAME", requires = "nginx_conf")]
    pub(crate) log_format_name: Option<String>,

    /// JSON lines: which key holds which field, e.g. 'status=code,request_time=duration'.
    #[arg(long, value_name = "FIELD=KEY,...")]
    pub(crate) json_fields: Option<String>,

    /// Whose address counts as the client.
    #[arg(long, value_enum, default_value_t = ClientArg::Auto)]
    pub(crate) client_ip: ClientArg,

    /// Your proxies (addresses or CIDR ranges, comma-separated): the client is then the first
    /// address, from $remote_addr leftwards through X-Forwarded-For, that is not one of them,
    /// as nginx's realip module with real_ip_recursive on finds it.
    #[arg(
        long,
        value_name = "CIDR,...",
        conflicts_with = "client_ip",
        value_parser = parse_trusted
    )]
    pub(crate) trusted_proxies: Option<Arc<TrustedProxies>>,

    /// Only lines at or after this time: RFC 3339, or relative like 90m, 24h, 7d.
    #[arg(long, value_name = "TIME", value_parser = clap::value_parser!(Bound))]
    pub(crate) since: Option<Bound>,

    /// Only lines before this time: RFC 3339, or relative like 90m, 24h, 7d.
    #[arg(long, value_name = "TIME", value_parser = clap::value_parser!(Bound))]
    pub(crate) until: Option<Bound>,

    /// Relative --since/--until count back from now instead of from the newest line.
    #[arg(long)]
    pub(crate) now: bool,

    /// Incremental runs: read only what was added since the run that wrote FILE (a log is
    /// known by its content: rotation, compression, copytruncate and re-download are
    /// followed), and update FILE afterwards; one run at a time (FILE.lock).
    #[arg(long, value_name = "FILE")]
    pub(crate) state: Option<PathBuf>,

    /// In directories, read the files whose name matches this glob (default: access logs).
    #[arg(long, value_name = "GLOB")]
    pub(crate) glob: Option<String>,

    /// Worker threads [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub(crate) threads: Option<u16>,

    /// Block size handed to each worker (e.g. 2M, 512K).
    #[arg(long, default_value = "2M", value_parser = parse_size)]
    pub(crate) chunk_size: usize,

    /// Lines longer than this are counted as rejected (e.g. 1M).
    #[arg(long, default_value = "1M", value_parser = parse_size)]
    pub(crate) max_line: usize,

    /// Show the mailboxes the probes name in full (at most 10 per domain), and keep them in a
    /// summary saved by this run; without it their local parts are never printed or saved
    /// (`s*****@example.com`).
    #[arg(long)]
    pub(crate) show_mailboxes: bool,

    /// A progress bar on stderr (bytes read, throughput, noise found).
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    pub(crate) progress: ProgressArg,

    /// Milliseconds before the progress bar appears (tests set 0).
    #[arg(long, default_value_t = 1000, hide = true)]
    pub(crate) progress_delay_ms: u64,
}

/// Storm, surge and impact settings.
#[derive(Debug, Args)]
pub(crate) struct AnalysisArgs {
    /// Storms: the longest quiet gap inside one client's storm, in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 5, value_parser = clap::value_parser!(i64).range(0..))]
    pub(crate) storm_gap: i64,

    /// Storms: the fewest requests a storm holds.
    #[arg(long, value_name = "N", default_value_t = 120)]
    pub(crate) storm_min_requests: u64,

    /// Storms: the lowest mean rate, requests per minute.
    #[arg(long, value_name = "PER_MINUTE", default_value_t = 20.0, value_parser = non_negative)]
    pub(crate) storm_rate: f64,

    /// Surges: the fewest requests of a category in a surge minute.
    #[arg(long, value_name = "N", default_value_t = 30)]
    pub(crate) surge_min_requests: u64,

    /// Surges: the fewest distinct clients in a surge minute.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) surge_min_clients: u64,

    /// Surges: minutes at most this far apart are one surge.
    #[arg(long, value_name = "MINUTES", default_value_t = 2, value_parser = clap::value_parser!(i64).range(0..))]
    pub(crate) surge_gap: i64,

    /// Loops: the fewest requests of a client's long run of probes (a loop is slower than a
    /// storm but lasts: Outlook retrying every few seconds for hours).
    #[arg(long, value_name = "N", default_value_t = 100)]
    loop_min_requests: u64,

    /// Loops: the shortest span of a loop, in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 60, value_parser = clap::value_parser!(i64).range(0..))]
    loop_min_minutes: i64,

    /// Loops: the longest quiet gap inside a loop, in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 15, value_parser = clap::value_parser!(i64).range(0..))]
    loop_gap: i64,

    /// PHP workers per container, to express occupancy as a share of capacity (Pantheon
    /// containers run a small fixed number, historically 4 or 8).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PHP_WORKERS, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) php_workers: u32,
}

impl AnalysisArgs {
    /// The storm and surge rules.
    pub(crate) fn storms(&self) -> StormConfig {
        StormConfig {
            gap_minutes: self.storm_gap,
            min_requests: self.storm_min_requests,
            rate: self.storm_rate,
            surge_min_requests: self.surge_min_requests,
            surge_min_clients: self.surge_min_clients,
            surge_gap_minutes: self.surge_gap,
            loop_min_requests: self.loop_min_requests,
            loop_min_minutes: self.loop_min_minutes,
            loop_gap_minutes: self.loop_gap,
        }
    }

    /// What the analysis is told, with the site's upstream.
    pub(crate) fn settings(&self, upstream: Upstream) -> Settings {
        Settings {
            storms: self.storms(),
            php_workers: self.php_workers,
            upstream,
        }
    }
}

/// How a report is computed and shown (for `report` and `merge`).
#[derive(Debug, Args)]
pub(crate) struct ViewArgs {
    #[command(flatten)]
    pub(crate) analysis: AnalysisArgs,

    /// Report format.
    #[arg(long, short, value_parser = choice::<Output>(), default_value_t = Output::Text)]
    pub(crate) output: Output,

    /// Color in the text report.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub(crate) color: ColorArg,

    /// Entries in each category's top-clients and top-user-agents lists; 0 lists all.
    #[arg(long, default_value_t = 10)]
    pub(crate) top: usize,

    /// The site's upstream, whose default protected paths share Pantheon's 24-entry limit.
    #[arg(long, value_parser = choice::<Upstream>(), default_value_t = Upstream::None)]
    pub(crate) upstream: Upstream,
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

/// The report calls an input unreadable when more than this percentage of its non-empty lines
/// do not fit its format (`check` is stricter: `--max-rejected-share`).
const MOST_REJECTED: f64 = 50.0;

/// Whether `a` becomes `b` by one inserted, deleted, replaced or swapped character.
fn one_edit_apart(a: &str, b: &str) -> bool {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a == b || a.len().abs_diff(b.len()) > 1 {
        return false;
    }
    let head = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let tail = |skip_a: usize, skip_b: usize| a[head + skip_a..] == b[head + skip_b..];
    match a.len().cmp(&b.len()) {
        std::cmp::Ordering::Less => tail(0, 1),
        std::cmp::Ordering::Greater => tail(1, 0),
        std::cmp::Ordering::Equal => {
            tail(1, 1)
                || (head + 1 < a.len()
                    && a[head] == b[head + 1]
                    && a[head + 1] == b[head]
                    && a[head + 2..] == b[head + 2..])
        }
    }
}

/// Fails unless `path` can be written where it is (it is written atomically: a temporary
/// file next to it, renamed over it), before any input is read.
pub(crate) fn check_writable(path: &std::path::Path, what: &str) -> Result<()> {
    let shown = terminal_path(path);
    // A symlink is written through: the directory that matters is its target's.
    let target = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if !dir.is_dir() {
        bail!(
            "{what} {shown}: the directory {} does not exist",
            terminal_path(dir)
        );
    }
    tempfile::NamedTempFile::new_in(dir).map_err(|e| {
        anyhow!(
            "{what} {shown}: cannot write in {}: {e}",
            terminal_path(dir)
        )
    })?;
    Ok(())
}

impl InputArgs {
    /// The inputs, with directories expanded; notes go to stderr, unreadable directories
    /// become errors of the scan.
    fn inputs(&self, quiet: bool) -> Result<(Vec<Input>, Vec<SourceError>)> {
        if self.paths.is_empty() {
            if io::stdin().is_terminal() {
                bail!("no input: name a log file, or pipe one in (cat nginx-access.log | noisegate); see --help");
            }
            return Ok((vec![Input::Stdin], vec![]));
        }
        if self.paths.iter().filter(|p| *p == "-").count() > 1 {
            bail!("stdin ('-') can be read only once");
        }
        // `noisegate --threads 1 block x.log` reads `block` as a path: options before a
        // command belong to the default report. Say so rather than report a missing file.
        let mut cli = crate::cmd::Cli::command();
        cli.build(); // adds clap's own `help` command
        let command = |p: &OsString| {
            let name = p.to_string_lossy();
            cli.get_subcommands().any(|c| c.get_name() == name)
        };
        if let Some(cmd) = self
            .paths
            .iter()
            .find(|p| command(p) && !std::path::Path::new(p).exists())
        {
            let cmd = cmd.to_string_lossy();
            bail!("'{cmd}' is a command, not a file: put it first (noisegate {cmd} [OPTIONS] PATH...)");
        }
        // `noisegate chek logs/`: a missing path one edit away from a command is a typo.
        for p in self
            .paths
            .iter()
            .filter(|p| !std::path::Path::new(p).exists())
        {
            let typed = p.to_string_lossy();
            let near = cli
                .get_subcommands()
                .map(|c| c.get_name())
                .find(|c| *c != "help" && one_edit_apart(&typed, c));
            if let Some(c) = near {
                bail!("'{typed}' is neither a file nor a command: did you mean `noisegate {c}`?");
            }
        }
        if let Some(g) = &self.glob {
            check_glob(g).map_err(|e| anyhow!("--glob: {e}"))?;
        }
        let args: Vec<PathBuf> = self.paths.iter().map(PathBuf::from).collect();
        let found = discover(&args, self.glob.as_deref());
        for note in &found.notes {
            if !quiet {
                eprintln!("noisegate: note: {}", terminal_text(note));
            }
        }
        let errors: Vec<SourceError> = found
            .errors
            .iter()
            .map(|(p, e)| SourceError {
                source: p.display().to_string(),
                message: e.to_string(),
            })
            .collect();
        let inputs: Vec<Input> = found
            .files
            .iter()
            .map(|p| Input::from_arg(p.as_os_str()))
            .collect();
        if inputs.is_empty() && errors.is_empty() {
            let notes = found.notes.join("; ");
            bail!(
                "no log file to read under the given paths ({notes}); use --glob to choose files"
            );
        }
        Ok((inputs, errors))
    }

    /// The format choice: a log_format, an nginx.conf's, a preset, or detection.
    pub(crate) fn format(&self) -> Result<FormatChoice> {
        let json = match &self.json_fields {
            Some(spec) => {
                JsonLines::with_fields(spec).map_err(|e| anyhow!("--json-fields: {e}"))?
            }
            None => JsonLines::auto(),
        };
        let fixed = |f: LogFormat| Ok(FormatChoice::Fixed(Arc::new(f)));
        if let Some(fmt) = &self.log_format {
            return fixed(
                LogFormat::from_log_format(fmt).map_err(|e| anyhow!("--log-format: {e}"))?,
            );
        }
        if let Some(conf) = &self.nginx_conf {
            return fixed(LogFormat::from_nginx_conf(
                conf,
                self.log_format_name.as_deref(),
            )?);
        }
        if self.format == AUTO {
            let all = LogFormat::presets_with(&json);
            return Ok(FormatChoice::Detect(
                all.into_iter().map(Arc::new).collect(),
            ));
        }
        let preset = PRESETS.iter().find(|p| p.name == self.format);
        fixed(preset.expect("clap checked the name").build(&json))
    }

    pub(crate) fn client(&self) -> Option<ClientIp> {
        if let Some(t) = &self.trusted_proxies {
            return Some(ClientIp::Trusted(t.clone()));
        }
        match self.client_ip {
            ClientArg::Auto => None,
            ClientArg::XffFirst => Some(ClientIp::XffFirst),
            ClientArg::RemoteAddr => Some(ClientIp::RemoteAddr),
        }
    }

    fn options(&self) -> Result<ScanOptions> {
        let threads = self
            .threads
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        let mut opts = ScanOptions::new(threads);
        opts.chunk = self.chunk_size;
        opts.max_line = self.max_line;
        opts.format = self.format()?;
        opts.client = self.client();
        opts.mailboxes = self.show_mailboxes;
        // SAFETY: this binary owns its process and relies on no handler or default action of
        // SIGIO of its own.
        opts.lease = unsafe { LeaseChoice::auto() };
        Ok(opts)
    }

    /// The `[since, until)` window (see [`resolve_window`]).
    fn window(&self, inputs: &[Input], opts: &ScanOptions) -> Result<(i64, i64)> {
        let now = self.now.then(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        });
        resolve_window(self.since, self.until, now, inputs, opts)
    }

    /// Scans the inputs; `storms` keeps what storm detection needs (time series, and the
    /// noise lines for the details pass).
    pub(crate) fn scan(&self, storms: bool, quiet: bool) -> Result<ScanResult> {
        if let Some(state) = &self.state {
            check_writable(state, "--state")?;
        }
        let (mut inputs, errors) = self.inputs(quiet)?;
        let mut opts = self.options()?;
        let resume = match &self.state {
            Some(file) => {
                let (run, resumed) = Incremental::open(file, &inputs, &mut opts)?;
                for note in run.notes() {
                    eprintln!("noisegate: warning: {}", terminal_text(note));
                }
                inputs = resumed;
                Some(run)
            }
            None => None,
        };
        opts.series = false;
        opts.window = self.window(&inputs, &opts)?;
        (opts.spool, opts.series) = (storms, storms);
        let _display =
            (self.progress == ProgressArg::Auto && io::stderr().is_terminal()).then(|| {
                let counters = Arc::new(Progress::default());
                opts.progress = Some(counters.clone());
                let delay = std::time::Duration::from_millis(self.progress_delay_ms);
                progress::start(counters, progress::total(&inputs, opts.starts()), delay)
            });
        let mut result = noisegate_engine::scan(&inputs, &opts)?;
        result.add_errors(errors);
        if let Some(run) = resume {
            run.finish(&mut result);
        }
        Ok(result)
    }
}

/// Whether the text report is colored.
pub(crate) fn use_color(arg: ColorArg) -> bool {
    match arg {
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => {
            io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Tells stderr about unreadable inputs and rejected lines; returns the exit code they imply.
pub(crate) fn warn(scan: &ScanResult) -> ExitCode {
    // The report on an input most of whose lines do not fit is no report: an error (exit 2).
    let failed = noisegate_engine::untrusted(scan, MOST_REJECTED);
    if failed.is_empty() {
        if let Some(w) = scan.reject_warning() {
            eprintln!("noisegate: warning: {}", terminal_text(&w));
        }
    }
    for e in &failed {
        eprintln!("noisegate: {}", terminal_text(&e.message));
    }
    for e in scan.errors() {
        eprintln!(
            "noisegate: {}: {}",
            terminal_text(&e.source),
            terminal_text(&e.message)
        );
    }
    if scan.errors().is_empty() && failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

fn parse_trusted(s: &str) -> Result<Arc<TrustedProxies>, String> {
    TrustedProxies::parse(s).map(Arc::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typos_are_one_edit_apart() {
        for (typed, command) in [("chek", "check"), ("blok", "block"), ("chekc", "check")] {
            assert!(one_edit_apart(typed, command), "{typed}");
        }
        for (typed, command) in [("check", "check"), ("logs", "block"), ("chk", "check")] {
            assert!(!one_edit_apart(typed, command), "{typed}");
        }
        assert!(one_edit_apart("mrege", "merge"), "a swap");
        assert!(one_edit_apart("formats.", "formats"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("2M"), Ok(2 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("0").is_err());
        assert!(parse_size("x").is_err());
    }
}
