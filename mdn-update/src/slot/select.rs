//! Which slot is active at boot, and which slot an update writes next.

use core::fmt;

use mdn_core::Blob;

use super::trailer::{TRAILER_LEN, Trailer, TrailerError};

/// One of the two slots.
///
/// # Examples
///
/// ```
/// use mdn_update::slot::SlotId;
///
/// assert_eq!(SlotId::A.other(), SlotId::B);
/// assert_eq!(SlotId::B.index(), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlotId {
    /// The first slot; it wins a tie.
    A,
    /// The second slot.
    B,
}

impl SlotId {
    /// The other slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_update::slot::SlotId;
    ///
    /// assert_eq!(SlotId::B.other(), SlotId::A);
    /// ```
    pub const fn other(self) -> Self {
        match self {
            Self::A => Self::B,
            Self::B => Self::A,
        }
    }

    /// 0 for A, 1 for B.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_update::slot::SlotId::A.index(), 0);
    /// ```
    pub const fn index(self) -> usize {
        match self {
            Self::A => 0,
            Self::B => 1,
        }
    }

    /// `"A"` or `"B"`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_update::slot::SlotId::B.name(), "B");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Self::A => "A",
            Self::B => "B",
        }
    }
}

/// Why a slot cannot be used.
///
/// # Examples
///
/// ```
/// use mdn_update::slot::{check_slot, accept_any, SlotError, TrailerError};
///
/// let erased = [0xFF_u8; 1024];
/// assert_eq!(
///     check_slot(&erased, accept_any).unwrap_err(),
///     SlotError::Trailer(TrailerError::BadMagic)
/// );
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SlotError {
    /// The slot is shorter than a trailer.
    SlotTooSmall {
        /// The slot's length in bytes.
        len: usize,
    },
    /// The trailer is missing, torn or corrupted.
    Trailer(TrailerError),
    /// The trailer's blob length does not fit in the slot before the trailer.
    BlobTooLong {
        /// The trailer's blob length.
        blob_len: u32,
        /// Bytes before the trailer.
        space: usize,
    },
    /// The trailer's blob CRC is not the blob's own CRC (its last four bytes): the
    /// trailer commits another blob.
    BlobCrcMismatch {
        /// The CRC in the trailer.
        trailer: u32,
        /// The last four bytes of the blob.
        blob: u32,
    },
    /// The blob fails mdn-core's validation.
    Blob(mdn_core::Error),
    /// The caller's acceptance check (a signature, the firmware's capacities) refused the
    /// blob.
    Rejected,
    /// The active slot's sequence is `u32::MAX`: no newer sequence exists.
    SequenceExhausted,
}

impl fmt::Display for SlotError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::SlotTooSmall { len } => write!(
                f,
                "a slot of {len} bytes cannot hold a {TRAILER_LEN}-byte trailer"
            ),
            Self::Trailer(e) => write!(f, "slot trailer: {e}"),
            Self::BlobTooLong { blob_len, space } => write!(
                f,
                "the trailer's blob of {blob_len} bytes exceeds the slot's {space} bytes"
            ),
            Self::BlobCrcMismatch { trailer, blob } => write!(
                f,
                "the trailer commits blob CRC {trailer:#010x}, the slot's blob has {blob:#010x}"
            ),
            Self::Blob(e) => write!(f, "slot blob: {e}"),
            Self::Rejected => f.write_str("the acceptance check refused the slot's blob"),
            Self::SequenceExhausted => f.write_str("the sequence number is exhausted"),
        }
    }
}

impl core::error::Error for SlotError {}

impl From<TrailerError> for SlotError {
    fn from(e: TrailerError) -> Self {
        Self::Trailer(e)
    }
}

impl From<mdn_core::Error> for SlotError {
    fn from(e: mdn_core::Error) -> Self {
        Self::Blob(e)
    }
}

