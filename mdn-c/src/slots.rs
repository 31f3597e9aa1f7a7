//! A/B update slots (mdn-update): which slot a firmware boots from, where the next update
//! goes, and the trailer that commits an update.

use core::ffi::c_int;

use mdn_update::slot::{SIGNATURE_LEN, SlotError, TRAILER_LEN, Trailer, TrailerError, select};

use crate::{
    arrays::{input, output, scalar},
    capacities::CModel,
    status::{
        mdn_status::{self, *},
        status_of,
    },
};

/// Bytes of an update slot's trailer, at the slot's end.
pub const MDN_SLOT_TRAILER_LEN: usize = 96;

/// Bytes of an Ed25519 signature in a slot trailer.
pub const MDN_SLOT_SIGNATURE_LEN: usize = 64;

// Literals above, for cbindgen, which copies a constant's expression into mdn.h.
const _: () =
    assert!(MDN_SLOT_TRAILER_LEN == TRAILER_LEN && MDN_SLOT_SIGNATURE_LEN == SIGNATURE_LEN);

/// `mdn_slot_choice.active` when neither slot is usable.
pub const MDN_SLOT_NONE: c_int = -1;

/// What `mdn_slots_select` found in the two slots (slot A is 0, B is 1).
#[allow(
    non_camel_case_types,
    reason = "the C name is the API; cbindgen copies it into mdn.h"
)]
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct mdn_slot_choice {
    /// The slot to boot from (0 = A, 1 = B), or `MDN_SLOT_NONE`.
    pub active: c_int,
    /// The active slot's sequence number (0 when none).
    pub sequence: u32,
    /// The active blob's length in bytes: pass the active slot and this length to
    /// `mdn_model_init` (0 when none).
    pub blob_len: usize,
    /// The slot the next update erases and writes: never the active one (A when none).
    pub next_slot: c_int,
    /// The sequence number the next update's trailer carries: the active one plus one (1
    /// when none; 0 when exhausted, see `next_status`).
    pub next_sequence: u32,
    /// `MDN_OK`, or `MDN_ERROR_SEQUENCE_EXHAUSTED` if no update can be newer.
    pub next_status: mdn_status,
    /// Why slot A is not usable, or `MDN_OK` if it is.
    pub status_a: mdn_status,
    /// Why slot B is not usable, or `MDN_OK` if it is.
    pub status_b: mdn_status,
}

/// The status of a slot that cannot be used.
fn slot_status(error: SlotError) -> mdn_status {
    match error {
        SlotError::SlotTooSmall { .. } => MDN_ERROR_SLOT_TOO_SMALL,
        SlotError::Trailer(TrailerError::BadMagic) => MDN_ERROR_SLOT_NOT_COMMITTED,
        SlotError::Trailer(_) => MDN_ERROR_SLOT_TRAILER_CORRUPT,
        SlotError::BlobTooLong { .. } | SlotError::BlobCrcMismatch { .. } => {
            MDN_ERROR_SLOT_BLOB_MISMATCH
        }
        SlotError::Blob(e) => e.into(),
        // The only acceptance check here: the library's capacities.
        SlotError::Rejected => MDN_ERROR_CAPACITY_EXCEEDED,
        SlotError::SequenceExhausted => MDN_ERROR_SEQUENCE_EXHAUSTED,
        _ => MDN_ERROR_UNKNOWN,
    }
}

