//! Corrupt blobs are rejected with an error, never accepted and never a panic: every
//! truncation and more than 10,000 bit flips of the committed blobs.
//!
//! The blobs are the committed ones: the independent Python writer's goldens
//! (`tests/golden/`), the firmware parity set (`firmware-example/golden/`) and the firmware's
//! models (`firmware-example/models/`). A flash partition that lost its tail or took a few bit
//! errors must not turn into a model: the declared length catches truncation, and CRC-32
//! catches flips (every pattern of up to 3 flipped bits in blobs of this size, and all other
//! patterns but one in 2^32).

mod common;

use std::path::{Path, PathBuf};

use common::Rng;
use mdn_core::{Blob, Error, HostModel};

/// Random flips of one bit, over all blobs in turn.
const SINGLE_FLIPS: usize = 5_000;
/// Random flips of 2 to [`MAX_FLIPPED_BITS`] distinct bits, over all blobs in turn.
const MULTI_FLIPS: usize = 5_000;
/// The most bits one multi-bit flip changes.
const MAX_FLIPPED_BITS: u32 = 64;
/// Fixed seed: a failure reproduces exactly.
const SEED: u64 = 0x6D64_6E5F_666C_6970;

/// Bytes in `u32` words, so that they start at a 4-byte-aligned address as mdn-core
/// requires: an error in these tests is about the bytes, never [`Error::Misaligned`].
struct AlignedBytes {
    words: Vec<u32>,
    len: usize,
}

impl AlignedBytes {
    fn new(bytes: &[u8]) -> Self {
        let mut aligned = AlignedBytes {
            words: vec![0; bytes.len().div_ceil(4)],
            len: bytes.len(),
        };
        aligned.as_bytes_mut().copy_from_slice(bytes);
        aligned
    }

    fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.words)[..self.len]
    }

    fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut::<u32, u8>(&mut self.words)[..self.len]
    }
}

/// Every committed `.mdn` file, with its path for messages.
fn committed_blobs() -> Vec<(PathBuf, AlignedBytes)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut blobs = Vec::new();
    for dir in [
        "tests/golden",
        "firmware-example/golden",
        "firmware-example/models",
    ] {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
            .unwrap_or_else(|e| panic!("{dir}: {e}"))
            .map(|entry| entry.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "mdn"))
            .collect();
        paths.sort();
        for path in paths {
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
            blobs.push((path, AlignedBytes::new(&bytes)));
        }
    }
    assert!(
        blobs.len() >= 8,
        "expected the committed blobs, found {}",
        blobs.len()
    );
    for (path, bytes) in &blobs {
        // The premise: each blob is valid as committed, so every error below is the
        // corruption's doing.
        assert!(
            HostModel::from_bytes(bytes.as_bytes()).is_ok(),
            "{path:?} is not valid"
        );
    }
    blobs
}

#[test]
fn every_truncation_is_rejected() {
    for (path, bytes) in committed_blobs() {
        let bytes = bytes.as_bytes();
        for n in 0..bytes.len() {
            let prefix = &bytes[..n];
            // The magic and length are intact or missing, never wrong: what is left is
            // shorter than the prefix or than the declared length.
            let expected_truncated = |result: Result<(), Error>| match result {
                Err(Error::Truncated { found, .. }) => assert_eq!(found, n, "{path:?}[..{n}]"),
                other => panic!("{path:?}[..{n}]: expected Truncated, got {other:?}"),
            };
            expected_truncated(Blob::from_bytes(prefix).map(drop));
            expected_truncated(Blob::from_prefix(prefix).map(drop));
            expected_truncated(HostModel::from_bytes(prefix).map(drop));
            expected_truncated(HostModel::from_prefix(prefix).map(drop));
        }
    }
}

/// Flips `count` distinct random bits of `bytes`.
fn flip_bits(bytes: &mut [u8], count: u32, rng: &mut Rng) -> Vec<usize> {
    let bits = u32::try_from(bytes.len() * 8).expect("small blob");
    let mut flipped: Vec<usize> = Vec::new();
    while flipped.len() < count as usize {
        let bit = rng.int(0, bits - 1) as usize;
        if !flipped.contains(&bit) {
            flipped.push(bit);
            bytes[bit / 8] ^= 1 << (bit % 8);
        }
    }
    flipped
}

#[test]
fn random_bit_flips_are_rejected() {
    let blobs = committed_blobs();
    let mut rng = Rng(SEED);
    let mut by_checksum = 0;
    for i in 0..SINGLE_FLIPS + MULTI_FLIPS {
        let (path, original) = &blobs[i % blobs.len()];
        let count = if i < SINGLE_FLIPS {
            1
        } else {
            rng.int(2, MAX_FLIPPED_BITS)
        };
        let mut bytes = AlignedBytes::new(original.as_bytes());
        let flipped = flip_bits(bytes.as_bytes_mut(), count, &mut rng);
        let bytes = bytes.as_bytes();
        let blob = Blob::from_bytes(bytes);
        assert!(
            blob.is_err(),
            "{path:?} accepted with bits {flipped:?} flipped"
        );
        assert!(
            HostModel::from_bytes(bytes).is_err(),
            "{path:?} accepted as a model with bits {flipped:?} flipped"
        );
        assert!(
            Blob::from_prefix(bytes).is_err(),
            "{path:?}, bits {flipped:?}"
        );
        by_checksum += usize::from(matches!(blob, Err(Error::ChecksumMismatch { .. })));
    }
    // Most flips land in the body, where only the CRC can tell; the others hit the magic,
    // version or length.
    let tried = SINGLE_FLIPS + MULTI_FLIPS;
    assert!(
        by_checksum * 2 > tried,
        "{by_checksum} of {tried} caught by the CRC"
    );
}

#[test]
fn flips_of_every_bit_of_a_small_blob_are_rejected() {
    // Exhaustive where it is cheap: each single bit of the smallest golden blob.
    let (path, original) = committed_blobs()
        .into_iter()
        .min_by_key(|(_, b)| b.len)
        .expect("some blob");
    for bit in 0..original.len * 8 {
        let mut bytes = AlignedBytes::new(original.as_bytes());
        bytes.as_bytes_mut()[bit / 8] ^= 1 << (bit % 8);
        assert!(
            Blob::from_bytes(bytes.as_bytes()).is_err(),
            "{path:?}, bit {bit}"
        );
        assert!(
            HostModel::from_bytes(bytes.as_bytes()).is_err(),
            "{path:?}, bit {bit}"
        );
    }
}
