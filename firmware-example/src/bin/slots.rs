//! A/B model slots at boot: reads slots A and B from the flash partition
//! (`firmware_example::partition::update_slots`), chooses the active one with mdn-update's
//! rule (the newest slot whose trailer and blob validate and whose model fits this
//! firmware's capacities, A on a tie), and answers `mdn_tests::slots::QUERIES` from it,
//! logging every answer's bits. Built with the `signature` feature (and
//! `MDN_PUBLIC_KEY=NAME.pub`), a slot becomes active only if its trailer carries that key's
//! signature of its blob (`mdn_update::signature::verify_slot`).
//!
//! The torn-write test (tests/tests/device_slots.rs) boots it on flash images of updates
//! cut off at every step and checks that the answers are the old model's, bit for bit, until
//! the update's trailer is complete, and the new model's after. Exit status 0 with an
//! active slot, 3 when neither slot is usable.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use defmt::{error, info};
use firmware_example::{exit, partition};
use mdn_tests::slots::{QUERIES, SlotModel, answers};
use mdn_update::slot::{SlotId, ValidSlot, select};

#[cfg(feature = "signature")]
include!(concat!(env!("OUT_DIR"), "/public_key.rs"));

/// The acceptance check: the model fits this firmware's capacities and, with the
/// `signature` feature, its trailer carries the baked-in key's signature of it.
fn accept(slot: &ValidSlot<'_>) -> bool {
    #[cfg(feature = "signature")]
    if let Err(e) = mdn_update::signature::verify_slot(slot, &PUBLIC_KEY) {
        info!(
            "slots: sequence {=u32} refused: signature {}",
            slot.trailer.sequence, e
        );
        return false;
    }
    SlotModel::from_blob(slot.blob.clone()).is_ok()
}

#[entry]
fn main() -> ! {
    let (a, b) = partition::update_slots();
    let selection = select(a, b, accept);
    for id in [SlotId::A, SlotId::B] {
        match selection.slot(id) {
            Ok(valid) => info!(
                "slots: slot {=str} valid, sequence {=u32}, {=u32} bytes",
                id.name(),
                valid.trailer.sequence,
                valid.trailer.blob_len
            ),
            Err(e) => info!("slots: slot {=str} unusable: {}", id.name(), e),
        }
    }
    let Some((id, valid)) = selection.active() else {
        error!("slots: no usable slot");
        exit(3)
    };
    let Ok(mut model) = SlotModel::from_blob(valid.blob.clone()) else {
        // The acceptance hook checked the capacities: unreachable in practice.
        error!("slots: the active blob does not fit");
        exit(4)
    };
    firmware_example::set_kernels(&mut model);
    info!(
        "slots: active {=str}, sequence {=u32}, blob crc {=u32:#010x}",
        id.name(),
        valid.trailer.sequence,
        valid.trailer.blob_crc
    );
    for (i, ([log_p, mean], (x, y))) in answers(&model).into_iter().zip(QUERIES).enumerate() {
        info!(
            "slots: query {=usize} x {=u32:#010x} y {=u32:#010x}: log p {=u32:#010x}, mean {=u32:#010x}",
            i,
            x.to_bits(),
            y.to_bits(),
            log_p,
            mean
        );
    }
    exit(0)
}
