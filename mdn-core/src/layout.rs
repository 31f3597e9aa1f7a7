//! The parameter section: which tensors a model has, their names, shapes and order, and
//! where each value is stored.
//!
//! This is the single definition of the parameter order. A model's parameters have a
//! *logical* order, tensor after tensor, each row-major (what the trainer, `mdn export` and
//! [`Blob::parameter_values`](crate::Blob::parameter_values) use), and a *stored* order, the
//! blob's (FORMAT.md section 3): each layer's weights in blocks of [`ROW_BLOCK`] rows, column
//! after column, so that the evaluator reads them front to back. [`Layout::stored_index`]
//! maps one to the other for the writer and the readers of values. (The evaluator,
//! `network`, computes the same stored offsets with plain arithmetic, which is smaller on a
//! device; its tests compare the two.)

use core::fmt;

use crate::{
    error::{Error, Result},
    header::{Header, to_usize},
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

/// The name of one parameter tensor, within the shared tensors or within one network.
///
/// `Display` gives the stable string name used by the trainer; [`TensorInfo`]'s `Display`
/// adds the network (`members.m.`) for the full name of FORMAT.md section 3.
///
/// # Examples
///
/// ```
/// use mdn_core::TensorName;
/// assert_eq!(TensorName::HiddenWeight(1).to_string(), "hidden.1.weight");
/// assert_eq!(TensorName::SigmasBias.to_string(), "head.sigmas.bias");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TensorName {
    /// Input scaler offsets, `[input_dim]`.
    InputOffset,
    /// Input scaler scales, `[input_dim]`.
    InputScale,
    /// Target scaler offsets, `[output_dim]`.
    TargetOffset,
    /// Target scaler scales, `[output_dim]`.
    TargetScale,
    /// `ln` of each network's weight in the mixture, `[networks]`.
    NetworkLogWeights,
    /// Weights of hidden layer `i`, `[out][in]` row-major.
    HiddenWeight(usize),
    /// Bias of hidden layer `i`, `[out]`.
    HiddenBias(usize),
    /// Weights of the mixing-logit head, `[K][H]`.
    LogitsWeight,
    /// Bias of the mixing-logit head, `[K]`.
    LogitsBias,
    /// Weights of the mean head, `[K * D][H]`, row `k * D + d`.
    MeansWeight,
    /// Bias of the mean head, `[K * D]`.
    MeansBias,
    /// Weights of the sigma head, `[K * D][H]`, row `k * D + d`.
    SigmasWeight,
    /// Bias of the sigma head, `[K * D]`.
    SigmasBias,
}

impl fmt::Display for TensorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorName::InputOffset => f.write_str("input_scaler.offset"),
            TensorName::InputScale => f.write_str("input_scaler.scale"),
            TensorName::TargetOffset => f.write_str("target_scaler.offset"),
            TensorName::TargetScale => f.write_str("target_scaler.scale"),
            TensorName::NetworkLogWeights => f.write_str("members.log_weight"),
            TensorName::HiddenWeight(i) => write!(f, "hidden.{i}.weight"),
            TensorName::HiddenBias(i) => write!(f, "hidden.{i}.bias"),
            TensorName::LogitsWeight => f.write_str("head.logits.weight"),
            TensorName::LogitsBias => f.write_str("head.logits.bias"),
            TensorName::MeansWeight => f.write_str("head.means.weight"),
            TensorName::MeansBias => f.write_str("head.means.bias"),
            TensorName::SigmasWeight => f.write_str("head.sigmas.weight"),
            TensorName::SigmasBias => f.write_str("head.sigmas.bias"),
        }
    }
}

impl TensorName {
    /// Whether this tensor holds scaler scales, which must be positive.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mdn_core::TensorName::InputScale.is_scale());
    /// ```
    pub const fn is_scale(self) -> bool {
        matches!(self, TensorName::InputScale | TensorName::TargetScale)
    }

    /// Whether the tensor is shared by the networks (scalers, network weights) rather than
    /// repeated in each.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::TensorName;
    /// assert!(TensorName::NetworkLogWeights.is_shared());
    /// assert!(!TensorName::HiddenBias(0).is_shared());
    /// ```
    pub const fn is_shared(self) -> bool {
        matches!(
            self,
            TensorName::InputOffset
                | TensorName::InputScale
                | TensorName::TargetOffset
                | TensorName::TargetScale
                | TensorName::NetworkLogWeights
        )
    }
}

