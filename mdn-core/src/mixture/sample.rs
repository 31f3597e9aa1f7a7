//! Drawing from the predictive mixture with any `rand_core` generator.

use rand_core::Rng;

use super::{Mixture, PerOutput};
use crate::{
    error::{Error, Result},
    header::TargetTransform,
    math::{box_muller, unit_open_above, unit_open_below},
};

/// The component drawn for the uniform variate `u` in `[0, 1)` from the mixing weights at
/// temperature `temperature`: with `a_k = log_weight_k / temperature`, `e_k = expf(a_k -
/// max a)` and `S = sum e_k`, the first `k` with `u * S < e_1 + .. + e_k`, or the last
/// component with `e_k > 0` when rounding leaves none. Not generic: it is the only loop of
/// a draw.
fn select_component(log_weights: &[f32], temperature: f32, u: f32) -> usize {
    let max = log_weights
        .iter()
        .fold(f32::NEG_INFINITY, |m, &w| m.max(w / temperature));
    let mut total = 0.0_f32;
    for &w in log_weights {
        total += libm::expf(w / temperature - max);
    }
    let target = u * total;
    let mut cumulative = 0.0_f32;
    let mut last_positive = 0;
    for (k, &w) in log_weights.iter().enumerate() {
        let e = libm::expf(w / temperature - max);
        cumulative += e;
        if e > 0.0 {
            last_positive = k;
            if target < cumulative {
                return k;
            }
        }
    }
    last_positive
}

impl<const K: usize, const D: usize> Mixture<K, D> {
    /// One draw from the mixture, in original target units:
    /// [`Mixture::sample_tempered`] at temperature 1 and sigma scale 1.
    ///
    /// `rng` is any [`rand_core::Rng`] (rand_core 0.10's name for the infallible generator
    /// trait, `RngCore` in earlier versions; [`rand_core`] is re-exported by this crate).
    /// On a device, a small seeded generator such as `rand_pcg::Pcg32` (from the `rand_pcg`
    /// crate) is a good choice; a `&mut dyn Rng` trait object works too.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Mixture, TargetTransform};
    /// use rand_pcg::Pcg32;
    /// use rand_core::SeedableRng;
    ///
    /// let m = Mixture::<2, 1>::new(&[0.5_f32.ln(), 0.5_f32.ln()], &[-5.0, 5.0], &[0.1, 0.1], 1,
    ///     TargetTransform::Identity)?;
    /// let mut rng = Pcg32::seed_from_u64(7);
    /// let y = m.sample(&mut rng)[0];
    /// assert!((y.abs() - 5.0).abs() < 1.0);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> PerOutput<D> {
        self.draw(rng, 1.0, 1.0)
    }

    /// One draw from the mixture with the mixing logits divided by `temperature` and every
    /// sigma multiplied by `sigma_scale`, in original target units.
    ///
    /// Temperatures below 1 favour the heavier components (towards always the heaviest),
    /// above 1 even the weights out; the sigma scale narrows or widens each component.
    /// Both 1 give the model's own distribution.
    ///
    /// A draw takes one `u32` for the component (its top 24 bits as a uniform in
    /// `[0, 1)`), then two per pair of output dimensions for Box-Muller through `libm`
    /// (`u1` in `(0, 1]`, `u2` in `[0, 1)`; dimension `2j` gets the cosine variate, `2j + 1`
    /// the sine variate, and an odd last dimension drops the sine one). Then
    /// `t_d = mu_kd + sigma_scale * sigma_kd * z_d`, and `y_d = t_d`, or `expf(t_d)` for a
    /// log target. The same generator state gives the same bits on every platform.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidTemperature`] unless `temperature` is positive and finite, then
    /// [`Error::InvalidSigmaScale`] unless `sigma_scale` is; nothing is drawn then.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Error, Mixture, TargetTransform};
    /// use rand_core::SeedableRng;
    ///
    /// let m = Mixture::<2, 1>::new(&[0.2_f32.ln(), 0.8_f32.ln()], &[-5.0, 5.0], &[1.0, 1.0], 1,
    ///     TargetTransform::Identity)?;
    /// let mut rng = rand_pcg::Pcg32::seed_from_u64(1);
    /// // A low temperature almost always picks the heavier component.
    /// for _ in 0..100 {
    ///     assert!(m.sample_tempered(&mut rng, 0.05, 1.0)?[0] > 0.0);
    /// }
    /// assert_eq!(m.sample_tempered(&mut rng, 0.0, 1.0), Err(Error::InvalidTemperature));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn sample_tempered<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        temperature: f32,
        sigma_scale: f32,
    ) -> Result<PerOutput<D>> {
        if !(temperature > 0.0 && temperature.is_finite()) {
            return Err(Error::InvalidTemperature);
        }
        if !(sigma_scale > 0.0 && sigma_scale.is_finite()) {
            return Err(Error::InvalidSigmaScale);
        }
        Ok(self.draw(rng, temperature, sigma_scale))
    }

    fn draw<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        temperature: f32,
        sigma_scale: f32,
    ) -> PerOutput<D> {
        let u = unit_open_above(rng.next_u32());
        let k = select_component(self.log_weights(), temperature, u);
        let mut y = PerOutput::new();
        let (Some(means), Some(sigmas)) = (self.means.get(k), self.sigmas.get(k)) else {
            return y;
        };
        let rows = means.iter().zip(sigmas).take(self.dims);
        let mut pending = None;
        for (&mu, &sigma) in rows {
            let z = match pending.take() {
                Some(z) => z,
                None => {
                    let u1 = unit_open_below(rng.next_u32());
                    let u2 = unit_open_above(rng.next_u32());
                    let (z0, z1) = box_muller(u1, u2);
                    pending = Some(z1);
                    z0
                }
            };
            let t = mu + sigma_scale * sigma * z;
            // Cannot fail: dims <= D.
            let _ = y.push(match self.transform {
                TargetTransform::Identity => t,
                TargetTransform::Log => libm::expf(t),
            });
        }
        y
    }
}
