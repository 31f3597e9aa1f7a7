//! What a blob holds, for people (`mdn inspect`) and for other runtimes (`mdn export`).
//!
//! Tensor names, shapes and order come from mdn-core's [`Layout`](mdn_core::Layout), the one definition of
//! the parameter section.

use mdn_core::{Blob, FORMAT_VERSION, TensorInfo, TensorName};

use crate::recalibration::Calibration;
use serde_json::{Value, json};

/// `v` as a JSON number in its shortest decimal form that reads back to the same `f32`
/// (`0.001`, not `0.0010000000474974513`); non-finite values become `null`.
///
/// # Examples
///
/// ```
/// use mdn_train::describe::f32_json;
/// assert_eq!(f32_json(1e-3).to_string(), "0.001");
/// assert_eq!(f32_json(f32::NAN), serde_json::Value::Null);
/// ```
pub fn f32_json(v: f32) -> Value {
    // `Display` of an f32 is its shortest round-trip decimal; as an f64 it prints the same.
    v.to_string()
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, Value::Number)
}

/// A slice of `f32` as a JSON array of [`f32_json`] numbers.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_train::describe::f32s_json(&[0.1, 2.0]).to_string(), "[0.1,2.0]");
/// ```
pub fn f32s_json(values: &[f32]) -> Value {
    Value::Array(values.iter().map(|&v| f32_json(v)).collect())
}

/// serde helper: serialises an `f32` field as [`f32_json`] does.
///
/// # Errors
///
/// The serializer's.
///
/// # Examples
///
/// ```
/// #[derive(serde::Serialize)]
/// struct S { #[serde(serialize_with = "mdn_train::describe::serialize_f32")] v: f32 }
/// assert_eq!(serde_json::to_string(&S { v: 0.1 }).unwrap(), r#"{"v":0.1}"#);
/// ```
pub fn serialize_f32<S: serde::Serializer>(v: &f32, s: S) -> Result<S::Ok, S::Error> {
    serde::Serialize::serialize(&f32_json(*v), s)
}

/// A network's layers as text: the widths from the inputs through every hidden layer and
/// the activation (`1-32-32 relu`), or `1 input(s), no hidden layer`.
///
/// # Examples
///
/// ```
/// use mdn_core::Activation;
/// use mdn_train::describe::layers_text;
/// assert_eq!(layers_text(1, &[32, 32], Activation::Relu), "1-32-32 relu");
/// assert_eq!(layers_text(2, &[], Activation::Tanh), "2 input(s), no hidden layer");
/// ```
pub fn layers_text(inputs: usize, hidden: &[usize], activation: impl std::fmt::Display) -> String {
    if hidden.is_empty() {
        return format!("{inputs} input(s), no hidden layer");
    }
    let widths: Vec<String> = std::iter::once(inputs)
        .chain(hidden.iter().copied())
        .map(|w| w.to_string())
        .collect();
    format!("{} {activation}", widths.join("-"))
}

/// A summary of a validated blob.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ModelInfo {
    /// Format version (always [`FORMAT_VERSION`] for a blob that validated).
    pub format_version: u16,
    /// Blob length in bytes.
    pub bytes: usize,
    /// CRC-32 of the blob, as `0x........`.
    pub crc32: String,
    /// Input features `F`.
    pub inputs: u32,
    /// Target dimensions `D`.
    pub outputs: u32,
    /// Mixture components `K` of each network.
    pub components: u32,
    /// Networks `M` (an ensemble when more than one; the mixture has `K M` components).
    pub networks: u32,
    /// Each network's weight in the mixture (they add up to 1).
    pub network_weights: Vec<f32>,
    /// Hidden layer widths.
    pub hidden: Vec<u32>,
    /// How each dense layer stores its weights: `f32`, `f16` or `int8`, the hidden layers
    /// then the heads.
    pub storage: Vec<String>,
    /// The calibration every query applies: a factor on each target's sigmas, and the
    /// divisor of the mixing logits (1 and 1: none).
    pub calibration: Calibration,
    /// Hidden activation.
    pub activation: String,
    /// Sigma transform.
    pub sigma: String,
    /// Sigma floor, scaled target units.
    #[serde(serialize_with = "serialize_f32")]
    pub sigma_floor: f32,
    /// Target transform (`identity` or `log`).
    pub target_transform: String,
    /// Feature names.
    pub features: Vec<String>,
    /// Target names.
    pub targets: Vec<String>,
    /// Input scaler, one entry per feature.
    pub input_scaler: Vec<ScalerEntry>,
    /// Target scaler, one entry per target.
    pub target_scaler: Vec<ScalerEntry>,
    /// Number of parameters in logical order, scalers and calibration included (an `int8`
    /// or `f16` weight counts as one).
    pub parameters: usize,
    /// The smallest `Model<I, W, K, D>` capacities that accept this blob.
    pub min_capacities: Capacities,
}

