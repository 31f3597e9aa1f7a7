//! Point-prediction baselines with a constant Gaussian sigma, to show in numbers what the
//! mixture buys: the null model, linear least squares, and the same MLP trained on MSE.
//!
//! Each baseline predicts `N(f(x), sigma^2)` independently per target dimension, with
//! `sigma` the RMS of its residuals on the training rows; NLL is in nats per row in
//! original units, summed over dimensions, as the MDN's.

use candle_core::{Device, Tensor, Var};
use candle_nn::{AdamW, Module, Optimizer, ParamsAdamW};
use rand::{RngExt, SeedableRng, seq::SliceRandom};

use crate::{
    data::{Dataset, MIN_TRAIN_ROWS},
    error::Result,
    scaling::{Scaler, ScalerKind},
    train::TrainConfig,
};

/// Which kind of model a [`Score`] is of.
///
/// # Examples
///
/// See [`Score`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Predictor {
    /// The null model ([`null`]).
    Null,
    /// Linear least squares ([`linear`]).
    Linear,
    /// The MLP trained on MSE ([`mlp`]).
    Mlp,
    /// The mixture density network `mdn train` writes (scored by the caller).
    Mdn,
    /// The teacher's ensemble, when the MDN written is a student distilled from it.
    MdnEnsemble,
}

/// One line of the comparison table.
///
/// # Examples
///
/// ```
/// use mdn_train::{baselines::{Predictor, null}, synth::{Kind, generate}};
/// let s = null(&generate(Kind::Hetero, 50, 1), &generate(Kind::Hetero, 50, 2));
/// assert_eq!((s.kind, s.name.as_str()), (Predictor::Null, "null (mean, std)"));
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Score {
    /// What kind of model it is (not in the JSON, whose `name` says it).
    #[serde(skip)]
    pub kind: Predictor,
    /// Model name.
    pub name: String,
    /// Mean test NLL, nats per row, original units.
    pub nll: f64,
    /// Test RMSE of the point prediction (the predictive mean for the MDN).
    pub rmse: f64,
}

/// `ln(2 pi) / 2`.
const HALF_LN_TWO_PI: f64 = 0.918_938_533_204_672_7;

/// Scores point predictions `pred` (row-major like `data.y`) with per-dimension `sigma`.
fn score(kind: Predictor, name: &str, data: &Dataset, pred: &[f64], sigma: &[f64]) -> Score {
    let d = data.outputs();
    let mut nll = 0.0;
    let mut sq = 0.0;
    for (i, (&y, &p)) in data.y.iter().zip(pred).enumerate() {
        let s = sigma[i % d];
        let r = (f64::from(y) - p) / s;
        nll += 0.5 * r * r + s.ln() + HALF_LN_TWO_PI;
        sq += (f64::from(y) - p).powi(2);
    }
    let rows = data.len().max(1) as f64;
    Score {
        kind,
        name: name.to_owned(),
        nll: nll / rows,
        rmse: (sq / (rows * d.max(1) as f64)).sqrt(),
    }
}

/// RMS residual per dimension, floored so that a perfect fit keeps a finite NLL.
fn residual_sigma(data: &Dataset, pred: &[f64]) -> Vec<f64> {
    let d = data.outputs();
    let mut sq = vec![0.0; d];
    for (i, (&y, &p)) in data.y.iter().zip(pred).enumerate() {
        sq[i % d] += (f64::from(y) - p).powi(2);
    }
    let rows = data.len().max(1) as f64;
    sq.iter().map(|s| (s / rows).sqrt().max(1e-12)).collect()
}

/// The null model: train mean and (population) standard deviation of each target.
///
/// # Examples
///
/// ```
/// use mdn_train::{baselines::null, synth::{Kind, generate}};
/// let s = null(&generate(Kind::Hetero, 500, 1), &generate(Kind::Hetero, 500, 2));
/// assert!(s.nll > 1.0 && s.rmse > 1.0);
/// ```
pub fn null(train: &Dataset, test: &Dataset) -> Score {
    let d = train.outputs();
    let (scaler, _) = Scaler::fit(&train.y, d, ScalerKind::Standard);
    let mean: Vec<f64> = scaler.offset.iter().map(|&m| f64::from(m)).collect();
    let mut sigma = vec![0.0; d];
    for (i, &y) in train.y.iter().enumerate() {
        sigma[i % d] += (f64::from(y) - mean[i % d]).powi(2);
    }
    let rows = train.len().max(1) as f64;
    let sigma: Vec<f64> = sigma.iter().map(|s| (s / rows).sqrt().max(1e-12)).collect();
    let pred: Vec<f64> = (0..test.len()).flat_map(|_| mean.iter().copied()).collect();
    score(Predictor::Null, "null (mean, std)", test, &pred, &sigma)
}

