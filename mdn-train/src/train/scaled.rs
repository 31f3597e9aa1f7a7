//! The data set scaled once, as tensors, and the rows each network is validated on.

use candle_core::{Device, Tensor};
use mdn_core::TargetTransform;
use rand::RngExt;
use rand_pcg::Pcg64Mcg;

use crate::{
    data::Dataset,
    error::{Error, Result},
    networks::Networks,
    scaling::{self, Scalers},
};

/// The whole data set scaled, as tensors, and the constant that converts a mean NLL from
/// scaled to original units.
pub(crate) struct Scaled {
    /// Standard deviation of each scaled feature and target over all rows.
    pub(crate) x_std: Vec<f32>,
    pub(crate) u_std: Vec<f32>,
    pub(crate) xs: Tensor,
    pub(crate) us: Tensor,
    inputs: usize,
    outputs: usize,
    /// `sum_d ln(scale_d)`.
    log_scale: f64,
    /// Per-row `sum_d ln y_d` for a log target (the Jacobian), else zeros.
    jacobian: Vec<f64>,
}

impl Scaled {
    pub(crate) fn new(data: &Dataset, scalers: &Scalers, device: &Device) -> Result<Self> {
        let rows = data.len();
        let (f, d) = (data.inputs(), data.outputs());
        let xs = scalers.input.apply(&data.x);
        let t = scaling::transform_targets(&data.y, scalers.transform);
        let us = scalers.target.apply(&t);
        let log_scale: f64 = scalers
            .target
            .scale
            .iter()
            .map(|&s| f64::from(s).ln())
            .sum();
        let jacobian = match scalers.transform {
            TargetTransform::Identity => vec![0.0; rows],
            TargetTransform::Log => t
                .chunks(d.max(1))
                .map(|row| row.iter().map(|&v| f64::from(v)).sum())
                .collect(),
        };
        let column_std = |values: &[f32], cols: usize| -> Vec<f32> {
            (0..cols)
                .map(|j| {
                    let col: Vec<f64> = values
                        .iter()
                        .skip(j)
                        .step_by(cols.max(1))
                        .map(|&v| f64::from(v))
                        .collect();
                    let mean = col.iter().sum::<f64>() / col.len().max(1) as f64;
                    let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f64>()
                        / col.len().max(1) as f64;
                    var.sqrt() as f32
                })
                .collect()
        };
        let x_std = column_std(&xs, f);
        let u_std = column_std(&us, d);
        Ok(Scaled {
            x_std,
            u_std,
            xs: Tensor::from_vec(xs, (rows, f), device)?,
            us: Tensor::from_vec(us, (rows, d), device)?,
            inputs: f,
            outputs: d,
            log_scale,
            jacobian,
        })
    }

    /// `[M, n, len(std)]` Gaussian noise, network `m`'s column `j` with standard
    /// deviation `levels[m] * std[j]`.
    pub(crate) fn noise(
        &self,
        rng: &mut Pcg64Mcg,
        n: usize,
        std: &[f32],
        levels: &[f32],
    ) -> Result<Tensor> {
        let cols = std.len();
        let per_network = n * cols;
        let values: Vec<f32> = (0..levels.len() * per_network)
            .map(|i| {
                let z: f32 = rng.sample(rand_distr::StandardNormal);
                z * levels[i / per_network] * std[i % cols]
            })
            .collect();
        Ok(Tensor::from_vec(
            values,
            (levels.len(), n, cols),
            self.xs.device(),
        )?)
    }

    /// Mean of the per-row offsets to original units over `rows`.
    pub(crate) fn to_original(&self, rows: &[usize]) -> f64 {
        let jacobian =
            rows.iter().map(|&i| self.jacobian[i]).sum::<f64>() / rows.len().max(1) as f64;
        self.log_scale + jacobian
    }

    /// `[M, n, F]` inputs and `[M, n, D]` targets of the given rows, network-major.
    pub(crate) fn gather(&self, rows: &[u32], networks: usize) -> Result<(Tensor, Tensor)> {
        let n = rows.len() / networks.max(1);
        let idx = Tensor::from_slice(rows, rows.len(), self.xs.device())?;
        let xs = self
            .xs
            .index_select(&idx, 0)?
            .reshape((networks, n, self.inputs))?;
        let us = self
            .us
            .index_select(&idx, 0)?
            .reshape((networks, n, self.outputs))?;
        Ok((xs, us))
    }
}

/// Every network's validation rows padded to one length, with weights `1 / rows` (0 on
/// padding) so that `sum(weights * ln p)` is each network's mean log-likelihood.
pub(crate) struct Validation {
    xs: Tensor,
    us: Tensor,
    weights: Tensor,
    /// Offset to original units per network.
    to_original: Vec<f64>,
}

impl Validation {
    /// `None` when no network has validation rows (`--val-fraction 0`). Every network
    /// has some otherwise ([`crate::train::TrainConfig::validate_rows`]).
    pub(crate) fn new(scaled: &Scaled, val: &[Vec<usize>]) -> Result<Option<Self>> {
        let longest = val.iter().map(Vec::len).max().unwrap_or(0);
        if longest == 0 {
            return Ok(None);
        }
        if val.iter().any(Vec::is_empty) {
            return Err(Error::InvalidOption {
                option: "--folds",
                expected: "at least one validation row for every network".into(),
                found: "a network without validation rows".into(),
            });
        }
        let networks = val.len();
        let mut rows = Vec::with_capacity(networks * longest);
        let mut weights = Vec::with_capacity(networks * longest);
        for fold in val {
            let w = 1.0 / fold.len() as f32;
            for j in 0..longest {
                // Padding repeats a real row (finite values) with weight 0.
                rows.push(fold.get(j).copied().unwrap_or(fold[0]) as u32);
                weights.push(if j < fold.len() { w } else { 0.0 });
            }
        }
        let (xs, us) = scaled.gather(&rows, networks)?;
        Ok(Some(Validation {
            xs,
            us,
            weights: Tensor::from_vec(weights, (networks, longest), scaled.xs.device())?,
            to_original: val.iter().map(|fold| scaled.to_original(fold)).collect(),
        }))
    }

    /// Each network's validation NLL, original units.
    pub(crate) fn nll(&self, networks: &Networks) -> Result<Vec<f64>> {
        let lp = networks.log_density(&self.xs, &self.us, false)?;
        let mean = (lp * &self.weights)?.sum(1)?.to_vec1::<f32>()?;
        Ok(mean
            .iter()
            .zip(&self.to_original)
            .map(|(&m, &o)| -f64::from(m) + o)
            .collect())
    }
}
