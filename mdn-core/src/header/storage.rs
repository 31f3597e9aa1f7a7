//! How each dense layer of a network stores its weights (FORMAT.md section 3.1).

use core::fmt;

use serde::{Deserialize, Serialize};

use super::MAX_HIDDEN_LAYERS;

/// The most dense layers a network has: every hidden layer, and the heads as one layer.
pub const MAX_DENSE_LAYERS: usize = MAX_HIDDEN_LAYERS + 1;

/// How each dense layer stores its weights: the hidden layers input side first, then the
/// heads (one entry for the three).
pub type LayerStorage = heapless::Vec<Storage, MAX_DENSE_LAYERS>;

/// How a dense layer's weights are stored in the blob (FORMAT.md section 3.1), and for
/// the integer storages ([`Storage::Int8Int16`], [`Storage::Int16Int16`]) what arithmetic
/// the layer runs.
///
/// Biases, scalers and every other value stay `f32`. The first three storages convert each
/// stored weight to `f32` exactly, so an `f16` layer computes what an `f32` layer holding the
/// widened weights computes, and an `int8` layer multiplies each row's sum by the row's
/// scale once, before the bias (FORMAT.md section 5). The integer storages compute in
/// integers instead: they make up the whole network or none of it (FORMAT.md section 5,
/// "Integer networks").
///
/// # Examples
///
/// ```
/// use mdn_core::Storage;
/// assert_eq!(Storage::Int8.bytes(), 1);
/// assert_eq!(Storage::try_from(1), Ok(Storage::F16));
/// assert_eq!(Storage::uniform(Storage::F32, 2).len(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(rename_all = "kebab-case")]
pub enum Storage {
    /// IEEE binary32, 4 bytes a weight (code 0).
    F32,
    /// IEEE binary16, 2 bytes a weight (code 1).
    F16,
    /// A signed byte `q` per weight and an `f32` scale per row: the weight is `q * scale`
    /// (code 2).
    Int8,
    /// `int8` weights with an `f32` factor per row, on `int16` activations: exact `int32`
    /// sums, requantized to the next layer's `int16` steps by the row's factor, or turned
    /// into `f32` by it in the heads (code 3). For processors without an FPU: no `f32`
    /// arithmetic between the scaled input and the heads' outputs.
    Int8Int16,
    /// As [`Storage::Int8Int16`] with 16-bit weights (two's complement, 2 bytes), for the
    /// layers whose precision decides the density, typically the heads (code 4).
    Int16Int16,
}

impl Storage {
    /// Bytes one weight takes in the blob.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_core::Storage::F16.bytes(), 2);
    /// ```
    pub const fn bytes(self) -> usize {
        match self {
            Storage::F32 => 4,
            Storage::F16 | Storage::Int16Int16 => 2,
            Storage::Int8 | Storage::Int8Int16 => 1,
        }
    }

    /// Whether each row of the layer carries a scale (`int8`, and the integer storages'
    /// factors).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mdn_core::Storage::Int8.has_row_scales());
    /// ```
    pub const fn has_row_scales(self) -> bool {
        matches!(
            self,
            Storage::Int8 | Storage::Int8Int16 | Storage::Int16Int16
        )
    }

    /// Whether the layer computes in integers ([`Storage::Int8Int16`],
    /// [`Storage::Int16Int16`]).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mdn_core::Storage::Int8Int16.is_integer());
    /// assert!(!mdn_core::Storage::Int8.is_integer());
    /// ```
    pub const fn is_integer(self) -> bool {
        matches!(self, Storage::Int8Int16 | Storage::Int16Int16)
    }

    /// Whether this build of mdn-core evaluates layers stored so (the `f16`, `int8` and
    /// `int16` cargo features; `f32` always).
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(mdn_core::Storage::F32.is_built());
    /// ```
    pub const fn is_built(self) -> bool {
        match self {
            Storage::F32 => true,
            Storage::F16 => cfg!(feature = "f16"),
            Storage::Int8 => cfg!(feature = "int8"),
            Storage::Int8Int16 | Storage::Int16Int16 => cfg!(feature = "int16"),
        }
    }

    /// The storage as this build evaluates it: `self`, or [`Storage::F32`] in a build
    /// without the `f16`, `int8` and `int16` features, which refuses any other storage when it
    /// decodes a header. Evaluation code asks this rather than `self`, so that such a build
    /// compiles no arithmetic for packed layers.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_core::Storage::F32.as_built(), mdn_core::Storage::F32);
    /// ```
    #[inline(always)]
    pub const fn as_built(self) -> Storage {
        if cfg!(any(feature = "f16", feature = "int8", feature = "int16")) {
            self
        } else {
            Storage::F32
        }
    }

    /// The same storage for every dense layer of a network with `hidden_layers` hidden
    /// layers (and its heads), at most [`MAX_DENSE_LAYERS`] entries.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::Storage;
    /// assert!(Storage::uniform(Storage::F16, 0).iter().eq(&[Storage::F16]));
    /// ```
    pub fn uniform(storage: Storage, hidden_layers: usize) -> LayerStorage {
        let mut all = LayerStorage::new();
        for _ in 0..=hidden_layers.min(MAX_HIDDEN_LAYERS) {
            let _ = all.push(storage);
        }
        all
    }
}

impl fmt::Display for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Storage::F32 => "f32",
            Storage::F16 => "f16",
            Storage::Int8 => "int8",
            Storage::Int8Int16 => "int8-int16",
            Storage::Int16Int16 => "int16-int16",
        })
    }
}
