//! The choices a caller makes about a report before it is rendered: the output format
//! ([`Output`]) and the presentation ([`Style`]). A leaf of `report/`: the renderers read
//! these decisions; nothing here looks at a terminal, a clock or the view model.

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
    /// Prometheus's text exposition format, for node_exporter's textfile collector.
    Prometheus,
}

crate::choice::choice_table!(Output {
    Text => ("text", "Aligned text for a person"),
    Json => ("json", "The noisegate/1 JSON document"),
    Markdown => ("markdown", "Markdown, for a ticket or a pull request"),
    Html => ("html", "One self-contained HTML file (inline CSS and SVG)"),
    Prometheus => ("prometheus", "Prometheus text format, for node_exporter's textfile collector"),
});

/// Presentation decisions made once, before rendering.
#[derive(Clone, Copy, Debug)]
pub struct Style {
    /// Emit ANSI colors.
    pub color: bool,
    /// The time of this run, seconds since the epoch, for the outputs that carry it (the
    /// Prometheus metrics' `noisegate_last_run_timestamp_seconds`).
    pub now: i64,
}
