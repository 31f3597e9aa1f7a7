//! Writing an update into the inactive slot through the caller's flash driver
//! (`embedded-storage`'s [`NorFlash`]), the trailer last.

use core::fmt;

use embedded_storage::nor_flash::NorFlash;
use mdn_core::{FORMAT_VERSION, MAGIC, PREFIX_LEN};

use super::{
    select::{NextWrite, SlotError, SlotId},
    trailer::{SIGNATURE_LEN, TRAILER_LEN, Trailer},
};

/// The largest [`NorFlash::WRITE_SIZE`] (and `READ_SIZE`) the [`Updater`] supports: it
/// buffers one partial write unit. Write units of internal flash are 1 to 32 bytes
/// (32 on an STM32H7, 4 on an nRF52840).
pub const MAX_WRITE_SIZE: usize = 32;

/// Bytes read back per `read` call when checking a written blob.
const READ_BLOCK: usize = 64;

/// Where the two slots are in the flash driver's address space (offsets as
/// [`NorFlash`] takes them), and their common size.
///
/// # Examples
///
/// ```
/// use mdn_update::slot::{SlotId, SlotLayout};
///
/// // QEMU mps2-an386's data partition: A at 0x30_0000, B at 0x32_0000, 128 KB each.
/// let layout = SlotLayout::new(0x30_0000, 0x32_0000, 0x2_0000);
/// assert_eq!(layout.offset(SlotId::B), 0x32_0000);
/// assert_eq!(layout.size(), 0x2_0000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct SlotLayout {
    a: u32,
    b: u32,
    size: u32,
}

impl SlotLayout {
    /// Slots of `size` bytes at offsets `a` and `b`; [`Updater::begin`] checks them
    /// against the flash (erase-aligned, disjoint, inside its capacity).
    ///
    /// # Examples
    ///
    /// See [`SlotLayout`].
    pub const fn new(a: u32, b: u32, size: u32) -> Self {
        Self { a, b, size }
    }

    /// The offset of slot `id`.
    ///
    /// # Examples
    ///
    /// See [`SlotLayout`].
    pub const fn offset(&self, id: SlotId) -> u32 {
        match id {
            SlotId::A => self.a,
            SlotId::B => self.b,
        }
    }

    /// Each slot's size in bytes.
    ///
    /// # Examples
    ///
    /// See [`SlotLayout`].
    pub const fn size(&self) -> u32 {
        self.size
    }

    /// Why this layout does not suit `flash`, if it does not.
    fn check<F: NorFlash>(&self, flash: &F) -> Result<(), LayoutError> {
        let supported = |unit: usize| unit.is_power_of_two() && unit <= MAX_WRITE_SIZE;
        if !supported(F::WRITE_SIZE) || !supported(F::READ_SIZE) {
            return Err(LayoutError::UnsupportedFlash);
        }
        let (a, b, size) = (self.a as u64, self.b as u64, self.size as u64);
        let erase = F::ERASE_SIZE as u64;
        if erase == 0 || !erase.is_multiple_of(F::WRITE_SIZE as u64) {
            return Err(LayoutError::UnsupportedFlash);
        }
        if size < 2 * TRAILER_LEN as u64 || !size.is_multiple_of(erase) {
            return Err(LayoutError::SlotSize);
        }
        if !a.is_multiple_of(erase) || !b.is_multiple_of(erase) {
            return Err(LayoutError::Unaligned);
        }
        // The end of each slot must be an offset too (`u32`), not only inside the flash.
        if a.max(b) + size > (flash.capacity() as u64).min(u32::MAX as u64) {
            return Err(LayoutError::OutOfFlash);
        }
        if a.abs_diff(b) < size {
            return Err(LayoutError::Overlap);
        }
        Ok(())
    }
}

