//! The integer networks' kernel for ARMv7E-M (`integer_sums.s`): four rows' sums with
//! `smlad`, two 16 x 16 multiply-adds an instruction, bit for bit those of mdn-core's
//! [`INTEGER_KERNEL`](mdn_core::kernel::INTEGER_KERNEL).

use mdn_core::kernel::IntegerKernel;

/// An [`IntegerKernel`] for [`Model::set_integer_kernel`](mdn_core::Model::set_integer_kernel):
/// on ARMv7E-M (Cortex-M4, M7: `thumbv7em-*`) assembly with the DSP extension's `smlad`,
/// elsewhere mdn-core's portable kernel. The same sums as mdn-core's for every input within
/// `-32767..=32767` (the only ones mdn-core passes), and for any length of `columns` and
/// `input`: only the first `min(columns.len(), input.len())` count.
///
/// # Examples
///
/// ```
/// use mdn_core::kernel::INTEGER_KERNEL;
/// let column = [u32::from_le_bytes([1, 0xFF, 2, 0xFE]).to_le(); 2];
/// let (columns, input) = ([column; 3], [300, -7, 32767]);
/// for half in 0..2 {
///     assert_eq!(
///         (mdn_cortex_m::INTEGER_KERNEL.int8_int16)(&columns, &input, half),
///         (INTEGER_KERNEL.int8_int16)(&columns, &input, half),
///     );
/// }
/// ```
pub const INTEGER_KERNEL: IntegerKernel = IntegerKernel {
    int8_int16: four_sums,
    int16_int16: four_sums_wide,
};

#[cfg(not(armv7em))]
use mdn_core::kernel::{four_sums, four_sums_wide};

#[cfg(armv7em)]
core::arch::global_asm!(include_str!("integer_sums.s"), options(raw));

#[cfg(armv7em)]
unsafe extern "C" {
    fn mdn_four_sums_i8(words: *const u32, input: *const i32, n: usize, out: *mut [i32; 4]);
    fn mdn_four_sums_i16(words: *const u32, input: *const i32, n: usize, out: *mut [i32; 4]);
}

/// [`mdn_core::kernel::four_sums`] in assembly.
#[cfg(armv7em)]
#[inline(never)]
fn four_sums(columns: &[[u32; 2]], input: &[i32], half: usize) -> [i32; 4] {
    let n = columns.len().min(input.len());
    let mut out = [0_i32; 4];
    // Word `half` of the first column: rows 0-3 (0) or 4-7 (1), as mdn-core reads them.
    let first = usize::from(half != 0);
    // SAFETY: the assembly reads the words at `first + 2 i` (i < n) of `columns`, the
    // largest `2 n - 1 < 2 columns.len()`, and `n <= input.len()` inputs, all `u32`/`i32`
    // and so 4-byte aligned as its `ldr`/`ldrd` need; with `n = 0` it reads nothing. It
    // writes the four sums to `out` and nothing else, restores every callee-saved register
    // it uses (AAPCS), and its stack use is its own frame.
    unsafe {
        mdn_four_sums_i8(
            columns.as_flattened().as_ptr().wrapping_add(first),
            input.as_ptr(),
            n,
            &mut out,
        );
    }
    out
}

/// [`mdn_core::kernel::four_sums_wide`] in assembly.
#[cfg(armv7em)]
#[inline(never)]
fn four_sums_wide(columns: &[[u32; 4]], input: &[i32], half: usize) -> [i32; 4] {
    let n = columns.len().min(input.len());
    let mut out = [0_i32; 4];
    // Words `2 half` and `2 half + 1` of each column.
    let first = if half == 0 { 0 } else { 2 };
    // SAFETY: the assembly reads the words at `first + 4 i` and `first + 4 i + 1`
    // (i < n) of `columns`, the largest `4 n - 1 < 4 columns.len()`, and `n <=
    // input.len()` inputs, 4-byte aligned as `ldrd` needs; with `n = 0` nothing. It writes
    // `out` only, restores the callee-saved registers it uses, and uses only its own frame.
    unsafe {
        mdn_four_sums_i16(
            columns.as_flattened().as_ptr().wrapping_add(first),
            input.as_ptr(),
            n,
            &mut out,
        );
    }
    out
}