/// One tensor of the parameter section.
///
/// A vector has `rows == 1`; a weight matrix is `rows` outputs by `cols` inputs, row-major.
///
/// # Examples
///
/// ```
/// use mdn_core::TensorInfo;
/// # use mdn_core::TensorName;
/// let t = TensorInfo { name: TensorName::LogitsBias, network: Some(1), rows: 1, cols: 5, offset: 100 };
/// assert_eq!(t.len(), 5);
/// assert_eq!(t.to_string(), "members.1.head.logits.bias");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TensorInfo {
    /// The tensor's name within its network, or among the shared tensors.
    pub name: TensorName,
    /// The network it belongs to; `None` for a shared tensor ([`TensorName::is_shared`]).
    pub network: Option<usize>,
    /// Rows (outputs of a layer); 1 for vectors.
    pub rows: usize,
    /// Columns (inputs of a layer, or the vector's length).
    pub cols: usize,
    /// Offset in `f32`s of its first value among the model's parameters in logical order
    /// (tensor after tensor, row-major); [`Layout::stored_index`] gives where a value is
    /// stored.
    pub offset: usize,
}

impl TensorInfo {
    /// Number of `f32`s in the tensor. Fits `usize`: [`Layout::new`] checked every size.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{TensorInfo, TensorName};
    /// let t = TensorInfo { name: TensorName::HiddenWeight(0), network: Some(0), rows: 32, cols: 1, offset: 5 };
    /// assert_eq!(t.len(), 32);
    /// ```
    pub const fn len(&self) -> usize {
        self.rows.wrapping_mul(self.cols)
    }

