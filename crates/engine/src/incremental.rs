//! Incremental runs (`--state FILE`): which part of each input a run reads, given what the run
//! that wrote FILE read, and the state to save once the run's output is out. The state file
//! itself (layout, lock, writing) is `input::state`'s; recognising a file by its content
//! wherever logrotate put it is `input::resume`'s.

use crate::input::resume::{self, Resume};
use crate::input::state::{self, Pending};
use crate::input::Input;
use crate::pipeline::{ScanOptions, ScanResult};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// An incremental run in progress; it holds the state file's lock until its state is saved.
#[derive(Debug)]
pub struct Incremental {
    file: PathBuf,
    plan: Resume,
    lock: std::fs::File,
}

impl Incremental {
    /// Takes the state `file`'s lock (waiting up to 10 s for another run, then failing), reads
    /// it (missing: nothing read yet) and plans the run over `inputs`: returns the inputs to
    /// read (the inputs, and rotated files to finish before their log) and sets where each
    /// starts in `opts`, which also keeps back a last line still being written.
    pub fn open(
        file: &Path,
        inputs: &[Input],
        opts: &mut ScanOptions,
    ) -> Result<(Self, Vec<Input>)> {
        let lock = state::lock(file)?;
        let (before, note) = state::load(file)?;
        let mut plan = resume::resume(&before, inputs)?;
        plan.notes.splice(0..0, note);
        opts.starts.clone_from(&plan.starts);
        opts.pinned.clone_from(&plan.pinned);
        opts.hold_tail = true;
        let inputs = plan.inputs.clone();
        let run = Incremental {
            file: file.to_path_buf(),
            plan,
            lock,
        };
        Ok((run, inputs))
    }

    /// What this run cannot resume exactly (a remembered file gone, with the bytes lost; an
    /// old state file), one sentence each, for stderr.
    pub fn notes(&self) -> &[String] {
        &self.plan.notes
    }

    /// Records in `result` the state to save after its output ([`ScanResult::save_state`]).
    pub fn finish(self, result: &mut ScanResult) {
        let next = resume::advance(&self.plan, &result.consumed);
        result.pending_state = Some(Pending {
            file: self.file,
            next,
            lost: self.plan.lost,
            _lock: self.lock,
        });
    }
}

impl ScanResult {
    /// Saves the state of an incremental run (atomically); nothing for other runs. Call it once
    /// the output is out, so that a run that dies first reads the same lines again.
    pub fn save_state(&self) -> Result<()> {
        match &self.pending_state {
            Some(p) => state::save(&p.file, &p.next),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(range: std::ops::Range<usize>) -> String {
        range
            .map(|i| format!("10.0.0.1 - - [19/Feb/2016:02:00:{:02} +0000]  \"GET /autodiscover/{i} HTTP/1.1\" 404 1 \"-\" \"ua\" 0.100 \"198.51.100.1\"\n", i % 60))
            .collect()
    }

    fn append(path: &Path, text: &str) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .unwrap();
        f.write_all(text.as_bytes()).unwrap();
    }

    /// One incremental run; `between` runs after the plan, before the reading.
    fn run(state: &Path, log: &Path, between: impl FnOnce()) -> u64 {
        let inputs = [Input::Path(log.to_path_buf())];
        let mut opts = ScanOptions::new(1);
        let (run, read) = Incremental::open(state, &inputs, &mut opts).unwrap();
        between();
        let mut result = crate::pipeline::scan(&read, &opts).unwrap();
        run.finish(&mut result);
        result.save_state().unwrap();
        result.lines().total
    }

    #[test]
    fn a_rotation_during_the_run_keeps_each_offset_with_its_file() {
        let dir = tempfile::tempdir().unwrap();
        let (log, state) = (dir.path().join("access.log"), dir.path().join("s.json"));
        append(&log, &lines(0..10));
        assert_eq!(run(&state, &log, || {}), 10);
        append(&log, &lines(10..20));
        let rotate = || {
            append(&log, &lines(20..22));
            std::fs::rename(&log, dir.path().join("access.log.1")).unwrap();
            append(&log, &lines(100..105));
        };
        assert_eq!(run(&state, &log, rotate), 12, "the file the plan opened");
        assert_eq!(run(&state, &log, || {}), 5, "the new file, from its start");
        assert_eq!(run(&state, &log, || {}), 0);
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn a_gzip_file_still_being_written_waits_for_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let (log, state) = (dir.path().join("access.log"), dir.path().join("s.json"));
        let (one, one_gz) = (
            dir.path().join("access.log.1"),
            dir.path().join("access.log.1.gz"),
        );
        append(&log, &lines(0..100));
        assert_eq!(run(&state, &log, || {}), 100);
        append(&log, &lines(100..102));
        std::fs::rename(&log, &one).unwrap();
        let whole = gzip(&std::fs::read(&one).unwrap());
        std::fs::write(&one_gz, &whole[..whole.len() / 2]).unwrap();
        append(&log, &lines(200..203));
        assert_eq!(
            run(&state, &log, || {}),
            5,
            "the rest of .1, and the new file"
        );
        std::fs::write(&one_gz, &whole).unwrap();
        std::fs::remove_file(&one).unwrap();
        assert_eq!(
            run(&state, &log, || {}),
            0,
            "the gzip file holds what .1 held"
        );
    }

    #[test]
    fn a_copy_still_being_made_waits_for_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let (log, state) = (dir.path().join("access.log"), dir.path().join("s.json"));
        let copy = dir.path().join("access.log.1");
        append(&log, &lines(0..100));
        assert_eq!(run(&state, &log, || {}), 100);
        append(&log, &lines(100..105));
        std::fs::write(&copy, &std::fs::read(&log).unwrap()[..8000]).unwrap();
        assert_eq!(run(&state, &log, || {}), 5, "the copy waits");
        std::fs::copy(&log, &copy).unwrap();
        std::fs::write(&log, lines(300..302)).unwrap();
        assert_eq!(run(&state, &log, || {}), 2, "the copy holds what was read");
    }
}
