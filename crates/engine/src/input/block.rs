//! Blocks of whole lines, the unit of work between the readers and the workers: what a block
//! holds, where its bytes are (a pool buffer the reader filled, or a range of a leased file
//! the worker reads itself) and how it is given back. A leaf: the reading chunker and the
//! leased reader both make blocks, and neither knows the other.

use std::io;
use std::ops::Range;
use std::sync::Arc;

/// A file whose bytes several blocks read by range (a leased file).
pub(crate) trait Ranges: Send + Sync + std::fmt::Debug {
    /// Reads `buf.len()` bytes at `at`, or fails.
    fn read_exact(&self, buf: &mut [u8], at: u64) -> io::Result<()>;
}

/// The excerpt kept of an overlong line.
pub(crate) const OVERLONG_HEAD: usize = 160;

/// How a source is cut.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ChunkConfig {
    /// Target block size in bytes.
    pub(crate) chunk: usize,
    /// Longest line kept, in bytes.
    pub(crate) max_line: usize,
    /// At the end of the input, keep back a last line without `\n` (a writer may be in the
    /// middle of it): incremental runs read it next time.
    pub(crate) hold_tail: bool,
}

/// What a block holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Payload {
    /// `buf[..len]` holds whole lines (the last may lack its `\n` at the end of a source).
    Lines(usize),
    /// One line longer than the cap; `buf[..len]` holds its first bytes.
    Overlong(usize),
}

/// Where a block's bytes are.
#[derive(Debug)]
pub(crate) enum Bytes {
    /// A buffer from the pool (return it when done).
    Owned(Vec<u8>),
    /// A range of a leased file, read by the worker that scans it.
    Leased(Arc<dyn Ranges>, Range<u64>),
}

/// A block of input handed to a worker.
#[derive(Debug)]
pub(crate) struct Block {
    /// Index of the source in the input list.
    pub(crate) source: u32,
    /// Position of the block within its source (0, 1, ...).
    pub(crate) seq: u64,
    /// The bytes.
    pub(crate) bytes: Bytes,
    /// What the bytes hold.
    pub(crate) payload: Payload,
}

impl Block {
    /// How many of the block's bytes it holds (or, for a leased range, are to be read).
    fn len(&self) -> usize {
        match self.payload {
            Payload::Lines(n) | Payload::Overlong(n) => n,
        }
    }

    /// The bytes of a block that holds them; `None` for a leased range, which is read with
    /// [`Block::load`] or [`Block::owned`].
    pub(crate) fn data(&self) -> Option<&[u8]> {
        match &self.bytes {
            Bytes::Owned(buf) => Some(&buf[..self.len()]),
            Bytes::Leased(..) => None,
        }
    }

    /// The bytes of the block: its own, or those of its leased range read into `own`.
    pub(crate) fn load<'a>(&'a self, own: &'a mut Vec<u8>) -> io::Result<&'a [u8]> {
        match &self.bytes {
            Bytes::Owned(buf) => Ok(&buf[..self.len()]),
            Bytes::Leased(file, range) => {
                let n = self.len();
                if own.len() < n {
                    own.resize(n, 0);
                }
                file.read_exact(&mut own[..n], range.start)?;
                Ok(&own[..n])
            }
        }
    }

    /// The block holding its bytes: a leased range is read into a buffer of its own.
    pub(crate) fn owned(self) -> io::Result<Block> {
        if let Bytes::Owned(_) = self.bytes {
            return Ok(self);
        }
        let mut buf = Vec::new();
        self.load(&mut buf)?;
        Ok(Block {
            bytes: Bytes::Owned(buf),
            ..self
        })
    }

    /// The bytes of input the block stands for: its data, or for a leased over-long line the
    /// whole line (the reading chunker skips the rest of such a line without handing it out).
    pub(crate) fn input_len(&self) -> u64 {
        match (&self.bytes, &self.payload) {
            (Bytes::Leased(_, range), Payload::Overlong(_)) => range.end - range.start,
            _ => self.len() as u64,
        }
    }

    /// Gives the block's memory back: a pool buffer to `pool`.
    pub(crate) fn recycle(self, pool: impl FnOnce(Vec<u8>)) {
        if let Bytes::Owned(buf) = self.bytes {
            pool(buf)
        }
    }
}

/// Whether the consumer still wants blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Flow {
    /// The source was read to its end.
    Done,
    /// The consumer hung up; stop reading.
    Stopped,
}
