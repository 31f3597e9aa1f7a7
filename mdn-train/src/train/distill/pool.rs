//! The teacher's predictive mixtures, computed once at every point the students learn at.

use rand::{Rng, RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::{
    data::Dataset,
    error::{Error, Result},
    scaling::Scalers,
    train::{rows::network_seed, scaled::Scaled},
};

/// The jittered inputs.
const STREAM_JITTER: u64 = 5;

/// The teacher's mixtures at `copies` points per training row, in scaled units: the row
/// itself and `copies - 1` jittered ones.
pub(super) struct Pool {
    pub(super) inputs: usize,
    pub(super) outputs: usize,
    /// Components of the teacher's mixture, every network's.
    components: usize,
    pub(super) copies: usize,
    points: usize,
    /// `[point][feature]`.
    xs: Vec<f32>,
    /// `[point][component]`: cumulative mixing weight, the last 1.
    cumulative: Vec<f32>,
    /// `[point][component][output]`.
    means: Vec<f32>,
    sigmas: Vec<f32>,
}

impl Pool {
    /// The teacher's mixtures at `copies` points around each of `rows`: each of the `F`
    /// features moved by Gaussian noise of `jitter / sqrt(F)` of its standard deviation over
    /// the rows (none for the first copy), as many copies as `max_values` values allow.
    /// Dividing by `sqrt(F)` keeps the whole move at `jitter` standard deviations: 0.2 on
    /// each of boston's 13 features would move a row 0.72 of them, off the data (boston_nox
    /// at seed 0: -2.40 nats against -2.44 with the division).
    #[allow(
        clippy::too_many_arguments,
        reason = "the teacher, the data and the pool's shape"
    )]
    pub(super) fn new(
        teacher: &mdn_core::HostModel<'_>,
        data: &Dataset,
        scalers: &Scalers,
        scaled: &Scaled,
        rows: &[usize],
        copies: usize,
        jitter: f32,
        max_values: usize,
        seed: u64,
    ) -> Result<Self> {
        let (f, d) = (data.inputs(), data.outputs());
        let header = teacher.header();
        let components = header.components as usize * header.networks as usize;
        let per_point = components * (1 + 2 * d) + f;
        let most = (max_values / (per_point * rows.len()).max(1)).max(1);
        let copies = copies.clamp(1, most);
        let points = rows.len() * copies;
        let mut pool = Pool {
            inputs: f,
            outputs: d,
            components,
            copies,
            points,
            xs: Vec::with_capacity(points * f),
            cumulative: Vec::with_capacity(points * components),
            means: Vec::with_capacity(points * components * d),
            sigmas: Vec::with_capacity(points * components * d),
        };
        let xs = scaled.xs.flatten_all()?.to_vec1::<f32>()?;
        let mut rng = Pcg64Mcg::seed_from_u64(network_seed(seed, 0, STREAM_JITTER));
        let mut raw = vec![0.0_f32; f];
        let jitter = jitter / (f.max(1) as f32).sqrt();
        for &row in rows {
            let x = &xs[row * f..(row + 1) * f];
            for copy in 0..copies {
                for ((r, &v), std) in raw.iter_mut().zip(x).zip(&scaled.x_std) {
                    let z: f32 = if copy == 0 {
                        0.0
                    } else {
                        rng.sample(rand_distr::StandardNormal)
                    };
                    let s = v + z * jitter * std;
                    pool.xs.push(s);
                    *r = s;
                }
                for (j, r) in raw.iter_mut().enumerate() {
                    *r = *r * scalers.input.scale[j] + scalers.input.offset[j];
                }
                let mixture = teacher.mixture(&raw).map_err(|source| Error::Core {
                    context: format!("the teacher's mixture near row {}", data.lines[row]),
                    source,
                })?;
                pool.push(&mixture, scalers);
            }
        }
        Ok(pool)
    }

    /// Appends one mixture, in scaled target units.
    fn push<const K: usize, const D: usize>(
        &mut self,
        mixture: &mdn_core::Mixture<K, D>,
        scalers: &Scalers,
    ) {
        let weights: Vec<f64> = mixture
            .iter()
            .map(|c| f64::from(c.log_weight).exp())
            .collect();
        let sum: f64 = weights.iter().sum();
        let mut total = 0.0_f64;
        for (c, w) in mixture.iter().zip(&weights) {
            total += w / sum;
            self.cumulative.push(total as f32);
            for (d, (&mu, &sigma)) in c.means.iter().zip(c.sigmas).enumerate() {
                let (offset, scale) = (scalers.target.offset[d], scalers.target.scale[d]);
                self.means.push((mu - offset) / scale);
                self.sigmas.push(sigma / scale);
            }
        }
        if let Some(last) = self.cumulative.last_mut() {
            *last = 1.0;
        }
    }

    /// Number of points.
    pub(super) fn points(&self) -> usize {
        self.points
    }

    /// Point `copy` of row `row` (its index among the rows the pool was built on).
    pub(super) fn point(&self, row: usize, copy: usize) -> usize {
        row * self.copies + copy
    }

    /// The scaled input of point `point`.
    pub(super) fn x(&self, point: usize) -> &[f32] {
        &self.xs[point * self.inputs..(point + 1) * self.inputs]
    }

    /// `u.len() / outputs` draws from point `point`'s mixture with every sigma times
    /// `widen`, its components picked by systematic sampling (one uniform offset, then
    /// evenly spaced over the cumulative weights: each component gets its share of the
    /// draws to within one).
    pub(super) fn draw(&self, point: usize, widen: f32, rng: &mut impl Rng, u: &mut [f32]) {
        let (k, d) = (self.components, self.outputs);
        let n = u.len() / d;
        let cumulative = &self.cumulative[point * k..(point + 1) * k];
        let offset: f32 = rng.random();
        let mut c = 0;
        for (i, u) in u.chunks_exact_mut(d).enumerate() {
            // The picks increase, so the component only moves forward.
            let pick = (i as f32 + offset) / n as f32;
            while c + 1 < k && cumulative[c] <= pick {
                c += 1;
            }
            let at = (point * k + c) * d;
            for (e, u) in u.iter_mut().enumerate() {
                let z: f32 = rng.sample(rand_distr::StandardNormal);
                *u = self.means[at + e] + widen * self.sigmas[at + e] * z;
            }
        }
    }

    /// `ln p(u)` of point `point`'s mixture, with every sigma times `widen`, at scaled
    /// target `u`, in f64.
    pub(super) fn log_density(&self, point: usize, widen: f32, u: &[f32]) -> f64 {
        let (k, d) = (self.components, self.outputs);
        let cumulative = &self.cumulative[point * k..(point + 1) * k];
        let mut previous = 0.0;
        let mut terms = Vec::with_capacity(k);
        for (c, &cum) in cumulative.iter().enumerate() {
            let weight = f64::from(cum - previous);
            previous = cum;
            if weight <= 0.0 {
                continue;
            }
            let at = (point * k + c) * d;
            let mut t = weight.ln();
            for (e, &u) in u.iter().enumerate() {
                let sigma = f64::from(widen) * f64::from(self.sigmas[at + e]);
                let r = (f64::from(u) - f64::from(self.means[at + e])) / sigma;
                t += -0.5 * r * r - sigma.ln() - f64::from(mdn_core::HALF_LN_TWO_PI);
            }
            terms.push(t);
        }
        let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()
    }
}
