//! Distillation: one student network learns the teacher's whole predictive distribution.
//!
//! The teacher (an ensemble from [`crate::train::train`]) is too large for a device; a
//! single network trained on the data alone loses what the ensemble won. The student
//! learns from the teacher instead of from the data: at every training input, and at
//! inputs jittered around it, it learns the teacher's log-density at fixed target values
//! drawn from the teacher's widened mixture (the nodes of `targets`), so it
//! fits the teacher's averaged density rather than the noise of a few rows, and it sees
//! the density between rows too.
//!
//! The teacher's mixtures are computed once, by mdn-core from the teacher's blob (what a
//! device would compute), at `copies` points per row: the row itself and `copies - 1`
//! jittered ones, each scaled feature moved by Gaussian noise of `jitter / sqrt(F)` for
//! `F` features: the move has a root-mean-square length of `jitter` standard deviations
//! whatever the number of inputs. Each step takes a random point of each row of the batch.
//!
//! The student stops early on real rows, never on test data: the rows the teacher
//! validated on when it held some out (`--val-fraction`: neither the teacher nor the
//! student learned from them), else every training row (with folds the teacher learned
//! from every row, so these figures are in-sample for the teacher; the student never
//! sees their targets, only the teacher's density).
//!
//! A student that starts from a teacher network is written only if that network is not
//! clearly better on the rows it never learned from ([`choose`]); of the students, the one
//! closest to the teacher is written.

mod pool;
mod targets;

use candle_core::Device;
use pool::Pool;
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;
use targets::{Nodes, TeacherBatches};

use crate::{
    aligned::AlignedBytes,
    data::Dataset,
    error::{Error, Result},
    model::Architecture,
    networks::Networks,
    train::{
        EpochMetrics, Group, NetworkRun, Plan, TrainConfig, Trained,
        fit::fit,
        network_blobs,
        rows::{Assignment, network_seed},
        scaled::{Scaled, Validation},
    },
};

/// Initial weights of the students.
const STREAM_STUDENT_INIT: u64 = 4;
/// The students' row order and draws.
const STREAM_DRAWS: u64 = 6;
/// The nodes.
const STREAM_NODES: u64 = 7;

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
    /// Root-mean-square length of the jitter, in standard deviations of the scaled
    /// features: each of `F` features moves by Gaussian noise of `jitter / sqrt(F)`.
    pub jitter: f32,
    /// Nodes per point at which the student learns the teacher's log-density.
    pub nodes: usize,
    /// Factor on the teacher's sigmas when drawing the nodes, so that they reach into
    /// its tails.
    pub widen: f32,
    /// Students trained side by side (each on a thread) from different initial weights;
    /// the best on the validation rows is kept.
    pub students: usize,
    /// Points per epoch at the least: small data sets take each row several times an
    /// epoch, so that an epoch, and with it the patience of early stopping, spans enough
    /// steps.
    pub min_points_per_epoch: usize,
    /// Largest number of values the teacher's mixtures may take, which caps `copies` for
    /// large data sets.
    pub max_pool_values: usize,
    /// Points per minibatch.
    pub batch: usize,
    /// Adam's learning rate.
    pub lr: f64,
    /// Epochs without a better validation NLL before the learning-rate drop, and before
    /// the stop after it (the teacher's `lr_drops` and `lr_drop_factor` apply).
    pub patience: usize,
    /// Patience after a drop.
    pub drop_patience: usize,
    /// Epochs without a better validation NLL before the learning rate halves (again after
    /// as many more, down to `lr / 64`); 0 keeps it until the drop.
    pub lr_patience: usize,
}

impl Default for DistillConfig {
    fn default() -> Self {
        DistillConfig {
            hidden: vec![32, 32],
            components: 5,
            copies: 16,
            jitter: 0.2,
            nodes: 8,
            widen: 1.5,
            students: 2,
            min_points_per_epoch: 2048,
            max_pool_values: 1 << 24,
            batch: 128,
            lr: 2e-3,
            patience: 100,
            drop_patience: 30,
            lr_patience: 0,
        }
    }
}

