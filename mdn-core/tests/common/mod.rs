//! Helpers shared by the integration tests: building valid blobs through the public writer,
//! and crafting invalid ones byte by byte (with a correct CRC, so that the check under test is
//! the one that fails).

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use mdn_core::{
    Activation, Header, HiddenWidths, Layout, Names, PREFIX_LEN, SigmaTransform, Storage,
    TRAILER_LEN, TargetTransform, TensorName, crc32, encode, encoded_len,
};

/// SplitMix64: a deterministic generator, so failures reproduce without a seed file.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        let unit = (self.next_u64() >> 11) as f64 / (1_u64 << 53) as f64;
        lo + (hi - lo) * unit
    }

    /// Uniform in `lo..=hi`.
    pub fn int(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }
}

/// Feature names `x0\nx1\n...` for `n` inputs, leaked so headers can be `'static`.
pub fn names(prefix: &str, n: u32) -> Names<'static> {
    let joined: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    Names::new(Box::leak(joined.join("\n").into_boxed_str()))
}

/// A valid header with the given shape.
#[allow(clippy::too_many_arguments)]
pub fn header(
    inputs: u32,
    hidden: &[u32],
    activation: Activation,
    sigma: SigmaTransform,
    sigma_floor: f32,
    components: u32,
    outputs: u32,
    target_transform: TargetTransform,
) -> Header<'static> {
    Header {
        input_dim: inputs,
        output_dim: outputs,
        components,
        networks: 1,
        hidden: HiddenWidths::from_slice(hidden).expect("at most 8 hidden layers"),
        storage: Storage::uniform(Storage::F32, hidden.len()),
        activation,
        sigma,
        sigma_floor,
        target_transform,
        feature_names: names("x", inputs),
        target_names: names("y", outputs),
    }
}

/// The smallest interesting model: 1 input, no hidden layer, K = 1, D = 1. Its feature is
/// named `x` (not `x0`) so that its header is 17 bytes and the blob has a padding byte.
pub fn tiny_header() -> Header<'static> {
    let header = header(
        1,
        &[],
        Activation::Relu,
        SigmaTransform::Exp,
        0.0,
        1,
        1,
        TargetTransform::Identity,
    );
    Header {
        feature_names: Names::new("x"),
        ..header
    }
}

/// Deterministic parameters for `header`: weights in `[-w, w]`, scaler offsets in
/// `[-2, 2]`, scales in `[0.5, 2]`, biases of the sigma head in `sigma_bias`, network
/// weights proportional to uniforms in `[0.2, 1]`.
pub fn parameters(header: &Header<'_>, rng: &mut Rng, w: f64, sigma_bias: (f64, f64)) -> Vec<f32> {
    let layout = Layout::new(header).expect("valid layout");
    let mut out = Vec::with_capacity(layout.parameter_count());
    for tensor in layout.tensors() {
        let name = tensor.name.to_string();
        if tensor.name == TensorName::NetworkLogWeights {
            out.extend(network_log_weights(rng, tensor.len()));
            continue;
        }
        for _ in 0..tensor.len() {
            let v = if tensor.name.is_scale() {
                rng.uniform(0.5, 2.0)
            } else if name.ends_with("offset") {
                rng.uniform(-2.0, 2.0)
            } else if name == "head.sigmas.bias" {
                rng.uniform(sigma_bias.0, sigma_bias.1)
            } else {
                rng.uniform(-w, w)
            };
            out.push(v as f32);
        }
    }
    out
}

/// Every parameter `value`, except the network weights: equal, `-ln M` each.
pub fn filled(header: &Header<'_>, value: f32) -> Vec<f32> {
    let layout = Layout::new(header).expect("valid layout");
    let mut out = vec![value; layout.parameter_count()];
    let weights = layout
        .find(TensorName::NetworkLogWeights)
        .expect("every layout has network weights");
    let equal = -(weights.len() as f32).ln();
    out[weights.offset..weights.offset + weights.len()].fill(equal);
    out
}

/// `ln` of `networks` random weights that add up to 1, as a blob stores them.
pub fn network_log_weights(rng: &mut Rng, networks: usize) -> Vec<f32> {
    let raw: Vec<f64> = (0..networks).map(|_| rng.uniform(0.2, 1.0)).collect();
    let total: f64 = raw.iter().sum();
    raw.iter().map(|r| (r / total).ln() as f32).collect()
}

