//! The progress bar on stderr: bytes read (of the total when every input is a plain file),
//! throughput and the noise found so far. It appears only after a delay (about a second), so
//! quick runs never flash one, and only on a terminal unless asked.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use noisegate_engine::{Input, Progress};
use std::io::Read;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

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
        let began = Instant::now();
        while began.elapsed() < delay {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let (bar, template) = match total {
            Some(n) => (
                ProgressBar::new(n),
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg}",
            ),
            None => (
                ProgressBar::new_spinner(),
                "{spinner} {bytes} {binary_bytes_per_sec} {msg}",
            ),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        if let Ok(style) = ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        while !stop.load(Ordering::Relaxed) {
            bar.set_position(p.bytes.load(Ordering::Relaxed));
            bar.set_message(format!(
                "· {} mail-client probes",
                p.noise.load(Ordering::Relaxed)
            ));
            bar.tick();
            std::thread::sleep(Duration::from_millis(100));
        }
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
