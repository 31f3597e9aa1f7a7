//! Every variant of `mdn_core::Error` is reached through the public API, blob errors come in
//! the order FORMAT.md section 4 lists (with `Misaligned`, which FORMAT.md does not list,
//! between the parameter section's size and its values), and every message is a lowercase
//! phrase.
//!
//! Invalid blobs are crafted byte by byte with a recomputed CRC, so that the check under test
//! (and not the checksum) is the one that rejects them.

mod common;

use common::{RawHeader, fix_crc, raw_blob, set_declared_len, tiny_blob, tiny_header};
use mdn_core::{
    Activation, Blob, CodedField, Dimension, Error, Header, HiddenWidths, HostModel, Layout,
    Mixture, Model, Names, SigmaTransform, Storage, TargetTransform, crc32, encode, encoded_len,
};

/// Parameters of the tiny model in logical order (what `encode` takes): input scaler
/// (offset, scale), target scaler (offset, scale), the one network's log weight, the
/// calibration (sigma scale, temperature), then logits, means and sigmas (weight, bias each).
const TINY: [f32; 13] = [
    0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25,
];
/// The same as stored (FORMAT.md section 3): the shared tensors, then the heads as one layer
/// of three rows padded to a block of eight (the logit, mean and sigma weights, five zero
/// rows), then its three biases.
const TINY_STORED: [f32; 18] = [
    0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.25, 0.25, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.25, 0.25,
];
/// Length of the tiny blob: 10 prefix + 19 header + 3 padding + 72 parameters + 4 CRC.
const TINY_LEN: usize = 108;
/// Offset of the tiny blob's first padding byte.
const TINY_PADDING: usize = 29;

fn blob_err(bytes: &[u8]) -> Error {
    Blob::from_bytes(bytes).expect_err("blob must be rejected")
}

fn raw_err(header: &RawHeader, parameters: &[f32]) -> Error {
    blob_err(&raw_blob(&header.encode(), parameters))
}

fn with_version(version: u16) -> Vec<u8> {
    let mut bytes = tiny_blob();
    bytes[4..6].copy_from_slice(&version.to_le_bytes());
    fix_crc(&mut bytes);
    bytes
}

fn with_declared_len(declared: u32) -> Vec<u8> {
    let mut bytes = tiny_blob();
    bytes[6..10].copy_from_slice(&declared.to_le_bytes());
    bytes
}

#[test]
fn crafting_helpers_reproduce_the_writer() {
    // The byte-level helpers below are only meaningful if they write what `encode` writes.
    let bytes = tiny_blob();
    assert_eq!(bytes.len(), TINY_LEN);
    assert_eq!(raw_blob(&RawHeader::tiny().encode(), &TINY_STORED), bytes);
    assert_eq!(bytes[TINY_PADDING], 0);
    assert!(HostModel::from_bytes(&bytes).is_ok());
}

#[test]
fn bad_magic() {
    assert_eq!(blob_err(b"nope"), Error::BadMagic);
    let mut bytes = tiny_blob();
    bytes[0] = b'X';
    assert_eq!(blob_err(&bytes), Error::BadMagic);
    // Erased flash: no blob was ever written.
    let erased = [0xFF_u8; 256];
    assert_eq!(
        HostModel::from_prefix(&erased).unwrap_err(),
        Error::BadMagic
    );
}

#[test]
fn unsupported_version() {
    // Versions 1 (single networks, no network count) and 2 (weights row-major) are refused:
    // their blobs must be re-exported.
    for version in [0, 1, 2, 3, 5, u16::MAX] {
        assert_eq!(
            blob_err(&with_version(version)),
            Error::UnsupportedVersion { found: version }
        );
    }
}

#[test]
fn truncated_prefix() {
    // Shorter than prefix + trailer: nothing can be read, whatever part of the prefix is there.
    let bytes = tiny_blob();
    for n in 0..14 {
        let err = blob_err(&bytes[..n]);
        assert!(
            matches!(err, Error::Truncated { found, .. } if found == n),
            "{n} bytes: {err:?}"
        );
    }
    assert_eq!(
        blob_err(&bytes[..4]),
        Error::Truncated {
            expected: 14,
            found: 4
        }
    );
}

#[test]
fn truncated_declared_longer_than_given() {
    let bytes = tiny_blob();
    for n in 10..TINY_LEN {
        assert_eq!(
            blob_err(&bytes[..n]),
            Error::Truncated {
                expected: TINY_LEN,
                found: n
            }
        );
        assert_eq!(
            Blob::from_prefix(&bytes[..n]).unwrap_err(),
            Error::Truncated {
                expected: TINY_LEN,
                found: n
            }
        );
    }
}

#[test]
fn invalid_length() {
    for declared in [0, 1, 13] {
        assert_eq!(
            blob_err(&with_declared_len(declared)),
            Error::InvalidLength { declared }
        );
    }
    // 14 is the smallest valid declaration; such a blob has no header to decode.
    assert_eq!(
        blob_err(&with_declared_len(14)),
        Error::TrailingBytes {
            expected: 14,
            found: TINY_LEN
        }
    );
}

#[test]
fn trailing_bytes_and_from_prefix() {
    let bytes = tiny_blob();
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(
        blob_err(&longer),
        Error::TrailingBytes {
            expected: TINY_LEN,
            found: TINY_LEN + 1
        }
    );

    // A blob at the start of an erased flash partition: the rest is returned, untouched.
    let mut partition = bytes.clone();
    partition.resize(4096, 0xFF);
    let (model, rest) = HostModel::from_prefix(&partition).unwrap();
    assert_eq!(rest.len(), 4096 - TINY_LEN);
    assert!(rest.iter().all(|&b| b == 0xFF));
    let exact = HostModel::from_bytes(&bytes).unwrap();
    assert_eq!(
        model.log_prob(&[0.3], &[0.1]).unwrap().to_bits(),
        exact.log_prob(&[0.3], &[0.1]).unwrap().to_bits()
    );
    let (blob, rest) = Blob::from_prefix(&partition).unwrap();
    assert_eq!((blob.len(), rest.len()), (TINY_LEN, 4096 - TINY_LEN));

    // Two blobs back to back: the rest is the second one.
    let twice = [bytes.as_slice(), bytes.as_slice()].concat();
    let (_, rest) = Blob::from_prefix(&twice).unwrap();
    assert_eq!(rest, bytes.as_slice());
    assert!(Blob::from_bytes(rest).is_ok());
}

