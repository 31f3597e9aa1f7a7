//! Integer networks: a relu model rewritten as `int8` weights on `int16` activations
//! ([`Storage::Int8Int16`] in every dense layer, FORMAT.md section 5, "Integer networks"),
//! with `int8` hidden layers and `int8` or 16-bit heads ([`Storage::Int16Int16`]), for
//! processors without an FPU (`mdn quantize --weights int8 --activations int16`).
//!
//! The device computes exact integer sums; what the conversion decides is the step of every
//! activation. The scaled input's is fixed by the format (`2^-11`). A hidden layer's is
//! fitted on calibration rows: each network runs in `f64` on every row, and the largest
//! output of the layer, times [`HEADROOM`], maps to `32767`. Each layer's weights are then
//! quantized per row as [`compact::quantize_row`] does (`q`, `s_w`), and its stored values
//! are
//!
//! * the weights `q`, within `-127 ..= 127` (`int8`), or for 16-bit weights within the
//!   largest bound that keeps every sum within `i32` (1,024 for 32 inputs);
//! * the factor of row `o`: `s_w[o] * s_in / s_out` for a hidden layer (the requantization
//!   to the next layer's steps), `s_w[o] * s_in` for the heads (to `f32` outputs);
//! * the bias of row `o` in units of its sums: `round(b[o] / (s_w[o] * s_in))`.
//!
//! with `s_in` the layer's input step and `s_out` its output step. Everything else
//! (scalers, network weights, calibration) is copied bit for bit.

use std::collections::HashMap;

use mdn_core::{Activation, Blob, Layout, Storage, TensorName};

use crate::{
    aligned::AlignedBytes,
    compact::{self, effective_weights},
    error::{Error, Result},
    model::{core_error, encode_blob},
};

/// The scaled input's step, fixed by FORMAT.md section 5.
pub const INPUT_STEP: f64 = 1.0 / 2048.0;

/// The largest `int16` activation.
const ACTIVATION_MAX: f64 = 32767.0;

/// The largest bias magnitude, in units of a layer's sums.
const BIAS_MAX: f64 = (1_u32 << 30) as f64;

/// How far beyond the largest calibration activation a hidden layer's range reaches before
/// it saturates: rows unlike the calibration rows keep some room, for one bit of the 15.
pub const HEADROOM: f64 = 2.0;

