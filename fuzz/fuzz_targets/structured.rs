//! Structurally valid blobs, so the header, shape and evaluation code are reached and not
//! only the checksum: a small random header (1 to 4 inputs, 0 to 3 hidden layers of width 1
//! to 16, K from 1 to 6, D from 1 to 3, every activation, sigma transform, target
//! transform and weight storage of each layer) with random parameters and calibration,
//! written by `mdn_core::encode`; then, optionally, raw
//! patches (any sigma floor, unknown codes, non-finite or non-positive parameters, byte
//! mutations, a changed length) under a recomputed CRC, so that every check after the
//! checksum is exercised; then every query.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use libfuzzer_sys::fuzz_target;
use mdn_core::{
    Activation, Blob, Header, HiddenWidths, Layout, NAME_SEPARATOR, Names, PREFIX_LEN,
    SigmaTransform, Storage, TRAILER_LEN, TargetTransform, TensorName, crc32, encode,
    encoded_len,
};
use mdn_fuzz::{AlignedBytes, Queries, SplitMix, models_from_bytes, parse_every_way};

/// A model to write and the damage to do to it.
#[derive(Debug)]
struct Spec {
    inputs: u32,
    hidden: Vec<u32>,
    /// One per dense layer: the hidden layers, then the heads.
    storage: Vec<Storage>,
    activation: Activation,
    sigma: SigmaTransform,
    /// Any bits; a floor the writer refuses (NaN, negative) is patched in after writing.
    sigma_floor: f32,
    target: TargetTransform,
    components: u32,
    networks: u32,
    outputs: u32,
    feature_names: String,
    target_names: String,
    /// Parameters are uniform in `[-2^e, 2^e]` from this exponent and seed; scales are
    /// positive.
    weight_exponent: i32,
    seed: u64,
    /// Raw codes written over activation, sigma, target transform and the first layer's
    /// storage.
    codes: Option<[u8; 4]>,
    /// `(parameter index, bits)` written over parameters (NaN, infinities, zero scales).
    parameters: Vec<(u16, u32)>,
    /// `(byte index, xor mask)` applied anywhere in the blob.
    mutations: Vec<(u16, u8)>,
    /// Bytes removed from (negative) or appended to (positive) the end.
    resize: i8,
    /// Write the true length into the prefix after resizing.
    fix_length: bool,
    /// Recompute the CRC after patching, so the checks behind it see the patch.
    fix_crc: bool,
    queries: Queries,
}

/// `n` names joined by the separator: arbitrary text when it holds no separator, else
/// `{prefix}{i}`.
fn names(u: &mut Unstructured<'_>, n: u32, prefix: &str) -> arbitrary::Result<String> {
    let mut out = Vec::new();
    for i in 0..n {
        let name: &str = u.arbitrary()?;
        let name = if name.contains(NAME_SEPARATOR) || name.len() > 12 {
            format!("{prefix}{i}")
        } else {
            name.to_owned()
        };
        out.push(name);
    }
    Ok(out.join("\n"))
}

impl<'a> Arbitrary<'a> for Spec {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        let inputs = u.int_in_range(1..=4)?;
        let layers = u.int_in_range(0..=3)?;
        let hidden = (0..layers)
            .map(|_| u.int_in_range(1..=16))
            .collect::<arbitrary::Result<_>>()?;
        // One model in four an integer network: integer storage in every layer, relu.
        let integer = u.ratio(1, 4)?;
        let storages: &[Storage] = match integer {
            true => &[Storage::Int8Int16, Storage::Int16Int16],
            false => &[Storage::F32, Storage::F16, Storage::Int8],
        };
        let storage = (0..=layers)
            .map(|_| u.choose(storages).copied())
            .collect::<arbitrary::Result<_>>()?;
        let activation = match integer {
            true => Activation::Relu,
            false => *u.choose(&[Activation::Relu, Activation::Tanh])?,
        };
        let sigma = *u.choose(&[
            SigmaTransform::Nnelu,
            SigmaTransform::Softplus,
            SigmaTransform::Exp,
        ])?;
        let sigma_floor = match u.int_in_range(0_u8..=3)? {
            0 => 0.0,
            1 => 1e-3,
            2 => f32::from(u.arbitrary::<u8>()?) / 64.0,
            _ => f32::from_bits(u.arbitrary()?),
        };
        let target = *u.choose(&[TargetTransform::Identity, TargetTransform::Log])?;
        let components = u.int_in_range(1..=6)?;
        let networks = u.int_in_range(1..=3)?;
        let outputs = u.int_in_range(1..=3)?;
        let feature_names = names(u, inputs, "x")?;
        let target_names = names(u, outputs, "y")?;
        let weight_exponent = u.int_in_range(-6..=6)?;
        let seed = u.arbitrary()?;
        let codes = u.arbitrary()?;
        let parameters = u
            .arbitrary_iter()?
            .take(4)
            .collect::<arbitrary::Result<_>>()?;
        let mutations = u
            .arbitrary_iter()?
            .take(4)
            .collect::<arbitrary::Result<_>>()?;
        let resize = if u.ratio(1, 8)? { u.arbitrary()? } else { 0 };
        let fix_length = u.arbitrary()?;
        let fix_crc = !u.ratio(1, 8)?;
        let queries = Queries::draw(u, inputs as usize, outputs as usize);
        Ok(Spec {
            inputs,
            hidden,
            storage,
            activation,
            sigma,
            sigma_floor,
            target,
            components,
            networks,
            outputs,
            feature_names,
            target_names,
            weight_exponent,
            seed,
            codes,
            parameters,
            mutations,
            resize,
            fix_length,
            fix_crc,
            queries,
        })
    }
}

