//! Scalar arithmetic shared by every query, written once so host and device agree bit for
//! bit: every transcendental through `libm`, no fused multiply-add, one summation order.

use crate::header::{Activation, SigmaTransform};

/// `ln(2 pi) / 2` rounded to the nearest `f32` (0x3F6B3F8E); the exact value is
/// 0.918938533204672741780329736405617639861397473637783412817... (OEIS A075700 / 2).
pub const HALF_LN_TWO_PI: f32 = 0.918_938_5;

/// `1 / sqrt(2 pi)` rounded to the nearest `f32` (0x3ECC422A); the exact value is
/// 0.398942280401432677939946059934381868475858631164934657665...
pub(crate) const FRAC_1_SQRT_TWO_PI: f32 = 0.398_942_3;

/// `1 / sqrt(2)`: `core::f32::consts::FRAC_1_SQRT_2` (0x3F3504F3).
pub(crate) const FRAC_1_SQRT_2: f32 = core::f32::consts::FRAC_1_SQRT_2;

/// `2^-24`: the spacing of the uniform variates made from the top 24 bits of a `u32`, so
/// every variate is an exact `f32`.
const TWO_POW_MINUS_24: f32 = 1.0 / 16_777_216.0;

/// Above this pre-activation, softplus returns its input: `log1pf(expf(z)) == z` in `f32`
/// for `z > 17`, and 20 is PyTorch's default threshold.
pub const SOFTPLUS_THRESHOLD: f32 = 20.0;

/// How far weights given as logs may add up from 1: a blob's network weights
/// (`exp(members.log_weight)`) and the component weights given to
/// [`Mixture::new`](crate::Mixture::new). f32 rounding of normalised log weights leaves the
/// sum of `n` weights within about `n * 6e-8` of 1, so 1e-4 has room for every component a
/// [`HostModel`](crate::HostModel) holds (128); a sum further off is a mistake, not rounding.
///
/// # Examples
///
/// ```
/// // Three networks with weights 0.5, 0.3 and 0.2, stored as f32 logs, pass.
/// let total: f32 = [0.5_f32.ln(), 0.3_f32.ln(), 0.2_f32.ln()].iter().map(|w| w.exp()).sum();
/// assert!((total - 1.0).abs() <= mdn_core::WEIGHT_SUM_TOLERANCE);
/// ```
pub const WEIGHT_SUM_TOLERANCE: f32 = 1e-4;

/// Whether the weights `expf(w)` of `log_weights` add up to 1 within
/// [`WEIGHT_SUM_TOLERANCE`], summed in order from `0.0`; false for a NaN or infinite sum
/// (a NaN or `+inf` log weight).
pub(crate) fn weights_add_up_to_one(log_weights: impl IntoIterator<Item = f32>) -> bool {
    let mut total = WeightSum::default();
    for w in log_weights {
        total.add(w);
    }
    total.is_one()
}

/// The running sum of [`weights_add_up_to_one`], for weights that arrive one at a time
/// (the streaming validator's `members.log_weight`): the same operations in the same order.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct WeightSum(f32);

impl WeightSum {
    /// No weight yet.
    pub(crate) const ZERO: WeightSum = WeightSum(0.0);

    /// Adds the weight `expf(log_weight)`.
    #[inline(always)]
    pub(crate) fn add(&mut self, log_weight: f32) {
        self.0 += libm::expf(log_weight);
    }

    /// Whether the weights added so far add up to 1 within [`WEIGHT_SUM_TOLERANCE`].
    #[inline(always)]
    pub(crate) fn is_one(self) -> bool {
        libm::fabsf(self.0 - 1.0) <= WEIGHT_SUM_TOLERANCE
    }
}

impl Activation {
    /// Applies the activation to one pre-activation.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::Activation;
    /// assert_eq!(Activation::Relu.apply(1.5), 1.5);
    /// assert_eq!(Activation::Tanh.apply(0.0), 0.0);
    /// ```
    #[inline(always)]
    pub fn apply(self, z: f32) -> f32 {
        match self {
            Activation::Relu => {
                if z > 0.0 {
                    z
                } else {
                    0.0
                }
            }
            Activation::Tanh => libm::tanhf(z),
        }
    }

    /// Whether this build of mdn-core evaluates networks with this activation (the `tanh`
    /// cargo feature; ReLU always).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mdn_core::Activation::Relu.is_built());
    /// ```
    pub const fn is_built(self) -> bool {
        match self {
            Activation::Relu => true,
            Activation::Tanh => cfg!(feature = "tanh"),
        }
    }

