//! Input sources: stdin and files, plain or gzip (told apart by their magic bytes, not their
//! names), and the chunker that cuts them into newline-aligned blocks.

mod block;
mod chunker;
pub(crate) mod discover;
mod leased;
pub(crate) mod resume;
pub(crate) mod state;

pub(crate) use block::{Block, ChunkConfig, Flow, Payload};
#[cfg(test)]
pub(crate) use block::{Bytes, Ranges};
pub(crate) use chunker::read_blocks;
pub use leased::LeaseChoice;
pub(crate) use leased::{lease_blocks, Leased};

use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::PathBuf;

/// One input named on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// Standard input (`-` or no path at all).
    Stdin,
    /// A file.
    Path(PathBuf),
}

impl Input {
    /// Reads a command-line argument: `-` is stdin.
    pub fn from_arg(arg: &std::ffi::OsStr) -> Self {
        if arg == "-" {
            Input::Stdin
        } else {
            Input::Path(PathBuf::from(arg))
        }
    }

    /// The name used in reports and messages.
    pub fn name(&self) -> String {
        match self {
            Input::Stdin => "<stdin>".to_string(),
            Input::Path(p) => p.display().to_string(),
        }
    }
}

/// Opens an input at byte `start` of its (decompressed) content. `pinned`: a handle an
/// incremental run already opened, read instead of the path so that what is read and what is
/// recorded are the same file even when logrotate renames it in between.
pub(crate) fn open_at(
    input: &Input,
    start: u64,
    pinned: Option<&File>,
) -> io::Result<Box<dyn Read + Send>> {
    use std::io::{Seek, SeekFrom};
    let mut f = match (pinned, input) {
        (Some(f), _) => {
            let mut f = f.try_clone()?;
            f.seek(SeekFrom::Start(0))?;
            f
        }
        (None, Input::Path(p)) if start > 0 => File::open(p)?,
        (None, _) => return skip(open(input)?, start),
    };
    let mut head = [0u8; 2];
    let gzip = f.read_exact(&mut head).is_ok() && head == [0x1f, 0x8b];
    if !gzip {
        f.seek(SeekFrom::Start(start))?;
        return Ok(Box::new(f));
    }
    f.seek(SeekFrom::Start(0))?;
    skip(sniff(Box::new(f))?, start)
}

/// The file `f` is open on, opened again (through `/proc/self/fd`, so even after a rename or
/// an unlink): a description of its own, so that a lease taken on it (see [`Leased`]) ends
/// when it is closed, not when `f` is.
pub(crate) fn reopen(f: &File) -> Option<File> {
    use std::os::fd::AsRawFd;
    File::open(format!("/proc/self/fd/{}", f.as_raw_fd())).ok()
}

/// Skips the first `start` bytes of `r`.
fn skip(mut r: Box<dyn Read + Send>, start: u64) -> io::Result<Box<dyn Read + Send>> {
    let skipped = io::copy(&mut r.by_ref().take(start), &mut io::sink())?;
    if skipped < start {
        return Err(io::Error::other("shorter than where the last run stopped"));
    }
    Ok(r)
}

/// Opens an input for reading, decompressing it when it starts with the gzip magic bytes.
/// Concatenated gzip members (as `cat a.gz b.gz` makes) are all read.
pub(crate) fn open(input: &Input) -> io::Result<Box<dyn Read + Send>> {
    let raw: Box<dyn Read + Send> = match input {
        Input::Stdin => stdin(),
        Input::Path(p) => {
            if p.is_dir() {
                return Err(io::Error::other("is a directory"));
            }
            Box::new(File::open(p)?)
        }
    };
    sniff(raw)
}

/// Standard input as a plain file descriptor (a copy of fd 0: no lock and no buffer on each
/// read, the blocks are large). On Linux a pipe's buffer is first made 1 MiB, as far as the
/// system allows, so each read takes up to that much instead of 64 KiB: `cat log | noisegate`
/// then keeps up with the pipe. Falls back to `io::stdin()` when fd 0 cannot be copied.
fn stdin() -> Box<dyn Read + Send> {
    use std::os::fd::AsFd;
    let Ok(fd) = io::stdin().as_fd().try_clone_to_owned() else {
        return Box::new(io::stdin());
    };
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: F_SETPIPE_SZ on a descriptor we own; it fails harmlessly on what is no pipe
        // or past the system's limit.
        unsafe {
            libc::fcntl(fd.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20);
        }
    }
    Box::new(File::from(fd))
}

/// Decompresses `raw` when it starts with the gzip magic bytes.
pub(crate) fn sniff(mut raw: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < head.len() {
        match raw.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let whole = Cursor::new(head[..got].to_vec()).chain(raw);
    if head[..got] == [0x1f, 0x8b] {
        Ok(Box::new(MultiGzDecoder::new(BufReader::with_capacity(
            256 * 1024,
            whole,
        ))))
    } else {
        Ok(Box::new(whole))
    }
}
