//! A real DNS server for the `noisegate dns` tests: Debian's dnsmasq (package dnsmasq-base)
//! on 127.0.0.1, in the foreground, answering only from the hosts file and options a test
//! gives it (never forwarding beyond the loopback); and two misbehaving servers on the
//! loopback, one that never answers and one that answers every query with SERVFAIL.

use std::fs;
use std::net::{Ipv4Addr, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;
use tempfile::TempDir;

/// The dnsmasq binary, `/usr/sbin/dnsmasq` or on PATH. The tests need it: without it they
/// fail, saying what to install.
pub fn dnsmasq_binary() -> PathBuf {
    let sbin = PathBuf::from("/usr/sbin/dnsmasq");
    if sbin.is_file() {
        return sbin;
    }
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("dnsmasq"))
        .find(|p| p.is_file())
        .expect("dnsmasq not installed: install dnsmasq-base (apt-get install dnsmasq-base), as .ci/run does")
}

/// A DNS query for `name`, type A, with the given id.
pub fn query(id: u16, name: &str) -> Vec<u8> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    q
}

/// A running dnsmasq in its own temporary directory; killed and reaped on drop.
pub struct Dnsmasq {
    pub dir: TempDir,
    child: Child,
    pub port: u16,
}

impl Dnsmasq {
    /// Starts dnsmasq with `hosts` as its only hosts file and `options` (`--cname=...`,
    /// `--srv-host=...`, ...), authoritative for nothing beyond them: `--no-resolv`, so a
    /// name it does not know is NXDOMAIN under a `--local` domain and REFUSED elsewhere.
    /// Waits until it answers; another port if the chosen one was taken meanwhile.
    pub fn start(hosts: &str, options: &[String]) -> Dnsmasq {
        let bin = dnsmasq_binary();
        let mut last_error = String::new();
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = super::free_port();
            let hosts_file = dir.path().join("hosts");
            fs::write(&hosts_file, hosts).unwrap();
            let log = fs::File::create(dir.path().join("dnsmasq.log")).unwrap();
            // --no-daemon: no fork, no pid file and no change of user, so it reads the test's
            // files as root (CI) and unprivileged alike.
            let child = Command::new(&bin)
                .args([
                    "--no-daemon",
                    "--conf-file=/dev/null",
                    "--no-resolv",
                    "--no-hosts",
                    "--no-poll",
                    "--bind-interfaces",
                    "--listen-address=127.0.0.1",
                ])
                .arg(format!("--port={port}"))
                .arg(format!("--addn-hosts={}", hosts_file.display()))
                .args(options)
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .spawn()
                .unwrap();
            let mut server = Dnsmasq { dir, child, port };
            match server.wait_ready() {
                Ok(()) => return server,
                Err(e) if e.contains("in use") => last_error = e,
                Err(e) => panic!("dnsmasq did not start: {e}"),
            }
        }
        panic!("dnsmasq did not start, no free port: {last_error}");
    }

    /// `127.0.0.1:PORT`, for `--resolver`.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Polls (at most 100 × 50 ms) until this dnsmasq answers a query.
    fn wait_ready(&mut self) -> Result<(), String> {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let mut buf = [0u8; 512];
        for i in 0..100u16 {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Err(format!("exited with {status}: {}", self.log()));
            }
            let _ = socket.send_to(&query(i, "ready.test"), (Ipv4Addr::LOCALHOST, self.port));
            if let Ok(n) = socket.recv(&mut buf) {
                if n >= 12 && buf[..2] == i.to_be_bytes() {
                    return Ok(());
                }
            }
        }
        Err(format!("no answer after 5 s: {}", self.log()))
    }

    /// What dnsmasq said, for failure messages.
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("dnsmasq.log")).unwrap_or_default()
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UDP server on 127.0.0.1 that receives queries and never answers (a resolver that
/// times out): the socket, held open until drop.
pub struct Silent {
    socket: UdpSocket,
}

impl Silent {
    pub fn start() -> Silent {
        Silent {
            socket: UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap(),
        }
    }

    pub fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }
}

/// A UDP server on 127.0.0.1 that answers every query with SERVFAIL; stopped on drop.
pub struct ServFail {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl ServFail {
    pub fn start() -> ServFail {
        let socket = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let port = socket.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !flag.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                if n < 12 {
                    continue;
                }
                // The query back, as a response (QR, RD, RA) with RCODE 2 and no records.
                let mut reply = buf[..n].to_vec();
                reply[2] = 0x81 | (buf[2] & 0x01);
                reply[3] = 0x82;
                reply[6..12].fill(0);
                let _ = socket.send_to(&trim_to_question(&reply), from);
            }
        });
        ServFail {
            port,
            stop,
            thread: Some(thread),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

/// A message cut after its question (drops an EDNS record the query carried).
fn trim_to_question(msg: &[u8]) -> Vec<u8> {
    let mut i = 12;
    while i < msg.len() && msg[i] != 0 {
        i += 1 + msg[i] as usize;
    }
    let end = (i + 5).min(msg.len());
    msg[..end].to_vec()
}

impl Drop for ServFail {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
