//! `StreamValidator` reaches the decision of `Blob::from_bytes` and `Model::from_bytes` on
//! every input, whatever the chunks, and rejects early where it promises to.
//!
//! Inputs: every committed blob (the goldens of the independent Python writer, the firmware
//! parity set and the firmware's models) split at every byte into two chunks, and in random
//! chunks; every truncation; random damage (bit flips, bytes inserted, removed and
//! overwritten, declared lengths rewritten, parameters set to NaN, infinities, zero and
//! negative values), with the CRC recomputed in most cases so that the checks behind it see
//! the damage; and crafted headers (long and multi-byte names, overlong varints, too many
//! hidden layers or storage codes). Each comparison is of the decision only: the error may
//! differ, since the validator checks the CRC last.

mod common;

use std::path::{Path, PathBuf};

use common::{RawHeader, Rng, fix_crc, raw_blob, set_declared_len};
use mdn_core::{
    Blob, Capacities, Dimension, Error, HostModel, Model, PREFIX_LEN, StreamValidator,
    StreamedBlob, TRAILER_LEN,
};

/// Fixed seed: a failure reproduces exactly.
const SEED: u64 = 0x7374_7265_616D_0001;
/// Random chunkings of each committed blob.
const CHUNKINGS_PER_BLOB: usize = 40;
/// Random damages over all committed blobs.
const DAMAGES: usize = 6_000;
/// A slot larger than any input here: the slot never decides in the comparisons.
const SLOT: usize = 1 << 20;

/// Bytes in `u32` words, so that they start at a 4-byte-aligned address as mdn-core
/// requires: `from_bytes` never fails with `Misaligned` here, which is a property of the
/// memory, not of the bytes (a firmware's flash slot is aligned).
struct AlignedBytes {
    words: Vec<u32>,
    len: usize,
}

impl AlignedBytes {
    fn new(bytes: &[u8]) -> Self {
        let mut words = vec![0_u32; bytes.len().div_ceil(4)];
        bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        AlignedBytes {
            words,
            len: bytes.len(),
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.words)[..self.len]
    }
}

/// Every committed `.mdn` file, with its path for messages.
fn committed_blobs() -> Vec<(PathBuf, Vec<u8>)> {
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
            blobs.push((path, bytes));
        }
    }
    assert!(
        blobs.len() >= 20,
        "expected the committed blobs, found {}",
        blobs.len()
    );
    blobs
}

/// The evaluators compared: the capacity-free decision and four model types (the fuzz
/// targets' three, and the firmware's `minimal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decider {
    Blob,
    Host,
    Fit,
    Tight,
    Minimal,
}

const DECIDERS: [Decider; 5] = [
    Decider::Blob,
    Decider::Host,
    Decider::Fit,
    Decider::Tight,
    Decider::Minimal,
];

impl Decider {
    fn validator(self, slot: usize) -> StreamValidator {
        match self {
            Decider::Blob => StreamValidator::new(slot),
            Decider::Host => StreamValidator::for_model::<512, 1024, 128, 16>(slot),
            Decider::Fit => StreamValidator::for_model::<4, 16, 6, 3>(slot),
            Decider::Tight => StreamValidator::for_model::<2, 8, 3, 2>(slot),
            Decider::Minimal => StreamValidator::for_model::<1, 32, 5, 1>(slot),
        }
    }

    /// The whole-blob decision, with its error.
    fn decide(self, bytes: &[u8]) -> Result<(), Error> {
        match self {
            Decider::Blob => Blob::from_bytes(bytes).map(drop),
            Decider::Host => HostModel::from_bytes(bytes).map(drop),
            Decider::Fit => Model::<4, 16, 6, 3>::from_bytes(bytes).map(drop),
            Decider::Tight => Model::<2, 8, 3, 2>::from_bytes(bytes).map(drop),
            Decider::Minimal => Model::<1, 32, 5, 1>::from_bytes(bytes).map(drop),
        }
    }
}

/// Feeds `bytes` in chunks ending at `cuts` (increasing, within `bytes`), then finishes;
/// stops feeding at the first refusal, as a firmware would.
fn stream(
    mut validator: StreamValidator,
    bytes: &[u8],
    cuts: &[usize],
) -> Result<StreamedBlob, Error> {
    let mut start = 0;
    for &cut in cuts.iter().chain([&bytes.len()]) {
        validator.feed(&bytes[start..cut])?;
        start = cut;
    }
    validator.finish()
}

