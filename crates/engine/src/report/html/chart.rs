//! The report's pictures, as inline SVG that needs no script: the traffic over time (all
//! requests as a line, mail-client noise as columns stacked by category, storms shaded, a
//! time axis with ticks on round UTC times and a y scale), and the storms and surges as a
//! timeline on the same time axis, one row each. Every column and bar carries a `<title>`,
//! which browsers show on hover.

use super::markup::{esc, log};
use crate::numbers::thousands;
use crate::report::bursts::BurstView;
use crate::report::model::Report;
use crate::report::units::Timestamp;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Width of every chart, in SVG units (the page scales it to its column).
pub(crate) const WIDTH: f64 = 960.0;
/// Left margin (y labels), right margin.
const LEFT: f64 = 64.0;
const RIGHT: f64 = 12.0;
/// Top margin (legend), plot height, bottom margin (time labels).
const TOP: f64 = 30.0;
const PLOT: f64 = 190.0;
const BOTTOM: f64 = 36.0;
/// Most columns drawn: a longer log groups minutes into wider columns.
const COLUMNS: i64 = 240;
/// Most time ticks.
const TICKS: i64 = 8;
/// Tick spacings to choose from, in minutes.
const SPACINGS: &[i64] = &[
    1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10_080, 20_160, 43_200,
];
/// Colours of the categories, in the order of their first appearance in the legend.
const COLOURS: &[&str] = &[
    "#e07000", "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
];
/// Width of a character of the 12-unit labels, at most (digits and `-` are narrower).
const LABEL_EM: f64 = 7.0;
/// Storm rows drawn in the timeline.
const ROWS: usize = 30;

/// The time axis shared by both charts: `start` is the first minute, `step` minutes a column.
struct Axis {
    start: i64,
    step: i64,
    columns: usize,
}

impl Axis {
    fn plot_width(&self) -> f64 {
        WIDTH - LEFT - RIGHT
    }

    /// The x of minute `m` (a fraction of a column allowed).
    fn x(&self, m: f64) -> f64 {
        LEFT + (m - self.start as f64) / (self.step as f64 * self.columns as f64)
            * self.plot_width()
    }

    fn end(&self) -> i64 {
        self.start + self.step * self.columns as i64
    }

    /// Ticks on round UTC times: (minute, label).
    fn ticks(&self) -> Vec<(i64, String)> {
        let span = self.end() - self.start;
        let spacing = SPACINGS
            .iter()
            .copied()
            .find(|s| span / s < TICKS)
            .unwrap_or(43_200);
        let first = (self.start + spacing - 1).div_euclid(spacing) * spacing;
        let mut out = Vec::new();
        let mut m = first;
        let mut last_day = None;
        while m <= self.end() {
            let c = Timestamp::from_epoch_minute(m).civil();
            let day = (c.year, c.month, c.day);
            let label = if spacing >= 1440 {
                format!("{:02}-{:02}", c.month, c.day)
            } else if last_day != Some(day) {
                format!("{:02}-{:02} {:02}:{:02}", c.month, c.day, c.hour, c.minute)
            } else {
                format!("{:02}:{:02}", c.hour, c.minute)
            };
            last_day = Some(day);
            out.push((m, label));
            m += spacing;
        }
        out
    }
}

