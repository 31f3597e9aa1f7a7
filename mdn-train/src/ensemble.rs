//! Ensembles: several trained networks merged into one mixture, and the weights of the
//! candidate models in it.
//!
//! `mdn train` trains every candidate model (a number of components `K` and a noise level)
//! as `F` networks on `F` folds: network `f` stops early on fold `f` and learns from the
//! rest. So every training row has an out-of-fold density from each candidate, from the
//! network that never saw it, and the candidates' weights are the mixture weights that
//! maximise the out-of-fold likelihood (stacking: a few numbers fitted on every row, where
//! choosing one candidate would follow the noise of a small validation set). The model is
//! the mixture of all kept networks, network `f` of candidate `c` with weight `w_c / F`:
//!
//! ```text
//! p(y|x) = sum_c w_c / F sum_f p_cf(y|x)
//! ```
//!
//! Every density here is computed by mdn-core from the networks' blobs, as a device would.

use mdn_core::HostModel;

use crate::{
    aligned::AlignedBytes,
    data::Dataset,
    error::{Error, Result},
};

/// Candidates whose stacking weight falls below this are dropped (and the rest refitted):
/// each kept candidate costs its `F` networks on the device, for a gain of at most
/// `-ln(1 - 0.05) = 0.05` nats.
pub const MIN_WEIGHT: f64 = 0.05;

/// Expectation-maximisation iterations of [`stacking_weights`]; the log-likelihood is
/// concave in the weights, and 500 steps settle them to well under 1e-4 on every data set
/// tried.
const EM_ITERATIONS: usize = 500;

/// The mixture weights `w` (on the simplex) that maximise
/// `sum_i ln sum_c w_c exp(log_p[c][i])`: each candidate's out-of-fold log-densities
/// `log_p[c]`, one per row. Fixed-point EM from equal weights, in f64; deterministic.
///
/// # Examples
///
/// ```
/// use mdn_train::ensemble::stacking_weights;
/// // The second candidate explains every row better: it takes most of the weight.
/// let w = stacking_weights(&[vec![-2.0, -2.0, -1.0], vec![-1.0, -1.0, -1.5]]);
/// assert!(w[1] > 0.8 && (w[0] + w[1] - 1.0).abs() < 1e-12);
/// ```
pub fn stacking_weights(log_p: &[Vec<f64>]) -> Vec<f64> {
    let c = log_p.len();
    if c <= 1 {
        return vec![1.0; c];
    }
    let rows = log_p[0].len();
    let mut w = vec![1.0 / c as f64; c];
    let mut terms = vec![0.0; c];
    for _ in 0..EM_ITERATIONS {
        let mut acc = vec![0.0; c];
        for i in 0..rows {
            for ((t, wj), lp) in terms.iter_mut().zip(&w).zip(log_p) {
                *t = wj.ln() + lp[i];
            }
            let max = terms.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            if !max.is_finite() {
                continue;
            }
            let sum: f64 = terms.iter().map(|t| (t - max).exp()).sum();
            for (a, t) in acc.iter_mut().zip(&terms) {
                *a += (t - max).exp() / sum;
            }
        }
        let total: f64 = acc.iter().sum();
        if total <= 0.0 {
            break;
        }
        w = acc.iter().map(|a| a / total).collect();
    }
    w
}

/// Stacking weights with small ones dropped: candidates below [`MIN_WEIGHT`] get 0 and the
/// others are refitted among themselves.
///
/// # Examples
///
/// ```
/// use mdn_train::ensemble::pruned_weights;
/// let w = pruned_weights(&[vec![-9.0, -9.0], vec![-1.0, -1.2], vec![-1.1, -1.0]]);
/// assert_eq!(w[0], 0.0);
/// assert!((w[1] + w[2] - 1.0).abs() < 1e-12);
/// ```
pub fn pruned_weights(log_p: &[Vec<f64>]) -> Vec<f64> {
    let mut kept: Vec<usize> = (0..log_p.len()).collect();
    loop {
        let subset: Vec<Vec<f64>> = kept.iter().map(|&j| log_p[j].clone()).collect();
        let w = stacking_weights(&subset);
        let weakest = (0..w.len()).min_by(|&a, &b| w[a].total_cmp(&w[b]));
        match weakest {
            Some(j) if w[j] < MIN_WEIGHT && kept.len() > 1 => {
                kept.remove(j);
            }
            _ => {
                let mut out = vec![0.0; log_p.len()];
                for (&j, &wj) in kept.iter().zip(&w) {
                    out[j] = wj;
                }
                return out;
            }
        }
    }
}

/// The networks of an ensemble as blobs, each with its log-weight in the mixture.
#[derive(Debug, Clone)]
pub struct Ensemble {
    /// Every network, one blob each, all of one shape and with the same scalers.
    pub members: Vec<AlignedBytes>,
    /// `ln` of each network's weight; the weights add up to 1.
    pub log_weights: Vec<f64>,
}

