//! The parameter section: which tensors a model has, their names, shapes and order, and
//! where each value is stored.
//!
//! This is the single definition of the parameter order. A model's parameters have a
//! *logical* order, tensor after tensor, each row-major (what the trainer, `mdn export` and
//! [`Blob::parameter_values`](crate::Blob::parameter_values) use), and a *stored* order, the
//! blob's (FORMAT.md section 3): each layer's weights in blocks of [`ROW_BLOCK`] rows, column
//! after column, so that the evaluator reads them front to back. [`Layout::stored_position`]
//! maps one to the other for the writer and the readers of values. (The evaluator,
//! `network`, computes the same stored offsets with plain arithmetic, which is smaller on a
//! device; its tests compare the two.)

mod tensor;

pub use tensor::{TensorInfo, TensorName};

use crate::{
    error::{Error, Result},
    header::{Activation, Header, Storage, to_usize},
};

/// Rows of a dense layer's weights stored together, column after column (FORMAT.md section
/// 3): an evaluator reads the weights of [`ROW_BLOCK`] outputs for each input from one
/// place, and keeps [`ROW_BLOCK`] sums running.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_core::ROW_BLOCK, 8);
/// ```
pub const ROW_BLOCK: usize = 8;

/// `rows` rounded up to whole blocks of [`ROW_BLOCK`] rows: the rows a layer's weights take
/// in the blob, zero rows included. Wrapping: callers have checked the sizes.
pub(crate) const fn padded_rows(rows: usize) -> usize {
    rows.wrapping_add(ROW_BLOCK - 1) & !(ROW_BLOCK - 1)
}

/// Where weight `(row, col)` of a layer with `fan_in` columns lies among its stored weights,
/// in weights (multiply by [`Storage::bytes`] for bytes).
const fn blocked(row: usize, col: usize, fan_in: usize) -> usize {
    (row / ROW_BLOCK) * ROW_BLOCK * fan_in + col * ROW_BLOCK + row % ROW_BLOCK
}

/// Where one parameter lies in the parameter section, and how it is stored.
///
/// # Examples
///
/// ```
/// # use mdn_core::*;
/// let layout = Layout::new(&doc_example_header())?;
/// let first = layout.stored_position(0);
/// assert_eq!(first, Some(StoredAt { byte: 0, storage: Storage::F32 }));
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StoredAt {
    /// Offset of its first byte from the start of the parameter section.
    pub byte: usize,
    /// How it is stored ([`Storage::bytes`] bytes, little-endian).
    pub storage: Storage,
}

/// One dense layer of a network: its shape and the storage of its weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DenseShape {
    pub(crate) rows: usize,
    pub(crate) fan_in: usize,
    pub(crate) storage: Storage,
}

impl DenseShape {
    /// Words of its stored weights: whole blocks of [`ROW_BLOCK`] rows, `ROW_BLOCK *
    /// bytes` bytes a column, a multiple of 4. Wrapping: [`Layout::new`] checked the sizes.
    pub(crate) const fn weight_words(&self) -> usize {
        padded_rows(self.rows)
            .wrapping_mul(self.fan_in)
            .wrapping_mul(self.storage.bytes())
            / 4
    }

    /// Words of its row scales: `rows` for `int8`, else none.
    pub(crate) const fn scale_words(&self) -> usize {
        match self.storage.has_row_scales() {
            true => self.rows,
            false => 0,
        }
    }

    /// Words the layer takes: weights, row scales, biases.
    pub(crate) const fn words(&self) -> usize {
        self.weight_words()
            .wrapping_add(self.scale_words())
            .wrapping_add(self.rows)
    }
}

