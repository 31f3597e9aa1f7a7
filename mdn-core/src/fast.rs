//! Approximate evaluation: `micromath`'s `exp` and `ln` instead of libm's.
//!
//! **Results are approximate and not bit-identical to anything**: not to [`Model::log_prob`],
//! not between host and device, not between versions of `micromath`. Use it only where
//! such errors are acceptable and it measures faster on the target at hand. The exact path
//! ([`Model::log_prob`] and every other query) is unchanged by it, whether or not a program
//! uses this one.
//!
//! What changes, and only here: every `expf`, `logf`, `log1pf` and `tanhf` of the
//! log-density (hidden `tanh`, the sigma transform, the log-softmax of the mixing weights,
//! `ln sigma`, the log target and the final log-sum-exp) is replaced by
//! [`micromath::F32Ext`]'s `exp` and `ln`, with `tanh(z) = 1 - 2 / (exp(2z) + 1)` and
//! `softplus(z) = ln(1 + exp(z))`. The dense layers, ReLU and the order of every sum are
//! those of the exact path. Two guards keep the approximations honest:
//!
//! * `ln(x)` for `x < 1` is `-ln(1 / x)` with an exact division: micromath inverts with a
//!   bit trick accurate to about 8 %, which would put errors of 0.1 nat into `ln sigma`;
//! * `exp(x)` returns `0` below -87.3 and `+inf` above 88.7 (the `f32` range of `e^x`),
//!   where micromath's exponent arithmetic would leave the `f32` range, and NaN for NaN.
//!
//! Accuracy: `exp` within 0.25 % relative, `ln` within 7e-5 absolute, `tanh` within 1.1e-3
//! absolute (this module's tests). On ordinary queries a log-density is within about 1e-4
//! nat of the exact one (median) and within 2e-2 at worst; far in a tail, where
//! `-0.5 r^2` is large, the error grows with it (the sigma's 0.25 % enters `r^2`), to
//! about 0.6 % of the log-density. Cost: on a Cortex-M4F micromath's `exp` takes more
//! instructions than libm's `expf`, so this path is *slower* there than the exact one.
//! BENCHMARKS.md has both, measured (`cargo run -p mdn-benches --release --bin figures`).
//!
//! This is a separate type rather than a cargo feature on purpose: features unify across a
//! build, and a feature that changed what [`Model::log_prob`] computes would silently change
//! every other user's (and the parity tests') results.

use micromath::F32Ext;

use crate::{
    error::Result,
    header::{Activation, SigmaTransform, TargetTransform},
    math::{HALF_LN_TWO_PI, SOFTPLUS_THRESHOLD, floor_at},
    mixture::Mixture,
    model::Model,
};

/// Approximate evaluation of a [`Model`] with `micromath`'s `exp` and `ln`: results
/// within about 1e-4 nat typically, **not bit-identical** to [`Model::log_prob`], and not
/// faster on a Cortex-M4F (see the [module documentation](self)).
///
/// # Examples
///
/// ```
/// use mdn_core::fast::FastModel;
/// # let bytes = mdn_core::doc_example_blob();
/// let model = mdn_core::Model::<1, 32, 5, 1>::from_bytes(&bytes)?;
/// let fast = FastModel::new(&model);
/// let approximate = fast.log_prob(&[0.5], &[1.0])?;
/// let exact = model.log_prob(&[0.5], &[1.0])?;
/// assert!((approximate - exact).abs() < 1e-2);
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct FastModel<'m, 'a, const I: usize, const W: usize, const K: usize, const D: usize> {
    model: &'m Model<'a, I, W, K, D>,
}

