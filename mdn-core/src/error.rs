//! The one error type of mdn-core.

use core::fmt;

/// A part of the model's shape, named in errors about shapes and capacities.
///
/// # Examples
///
/// ```
/// use mdn_core::Dimension;
/// assert_eq!(Dimension::Components.to_string(), "mixture components");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Dimension {
    /// Number of input features.
    Inputs,
    /// Number of output (target) dimensions `D`.
    Outputs,
    /// Mixture components: `K` of one network in a header, `K * M` of the whole mixture in
    /// [`Error::CapacityExceeded`].
    Components,
    /// Width of a hidden layer.
    HiddenWidth,
    /// Number of hidden layers.
    HiddenLayers,
    /// Number of networks `M` of an ensemble.
    Networks,
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dimension::Inputs => "input features",
            Dimension::Outputs => "output dimensions",
            Dimension::Components => "mixture components",
            Dimension::HiddenWidth => "hidden layer width",
            Dimension::HiddenLayers => "hidden layers",
            Dimension::Networks => "networks",
        })
    }
}

/// A coded field of the model header, named when its code is unknown.
///
/// # Examples
///
/// ```
/// use mdn_core::CodedField;
/// assert_eq!(CodedField::Activation.to_string(), "hidden activation");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CodedField {
    /// [`Activation`](crate::Activation) of the hidden layers.
    Activation,
    /// [`SigmaTransform`](crate::SigmaTransform) of the sigma head.
    SigmaTransform,
    /// [`TargetTransform`](crate::TargetTransform) of the target scaler.
    TargetTransform,
    /// [`Storage`](crate::Storage) of a dense layer's weights.
    Storage,
}

impl fmt::Display for CodedField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CodedField::Activation => "hidden activation",
            CodedField::SigmaTransform => "sigma transform",
            CodedField::TargetTransform => "target transform",
            CodedField::Storage => "weight storage",
        })
    }
}

