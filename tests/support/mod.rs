//! What the real-nginx tests share: finding nginx (and the skip rule when it is absent),
//! whether we run as root, and a free port on 127.0.0.1; and finding logrotate, with the same
//! skip rule, for the rotation tests, promtool for the metrics tests, and `man`, for the man
//! page tests; and (in `dnsmasq`) a real DNS server for the `noisegate dns` tests.

pub mod dnsmasq;

use std::fs;
use std::net::{Ipv4Addr, TcpListener};
use std::path::PathBuf;

/// The nginx binary: `/usr/sbin/nginx`, else `nginx` on PATH.
pub fn nginx_binary() -> Option<PathBuf> {
    let sbin = PathBuf::from("/usr/sbin/nginx");
    if sbin.is_file() {
        return Some(sbin);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join("nginx"))
        .find(|p| p.is_file())
}

/// Whether nginx can be run. Without it: a failure under `CI=true`, else a skip notice.
pub fn nginx_available() -> bool {
    if nginx_binary().is_some() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("nginx not installed, and CI=true: .ci/run must install it");
    }
    eprintln!("skipped: nginx not installed");
    false
}

/// The logrotate binary, `/usr/sbin/logrotate`, if it can be run. Without it: a failure
/// under `CI=true`, else a skip notice.
pub fn logrotate_binary() -> Option<PathBuf> {
    let sbin = PathBuf::from("/usr/sbin/logrotate");
    if sbin.is_file() {
        return Some(sbin);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("logrotate not installed, and CI=true: .ci/run must install it");
    }
    eprintln!("skipped: logrotate not installed");
    None
}

/// Prometheus's `promtool` (Debian package `prometheus`), `/usr/bin/promtool` or on PATH, for
/// the metrics tests. Without it: a failure when `CI` is set, else a skip notice.
pub fn promtool_binary() -> Option<PathBuf> {
    let bin = PathBuf::from("/usr/bin/promtool");
    let found = bin.is_file().then_some(bin).or_else(|| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join("promtool"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
            panic!("promtool not installed, and CI is set: .ci/run must install prometheus");
        }
        eprintln!("skipped: promtool not installed (apt-get install prometheus)");
    }
    found
}

/// `man`, if it can be run (to render the generated pages). Without it: a failure under
/// `CI=true`, else a skip notice.
pub fn man_binary() -> Option<PathBuf> {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("man"))
        .find(|p| p.is_file());
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("man not installed, and CI=true: .ci/run must install man-db");
        }
        eprintln!("skipped: man not installed");
    }
    found
}

/// Whether this process runs as root (effective uid 0), from /proc/self/status.
pub fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            // Uid: real effective saved filesystem
            Some(line.split_whitespace().nth(2)? == "0")
        })
        .unwrap_or(false)
}

/// A whole nginx.conf that keeps every file inside `dir`: the main context, and an `http`
/// block holding the temp paths, short client timeouts and then `http` (servers, formats).
pub fn config(dir: &Path, http: &str) -> String {
    let d = dir.display();
    // As root, workers must be able to write the temp paths in our 0700 temp dir.
    let user = if running_as_root() {
        "user root;\n"
    } else {
        ""
    };
    format!(
        r#"{user}worker_processes 1;
pid "{d}/nginx.pid";
error_log "{d}/error.log" info;
events {{ worker_connections 64; }}
http {{
    client_body_temp_path "{d}/client_body_temp";
    proxy_temp_path "{d}/proxy_temp";
    fastcgi_temp_path "{d}/fastcgi_temp";
    uwsgi_temp_path "{d}/uwsgi_temp";
    scgi_temp_path "{d}/scgi_temp";
    default_type text/plain;
    client_header_timeout 5s;
    client_body_timeout 5s;
{http}}}
"#
    )
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread::sleep;
use std::time::Duration;
use tempfile::TempDir;

/// The path a test nginx answers with its own directory, to prove the port is its own.
pub const READY_PATH: &str = "/__noisegate_ready";

/// A status and body.
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

/// Sends `request` on a new connection and reads the response until the server closes.
pub fn exchange(port: u16, request: &[u8]) -> std::io::Result<Response> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.write_all(request)?;
    let mut resp = Vec::new();
    stream.read_to_end(&mut resp)?;
    let bad =
        || std::io::Error::other(format!("bad response {:?}", String::from_utf8_lossy(&resp)));
    let end = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let status = std::str::from_utf8(resp.get(9..12).ok_or_else(bad)?)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    Ok(Response {
        status,
        body: resp[end + 4..].to_vec(),
    })
}

