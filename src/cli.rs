//! The command line: clap definitions, and the resolution of every decision (inputs, formats,
//! time window, threads, color) before the scan reads a byte. `run` returns the exit code;
//! main stays thin.

use crate::choice::choice;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use noisegate_engine::analysis::{self, impact::DEFAULT_PHP_WORKERS, storms::StormConfig};
use noisegate_engine::format::conf::NginxConf;
use noisegate_engine::format::json::JsonLines;
use noisegate_engine::format::time::parse_iso8601;
use noisegate_engine::format::{ClientIp, Escape, LogFormat};
use noisegate_engine::input::{discover, Input};
use noisegate_engine::pipeline::{self, FormatChoice, ScanOptions, ScanResult};
use noisegate_engine::remedy::{self, Upstream};
use noisegate_engine::report::{self, Output, Style};
use noisegate_engine::saved;
use noisegate_engine::summary::Caps;
use std::ffi::OsString;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

mod check;
mod follow;
mod formats;
mod progress;

/// Finds mail-client probe noise (Outlook Autodiscover, Thunderbird autoconfig, ActiveSync,
/// EWS, OWA, ...) in nginx access logs, reports what it costs, and prints the pantheon.yml
/// block that stops it.
///
/// Reads Pantheon's nginx format, combined, common, JSON lines or any nginx log_format, plain
/// or gzip, from files, directories or stdin. Exit codes: 0 done, 2 usage, input or I/O error.
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
    /// Combine summaries saved with --save-summary into one report.
    Merge(MergeArgs),
    /// For cron: quiet (exit 0) when healthy; an alert (exit 1) on a storm, a surge or a
    /// threshold; exit 2 on errors.
    Check(check::CheckArgs),
    /// List the built-in formats, or tell which one fits a log's first lines.
    Formats(formats::FormatsArgs),
}

/// Log format choice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// Decide for each input from its first lines.
    Auto,
    /// Pantheon's nginx format.
    Pantheon,
    /// nginx/Apache combined.
    Combined,
    /// nginx/Apache common.
    Common,
    /// One JSON object per line (keys mapped by name, see --json-fields).
    Json,
}

/// Whose address is the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ClientArg {
    /// Pantheon: the first X-Forwarded-For hop; other formats: $remote_addr.
    Auto,
    /// The first X-Forwarded-For hop, else $remote_addr.
    XffFirst,
    /// $remote_addr.
    RemoteAddr,
}

/// When to draw a progress bar on stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ProgressArg {
    /// Only when stderr is a terminal, and only for runs longer than about a second.
    Auto,
    /// Never.
    Never,
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
    /// Log files (plain or gzip) or directories (searched recursively); `-` or none reads stdin.
    #[arg(value_name = "PATH")]
    paths: Vec<OsString>,

    /// Log format of the input.
    #[arg(long, value_enum, default_value_t = FormatArg::Auto)]
    format: FormatArg,

    /// An nginx log_format string, e.g. '$remote_addr [$time_local] "$request" $status'.
    #[arg(long, value_name = "FORMAT", conflicts_with_all = ["nginx_conf", "format"])]
    log_format: Option<String>,

    /// Read the log format out of this nginx configuration file.
    #[arg(long, value_name = "FILE", conflicts_with = "format")]
    nginx_conf: Option<PathBuf>,

    /// With --nginx-conf: the log_format to use [default: the first access_log's].
    #[arg(long, value_name = "NAME", requires = "nginx_conf")]
    log_format_name: Option<String>,

    /// JSON lines: which key holds which field, e.g. 'status=code,request_time=duration'.
    #[arg(long, value_name = "FIELD=KEY,...")]
    json_fields: Option<String>,

    /// Whose address counts as the client.
    #[arg(long, value_enum, default_value_t = ClientArg::Auto)]
    client_ip: ClientArg,

    /// Only lines at or after this time: RFC 3339, or relative like 90m, 24h, 7d.
    #[arg(long, value_name = "TIME")]
    since: Option<String>,

    /// Only lines before this time: RFC 3339, or relative like 90m, 24h, 7d.
    #[arg(long, value_name = "TIME")]
    until: Option<String>,

    /// Relative --since/--until count back from now instead of from the newest line.
    #[arg(long)]
    now: bool,

    /// Incremental runs: read only what was added since the run that wrote FILE (rotation and
    /// truncation are followed), and update FILE afterwards.
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,

    /// In directories, read the files whose name matches this glob (default: access logs).
    #[arg(long, value_name = "GLOB")]
    glob: Option<String>,

    /// Worker threads [default: all cores].
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    threads: Option<u16>,

    /// Block size handed to each worker (e.g. 2M, 512K).
    #[arg(long, default_value = "2M", value_parser = parse_size)]
    chunk_size: usize,

    /// Lines longer than this are counted as rejected (e.g. 1M).
    #[arg(long, default_value = "1M", value_parser = parse_size)]
    max_line: usize,

    /// A progress bar on stderr (bytes read, throughput, noise found).
    #[arg(long, value_enum, default_value_t = ProgressArg::Auto)]
    progress: ProgressArg,

    /// Milliseconds before the progress bar appears (tests set 0).
    #[arg(long, default_value_t = 1000, hide = true)]
    progress_delay_ms: u64,
}