/// Why a [`SlotLayout`] does not suit a flash driver.
///
/// # Examples
///
/// ```
/// use mdn_update::slot::{LayoutError, UpdateError};
///
/// let e: UpdateError<()> = UpdateError::Layout(LayoutError::Overlap);
/// assert_eq!(e.to_string(), "slot layout: the slots overlap");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum LayoutError {
    /// The flash's write or read unit is not a power of two up to [`MAX_WRITE_SIZE`], or
    /// its erase unit not a multiple of its write unit.
    UnsupportedFlash,
    /// The slot size is not a multiple of the erase unit, or smaller than two trailers.
    SlotSize,
    /// A slot does not start at an erase unit's boundary.
    Unaligned,
    /// A slot ends past the flash's capacity (or past offset `u32::MAX`).
    OutOfFlash,
    /// The slots overlap.
    Overlap,
}

impl fmt::Display for LayoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::UnsupportedFlash => "unsupported flash write, read or erase unit",
            Self::SlotSize => "the slot size is not a multiple of the erase unit",
            Self::Unaligned => "a slot does not start on an erase unit",
            Self::OutOfFlash => "a slot ends past the flash",
            Self::Overlap => "the slots overlap",
        })
    }
}

/// Why an update failed. Whatever the failure, the active slot was not touched and stays
/// active; the target slot is left uncommitted (no valid trailer).
///
/// # Examples
///
/// ```
/// use mdn_update::slot::UpdateError;
///
/// let e: UpdateError<()> = UpdateError::BlobTooLong { space: 1024 };
/// assert_eq!(e.to_string(), "the blob exceeds the slot's 1024 bytes before the trailer");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateError<E> {
    /// The flash driver failed (a power cut, a write error): the updater refuses further
    /// calls; start again with [`Updater::begin`].
    Flash(E),
    /// An earlier call failed; this updater does nothing more.
    Aborted,
    /// The slot layout does not suit the flash.
    Layout(LayoutError),
    /// The blob is longer than the slot's space before its trailer.
    BlobTooLong {
        /// Bytes before the trailer.
        space: usize,
    },
    /// The blob read back from the slot is not a complete blob: its prefix, declared
    /// length or CRC is wrong (a truncated or corrupted transfer, or a failed write).
    Blob(mdn_core::Error),
    /// The bytes read back differ from the bytes written (their CRCs differ).
    ReadBackMismatch,
    /// The caller's check refused the blob, or the trailer could not be built.
    Slot(SlotError),
}

impl<E: fmt::Debug> fmt::Display for UpdateError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Flash(e) => write!(f, "flash: {e:?}"),
            Self::Aborted => f.write_str("an earlier call of this update failed"),
            Self::Layout(e) => write!(f, "slot layout: {e}"),
            Self::BlobTooLong { space } => write!(
                f,
                "the blob exceeds the slot's {space} bytes before the trailer"
            ),
            Self::Blob(e) => write!(f, "written blob: {e}"),
            Self::ReadBackMismatch => f.write_str("the slot reads back other bytes than written"),
            Self::Slot(e) => write!(f, "{e}"),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for UpdateError<E> {}

/// CRC-32/ISO-HDLC fed in pieces: `mdn_core::crc32` of the concatenation.
#[derive(Debug, Clone, Copy)]
struct Crc32(u32);

impl Crc32 {
    const fn new() -> Self {
        Self(!0)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 ^= u32::from(byte);
            for _ in 0..8 {
                let mask = (self.0 & 1).wrapping_neg();
                self.0 = (self.0 >> 1) ^ (0xEDB8_8320 & mask);
            }
        }
    }

    const fn finish(self) -> u32 {
        !self.0
    }
}

