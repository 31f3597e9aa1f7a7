//! # mdn-cortex-m
//!
//! Assembly for Cortex-M cores that gives mdn-core's bits in fewer instructions:
//!
//! - [`dot_blocks`], the dense layers' kernel for cores with an FPU and the hard-float ABI,
//!   with the bits of mdn-core's portable kernel. Written for, and tested on, the Cortex-M4F
//!   (`thumbv7em-none-eabihf`, in QEMU `mps2-an386`); it uses only instructions and
//!   registers that the FPUs of the Cortex-M7 and Cortex-M33 have too
//!   (`thumbv8m.main-none-eabihf` builds), where it has not been run.
//! - `INTEGER_KERNEL` (feature `int16`), an integer network's sums with the DSP extension's
//!   `smlad` on ARMv7E-M (`thumbv7em-*`: Cortex-M4, M7), with the bits of mdn-core's
//!   [`INTEGER_KERNEL`](mdn_core::kernel::INTEGER_KERNEL):
//!   `model.set_integer_kernel(mdn_cortex_m::INTEGER_KERNEL)`.
//! - [`soft_float`], `f32` addition, subtraction and multiplication for ARMv6-M cores
//!   without an FPU (Cortex-M0/M0+), correctly rounded as compiler-builtins' routines are,
//!   which the cargo feature `aeabi-float` puts in their place for the whole firmware: 1.7
//!   times fewer instructions for an `f32` 1-32-32 query, 1.3 times for an integer network
//!   (the repository's BENCHMARKS.md).
//!
//! ```
//! # let bytes = mdn_core::doc_example_blob();
//! let mut model = mdn_core::Model::<1, 32, 5, 1>::from_bytes(&bytes[..])?;
//! model.set_kernel(mdn_cortex_m::dot_blocks);
//! let log_p = model.log_prob(&[0.3], &[-0.7])?;
//! assert!(log_p.is_finite());
//! # Ok::<(), mdn_core::Error>(())
//! ```
//!
//! ## Why
//!
//! A Cortex-M4F spends most of an evaluation in the dense layers. LLVM compiles
//! mdn-core's portable kernel ([`mdn_core::kernel::dot_blocks`]) to one `vldr` per weight
//! beside each `vmla.f32` multiply-add, and safe Rust cannot ask for anything else. This
//! kernel loads a column of 8 weights with one `vldmia` and two inputs with another, which
//! takes a query's multiply-adds from more than two instructions each to fewer than one and
//! a half (the repository's BENCHMARKS.md has every model's figures with either kernel,
//! measured by `firmware-example`'s `cost`, QEMU instruction counts). On silicon it saves
//! cycles too: a `vldmia` of 8 registers takes 9 cycles on a Cortex-M4F, 8 `vldr` take 16.
//!
//! ## Same bits
//!
//! `vmla.f32` multiplies, rounds, then adds and rounds: a multiply then an add, not a fused
//! multiply-add (that is `vfma.f32`), which is what FORMAT.md prescribes; each of the 16
//! sums adds its products in input order, starting from `+0.0`. The device parity test
//! (`cargo test -p mdn-tests --test device_parity -- --include-ignored`) runs every parity
//! vector through this kernel on QEMU's Cortex-M4F and compares the bits with the host's
//! portable kernel, and `firmware-example`'s `parity` binary also compares this kernel's
//! sums with mdn-core's on random columns, including NaN, infinities and `-0.0`, and on
//! slices of unequal lengths.
//!
//! Like every mdn-core computation, it assumes the FPU's reset configuration (`FPSCR`:
//! round to nearest, no flush to zero, no default NaN), which a firmware should not change.
//!
//! ## Other targets
//!
//! The assembly is compiled for bare-metal (`target_os = "none"`), little-endian Arm
//! targets with the hard-float ABI. Everywhere else (a host, `thumbv6m-none-eabi`, a
//! soft-float ABI, Arm Linux) [`dot_blocks`] is mdn-core's portable kernel, so code that
//! names it builds for any target. Supply it on the device only: on a host, a supplied
//! kernel also replaces mdn-core's faster four-block one
//! ([`Model::set_kernel`](mdn_core::Model::set_kernel)).
//!
//! The integer kernel's assembly is compiled for `thumbv7em-*` (the DSP extension);
//! elsewhere `INTEGER_KERNEL` is mdn-core's. The software floats' assembly is compiled for
//! `thumbv6m-*`; elsewhere [`soft_float`]'s functions are the language's operators.
//!
//! `unsafe` is confined to the one `asm!` block and the integer kernel's two calls of its
//! routines, each after the slice lengths they read have been checked, and to
//! [`soft_float`]'s three calls of its routines, which take and return values only. The
//! integer kernel is tested like the dense one: `parity` compares it with mdn-core's on
//! random blocks of both widths, inputs across the `int16` range
//! and slices of unequal lengths, and runs every parity vector through it.

