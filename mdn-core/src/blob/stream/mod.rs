//! Validating a blob as it arrives, chunk by chunk, without holding it: for a firmware that
//! receives a model over UART, BLE or radio and writes each chunk straight to flash.
//!
//! [`StreamValidator`] reaches [`Blob::from_bytes`](crate::Blob::from_bytes)'s decision (or
//! [`Model::from_bytes`](crate::Model::from_bytes)'s, for given capacities) over the
//! concatenation of the chunks, and rejects as soon as the bytes so far cannot start a blob
//! that would be accepted. It keeps 368 bytes of state on a Cortex-M (576 on a 64-bit host)
//! and no copy of the blob:
//!
//! - the 10-byte prefix, checked byte by byte (magic, version, declared length against the
//!   slot);
//! - a running CRC-32 ([`Crc32`](crate::Crc32)) over every byte before the trailer;
//! - the header up to the names (sizes, storage codes, transforms, sigma floor) in a buffer
//!   of [`HEADER_BUFFER_LEN`] bytes, decoded by postcard as [`Blob::from_bytes`] decodes it:
//!   the format bounds this part (at most 8 hidden widths, 9 storage codes, every varint
//!   5 or 10 bytes), so a header whose start does not decode within the buffer is refused
//!   by `from_bytes` too. The header's codes and sizes, its layout and the capacities are
//!   checked as soon as that part is complete;
//! - the names, which the format does not bound, are not kept: their lengths are decoded
//!   by postcard, their bytes checked as UTF-8 and their separators counted as they pass;
//! - then every parameter word as it completes: finite as its layer stores it, positive
//!   where it scales, and the network weights summed as they arrive.
//!
//! Every value check is incremental, so [`StreamValidator::finish`] reads nothing back from
//! the slot: a firmware whose flash is not memory-mapped (a SPI flash) validates without
//! reading, and one whose flash is mapped does not pay for a second pass (the CRC of a blob
//! is most of [`Blob::from_bytes`](crate::Blob::from_bytes)'s time).

mod phases;
#[cfg(test)]
mod tests;

use super::{Crc32, PREFIX_LEN, TRAILER_LEN};
use crate::{
    error::{Error, Result},
    header::{Capacities, Header, ShapeRepr},
    layout::{DenseShape, Layout},
    math::WeightSum,
    model::Model,
};

/// Bytes [`StreamValidator`] sets aside for the header's fields before the names: the most
/// an acceptable header's fields take (four `u32` varints of at most 5 bytes; the hidden
/// widths, a length and at most [`MAX_HIDDEN_LAYERS`](crate::MAX_HIDDEN_LAYERS) varints;
/// the storage codes, a length and at most [`MAX_DENSE_LAYERS`](crate::MAX_DENSE_LAYERS)
/// bytes; three codes and the `f32` sigma floor). A length varint takes at most 10 bytes on
/// a 64-bit host and 5 on a 32-bit device, as postcard reads it there: 96 bytes on a host,
/// 86 on a device.
///
/// # Examples
///
/// ```
/// let expected = if usize::BITS == 64 { 96 } else { 86 };
/// assert_eq!(mdn_core::HEADER_BUFFER_LEN, expected);
/// ```
pub const HEADER_BUFFER_LEN: usize = ShapeRepr::<&[u8]>::MAX_ENCODED_LEN;

/// Which of the header's two names is streaming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Name {
    Features,
    Targets,
}

/// Where the next byte belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
enum Phase {
    /// Magic, version, declared length.
    Prefix,
    /// The header's fields before the names, gathered in the buffer.
    Shape,
    /// A name's length varint, gathered in the buffer.
    NameLength(Name),
    /// A name's bytes: `left` to come, `separators` seen.
    NameBytes {
        name: Name,
        left: usize,
        separators: usize,
    },
    /// Zero bytes up to the parameters: `left` to come.
    Padding { left: usize },
    /// Parameter words: the next word's index in the section, its bytes in the buffer.
    Parameters { word: usize },
    /// The stored CRC, gathered in the buffer.
    Trailer,
    /// The whole declared length arrived and passed.
    Done,
}