/// Storm, surge and impact settings.
#[derive(Debug, Args)]
struct AnalysisArgs {
    /// Storms: the longest quiet gap inside one client's storm, in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 5, value_parser = clap::value_parser!(i64).range(0..))]
    storm_gap: i64,

    /// Storms: the fewest requests a storm holds.
    #[arg(long, value_name = "N", default_value_t = 120)]
    storm_min_requests: u64,

    /// Storms: the lowest mean rate, requests per minute.
    #[arg(long, value_name = "PER_MINUTE", default_value_t = 20.0)]
    storm_rate: f64,

    /// Surges: the fewest requests of a category in a surge minute.
    #[arg(long, value_name = "N", default_value_t = 30)]
    surge_min_requests: u64,

    /// Surges: the fewest distinct clients in a surge minute.
    #[arg(long, value_name = "N", default_value_t = 10)]
    surge_min_clients: u64,

    /// Surges: minutes at most this far apart are one surge.
    #[arg(long, value_name = "MINUTES", default_value_t = 2, value_parser = clap::value_parser!(i64).range(0..))]
    surge_gap: i64,

    /// PHP workers per container, to express occupancy as a share of capacity (Pantheon
    /// containers run a small fixed number, historically 4 or 8).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_PHP_WORKERS, value_parser = clap::value_parser!(u32).range(1..))]
    php_workers: u32,
}

impl AnalysisArgs {
    fn config(&self) -> Result<StormConfig> {
        if !self.storm_rate.is_finite() || self.storm_rate < 0.0 {
            bail!(
                "--storm-rate must be a number of requests per minute, not {}",
                self.storm_rate
            );
        }
        Ok(StormConfig {
            gap_minutes: self.storm_gap,
            min_requests: self.storm_min_requests,
            rate: self.storm_rate,
            surge_min_requests: self.surge_min_requests,
            surge_min_clients: self.surge_min_clients,
            surge_gap_minutes: self.surge_gap,
        })
    }
}

#[derive(Debug, Args)]
struct ReportArgs {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    view: ViewArgs,

    /// Also write the mergeable summary of this run to FILE (see `merge`).
    #[arg(long, value_name = "FILE")]
    save_summary: Option<PathBuf>,

    /// Watch a never-ending stdin (tail -F log | noisegate --follow): a line when a storm starts
    /// or ends, a status every --interval.
    #[arg(long, conflicts_with_all = ["state", "save_summary", "since", "until", "output"])]
    follow: bool,

    /// With --follow: seconds between status lines.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 60,
        requires = "follow"
    )]
    interval: u64,
}

/// How a report is computed and shown (for `report` and `merge`).
#[derive(Debug, Args)]
struct ViewArgs {
    #[command(flatten)]
    analysis: AnalysisArgs,

