//! The predictive distribution: a diagonal mixture in original target units, and the
//! quantities derived from it.
//!
//! This file holds the type, the density and the moments; the submodules hold the other
//! queries, each over the non-generic one-dimensional view of `univariate`: `quantile`
//! (marginal CDF, quantiles, intervals), `crps` (the continuous ranked probability
//! score), `modes`, `divergence` (entropy, KL, Hellinger, total variation) and `sample`.

mod crps;
mod divergence;
mod modes;
mod quantile;
mod sample;
mod univariate;

pub use modes::{Mode, Modes};
pub use quantile::Interval;

use crate::{
    error::{Error, Result},
    header::TargetTransform,
    math::{ln, log_sum_exp, normal_log_density, weights_add_up_to_one},
};
use univariate::Univariate;

/// A vector with one entry per output dimension, at most `D` of them.
pub type PerOutput<const D: usize> = heapless::Vec<f32, D>;

/// A predictive mixture `p(y|x) = sum_k w_k prod_d f(y_d; mu_kd, sigma_kd)`.
///
/// `f` is the normal density for [`TargetTransform::Identity`], and the log-normal density
/// (`mu`, `sigma` the parameters of `ln y`) for [`TargetTransform::Log`]. Parameters are in
/// original target units (for a log target: original units of `ln y`).
///
/// `K` and `D` are capacities; [`Mixture::components`] and [`Mixture::dims`] are the actual
/// sizes, and every accessor returns only the actual entries.
///
/// # Examples
///
/// ```
/// use mdn_core::{Mixture, TargetTransform};
/// // TensorFlow Probability's documented example: mean 0.4, variance 1.018.
/// let m = Mixture::<2, 1>::new(
///     &[0.3_f32.ln(), 0.7_f32.ln()],
///     &[-1.0, 1.0],
///     &[0.1, 0.5],
///     1,
///     TargetTransform::Identity,
/// )?;
/// assert!((m.mean()[0] - 0.4).abs() < 1e-6);
/// assert!((m.variance()[0] - 1.018).abs() < 1e-5);
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Mixture<const K: usize, const D: usize> {
    components: usize,
    dims: usize,
    log_weights: [f32; K],
    means: [[f32; D]; K],
    sigmas: [[f32; D]; K],
    transform: TargetTransform,
}

/// One component of a [`Mixture`].
///
/// # Examples
///
/// ```
/// # use mdn_core::{Mixture, TargetTransform};
/// let m = Mixture::<1, 1>::new(&[0.0], &[2.0], &[0.5], 1, TargetTransform::Identity)?;
/// let c = m.component(0).map(|c| (c.weight(), c.means, c.sigmas));
/// assert_eq!(c, Some((1.0, &[2.0][..], &[0.5][..])));
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Component<'m> {
    /// Natural log of the mixing weight.
    pub log_weight: f32,
    /// Means, one per output dimension.
    pub means: &'m [f32],
    /// Standard deviations, one per output dimension.
    pub sigmas: &'m [f32],
}

impl Component<'_> {
    /// The mixing weight, `expf(log_weight)`.
    ///
    /// # Examples
    ///
    /// See [`Component`].
    pub fn weight(&self) -> f32 {
        libm::expf(self.log_weight)
    }
}

