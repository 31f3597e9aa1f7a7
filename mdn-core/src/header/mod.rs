//! The model header: shapes, activations, scaling and names.
//!
//! On the wire the header is a postcard-encoded [`HeaderRepr`] whose enums are plain `u8`
//! codes, so that an unknown code is reported as [`Error::UnknownCode`] rather than as a
//! generic decode failure. In memory it is the typed [`Header`].

use core::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{CodedField, Dimension, Error, Result};

/// The most hidden layers a blob may declare (a property of the format, not a capacity).
pub const MAX_HIDDEN_LAYERS: usize = 8;

/// Separator between names in [`Names`]: a line feed, which CSV column names do not contain.
pub const NAME_SEPARATOR: char = SEPARATOR_BYTE as char;

/// [`NAME_SEPARATOR`] as the one byte it encodes to in UTF-8.
const SEPARATOR_BYTE: u8 = b'\n';

mod repr;
mod storage;

pub(crate) use repr::{HeaderIn, HeaderOut, LengthPrefix, ShapeRepr, USIZE_VARINT_MAX};
pub use storage::{LayerStorage, MAX_DENSE_LAYERS, Storage};

/// Widths of the hidden layers, input side first.
pub type HiddenWidths = heapless::Vec<u32, MAX_HIDDEN_LAYERS>;

/// Activation of the hidden layers.
///
/// # Examples
///
/// ```
/// use mdn_core::Activation;
/// assert_eq!(Activation::Relu.apply(-2.0), 0.0);
/// assert_eq!(Activation::try_from(1), Ok(Activation::Tanh));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `z > 0 ? z : 0` (code 0).
    Relu,
    /// `libm::tanhf(z)` (code 1).
    Tanh,
}

/// Positive transform from the sigma head's pre-activation `z` to a standard deviation.
///
/// The result is floored at [`Header::sigma_floor`] afterwards.
///
/// # Examples
///
/// ```
/// use mdn_core::SigmaTransform;
/// assert_eq!(SigmaTransform::Nnelu.apply(0.5), 1.5);
/// assert_eq!(SigmaTransform::Nnelu.apply(0.0), 1.0);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(rename_all = "lowercase")]
pub enum SigmaTransform {
    /// `1 + ELU(z)`: `z > 0 ? 1 + z : expf(z)` (code 0).
    Nnelu,
    /// `z > 20 ? z : log1pf(expf(z))` (code 1).
    Softplus,
    /// `expf(z)` (code 2).
    Exp,
}

/// Transform applied to the target before its affine scaling.
///
/// # Examples
///
/// ```
/// use mdn_core::TargetTransform;
/// assert_eq!(TargetTransform::try_from(1), Ok(TargetTransform::Log));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(rename_all = "lowercase")]
pub enum TargetTransform {
    /// The target is used as is; components are Gaussian in original units (code 0).
    Identity,
    /// The natural log of the target is modelled; components are log-normal in original
    /// units and `y <= 0` has density zero (code 1).
    Log,
}

macro_rules! coded_enum {
    ($ty:ident, $field:expr, { $($variant:ident = $code:expr),+ $(,)? }) => {
        impl $ty {
            /// The variant's code in the blob header.
            ///
            /// # Examples
            ///
            /// ```
            #[doc = concat!("use mdn_core::", stringify!($ty), ";")]
            #[doc = concat!("let all = [", $("mdn_core::", stringify!($ty), "::", stringify!($variant), ", ",)+ "];")]
            #[doc = concat!("for v in all { assert_eq!(", stringify!($ty), "::try_from(v.code()), Ok(v)); }")]
            /// ```
            pub const fn code(self) -> u8 {
                match self { $($ty::$variant => $code,)+ }
            }
        }

        impl TryFrom<u8> for $ty {
            type Error = Error;

            fn try_from(code: u8) -> Result<Self> {
                match code {
                    $($code => Ok($ty::$variant),)+
                    _ => Err(Error::UnknownCode { field: $field, code }),
                }
            }
        }
    };
}

coded_enum!(Activation, CodedField::Activation, { Relu = 0, Tanh = 1 });
coded_enum!(SigmaTransform, CodedField::SigmaTransform, { Nnelu = 0, Softplus = 1, Exp = 2 });
coded_enum!(TargetTransform, CodedField::TargetTransform, { Identity = 0, Log = 1 });
coded_enum!(Storage, CodedField::Storage, { F32 = 0, F16 = 1, Int8 = 2, Int8Int16 = 3, Int16Int16 = 4 });

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Activation::Relu => "relu",
            Activation::Tanh => "tanh",
        })
    }
}

impl fmt::Display for SigmaTransform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SigmaTransform::Nnelu => "nnelu",
            SigmaTransform::Softplus => "softplus",
            SigmaTransform::Exp => "exp",
        })
    }
}

impl fmt::Display for TargetTransform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TargetTransform::Identity => "identity",
            TargetTransform::Log => "log",
        })
    }
}

