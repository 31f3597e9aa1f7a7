//! FORMAT.md's byte layout is what mdn-core writes and reads: blobs from the independent
//! Python writer (`tests/reference/mdn_reference.py`) re-encode bit for bit with
//! `mdn_core::encode`, validate with `Blob::from_bytes`, name the same tensors and store
//! each value where Python's `stored_order` puts it (FORMAT.md section 3.1); the checks
//! (the version itself, the network count, `members.log_weight`) reject what FORMAT.md section 4
//! says they reject.

mod common;

use common::{Golden, StoredWord, exact_f32};
use mdn_core::{
    Blob, Dimension, Error, FORMAT_VERSION, HostModel, Layout, MAGIC, PREFIX_LEN, Storage,
    TRAILER_LEN, TensorInfo, crc32, encode, encoded_len,
};

fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or_else(|| (a.len() != b.len()).then_some(a.len().min(b.len())))
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn reencoding_the_json_gives_the_python_bytes() {
    for golden in common::all() {
        let header = golden.header();
        let parameters = golden.parameters();
        let len = encoded_len(&header).unwrap();
        assert_eq!(len, golden.bytes.len(), "{}: encoded_len", golden.name);
        let mut bytes = vec![0xAA; len];
        assert_eq!(encode(&header, &parameters, &mut bytes), Ok(len));
        assert!(
            bytes == golden.bytes,
            "{}: first difference at byte {:?}",
            golden.name,
            first_difference(&bytes, &golden.bytes)
        );
    }
}

#[test]
fn prefix_header_padding_and_trailer_are_where_format_md_puts_them() {
    for golden in common::all() {
        let (bytes, model) = (&golden.bytes, &golden.model);
        let name = &golden.name;
        assert_eq!(bytes.len(), model.length, "{name}");
        assert_eq!(bytes[..4], MAGIC, "{name}");
        assert_eq!(model.format_version, FORMAT_VERSION, "{name}");
        assert_eq!(u16::from_le_bytes([bytes[4], bytes[5]]), FORMAT_VERSION);
        let declared = u32::from_le_bytes(bytes[6..10].try_into().unwrap());
        assert_eq!(declared as usize, bytes.len(), "{name}");

        let header = hex(&model.header_hex);
        let header_end = PREFIX_LEN + header.len();
        assert_eq!(&bytes[PREFIX_LEN..header_end], header.as_slice(), "{name}");
        assert_eq!(model.padding, (4 - header_end % 4) % 4, "{name}");
        let start = header_end + model.padding;
        assert!(bytes[header_end..start].iter().all(|&b| b == 0), "{name}");
        assert_eq!(start % 4, 0, "{name}");

        // Each word holds the parameters Python's `stored_order` puts there (zero rows:
        // `null`, stored as 0), one `f32`, two `f16` or `int16-int16` or four `int8` or
        // `int8-int16` weights, and mdn-core's `Layout::stored_position` agrees with that
        // order, byte for byte.
        let body = bytes.len() - TRAILER_LEN;
        assert_eq!((body - start) / 4, model.stored_order.len(), "{name}");
        let layout = Layout::new(&golden.header()).unwrap();
        assert_eq!(layout.stored_count(), model.stored_order.len(), "{name}");
        for (slot, (word, stored)) in bytes[start..body]
            .chunks_exact(4)
            .zip(&model.stored_order)
            .enumerate()
        {
            let (indices, width) = match stored {
                StoredWord::Single(index) => (vec![*index], 4),
                StoredWord::Packed(indices) => (indices.clone(), 4 / indices.len()),
            };
            for (lane, index) in indices.iter().enumerate() {
                let value = &word[lane * width..(lane + 1) * width];
                let Some(index) = *index else {
                    assert!(value.iter().all(|&b| b == 0), "{name}: word {slot}");
                    continue;
                };
                let at = layout.stored_position(index).unwrap();
                assert_eq!(at.byte, slot * 4 + lane * width, "{name}: {index}");
                assert_eq!(at.storage.bytes(), width, "{name}: {index}");
                // The width tells the storage but for 2 bytes: f16 or a 16-bit integer.
                let decoded = match (width, at.storage) {
                    (4, _) => f32::from_le_bytes(value.try_into().unwrap()),
                    (2, Storage::Int16Int16) => {
                        f32::from(i16::from_le_bytes(value.try_into().unwrap()))
                    }
                    (2, _) => f16_value(u16::from_le_bytes(value.try_into().unwrap())),
                    _ => f32::from(value[0] as i8),
                };
                assert_eq!(decoded, exact_f32(model.parameters[index]), "{name}");
            }
        }
        // zlib's crc32 (Python) and mdn-core's CRC-32/ISO-HDLC agree.
        let trailer = u32::from_le_bytes(bytes[body..].try_into().unwrap());
        assert_eq!(trailer, model.crc32, "{name}");
        assert_eq!(crc32(&bytes[..body]), model.crc32, "{name}");
    }
}