/// A running nginx in its own temporary directory; stopped and reaped on drop.
pub struct Nginx {
    pub dir: TempDir,
    child: Child,
    pub port: u16,
}

impl Nginx {
    /// Writes `files` and the nginx.conf that `config(dir, port)` gives (it must answer
    /// [`READY_PATH`] with the directory), checks it with `nginx -t`, starts nginx and waits
    /// until it answers; another port if the chosen one was taken meanwhile.
    pub fn start(files: &[(&str, &str)], config: impl Fn(&Path, u16) -> String) -> Nginx {
        let bin = nginx_binary().expect("nginx binary");
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_port();
            for (name, text) in files {
                fs::write(dir.path().join(name), text).unwrap();
            }
            let conf = dir.path().join("nginx.conf");
            fs::write(&conf, config(dir.path(), port)).unwrap();
            let base = || {
                let mut c = Command::new(&bin);
                c.arg("-p").arg(dir.path()).arg("-c").arg(&conf);
                c.arg("-e").arg(dir.path().join("error.log"));
                c
            };
            let test = base().arg("-t").output().unwrap();
            assert!(
                test.status.success(),
                "nginx -t rejects the configuration:\n{}",
                String::from_utf8_lossy(&test.stderr)
            );
            let stderr = fs::File::create(dir.path().join("stderr.log")).unwrap();
            let child = base()
                .args(["-g", "daemon off;"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(stderr)
                .spawn()
                .unwrap();
            let mut nginx = Nginx { dir, child, port };
            match nginx.wait_ready() {
                Ok(()) => return nginx,
                Err(e) if e.contains("Address already in use") => last_error = e,
                Err(e) => panic!("nginx did not start: {e}"),
            }
        }
        panic!("nginx did not start, no free port: {last_error}");
    }

    /// A file in nginx's directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Polls (at most 100 × 50 ms) until this nginx answers its readiness probe.
    fn wait_ready(&mut self) -> Result<(), String> {
        let token = self.dir.path().display().to_string();
        let request = format!(
            "GET {READY_PATH} HTTP/1.1\r\nHost: noisegate.test\r\nConnection: close\r\n\r\n"
        );
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("exited with {status}: {}", self.error_logs()));
            }
            if let Ok(resp) = exchange(self.port, request.as_bytes()) {
                if resp.status == 200 && resp.body == token.as_bytes() {
                    return Ok(());
                }
            }
            sleep(Duration::from_millis(50));
        }
        Err(format!("not ready after 5 s: {}", self.error_logs()))
    }

    /// nginx's error log and stderr, for failure messages.
    pub fn error_logs(&self) -> String {
        let read = |name| fs::read_to_string(self.path(name)).unwrap_or_default();
        format!(
            "error.log:\n{}\nstderr:\n{}",
            read("error.log"),
            read("stderr.log")
        )
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM lets the master stop its worker; SIGKILL would orphan it.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The stdout of a finished command that must have exited 0 (else the test fails with its
/// stderr).
pub fn stdout_of_success(out: std::process::Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A finished command's exit code, stdout and stderr.
pub fn code_out_err(out: std::process::Output) -> (i32, String, String) {
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap(),
        text(out.stdout),
        text(out.stderr),
    )
}