#[test]
fn checksum_mismatch() {
    let bytes = tiny_blob();
    let stored = u32::from_le_bytes(bytes[TINY_LEN - 4..].try_into().unwrap());
    let mut corrupt = bytes.clone();
    corrupt[40] ^= 0x01;
    assert_eq!(
        blob_err(&corrupt),
        Error::ChecksumMismatch {
            stored,
            computed: crc32(&corrupt[..TINY_LEN - 4])
        }
    );
    let mut corrupt = bytes;
    corrupt[TINY_LEN - 1] ^= 0x80;
    assert_eq!(
        blob_err(&corrupt),
        Error::ChecksumMismatch {
            stored: stored ^ 0x8000_0000,
            computed: stored
        }
    );
}

#[test]
fn header_decode() {
    // Nothing but prefix and trailer.
    let mut empty = vec![0; 14];
    empty[..4].copy_from_slice(&mdn_core::MAGIC);
    empty[4..6].copy_from_slice(&mdn_core::FORMAT_VERSION.to_le_bytes());
    set_declared_len(&mut empty);
    assert_eq!(blob_err(&empty), Error::HeaderDecode);

    // The header ends inside the sigma floor.
    let header = RawHeader::tiny().encode();
    assert_eq!(blob_err(&raw_blob(&header[..8], &[])), Error::HeaderDecode);

    // More hidden layers than the format allows (MAX_HIDDEN_LAYERS = 8).
    let mut nine = RawHeader::tiny();
    nine.hidden = vec![1; 9];
    assert_eq!(raw_err(&nine, &[]), Error::HeaderDecode);

    // Names that are not UTF-8.
    let mut latin1 = RawHeader::tiny();
    latin1.feature_names = vec![b'x', 0xE9];
    assert_eq!(raw_err(&latin1, &TINY_STORED), Error::HeaderDecode);

    // A varint that does not fit u32 (2^35 - 1).
    let mut wide = vec![0xFF, 0xFF, 0xFF, 0xFF, 0x7F];
    wide.extend_from_slice(&header[1..]);
    assert_eq!(
        blob_err(&raw_blob(&wide, &TINY_STORED)),
        Error::HeaderDecode
    );
}

#[test]
fn unknown_code_for_each_field() {
    let cases = [
        (CodedField::Activation, 2, 255),
        (CodedField::SigmaTransform, 3, 255),
        (CodedField::TargetTransform, 2, 255),
        (CodedField::Storage, 5, 255),
    ];
    for (field, first_unknown, last) in cases {
        for code in [first_unknown, last] {
            let mut raw = RawHeader::tiny();
            match field {
                CodedField::Activation => raw.activation = code,
                CodedField::SigmaTransform => raw.sigma = code,
                CodedField::TargetTransform => raw.target_transform = code,
                CodedField::Storage => raw.storage = vec![code],
            }
            assert_eq!(
                raw_err(&raw, &TINY_STORED),
                Error::UnknownCode { field, code }
            );
        }
    }
    // The typed conversions report the same.
    assert_eq!(
        Activation::try_from(2),
        Err(Error::UnknownCode {
            field: CodedField::Activation,
            code: 2
        })
    );
    assert_eq!(
        SigmaTransform::try_from(3),
        Err(Error::UnknownCode {
            field: CodedField::SigmaTransform,
            code: 3
        })
    );
    assert_eq!(
        TargetTransform::try_from(2),
        Err(Error::UnknownCode {
            field: CodedField::TargetTransform,
            code: 2
        })
    );
}

#[test]
fn empty_dimension() {
    let mut raw = RawHeader::tiny();
    raw.input_dim = 0;
    assert_eq!(
        raw_err(&raw, &TINY_STORED),
        Error::EmptyDimension {
            what: Dimension::Inputs
        }
    );
    let mut raw = RawHeader::tiny();
    raw.output_dim = 0;
    assert_eq!(
        raw_err(&raw, &TINY_STORED),
        Error::EmptyDimension {
            what: Dimension::Outputs
        }
    );
    let mut raw = RawHeader::tiny();
    raw.components = 0;
    assert_eq!(
        raw_err(&raw, &TINY_STORED),
        Error::EmptyDimension {
            what: Dimension::Components
        }
    );
    let mut raw = RawHeader::tiny();
    raw.networks = 0;
    assert_eq!(
        raw_err(&raw, &TINY_STORED),
        Error::EmptyDimension {
            what: Dimension::Networks
        }
    );
    let mut raw = RawHeader::tiny();
    raw.hidden = vec![3, 0];
    assert_eq!(
        raw_err(&raw, &TINY_STORED),
        Error::EmptyDimension {
            what: Dimension::HiddenWidth
        }
    );

    // The writer refuses to write such a header in the first place.
    let mut header = tiny_header();
    header.components = 0;
    assert_eq!(
        encoded_len(&header),
        Err(Error::EmptyDimension {
            what: Dimension::Components
        })
    );
    assert_eq!(
        encode(&header, &[], &mut [0; 128]),
        Err(Error::EmptyDimension {
            what: Dimension::Components
        })
    );
}

