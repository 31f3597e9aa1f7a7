//! The continuous ranked probability score of each output's marginal mixture, in closed
//! form for both target transforms.
//!
//! `CRPS(F, y) = int (F(t) - 1{t >= y})^2 dt = E|Y - y| - E|Y - Y'| / 2`, with `Y` and `Y'`
//! independent draws of `F` (Gneiting and Raftery 2007, eq. 21). Both expectations are
//! sums over components and pairs of components of one-dimensional normal integrals, for
//! normal and for log-normal components alike, so no quadrature is needed:
//!
//! - normal (Grimit et al. 2006): `E|X - a| = A(a - mu, sigma)` for `X ~ N(mu, sigma^2)`,
//!   with `A(m, s) = m erf(m / (s sqrt 2)) + 2 s phi(m / s)`, and `X_j - X_k` is normal with
//!   variance `sigma_j^2 + sigma_k^2`;
//! - log-normal (`Y = e^U`, `U ~ N(mu, sigma^2)`): tilting `U` by `e^U` gives
//!   `E[Y 1{U < v}] = m Phi((v - mu - sigma^2) / sigma)` with `m = e^(mu + sigma^2 / 2)`, hence
//!   `E|Y_k - y|` and `E|Y_j - Y_k| = E Y_j + E Y_k - 2 E min(Y_j, Y_k)` in terms of `Phi`
//!   alone; for one component it is Baran and Lerch (2015), eq. 5.

use super::{Mixture, PerOutput, Univariate};
use crate::{
    error::Result,
    math::{FRAC_1_SQRT_2, normal_tail, standard_normal_density},
};

/// `1 / sqrt(pi)` rounded to the nearest `f32` (0x3F106EBB); the exact value is
/// 0.564189583547756286948079451560772585844050629328998856844...
const FRAC_1_SQRT_PI: f32 = 0.564_189_6;

/// `sqrt(a^2 + b^2)` for `a, b > 0`, without the overflow or underflow of the squares:
/// `hi * sqrtf(1 + (lo / hi)^2)`.
fn hypot(a: f32, b: f32) -> f32 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    let r = lo / hi;
    hi * libm::sqrtf(1.0 + r * r)
}

/// `Phi(a) - Phi(b)` from the two tails on the side where both arguments lie (the upper
/// tails if `a + b > 0`), so that two values near 1 are not subtracted.
fn normal_cdf_difference(a: f32, b: f32) -> f32 {
    if a + b > 0.0 {
        normal_tail(b, true) - normal_tail(a, true)
    } else {
        normal_tail(a, false) - normal_tail(b, false)
    }
}

/// `E|X - m|` for `X ~ N(0, s^2)`: `m erf(z / sqrt 2) + 2 s phi(z)`, `z = m / s`. Even in
/// `m`; a `z` that overflows gives `|m|`.
fn expected_distance(m: f32, s: f32) -> f32 {
    let z = m / s;
    m * libm::erff(z * FRAC_1_SQRT_2) + 2.0 * s * standard_normal_density(z)
}

impl Univariate<'_> {
    /// The CRPS at `y` in original units (finite `y`; any `y <= 0` for a log target).
    pub(super) fn crps(&self, y: f32) -> f32 {
        let crps = if self.is_log() {
            self.crps_log_normal(y)
        } else {
            self.crps_normal(y)
        };
        // Non-negative in exact arithmetic; rounding must not make it negative.
        if crps < 0.0 && crps.is_finite() {
            0.0
        } else {
            crps
        }
    }

    /// `sum_k w_k A(y - mu_k, s_k) - sum_k w_k^2 s_k / sqrt(pi)
    /// - sum_{j < k} w_j w_k A(mu_j - mu_k, hypot(s_j, s_k))`: the pairs `(j, k)` and
    /// `(k, j)` are equal, and a component against itself is `A(0, sqrt 2 s) / 2`. Each sum
    /// in component order from `0.0`.
    fn crps_normal(&self, y: f32) -> f32 {
        let mut to_target = 0.0_f32;
        let mut within = 0.0_f32;
        let mut between = 0.0_f32;
        for (k, (log_weight, mu, sigma)) in self.components().enumerate() {
            let w = libm::expf(log_weight);
            to_target += w * expected_distance(y - mu, sigma);
            within += (w * w) * (sigma * FRAC_1_SQRT_PI);
            for (log_weight_j, mu_j, sigma_j) in self.components().take(k) {
                let pair = libm::expf(log_weight_j) * w;
                between += pair * expected_distance(mu_j - mu, hypot(sigma_j, sigma));
            }
        }
        to_target - within - between
    }

    /// With `z_k = (ln y - mu_k) / s_k` (`-inf` for `y <= 0`), `m_k = e^(mu_k + s_k^2 / 2)`
    /// and `c_kj = (mu_k - mu_j + s_k^2) / hypot(s_k, s_j)`:
    ///
    /// `CRPS = y sum_k w_k erf(z_k / sqrt 2)
    ///       + 2 sum_k w_k m_k sum_j w_j (Phi(s_k - z_k) - Phi(c_kj))`.
    ///
    /// The `E Y` terms of `E|Y - y|` and `E|Y - Y'| / 2` cancel exactly in this form (they
    /// are the large part when the sigmas are large), and each difference of `Phi`s comes
    /// from the tails, so what remains has no cancellation of large terms.
    fn crps_log_normal(&self, y: f32) -> f32 {
        // `y <= 0` lies below every draw: `t = -inf` gives `z = -inf`, `erf = -1`, `Phi = 1`.
        let t = self.working_point(y).unwrap_or(f32::NEG_INFINITY);
        let mut below = 0.0_f32;
        let mut spread = 0.0_f32;
        for (log_weight, mu, sigma) in self.components() {
            let w = libm::expf(log_weight);
            let z = (t - mu) / sigma;
            below += w * libm::erff(z * FRAC_1_SQRT_2);
            let s2 = sigma * sigma;
            let mut inner = 0.0_f32;
            for (log_weight_j, mu_j, sigma_j) in self.components() {
                let c = (mu - mu_j + s2) / hypot(sigma, sigma_j);
                inner += libm::expf(log_weight_j) * normal_cdf_difference(sigma - z, c);
            }
            // A zero weight or difference stays zero where `m` overflows `f32`.
            if w != 0.0 && inner != 0.0 {
                spread += w * (libm::expf(mu + 0.5 * s2) * inner);
            }
        }
        y * below + 2.0 * spread
    }
}