    /// Report format.
    #[arg(long, short, value_parser = choice::<Output>(), default_value_t = Output::Text)]
    output: Output,

    /// Color in the text report.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    color: ColorArg,

    /// Entries in each category's top-clients and top-user-agents lists; 0 lists all.
    #[arg(long, default_value_t = 10)]
    top: usize,

    /// The site's upstream, whose default protected paths share Pantheon's 24-entry limit.
    #[arg(long, value_parser = choice::<Upstream>(), default_value_t = Upstream::None)]
    upstream: Upstream,
}

#[derive(Debug, Args)]
struct MergeArgs {
    /// Summary files written by --save-summary.
    #[arg(value_name = "SUMMARY", required = true)]
    files: Vec<PathBuf>,

    #[command(flatten)]
    view: ViewArgs,

    /// Write the combined summary to FILE too.
    #[arg(long, value_name = "FILE")]
    save_summary: Option<PathBuf>,
}

/// Where the block is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Target {
    /// pantheon.yml `protected_web_paths`.
    Pantheon,
    /// nginx `location` blocks, to include in a `server { }`.
    Nginx,
    /// Apache `.htaccess` rewrite rules.
    Apache,
}

#[derive(Debug, Args)]
struct BlockArgs {
    #[command(flatten)]
    input: InputArgs,

    /// What to print the block for.
    #[arg(long, value_enum, default_value_t = Target::Pantheon)]
    target: Target,

    /// Leave out the comments (request counts per entry).
    #[arg(long)]
    plain: bool,

    /// The site's upstream, whose default protected paths share Pantheon's 24-entry limit.
    #[arg(long, value_parser = choice::<Upstream>(), default_value_t = Upstream::None)]
    upstream: Upstream,

    /// Add the missing entries to this pantheon.yml in place (a .bak copy is kept).
    #[arg(long, value_name = "FILE", conflicts_with = "target")]
    merge: Option<PathBuf>,

    /// With --merge: print the change as a diff and write nothing.
    #[arg(long, requires = "merge")]
    dry_run: bool,
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

/// A time bound: absolute epoch seconds, or seconds back from a reference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bound {
    At(i64),
    Ago(i64),
}

/// Parses `--since`/`--until`: RFC 3339, or `90s`, `90m`, `24h`, `7d`, `2w`.
fn parse_bound(s: &str) -> Result<Bound> {
    if let Some(t) = parse_iso8601(s.as_bytes()) {
        return Ok(Bound::At(t));
    }
    let unit = s.chars().last().unwrap_or(' ');
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 7 * 86_400,
        _ => bail!("'{s}' is neither RFC 3339 (2024-03-10T00:00:00Z) nor relative (90m, 24h, 7d)"),
    };
    let n: i64 = s[..s.len() - 1]
        .parse()
        .map_err(|_| anyhow!("'{s}': expected a number before '{unit}'"))?;
    Ok(Bound::Ago(
        n.checked_mul(secs).context("time out of range")?,
    ))
}

