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
//!
//! The `slots` binary reads the same partition as two A/B update slots instead
//! ([`update_slots`]: A at 0x30_0000, B at 0x32_0000, 128 KB each), placed as one image:
//!
//! ```text
//! qemu-system-arm ... -device loader,file=slots.bin,addr=0x300000
//! ```

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

/// The two update slots of mdn-update (`mdn_tests::slots`: addresses and size shared with
/// the host test that writes their images).
pub fn update_slots() -> (&'static [u8], &'static [u8]) {
    use mdn_tests::slots::{SLOT_A_ADDRESS, SLOT_B_ADDRESS, SLOT_BYTES as UPDATE_SLOT_BYTES};
    (
        region(SLOT_A_ADDRESS, UPDATE_SLOT_BYTES),
        region(SLOT_B_ADDRESS, UPDATE_SLOT_BYTES),
    )
}

fn slot(address: usize) -> &'static [u8] {
    region(address, SLOT_BYTES)
}

/// `len` bytes of the partition at `address`; both are constants above, inside the
/// partition.
fn region(address: usize, len: usize) -> &'static [u8] {
    // SAFETY: on mps2-an386 (and mps2-an385) the 4 MB at 0x0 are always-mapped SSRAM; the
    // linker script keeps the program below 3 MB, so nothing writes these bytes after reset
    // (only QEMU's loader before it), and every region (the constants above: the vector
    // and model slots, the update slots) is 4-byte aligned, inside the partition's
    // 0x30_0000..0x40_0000 and never aliased mutably.
    unsafe { core::slice::from_raw_parts(address as *const u8, len) }
}