/// Random cut points: chunks of 1 byte to a few hundred, and some empty.
fn random_cuts(len: usize, rng: &mut Rng) -> Vec<usize> {
    let mut cuts = Vec::new();
    let mut at = 0;
    let max_chunk = [1, 3, 7, 16, 64, 300][rng.int(0, 5) as usize];
    while at < len {
        at = (at + rng.int(0, max_chunk) as usize).min(len);
        cuts.push(at);
    }
    cuts
}

/// Asserts that every decider streams `bytes` in `cuts` to the decision of `from_bytes`;
/// returns whether the capacity-free decision accepted.
fn assert_same_decision(bytes: &[u8], cuts: &[usize], what: &dyn Fn() -> String) -> bool {
    let aligned = AlignedBytes::new(bytes);
    let bytes = aligned.as_bytes();
    let mut accepted = false;
    for decider in DECIDERS {
        let whole = decider.decide(bytes);
        let streamed = stream(decider.validator(SLOT), bytes, cuts);
        assert_eq!(
            streamed.is_ok(),
            whole.is_ok(),
            "{}: {decider:?} streamed {streamed:?}, from_bytes {whole:?}, cuts {cuts:?}",
            what()
        );
        if let Ok(streamed) = streamed {
            assert_eq!(streamed.len, bytes.len(), "{}", what());
            let blob = Blob::from_bytes(bytes).expect("accepted");
            assert_eq!(streamed.crc, blob.crc(), "{}", what());
            assert_eq!(Ok(streamed.required), blob.required_capacities());
        }
        accepted |= decider == Decider::Blob && whole.is_ok();
    }
    accepted
}

/// The split points tried for a blob of `len` bytes: every one, except in the middle of the
/// one committed blob above 8 KB (`wide_13x64x64_k5`, 24 KB), where every 61st, so that a
/// debug `cargo test` stays quick: its first 2 KB (prefix, header, padding and the start of
/// the parameters) and its last 1 KB are split at every byte. With `MDN_STREAM_ALL_SPLITS`
/// set, every one of that blob too (`scripts/check.sh` runs this test so, in release).
fn splits(len: usize) -> impl Iterator<Item = usize> {
    let all = std::env::var_os("MDN_STREAM_ALL_SPLITS").is_some();
    (0..=len).filter(move |&k| all || len <= 8192 || k < 2048 || k + 1024 > len || k % 61 == 0)
}

/// Also every truncation: the first chunk alone is refused by `from_bytes`, and by the
/// validator at `finish` only.
#[test]
fn every_committed_blob_split_anywhere_in_two() {
    for (path, bytes) in committed_blobs() {
        let aligned = AlignedBytes::new(&bytes);
        let bytes = aligned.as_bytes();
        let blob = Blob::from_bytes(bytes).expect("valid");
        for decider in DECIDERS {
            let whole = decider.decide(bytes);
            let streamed = stream(decider.validator(SLOT), bytes, &[bytes.len() / 3]);
            assert_eq!(streamed.is_ok(), whole.is_ok(), "{path:?} {decider:?}");
        }
        let expected = StreamedBlob {
            len: bytes.len(),
            crc: blob.crc(),
            required: blob.required_capacities().expect("sizes"),
        };
        for split in splits(bytes.len()) {
            let (head, tail) = bytes.split_at(split);
            let mut validator = StreamValidator::new(SLOT);
            assert_eq!(validator.feed(head), Ok(()), "{path:?} split at {split}");
            if split < bytes.len() {
                // Truncated there, the blob is refused by both, and only at the end.
                assert!(Blob::from_bytes(head).is_err());
                let truncated = Err(Error::Truncated {
                    expected: if split < PREFIX_LEN {
                        PREFIX_LEN + TRAILER_LEN
                    } else {
                        bytes.len()
                    },
                    found: split,
                });
                assert_eq!(validator.finish(), truncated, "{path:?} cut at {split}");
            }
            assert_eq!(validator.feed(tail), Ok(()), "{path:?} split at {split}");
            assert_eq!(
                validator.finish(),
                Ok(expected),
                "{path:?} split at {split}"
            );
        }
    }
}

