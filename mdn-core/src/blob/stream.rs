//! Validating a blob as it arrives, chunk by chunk, without holding it: for a firmware that
//! receives a model over UART, BLE or radio and writes each chunk straight to flash.
//!
//! [`StreamValidator`] reaches [`Blob::from_bytes`](crate::Blob::from_bytes)'s decision (or
//! [`Model::from_bytes`](crate::Model::from_bytes)'s, for given capacities) over the
//! concatenation of the chunks, and rejects as soon as the bytes so far cannot start a blob
//! that would be accepted. It keeps about 400 bytes of state and no copy of the blob:
//!
//! - the 10-byte prefix, checked byte by byte (magic, version, declared length against the
//!   slot);
//! - a running CRC-32 ([`Crc32`]) over every byte before the trailer;
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

use super::{
    Crc32, FORMAT_VERSION, MAGIC, PREFIX_LEN, TRAILER_LEN, align4,
    check::{is_finite, is_positive},
    from_word,
};
use crate::{
    error::{Error, Result},
    header::{Capacities, Header, LengthPrefix, ShapeRepr, Storage, USIZE_VARINT_MAX},
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
/// | the version is complete and not [`FORMAT_VERSION`] | [`Error::UnsupportedVersion`] |
/// | the declared length is complete and below 14 | [`Error::InvalidLength`] |
/// | ... or above the slot (the constructor's `slot_len`), or the chunks would overflow the slot | [`Error::BufferTooSmall`] |
/// | more bytes than declared arrive | [`Error::TrailingBytes`] |
/// | the header's fields before the names are complete: an unknown or unsupported code, too many storage codes or hidden layers, sizes that overflow, capacities exceeded | the error `from_bytes` gives |
/// | a name is complete: not UTF-8, or longer than the blob | [`Error::HeaderDecode`] |
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
    /// // The example blob has 2 components: refused within its first 20 bytes.
    /// let refused = validator.feed(&bytes[..20]);
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

    /// Where the bytes before the trailer end (the declared length is known).
    fn body_end(&self) -> usize {
        self.declared.saturating_sub(TRAILER_LEN)
    }

    fn take(&mut self, mut chunk: &[u8]) -> Result<()> {
        let after = self.received.saturating_add(chunk.len());
        if self.phase != Phase::Prefix && after > self.declared {
            return Err(Error::TrailingBytes {
                expected: self.declared,
                found: after,
            });
        }
        if after > self.slot_len {
            return Err(Error::BufferTooSmall {
                expected: after,
                found: self.slot_len,
            });
        }
        while !chunk.is_empty() {
            let phase = self.phase;
            let taken = match phase {
                Phase::Prefix => self.prefix(chunk)?,
                Phase::Shape => self.shape(chunk)?,
                Phase::NameLength(name) => self.name_length(chunk, name)?,
                Phase::NameBytes {
                    name,
                    left,
                    separators,
                } => self.name_bytes(chunk, name, left, separators)?,
                Phase::Padding { left } => self.padding(chunk, left)?,
                Phase::Parameters { word } => self.parameters(chunk, word)?,
                Phase::Trailer => self.trailer(chunk)?,
                Phase::Done => {
                    return Err(Error::TrailingBytes {
                        expected: self.declared,
                        found: self.received.saturating_add(chunk.len()),
                    });
                }
            };
            if taken == 0 && self.phase == phase {
                // Every phase takes a byte or moves on; this keeps a mistake from looping.
                return Err(Error::HeaderDecode);
            }
            chunk = chunk.get(taken..).unwrap_or(&[]);
        }
        Ok(())
    }

    /// Counts `bytes`, the next of the blob, as received, and hashes them (every byte before
    /// the trailer).
    fn advance(&mut self, bytes: &[u8]) {
        if self.phase != Phase::Trailer {
            self.crc.update(bytes);
        }
        self.received += bytes.len();
    }

    /// Gathers `chunk`'s first bytes in the buffer, up to `limit` buffered bytes and the
    /// end of the header's room (the bytes before the trailer), and counts them as received;
    /// returns the bytes buffered before.
    fn gather(&mut self, chunk: &[u8], limit: usize) -> Result<usize> {
        let room = self.body_end().saturating_sub(self.received);
        if room == 0 {
            // The header runs into the trailer: `from_bytes` decodes it from the bytes
            // before the trailer and runs out.
            return Err(Error::HeaderDecode);
        }
        let count = chunk
            .len()
            .min(room)
            .min(limit.saturating_sub(self.buffered));
        let before = self.buffered;
        let target = self.buffer.get_mut(before..before + count);
        let source = chunk.get(..count);
        if let (Some(target), Some(source)) = (target, source) {
            target.copy_from_slice(source);
        }
        self.buffered += count;
        Ok(before)
    }

    /// Bytes of the buffer after a decoded value of `rest` bytes that were not the value's
    /// after all: they are not received yet, and the CRC has not seen them (the caller
    /// hashes only what the value took).
    fn settle(&mut self, chunk: &[u8], before: usize, rest: usize) -> usize {
        let used = self.buffered.saturating_sub(rest).saturating_sub(before);
        self.advance(chunk.get(..used).unwrap_or(chunk));
        self.buffered = 0;
        used
    }

    fn prefix(&mut self, chunk: &[u8]) -> Result<usize> {
        let count = chunk.len().min(PREFIX_LEN - self.buffered);
        for (at, &byte) in (self.buffered..).zip(chunk.iter().take(count)) {
            if MAGIC.get(at).is_some_and(|&m| m != byte) {
                return Err(Error::BadMagic);
            }
            if let Some(slot) = self.buffer.get_mut(at) {
                *slot = byte;
            }
        }
        self.buffered += count;
        let [_, _, _, _, v0, v1, l0, l1, l2, l3, ..] = self.buffer;
        if self.buffered >= 6 {
            let version = u16::from_le_bytes([v0, v1]);
            if version != FORMAT_VERSION {
                return Err(Error::UnsupportedVersion { found: version });
            }
        }
        if self.buffered == PREFIX_LEN {
            let declared = u32::from_le_bytes([l0, l1, l2, l3]);
            let declared_len = usize::try_from(declared).map_err(|_| Error::SizeOverflow)?;
            if declared_len < PREFIX_LEN + TRAILER_LEN {
                return Err(Error::InvalidLength { declared });
            }
            if declared_len > self.slot_len {
                return Err(Error::BufferTooSmall {
                    expected: declared_len,
                    found: self.slot_len,
                });
            }
            // `take` checked the chunk against the slot; now it can against the blob.
            let after = self.received.saturating_add(chunk.len());
            if after > declared_len {
                return Err(Error::TrailingBytes {
                    expected: declared_len,
                    found: after,
                });
            }
            self.declared = declared_len;
            self.buffered = 0;
            self.advance(chunk.get(..count).unwrap_or(chunk));
            self.phase = Phase::Shape;
        } else {
            self.advance(chunk.get(..count).unwrap_or(chunk));
        }
        Ok(count)
    }

    /// The header's fields before the names: decoded by postcard from the buffer once they
    /// are all in, then checked as far as they go without the names.
    fn shape(&mut self, chunk: &[u8]) -> Result<usize> {
        let before = self.gather(chunk, HEADER_BUFFER_LEN)?;
        let gathered = self.buffer.get(..self.buffered).unwrap_or(&[]);
        let (shape, rest) = match postcard::take_from_bytes::<ShapeRepr<&[u8]>>(gathered) {
            Ok(decoded) => decoded,
            Err(postcard::Error::DeserializeUnexpectedEnd) if self.buffered < HEADER_BUFFER_LEN => {
                let used = self.buffered - before;
                self.advance(chunk.get(..used).unwrap_or(chunk));
                return Ok(used);
            }
            // Full and still short, or not a header: no header `from_bytes` accepts
            // starts so.
            Err(_) => return Err(Error::HeaderDecode),
        };
        let rest = rest.len();
        let header = shape.into_header("", "")?;
        let layout = Layout::new(&header)?;
        if let Some(max) = self.capacities {
            header.capacities()?.fits(&max)?;
        }
        self.header = Some(header);
        self.layout = Some(layout);
        // Bytes of this chunk after the fields belong to the names: not taken here.
        let used = self.settle(chunk, before, rest);
        self.phase = Phase::NameLength(Name::Features);
        Ok(used)
    }

    /// A name's length: a postcard varint, decoded by postcard once complete.
    fn name_length(&mut self, chunk: &[u8], name: Name) -> Result<usize> {
        let before = self.gather(chunk, USIZE_VARINT_MAX)?;
        let gathered = self.buffer.get(..self.buffered).unwrap_or(&[]);
        let (LengthPrefix(len), rest) = match postcard::take_from_bytes::<LengthPrefix>(gathered) {
            Ok(decoded) => decoded,
            Err(postcard::Error::DeserializeUnexpectedEnd) if self.buffered < USIZE_VARINT_MAX => {
                let used = self.buffered - before;
                self.advance(chunk.get(..used).unwrap_or(chunk));
                return Ok(used);
            }
            Err(_) => return Err(Error::HeaderDecode),
        };
        let rest = rest.len();
        let used = self.settle(chunk, before, rest);
        if len > self.body_end().saturating_sub(self.received) {
            // The name would run into the trailer: postcard runs out of bytes.
            return Err(Error::HeaderDecode);
        }
        self.phase = Phase::NameBytes {
            name,
            left: len,
            separators: 0,
        };
        if len == 0 {
            self.name_done(name, 1)?;
        }
        Ok(used)
    }

    /// A name's bytes: UTF-8 as `core::str::from_utf8` (postcard's check) sees it, and its
    /// separators counted as [`Names::len`](crate::Names::len) counts them.
    fn name_bytes(
        &mut self,
        chunk: &[u8],
        name: Name,
        left: usize,
        mut separators: usize,
    ) -> Result<usize> {
        let (bytes, _) = chunk.split_at_checked(left).unwrap_or((chunk, &[]));
        for &byte in bytes {
            separators += usize::from(byte == NAME_SEPARATOR_BYTE);
            let Some(slot) = self.utf8.get_mut(self.utf8_len) else {
                return Err(Error::HeaderDecode);
            };
            *slot = byte;
            self.utf8_len += 1;
            match core::str::from_utf8(self.utf8.get(..self.utf8_len).unwrap_or(&[])) {
                Ok(_) => self.utf8_len = 0,
                // The start of a character that may still complete.
                Err(e) if e.error_len().is_none() => {}
                Err(_) => return Err(Error::HeaderDecode),
            }
        }
        self.advance(bytes);
        let left = left - bytes.len();
        self.phase = Phase::NameBytes {
            name,
            left,
            separators,
        };
        if left == 0 {
            if self.utf8_len != 0 {
                return Err(Error::HeaderDecode);
            }
            self.name_done(name, separators + 1)?;
        }
        Ok(bytes.len())
    }

    /// A name is complete and holds `count` names: the next name, or the whole header.
    fn name_done(&mut self, name: Name, count: usize) -> Result<()> {
        match name {
            Name::Features => {
                self.feature_names = count;
                self.phase = Phase::NameLength(Name::Targets);
                Ok(())
            }
            Name::Targets => self.header_done(count),
        }
    }

    /// The header is complete (it ends at `received`): the header's own checks, then the
    /// parameter section's size against the declared length.
    fn header_done(&mut self, target_names: usize) -> Result<()> {
        let (Some(header), Some(layout)) = (&self.header, &self.layout) else {
            return Err(Error::HeaderDecode);
        };
        header.validate_with_name_counts(self.feature_names, target_names)?;
        let parameters_start = align4(self.received);
        let body_end = self.body_end();
        // `Layout::new` checked that this product fits.
        let expected = layout.stored_count().wrapping_mul(4);
        let found = body_end.checked_sub(parameters_start);
        if found != Some(expected) {
            return Err(Error::ParameterSizeMismatch {
                expected,
                found: found.unwrap_or(0),
            });
        }
        self.phase = match parameters_start - self.received {
            0 => Phase::Parameters { word: 0 },
            left => Phase::Padding { left },
        };
        Ok(())
    }

    fn padding(&mut self, chunk: &[u8], left: usize) -> Result<usize> {
        let (padding, _) = chunk.split_at_checked(left).unwrap_or((chunk, &[]));
        if padding.iter().any(|&b| b != 0) {
            return Err(Error::NonZeroPadding);
        }
        self.advance(padding);
        self.phase = match left - padding.len() {
            0 => Phase::Parameters { word: 0 },
            left => Phase::Padding { left },
        };
        Ok(padding.len())
    }

    /// Parameter words, each checked as soon as its fourth byte is in.
    fn parameters(&mut self, chunk: &[u8], mut word: usize) -> Result<usize> {
        let words = self.layout.as_ref().map_or(0, Layout::stored_count);
        let mut rest = chunk;
        // A word begun in an earlier chunk, then whole words, then the start of the next.
        while self.buffered > 0 && word < words {
            let Some((&byte, tail)) = rest.split_first() else {
                break;
            };
            rest = tail;
            self.gather_word_byte(byte);
            if self.buffered == 4 {
                self.buffered = 0;
                let [a, b, c, d, ..] = self.buffer;
                // The word as it lies in memory, as `Blob::from_bytes` reads it.
                self.check_word(word, u32::from_ne_bytes([a, b, c, d]))?;
                word += 1;
            }
        }
        if self.buffered == 0 {
            let (whole, _) = rest.as_chunks::<4>();
            let whole = whole.get(..words - word).unwrap_or(whole);
            for &bytes in whole {
                self.check_word(word, u32::from_ne_bytes(bytes))?;
                word += 1;
            }
            rest = rest.get(whole.len() * 4..).unwrap_or(&[]);
            if word < words {
                for &byte in rest.iter().take(3) {
                    self.gather_word_byte(byte);
                }
                rest = rest.get(self.buffered..).unwrap_or(&[]);
            }
        }
        let taken = chunk.len() - rest.len();
        self.advance(chunk.get(..taken).unwrap_or(chunk));
        self.phase = match word < words {
            true => Phase::Parameters { word },
            false => Phase::Trailer,
        };
        Ok(taken)
    }

    /// Adds a byte of a parameter word to the buffer.
    fn gather_word_byte(&mut self, byte: u8) {
        if let Some(slot) = self.buffer.get_mut(self.buffered) {
            *slot = byte;
        }
        self.buffered += 1;
    }

    /// The checks of `Blob::from_bytes` on parameter word `index` (FORMAT.md section 4):
    /// finite as stored, positive where it scales, the network weights adding up to 1 once
    /// the last is in.
    fn check_word(&mut self, index: usize, word: u32) -> Result<()> {
        let Some(layout) = &self.layout else {
            return Err(Error::HeaderDecode);
        };
        let shared = layout.shared_words();
        if index < shared {
            if !is_finite(word, Storage::F32) {
                return Err(Error::NonFiniteParameter { index });
            }
            let [inputs, targets, calibration] = layout.shared_scale_ranges();
            let scale =
                inputs.contains(&index) || targets.contains(&index) || calibration.contains(&index);
            if scale && !is_positive(word) {
                return Err(Error::InvalidScale { index });
            }
            let weights = layout.network_weights_range();
            if weights.contains(&index) {
                self.weights.add(from_word(word));
                if index + 1 == weights.end && !self.weights.is_one() {
                    return Err(Error::InvalidNetworkWeights);
                }
            }
            return Ok(());
        }
        let layers = layout.storage().len();
        let mut cursor = match self.layer {
            Some(cursor) => cursor,
            None => LayerCursor {
                index: 0,
                start: shared,
                shape: layout.dense_layers().next().ok_or(Error::HeaderDecode)?,
            },
        };
        // Every layer has at least one row (no size is zero), so each takes words.
        while index >= cursor.start + cursor.shape.words() {
            cursor.start += cursor.shape.words();
            cursor.index = (cursor.index + 1) % layers.max(1);
            let next = layout.dense_layers().nth(cursor.index);
            cursor.shape = next.ok_or(Error::HeaderDecode)?;
        }
        self.layer = Some(cursor);
        let offset = index - cursor.start;
        let weights = cursor.shape.weight_words();
        let storage = match offset < weights {
            true => cursor.shape.storage,
            false => Storage::F32,
        };
        if !is_finite(word, storage) {
            return Err(Error::NonFiniteParameter { index });
        }
        let scales = weights..weights + cursor.shape.scale_words();
        if scales.contains(&offset) && !is_positive(word) {
            return Err(Error::InvalidScale { index });
        }
        Ok(())
    }

    /// The stored CRC, compared with the computed one once complete.
    fn trailer(&mut self, chunk: &[u8]) -> Result<usize> {
        let count = chunk.len().min(TRAILER_LEN - self.buffered);
        let target = self.buffer.get_mut(self.buffered..self.buffered + count);
        if let (Some(target), Some(source)) = (target, chunk.get(..count)) {
            target.copy_from_slice(source);
        }
        self.buffered += count;
        self.advance(chunk.get(..count).unwrap_or(chunk));
        if self.buffered == TRAILER_LEN {
            let [a, b, c, d, ..] = self.buffer;
            let stored = u32::from_le_bytes([a, b, c, d]);
            let computed = self.crc.finish();
            if stored != computed {
                return Err(Error::ChecksumMismatch { stored, computed });
            }
            self.buffered = 0;
            self.phase = Phase::Done;
        }
        Ok(count)
    }
}

/// [`NAME_SEPARATOR`](crate::NAME_SEPARATOR) as its one UTF-8 byte.
const NAME_SEPARATOR_BYTE: u8 = crate::NAME_SEPARATOR as u8;
