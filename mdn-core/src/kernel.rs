//! The dense layers' inner loop: the dot products of blocks of rows with a layer's input,
//! mdn-core's own kernels, and the signature a target-specific kernel implements.
//!
//! Almost all of an evaluation's multiply-adds happen here (1,536 of them for a 1-32-32
//! K = 5 model). The blob stores each layer's weights in blocks of [`ROW_BLOCK`] rows,
//! column after column (FORMAT.md section 3.1), so a kernel reads each block front to back
//! and keeps [`ROW_BLOCK`] running sums per block.
//!
//! mdn-core's kernels are portable safe Rust: [`dot_blocks`] (two blocks a step, on a
//! microcontroller) and a four-block one on a host. A target whose compiler leaves
//! instructions on the table (a Cortex-M4F loads eight weights with one `vldmia`, which
//! LLVM does not emit for this loop) can supply its own [`DotBlocks`] to
//! [`Model::set_kernel`](crate::Model::set_kernel), for example
//! `mdn-cortex-m`'s, written in assembly. Every kernel must give [`dot_blocks`]'s bits:
//! each sum starts at `+0.0` and adds `weight * input` (the product rounded, then the sum;
//! no fused multiply-add) for the inputs in order. The device parity test runs
//! `mdn-cortex-m`'s against the host's portable kernel; a kernel of your own needs a
//! parity run of its own (`firmware-example`'s `parity` shows how).
//!
//! Integer networks (FORMAT.md section 5, "Integer networks"; cargo feature `int16`) sum
//! exactly, in wrapping `i32` arithmetic, a block of rows at a time: [`block_sums`] and
//! [`block_sums_wide`] are mdn-core's [`IntegerKernel`], and a target can supply its own
//! with [`Model::set_integer_kernel`](crate::Model::set_integer_kernel) (`mdn-cortex-m`'s
//! uses the Cortex-M4's `smlad`).

use crate::{blob::from_word, layout::ROW_BLOCK};

/// One column of a block: the weights of the block's [`ROW_BLOCK`] rows for one input, as
/// little-endian `f32` bit patterns (`f32::from_bits(u32::from_le(word))`), in blob order.
///
/// # Examples
///
/// ```
/// let column: mdn_core::kernel::Column = [1.5_f32.to_bits().to_le(); mdn_core::ROW_BLOCK];
/// assert_eq!(f32::from_bits(u32::from_le(column[7])), 1.5);
/// ```
pub type Column = [u32; ROW_BLOCK];

/// A kernel: the [`ROW_BLOCK`] dot products of each of two blocks (their columns,
/// `blocks[b][i]` holding the weights for input `i`) with `input`, each summed from input 0
/// upwards starting at `+0.0`, the product of each weight and input rounded before it is
/// added. Only the first `min(input.len(), blocks[0].len(), blocks[1].len())` inputs
/// count (mdn-core passes equal lengths).
///
/// A kernel must return exactly what [`dot_blocks`] returns (`-0.0` and `+0.0` told
/// apart; any NaN for a NaN), or queries lose the bits FORMAT.md fixes.
///
/// # Examples
///
/// ```
/// use mdn_core::kernel::{DotBlocks, dot_blocks};
/// let kernel: DotBlocks = dot_blocks;
/// let ones = [[1.0_f32.to_bits().to_le(); mdn_core::ROW_BLOCK]; 3];
/// let [first, second] = kernel([&ones, &ones], &[1.0, 2.0, 4.0]);
/// assert_eq!((first[0], second[7]), (7.0, 7.0));
/// // Only the inputs every slice has count: two here.
/// let [first, _] = kernel([&ones, &ones[..2]], &[1.0, 2.0, 4.0]);
/// assert_eq!(first[0], 3.0);
/// ```
pub type DotBlocks = fn(blocks: [&[Column]; 2], input: &[f32]) -> [[f32; ROW_BLOCK]; 2];

