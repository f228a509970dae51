//! Blocks of whole lines, the unit of work between the readers and the workers: what a block
//! holds, where its bytes live (a pool buffer, or a range of bytes shared by several blocks,
//! such as a memory map) and how it is given back. A leaf: the reading chunker and the
//! mapped reader both make blocks, and neither knows the other.

use std::ops::Range;
use std::sync::Arc;

/// Bytes that several blocks share and give back by range when scanned (a memory map).
pub(crate) trait SharedBytes: Send + Sync + std::fmt::Debug {
    /// All the bytes.
    fn bytes(&self) -> &[u8];
    /// The range's memory is no longer needed by this process.
    fn release(&self, range: Range<usize>);
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
    /// A range of a mapped file (release it when done).
    Mapped(Arc<dyn SharedBytes>, Range<usize>),
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
    /// The bytes of the block.
    pub(crate) fn data(&self) -> &[u8] {
        let n = match self.payload {
            Payload::Lines(n) | Payload::Overlong(n) => n,
        };
        match &self.bytes {
            Bytes::Owned(buf) => &buf[..n],
            Bytes::Mapped(map, range) => &map.bytes()[range.start..range.start + n],
        }
    }

    /// The bytes of input the block stands for: its data, or for a mapped over-long line the
    /// whole line (the reading chunker skips the rest of such a line without handing it out).
    pub(crate) fn input_len(&self) -> u64 {
        match (&self.bytes, &self.payload) {
            (Bytes::Mapped(_, range), Payload::Overlong(_)) => range.len() as u64,
            _ => self.data().len() as u64,
        }
    }

    /// Gives the block's memory back: a pool buffer to `pool`, mapped pages to the kernel.
    pub(crate) fn recycle(self, pool: impl FnOnce(Vec<u8>)) {
        match self.bytes {
            Bytes::Owned(buf) => pool(buf),
            Bytes::Mapped(map, range) => map.release(range),
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
