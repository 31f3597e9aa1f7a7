//! Compact weights: a blob's dense layers rewritten as `f32`, `f16` or `int8` (FORMAT.md
//! section 3.1), after training.
//!
//! Training always runs in `f32`; storage is chosen when the blob is written
//! (`mdn train --weights`) or afterwards (`mdn quantize`). [`convert`] reads every layer's
//! weights as the values the layer computes with (an `int8` weight is `q * scale` of its
//! row), then stores each in the target layer's type:
//!
//! * `f16`: rounded to the nearest binary16 (ties to even);
//! * `int8`: symmetric, one scale per row: `scale = max_i |w_i| / 127` (1.0 for a row of
//!   zeros), `q = round_half_even(w / scale)` in `-127 ..= 127`.
//!
//! Everything else (scalers, network weights, calibration, biases) is copied bit for bit.
//! mdn-core's [`Layout`] is the one definition of what lies where, for the source and the
//! target alike.

use std::{collections::HashMap, fmt, str::FromStr};

use mdn_core::{Blob, LayerStorage, Layout, Storage, TensorInfo, TensorName};

use crate::{
    aligned::AlignedBytes,
    error::{Error, Result},
    model::{core_error, encode_blob},
};

/// The largest `|q|` of a symmetric `int8` weight.
const INT8_MAX: f32 = 127.0;

/// The fewest inputs for which an `int8` layer is smaller than an `f16` one: a row takes
/// `n + 4` bytes (its scale) against `2 n`.
pub const INT8_MIN_FAN_IN: usize = 5;

/// How a model's weights are stored: the hidden layers' type and the heads' type, as
/// `mdn train --weights` and `mdn quantize --weights` name them.
///
/// * `f32`: everything `f32` (the default);
/// * `f16`: everything `f16`;
/// * `int8`: `int8` hidden layers and `f16` heads, since the heads decide the density (the
///   narrow sigmas of a precise model suffer from `int8` heads: BENCHMARKS.md, "Compact
///   weights"); `--head-weights` overrides the heads.
///
/// An `int8` row costs its weights and a 4-byte scale, so a layer of at most
/// [`INT8_MIN_FAN_IN`] - 1 inputs (the first layer of a one-feature model) is smaller as
/// `f16`: [`WeightPlan::storage`] stores it so.
///
/// # Examples
///
/// ```
/// use mdn_train::compact::WeightPlan;
/// use mdn_core::Storage::{F16, Int8};
/// let plan: WeightPlan = "int8".parse().unwrap();
/// assert_eq!((plan.hidden, plan.head), (Int8, F16));
/// assert!(plan.storage(13, &[32, 32]).iter().eq(&[Int8, Int8, F16]));
/// // One input: its first layer as f16 (2 bytes a weight, no scale) is smaller.
/// assert!(plan.storage(1, &[32, 32]).iter().eq(&[F16, Int8, F16]));
/// assert_eq!(plan.to_string(), "int8 hidden layers, f16 heads");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeightPlan {
    /// Storage of every hidden layer.
    pub hidden: Storage,
    /// Storage of the heads (one layer).
    pub head: Storage,
}

impl WeightPlan {
    /// `f32` everywhere: what training produces.
    pub const F32: WeightPlan = WeightPlan {
        hidden: Storage::F32,
        head: Storage::F32,
    };

    /// The header's storage list for a network of `inputs` features and `hidden` widths:
    /// the plan's, except that a layer [`WeightPlan`] would store as `int8` with fewer than
    /// [`INT8_MIN_FAN_IN`] inputs is `f16`.
    ///
    /// # Examples
    ///
    /// See [`WeightPlan`].
    pub fn storage(&self, inputs: usize, hidden: &[usize]) -> LayerStorage {
        let fan_ins = std::iter::once(inputs).chain(hidden.iter().copied());
        let plans = std::iter::repeat_n(self.hidden, hidden.len()).chain([self.head]);
        let mut storage = LayerStorage::new();
        for (plan, fan_in) in plans.zip(fan_ins) {
            let layer = match plan {
                Storage::Int8 if fan_in < INT8_MIN_FAN_IN => Storage::F16,
                other => other,
            };
            let _ = storage.push(layer);
        }
        storage
    }

