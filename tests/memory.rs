//! Memory under hostile input, through the real binary: a 50 MB line, a gzip bomb, long
//! fields in every place a client writes (`noisegate_gen::attack`), a flood of distinct
//! clients, paths, user agents and client-minutes, saved and merged, `--follow` past its
//! sample, and a `pantheon.yml` of nested YAML aliases for `block --merge`. Peak RSS is the
//! kernel's own accounting of the child (`wait4`). One test, so that nothing else runs in
//! this process: a spawned child starts with its parent's high-water mark.
//!
//! So this is a binary of its own, not a module of `tests/integration/` (Linux carries the
//! parent's mark over `exec`). Every attack is sized to pass its cap and still take only
//! seconds in the debug build; the full-size attacks (release build) are `benches/attack.sh`.

use noisegate_gen::attack::Attack;
use serde_json::Value;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// The documented cap (README, "Hostile input"): peak RSS under attack.
const CAP_KIB: i64 = 128 << 10;

/// The documented cap for `--save-summary` and `merge`.
const SUMMARY_CAP_KIB: i64 = 160 << 10;

/// Runs noisegate, stdin from `stdin` if given; returns its exit code, output and peak RSS
/// in KiB.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which std's `wait` cannot replace
fn run_text(args: &[&str], stdin: Option<&Path>) -> (i32, String, i64) {
    let out = tempfile::tempfile().unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_noisegate"))
        .args(args)
        .stdin(match stdin {
            Some(p) => Stdio::from(std::fs::File::open(p).unwrap()),
            None => Stdio::null(),
        })
        .stdout(out.try_clone().unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: a zeroed rusage is valid, and the child is ours and not yet reaped.
    let mut usage = unsafe { std::mem::zeroed::<libc::rusage>() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    assert!(
        libc::WIFEXITED(status),
        "killed by signal {}",
        libc::WTERMSIG(status)
    );
    let mut text = String::new();
    use std::io::{Read, Seek};
    let mut out = out;
    out.rewind().unwrap();
    out.read_to_string(&mut text).unwrap();
    eprintln!("noisegate {args:?}: peak RSS {} KiB", usage.ru_maxrss);
    (libc::WEXITSTATUS(status), text, usage.ru_maxrss)
}

/// A JSON report without its per-minute timeline. Whole, the flood's 40,320 minutes grow
/// this process by some 100 MB, a high-water mark every later child would start from.
#[derive(serde::Deserialize)]
struct Report {
    #[serde(default, rename = "timeline")]
    _timeline: serde::de::IgnoredAny,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

/// [`run_text`] with the output read as a JSON report, without its timeline (null if it is
/// not JSON).
fn run(args: &[&str], stdin: Option<&Path>) -> (i32, Value, i64) {
    let (code, text, peak) = run_text(args, stdin);
    let v = serde_json::from_str::<Report>(&text).map_or(Value::Null, |r| Value::Object(r.rest));
    (code, v, peak)
}

/// Writes lines `0..n` of `attack` to `dir/name`; returns its path.
fn write_log(dir: &Path, name: &str, attack: Attack, n: u64) -> String {
    let path = dir.join(name);
    let mut w = BufWriter::new(std::fs::File::create(&path).unwrap());
    attack.write(n, &mut w).unwrap();
    w.into_inner().unwrap();
    path.to_str().unwrap().to_string()
}

fn probe(n: u64, minute: u64) -> String {
    format!(
        "10.0.0.1 - - [{:02}/Mar/2024:{:02}:{:02}:{:02} +0000]  \"POST /autodiscover/{n:x}/autodiscover.xml HTTP/1.1\" 404 12 \"-\" \"Microsoft Office/16.0 ({})\" 0.250 \"2001:db8::{n:x}\"\n",
        1 + minute / 1440 % 28,
        minute / 60 % 24,
        minute % 60,
        n % 60,
        n / 5
    )
}

/// The report's line accounting (total, parsed, filtered, rejected), checked to add up.
fn lines(v: &Value) -> (u64, u64, u64, u64) {
    let l = &v["lines"];
    let n = |k: &str| l[k].as_u64().unwrap_or_else(|| panic!("lines.{k}: {v}"));
    let counts = (n("total"), n("parsed"), n("filtered"), n("rejected"));
    assert_eq!(counts.0, counts.1 + counts.2 + counts.3, "{l}");
    counts
}

/// The report's mail-client probes, all categories together.
fn noise(v: &Value) -> u64 {
    let categories = v["categories"].as_array().unwrap();
    categories
        .iter()
        .map(|c| c["requests"].as_u64().unwrap())
        .sum()
}

/// Runs a report of `n` probes from `log` (a path, or stdin when `stdin`) and checks its
/// accounting, exact, and its peak RSS against `cap` KiB; returns the report.
fn probes(what: &str, log: &str, stdin: bool, n: u64, cap: i64) -> Value {
    let (code, v, peak) = if stdin {
        run(&["-o", "json", "-"], Some(Path::new(log)))
    } else {
        run(&["-o", "json", log], None)
    };
    assert_eq!((code, lines(&v), noise(&v)), (0, (n, n, 0, 0), n), "{what}");
    assert!(peak < cap, "{what}: peak RSS {peak} KiB");
    v
}

/// Hostile fields within nginx's 8 KB header buffer: 7 KB X-Forwarded-For first hops in every
/// category (from a file and from stdin), 1 KB and 4 KB ones in one category, 7 KB paths,
/// user agents and hops at once, 8 KB user agents, all of these mixed in one log, and
/// `--follow` past its most followed clients. The maps keep a long client, path or agent as
/// its first bytes and a digest, so memory does not grow with the fields' length.
fn wide_clients_and_fields(dir: &Path) {
    let wide = Attack::Clients {
        categories: 8,
        bytes: 7000,
    };
    let n = 20_000;
    let log = write_log(dir, "wide.log", wide, n);
    for stdin in [false, true] {
        let v = probes("7 KB clients", &log, stdin, n, 64 << 10);
        let categories = v["categories"].as_array().unwrap();
        assert_eq!(categories.len(), 8);
        assert!(
            categories.iter().all(|c| c["requests"] == n / 8),
            "{categories:?}"
        );
        let client = v["categories"][0]["top_clients"][0]["client"]
            .as_str()
            .unwrap();
        assert!(
            client.len() <= 256 && client.contains("\u{2026}#"),
            "{client}"
        );
    }
    for (bytes, n) in [(1000, 10_000), (4000, 10_000)] {
        let one = Attack::Clients {
            categories: 1,
            bytes,
        };
        let log = write_log(dir, "one.log", one, n);
        probes(&format!("{bytes}-byte clients"), &log, false, n, CAP_KIB);
    }
    let (unique, n) = (Attack::Unique { bytes: 7000 }, 3_000);
    let log = write_log(dir, "unique.log", unique, n);
    probes("7 KB paths, agents and clients", &log, false, n, CAP_KIB);
    let agent = Attack::Agent {
        bytes: 8000,
        fill: b'm',
    };
    let log = write_log(dir, "agent.log", agent, 2_000);
    probes("8 KB agents", &log, false, 2_000, CAP_KIB);
    let (mix, n) = (Attack::Mix { bytes: 7000 }, 6_000);
    let log = write_log(dir, "mix.log", mix, n);
    probes("mix", &log, false, n, CAP_KIB);

    // More new clients within one minute than --follow follows at once (50,000).
    let n = 60_000;
    let clients = Attack::Clients {
        categories: 8,
        bytes: 2000,
    };
    let log = write_log(dir, "follow.log", clients, n);
    let (code, text, peak) = run_text(&["--follow"], Some(Path::new(&log)));
    assert_eq!(code, 0);
    assert!(text.contains("following a sample"), "{text}");
    assert!(peak < CAP_KIB, "--follow: peak RSS {peak} KiB");
}

/// A billion laughs in YAML (306 bytes, 9^9 strings once expanded): the same as in
/// `tests/integration/yaml.rs`, where the refusal itself is tested.
fn alias_bomb() -> String {
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    let mut s = format!("a: &a [{}]\n", ["x"; 9].join(","));
    for w in names.windows(2) {
        let below = vec![format!("*{}", w[0]); 9].join(",");
        s += &format!("{}: &{} [{below}]\n", w[1], w[1]);
    }
    s
}

/// `block --merge` refuses the alias bomb within a few MB of a plain `block` on the same log.
fn alias_bomb_costs_nothing(dir: &Path) {
    let log = dir.join("probe.log");
    std::fs::write(&log, probe(0, 0)).unwrap();
    let yml = dir.join("pantheon.yml");
    std::fs::write(&yml, alias_bomb()).unwrap();
    let (log, yml) = (log.to_str().unwrap(), yml.to_str().unwrap());
    let (code, _, baseline) = run(&["block", log], None);
    assert_eq!(code, 0);
    let (code, _, peak) = run(&["block", "--merge", yml, log], None);
    assert_eq!(code, 2);
    assert_eq!(std::fs::read_to_string(yml).unwrap(), alias_bomb());
    assert!(
        peak < baseline + (4 << 10),
        "alias bomb: peak RSS {peak} KiB, plain block {baseline} KiB"
    );
}

#[test]
fn memory_stays_bounded_under_hostile_input() {
    let dir = tempfile::tempdir().unwrap();
    // First, while this process is small: a child starts with its high-water mark.
    alias_bomb_costs_nothing(dir.path());
    // Saved summaries stream their noise records: 100,000 of them (one client, one path, so the
    // maps stay small) cost a saving or merging noisegate no memory.
    let same = dir.path().join("same.log");
    let mut w = BufWriter::new(std::fs::File::create(&same).unwrap());
    for i in 0..100_000 {
        w.write_all(probe(0, i / 60).as_bytes()).unwrap();
    }
    w.into_inner().unwrap();
    let sum = dir.path().join("same.sum");
    let (sum, same) = (sum.to_str().unwrap(), same.to_str().unwrap());
    let (code, _, plain) = run(&["-o", "json", same], None);
    assert_eq!(code, 0);
    let (code, _, peak) = run(&["-o", "json", "--save-summary", sum, same], None);
    assert_eq!(code, 0);
    assert!(
        peak < plain + (4 << 10) && peak < 40 << 10,
        "saving: peak RSS {peak} KiB, the same run without saving {plain} KiB"
    );
    let (code, v, peak) = run(&["merge", "-o", "json", sum], None);
    assert_eq!((code, lines(&v)), (0, (100_000, 100_000, 0, 0)));
    assert!(peak < 24 << 10, "merging: peak RSS {peak} KiB");

    wide_clients_and_fields(dir.path());

    // A 50 MB line without a newline, from a file and from stdin.
    let long = dir.path().join("long.log");
    let mut w = BufWriter::new(std::fs::File::create(&long).unwrap());
    w.write_all(probe(1, 0).as_bytes()).unwrap();
    let chunk = vec![b'a'; 1 << 20];
    for _ in 0..50 {
        w.write_all(&chunk).unwrap();
    }
    w.into_inner().unwrap();
    let p = long.to_str().unwrap();
    for (args, stdin) in [([p], None), (["-"], Some(long.as_path()))] {
        let (code, v, peak) = run(&[&["-o", "json"][..], &args].concat(), stdin);
        assert_eq!(code, 0);
        assert_eq!(lines(&v), (2, 1, 0, 1));
        let example = &v["rejects"]["examples"][0];
        assert_eq!(example["line"], 2);
        let file = example["file"].as_str().unwrap();
        assert!(
            file.ends_with(if stdin.is_some() {
                "<stdin>"
            } else {
                "long.log"
            }),
            "{file}"
        );
        assert!(
            peak < 48 << 10,
            "50 MB line from {args:?}: peak RSS {peak} KiB"
        );
    }

    // A gzip bomb: 1 MiB of zeros compressed once and repeated as 1,024 gzip members
    // (a 1 MB file that expands to 1 GiB), between two good lines.
    let bomb = dir.path().join("bomb.log.gz");
    let member = |data: &[u8]| {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        gz.write_all(data).unwrap();
        gz.finish().unwrap()
    };
    let zeros = member(&vec![0u8; 1 << 20]);
    let mut w = BufWriter::new(std::fs::File::create(&bomb).unwrap());
    w.write_all(&member(probe(1, 0).as_bytes())).unwrap();
    for _ in 0..1024 {
        w.write_all(&zeros).unwrap();
    }
    w.write_all(&member(format!("\n{}", probe(2, 0)).as_bytes()))
        .unwrap();
    w.into_inner().unwrap();
    assert!(std::fs::metadata(&bomb).unwrap().len() < 4 << 20);
    let (code, v, peak) = run(&["-o", "json", bomb.to_str().unwrap()], None);
    assert_eq!(code, 0);
    assert_eq!(lines(&v), (3, 2, 0, 1));
    assert!(peak < 48 << 10, "gzip bomb: peak RSS {peak} KiB");

    // A flood: every probe from a new client, for a new path, and every fifth with a new
    // user agent; the minutes jump around a month, so each probe is a new client-minute.
    let n = 400_000;
    let flood = write_log(dir.path(), "flood.log", Attack::Flood, n);
    let (code, v, peak) = run(&["-o", "json", &flood], None);
    assert_eq!(code, 0);
    assert_eq!(lines(&v), (n, n, 0, 0));
    let c = &v["categories"][0];
    assert_eq!(c["id"], "autodiscover");
    assert_eq!(c["requests"], n, "totals stay exact");
    assert_eq!(c["approximate"], true);
    for list in ["clients", "user_agents", "paths"] {
        assert!(
            c["approximate_lists"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l == list),
            "{list}: {}",
            c["approximate_lists"]
        );
    }
    let caveats = v["caveats"].to_string();
    assert!(caveats.contains("client-minutes"), "{caveats}");
    assert!(peak < CAP_KIB, "flood: peak RSS {peak} KiB");

    // An eighth of it saved as a summary, and that summary merged: their own cap.
    let n = n / 8;
    let flood = write_log(dir.path(), "flood.log", Attack::Flood, n);
    let sum = dir.path().join("flood.sum");
    let sum = sum.to_str().unwrap();
    let (code, v, peak) = run(&["-o", "json", "--save-summary", sum, &flood], None);
    assert_eq!((code, lines(&v), noise(&v)), (0, (n, n, 0, 0), n));
    assert!(peak < SUMMARY_CAP_KIB, "flood, saving: peak RSS {peak} KiB");
    let (code, v, peak) = run(&["merge", "-o", "json", sum], None);
    assert_eq!((code, lines(&v), noise(&v)), (0, (n, n, 0, 0), n));
    assert!(
        peak < SUMMARY_CAP_KIB,
        "flood, merging: peak RSS {peak} KiB"
    );
}