#[test]
fn committed_blobs_in_random_chunks() {
    let mut rng = Rng(SEED);
    for (path, bytes) in committed_blobs() {
        for _ in 0..CHUNKINGS_PER_BLOB {
            let cuts = random_cuts(bytes.len(), &mut rng);
            assert!(assert_same_decision(&bytes, &cuts, &|| format!("{path:?}")));
        }
        // One byte at a time.
        let cuts: Vec<usize> = (1..bytes.len()).collect();
        assert!(assert_same_decision(&bytes, &cuts, &|| format!(
            "{path:?} bytewise"
        )));
    }
}

/// The byte range of a committed blob's parameter section.
fn parameter_range(bytes: &[u8]) -> std::ops::Range<usize> {
    let aligned = AlignedBytes::new(bytes);
    let blob = Blob::from_bytes(aligned.as_bytes()).expect("valid");
    let words = blob.parameters().len();
    let end = bytes.len() - TRAILER_LEN;
    end - 4 * words..end
}

/// Damage of one kind to a valid blob.
fn damage(original: &[u8], rng: &mut Rng) -> (Vec<u8>, String) {
    let mut bytes = original.to_vec();
    let len = bytes.len();
    let params = parameter_range(original);
    let kind = rng.int(0, 9);
    let what = match kind {
        0 => {
            let count = rng.int(1, 4);
            for _ in 0..count {
                let bit = rng.int(0, (len * 8 - 1) as u32) as usize;
                bytes[bit / 8] ^= 1 << (bit % 8);
            }
            format!("{count} bits flipped")
        }
        1 => {
            let at = rng.int(0, (len - 1) as u32) as usize;
            bytes[at] = rng.next_u64() as u8;
            format!("byte {at} overwritten")
        }
        2 => {
            // In the header, where most damage decodes to another header.
            let at = rng.int(PREFIX_LEN as u32, (params.start - 1) as u32) as usize;
            bytes[at] = [0, 1, 2, 3, 0x0A, 0x7F, 0x80, 0xFF][rng.int(0, 7) as usize];
            format!("header byte {at} set")
        }
        3 => {
            let word = rng.int(0, ((params.len() / 4) - 1) as u32) as usize;
            let value = [
                f32::NAN,
                f32::INFINITY,
                f32::NEG_INFINITY,
                0.0,
                -0.0,
                -1.0,
                1.0,
                0.5,
                1e-30,
            ][rng.int(0, 8) as usize];
            let bits = if rng.int(0, 3) == 0 {
                // A NaN or an infinity in either half, for f16 weights.
                [0x7C00_u32, 0xFC00_0000, 0x7E00_7E00, 0x3C00][rng.int(0, 3) as usize]
            } else {
                value.to_bits()
            };
            let at = params.start + 4 * word;
            bytes[at..at + 4].copy_from_slice(&bits.to_le_bytes());
            format!("parameter word {word} set to {bits:#010x}")
        }
        4 => {
            let n = rng.int(0, (len - 1) as u32) as usize;
            bytes.truncate(n);
            format!("truncated to {n}")
        }
        5 => {
            let extra = rng.int(1, 9) as usize;
            bytes.extend((0..extra).map(|_| rng.next_u64() as u8));
            format!("{extra} bytes appended")
        }
        6 => {
            let at = rng.int(PREFIX_LEN as u32, (len - 1) as u32) as usize;
            let count = rng.int(1, 8) as usize;
            for _ in 0..count {
                bytes.insert(at, rng.next_u64() as u8);
            }
            format!("{count} bytes inserted at {at}")
        }
        7 => {
            let at = rng.int(PREFIX_LEN as u32, (len - 2) as u32) as usize;
            let count = rng.int(1, 8).min((len - at - 1) as u32) as usize;
            bytes.drain(at..at + count);
            format!("{count} bytes removed at {at}")
        }
        8 => {
            let declared = match rng.int(0, 3) {
                0 => rng.int(0, 20),
                1 => (len as u32).wrapping_add(rng.int(0, 8)).wrapping_sub(4),
                2 => u32::MAX - rng.int(0, 3),
                _ => rng.next_u64() as u32,
            };
            bytes[6..10].copy_from_slice(&declared.to_le_bytes());
            format!("declared length {declared}")
        }
        _ => {
            // The magic or the version.
            let at = rng.int(0, 5) as usize;
            bytes[at] ^= 1 << rng.int(0, 7);
            format!("prefix byte {at} flipped")
        }
    };
    // The CRC recomputed 7 times in 8, so that the checks behind it see the damage; after
    // an insertion or removal the declared length too, half the time.
    let fix = rng.int(0, 7) != 0 && bytes.len() >= PREFIX_LEN + TRAILER_LEN;
    if fix && matches!(kind, 6 | 7) && rng.int(0, 1) == 0 {
        set_declared_len(&mut bytes);
    } else if fix {
        fix_crc(&mut bytes);
    }
    (bytes, format!("{what}, CRC fixed: {fix}"))
}