/// Chooses the slot to boot from, of two update slots of `len_a` and `len_b` bytes (each a
/// blob at its start and a trailer in its last `MDN_SLOT_TRAILER_LEN` bytes): the newest
/// slot (larger sequence number) whose trailer is intact, whose blob validates and fits this
/// library's capacities; the other one otherwise; A on a tie. Writes the choice, each slot's
/// status and where the next update goes into `*choice`.
///
/// Returns `MDN_OK` when a slot is usable, `MDN_ERROR_NO_VALID_SLOT` when neither is
/// (`*choice` is written then too: the next update goes to A with sequence 1), or
/// `MDN_ERROR_NULL_POINTER`. Signatures are not checked here.
///
/// # Safety
///
/// `slot_a` and `slot_b` point to `len_a` and `len_b` readable bytes (or are NULL with a
/// length of 0), 4-byte aligned (memory-mapped flash); `choice` points to a writable
/// `mdn_slot_choice` (or is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_slots_select(
    slot_a: *const u8,
    len_a: usize,
    slot_b: *const u8,
    len_b: usize,
    choice: *mut mdn_slot_choice,
) -> mdn_status {
    // SAFETY: the caller's promises for each pointer.
    let parts = unsafe { (input(slot_a, len_a), input(slot_b, len_b), scalar(choice)) };
    let (a, b, choice) = match parts {
        (Ok(a), Ok(b), Ok(choice)) => (a, b, choice),
        _ => return MDN_ERROR_NULL_POINTER,
    };
    let selection = select(a, b, |slot| CModel::from_blob(slot.blob.clone()).is_ok());
    let status_of_slot = |slot: &Result<_, SlotError>| match slot {
        Ok(_) => MDN_OK,
        Err(e) => slot_status(*e),
    };
    let next = selection.next_write();
    let (active, sequence, blob_len) = match selection.active() {
        Some((id, valid)) => (
            id.index() as c_int,
            valid.trailer.sequence,
            valid.bytes.len(),
        ),
        None => (MDN_SLOT_NONE, 0, 0),
    };
    *choice = mdn_slot_choice {
        active,
        sequence,
        blob_len,
        next_slot: next.map_or(MDN_SLOT_NONE, |n| n.slot.index() as c_int),
        next_sequence: next.map_or(0, |n| n.sequence),
        next_status: next.map_or_else(slot_status, |_| MDN_OK),
        status_a: status_of_slot(selection.slot(mdn_update::slot::SlotId::A)),
        status_b: status_of_slot(selection.slot(mdn_update::slot::SlotId::B)),
    };
    if active == MDN_SLOT_NONE {
        MDN_ERROR_NO_VALID_SLOT
    } else {
        MDN_OK
    }
}

/// Writes the trailer that commits the blob of `blob_len` bytes at `blob` with `sequence`
/// into `out` (`MDN_SLOT_TRAILER_LEN` bytes): write it to the slot's last
/// `MDN_SLOT_TRAILER_LEN` bytes after the blob, last, as the commit point. `signature`
/// (`MDN_SLOT_SIGNATURE_LEN` bytes) is stored with the signed flag, or NULL for an unsigned
/// blob.
///
/// The blob is validated first (a trailer never commits a blob that cannot boot): returns
/// `MDN_OK`, the blob's status (`MDN_ERROR_CHECKSUM_MISMATCH`, `MDN_ERROR_MISALIGNED`, ...),
/// `MDN_ERROR_BUFFER_TOO_SMALL` if `out_len` is less than `MDN_SLOT_TRAILER_LEN`, or
/// `MDN_ERROR_NULL_POINTER`. Capacities are not checked: the device that boots it does.
///
/// # Safety
///
/// `blob` points to `blob_len` readable, 4-byte aligned bytes (or is NULL with 0);
/// `signature` is NULL or points to `MDN_SLOT_SIGNATURE_LEN` readable bytes; `out` points
/// to `out_len` writable bytes (or is NULL with 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_slots_trailer(
    blob: *const u8,
    blob_len: usize,
    sequence: u32,
    signature: *const u8,
    out: *mut u8,
    out_len: usize,
) -> mdn_status {
    // SAFETY: the caller's promises for `blob` and `out`.
    let (blob, out) = match unsafe { (input(blob, blob_len), output(out, out_len)) } {
        (Ok(blob), Ok(out)) => (blob, out),
        _ => return MDN_ERROR_NULL_POINTER,
    };
    let signature = if signature.is_null() {
        None
    } else {
        // SAFETY: non-null, so the caller promises MDN_SLOT_SIGNATURE_LEN readable bytes.
        match unsafe { input(signature, SIGNATURE_LEN) } {
            Ok(bytes) => {
                let mut field = [0_u8; SIGNATURE_LEN];
                field.copy_from_slice(bytes);
                Some(field)
            }
            Err(status) => return status,
        }
    };
    status_of((|| {
        let out = out
            .get_mut(..TRAILER_LEN)
            .ok_or(MDN_ERROR_BUFFER_TOO_SMALL)?;
        mdn_core::Blob::from_bytes(blob).map_err(mdn_status::from)?;
        let trailer =
            Trailer::for_blob(blob, sequence, signature).map_err(|_| MDN_ERROR_INVALID_LENGTH)?;
        out.copy_from_slice(&trailer.to_bytes());
        Ok(())
    })())
}