impl InputArgs {
    /// The inputs, with directories expanded; notes go to stderr, unreadable directories
    /// become errors of the scan.
    fn inputs(&self, quiet: bool) -> Result<(Vec<Input>, Vec<pipeline::SourceError>)> {
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
        let mut cli = Cli::command();
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
        if let Some(g) = &self.glob {
            discover::check_glob(g).map_err(|e| anyhow!("--glob: {e}"))?;
        }
        let args: Vec<PathBuf> = self.paths.iter().map(PathBuf::from).collect();
        let found = discover::discover(&args, self.glob.as_deref());
        for note in &found.notes {
            if !quiet {
                eprintln!("noisegate: note: {note}");
            }
        }
        let errors: Vec<pipeline::SourceError> = found
            .errors
            .iter()
            .map(|(p, e)| pipeline::SourceError {
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
    fn format(&self) -> Result<FormatChoice> {
        let json = || match &self.json_fields {
            Some(spec) => JsonLines::with_fields(spec).map_err(|e| anyhow!("--json-fields: {e}")),
            None => Ok(JsonLines::auto()),
        };
        let fixed = |f: LogFormat| Ok(FormatChoice::Fixed(Arc::new(f)));
        if let Some(fmt) = &self.log_format {
            let escape = Escape::guess(fmt);
            return fixed(
                LogFormat::custom("custom", fmt, escape)
                    .map_err(|e| anyhow!("--log-format: {e}"))?,
            );
        }
        if let Some(conf) = &self.nginx_conf {
            return fixed(from_conf(conf, self.log_format_name.as_deref())?);
        }
        let name = match self.format {
            FormatArg::Auto => {
                let mut all = LogFormat::presets();
                if let Some(last) = all.last_mut() {
                    *last = LogFormat::json(json()?);
                }
                return Ok(FormatChoice::Detect(
                    all.into_iter().map(Arc::new).collect(),
                ));
            }
            FormatArg::Json => return fixed(LogFormat::json(json()?)),
            FormatArg::Pantheon => "pantheon",
            FormatArg::Combined => "combined",
            FormatArg::Common => "common",
        };
        fixed(LogFormat::preset(name).expect("known preset"))
    }

    fn client(&self) -> Option<ClientIp> {
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
        Ok(ScanOptions {
            threads,
            chunk: self.chunk_size,
            max_line: self.max_line,
            format: self.format()?,
            caps: Caps::default(),
            window: (i64::MIN, i64::MAX),
            client: self.client(),
            spool: false,
            series: true,
            progress: None,
            starts: Vec::new(),
            hold_tail: false,
        })
    }

    /// The `[since, until)` window; relative bounds count back from now (`--now`) or from the
    /// newest line, which costs a first pass over the inputs.
    fn window(&self, inputs: &[Input], opts: &ScanOptions) -> Result<(i64, i64)> {
        let since = self.since.as_deref().map(parse_bound).transpose()?;
        let until = self.until.as_deref().map(parse_bound).transpose()?;
        let relative = [since, until]
            .iter()
            .any(|b| matches!(b, Some(Bound::Ago(_))));
        let reference = if !relative {
            0
        } else if self.now {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs() as i64)
        } else {
            if inputs.contains(&Input::Stdin) {
                bail!("a relative --since/--until counts back from the newest line, which needs a second pass that stdin cannot give: add --now, or give an RFC 3339 time");
            }
            let first = pipeline::scan(inputs, opts)?;
            match first.summary.span {
                Some((_, newest)) => newest,
                None => return Ok((i64::MIN, i64::MAX)),
            }
        };
        let resolve = |b: Option<Bound>, open: i64| match b {
            None => open,
            Some(Bound::At(t)) => t,
            Some(Bound::Ago(d)) => reference.saturating_sub(d),
        };
        Ok((resolve(since, i64::MIN), resolve(until, i64::MAX)))
    }

    /// Scans the inputs; `storms` keeps what storm detection needs (time series, and the
    /// noise lines for the details pass).
    fn scan(&self, storms: bool, quiet: bool) -> Result<ScanResult> {
        let (mut inputs, mut errors) = self.inputs(quiet)?;
        let mut opts = self.options()?;
        let resume = match &self.state {
            Some(file) => {
                let before = noisegate_engine::input::state::load(file)?;
                let plan = noisegate_engine::input::state::resume(&before, &inputs)?;
                inputs.clone_from(&plan.inputs);
                opts.starts.clone_from(&plan.starts);
                opts.hold_tail = true;
                Some((file.clone(), plan))
            }
            None => None,
        };
        opts.series = false;
        opts.window = self.window(&inputs, &opts)?;
        (opts.spool, opts.series) = (storms, storms);
        let _display =
            (self.progress == ProgressArg::Auto && io::stderr().is_terminal()).then(|| {
                let counters = Arc::new(pipeline::Progress::default());
                opts.progress = Some(counters.clone());
                let delay = std::time::Duration::from_millis(self.progress_delay_ms);
                progress::start(counters, progress::total(&inputs, &opts.starts), delay)
            });
        let mut result = pipeline::scan(&inputs, &opts)?;
        result.errors.append(&mut errors);
        if let Some((file, plan)) = resume {
            let next = noisegate_engine::input::state::advance(&plan, &result.consumed);
            result.pending_state = Some((file, next));
        }
        Ok(result)
    }
}

/// The format an nginx configuration file defines.
pub(crate) fn from_conf(path: &std::path::Path, name: Option<&str>) -> Result<LogFormat> {
    let shown = path.display();
    let text = std::fs::read_to_string(path).with_context(|| format!("{shown}"))?;
    let conf = NginxConf::parse(&text).map_err(|e| anyhow!("{shown}: {e}"))?;
    match conf.select(name).map_err(|e| anyhow!("{shown}: {e}"))? {
        None => Ok(LogFormat::preset("combined").expect("preset")),
        Some(def) => LogFormat::custom(&def.name, &def.format, def.escape)
            .map_err(|e| anyhow!("{shown}:{}: log_format {}: {e}", def.line, def.name)),
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
            scan.format_name().unwrap_or("detected")
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

/// Saves the `--state` of an incremental run, once its output is out.
fn save_state(scan: &ScanResult) -> Result<()> {
    match &scan.pending_state {
        Some((file, state)) => noisegate_engine::input::state::save(file, state),
        None => Ok(()),
    }
}

/// Parses the command line and runs it.
pub fn run() -> Result<ExitCode> {
    let cli = Cli::parse();
    let stdout = io::stdout();
    let mut out = io::BufWriter::with_capacity(64 * 1024, stdout.lock());
    let follow = match &cli.command {
        None => Some(&cli.report),
        Some(Command::Report(args)) => Some(args),
        _ => None,
    };
    if let Some(args) = follow.filter(|a| a.follow) {
        if !args.input.paths.is_empty() {
            bail!("--follow reads stdin: tail -F access.log | noisegate --follow");
        }
        let options = follow::FollowOptions {
            choice: args.input.format()?,
            storms: args.view.analysis.config()?,
            interval: std::time::Duration::from_secs(args.interval.max(1)),
            client: args.input.client(),
            max_line: args.input.max_line,
        };
        follow::run(&options, &mut out)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let scan = match cli.command {
        None => report_cmd(&cli.report, &mut out)?,
        Some(Command::Report(args)) => report_cmd(&args, &mut out)?,
        Some(Command::Block(args)) => block_cmd(&args, &mut out)?,
        Some(Command::Merge(args)) => merge_cmd(&args, &mut out)?,
        Some(Command::Check(args)) => {
            let code = check::run(&args, &mut out)?;
            out.flush()?;
            return Ok(code);
        }
        Some(Command::Formats(args)) => {
            let code = formats::run(&args, &mut out)?;
            out.flush()?;
            return Ok(code);
        }
    };
    out.flush()?;
    save_state(&scan)?;
    Ok(warn(&scan))
}

fn report_cmd(args: &ReportArgs, out: &mut dyn Write) -> Result<ScanResult> {
    let scan = args.input.scan(true, false)?;
    show(scan, &args.view, args.save_summary.as_deref(), out)
}

fn merge_cmd(args: &MergeArgs, out: &mut dyn Write) -> Result<ScanResult> {
    let mut seen = Vec::new();
    for f in &args.files {
        let id = std::fs::canonicalize(f).with_context(|| format!("{}", f.display()))?;
        if seen.contains(&id) {
            bail!(
                "{} is given twice: its lines would be counted twice",
                f.display()
            );
        }
        seen.push(id);
    }
    let merged = saved::combine(&args.files, &noisegate_engine::summary::Caps::default())?;
    for w in &merged.warnings {
        eprintln!("noisegate: warning: {w}");
    }
    show(merged.scan, &args.view, args.save_summary.as_deref(), out)
}

/// Analyzes a scan, writes its summary if asked, and renders the report.
fn show(
    mut scan: ScanResult,
    v: &ViewArgs,
    save: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> Result<ScanResult> {
    if let Some(path) = save {
        saved::save(path, &mut scan)?;
    }
    let plan = remedy::plan(&scan.summary, v.upstream);
    let a = &v.analysis;
    let covered = match plan.noise_requests {
        0 => 1.0,
        n => plan.covered_requests as f64 / n as f64,
    };
    let analysis = analysis::analyze(&mut scan, a.config()?, a.php_workers, covered)?;
    let report = report::build(&scan, &plan, &analysis, v.top);
    let style = Style {
        color: use_color(v.color),
    };
    report::render(&report, v.output, style, out)?;
    Ok(scan)
}

fn block_cmd(args: &BlockArgs, out: &mut dyn Write) -> Result<ScanResult> {
    let scan = args.input.scan(false, false)?;
    let plan = remedy::plan(&scan.summary, args.upstream);
    if let Some(file) = &args.merge {
        merge_into(file, &plan, args, out)?;
        return Ok(scan);
    }
    let text = match args.target {
        Target::Pantheon => remedy::pantheon_yml(&plan, args.plain),
        Target::Nginx => remedy::targets::nginx(&plan, args.plain),
        Target::Apache => remedy::targets::apache(&plan, args.plain),
    };
    out.write_all(text.as_bytes())?;
    Ok(scan)
}

/// `block --merge FILE`: adds the missing entries to an existing pantheon.yml, atomically,
/// keeping a `.bak`; `--dry-run` prints the diff instead.
fn merge_into(
    file: &std::path::Path,
    plan: &remedy::BlockPlan,
    args: &BlockArgs,
    out: &mut dyn Write,
) -> Result<()> {
    let shown = file.display();
    // Write through a symlink to the file it names, and keep the file's permissions.
    let target = std::fs::canonicalize(file).with_context(|| format!("{shown}"))?;
    let text = std::fs::read_to_string(&target).with_context(|| format!("{shown}"))?;
    let merged =
        remedy::yaml::merge(&text, plan, args.plain).map_err(|e| anyhow!("{shown}: {e}"))?;
    if !merged.over_limit.is_empty() {
        eprintln!(
            "noisegate: warning: {shown} already holds {} entries: left out {}",
            remedy::MAX_ENTRIES,
            merged.over_limit.join(", ")
        );
    }
    if merged.added.is_empty() {
        let why = match merged.over_limit.is_empty() {
            true => "every path is already protected",
            false => "the list is full",
        };
        writeln!(out, "{shown}: nothing added: {why}")?;
        return Ok(());
    }
    if args.dry_run {
        out.write_all(remedy::yaml::diff(&shown.to_string(), &text, &merged.text).as_bytes())?;
        return Ok(());
    }
    let dir = target.parent().unwrap_or(std::path::Path::new("/"));
    let mut bak = target.as_os_str().to_owned();
    bak.push(".bak");
    let bak = PathBuf::from(bak);
    std::fs::copy(&target, &bak).with_context(|| format!("{}", bak.display()))?;
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).with_context(|| format!("{}", dir.display()))?;
    tmp.write_all(merged.text.as_bytes())?;
    tmp.as_file()
        .set_permissions(std::fs::metadata(&target)?.permissions())?;
    tmp.as_file().sync_all()?;
    tmp.persist(&target).map_err(|e| anyhow!("{shown}: {e}"))?;
    let n = merged.added.len();
    let entries = if n == 1 {
        "1 entry".to_string()
    } else {
        format!("{n} entries")
    };
    writeln!(
        out,
        "{shown}: added {entries} ({}); the previous file is {}",
        merged.added.join(", "),
        bak.display()
    )?;
    Ok(())
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
    fn time_bounds() {
        assert_eq!(parse_bound("90m").unwrap(), Bound::Ago(5400));
        assert_eq!(parse_bound("7d").unwrap(), Bound::Ago(7 * 86_400));
        assert_eq!(
            parse_bound("2016-02-19T02:00:00Z").unwrap(),
            Bound::At(1_455_847_200)
        );
        assert!(parse_bound("yesterday").is_err());
        assert!(parse_bound("xh").is_err());
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