#[test]
fn damaged_blobs_in_random_chunks() {
    let blobs = committed_blobs();
    let mut rng = Rng(SEED ^ 2);
    let mut accepted = 0;
    let mut errors = std::collections::HashSet::new();
    for i in 0..DAMAGES {
        let (path, original) = &blobs[i % blobs.len()];
        let (bytes, what) = damage(original, &mut rng);
        let cuts = random_cuts(bytes.len(), &mut rng);
        accepted += usize::from(assert_same_decision(&bytes, &cuts, &|| {
            format!("{path:?}: {what}")
        }));
        if let Err(e) = Blob::from_bytes(AlignedBytes::new(&bytes).as_bytes()) {
            errors.insert(std::mem::discriminant(&e));
        }
    }
    // The damage reaches both decisions and many checks, so a validator that always
    // accepts, or always refuses, or skips a check, fails here.
    assert!(
        accepted > DAMAGES / 50,
        "{accepted} of {DAMAGES} damaged blobs valid"
    );
    assert!(
        accepted < DAMAGES / 2,
        "{accepted} of {DAMAGES} damaged blobs valid"
    );
    assert!(
        errors.len() >= 12,
        "only {} kinds of error reached",
        errors.len()
    );
}

/// The index of the byte whose feeding (one byte at a time) is refused, if any.
fn refused_at(validator: StreamValidator, bytes: &[u8]) -> Option<usize> {
    let mut validator = validator;
    (0..bytes.len()).find(|&i| validator.feed(&bytes[i..i + 1]).is_err())
}

#[test]
fn refusals_come_as_early_as_promised() {
    for (path, original) in committed_blobs() {
        let len = original.len();
        let params = parameter_range(&original);
        let at = |bytes: &[u8]| refused_at(StreamValidator::new(SLOT), bytes);

        // Each byte of the magic, at that byte.
        for i in 0..4 {
            let mut bytes = original.clone();
            bytes[i] ^= 0x20;
            assert_eq!(at(&bytes), Some(i), "{path:?}: magic byte {i}");
        }
        // The version, at its second byte.
        let mut bytes = original.clone();
        bytes[4] = 3;
        assert_eq!(at(&bytes), Some(5), "{path:?}: version");
        // A declared length beyond the slot, or below the minimum, at its last byte.
        assert_eq!(
            refused_at(StreamValidator::new(len - 1), &original),
            Some(9)
        );
        let mut bytes = original.clone();
        bytes[6..10].copy_from_slice(&13_u32.to_le_bytes());
        assert_eq!(at(&bytes), Some(9), "{path:?}: declared length 13");
        // Capacities, before the header's end (the header starts with its sizes).
        let none = Capacities {
            inputs: 1,
            width: 1,
            components: 1,
            outputs: 1,
        };
        let header_end = params.start - 3;
        let refused = refused_at(StreamValidator::with_capacities(SLOT, none), &original);
        let too_big = Blob::from_bytes(AlignedBytes::new(&original).as_bytes())
            .expect("valid")
            .required_capacities()
            .expect("sizes")
            .fits(&none)
            .is_err();
        assert_eq!(refused.is_some(), too_big, "{path:?}");
        if let Some(refused) = refused {
            assert!(refused < header_end, "{path:?}: capacities at {refused}");
        }
        // A NaN parameter (CRC fixed), at the last byte of its word.
        for word in [0, params.len() / 8, params.len() / 4 - 1] {
            let mut bytes = original.clone();
            let start = params.start + 4 * word;
            bytes[start..start + 4].copy_from_slice(&f32::NAN.to_le_bytes());
            fix_crc(&mut bytes);
            assert_eq!(at(&bytes), Some(start + 3), "{path:?}: NaN word {word}");
        }
        // A change only the CRC sees, at the trailer's last byte.
        let mut bytes = original.clone();
        bytes[params.end - 1] ^= 0x01;
        assert!(Blob::from_bytes(AlignedBytes::new(&bytes).as_bytes()).is_err());
        assert_eq!(at(&bytes), Some(len - 1), "{path:?}: CRC");
        // A byte more than declared, at once.
        let mut bytes = original.clone();
        bytes.push(0);
        assert_eq!(at(&bytes), Some(len), "{path:?}: trailing byte");
    }
}