    /// The integer network's plan (`--weights int8 --activations int16`): `int8-int16`
    /// hidden layers and 16-bit heads (`int16-int16`), or `int8-int16` heads with
    /// `int8_heads`. Written by [`crate::integer::to_integer`], which needs rows to fit the
    /// activation steps.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::compact::WeightPlan;
    /// let plan = WeightPlan::integer(false);
    /// assert!(plan.is_integer());
    /// assert_eq!(plan.head, mdn_core::Storage::Int16Int16);
    /// ```
    pub const fn integer(int8_heads: bool) -> Self {
        WeightPlan {
            hidden: Storage::Int8Int16,
            head: if int8_heads {
                Storage::Int8Int16
            } else {
                Storage::Int16Int16
            },
        }
    }

    /// Whether the plan is an integer network's ([`WeightPlan::integer`]).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!mdn_train::compact::WeightPlan::F32.is_integer());
    /// ```
    pub const fn is_integer(&self) -> bool {
        self.hidden.is_integer()
    }

    /// The plan with the heads stored as `head`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::compact::WeightPlan;
    /// let plan = WeightPlan::F32.with_head(mdn_core::Storage::Int8);
    /// assert_eq!(plan.head, mdn_core::Storage::Int8);
    /// ```
    pub fn with_head(self, head: Storage) -> Self {
        WeightPlan { head, ..self }
    }
}

impl fmt::Display for WeightPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.hidden == self.head {
            write!(f, "{} everywhere", self.hidden)
        } else {
            write!(f, "{} hidden layers, {} heads", self.hidden, self.head)
        }
    }
}

impl FromStr for WeightPlan {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        let storage = parse_storage(s)?;
        Ok(match storage {
            Storage::Int8 => WeightPlan {
                hidden: Storage::Int8,
                head: Storage::F16,
            },
            other => WeightPlan {
                hidden: other,
                head: other,
            },
        })
    }
}

/// `f32`, `f16` or `int8` as a [`Storage`].
///
/// # Errors
///
/// A message naming the accepted values.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_train::compact::parse_storage("f16"), Ok(mdn_core::Storage::F16));
/// assert!(mdn_train::compact::parse_storage("int4").is_err());
/// ```
pub fn parse_storage(s: &str) -> std::result::Result<Storage, String> {
    match s {
        "f32" => Ok(Storage::F32),
        "f16" => Ok(Storage::F16),
        "int8" => Ok(Storage::Int8),
        other => Err(format!("expected f32, f16 or int8, found `{other}`")),
    }
}

/// The blob `bytes` with its layers stored as `plan` says ([`WeightPlan::storage`]).
///
/// # Errors
///
/// As [`convert`].
///
/// # Examples
///
/// ```
/// let bytes = mdn_core::doc_example_blob();
/// let plan: mdn_train::compact::WeightPlan = "f16".parse().unwrap();
/// let half = mdn_train::compact::apply(&bytes, &plan).unwrap();
/// assert!(half.len() < bytes.len());
/// ```
pub fn apply(bytes: &[u8], plan: &WeightPlan) -> Result<AlignedBytes> {
    let aligned = AlignedBytes::from_slice(bytes);
    let blob = Blob::from_bytes(&aligned).map_err(core_error("reading the model to convert"))?;
    let header = blob.header();
    let hidden: Vec<usize> = header.hidden.iter().map(|&w| w as usize).collect();
    convert(bytes, &plan.storage(header.input_dim as usize, &hidden))
}

