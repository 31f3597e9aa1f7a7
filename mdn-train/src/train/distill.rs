//! Distillation: one student network learns the teacher's whole predictive distribution.
//!
//! The teacher (an ensemble from [`crate::train::train`]) is too large for a device; a
//! single network trained on the data alone loses what the ensemble won. The student
//! learns from the teacher instead of from the data: at every training input, and at
//! inputs jittered around it, it sees fresh draws `y ~ p_teacher(y|x)` every epoch, so it
//! fits the teacher's density (minimising `KL(teacher || student)` in expectation)
//! rather than the noise of a few rows, and it sees the density between rows too.
//!
//! The teacher's mixtures are computed once, by mdn-core from the teacher's blob (what a
//! device would compute), at `copies` points per row: the row itself and `copies - 1`
//! jittered ones, each feature moved by Gaussian noise of `jitter` of its standard
//! deviation. Each epoch every row gives one draw, at one of its points chosen at random.
//!
//! The student stops early on real rows, never on test data: the rows the teacher
//! validated on when it held some out (`--val-fraction`: neither the teacher nor the
//! student learned from them), else every training row (with folds the teacher learned
//! from every row, so these figures are in-sample for the teacher; the student never
//! sees their targets, only the teacher's draws).

use candle_core::{Device, Tensor};
use rand::{Rng, RngExt, SeedableRng, seq::SliceRandom};
use rand_pcg::Pcg64Mcg;

use crate::{
    aligned::AlignedBytes,
    data::Dataset,
    error::{Error, Result},
    members::Members,
    model::Architecture,
    scaling::Scalers,
    train::{
        EpochMetrics, Group, MemberRun, Plan, TrainConfig,
        fit::{Batches, fit},
        network_blobs,
        rows::{Assignment, network_seed},
        scaled::{Scaled, Validation},
    },
};

/// Initial weights of the students.
const STREAM_STUDENT_INIT: u64 = 4;
/// The jittered inputs.
const STREAM_JITTER: u64 = 5;
/// The students' row order and the teacher's draws.
const STREAM_DRAWS: u64 = 6;

/// How a student learns from its teacher.
///
/// # Examples
///
/// ```
/// let d = mdn_train::train::DistillConfig::default();
/// assert_eq!((d.hidden.as_slice(), d.components), (&[32, 32][..], 5));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DistillConfig {
    /// The student's hidden layer widths.
    pub hidden: Vec<usize>,
    /// The student's mixture components `K`.
    pub components: usize,
    /// Points per training row at which the teacher's mixture is taken: the row and
    /// `copies - 1` jittered ones.
    pub copies: usize,
    /// Standard deviation of the jitter, in standard deviations of each scaled feature.
    pub jitter: f32,
    /// Students trained side by side from different initial weights; the best on the
    /// validation rows is kept.
    pub students: usize,
    /// Draws per training row and epoch.
    pub draws_per_row: usize,
    /// Largest number of values the teacher's mixtures may take, which caps `copies` for
    /// large data sets.
    pub max_pool_values: usize,
}

impl Default for DistillConfig {
    fn default() -> Self {
        DistillConfig {
            hidden: vec![32, 32],
            components: 5,
            copies: 16,
            jitter: 0.05,
            students: 2,
            draws_per_row: 1,
            max_pool_values: 1 << 24,
        }
    }
}

/// The outcome of [`distill`].
#[derive(Debug)]
pub struct Distilled {
    /// The student's blob: one network.
    pub blob: AlignedBytes,
    /// Per epoch: mean NLL of the students on the teacher's draws, and on the validation rows.
    pub metrics: Vec<EpochMetrics>,
    /// How each student's training went; `kept` is the one written.
    pub runs: Vec<MemberRun>,
    /// Index of the kept student.
    pub kept: usize,
    /// The kept student's NLL on the validation rows, nats per row, original units.
    pub val_nll: f64,
    /// The teacher's NLL on the same rows (mdn-core), for comparison.
    pub teacher_nll: f64,
    /// Rows the student stopped early on.
    pub val_rows: usize,
    /// Whether those rows were held out from the teacher too.
    pub held_out: bool,
}

/// The teacher's mixtures at every point of the pool, in scaled target units: for point
/// `p`, its scaled input, and each component's cumulative weight, means and sigmas.
struct Pool {
    inputs: usize,
    outputs: usize,
    components: usize,
    copies: usize,
    /// `[point][feature]`, scaled.
    xs: Vec<f32>,
    /// `[point][component]`: cumulative mixing weight, the last 1.
    cumulative: Vec<f32>,
    /// `[point][component][output]`, scaled.
    means: Vec<f32>,
    sigmas: Vec<f32>,
}

