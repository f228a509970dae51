//! Reports: the view model ([`model`]) and its renderers. Renderers are pure functions from
//! the model to bytes on a `&mut dyn Write`; they never compute statistics, never parse a
//! figure back out of text and never probe the terminal: color is decided once by the caller
//! and passed in.
//!
//! The modules depend one way only, leaves first: `units` (typed times), `counts` (key lists)
//! and `output` (the caller's choices) ← `timeline`, `impact`, `domains` (the mail domains)
//! ← `bursts` (storms and surges)
//! ← `model` (the whole [`Report`]) ← the renderers `text`, `markdown`, `html`, `prometheus`
//! ← this file, which only picks the renderer.

pub(crate) mod bursts;
mod counts;
pub(crate) mod domains;
mod html;
mod impact;
mod markdown;
pub(crate) mod model;
mod output;
pub(crate) mod prometheus;
mod text;
mod timeline;
mod units;

pub(crate) use bursts::{StormView, SurgeView};

pub use domains::MailDomainView;
pub use model::{build, Report, SCHEMA};
pub use output::{Output, Style};

use std::io::{self, Write};

/// Renders `report` as `output`.
pub fn render(report: &Report, output: Output, style: Style, w: &mut dyn Write) -> io::Result<()> {
    match output {
        Output::Text => text::render(report, style, w),
        Output::Markdown => markdown::render(report, w),
        Output::Html => html::render(report, w),
        Output::Prometheus => prometheus::render(Some(report), None, style.now, w),
        Output::Json => {
            // serde_json writes a few bytes at a time: through `dyn Write` each was a call
            // (a 2.6 MB report of 7,200 minutes took 75M instructions); a buffer of its own
            // makes them copies.
            let mut w = io::BufWriter::with_capacity(1 << 16, w);
            serde_json::to_writer_pretty(&mut w, report)?;
            writeln!(w)?;
            w.flush()
        }
    }
}