/// A list of names stored as one UTF-8 string, separated by [`NAME_SEPARATOR`].
///
/// # Examples
///
/// ```
/// use mdn_core::Names;
/// let names = Names::new("waiting\nduration");
/// assert_eq!(names.len(), 2);
/// assert_eq!(names.iter().nth(1), Some("duration"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(transparent)]
pub struct Names<'a>(#[serde(borrow)] &'a str);

impl<'a> Names<'a> {
    /// Wraps names already joined with [`NAME_SEPARATOR`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_core::Names::new("x").len(), 1);
    /// ```
    pub const fn new(joined: &'a str) -> Self {
        Names(joined)
    }

    /// The names joined with [`NAME_SEPARATOR`], as stored.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_core::Names::new("a\nb").as_str(), "a\nb");
    /// ```
    pub const fn as_str(&self) -> &'a str {
        self.0
    }

    /// The names in order.
    ///
    /// # Examples
    ///
    /// ```
    /// let names = mdn_core::Names::new("a\nb");
    /// assert!(names.iter().eq(["a", "b"]));
    /// ```
    pub fn iter(&self) -> core::str::Split<'a, char> {
        self.0.split(NAME_SEPARATOR)
    }

    /// The number of names (an empty string holds one empty name).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_core::Names::new("a\nb\nc").len(), 3);
    /// ```
    pub fn len(&self) -> usize {
        // Counting separators directly avoids `split`'s memchr: smaller on a device.
        self.0.bytes().filter(|&b| b == SEPARATOR_BYTE).count() + 1
    }

    /// Always false: a name list holds at least one (possibly empty) name.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!mdn_core::Names::new("").is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The position of `name`, if present.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_core::Names::new("a\nb").position("b"), Some(1));
    /// ```
    pub fn position(&self, name: &str) -> Option<usize> {
        self.iter().position(|n| n == name)
    }
}

/// The typed model header: everything about a model except its parameters.
///
/// # Examples
///
/// ```
/// use mdn_core::{
///     Activation, Header, HiddenWidths, Names, SigmaTransform, Storage, TargetTransform,
/// };
/// let header = Header {
///     input_dim: 1,
///     output_dim: 1,
///     components: 3,
///     networks: 1,
///     hidden: HiddenWidths::from_array([32, 32]),
///     storage: Storage::uniform(Storage::F32, 2),
///     activation: Activation::Relu,
///     sigma: SigmaTransform::Nnelu,
///     sigma_floor: 1e-3,
///     target_transform: TargetTransform::Identity,
///     feature_names: Names::new("x"),
///     target_names: Names::new("y"),
/// };
/// let count = mdn_core::Layout::new(&header)?.parameter_count();
/// // Scalers, network weight, calibration, hidden layers, heads.
/// assert_eq!(count, 4 + 1 + 2 + 64 + 1056 + 3 * 33 * 3);
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header<'a> {
    /// Number of input features.
    pub input_dim: u32,
    /// Number of target dimensions `D` (the mixture is diagonal in these).
    pub output_dim: u32,
    /// Number of mixture components `K` of each network.
    pub components: u32,
    /// Number of networks `M` (an ensemble): the mixture has `K * M` components. FORMAT.md
    /// section 2 calls this field `members`; postcard stores fields by position, so the
    /// bytes do not depend on the name.
    pub networks: u32,
    /// Widths of the hidden layers, input side first (the same for every network).
    pub hidden: HiddenWidths,
    /// How each dense layer stores its weights: one entry per hidden layer, then one for
    /// the heads ([`Storage::uniform`] for the same everywhere).
    pub storage: LayerStorage,
    /// Activation of every hidden layer.
    pub activation: Activation,
    /// Transform of the sigma head.
    pub sigma: SigmaTransform,
    /// Lower bound on every sigma, in scaled target units, applied after [`Header::sigma`].
    pub sigma_floor: f32,
    /// Transform of the target before scaling.
    pub target_transform: TargetTransform,
    /// One name per input feature.
    #[serde(borrow)]
    pub feature_names: Names<'a>,
    /// One name per target dimension.
    #[serde(borrow)]
    pub target_names: Names<'a>,
}