impl Ensemble {
    /// The networks as mdn-core models.
    ///
    /// # Errors
    ///
    /// [`Error::Core`] if a blob does not validate (a bug: the trainer wrote them).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// use mdn_train::{aligned::AlignedBytes, ensemble::Ensemble};
    /// let e = Ensemble { members: vec![AlignedBytes::from_slice(&bytes)], log_weights: vec![0.0] };
    /// assert_eq!(e.models().unwrap().len(), 1);
    /// ```
    pub fn models(&self) -> Result<Vec<HostModel<'_>>> {
        self.members
            .iter()
            .map(|b| {
                HostModel::from_bytes(b).map_err(|source| Error::Core {
                    context: "validating an ensemble member".into(),
                    source,
                })
            })
            .collect()
    }

    /// The parameter section of the whole ensemble as one blob will hold it: the scalers
    /// once (shared by every network), then each network's log-weight (`[M]`), then every
    /// network's parameters without scalers, each in its own [`mdn_core::Layout`] order.
    /// Writing an ensemble blob is this plus a header with the network count, once
    /// mdn-core defines one (FORMAT.md version 2).
    ///
    /// # Errors
    ///
    /// [`Error::Core`] if a blob does not validate (a bug).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// use mdn_train::{aligned::AlignedBytes, ensemble::Ensemble};
    /// let one = AlignedBytes::from_slice(&bytes);
    /// let e = Ensemble { members: vec![one.clone(), one], log_weights: vec![0.5_f64.ln(); 2] };
    /// let n = mdn_core::Blob::from_bytes(&bytes).unwrap().parameter_values().len();
    /// // 4 scaler values (1 input, 1 target) once, 2 weights, 2 networks.
    /// assert_eq!(e.parameter_section().unwrap().len(), 4 + 2 + 2 * (n - 4));
    /// ```
    pub fn parameter_section(&self) -> Result<Vec<f32>> {
        let core = |source| Error::Core {
            context: "reading an ensemble member".into(),
            source,
        };
        let mut scalers = Vec::new();
        let mut networks = Vec::new();
        for (m, bytes) in self.members.iter().enumerate() {
            let blob = mdn_core::Blob::from_bytes(bytes).map_err(core)?;
            let layout = blob.layout().map_err(core)?;
            let values: Vec<f32> = blob.parameter_values().collect();
            for info in layout.tensors() {
                let range = info.offset..info.offset + info.len();
                let scaler = matches!(
                    info.name,
                    mdn_core::TensorName::InputOffset
                        | mdn_core::TensorName::InputScale
                        | mdn_core::TensorName::TargetOffset
                        | mdn_core::TensorName::TargetScale
                );
                if !scaler {
                    networks.extend_from_slice(&values[range]);
                } else if m == 0 {
                    scalers.extend_from_slice(&values[range]);
                }
            }
        }
        Ok(scalers
            .into_iter()
            .chain(self.log_weights.iter().map(|&w| w as f32))
            .chain(networks)
            .collect())
    }

    /// `ln p(y|x)` of the ensemble for every row of `data`, in original units:
    /// `ln sum_m exp(log_weight_m + ln p_m(y|x))`, each `p_m` from mdn-core.
    ///
    /// # Errors
    ///
    /// [`Error::Core`] if a row does not fit the models (wrong columns).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// use mdn_train::{aligned::AlignedBytes, ensemble::Ensemble, synth};
    /// let one = AlignedBytes::from_slice(&bytes);
    /// let e = Ensemble { members: vec![one.clone(), one], log_weights: vec![0.5_f64.ln(); 2] };
    /// let data = synth::generate(synth::Kind::Hetero, 3, 1);
    /// let core = mdn_core::HostModel::from_bytes(&bytes).unwrap();
    /// let lp = e.log_prob(&data).unwrap();
    /// let single = core.log_prob(data.row_x(0), data.row_y(0)).unwrap();
    /// assert!((lp[0] - f64::from(single)).abs() < 1e-6);
    /// ```
    pub fn log_prob(&self, data: &Dataset) -> Result<Vec<f64>> {
        let models = self.models()?;
        let mut terms = vec![0.0; models.len()];
        (0..data.len())
            .map(|i| {
                for ((t, model), w) in terms.iter_mut().zip(&models).zip(&self.log_weights) {
                    let lp = model
                        .log_prob(data.row_x(i), data.row_y(i))
                        .map_err(|source| Error::Core {
                            context: format!("evaluating row {}", data.lines[i]),
                            source,
                        })?;
                    *t = w + f64::from(lp);
                }
                Ok(log_sum_exp(&terms))
            })
            .collect()
    }
}

/// `ln sum exp(v)` with the maximum subtracted.
///
/// # Examples
///
/// ```
/// let v = mdn_train::ensemble::log_sum_exp(&[0.0, 0.0]);
/// assert!((v - 2f64.ln()).abs() < 1e-15);
/// ```
pub fn log_sum_exp(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + v.iter().map(|x| (x - max).exp()).sum::<f64>().ln()
}