#[test]
fn capacity_exceeded_for_each_dimension() {
    let header = common::header(
        3,
        &[6],
        Activation::Tanh,
        SigmaTransform::Softplus,
        0.0,
        4,
        2,
        TargetTransform::Identity,
    );
    let bytes = common::blob(&header, &common::filled(&header, 1.0));
    assert!(Model::<3, 6, 4, 2>::from_bytes(&bytes).is_ok());
    let exceeded = |what, found, max| Error::CapacityExceeded { what, found, max };
    assert_eq!(
        Model::<2, 8, 8, 8>::from_bytes(&bytes).unwrap_err(),
        exceeded(Dimension::Inputs, 3, 2)
    );
    assert_eq!(
        Model::<4, 5, 8, 8>::from_bytes(&bytes).unwrap_err(),
        exceeded(Dimension::HiddenWidth, 6, 5)
    );
    assert_eq!(
        Model::<4, 8, 3, 8>::from_bytes(&bytes).unwrap_err(),
        exceeded(Dimension::Components, 4, 3)
    );
    assert_eq!(
        Model::<4, 8, 8, 1>::from_bytes(&bytes).unwrap_err(),
        exceeded(Dimension::Outputs, 2, 1)
    );
    // An ensemble's mixture holds every network's components: 2 networks of 4 need 8.
    let ensemble = Header {
        networks: 2,
        ..header.clone()
    };
    let bytes = common::blob(&ensemble, &common::filled(&ensemble, 1.0));
    assert!(Model::<3, 6, 8, 2>::from_bytes(&bytes).is_ok());
    assert_eq!(
        Model::<3, 6, 7, 2>::from_bytes(&bytes).unwrap_err(),
        exceeded(Dimension::Components, 8, 7)
    );
    // A model without hidden layers needs no hidden width at all.
    let tiny = tiny_blob();
    let model = Model::<1, 0, 1, 1>::from_bytes(&tiny).unwrap();
    assert!(model.log_prob(&[1.0], &[0.5]).unwrap().is_finite());

    // Mixtures have capacities too.
    assert_eq!(
        Mixture::<1, 1>::new(
            &[0.0, 0.0],
            &[0.0, 0.0],
            &[1.0, 1.0],
            1,
            TargetTransform::Identity
        )
        .unwrap_err(),
        exceeded(Dimension::Components, 2, 1)
    );
    assert_eq!(
        Mixture::<1, 1>::new(
            &[0.0],
            &[0.0, 0.0],
            &[1.0, 1.0],
            2,
            TargetTransform::Identity
        )
        .unwrap_err(),
        exceeded(Dimension::Outputs, 2, 1)
    );
}

#[test]
fn name_count() {
    let mut raw = RawHeader::tiny();
    raw.feature_names = b"a\nb".to_vec();
    assert_eq!(
        raw_err(&raw, &TINY_STORED),
        Error::NameCount {
            what: Dimension::Inputs,
            expected: 1,
            found: 2
        }
    );
    let mut raw = RawHeader::tiny();
    raw.output_dim = 2;
    assert_eq!(
        raw_err(&raw, &TINY_STORED),
        Error::NameCount {
            what: Dimension::Outputs,
            expected: 2,
            found: 1
        }
    );
    let mut header = tiny_header();
    header.target_names = Names::new("y\n");
    assert_eq!(
        encoded_len(&header),
        Err(Error::NameCount {
            what: Dimension::Outputs,
            expected: 1,
            found: 2
        })
    );
}

#[test]
fn invalid_sigma_floor() {
    for floor in [-1.0, -f32::MIN_POSITIVE, f32::NAN, f32::INFINITY] {
        let mut raw = RawHeader::tiny();
        raw.sigma_floor = floor;
        assert_eq!(
            raw_err(&raw, &TINY_STORED),
            Error::InvalidSigmaFloor,
            "{floor}"
        );
        let mut header = tiny_header();
        header.sigma_floor = floor;
        assert_eq!(encoded_len(&header), Err(Error::InvalidSigmaFloor));
    }
    // Zero of either sign is a valid floor (`-0.0 >= 0.0`).
    let mut raw = RawHeader::tiny();
    raw.sigma_floor = -0.0;
    assert!(Blob::from_bytes(&raw_blob(&raw.encode(), &TINY_STORED)).is_ok());
}

#[test]
fn size_overflow() {
    // Hidden widths have no names to count, so a crafted header can declare 2^64 weights:
    // (2^32 - 1)^2 weights times 4 bytes overflows even a 64-bit usize. The blob itself is
    // tiny: the size arithmetic must fail before any parameter is looked at.
    let mut raw = RawHeader::tiny();
    raw.hidden = vec![u32::MAX, u32::MAX];
    raw.storage = vec![0; 3];
    let bytes = raw_blob(&raw.encode(), &[]);
    assert!(bytes.len() < 64);
    assert_eq!(blob_err(&bytes), Error::SizeOverflow);

    let mut raw = RawHeader::tiny();
    raw.hidden = vec![u32::MAX];
    raw.storage = vec![0; 2];
    raw.components = u32::MAX;
    assert_eq!(raw_err(&raw, &TINY_STORED), Error::SizeOverflow);

    // The same through the typed API.
    let mut header = tiny_header();
    header.hidden = HiddenWidths::from_slice(&[u32::MAX, u32::MAX]).unwrap();
    header.storage = Storage::uniform(Storage::F32, 2);
    assert_eq!(Layout::new(&header), Err(Error::SizeOverflow));
    assert_eq!(encoded_len(&header), Err(Error::SizeOverflow));

    // Large but representable: the size check, not an allocation, rejects it.
    let mut raw = RawHeader::tiny();
    raw.hidden = vec![100_000, 100_000];
    raw.storage = vec![0; 3];
    assert!(matches!(
        raw_err(&raw, &TINY_STORED),
        Error::ParameterSizeMismatch { found: 72, .. }
    ));
}

#[test]
fn size_overflow_from_a_blob_too_large_for_the_format() {
    // 2^30 parameters are 4 GiB: representable in usize on the host, but the declared
    // length is a u32, so the writer cannot produce such a blob.
    let mut header = tiny_header();
    header.hidden = HiddenWidths::from_slice(&[32_768, 32_768]).unwrap();
    header.storage = Storage::uniform(Storage::F32, 2);
    assert!(Layout::new(&header).is_ok());
    assert_eq!(encoded_len(&header), Err(Error::SizeOverflow));
}

#[test]
fn non_zero_padding() {
    let mut bytes = tiny_blob();
    bytes[TINY_PADDING] = 1;
    fix_crc(&mut bytes);
    assert_eq!(blob_err(&bytes), Error::NonZeroPadding);
}

#[test]
fn parameter_size_mismatch() {
    let header = RawHeader::tiny().encode();
    assert_eq!(
        blob_err(&raw_blob(&header, &TINY_STORED[..9])),
        Error::ParameterSizeMismatch {
            expected: 72,
            found: 36
        }
    );
    assert_eq!(
        blob_err(&raw_blob(
            &header,
            &[TINY_STORED.as_slice(), &[1.0]].concat()
        )),
        Error::ParameterSizeMismatch {
            expected: 72,
            found: 76
        }
    );
    // Not a whole number of words.
    let mut ragged = tiny_blob();
    ragged.splice(TINY_LEN - 4..TINY_LEN - 4, [0, 0]);
    set_declared_len(&mut ragged);
    assert_eq!(
        blob_err(&ragged),
        Error::ParameterSizeMismatch {
            expected: 72,
            found: 74
        }
    );
    // The blob ends before the padding does.
    let mut short = tiny_blob()[..TINY_PADDING].to_vec();
    short.extend_from_slice(&[0; 4]);
    set_declared_len(&mut short);
    assert_eq!(
        blob_err(&short),
        Error::ParameterSizeMismatch {
            expected: 72,
            found: 0
        }
    );
    // The writer checks the count it is given.
    assert_eq!(
        encode(&tiny_header(), &TINY[..9], &mut [0; 128]),
        Err(Error::ParameterSizeMismatch {
            expected: 52,
            found: 36
        })
    );
    // So does `Mixture::new`.
    assert_eq!(
        Mixture::<2, 2>::new(&[0.0], &[0.0], &[1.0, 1.0], 2, TargetTransform::Identity)
            .unwrap_err(),
        Error::ParameterSizeMismatch {
            expected: 8,
            found: 4
        }
    );
}