    /// Whether the tensor is empty (never, for a validated header).
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{TensorInfo, TensorName};
    /// let t = TensorInfo { name: TensorName::LogitsBias, network: Some(0), rows: 1, cols: 3, offset: 0 };
    /// assert!(!t.is_empty());
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The full name of FORMAT.md section 3: `members.m.` and the network's tensor name, or
/// the shared tensor's name.
impl fmt::Display for TensorInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.network {
            Some(m) => write!(f, "members.{m}.{}", self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

/// Where weight `(row, col)` of a layer with `fan_in` columns lies among its stored weights.
const fn blocked(row: usize, col: usize, fan_in: usize) -> usize {
    (row / ROW_BLOCK) * ROW_BLOCK * fan_in + col * ROW_BLOCK + row % ROW_BLOCK
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
///     activation: Activation::Relu, sigma: SigmaTransform::Nnelu, sigma_floor: 0.0,
///     target_transform: TargetTransform::Identity,
///     feature_names: Names::new("x"), target_names: Names::new("y"),
/// };
/// let layout = Layout::new(&header)?;
/// let names: Vec<String> = layout.tensors().map(|t| t.to_string()).collect();
/// assert_eq!(names[4], "members.log_weight");
/// assert_eq!(names[5], "members.0.hidden.0.weight");
/// assert_eq!(names[13], "members.1.hidden.0.weight");
/// // Scalers, two network weights, and two networks of 8 hidden and 3 * (2 * 4 + 2) head values.
/// assert_eq!(layout.network_parameter_count(), 8 + 3 * (2 * 4 + 2));
/// assert_eq!(layout.parameter_count(), 4 + 2 + 2 * (8 + 3 * (2 * 4 + 2)));
/// // Stored, each layer's weights take whole blocks of 8 rows: (8 + 4) and (8 * 4 + 2 * 3).
/// assert_eq!(layout.stored_count(), 4 + 2 + 2 * ((8 + 4) + (8 * 4 + 2 * 3)));
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
        let mut layout = Layout {
            inputs: to_usize(header.input_dim)?,
            outputs: to_usize(header.output_dim)?,
            components: to_usize(header.components)?,
            networks: to_usize(header.networks)?,
            hidden,
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
        let (f, d) = (self.inputs, self.outputs);
        let (mut network, mut stored) = (0_usize, 0_usize);
        let mut fan_in = f;
        // The hidden layers, then the heads as one layer of K + 2 K D rows.
        let head_rows = self.head_rows()?;
        let widths = self.hidden.iter().copied().chain([head_rows]);
        for rows in widths {
            // `padded_rows` wraps; this checks that it does not.
            rows.checked_add(ROW_BLOCK - 1)?;
            let padded = padded_rows(rows);
            network = network.checked_add(rows.checked_mul(fan_in.checked_add(1)?)?)?;
            stored = stored.checked_add(padded.checked_mul(fan_in)?.checked_add(rows)?)?;
            fan_in = rows;
        }
        // Scalers, one log weight per network, the networks.
        let shared = f
            .checked_add(d)?
            .checked_mul(2)?
            .checked_add(self.networks)?;
        let total = shared.checked_add(network.checked_mul(self.networks)?)?;
        let stored_total = shared.checked_add(stored.checked_mul(self.networks)?)?;
        stored_total.checked_mul(4)?;
        Some(Counts {
            network,
            total,
            network_stored: stored,
            stored: stored_total,
        })
    }

    /// Rows of the heads taken as one layer: `K` logits, `K D` means, `K D` sigmas.
    fn head_rows(&self) -> Option<usize> {
        let k = self.components;
        k.checked_mul(self.outputs)?.checked_mul(2)?.checked_add(k)
    }

    /// The index ranges of the input and target scales in the parameter section, which
    /// must hold positive values.
    pub(crate) fn scale_ranges(&self) -> [core::ops::Range<usize>; 2] {
        // Within the checked parameter count: the scalers come first.
        let (f, d) = (self.inputs, self.outputs);
        [f..2 * f, 2 * f + d..2 * (f + d)]
    }

    /// The index range of `members.log_weight` in the parameter section.
    pub(crate) fn network_weights_range(&self) -> core::ops::Range<usize> {
        // Within the checked parameter count: right after the scalers.
        let start = 2 * (self.inputs + self.outputs);
        start..start + self.networks
    }

    /// The tensor names in logical order, each with its network (`None`: shared).
    fn names(&self) -> impl Iterator<Item = (TensorName, Option<usize>)> + '_ {
        let shared = [
            TensorName::InputOffset,
            TensorName::InputScale,
            TensorName::TargetOffset,
            TensorName::TargetScale,
            TensorName::NetworkLogWeights,
        ];
        let network = move |m: usize| {
            let hidden = (0..self.hidden.len())
                .flat_map(|i| [TensorName::HiddenWeight(i), TensorName::HiddenBias(i)]);
            let head = [
                TensorName::LogitsWeight,
                TensorName::LogitsBias,
                TensorName::MeansWeight,
                TensorName::MeansBias,
                TensorName::SigmasWeight,
                TensorName::SigmasBias,
            ];
            hidden.chain(head).map(move |name| (name, Some(m)))
        };
        let shared = shared.into_iter().map(|name| (name, None));
        shared.chain((0..self.networks).flat_map(network))
    }

    /// `(rows, cols)` of a tensor (of a hidden layer that does not exist: `(0, 0)`).
    fn shape(&self, name: TensorName) -> (usize, usize) {
        let width = |i: usize| self.hidden.get(i).copied();
        let last = self.hidden.last().copied().unwrap_or(self.inputs);
        let head_rows = self.components.wrapping_mul(self.outputs);
        match name {
            TensorName::InputOffset | TensorName::InputScale => (1, self.inputs),
            TensorName::TargetOffset | TensorName::TargetScale => (1, self.outputs),
            TensorName::NetworkLogWeights => (1, self.networks),
            TensorName::HiddenWeight(i) => match (width(i), i.checked_sub(1)) {
                (Some(w), None) => (w, self.inputs),
                (Some(w), Some(previous)) => (w, width(previous).unwrap_or(0)),
                (None, _) => (0, 0),
            },
            TensorName::HiddenBias(i) => (1, width(i).unwrap_or(0)),
            TensorName::LogitsWeight => (self.components, last),
            TensorName::LogitsBias => (1, self.components),
            TensorName::MeansWeight | TensorName::SigmasWeight => (head_rows, last),
            TensorName::MeansBias | TensorName::SigmasBias => (1, head_rows),
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
        self.names().map(move |(name, network)| {
            let (rows, cols) = self.shape(name);
            let info = TensorInfo {
                name,
                network,
                rows,
                cols,
                offset,
            };
            offset = offset.wrapping_add(rows.wrapping_mul(cols));
            info
        })
    }

    /// Total number of `f32` parameters, scalers included.
    ///
    /// # Examples
    ///
    /// See [`Layout`].
    pub const fn parameter_count(&self) -> usize {
        self.parameter_count
    }

    /// Number of `f32` words of the blob's parameter section: the parameters and the zero
    /// rows that fill each layer's last block of [`ROW_BLOCK`] rows.
    ///
    /// # Examples
    ///
    /// See [`Layout`].
    pub const fn stored_count(&self) -> usize {
        self.stored_count
    }

    /// Where the parameter at `index` in logical order (tensor after tensor, as
    /// [`Layout::tensors`] lists them, each row-major) is stored in the parameter section,
    /// or `None` for an index past [`Layout::parameter_count`].
    ///
    /// Shared tensors are stored as they are. Within a network, each dense layer (the
    /// hidden layers, then the three heads together as one layer of `K + 2 K D` rows:
    /// logits, means, sigmas) stores its weight rows in blocks of [`ROW_BLOCK`]: block `b`
    /// holds rows `8b .. 8b + 7`, column by column, `W[8b][c], W[8b + 1][c], .., W[8b +
    /// 7][c]` for `c = 0, 1, ..`, with zero rows past the last row; then its biases.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::*;
    /// let layout = Layout::new(&doc_example_header())?;
    /// let hidden = layout.find(TensorName::HiddenWeight(0));
    /// assert_eq!(hidden.map(|t| (t.rows, t.cols)), Some((3, 1)));
    /// // The scalers and the network weight (5 values) come first and stay in place.
    /// assert_eq!(layout.stored_index(4), Some(4));
    /// // One column: rows 0..3 of the first block, then 5 zero rows, then the 3 biases.
    /// if let Some(hidden) = hidden {
    ///     assert_eq!(layout.stored_index(hidden.offset + 2), Some(5 + 2));
    ///     assert_eq!(layout.stored_index(hidden.offset + 3), Some(5 + 8));
    /// }
    /// assert_eq!(layout.stored_index(layout.parameter_count()), None);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn stored_index(&self, index: usize) -> Option<usize> {
        if index >= self.parameter_count {
            return None;
        }
        let shared = self.parameter_count - self.network_parameter_count * self.networks;
        let Some(within_networks) = index.checked_sub(shared) else {
            return Some(index);
        };
        // Counts were checked by `new`: none of the arithmetic below overflows.
        let network = within_networks.checked_div(self.network_parameter_count)?;
        let mut rest = within_networks.checked_rem(self.network_parameter_count)?;
        let mut stored = shared + network * self.network_stored_count;
        let mut fan_in = self.inputs;
        let head_rows = self.head_rows()?;
        let last = self.hidden.len();
        let (k, kd) = (self.components, self.components * self.outputs);
        for (layer, rows) in self.hidden.iter().copied().chain([head_rows]).enumerate() {
            let weights_stored = padded_rows(rows) * fan_in;
            // The layer's tensors in logical order, each a weight and a bias, as (first row,
            // rows): a hidden layer's one, or the heads' logits, means and sigmas.
            let tensors = match layer < last {
                true => [(0, rows), (0, 0), (0, 0)],
                false => [(0, k), (k, kd), (k + kd, kd)],
            };
            for (first_row, rows) in tensors {
                if rest < rows * fan_in {
                    let (row, col) = (rest.checked_div(fan_in)?, rest.checked_rem(fan_in)?);
                    return Some(stored + blocked(first_row + row, col, fan_in));
                }
                rest -= rows * fan_in;
                if rest < rows {
                    return Some(stored + weights_stored + first_row + rest);
                }
                rest -= rows;
            }
            stored += weights_stored + rows;
            fan_in = rows;
        }
        None
    }

    /// Number of `f32` parameters of one network (every network has as many).
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
    /// #     activation: Activation::Relu, sigma: SigmaTransform::Nnelu, sigma_floor: 0.0,
    /// #     target_transform: TargetTransform::Identity,
    /// #     feature_names: Names::new("x"), target_names: Names::new("y"),
    /// # };
    /// let layout = Layout::new(&header)?;
    /// let logits = layout.find(TensorName::LogitsWeight);
    /// assert_eq!(logits.map(|t| (t.rows, t.cols, t.offset)), Some((2, 1, 5)));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn find(&self, name: TensorName) -> Option<TensorInfo> {
        self.tensors().find(|t| t.name == name)
    }
}
