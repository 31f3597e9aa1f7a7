//! `mdn-cortex-m`'s software `f32` addition, subtraction and multiplication against
//! compiler-builtins' (what `+`, `-` and `*` call on ARMv6-M when the `aeabi-float` feature
//! is off, as here): every result must have the same bits, or both be NaN.
//!
//! The operands, [`PAIRS`] pairs for each of the three operations from fixed seeds:
//! every pair of [`SPECIAL`] values (zeros, subnormals, the normal range's ends, ties,
//! infinities, NaNs); uniform bit patterns (every class, in proportion); pairs whose
//! exponents differ by at most 26 (alignment, carries, cancellation to any depth, results
//! that end subnormal); pairs whose exponents add up near the over- and underflow
//! thresholds (products that round into or out of infinity, zero and the subnormals); and
//! significands with few bits set, whose sums and products are exact or end on a tie.
//!
//! Logs the number of operations compared; exit 0, or 1 at the first mismatch (logged with
//! the operands and both results), 2 if built with `aeabi-float` (then `+` is the routine
//! itself, and there is nothing to compare). Built for the Cortex-M4F it compares the FPU
//! with itself, which is pointless but harmless; the device parity test runs it on ARMv6-M.

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use firmware_example::exit;
use mdn_core::rand_core::Rng;
use mdn_cortex_m::soft_float;
use mdn_tests::vectors::ParityRng;

/// Random pairs per operand class.
const PAIRS: u32 = 2_500_000;

/// Operands whose every pair is compared.
const SPECIAL: [u32; 24] = [
    0x0000_0000, // +0
    0x8000_0000, // -0
    0x0000_0001, // the smallest subnormal
    0x8000_0001,
    0x0000_0002,
    0x007F_FFFF, // the largest subnormal
    0x807F_FFFF,
    0x0040_0000,
    0x0080_0000, // the smallest normal
    0x8080_0000,
    0x0080_0001,
    0x3F80_0000, // 1
    0xBF80_0000, // -1
    0x3F80_0001, // 1 + ulp
    0x3F7F_FFFF, // 1 - ulp/2
    0x3400_0000, // 2^-23
    0x3F00_0000, // 0.5
    0x7F7F_FFFF, // the largest finite
    0xFF7F_FFFF,
    0x7F00_0000, // 2^127
    0x7F80_0000, // +inf
    0xFF80_0000, // -inf
    0x7FC0_0000, // a quiet NaN
    0x7F80_0001, // a signalling NaN
];

/// The three operations, each as (name, mdn-cortex-m's routine, the language's operator).
type Operation = (&'static str, fn(f32, f32) -> f32, fn(f32, f32) -> f32);

const OPERATIONS: [Operation; 3] = [
    ("add", soft_float::add, |a, b| a + b),
    ("sub", soft_float::sub, |a, b| a - b),
    ("mul", soft_float::mul, |a, b| a * b),
];

/// Compares the three operations on `a` and `b`; on a mismatch logs it and exits 1.
fn compare(a: u32, b: u32) {
    let (x, y) = (f32::from_bits(a), f32::from_bits(b));
    for (name, routine, operator) in OPERATIONS {
        // black_box: the operator must run on the device, not be folded at compile time.
        let (got, expected) = (
            routine(black_box(x), black_box(y)),
            operator(black_box(x), black_box(y)),
        );
        if got.to_bits() != expected.to_bits() && !(got.is_nan() && expected.is_nan()) {
            defmt::error!(
                "soft_float: {=str}({=u32:#010x}, {=u32:#010x}) = {=u32:#010x}, compiler-builtins {=u32:#010x}",
                name,
                a,
                b,
                got.to_bits(),
                expected.to_bits()
            );
            exit(1);
        }
    }
}

/// A bit pattern with the sign and significand of `bits` and the biased exponent
/// `exponent` (taken modulo 256).
fn with_exponent(bits: u32, exponent: u32) -> u32 {
    (bits & 0x807F_FFFF) | ((exponent & 0xFF) << 23)
}

#[entry]
fn main() -> ! {
    if cfg!(feature = "aeabi-float") {
        defmt::error!("soft_float: built with `aeabi-float`, the operators are the routines");
        exit(2);
    }
    let mut compared: u32 = 0;
    for a in SPECIAL {
        for b in SPECIAL {
            compare(a, b);
            compared += 1;
        }
    }
    let mut rng = ParityRng::new(0x5EED_F10A);
    for _ in 0..PAIRS {
        let word = rng.next_u64();
        let (a, b) = (word as u32, (word >> 32) as u32);
        // Uniform bit patterns.
        compare(a, b);
        // Exponents at most 26 apart: b's exponent is a's plus or minus (bits of a) % 27.
        let ea = (a >> 23) & 0xFF;
        let offset = (b >> 23) % 27;
        let eb = if b & 0x10 == 0 {
            ea + offset
        } else {
            ea.wrapping_sub(offset)
        };
        compare(a, with_exponent(b, eb));
        // Exponents that add up near the product's over- and underflow: 127 + 128 and
        // 127 - 126 - 24, within 8.
        let near = if a & 0x20 == 0 { 255 } else { 104 };
        let spread = (a >> 6) % 17;
        compare(a, with_exponent(b, (near + spread).wrapping_sub(ea + 8)));
        // Few significand bits: exact results and ties.
        let sparse = |bits: u32| bits & 0xFF80_000F | (bits & 0x0070_0000);
        compare(sparse(a), sparse(with_exponent(b, ea.wrapping_add(b % 5))));
        compared += 4;
    }
    defmt::info!(
        "soft_float: {=u32} operand pairs, each added, subtracted and multiplied: the bits of compiler-builtins",
        compared
    );
    exit(0)
}