impl<'m, 'a, const I: usize, const W: usize, const K: usize, const D: usize>
    FastModel<'m, 'a, I, W, K, D>
{
    /// The approximate evaluator of `model` (nothing is copied or checked again).
    ///
    /// # Examples
    ///
    /// See [`FastModel`].
    pub fn new(model: &'m Model<'a, I, W, K, D>) -> Self {
        FastModel { model }
    }

    /// The model this evaluates.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes)?;
    /// let fast = mdn_core::fast::FastModel::new(&model);
    /// assert_eq!(fast.model().header().components, 2);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn model(&self) -> &'m Model<'a, I, W, K, D> {
        self.model
    }

    /// The predictive mixture for raw `x`, approximately: as [`Model::mixture`] with the
    /// fast `exp`, `ln` and `tanh`.
    ///
    /// # Errors
    ///
    /// As [`Model::mixture`]: [`Error::InputLength`](crate::Error::InputLength) or [`Error::NonFiniteInput`](crate::Error::NonFiniteInput).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes)?;
    /// let fast = mdn_core::fast::FastModel::new(&model).mixture(&[0.3])?;
    /// let exact = model.mixture(&[0.3])?;
    /// assert!((fast.mean()[0] - exact.mean()[0]).abs() < 1e-2);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn mixture(&self, x: &[f32]) -> Result<Mixture<K, D>> {
        self.model.check_input(x)?;
        Ok(self.model.network().forward_fast::<I, W, K, D>(x))
    }

    /// `ln p(y|x)` in original target units, approximately (see the
    /// [module documentation](self) for the error).
    ///
    /// # Errors
    ///
    /// As [`Model::log_prob`]: the input errors of [`FastModel::mixture`], then
    /// [`Error::TargetLength`](crate::Error::TargetLength) or [`Error::NonFiniteTarget`](crate::Error::NonFiniteTarget).
    ///
    /// # Examples
    ///
    /// See [`FastModel`].
    pub fn log_prob(&self, x: &[f32], y: &[f32]) -> Result<f32> {
        let mixture = self.mixture(x)?;
        log_prob(&mixture, y)
    }
}

/// `ln p(y)` of `mixture`, approximately: [`Mixture::log_prob`]'s steps with the fast
/// functions.
fn log_prob<const K: usize, const D: usize>(mixture: &Mixture<K, D>, y: &[f32]) -> Result<f32> {
    mixture.check_target(y)?;
    let mut point = [0.0_f32; D];
    let Some(jacobian) = transform_target(mixture.transform(), y, &mut point) else {
        return Ok(f32::NEG_INFINITY);
    };
    let (log_weights, means, sigmas) = mixture.flat_parts();
    let mut per_component = [0.0_f32; K];
    let point = point.get(..mixture.dims()).unwrap_or(&[]);
    Ok(log_density(log_weights, means, sigmas, D, point, &mut per_component) - jacobian)
}

/// The target in the components' space and the log-Jacobian: the exact path's steps with
/// the fast `ln`. Not generic, so it is compiled with mdn-core's optimisation level (see
/// `Dense::forward`).
fn transform_target(transform: TargetTransform, y: &[f32], point: &mut [f32]) -> Option<f32> {
    crate::mixture::transform_target_with(transform, y, point, ln)
}

/// `lse_k(log_weights[k] + sum_d ln N(point[d]; mu_kd, sigma_kd))` with the fast functions;
/// `means` and `sigmas` component-major with `stride` values per component, `scratch` at
/// least as long as `log_weights`. Not generic, so it is compiled with mdn-core's
/// optimisation level.
fn log_density(
    log_weights: &[f32],
    means: &[f32],
    sigmas: &[f32],
    stride: usize,
    point: &[f32],
    scratch: &mut [f32],
) -> f32 {
    let rows = means
        .chunks_exact(stride.max(1))
        .zip(sigmas.chunks_exact(stride.max(1)));
    for ((out, &log_weight), (means, sigmas)) in scratch.iter_mut().zip(log_weights).zip(rows) {
        let mut sum = 0.0_f32;
        for ((&t, &mu), &sigma) in point.iter().zip(means).zip(sigmas) {
            let r = (t - mu) / sigma;
            sum += -0.5 * (r * r) - ln(sigma) - HALF_LN_TWO_PI;
        }
        *out = log_weight + sum;
    }
    log_sum_exp(scratch.get(..log_weights.len()).unwrap_or(&[]))
}

/// `e^x` by micromath, `0` below -87.3 and `+inf` above 88.7 (beyond them micromath's
/// exponent arithmetic leaves the `f32` range), NaN for NaN.
#[inline]
pub(crate) fn exp(x: f32) -> f32 {
    if x.is_nan() {
        x
    } else if x < -87.3 {
        0.0
    } else if x > 88.7 {
        f32::INFINITY
    } else {
        F32Ext::exp(x)
    }
}