    /// The activation as this build evaluates it: `self`, or ReLU in a build without the
    /// `tanh` feature, which refuses tanh when it decodes a header. The network asks this,
    /// so that such a build links no `tanhf`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_core::Activation::Relu.as_built(), mdn_core::Activation::Relu);
    /// ```
    #[inline(always)]
    pub const fn as_built(self) -> Activation {
        match self {
            Activation::Tanh if !cfg!(feature = "tanh") => Activation::Relu,
            other => other,
        }
    }
}

impl SigmaTransform {
    /// Maps a sigma pre-activation to a positive standard deviation (before the floor).
    ///
    /// `Nnelu` is `1 + ELU(z)`; for `z <= 0` it is computed as `expf(z)`, which equals
    /// `1 + (exp(z) - 1)` exactly in real arithmetic and avoids a cancellation.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::SigmaTransform;
    /// assert_eq!(SigmaTransform::Exp.apply(0.0), 1.0);
    /// assert_eq!(SigmaTransform::Softplus.apply(30.0), 30.0);
    /// ```
    #[inline]
    pub fn apply(self, z: f32) -> f32 {
        match self {
            SigmaTransform::Nnelu => {
                if z > 0.0 {
                    1.0 + z
                } else {
                    libm::expf(z)
                }
            }
            SigmaTransform::Softplus => {
                if z > SOFTPLUS_THRESHOLD {
                    z
                } else {
                    libm::log1pf(libm::expf(z))
                }
            }
            SigmaTransform::Exp => libm::expf(z),
        }
    }
}

/// `libm::logf`, kept out of line on bare-metal targets: inlined, its code was copied into
/// every caller on the log-density path, hundreds of bytes of flash to save a call per
/// logarithm (BENCHMARKS.md, "Measured once"). A host inlines it as it likes (the batched
/// path calls it seven times a row); either way the bits are libm's.
#[cfg_attr(target_os = "none", inline(never))]
pub(crate) fn ln(x: f32) -> f32 {
    libm::logf(x)
}

/// `value` raised to at least `floor`. NaN becomes `floor`.
#[inline]
pub(crate) fn floor_at(value: f32, floor: f32) -> f32 {
    if value > floor { value } else { floor }
}

/// Log-density of `N(mu, sigma^2)` at `y`: `-0.5 * (r * r) - logf(sigma) - HALF_LN_TWO_PI`
/// with `r = (y - mu) / sigma`, evaluated left to right.
#[inline]
pub(crate) fn normal_log_density(y: f32, mu: f32, sigma: f32) -> f32 {
    let r = (y - mu) / sigma;
    -0.5 * (r * r) - ln(sigma) - HALF_LN_TWO_PI
}

/// Lower or upper tail of the standard normal at `z`: `Phi(z) = 0.5 * erfcf(-(z / sqrt 2))`
/// or `1 - Phi(z) = 0.5 * erfcf(z / sqrt 2)`.
///
/// `erfcf` keeps its relative accuracy far into the tail it measures, where `1 - Phi` would
/// cancel: both tails are accurate down to the smallest normal `f32`.
#[inline]
pub(crate) fn normal_tail(z: f32, upper: bool) -> f32 {
    let arg = z * FRAC_1_SQRT_2;
    0.5 * libm::erfcf(if upper { arg } else { -arg })
}

/// Standard normal density `expf(-0.5 * (z * z)) * FRAC_1_SQRT_TWO_PI`.
#[inline]
pub(crate) fn standard_normal_density(z: f32) -> f32 {
    libm::expf(-0.5 * (z * z)) * FRAC_1_SQRT_TWO_PI
}

/// A uniform variate in `[0, 1)` from the top 24 bits of `bits`: `(bits >> 8) * 2^-24`.
#[inline]
pub(crate) fn unit_open_above(bits: u32) -> f32 {
    (bits >> 8) as f32 * TWO_POW_MINUS_24
}

/// A uniform variate in `(0, 1]` from the top 24 bits of `bits`: `((bits >> 8) + 1) * 2^-24`,
/// never zero, so its logarithm is finite.
#[inline]
pub(crate) fn unit_open_below(bits: u32) -> f32 {
    ((bits >> 8) + 1) as f32 * TWO_POW_MINUS_24
}

