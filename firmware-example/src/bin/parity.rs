//! Device parity: evaluates every vector of every embedded parity set with mdn-core and
//! compares the outcome with the host's, bit for bit (any NaN equals any NaN).
//!
//! The sets come from `MDN_PARITY_DIR` (default `golden/`): each `NAME.mdn` with its
//! `NAME.vectors` (format: `mdn_tests::vectors`). Exit status 0 when every vector matches,
//! 1 on the first mismatch (logged with both outcomes), 2 for an invalid blob, 3 for an
//! invalid vector file.
//!
//! A blob and vectors placed in the flash partition by QEMU's loader (see
//! `firmware_example::partition`) are checked instead of the embedded sets: one binary,
//! any model, no rebuild.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use defmt::{error, info};
use firmware_example::{exit, partition};
use mdn_core::Aligned;
use mdn_tests::vectors::{MAX_OUTCOME, ParityModel, evaluate, outcomes_match, records};

/// A model blob and its vectors, embedded by `build.rs`.
struct ParitySet {
    name: &'static str,
    blob: &'static Aligned<[u8]>,
    vectors: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/parity_sets.rs"));

#[entry]
fn main() -> ! {
    // A blob placed in the flash partition by QEMU's loader replaces the embedded sets.
    let partition = partition::model_slot();
    if partition.starts_with(&mdn_core::MAGIC) {
        let count = check_set(
            "partition",
            Source::Prefix(partition),
            partition::vectors_slot(),
        );
        info!(
            "parity: all {=u32} vectors of the partition model match the host",
            count
        );
        exit(0)
    }
    let mut total = 0_u32;
    for set in PARITY_SETS {
        total += check_set(set.name, Source::Exact(&set.blob.0), set.vectors);
    }
    info!(
        "parity: all {=u32} vectors of {=usize} models match the host",
        total,
        PARITY_SETS.len()
    );
    exit(0)
}

/// Where a blob is stored.
enum Source {
    /// The blob fills the slice.
    Exact(&'static [u8]),
    /// The blob starts the slice (a partition, followed by unwritten bytes).
    Prefix(&'static [u8]),
}

/// Evaluates every vector of one set; returns the count, or exits on the first failure.
fn check_set(name: &str, source: Source, vectors: &[u8]) -> u32 {
    let model = match source {
        Source::Exact(bytes) => ParityModel::from_bytes(bytes),
        Source::Prefix(bytes) => ParityModel::from_prefix(bytes).map(|(model, _)| model),
    };
    let model = match model {
        Ok(model) => model,
        Err(e) => {
            error!("{=str}: invalid blob: {}", name, e);
            exit(2)
        }
    };
    let records = match records(vectors) {
        Ok(records) => records,
        Err(e) => {
            error!("{=str}: invalid vector file: {}", name, e);
            exit(3)
        }
    };
    let mut count = 0_u32;
    for (index, record) in records.enumerate() {
        let record = match record {
            Ok(record) => record,
            Err(e) => {
                error!("{=str}: vector {=usize}: {}", name, index, e);
                exit(3)
            }
        };
        let mut device = [0_u32; MAX_OUTCOME];
        let n = evaluate(&model, &record, &mut device);
        let mut host = [0_u32; MAX_OUTCOME];
        for (h, w) in host.iter_mut().zip(record.expected) {
            *h = u32::from_le_bytes(*w);
        }
        let (host, device) = (&host[..record.expected.len()], &device[..n]);
        if !outcomes_match(host, device) {
            error!(
                "{=str}: vector {=usize} ({}) differs: host {:#x}, device {:#x}",
                name, index, record.op, host, device
            );
            exit(1)
        }
        count += 1;
    }
    info!("{=str}: {=u32} vectors bit-identical", name, count);
    count
}