/// The blob `bytes` (a relu model, any float storage) as an integer network, its hidden
/// layers `int8-int16`, its heads `heads` (`int8-int16`, or `int16-int16` where the density
/// needs more than 8 bits), its hidden layers' steps fitted on the inputs `rows` (raw,
/// unscaled, as in the CSV file).
///
/// # Errors
///
/// [`Error::Core`] if `bytes` is not a valid blob; [`Error::InvalidOption`] if the model
/// uses tanh (integer networks are relu networks), if `rows` is empty, if `heads` is not
/// an integer storage, or if a layer's sums could wrap `i32` (more than 258 inputs).
///
/// # Examples
///
/// ```
/// let bytes = mdn_core::doc_example_blob();
/// let rows = vec![vec![-1.0_f32], vec![0.0], vec![2.0]];
/// let heads = mdn_core::Storage::Int16Int16;
/// let integer = mdn_train::integer::to_integer(&bytes, &rows, heads).unwrap();
/// let model = mdn_core::HostModel::from_bytes(&integer).unwrap();
/// let exact = mdn_core::HostModel::from_bytes(&bytes).unwrap();
/// let (a, b) = (model.log_prob(&[0.5], &[0.0]).unwrap(), exact.log_prob(&[0.5], &[0.0]).unwrap());
/// assert!((a - b).abs() < 0.05, "{a} vs {b}");
/// ```
pub fn to_integer(bytes: &[u8], rows: &[Vec<f32>], heads: Storage) -> Result<AlignedBytes> {
    let aligned = AlignedBytes::from_slice(bytes);
    let blob = Blob::from_bytes(&aligned).map_err(core_error("reading the model to convert"))?;
    let header = blob.header();
    if header.activation != Activation::Relu {
        return Err(Error::InvalidOption {
            option: "--activations",
            expected: "a relu model for int16 activations (train with --activation relu)".into(),
            found: format!("a {} model", header.activation),
        });
    }
    if rows.is_empty() {
        return Err(Error::InvalidOption {
            option: "--data",
            expected: "at least one calibration row for int16 activations".into(),
            found: "no rows".into(),
        });
    }
    compact::refuse_integer(&header.storage)?;
    let source = blob.layout().map_err(core_error("laying out the model"))?;
    let values: Vec<f32> = blob.parameter_values().collect();
    let weights = effective_weights(&source, &values);
    let tensor = |name: TensorName, network: Option<usize>| -> &[f32] {
        source
            .tensors()
            .find(|t| (t.name, t.network) == (name, network))
            .map_or(&[], |t| &values[t.offset..t.offset + t.len()])
    };
    let hidden_layers = header.hidden.len();
    let networks = header.networks as usize;
    // Each network's input step for every dense layer (its hidden layers', then the heads').
    let mut input_steps = HashMap::new();
    for m in (0..networks).map(Some) {
        let layers: Vec<(&[f32], &[f32])> = (0..hidden_layers)
            .map(|i| {
                let w = weights[&(TensorName::HiddenWeight(i), m)].as_slice();
                (w, tensor(TensorName::HiddenBias(i), m))
            })
            .collect();
        let largest = largest_activations(
            &layers,
            tensor(TensorName::InputOffset, None),
            tensor(TensorName::InputScale, None),
            rows,
        );
        let steps = std::iter::once(INPUT_STEP).chain(largest.iter().map(|&max| {
            if max > 0.0 {
                max * HEADROOM / ACTIVATION_MAX
            } else {
                1.0
            }
        }));
        input_steps.insert(m, steps.collect::<Vec<f64>>());
    }
    if !heads.is_integer() {
        return Err(Error::InvalidOption {
            option: "--head-weights",
            expected: "int8 or int16 heads for int16 activations".into(),
            found: heads.to_string(),
        });
    }
    let mut integer_header = header.clone();
    integer_header.storage = Storage::uniform(Storage::Int8Int16, hidden_layers);
    if let Some(last) = integer_header.storage.last_mut() {
        *last = heads;
    }
    let target = Layout::new(&integer_header).map_err(core_error("laying out the model"))?;
    let mut out = Vec::with_capacity(target.parameter_count());
    // The row scales `s_w` of the weight tensor just written, for its factors and biases.
    let mut row_scales = Vec::new();
    for info in target.tensors() {
        let (name, m) = (info.name, info.network);
        let Some(layer) = name.dense_layer(hidden_layers) else {
            out.extend_from_slice(tensor(name, m));
            continue;
        };
        let steps = &input_steps[&m];
        let s_in = steps[layer];
        if name.is_weight() {
            row_scales.clear();
            let limit = weight_limit(info.cols, info.storage, name)?;
            for row in weights[&(name, m)].chunks(info.cols.max(1)) {
                let (q, scale) = compact::quantize_row_to(row, limit);
                out.extend(q);
                row_scales.push(f64::from(scale));
            }
        } else if name.is_row_scale() {
            // The heads' outputs are f32: their "step" is 1.
            let s_out = steps.get(layer + 1).copied().unwrap_or(1.0);
            out.extend(row_scales.iter().map(|&s_w| (s_w * s_in / s_out) as f32));
        } else {
            let biases = tensor(name, m).iter().zip(&row_scales);
            let units = biases.map(|(&b, &s_w)| (f64::from(b) / (s_w * s_in)).round());
            // Within 2^30, which `check_sum_range` leaves the bias.
            out.extend(units.map(|b| b.clamp(-BIAS_MAX, BIAS_MAX) as f32));
        }
    }
    encode_blob(&integer_header, &out)
}

/// The largest `|q|` of a layer of `fan_in` inputs stored as `storage`: 127 for `int8`;
/// for 16-bit weights as many as keep every sum within `i32` (`fan_in * limit * 32767`
/// within `2^30`, the other `2^30` left to the bias), at most 32767.
///
/// [`Error::InvalidOption`] if even 127 could wrap: more than 258 inputs.
fn weight_limit(fan_in: usize, storage: Storage, name: TensorName) -> Result<f32> {
    let room = f64::from(1_u32 << 30) / (fan_in.max(1) as f64 * ACTIVATION_MAX);
    let limit = match storage {
        Storage::Int16Int16 => room.floor().min(ACTIVATION_MAX),
        _ => 127.0,
    };
    if limit >= 127.0 && 127.0 <= room {
        return Ok(limit as f32);
    }
    Err(Error::InvalidOption {
        option: "--activations",
        expected: "layers of at most 258 inputs for int16 activations".into(),
        found: format!("{fan_in} inputs to {name:?}"),
    })
}

