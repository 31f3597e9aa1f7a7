//! What `firmware-example`'s `slots` binary and the torn-write test
//! (`tests/device_slots.rs`) share: where the two update slots are in QEMU's data partition,
//! the evaluator the firmware runs, and the queries it answers from the active slot.

use mdn_core::Model;

/// Address of slot A in QEMU `mps2-an386`'s data partition (firmware-example's
/// `partition`: the program stays below 0x30_0000).
pub const SLOT_A_ADDRESS: usize = 0x0030_0000;

/// Address of slot B, right after A.
pub const SLOT_B_ADDRESS: usize = SLOT_A_ADDRESS + SLOT_BYTES;

/// Bytes of each slot: 128 KB, a multiple of any erase unit up to 128 KB.
pub const SLOT_BYTES: usize = 0x0002_0000;

/// The evaluator the `slots` firmware answers with: `minimal`'s capacities (1 input, hidden
/// layers up to 32 wide, 5 components, 1 output). A slot whose model needs more is refused
/// and the other slot answers.
pub type SlotModel<'a> = Model<'a, 1, 32, 5, 1>;

/// The queries, `(x, y)`: log p(y|x) and the mean at `x`.
pub const QUERIES: [(f32, f32); 8] = [
    (-3.0, -2.5),
    (-1.5, 0.25),
    (-0.5, -0.7),
    (0.0, 0.0),
    (0.3, -0.7),
    (1.0, 1.5),
    (2.5, 2.0),
    (6.0, 4.5),
];

/// What an answer is when a query fails (never expected: the queries are finite inputs of
/// the right shape).
pub const FAILED: u32 = u32::MAX;

/// The bits of log p(y|x) and of the mean at x for each of [`QUERIES`], [`FAILED`] where a
/// query returns an error: the very code the firmware runs, so the host computes the
/// device's expected bits with it.
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// let model = mdn_tests::slots::SlotModel::from_bytes(&bytes[..])?;
/// let answers = mdn_tests::slots::answers(&model);
/// assert!(answers.iter().all(|&[log_p, mean]| f32::from_bits(log_p).is_finite()
///     && f32::from_bits(mean).is_finite()));
/// # Ok::<(), mdn_core::Error>(())
/// ```
pub fn answers(model: &SlotModel<'_>) -> [[u32; 2]; QUERIES.len()] {
    QUERIES.map(|(x, y)| {
        let log_p = model.log_prob(&[x], &[y]).map_or(FAILED, f32::to_bits);
        let mean = model
            .mean(&[x])
            .ok()
            .and_then(|mean| mean.first().copied())
            .map_or(FAILED, f32::to_bits);
        [log_p, mean]
    })
}