/// A network's dense layer that the parameter words are in: its shape and its first word.
#[derive(Debug, Clone, Copy)]
struct LayerCursor {
    index: usize,
    start: usize,
    shape: DenseShape,
}

#[cfg(feature = "defmt")]
impl defmt::Format for LayerCursor {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "layer {} from word {}", self.index, self.start);
    }
}

/// What [`StreamValidator::finish`] reports about an accepted blob.
///
/// # Examples
///
/// ```
/// use mdn_core::StreamValidator;
/// # let bytes = mdn_core::doc_example_blob();
/// # let bytes = &bytes[..];
/// let mut validator = StreamValidator::new(4096);
/// validator.feed(bytes)?;
/// let streamed = validator.finish()?;
/// assert_eq!(streamed.len, bytes.len());
/// assert_eq!(streamed.crc, mdn_core::crc32(&bytes[..bytes.len() - 4]));
/// assert_eq!(streamed.required.components, 2);
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StreamedBlob {
    /// Total blob length in bytes: the bytes written to the slot.
    pub len: usize,
    /// The CRC-32 in the trailer (and computed over the blob).
    pub crc: u32,
    /// The least capacities an evaluator needs for the blob
    /// ([`Blob::required_capacities`](crate::Blob::required_capacities)).
    pub required: Capacities,
}

/// Validates a blob fed chunk by chunk as it arrives, holding none of it, with the decision
/// of [`Blob::from_bytes`](crate::Blob::from_bytes) (or, built with
/// [`StreamValidator::for_model`], of [`Model::from_bytes`]) over all the bytes fed.
///
/// A firmware receiving a model feeds each chunk, writes it to the flash slot if
/// [`feed`](StreamValidator::feed) accepted it, and at the end asks
/// [`finish`](StreamValidator::finish) whether the slot holds a valid blob, without a
/// buffer for the blob and without reading the slot back. `feed` refuses, as soon as the
/// bytes so far show it, a blob that `from_bytes` would refuse whatever followed:
///
/// | refused once | error |
/// |---|---|
/// | a byte of the magic is wrong | [`Error::BadMagic`] |
/// | the version is complete and not [`FORMAT_VERSION`](crate::FORMAT_VERSION) | [`Error::UnsupportedVersion`] |
/// | the declared length is complete and below 14 | [`Error::InvalidLength`] |
/// | ... or above the slot (the constructor's `slot_len`), or the chunks would overflow the slot | [`Error::BufferTooSmall`] |
/// | more bytes than declared arrive | [`Error::TrailingBytes`] |
/// | the header's fields before the names are complete: an unknown or unsupported code, too many storage codes or hidden layers, sizes that overflow, capacities exceeded | the error `from_bytes` gives |
/// | a name's length is complete and the name would run into the trailer, or a name's byte makes it invalid UTF-8 | [`Error::HeaderDecode`] |
/// | the header is complete: a zero size, a name count, the sigma floor, a parameter section whose size disagrees with the declared length | the error `from_bytes` gives |
/// | a padding byte is not zero | [`Error::NonZeroPadding`] |
/// | a parameter word is complete: NaN or infinite, a scale `<= 0`, the last network weight in and the weights do not add up to 1 | the error `from_bytes` gives |
/// | the trailer is complete and differs from the CRC | [`Error::ChecksumMismatch`] |
///
/// The decision is the same as `from_bytes`'s for every sequence of bytes; the error may
/// differ, since `from_bytes` checks the CRC first and the validator only at the end: a
/// damaged blob is refused where the damage first shows. Once refused, every later call
/// returns the same error. The one check of `from_bytes` that is not about the bytes,
/// [`Error::Misaligned`], is the slot's: a firmware's flash slot starts at a 4-byte
/// boundary.
///
/// # Examples
///
/// ```
/// use mdn_core::{Error, Model, StreamValidator};
/// # let bytes = mdn_core::doc_example_blob();
/// # let bytes = &bytes[..];
/// // A 4 KB flash slot, for models that fit `Model<1, 32, 5, 1>`.
/// let mut slot = [0xFF_u8; 4096];
/// let mut validator = StreamValidator::for_model::<1, 32, 5, 1>(slot.len());
/// let mut written = 0;
/// for chunk in bytes.chunks(20) {
///     validator.feed(chunk)?;
///     slot[written..written + chunk.len()].copy_from_slice(chunk);
///     written += chunk.len();
/// }
/// let streamed = validator.finish()?;
/// assert_eq!(streamed.len, written);
///
/// // A wrong magic is refused at its first byte.
/// let mut validator = StreamValidator::new(4096);
/// assert_eq!(validator.feed(b"MDX"), Err(Error::BadMagic));
/// assert_eq!(validator.finish(), Err(Error::BadMagic));
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct StreamValidator {
    slot_len: usize,
    capacities: Option<Capacities>,
    received: usize,
    /// The declared length, once the prefix is complete (0 before).
    declared: usize,
    crc: Crc32,
    phase: Phase,
    /// The first error: every later call returns it.
    rejected: Option<Error>,
    /// The prefix, the header's fields before the names, a name's length, a parameter
    /// word or the trailer, whichever is arriving.
    buffer: [u8; HEADER_BUFFER_LEN],
    buffered: usize,
    /// The decoded header, with empty names (their bytes are not kept).
    header: Option<Header<'static>>,
    layout: Option<Layout>,
    feature_names: usize,
    /// An incomplete UTF-8 sequence at the end of the name bytes so far.
    utf8: [u8; 4],
    utf8_len: usize,
    weights: WeightSum,
    layer: Option<LayerCursor>,
}

