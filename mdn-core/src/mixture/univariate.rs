//! One output dimension of a mixture as plain slices: what every one-dimensional query
//! works on.
//!
//! [`Mixture`](crate::Mixture) is generic over its capacities, and generic code is compiled
//! in the crate that instantiates it, at that crate's optimisation level. The queries'
//! loops therefore live in methods of this non-generic view; the generic methods of
//! `Mixture` only validate arguments, copy one column of parameters and call them.

use crate::header::TargetTransform;

/// Components of one output dimension: log weights, means and sigmas of equal length, in
/// the components' space (`ln y` for a log target).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Univariate<'a> {
    pub(crate) log_weights: &'a [f32],
    pub(crate) means: &'a [f32],
    pub(crate) sigmas: &'a [f32],
    pub(crate) transform: TargetTransform,
}

impl<'a> Univariate<'a> {
    /// `(log weight, mean, sigma)` of each component, in order.
    pub(crate) fn components(&self) -> impl Iterator<Item = (f32, f32, f32)> + 'a {
        self.log_weights
            .iter()
            .zip(self.means)
            .zip(self.sigmas)
            .map(|((&w, &m), &s)| (w, m, s))
    }

    /// Number of components.
    pub(crate) fn len(&self) -> usize {
        self.log_weights.len()
    }

    /// Whether components are log-normal.
    pub(crate) fn is_log(&self) -> bool {
        self.transform == TargetTransform::Log
    }

    /// `y` in the components' space (`y`, or `logf(y)` for a log target), or `None` where a
    /// log target's density is zero (`y <= 0`).
    pub(crate) fn working_point(&self, y: f32) -> Option<f32> {
        match self.transform {
            TargetTransform::Identity => Some(y),
            TargetTransform::Log if y > 0.0 => Some(crate::math::ln(y)),
            TargetTransform::Log => None,
        }
    }

    /// A point of the components' space in original units: `t`, or `expf(t)`.
    pub(crate) fn original_units(&self, t: f32) -> f32 {
        match self.transform {
            TargetTransform::Identity => t,
            TargetTransform::Log => libm::expf(t),
        }
    }

    /// The smallest sigma (`+inf` without components; NaN sigmas are skipped).
    pub(crate) fn smallest_sigma(&self) -> f32 {
        self.sigmas.iter().fold(f32::INFINITY, |a, &s| a.min(s))
    }

    /// `[min_k(mu_k - span * sigma_k), max_k(mu_k + span * sigma_k)]`.
    pub(crate) fn span(&self, span: f32) -> (f32, f32) {
        let mut lo = f32::INFINITY;
        let mut hi = f32::NEG_INFINITY;
        for (_, mu, sigma) in self.components() {
            lo = lo.min(mu - span * sigma);
            hi = hi.max(mu + span * sigma);
        }
        (lo, hi)
    }
}