/// The blob `bytes` with its layers stored as `storage` (one entry per dense layer: the
/// hidden layers, then the heads), validated.
///
/// Converting to the storage a blob already has returns the same bytes.
///
/// # Errors
///
/// [`Error::Core`] if `bytes` is not a valid blob, `storage` has the wrong length, or a
/// weight is out of binary16's range for an `f16` layer.
///
/// # Examples
///
/// ```
/// use mdn_core::Storage;
/// let bytes = mdn_core::doc_example_blob();
/// let int8 = Storage::uniform(Storage::Int8, 1);
/// let small = mdn_train::compact::convert(&bytes, &int8).unwrap();
/// assert!(small.len() < bytes.len());
/// let model = mdn_core::HostModel::from_bytes(&small).unwrap();
/// assert!(model.log_prob(&[0.5], &[0.0]).unwrap().is_finite());
/// ```
pub fn convert(bytes: &[u8], storage: &[Storage]) -> Result<AlignedBytes> {
    let aligned = AlignedBytes::from_slice(bytes);
    let blob = Blob::from_bytes(&aligned).map_err(core_error("reading the model to convert"))?;
    refuse_integer(&blob.header().storage)?;
    refuse_integer(storage)?;
    let source = blob.layout().map_err(core_error("laying out the model"))?;
    let values: Vec<f32> = blob.parameter_values().collect();
    let effective = effective_weights(&source, &values);
    let mut header = blob.header().clone();
    header.storage = storage.iter().copied().collect();
    let target = mdn_core::Layout::new(&header).map_err(core_error("choosing the storage"))?;
    let mut out = Vec::with_capacity(target.parameter_count());
    // Row scales of the `int8` weight tensor just written, for the scale tensor after it.
    let mut pending_scales = Vec::new();
    for tensor in target.tensors() {
        let key = (tensor.name, tensor.network);
        if tensor.name.is_weight() {
            let weights = &effective[&key];
            let (stored, scales) = store_weights(weights, &tensor);
            out.extend(stored);
            pending_scales = scales;
        } else if tensor.name.is_row_scale() {
            out.append(&mut pending_scales);
        } else {
            let from = source
                .tensors()
                .find(|t| (t.name, t.network) == key)
                .map(|t| &values[t.offset..t.offset + t.len()]);
            out.extend_from_slice(from.unwrap_or_default());
        }
    }
    encode_blob(&header, &out)
}

/// [`Error::InvalidOption`] for an integer network's storage: its factors hold the
/// activation steps as well as the weights' scales, so it is made from a float model and
/// calibration rows ([`crate::integer::to_integer`]) and converted no further.
pub(crate) fn refuse_integer(storage: &[Storage]) -> Result<()> {
    if !storage.iter().any(|s| s.is_integer()) {
        return Ok(());
    }
    Err(Error::InvalidOption {
        option: "--weights",
        expected: "f32, f16 or int8 layers (make int8-int16 models from a float model: \
                   mdn quantize --weights int8 --activations int16 --data ROWS.csv)"
            .into(),
        found: describe(storage),
    })
}

/// Every weight tensor's values as its layer computes with them, by name and network: an
/// `int8` weight times its row's scale (one `f32` multiply), others as stored.
pub(crate) fn effective_weights(
    layout: &Layout,
    values: &[f32],
) -> HashMap<(TensorName, Option<usize>), Vec<f32>> {
    let tensors: Vec<TensorInfo> = layout.tensors().collect();
    let mut weights = HashMap::new();
    for (i, tensor) in tensors.iter().enumerate() {
        if !tensor.name.is_weight() {
            continue;
        }
        let stored = &values[tensor.offset..tensor.offset + tensor.len()];
        let effective = match (tensor.storage, tensors.get(i + 1)) {
            (Storage::Int8, Some(scales)) => {
                let scales = &values[scales.offset..scales.offset + scales.len()];
                stored
                    .chunks(tensor.cols.max(1))
                    .zip(scales)
                    .flat_map(|(row, &scale)| row.iter().map(move |&q| q * scale))
                    .collect()
            }
            _ => stored.to_vec(),
        };
        weights.insert((tensor.name, tensor.network), effective);
    }
    weights
}

