//! The model blob: reading and validating bytes, and writing them.
//!
//! ```text
//! offset  size  field
//! 0       4     MAGIC
//! 4       2     FORMAT_VERSION, u16 LE
//! 6       4     total blob length in bytes, u32 LE (trailer included)
//! 10      n     header, postcard
//! 10+n    p     zero padding to a multiple of 4 (p < 4)
//! ...     4*P   parameters: f32 LE, and f16 / int8 weights packed in words, in the stored
//!               order of `Layout::stored_position`
//! end-4   4     CRC-32/ISO-HDLC of every byte before it, u32 LE
//! ```
//!
//! FORMAT.md at the repository root is the normative description.

mod check;
mod stream;
mod value;

use check::check_values;
pub use stream::{HEADER_BUFFER_LEN, StreamValidator, StreamedBlob};

use value::{read_value, stored_bytes};

use crate::{
    error::{Error, Result},
    header::{Capacities, Header, HeaderIn, HeaderOut},
    layout::Layout,
    math::weights_add_up_to_one,
};

/// The four bytes every blob starts with.
pub const MAGIC: [u8; 4] = *b"MDN\0";

/// The format version this crate reads and writes.
pub const FORMAT_VERSION: u16 = 4;

/// Bytes before the header: magic, version, total length.
pub const PREFIX_LEN: usize = 10;

/// Bytes of the CRC trailer.
pub const TRAILER_LEN: usize = 4;

/// CRC-32/ISO-HDLC's polynomial 0x04C11DB7, bit-reversed (the CRC is computed LSB first).
const CRC32_POLY_REFLECTED: u32 = 0xEDB8_8320;

/// CRC-32/ISO-HDLC of `bytes`, the checksum of the blob trailer.
///
/// # Examples
///
/// ```
/// // The standard check value of CRC-32/ISO-HDLC.
/// assert_eq!(mdn_core::crc32(b"123456789"), 0xCBF4_3926);
/// ```
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(bytes);
    crc.finish()
}

/// CRC-32/ISO-HDLC computed piece by piece: [`crc32`] of the concatenation of every
/// piece given to [`Crc32::update`], for bytes that arrive in chunks
/// ([`StreamValidator`](crate::StreamValidator)).
///
/// # Examples
///
/// ```
/// use mdn_core::{Crc32, crc32};
/// let mut crc = Crc32::new();
/// crc.update(b"1234");
/// crc.update(b"56789");
/// assert_eq!(crc.finish(), crc32(b"123456789"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Crc32 {
    /// The running register, before the final inversion.
    state: u32,
}

impl Default for Crc32 {
    fn default() -> Self {
        Self::new()
    }
}

impl Crc32 {
    /// The checksum of no bytes yet.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_core::Crc32::new().finish(), mdn_core::crc32(&[]));
    /// ```
    pub const fn new() -> Self {
        Crc32 { state: !0 }
    }

    /// Adds `bytes` after those given before.
    ///
    /// # Examples
    ///
    /// See [`Crc32`].
    #[inline]
    pub fn update(&mut self, bytes: &[u8]) {
        // Bitwise, without a table: a few dozen bytes of flash instead of a 1 KB table, for
        // a checksum that runs once per blob (its time is in BENCHMARKS.md's validation
        // column).
        let mut crc = self.state;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                let mask = (crc & 1).wrapping_neg();
                crc = (crc >> 1) ^ (CRC32_POLY_REFLECTED & mask);
            }
        }
        self.state = crc;
    }

    /// The CRC-32 of every byte given so far (more may follow).
    ///
    /// # Examples
    ///
    /// See [`Crc32`].
    pub const fn finish(&self) -> u32 {
        !self.state
    }
}

/// A blob that passed every check that does not depend on an evaluator's capacities.
///
/// Parameters stay in the blob's bytes; nothing is copied.
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// # let bytes = &bytes[..];
/// let blob = mdn_core::Blob::from_bytes(bytes)?;
/// assert_eq!(blob.header().components, 2);
/// assert_eq!(blob.len(), bytes.len());
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Blob<'a> {
    header: Header<'a>,
    parameters: &'a [u32],
    len: usize,
    crc: u32,
}

