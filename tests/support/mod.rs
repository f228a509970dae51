//! What the real-nginx tests share: finding nginx (and the skip rule when it is absent),
//! whether we run as root, and a free port on 127.0.0.1.

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

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    listener.local_addr().unwrap().port()
}