/// The outcome of [`distill`].
#[derive(Debug)]
pub struct Distilled {
    /// The student's blob: one network.
    pub blob: AlignedBytes,
    /// The kept student's epochs: its cross-entropy against the teacher as `train_nll`
    /// (the importance-weighted NLL of the teacher's draws at the pool's points, original
    /// units), its NLL on the validation rows.
    pub metrics: Vec<EpochMetrics>,
    /// How each student's training went; `kept` is the one written.
    pub runs: Vec<NetworkRun>,
    /// Index of the kept student.
    pub kept: usize,
    /// Whether the blob is the teacher network the kept student started from, unchanged:
    /// no epoch of distillation beat it on the rows that network never learned from.
    pub kept_warm_start: bool,
    /// The kept student's NLL on the validation rows, nats per row, original units.
    pub val_nll: f64,
    /// The teacher's NLL on the same rows (mdn-core), for comparison.
    pub teacher_nll: f64,
    /// Rows the student stopped early on.
    pub val_rows: usize,
    /// Whether those rows were held out from the teacher too.
    pub held_out: bool,
}

/// Trains [`DistillConfig::students`] students of `distill`'s shape on `teacher`'s
/// density (what [`crate::train::train`] made of `data` with `config`) and keeps the best
/// on the validation rows.
///
/// # Errors
///
/// An invalid teacher blob, or a candle error.
///
/// # Panics
///
/// Only if a student's thread panics (a bug): its panic goes on in the caller.
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
    teacher: &Trained,
    config: &TrainConfig,
    distill: &DistillConfig,
    on_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<Distilled> {
    let scalers = &teacher.scalers;
    let teacher_rows = &teacher.rows_learned[..];
    let val = if teacher.rows_held_out.is_empty() {
        teacher_rows.to_vec()
    } else {
        teacher.rows_held_out.clone()
    };
    let teacher_model =
        mdn_core::HostModel::from_bytes(&teacher.blob).map_err(|source| Error::Core {
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
        distill.copies,
        distill.jitter,
        distill.max_pool_values,
        config.seed,
    )?;
    let nodes = Nodes::new(
        &pool,
        distill.nodes,
        distill.widen,
        network_seed(config.seed, 0, STREAM_NODES),
    );
    let student_config = TrainConfig {
        batch: distill.batch,
        lr: distill.lr,
        patience: distill.patience,
        drop_patience: distill.drop_patience,
        lr_patience: distill.lr_patience,
        ..config.clone()
    };
    let students = distill.students.max(1);
    // Every row the same number of times an epoch, at least `min_points_per_epoch` in all.
    let repeats = distill
        .min_points_per_epoch
        .div_ceil(teacher_rows.len().max(1))
        .max(1);
    let order: Vec<u32> = (0..teacher_rows.len() as u32)
        .cycle()
        .take(teacher_rows.len() * repeats)
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
    let layout = Networks::layout_of(&arch)?;
    let warm = warm_starts(teacher, &arch, students)?;
    let init = match &warm {
        Some(warm) => warm.iter().map(|w| w.parameters.clone()).collect(),
        None => (0..students)
            .map(|s| Networks::initial(&layout, network_seed(config.seed, s, STREAM_STUDENT_INIT)))
            .collect(),
    };
    let plan = Plan {
        init,
        components: vec![distill.components; students],
        noise: vec![0.0; students],
        arch,
        layout,
    };
    let validation = Validation::new(&scaled, &rows.val[..1])?;
    let train_student =
        |s: usize, on_epoch: Option<&mut dyn FnMut(&EpochMetrics)>| -> Result<Group> {
            let networks = Networks::new(
                plan.arch.clone(),
                &plan.layout,
                &plan.init[s..s + 1],
                &plan.components[s..s + 1],
            )?;
            let mut batches = TeacherBatches {
                pool: &pool,
                nodes: &nodes,
                order: order.clone(),
                rng: Pcg64Mcg::seed_from_u64(network_seed(config.seed, s, STREAM_DRAWS)),
                to_original: scaled.to_original(teacher_rows),
            };
            let run = fit(
                &networks,
                &mut batches,
                validation.as_ref(),
                &rows.slice(s..s + 1),
                &student_config,
                on_epoch,
            )?;
            Ok(Group {
                range: s..s + 1,
                networks,
                run,
            })
        };
    // Each student on a thread of its own (one after the other with `jobs` 1): a student
    // does not depend on the others nor on the number of threads. `on_epoch` follows the
    // first.
    let groups: Vec<Group> = if config.jobs == 1 || super::cores() < 2 {
        let mut on_epoch = Some(on_epoch);
        (0..students)
            .map(|s| train_student(s, on_epoch.take()))
            .collect::<Result<_>>()?
    } else {
        std::thread::scope(|scope| {
            let others: Vec<_> = (1..students)
                .map(|s| scope.spawn(move || train_student(s, None)))
                .collect();
            let mut groups = vec![train_student(0, Some(on_epoch))];
            for handle in others {
                groups.push(
                    handle
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p)),
                );
            }
            groups.into_iter().collect::<Result<Vec<Group>>>()
        })?
    };
    let mut blobs = network_blobs(&groups, &plan, scalers, data)?;
    let choices = (0..students)
        .map(|s| {
            choose(
                data,
                teacher,
                &val,
                &blobs[s],
                warm.as_ref().map(|w| w[s].network),
            )
        })
        .collect::<Result<Vec<Choice>>>()?;
    let kept = (0..students)
        .min_by(|&a, &b| choices[a].gap.total_cmp(&choices[b].gap))
        .unwrap_or(0);
    let blob = match choices[kept].warm_start {
        Some(m) => AlignedBytes::from_slice(&teacher.ensemble.networks[m]),
        None => blobs.swap_remove(kept),
    };
    Ok(Distilled {
        val_nll: nll(data, &blob, &val, "the student")?,
        teacher_nll: nll(data, &teacher.blob, &val, "the teacher")?,
        metrics: groups[kept].run.metrics.iter().map(|(m, _)| *m).collect(),
        runs: groups.iter().flat_map(|g| g.run.networks.clone()).collect(),
        kept,
        kept_warm_start: choices[kept].warm_start.is_some(),
        blob,
        val_rows: val.len(),
        held_out: !teacher.rows_held_out.is_empty(),
    })
}