impl<const K: usize, const D: usize> Mixture<K, D> {
    /// The continuous ranked probability score of each output's marginal distribution at
    /// `y`: entry `d` is `int (F_d(t) - 1{t >= y_d})^2 dt`, in the units of `y_d` (lower
    /// is better; 0 only for a point mass at `y_d`).
    ///
    /// Per output, like [`Mixture::cdf`]: the outputs may have different units, so their
    /// scores are not summed. For a log target the score is of `y` itself, not of `ln y`,
    /// and `y <= 0` is allowed (the distance to the support counts in full).
    ///
    /// Closed forms, no quadrature (see `mixture/crps.rs`): for normal components
    /// `E|Y - y| - E|Y - Y'| / 2` from `erff` and the normal density, `K (K + 1) / 2`
    /// pairs; for log-normal components the same expectations written with normal tails
    /// only, `K^2` pairs, with the large `E Y` terms cancelled in closed form. Against
    /// float64 references (`mdn-core/tests/crps_reference.rs`: scoringrules' normal-mixture
    /// CRPS, and adaptive quadrature of the integral in `y` for log-normal mixtures; K = 1
    /// to 8, sigmas from 1e-3 to 30, targets in both tails and below a log target's
    /// support; 337 values) the largest relative error is 2.5e-6, and the test holds it to
    /// 1e-5 of the score or of the smallest sigma in units of `y`, whichever is larger.
    /// Where `e^(mu + sigma^2 / 2)` overflows `f32` (the mean of a log target does too),
    /// or differences of means and targets do (`|mu|` or `|y|` near `f32::MAX / 2`), the
    /// score is `+inf` or NaN.
    ///
    /// # Errors
    ///
    /// [`Error::TargetLength`](crate::Error::TargetLength) or
    /// [`Error::NonFiniteTarget`](crate::Error::NonFiniteTarget), as [`Mixture::cdf`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// // A standard normal at its mean: 2 phi(0) - 1 / sqrt(pi) = 0.2336950.
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// assert!((m.crps(&[0.0])?[0] - 0.233_695_0).abs() < 1e-6);
    /// // Far in a tail: the distance to the mean less E|Y - Y'| / 2 = 1 / sqrt(pi).
    /// assert!((m.crps(&[100.0])?[0] - (100.0 - 0.5641896)).abs() < 1e-4);
    /// // A log target scores y itself; below the support it is E[Y] - y - E|Y - Y'| / 2,
    /// // e^(1/8) (1 - erf(1/4)) + 1 = 1.8200296 for mu = 0, sigma = 0.5.
    /// let log = Mixture::<1, 1>::new(&[0.0], &[0.0], &[0.5], 1, TargetTransform::Log)?;
    /// assert!((log.crps(&[-1.0])?[0] - 1.820_029_6).abs() < 1e-5);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn crps(&self, y: &[f32]) -> Result<PerOutput<D>> {
        self.check_target(y)?;
        let mut crps = PerOutput::new();
        for (d, &y_d) in y.iter().enumerate() {
            let (means, sigmas) = self.column(d);
            // Cannot fail: dims <= D.
            let _ = crps.push(self.univariate(&means, &sigmas).crps(y_d));
        }
        Ok(crps)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TargetTransform;

