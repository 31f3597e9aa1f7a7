//! `StreamValidator` against `from_bytes`: the same decision on any bytes, in any chunks.
//!
//! The input is a blob, possibly followed by more bytes. The blob (as many bytes as its
//! prefix declares, or all of them) is streamed in chunks whose lengths are the bytes after
//! it, in turn (the last four bytes when nothing follows: a seed blob's CRC), and so is the
//! whole input. Each stream's decision must be `from_bytes`'s on the same bytes, for the
//! capacity-free `Blob` and for the three model types of the other targets; an accepted
//! blob must report the length and CRC `from_bytes` finds.

#![no_main]

use libfuzzer_sys::fuzz_target;
use mdn_core::{Blob, HostModel, StreamValidator};
use mdn_fuzz::{AlignedBytes, FitModel, TightModel};

/// A slot larger than any input (`-max_len` is 8 KB): the slot never decides here.
const SLOT: usize = 1 << 20;

/// Streams `bytes` with `validator` in chunks of the lengths `cuts` gives, in turn.
fn stream(mut validator: StreamValidator, bytes: &[u8], cuts: &[u8]) -> Option<(usize, u32)> {
    let mut rest = bytes;
    let mut lengths = cuts.iter().cycle();
    while !rest.is_empty() {
        // A zero is an empty chunk, then one byte (so that the stream moves on).
        let n = lengths.next().map_or(rest.len(), |&n| usize::from(n));
        if n == 0 && validator.feed(&[]).is_err() {
            return refused(validator);
        }
        let (chunk, after) = rest.split_at(n.clamp(1, rest.len()));
        if validator.feed(chunk).is_err() {
            return refused(validator);
        }
        rest = after;
    }
    validator.finish().ok().map(|s| (s.len, s.crc))
}

/// After a refusal: the refusal is final, the same error from then on.
fn refused(mut validator: StreamValidator) -> Option<(usize, u32)> {
    let error = validator.feed(&[]).expect_err("a refusal sticks");
    assert_eq!(validator.feed(&[0; 3]).map(drop), Err(error));
    assert_eq!(validator.finish().map(drop), Err(error));
    None
}

/// Asserts the streamed decisions on `bytes` equal `from_bytes`'s.
fn compare(bytes: &[u8], cuts: &[u8]) {
    let blob = Blob::from_bytes(bytes).ok().map(|b| (b.len(), b.crc()));
    assert_eq!(stream(StreamValidator::new(SLOT), bytes, cuts), blob);
    let host = HostModel::from_bytes(bytes)
        .ok()
        .map(|m| (m.blob().len(), m.blob().crc()));
    assert_eq!(
        stream(
            StreamValidator::with_capacities(SLOT, HostModel::CAPACITIES),
            bytes,
            cuts
        ),
        host
    );
    let fit = FitModel::from_bytes(bytes)
        .ok()
        .map(|m| (m.blob().len(), m.blob().crc()));
    assert_eq!(
        stream(
            StreamValidator::with_capacities(SLOT, FitModel::CAPACITIES),
            bytes,
            cuts
        ),
        fit
    );
    let tight = TightModel::from_bytes(bytes)
        .ok()
        .map(|m| (m.blob().len(), m.blob().crc()));
    assert_eq!(
        stream(
            StreamValidator::with_capacities(SLOT, TightModel::CAPACITIES),
            bytes,
            cuts
        ),
        tight
    );
}

fuzz_target!(|data: &[u8]| {
    let storage = AlignedBytes::new(data);
    let bytes = storage.as_bytes();
    let declared = match bytes {
        [_, _, _, _, _, _, a, b, c, d, ..] => u32::from_le_bytes([*a, *b, *c, *d]) as usize,
        _ => bytes.len(),
    };
    let (blob, after) = bytes.split_at(declared.min(bytes.len()));
    let cuts = match after {
        [] => &bytes[bytes.len().saturating_sub(4)..],
        after => after,
    };
    compare(blob, cuts);
    if !after.is_empty() {
        compare(bytes, cuts);
    }
});
