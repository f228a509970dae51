//! The engine used as a library: a scan with the default options reads plain files without
//! mapping them, so it installs no process-wide signal handler that its user did not ask for
//! (mapping is an `unsafe` opt-in of the program). A process of its own: handlers are
//! process-wide.
#![cfg(target_os = "linux")]

use noisegate_engine::{scan, Input, ScanOptions};
use std::io::Write;

fn handler(signal: libc::c_int) -> libc::sighandler_t {
    // SAFETY: reads the current action into a zeroed struct.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        assert_eq!(libc::sigaction(signal, std::ptr::null(), &mut old), 0);
        old.sa_sigaction
    }
}

#[test]
fn a_default_scan_installs_no_signal_handler() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for i in 0..1000 {
        writeln!(
            f,
            "10.0.0.1 - - [30/Nov/2026:03:47:{:02} +0000] \"POST /autodiscover/autodiscover.xml HTTP/1.1\" 404 10 \"-\" \"Outlook\"",
            i % 60
        )
        .unwrap();
    }
    let path = f.into_temp_path();
    // Rust's runtime has its own SIGBUS handler (stack overflow); it must be the one left.
    let before = (handler(libc::SIGBUS), handler(libc::SIGIO));
    assert_eq!(before.1, libc::SIG_DFL);
    let result = scan(&[Input::Path(path.to_path_buf())], &ScanOptions::new(2)).unwrap();
    assert_eq!(result.lines().total, 1000);
    assert_eq!(result.noise_requests(), 1000);
    assert_eq!((handler(libc::SIGBUS), handler(libc::SIGIO)), before);
}
