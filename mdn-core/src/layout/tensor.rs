//! The names of the parameter tensors and what a layout says about each.

use core::fmt;

use crate::header::Storage;

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
    /// Calibration: a factor on every sigma of each target dimension, `[output_dim]`.
    SigmaScale,
    /// Calibration: the divisor of every mixing logit, `[1]`.
    Temperature,
    /// Weights of hidden layer `i`, `[out][in]` row-major.
    HiddenWeight(usize),
    /// Row scales of hidden layer `i` stored as `int8`, `[out]`.
    HiddenWeightScale(usize),
    /// Bias of hidden layer `i`, `[out]`.
    HiddenBias(usize),
    /// Weights of the mixing-logit head, `[K][H]`.
    LogitsWeight,
    /// Row scales of the mixing-logit head stored as `int8`, `[K]`.
    LogitsWeightScale,
    /// Bias of the mixing-logit head, `[K]`.
    LogitsBias,
    /// Weights of the mean head, `[K * D][H]`, row `k * D + d`.
    MeansWeight,
    /// Row scales of the mean head stored as `int8`, `[K * D]`.
    MeansWeightScale,
    /// Bias of the mean head, `[K * D]`.
    MeansBias,
    /// Weights of the sigma head, `[K * D][H]`, row `k * D + d`.
    SigmasWeight,
    /// Row scales of the sigma head stored as `int8`, `[K * D]`.
    SigmasWeightScale,
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
            TensorName::SigmaScale => f.write_str("calibration.sigma_scale"),
            TensorName::Temperature => f.write_str("calibration.temperature"),
            TensorName::HiddenWeight(i) => write!(f, "hidden.{i}.weight"),
            TensorName::HiddenWeightScale(i) => write!(f, "hidden.{i}.weight_scale"),
            TensorName::HiddenBias(i) => write!(f, "hidden.{i}.bias"),
            TensorName::LogitsWeight => f.write_str("head.logits.weight"),
            TensorName::LogitsWeightScale => f.write_str("head.logits.weight_scale"),
            TensorName::LogitsBias => f.write_str("head.logits.bias"),
            TensorName::MeansWeight => f.write_str("head.means.weight"),
            TensorName::MeansWeightScale => f.write_str("head.means.weight_scale"),
            TensorName::MeansBias => f.write_str("head.means.bias"),
            TensorName::SigmasWeight => f.write_str("head.sigmas.weight"),
            TensorName::SigmasWeightScale => f.write_str("head.sigmas.weight_scale"),
            TensorName::SigmasBias => f.write_str("head.sigmas.bias"),
        }
    }
}

impl TensorName {
    /// Whether this tensor holds values that must be positive: scaler scales, calibration
    /// values, `int8` row scales.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::TensorName;
    /// assert!(TensorName::InputScale.is_scale());
    /// assert!(TensorName::Temperature.is_scale());
    /// assert!(!TensorName::LogitsBias.is_scale());
    /// ```
    pub const fn is_scale(self) -> bool {
        self.is_row_scale()
            || matches!(
                self,
                TensorName::InputScale
                    | TensorName::TargetScale
                    | TensorName::SigmaScale
                    | TensorName::Temperature
            )
    }

    /// Whether this tensor holds an `int8` layer's row scales (one per row of the weight
    /// tensor before it).
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::TensorName;
    /// assert!(TensorName::MeansWeightScale.is_row_scale());
    /// assert!(!TensorName::InputScale.is_row_scale());
    /// ```
    pub const fn is_row_scale(self) -> bool {
        matches!(
            self,
            TensorName::HiddenWeightScale(_)
                | TensorName::LogitsWeightScale
                | TensorName::MeansWeightScale
                | TensorName::SigmasWeightScale
        )
    }

    /// The dense layer this tensor belongs to, in the header's `storage` order: hidden layer
    /// `i` is `i`, the heads (one layer) are `hidden_layers`; `None` for a shared tensor.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::TensorName;
    /// assert_eq!(TensorName::HiddenBias(1).dense_layer(2), Some(1));
    /// assert_eq!(TensorName::SigmasWeightScale.dense_layer(2), Some(2));
    /// assert_eq!(TensorName::InputScale.dense_layer(2), None);
    /// ```
    pub const fn dense_layer(self, hidden_layers: usize) -> Option<usize> {
        match self {
            TensorName::HiddenWeight(i)
            | TensorName::HiddenWeightScale(i)
            | TensorName::HiddenBias(i) => Some(i),
            TensorName::LogitsWeight
            | TensorName::LogitsWeightScale
            | TensorName::LogitsBias
            | TensorName::MeansWeight
            | TensorName::MeansWeightScale
            | TensorName::MeansBias
            | TensorName::SigmasWeight
            | TensorName::SigmasWeightScale
            | TensorName::SigmasBias => Some(hidden_layers),
            _ => None,
        }
    }

    /// Whether this tensor holds a layer's weights, stored as the layer's [`Storage`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::TensorName;
    /// assert!(TensorName::MeansWeight.is_weight());
    /// assert!(!TensorName::MeansWeightScale.is_weight());
    /// ```
    pub const fn is_weight(self) -> bool {
        matches!(
            self,
            TensorName::HiddenWeight(_)
                | TensorName::LogitsWeight
                | TensorName::MeansWeight
                | TensorName::SigmasWeight
        )
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
                | TensorName::SigmaScale
                | TensorName::Temperature
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
/// # use mdn_core::Storage;
/// let t = TensorInfo {
///     name: TensorName::LogitsBias, network: Some(1), rows: 1, cols: 5, offset: 100,
///     storage: Storage::F32,
/// };
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
    /// (tensor after tensor, row-major); [`Layout::stored_position`](crate::Layout::stored_position) gives where a value is
    /// stored.
    pub offset: usize,
    /// How its values are stored: its layer's [`Storage`] for a weight tensor
    /// ([`TensorName::is_weight`]), else [`Storage::F32`].
    pub storage: Storage,
}

impl TensorInfo {
    /// Number of `f32`s in the tensor. Fits `usize`: [`Layout::new`](crate::Layout::new) checked every size.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::{Storage, TensorInfo, TensorName};
    /// let t = TensorInfo {
    ///     name: TensorName::HiddenWeight(0), network: Some(0), rows: 32, cols: 1, offset: 5,
    ///     storage: Storage::Int8,
    /// };
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
    /// # use mdn_core::{Storage, TensorInfo, TensorName};
    /// let t = TensorInfo {
    ///     name: TensorName::LogitsBias, network: Some(0), rows: 1, cols: 3, offset: 0,
    ///     storage: Storage::F32,
    /// };
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