/// The ordered list of tensors of a model, with checked sizes.
///
/// Small on purpose (it lives on a device's stack during validation): tensors are
/// computed on demand by [`Layout::tensors`], from sizes checked once by [`Layout::new`].
///
/// # Examples
///
/// ```
/// # use mdn_core::*;
/// let header = Header {
///     input_dim: 1, output_dim: 1, components: 2, networks: 2,
///     hidden: HiddenWidths::from_array([4]),
///     storage: Storage::uniform(Storage::F32, 1),
///     activation: Activation::Relu, sigma: SigmaTransform::Nnelu, sigma_floor: 0.0,
///     target_transform: TargetTransform::Identity,
///     feature_names: Names::new("x"), target_names: Names::new("y"),
/// };
/// let layout = Layout::new(&header)?;
/// let names: Vec<String> = layout.tensors().map(|t| t.to_string()).collect();
/// assert_eq!(names[4], "members.log_weight");
/// assert_eq!(names[5], "calibration.sigma_scale");
/// assert_eq!(names[7], "members.0.hidden.0.weight");
/// assert_eq!(names[15], "members.1.hidden.0.weight");
/// // Scalers, two network weights, calibration (2), and two networks of 8 hidden and
/// // 3 * (2 * 4 + 2) head values.
/// assert_eq!(layout.network_parameter_count(), 8 + 3 * (2 * 4 + 2));
/// assert_eq!(layout.parameter_count(), 4 + 2 + 2 + 2 * (8 + 3 * (2 * 4 + 2)));
/// // Stored, each layer's weights take whole blocks of 8 rows: (8 + 4) and (8 * 4 + 2 * 3).
/// assert_eq!(layout.stored_count(), 4 + 2 + 2 + 2 * ((8 + 4) + (8 * 4 + 2 * 3)));
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Layout {
    inputs: usize,
    outputs: usize,
    components: usize,
    networks: usize,
    hidden: heapless::Vec<usize, { crate::MAX_HIDDEN_LAYERS }>,
    /// Only in a build with packed layers (in another, every layer is `f32`): an
    /// `f32`-only firmware's layout stays as small as before on its stack.
    #[cfg(any(feature = "f16", feature = "int8", feature = "int16"))]
    storage: crate::header::LayerStorage,
    network_parameter_count: usize,
    parameter_count: usize,
    network_stored_count: usize,
    stored_count: usize,
}

/// The parameter counts of a layout, logical and stored.
struct Counts {
    network: usize,
    total: usize,
    network_stored: usize,
    stored: usize,
}

impl Layout {
    /// Lays out the tensors of `header`, in logical order.
    ///
    /// # Errors
    ///
    /// [`Error::StorageCount`] if the header does not give one storage per dense layer;
    /// [`Error::InvalidIntegerNetwork`] if it mixes `int8-int16` layers with others or
    /// gives them the tanh activation;
    /// [`Error::SizeOverflow`] if any size, or the parameter section's size in bytes,
    /// overflows `usize`.
    ///
    /// # Examples
    ///
    /// See [`Layout`].
    pub fn new(header: &Header<'_>) -> Result<Self> {
        let mut hidden = heapless::Vec::new();
        for &width in &header.hidden {
            hidden
                .push(to_usize(width)?)
                .map_err(|_| Error::SizeOverflow)?;
        }
        let layers = hidden.len() + 1;
        if header.storage.len() != layers {
            return Err(Error::StorageCount {
                expected: layers,
                found: header.storage.len(),
            });
        }
        let integer = header.storage.iter().filter(|s| s.is_integer()).count();
        if integer != 0 && (integer != layers || header.activation != Activation::Relu) {
            return Err(Error::InvalidIntegerNetwork);
        }
        let mut layout = Layout {
            inputs: to_usize(header.input_dim)?,
            outputs: to_usize(header.output_dim)?,
            components: to_usize(header.components)?,
            networks: to_usize(header.networks)?,
            hidden,
            #[cfg(any(feature = "f16", feature = "int8", feature = "int16"))]
            storage: header.storage.clone(),
            network_parameter_count: 0,
            parameter_count: 0,
            network_stored_count: 0,
            stored_count: 0,
        };
        let counts = layout.count().ok_or(Error::SizeOverflow)?;
        layout.network_parameter_count = counts.network;
        layout.parameter_count = counts.total;
        layout.network_stored_count = counts.network_stored;
        layout.stored_count = counts.stored;
        Ok(layout)
    }

    /// The parameter counts with checked arithmetic, including the stored section's size
    /// in bytes fitting `usize` (readers index bytes). Arithmetic rather than a walk over
    /// [`Layout::tensors`]: this runs on devices, where the iterator costs a kilobyte of
    /// flash.
    fn count(&self) -> Option<Counts> {
        let (mut network, mut stored) = (0_usize, 0_usize);
        let mut fan_in = self.inputs;
        // The hidden layers, then the heads as one layer of K + 2 K D rows.
        let head_rows = self.head_rows()?;
        let widths = self.hidden.iter().copied().chain([head_rows]);
        for (rows, storage) in widths.zip(self.storage()) {
            let storage = storage.as_built();
            // `padded_rows` wraps; this checks that it does not.
            rows.checked_add(ROW_BLOCK - 1)?;
            let padded = padded_rows(rows);
            let scales = match storage.has_row_scales() {
                true => rows,
                false => 0,
            };
            let logical = rows.checked_mul(fan_in.checked_add(1)?)?;
            network = network.checked_add(logical)?.checked_add(scales)?;
            let weight_bytes = padded.checked_mul(fan_in)?.checked_mul(storage.bytes())?;
            stored = stored
                .checked_add(weight_bytes / 4)?
                .checked_add(rows)?
                .checked_add(scales)?;
            fan_in = rows;
        }
        let total = self
            .shared_count()?
            .checked_add(network.checked_mul(self.networks)?)?;
        let stored_total = self
            .shared_count()?
            .checked_add(stored.checked_mul(self.networks)?)?;
        stored_total.checked_mul(4)?;
        Some(Counts {
            network,
            total,
            network_stored: stored,
            stored: stored_total,
        })
    }

