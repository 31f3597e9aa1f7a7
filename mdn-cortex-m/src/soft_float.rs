//! `f32` addition, subtraction and multiplication in software for ARMv6-M (Cortex-M0/M0+,
//! no FPU), in Thumb-1 assembly (`soft_float.s`): correctly rounded (to nearest, ties to
//! even), so every result has the bits of compiler-builtins' routines, which every `+`,
//! `-` and `*` of `f32` calls on that target; NaN results are quiet NaNs, payload aside.
//!
//! With the cargo feature `aeabi-float`, a firmware for `thumbv6m-none-eabi` links these
//! routines as `__aeabi_fadd`, `__aeabi_fsub` and `__aeabi_fmul`, the symbols LLVM calls for
//! `f32` arithmetic there, in place of compiler-builtins' (whose multiplication calls a
//! 64-bit multiply routine): the whole program's float arithmetic gets faster and keeps
//! its bits. The firmware must link this crate: a crate that no code names is not linked
//! at all, so a firmware that calls nothing of it (on ARMv6-M [`dot_blocks`](crate::dot_blocks)
//! is the portable kernel, with no reason to call it) names it once:
//!
//! ```
//! use mdn_cortex_m as _; // links the `aeabi-float` routines
//! ```
//!
//! An addition takes about 36 instructions instead of about 55, a multiplication about 25
//! instead of about 74; a 1-32-32 K = 5 query 186,310 instead of 318,955 with `f32`
//! weights, 50,014 instead of 65,173 as an integer network (the repository's
//! BENCHMARKS.md). The device parity test compares the two implementations on 10 million
//! operand pairs in QEMU (`firmware-example`'s `soft_float`, built without the feature)
//! and runs every parity vector through a firmware built with it.
//!
//! On every other target the functions here are the language's own operators.

/// `a + b` in `f32`: on ARMv6-M this crate's assembly, elsewhere the `+` operator; the
/// same bits (any NaN for a NaN).
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_cortex_m::soft_float::add(1.5, 2.25), 3.75);
/// assert_eq!(mdn_cortex_m::soft_float::add(-0.0, -0.0).to_bits(), (-0.0_f32).to_bits());
/// ```
#[inline]
pub fn add(a: f32, b: f32) -> f32 {
    #[cfg(armv6m)]
    // SAFETY: `mdn_fadd` (soft_float.s) follows the AAPCS with the soft-float ABI of
    // `thumbv6m-none-eabi`: arguments in r0 and r1, the result in r0, r4-r7 saved and
    // restored; it reads and writes no memory besides its own stack frame.
    return unsafe { mdn_fadd(a, b) };
    #[cfg(not(armv6m))]
    return a + b;
}

/// `a - b` in `f32`: on ARMv6-M this crate's assembly, elsewhere the `-` operator.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_cortex_m::soft_float::sub(1.0, 1.0).to_bits(), 0.0_f32.to_bits());
/// ```
#[inline]
pub fn sub(a: f32, b: f32) -> f32 {
    #[cfg(armv6m)]
    // SAFETY: as for `add`: `mdn_fsub` is `mdn_fadd` with the sign of `b` flipped.
    return unsafe { mdn_fsub(a, b) };
    #[cfg(not(armv6m))]
    return a - b;
}

/// `a * b` in `f32`: on ARMv6-M this crate's assembly, elsewhere the `*` operator.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_cortex_m::soft_float::mul(1.5, -2.0), -3.0);
/// assert!(mdn_cortex_m::soft_float::mul(0.0, f32::INFINITY).is_nan());
/// ```
#[inline]
pub fn mul(a: f32, b: f32) -> f32 {
    #[cfg(armv6m)]
    // SAFETY: as for `add`; `mdn_fmul` keeps to the same registers and its stack frame.
    return unsafe { mdn_fmul(a, b) };
    #[cfg(not(armv6m))]
    return a * b;
}

#[cfg(armv6m)]
core::arch::global_asm!(include_str!("soft_float.s"), options(raw));

#[cfg(armv6m)]
unsafe extern "C" {
    fn mdn_fadd(a: f32, b: f32) -> f32;
    fn mdn_fsub(a: f32, b: f32) -> f32;
    fn mdn_fmul(a: f32, b: f32) -> f32;
}

// The routines under the run-time ABI's names (Arm's "Run-time ABI for the Arm
// Architecture", section 4.1.2), which the linker then takes instead of compiler-builtins'.
#[cfg(all(armv6m, feature = "aeabi-float"))]
core::arch::global_asm!(
    ".global __aeabi_fadd",
    ".thumb_set __aeabi_fadd, mdn_fadd",
    ".global __aeabi_fsub",
    ".thumb_set __aeabi_fsub, mdn_fsub",
    ".global __aeabi_fmul",
    ".thumb_set __aeabi_fmul, mdn_fmul",
);