impl Pool {
    /// The teacher's mixtures at `copies` points around each of `rows`.
    fn new(
        teacher: &mdn_core::HostModel<'_>,
        data: &Dataset,
        scalers: &Scalers,
        scaled: &Scaled,
        rows: &[usize],
        config: &DistillConfig,
        seed: u64,
    ) -> Result<Self> {
        let (f, d) = (data.inputs(), data.outputs());
        let components = teacher.header().components as usize * teacher.header().members as usize;
        let per_point = components * (1 + 2 * d) + f;
        let most = (config.max_pool_values / (per_point * rows.len()).max(1)).max(1);
        let copies = config.copies.clamp(1, most);
        let points = rows.len() * copies;
        let mut pool = Pool {
            inputs: f,
            outputs: d,
            components,
            copies,
            xs: Vec::with_capacity(points * f),
            cumulative: Vec::with_capacity(points * components),
            means: Vec::with_capacity(points * components * d),
            sigmas: Vec::with_capacity(points * components * d),
        };
        let xs = scaled.xs.flatten_all()?.to_vec1::<f32>()?;
        let mut rng = Pcg64Mcg::seed_from_u64(network_seed(seed, 0, STREAM_JITTER));
        let mut raw = vec![0.0_f32; f];
        for &row in rows {
            let x = &xs[row * f..(row + 1) * f];
            for copy in 0..copies {
                let start = pool.xs.len();
                for (j, &v) in x.iter().enumerate() {
                    let z: f32 = if copy == 0 {
                        0.0
                    } else {
                        rng.sample(rand_distr::StandardNormal)
                    };
                    pool.xs.push(v + z * config.jitter * scaled.x_std[j]);
                }
                for (j, r) in raw.iter_mut().enumerate() {
                    *r = pool.xs[start + j] * scalers.input.scale[j] + scalers.input.offset[j];
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
        let mut total = 0.0_f64;
        let weights: Vec<f64> = mixture
            .iter()
            .map(|c| f64::from(c.log_weight).exp())
            .collect();
        let sum: f64 = weights.iter().sum();
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

    /// A draw from the teacher at point `point`, written to `u`.
    fn draw(&self, point: usize, rng: &mut impl Rng, u: &mut [f32]) {
        let k = self.components;
        let cumulative = &self.cumulative[point * k..(point + 1) * k];
        let pick: f32 = rng.random();
        let c = cumulative.partition_point(|&w| w <= pick).min(k - 1);
        let at = (point * k + c) * self.outputs;
        for (d, u) in u.iter_mut().enumerate() {
            let z: f32 = rng.sample(rand_distr::StandardNormal);
            *u = self.means[at + d] + self.sigmas[at + d] * z;
        }
    }
}

/// Minibatches of draws from the teacher: every student its own order of rows, a point of
/// each row's pool chosen at random, a fresh draw.
struct DrawBatches<'a> {
    pool: &'a Pool,
    orders: Vec<Vec<u32>>,
    rngs: Vec<Pcg64Mcg>,
    to_original: f64,
    device: Device,
}

impl Batches for DrawBatches<'_> {
    fn rows_per_epoch(&self) -> usize {
        self.orders.first().map_or(0, Vec::len)
    }

    fn shuffle(&mut self) {
        for (order, rng) in self.orders.iter_mut().zip(&mut self.rngs) {
            order.shuffle(rng);
        }
    }

    fn batch(&mut self, first: usize, size: usize) -> Result<(Tensor, Tensor)> {
        let (f, d) = (self.pool.inputs, self.pool.outputs);
        let students = self.orders.len();
        let mut xs = Vec::with_capacity(students * size * f);
        let mut us = vec![0.0_f32; students * size * d];
        let mut at = 0;
        for (order, rng) in self.orders.iter().zip(&mut self.rngs) {
            for &row in &order[first..first + size] {
                let copy = rng.random_range(0..self.pool.copies);
                let point = row as usize * self.pool.copies + copy;
                xs.extend_from_slice(&self.pool.xs[point * f..(point + 1) * f]);
                self.pool.draw(point, rng, &mut us[at * d..(at + 1) * d]);
                at += 1;
            }
        }
        Ok((
            Tensor::from_vec(xs, (students, size, f), &self.device)?,
            Tensor::from_vec(us, (students, size, d), &self.device)?,
        ))
    }

    fn to_original(&self) -> Vec<f64> {
        vec![self.to_original; self.orders.len()]
    }
}

/// Trains [`DistillConfig::students`] students of `distill`'s shape on draws from
/// `teacher` (what [`crate::train::train`] made of `data` with `config`) and keeps the
/// best on the validation rows.
///
/// # Errors
///
/// An invalid teacher blob, or a candle error.
///
/// # Examples
///
/// ```no_run
/// use mdn_train::train::{DistillConfig, TrainConfig, distill, train};
/// let data = mdn_train::synth::generate(mdn_train::synth::Kind::Hetero, 200, 1);
/// let config = TrainConfig { epochs: 5, ..Default::default() };
/// let teacher = train(&data, &config, |_| {}).unwrap();
/// let student = distill(&data, &teacher, &config, &DistillConfig::default(), &mut |_| {});
/// assert!(student.unwrap().val_nll.is_finite());
/// ```
pub fn distill(
    data: &Dataset,
    teacher: &crate::train::Trained,
    config: &TrainConfig,
    distill: &DistillConfig,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<Distilled> {
    let scalers = &teacher.scalers;
    let teacher_rows = &teacher.rows_learned[..];
    let held_out = &teacher.rows_held_out[..];
    let teacher = teacher.blob.as_bytes();
    let teacher_model = mdn_core::HostModel::from_bytes(teacher).map_err(|source| Error::Core {
        context: "validating the teacher".into(),
        source,
    })?;
    let scaled = Scaled::new(data, scalers, &Device::Cpu)?;
    let pool = Pool::new(
        &teacher_model,
        data,
        scalers,
        &scaled,
        teacher_rows,
        distill,
        config.seed,
    )?;
    let val: Vec<usize> = if held_out.is_empty() {
        teacher_rows.to_vec()
    } else {
        held_out.to_vec()
    };
    let students = distill.students.max(1);
    let pool_rows: Vec<usize> = (0..teacher_rows.len()).collect();
    let draws: Vec<usize> = pool_rows
        .iter()
        .copied()
        .cycle()
        .take(pool_rows.len() * distill.draws_per_row.max(1))
        .collect();
    let rows = Assignment {
        train: vec![teacher_rows.to_vec(); students],
        val: vec![val.clone(); students],
    };
    let arch = Architecture {
        inputs: data.inputs(),
        outputs: data.outputs(),
        components: distill.components,
        hidden: distill.hidden.clone(),
        activation: config.activation,
        sigma: config.sigma,
        sigma_floor: config.sigma_floor,
    };
    let layout = Members::layout_of(&arch)?;
    let plan = Plan {
        init: (0..students)
            .map(|s| Members::initial(&layout, network_seed(config.seed, s, STREAM_STUDENT_INIT)))
            .collect(),
        components: vec![distill.components; students],
        noise: vec![0.0; students],
        arch,
        layout,
    };
    let networks = Members::new(
        plan.arch.clone(),
        &plan.layout,
        &plan.init,
        &plan.components,
    )?;
    let mut batches = DrawBatches {
        pool: &pool,
        orders: vec![draws.iter().map(|&r| r as u32).collect(); students],
        rngs: (0..students)
            .map(|s| Pcg64Mcg::seed_from_u64(network_seed(config.seed, s, STREAM_DRAWS)))
            .collect(),
        to_original: scaled.to_original(teacher_rows),
        device: Device::Cpu,
    };
    let validation = Validation::new(&scaled, &rows.val)?;
    let run = fit(
        &networks,
        &mut batches,
        validation.as_ref(),
        &rows,
        config,
        Some(on_epoch),
    )?;
    let kept = (0..students)
        .min_by(|&a, &b| {
            let score = |s: usize| run.networks[s].best_val_nll.unwrap_or(f64::INFINITY);
            score(a).total_cmp(&score(b))
        })
        .unwrap_or(0);
    let group = Group {
        range: 0..students,
        networks,
        run,
    };
    let mut blobs = network_blobs(std::slice::from_ref(&group), &plan, scalers, data)?;
    let blob = blobs.swap_remove(kept);
    let nll = |bytes: &[u8]| -> Result<f64> {
        let model = mdn_core::HostModel::from_bytes(bytes).map_err(|source| Error::Core {
            context: "validating the student".into(),
            source,
        })?;
        let mut sum = 0.0;
        for &row in &val {
            let lp = model
                .log_prob(data.row_x(row), data.row_y(row))
                .map_err(|source| Error::Core {
                    context: format!("scoring row {}", data.lines[row]),
                    source,
                })?;
            sum -= f64::from(lp);
        }
        Ok(sum / val.len().max(1) as f64)
    };
    Ok(Distilled {
        val_nll: nll(&blob)?,
        teacher_nll: nll(teacher)?,
        metrics: group.run.metrics.iter().map(|(m, _)| *m).collect(),
        runs: group.run.networks,
        kept,
        blob,
        val_rows: val.len(),
        held_out: !held_out.is_empty(),
    })
}