/// `ln x` by micromath for `1 <= x < inf`; below 1 as `-ln(1 / x)` with an exact division
/// (micromath's own path for `x < 1` inverts to about 8 %); subnormals scaled by 2^24
/// first; `-inf` for 0, NaN below 0 and for NaN, `+inf` for `+inf`.
#[inline]
pub(crate) fn ln(x: f32) -> f32 {
    // 2^24 and 24 ln 2, for subnormal arguments, whose reciprocal would overflow.
    const TWO_POW_24: f32 = 16_777_216.0;
    const LN_TWO_POW_24: f32 = 24.0 * core::f32::consts::LN_2;
    if x.is_nan() || x < 0.0 {
        return f32::NAN;
    }
    if x == 0.0 {
        return f32::NEG_INFINITY;
    }
    if x == f32::INFINITY {
        return x;
    }
    let (x, offset) = if x < f32::MIN_POSITIVE {
        (x * TWO_POW_24, -LN_TWO_POW_24)
    } else {
        (x, 0.0)
    };
    let ln = if x < 1.0 {
        -F32Ext::ln(1.0 / x)
    } else {
        F32Ext::ln(x)
    };
    ln + offset
}

/// `tanh z = 1 - 2 / (e^(2z) + 1)`: exact limits +-1 when `exp` saturates.
#[inline]
pub(crate) fn tanh(z: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * z) + 1.0)
}

/// [`Activation::apply`] with the fast `tanh`, over a layer's outputs. Not generic, so it
/// is compiled with mdn-core's optimisation level.
pub(crate) fn activate_in_place(activation: Activation, values: &mut [f32]) {
    for z in values {
        *z = match activation {
            Activation::Relu => activation.apply(*z),
            Activation::Tanh => tanh(*z),
        };
    }
}

/// [`SigmaTransform::apply`] with the fast `exp` and `ln` (`softplus = ln(1 + e^z)`).
#[inline]
pub(crate) fn sigma(transform: SigmaTransform, z: f32) -> f32 {
    match transform {
        SigmaTransform::Nnelu => {
            if z > 0.0 {
                1.0 + z
            } else {
                exp(z)
            }
        }
        SigmaTransform::Softplus => {
            if z > SOFTPLUS_THRESHOLD {
                z
            } else {
                ln(1.0 + exp(z))
            }
        }
        SigmaTransform::Exp => exp(z),
    }
}

/// `sigma = max(transform(z), floor) * scale` with the fast transform, for one component's
/// row of pre-activations and the target scales (little-endian words, as in the blob). Not
/// generic, so it is compiled with mdn-core's optimisation level.
pub(crate) fn sigmas_in_place(
    transform: SigmaTransform,
    floor: f32,
    row: &mut [f32],
    scales: &[u32],
) {
    for (z, scale) in row.iter_mut().zip(scales) {
        *z = floor_at(sigma(transform, *z), floor) * crate::blob::from_word(*scale);
    }
}

/// The log-sum-exp of the exact path (maximum first, NaN and infinity rules) with the fast
/// `exp` and `ln`.
pub(crate) fn log_sum_exp(values: &[f32]) -> f32 {
    crate::math::log_sum_exp_with(values, exp, ln)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_functions_are_close_to_libm() {
        let mut x = -30.0_f32;
        while x < 30.0 {
            let (fast, exact) = (exp(x), libm::expf(x));
            assert!((fast - exact).abs() <= 2.5e-3 * exact, "exp({x})");
            assert!((tanh(x) - libm::tanhf(x)).abs() <= 1.2e-3, "tanh({x})");
            let y = libm::expf(x * 2.5);
            assert!((ln(y) - libm::logf(y)).abs() <= 1e-4, "ln({y})");
            x += 0.01;
        }
    }

    #[test]
    fn fast_functions_keep_the_special_values() {
        assert_eq!(exp(-100.0), 0.0);
        assert_eq!(exp(f32::NEG_INFINITY), 0.0);
        assert_eq!(exp(100.0), f32::INFINITY);
        assert!(exp(f32::NAN).is_nan());
        assert_eq!(ln(0.0), f32::NEG_INFINITY);
        assert_eq!(ln(f32::INFINITY), f32::INFINITY);
        assert!(ln(-1.0).is_nan() && ln(f32::NAN).is_nan());
        assert!((ln(1e-40) - libm::logf(1e-40)).abs() < 1e-3);
        assert_eq!((tanh(50.0), tanh(-50.0)), (1.0, -1.0));
        assert_eq!(log_sum_exp(&[]), f32::NEG_INFINITY);
        assert!(log_sum_exp(&[0.0, f32::NAN]).is_nan());
        assert!((log_sum_exp(&[0.0, 0.0]) - core::f32::consts::LN_2).abs() < 1e-4);
    }
}