impl Header<'_> {
    /// Checks what the header says about itself: no zero dimension or network count, one
    /// name per input and per target, a finite non-negative sigma floor. (The storage codes
    /// are counted with the layers' sizes, by [`Layout::new`](crate::Layout::new).)
    ///
    /// # Errors
    ///
    /// [`Error::EmptyDimension`], [`Error::NameCount`] or [`Error::InvalidSigmaFloor`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::*;
    /// let mut header = Header {
    ///     input_dim: 2, output_dim: 1, components: 1, networks: 1, hidden: HiddenWidths::new(),
    ///     storage: Storage::uniform(Storage::F32, 0),
    ///     activation: Activation::Relu, sigma: SigmaTransform::Exp, sigma_floor: 0.0,
    ///     target_transform: TargetTransform::Identity,
    ///     feature_names: Names::new("a\nb"), target_names: Names::new("y"),
    /// };
    /// assert_eq!(header.validate(), Ok(()));
    /// header.sigma_floor = f32::NAN;
    /// assert_eq!(header.validate(), Err(Error::InvalidSigmaFloor));
    /// ```
    pub fn validate(&self) -> Result<()> {
        self.validate_counting_names(|_, names| names.len())
    }

    /// [`Header::validate`] with the names counted by `count` (given the dimension they
    /// name: [`Dimension::Inputs`] or [`Dimension::Outputs`]): the streaming validator counts the names as their bytes go by, keeps
    /// none of them, and gives its counts here. A function rather than the counts, so that
    /// [`Header::validate`] counts the names only once the sizes passed, as it always has
    /// (smaller on ARMv6-M).
    pub(crate) fn validate_counting_names(
        &self,
        count: impl Fn(Dimension, Names<'_>) -> usize,
    ) -> Result<()> {
        let dims = [
            (Dimension::Inputs, self.input_dim),
            (Dimension::Outputs, self.output_dim),
            (Dimension::Components, self.components),
            (Dimension::Networks, self.networks),
        ];
        for (what, size) in dims {
            if size == 0 {
                return Err(Error::EmptyDimension { what });
            }
        }
        if self.hidden.contains(&0) {
            return Err(Error::EmptyDimension {
                what: Dimension::HiddenWidth,
            });
        }
        let names = [
            (Dimension::Inputs, self.input_dim, self.feature_names),
            (Dimension::Outputs, self.output_dim, self.target_names),
        ];
        for (what, dim, names) in names {
            let found = count(what, names);
            if usize::try_from(dim).ok() != Some(found) {
                return Err(Error::NameCount {
                    what,
                    expected: to_usize(dim)?,
                    found,
                });
            }
        }
        if !(self.sigma_floor.is_finite() && self.sigma_floor >= 0.0) {
            return Err(Error::InvalidSigmaFloor);
        }
        Ok(())
    }

    /// The minimum capacities a model with this header needs.
    ///
    /// # Errors
    ///
    /// [`Error::SizeOverflow`] if a dimension does not fit `usize`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_core::*;
    /// let header = Header {
    ///     input_dim: 13, output_dim: 1, components: 5, networks: 2,
    ///     hidden: HiddenWidths::from_array([64, 32]),
    ///     storage: Storage::uniform(Storage::F32, 2),
    ///     activation: Activation::Relu, sigma: SigmaTransform::Nnelu, sigma_floor: 1e-3,
    ///     target_transform: TargetTransform::Identity,
    ///     feature_names: Names::new("a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm"),
    ///     target_names: Names::new("medv"),
    /// };
    /// let needed = header.capacities()?;
    /// // Two networks of five components: a mixture of ten.
    /// assert_eq!((needed.inputs, needed.width, needed.components, needed.outputs), (13, 64, 10, 1));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn capacities(&self) -> Result<Capacities> {
        let mut width = 0;
        for &w in &self.hidden {
            width = width.max(to_usize(w)?);
        }
        let components = to_usize(self.components)?
            .checked_mul(to_usize(self.networks)?)
            .ok_or(Error::SizeOverflow)?;
        Ok(Capacities {
            inputs: to_usize(self.input_dim)?,
            width,
            components,
            outputs: to_usize(self.output_dim)?,
        })
    }
}

/// Capacities of an evaluator, or the minimum a model needs.
///
/// # Examples
///
/// ```
/// use mdn_core::{Capacities, HostModel};
/// assert!(HostModel::CAPACITIES.width >= 256);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Capacities {
    /// Input features.
    pub inputs: usize,
    /// Widest hidden layer (0 for a model without hidden layers).
    pub width: usize,
    /// Mixture components: `K * M`, every network's components.
    pub components: usize,
    /// Output dimensions `D`.
    pub outputs: usize,
}

impl Capacities {
    /// Checks that a model needing `self` fits within `max`.
    ///
    /// # Errors
    ///
    /// [`Error::CapacityExceeded`] naming the first dimension that does not fit.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Capacities, Dimension, Error};
    /// let small = Capacities { inputs: 1, width: 8, components: 2, outputs: 1 };
    /// let big = Capacities { inputs: 1, width: 16, components: 5, outputs: 1 };
    /// assert!(small.fits(&big).is_ok());
    /// assert_eq!(
    ///     big.fits(&small),
    ///     Err(Error::CapacityExceeded { what: Dimension::HiddenWidth, found: 16, max: 8 })
    /// );
    /// ```
    pub fn fits(&self, max: &Capacities) -> Result<()> {
        let checks = [
            (Dimension::Inputs, self.inputs, max.inputs),
            (Dimension::HiddenWidth, self.width, max.width),
            (Dimension::Components, self.components, max.components),
            (Dimension::Outputs, self.outputs, max.outputs),
        ];
        for (what, found, max) in checks {
            if found > max {
                return Err(Error::CapacityExceeded { what, found, max });
            }
        }
        Ok(())
    }
}

/// Converts a header dimension to `usize` (32 bits on thumb targets).
pub(crate) fn to_usize(value: u32) -> Result<usize> {
    usize::try_from(value).map_err(|_| Error::SizeOverflow)
}