/// The acceptance check that accepts every intact slot: no signature, no capacity check.
///
/// Pass it to [`select`] or [`check_slot`] where a slot needs no authentication. The
/// acceptance check is any `Fn(&ValidSlot) -> bool`: it sees a slot that passed every
/// other check (its trailer, its blob's bytes, the blob validated by mdn-core) and decides
/// whether it may become active: the `signature` feature's verifier over
/// `slot.bytes` and `slot.trailer.signature`, or the firmware's capacities
/// (`Model::from_blob(slot.blob.clone()).is_ok()`, without validating the blob again).
///
/// # Examples
///
/// ```
/// use mdn_update::slot::{accept_any, check_slot, Trailer, TRAILER_LEN};
///
/// let blob = mdn_core::doc_example_blob();
/// let mut slot = mdn_core::Aligned([0xFF_u8; 512]);
/// slot.0[..blob.len()].copy_from_slice(&blob);
/// let trailer = Trailer::for_blob(&blob, 1, None)?;
/// slot.0[512 - TRAILER_LEN..].copy_from_slice(&trailer.to_bytes());
/// assert!(check_slot(&slot.0, accept_any).is_ok());
/// // The capacities of a firmware for one component only: refused.
/// let fits = |slot: &mdn_update::slot::ValidSlot| {
///     mdn_core::Model::<1, 8, 1, 1>::from_blob(slot.blob.clone()).is_ok()
/// };
/// assert!(check_slot(&slot.0, fits).is_err());
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
pub fn accept_any(_slot: &ValidSlot<'_>) -> bool {
    true
}

/// A slot that passed [`check_slot`]: its trailer and its validated blob. The acceptance
/// check sees one before it is accepted.
///
/// # Examples
///
/// See [`check_slot`].
#[derive(Debug, Clone)]
pub struct ValidSlot<'a> {
    /// The slot's trailer.
    pub trailer: Trailer,
    /// The blob, validated by mdn-core (give it to `Model::from_blob`).
    pub blob: Blob<'a>,
    /// The blob's bytes: the slot's first `trailer.blob_len` bytes.
    pub bytes: &'a [u8],
}

/// Checks one slot (a blob at its start, a [`Trailer`] in its last [`TRAILER_LEN`] bytes):
/// the trailer is intact, the blob fits before it, the trailer's blob CRC is the blob's,
/// mdn-core validates the blob ([`Blob::from_bytes`] on exactly `blob_len` bytes, its CRC
/// included), and `accept` accepts it. It never panics.
///
/// The slot must be 4-byte aligned in memory, as any blob (mdn-core reads parameters in
/// place); memory-mapped flash slots are.
///
/// # Errors
///
/// The [`SlotError`] of the first failing check, in the order above.
///
/// # Examples
///
/// ```
/// use mdn_update::slot::{accept_any, check_slot, Trailer, TRAILER_LEN};
///
/// let blob = mdn_core::doc_example_blob();
/// let mut slot = mdn_core::Aligned([0xFF_u8; 1024]);
/// slot.0[..blob.len()].copy_from_slice(&blob);
/// let trailer = Trailer::for_blob(&blob, 4, None)?;
/// slot.0[1024 - TRAILER_LEN..].copy_from_slice(&trailer.to_bytes());
///
/// let valid = check_slot(&slot.0, accept_any)?;
/// assert_eq!((valid.trailer.sequence, valid.bytes.len()), (4, blob.len()));
/// // An acceptance check that refuses, as a failed signature would:
/// assert!(check_slot(&slot.0, |_| false).is_err());
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
pub fn check_slot<'a>(
    slot: &'a [u8],
    accept: impl Fn(&ValidSlot<'_>) -> bool,
) -> Result<ValidSlot<'a>, SlotError> {
    let space = slot
        .len()
        .checked_sub(TRAILER_LEN)
        .ok_or(SlotError::SlotTooSmall { len: slot.len() })?;
    let (before, trailer) = slot.split_at(space);
    let trailer = Trailer::from_bytes(trailer)?;
    let bytes = usize::try_from(trailer.blob_len)
        .ok()
        .and_then(|len| before.get(..len))
        .ok_or(SlotError::BlobTooLong {
            blob_len: trailer.blob_len,
            space,
        })?;
    // Cheap before mdn-core's CRC over the whole blob: a trailer left from another blob.
    let blob_crc = bytes
        .len()
        .checked_sub(4)
        .and_then(|at| bytes.get(at..))
        .map_or(0, |crc| {
            let mut word = [0_u8; 4];
            word.copy_from_slice(crc);
            u32::from_le_bytes(word)
        });
    if bytes.len() < 4 || blob_crc != trailer.blob_crc {
        return Err(SlotError::BlobCrcMismatch {
            trailer: trailer.blob_crc,
            blob: blob_crc,
        });
    }
    let slot = ValidSlot {
        trailer,
        blob: Blob::from_bytes(bytes)?,
        bytes,
    };
    if !accept(&slot) {
        return Err(SlotError::Rejected);
    }
    Ok(slot)
}

