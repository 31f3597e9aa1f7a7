//! The parameter section: which tensors a model has, their names, shapes and order.
//!
//! This is the single definition of the parameter order. The reader slices blobs with it,
//! the writer checks parameter counts with it, and the trainer names its variables and
//! exports JSON with it.

use core::fmt;

use crate::{
    error::{Error, Result},
    header::{Header, to_usize},
};

/// The name of one parameter tensor.
///
/// `Display` gives the stable string name used by the trainer and the JSON export.
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
/// let t = TensorInfo { name: TensorName::LogitsBias, rows: 1, cols: 5, offset: 100 };
/// assert_eq!(t.len(), 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TensorInfo {
    /// The tensor's name.
    pub name: TensorName,
    /// Rows (outputs of a layer); 1 for vectors.
    pub rows: usize,
    /// Columns (inputs of a layer, or the vector's length).
    pub cols: usize,
    /// Offset in `f32`s from the start of the parameter section.
    pub offset: usize,
}

impl TensorInfo {
    /// Number of `f32`s in the tensor. Fits `usize`: [`Layout::new`] checked every size.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{TensorInfo, TensorName};
    /// let t = TensorInfo { name: TensorName::HiddenWeight(0), rows: 32, cols: 1, offset: 0 };
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
    /// let t = TensorInfo { name: TensorName::LogitsBias, rows: 1, cols: 3, offset: 0 };
    /// assert!(!t.is_empty());
    /// ```
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Maximum number of tensors: four scaler vectors, two per hidden layer, six for the head.
pub const MAX_TENSORS: usize = 4 + 2 * crate::MAX_HIDDEN_LAYERS + 6;

/// The ordered list of tensors of a model, with checked sizes.
///
/// # Examples
///
/// ```
/// # use mdn_core::*;
/// let header = Header {
///     input_dim: 1, output_dim: 1, components: 2,
///     hidden: HiddenWidths::from_slice(&[4]).unwrap(),
///     activation: Activation::Relu, sigma: SigmaTransform::Nnelu, sigma_floor: 0.0,
///     target_transform: TargetTransform::Identity,
///     feature_names: Names::new("x"), target_names: Names::new("y"),
/// };
/// let layout = Layout::new(&header).unwrap();
/// let names: Vec<String> = layout.tensors().iter().map(|t| t.name.to_string()).collect();
/// assert_eq!(names[4], "hidden.0.weight");
/// assert_eq!(layout.parameter_count(), 4 + 8 + 3 * (2 * 4 + 2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Layout {
    tensors: heapless::Vec<TensorInfo, MAX_TENSORS>,
    parameter_count: usize,
}

impl Layout {
    /// Lays out the tensors of `header`, in blob order.
    ///
    /// # Errors
    ///
    /// [`Error::SizeOverflow`] if any size overflows `usize`.
    ///
    /// # Examples
    ///
    /// See [`Layout`].
    pub fn new(header: &Header<'_>) -> Result<Self> {
        let inputs = to_usize(header.input_dim)?;
        let outputs = to_usize(header.output_dim)?;
        let components = to_usize(header.components)?;
        let head_rows = components.checked_mul(outputs).ok_or(Error::SizeOverflow)?;

        let mut layout = Layout {
            tensors: heapless::Vec::new(),
            parameter_count: 0,
        };
        layout.push(TensorName::InputOffset, 1, inputs)?;
        layout.push(TensorName::InputScale, 1, inputs)?;
        layout.push(TensorName::TargetOffset, 1, outputs)?;
        layout.push(TensorName::TargetScale, 1, outputs)?;
        let mut fan_in = inputs;
        for (i, &width) in header.hidden.iter().enumerate() {
            let width = to_usize(width)?;
            layout.push(TensorName::HiddenWeight(i), width, fan_in)?;
            layout.push(TensorName::HiddenBias(i), 1, width)?;
            fan_in = width;
        }
        layout.push(TensorName::LogitsWeight, components, fan_in)?;
        layout.push(TensorName::LogitsBias, 1, components)?;
        layout.push(TensorName::MeansWeight, head_rows, fan_in)?;
        layout.push(TensorName::MeansBias, 1, head_rows)?;
        layout.push(TensorName::SigmasWeight, head_rows, fan_in)?;
        layout.push(TensorName::SigmasBias, 1, head_rows)?;
        Ok(layout)
    }

    fn push(&mut self, name: TensorName, rows: usize, cols: usize) -> Result<()> {
        let len = rows.checked_mul(cols).ok_or(Error::SizeOverflow)?;
        let offset = self.parameter_count;
        self.parameter_count = offset.checked_add(len).ok_or(Error::SizeOverflow)?;
        // The byte size must fit too, since readers index bytes.
        self.parameter_count
            .checked_mul(4)
            .ok_or(Error::SizeOverflow)?;
        let info = TensorInfo {
            name,
            rows,
            cols,
            offset,
        };
        // Capacity is exact for MAX_HIDDEN_LAYERS, which the header type enforces.
        self.tensors.push(info).map_err(|_| Error::SizeOverflow)
    }

    /// The tensors in blob order.
    ///
    /// # Examples
    ///
    /// See [`Layout`].
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// Total number of `f32` parameters, scalers included.
    ///
    /// # Examples
    ///
    /// See [`Layout`].
    pub const fn parameter_count(&self) -> usize {
        self.parameter_count
    }

    /// Looks a tensor up by name.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::*;
    /// # let header = Header {
    /// #     input_dim: 1, output_dim: 1, components: 2, hidden: HiddenWidths::new(),
    /// #     activation: Activation::Relu, sigma: SigmaTransform::Nnelu, sigma_floor: 0.0,
    /// #     target_transform: TargetTransform::Identity,
    /// #     feature_names: Names::new("x"), target_names: Names::new("y"),
    /// # };
    /// let layout = Layout::new(&header).unwrap();
    /// let logits = layout.find(TensorName::LogitsWeight).unwrap();
    /// assert_eq!((logits.rows, logits.cols, logits.offset), (2, 1, 4));
    /// ```
    pub fn find(&self, name: TensorName) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }
}
