//! Integer networks ([`Storage::Int8Int16`] and [`Storage::Int16Int16`], FORMAT.md section
//! 5, "Integer networks"): the scaled input quantized to `int16` steps, every dense layer a
//! wrapping `int32` sum of `int8` or 16-bit weights times `int16` activations, requantized
//! to the next layer's steps with the row's factor, the heads' sums turned into `f32` by
//! theirs.
//!
//! Nothing between the scaled input and the heads' outputs is `f32` arithmetic, so on a core
//! without an FPU (ARMv6-M) a multiply-add is a load, a multiply and an add instead of two
//! calls into the software float routines; and every result is exact, the same on every
//! core by construction. The activations live in the `f32` scratch buffers as `i32` words
//! (`bytemuck` casts them in place): an integer network needs no more RAM than an `f32` one.

use super::Dense;
use crate::header::Storage;

/// The scaled input's quantization step is `2^-INPUT_STEP_BITS`: a scaled input (about a
/// standard deviation per unit, as the trainer's scaler makes them) keeps 11 fractional
/// bits and the range `±16` before it saturates.
const INPUT_STEP_BITS: i32 = 11;

/// The largest magnitude of an `int16` activation; `-32768` is never produced, so that the
/// range is symmetric.
const ACTIVATION_MAX: i32 = i16::MAX as i32;

/// `q_i = clamp(roundf(s_i * 2048), -32767, 32767)`: the scaled input in `int16` steps.
/// `* 2048` is exact (a power of two), `roundf` rounds half away from zero, and the clamp
/// runs in `f32` before the conversion, so every `f32` (NaN included: `-32767`) has one
/// result.
pub(super) fn quantize_input(scaled: &[f32], quantized: &mut [i32]) {
    let step = (1_u32 << INPUT_STEP_BITS) as f32;
    let max = ACTIVATION_MAX as f32;
    for (q, &s) in quantized.iter_mut().zip(scaled) {
        *q = libm::roundf(s * step).max(-max).min(max) as i32;
    }
}

/// `round(acc * factor)` clamped to `0 ..= 32767` (the relu and the `int16` range), where
/// `factor` is the exact value of an `f32` (positive and finite: validation checked it),
/// `m * 2^-shift` with `m` its 24-bit significand. Exact integer arithmetic, ties rounded
/// up: `(acc * m + 2^(shift - 1)) >> shift` in `u64`, which holds it (`acc * m < 2^55`).
/// A sum at or below 0 gives a product at or below 0, which rounds to at most 0: the relu's
/// 0, without the product (a software routine on ARMv6-M).
#[inline(always)]
fn requantize(acc: i32, factor: u32) -> i32 {
    let acc = match u32::try_from(acc) {
        Ok(positive @ 1..) => positive,
        _ => return 0,
    };
    let exponent = ((factor >> 23) & 0xFF) as i32;
    let significand = match exponent {
        0 => factor & 0x7F_FFFF,
        _ => (factor & 0x7F_FFFF) | 0x80_0000,
    };
    // value = significand * 2^(max(exponent, 1) - 150)
    let shift = 150 - exponent.max(1);
    // `q = floor(acc m / 2^(shift - 1))`, then `(q + 1) >> 1`: equal to
    // `(acc m + 2^(shift - 1)) >> shift`, as flooring twice floors once.
    let q = match shift {
        // A factor >= 2^23: any nonzero product is out of range.
        ..=0 => return if significand == 0 { 0 } else { ACTIVATION_MAX },
        // The usual factors (below about 2^-1): the high word of `(2 acc) (2^8 m)`, which
        // is `floor(acc m / 2^23)`, shifted by 32 bits at most.
        24..=55 => {
            let high = (u64::from(acc << 1) * u64::from(significand << 8)) >> 32;
            (high as u32) >> (shift - 24)
        }
        // acc m < 2^55: the rounded quotient is 0.
        56.. => 0,
        _ => {
            let q = (u64::from(acc) * u64::from(significand)) >> (shift - 1);
            q.min(u64::from(u32::MAX)) as u32
        }
    };
    // q >= 65535 rounds to 32768 or more: the clamp.
    ((q.min(2 * ACTIVATION_MAX as u32) + 1) >> 1) as i32
}

/// The integer an `f32` bias word holds, as Rust's `value as i32` gives it (toward zero,
/// saturating; the word is finite: validation checked it). With a hardware FPU
/// (`target_abi = "eabihf"`: one `vcvt`) that conversion itself; elsewhere from the bits,
/// since on ARMv6-M the conversion and its range checks are four software float calls a row
/// (the unit tests check the two agree on every class of value).
#[inline(always)]
fn f32_to_i32(bits: u32) -> i32 {
    if cfg!(target_abi = "eabihf") {
        return f32::from_bits(bits) as i32;
    }
    f32_bits_to_i32(bits)
}

/// [`f32_to_i32`] from the bits, with integer operations only.
#[inline(always)]
fn f32_bits_to_i32(bits: u32) -> i32 {
    let exponent = ((bits >> 23) & 0xFF) as i32;
    let significand = (bits & 0x7F_FFFF) | 0x80_0000;
    // value = significand * 2^(exponent - 150)
    let magnitude = match exponent {
        ..=126 => 0,
        127..=149 => significand >> (150 - exponent),
        150..=157 => significand << (exponent - 150),
        _ => return if bits >> 31 == 0 { i32::MAX } else { i32::MIN },
    } as i32;
    if bits >> 31 == 0 {
        magnitude
    } else {
        -magnitude
    }
}