/// mdn-core's portable kernel (a [`DotBlocks`]), and the reference for any other: each input
/// is loaded once for the 16 sums of two blocks, which a Cortex-M4F keeps in FPU registers
/// with room for the weights.
///
/// # Examples
///
/// ```
/// use mdn_core::{ROW_BLOCK, kernel::dot_blocks};
/// // Block 0 row r has weights (r, 1); block 1 has all weights -1.
/// let first: Vec<_> = (0..2)
///     .map(|i| core::array::from_fn(|r| if i == 0 { r as f32 } else { 1.0 }.to_bits().to_le()))
///     .collect();
/// let second = [[(-1.0_f32).to_bits().to_le(); ROW_BLOCK]; 2];
/// let [a, b] = dot_blocks([&first, &second], &[2.0, 3.0]);
/// assert_eq!(a[5], 5.0 * 2.0 + 3.0);
/// assert_eq!(b, [-5.0; ROW_BLOCK]);
/// ```
#[inline(always)]
pub fn dot_blocks(blocks: [&[Column]; 2], input: &[f32]) -> [[f32; ROW_BLOCK]; 2] {
    let mut acc = [[0.0_f32; ROW_BLOCK]; 2];
    let [first, second] = blocks;
    let n = first.len().min(second.len()).min(input.len());
    let (Some(first), Some(second), Some(input)) =
        (first.get(..n), second.get(..n), input.get(..n))
    else {
        return acc;
    };
    let [a0, a1] = &mut acc;
    // Two columns a step: the loop's counting and address arithmetic once per 32
    // multiply-adds (BENCHMARKS.md, "Measured once").
    let (first_pairs, first_rest) = first.as_chunks::<2>();
    let (second_pairs, second_rest) = second.as_chunks::<2>();
    let (x_pairs, x_rest) = input.as_chunks::<2>();
    for (([c0, d0], [c1, d1]), &[x, y]) in first_pairs.iter().zip(second_pairs).zip(x_pairs) {
        mac_column(a0, c0, x);
        mac_column(a1, c1, x);
        mac_column(a0, d0, y);
        mac_column(a1, d1, y);
    }
    for ((c0, c1), &x) in first_rest.iter().zip(second_rest).zip(x_rest) {
        mac_column(a0, c0, x);
        mac_column(a1, c1, x);
    }
    acc
}

/// Blocks a step of a host's dense layers while that many remain: 32 sums, which x86_64
/// keeps in eight of its 16 SSE2 registers. Each sum waits on its own previous addition,
/// so the more independent sums, the more of the adders' throughput is used
/// (`mdn_benches::ceiling` measures it with twelve registers of sums).
pub(crate) const HOST_STEP_BLOCKS: usize = 4;

/// [`dot_blocks`] for `N` blocks, for a host: the same sums in the same order, one column
/// a step. Out of line, so that the compiler lays the sums out in the rows' order, four to
/// a register; inlined into the dense layer, it mixed rows across registers and shuffled
/// them on every step. Four blocks a step, where a layer has them, keep more of a host's
/// adders busy than two (BENCHMARKS.md, "Measured once").
#[inline(never)]
pub(crate) fn host_dot_blocks<const N: usize>(
    blocks: [&[Column]; N],
    input: &[f32],
) -> [[f32; ROW_BLOCK]; N] {
    let mut acc = [[0.0_f32; ROW_BLOCK]; N];
    let n = blocks
        .iter()
        .map(|block| block.len())
        .fold(input.len(), usize::min);
    let mut columns = [[].as_slice(); N];
    for (columns, block) in columns.iter_mut().zip(blocks) {
        *columns = block.get(..n).unwrap_or_default();
    }
    for (i, &x) in input.iter().take(n).enumerate() {
        for (acc, columns) in acc.iter_mut().zip(&columns) {
            if let Some(column) = columns.get(i) {
                mac_column(acc, column, x);
            }
        }
    }
    acc
}

/// `acc[r] += column[r] * x` for each row `r` of a block.
#[inline(always)]
fn mac_column(acc: &mut [f32; ROW_BLOCK], column: &Column, x: f32) {
    for (a, &w) in acc.iter_mut().zip(column) {
        *a += from_word(w) * x;
    }
}

/// An integer network's kernel ([`block_sums`]'s signature): the wrapping `i32` sums of
/// the [`ROW_BLOCK`] rows of a block with `input`, over the block's `columns`
/// (`columns[i]` holds input `i`'s weights for the block's rows). Only the first
/// `min(columns.len(), input.len())` inputs count.
#[cfg(feature = "int16")]
pub type BlockSums<C> = fn(columns: &[C], input: &[i32]) -> [i32; ROW_BLOCK];

/// The kernel of integer networks: one [`BlockSums`] for each integer storage. A kernel
/// must return exactly what mdn-core's ([`INTEGER_KERNEL`]) returns for inputs within
/// `-32767..=32767`, the only ones mdn-core passes (the quantized input and the `int16`
/// activations, FORMAT.md section 5); outside that range it may differ.
///
/// # Examples
///
/// ```
/// use mdn_core::kernel::{INTEGER_KERNEL, IntegerKernel};
/// // A block of `int8` weights: rows 0-3 (1, -1, 2, -2), rows 4-7 zero, for both inputs.
/// let column = [u32::from_le_bytes([1, 0xFF, 2, 0xFE]).to_le(), 0];
/// let kernel: IntegerKernel = INTEGER_KERNEL;
/// let sums = (kernel.int8_int16)(&[column, column], &[10, 5]);
/// assert_eq!(sums, [15, -15, 30, -30, 0, 0, 0, 0]);
/// ```
#[cfg(feature = "int16")]
#[derive(Debug, Clone, Copy)]
pub struct IntegerKernel {
    /// For `int8-int16` layers: a column is two words, rows 0-3 and rows 4-7, one
    /// little-endian byte a row ([`block_sums`]).
    pub int8_int16: BlockSums<[u32; 2]>,
    /// For `int16-int16` layers (the heads): a column is four words, rows 0-1, 2-3, 4-5 and
    /// 6-7, one little-endian halfword a row ([`block_sums_wide`]).
    pub int16_int16: BlockSums<[u32; 4]>,
}