#[test]
fn misaligned() {
    // The writer only promises a 4-byte-aligned parameter section relative to the blob's
    // start; the blob itself must sit at an aligned address.
    let bytes = tiny_blob();
    common::assert_aligned(&bytes);
    let (buffer, shift) = common::misaligned_copy(&bytes);
    let view = &buffer[shift..shift + bytes.len()];
    let offset = (view.as_ptr() as usize + 28) % 4;
    assert_ne!(offset, 0);
    assert_eq!(blob_err(view), Error::Misaligned { offset });
    assert_eq!(
        HostModel::from_bytes(view).unwrap_err(),
        Error::Misaligned { offset }
    );
    // Checked after the parameter section's size, before its values.
    let mut parameters = TINY_STORED;
    parameters[4] = f32::NAN;
    let nan = raw_blob(&RawHeader::tiny().encode(), &parameters);
    let (buffer, shift) = common::misaligned_copy(&nan);
    assert!(matches!(
        blob_err(&buffer[shift..shift + nan.len()]),
        Error::Misaligned { .. }
    ));
    let short = raw_blob(&RawHeader::tiny().encode(), &TINY_STORED[..9]);
    let (buffer, shift) = common::misaligned_copy(&short);
    assert!(matches!(
        blob_err(&buffer[shift..shift + short.len()]),
        Error::ParameterSizeMismatch { .. }
    ));
}

#[test]
fn non_finite_parameter() {
    let header = RawHeader::tiny().encode();
    // The index is the word's in the parameter section: the sigma weight, logical index 11,
    // is stored at 9.
    let cases = [
        (4, 4, f32::NAN),
        (6, 6, f32::NAN),
        (11, 9, f32::INFINITY),
        (0, 0, f32::NEG_INFINITY),
    ];
    for (logical, index, value) in cases {
        let mut parameters = TINY_STORED;
        parameters[index] = value;
        assert_eq!(
            blob_err(&raw_blob(&header, &parameters)),
            Error::NonFiniteParameter { index }
        );
        // The writer validates what it wrote.
        let mut parameters = TINY;
        parameters[logical] = value;
        assert_eq!(
            encode(&tiny_header(), &parameters, &mut [0; 128]),
            Err(Error::NonFiniteParameter { index })
        );
    }
    // The zero rows that fill a block are checked like every word.
    let mut parameters = TINY_STORED;
    parameters[11] = f32::INFINITY;
    assert_eq!(
        blob_err(&raw_blob(&header, &parameters)),
        Error::NonFiniteParameter { index: 11 }
    );
    // A NaN scale is a non-finite parameter first (all parameters are checked before scales).
    let mut parameters = TINY_STORED;
    parameters[1] = f32::NAN;
    assert_eq!(
        blob_err(&raw_blob(&header, &parameters)),
        Error::NonFiniteParameter { index: 1 }
    );
}

#[test]
fn invalid_scale() {
    let header = RawHeader::tiny().encode();
    // Scaler scales, then the calibration: the sigma scale and the temperature.
    let cases = [
        (1, 0.0),
        (1, -0.0),
        (3, -1.0),
        (3, -f32::MIN_POSITIVE),
        (5, 0.0),
        (6, -2.0),
    ];
    for (index, value) in cases {
        let mut parameters = TINY_STORED;
        parameters[index] = value;
        assert_eq!(
            blob_err(&raw_blob(&header, &parameters)),
            Error::InvalidScale { index },
            "{value}"
        );
        let mut parameters = TINY;
        parameters[index] = value;
        assert_eq!(
            encode(&tiny_header(), &parameters, &mut [0; 128]),
            Err(Error::InvalidScale { index })
        );
    }
    // Offsets may be anything finite, and the smallest positive scale is valid.
    let mut parameters = TINY_STORED;
    parameters[0] = -1e30;
    parameters[1] = f32::from_bits(1);
    assert!(Blob::from_bytes(&raw_blob(&header, &parameters)).is_ok());
}

#[test]
fn invalid_network_weights() {
    // Two networks over the tiny model's shape: scalers, two log weights, two networks.
    let mut raw = RawHeader::tiny();
    raw.networks = 2;
    let header = raw.encode();
    let network = &TINY_STORED[7..];
    let with_weights = |w: [f32; 2]| -> Vec<f32> {
        let mut p = TINY_STORED[..4].to_vec();
        p.extend(w);
        p.extend([1.0, 1.0]); // the calibration
        p.extend(network);
        p.extend(network);
        p
    };
    let half = 0.5_f32.ln();
    assert!(Blob::from_bytes(&raw_blob(&header, &with_weights([half, half]))).is_ok());
    // Off by more than the tolerance either way, or a zero weight written as a huge
    // negative log: the weights must add up to 1.
    for weights in [[0.0, 0.0], [half, -1.0], [-1e30, half], [half + 1e-3, half]] {
        assert_eq!(
            blob_err(&raw_blob(&header, &with_weights(weights))),
            Error::InvalidNetworkWeights,
            "{weights:?}"
        );
    }
    // Within the tolerance (f32 rounding of normalised weights) is accepted.
    let close = [half + 5e-5, half];
    assert!(Blob::from_bytes(&raw_blob(&header, &with_weights(close))).is_ok());
    // The check runs after the scales', before the capacities'.
    let mut zero_scale = with_weights([0.0, 0.0]);
    zero_scale[1] = 0.0;
    assert_eq!(
        blob_err(&raw_blob(&header, &zero_scale)),
        Error::InvalidScale { index: 1 }
    );
    assert_eq!(
        Model::<1, 0, 1, 1>::from_bytes(&raw_blob(&header, &with_weights([0.0, 0.0]))).unwrap_err(),
        Error::InvalidNetworkWeights
    );
}

