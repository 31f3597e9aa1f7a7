//! The slot trailer: 96 bytes at a slot's end, written last, that commit the blob before it.

use core::fmt;

/// Bytes of a slot trailer.
pub const TRAILER_LEN: usize = 96;

/// The four bytes every slot trailer starts with.
pub const TRAILER_MAGIC: [u8; 4] = *b"MDNS";

/// The trailer layout this crate reads and writes.
pub const TRAILER_VERSION: u16 = 1;

/// Bytes of the signature field: an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Flag bit 0: the signature field holds a signature of the blob.
const FLAG_SIGNED: u16 = 1;

/// Offsets of the fields (the crate docs give the table).
const VERSION_AT: usize = 4;
const FLAGS_AT: usize = 6;
const SEQUENCE_AT: usize = 8;
const LENGTH_AT: usize = 12;
const BLOB_CRC_AT: usize = 16;
const SIGNATURE_AT: usize = 20;
const RESERVED_AT: usize = SIGNATURE_AT + SIGNATURE_LEN;
const CRC_AT: usize = 92;

/// A decoded slot trailer: which blob the slot holds and how new it is.
///
/// Its bytes are fixed by the crate docs' table; [`Trailer::to_bytes`] and
/// [`Trailer::from_bytes`] convert.
///
/// # Examples
///
/// ```
/// use mdn_update::slot::Trailer;
///
/// let blob = mdn_core::doc_example_blob();
/// let trailer = Trailer::for_blob(&blob, 7, None)?;
/// assert_eq!(trailer.sequence, 7);
/// assert_eq!(trailer.blob_len as usize, blob.len());
/// assert_eq!(Trailer::from_bytes(&trailer.to_bytes())?, trailer);
/// # Ok::<(), mdn_update::slot::TrailerError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Trailer {
    /// The update counter: of two valid slots the one with the larger sequence is active.
    pub sequence: u32,
    /// Length of the blob at the slot's start, in bytes.
    pub blob_len: u32,
    /// The blob's own CRC-32 (its last four bytes, little-endian): binds the trailer to
    /// one blob.
    pub blob_crc: u32,
    /// An Ed25519 signature of the blob's bytes (flag bit 0), or `None` for an unsigned
    /// blob (the field is then zero).
    pub signature: Option<[u8; SIGNATURE_LEN]>,
}

impl fmt::Debug for Trailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Trailer")
            .field("sequence", &self.sequence)
            .field("blob_len", &self.blob_len)
            .field("blob_crc", &format_args!("{:#010x}", self.blob_crc))
            .field("signed", &self.signature.is_some())
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Trailer {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(
            f,
            "Trailer {{ sequence: {=u32}, blob_len: {=u32}, blob_crc: {=u32:#010x}, signed: {=bool} }}",
            self.sequence,
            self.blob_len,
            self.blob_crc,
            self.signature.is_some()
        )
    }
}

/// Why bytes are not a valid trailer.
///
/// # Examples
///
/// ```
/// use mdn_update::slot::{Trailer, TrailerError, TRAILER_LEN};
///
/// assert_eq!(
///     Trailer::from_bytes(&[0xFF; TRAILER_LEN]),
///     Err(TrailerError::BadMagic)
/// );
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum TrailerError {
    /// Fewer or more bytes than [`TRAILER_LEN`].
    Length {
        /// Bytes given.
        found: usize,
    },
    /// The bytes do not start with [`TRAILER_MAGIC`]: nothing was committed (an erased
    /// or never written slot).
    BadMagic,
    /// A trailer version this crate does not read.
    UnsupportedVersion {
        /// The version found.
        found: u16,
    },
    /// The trailer's CRC does not match its bytes: a torn or corrupted trailer.
    ChecksumMismatch {
        /// The CRC stored in the trailer.
        stored: u32,
        /// The CRC of the trailer's bytes.
        computed: u32,
    },
    /// A flag bit other than bit 0 (signed) is set.
    UnknownFlags {
        /// The flags found.
        found: u16,
    },
    /// The reserved bytes, or the signature field of an unsigned trailer, are not zero.
    NonZeroReserved,
    /// The blob is shorter than a CRC (4 bytes) or longer than `u32::MAX` bytes
    /// ([`Trailer::for_blob`]).
    InvalidBlobLength {
        /// The blob's length.
        found: usize,
    },
}