/// One column's scaler: `scaled = (raw - offset) / scale`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScalerEntry {
    /// Column name.
    pub name: String,
    /// Offset.
    #[serde(serialize_with = "serialize_f32")]
    pub offset: f32,
    /// Scale.
    #[serde(serialize_with = "serialize_f32")]
    pub scale: f32,
}

/// Evaluator capacities, as in `mdn_core::Model<I, W, K, D>`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Capacities {
    /// `I`, input features.
    #[serde(rename = "I")]
    pub inputs: usize,
    /// `W`, widest hidden layer (at least 1 for the const generic).
    #[serde(rename = "W")]
    pub width: usize,
    /// `K`, components of the whole mixture (every network's).
    #[serde(rename = "K")]
    pub components: usize,
    /// `D`, outputs.
    #[serde(rename = "D")]
    pub outputs: usize,
}

fn tensor_values(blob: &Blob<'_>, t: &TensorInfo) -> Vec<f32> {
    blob.parameter_values()
        .skip(t.offset)
        .take(t.len())
        .collect()
}

/// The shape of a tensor as exported: `[rows, cols]` for a weight matrix, `[len]` for a
/// vector.
///
/// # Examples
///
/// ```
/// use mdn_core::{Storage::F32, TensorInfo, TensorName};
/// let w = TensorInfo {
///     name: TensorName::HiddenWeight(0), network: Some(0), rows: 3, cols: 1, offset: 5, storage: F32,
/// };
/// assert_eq!(mdn_train::describe::tensor_shape(&w), [3, 1]);
/// let b = TensorInfo {
///     name: TensorName::NetworkLogWeights, network: None, rows: 1, cols: 2, offset: 4, storage: F32,
/// };
/// assert_eq!(mdn_train::describe::tensor_shape(&b), [2]);
/// ```
pub fn tensor_shape(t: &TensorInfo) -> Vec<usize> {
    if t.name.is_weight() {
        vec![t.rows, t.cols]
    } else {
        vec![t.len()]
    }
}

fn scaler(names: &[String], offset: Vec<f32>, scale: Vec<f32>) -> Vec<ScalerEntry> {
    names
        .iter()
        .zip(offset.into_iter().zip(scale))
        .map(|(name, (offset, scale))| ScalerEntry {
            name: name.clone(),
            offset,
            scale,
        })
        .collect()
}

impl ModelInfo {
    /// Summarises a validated blob.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let blob = mdn_core::Blob::from_bytes(&bytes[..]).unwrap();
    /// let info = mdn_train::describe::ModelInfo::new(&blob);
    /// assert_eq!((info.components, info.hidden.as_slice()), (2, &[3][..]));
    /// assert_eq!(info.min_capacities.width, 3);
    /// ```
    pub fn new(blob: &Blob<'_>) -> Self {
        let h = blob.header();
        // A blob that validated has a layout; the fallback is never taken.
        let layout = blob.layout().ok();
        let values = |name| {
            layout
                .as_ref()
                .and_then(|l| l.find(name))
                .map_or_else(Vec::new, |t| tensor_values(blob, &t))
        };
        let features: Vec<String> = h.feature_names.iter().map(str::to_owned).collect();
        let targets: Vec<String> = h.target_names.iter().map(str::to_owned).collect();
        ModelInfo {
            format_version: FORMAT_VERSION,
            bytes: blob.len(),
            crc32: format!("0x{:08x}", blob.crc()),
            inputs: h.input_dim,
            outputs: h.output_dim,
            components: h.components,
            networks: h.networks,
            network_weights: values(TensorName::NetworkLogWeights)
                .into_iter()
                .map(libm::expf)
                .collect(),
            hidden: h.hidden.to_vec(),
            storage: h.storage.iter().map(ToString::to_string).collect(),
            calibration: Calibration {
                sigma_scale: values(TensorName::SigmaScale),
                temperature: values(TensorName::Temperature)
                    .first()
                    .copied()
                    .unwrap_or(1.0),
            },
            activation: h.activation.to_string(),
            sigma: h.sigma.to_string(),
            sigma_floor: h.sigma_floor,
            target_transform: h.target_transform.to_string(),
            input_scaler: scaler(
                &features,
                values(TensorName::InputOffset),
                values(TensorName::InputScale),
            ),
            target_scaler: scaler(
                &targets,
                values(TensorName::TargetOffset),
                values(TensorName::TargetScale),
            ),
            features,
            targets,
            parameters: blob.parameter_values().len(),
            // A blob that validated has capacities; the fallback is never taken.
            min_capacities: blob.required_capacities().map_or(
                Capacities {
                    inputs: 0,
                    width: 0,
                    components: 0,
                    outputs: 0,
                },
                |c| Capacities {
                    inputs: c.inputs,
                    width: c.width.max(1),
                    components: c.components,
                    outputs: c.outputs,
                },
            ),
        }
    }
}