/// `weights` (row-major, `tensor.cols` a row) as `tensor.storage` stores them, and the row
/// scales for `int8` (empty otherwise).
fn store_weights(weights: &[f32], tensor: &TensorInfo) -> (Vec<f32>, Vec<f32>) {
    match tensor.storage {
        Storage::F32 => (weights.to_vec(), Vec::new()),
        Storage::F16 => (
            weights
                .iter()
                .map(|&w| half::f16::from_f32(w).to_f32())
                .collect(),
            Vec::new(),
        ),
        // `convert` refuses integer layers (`refuse_integer`).
        Storage::Int8 | Storage::Int8Int16 | Storage::Int16Int16 => {
            let mut stored = Vec::with_capacity(weights.len());
            let mut scales = Vec::with_capacity(tensor.rows);
            for row in weights.chunks(tensor.cols.max(1)) {
                let (q, scale) = quantize_row(row);
                stored.extend(q);
                scales.push(scale);
            }
            (stored, scales)
        }
    }
}

/// Symmetric `int8` quantization of one row: `(q, scale)` with `scale = max |w| / 127`
/// (1.0 for a row of zeros) and `q = round_half_even(w / scale)` within `-127 ..= 127`.
///
/// # Examples
///
/// ```
/// let (q, scale) = mdn_train::compact::quantize_row(&[0.5, -1.27, 0.0]);
/// assert_eq!(scale, 0.01);
/// assert_eq!(q, [50.0, -127.0, 0.0]);
/// ```
pub fn quantize_row(row: &[f32]) -> (Vec<f32>, f32) {
    quantize_row_to(row, INT8_MAX)
}

/// [`quantize_row`] to the integers `-limit ..= limit`: `scale = max_i |w_i| / limit`.
///
/// # Examples
///
/// ```
/// let (q, scale) = mdn_train::compact::quantize_row_to(&[0.5, -1.0], 1000.0);
/// assert_eq!(scale, 0.001);
/// assert_eq!(q, [500.0, -1000.0]);
/// ```
pub fn quantize_row_to(row: &[f32], limit: f32) -> (Vec<f32>, f32) {
    let largest = row.iter().fold(0.0_f32, |m, w| m.max(w.abs()));
    let scale = if largest > 0.0 { largest / limit } else { 1.0 };
    let q = row
        .iter()
        .map(|&w| (w / scale).round_ties_even().clamp(-limit, limit))
        .collect();
    (q, scale)
}

/// The storage of each dense layer of a blob, for messages: `"int8, int8, f16"`.
///
/// # Examples
///
/// ```
/// let storage = mdn_core::Storage::uniform(mdn_core::Storage::F32, 2);
/// assert_eq!(mdn_train::compact::describe(&storage), "f32, f32, f32");
/// ```
pub fn describe(storage: &[Storage]) -> String {
    let names: Vec<String> = storage.iter().map(ToString::to_string).collect();
    names.join(", ")
}