    #[test]
    fn frac_1_sqrt_pi_is_the_nearest_f32() {
        let exact = 0.564_189_583_547_756_3_f64;
        let below = f32::from_bits(FRAC_1_SQRT_PI.to_bits() - 1);
        let above = f32::from_bits(FRAC_1_SQRT_PI.to_bits() + 1);
        let err = |v: f32| (f64::from(v) - exact).abs();
        assert!(err(FRAC_1_SQRT_PI) < err(below) && err(FRAC_1_SQRT_PI) < err(above));
        assert_eq!(FRAC_1_SQRT_PI.to_bits(), 0x3F10_6EBB);
    }

    #[test]
    fn hypot_neither_overflows_nor_underflows() {
        assert_eq!(hypot(3.0, 4.0), 5.0);
        assert_eq!(hypot(1e-30, 1e-30), 1e-30 * libm::sqrtf(2.0));
        assert!((hypot(1e30, 1e30) / 1.414_213_5e30 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn normal_crps_matches_the_one_component_closed_form() {
        // CRPS(N(mu, s), y) = s (z (2 Phi(z) - 1) + 2 phi(z) - 1 / sqrt(pi)) (Gneiting et
        // al. 2005, eq. 5), in float64.
        let m = Mixture::<1, 1>::new(&[0.0], &[2.0], &[2.0], 1, TargetTransform::Identity).unwrap();
        let crps = m.crps(&[5.0]).unwrap()[0];
        let z = 1.5_f64;
        let phi = 0.5 * libm::erfc(-z / core::f64::consts::SQRT_2);
        let density = libm::exp(-0.5 * z * z) / libm::sqrt(2.0 * core::f64::consts::PI);
        let want =
            2.0 * (z * (2.0 * phi - 1.0) + 2.0 * density - 1.0 / libm::sqrt(core::f64::consts::PI));
        assert!(
            (f64::from(crps) - want).abs() < 2e-6 * want,
            "{crps} {want}"
        );
    }

    #[test]
    fn log_normal_crps_matches_the_one_component_closed_form() {
        // Baran and Lerch (2015), eq. 5: y (2 Phi(z) - 1) - 2 e^(mu + s^2 / 2)
        // (Phi(z - s) + Phi(s / sqrt 2) - 1), in float64; mu = 0, s = 1, y = e: z = 1.
        let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Log).unwrap();
        let crps = m.crps(&[core::f32::consts::E]).unwrap()[0];
        let phi = |x: f64| 0.5 * libm::erfc(-x / core::f64::consts::SQRT_2);
        let y = f64::from(core::f32::consts::E);
        let z = libm::log(y);
        let want = y * (2.0 * phi(z) - 1.0)
            - 2.0 * libm::exp(0.5) * (phi(z - 1.0) + phi(core::f64::consts::FRAC_1_SQRT_2) - 1.0);
        assert!(
            (f64::from(crps) - want).abs() < 2e-6 * want,
            "{crps} {want}"
        );
    }

    #[test]
    fn below_the_support_of_a_log_target_adds_the_distance() {
        let m = Mixture::<2, 1>::new(
            &[0.25_f32.ln(), 0.75_f32.ln()],
            &[0.0, 1.0],
            &[0.5, 0.3],
            1,
            TargetTransform::Log,
        )
        .unwrap();
        let at_zero = m.crps(&[0.0]).unwrap()[0];
        let below = m.crps(&[-2.0]).unwrap()[0];
        assert!((below - at_zero - 2.0).abs() < 1e-5, "{below} {at_zero}");
    }

    #[test]
    fn per_output_and_errors() {
        let m = Mixture::<1, 2>::new(
            &[0.0],
            &[0.0, 5.0],
            &[1.0, 2.0],
            2,
            TargetTransform::Identity,
        )
        .unwrap();
        let both = m.crps(&[0.0, 5.0]).unwrap();
        assert!((both[1] - 2.0 * both[0]).abs() < 1e-6);
        assert!(m.crps(&[0.0]).is_err());
        assert_eq!(m.crps(&[0.0, f32::NAN]), Err(crate::Error::NonFiniteTarget));
    }

    #[test]
    fn extreme_values_do_not_panic() {
        let m = Mixture::<2, 1>::new(
            &[0.5_f32.ln(), 0.5_f32.ln()],
            &[-3e38, 3e38],
            &[1e-30, 3e38],
            1,
            TargetTransform::Identity,
        )
        .unwrap();
        for y in [0.0, 3e38, -3e38, f32::MIN_POSITIVE] {
            let _ = m.crps(&[y]);
        }
        let log = Mixture::<2, 1>::new(
            &[0.5_f32.ln(), 0.5_f32.ln()],
            &[80.0, -80.0],
            &[30.0, 1e-30],
            1,
            TargetTransform::Log,
        )
        .unwrap();
        for y in [0.0, 3e38, -3e38, f32::MIN_POSITIVE, 1.0] {
            let _ = log.crps(&[y]);
        }
    }
}