#[test]
fn buffer_too_small() {
    let mut small = [0_u8; 10];
    assert_eq!(
        encode(&tiny_header(), &TINY, &mut small),
        Err(Error::BufferTooSmall {
            expected: TINY_LEN,
            found: 10
        })
    );
    // A larger buffer is fine; only the blob's bytes are written.
    let mut large = [0xAA_u8; 128];
    assert_eq!(encode(&tiny_header(), &TINY, &mut large), Ok(TINY_LEN));
    assert!(large[TINY_LEN..].iter().all(|&b| b == 0xAA));
}

#[test]
fn names_with_line_feeds_and_long_headers_are_handled() {
    // A line feed inside a name changes the name count (NameCount); a long header encodes
    // (postcard cannot fail on this header: every field is a varint, a byte, an f32 or a
    // string, and the output buffer is sized by a dry run).
    let mut header = tiny_header();
    header.feature_names = Names::new("a\nb");
    assert_eq!(
        encoded_len(&header),
        Err(Error::NameCount {
            what: Dimension::Inputs,
            expected: 1,
            found: 2
        })
    );
    let long = "n".repeat(1 << 20);
    let mut header = tiny_header();
    header.feature_names = Names::new(&long);
    let len = encoded_len(&header).unwrap();
    let mut bytes = vec![0; len];
    assert_eq!(encode(&header, &TINY, &mut bytes), Ok(len));
}

fn query_errors() -> Vec<Error> {
    let bytes = tiny_blob();
    let model = HostModel::from_bytes(&bytes).unwrap();
    vec![
        model.log_prob(&[], &[0.0]).unwrap_err(),
        model.mean(&[1.0, 2.0]).unwrap_err(),
        model.log_prob(&[0.0], &[0.0, 1.0]).unwrap_err(),
        model.variance(&[f32::NAN]).unwrap_err(),
        model.prob(&[0.0], &[f32::INFINITY]).unwrap_err(),
    ]
}

/// One instance of each error the distribution queries add, in declaration order.
fn distribution_errors() -> Vec<Error> {
    let one = Mixture::<2, 2>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity).unwrap();
    let two = Mixture::<2, 2>::new(
        &[0.0],
        &[0.0, 0.0],
        &[1.0, 1.0],
        2,
        TargetTransform::Identity,
    )
    .unwrap();
    let log = Mixture::<2, 2>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Log).unwrap();
    let mut rng = rand_pcg::Pcg32::new(1, 1);
    vec![
        one.quantile(1.0).unwrap_err(),
        two.modes().unwrap_err(),
        one.sample_tempered(&mut rng, 0.0, 1.0).unwrap_err(),
        one.sample_tempered(&mut rng, 1.0, -1.0).unwrap_err(),
        one.kl_divergence(&log).unwrap_err(),
        one.density_on_grid(&[0.0], &mut []).unwrap_err(),
    ]
}

/// The value errors of `Mixture::new`, one of each.
fn mixture_errors() -> Vec<Error> {
    let new = |log_weights: &[f32], means: &[f32], sigmas: &[f32]| {
        Mixture::<1, 1>::new(log_weights, means, sigmas, 1, TargetTransform::Identity).unwrap_err()
    };
    vec![
        new(&[0.0], &[f32::NAN], &[1.0]),
        new(&[0.0], &[0.0], &[0.0]),
        new(&[-1.0], &[0.0], &[1.0]),
    ]
}

/// `Mixture::new` refuses parameters that do not describe a distribution (queries on them
/// would answer NaN) and names the first offending value; shapes are checked before values.
#[test]
fn mixture_new_checks_its_values() {
    let half = 0.5_f32.ln();
    let new = |log_weights: &[f32], means: &[f32], sigmas: &[f32]| {
        Mixture::<2, 2>::new(log_weights, means, sigmas, 1, TargetTransform::Identity).map(|_| ())
    };
    let (weights, means, sigmas) = ([half, half], [0.0, 1.0], [1.0, 2.0]);
    assert_eq!(new(&weights, &means, &sigmas), Ok(()));
    for (sigmas, index) in [
        ([1.0, f32::NAN], 1),
        ([-1.0, 2.0], 0),
        ([1.0, 0.0], 1),
        ([-0.0, 2.0], 0),
        ([1.0, f32::INFINITY], 1),
    ] {
        assert_eq!(
            new(&weights, &means, &sigmas),
            Err(Error::InvalidSigma { index }),
            "{sigmas:?}"
        );
    }
    for (means, index) in [
        ([f32::INFINITY, 1.0], 0),
        ([0.0, f32::NEG_INFINITY], 1),
        ([0.0, f32::NAN], 1),
    ] {
        assert_eq!(
            new(&weights, &means, &sigmas),
            Err(Error::NonFiniteMean { index }),
            "{means:?}"
        );
    }
    // Weights adding up to 0.5 or 2; a NaN or +inf log weight. The weights are checked
    // before the means and sigmas.
    for weights in [
        [half, f32::NEG_INFINITY],
        [0.0, 0.0],
        [0.0, f32::NAN],
        [f32::INFINITY, half],
    ] {
        assert_eq!(
            new(&weights, &[f32::NAN; 2], &[-1.0; 2]),
            Err(Error::InvalidMixtureWeights),
            "{weights:?}"
        );
    }
    // A component of weight zero is a valid one.
    assert_eq!(new(&[0.0, f32::NEG_INFINITY], &means, &sigmas), Ok(()));
    // The tolerance is WEIGHT_SUM_TOLERANCE (1e-4), as for a blob's network weights.
    let off_by = |d: f32| new(&[(1.0 - d).ln(), f32::NEG_INFINITY], &means, &sigmas);
    assert_eq!(off_by(5e-5), Ok(()));
    assert_eq!(off_by(2e-4), Err(Error::InvalidMixtureWeights));
    // The index is into the slice given: component 1, dimension 0 of two.
    assert_eq!(
        Mixture::<2, 2>::new(
            &weights,
            &[0.0; 4],
            &[1.0, 1.0, 0.0, 1.0],
            2,
            TargetTransform::Identity
        ),
        Err(Error::InvalidSigma { index: 2 })
    );
    // Shapes come first.
    assert_eq!(
        Mixture::<2, 2>::new(&[f32::NAN], &[0.0], &[1.0, 1.0], 2, TargetTransform::Log)
            .unwrap_err(),
        Error::ParameterSizeMismatch {
            expected: 8,
            found: 4
        }
    );
}