/// What one student leaves: itself or the teacher network it started from, and how much
/// worse than the teacher that is on rows where the comparison is fair.
struct Choice {
    /// The teacher network kept instead of the student, if any.
    warm_start: Option<usize>,
    /// NLL above the teacher's, nats per row: a student's on the stopping rows, a kept
    /// teacher network's on the rows it never learned from.
    gap: f64,
}

/// Keeps a student, or the teacher network `warm_start` it started from when that network
/// is clearly better on the rows it never learned from (distillation must not make a good
/// start worse; on the rows it learned from, a teacher network scores in-sample and would
/// always look better), and scores the choice against the teacher.
fn choose(
    data: &Dataset,
    teacher: &Trained,
    val: &[usize],
    student: &[u8],
    warm_start: Option<usize>,
) -> Result<Choice> {
    if let Some(m) = warm_start {
        let unseen = &teacher.network_held_out[m][..];
        let start = &teacher.ensemble.networks[m][..];
        let start_lp = log_densities(data, start, unseen, "the teacher's network")?;
        let student_lp = log_densities(data, student, unseen, "the student")?;
        if clearly_better(&start_lp, &student_lp) {
            let start_nll = -start_lp.iter().sum::<f64>() / unseen.len() as f64;
            return Ok(Choice {
                warm_start: Some(m),
                gap: start_nll - nll(data, &teacher.blob, unseen, "the teacher")?,
            });
        }
    }
    Ok(Choice {
        warm_start: None,
        gap: nll(data, student, val, "the student")?
            - nll(data, &teacher.blob, val, "the teacher")?,
    })
}

/// A student's initial weights, taken from one network of the teacher.
struct WarmStart {
    /// The network's index in the teacher's ensemble.
    network: usize,
    /// Its parameters, in layout order.
    parameters: Vec<f32>,
}

