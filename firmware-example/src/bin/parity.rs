//! Device parity: evaluates every vector of every embedded parity set with mdn-core and
//! compares the outcome with the host's, bit for bit (any NaN equals any NaN).
//!
//! The sets come from `MDN_PARITY_DIR` (default `golden/`): each `NAME.mdn` with its
//! `NAME.vectors` (format: `mdn_tests::vectors`). Exit status 0 when every vector matches,
//! 1 on the first mismatch (logged with both outcomes), 2 for an invalid blob, 3 for an
//! invalid vector file.
//!
//! Every vector is evaluated twice: with mdn-core's portable kernels and with
//! `mdn-cortex-m`'s ([`mdn_core::Model::set_kernel`], and
//! [`mdn_core::Model::set_integer_kernel`] for integer networks: assembly on the Cortex-M4F).
//! Before the sets, the kernels' sums are compared directly: the dense layers' on random
//! columns with zeros of both signs, infinities, NaN and overflowing products, the integer
//! networks' on random weights of both widths and inputs across the `int16` range, both
//! with slices of unequal lengths and poison past their ends (exit status 4 on a
//! difference).
//!
//! A blob and vectors placed in the flash partition by QEMU's loader (see
//! `firmware_example::partition`) are checked instead of the embedded sets: one binary,
//! any model, no rebuild.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use defmt::{error, info};
use firmware_example::{exit, partition};
use mdn_core::{
    Aligned, ROW_BLOCK,
    kernel::{Column, DotBlocks, IntegerKernel},
    rand_core::Rng,
};
use mdn_tests::vectors::{MAX_OUTCOME, ParityModel, ParityRng, evaluate, outcomes_match, records};

