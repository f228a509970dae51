//! The integration tests, as one binary of modules: one executable to link instead of one per
//! file, and one pool of test threads for all of them. Each module owns one subject and is
//! named after it; run one with `cargo test --test integration MODULE::`.
//!
//! A new test file goes here, declared below. Only tests that need a process of their own
//! stay apart as `tests/*.rs`, each saying why in its `//!` (`tests/memory.rs`: a child's
//! peak RSS starts from its parent's).

#[path = "../support/mod.rs"]
mod support;

mod block;
mod block_files;
mod block_rank;
mod cli;
mod completions;
mod cron;
mod dns;
mod formats;
mod fuzz_regressions;
mod golden;
mod hostile;
mod html;
mod injection;
mod lines;
mod mailboxes;
mod man;
mod markdown_escape;
mod nginx;
mod nginx_block;
mod nginx_include;
mod paths;
mod prometheus;
mod read_errors;
mod realip;
mod rotation;
mod routing;
mod saved;
mod saved_trust;
mod split;
mod state;
mod storms;
mod yaml;