/// `2016-02-19 02:00` (UTC), for titles.
fn when(t: Timestamp) -> String {
    let c = t.civil();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// The smallest of 1, 2, 2.5, 5 × 10^k at or above `v` (at least 1).
fn nice(v: u64) -> u64 {
    let mut unit = 1u64;
    loop {
        for f in [10, 20, 25, 50, 100] {
            let n = unit * f / 10;
            if n >= v.max(1) {
                return n;
            }
        }
        unit = unit.saturating_mul(10);
    }
}

/// The traffic chart and the storm timeline.
pub(super) fn render(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let m = &r.timeline.minutes;
    let (Some(first), Some(last)) = (m.first(), m.last()) else {
        return Ok(());
    };
    let (start, end) = (first.minute.epoch_minute(), last.minute.epoch_minute());
    let step = ((end - start) / COLUMNS + 1).max(1);
    let columns = ((end - start) / step + 1) as usize;
    let axis = Axis {
        start,
        step,
        columns,
    };
    // Categories in order of their noise, for the stacking and the legend.
    let mut totals: Vec<(&'static str, u64)> = Vec::new();
    for x in m {
        for (&c, &n) in &x.categories {
            match totals.iter_mut().find(|t| t.0 == c) {
                Some(t) => t.1 += n,
                None => totals.push((c, n)),
            }
        }
    }
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let cats: Vec<&'static str> = totals.iter().map(|t| t.0).collect();
    let mut all = vec![0u64; columns];
    let mut noise = vec![vec![0u64; cats.len()]; columns];
    for x in m {
        let i = (((x.minute.epoch_minute() - start) / step) as usize).min(columns - 1);
        all[i] += x.requests;
        for (&c, &n) in &x.categories {
            if let Some(k) = cats.iter().position(|&k| k == c) {
                noise[i][k] += n;
            }
        }
    }
    traffic(r, w, &axis, &cats, &all, &noise)?;
    timeline(r, w, &axis)
}

fn traffic(
    r: &Report,
    w: &mut dyn Write,
    axis: &Axis,
    cats: &[&str],
    all: &[u64],
    noise: &[Vec<u64>],
) -> io::Result<()> {
    let top = nice(all.iter().copied().max().unwrap_or(1));
    let height = TOP + PLOT + BOTTOM;
    let y = |v: u64| TOP + PLOT - v as f64 / top as f64 * PLOT;
    let per = if axis.step == 1 {
        "minute".to_string()
    } else {
        format!("{} minutes", axis.step)
    };
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg id=\"traffic\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" \
         aria-label=\"requests and mail-client noise over time\">"
    );
    // The y scale: grid lines and labels at quarters of a round top.
    for q in 0..=4u64 {
        let v = top * q / 4;
        let yy = y(v);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#e4e4e4\"/>\
             <text class=\"ylabel\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            thousands(v)
        );
    }
    for s in &r.storms {
        let (x0, x1) = (
            axis.x(s.burst.start.epoch_minute() as f64),
            axis.x(s.burst.end.epoch_minute() as f64 + 1.0),
        );
        let _ = write!(
            svg,
            "<rect x=\"{x0:.1}\" y=\"{TOP}\" width=\"{:.1}\" height=\"{PLOT}\" fill=\"#f9d6d5\">\
             <title>storm: {} from {}, {} to {} UTC</title></rect>",
            (x1 - x0).max(2.0),
            s.category,
            log(&s.client),
            when(s.burst.start),
            when(s.burst.end)
        );
    }
    let col = axis.plot_width() / axis.columns as f64;
    for (i, stack) in noise.iter().enumerate() {
        let x0 = axis.x((axis.start + i as i64 * axis.step) as f64);
        let mut base = 0u64;
        for (k, &n) in stack.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let (y1, y0) = (y(base + n), y(base));
            let _ = write!(
                svg,
                "<rect x=\"{x0:.2}\" y=\"{y1:.2}\" width=\"{:.2}\" height=\"{:.2}\" fill=\"{}\"/>",
                col.max(0.5),
                (y0 - y1).max(0.5),
                COLOURS[k % COLOURS.len()]
            );
            base += n;
        }
    }
    // All traffic as a step line over the columns.
    let mut points = Vec::with_capacity(all.len() * 2);
    for (i, &v) in all.iter().enumerate() {
        let x0 = axis.x((axis.start + i as i64 * axis.step) as f64);
        points.push(format!("{x0:.1},{:.1}", y(v)));
        points.push(format!("{:.1},{:.1}", x0 + col, y(v)));
    }
    let _ = write!(
        svg,
        "<polyline fill=\"none\" stroke=\"#555\" stroke-width=\"1.5\" points=\"{}\"/>",
        points.join(" ")
    );
    // A hover title on every column.
    for (i, (&v, stack)) in all.iter().zip(noise).enumerate() {
        let from = axis.start + i as i64 * axis.step;
        let of: Vec<String> = cats
            .iter()
            .zip(stack)
            .filter(|(_, &n)| n > 0)
            .map(|(c, &n)| format!("{c} {}", thousands(n)))
            .collect();
        let probes: u64 = stack.iter().sum();
        let _ = write!(
            svg,
            "<rect x=\"{:.2}\" y=\"{TOP}\" width=\"{col:.2}\" height=\"{PLOT}\" fill=\"transparent\">\
             <title>{} UTC, {per}: {} requests, {} mail-client probes{}</title></rect>",
            axis.x(from as f64),
            when(Timestamp::from_epoch_minute(from)),
            thousands(v),
            thousands(probes),
            if of.is_empty() {
                String::new()
            } else {
                format!(" ({})", of.join(", "))
            }
        );
    }
    ticks(&mut svg, axis, TOP + PLOT);
    // The legend.
    let mut lx = LEFT;
    let title = format!("requests per {per}, UTC:");
    let _ = write!(svg, "<text x=\"{lx}\" y=\"14\">{title}</text>");
    lx += LABEL_EM * title.len() as f64 + 8.0;
    let _ = write!(
        svg,
        "<line x1=\"{lx}\" x2=\"{:.0}\" y1=\"10\" y2=\"10\" stroke=\"#555\" stroke-width=\"1.5\"/>\
         <text x=\"{:.0}\" y=\"14\">all</text>",
        lx + 14.0,
        lx + 18.0
    );
    lx += 44.0;
    for (k, c) in cats.iter().enumerate() {
        let _ = write!(
            svg,
            "<rect x=\"{lx}\" y=\"5\" width=\"10\" height=\"10\" fill=\"{}\"/>\
             <text x=\"{:.0}\" y=\"14\">{}</text>",
            COLOURS[k % COLOURS.len()],
            lx + 14.0,
            esc(c)
        );
        lx += 22.0 + 7.0 * c.len() as f64;
    }
    if !r.storms.is_empty() {
        let _ = write!(
            svg,
            "<rect x=\"{lx}\" y=\"5\" width=\"10\" height=\"10\" fill=\"#f9d6d5\"/>\
             <text x=\"{:.0}\" y=\"14\">storms</text>",
            lx + 14.0
        );
    }
    svg.push_str("</svg>");
    writeln!(w, "<h2>When</h2>{svg}")
}

