//! Incremental runs (`--state FILE`): which part of each input a run reads, given what the run
//! that wrote FILE read, and the state to save once the run's output is out. The state file
//! itself (what it remembers of a file, rotation and truncation) is `input::state`'s.

use crate::input::state::{self, Resume};
use crate::input::Input;
use crate::pipeline::{ScanOptions, ScanResult};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// An incremental run in progress.
#[derive(Debug)]
pub struct Incremental {
    file: PathBuf,
    plan: Resume,
}

impl Incremental {
    /// Reads the state `file` (missing: nothing read yet) and plans the run over `inputs`:
    /// returns the inputs to read (rotated files to finish come first) and sets where each
    /// starts in `opts`, which also keeps back a last line still being written.
    pub fn open(
        file: &Path,
        inputs: &[Input],
        opts: &mut ScanOptions,
    ) -> Result<(Self, Vec<Input>)> {
        let before = state::load(file)?;
        let plan = state::resume(&before, inputs)?;
        opts.starts.clone_from(&plan.starts);
        opts.hold_tail = true;
        let inputs = plan.inputs.clone();
        let run = Incremental {
            file: file.to_path_buf(),
            plan,
        };
        Ok((run, inputs))
    }

    /// Records in `result` the state to save after its output ([`ScanResult::save_state`]).
    pub fn finish(self, result: &mut ScanResult) {
        let next = state::advance(&self.plan, &result.consumed);
        result.pending_state = Some((self.file, next));
    }
}

impl ScanResult {
    /// Saves the state of an incremental run (atomically); nothing for other runs. Call it once
    /// the output is out, so that a run that dies first reads the same lines again.
    pub fn save_state(&self) -> Result<()> {
        match &self.pending_state {
            Some((file, next)) => state::save(file, next),
            None => Ok(()),
        }
    }
}