#[test]
fn query_errors_are_reported_input_first() {
    let bytes = tiny_blob();
    let model = HostModel::from_bytes(&bytes).unwrap();
    assert_eq!(
        query_errors(),
        [
            Error::InputLength {
                expected: 1,
                found: 0
            },
            Error::InputLength {
                expected: 1,
                found: 2
            },
            Error::TargetLength {
                expected: 1,
                found: 2
            },
            Error::NonFiniteInput,
            Error::NonFiniteTarget,
        ]
    );
    for x in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert_eq!(model.mixture(&[x]).unwrap_err(), Error::NonFiniteInput);
    }
    for y in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        assert_eq!(
            model.log_prob(&[0.0], &[y]).unwrap_err(),
            Error::NonFiniteTarget
        );
    }
    // Both wrong: the input is checked first.
    assert!(matches!(
        model.log_prob(&[f32::NAN], &[f32::NAN]),
        Err(Error::NonFiniteInput)
    ));
    // A log target rejects a non-finite y before deciding that y <= 0 has density zero.
    let log =
        Mixture::<1, 2>::new(&[0.0], &[0.0, 0.0], &[1.0, 1.0], 2, TargetTransform::Log).unwrap();
    assert_eq!(log.log_prob(&[-1.0, f32::NAN]), Err(Error::NonFiniteTarget));
    assert_eq!(log.log_prob(&[-1.0, 1.0]), Ok(f32::NEG_INFINITY));
}

#[test]
fn blob_checks_run_in_format_order() {
    // Each case has two defects; the one FORMAT.md section 4 lists first must win.
    let mut bytes = with_version(5);
    bytes[40] ^= 1;
    assert_eq!(blob_err(&bytes), Error::UnsupportedVersion { found: 5 });

    let mut bytes = tiny_blob();
    bytes.push(0);
    bytes[6..10].copy_from_slice(&5_u32.to_le_bytes());
    assert_eq!(blob_err(&bytes), Error::InvalidLength { declared: 5 });

    let mut raw = RawHeader::tiny();
    raw.activation = 7;
    let mut bytes = raw_blob(&raw.encode(), &TINY_STORED);
    bytes[40] ^= 1;
    assert!(matches!(blob_err(&bytes), Error::ChecksumMismatch { .. }));

    let mut raw = RawHeader::tiny();
    raw.target_transform = 9;
    raw.sigma = 9;
    raw.activation = 9;
    raw.input_dim = 0;
    assert_eq!(
        raw_err(&raw, &TINY_STORED),
        Error::UnknownCode {
            field: CodedField::Activation,
            code: 9
        }
    );

    let mut raw = RawHeader::tiny();
    raw.components = 0;
    raw.feature_names = b"a\nb".to_vec();
    assert_eq!(
        raw_err(&raw, &TINY_STORED),
        Error::EmptyDimension {
            what: Dimension::Components
        }
    );

    let mut raw = RawHeader::tiny();
    raw.feature_names = b"a\nb".to_vec();
    raw.sigma_floor = -1.0;
    assert!(matches!(
        raw_err(&raw, &TINY_STORED),
        Error::NameCount { .. }
    ));

    // The sigma floor, then the storage codes counted against the layers, then sizes.
    let mut raw = RawHeader::tiny();
    raw.sigma_floor = -1.0;
    raw.hidden = vec![u32::MAX, u32::MAX];
    raw.storage = vec![0; 2];
    assert_eq!(raw_err(&raw, &TINY_STORED), Error::InvalidSigmaFloor);
    raw.sigma_floor = 0.0;
    assert!(matches!(
        raw_err(&raw, &TINY_STORED),
        Error::StorageCount { .. }
    ));
    raw.storage = vec![0; 3];
    assert_eq!(raw_err(&raw, &TINY_STORED), Error::SizeOverflow);

    let mut bytes = raw_blob(&RawHeader::tiny().encode(), &TINY_STORED[..9]);
    bytes[TINY_PADDING] = 1;
    fix_crc(&mut bytes);
    assert_eq!(blob_err(&bytes), Error::NonZeroPadding);

    let mut parameters = TINY_STORED.to_vec();
    parameters[2] = f32::NAN;
    parameters.pop();
    assert!(matches!(
        blob_err(&raw_blob(&RawHeader::tiny().encode(), &parameters)),
        Error::ParameterSizeMismatch { .. }
    ));

    // Every parameter is checked for finiteness before any scale is checked for sign.
    let mut parameters = TINY_STORED;
    parameters[1] = 0.0;
    parameters[8] = f32::NAN;
    assert_eq!(
        blob_err(&raw_blob(&RawHeader::tiny().encode(), &parameters)),
        Error::NonFiniteParameter { index: 8 }
    );

    // Capacities are checked last, after the blob itself is known to be valid.
    let mut parameters = TINY_STORED;
    parameters[3] = -1.0;
    let bytes = raw_blob(&RawHeader::tiny().encode(), &parameters);
    assert_eq!(
        Model::<1, 0, 1, 1>::from_bytes(&bytes).unwrap_err(),
        Error::InvalidScale { index: 3 }
    );
}