/// mdn-core's portable [`IntegerKernel`], and the reference for any other.
///
/// # Examples
///
/// See [`IntegerKernel`].
#[cfg(feature = "int16")]
pub const INTEGER_KERNEL: IntegerKernel = IntegerKernel {
    int8_int16: block_sums,
    int16_int16: block_sums_wide,
};

/// The wrapping `i32` sums of the rows of an `int8-int16` block over its `columns` (two
/// words each: rows 0-3 and 4-7, one byte a row, little-endian) and `input`: mdn-core's
/// [`IntegerKernel`] for `int8` weights.
///
/// Four rows a pass: on ARMv6-M the four sums, the word, the input and the pointers fit the
/// eight low registers, so nothing spills in the loop (with eight rows a pass, every
/// multiply-add also stored and reloaded a sum).
///
/// # Examples
///
/// ```
/// use mdn_core::kernel::block_sums;
/// // Two columns: rows 4-7 with weights (3, 0, -128, 127) and all 1, rows 0-3 zero.
/// let columns = [
///     [0, u32::from_le_bytes([3, 0, 0x80, 0x7F]).to_le()],
///     [0, u32::from_le_bytes([1; 4]).to_le()],
/// ];
/// assert_eq!(block_sums(&columns, &[2, -1]), [0, 0, 0, 0, 5, -1, -257, 253]);
/// ```
#[cfg(feature = "int16")]
pub fn block_sums(columns: &[[u32; 2]], input: &[i32]) -> [i32; ROW_BLOCK] {
    let [a, b] = [0, 1].map(|half| four_sums(columns.iter().map(|pair| pair[half]), input));
    [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
}

/// Four rows' sums of `int8` weights, one word a column (one byte a row).
#[cfg(feature = "int16")]
#[inline(always)]
fn four_sums(words: impl Iterator<Item = u32>, input: &[i32]) -> [i32; 4] {
    let [mut s0, mut s1, mut s2, mut s3] = [0_i32; 4];
    for (w, &a) in words.zip(input) {
        let w = u32::from_le(w);
        // Each byte sign-extended: on ARMv6-M one `sxtb`, or a shift pair.
        s0 = s0.wrapping_add(i32::from(w as i8).wrapping_mul(a));
        s1 = s1.wrapping_add(i32::from((w >> 8) as i8).wrapping_mul(a));
        s2 = s2.wrapping_add(i32::from((w >> 16) as i8).wrapping_mul(a));
        s3 = s3.wrapping_add(((w as i32) >> 24).wrapping_mul(a));
    }
    [s0, s1, s2, s3]
}

/// [`block_sums`] for 16-bit weights (`int16-int16` blocks): four words a column, two rows
/// a word.
///
/// # Examples
///
/// ```
/// use mdn_core::kernel::block_sums_wide;
/// // Rows 0-3 of one column: weights (1000, -1000, 0, 32767); rows 4-7 zero.
/// let pack = |low: i16, high: i16| (u32::from(low as u16) | u32::from(high as u16) << 16).to_le();
/// let column = [pack(1000, -1000), pack(0, 32767), 0, 0];
/// assert_eq!(block_sums_wide(&[column], &[3]), [3000, -3000, 0, 98301, 0, 0, 0, 0]);
/// ```
#[cfg(feature = "int16")]
pub fn block_sums_wide(columns: &[[u32; 4]], input: &[i32]) -> [i32; ROW_BLOCK] {
    let [a, b] =
        [0, 2].map(|first| four_sums_wide(columns.iter().map(|c| (c[first], c[first + 1])), input));
    [a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]]
}

/// Four rows' sums of 16-bit weights, two words a column (two rows a word).
#[cfg(feature = "int16")]
#[inline(always)]
fn four_sums_wide(words: impl Iterator<Item = (u32, u32)>, input: &[i32]) -> [i32; 4] {
    let [mut s0, mut s1, mut s2, mut s3] = [0_i32; 4];
    for ((low, high), &a) in words.zip(input) {
        let (low, high) = (u32::from_le(low), u32::from_le(high));
        s0 = s0.wrapping_add(i32::from(low as i16).wrapping_mul(a));
        s1 = s1.wrapping_add(((low as i32) >> 16).wrapping_mul(a));
        s2 = s2.wrapping_add(i32::from(high as i16).wrapping_mul(a));
        s3 = s3.wrapping_add(((high as i32) >> 16).wrapping_mul(a));
    }
    [s0, s1, s2, s3]
}
