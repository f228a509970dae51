//! The progress bar on stderr: bytes scanned (of the total when every input is a plain file),
//! throughput and the noise found so far, within the terminal's width. It appears only after a delay (about a second), so
//! quick runs never flash one, and only on a terminal unless asked.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use noisegate_engine::{Input, Progress};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The bar when the total is known: the bar takes what the terminal leaves; the rest is at
/// most 57 columns (`1023.99 MiB/1023.99 MiB 1023.99 MiB/s · 999999999 probes`), so on an
/// 80-column terminal the bar keeps at least 22.
const BAR: &str = "{wide_bar} {bytes}/{total_bytes} {binary_bytes_per_sec} · {msg}";
/// Without a total (stdin, gzip): a spinner, bytes scanned, throughput and noise.
const SPINNER: &str = "{spinner} {bytes} {binary_bytes_per_sec} · {msg}";

/// A running display; dropping it clears the bar.
pub struct Display {
    done: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

/// The total bytes the scan will read, when every input is a plain (not gzip) file, less
/// where each starts (`--state`).
pub fn total(inputs: &[Input], starts: &[u64]) -> Option<u64> {
    let mut sum = 0u64;
    for (i, input) in inputs.iter().enumerate() {
        let Input::Path(p) = input else { return None };
        let mut head = [0u8; 2];
        let mut f = std::fs::File::open(p).ok()?;
        if f.read_exact(&mut head).is_ok() && head == [0x1f, 0x8b] {
            return None;
        }
        let start = starts.get(i).copied().unwrap_or(0);
        sum += f.metadata().ok()?.len().saturating_sub(start);
    }
    Some(sum)
}

/// Starts drawing `p` on stderr after `delay`.
pub fn start(p: Arc<Progress>, total: Option<u64>, delay: Duration) -> Display {
    let done = Arc::new(AtomicBool::new(false));
    let stop = done.clone();
    let handle = std::thread::spawn(move || {
        // The bar starts with the scan, hidden: its elapsed time and throughput count from
        // the first byte, not from when it appears.
        let hidden = ProgressDrawTarget::hidden();
        let (bar, template) = match total {
            Some(n) => (ProgressBar::with_draw_target(Some(n), hidden), BAR),
            None => (ProgressBar::with_draw_target(None, hidden), SPINNER),
        };
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        // The bytes first: the noise counted with them is at least theirs.
        let update = |bar: &ProgressBar| {
            let bytes = p.bytes.load(Ordering::Acquire);
            bar.set_message(format!("{} probes", p.noise.load(Ordering::Relaxed)));
            bar.set_position(bytes);
        };
        let began = Instant::now();
        while began.elapsed() < delay {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            update(&bar);
            std::thread::sleep(Duration::from_millis(20));
        }
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        while !stop.load(Ordering::Relaxed) {
            update(&bar);
            bar.tick();
            std::thread::sleep(Duration::from_millis(100));
        }
        // The last state is drawn once (forced, whatever the refresh rate) before it is cleared.
        update(&bar);
        bar.finish();
        bar.finish_and_clear();
    });
    Display {
        done,
        handle: Some(handle),
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}
