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
//! The candidates' out-of-fold densities come from mdn-core (in `train`), as a device
//! would compute them, and the model is written as one blob of `M` networks
//! ([`Ensemble::to_blob`]), which mdn-core evaluates as one mixture.

use crate::{
    aligned::AlignedBytes,
    error::{Error, Result},
    excerpt,
    model::core_error,
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

/// The networks of an ensemble as single-network blobs, each with its log-weight in the
/// mixture; [`Ensemble::to_blob`] merges them into the one blob a device reads.
#[derive(Debug, Clone)]
pub struct Ensemble {
    /// Every network, one blob each, all of one shape and with the same scalers.
    pub networks: Vec<AlignedBytes>,
    /// `ln` of each network's weight; the weights add up to 1.
    pub log_weights: Vec<f64>,
}

impl Ensemble {
    /// The ensemble as one blob (FORMAT.md section 3): the first network's header with
    /// `networks = M`, the scalers once (every network has the same), each network's
    /// log-weight, then every network's own tensors in [`mdn_core::Layout`] order. For one
    /// network, the network's own blob.
    ///
    /// # Errors
    ///
    /// [`Error::EnsembleWeights`] without one log weight per network,
    /// [`Error::EmptyEnsemble`] without networks, [`Error::EnsembleMismatch`] naming the
    /// header field or scaler value in which a network differs from the first (or a
    /// network that is itself an ensemble), [`Error::Core`] if a network does not validate
    /// or the weights do not add up to 1. For the trainer's own ensembles, each is a bug.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// use mdn_train::{aligned::AlignedBytes, ensemble::Ensemble};
    /// let one = AlignedBytes::from_slice(&bytes);
    /// let e = Ensemble { networks: vec![one.clone(), one], log_weights: vec![0.5_f64.ln(); 2] };
    /// let blob = e.to_blob().unwrap();
    /// let model = mdn_core::HostModel::from_bytes(&blob).unwrap();
    /// assert_eq!(model.header().networks, 2);
    /// // Two copies of one network, half the weight each: the network's own density.
    /// let single = mdn_core::HostModel::from_bytes(&bytes).unwrap();
    /// let (a, b) = (model.log_prob(&[0.3], &[0.1]).unwrap(), single.log_prob(&[0.3], &[0.1]).unwrap());
    /// assert!((a - b).abs() < 1e-6);
    /// ```
    pub fn to_blob(&self) -> Result<AlignedBytes> {
        if self.log_weights.len() != self.networks.len() {
            return Err(Error::EnsembleWeights {
                networks: self.networks.len(),
                weights: self.log_weights.len(),
            });
        }
        let Some(first) = self.networks.first() else {
            return Err(Error::EmptyEnsemble);
        };
        let read = core_error("reading a network of an ensemble");
        let first = mdn_core::Blob::from_bytes(first).map_err(read)?;
        let first_scalers = scalers(&first)?;
        let mut header = first.header().clone();
        header.networks = u32::try_from(self.networks.len()).map_err(|_| Error::Core {
            context: "counting the networks of an ensemble".into(),
            source: mdn_core::Error::SizeOverflow,
        })?;
        // The shared tensors in layout order: the first network's, and the log weights.
        let mut shared_values = first_scalers.iter();
        let mut parameters = Vec::new();
        let layout = first
            .layout()
            .map_err(core_error("laying out an ensemble"))?;
        for tensor in layout.tensors().filter(|t| t.name.is_shared()) {
            if tensor.name == mdn_core::TensorName::NetworkLogWeights {
                parameters.extend(self.log_weights.iter().map(|&w| w as f32));
            } else if let Some((_, values)) = shared_values.next() {
                parameters.extend(values.iter().map(|&b| f32::from_bits(b)));
            }
        }
        for (m, bytes) in self.networks.iter().enumerate() {
            let blob = mdn_core::Blob::from_bytes(bytes)
                .map_err(core_error("reading a network of an ensemble"))?;
            let mismatch =
                |(field, expected, found): (String, String, String)| Error::EnsembleMismatch {
                    network: m,
                    field,
                    expected,
                    found,
                };
            if let Some(difference) = header_difference(first.header(), blob.header()) {
                return Err(mismatch(difference));
            }
            if let Some(difference) = scaler_difference(&first_scalers, &scalers(&blob)?) {
                return Err(mismatch(difference));
            }
            let layout = blob
                .layout()
                .map_err(core_error("reading a network of an ensemble"))?;
            let values: Vec<f32> = blob.parameter_values().collect();
            for info in layout.tensors().filter(|t| !t.name.is_shared()) {
                parameters.extend_from_slice(&values[info.offset..info.offset + info.len()]);
            }
        }
        crate::model::encode_blob(&header, &parameters)
    }

    /// The networks of a blob, each as a single-network blob, with their log-weights: the
    /// inverse of [`Ensemble::to_blob`].
    ///
    /// # Errors
    ///
    /// [`Error::InvalidModel`] if `bytes` is not a valid blob (`path` names it);
    /// [`Error::Core`] if a network cannot be written on its own (a bug).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// use mdn_train::{aligned::AlignedBytes, ensemble::Ensemble};
    /// let one = AlignedBytes::from_slice(&bytes);
    /// let weights = vec![0.25_f64.ln(), 0.75_f64.ln()];
    /// let e = Ensemble { networks: vec![one.clone(), one.clone()], log_weights: weights };
    /// let back = Ensemble::from_blob(&e.to_blob().unwrap(), "e.mdn".as_ref()).unwrap();
    /// assert_eq!(back.networks, [one.clone(), one]);
    /// assert!((back.log_weights[1] - 0.75_f64.ln()).abs() < 1e-7);
    /// ```
    pub fn from_blob(bytes: &[u8], path: &std::path::Path) -> Result<Self> {
        let aligned = AlignedBytes::from_slice(bytes);
        let blob = mdn_core::Blob::from_bytes(&aligned).map_err(|source| Error::InvalidModel {
            path: path.to_path_buf(),
            source,
        })?;
        let layout = blob.layout().map_err(core_error("laying out the model"))?;
        let values: Vec<f32> = blob.parameter_values().collect();
        let mut header = blob.header().clone();
        header.networks = 1;
        let mut networks = Vec::new();
        let mut log_weights = Vec::new();
        for m in 0..layout.networks() {
            let mut params = Vec::new();
            for info in layout.tensors() {
                let range = info.offset..info.offset + info.len();
                if info.name == mdn_core::TensorName::NetworkLogWeights {
                    log_weights.push(f64::from(values[info.offset + m]));
                    params.push(0.0);
                } else if info.network.is_none_or(|owner| owner == m) {
                    params.extend_from_slice(&values[range]);
                }
            }
            networks.push(crate::model::encode_blob(&header, &params)?);
        }
        Ok(Ensemble {
            networks,
            log_weights,
        })
    }
}

/// A blob's scalers by tensor name, as bits, in blob order (the tensors every network of
/// an ensemble shares).
fn scalers(blob: &mdn_core::Blob<'_>) -> Result<Vec<(String, Vec<u32>)>> {
    let layout = blob
        .layout()
        .map_err(core_error("reading a network of an ensemble"))?;
    let values: Vec<u32> = blob.parameter_values().map(f32::to_bits).collect();
    Ok(layout
        .tensors()
        .filter(|t| t.name.is_shared() && t.name != mdn_core::TensorName::NetworkLogWeights)
        .map(|t| {
            (
                t.name.to_string(),
                values[t.offset..t.offset + t.len()].to_vec(),
            )
        })
        .collect())
}

/// The first scaler value in which `found` differs from `expected`:
/// `(field, expected, found)`, the field as `input_scaler.offset[0]`.
fn scaler_difference(
    expected: &[(String, Vec<u32>)],
    found: &[(String, Vec<u32>)],
) -> Option<(String, String, String)> {
    expected
        .iter()
        .zip(found)
        .flat_map(|((name, a), (_, b))| {
            a.iter()
                .zip(b)
                .enumerate()
                .map(move |(i, (&a, &b))| (format!("{name}[{i}]"), a, b))
        })
        .find(|(_, a, b)| a != b)
        .map(|(field, a, b)| {
            let value = |bits| f32::from_bits(bits).to_string();
            (field, format!("{} as in network 0", value(a)), value(b))
        })
}

/// The first header field in which a network (`other`) differs from network 0 (`first`), or
/// in which it is not one network: `(field, expected, found)`.
fn header_difference(
    first: &mdn_core::Header<'_>,
    other: &mdn_core::Header<'_>,
) -> Option<(String, String, String)> {
    if other.networks != 1 {
        return Some((
            "networks".into(),
            "1 (one network per blob)".into(),
            other.networks.to_string(),
        ));
    }
    let names = |n: &mdn_core::Names<'_>| excerpt::quoted_list(n.iter());
    let fields = |h: &mdn_core::Header<'_>| {
        [
            ("input_dim", h.input_dim.to_string()),
            ("output_dim", h.output_dim.to_string()),
            ("components", h.components.to_string()),
            ("hidden", format!("{:?}", h.hidden)),
            ("activation", h.activation.to_string()),
            ("sigma", h.sigma.to_string()),
            ("sigma_floor", h.sigma_floor.to_string()),
            ("target_transform", h.target_transform.to_string()),
            ("feature_names", names(&h.feature_names)),
            ("target_names", names(&h.target_names)),
        ]
    };
    fields(first)
        .into_iter()
        .zip(fields(other))
        .find(|((_, a), (_, b))| a != b)
        .map(|((field, a), (_, b))| (field.to_owned(), format!("{a} as in network 0"), b))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Mdn;

    fn example() -> AlignedBytes {
        AlignedBytes::from_slice(&mdn_core::doc_example_blob())
    }

    #[test]
    fn a_candle_model_is_one_network_and_says_so() {
        let one = example();
        let ensemble = Ensemble {
            networks: vec![one.clone(), one],
            log_weights: vec![0.3_f64.ln(), 0.7_f64.ln()],
        };
        let blob = ensemble.to_blob().unwrap();
        let err = Mdn::from_blob(&blob, "e.mdn".as_ref()).unwrap_err();
        assert!(
            matches!(err, Error::EnsembleBlob { networks: 2, .. }),
            "{err}"
        );
        assert!(
            err.to_string()
                .starts_with("e.mdn: holds an ensemble of 2 networks")
        );
        // Split back into networks, each loads.
        let split = Ensemble::from_blob(&blob, "e.mdn".as_ref()).unwrap();
        for network in &split.networks {
            assert!(Mdn::from_blob(network, "m.mdn".as_ref()).is_ok());
        }
    }

    #[test]
    fn networks_that_do_not_match_are_refused_naming_the_difference() {
        let one = example();
        let blob = mdn_core::Blob::from_bytes(&one).unwrap();
        let values: Vec<f32> = blob.parameter_values().collect();
        let mut other_scaler = values.clone();
        other_scaler[0] += 1.0;
        let other_scaler = crate::model::encode_blob(blob.header(), &other_scaler).unwrap();
        let mut header = blob.header().clone();
        header.sigma_floor = 0.5;
        let other_header = crate::model::encode_blob(&header, &values).unwrap();
        let pair = Ensemble {
            networks: vec![one.clone(), one.clone()],
            log_weights: vec![0.5_f64.ln(); 2],
        };
        let nested = pair.to_blob().unwrap();
        let to_blob = |second: AlignedBytes| {
            let ensemble = Ensemble {
                networks: vec![one.clone(), second],
                ..pair.clone()
            };
            ensemble.to_blob().unwrap_err()
        };
        let offset = values[0];
        for (second, field, expected, found) in [
            (
                other_scaler,
                "input_scaler.offset[0]",
                format!("{offset} as in network 0"),
                (offset + 1.0).to_string(),
            ),
            (
                other_header,
                "sigma_floor",
                "0.001 as in network 0".to_owned(),
                "0.5".to_owned(),
            ),
            (
                nested,
                "networks",
                "1 (one network per blob)".to_owned(),
                "2".to_owned(),
            ),
        ] {
            let err = to_blob(second);
            let Error::EnsembleMismatch {
                network: 1,
                field: f,
                expected: e,
                found: x,
            } = &err
            else {
                panic!("{err}");
            };
            assert_eq!((f.as_str(), e, x), (field, &expected, &found));
            assert_eq!(
                err.to_string(),
                format!("writing an ensemble: network 1 has {field} {found}, expected {expected}")
            );
        }
        let err = Ensemble {
            networks: vec![one.clone(), one.clone()],
            log_weights: vec![0.0],
        }
        .to_blob()
        .unwrap_err();
        assert!(
            matches!(
                err,
                Error::EnsembleWeights {
                    networks: 2,
                    weights: 1
                }
            ),
            "{err}"
        );
        let err = Ensemble {
            networks: Vec::new(),
            log_weights: Vec::new(),
        }
        .to_blob()
        .unwrap_err();
        assert!(matches!(err, Error::EmptyEnsemble), "{err}");
    }

    #[test]
    fn networks_keep_their_order_and_weights() {
        // Two different networks: the second with every weight halved.
        let first = example();
        let values: Vec<f32> = mdn_core::Blob::from_bytes(&first)
            .unwrap()
            .parameter_values()
            .collect();
        let header = mdn_core::Blob::from_bytes(&first).unwrap().header().clone();
        let halved: Vec<f32> = values
            .iter()
            .enumerate()
            .map(|(i, &v)| if i < 7 { v } else { v * 0.5 })
            .collect();
        let second = crate::model::encode_blob(&header, &halved).unwrap();
        let ensemble = Ensemble {
            networks: vec![first.clone(), second.clone()],
            log_weights: vec![0.25_f64.ln(), 0.75_f64.ln()],
        };
        let blob = ensemble.to_blob().unwrap();
        let back = Ensemble::from_blob(&blob, "e.mdn".as_ref()).unwrap();
        assert_eq!(back.networks, [first, second]);
        let merged = mdn_core::HostModel::from_bytes(&blob).unwrap();
        let mixture = merged.mixture(&[0.4]).unwrap();
        assert_eq!(mixture.components(), 4);
        let weight: f32 = mixture.iter().skip(2).map(|c| c.weight()).sum();
        assert!((weight - 0.75).abs() < 1e-6, "{weight}");
    }
}