/// Where the next update goes: the slot and the sequence number its trailer carries.
///
/// # Examples
///
/// See [`Selection::next_write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct NextWrite {
    /// The slot to erase and write: never the active one.
    pub slot: SlotId,
    /// The sequence number to commit it with: the active slot's plus one (1 when no slot
    /// is valid).
    pub sequence: u32,
}

/// Both slots checked at boot, and the active one.
///
/// # Examples
///
/// See [`select`].
#[derive(Debug, Clone)]
pub struct Selection<'a> {
    slots: [Result<ValidSlot<'a>, SlotError>; 2],
}

/// Checks both slots with [`check_slot`] and chooses the active one: the valid slot with
/// the larger sequence number, A on a tie, the only valid one otherwise.
///
/// # Examples
///
/// ```
/// use mdn_update::slot::{accept_any, select, SlotId, Trailer, TRAILER_LEN};
///
/// let blob = mdn_core::doc_example_blob();
/// let slot = |sequence| {
///     let mut slot = mdn_core::Aligned([0xFF_u8; 1024]);
///     slot.0[..blob.len()].copy_from_slice(&blob);
///     let trailer = Trailer::for_blob(&blob, sequence, None).unwrap();
///     slot.0[1024 - TRAILER_LEN..].copy_from_slice(&trailer.to_bytes());
///     slot
/// };
/// let (a, b) = (slot(5), slot(6));
/// let erased = mdn_core::Aligned([0xFF_u8; 1024]);
///
/// let selection = select(&a.0, &b.0, accept_any);
/// let (id, active) = selection.active().unwrap();
/// assert_eq!((id, active.trailer.sequence), (SlotId::B, 6));
/// // B's sequence is the newer: a slot torn in A leaves B active.
/// assert_eq!(select(&erased.0, &b.0, accept_any).active().unwrap().0, SlotId::B);
/// assert!(select(&erased.0, &erased.0, accept_any).active().is_none());
/// ```
pub fn select<'a>(
    a: &'a [u8],
    b: &'a [u8],
    accept: impl Fn(&ValidSlot<'_>) -> bool,
) -> Selection<'a> {
    Selection {
        slots: [check_slot(a, &accept), check_slot(b, &accept)],
    }
}

impl<'a> Selection<'a> {
    /// The active slot, or `None` when neither slot is valid.
    ///
    /// # Examples
    ///
    /// See [`select`].
    pub fn active(&self) -> Option<(SlotId, &ValidSlot<'a>)> {
        match &self.slots {
            [Ok(a), Ok(b)] if b.trailer.sequence > a.trailer.sequence => Some((SlotId::B, b)),
            [Ok(a), _] => Some((SlotId::A, a)),
            [Err(_), Ok(b)] => Some((SlotId::B, b)),
            [Err(_), Err(_)] => None,
        }
    }

    /// What [`check_slot`] found for one slot.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_update::slot::{accept_any, select, SlotError, SlotId, TrailerError};
    ///
    /// let erased = [0xFF_u8; 256];
    /// let selection = select(&erased, &erased, accept_any);
    /// assert_eq!(
    ///     selection.slot(SlotId::B).as_ref().unwrap_err(),
    ///     &SlotError::Trailer(TrailerError::BadMagic)
    /// );
    /// ```
    pub fn slot(&self, id: SlotId) -> &Result<ValidSlot<'a>, SlotError> {
        &self.slots[id.index()]
    }

    /// Where the next update goes: the slot that is not active (A when neither is valid),
    /// with the active slot's sequence plus one (1 when neither is valid).
    ///
    /// # Errors
    ///
    /// [`SlotError::SequenceExhausted`] if the active sequence is `u32::MAX`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_update::slot::{accept_any, select, NextWrite, SlotId};
    ///
    /// let erased = [0xFF_u8; 256];
    /// let first = select(&erased, &erased, accept_any).next_write()?;
    /// assert_eq!(first, NextWrite { slot: SlotId::A, sequence: 1 });
    /// # Ok::<(), mdn_update::slot::SlotError>(())
    /// ```
    pub fn next_write(&self) -> Result<NextWrite, SlotError> {
        match self.active() {
            None => Ok(NextWrite {
                slot: SlotId::A,
                sequence: 1,
            }),
            Some((id, valid)) => Ok(NextWrite {
                slot: id.other(),
                sequence: valid
                    .trailer
                    .sequence
                    .checked_add(1)
                    .ok_or(SlotError::SequenceExhausted)?,
            }),
        }
    }
}