    /// Values of the shared tensors: scalers (`2 F + 2 D`), one log weight per network,
    /// calibration (`D + 1`).
    fn shared_count(&self) -> Option<usize> {
        let (f, d) = (self.inputs, self.outputs);
        f.checked_add(d)?
            .checked_mul(2)?
            .checked_add(self.networks)?
            .checked_add(d)?
            .checked_add(1)
    }

    /// Rows of the heads taken as one layer: `K` logits, `K D` means, `K D` sigmas.
    fn head_rows(&self) -> Option<usize> {
        let k = self.components;
        k.checked_mul(self.outputs)?.checked_mul(2)?.checked_add(k)
    }

    /// Each dense layer of one network, input side first, the heads last.
    pub(crate) fn dense_layers(&self) -> impl Iterator<Item = DenseShape> + '_ {
        // Within the sizes `new` checked.
        let head_rows = self.head_rows().unwrap_or(0);
        let mut fan_in = self.inputs;
        let rows = self.hidden.iter().copied().chain([head_rows]);
        rows.zip(self.storage()).map(move |(rows, &storage)| {
            let layer = DenseShape {
                rows,
                fan_in,
                storage: storage.as_built(),
            };
            fan_in = rows;
            layer
        })
    }

    /// The index ranges, in the parameter section's words, of the shared values that must
    /// be positive: the input scales, the target scales and the calibration values.
    pub(crate) fn shared_scale_ranges(&self) -> [core::ops::Range<usize>; 3] {
        // Within the checked parameter count: the scalers come first.
        let (f, d) = (self.inputs, self.outputs);
        let calibration = 2 * (f + d) + self.networks;
        [
            f..2 * f,
            2 * f + d..2 * (f + d),
            calibration..calibration + d + 1,
        ]
    }

    /// The index range of `members.log_weight` in the parameter section.
    pub(crate) fn network_weights_range(&self) -> core::ops::Range<usize> {
        // Within the checked parameter count: right after the scalers.
        let start = 2 * (self.inputs + self.outputs);
        start..start + self.networks
    }

    /// Words of the shared tensors, where the first network starts.
    pub(crate) fn shared_words(&self) -> usize {
        // Checked by `new`.
        self.shared_count().unwrap_or(0)
    }

    /// The tensor names in logical order, each with its network (`None`: shared) and the
    /// storage of its values.
    fn names(&self) -> impl Iterator<Item = (TensorName, Option<usize>, Storage)> + '_ {
        let shared = [
            TensorName::InputOffset,
            TensorName::InputScale,
            TensorName::TargetOffset,
            TensorName::TargetScale,
            TensorName::NetworkLogWeights,
            TensorName::SigmaScale,
            TensorName::Temperature,
        ];
        let storage = |layer: usize| self.storage().get(layer).copied().unwrap_or(Storage::F32);
        // A layer's tensors: weight, its row scales if `int8`, bias.
        let layer = move |weight, scale, bias, storage: Storage| {
            let scale = storage.has_row_scales().then_some((scale, Storage::F32));
            [(weight, storage)]
                .into_iter()
                .chain(scale)
                .chain([(bias, Storage::F32)])
        };
        let network = move |m: usize| {
            let hidden = (0..self.hidden.len()).flat_map(move |i| {
                let (w, s, b) = (
                    TensorName::HiddenWeight(i),
                    TensorName::HiddenWeightScale(i),
                    TensorName::HiddenBias(i),
                );
                layer(w, s, b, storage(i))
            });
            let head_storage = storage(self.hidden.len());
            let head = [
                (
                    TensorName::LogitsWeight,
                    TensorName::LogitsWeightScale,
                    TensorName::LogitsBias,
                ),
                (
                    TensorName::MeansWeight,
                    TensorName::MeansWeightScale,
                    TensorName::MeansBias,
                ),
                (
                    TensorName::SigmasWeight,
                    TensorName::SigmasWeightScale,
                    TensorName::SigmasBias,
                ),
            ]
            .into_iter()
            .flat_map(move |(w, s, b)| layer(w, s, b, head_storage));
            hidden
                .chain(head)
                .map(move |(name, storage)| (name, Some(m), storage))
        };
        let shared = shared.into_iter().map(|name| (name, None, Storage::F32));
        shared.chain((0..self.networks).flat_map(network))
    }

    /// `(rows, cols)` of a tensor (of a hidden layer that does not exist: `(0, 0)`).
    fn shape(&self, name: TensorName) -> (usize, usize) {
        let width = |i: usize| self.hidden.get(i).copied();
        let last = self.hidden.last().copied().unwrap_or(self.inputs);
        let head_rows = self.components.wrapping_mul(self.outputs);
        match name {
            TensorName::InputOffset | TensorName::InputScale => (1, self.inputs),
            TensorName::TargetOffset | TensorName::TargetScale | TensorName::SigmaScale => {
                (1, self.outputs)
            }
            TensorName::NetworkLogWeights => (1, self.networks),
            TensorName::Temperature => (1, 1),
            TensorName::HiddenWeight(i) => match (width(i), i.checked_sub(1)) {
                (Some(w), None) => (w, self.inputs),
                (Some(w), Some(previous)) => (w, width(previous).unwrap_or(0)),
                (None, _) => (0, 0),
            },
            TensorName::HiddenBias(i) | TensorName::HiddenWeightScale(i) => {
                (1, width(i).unwrap_or(0))
            }
            TensorName::LogitsWeight => (self.components, last),
            TensorName::LogitsBias | TensorName::LogitsWeightScale => (1, self.components),
            TensorName::MeansWeight | TensorName::SigmasWeight => (head_rows, last),
            TensorName::MeansBias
            | TensorName::SigmasBias
            | TensorName::MeansWeightScale
            | TensorName::SigmasWeightScale => (1, head_rows),
        }
    }

    /// The tensors in logical order (FORMAT.md section 3), each with its offset in that
    /// order.
    ///
    /// # Examples
    ///
    /// See [`Layout`].
    pub fn tensors(&self) -> impl Iterator<Item = TensorInfo> + '_ {
        // Offsets accumulate with wrapping arithmetic: `new` proved no sum overflows.
        let mut offset = 0_usize;
        self.names().map(move |(name, network, storage)| {
            let (rows, cols) = self.shape(name);
            let info = TensorInfo {
                name,
                network,
                rows,
                cols,
                offset,
                storage,
            };
            offset = offset.wrapping_add(rows.wrapping_mul(cols));
            info
        })
    }

    /// Total number of parameters in logical order: every value the blob holds but the
    /// zero rows, scalers and calibration included.
    ///
    /// # Examples
    ///
    /// See [`Layout`].
    pub const fn parameter_count(&self) -> usize {
        self.parameter_count
    }

    /// Number of 32-bit words of the blob's parameter section: the parameters (packed
    /// four `int8` or two `f16` weights to a word) and the zero rows that fill each
    /// layer's last block of [`ROW_BLOCK`] rows.
    ///
    /// # Examples
    ///
    /// See [`Layout`].
    pub const fn stored_count(&self) -> usize {
        self.stored_count
    }

    /// How each dense layer of a network stores its weights: the hidden layers input side
    /// first, then the heads (all `f32` in a build without the `f16` and `int8` features,
    /// which refuses other storage).
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::*;
    /// let layout = Layout::new(&doc_example_header())?;
    /// assert!(layout.storage().iter().all(|&s| s == Storage::F32));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn storage(&self) -> &[Storage] {
        #[cfg(any(feature = "f16", feature = "int8", feature = "int16"))]
        return &self.storage;
        #[cfg(not(any(feature = "f16", feature = "int8", feature = "int16")))]
        {
            const ALL_F32: [Storage; crate::MAX_DENSE_LAYERS] =
                [Storage::F32; crate::MAX_DENSE_LAYERS];
            ALL_F32.get(..=self.hidden.len()).unwrap_or(&ALL_F32)
        }
    }

    /// Where the parameter at `index` in logical order (tensor after tensor, as
    /// [`Layout::tensors`] lists them, each row-major) is stored in the parameter section,
    /// or `None` for an index past [`Layout::parameter_count`].
    ///
    /// Shared tensors are stored as they are. Within a network, each dense layer (the
    /// hidden layers, then the three heads together as one layer of `K + 2 K D` rows:
    /// logits, means, sigmas) stores its weight rows in blocks of [`ROW_BLOCK`]: block `b`
    /// holds rows `8b .. 8b + 7`, column by column, `W[8b][c], W[8b + 1][c], .., W[8b +
    /// 7][c]` for `c = 0, 1, ..`, with zero rows past the last row, each weight in its
    /// layer's [`Storage`]; then an `int8` layer's row scales; then its biases.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::*;
    /// let layout = Layout::new(&doc_example_header())?;
    /// let hidden = layout.find(TensorName::HiddenWeight(0));
    /// assert_eq!(hidden.map(|t| (t.rows, t.cols)), Some((3, 1)));
    /// let byte = |i| layout.stored_position(i).map(|at| at.byte);
    /// // The scalers, the network weight and the calibration (7 values) stay in place.
    /// assert_eq!(byte(6), Some(6 * 4));
    /// // One column: rows 0..3 of the first block, then 5 zero rows, then the 3 biases.
    /// if let Some(hidden) = hidden {
    ///     assert_eq!(byte(hidden.offset + 2), Some((7 + 2) * 4));
    ///     assert_eq!(byte(hidden.offset + 3), Some((7 + 8) * 4));
    /// }
    /// assert_eq!(layout.stored_position(layout.parameter_count()), None);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn stored_position(&self, index: usize) -> Option<StoredAt> {
        if index >= self.parameter_count {
            return None;
        }
        let f32_at = |word: usize| StoredAt {
            byte: word * 4,
            storage: Storage::F32,
        };
        let shared = self.shared_words();
        let Some(within_networks) = index.checked_sub(shared) else {
            return Some(f32_at(index));
        };
        // Counts were checked by `new`: none of the arithmetic below overflows.
        let network = within_networks.checked_div(self.network_parameter_count)?;
        let mut rest = within_networks.checked_rem(self.network_parameter_count)?;
        let mut word = shared + network * self.network_stored_count;
        let last = self.hidden.len();
        let (k, kd) = (self.components, self.components * self.outputs);
        for (layer, shape) in self.dense_layers().enumerate() {
            let (rows, fan_in, storage) = (shape.rows, shape.fan_in, shape.storage);
            let scales = word + shape.weight_words();
            let biases = scales + shape.scale_words();
            // The layer's tensors in logical order, each a weight, perhaps row scales, and
            // a bias, as (first row, rows): a hidden layer's one, or the heads' logits,
            // means and sigmas.
            let tensors = match layer < last {
                true => [(0, rows), (0, 0), (0, 0)],
                false => [(0, k), (k, kd), (k + kd, kd)],
            };
            for (first_row, rows) in tensors {
                if rest < rows * fan_in {
                    let (row, col) = (rest.checked_div(fan_in)?, rest.checked_rem(fan_in)?);
                    let weight = blocked(first_row + row, col, fan_in);
                    return Some(StoredAt {
                        byte: word * 4 + weight * storage.bytes(),
                        storage,
                    });
                }
                rest -= rows * fan_in;
                if storage.has_row_scales() {
                    if rest < rows {
                        return Some(f32_at(scales + first_row + rest));
                    }
                    rest -= rows;
                }
                if rest < rows {
                    return Some(f32_at(biases + first_row + rest));
                }
                rest -= rows;
            }
            word += shape.words();
        }
        None
    }

    /// Number of parameters of one network in logical order (every network has as many).
    ///
    /// # Examples
    ///
    /// See [`Layout`].
    pub const fn network_parameter_count(&self) -> usize {
        self.network_parameter_count
    }

    /// Number of networks `M`.
    ///
    /// # Examples
    ///
    /// ```
    /// let header = mdn_core::doc_example_header();
    /// assert_eq!(mdn_core::Layout::new(&header)?.networks(), 1);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub const fn networks(&self) -> usize {
        self.networks
    }

    /// Looks a tensor up by name: a shared tensor, or the first network's.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::*;
    /// # let header = Header {
    /// #     input_dim: 1, output_dim: 1, components: 2, networks: 1, hidden: HiddenWidths::new(),
    /// #     storage: Storage::uniform(Storage::F32, 0),
    /// #     activation: Activation::Relu, sigma: SigmaTransform::Nnelu, sigma_floor: 0.0,
    /// #     target_transform: TargetTransform::Identity,
    /// #     feature_names: Names::new("x"), target_names: Names::new("y"),
    /// # };
    /// let layout = Layout::new(&header)?;
    /// let logits = layout.find(TensorName::LogitsWeight);
    /// assert_eq!(logits.map(|t| (t.rows, t.cols, t.offset)), Some((2, 1, 7)));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn find(&self, name: TensorName) -> Option<TensorInfo> {
        self.tensors().find(|t| t.name == name)
    }
}
