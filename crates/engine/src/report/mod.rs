//! Reports: the view model ([`model`]) and its renderers. Renderers are pure functions from
//! the model to bytes on a `&mut dyn Write`; they never compute statistics, never parse a
//! figure back out of text and never probe the terminal: color is decided once by the caller
//! and passed in.
//!
//! The model's modules depend one way only, leaves first: `units` (typed times) and `counts`
//! (key lists) ← `timeline`, `impact` ← `bursts` (storms and surges) ← `model` (the whole
//! [`Report`]) ← the renderers `text`, `markdown`, `html`.

mod bursts;
mod counts;
mod html;
mod impact;
mod markdown;
pub mod model;
mod text;
mod timeline;
mod units;

pub use bursts::{views, BurstView, DetailsView, StormView, SurgeView};
pub use counts::{AgentCount, ClientCount, FamilyCount, MethodCount, PathCount};
pub use impact::{ImpactView, LoadView};
pub use model::{build, Report, SCHEMA};
pub use timeline::{MinuteView, TimelineView};
pub use units::{Civil, Seconds, Timestamp};

use std::io::{self, Write};

/// Output formats of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Output {
    /// Aligned text for a person.
    Text,
    /// The `noisegate/1` JSON document.
    Json,
    /// Markdown, for a ticket or a pull request.
    Markdown,
    /// One self-contained HTML file (inline CSS and SVG).
    Html,
}

crate::choice::choice_table!(Output {
    Text => ("text", "Aligned text for a person"),
    Json => ("json", "The noisegate/1 JSON document"),
    Markdown => ("markdown", "Markdown, for a ticket or a pull request"),
    Html => ("html", "One self-contained HTML file (inline CSS and SVG)"),
});

/// Presentation decisions made once, before rendering.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Emit ANSI colors.
    pub color: bool,
}

/// Renders `report` as `output`.
pub fn render(report: &Report, output: Output, style: Style, w: &mut dyn Write) -> io::Result<()> {
    match output {
        Output::Text => text::render(report, style, w),
        Output::Markdown => markdown::render(report, w),
        Output::Html => html::render(report, w),
        Output::Json => {
            serde_json::to_writer_pretty(&mut *w, report)?;
            writeln!(w)
        }
    }
}