/// Box-Muller: two independent standard normal variates from `u1` in `(0, 1]` and `u2` in
/// `[0, 1)`: `r * cosf(theta)` and `r * sinf(theta)` with `r = sqrtf(-2 * logf(u1))` and
/// `theta = TAU * u2` (Box and Muller 1958).
pub(crate) fn box_muller(u1: f32, u2: f32) -> (f32, f32) {
    let r = libm::sqrtf(-2.0 * ln(u1));
    let theta = core::f32::consts::TAU * u2;
    (r * libm::cosf(theta), r * libm::sinf(theta))
}

/// `ln(sum(exp(values)))` with the maximum subtracted first.
///
/// The maximum is the first largest value; NaN anywhere gives NaN, an empty or all `-inf`
/// input gives `-inf`, and a `+inf` maximum gives `+inf`.
///
/// Out of line on a device: one copy serves the mixing weights and the density, and a copy
/// inlined into the mixing weights' loop took `minimal` past its 20 KB of flash for a few
/// instructions (BENCHMARKS.md, "Measured once").
#[cfg_attr(target_os = "none", inline(never))]
pub(crate) fn log_sum_exp(values: &[f32]) -> f32 {
    let mut max = f32::NEG_INFINITY;
    for &v in values {
        if v.is_nan() {
            return f32::NAN;
        }
        if v > max {
            max = v;
        }
    }
    if max.is_infinite() {
        return max;
    }
    let mut sum = 0.0_f32;
    for &v in values {
        sum += libm::expf(v - max);
    }
    max + ln(sum)
}