impl<'a> Blob<'a> {
    /// Validates a blob that fills `bytes` exactly.
    ///
    /// Checks, in this order: magic, version, declared length against `bytes.len()`, CRC,
    /// header decoding, header codes, header consistency (no zero dimension or network
    /// count, name counts, sigma floor), storage codes against the layers, size
    /// arithmetic, zero padding, parameter section size, alignment of the parameters in
    /// memory, finite parameters, positive scales (scalers, calibration, `int8` rows),
    /// network weights that add up to 1. Header codes include storage types this build
    /// leaves out ([`Error::Unsupported`]).
    ///
    /// A blob that arrives in chunks is validated as it arrives, with the same decision and
    /// without holding it, by [`StreamValidator`](crate::StreamValidator).
    ///
    /// # Errors
    ///
    /// The [`Error`] of the first failing check.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Blob, Error};
    /// # let bytes = mdn_core::doc_example_blob();
    /// # let bytes = &bytes[..];
    /// let mut corrupt = bytes.to_vec();
    /// corrupt[20] ^= 1;
    /// assert!(matches!(Blob::from_bytes(&corrupt), Err(Error::ChecksumMismatch { .. })));
    /// ```
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        let declared = read_prefix(bytes)?;
        if bytes.len() > declared {
            return Err(Error::TrailingBytes {
                expected: declared,
                found: bytes.len(),
            });
        }
        Self::parse(bytes)
    }

    /// Validates a blob at the start of `bytes` and returns it with the bytes after it,
    /// for blobs in a flash partition followed by erased bytes.
    ///
    /// # Errors
    ///
    /// As [`Blob::from_bytes`], except that trailing bytes are returned, not rejected.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// # let bytes = &bytes[..];
    /// let mut partition = bytes.to_vec();
    /// partition.extend_from_slice(&[0xFF; 64]);
    /// let (blob, rest) = mdn_core::Blob::from_prefix(&partition)?;
    /// assert_eq!(rest.len(), 64);
    /// assert_eq!(blob.len(), bytes.len());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn from_prefix(bytes: &'a [u8]) -> Result<(Self, &'a [u8])> {
        let declared = read_prefix(bytes)?;
        let (blob, rest) = bytes.split_at_checked(declared).ok_or(Error::Truncated {
            expected: declared,
            found: bytes.len(),
        })?;
        Ok((Self::parse(blob)?, rest))
    }

    /// Validates `blob`, whose length equals the declared length.
    fn parse(blob: &'a [u8]) -> Result<Self> {
        let len = blob.len();
        let body_len = len - TRAILER_LEN; // read_prefix guarantees len >= PREFIX_LEN + TRAILER_LEN
        let (body, trailer) = blob.split_at_checked(body_len).ok_or(Error::Truncated {
            expected: PREFIX_LEN + TRAILER_LEN,
            found: len,
        })?;
        let stored = u32::from_le_bytes(first_four(trailer)?);
        let computed = crc32(body);
        if stored != computed {
            return Err(Error::ChecksumMismatch { stored, computed });
        }

        let after_prefix = body.get(PREFIX_LEN..).ok_or(Error::HeaderDecode)?;
        let (repr, after_header) = postcard::take_from_bytes::<HeaderIn<'a>>(after_prefix)
            .map_err(|_| Error::HeaderDecode)?;
        let header_len = after_prefix.len() - after_header.len();
        let header = Header::try_from(repr)?;
        header.validate()?;
        let layout = Layout::new(&header)?;

        let header_end = PREFIX_LEN + header_len;
        let parameters_start = align4(header_end);
        let padding = body.get(header_end..parameters_start);
        let expected = layout.stored_count() * 4; // Layout checked this product.
        let Some(padding) = padding else {
            return Err(Error::ParameterSizeMismatch { expected, found: 0 });
        };
        if padding.iter().any(|&b| b != 0) {
            return Err(Error::NonZeroPadding);
        }
        let parameter_bytes = body.get(parameters_start..).unwrap_or(&[]);
        if parameter_bytes.len() != expected {
            return Err(Error::ParameterSizeMismatch {
                expected,
                found: parameter_bytes.len(),
            });
        }
        // Aligned words load straight into FPU registers on a Cortex-M4F (`vldr`); bytes
        // would take a load and a move each (BENCHMARKS.md, "Measured once").
        let parameters: &[u32] =
            bytemuck::try_cast_slice(parameter_bytes).map_err(|_| Error::Misaligned {
                offset: parameter_bytes.as_ptr() as usize % 4,
            })?;

        check_values(&layout, parameters)?;
        let weights = parameters
            .get(layout.network_weights_range())
            .unwrap_or(&[]);
        if !weights_add_up_to_one(weights.iter().map(|&w| from_word(w))) {
            return Err(Error::InvalidNetworkWeights);
        }

        Ok(Blob {
            header,
            parameters,
            len,
            crc: stored,
        })
    }

    /// The decoded header.
    ///
    /// # Examples
    ///
    /// See [`Blob`].
    pub fn header(&self) -> &Header<'a> {
        &self.header
    }

    /// The parameter layout (recomputed from the header; it was checked when parsing).
    ///
    /// # Errors
    ///
    /// None in practice: the same computation succeeded during validation.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let blob = mdn_core::Blob::from_bytes(&bytes[..])?;
    /// assert_eq!(blob.layout()?.stored_count(), blob.parameters().len());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn layout(&self) -> Result<Layout> {
        Layout::new(&self.header)
    }

    /// The parameter section as stored, as 32-bit words in the stored order
    /// ([`Layout::stored_position`]): little-endian `f32` bit patterns, and the packed
    /// weights of `f16` and `int8` layers; the zero rows that fill each layer's last block
    /// included.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let blob = mdn_core::Blob::from_bytes(&bytes[..])?;
    /// let first = f32::from_bits(u32::from_le(blob.parameters()[0]));
    /// assert!(first.is_finite());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn parameters(&self) -> &'a [u32] {
        self.parameters
    }

    /// The parameter values in logical order (tensor after tensor as
    /// [`Layout::tensors`] lists them, each row-major): the order [`encode`] takes. A
    /// packed weight is widened exactly: an `f16` to its value, an `int8` to the integer
    /// `q` (its row scale is a tensor of its own).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let blob = mdn_core::Blob::from_bytes(&bytes[..])?;
    /// let values: Vec<f32> = blob.parameter_values().collect();
    /// assert_eq!(values.len(), blob.layout()?.parameter_count());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn parameter_values(&self) -> impl ExactSizeIterator<Item = f32> + 'a {
        // The header was validated, so its layout exists.
        let layout = self.layout().ok();
        let count = layout.as_ref().map_or(0, Layout::parameter_count);
        let bytes: &'a [u8] = bytemuck::cast_slice(self.parameters);
        (0..count).map(move |index| {
            let stored = layout.as_ref().and_then(|l| l.stored_position(index));
            stored.and_then(|at| read_value(bytes, at)).unwrap_or(0.0)
        })
    }

    /// Total blob length in bytes.
    ///
    /// # Examples
    ///
    /// See [`Blob`].
    #[allow(clippy::len_without_is_empty, reason = "a valid blob is never empty")]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// The CRC-32 stored in (and verified against) the trailer.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let blob = mdn_core::Blob::from_bytes(&bytes[..])?;
    /// assert_eq!(blob.crc(), mdn_core::crc32(&bytes[..][..bytes.len() - 4]));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub const fn crc(&self) -> u32 {
        self.crc
    }

    /// The minimum capacities an evaluator needs for this blob.
    ///
    /// # Errors
    ///
    /// None in practice (sizes were checked when parsing).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let blob = mdn_core::Blob::from_bytes(&bytes[..])?;
    /// assert_eq!(blob.required_capacities()?.components, 2);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn required_capacities(&self) -> Result<Capacities> {
        self.header.capacities()
    }
}

