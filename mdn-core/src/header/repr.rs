//! The header as postcard stores it (FORMAT.md section 2): codes as bytes, and the bounded
//! fields before the names as a struct of their own, for the streaming validator.

use core::fmt;

use serde::{Deserialize, Serialize};

use super::{
    Activation, Header, HiddenWidths, LayerStorage, MAX_DENSE_LAYERS, MAX_HIDDEN_LAYERS, Names,
    SigmaTransform, Storage, TargetTransform,
};
use crate::error::{CodedField, Error, Result};

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

impl ShapeRepr<&[u8]> {
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
