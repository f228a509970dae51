//! noisegate: finds mail-client probe noise in nginx access logs, reports what it costs and
//! emits the `pantheon.yml` block that stops it.
//!
//! The modules follow the data flow: [`input`] (sources and the chunker) → [`scan`] (parse,
//! classify and fold lines into a [`summary::Summary`], one per worker) → [`pipeline`]
//! (threads and merge) → [`remedy`] (paths to protect) → [`report`] (view model and
//! renderers). [`cli`] resolves the command line; `main` only maps results to exit codes.

pub mod alerts;
pub mod analysis;
pub mod choice;
pub mod classify;
pub mod escape;
pub mod fit;
pub mod follow;
pub mod format;
pub mod incremental;
pub mod input;
pub mod numbers;
pub mod pipeline;
pub mod remedy;
pub mod report;
pub mod saved;
pub mod scan;
pub mod summary;
pub mod window;