impl Dense<'_> {
    /// One integer layer's exact sums: for each row `r`,
    /// `acc = bias_r + sum_i q[r][i] * input[i]` in wrapping `i32` arithmetic, the bias word
    /// an `f32` holding an integer ([`f32_to_i32`]); then `finish(row, acc, factor word)` for
    /// each row that exists.
    ///
    /// A block of rows at a time, through the layer's integer kernel
    /// ([`IntegerKernel`](crate::kernel::IntegerKernel): mdn-core's portable
    /// [`block_sums`](crate::kernel::block_sums), or one supplied with
    /// [`Model::set_integer_kernel`](crate::Model::set_integer_kernel)).
    #[inline(always)]
    fn integer_sums(&self, input: &[i32], mut finish: impl FnMut(usize, i32, u32)) {
        let n = self.fan_in;
        let Some(input) = input.get(..n) else {
            return;
        };
        if n == 0 {
            return;
        }
        let rows = self.bias.iter().zip(self.scales).enumerate();
        let mut rows = rows.map(|(r, (&b, &factor))| (r, f32_to_i32(u32::from_le(b)), factor));
        // A block's column of 8 rows: two words of `int8` (rows 0-3, rows 4-7), or four of
        // 16-bit weights (rows 0-1, 2-3, 4-5, 6-7).
        let wide = self.storage == Storage::Int16Int16;
        let column_words = if wide { 4 } else { 2 };
        for block in self.weights.chunks_exact(n.saturating_mul(column_words)) {
            let sums = match wide {
                true => (self.kernel.integer.int16_int16)(block.as_chunks::<4>().0, input),
                false => (self.kernel.integer.int8_int16)(block.as_chunks::<2>().0, input),
            };
            for (sum, (r, bias, factor)) in sums.iter().zip(rows.by_ref()) {
                finish(r, bias.wrapping_add(*sum), factor);
            }
        }
    }

    /// A hidden integer layer: `output[r] = requantize(acc_r, factor_r)`, the next layer's
    /// `int16` activations (relu included: the clamp at 0).
    pub(super) fn forward_integer(&self, input: &[i32], output: &mut [i32]) {
        self.integer_sums(input, |r, acc, factor| {
            if let Some(out) = output.get_mut(r) {
                *out = requantize(acc, factor);
            }
        });
    }

    /// The heads of an integer network: `output[r] = (acc_r as f32) * factor_r`, the
    /// heads' raw outputs as an `f32` layer gives them (`as` rounds to nearest-even).
    pub(super) fn forward_integer_head(&self, input: &[i32], output: &mut [f32]) {
        self.integer_sums(input, |r, acc, factor| {
            if let Some(out) = output.get_mut(r) {
                *out = acc as f32 * f32::from_bits(u32::from_le(factor));
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requantize_is_exact_rounding_of_the_factor() {
        for (acc, factor, expected) in [
            (1000, 0.5_f32, 500),
            (1001, 0.5, 501), // 500.5 rounds up
            (-1001, 0.5, 0),  // relu
            (3, 1.0 / 3.0, 1),
            (1 << 20, 1.0 / 64.0, 16384),
            (1 << 30, 1.0, ACTIVATION_MAX),
            (1, 1e30, ACTIVATION_MAX),
            (-1, 1e30, 0),
            (i32::MAX, 1e-30, 0),
            (i32::MAX, f32::from_bits(1), 0), // the smallest subnormal
            (0, 1e30, 0),
        ] {
            let got = requantize(acc, factor.to_bits());
            let exact = (f64::from(acc) * f64::from(factor) + 0.5).floor();
            assert_eq!(got, expected, "{acc} * {factor}");
            assert_eq!(
                f64::from(got),
                exact.clamp(0.0, 32767.0),
                "{acc} * {factor}"
            );
        }
    }

    #[test]
    fn requantize_matches_float64_on_a_sweep() {
        let mut state = 0x2545_F491_4F6C_DD1D_u64;
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // At most 28 bits, so that float64 holds `acc * factor` exactly.
            let acc = (state >> 32) as i32 >> (3 + state % 24);
            let factor = f32::from_bits(0x3000_0000 + (state as u32 & 0x0FFF_FFFF));
            let exact = (f64::from(acc) * f64::from(factor) + 0.5).floor();
            assert_eq!(
                f64::from(requantize(acc, factor.to_bits())),
                exact.clamp(0.0, 32767.0),
                "{acc} * {factor:e}"
            );
        }
    }

    #[test]
    fn bias_words_convert_as_rust_does() {
        let mut state = 0x9E37_79B9_7F4A_7C15_u64;
        let special = [
            0.0_f32,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            2.5e9,
            -2.5e9,
            8_388_607.5,
            1e-40,
        ];
        let swept = (0..200_000).map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            f32::from_bits(state as u32)
        });
        for value in special.into_iter().chain(swept).filter(|v| v.is_finite()) {
            assert_eq!(f32_bits_to_i32(value.to_bits()), value as i32, "{value:e}");
        }
        // -2^31 is exact, one step below saturates.
        assert_eq!(f32_bits_to_i32((-2_147_483_648.0_f32).to_bits()), i32::MIN);
    }

    #[test]
    fn inputs_quantize_to_rounded_steps_and_saturate() {
        let scaled = [
            0.0,
            1.0,
            -0.000_244_140_62,
            0.000_244_140_62,
            100.0,
            -1e30,
            f32::NAN,
        ];
        let mut quantized = [0; 7];
        quantize_input(&scaled, &mut quantized);
        assert_eq!(quantized, [0, 2048, -1, 1, 32767, -32767, -32767]);
    }
}