/// Solves `a x = b` for a symmetric positive semi-definite `a` (`n x n`, row-major) by
/// Gaussian elimination with partial pivoting.
fn solve(mut a: Vec<f64>, mut b: Vec<f64>, n: usize) -> Vec<f64> {
    for col in 0..n {
        let pivot = (col..n)
            .max_by(|&i, &j| a[i * n + col].abs().total_cmp(&a[j * n + col].abs()))
            .unwrap_or(col);
        if pivot != col {
            for k in 0..n {
                a.swap(col * n + k, pivot * n + k);
            }
            b.swap(col, pivot);
        }
        let p = a[col * n + col];
        if p.abs() < 1e-300 {
            continue;
        }
        for row in col + 1..n {
            let f = a[row * n + col] / p;
            for k in col..n {
                a[row * n + k] -= f * a[col * n + k];
            }
            b[row] -= f * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let p = a[row * n + row];
        let s: f64 = (row + 1..n).map(|k| a[row * n + k] * x[k]).sum();
        x[row] = if p.abs() < 1e-300 {
            0.0
        } else {
            (b[row] - s) / p
        };
    }
    x
}

/// Linear least squares per target on scaled inputs (with an intercept), sigma the RMS
/// training residual. A tiny ridge (1e-9 of the mean diagonal) keeps collinear inputs
/// solvable.
///
/// # Examples
///
/// ```
/// use mdn_train::{baselines::{linear, null}, synth::{Kind, generate}};
/// let (train, test) = (generate(Kind::Hetero, 500, 1), generate(Kind::Hetero, 500, 2));
/// let scale = mdn_train::scaling::InputScaling::MinMax;
/// assert!(linear(&train, &test, scale).nll < null(&train, &test).nll);
/// ```
pub fn linear(train: &Dataset, test: &Dataset, scale_x: crate::scaling::InputScaling) -> Score {
    let (f, d) = (train.inputs(), train.outputs());
    let (scaler, _) = Scaler::fit(&train.x, f, scale_x.into());
    let design = |data: &Dataset| -> Vec<f64> {
        scaler
            .apply(&data.x)
            .chunks(f)
            .flat_map(|row| std::iter::once(1.0).chain(row.iter().map(|&v| f64::from(v))))
            .collect()
    };
    let p = f + 1;
    let xtr = design(train);
    let mut xtx = vec![0.0; p * p];
    for row in xtr.chunks(p) {
        for i in 0..p {
            for j in 0..p {
                xtx[i * p + j] += row[i] * row[j];
            }
        }
    }
    let ridge = 1e-9 * (0..p).map(|i| xtx[i * p + i]).sum::<f64>() / p as f64;
    for i in 0..p {
        xtx[i * p + i] += ridge;
    }
    let coefficients: Vec<Vec<f64>> = (0..d)
        .map(|t| {
            let mut xty = vec![0.0; p];
            for (row, y) in xtr.chunks(p).zip(train.y.iter().skip(t).step_by(d)) {
                for i in 0..p {
                    xty[i] += row[i] * f64::from(*y);
                }
            }
            solve(xtx.clone(), xty, p)
        })
        .collect();
    let predict = |x: &[f64]| -> Vec<f64> {
        x.chunks(p)
            .flat_map(|row| {
                coefficients
                    .iter()
                    .map(|c| row.iter().zip(c).map(|(a, b)| a * b).sum::<f64>())
            })
            .collect()
    };
    let sigma = residual_sigma(train, &predict(&xtr));
    score(
        Predictor::Linear,
        "linear least squares",
        test,
        &predict(&design(test)),
        &sigma,
    )
}

/// The MDN's network with one linear output per target, trained on MSE of the
/// standardised target with the same optimiser, batches, split and early stopping as the
/// MDN (`config`); sigma is the RMS of its residuals on the training rows.
///
/// # Errors
///
/// [`Error::TooFewRows`](crate::Error::TooFewRows) below [`MIN_TRAIN_ROWS`] training rows
/// (the MDN's own minimum), or a candle error.
///
/// # Examples
///
/// ```no_run
/// use mdn_train::{baselines::mlp, synth::{Kind, generate}, train::TrainConfig};
/// let (train, test) = (generate(Kind::Hetero, 500, 1), generate(Kind::Hetero, 500, 2));
/// let s = mlp(&train, &test, &TrainConfig { epochs: 20, ..Default::default() }).unwrap();
/// assert!(s.rmse < 1.0);
/// ```
pub fn mlp(train: &Dataset, test: &Dataset, config: &TrainConfig) -> Result<Score> {
    // The split below needs a validation row and two to fit on; the MDN needs more.
    train.require_rows(MIN_TRAIN_ROWS)?;
    let (f, d) = (train.inputs(), train.outputs());
    let dev = Device::Cpu;
    let (xs, _) = Scaler::fit(&train.x, f, config.scale_x.into());
    let (ys, _) = Scaler::fit(&train.y, d, ScalerKind::Standard);

    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(config.seed);
    let mut widths = vec![f];
    widths.extend(&config.hidden);
    widths.push(d);
    let mut layers = Vec::new();
    let mut vars = Vec::new();
    for pair in widths.windows(2) {
        let (fan_in, fan_out) = (pair[0], pair[1]);
        let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
        let w: Vec<f32> = (0..fan_in * fan_out)
            .map(|_| rng.random_range(-limit..limit))
            .collect();
        let w = Var::from_vec(w, (fan_out, fan_in), &dev)?;
        let b = Var::zeros(fan_out, candle_core::DType::F32, &dev)?;
        layers.push(candle_nn::Linear::new(
            w.as_tensor().clone(),
            Some(b.as_tensor().clone()),
        ));
        vars.push(w);
        vars.push(b);
    }
    let activation = config.activation;
    let forward = |x: &Tensor| -> Result<Tensor> {
        let mut h = x.clone();
        for (i, layer) in layers.iter().enumerate() {
            h = layer.forward(&h)?;
            if i + 1 < layers.len() {
                h = match activation {
                    mdn_core::Activation::Relu => h.relu()?,
                    mdn_core::Activation::Tanh => h.tanh()?,
                };
            }
        }
        Ok(h)
    };

    let n = train.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    // With folds, the MLP holds out as much as one fold.
    let fraction = config
        .val_fraction
        .unwrap_or(1.0 / config.folds.max(1) as f64);
    let val_rows = if fraction > 0.0 {
        ((n as f64 * fraction).round() as usize).clamp(1, n.saturating_sub(2))
    } else {
        0
    };
    let (val_idx, fit_idx) = order.split_at(val_rows);
    let tensors = |idx: &[usize]| -> Result<(Tensor, Tensor)> {
        let sub = train.subset(idx);
        Ok((
            Tensor::from_vec(xs.apply(&sub.x), (idx.len(), f), &dev)?,
            Tensor::from_vec(ys.apply(&sub.y), (idx.len(), d), &dev)?,
        ))
    };
    let (fit_x, fit_y) = tensors(fit_idx)?;
    let val = if val_idx.is_empty() {
        None
    } else {
        Some(tensors(val_idx)?)
    };
    let mut optimizer = AdamW::new(
        vars.clone(),
        ParamsAdamW {
            lr: config.lr,
            eps: 1e-7,
            weight_decay: config.weight_decay,
            ..Default::default()
        },
    )?;
    let snapshot = |vars: &[Var]| -> Result<Vec<Tensor>> {
        Ok(vars
            .iter()
            .map(|v| v.as_tensor().copy())
            .collect::<candle_core::Result<_>>()?)
    };
    let mut best = (f64::INFINITY, 0_usize, snapshot(&vars)?);
    let mut batch_order: Vec<u32> = (0..fit_idx.len() as u32).collect();
    for epoch in 1..=config.epochs {
        batch_order.shuffle(&mut rng);
        for chunk in batch_order.chunks(config.batch) {
            let idx = Tensor::from_slice(chunk, chunk.len(), &dev)?;
            let pred = forward(&fit_x.index_select(&idx, 0)?)?;
            let loss = (pred - fit_y.index_select(&idx, 0)?)?.sqr()?.mean_all()?;
            if !loss.to_scalar::<f32>()?.is_finite() {
                break;
            }
            optimizer.backward_step(&loss)?;
        }
        if let Some((vx, vy)) = &val {
            let mse = f64::from((forward(vx)? - vy)?.sqr()?.mean_all()?.to_scalar::<f32>()?);
            if mse < best.0 {
                best = (mse, epoch, snapshot(&vars)?);
            } else if epoch - best.1 >= config.patience {
                break;
            }
        }
    }
    if val.is_some() {
        for (v, t) in vars.iter().zip(&best.2) {
            v.set(t)?;
        }
    }
    let predict = |data: &Dataset| -> Result<Vec<f64>> {
        let x = Tensor::from_vec(xs.apply(&data.x), (data.len(), f), &dev)?;
        let u = forward(&x)?.flatten_all()?.to_vec1::<f32>()?;
        Ok(u.iter()
            .enumerate()
            .map(|(i, &u)| f64::from(u) * f64::from(ys.scale[i % d]) + f64::from(ys.offset[i % d]))
            .collect())
    };
    let fit_data = train.subset(fit_idx);
    let sigma = residual_sigma(&fit_data, &predict(&fit_data)?);
    Ok(score(
        Predictor::Mlp,
        "MLP on MSE, constant sigma",
        test,
        &predict(test)?,
        &sigma,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Kind, generate};

    #[test]
    fn the_mlp_refuses_too_few_rows_instead_of_panicking() {
        let test = generate(Kind::Hetero, 5, 2);
        let config = TrainConfig {
            epochs: 1,
            hidden: vec![2],
            ..TrainConfig::default()
        };
        for n in 0..MIN_TRAIN_ROWS {
            let err = mlp(&generate(Kind::Hetero, n, 1), &test, &config).unwrap_err();
            assert!(
                matches!(err, crate::Error::TooFewRows { found, min: MIN_TRAIN_ROWS, .. } if found == n),
                "{err}"
            );
        }
        assert!(mlp(&generate(Kind::Hetero, MIN_TRAIN_ROWS, 1), &test, &config).is_ok());
    }
}