/// [`log_sum_exp`] of `L` sets of values at once: lane `l` of the result is
/// `log_sum_exp` of `values[0][l], values[1][l], ..`, by the same rules and steps in the
/// same order, so with the same bits. The lanes' `expf` and `logf` calls are independent
/// of each other, which lets a host overlap them.
///
/// Not built on [`log_sum_exp`], nor it on this: the lanes cannot return early at a NaN,
/// and the one-lane form of this function costs a device flash and instructions
/// (`figures --device-only` measures both).
pub(crate) fn log_sum_exp_lanes<const L: usize>(values: &[[f32; L]]) -> [f32; L] {
    let mut max = [f32::NEG_INFINITY; L];
    let mut nan = [false; L];
    for row in values {
        for ((max, nan), &v) in max.iter_mut().zip(&mut nan).zip(row) {
            *nan |= v.is_nan();
            if v > *max {
                *max = v;
            }
        }
    }
    let mut sum = [0.0_f32; L];
    for row in values {
        for ((sum, &max), &v) in sum.iter_mut().zip(&max).zip(row) {
            *sum += libm::expf(v - max);
        }
    }
    let mut lse = [0.0_f32; L];
    for (((lse, max), sum), nan) in lse.iter_mut().zip(max).zip(sum).zip(nan) {
        *lse = if nan {
            f32::NAN
        } else if max.is_infinite() {
            max
        } else {
            max + ln(sum)
        };
    }
    lse
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_ln_two_pi_is_the_nearest_f32() {
        let exact = 0.918_938_533_204_672_7_f64;
        let below = f32::from_bits(HALF_LN_TWO_PI.to_bits() - 1);
        let above = f32::from_bits(HALF_LN_TWO_PI.to_bits() + 1);
        let err = |v: f32| (f64::from(v) - exact).abs();
        assert!(err(HALF_LN_TWO_PI) < err(below) && err(HALF_LN_TWO_PI) < err(above));
        assert_eq!(HALF_LN_TWO_PI.to_bits(), 0x3F6B_3F8E);
    }

    #[test]
    fn constants_are_the_nearest_f32() {
        let exact = 0.398_942_280_401_432_7_f64;
        let below = f32::from_bits(FRAC_1_SQRT_TWO_PI.to_bits() - 1);
        let above = f32::from_bits(FRAC_1_SQRT_TWO_PI.to_bits() + 1);
        let err = |v: f32| (f64::from(v) - exact).abs();
        assert!(err(FRAC_1_SQRT_TWO_PI) < err(below) && err(FRAC_1_SQRT_TWO_PI) < err(above));
        assert_eq!(FRAC_1_SQRT_TWO_PI.to_bits(), 0x3ECC_422A);
        assert_eq!(FRAC_1_SQRT_2.to_bits(), 0x3F35_04F3);
    }

    #[test]
    fn normal_tails_match_known_values() {
        // Phi(-1.959964) = 0.025, Phi(0) = 0.5, Phi(-5) = 2.8665157e-7 (Abramowitz-Stegun).
        assert!((normal_tail(-1.959_964, false) - 0.025).abs() < 1e-8);
        assert_eq!(normal_tail(0.0, false), 0.5);
        assert!((normal_tail(-5.0, false) / 2.866_515_7e-7 - 1.0).abs() < 1e-5);
        assert_eq!(normal_tail(5.0, true), normal_tail(-5.0, false));
        assert!((standard_normal_density(0.0) - 0.398_942_3).abs() < 1e-7);
    }

    #[test]
    fn uniform_variates_stay_in_their_intervals() {
        assert_eq!(unit_open_above(0), 0.0);
        assert_eq!(unit_open_above(u32::MAX), 1.0 - TWO_POW_MINUS_24);
        assert_eq!(unit_open_below(0), TWO_POW_MINUS_24);
        assert_eq!(unit_open_below(u32::MAX), 1.0);
        let (a, b) = box_muller(1.0, 0.25);
        assert_eq!((a, b), (0.0, 0.0));
        let (a, b) = box_muller(TWO_POW_MINUS_24, 0.0);
        assert!((a - 5.768_09).abs() < 1e-4 && b == 0.0);
    }

    #[test]
    fn log_sum_exp_edge_cases() {
        assert_eq!(log_sum_exp(&[]), f32::NEG_INFINITY);
        assert_eq!(log_sum_exp(&[f32::NEG_INFINITY; 3]), f32::NEG_INFINITY);
        assert_eq!(log_sum_exp(&[1.0, f32::INFINITY]), f32::INFINITY);
        assert!(log_sum_exp(&[1.0, f32::NAN]).is_nan());
        // ln(e^0 + e^0) = ln 2, and no overflow for large inputs.
        assert!((log_sum_exp(&[0.0, 0.0]) - core::f32::consts::LN_2).abs() < 1e-7);
        assert!((log_sum_exp(&[1000.0, 1000.0]) - (1000.0 + core::f32::consts::LN_2)).abs() < 1e-3);
    }

    #[test]
    fn log_sum_exp_lanes_has_the_bits_of_log_sum_exp() {
        let (inf, nan) = (f32::INFINITY, f32::NAN);
        let sets: [[f32; 4]; 8] = [
            [0.0, 0.0, 0.0, 0.0],
            [1.0, -2.5, 3.25, 0.125],
            [-1e30, 1e30, 7.0, -7.0],
            [1.0, nan, 2.0, 3.0],
            [1.0, inf, 2.0, -inf],
            [-inf, -inf, -inf, -inf],
            [-inf, nan, inf, 88.0],
            [-103.0, -0.3, 0.3, 1e-7],
        ];
        // Lane `l` takes value `k` of set `l`; every prefix length, the empty one too.
        for len in 0..=4 {
            let mut lanes = [[0.0_f32; 8]; 4];
            for (k, row) in lanes.iter_mut().enumerate() {
                for (v, set) in row.iter_mut().zip(&sets) {
                    *v = set[k];
                }
            }
            let got = log_sum_exp_lanes(&lanes[..len]);
            for (set, got) in sets.iter().zip(got) {
                let want = log_sum_exp(&set[..len]);
                assert!(
                    got.to_bits() == want.to_bits() || (got.is_nan() && want.is_nan()),
                    "{set:?}[..{len}]: {got} != {want}"
                );
            }
        }
    }

    #[test]
    fn normal_log_density_matches_closed_form() {
        // N(0; 0, 1) = 1/sqrt(2 pi): ln = -0.9189385332.
        assert!((normal_log_density(0.0, 0.0, 1.0) + 0.918_938_5).abs() < 1e-7);
        // N(3; 1, 2): r = 1, ln = -0.5 - ln 2 - 0.9189385 = -2.1120857.
        assert!((normal_log_density(3.0, 1.0, 2.0) + 2.112_085_7).abs() < 1e-6);
    }

    #[test]
    fn sigma_transforms_are_continuous_and_positive() {
        for t in [
            SigmaTransform::Nnelu,
            SigmaTransform::Softplus,
            SigmaTransform::Exp,
        ] {
            for z in [
                -100.0_f32, -5.0, -1e-6, 0.0, 1e-6, 5.0, 19.999, 20.001, 80.0,
            ] {
                assert!(t.apply(z) >= 0.0, "{t:?}({z})");
            }
        }
        // softplus(0) = ln 2
        assert!((SigmaTransform::Softplus.apply(0.0) - core::f32::consts::LN_2).abs() < 1e-7);
        assert_eq!(SigmaTransform::Nnelu.apply(-1e-6), libm::expf(-1e-6));
    }
}