/// Initial weights for `students` students of `arch` from the teacher's heaviest
/// networks of the student's shape and number of components (`None` when it has none):
/// a student then starts from a good model of the data and only has to learn what the
/// ensemble adds. (A network of a candidate with fewer components is stored with copies
/// of them, which gradients would never tell apart.)
fn warm_starts(
    teacher: &Trained,
    arch: &Architecture,
    students: usize,
) -> Result<Option<Vec<WarmStart>>> {
    let ensemble = &teacher.ensemble;
    let kept: Vec<&crate::train::CandidateRun> = teacher
        .candidates
        .iter()
        .filter(|c| c.weight > 0.0)
        .collect();
    let per_candidate = ensemble.networks.len() / kept.len().max(1);
    let mut order: Vec<usize> = (0..ensemble.networks.len())
        .filter(|&m| {
            kept.get(m / per_candidate.max(1))
                .is_some_and(|c| c.components == arch.components)
        })
        .collect();
    if order.is_empty() {
        return Ok(None);
    }
    // Heaviest first; the sort is stable, so ties keep the ensemble's order.
    order.sort_by(|&a, &b| ensemble.log_weights[b].total_cmp(&ensemble.log_weights[a]));
    let mut init = Vec::with_capacity(students);
    for &m in order.iter().cycle().take(students) {
        let network = crate::model::Mdn::from_blob(&ensemble.networks[m], "the teacher".as_ref())?;
        if network.architecture() != arch {
            return Ok(None);
        }
        init.push(WarmStart {
            network: m,
            parameters: network.parameters()?,
        });
    }
    Ok(Some(init))
}

/// The NLL of a blob on `rows` of `data`, by mdn-core.
fn nll(data: &Dataset, blob: &[u8], rows: &[usize], what: &str) -> Result<f64> {
    let sum: f64 = log_densities(data, blob, rows, what)?.iter().sum();
    Ok(-sum / rows.len().max(1) as f64)
}

/// `ln p(y|x)` of a blob on each of `rows` of `data`, by mdn-core.
fn log_densities(data: &Dataset, blob: &[u8], rows: &[usize], what: &str) -> Result<Vec<f64>> {
    let model = mdn_core::HostModel::from_bytes(blob).map_err(|source| Error::Core {
        context: format!("validating {what}"),
        source,
    })?;
    rows.iter()
        .map(|&row| {
            model
                .log_prob(data.row_x(row), data.row_y(row))
                .map(f64::from)
                .map_err(|source| Error::Core {
                    context: format!("scoring {what} on row {}", data.lines[row]),
                    source,
                })
        })
        .collect()
}

/// Whether `a` is better than `b` with confidence: the mean of the per-row differences
/// of their log-densities is more than two standard errors above zero. On a fold of a few
/// dozen rows a plain comparison is mostly noise (mcycle at seed 2: a 21-row fold kept a
/// network that scored 4.27 nats on the test rows against the student's 3.92).
fn clearly_better(a: &[f64], b: &[f64]) -> bool {
    let n = a.len().min(b.len());
    if n < 2 {
        return false;
    }
    let d: Vec<f64> = a.iter().zip(b).map(|(a, b)| a - b).collect();
    let mean = d.iter().sum::<f64>() / n as f64;
    let var = d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    mean > 2.0 * (var / n as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::clearly_better;

    #[test]
    fn clearly_better_needs_more_than_noise() {
        // The same values: no difference.
        let a = [1.0, 2.0, 3.0, 4.0];
        assert!(!clearly_better(&a, &a));
        // Better by 0.5 on every row: the difference has no spread, so it is clear.
        let b: Vec<f64> = a.iter().map(|v| v - 0.5).collect();
        assert!(clearly_better(&a, &b) && !clearly_better(&b, &a));
        // Better by 0.1 on average, but by +3 or -2.8 row to row: mean 0.1, standard error
        // about 1.7 over 4 rows, so not clear.
        let c = [a[0] - 3.0, a[1] + 2.8, a[2] - 3.0, a[3] + 2.8];
        assert!(!clearly_better(&a, &c));
        // Too few rows to tell.
        assert!(!clearly_better(&[1.0], &[0.0]));
    }
}
