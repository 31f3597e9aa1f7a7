//! # mdn-update
//!
//! Ship a new model to a device already in the field, safely: two flash slots (A and B),
//! each a blob followed, at the slot's end, by a small trailer written last; at boot the
//! firmware answers from the newest slot whose trailer and blob validate, otherwise from
//! the other one. A write cut off at any byte leaves the previous model active.
//!
//! `no_std`, no heap, no `unsafe`: slots are byte slices (memory-mapped flash), and
//! writing goes through the caller's flash driver.
//!
//! ```text
//! slot:     [ blob (FORMAT.md) | erased or stale bytes ... | trailer (TRAILER_LEN) ]
//! trailer:  offset size field
//!           0      4    TRAILER_MAGIC b"MDNS"
//!           4      2    trailer version, u16 LE (1)
//!           6      2    flags, u16 LE (bit 0: signed)
//!           8      4    sequence number, u32 LE (the newer slot has the larger one)
//!           12     4    blob length in bytes, u32 LE
//!           16     4    the blob's own CRC-32 (its last 4 bytes): binds trailer to blob
//!           20     64   Ed25519 signature of the blob's bytes (zero when unsigned)
//!           84     8    reserved, zero
//!           92     4    CRC-32/ISO-HDLC of bytes 0..92, u32 LE
//! ```
//!
//! # The update loop
//!
//! 1. **Boot**: [`slot::select`] checks both slots and names the active one: the slot
//!    with the larger sequence number whose trailer is intact (magic, version, CRC), whose
//!    blob validates with mdn-core (`Blob::from_bytes` on exactly the trailer's length,
//!    whose own CRC is the one the trailer names) and passes the caller's acceptance
//!    check (a signature, the firmware's capacities: any `Fn(&ValidSlot) -> bool` given
//!    the slot's trailer, bytes and validated blob, or [`slot::accept_any`]); otherwise
//!    the other slot; A on a tie. Give its blob to `Model::from_blob`.
//! 2. **An update arrives**: [`Selection::next_write`](slot::Selection::next_write) names
//!    the slot to write (never the active one; A when neither is valid) and its sequence
//!    number (the active one's plus one; 1 on an empty device).
//!    [`Updater::begin`](slot::Updater::begin) erases that slot through the caller's flash
//!    driver (`embedded-storage`'s `NorFlash`), the erase unit holding the trailer first;
//!    [`Updater::write`](slot::Updater::write) programs chunks as they arrive;
//!    [`Updater::finish`](slot::Updater::finish) reads the blob back (prefix, length, CRC,
//!    and the CRC of what was sent), runs the caller's validation, and writes the
//!    trailer **last**: that one write is the commit point.
//! 3. **Reboot** (or select again): the new slot is active.
//!
//! # What a cut leaves
//!
//! A power failure or reset anywhere in step 2 leaves the previously active slot active,
//! bit for bit, until the trailer write has completed; after it the new slot is active.
//! The active slot is never erased, written or read by an update, so a device that had a
//! usable slot keeps one: neither slot is unusable unless both were from the start. For
//! the same reason a model read in place from the active slot keeps answering while the
//! update is written; select again after [`finish`](slot::Updater::finish) (or reboot) to
//! switch.
//!
//! | cut during | the target slot then holds | active at the next boot |
//! |---|---|---|
//! | the first erase (the trailer's unit) | a torn or stale trailer: magic missing, CRC wrong, or an older trailer whose sequence is below the active one's, or whose blob CRC no longer matches | the old slot |
//! | the erase of the rest | no trailer | the old slot |
//! | a chunk's write, the read-back, `validate` | part of the blob, no trailer | the old slot |
//! | the trailer's write | part of a trailer: its CRC (the last 4 bytes) is wrong | the old slot |
//! | after the trailer's write | the new blob, committed with the larger sequence | the new slot |
//!
//! On storage where unwritten bytes keep stale content (no erase, or an erase that did not
//! finish), the same holds: the trailer binds one blob by its length and CRC, and a stale
//! trailer's blob is overwritten before the new trailer exists. The host tests
//! (`tests/slots.rs`, [`slot::PowerCutFlash`]) cut an update at every flash call and inside
//! each, with erased, stale and garbage targets; `tests/tests/device_slots.rs` boots 192
//! such flash images in QEMU.
//!
//! Assumed of the flash: erasing or writing one slot does not disturb the other (slots on
//! separate erase units, which [`Updater::begin`](slot::Updater::begin) checks), and an
//! interrupted write leaves any mix of old and new bits only in the bytes it was writing.
//! CRC-32 detects torn writes and random corruption, not deliberate tampering: that is
//! the `signature` feature's job.
//!
//! # Not protected: rollback
//!
//! The sequence number is not signed and no monotonic counter backs it: whoever can write
//! the slots (an attacker with flash access, a user, or an update channel that lets the
//! sender choose what is written) can re-flash an **older, validly signed** blob with a
//! higher sequence number, and the device will boot it. A signature proves who built a
//! blob, not that it is the newest. Anti-rollback needs a counter the device keeps itself
//! (OTP fuses, a secure element) checked against a version inside the signed bytes; this
//! crate does not provide one.
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `signature` | detached Ed25519 signatures over the blob, checked before a slot becomes active |
//! | `defmt` | `defmt::Format` on the slot types, for firmware logs |
//!
//! # Example
//!
//! An update of an empty device, then of a device running that model, over a RAM flash
//! (a firmware passes its flash controller's `NorFlash` driver and reads its slots from
//! memory-mapped flash):
//!
//! ```
//! use mdn_core::Aligned;
//! use mdn_update::slot::{accept_any, select, EraseModel, PowerCutFlash, SlotId, SlotLayout, Updater};
//!
//! let layout = SlotLayout::new(0, 4096, 4096);
//! let mut memory = Aligned([0xFF_u8; 8192]);
//! let blob = mdn_core::doc_example_blob();
//! for expected in [(SlotId::A, 1), (SlotId::B, 2)] {
//!     let next = {
//!         let (a, b) = memory.0.split_at(4096);
//!         select(a, b, accept_any).next_write()?
//!     };
//!     let mut flash = PowerCutFlash::<4, 1024>::new(&mut memory.0, EraseModel::Nor, None);
//!     let mut update = Updater::begin(&mut flash, &layout, next)?;
//!     for chunk in blob.chunks(64) {
//!         update.write(chunk)?;
//!     }
//!     update.finish(None, |_, _| true)?;
//!
//!     // The next boot.
//!     let (a, b) = memory.0.split_at(4096);
//!     let selection = select(a, b, accept_any);
//!     let (id, active) = selection.active().expect("a usable slot");
//!     assert_eq!((id, active.trailer.sequence), expected);
//!     let model = mdn_core::HostModel::from_blob(active.blob.clone())?;
//!     assert!(model.log_prob(&[0.3], &[-0.7])?.is_finite());
//! }
//! # Ok::<(), Box<dyn core::error::Error>>(())
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod slot;

/// The flash driver traits the [`slot::Updater`] writes through (`embedded-storage` 0.3),
/// re-exported so that a driver implements the very version this crate uses.
pub use embedded_storage;

#[cfg(feature = "signature")]
pub mod signature;