#[test]
fn the_slot_bounds_what_is_fed() {
    let (_, bytes) = committed_blobs().remove(0);
    // A chunk that would overflow the slot is refused before the length is known.
    let mut validator = StreamValidator::new(6);
    assert_eq!(
        validator.feed(&bytes[..7]),
        Err(Error::BufferTooSmall {
            expected: 7,
            found: 6
        })
    );
    assert_eq!(validator.received(), 0);
    // A chunk longer than the declared blob is refused whole.
    let mut validator = StreamValidator::new(SLOT);
    let mut longer = bytes.clone();
    longer.push(0xFF);
    assert!(matches!(
        validator.feed(&longer),
        Err(Error::TrailingBytes { .. })
    ));
    assert_eq!(validator.received(), 0);
    // A slot of exactly the blob's length takes it.
    let mut validator = StreamValidator::new(bytes.len());
    assert_eq!(validator.feed(&bytes), Ok(()));
    assert_eq!(validator.finish().map(|s| s.len), Ok(bytes.len()));
    // After a refusal, the same error every time.
    let mut validator = StreamValidator::new(SLOT);
    assert_eq!(validator.feed(b"MDX"), Err(Error::BadMagic));
    assert_eq!(validator.feed(&bytes), Err(Error::BadMagic));
    assert_eq!(validator.finish(), Err(Error::BadMagic));
}

#[test]
fn capacities_are_refused_as_model_refuses_them() {
    for (path, bytes) in committed_blobs() {
        let aligned = AlignedBytes::new(&bytes);
        let whole = Model::<2, 8, 3, 2>::from_bytes(aligned.as_bytes()).map(drop);
        let streamed = stream(
            StreamValidator::for_model::<2, 8, 3, 2>(SLOT),
            &bytes,
            &[17],
        )
        .map(drop);
        // Both refuse for the first dimension that does not fit.
        if let Err(e @ Error::CapacityExceeded { .. }) = whole {
            assert_eq!(streamed, Err(e), "{path:?}");
        } else {
            assert_eq!(streamed, whole, "{path:?}");
        }
    }
    let _ = Dimension::Inputs;
}

/// Parameters for a raw header of the tiny shape (1 input, no hidden layer, K = D = M = 1):
/// scalers, network weight, calibration, heads (3 rows x 8-row block + 3 biases).
fn tiny_parameters() -> Vec<f32> {
    let mut p = vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
    p.extend([0.0; 8]);
    p.extend([0.0, 0.0, 0.5]);
    p
}