/// Writes one update into the inactive slot: [`begin`](Updater::begin) erases it,
/// [`write`](Updater::write) programs the blob's bytes as they arrive, in chunks of any
/// size, and [`finish`](Updater::finish) reads the blob back, checks it and writes the
/// trailer, the commit point.
///
/// The flash calls, in order:
///
/// 1. `erase` of the slot's last erase unit (the one holding the trailer): from here on
///    the slot has no trailer, so it is invalid whatever the rest holds;
/// 2. `erase` of the rest of the slot (if the slot is larger than one erase unit);
/// 3. `write`s of the blob, in order from the slot's start, each write unit once (a
///    partial unit waits in a buffer for the next chunk; the last is padded with `0xFF`);
/// 4. `read`s of the blob back: prefix, declared length and CRC, and the CRC of what was
///    sent;
/// 5. one `write` of the [`TRAILER_LEN`]-byte trailer at the slot's end: **the commit
///    point**. Until it has completed, the trailer's magic or CRC is wrong and the other
///    slot stays active; once it has, this slot holds the larger sequence number and is
///    active at the next boot;
/// 6. a `read` of the trailer back.
///
/// The active slot is never erased, written nor read.
///
/// # Examples
///
/// A driver over RAM (a real one wraps the MCU's flash controller):
///
/// ```
/// use embedded_storage::nor_flash::{ErrorType, NorFlash, NorFlashErrorKind, ReadNorFlash};
/// use mdn_update::slot::{accept_any, select, SlotLayout, Updater};
///
/// struct Ram(mdn_core::Aligned<[u8; 8192]>);
/// impl ErrorType for Ram { type Error = NorFlashErrorKind; }
/// impl ReadNorFlash for Ram {
///     const READ_SIZE: usize = 1;
///     fn read(&mut self, at: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
///         bytes.copy_from_slice(&self.0.0[at as usize..][..bytes.len()]);
///         Ok(())
///     }
///     fn capacity(&self) -> usize { 8192 }
/// }
/// impl NorFlash for Ram {
///     const WRITE_SIZE: usize = 4;
///     const ERASE_SIZE: usize = 1024;
///     fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
///         self.0.0[from as usize..to as usize].fill(0xFF);
///         Ok(())
///     }
///     fn write(&mut self, at: u32, bytes: &[u8]) -> Result<(), Self::Error> {
///         self.0.0[at as usize..][..bytes.len()].copy_from_slice(bytes);
///         Ok(())
///     }
/// }
///
/// let layout = SlotLayout::new(0, 4096, 4096);
/// let mut flash = Ram(mdn_core::Aligned([0xFF; 8192]));
/// let blob = mdn_core::doc_example_blob();
///
/// let next = select(&flash.0.0[..4096], &flash.0.0[4096..], accept_any).next_write()?;
/// let mut update = Updater::begin(&mut flash, &layout, next)?;
/// assert_eq!(update.target().slot, mdn_update::slot::SlotId::A); // an empty device
/// for chunk in blob.chunks(100) {
///     update.write(chunk)?; // as the chunks arrive over the radio
/// }
/// assert_eq!(update.received(), blob.len());
/// let trailer = update.finish(None, |_, _| true)?;
/// assert_eq!(trailer.sequence, 1);
///
/// let (a, b) = flash.0.0.split_at(4096);
/// let selection = select(a, b, accept_any);
/// assert_eq!(selection.active().unwrap().1.bytes, &blob[..]);
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Updater<'f, F: NorFlash> {
    flash: &'f mut F,
    next: NextWrite,
    start: u32,
    size: u32,
    /// Bytes of the blob programmed (a multiple of the write unit until `finish`).
    programmed: usize,
    /// The CRC of the bytes received.
    sent: Crc32,
    /// Received bytes not yet programmed: less than one write unit.
    pending: [u8; MAX_WRITE_SIZE],
    pending_len: usize,
    aborted: bool,
}

impl<'f, F: NorFlash> Updater<'f, F> {
    /// Checks `layout` against `flash` and erases `next.slot` (the erase unit holding the
    /// trailer first): the start of an update into the slot that
    /// [`Selection::next_write`](super::Selection::next_write) named.
    ///
    /// # Errors
    ///
    /// [`UpdateError::Layout`] if the layout does not suit the flash,
    /// [`UpdateError::Flash`] if an erase fails.
    ///
    /// # Examples
    ///
    /// See [`Updater`].
    pub fn begin(
        flash: &'f mut F,
        layout: &SlotLayout,
        next: NextWrite,
    ) -> Result<Self, UpdateError<F::Error>> {
        layout.check(flash).map_err(UpdateError::Layout)?;
        let (start, size) = (layout.offset(next.slot), layout.size());
        let end = start + size; // layout.check bounds it by the capacity and u32::MAX
        let last_unit = end - F::ERASE_SIZE as u32;
        flash.erase(last_unit, end).map_err(UpdateError::Flash)?;
        if last_unit > start {
            flash.erase(start, last_unit).map_err(UpdateError::Flash)?;
        }
        Ok(Self {
            flash,
            next,
            start,
            size,
            programmed: 0,
            sent: Crc32::new(),
            pending: [0xFF; MAX_WRITE_SIZE],
            pending_len: 0,
            aborted: false,
        })
    }