impl StreamValidator {
    /// A validator with the decision of [`Blob::from_bytes`](crate::Blob::from_bytes), for a
    /// slot of `slot_len` bytes: a blob declaring more is refused at its prefix.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Error, StreamValidator};
    /// # let bytes = mdn_core::doc_example_blob();
    /// # let bytes = &bytes[..];
    /// // The slot is too small for the blob: refused as soon as its length is read.
    /// let mut validator = StreamValidator::new(bytes.len() - 1);
    /// let refused = validator.feed(&bytes[..10]);
    /// assert_eq!(refused, Err(Error::BufferTooSmall { expected: bytes.len(), found: bytes.len() - 1 }));
    /// ```
    pub const fn new(slot_len: usize) -> Self {
        StreamValidator {
            slot_len,
            capacities: None,
            received: 0,
            declared: 0,
            crc: Crc32::new(),
            phase: Phase::Prefix,
            rejected: None,
            buffer: [0; HEADER_BUFFER_LEN],
            buffered: 0,
            header: None,
            layout: None,
            feature_names: 0,
            utf8: [0; 4],
            utf8_len: 0,
            weights: WeightSum::ZERO,
            layer: None,
        }
    }

    /// A validator that also checks the blob against an evaluator's `capacities`, as soon
    /// as the header's sizes are in: the decision of a model type with these capacities.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Capacities, Dimension, Error, StreamValidator};
    /// # let bytes = mdn_core::doc_example_blob();
    /// # let bytes = &bytes[..];
    /// let one_component = Capacities { inputs: 1, width: 32, components: 1, outputs: 1 };
    /// let mut validator = StreamValidator::with_capacities(4096, one_component);
    /// // The example blob has 2 components: refused once its header's sizes are in, within
    /// // its first 30 bytes.
    /// let refused = validator.feed(&bytes[..30]);
    /// assert_eq!(refused, Err(Error::CapacityExceeded { what: Dimension::Components, found: 2, max: 1 }));
    /// ```
    pub const fn with_capacities(slot_len: usize, capacities: Capacities) -> Self {
        let mut validator = Self::new(slot_len);
        validator.capacities = Some(capacities);
        validator
    }