impl fmt::Display for TrailerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Length { found } => {
                write!(f, "a slot trailer has {TRAILER_LEN} bytes, found {found}")
            }
            Self::BadMagic => f.write_str("no slot trailer magic (nothing committed)"),
            Self::UnsupportedVersion { found } => write!(
                f,
                "slot trailer version {found}, this build reads {TRAILER_VERSION}"
            ),
            Self::ChecksumMismatch { stored, computed } => write!(
                f,
                "slot trailer checksum mismatch: stored {stored:#010x}, computed {computed:#010x}"
            ),
            Self::UnknownFlags { found } => write!(f, "unknown slot trailer flags {found:#06x}"),
            Self::NonZeroReserved => f.write_str("slot trailer reserved bytes are not zero"),
            Self::InvalidBlobLength { found } => {
                write!(f, "a blob of {found} bytes cannot be committed")
            }
        }
    }
}

impl core::error::Error for TrailerError {}

impl Trailer {
    /// The trailer that commits `blob` with `sequence`: its length and its own CRC (the
    /// blob's last four bytes), and an optional signature of its bytes.
    ///
    /// The blob is not validated here; [`check_slot`](super::check_slot) does that at boot
    /// and [`Updater::finish`](super::Updater::finish) before committing.
    ///
    /// # Errors
    ///
    /// [`TrailerError::InvalidBlobLength`] if `blob` is shorter than 4 bytes or longer than
    /// `u32::MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_update::slot::Trailer;
    ///
    /// let blob = mdn_core::doc_example_blob();
    /// let signed = Trailer::for_blob(&blob, 1, Some([7; 64]))?;
    /// let crc = u32::from_le_bytes(blob[blob.len() - 4..].try_into().unwrap());
    /// assert_eq!((signed.blob_crc, signed.signature), (crc, Some([7; 64])));
    /// # Ok::<(), mdn_update::slot::TrailerError>(())
    /// ```
    pub fn for_blob(
        blob: &[u8],
        sequence: u32,
        signature: Option<[u8; SIGNATURE_LEN]>,
    ) -> Result<Self, TrailerError> {
        let invalid = TrailerError::InvalidBlobLength { found: blob.len() };
        let blob_len = u32::try_from(blob.len()).map_err(|_| invalid)?;
        let crc = blob
            .len()
            .checked_sub(4)
            .and_then(|at| blob.get(at..))
            .ok_or(invalid)?;
        Ok(Self {
            sequence,
            blob_len,
            blob_crc: read_u32(crc, 0),
            signature,
        })
    }