/// One instance of every variant, each reached through the public API.
fn every_error() -> Vec<Error> {
    let header = RawHeader::tiny().encode();
    let mut raw_code = RawHeader::tiny();
    raw_code.sigma = 3;
    let mut raw_empty = RawHeader::tiny();
    raw_empty.input_dim = 0;
    let mut raw_names = RawHeader::tiny();
    raw_names.feature_names = b"a\nb".to_vec();
    let mut raw_storage_count = RawHeader::tiny();
    raw_storage_count.storage = vec![0, 0];
    let mut raw_integer = RawHeader::tiny();
    raw_integer.storage = vec![3];
    raw_integer.activation = 1;
    // The tiny model's heads as int8: its weights of 0.25 are no integers.
    let int8_tiny = Header {
        storage: Storage::uniform(Storage::Int8, 0),
        ..tiny_header()
    };
    let mut int8_halves = vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
    int8_halves.extend([0.5, 1.0, 0.25].repeat(3));
    let mut raw_floor = RawHeader::tiny();
    raw_floor.sigma_floor = -1.0;
    let mut raw_huge = RawHeader::tiny();
    raw_huge.hidden = vec![u32::MAX, u32::MAX];
    raw_huge.storage = vec![0; 3];
    let mut padding = tiny_blob();
    padding[TINY_PADDING] = 1;
    fix_crc(&mut padding);
    let mut crc = tiny_blob();
    crc[40] ^= 1;
    let mut longer = tiny_blob();
    longer.push(0);
    let tiny = tiny_blob();
    let (misaligned, shift) = common::misaligned_copy(&tiny);
    let misaligned_view = &misaligned[shift..shift + tiny.len()];
    let mut nan = TINY_STORED;
    nan[5] = f32::NAN;
    let mut zero_scale = TINY_STORED;
    zero_scale[3] = 0.0;
    let mut heavy = TINY_STORED;
    heavy[4] = 0.1;
    let big = common::header(
        2,
        &[],
        Activation::Relu,
        SigmaTransform::Exp,
        0.0,
        1,
        1,
        TargetTransform::Identity,
    );
    let big_blob = common::blob(
        &big,
        &common::parameters(&big, &mut common::Rng(1), 0.5, (-1.0, 0.0)),
    );

    let mut errors = vec![
        blob_err(b"nope"),
        blob_err(&with_version(5)),
        blob_err(&tiny_blob()[..20]),
        blob_err(&with_declared_len(3)),
        blob_err(&longer),
        blob_err(&crc),
        blob_err(&raw_blob(&header[..8], &[])),
        raw_err(&raw_code, &TINY_STORED),
        raw_err(&raw_empty, &TINY_STORED),
        Model::<1, 0, 1, 1>::from_bytes(&big_blob).unwrap_err(),
        raw_err(&raw_names, &TINY_STORED),
        raw_err(&raw_storage_count, &TINY_STORED),
        raw_err(&raw_integer, &TINY_STORED),
        raw_err(&raw_floor, &TINY_STORED),
        blob_err(&padding),
        raw_err(&raw_huge, &[]),
        blob_err(&raw_blob(&header, &TINY_STORED[..9])),
        blob_err(misaligned_view),
        blob_err(&raw_blob(&header, &nan)),
        blob_err(&raw_blob(&header, &zero_scale)),
        blob_err(&raw_blob(&header, &heavy)),
        encode(&tiny_header(), &TINY, &mut [0; 8]).unwrap_err(),
        encode(&int8_tiny, &int8_halves, &mut [0; 128]).unwrap_err(),
    ];
    errors.extend(query_errors());
    errors.extend(distribution_errors());
    errors.extend(mixture_errors());
    errors
}

