//! Byte searches eight bytes at a time in a `u64` ("SIMD within a register").

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// `b` in every byte of a word.
#[inline(always)]
pub(crate) const fn splat(b: u8) -> u64 {
    LO * b as u64
}

/// The high bit of each byte of `x` that is zero. The lowest flagged byte is always a zero
/// byte (a borrow from a zero byte may flag bytes above it, never below), so
/// `trailing_zeros() / 8` is the place of the first one.
#[inline(always)]
pub(crate) fn zero_bytes(x: u64) -> u64 {
    x.wrapping_sub(LO) & !x & HI
}
