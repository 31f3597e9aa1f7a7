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

mod storage;

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
coded_enum!(Storage, CodedField::Storage, { F32 = 0, F16 = 1, Int8 = 2 });

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

/// The header as stored: enums as `u8` codes, so unknown codes can be reported precisely.
///
/// `S` holds the storage codes: the blob's own bytes when reading (postcard writes a
/// sequence of `u8` exactly as a byte string, a length then the bytes, and reading them
/// borrowed costs no collection), a vector when writing.
///
/// postcard writes a struct as its fields one after the other, with nothing around them, so
/// the nested [`ShapeRepr`] takes the same bytes as its fields written in its place
/// (FORMAT.md section 2). The split lets the streaming validator decode the bounded part,
/// everything before the names, from a small buffer ([`ShapeRepr::MAX_ENCODED_LEN`]).
#[derive(Serialize, Deserialize)]
pub(crate) struct HeaderRepr<'a, S> {
    shape: ShapeRepr<S>,
    feature_names: &'a str,
    target_names: &'a str,
}

/// The header as stored up to the names: sizes, storage codes, transforms, sigma floor.
#[derive(Serialize, Deserialize)]
pub(crate) struct ShapeRepr<S> {
    input_dim: u32,
    output_dim: u32,
    components: u32,
    networks: u32,
    hidden: HiddenWidths,
    storage: S,
    activation: u8,
    sigma: u8,
    sigma_floor: f32,
    target_transform: u8,
}

/// Most bytes of a postcard varint of `bits` bits: 7 bits a byte.
const fn varint_max(bits: u32) -> usize {
    bits.div_ceil(7) as usize
}

/// Most bytes of a postcard `usize` varint (lengths of strings and sequences), on this
/// target: 10 on a 64-bit host, 5 on a 32-bit device.
pub(crate) const USIZE_VARINT_MAX: usize = varint_max(usize::BITS);

impl<'s> ShapeRepr<&'s [u8]> {
    /// The most bytes a [`ShapeRepr`] takes in a header that [`Header::try_from`] accepts:
    /// four `u32` varints of at most 5 bytes; the hidden widths, a length varint and at
    /// most [`MAX_HIDDEN_LAYERS`] `u32` varints (heapless refuses more); the storage codes,
    /// a length varint and at most [`MAX_DENSE_LAYERS`] bytes (more are refused); three
    /// `u8` codes and the `f32` sigma floor. 96 bytes on a 64-bit host, 86 on a 32-bit
    /// device.
    pub(crate) const MAX_ENCODED_LEN: usize = 4 * varint_max(u32::BITS)
        + USIZE_VARINT_MAX
        + MAX_HIDDEN_LAYERS * varint_max(u32::BITS)
        + USIZE_VARINT_MAX
        + MAX_DENSE_LAYERS
        + 3
        + 4;

    /// The typed header with these fields and the given names: the header codes checked in
    /// FORMAT.md section 4's order (activation, sigma, target transform, storage), each
    /// unknown ([`Error::UnknownCode`]) or left out of this build ([`Error::Unsupported`]).
    pub(crate) fn into_header<'a>(
        self,
        feature_names: &'a str,
        target_names: &'a str,
    ) -> Result<Header<'a>> {
        let activation = Activation::try_from(self.activation)?;
        if !activation.is_built() {
            return Err(unsupported(CodedField::Activation, self.activation));
        }
        let sigma = SigmaTransform::try_from(self.sigma)?;
        let target_transform = TargetTransform::try_from(self.target_transform)?;
        let mut storage = LayerStorage::new();
        for &code in self.storage {
            let layer = Storage::try_from(code)?;
            if !layer.is_built() {
                return Err(unsupported(CodedField::Storage, code));
            }
            // More codes than layers can be is a header that does not decode.
            storage.push(layer).map_err(|_| Error::HeaderDecode)?;
        }
        Ok(Header {
            input_dim: self.input_dim,
            output_dim: self.output_dim,
            components: self.components,
            networks: self.networks,
            hidden: self.hidden,
            storage,
            activation,
            sigma,
            sigma_floor: self.sigma_floor,
            target_transform,
            feature_names: Names(feature_names),
            target_names: Names(target_names),
        })
    }
}

/// A postcard length prefix (of a string, a byte string or a sequence) on its own, decoded
/// by postcard itself: its map length, which postcard reads exactly as every other length
/// (`try_take_varint_usize`) and hands over as the map's size hint without reading an
/// entry. The streaming validator reads a name's length with it, then the name's bytes as
/// they arrive; a test holds it to postcard's decoding of a whole `&str`.
pub(crate) struct LengthPrefix(pub(crate) usize);

impl<'de> Deserialize<'de> for LengthPrefix {
    fn deserialize<De: serde::Deserializer<'de>>(
        deserializer: De,
    ) -> core::result::Result<Self, De::Error> {
        struct Length;

        impl<'de> serde::de::Visitor<'de> for Length {
            type Value = usize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a length prefix")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> core::result::Result<usize, A::Error> {
                map.size_hint()
                    .ok_or_else(|| serde::de::Error::custom("no length"))
            }
        }

        deserializer.deserialize_map(Length).map(LengthPrefix)
    }
}

/// [`Error::Unsupported`] for `code` of `field`.
fn unsupported(field: CodedField, code: u8) -> Error {
    Error::Unsupported { field, code }
}

/// The header as [`crate::encode`] writes it.
pub(crate) type HeaderOut<'a> = HeaderRepr<'a, heapless::Vec<u8, MAX_DENSE_LAYERS>>;

/// The header as a blob holds it.
pub(crate) type HeaderIn<'a> = HeaderRepr<'a, &'a [u8]>;

impl<'a> From<&Header<'a>> for HeaderOut<'a> {
    fn from(header: &Header<'a>) -> Self {
        HeaderRepr {
            shape: ShapeRepr {
                input_dim: header.input_dim,
                output_dim: header.output_dim,
                components: header.components,
                networks: header.networks,
                hidden: header.hidden.clone(),
                storage: {
                    // Both vectors hold MAX_DENSE_LAYERS: no push fails (and `collect` into
                    // a heapless vector would keep a panic path for the overflow).
                    let mut codes = heapless::Vec::new();
                    for layer in &header.storage {
                        let _ = codes.push(layer.code());
                    }
                    codes
                },
                activation: header.activation.code(),
                sigma: header.sigma.code(),
                sigma_floor: header.sigma_floor,
                target_transform: header.target_transform.code(),
            },
            feature_names: header.feature_names.as_str(),
            target_names: header.target_names.as_str(),
        }
    }
}

impl<'a> TryFrom<HeaderIn<'a>> for Header<'a> {
    type Error = Error;

    fn try_from(repr: HeaderIn<'a>) -> Result<Self> {
        repr.shape
            .into_header(repr.feature_names, repr.target_names)
    }
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
        self.validate_with_name_counts(self.feature_names.len(), self.target_names.len())
    }

    /// [`Header::validate`] with the number of feature and target names given rather than
    /// counted from the header's names: the streaming validator counts the names as their
    /// bytes go by and keeps none of them.
    pub(crate) fn validate_with_name_counts(&self, features: usize, targets: usize) -> Result<()> {
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
            (Dimension::Inputs, self.input_dim, features),
            (Dimension::Outputs, self.output_dim, targets),
        ];
        for (what, dim, found) in names {
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
