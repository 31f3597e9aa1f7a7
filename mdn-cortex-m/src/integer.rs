//! The integer networks' kernel for ARMv7E-M (`integer_sums.s`): a block's sums with
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
/// assert_eq!(
///     (mdn_cortex_m::INTEGER_KERNEL.int8_int16)(&columns, &input),
///     (INTEGER_KERNEL.int8_int16)(&columns, &input),
/// );
/// ```
pub const INTEGER_KERNEL: IntegerKernel = IntegerKernel {
    int8_int16: block_sums,
    int16_int16: block_sums_wide,
};

#[cfg(not(armv7em))]
use mdn_core::kernel::{block_sums, block_sums_wide};

#[cfg(armv7em)]
use core::mem::MaybeUninit;

#[cfg(armv7em)]
core::arch::global_asm!(include_str!("integer_sums.s"), options(raw));

/// The assembly's signature: `n` columns of `W` words from `columns`, `n` inputs, the
/// eight sums written to `out`.
#[cfg(armv7em)]
type Routine =
    unsafe extern "C" fn(columns: *const u32, input: *const i32, n: usize, out: *mut i32);

#[cfg(armv7em)]
unsafe extern "C" {
    fn mdn_block_sums_i8(columns: *const u32, input: *const i32, n: usize, out: *mut i32);
    fn mdn_block_sums_i16(columns: *const u32, input: *const i32, n: usize, out: *mut i32);
}

/// [`mdn_core::kernel::block_sums`] in assembly.
#[cfg(armv7em)]
#[inline(never)]
fn block_sums(columns: &[[u32; 2]], input: &[i32]) -> [i32; 8] {
    run(mdn_block_sums_i8, columns, input)
}

/// [`mdn_core::kernel::block_sums_wide`] in assembly.
#[cfg(armv7em)]
#[inline(never)]
fn block_sums_wide(columns: &[[u32; 4]], input: &[i32]) -> [i32; 8] {
    run(mdn_block_sums_i16, columns, input)
}

/// Calls `routine` on the first `min(columns.len(), input.len())` columns and inputs.
#[cfg(armv7em)]
#[inline(always)]
fn run<const W: usize>(routine: Routine, columns: &[[u32; W]], input: &[i32]) -> [i32; 8] {
    let n = columns.len().min(input.len());
    // Written whole by the assembly (two `stm` of four words): zeroing it first would cost
    // eight stores a block.
    let mut out = MaybeUninit::<[i32; 8]>::uninit();
    // SAFETY: `routine` is `mdn_block_sums_i8` for `W = 2` or `mdn_block_sums_i16` for
    // `W = 4` (integer_sums.s), which read the `W` words of each of the first `n` columns,
    // all within the `W columns.len()` words of `columns`, and `n <= input.len()` inputs,
    // all `u32`/`i32` and so 4-byte aligned as their `ldr`/`ldrd` need; with `n = 0` they
    // read nothing. They write all eight sums to `out` (so it is initialised afterwards)
    // and nothing else, restore every callee-saved register they use (AAPCS), and use only
    // their own stack frame.
    unsafe {
        let columns = columns.as_flattened().as_ptr();
        routine(columns, input.as_ptr(), n, out.as_mut_ptr().cast());
        out.assume_init()
    }
}