/// Everything that can go wrong in mdn-core: reading a blob, writing one, or asking a query.
///
/// Blob errors are listed in the order [`Model::from_bytes`](crate::Model::from_bytes)
/// checks them; the first failing check decides the variant.
///
/// # Examples
///
/// ```
/// use mdn_core::{Error, HostModel};
/// assert_eq!(HostModel::from_bytes(b"nope").unwrap_err(), Error::BadMagic);
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error {
    /// The blob does not start with [`MAGIC`](crate::MAGIC).
    BadMagic,
    /// The blob's format version is not [`FORMAT_VERSION`](crate::FORMAT_VERSION).
    UnsupportedVersion {
        /// Version found in the blob.
        found: u16,
    },
    /// The blob is shorter than it must be (the fixed prefix, or its declared length).
    Truncated {
        /// Bytes needed.
        expected: usize,
        /// Bytes available.
        found: usize,
    },
    /// The declared length is smaller than a blob can be.
    InvalidLength {
        /// Declared total length in bytes.
        declared: u32,
    },
    /// Bytes follow the declared end of the blob (use `from_prefix` for blobs in a partition).
    TrailingBytes {
        /// Declared total length in bytes.
        expected: usize,
        /// Bytes given.
        found: usize,
    },
    /// The CRC-32 trailer does not match the bytes before it.
    ChecksumMismatch {
        /// CRC stored in the trailer.
        stored: u32,
        /// CRC computed over the blob.
        computed: u32,
    },
    /// The postcard header could not be decoded.
    HeaderDecode,
    /// A coded header field holds an unknown code.
    UnknownCode {
        /// Which field.
        field: CodedField,
        /// The code found.
        code: u8,
    },
    /// A dimension of the model is zero.
    EmptyDimension {
        /// Which dimension.
        what: Dimension,
    },
    /// The model has more of something than the capacities allow.
    CapacityExceeded {
        /// Which dimension.
        what: Dimension,
        /// Size the model needs.
        found: usize,
        /// Capacity available.
        max: usize,
    },
    /// The number of feature or target names differs from the dimension they name.
    NameCount {
        /// [`Dimension::Inputs`] for feature names, [`Dimension::Outputs`] for target names.
        what: Dimension,
        /// Names required.
        expected: usize,
        /// Names found.
        found: usize,
    },
    /// The header's storage codes are not one per dense layer (the hidden layers and the
    /// heads).
    StorageCount {
        /// Dense layers: hidden layers plus one for the heads.
        expected: usize,
        /// Storage codes found.
        found: usize,
    },
    /// The header mixes integer layers ([`Storage::Int8Int16`](crate::Storage::Int8Int16),
    /// [`Storage::Int16Int16`](crate::Storage::Int16Int16)) with others, or gives them an
    /// activation other than relu: an integer network computes in integers from its first
    /// layer to its heads (FORMAT.md section 4).
    InvalidIntegerNetwork,
    /// The sigma floor is negative or not finite.
    InvalidSigmaFloor,
    /// The padding between header and parameters is not all zero.
    NonZeroPadding,
    /// Sizes computed from the header overflow `usize`.
    SizeOverflow,
    /// The parameter section's size differs from what the header implies.
    ParameterSizeMismatch {
        /// Bytes the header implies.
        expected: usize,
        /// Bytes present.
        found: usize,
    },
    /// The parameter section is not 4-byte aligned in memory. Keep blobs in 4-byte-aligned
    /// storage, such as [`Aligned`](crate::Aligned) or a `Vec<u32>`.
    Misaligned {
        /// Address of the parameter section modulo 4.
        offset: usize,
    },
    /// The header asks for something this build of mdn-core leaves out: the tanh
    /// activation, or `f16` or `int8` weights (its cargo features `tanh`, `f16`, `int8`).
    Unsupported {
        /// Which field.
        field: CodedField,
        /// The code found.
        code: u8,
    },
    /// A parameter (weight, bias or scaler value), or a zero-row weight that fills a
    /// layer's last block, is NaN or infinite (an `f32`, or an `f16` weight).
    NonFiniteParameter {
        /// Index of the 32-bit word that holds it, from the start of the parameter section
        /// (stored order, FORMAT.md section 3.1;
        /// [`Layout::stored_position`](crate::Layout::stored_position) maps a logical index
        /// to its byte).
        index: usize,
    },
    /// A value that must be positive (a scaler's scale, a calibration value, an `int8`
    /// layer's row scale) is zero or negative.
    InvalidScale {
        /// Index of the word, from the start of the parameter section.
        index: usize,
    },
    /// The writer was given a value its layer's storage does not hold exactly: for `f16` a
    /// value binary16 cannot represent, for `int8` anything but an integer in
    /// `-128 ..= 127`.
    UnrepresentableParameter {
        /// Index of the value among the parameters in logical order.
        index: usize,
    },
    /// The networks' weights (`members.log_weight`, as `exp`) do not add up to 1.
    InvalidNetworkWeights,
    /// A buffer given to the writer is too small.
    BufferTooSmall {
        /// Bytes needed.
        expected: usize,
        /// Bytes available.
        found: usize,
    },
    /// A query's input `x` has the wrong number of features.
    InputLength {
        /// Features the model takes.
        expected: usize,
        /// Features given.
        found: usize,
    },
    /// A query's target `y` has the wrong number of dimensions.
    TargetLength {
        /// Dimensions the model predicts.
        expected: usize,
        /// Dimensions given.
        found: usize,
    },
    /// A query's input `x` contains NaN or an infinity.
    NonFiniteInput,
    /// A query's target `y` contains NaN or an infinity.
    NonFiniteTarget,
    /// A probability or interval level is not strictly between 0 and 1 (or is NaN).
    InvalidProbability,
    /// A query defined for one output dimension was asked of a mixture with several.
    NotUnivariate {
        /// Output dimensions of the mixture.
        dims: usize,
    },
    /// A sampling temperature is zero, negative or not finite.
    InvalidTemperature,
    /// A sampling sigma scale is zero, negative or not finite.
    InvalidSigmaScale,
    /// Two mixtures compared by a divergence have different target transforms.
    TransformMismatch,
    /// An output buffer's length differs from the number of values the query writes.
    OutputLength {
        /// Values the query writes.
        expected: usize,
        /// Length of the buffer given.
        found: usize,
    },
    /// A mean given to [`Mixture::new`](crate::Mixture::new) is NaN or infinite.
    NonFiniteMean {
        /// Its index among the means given (component `index / dims`, dimension
        /// `index % dims`).
        index: usize,
    },
    /// A sigma given to [`Mixture::new`](crate::Mixture::new) is zero, negative or not
    /// finite.
    InvalidSigma {
        /// Its index among the sigmas given (component `index / dims`, dimension
        /// `index % dims`).
        index: usize,
    },
    /// The weights given to [`Mixture::new`](crate::Mixture::new), `exp` of the log weights,
    /// do not add up to 1 within [`WEIGHT_SUM_TOLERANCE`](crate::WEIGHT_SUM_TOLERANCE)
    /// (a NaN or `+inf` log weight included).
    InvalidMixtureWeights,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Error::BadMagic => write!(f, "not an mdn model blob (bad magic bytes)"),
            Error::UnsupportedVersion { found } => {
                write!(
                    f,
                    "unsupported format version {found}, this reader supports {}",
                    crate::FORMAT_VERSION
                )?;
                if found == 3 {
                    f.write_str(" (written by an older mdn: convert it with `mdn upgrade`)")?;
                } else if found < crate::FORMAT_VERSION {
                    f.write_str(" (written by an older mdn: train the model again)")?;
                }
                Ok(())
            }
            Error::Truncated { expected, found } => {
                write!(
                    f,
                    "blob truncated: expected {expected} bytes, found {found}"
                )
            }
            Error::InvalidLength { declared } => {
                write!(
                    f,
                    "declared blob length {declared} is too small to be valid"
                )
            }
            Error::TrailingBytes { expected, found } => write!(
                f,
                "blob declares {expected} bytes but {found} were given (trailing bytes)"
            ),
            Error::ChecksumMismatch { stored, computed } => write!(
                f,
                "checksum mismatch: stored crc32 {stored:#010x}, computed {computed:#010x}"
            ),
            Error::HeaderDecode => write!(f, "model header could not be decoded"),
            Error::UnknownCode { field, code } => write!(f, "unknown {field} code {code}"),
            Error::EmptyDimension { what } => write!(f, "model has zero {what}"),
            Error::CapacityExceeded { what, found, max } => {
                write!(f, "model needs {found} {what}, capacity is {max}")
            }
            Error::NameCount {
                what,
                expected,
                found,
            } => write!(f, "expected {expected} names for {what}, found {found}"),
            Error::StorageCount { expected, found } => write!(
                f,
                "expected {expected} weight storage codes (one per dense layer), found {found}"
            ),
            Error::InvalidIntegerNetwork => write!(
                f,
                "integer layers (int8-int16, int16-int16) must be every dense layer of a relu network"
            ),
            Error::InvalidSigmaFloor => write!(f, "sigma floor is negative or not finite"),
            Error::NonZeroPadding => write!(f, "padding before the parameters is not zero"),
            Error::SizeOverflow => write!(f, "model sizes overflow the address space"),
            Error::ParameterSizeMismatch { expected, found } => write!(
                f,
                "parameter section holds {found} bytes, header implies {expected}"
            ),
            Error::Misaligned { offset } => write!(
                f,
                "parameters are not 4-byte aligned in memory (address % 4 = {offset}): \
                 store the blob in aligned memory"
            ),
            Error::Unsupported { field, code } => write!(
                f,
                "{field} code {code} is left out of this build of mdn-core (its cargo \
                 features tanh, f16 and int8 add them)"
            ),
            Error::NonFiniteParameter { index } => {
                write!(f, "parameter word {index} is not finite")
            }
            Error::InvalidScale { index } => {
                write!(
                    f,
                    "scale at parameter word {index} (scaler, calibration or int8 row scale) \
                     is not positive"
                )
            }
            Error::UnrepresentableParameter { index } => write!(
                f,
                "parameter {index} is not exactly representable in its layer's weight storage"
            ),
            Error::InvalidNetworkWeights => {
                f.write_str("the networks' weights (members.log_weight) do not add up to 1")
            }
            Error::BufferTooSmall { expected, found } => {
                write!(f, "buffer too small: need {expected} bytes, have {found}")
            }
            Error::InputLength { expected, found } => {
                write!(f, "input has {found} features, model takes {expected}")
            }
            Error::TargetLength { expected, found } => {
                write!(
                    f,
                    "target has {found} dimensions, model predicts {expected}"
                )
            }
            Error::NonFiniteInput => write!(f, "input contains NaN or infinity"),
            Error::NonFiniteTarget => write!(f, "target contains NaN or infinity"),
            Error::InvalidProbability => {
                write!(f, "probability is not strictly between 0 and 1")
            }
            Error::NotUnivariate { dims } => write!(
                f,
                "query needs one output dimension, the mixture has {dims}"
            ),
            Error::InvalidTemperature => write!(f, "temperature is not positive and finite"),
            Error::InvalidSigmaScale => write!(f, "sigma scale is not positive and finite"),
            Error::TransformMismatch => {
                write!(f, "the mixtures have different target transforms")
            }
            Error::OutputLength { expected, found } => write!(
                f,
                "output buffer holds {found} values, the query writes {expected}"
            ),
            Error::NonFiniteMean { index } => write!(f, "mixture mean {index} is not finite"),
            Error::InvalidSigma { index } => {
                write!(f, "mixture sigma {index} is not positive and finite")
            }
            Error::InvalidMixtureWeights => f.write_str("the mixture's weights do not add up to 1"),
        }
    }
}

impl core::error::Error for Error {}

/// The result type of mdn-core.
pub type Result<T> = core::result::Result<T, Error>;