fn variant_name(error: &Error) -> String {
    let debug = format!("{error:?}");
    debug
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn every_variant_is_reached() {
    // `Error` is `#[non_exhaustive]`, so an exhaustive match is impossible from outside the
    // crate; the Debug names stand in for it.
    let expected = [
        "BadMagic",
        "UnsupportedVersion",
        "Truncated",
        "InvalidLength",
        "TrailingBytes",
        "ChecksumMismatch",
        "HeaderDecode",
        "UnknownCode",
        "EmptyDimension",
        "CapacityExceeded",
        "NameCount",
        "StorageCount",
        "InvalidIntegerNetwork",
        "InvalidSigmaFloor",
        "NonZeroPadding",
        "SizeOverflow",
        "ParameterSizeMismatch",
        "Misaligned",
        "NonFiniteParameter",
        "InvalidScale",
        "InvalidNetworkWeights",
        "BufferTooSmall",
        "UnrepresentableParameter",
        "InputLength",
        "InputLength",
        "TargetLength",
        "NonFiniteInput",
        "NonFiniteTarget",
        "InvalidProbability",
        "NotUnivariate",
        "InvalidTemperature",
        "InvalidSigmaScale",
        "TransformMismatch",
        "OutputLength",
        "NonFiniteMean",
        "InvalidSigma",
        "InvalidMixtureWeights",
    ];
    let reached: Vec<String> = every_error().iter().map(variant_name).collect();
    assert_eq!(reached, expected);
}

#[test]
fn display_messages_are_lowercase_phrases() {
    for error in every_error() {
        let message = error.to_string();
        let first = message.chars().next().expect("non-empty message");
        assert!(first.is_lowercase(), "{error:?}: {message:?}");
        assert!(!message.ends_with('.'), "{error:?}: {message:?}");
        assert!(!message.contains('\n'), "{error:?}: {message:?}");
        // It is an error type in the std sense too.
        let boxed: Box<dyn std::error::Error> = Box::new(error);
        assert_eq!(boxed.to_string(), message);
    }
}

#[test]
fn header_roundtrips_through_the_blob() {
    let header = Header {
        hidden: HiddenWidths::from_slice(&[3, 200]).unwrap(),
        storage: Storage::uniform(Storage::F32, 2),
        ..common::header(
            2,
            &[],
            Activation::Tanh,
            SigmaTransform::Softplus,
            0.125,
            3,
            2,
            TargetTransform::Log,
        )
    };
    let bytes = common::blob(&header, &common::filled(&header, 0.5));
    assert_eq!(Blob::from_bytes(&bytes).unwrap().header(), &header);
}

#[test]
fn storage_count() {
    // One storage code per dense layer: the tiny model has none hidden, so exactly one.
    for codes in [vec![], vec![0, 0], vec![2; 9]] {
        let mut raw = RawHeader::tiny();
        raw.storage = codes.clone();
        let expected = Error::StorageCount {
            expected: 1,
            found: codes.len(),
        };
        assert_eq!(raw_err(&raw, &TINY_STORED), expected, "{codes:?}");
    }
    // More codes than MAX_DENSE_LAYERS cannot be decoded at all.
    let mut raw = RawHeader::tiny();
    raw.storage = vec![0; 10];
    assert_eq!(raw_err(&raw, &TINY_STORED), Error::HeaderDecode);
    // The typed API counts them with the layout (the header alone is consistent).
    let header = Header {
        storage: Storage::uniform(Storage::F32, 3),
        ..tiny_header()
    };
    assert_eq!(header.validate(), Ok(()));
    assert_eq!(
        Layout::new(&header),
        Err(Error::StorageCount {
            expected: 1,
            found: 4
        })
    );
    assert_eq!(
        encoded_len(&header),
        Err(Error::StorageCount {
            expected: 1,
            found: 4
        })
    );
}

#[test]
#[cfg(all(feature = "f16", feature = "int8"))]
fn unrepresentable_parameter() {
    // The writer refuses to round: int8 weights are integers in -128..=127 and f16 weights
    // values binary16 holds; the index is the logical one.
    let int8 = Header {
        storage: Storage::uniform(Storage::Int8, 0),
        ..tiny_header()
    };
    // Logical order with int8 heads: scalers, log weight, calibration, then for each head
    // its weight, its row scale, its bias.
    let mut parameters = vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
    parameters.extend([3.0, 0.5, 0.25, -128.0, 0.5, 0.25, 127.0, 0.5, 0.25]);
    let mut bytes = vec![0; encoded_len(&int8).unwrap()];
    assert!(encode(&int8, &parameters, &mut bytes).is_ok());
    for (index, value) in [(7, 0.5), (10, 128.0), (13, -129.0), (7, f32::NAN)] {
        let mut wrong = parameters.clone();
        wrong[index] = value;
        assert_eq!(
            encode(&int8, &wrong, &mut bytes),
            Err(Error::UnrepresentableParameter { index }),
            "{value}"
        );
    }
    // A row scale must be positive, like every scale.
    let mut zero_scale = parameters.clone();
    zero_scale[8] = 0.0;
    assert!(matches!(
        encode(&int8, &zero_scale, &mut bytes),
        Err(Error::InvalidScale { .. })
    ));
    let f16 = Header {
        storage: Storage::uniform(Storage::F16, 0),
        ..tiny_header()
    };
    let mut bytes = vec![0; encoded_len(&f16).unwrap()];
    let mut parameters = TINY;
    assert!(encode(&f16, &parameters, &mut bytes).is_ok());
    for value in [0.1, 65520.0, 1e-8] {
        parameters[9] = value;
        assert_eq!(
            encode(&f16, &parameters, &mut bytes),
            Err(Error::UnrepresentableParameter { index: 9 }),
            "{value}"
        );
    }
}

#[test]
#[cfg(all(feature = "f16", feature = "int8"))]
fn packed_weights_are_checked_like_every_parameter() {
    // An f16 weight of infinity or NaN (exponent bits all ones) is a non-finite parameter,
    // in the word that holds it; any int8 byte is a valid weight.
    let f16 = Header {
        storage: Storage::uniform(Storage::F16, 0),
        ..tiny_header()
    };
    let bytes = common::blob(&f16, &TINY);
    let blob = Blob::from_bytes(&bytes).unwrap();
    let start = bytes.len() - 4 - blob.parameters().len() * 4;
    // The heads' weights follow the 7 shared words: 8 rows of f16, 4 words.
    for (byte, pattern) in [(0, 0x7C00_u16), (2, 0xFC00), (6, 0x7E00)] {
        let mut corrupt = bytes.clone();
        let at = start + 7 * 4 + byte;
        corrupt[at..at + 2].copy_from_slice(&pattern.to_le_bytes());
        fix_crc(&mut corrupt);
        assert_eq!(
            blob_err(&corrupt),
            Error::NonFiniteParameter {
                index: 7 + byte / 4
            },
            "{pattern:#06x}"
        );
    }
    let int8 = Header {
        storage: Storage::uniform(Storage::Int8, 0),
        ..tiny_header()
    };
    let mut parameters = vec![0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
    parameters.extend([3.0, 0.5, 0.25, -127.0, 0.5, 0.25, 127.0, 0.5, 0.25]);
    let bytes = common::blob(&int8, &parameters);
    let start = bytes.len() - 4 - Blob::from_bytes(&bytes).unwrap().parameters().len() * 4;
    for value in [0x80_u8, 0xFF, 0x7F] {
        let mut changed = bytes.clone();
        changed[start + 7 * 4] = value;
        fix_crc(&mut changed);
        assert!(HostModel::from_bytes(&changed).is_ok());
    }
}

/// A build without the `tanh`, `f16` and `int8` features refuses such blobs when it
/// decodes the header (`cargo test -p mdn-core --no-default-features --test errors`, run by
/// check.sh).
#[test]
#[cfg(not(all(feature = "tanh", feature = "f16", feature = "int8")))]
fn unsupported() {
    let mut raw = RawHeader::tiny();
    raw.activation = 1;
    if !cfg!(feature = "tanh") {
        assert_eq!(
            raw_err(&raw, &TINY_STORED),
            Error::Unsupported {
                field: CodedField::Activation,
                code: 1
            }
        );
    }
    let mut raw = RawHeader::tiny();
    let storages = [
        (1, cfg!(feature = "f16")),
        (2, cfg!(feature = "int8")),
        (3, cfg!(feature = "int16")),
        (4, cfg!(feature = "int16")),
    ];
    for (code, enabled) in storages {
        raw.storage = vec![code];
        if !enabled {
            assert_eq!(
                raw_err(&raw, &TINY_STORED),
                Error::Unsupported {
                    field: CodedField::Storage,
                    code
                }
            );
        }
    }
}

#[test]
#[cfg(all(feature = "int8", feature = "int16"))]
fn integer_storage_is_every_layer_of_a_relu_network() {
    // A relu network of two hidden layers, integer everywhere: its header is valid (the
    // empty parameter section is what fails).
    let mut raw = RawHeader::tiny();
    raw.hidden = vec![2, 2];
    raw.storage = vec![3, 4, 3];
    assert!(matches!(
        raw_err(&raw, &[]),
        Error::ParameterSizeMismatch { .. }
    ));
    for (storage, activation) in [
        (vec![3, 0, 3], 0),
        (vec![0, 0, 4], 0),
        (vec![2, 3, 3], 0),
        (vec![3, 3, 3], 1),
    ] {
        raw.storage = storage.clone();
        raw.activation = activation;
        assert_eq!(
            raw_err(&raw, &[]),
            Error::InvalidIntegerNetwork,
            "{storage:?}, activation {activation}"
        );
    }
    // After the sigma floor and the count of codes, before the sizes.
    raw.storage = vec![3, 0, 3];
    raw.sigma_floor = -1.0;
    assert_eq!(raw_err(&raw, &[]), Error::InvalidSigmaFloor);
    raw.sigma_floor = 0.0;
    raw.storage = vec![3, 0];
    assert!(matches!(raw_err(&raw, &[]), Error::StorageCount { .. }));
    raw.storage = vec![3, 0, 3];
    raw.hidden = vec![u32::MAX, u32::MAX];
    assert_eq!(raw_err(&raw, &[]), Error::InvalidIntegerNetwork);
}