#![no_std]
#![deny(missing_docs)]

use mdn_core::{ROW_BLOCK, kernel::Column};

#[cfg(feature = "int16")]
mod integer;
pub mod soft_float;

#[cfg(feature = "int16")]
pub use integer::INTEGER_KERNEL;

/// The kernel is written for blocks of exactly 8 rows: 16 sums in `s0`-`s15`.
const _: () = assert!(ROW_BLOCK == 8, "the assembly keeps 2 x 8 sums in s0-s15");

/// A [`mdn_core::kernel::DotBlocks`]: the [`ROW_BLOCK`] dot products of each of two
/// blocks of columns with `input`, bit for bit those of [`mdn_core::kernel::dot_blocks`]
/// (only the first `min(input.len(), blocks[0].len(), blocks[1].len())` inputs count).
///
/// In assembly on bare-metal, little-endian Arm with the hard-float ABI; elsewhere it is
/// mdn-core's portable kernel.
///
/// # Examples
///
/// ```
/// use mdn_core::{ROW_BLOCK, kernel};
/// let column = [2.0_f32.to_bits().to_le(); ROW_BLOCK];
/// let blocks = [&[column; 3][..], &[column; 3][..]];
/// let input = [1.0, -0.5, 0.25];
/// assert_eq!(mdn_cortex_m::dot_blocks(blocks, &input), kernel::dot_blocks(blocks, &input));
/// assert_eq!(mdn_cortex_m::dot_blocks(blocks, &input)[1][7], 1.5);
/// ```
// Out of line: mdn-core calls it through a pointer anyway, and inlined copies would only
// cost flash.
#[inline(never)]
pub fn dot_blocks(blocks: [&[Column]; 2], input: &[f32]) -> [[f32; ROW_BLOCK]; 2] {
    kernel::dot_blocks(blocks, input)
}

// The assembly where it assembles; mdn-core's portable kernel everywhere else.
#[cfg(not(all(
    target_arch = "arm",
    target_os = "none",
    target_abi = "eabihf",
    target_endian = "little"
)))]
use mdn_core::kernel;

/// The assembly kernel: bare-metal, little-endian Arm with the hard-float ABI.
#[cfg(all(
    target_arch = "arm",
    target_os = "none",
    target_abi = "eabihf",
    target_endian = "little"
))]
mod kernel {
    use core::mem::MaybeUninit;

    use mdn_core::{ROW_BLOCK, kernel::Column};

    /// `+0.0` for each of the 16 sums, loaded with one `vldmia`.
    static ZEROS: [f32; 2 * ROW_BLOCK] = [0.0; 2 * ROW_BLOCK];

