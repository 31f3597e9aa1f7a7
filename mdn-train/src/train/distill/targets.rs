//! What a student learns from: the teacher's log-density at fixed nodes of every point.

use candle_core::{Device, Tensor};
use rand::{RngExt, SeedableRng, seq::SliceRandom};
use rand_pcg::Pcg64Mcg;

use super::pool::Pool;
use crate::{
    error::Result,
    train::fit::{Batch, Batches},
};

/// Fixed nodes of every point of a pool, with the teacher's log-density at each.
pub(super) struct Nodes {
    per_point: usize,
    /// `[point][node][output]`, scaled.
    targets: Vec<f32>,
    /// `[point][node]`, scaled units.
    log_density: Vec<f32>,
    /// `[point][node]`: the teacher's density over the density the node was drawn from,
    /// normalised over each point's nodes (importance weights: `sum_s w_s f(u_s)`
    /// estimates the teacher's expectation of `f`).
    weights: Vec<f32>,
}

impl Nodes {
    /// `per_point` draws from each point's mixture with its sigmas times `widen`.
    pub(super) fn new(pool: &Pool, per_point: usize, widen: f32, seed: u64) -> Self {
        let d = pool.outputs;
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let mut targets = vec![0.0_f32; pool.points() * per_point * d];
        let mut log_density = Vec::with_capacity(pool.points() * per_point);
        let mut weights = Vec::with_capacity(pool.points() * per_point);
        for (point, u) in targets.chunks_exact_mut(per_point * d).enumerate() {
            pool.draw(point, widen, &mut rng, u);
            let ratios: Vec<f64> = u
                .chunks_exact(d)
                .map(|u| {
                    let teacher = pool.log_density(point, 1.0, u);
                    log_density.push(teacher as f32);
                    teacher - pool.log_density(point, widen, u)
                })
                .collect();
            let max = ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = ratios.iter().map(|r| (r - max).exp()).sum();
            weights.extend(ratios.iter().map(|r| ((r - max).exp() / sum) as f32));
        }
        Nodes {
            per_point,
            targets,
            log_density,
            weights,
        }
    }
}

/// One student's minibatches: its own order of the pool's rows, a random point of each
/// row's copies, and the teacher's log-density at that point's nodes.
pub(super) struct TeacherBatches<'a> {
    pub(super) pool: &'a Pool,
    pub(super) nodes: &'a Nodes,
    /// Pool rows, each as often as it is taken per epoch.
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
        let (pool, nodes) = (self.pool, self.nodes);
        let (f, d, s) = (pool.inputs, pool.outputs, nodes.per_point);
        let mut xs = Vec::with_capacity(size * f);
        let mut us = Vec::with_capacity(size * s * d);
        let mut log_densities = Vec::with_capacity(size * s);
        let mut weights = Vec::with_capacity(size * s);
        for &row in &self.order[first..first + size] {
            let point = pool.point(row as usize, self.rng.random_range(0..pool.copies));
            xs.extend_from_slice(pool.x(point));
            us.extend_from_slice(&nodes.targets[point * s * d..(point + 1) * s * d]);
            log_densities.extend_from_slice(&nodes.log_density[point * s..(point + 1) * s]);
            weights.extend_from_slice(&nodes.weights[point * s..(point + 1) * s]);
        }
        let device = Device::Cpu;
        Ok(Batch::LogDensities {
            xs: Tensor::from_vec(xs, (1, size, f), &device)?,
            us: Tensor::from_vec(us, (1, size, s * d), &device)?,
            log_densities: Tensor::from_vec(log_densities, (1, size, s), &device)?,
            weights: Tensor::from_vec(weights, (1, size, s), &device)?,
        })
    }

    fn to_original(&self) -> Vec<f64> {
        vec![self.to_original]
    }
}