/// Where a misaligned view of `bytes` starts: `bytes` copied `shift` bytes into a fresh
/// buffer, with `shift` chosen so that the copy's address is not a multiple of 4 (mdn-core
/// reads parameters as aligned words and reports [`mdn_core::Error::Misaligned`]).
///
/// Every other helper returns a plain `Vec<u8>`: std's allocator serves `Vec<u8>` from
/// `malloc`, which is at least 8-byte aligned on every supported host, so those blobs are
/// aligned; [`assert_aligned`] makes that assumption explicit where it matters.
pub fn misaligned_copy(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut buffer = vec![0_u8; bytes.len() + 4];
    let shift = (1..4)
        .find(|s| !(buffer.as_ptr() as usize + s).is_multiple_of(4))
        .expect("some shift misaligns");
    buffer[shift..shift + bytes.len()].copy_from_slice(bytes);
    (buffer, shift)
}

/// Fails loudly if the allocator broke the alignment the tests rely on.
pub fn assert_aligned(bytes: &[u8]) {
    assert_eq!(
        bytes.as_ptr() as usize % 4,
        0,
        "test blobs must be 4-byte aligned"
    );
}

/// A blob written by mdn-core's own writer.
pub fn blob(header: &Header<'_>, parameters: &[f32]) -> Vec<u8> {
    let mut bytes = vec![0; encoded_len(header).expect("encodable header")];
    let len = encode(header, parameters, &mut bytes).expect("valid blob");
    assert_eq!(len, bytes.len());
    assert_aligned(&bytes);
    bytes
}

/// A valid blob of [`tiny_header`] with every weight 0.25, identity scalers and
/// calibration, and the one network's log weight 0.
pub fn tiny_blob() -> Vec<u8> {
    blob(
        &tiny_header(),
        &[
            0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25,
        ],
    )
}

/// Recomputes the CRC trailer of a blob after a test has patched its bytes.
pub fn fix_crc(bytes: &mut [u8]) {
    let body = bytes.len() - TRAILER_LEN;
    let crc = crc32(&bytes[..body]);
    bytes[body..].copy_from_slice(&crc.to_le_bytes());
}

/// LEB128, as postcard encodes `u32` and lengths.
pub fn varint(mut n: u64, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7F) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// A header as raw fields, encodable whatever their values, to craft blobs that mdn-core's
/// writer refuses to produce (zero dimensions, unknown codes, huge sizes).
#[derive(Debug, Clone)]
pub struct RawHeader {
    pub input_dim: u32,
    pub output_dim: u32,
    pub components: u32,
    pub networks: u32,
    pub hidden: Vec<u32>,
    pub storage: Vec<u8>,
    pub activation: u8,
    pub sigma: u8,
    pub sigma_floor: f32,
    pub target_transform: u8,
    pub feature_names: Vec<u8>,
    pub target_names: Vec<u8>,
}

impl RawHeader {
    /// The fields of [`tiny_header`].
    pub fn tiny() -> Self {
        RawHeader {
            input_dim: 1,
            output_dim: 1,
            components: 1,
            networks: 1,
            hidden: Vec::new(),
            storage: vec![0],
            activation: 0,
            sigma: 2,
            sigma_floor: 0.0,
            target_transform: 0,
            feature_names: b"x".to_vec(),
            target_names: b"y0".to_vec(),
        }
    }

    /// The postcard encoding of FORMAT.md section 2, written by hand.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        varint(self.input_dim.into(), &mut out);
        varint(self.output_dim.into(), &mut out);
        varint(self.components.into(), &mut out);
        varint(self.networks.into(), &mut out);
        varint(self.hidden.len() as u64, &mut out);
        for &w in &self.hidden {
            varint(w.into(), &mut out);
        }
        varint(self.storage.len() as u64, &mut out);
        out.extend_from_slice(&self.storage);
        out.push(self.activation);
        out.push(self.sigma);
        out.extend_from_slice(&self.sigma_floor.to_le_bytes());
        out.push(self.target_transform);
        for names in [&self.feature_names, &self.target_names] {
            varint(names.len() as u64, &mut out);
            out.extend_from_slice(names);
        }
        out
    }
}

/// A blob around arbitrary header bytes and parameter words: prefix with the true length,
/// zero padding to a multiple of 4, and a correct CRC.
pub fn raw_blob(header: &[u8], parameters: &[f32]) -> Vec<u8> {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&mdn_core::MAGIC);
    bytes.extend_from_slice(&mdn_core::FORMAT_VERSION.to_le_bytes());
    bytes.extend_from_slice(&[0; 4]);
    bytes.extend_from_slice(header);
    while bytes.len() % 4 != 0 {
        bytes.push(0);
    }
    for p in parameters {
        bytes.extend_from_slice(&p.to_le_bytes());
    }
    bytes.extend_from_slice(&[0; TRAILER_LEN]);
    set_declared_len(&mut bytes);
    bytes
}

/// Writes the actual length into the prefix and fixes the CRC.
pub fn set_declared_len(bytes: &mut [u8]) {
    let len = u32::try_from(bytes.len()).expect("small blob");
    bytes[6..PREFIX_LEN].copy_from_slice(&len.to_le_bytes());
    fix_crc(bytes);
}