/// Tick marks and labels under a plot whose bottom is at `bottom`.
fn ticks(svg: &mut String, axis: &Axis, bottom: f64) {
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{bottom}\" y2=\"{bottom}\" stroke=\"#333\"/>",
        WIDTH - RIGHT
    );
    for (m, label) in axis.ticks() {
        let x = axis.x(m as f64);
        // A label at an edge is set inside the chart rather than cut by it.
        let half = LABEL_EM * label.len() as f64 / 2.0;
        let anchor = if x + half > WIDTH {
            "end"
        } else if x - half < 0.0 {
            "start"
        } else {
            "middle"
        };
        let _ = write!(
            svg,
            "<line x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{bottom}\" y2=\"{:.1}\" stroke=\"#333\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{label}</text>",
            bottom + 5.0,
            bottom + 18.0
        );
    }
}

/// The storms and surges, one row each on the time axis.
fn timeline(r: &Report, w: &mut dyn Write, axis: &Axis) -> io::Result<()> {
    let mut rows: Vec<(String, String, &BurstView)> = r
        .storms
        .iter()
        .map(|s| {
            (
                log(&s.client),
                format!("storm: {} from {}", s.category, log(&s.client)),
                &s.burst,
            )
        })
        .chain(r.surges.iter().map(|s| {
            (
                format!("surge ({})", s.category),
                format!("surge: {} from {} clients", s.category, s.clients),
                &s.burst,
            )
        }))
        .collect();
    if rows.is_empty() {
        return Ok(());
    }
    let more = rows.len().saturating_sub(ROWS);
    rows.sort_by_key(|r| std::cmp::Reverse(r.2.requests));
    rows.truncate(ROWS);
    rows.sort_by_key(|r| r.2.start);
    const ROW: f64 = 18.0;
    let height = 8.0 + ROW * rows.len() as f64 + BOTTOM;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg id=\"storms\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" \
         aria-label=\"storms and surges over time\">"
    );
    for (i, (label, title, b)) in rows.iter().enumerate() {
        let y = 8.0 + ROW * i as f64;
        let (x0, x1) = (
            axis.x(b.start.epoch() as f64 / 60.0),
            axis.x((b.end.epoch() + 1) as f64 / 60.0),
        );
        // The client beside its bar: right of it where it fits, else left of it.
        let name: String = if label.chars().count() > 40 {
            let cut: String = label.chars().take(39).collect();
            format!("{cut}\u{2026}")
        } else {
            label.clone()
        };
        let wide = (x1 - x0).max(3.0);
        let room = LABEL_EM * name.chars().count() as f64 + 6.0;
        let (tx, anchor) = if x0 + wide + room <= WIDTH - RIGHT {
            (x0 + wide + 4.0, "start")
        } else {
            (x0 - 4.0, "end")
        };
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#f0f0f0\"/>\
             <rect x=\"{x0:.2}\" y=\"{:.1}\" width=\"{wide:.2}\" height=\"{:.1}\" fill=\"#d9534f\">\
             <title>{title}: {} requests, {} to {} UTC, peak {} a minute</title></rect>\
             <text x=\"{tx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{name}</text>",
            WIDTH - RIGHT,
            y + ROW / 2.0,
            y + ROW / 2.0,
            y + 3.0,
            ROW - 6.0,
            thousands(b.requests),
            when(b.start),
            when(b.end),
            thousands(b.peak_per_minute),
            y + ROW / 2.0 + 4.0,
        );
    }
    ticks(&mut svg, axis, 8.0 + ROW * rows.len() as f64);
    svg.push_str("</svg>");
    let note = if more > 0 {
        format!(" (the {ROWS} largest; {more} more in the table)")
    } else {
        String::new()
    };
    writeln!(w, "<h3>Storms and surges over time{note}</h3>{svg}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_scales_and_ticks() {
        assert_eq!(
            [0, 1, 3, 7, 19, 24, 26, 99, 101, 1_234_567].map(nice),
            [1, 1, 5, 10, 20, 25, 50, 100, 200, 2_000_000]
        );
        // Three hours from 23:10: ticks every 30 minutes, the date at the first and at
        // midnight.
        let start = 1_455_840_000 / 60 - 50; // 2016-02-18 23:10
        let axis = Axis {
            start,
            step: 1,
            columns: 180,
        };
        let labels: Vec<String> = axis.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(
            labels,
            [
                "02-18 23:30",
                "02-19 00:00",
                "00:30",
                "01:00",
                "01:30",
                "02:00"
            ]
        );
        // Two minutes: ticks every minute, and the columns fill the plot.
        let axis = Axis {
            start,
            step: 1,
            columns: 2,
        };
        assert_eq!(axis.ticks().len(), 3);
        assert!((axis.x(axis.end() as f64) - (WIDTH - RIGHT)).abs() < 1e-9);
    }
}