/// [`Error::InvalidOption`] for a storage list of the wrong length (a `--weights` plan is
/// always right; this guards hand-written lists).
pub(crate) fn check_layers(storage: &[Storage], hidden_layers: usize) -> Result<()> {
    if storage.len() == hidden_layers + 1 {
        return Ok(());
    }
    Err(Error::InvalidOption {
        option: "--weights",
        expected: format!(
            "{} storage types (hidden layers and heads)",
            hidden_layers + 1
        ),
        found: storage.len().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use mdn_core::HostModel;

    fn example() -> AlignedBytes {
        AlignedBytes::from_slice(&mdn_core::doc_example_blob())
    }

    #[test]
    fn f16_weights_are_the_nearest_binary16_and_the_rest_is_copied() {
        let bytes = example();
        let f16 = convert(&bytes, &Storage::uniform(Storage::F16, 1)).unwrap();
        let (a, b) = (
            Blob::from_bytes(&bytes).unwrap(),
            Blob::from_bytes(&f16).unwrap(),
        );
        let layout = a.layout().unwrap();
        let (va, vb): (Vec<f32>, Vec<f32>) = (
            a.parameter_values().collect(),
            b.parameter_values().collect(),
        );
        // Without int8 layers the logical order is the same.
        assert_eq!(va.len(), vb.len());
        for t in layout.tensors() {
            for i in t.offset..t.offset + t.len() {
                let expected = if t.name.is_weight() {
                    half::f16::from_f32(va[i]).to_f32()
                } else {
                    va[i]
                };
                assert_eq!(vb[i].to_bits(), expected.to_bits(), "{t}");
            }
        }
        // Back to f32: the rounded values, exactly; again to f16: the same blob.
        let back = convert(&f16, &Storage::uniform(Storage::F32, 1)).unwrap();
        let again = convert(&back, &Storage::uniform(Storage::F16, 1)).unwrap();
        assert_eq!(again, f16);
    }

    #[test]
    fn int8_layers_compute_with_q_times_scale() {
        let bytes = example();
        let int8 = convert(&bytes, &Storage::uniform(Storage::Int8, 1)).unwrap();
        let weights = |bytes: &[u8]| {
            let blob = Blob::from_bytes(bytes).unwrap();
            let values: Vec<f32> = blob.parameter_values().collect();
            effective_weights(&blob.layout().unwrap(), &values)
        };
        let (original, quantized) = (weights(&bytes), weights(&int8));
        assert_eq!(original.len(), 4); // the hidden layer and three heads
        for (key, original) in &original {
            let cols = original.len()
                / if key.0 == TensorName::HiddenWeight(0) {
                    3
                } else {
                    2
                };
            for (row, stored) in original.chunks(cols).zip(quantized[key].chunks(cols)) {
                let (_, scale) = quantize_row(row);
                for (w, effective) in row.iter().zip(stored) {
                    assert!((w - effective).abs() <= 0.5 * scale * 1.000_1, "{key:?}");
                }
            }
        }
        // The int8 model's densities stay close to the f32 model's.
        let (a, b) = (
            HostModel::from_bytes(&bytes).unwrap(),
            HostModel::from_bytes(&int8).unwrap(),
        );
        for x in [-1.0_f32, 0.0, 0.7] {
            let (la, lb) = (
                a.log_prob(&[x], &[0.2]).unwrap(),
                b.log_prob(&[x], &[0.2]).unwrap(),
            );
            assert!((la - lb).abs() < 0.05, "{x}: {la} {lb}");
        }
        // Converting again keeps every q (a scale may move by an ulp: 127 * s / 127).
        let again = convert(&int8, &Storage::uniform(Storage::Int8, 1)).unwrap();
        let q = |bytes: &[u8]| -> Vec<f32> {
            let blob = Blob::from_bytes(bytes).unwrap();
            let layout = blob.layout().unwrap();
            let values: Vec<f32> = blob.parameter_values().collect();
            layout
                .tensors()
                .filter(|t| t.name.is_weight())
                .flat_map(|t| values[t.offset..t.offset + t.len()].to_vec())
                .collect()
        };
        assert_eq!(q(&again), q(&int8));
    }

    #[test]
    fn quantized_rows_are_within_half_a_step() {
        let row = [0.31_f32, -0.77, 0.05, 0.0, 0.769];
        let (q, scale) = quantize_row(&row);
        assert_eq!(scale, 0.77 / 127.0);
        for (q, w) in q.iter().zip(row) {
            assert!((q * scale - w).abs() <= 0.5 * scale * 1.000_01, "{q} {w}");
        }
        assert_eq!(quantize_row(&[0.0, 0.0]), (vec![0.0, 0.0], 1.0));
    }
}