#[test]
fn golden_blobs_validate_and_decode_to_the_json_header() {
    for golden in common::all() {
        let name = &golden.name;
        let blob = Blob::from_bytes(&golden.bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(blob.header(), &golden.header(), "{name}");
        assert_eq!(blob.len(), golden.bytes.len());
        assert_eq!(blob.crc(), golden.model.crc32);
        let stored: Vec<f32> = blob.parameter_values().collect();
        assert_eq!(stored, golden.parameters(), "{name}");
        let names: Vec<&str> = blob.header().feature_names.iter().collect();
        assert_eq!(names, golden.model.header.feature_names, "{name}");
        let names: Vec<&str> = blob.header().target_names.iter().collect();
        assert_eq!(names, golden.model.header.target_names, "{name}");

        assert!(HostModel::from_bytes(&golden.bytes).is_ok(), "{name}");
        // As flashed: the blob followed by erased bytes.
        let mut partition = golden.bytes.clone();
        partition.resize(golden.bytes.len() + 256, 0xFF);
        let (model, rest) = HostModel::from_prefix(&partition).unwrap();
        assert_eq!((model.blob().len(), rest.len()), (golden.bytes.len(), 256));
    }
}

#[test]
fn tensor_names_shapes_and_offsets_match_the_python_layout() {
    for golden in common::all() {
        let name = &golden.name;
        let layout = Layout::new(&golden.header()).unwrap();
        assert_eq!(
            layout.parameter_count(),
            golden.model.parameters.len(),
            "{name}"
        );
        let tensors: Vec<TensorInfo> = layout.tensors().collect();
        assert_eq!(tensors.len(), golden.model.tensors.len(), "{name}");
        for (rust, python) in tensors.iter().zip(&golden.model.tensors) {
            // The full name of FORMAT.md section 3, with `members.m.` for a network's tensor.
            assert_eq!(rust.to_string(), python.name, "{name}");
            assert_eq!(
                rust.network.is_none(),
                !python.name.starts_with("members.") || python.name == "members.log_weight",
                "{name}: {}",
                python.name
            );
            // FORMAT.md writes vectors as `[n]`; mdn-core as one row of n columns.
            let shape = match python.shape[..] {
                [n] => (1, n),
                [rows, cols] => (rows, cols),
                _ => panic!("{name}: shape {:?}", python.shape),
            };
            assert_eq!((rust.rows, rust.cols), shape, "{name}: {}", python.name);
            assert_eq!(rust.offset, python.offset, "{name}: {}", python.name);
            // `find` gives a shared tensor or the first network's; the others follow at
            // multiples of one network's parameter count.
            let first = layout.find(rust.name).unwrap();
            let network = rust.network.unwrap_or(0);
            assert_eq!(
                (first.rows, first.cols, first.network.unwrap_or(0)),
                (rust.rows, rust.cols, 0),
                "{name}: {}",
                python.name
            );
            assert_eq!(
                first.offset + network * layout.network_parameter_count(),
                rust.offset,
                "{name}: {}",
                python.name
            );
        }
        assert_eq!(layout.networks(), golden.model.header.networks as usize);
    }
}

/// Index of `members.log_weight` in the parameter section, from the Python tensor table.
fn network_weights_offset(golden: &Golden) -> usize {
    golden
        .model
        .tensors
        .iter()
        .find(|t| t.name == "members.log_weight")
        .expect("every blob has members.log_weight")
        .offset
}

/// The blob with its CRC trailer recomputed, so that a check after the CRC is reached.
fn with_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    let body = bytes.len() - TRAILER_LEN;
    let crc = crc32(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
    bytes
}

#[test]
fn network_log_weights_are_stored_after_the_scalers() {
    for golden in common::all() {
        let name = &golden.name;
        let h = &golden.model.header;
        let offset = network_weights_offset(&golden);
        // Right after the four scaler tensors ([F], [F], [D], [D]).
        assert_eq!(offset, 2 * (h.input_dim + h.output_dim) as usize, "{name}");
        let weights = &golden.model.parameters[offset..offset + h.networks as usize];
        if h.networks == 1 {
            assert_eq!(weights, [0.0], "{name}: a single network stores ln 1");
        }
        // FORMAT.md section 4's sum, in f32 as mdn-core computes it.
        let total = weights
            .iter()
            .fold(0.0_f32, |s, &w| s + libm::expf(exact_f32(w)));
        assert!(
            (total - 1.0).abs() <= 1e-4,
            "{name}: weights add up to {total}"
        );
    }
}

#[test]
fn versions_1_and_2_are_refused() {
    for golden in common::all() {
        for found in [1_u16, 2] {
            let mut bytes = golden.bytes.clone();
            bytes[4..6].copy_from_slice(&found.to_le_bytes());
            // The version is checked before the CRC: no need to fix the trailer.
            assert_eq!(
                Blob::from_bytes(&bytes).unwrap_err(),
                Error::UnsupportedVersion { found },
                "{}",
                golden.name
            );
            assert_eq!(
                Blob::from_bytes(&with_crc(bytes)).unwrap_err(),
                Error::UnsupportedVersion { found },
                "{}",
                golden.name
            );
        }
    }
}

#[test]
fn network_weights_that_do_not_add_up_to_one_are_rejected() {
    for golden in common::all() {
        let name = &golden.name;
        let start = PREFIX_LEN + golden.model.header_hex.len() / 2 + golden.model.padding;
        let at = start + 4 * network_weights_offset(&golden);
        let stored = f32::from_le_bytes(golden.bytes[at..at + 4].try_into().unwrap());
        // Network 0's weight doubled (+ ln 2), a little too much (+ 2e-4 in weight) and, for
        // a single network, ln 1 replaced by ln 0.5: all move the sum off 1 by more than 1e-4.
        let weight = libm::expf(stored);
        let wrong = [
            stored + core::f32::consts::LN_2,
            libm::logf(weight + 2e-4),
            libm::logf(weight - 2e-4),
        ];
        for value in wrong {
            let mut bytes = golden.bytes.clone();
            bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
            let bytes = with_crc(bytes);
            assert_eq!(
                Blob::from_bytes(&bytes).unwrap_err(),
                Error::InvalidNetworkWeights,
                "{name}: log weight {value}"
            );
            assert_eq!(
                HostModel::from_bytes(&bytes).unwrap_err(),
                Error::InvalidNetworkWeights,
                "{name}"
            );
        }
        // Within the tolerance: still accepted (+ 5e-5 in weight).
        let mut bytes = golden.bytes.clone();
        let value = libm::logf(weight + 5e-5);
        bytes[at..at + 4].copy_from_slice(&value.to_le_bytes());
        assert!(Blob::from_bytes(&with_crc(bytes)).is_ok(), "{name}");
    }
}

#[test]
fn zero_networks_is_an_empty_dimension() {
    for golden in common::all() {
        let name = &golden.name;
        let h = &golden.model.header;
        // The first three varints (inputs, outputs, components) are one byte each in every
        // golden header, so the network count (`members`) is the fourth byte of the header.
        assert!(h.input_dim < 128 && h.output_dim < 128 && h.components < 128);
        let at = PREFIX_LEN + 3;
        assert_eq!(u32::from(golden.bytes[at]), h.networks, "{name}");
        let mut bytes = golden.bytes.clone();
        bytes[at] = 0;
        assert_eq!(
            Blob::from_bytes(&with_crc(bytes)).unwrap_err(),
            Error::EmptyDimension {
                what: Dimension::Networks
            },
            "{name}"
        );
    }
}

fn covers(goldens: &[Golden], what: &str, pred: impl Fn(&Golden) -> bool) {
    assert!(goldens.iter().any(pred), "no golden blob has {what}");
}

#[test]
fn golden_set_covers_the_format() {
    // The golden blobs are only as good as the cases they hold; pin the ones the README
    // promises, so a regenerated set cannot silently lose one.
    let goldens = common::all();
    for padding in 0..4 {
        covers(&goldens, &format!("padding {padding}"), |g| {
            g.model.padding == padding
        });
    }
    for activation in ["relu", "tanh"] {
        covers(&goldens, activation, |g| {
            g.model.header.activation == activation
        });
    }
    for sigma in ["nnelu", "softplus", "exp"] {
        covers(&goldens, sigma, |g| g.model.header.sigma == sigma);
    }
    for target in ["identity", "log"] {
        covers(&goldens, target, |g| {
            g.model.header.target_transform == target
        });
    }
    covers(&goldens, "no hidden layer", |g| {
        g.model.header.hidden.is_empty()
    });
    covers(&goldens, "three hidden layers", |g| {
        g.model.header.hidden.len() == 3
    });
    covers(&goldens, "a two-byte varint", |g| {
        g.model.header.hidden.iter().any(|&w| w > 127)
    });
    covers(&goldens, "a two-byte string length", |g| {
        g.model.header.feature_names.join("\n").len() > 127
    });
    covers(&goldens, "non-ASCII names", |g| {
        !g.model.header.feature_names.concat().is_ascii()
    });
    covers(&goldens, "K = 1", |g| g.model.header.components == 1);
    covers(&goldens, "a single network (M = 1)", |g| {
        g.model.header.networks == 1
    });
    covers(&goldens, "an ensemble of three networks", |g| {
        g.model.header.networks == 3
    });
    covers(&goldens, "an ensemble with K > 1 and hidden layers", |g| {
        g.model.header.networks > 1
            && g.model.header.components > 1
            && !g.model.header.hidden.is_empty()
    });
    covers(&goldens, "an ensemble with a log target and D > 1", |g| {
        g.model.header.networks > 1
            && g.model.header.output_dim > 1
            && g.model.header.target_transform == "log"
    });
    covers(&goldens, "non-uniform network weights", |g| {
        let offset = network_weights_offset(g);
        let weights = &g.model.parameters[offset..offset + g.model.header.networks as usize];
        weights.iter().any(|&w| w != weights[0])
    });
    covers(&goldens, "ensemble density-zero vectors", |g| {
        g.model.header.networks > 1
            && g.vectors
                .vectors
                .iter()
                .any(|v| v.log_prob.value() == f64::NEG_INFINITY)
    });
    covers(&goldens, "D > 1 with a log target", |g| {
        g.model.header.output_dim > 1 && g.model.header.target_transform == "log"
    });
    for storage in ["f32", "f16", "int8", "int8-int16", "int16-int16"] {
        covers(&goldens, &format!("{storage} storage"), |g| {
            g.model.header.storage.iter().any(|s| s == storage)
        });
    }
    covers(&goldens, "an integer ensemble", |g| {
        let integer = |s: &String| matches!(s.as_str(), "int8-int16" | "int16-int16");
        g.model.header.networks > 1 && g.model.header.storage.iter().all(integer)
    });
    covers(&goldens, "a nonzero sigma floor", |g| {
        g.model.header.sigma_floor > 0.0
    });
    covers(&goldens, "density-zero vectors", |g| {
        g.vectors
            .vectors
            .iter()
            .any(|v| v.log_prob.value() == f64::NEG_INFINITY)
    });
}

/// The value of binary16 bits `h`, from FORMAT.md's definition (IEEE 754 binary16), in
/// f64 arithmetic independent of mdn-core's conversion.
fn f16_value(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((h >> 10) & 0x1F);
    let mantissa = f64::from(h & 0x3FF);
    let magnitude = match exponent {
        0 => mantissa * 2f64.powi(-24),
        _ => (1.0 + mantissa / 1024.0) * 2f64.powi(exponent - 15),
    };
    exact_f32(sign * magnitude)
}