impl<const K: usize, const D: usize> Mixture<K, D> {
    /// Builds a mixture from `components` log weights and `components * dims` means and
    /// sigmas (component-major: index `k * dims + d`), checked to describe a distribution.
    ///
    /// The weights, `expf` of the log weights, must add up to 1 within
    /// [`WEIGHT_SUM_TOLERANCE`](crate::WEIGHT_SUM_TOLERANCE), the tolerance a blob's
    /// network weights get (f32 rounding of normalised log weights stays far inside it); a
    /// log weight of `-inf` is a component of weight zero. The log weights are then used
    /// as given, not normalised again. Every mean must be finite and every sigma positive
    /// and finite, or queries would answer NaN.
    ///
    /// # Errors
    ///
    /// Shapes first: [`Error::CapacityExceeded`] beyond `K` or `D`,
    /// [`Error::EmptyDimension`] for zero components or dims,
    /// [`Error::ParameterSizeMismatch`] if the slice lengths disagree. Then values:
    /// [`Error::InvalidMixtureWeights`] if the weights do not add up to 1 (a NaN or `+inf`
    /// log weight included), [`Error::NonFiniteMean`] for the first NaN or infinite mean,
    /// [`Error::InvalidSigma`] for the first sigma that is zero, negative, NaN or infinite.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Error, Mixture, TargetTransform::Identity};
    /// let half = 0.5_f32.ln();
    /// assert!(Mixture::<2, 1>::new(&[half, half], &[0.0, 1.0], &[1.0, 1.0], 1, Identity).is_ok());
    /// assert_eq!(
    ///     Mixture::<2, 1>::new(&[half, half], &[0.0, 1.0], &[1.0, -1.0], 1, Identity),
    ///     Err(Error::InvalidSigma { index: 1 })
    /// );
    /// assert_eq!(
    ///     Mixture::<2, 1>::new(&[half, f32::NEG_INFINITY], &[0.0, 1.0], &[1.0, 1.0], 1, Identity),
    ///     Err(Error::InvalidMixtureWeights)
    /// );
    /// ```
    pub fn new(
        log_weights: &[f32],
        means: &[f32],
        sigmas: &[f32],
        dims: usize,
        transform: TargetTransform,
    ) -> Result<Self> {
        let components = log_weights.len();
        let capacities = crate::Capacities {
            inputs: 0,
            width: 0,
            components,
            outputs: dims,
        };
        capacities.fits(&crate::Capacities {
            inputs: 0,
            width: 0,
            components: K,
            outputs: D,
        })?;
        if components == 0 || dims == 0 {
            let what = if components == 0 {
                crate::Dimension::Components
            } else {
                crate::Dimension::Outputs
            };
            return Err(Error::EmptyDimension { what });
        }
        let expected = components * dims;
        for given in [means.len(), sigmas.len()] {
            if given != expected {
                return Err(Error::ParameterSizeMismatch {
                    expected: expected * 4,
                    found: given * 4,
                });
            }
        }
        if !weights_add_up_to_one(log_weights.iter().copied()) {
            return Err(Error::InvalidMixtureWeights);
        }
        if let Some(index) = means.iter().position(|m| !m.is_finite()) {
            return Err(Error::NonFiniteMean { index });
        }
        let valid_sigma = |s: &f32| s.is_finite() && *s > 0.0;
        if let Some(index) = sigmas.iter().position(|s| !valid_sigma(s)) {
            return Err(Error::InvalidSigma { index });
        }
        let mut mixture = Self::zeroed(components, dims, transform);
        copy_into(&mut mixture.log_weights, log_weights);
        let rows = mixture.means.iter_mut().zip(mixture.sigmas.iter_mut());
        for ((mean_row, sigma_row), (m, s)) in
            rows.zip(means.chunks_exact(dims).zip(sigmas.chunks_exact(dims)))
        {
            copy_into(mean_row, m);
            copy_into(sigma_row, s);
        }
        Ok(mixture)
    }

    /// A mixture of the given actual sizes with every parameter zero, for the network to
    /// fill. Callers guarantee `components <= K` and `dims <= D`.
    pub(crate) const fn zeroed(components: usize, dims: usize, transform: TargetTransform) -> Self {
        Mixture {
            components,
            dims,
            log_weights: [0.0; K],
            means: [[0.0; D]; K],
            sigmas: [[0.0; D]; K],
            transform,
        }
    }

    /// Mutable access for the network: log weights, means and sigmas rows.
    #[allow(clippy::type_complexity, reason = "three parallel parameter arrays")]
    pub(crate) fn parts_mut(&mut self) -> (&mut [f32; K], &mut [[f32; D]; K], &mut [[f32; D]; K]) {
        (&mut self.log_weights, &mut self.means, &mut self.sigmas)
    }