/// Reads magic, version and declared length; returns the declared length, which is at
/// least `PREFIX_LEN + TRAILER_LEN` and at most `bytes.len()`.
fn read_prefix(bytes: &[u8]) -> Result<usize> {
    if bytes.len() >= MAGIC.len() && bytes.get(..MAGIC.len()) != Some(&MAGIC[..]) {
        return Err(Error::BadMagic);
    }
    let [_, _, _, _, v0, v1, l0, l1, l2, l3, ..] = *bytes else {
        return Err(Error::Truncated {
            expected: PREFIX_LEN + TRAILER_LEN,
            found: bytes.len(),
        });
    };
    let version = u16::from_le_bytes([v0, v1]);
    if version != FORMAT_VERSION {
        return Err(Error::UnsupportedVersion { found: version });
    }
    let declared = u32::from_le_bytes([l0, l1, l2, l3]);
    let declared_len = usize::try_from(declared).map_err(|_| Error::SizeOverflow)?;
    if declared_len < PREFIX_LEN + TRAILER_LEN {
        return Err(Error::InvalidLength { declared });
    }
    if declared_len > bytes.len() {
        return Err(Error::Truncated {
            expected: declared_len,
            found: bytes.len(),
        });
    }
    Ok(declared_len)
}

fn first_four(bytes: &[u8]) -> Result<[u8; 4]> {
    match bytes {
        [a, b, c, d, ..] => Ok([*a, *b, *c, *d]),
        _ => Err(Error::Truncated {
            expected: 4,
            found: bytes.len(),
        }),
    }
}