    /// The trailer's bytes, its CRC included.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_update::slot::{Trailer, TRAILER_MAGIC};
    ///
    /// let trailer = Trailer { sequence: 3, blob_len: 512, blob_crc: 0xDEAD_BEEF, signature: None };
    /// let bytes = trailer.to_bytes();
    /// assert_eq!(bytes[..4], TRAILER_MAGIC);
    /// assert_eq!(bytes[8..12], 3_u32.to_le_bytes());
    /// ```
    pub fn to_bytes(&self) -> [u8; TRAILER_LEN] {
        let mut bytes = [0_u8; TRAILER_LEN];
        bytes[..4].copy_from_slice(&TRAILER_MAGIC);
        bytes[VERSION_AT..FLAGS_AT].copy_from_slice(&TRAILER_VERSION.to_le_bytes());
        let flags = if self.signature.is_some() {
            FLAG_SIGNED
        } else {
            0
        };
        bytes[FLAGS_AT..SEQUENCE_AT].copy_from_slice(&flags.to_le_bytes());
        bytes[SEQUENCE_AT..LENGTH_AT].copy_from_slice(&self.sequence.to_le_bytes());
        bytes[LENGTH_AT..BLOB_CRC_AT].copy_from_slice(&self.blob_len.to_le_bytes());
        bytes[BLOB_CRC_AT..SIGNATURE_AT].copy_from_slice(&self.blob_crc.to_le_bytes());
        if let Some(signature) = &self.signature {
            bytes[SIGNATURE_AT..RESERVED_AT].copy_from_slice(signature);
        }
        let crc = mdn_core::crc32(&bytes[..CRC_AT]);
        bytes[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        bytes
    }

    /// Decodes and checks a trailer that fills `bytes` exactly.
    ///
    /// Checks, in this order: length, magic, version, CRC, flags, zero reserved bytes (and
    /// a zero signature field when unsigned). It never panics.
    ///
    /// # Errors
    ///
    /// The [`TrailerError`] of the first failing check.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_update::slot::{Trailer, TrailerError};
    ///
    /// let trailer = Trailer { sequence: 3, blob_len: 512, blob_crc: 1, signature: None };
    /// let mut bytes = trailer.to_bytes();
    /// assert_eq!(Trailer::from_bytes(&bytes), Ok(trailer));
    /// bytes[9] ^= 0x10; // the sequence number
    /// assert!(matches!(
    ///     Trailer::from_bytes(&bytes),
    ///     Err(TrailerError::ChecksumMismatch { .. })
    /// ));
    /// assert_eq!(Trailer::from_bytes(&bytes[1..]), Err(TrailerError::Length { found: 95 }));
    /// ```
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TrailerError> {
        let bytes: &[u8; TRAILER_LEN] = bytes
            .try_into()
            .map_err(|_| TrailerError::Length { found: bytes.len() })?;
        if bytes[..4] != TRAILER_MAGIC {
            return Err(TrailerError::BadMagic);
        }
        let version = u16::from_le_bytes([bytes[VERSION_AT], bytes[VERSION_AT + 1]]);
        if version != TRAILER_VERSION {
            return Err(TrailerError::UnsupportedVersion { found: version });
        }
        let stored = read_u32(bytes, CRC_AT);
        let computed = mdn_core::crc32(&bytes[..CRC_AT]);
        if stored != computed {
            return Err(TrailerError::ChecksumMismatch { stored, computed });
        }
        let flags = u16::from_le_bytes([bytes[FLAGS_AT], bytes[FLAGS_AT + 1]]);
        if flags & !FLAG_SIGNED != 0 {
            return Err(TrailerError::UnknownFlags { found: flags });
        }
        if bytes[RESERVED_AT..CRC_AT].iter().any(|&b| b != 0) {
            return Err(TrailerError::NonZeroReserved);
        }
        let mut field = [0_u8; SIGNATURE_LEN];
        field.copy_from_slice(&bytes[SIGNATURE_AT..RESERVED_AT]);
        let signature = if flags & FLAG_SIGNED != 0 {
            Some(field)
        } else if field.iter().any(|&b| b != 0) {
            return Err(TrailerError::NonZeroReserved);
        } else {
            None
        };
        Ok(Self {
            sequence: read_u32(bytes, SEQUENCE_AT),
            blob_len: read_u32(bytes, LENGTH_AT),
            blob_crc: read_u32(bytes, BLOB_CRC_AT),
            signature,
        })
    }
}

/// The little-endian `u32` at `at`, or 0 past the end (callers pass in-bounds offsets;
/// no panic path either way).
fn read_u32(bytes: &[u8], at: usize) -> u32 {
    let mut word = [0_u8; 4];
    if let Some(src) = bytes.get(at..at + 4) {
        word.copy_from_slice(src);
    }
    u32::from_le_bytes(word)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Trailer {
        Trailer {
            sequence: 0x0102_0304,
            blob_len: 6656,
            blob_crc: 0xA1B2_C3D4,
            signature: Some([0x5A; SIGNATURE_LEN]),
        }
    }

    #[test]
    fn fixed_bytes() {
        let bytes = sample().to_bytes();
        assert_eq!(&bytes[..4], b"MDNS");
        assert_eq!(bytes[4..8], [1, 0, 1, 0]);
        assert_eq!(bytes[8..12], [4, 3, 2, 1]);
        assert_eq!(bytes[12..16], 6656_u32.to_le_bytes());
        assert_eq!(bytes[16..20], [0xD4, 0xC3, 0xB2, 0xA1]);
        assert!(bytes[20..84].iter().all(|&b| b == 0x5A));
        assert!(bytes[84..92].iter().all(|&b| b == 0));
        assert_eq!(bytes[92..], mdn_core::crc32(&bytes[..92]).to_le_bytes());
    }

    #[test]
    fn round_trips_signed_and_unsigned() {
        for trailer in [
            sample(),
            Trailer {
                signature: None,
                ..sample()
            },
            Trailer {
                sequence: u32::MAX,
                blob_len: 0,
                blob_crc: 0,
                signature: None,
            },
        ] {
            assert_eq!(Trailer::from_bytes(&trailer.to_bytes()), Ok(trailer));
        }
    }
}