    /// The slot being written and the sequence it will be committed with.
    ///
    /// # Examples
    ///
    /// See [`Updater`].
    pub fn target(&self) -> NextWrite {
        self.next
    }

    /// Bytes of the blob received so far.
    ///
    /// # Examples
    ///
    /// See [`Updater`].
    pub fn received(&self) -> usize {
        self.programmed + self.pending_len
    }

    /// Bytes before the trailer: the largest blob the slot holds.
    fn space(&self) -> usize {
        self.size as usize - TRAILER_LEN
    }

    /// Programs the next bytes of the blob (any length; whole write units go to the flash
    /// now, a partial one with the next chunk or [`finish`](Updater::finish)).
    ///
    /// # Errors
    ///
    /// [`UpdateError::BlobTooLong`] if the blob would exceed the slot's space before its
    /// trailer (nothing of `chunk` is written), [`UpdateError::Flash`] if a write fails,
    /// [`UpdateError::Aborted`] after an earlier failure.
    ///
    /// # Examples
    ///
    /// See [`Updater`].
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), UpdateError<F::Error>> {
        if self.aborted {
            return Err(UpdateError::Aborted);
        }
        if chunk.len() > self.space() - self.received() {
            return Err(UpdateError::BlobTooLong {
                space: self.space(),
            });
        }
        self.sent.update(chunk);
        let unit = F::WRITE_SIZE;
        let mut rest = chunk;
        if self.pending_len > 0 {
            let take = rest.len().min(unit - self.pending_len);
            let (head, tail) = rest.split_at(take);
            self.pending[self.pending_len..][..take].copy_from_slice(head);
            self.pending_len += take;
            rest = tail;
            if self.pending_len == unit {
                self.program_pending()?;
            }
        }
        let (bulk, tail) = rest.split_at(rest.len() / unit * unit);
        if !bulk.is_empty() {
            self.program(bulk)?;
        }
        self.pending[..tail.len()].copy_from_slice(tail);
        self.pending_len += tail.len();
        Ok(())
    }

    /// Checks the blob written so far and commits it with its trailer: programs the last
    /// partial write unit (padded with `0xFF`), reads the blob back (prefix, declared
    /// length, CRC, and the CRC of the bytes sent), asks `validate` (given the flash and
    /// the trailer about to be written: a full validation or a signature check of the
    /// bytes in the slot), then writes the trailer and reads it back.
    ///
    /// `signature` is stored in the trailer (flag bit 0) when given. A firmware with
    /// memory-mapped flash can validate the whole blob in place in `validate`, for
    /// example with `mdn_core::Blob::from_bytes(&slot[..trailer.blob_len as usize])`.
    ///
    /// # Errors
    ///
    /// [`UpdateError::Blob`] if what was read back is not a complete blob (its mdn-core
    /// error), [`UpdateError::ReadBackMismatch`] if it is not what was sent,
    /// [`UpdateError::Slot`] with [`SlotError::Rejected`] if `validate` refused it,
    /// [`UpdateError::Flash`] if a flash call fails, [`UpdateError::Aborted`] after an
    /// earlier failure. In every case the slot stays uncommitted and the other slot
    /// active.
    ///
    /// # Examples
    ///
    /// See [`Updater`].
    pub fn finish(
        mut self,
        signature: Option<[u8; SIGNATURE_LEN]>,
        validate: impl FnOnce(&mut F, &Trailer) -> bool,
    ) -> Result<Trailer, UpdateError<F::Error>> {
        if self.aborted {
            return Err(UpdateError::Aborted);
        }
        if self.pending_len > 0 {
            self.program_pending()?;
        }
        let trailer = self.read_back(signature)?;
        if !validate(self.flash, &trailer) {
            return Err(UpdateError::Slot(SlotError::Rejected));
        }
        let at = self.start + self.size - TRAILER_LEN as u32;
        let bytes = trailer.to_bytes();
        self.flash.write(at, &bytes).map_err(UpdateError::Flash)?;
        let mut back = [0_u8; TRAILER_LEN];
        self.flash.read(at, &mut back).map_err(UpdateError::Flash)?;
        if back != bytes {
            return Err(UpdateError::ReadBackMismatch);
        }
        Ok(trailer)
    }

    /// Reads the written blob back and returns the trailer that commits it.
    fn read_back(
        &mut self,
        signature: Option<[u8; SIGNATURE_LEN]>,
    ) -> Result<Trailer, UpdateError<F::Error>> {
        let len = self.programmed;
        if len < PREFIX_LEN + 4 {
            return Err(UpdateError::Blob(mdn_core::Error::Truncated {
                expected: PREFIX_LEN + 4,
                found: len,
            }));
        }
        let mut prefix = [0_u8; PREFIX_LEN];
        let mut stored = [0_u8; 4];
        let (mut body, mut all) = (Crc32::new(), Crc32::new());
        let mut block = [0_u8; READ_BLOCK];
        let mut offset = 0;
        while offset < len {
            // The last read may go past the blob, up to a read unit, never past the space
            // before the trailer (a multiple of the write unit, itself of the read unit).
            let n = (len - offset).min(READ_BLOCK);
            let read_len = n.next_multiple_of(F::READ_SIZE);
            let bytes = &mut block[..read_len];
            self.flash
                .read(self.start + offset as u32, bytes)
                .map_err(UpdateError::Flash)?;
            let bytes = &bytes[..n];
            all.update(bytes);
            for (i, &byte) in bytes.iter().enumerate() {
                let at = offset + i;
                if at < PREFIX_LEN {
                    prefix[at] = byte;
                }
                if at >= len - 4 {
                    stored[at - (len - 4)] = byte;
                }
            }
            body.update(&bytes[..n.min((len - 4).saturating_sub(offset))]);
            offset += n;
        }
        if prefix[..4] != MAGIC {
            return Err(UpdateError::Blob(mdn_core::Error::BadMagic));
        }
        let version = u16::from_le_bytes([prefix[4], prefix[5]]);
        if version != FORMAT_VERSION {
            return Err(UpdateError::Blob(mdn_core::Error::UnsupportedVersion {
                found: version,
            }));
        }
        let declared = u32::from_le_bytes([prefix[6], prefix[7], prefix[8], prefix[9]]) as usize;
        if declared > len {
            return Err(UpdateError::Blob(mdn_core::Error::Truncated {
                expected: declared,
                found: len,
            }));
        }
        if declared < len {
            return Err(UpdateError::Blob(mdn_core::Error::TrailingBytes {
                expected: declared,
                found: len,
            }));
        }
        let stored = u32::from_le_bytes(stored);
        let computed = body.finish();
        if stored != computed {
            return Err(UpdateError::Blob(mdn_core::Error::ChecksumMismatch {
                stored,
                computed,
            }));
        }
        if all.finish() != self.sent.finish() {
            return Err(UpdateError::ReadBackMismatch);
        }
        Ok(Trailer {
            sequence: self.next.sequence,
            blob_len: len as u32,
            blob_crc: stored,
            signature,
        })
    }

    /// Programs the pending partial unit, padded with `0xFF` (erased flash's value).
    fn program_pending(&mut self) -> Result<(), UpdateError<F::Error>> {
        let mut unit = [0xFF_u8; MAX_WRITE_SIZE];
        unit[..self.pending_len].copy_from_slice(&self.pending[..self.pending_len]);
        let pending = self.pending_len;
        self.pending_len = 0;
        self.program(&unit[..F::WRITE_SIZE])?;
        // Only the blob's bytes count, not the padding.
        self.programmed -= F::WRITE_SIZE - pending;
        Ok(())
    }

    /// Writes whole units at the end of what was programmed.
    fn program(&mut self, bytes: &[u8]) -> Result<(), UpdateError<F::Error>> {
        let at = self.start + self.programmed as u32;
        match self.flash.write(at, bytes) {
            Ok(()) => {
                self.programmed += bytes.len();
                Ok(())
            }
            Err(e) => {
                self.aborted = true;
                Err(UpdateError::Flash(e))
            }
        }
    }
}