/// A parameter's value from its stored word (little-endian on every host).
#[inline(always)]
pub(crate) fn from_word(word: u32) -> f32 {
    f32::from_bits(u32::from_le(word))
}

/// A 4-byte-aligned wrapper for blob storage, so that the parameter section is aligned in
/// memory as [`Blob::from_bytes`] requires.
///
/// # Examples
///
/// ```
/// use mdn_core::Aligned;
/// // In firmware: `static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!("model.mdn"));`
/// static BYTES: &Aligned<[u8]> = &Aligned([1, 2, 3, 4]);
/// assert_eq!(BYTES.0.as_ptr() as usize % 4, 0);
/// ```
#[repr(C, align(4))]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aligned<B: ?Sized>(pub B);

pub(crate) const fn align4(offset: usize) -> usize {
    offset.next_multiple_of(4)
}

/// Exact length in bytes of the blob [`encode`] writes for `header`.
///
/// # Errors
///
/// The errors of [`Header::validate`], or [`Error::SizeOverflow`] if the blob would not fit
/// `usize` or its `u32` length field.
///
/// # Examples
///
/// ```
/// # let (bytes, header) = (mdn_core::doc_example_blob(), mdn_core::doc_example_header());
/// assert_eq!(mdn_core::encoded_len(&header), Ok(bytes.len()));
/// ```
pub fn encoded_len(header: &Header<'_>) -> Result<usize> {
    header.validate()?;
    let header_len = postcard::serialize_with_flavor(
        &HeaderOut::from(header),
        postcard::ser_flavors::Size::default(),
    )
    // The size flavor only counts; it fails on nothing but overflow.
    .map_err(|_| Error::SizeOverflow)?;
    let parameter_bytes = Layout::new(header)?.stored_count().checked_mul(4);
    align4(PREFIX_LEN.saturating_add(header_len))
        .checked_add(parameter_bytes.ok_or(Error::SizeOverflow)?)
        .and_then(|n| n.checked_add(TRAILER_LEN))
        .filter(|&n| u32::try_from(n).is_ok())
        .ok_or(Error::SizeOverflow)
}