/// A model blob and its vectors, embedded by `build.rs`.
struct ParitySet {
    name: &'static str,
    blob: &'static Aligned<[u8]>,
    vectors: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/parity_sets.rs"));

/// The kernels every vector goes through (the dense layers', the integer networks'), with
/// the names the log gives them.
const KERNELS: [(&str, DotBlocks, IntegerKernel); 2] = [
    (
        "mdn-core",
        mdn_core::kernel::dot_blocks,
        mdn_core::kernel::INTEGER_KERNEL,
    ),
    (
        "mdn-cortex-m",
        mdn_cortex_m::dot_blocks,
        mdn_cortex_m::INTEGER_KERNEL,
    ),
];

#[entry]
fn main() -> ! {
    let cases = check_kernels();
    info!(
        "kernels: mdn-cortex-m gives mdn-core's sums in {=u32} cases",
        cases
    );
    let cases = check_integer_kernels();
    info!(
        "integer kernels: mdn-cortex-m gives mdn-core's sums in {=u32} cases",
        cases
    );
    // A blob placed in the flash partition by QEMU's loader replaces the embedded sets.
    let partition = partition::model_slot();
    if partition.starts_with(&mdn_core::MAGIC) {
        let count = check_set(
            "partition",
            Source::Prefix(partition),
            partition::vectors_slot(),
        );
        info!(
            "parity: all {=u32} vectors of the partition model match the host, with each kernel",
            count
        );
        exit(0)
    }
    let mut total = 0_u32;
    for set in PARITY_SETS {
        total += check_set(set.name, Source::Exact(&set.blob.0), set.vectors);
    }
    info!(
        "parity: all {=u32} vectors of {=usize} models match the host, with each kernel",
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

/// Columns the direct kernel check goes up to (odd and even counts, one to many steps).
const MAX_COLUMNS: usize = 44;

/// How many columns short of the count each slice may be: equal lengths, as mdn-core
/// passes them, and each slice (or several) shorter by one or by three.
const SHORTFALLS: [usize; 3] = [0, 1, 3];

/// What the slices' memory holds past their ends: a kernel that reads it changes its sums.
const POISON: f32 = 1.0e30;

/// Compares `mdn_cortex_m::dot_blocks` with `mdn_core::kernel::dot_blocks` on random
/// blocks of every column count up to [`MAX_COLUMNS`], with every combination of
/// [`SHORTFALLS`] for the two blocks and the input; returns the number of cases, or exits
/// with status 4 on the first difference.
fn check_kernels() -> u32 {
    let mut rng = ParityRng::new(2026);
    let mut cases = 0_u32;
    for columns in 0..=MAX_COLUMNS {
        for shortfall in SHORTFALLS.iter().flat_map(|&a| {
            SHORTFALLS
                .iter()
                .flat_map(move |&b| SHORTFALLS.iter().map(move |&x| [a, b, x]))
        }) {
            let [a, b, x] = shortfall.map(|short| columns.saturating_sub(short));
            let mut first = [[POISON.to_bits(); ROW_BLOCK]; MAX_COLUMNS];
            let mut second = [[POISON.to_bits(); ROW_BLOCK]; MAX_COLUMNS];
            let mut input = [POISON; MAX_COLUMNS];
            first[..a]
                .as_flattened_mut()
                .fill_with(|| value(&mut rng).to_bits());
            second[..b]
                .as_flattened_mut()
                .fill_with(|| value(&mut rng).to_bits());
            input[..x].fill_with(|| value(&mut rng));
            let blocks: [&[Column]; 2] = [&first[..a], &second[..b]];
            let expected = mdn_core::kernel::dot_blocks(blocks, &input[..x]);
            let actual = mdn_cortex_m::dot_blocks(blocks, &input[..x]);
            // As an outcome of `mdn_tests::vectors`: a status word (0), then the 16 sums.
            let outcome = |sums: [[f32; ROW_BLOCK]; 2]| {
                let mut words = [0_u32; 1 + 2 * ROW_BLOCK];
                for (word, sum) in words[1..].iter_mut().zip(sums.as_flattened()) {
                    *word = sum.to_bits();
                }
                words
            };
            let (expected, actual) = (outcome(expected), outcome(actual));
            if !outcomes_match(&expected, &actual) {
                error!(
                    "kernels differ with {=usize}, {=usize} and {=usize} columns: mdn-core {:#x}, mdn-cortex-m {:#x}",
                    a, b, x, expected, actual
                );
                exit(4)
            }
            cases += 1;
        }
    }
    cases
}

/// What the integer slices hold past their ends: a kernel that reads it changes its sums.
const INTEGER_POISON: u32 = 0x7F7F_7F7F;

/// Compares `mdn_cortex_m::INTEGER_KERNEL` with mdn-core's on random blocks of both
/// widths, every column count up to [`MAX_COLUMNS`] and every combination of
/// [`SHORTFALLS`] for the columns and the input; inputs anywhere in
/// `-32767..=32767` (one in eight at an end of the range or zero); returns the number of
/// cases, or exits with status 4 on the first difference.
fn check_integer_kernels() -> u32 {
    let mut rng = ParityRng::new(2027);
    let mut cases = 0_u32;
    for columns in 0..=MAX_COLUMNS {
        for [c, x] in SHORTFALLS
            .iter()
            .flat_map(|&c| SHORTFALLS.iter().map(move |&x| [c, x]))
        {
            let [c, x] = [c, x].map(|short| columns.saturating_sub(short));
            let mut narrow = [[INTEGER_POISON; 2]; MAX_COLUMNS];
            let mut wide = [[INTEGER_POISON; 4]; MAX_COLUMNS];
            let mut input = [i32::MAX; MAX_COLUMNS];
            narrow[..c].as_flattened_mut().fill_with(|| rng.next_u32());
            wide[..c].as_flattened_mut().fill_with(|| rng.next_u32());
            input[..x].fill_with(|| {
                let word = rng.next_u32();
                match word % 8 {
                    0 => [32767, -32767, 0, 1][(word >> 3) as usize % 4],
                    _ => (word >> 3) as i32 % 32768,
                }
            });
            let expected = [
                (mdn_core::kernel::INTEGER_KERNEL.int8_int16)(&narrow[..c], &input[..x]),
                (mdn_core::kernel::INTEGER_KERNEL.int16_int16)(&wide[..c], &input[..x]),
            ];
            let actual = [
                (mdn_cortex_m::INTEGER_KERNEL.int8_int16)(&narrow[..c], &input[..x]),
                (mdn_cortex_m::INTEGER_KERNEL.int16_int16)(&wide[..c], &input[..x]),
            ];
            if expected != actual {
                error!(
                    "integer kernels differ with {=usize} columns and {=usize} inputs: mdn-core {}, mdn-cortex-m {}",
                    c, x, expected, actual
                );
                exit(4)
            }
            cases += 1;
        }
    }
    cases
}

/// A weight or input: mostly in `[-4, 4)` with a random mantissa; one in eight a signed
/// zero, an infinity, NaN, a value whose products overflow, or a subnormal.
fn value(rng: &mut ParityRng) -> f32 {
    let word = rng.next_u32();
    match word % 64 {
        0 => 0.0,
        1 => -0.0,
        2 => f32::INFINITY,
        3 => f32::NEG_INFINITY,
        4 => f32::NAN,
        5 => 3.0e38,
        6 => -3.0e38,
        7 => f32::from_bits(word >> 9),
        _ => (word >> 8) as f32 / (1_u32 << 24) as f32 * 8.0 - 4.0,
    }
}

/// Evaluates every vector of one set with each of [`KERNELS`]; returns the number of
/// vectors, or exits on the first failure.
fn check_set(name: &str, source: Source, vectors: &[u8]) -> u32 {
    let mut count = 0;
    for &(kernel_name, kernel, integer_kernel) in &KERNELS {
        count = check_set_with(
            name,
            kernel_name,
            (kernel, integer_kernel),
            &source,
            vectors,
        );
    }
    count
}

/// Evaluates every vector of one set with `kernels`; returns the count, or exits on the
/// first failure.
fn check_set_with(
    name: &str,
    kernel_name: &str,
    (kernel, integer_kernel): (DotBlocks, IntegerKernel),
    source: &Source,
    vectors: &[u8],
) -> u32 {
    let model = match *source {
        Source::Exact(bytes) => ParityModel::from_bytes(bytes),
        Source::Prefix(bytes) => ParityModel::from_prefix(bytes).map(|(model, _)| model),
    };
    let mut model = match model {
        Ok(model) => model,
        Err(e) => {
            error!("{=str}: invalid blob: {}", name, e);
            exit(2)
        }
    };
    model.set_kernel(kernel);
    model.set_integer_kernel(integer_kernel);
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
                "{=str}, {=str} kernel: vector {=usize} ({}) differs: host {:#x}, device {:#x}",
                name, kernel_name, index, record.op, host, device
            );
            exit(1)
        }
        count += 1;
    }
    info!(
        "{=str}, {=str} kernel: {=u32} vectors bit-identical",
        name, kernel_name, count
    );
    count
}