    /// A validator with the decision of [`Model::<I, W, K, D>::from_bytes`](Model::from_bytes),
    /// for a slot of `slot_len` bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Model, StreamValidator};
    /// # let bytes = mdn_core::doc_example_blob();
    /// # let bytes = &bytes[..];
    /// let mut validator = StreamValidator::for_model::<1, 32, 5, 1>(4096);
    /// validator.feed(bytes)?;
    /// validator.finish()?;
    /// assert!(Model::<1, 32, 5, 1>::from_bytes(bytes).is_ok());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub const fn for_model<const I: usize, const W: usize, const K: usize, const D: usize>(
        slot_len: usize,
    ) -> Self {
        let () = Model::<'static, I, W, K, D>::VALID_CAPACITIES;
        Self::with_capacities(slot_len, Model::<'static, I, W, K, D>::CAPACITIES)
    }

    /// Bytes accepted so far (a refused chunk is not counted).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut validator = mdn_core::StreamValidator::new(4096);
    /// validator.feed(b"MDN\0")?;
    /// assert_eq!(validator.received(), 4);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub const fn received(&self) -> usize {
        self.received
    }

    /// The blob's declared length, once its 10-byte prefix has arrived and passed.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// # let bytes = &bytes[..];
    /// let mut validator = mdn_core::StreamValidator::new(4096);
    /// validator.feed(&bytes[..9])?;
    /// assert_eq!(validator.declared_len(), None);
    /// validator.feed(&bytes[9..10])?;
    /// assert_eq!(validator.declared_len(), Some(bytes.len()));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub const fn declared_len(&self) -> Option<usize> {
        match self.phase {
            Phase::Prefix => None,
            _ => Some(self.declared),
        }
    }

    /// Takes the next bytes of the blob.
    ///
    /// `Ok` means these bytes fit the slot and nothing so far rules the blob out: write
    /// them. The chunks may be of any sizes, empty ones included; the decision depends on
    /// their concatenation only.
    ///
    /// # Errors
    ///
    /// The reason the bytes so far cannot begin an acceptable blob (see [`StreamValidator`]);
    /// after a first error, that error again. A refused chunk is not taken.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Error, StreamValidator};
    /// # let bytes = mdn_core::doc_example_blob();
    /// # let bytes = &bytes[..];
    /// let mut validator = StreamValidator::new(4096);
    /// validator.feed(bytes)?;
    /// // One byte more than declared.
    /// assert!(matches!(validator.feed(&[0]), Err(Error::TrailingBytes { .. })));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn feed(&mut self, chunk: &[u8]) -> Result<()> {
        if let Some(error) = self.rejected {
            return Err(error);
        }
        let result = self.take(chunk);
        if let Err(error) = result {
            self.rejected = Some(error);
        }
        result
    }

    /// The decision over every byte fed: the blob is complete and valid.
    ///
    /// # Errors
    ///
    /// The first error [`feed`](StreamValidator::feed) returned, or
    /// [`Error::Truncated`] if fewer bytes than declared arrived (or fewer than a prefix).
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Error, StreamValidator};
    /// # let bytes = mdn_core::doc_example_blob();
    /// # let bytes = &bytes[..];
    /// let mut validator = StreamValidator::new(4096);
    /// validator.feed(&bytes[..bytes.len() - 1])?;
    /// assert_eq!(
    ///     validator.finish(),
    ///     Err(Error::Truncated { expected: bytes.len(), found: bytes.len() - 1 })
    /// );
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn finish(&self) -> Result<StreamedBlob> {
        if let Some(error) = self.rejected {
            return Err(error);
        }
        let required = self.header.as_ref().map(Header::capacities);
        match (self.phase, required) {
            (Phase::Done, Some(required)) => Ok(StreamedBlob {
                len: self.received,
                crc: self.crc.finish(),
                required: required?,
            }),
            _ => Err(Error::Truncated {
                expected: match self.phase {
                    Phase::Prefix => PREFIX_LEN + TRAILER_LEN,
                    _ => self.declared,
                },
                found: self.received,
            }),
        }
    }
}