/// The largest output of each hidden layer (after the relu) over `rows`, evaluated in
/// `f64` from the scaled input; `layers` are `(weights row-major, biases)`.
fn largest_activations(
    layers: &[(&[f32], &[f32])],
    offset: &[f32],
    scale: &[f32],
    rows: &[Vec<f32>],
) -> Vec<f64> {
    let mut largest = vec![0.0_f64; layers.len()];
    for x in rows {
        let mut v: Vec<f64> = x
            .iter()
            .zip(offset.iter().zip(scale))
            .map(|(&x, (&o, &s))| (f64::from(x) - f64::from(o)) / f64::from(s))
            .collect();
        for ((w, b), max) in layers.iter().zip(&mut largest) {
            let cols = v.len().max(1);
            v = w
                .chunks(cols)
                .zip(b.iter())
                .map(|(row, &b)| {
                    let z: f64 = row.iter().zip(&v).map(|(&w, &a)| f64::from(w) * a).sum();
                    (z + f64::from(b)).max(0.0)
                })
                .collect();
            *max = v.iter().fold(*max, |m, &a| m.max(a));
        }
    }
    largest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_network_follows_the_float_model() {
        let bytes = mdn_core::doc_example_blob();
        let rows: Vec<Vec<f32>> = (-20..=20).map(|i| vec![i as f32 / 10.0]).collect();
        let integer = to_integer(&bytes, &rows, Storage::Int16Int16).unwrap();
        let blob = Blob::from_bytes(&integer).unwrap();
        assert!(blob.header().storage.iter().all(|s| s.is_integer()));
        let exact = mdn_core::HostModel::from_bytes(&bytes).unwrap();
        let model = mdn_core::HostModel::from_bytes(&integer).unwrap();
        for x in [-1.5_f32, 0.0, 0.7, 1.9] {
            for y in [-1.0_f32, 0.0, 1.0] {
                let (a, b) = (
                    model.log_prob(&[x], &[y]).unwrap(),
                    exact.log_prob(&[x], &[y]).unwrap(),
                );
                assert!((a - b).abs() < 0.05, "x {x} y {y}: {a} vs {b}");
            }
        }
    }

    #[test]
    fn weight_limits_keep_every_sum_within_i32() {
        let name = TensorName::HiddenWeight(0);
        assert_eq!(weight_limit(32, Storage::Int8Int16, name).unwrap(), 127.0);
        assert_eq!(weight_limit(32, Storage::Int16Int16, name).unwrap(), 1024.0);
        assert_eq!(weight_limit(1, Storage::Int16Int16, name).unwrap(), 32767.0);
        for storage in [Storage::Int8Int16, Storage::Int16Int16] {
            assert!(weight_limit(258, storage, name).is_ok());
            assert!(matches!(
                weight_limit(259, storage, name),
                Err(Error::InvalidOption {
                    option: "--activations",
                    ..
                })
            ));
        }
        // The bound: fan-in x limit x 32767 within 2^30, the other 2^30 the bias's.
        for fan_in in 1..300 {
            if let Ok(limit) = weight_limit(fan_in, Storage::Int16Int16, name) {
                assert!(fan_in as f64 * f64::from(limit) * 32767.0 <= f64::from(1_u32 << 30));
            }
        }
    }

    #[test]
    fn tanh_models_are_refused() {
        let golden = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/golden/tanh_softplus_k3_d2.mdn"
        );
        let bytes = std::fs::read(golden).unwrap();
        let rows = vec![vec![0.0_f32; 3]];
        assert!(matches!(
            to_integer(&bytes, &rows, Storage::Int16Int16),
            Err(Error::InvalidOption {
                option: "--activations",
                ..
            })
        ));
    }

    #[test]
    fn no_rows_are_refused() {
        let bytes = mdn_core::doc_example_blob();
        assert!(matches!(
            to_integer(&bytes, &[], Storage::Int8Int16),
            Err(Error::InvalidOption {
                option: "--data",
                ..
            })
        ));
    }
}
