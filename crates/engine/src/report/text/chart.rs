//! The `WHEN` chart of the text report: all traffic and noise over time, one row each, in
//! buckets of a round width chosen to fit. It lays out the timeline's minutes; it reads each
//! minute's typed instant and never parses a time out of text.

use super::out::{short, Out};
use crate::report::model::Report;
use std::io;

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
/// Bucket widths the chart may use, minutes.
const STEPS: [i64; 12] = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 10080];
/// Columns of the chart.
const COLUMNS: i64 = 64;

fn bar(v: u64, max: u64) -> char {
    if v == 0 || max == 0 {
        ' '
    } else {
        BARS[((v * 8 - 1) / max).min(7) as usize]
    }
}

/// `step` minutes in words: `5 min`, `2 h`, `1 day`, `1 week`.
fn width(step: i64) -> String {
    match step {
        s if s % 10_080 == 0 => format!("{} week", s / 10_080),
        s if s % 1440 == 0 => format!("{} day", s / 1440),
        s if s % 60 == 0 => format!("{} h", s / 60),
        s => format!("{s} min"),
    }
}

/// A chart of requests and noise per bucket, each row scaled to its own maximum.
pub(super) fn when(o: &mut Out, r: &Report) -> io::Result<()> {
    let m = &r.timeline.minutes;
    let (Some(first), Some(last)) = (m.first(), m.last()) else {
        return Ok(());
    };
    let (start, end) = (first.minute.epoch_minute(), last.minute.epoch_minute());
    // The smallest round width that fits the span in COLUMNS; past the largest, whatever fits.
    let fits = (end - start) / COLUMNS + 1;
    let step = STEPS.iter().copied().find(|&s| s >= fits).unwrap_or(fits);
    let buckets = ((end - start) / step + 1) as usize;
    let (mut all, mut noise) = (vec![0u64; buckets], vec![0u64; buckets]);
    for minute in m {
        let i = (((minute.minute.epoch_minute() - start) / step) as usize).min(buckets - 1);
        all[i] += minute.requests;
        noise[i] += minute.noise;
    }
    let row = |v: &[u64]| -> String {
        let max = v.iter().copied().max().unwrap_or(0);
        v.iter().map(|&x| bar(x, max)).collect()
    };
    o.heading(&format!("WHEN (one column = {})", width(step)))?;
    writeln!(o.w, "  all    {}", row(&all))?;
    let noise_row = o.paint("33", &row(&noise));
    writeln!(o.w, "  noise  {noise_row}")?;
    let (from, to) = (short(first.minute), short(last.minute));
    // The labels end under the last column when the chart is wide enough for both.
    match buckets.checked_sub(from.len() + to.len()) {
        Some(pad) if pad > 0 => writeln!(o.w, "         {from}{:pad$}{to}", ""),
        _ => writeln!(o.w, "         {from} .. {to}"),
    }
}