    /// Number of components.
    ///
    /// # Examples
    ///
    /// See [`Mixture::component`].
    pub const fn components(&self) -> usize {
        self.components
    }

    /// Number of output dimensions.
    ///
    /// # Examples
    ///
    /// See [`Mixture::component`].
    pub const fn dims(&self) -> usize {
        self.dims
    }

    /// The target transform: whether components are normal or log-normal.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Log)?;
    /// assert_eq!(m.transform(), TargetTransform::Log);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub const fn transform(&self) -> TargetTransform {
        self.transform
    }

    /// Log mixing weights (log-softmax of the network's logits).
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let log_weights = [0.25_f32.ln(), 0.75_f32.ln()];
    /// let m = Mixture::<4, 1>::new(&log_weights, &[0.0, 1.0], &[1.0, 1.0], 1,
    ///     TargetTransform::Identity)?;
    /// assert_eq!(m.log_weights(), &log_weights);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn log_weights(&self) -> &[f32] {
        self.log_weights.get(..self.components).unwrap_or(&[])
    }

    /// Component `k`, or `None` if `k >= components()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<3, 2>::new(&[0.0], &[1.0, 2.0], &[0.1, 0.2], 2,
    ///     TargetTransform::Identity)?;
    /// assert_eq!((m.components(), m.dims()), (1, 2));
    /// assert_eq!(m.component(0).map(|c| c.sigmas), Some(&[0.1, 0.2][..]));
    /// assert!(m.component(1).is_none());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn component(&self, k: usize) -> Option<Component<'_>> {
        if k >= self.components {
            return None;
        }
        Some(Component {
            log_weight: *self.log_weights.get(k)?,
            means: self.means.get(k)?.get(..self.dims)?,
            sigmas: self.sigmas.get(k)?.get(..self.dims)?,
        })
    }

    /// The components in order.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let half = 0.5_f32.ln();
    /// let m = Mixture::<2, 1>::new(&[half, half], &[0.0, 1.0], &[1.0, 1.0], 1,
    ///     TargetTransform::Identity)?;
    /// assert_eq!(m.iter().count(), 2);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn iter(&self) -> impl Iterator<Item = Component<'_>> {
        (0..self.components).filter_map(|k| self.component(k))
    }

    fn check_target(&self, y: &[f32]) -> Result<()> {
        if y.len() != self.dims {
            return Err(Error::TargetLength {
                expected: self.dims,
                found: y.len(),
            });
        }
        if y.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFiniteTarget);
        }
        Ok(())
    }

    /// Natural log of the density at `y`, in original target units.
    ///
    /// For a log target, `y` with any entry `<= 0` has density zero and gives `-inf`; the
    /// density carries the Jacobian `-sum_d ln y_d`.
    ///
    /// # Errors
    ///
    /// [`Error::TargetLength`] or [`Error::NonFiniteTarget`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// assert!((m.log_prob(&[0.0])? + 0.9189385).abs() < 1e-6);
    /// let lognormal = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Log)?;
    /// assert_eq!(lognormal.log_prob(&[-1.0])?, f32::NEG_INFINITY);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn log_prob(&self, y: &[f32]) -> Result<f32> {
        self.check_target(y)?;
        let mut point = [0.0_f32; D];
        let Some(jacobian) = transform_target(self.transform, y, &mut point) else {
            return Ok(f32::NEG_INFINITY);
        };
        let mut per_component = [0.0_f32; K];
        component_log_densities(
            self.log_weights(),
            self.means.as_flattened(),
            self.sigmas.as_flattened(),
            D,
            point.get(..self.dims).unwrap_or(&[]),
            &mut per_component,
        );
        let per_component = per_component.get(..self.components).unwrap_or(&[]);
        Ok(log_sum_exp(per_component) - jacobian)
    }

    /// The anomaly score of `y`: `-log_prob(y)`, in nats; `+inf` where the density is zero.
    ///
    /// Large scores flag observations the model finds unlikely. Scores of different models
    /// or target units are not comparable: the density carries the units of `y`.
    ///
    /// # Errors
    ///
    /// As [`Mixture::log_prob`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// assert!(m.anomaly_score(&[4.0])? > m.anomaly_score(&[0.5])?);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn anomaly_score(&self, y: &[f32]) -> Result<f32> {
        self.log_prob(y).map(|log_p| -log_p)
    }

    /// Writes the density of a one-dimensional mixture at every point of `grid` into `out`:
    /// `out[i]` has the bits of `prob(&[grid[i]])`.
    ///
    /// # Errors
    ///
    /// [`Error::NotUnivariate`] for more than one output dimension, [`Error::OutputLength`]
    /// if `out` and `grid` differ in length, [`Error::NonFiniteTarget`] if a grid value is
    /// NaN or infinite. On error `out` is left unchanged.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// let grid = [-1.0, 0.0, 1.0];
    /// let mut density = [0.0; 3];
    /// m.density_on_grid(&grid, &mut density)?;
    /// assert_eq!(density[1], m.prob(&[0.0])?);
    /// assert_eq!(density[0], density[2]);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn density_on_grid(&self, grid: &[f32], out: &mut [f32]) -> Result<()> {
        self.require_univariate()?;
        if out.len() != grid.len() {
            return Err(Error::OutputLength {
                expected: grid.len(),
                found: out.len(),
            });
        }
        if grid.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFiniteTarget);
        }
        for (o, &y) in out.iter_mut().zip(grid) {
            *o = self.prob(core::slice::from_ref(&y)).unwrap_or(f32::NAN);
        }
        Ok(())
    }

    /// The density at `y`: `expf(log_prob(y))`.
    ///
    /// # Errors
    ///
    /// As [`Mixture::log_prob`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)?;
    /// assert!((m.prob(&[0.0])? - 0.3989423).abs() < 1e-6);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn prob(&self, y: &[f32]) -> Result<f32> {
        self.log_prob(y).map(libm::expf)
    }

    /// Per component and dimension: the component's mean and variance in original units.
    ///
    /// Normal: `(mu, sigma * sigma)`. Log-normal: `m = expf(mu + 0.5 * (sigma * sigma))`,
    /// `v = expm1f(sigma * sigma) * (m * m)`.
    fn component_moments(&self, mu: f32, sigma: f32) -> (f32, f32) {
        let s2 = sigma * sigma;
        match self.transform {
            TargetTransform::Identity => (mu, s2),
            TargetTransform::Log => {
                let m = libm::expf(mu + 0.5 * s2);
                (m, libm::expm1f(s2) * (m * m))
            }
        }
    }

    /// The mean of each output dimension: `sum_k w_k m_kd`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// // A log-normal with mu = 0, sigma = 1 has mean e^0.5.
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Log)?;
    /// assert!((m.mean()[0] - 1.6487213).abs() < 1e-6);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn mean(&self) -> PerOutput<D> {
        let mut mean = PerOutput::new();
        for d in 0..self.dims {
            let mut sum = 0.0_f32;
            for c in self.iter() {
                let (m, _) = self.component_moments(at(c.means, d), at(c.sigmas, d));
                sum += c.weight() * m;
            }
            // Cannot fail: dims <= D.
            let _ = mean.push(sum);
        }
        mean
    }

    /// The variance of each output dimension: `sum_k w_k (v_kd + (m_kd - mean_d)^2)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// // A log-normal with mu = 0, sigma = 1 has variance (e - 1) e.
    /// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Log)?;
    /// assert!((m.variance()[0] - 4.670774).abs() < 1e-5);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn variance(&self) -> PerOutput<D> {
        let mean = self.mean();
        let mut variance = PerOutput::new();
        for (d, &mean_d) in mean.iter().enumerate() {
            let mut sum = 0.0_f32;
            for c in self.iter() {
                let (m, v) = self.component_moments(at(c.means, d), at(c.sigmas, d));
                let dev = m - mean_d;
                sum += c.weight() * (v + dev * dev);
            }
            let _ = variance.push(sum);
        }
        variance
    }

    /// The standard deviation of each output dimension: `sqrtf(variance)`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[3.0], &[2.0], 1, TargetTransform::Identity)?;
    /// assert_eq!(m.std_dev()[0], 2.0);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn std_dev(&self) -> PerOutput<D> {
        let mut std_dev = self.variance();
        for v in &mut std_dev {
            *v = libm::sqrtf(*v);
        }
        std_dev
    }
    /// `Ok` for a one-dimensional mixture, else [`Error::NotUnivariate`].
    fn require_univariate(&self) -> Result<()> {
        if self.dims == 1 {
            Ok(())
        } else {
            Err(Error::NotUnivariate { dims: self.dims })
        }
    }

    /// Dimension `d` of every component's means and sigmas, as contiguous arrays (the
    /// mixture stores them component-major); entries from `components()` on are zero.
    fn column(&self, d: usize) -> ([f32; K], [f32; K]) {
        let mut means = [0.0_f32; K];
        let mut sigmas = [0.0_f32; K];
        let rows = self.means.iter().zip(&self.sigmas);
        for ((m, s), (mean_row, sigma_row)) in means.iter_mut().zip(sigmas.iter_mut()).zip(rows) {
            *m = at(mean_row, d);
            *s = at(sigma_row, d);
        }
        (means, sigmas)
    }

    /// The one-dimensional view of a column from [`Mixture::column`]: what the non-generic
    /// kernels of the submodules work on.
    fn univariate<'s>(&'s self, means: &'s [f32], sigmas: &'s [f32]) -> Univariate<'s> {
        let n = self.components;
        Univariate {
            log_weights: self.log_weights(),
            means: means.get(..n).unwrap_or(&[]),
            sigmas: sigmas.get(..n).unwrap_or(&[]),
            transform: self.transform,
        }
    }
}