/// How the exported weights are laid out, stated once in the export itself.
pub const LAYOUT_NOTE: &str = "Tensors in logical order (FORMAT.md section 3; the blob stores \
each layer's weights in blocks of 8 rows, section 3.1, which changes no value): the shared scalers, \
members.log_weight (ln of each network's weight) and the calibration (sigma_scale per target, \
temperature), then each network m's tensors, named members.m.*; network m's component k is \
mixture component m*K + k, with log weight log_softmax(logits_m / temperature)_k + \
members.log_weight[m]. Values are row-major; a weight has shape [out, in] and computes z[o] = \
sum_i W[o][i] * v[i] + b[o] (bias added last). header.storage gives each dense layer's weight \
storage (hidden layers, then the heads): f32; f16, whose values are the binary16 values \
exactly; or int8, whose values are the stored integers q, with a weight_scale tensor of one \
scale per row after the weight: z[o] = (sum_i q[o][i] * v[i]) * weight_scale[o] + b[o]. \
Scalers map raw to scaled values as (raw - offset) / scale. In the means and sigmas heads row \
k*D + d is component k, target dimension d. Sigmas are (floor(transform(z)) * \
target_scaler.scale[d]) * calibration.sigma_scale[d]; means are u * target_scaler.scale + \
target_scaler.offset.";

/// Every weight, bias and scaler of a blob by name, with shapes, offsets and the header:
/// the JSON `mdn export --format json` writes.
///
/// Floats are written in the shortest form that reads back to the same `f32`.
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// let blob = mdn_core::Blob::from_bytes(&bytes[..]).unwrap();
/// let json = mdn_train::describe::weights_json(&blob);
/// assert_eq!(json["tensors"][4]["name"], "members.log_weight");
/// assert_eq!(json["tensors"][6]["name"], "calibration.temperature");
/// assert_eq!(json["tensors"][7]["name"], "members.0.hidden.0.weight");
/// assert_eq!(json["tensors"][7]["shape"], serde_json::json!([3, 1]));
/// assert_eq!(json["header"]["storage"], serde_json::json!(["f32", "f32"]));
/// ```
pub fn weights_json(blob: &Blob<'_>) -> Value {
    let info = ModelInfo::new(blob);
    let tensors: Vec<Value> = blob
        .layout()
        .map(|layout| {
            layout
                .tensors()
                .map(|t| {
                    json!({
                        "name": t.to_string(),
                        "shape": tensor_shape(&t),
                        "offset": t.offset,
                        "values": f32s_json(&tensor_values(blob, &t)),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    json!({
        "format": "mdn-weights",
        "format_version": FORMAT_VERSION,
        "layout": LAYOUT_NOTE,
        "header": {
            "input_dim": info.inputs,
            "output_dim": info.outputs,
            "components": info.components,
            "members": info.networks,
            "hidden": info.hidden,
            "storage": info.storage,
            "activation": info.activation,
            "sigma": info.sigma,
            "sigma_floor": f32_json(info.sigma_floor),
            "target_transform": info.target_transform,
            "feature_names": info.features,
            "target_names": info.targets,
        },
        "parameter_count": info.parameters,
        "crc32": info.crc32,
        "tensors": tensors,
    })
}