#[test]
fn crafted_headers_decide_as_from_bytes() {
    let mut rng = Rng(SEED ^ 3);
    let mut headers: Vec<(String, Vec<u8>)> = Vec::new();
    let base = RawHeader::tiny();
    headers.push(("tiny".into(), base.encode()));
    // Names longer than any buffer, multi-byte characters, separators, bad UTF-8.
    for (what, name) in [
        ("long name", vec![b'x'; 1000]),
        (
            "multi-byte",
            "\u{e9}t\u{e9} \u{1F600} \u{4E2D}".as_bytes().to_vec(),
        ),
        ("two names", b"a\nb".to_vec()),
        ("empty", Vec::new()),
        ("bad utf-8", vec![b'a', 0xC3, 0x28]),
        ("cut character", vec![b'a', 0xE2, 0x82]),
        ("surrogate", vec![0xED, 0xA0, 0x80]),
        ("overlong", vec![0xC0, 0xAF]),
        ("too high", vec![0xF4, 0x90, 0x80, 0x80]),
    ] {
        let mut header = base.clone();
        header.feature_names = name.clone();
        headers.push((format!("features: {what}"), header.encode()));
        let mut header = base.clone();
        header.target_names = name;
        headers.push((format!("targets: {what}"), header.encode()));
    }
    // Storage codes and hidden layers beyond the format's maxima, and unknown codes.
    for n in [0, 2, 9, 10, 40, 200] {
        let mut header = base.clone();
        header.storage = vec![0; n];
        headers.push((format!("{n} storage codes"), header.encode()));
        let mut header = base.clone();
        header.hidden = vec![1; n];
        headers.push((format!("{n} hidden layers"), header.encode()));
    }
    for code in [1, 2, 3, 255] {
        let mut header = base.clone();
        header.activation = code;
        headers.push((format!("activation {code}"), header.encode()));
        let mut header = base.clone();
        header.storage = vec![code];
        headers.push((format!("storage {code}"), header.encode()));
    }
    // Overlong varints: a size written in more bytes than it needs, up to postcard's limits.
    let mut overlong = Vec::new();
    for extra in 0..=10 {
        let mut varint = vec![0x81_u8];
        varint.extend(std::iter::repeat_n(0x80, extra));
        varint.push(0x00);
        overlong.push(varint);
    }
    for varint in &overlong {
        let encoded = base.encode();
        // input_dim is the first byte (1); the hidden count is byte 4 (0); the first
        // name's length is the byte before `x`.
        let mut header = varint.clone();
        header.extend_from_slice(&encoded[1..]);
        headers.push((format!("input_dim as {} bytes", varint.len()), header));
        let mut zero = varint.clone();
        zero[0] = 0x80;
        let mut header = encoded[..4].to_vec();
        header.extend_from_slice(&zero);
        header.extend_from_slice(&encoded[5..]);
        headers.push((format!("hidden count as {} bytes", zero.len()), header));
        let name_at = encoded.len() - 5;
        assert_eq!(encoded[name_at], 1);
        let mut header = encoded[..name_at].to_vec();
        header.extend_from_slice(varint);
        header.extend_from_slice(&encoded[name_at + 1..]);
        headers.push((format!("name length as {} bytes", varint.len()), header));
    }
    let mut accepted = 0;
    for (what, header) in &headers {
        let bytes = raw_blob(header, &tiny_parameters());
        for split in 0..=bytes.len() {
            accepted += usize::from(assert_same_decision(&bytes, &[split], &|| {
                format!("{what}, split at {split}")
            }));
        }
        for _ in 0..20 {
            let cuts = random_cuts(bytes.len(), &mut rng);
            assert_same_decision(&bytes, &cuts, &|| what.clone());
        }
    }
    assert!(accepted > 0);
}

/// Every file of the fuzz corpora and seeds (`fuzz/corpus/*`, `fuzz/seeds`), read as a blob:
/// whole, and cut at its declared length where that is shorter (a `from_bytes` input
/// followed by query bytes), each fed whole, in 7-byte chunks and in random chunks.
#[test]
fn every_fuzz_corpus_file_is_decided_alike() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mut files = Vec::new();
    for dir in [
        "corpus/from_bytes",
        "corpus/structured",
        "corpus/stream",
        "seeds",
    ] {
        for entry in std::fs::read_dir(fuzz.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}")) {
            files.push(entry.expect("directory entry").path());
        }
    }
    files.sort();
    assert!(
        files.len() > 1_000,
        "expected the fuzz corpora, found {}",
        files.len()
    );
    let mut rng = Rng(SEED ^ 0xF022);
    let mut accepted = 0;
    for path in &files {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        let declared = bytes
            .get(6..PREFIX_LEN)
            .map(|len| u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize);
        let mut inputs = vec![&bytes[..]];
        if let Some(prefix) = declared.and_then(|len| bytes.get(..len)) {
            inputs.push(prefix);
        }
        for input in inputs {
            let what = || format!("{path:?} ({} bytes)", input.len());
            let sevens: Vec<usize> = (7..input.len()).step_by(7).collect();
            for cuts in [Vec::new(), sevens, random_cuts(input.len(), &mut rng)] {
                accepted += usize::from(assert_same_decision(input, &cuts, &what));
            }
        }
    }
    // The seeds and the corpora's valid blobs: both decisions occur.
    assert!(accepted > 0, "no corpus file was a valid blob");
}