/// Writes the target in the components' space into `point` (`y` itself, or `ln y` for a
/// log target) and returns the log-Jacobian `sum_d ln y_d` (0 for identity), or `None` if
/// a log target has an entry `<= 0` (density zero).
pub(crate) fn transform_target(
    transform: TargetTransform,
    y: &[f32],
    point: &mut [f32],
) -> Option<f32> {
    let mut jacobian = 0.0_f32;
    for (t, &v) in point.iter_mut().zip(y) {
        *t = match transform {
            TargetTransform::Identity => v,
            TargetTransform::Log => {
                if v <= 0.0 {
                    return None;
                }
                let ln_v = ln(v);
                jacobian += ln_v;
                ln_v
            }
        };
    }
    Some(jacobian)
}

/// `out[k] = log_weights[k] + sum_d ln N(point[d]; mu_kd, sigma_kd)`, the sum from `d = 0`
/// starting at `0.0`. `means` and `sigmas` are component-major with `stride` values per
/// component, of which the first `point.len()` are used. Not generic, so it is compiled
/// with mdn-core's optimisation level (see `Dense::forward`).
pub(crate) fn component_log_densities(
    log_weights: &[f32],
    means: &[f32],
    sigmas: &[f32],
    stride: usize,
    point: &[f32],
    out: &mut [f32],
) {
    let rows = means
        .chunks_exact(stride.max(1))
        .zip(sigmas.chunks_exact(stride.max(1)));
    for ((out, &log_weight), (means, sigmas)) in out.iter_mut().zip(log_weights).zip(rows) {
        let mut sum = 0.0_f32;
        for ((&t, &mu), &sigma) in point.iter().zip(means).zip(sigmas) {
            sum += normal_log_density(t, mu, sigma);
        }
        *out = log_weight + sum;
    }
}

/// Copies as many values as both slices hold.
fn copy_into(dst: &mut [f32], src: &[f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s;
    }
}

/// `values[d]`, or NaN out of range (never, for `d < dims`).
fn at(values: &[f32], d: usize) -> f32 {
    values.get(d).copied().unwrap_or(f32::NAN)
}
