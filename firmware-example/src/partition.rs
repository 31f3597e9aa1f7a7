//! A data partition in flash that the firmware never occupies (QEMU `mps2-an386`, and
//! `mps2-an385` with the same memory map, only): a model blob and parity vectors placed at
//! fixed addresses by QEMU's generic loader,
//!
//! ```text
//! qemu-system-arm ... -device loader,file=model.mdn,addr=0x300000 \
//!                     -device loader,file=model.vectors,addr=0x340000
//! ```
//!
//! so one firmware binary evaluates any blob without being rebuilt. Unwritten partition
//! bytes read as zero, which is not a valid blob.

/// Address of the model blob (memory/qemu-mps2-an386.x keeps the program below it).
pub const MODEL_ADDRESS: usize = 0x0030_0000;
/// Address of the parity vectors.
pub const VECTORS_ADDRESS: usize = 0x0034_0000;
/// Bytes reserved for each (shared with the host tool that writes vector files).
pub const SLOT_BYTES: usize = mdn_tests::vectors::PARTITION_SLOT_BYTES;

/// The partition's model slot: [`SLOT_BYTES`] bytes at [`MODEL_ADDRESS`].
pub fn model_slot() -> &'static [u8] {
    slot(MODEL_ADDRESS)
}

/// The partition's vector slot: [`SLOT_BYTES`] bytes at [`VECTORS_ADDRESS`].
pub fn vectors_slot() -> &'static [u8] {
    slot(VECTORS_ADDRESS)
}

fn slot(address: usize) -> &'static [u8] {
    // SAFETY: on mps2-an386 (and mps2-an385) the 4 MB at 0x0 are always-mapped SSRAM; the
    // linker script keeps the program below 3 MB, so nothing writes these bytes after reset
    // (only QEMU's loader before it), and both slots are 4-byte aligned, in bounds and never
    // aliased mutably.
    unsafe { core::slice::from_raw_parts(address as *const u8, SLOT_BYTES) }
}