    /// Register use: sums of the first block in `s0`-`s7`, of the second in `s8`-`s15`;
    /// two inputs in `s16`, `s17`; a column of 8 weights in `s24`-`s31`. Two columns a
    /// step; an odd first column goes alone through the step's second half, so the
    /// multiply-adds are written once (flash: `minimal` has little to spare under its 20 KB).
    pub(super) fn dot_blocks(blocks: [&[Column]; 2], input: &[f32]) -> [[f32; ROW_BLOCK]; 2] {
        // Written whole by the assembly's `vstmia`: zeroing it first took a library call
        // (`__aeabi_memclr4`) per call (BENCHMARKS.md, "Measured once").
        let mut sums = MaybeUninit::<[[f32; ROW_BLOCK]; 2]>::uninit();
        let [first, second] = blocks;
        let n = first.len().min(second.len()).min(input.len());
        // SAFETY: the assembly reads `n` columns of 8 words from `first` and from
        // `second` and `n` values from `input`, and each is at least `n` long (`n` is the
        // least of their lengths); it writes the 16 sums
        // to `sums`, all 64 bytes of it, so it is initialised afterwards. Every pointer is
        // 4-byte aligned (`u32`, `f32`), as `vldmia`/`vstmia` need. It touches no stack,
        // and declares every register it changes: the callee-saved `s16`-`s31` among them,
        // which the compiler then saves.
        unsafe {
            core::arch::asm!(
                "vldmia {zeros}, {{s0-s15}}",
                // pairs = n / 2; the carry is the odd column.
                "lsrs {pairs}, {n}, #1",
                "bcc 3f",
                // Odd: the first column alone, through the second half of the loop.
                "adds {pairs}, {pairs}, #1",
                "vldmia {x}!, {{s17}}",
                "b 5f",
                "3:",
                "beq 4f",
                "2:",
                "vldmia {x}!, {{s16-s17}}",
                "vldmia {a}!, {{s24-s31}}",
                "vmla.f32 s0, s24, s16",
                "vmla.f32 s1, s25, s16",
                "vmla.f32 s2, s26, s16",
                "vmla.f32 s3, s27, s16",
                "vmla.f32 s4, s28, s16",
                "vmla.f32 s5, s29, s16",
                "vmla.f32 s6, s30, s16",
                "vmla.f32 s7, s31, s16",
                "vldmia {b}!, {{s24-s31}}",
                "vmla.f32 s8, s24, s16",
                "vmla.f32 s9, s25, s16",
                "vmla.f32 s10, s26, s16",
                "vmla.f32 s11, s27, s16",
                "vmla.f32 s12, s28, s16",
                "vmla.f32 s13, s29, s16",
                "vmla.f32 s14, s30, s16",
                "vmla.f32 s15, s31, s16",
                "5:",
                "vldmia {a}!, {{s24-s31}}",
                "vmla.f32 s0, s24, s17",
                "vmla.f32 s1, s25, s17",
                "vmla.f32 s2, s26, s17",
                "vmla.f32 s3, s27, s17",
                "vmla.f32 s4, s28, s17",
                "vmla.f32 s5, s29, s17",
                "vmla.f32 s6, s30, s17",
                "vmla.f32 s7, s31, s17",
                "vldmia {b}!, {{s24-s31}}",
                "vmla.f32 s8, s24, s17",
                "vmla.f32 s9, s25, s17",
                "vmla.f32 s10, s26, s17",
                "vmla.f32 s11, s27, s17",
                "vmla.f32 s12, s28, s17",
                "vmla.f32 s13, s29, s17",
                "vmla.f32 s14, s30, s17",
                "vmla.f32 s15, s31, s17",
                "subs {pairs}, {pairs}, #1",
                "bne 2b",
                "4:",
                "vstmia {out}, {{s0-s15}}",
                zeros = in(reg) ZEROS.as_ptr(),
                out = in(reg) sums.as_mut_ptr(),
                x = inout(reg) input.as_ptr() => _,
                a = inout(reg) first.as_ptr() => _,
                b = inout(reg) second.as_ptr() => _,
                n = in(reg) n,
                pairs = out(reg) _,
                out("s0") _, out("s1") _, out("s2") _, out("s3") _,
                out("s4") _, out("s5") _, out("s6") _, out("s7") _,
                out("s8") _, out("s9") _, out("s10") _, out("s11") _,
                out("s12") _, out("s13") _, out("s14") _, out("s15") _,
                out("s16") _, out("s17") _,
                out("s24") _, out("s25") _, out("s26") _, out("s27") _,
                out("s28") _, out("s29") _, out("s30") _, out("s31") _,
                options(nostack),
            );
            sums.assume_init()
        }
    }
}
