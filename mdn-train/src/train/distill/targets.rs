//! What a student learns from at each step: the teacher's mixture at a batch of points,
//! as weighted draws (the expected log-density) or as its log-density at fixed nodes.

use candle_core::{Device, Tensor};
use rand::{RngExt, SeedableRng, seq::SliceRandom};
use rand_pcg::Pcg64Mcg;

use super::pool::Pool;
use crate::{
    error::Result,
    train::fit::{Batch, Batches},
};

/// The student's objective at each point.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub enum Objective {
    /// `-E_teacher[ln p_student(y|x)]` (the cross-entropy: `KL(teacher || student)` up to
    /// the teacher's entropy), estimated each step from `draws` importance-weighted draws
    /// per point from the teacher's mixture with its sigmas times `widen`.
    ExpectedNll {
        /// Draws per point and step.
        draws: usize,
        /// Factor on the proposal's sigmas.
        widen: f32,
    },
    /// Half the mean squared difference of the log-densities, `(ln p_student(u|x) -
    /// ln p_teacher(u|x))^2 / 2`, at `nodes` fixed draws per point from the teacher's
    /// mixture with its sigmas times `widen`.
    LogDensity {
        /// Nodes per point.
        nodes: usize,
        /// Factor on the proposal's sigmas.
        widen: f32,
    },
}

/// Fixed nodes of every point of a pool, with the teacher's log-density at each.
pub(super) struct Nodes {
    per_point: usize,
    /// `[point][node][output]`.
    targets: Vec<f32>,
    /// `[point][node]`.
    log_density: Vec<f32>,
}

impl Nodes {
    /// `per_point` draws from each point's mixture widened by `widen`.
    pub(super) fn new(pool: &Pool, points: usize, per_point: usize, widen: f32, seed: u64) -> Self {
        let d = pool.outputs;
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut targets = vec![0.0_f32; points * per_point * d];
        let mut log_density = Vec::with_capacity(points * per_point);
        let mut weights = Vec::with_capacity(per_point);
        for (point, u) in targets.chunks_exact_mut(per_point * d).enumerate() {
            weights.clear();
            pool.draw(point, widen, &mut rng, u, &mut weights);
            log_density.extend(u.chunks_exact(d).map(|u| pool.log_density(point, u) as f32));
        }
        Nodes {
            per_point,
            targets,
            log_density,
        }
    }
}

/// One student's minibatches: its own order of the pool's rows, a random point of each
/// row's copies, and the objective's targets there.
pub(super) struct TeacherBatches<'a> {
    pub(super) pool: &'a Pool,
    pub(super) objective: Objective,
    pub(super) nodes: Option<&'a Nodes>,
    /// Pool rows, each as often as it is drawn per epoch.
    pub(super) order: Vec<u32>,
    pub(super) rng: Pcg64Mcg,
    /// The real rows' offset from scaled to original units.
    pub(super) to_original: f64,
}

impl Batches for TeacherBatches<'_> {
    fn rows_per_epoch(&self) -> usize {
        self.order.len()
    }

    fn shuffle(&mut self) {
        self.order.shuffle(&mut self.rng);
    }

    fn batch(&mut self, first: usize, size: usize) -> Result<Batch> {
        let pool = self.pool;
        let (f, d) = (pool.inputs, pool.outputs);
        let targets = match self.objective {
            Objective::ExpectedNll { draws, .. } => draws.max(1),
            Objective::LogDensity { nodes, .. } => nodes,
        };
        let mut xs = Vec::with_capacity(size * f);
        let mut us = vec![0.0_f32; size * targets * d];
        let mut values = Vec::with_capacity(size * targets);
        for (&row, u) in self.order[first..first + size]
            .iter()
            .zip(us.chunks_exact_mut(targets * d))
        {
            let copy = self.rng.random_range(0..pool.copies);
            let point = pool.point(row as usize, copy);
            xs.extend_from_slice(pool.x(point));
            match (self.objective, self.nodes) {
                (Objective::LogDensity { .. }, Some(nodes)) => {
                    let at = point * nodes.per_point;
                    u.copy_from_slice(&nodes.targets[at * d..(at + targets) * d]);
                    values.extend_from_slice(&nodes.log_density[at..at + targets]);
                }
                (Objective::ExpectedNll { .. }, _) | (_, None) => {
                    let widen = match self.objective {
                        Objective::ExpectedNll { widen, .. } => widen,
                        Objective::LogDensity { widen, .. } => widen,
                    };
                    pool.draw(point, widen, &mut self.rng, u, &mut values);
                }
            }
        }
        let device = Device::Cpu;
        let xs = Tensor::from_vec(xs, (1, size, f), &device)?;
        let us = Tensor::from_vec(us, (1, size, targets * d), &device)?;
        Ok(match self.objective {
            Objective::ExpectedNll { .. } => Batch {
                xs,
                us,
                weights: Some(values),
                log_targets: None,
            },
            Objective::LogDensity { .. } => Batch {
                xs,
                us,
                weights: None,
                log_targets: Some(Tensor::from_vec(values, (1, size, targets), &device)?),
            },
        })
    }

    fn to_original(&self) -> Vec<f64> {
        vec![self.to_original]
    }
}