/// Writes a blob for `header` and `parameters` (in logical order: tensor after tensor as
/// [`Layout::tensors`] lists them, each row-major) into `out`, and returns its length.
///
/// Each value goes where [`Layout::stored_position`] puts it; the zero rows that fill each
/// layer's last block of [`ROW_BLOCK`](crate::ROW_BLOCK) rows are written as `0.0`. A value
/// of a weight tensor is stored in its layer's [`Storage`](crate::Storage): it must be exactly representable
/// there (an `int8` weight is the integer `q`, its row scale a tensor of its own), as
/// [`Blob::parameter_values`] gives the values back.
///
/// The blob is validated by reading it back, so a blob this function returns is one
/// [`Blob::from_bytes`] accepts.
///
/// # Errors
///
/// The errors of [`encoded_len`] (a name containing [`NAME_SEPARATOR`](crate::NAME_SEPARATOR)
/// gives [`Error::NameCount`]), [`Error::ParameterSizeMismatch`] if `parameters` has the
/// wrong length (in bytes of logical parameters, `4 *` [`Layout::parameter_count`]; a
/// reader's is about the stored section), [`Error::UnrepresentableParameter`] for a weight
/// its storage does not hold exactly, [`Error::BufferTooSmall`], or any validation
/// error of the written blob (such as [`Error::NonFiniteParameter`], whose index is the
/// stored word's, or [`Error::Misaligned`] for an unaligned `out`).
///
/// # Examples
///
/// ```
/// use mdn_core::{HostModel, Layout, encode, encoded_len};
/// let header = mdn_core::doc_example_header();
/// let count = Layout::new(&header)?.parameter_count();
/// let mut parameters = vec![0.25_f32; count];
/// parameters[4] = 0.0; // members.log_weight of the one network: ln 1
/// let mut bytes = vec![0; encoded_len(&header)?];
/// let len = encode(&header, &parameters, &mut bytes)?;
/// assert_eq!(len, bytes.len());
/// let model = HostModel::from_bytes(&bytes)?;
/// assert!(model.log_prob(&[0.0], &[0.0])?.is_finite());
/// # Ok::<(), mdn_core::Error>(())
/// ```
pub fn encode(header: &Header<'_>, parameters: &[f32], out: &mut [u8]) -> Result<usize> {
    let len = encoded_len(header)?;
    let layout = Layout::new(header)?;
    let expected = layout.parameter_count();
    if parameters.len() != expected {
        return Err(Error::ParameterSizeMismatch {
            expected: expected * 4,
            found: parameters.len() * 4,
        });
    }
    let out_len = out.len();
    let too_small = Error::BufferTooSmall {
        expected: len,
        found: out_len,
    };
    let blob = out.get_mut(..len).ok_or(too_small)?;
    blob.fill(0);
    let declared = u32::try_from(len).map_err(|_| Error::SizeOverflow)?;
    // `encoded_len` counts the prefix and the trailer, so these splits cannot fail; checked
    // access keeps the writer free of panics all the same (the firmware's `nopanic` proof).
    let (body, trailer) = blob
        .split_last_chunk_mut::<TRAILER_LEN>()
        .ok_or(too_small)?;
    let (prefix, rest) = body
        .split_first_chunk_mut::<PREFIX_LEN>()
        .ok_or(too_small)?;
    let ([m0, m1, m2, m3], [v0, v1], [l0, l1, l2, l3]) =
        (MAGIC, FORMAT_VERSION.to_le_bytes(), declared.to_le_bytes());
    *prefix = [m0, m1, m2, m3, v0, v1, l0, l1, l2, l3];
    // `blob` holds exactly `encoded_len` bytes, so postcard cannot run out of room.
    let header_len = postcard::to_slice(&HeaderOut::from(header), rest)
        .map_err(|_| too_small)?
        .len();
    let section = body
        .get_mut(align4(PREFIX_LEN + header_len)..)
        .ok_or(Error::SizeOverflow)?;
    for (index, &value) in parameters.iter().enumerate() {
        let at = layout.stored_position(index).ok_or(Error::SizeOverflow)?;
        let (bytes, len) =
            stored_bytes(value, at.storage).ok_or(Error::UnrepresentableParameter { index })?;
        let target = section
            .get_mut(at.byte..)
            .and_then(|rest| rest.get_mut(..len))
            .ok_or(Error::SizeOverflow)?;
        for (target, byte) in target.iter_mut().zip(bytes) {
            *target = byte;
        }
    }
    *trailer = crc32(body).to_le_bytes();
    Blob::from_bytes(blob)?;
    Ok(len)
}