impl Spec {
    fn header(&self, sigma_floor: f32) -> Header<'_> {
        Header {
            input_dim: self.inputs,
            output_dim: self.outputs,
            components: self.components,
            networks: self.networks,
            hidden: HiddenWidths::from_slice(&self.hidden).expect("at most 3 layers"),
            storage: self.storage.iter().copied().collect(),
            activation: self.activation,
            sigma: self.sigma,
            sigma_floor,
            target_transform: self.target,
            feature_names: Names::new(&self.feature_names),
            target_names: Names::new(&self.target_names),
        }
    }

    /// Parameters in logical order: uniform in `[-2^e, 2^e]`, scales in `(0, 2^e]`, equal
    /// network weights (`-ln M` each; parameter overrides may break them); an `f16` weight
    /// cut to binary16's precision (0 below its normal range), an `int8` weight an integer
    /// in `-127..=127`, a 16-bit one in `-32767..=32767` (an integer layer's biases and
    /// factors are drawn as any others: every finite value has its defined result).
    fn parameter_values(&self, layout: &Layout) -> Vec<f32> {
        let mut rng = SplitMix(self.seed);
        let bound = 2_f32.powi(self.weight_exponent);
        let mut values = Vec::with_capacity(layout.parameter_count());
        for tensor in layout.tensors() {
            if tensor.name == TensorName::NetworkLogWeights {
                let equal = -(tensor.len() as f32).ln();
                values.extend(std::iter::repeat_n(equal, tensor.len()));
                continue;
            }
            for _ in 0..tensor.len() {
                let unit = (rng.next_word() >> 40) as f32 / (1_u32 << 24) as f32; // [0, 1)
                let value = if tensor.name.is_scale() {
                    bound * (1.0 - unit) // (0, bound]
                } else {
                    bound * (2.0 * unit - 1.0)
                };
                values.push(match tensor.storage {
                    Storage::F32 => value,
                    Storage::F16 if value.abs() < 6.103_515_6e-5 || value.abs() > 65_504.0 => 0.0,
                    Storage::F16 => f32::from_bits(value.to_bits() & 0xFFFF_E000),
                    Storage::Int8 | Storage::Int8Int16 => (254.0 * unit - 127.0).round(),
                    Storage::Int16Int16 => (65_534.0 * unit - 32_767.0).round(),
                });
            }
        }
        values
    }
}

fuzz_target!(|spec: Spec| {
    let floor_ok = spec.sigma_floor.is_finite() && spec.sigma_floor >= 0.0;
    let header = spec.header(if floor_ok { spec.sigma_floor } else { 0.0 });
    let layout = Layout::new(&header).expect("small shapes have a layout");
    let values = spec.parameter_values(&layout);
    let len = encoded_len(&header).expect("a valid header has a length");
    let mut storage = AlignedBytes::new(&vec![0; len]);
    let written = encode(&header, &values, storage.as_bytes_mut()).expect("a valid model encodes");
    assert_eq!(written, len);
    {
        // The writer and the reader agree on everything.
        let blob = Blob::from_bytes(storage.as_bytes()).expect("what encode writes validates");
        assert_eq!(blob.header(), &header);
        assert!(blob.parameter_values().eq(values.iter().copied()));
    }

    // Patches. Every dimension is below 128, so each header varint is one byte.
    let mut bytes = storage.as_bytes().to_vec();
    let storage_at = PREFIX_LEN + 4 + spec.hidden.len() + 1;
    let activation_at = storage_at + spec.storage.len();
    let floor_at = activation_at + 2;
    let target_at = floor_at + 4;
    if !floor_ok {
        bytes[floor_at..floor_at + 4].copy_from_slice(&spec.sigma_floor.to_le_bytes());
    }
    if let Some([activation, sigma, target, storage]) = spec.codes {
        bytes[activation_at] = activation;
        bytes[activation_at + 1] = sigma;
        bytes[target_at] = target;
        bytes[storage_at] = storage;
    }
    // Overrides address the stored words, zero rows included.
    let words = layout.stored_count();
    let parameters_at = len - TRAILER_LEN - 4 * words;
    for &(index, bits) in &spec.parameters {
        let at = parameters_at + 4 * (usize::from(index) % words);
        bytes[at..at + 4].copy_from_slice(&bits.to_le_bytes());
    }
    for &(index, mask) in &spec.mutations {
        let at = usize::from(index) % bytes.len();
        bytes[at] ^= mask;
    }
    let resize = usize::from(spec.resize.unsigned_abs());
    if spec.resize < 0 {
        bytes.truncate(
            bytes
                .len()
                .saturating_sub(resize)
                .max(PREFIX_LEN + TRAILER_LEN),
        );
    } else {
        bytes.resize(bytes.len() + resize, 0xFF);
    }
    if spec.fix_length {
        let declared = u32::try_from(bytes.len()).expect("small blob");
        bytes[6..PREFIX_LEN].copy_from_slice(&declared.to_le_bytes());
    }
    if spec.fix_crc {
        let body = bytes.len() - TRAILER_LEN;
        let crc = crc32(&bytes[..body]);
        bytes[body..].copy_from_slice(&crc.to_le_bytes());
    }

    let storage = AlignedBytes::new(&bytes);
    let bytes = storage.as_bytes();
    parse_every_way(bytes);
    models_from_bytes(bytes, &spec.queries);
    if let Ok((model, _)) = mdn_fuzz::TightModel::from_prefix(bytes) {
        let _ = model.mean(&spec.queries.x);
    }
});
