//! Deterministic generated models and parity vector sets (host only, feature `std`).
//!
//! Models are written with mdn-core's own writer from parameters drawn by a fixed-seed
//! SplitMix64, so the same command always produces the same bytes. Vector sets exercise
//! every query on ordinary inputs, on targets across the predictive range, and on the
//! edge cases where host and device must agree on an error kind or a non-finite value.

use std::{string::String, vec, vec::Vec};

use mdn_core::{
    Activation, Header, HiddenWidths, Layout, Names, SigmaTransform, Storage, TargetTransform,
    TensorName, rand_core::Rng,
};

use crate::vectors::{Op, ParityModel, ParityRng, VectorWriter};

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, seedable, and identical everywhere; the
/// generator of [`ParityRng`], with uniform `f32` draws for the writers here.
///
/// # Examples
///
/// ```
/// use mdn_core::rand_core::Rng;
/// use mdn_tests::{generate::SplitMix64, vectors::ParityRng};
///
/// assert_eq!(SplitMix64::new(7).next_u64(), ParityRng::new(7).next_u64());
/// ```
#[derive(Debug, Clone)]
pub struct SplitMix64(ParityRng);

impl SplitMix64 {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        SplitMix64(ParityRng::new(seed))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        Rng::next_u64(&mut self.0)
    }

    /// Uniform in `[lo, hi)`.
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        // The top 24 bits give every f32 in [0, 1) with spacing 2^-24.
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }
}

/// A copy of a blob in 4-byte-aligned memory, as mdn-core requires of the parameters.
#[derive(Debug, Clone)]
pub struct AlignedBlob {
    words: Vec<u32>,
    len: usize,
}

impl AlignedBlob {
    /// Copies `bytes` into aligned storage.
    pub fn new(bytes: &[u8]) -> Self {
        let mut words = vec![0_u32; bytes.len().div_ceil(4)];
        bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(bytes);
        AlignedBlob {
            words,
            len: bytes.len(),
        }
    }

    /// The blob's bytes.
    pub fn bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.words)[..self.len]
    }
}

/// The shape and transforms of a generated model.
#[derive(Debug, Clone)]
pub struct ModelSpec {
    /// File stem, e.g. `relu_nnelu_1x32x32_k5`.
    pub name: &'static str,
    /// Input features.
    pub inputs: u32,
    /// Hidden widths.
    pub hidden: &'static [u32],
    /// Mixture components of each network.
    pub components: u32,
    /// Networks (an ensemble when more than one).
    pub networks: u32,
    /// Output dimensions.
    pub outputs: u32,
    /// Hidden activation.
    pub activation: Activation,
    /// Sigma transform.
    pub sigma: SigmaTransform,
    /// Target transform.
    pub target: TargetTransform,
    /// Seed of the parameters.
    pub seed: u64,
    /// How each dense layer stores its weights (the hidden layers, then the heads); empty
    /// for `f32` everywhere.
    pub storage: &'static [Storage],
    /// The calibration `(sigma scale of every dimension, temperature)`; `None` for the
    /// identity.
    pub calibration: Option<(f32, f32)>,
}

/// The pinned model of `firmware-example`'s `minimal` binary: 1-32-32 ReLU, K = 5, nnelu,
/// D = 1.
pub const MINIMAL: ModelSpec = ModelSpec {
    name: "minimal_1x32x32_k5",
    inputs: 1,
    hidden: &[32, 32],
    components: 5,
    networks: 1,
    outputs: 1,
    activation: Activation::Relu,
    sigma: SigmaTransform::Nnelu,
    target: TargetTransform::Identity,
    seed: 1,
    storage: &[],
    calibration: None,
};

/// A 1-16-16 ReLU, K = 1 model, the shape of the published MicroFlow and TensorFlow Lite
/// Micro figures, for a like-for-like footprint comparison.
pub const SMALL: ModelSpec = ModelSpec {
    name: "small_1x16x16_k1",
    inputs: 1,
    hidden: &[16, 16],
    components: 1,
    networks: 1,
    outputs: 1,
    activation: Activation::Relu,
    sigma: SigmaTransform::Nnelu,
    target: TargetTransform::Identity,
    seed: 5,
    storage: &[],
    calibration: None,
};

/// A 13-64-64 ReLU, K = 5 model: the larger benchmark shape (13 features, the size of a
/// small tabular data set), for host speed and device cost beside the 1-32-32 K = 5 model.
pub const WIDE: ModelSpec = ModelSpec {
    name: "wide_13x64x64_k5",
    inputs: 13,
    hidden: &[64, 64],
    components: 5,
    networks: 1,
    outputs: 1,
    activation: Activation::Relu,
    sigma: SigmaTransform::Nnelu,
    target: TargetTransform::Identity,
    seed: 6,
    storage: &[],
    calibration: None,
};

/// The models of the committed parity set: every activation, sigma transform and target
/// transform, one and several outputs, zero to two hidden layers, one and several networks,
/// every weight storage (`f32`, `f16`, `int8`, the integer `int8-int16`) and a calibration
/// that is not the identity.
pub const PARITY_MODELS: [ModelSpec; 10] = [
    MINIMAL,
    ModelSpec {
        name: "tanh_softplus_3x16x8_k3_d2",
        inputs: 3,
        hidden: &[16, 8],
        components: 3,
        networks: 1,
        outputs: 2,
        activation: Activation::Tanh,
        sigma: SigmaTransform::Softplus,
        target: TargetTransform::Identity,
        seed: 2,
        storage: &[],
        calibration: None,
    },
    ModelSpec {
        name: "relu_exp_log_2x24_k4",
        inputs: 2,
        hidden: &[24],
        components: 4,
        networks: 1,
        outputs: 1,
        activation: Activation::Relu,
        sigma: SigmaTransform::Exp,
        target: TargetTransform::Log,
        seed: 3,
        storage: &[],
        calibration: None,
    },
    ModelSpec {
        name: "linear_nnelu_2_k2_d3",
        inputs: 2,
        hidden: &[],
        components: 2,
        networks: 1,
        outputs: 3,
        activation: Activation::Relu,
        sigma: SigmaTransform::Nnelu,
        target: TargetTransform::Identity,
        seed: 4,
        storage: &[],
        calibration: None,
    },
    ModelSpec {
        name: "ensemble_tanh_exp_2x8x8_k2_m3",
        inputs: 2,
        hidden: &[8, 8],
        components: 2,
        networks: 3,
        outputs: 1,
        activation: Activation::Tanh,
        sigma: SigmaTransform::Exp,
        target: TargetTransform::Identity,
        seed: 7,
        storage: &[],
        calibration: None,
    },
    ModelSpec {
        name: "int8_hidden_f16_head_1x32x32_k5",
        storage: &[Storage::Int8, Storage::Int8, Storage::F16],
        calibration: Some((1.25, 0.8)),
        seed: 8,
        ..MINIMAL
    },
    ModelSpec {
        name: "int8_ensemble_tanh_softplus_log_3x16x8_k3_d2_m2",
        inputs: 3,
        hidden: &[16, 8],
        components: 3,
        networks: 2,
        outputs: 2,
        activation: Activation::Tanh,
        sigma: SigmaTransform::Softplus,
        target: TargetTransform::Log,
        seed: 9,
        storage: &[Storage::Int8, Storage::Int8, Storage::Int8],
        calibration: Some((0.75, 1.3)),
    },
    ModelSpec {
        name: "f16_relu_exp_2x24_k4",
        inputs: 2,
        hidden: &[24],
        components: 4,
        networks: 1,
        outputs: 1,
        activation: Activation::Relu,
        sigma: SigmaTransform::Exp,
        target: TargetTransform::Identity,
        seed: 10,
        storage: &[Storage::F16, Storage::F16],
        calibration: None,
    },
    ModelSpec {
        name: "int8_int16_1x32x32_k5",
        storage: &[Storage::Int8Int16, Storage::Int8Int16, Storage::Int16Int16],
        calibration: Some((1.25, 0.8)),
        seed: 11,
        ..MINIMAL
    },
    ModelSpec {
        name: "int8_int16_ensemble_log_3x16x8_k3_d2_m2",
        inputs: 3,
        hidden: &[16, 8],
        components: 3,
        networks: 2,
        outputs: 2,
        activation: Activation::Relu,
        sigma: SigmaTransform::Softplus,
        target: TargetTransform::Log,
        seed: 12,
        storage: &[Storage::Int8Int16; 3],
        calibration: None,
    },
];

/// The calibration models of mdn-train's device cost model (`figures --calibrate` fits it
/// on them), seeds 100 and up: inputs from 1 to 20, no hidden layer to three, widths 8 to 64
/// (some not a multiple of 8, some an odd number of 8-row blocks), 1 to 8 components, 1 to 3
/// outputs, 1 to 5 networks, both activations, every sigma and target transform. None of
/// them is a [`PARITY_MODELS`] shape or a benchmark model, on which the model is checked
/// instead.
///
/// # Examples
///
/// ```
/// let models = mdn_tests::generate::cost_models();
/// assert_eq!(models.len(), 40);
/// assert_eq!((models[0].name, models[0].seed), ("relu_nnelu_1x8_k1", 100));
/// ```
pub fn cost_models() -> Vec<ModelSpec> {
    cost_shapes::SHAPES
        .iter()
        .zip(100..)
        .map(
            |(
                &(name, inputs, hidden, components, networks, outputs, activation, sigma, target),
                seed,
            )| {
                ModelSpec {
                    name,
                    inputs,
                    hidden,
                    components,
                    networks,
                    outputs,
                    activation,
                    sigma,
                    target,
                    seed,
                    storage: &[],
                    calibration: None,
                }
            },
        )
        .collect()
}

/// [`cost_models`] as a table.
mod cost_shapes {
    use mdn_core::{
        Activation::{self, Relu, Tanh},
        SigmaTransform::{self, Exp, Nnelu, Softplus},
        TargetTransform::{self, Identity, Log},
    };

    /// `(name, inputs, hidden, components, networks, outputs, activation, sigma, target)`.
    type Shape = (
        &'static str,
        u32,
        &'static [u32],
        u32,
        u32,
        u32,
        Activation,
        SigmaTransform,
        TargetTransform,
    );

    // One model a line.
    #[rustfmt::skip]
    pub(super) const SHAPES: [Shape; 40] = [
        ("relu_nnelu_1x8_k1", 1, &[8], 1, 1, 1, Relu, Nnelu, Identity),
        ("linear_softplus_4_k3_d2", 4, &[], 3, 1, 2, Relu, Softplus, Identity),
        ("tanh_softplus_5x20x12_k3_d2", 5, &[20, 12], 3, 1, 2, Tanh, Softplus, Identity),
        ("relu_exp_log_3x40_k4", 3, &[40], 4, 1, 1, Relu, Exp, Log),
        ("tanh_exp_2x8x8_k2_m4", 2, &[8, 8], 2, 4, 1, Tanh, Exp, Identity),
        ("relu_nnelu_5x40x24_k5_m2", 5, &[40, 24], 5, 2, 1, Relu, Nnelu, Identity),
        ("relu_nnelu_13x64x64_k8", 13, &[64, 64], 8, 1, 1, Relu, Nnelu, Identity),
        ("tanh_nnelu_log_7x20x12x12_k3_d2", 7, &[20, 12, 12], 3, 1, 2, Tanh, Nnelu, Log),
        ("relu_softplus_4x48_k6_d3", 4, &[48], 6, 1, 3, Relu, Softplus, Identity),
        ("relu_nnelu_1x32x32_k5_m5", 1, &[32, 32], 5, 5, 1, Relu, Nnelu, Identity),
        ("tanh_exp_9x56x8_k1_d2_m4", 9, &[56, 8], 1, 4, 2, Tanh, Exp, Identity),
        ("relu_nnelu_log_16x12_k7_m2", 16, &[12], 7, 2, 1, Relu, Nnelu, Log),
        ("linear_exp_3_k8_d2_m2", 3, &[], 8, 2, 2, Relu, Exp, Identity),
        ("tanh_nnelu_6x30x30x30_k4", 6, &[30, 30, 30], 4, 1, 1, Tanh, Nnelu, Identity),
        ("relu_exp_11x64_k2_d3_m3", 11, &[64], 2, 3, 3, Relu, Exp, Identity),
        ("tanh_softplus_log_2x17_k5_d2", 2, &[17], 5, 1, 2, Tanh, Softplus, Log),
        ("relu_nnelu_20x36x20_k3", 20, &[36, 20], 3, 1, 1, Relu, Nnelu, Identity),
        ("tanh_nnelu_1x24x24_k1_m5", 1, &[24, 24], 1, 5, 1, Tanh, Nnelu, Identity),
        ("relu_exp_log_13x32x32_k5_d2_m3", 13, &[32, 32], 5, 3, 2, Relu, Exp, Log),
        ("relu_softplus_log_13x44_k5", 13, &[44], 5, 1, 1, Relu, Softplus, Log),
        ("relu_softplus_log_13x8_k3_m2", 13, &[8], 3, 2, 1, Relu, Softplus, Log),
        ("relu_exp_2x28x20_k2_d3_m2", 2, &[28, 20], 2, 2, 3, Relu, Exp, Identity),
        ("relu_softplus_20x20x12x12_k3_d2_m4", 20, &[20, 12, 12], 3, 4, 2, Relu, Softplus, Identity),
        ("tanh_exp_16x8_k6_d3", 16, &[8], 6, 1, 3, Tanh, Exp, Identity),
        ("tanh_nnelu_9x48_k2_m2", 9, &[48], 2, 2, 1, Tanh, Nnelu, Identity),
        ("tanh_softplus_2x64_k4_d2", 2, &[64], 4, 1, 2, Tanh, Softplus, Identity),
        ("relu_nnelu_3x16x8_k2_d2_m2", 3, &[16, 8], 2, 2, 2, Relu, Nnelu, Identity),
        ("relu_exp_log_4x8x8_k5_d3", 4, &[8, 8], 5, 1, 3, Relu, Exp, Log),
        ("tanh_nnelu_13x44_k3_d3_m4", 13, &[44], 3, 4, 3, Tanh, Nnelu, Identity),
        ("tanh_softplus_5x24_k2_m2", 5, &[24], 2, 2, 1, Tanh, Softplus, Identity),
        ("tanh_exp_1x32_k7_d2", 1, &[32], 7, 1, 2, Tanh, Exp, Identity),
        ("tanh_exp_11x12_k2_m2", 11, &[12], 2, 2, 1, Tanh, Exp, Identity),
        ("relu_softplus_log_11x40_k4_d2_m5", 11, &[40], 4, 5, 2, Relu, Softplus, Log),
        ("relu_exp_1x30x30x30_k7_d2", 1, &[30, 30, 30], 7, 1, 2, Relu, Exp, Identity),
        ("tanh_softplus_16x16x8_k6", 16, &[16, 8], 6, 1, 1, Tanh, Softplus, Identity),
        ("relu_exp_log_11x30x30x30_k2", 11, &[30, 30, 30], 2, 1, 1, Relu, Exp, Log),
        ("tanh_softplus_5x64_k3_d3", 5, &[64], 3, 1, 3, Tanh, Softplus, Identity),
        ("relu_softplus_log_1x64_k2", 1, &[64], 2, 1, 1, Relu, Softplus, Log),
        ("tanh_exp_5x20x12x12_k4", 5, &[20, 12, 12], 4, 1, 1, Tanh, Exp, Identity),
        ("linear_exp_log_20_k7_d3", 20, &[], 7, 1, 3, Relu, Exp, Log),
    ];
}

impl ModelSpec {
    /// The tightest capacities `I, W, K, D` a firmware can evaluate this model with: `W` at
    /// least 1 (a const generic of the firmware), `K` every network's components.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_tests::generate::PARITY_MODELS;
    /// assert_eq!(PARITY_MODELS[3].capacities(), [2, 1, 2, 3]);
    /// assert_eq!(PARITY_MODELS[4].capacities(), [2, 8, 6, 1]);
    /// ```
    pub fn capacities(&self) -> [usize; 4] {
        let width = self.hidden.iter().copied().max().unwrap_or(0).max(1);
        [
            self.inputs,
            width,
            self.components * self.networks,
            self.outputs,
        ]
        .map(|c| c as usize)
    }
}

/// `2^-14`, binary16's smallest normal value.
const F16_SMALLEST_NORMAL: f32 = 6.103_515_6e-5;

/// The storage of the dense layer `name` belongs to (`F32` for the shared tensors).
fn tensor_layer_storage(header: &Header<'_>, name: TensorName) -> Storage {
    let layer = name.dense_layer(header.hidden.len());
    let storage = layer.and_then(|layer| header.storage.get(layer));
    storage.copied().unwrap_or(Storage::F32)
}

/// The scaled input's step in an integer network (FORMAT.md section 5), and the step the
/// generated integer networks give their hidden activations.
const INPUT_STEP: f32 = 1.0 / 2048.0;
const HIDDEN_STEP: f32 = 1.0 / 1024.0;

fn names(prefix: &str, n: u32) -> String {
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    names.join("\n")
}

/// Writes the blob of a generated model: He-uniform weights, small biases, non-trivial
/// scalers, network weights proportional to uniforms in `[0.2, 1]`, sigma floor 1e-3. An
/// `f16` layer's weights are those draws cut to binary16's 10 mantissa bits (0 below its
/// normal range); an `int8` layer's are integers in `-127 ..= 127` with each row's scale
/// the He bound over 127, so the weights `q * scale` span the same range.
///
/// # Panics
///
/// If the spec is invalid (a test-setup bug).
pub fn generated_blob(spec: &ModelSpec) -> Vec<u8> {
    let (features, targets) = (names("x", spec.inputs), names("y", spec.outputs));
    let header = Header {
        input_dim: spec.inputs,
        output_dim: spec.outputs,
        components: spec.components,
        networks: spec.networks,
        hidden: HiddenWidths::from_slice(spec.hidden).expect("at most 8 hidden layers"),
        storage: match spec.storage {
            [] => Storage::uniform(Storage::F32, spec.hidden.len()),
            storage => storage.iter().copied().collect(),
        },
        activation: spec.activation,
        sigma: spec.sigma,
        sigma_floor: 1e-3,
        target_transform: spec.target,
        feature_names: Names::new(&features),
        target_names: Names::new(&targets),
    };
    let layout = Layout::new(&header).expect("valid spec");
    let mut rng = SplitMix64::new(spec.seed);
    let mut parameters = Vec::with_capacity(layout.parameter_count());
    let mut previous_cols = 1;
    for tensor in layout.tensors() {
        if tensor.name == TensorName::NetworkLogWeights {
            let raw: Vec<f64> = (0..tensor.len())
                .map(|_| f64::from(rng.uniform(0.2, 1.0)))
                .collect();
            let total: f64 = raw.iter().sum();
            parameters.extend(raw.iter().map(|r| (r / total).ln() as f32));
            continue;
        }
        // The He bound of the weight tensor before this one: an `int8` row's scale.
        let bound = |fan_in: usize| (6.0 / fan_in as f32).sqrt();
        // An integer layer's steps: its input's (the scaled input's, 2^-11, for the first
        // layer) and its output's (2^-10 for a hidden layer, 1 for the heads' f32 outputs).
        let integer = tensor_layer_storage(&header, tensor.name).is_integer();
        let head = !matches!(
            tensor.name,
            TensorName::HiddenWeight(_)
                | TensorName::HiddenWeightScale(_)
                | TensorName::HiddenBias(_)
        );
        let first_layer = match tensor.name {
            TensorName::HiddenWeightScale(i) | TensorName::HiddenBias(i) => i == 0,
            _ => spec.hidden.is_empty(),
        };
        let input_step = if first_layer { INPUT_STEP } else { HIDDEN_STEP };
        let output_step = if head { 1.0 } else { HIDDEN_STEP };
        // The largest |q|: 127, or 1000 for 16-bit weights (within `i32` for 32 inputs).
        let limit = match tensor_layer_storage(&header, tensor.name) {
            Storage::Int16Int16 => 1000.0,
            _ => 127.0,
        };
        let (sigma_scale, temperature) = spec.calibration.unwrap_or((1.0, 1.0));
        for _ in 0..tensor.len() {
            parameters.push(match tensor.name {
                TensorName::InputOffset => rng.uniform(-2.0, 2.0),
                TensorName::InputScale => rng.uniform(0.5, 3.0),
                TensorName::TargetOffset => rng.uniform(-1.0, 1.0),
                TensorName::TargetScale => rng.uniform(0.5, 2.0),
                TensorName::SigmaScale => sigma_scale,
                TensorName::Temperature => temperature,
                name if name.is_row_scale() && integer => {
                    bound(previous_cols) / limit * input_step / output_step
                }
                name if name.is_row_scale() => bound(previous_cols) / 127.0,
                // An integer layer's bias counts units of its sums: weight step times input step.
                _ if tensor.rows == 1 && integer => {
                    let step = bound(previous_cols) / limit * input_step;
                    libm::roundf(rng.uniform(-0.1, 0.1) / step)
                }
                _ if tensor.rows == 1 => rng.uniform(-0.1, 0.1),
                _ => {
                    let weight = rng.uniform(-bound(tensor.cols), bound(tensor.cols));
                    match tensor.storage {
                        Storage::F32 => weight,
                        Storage::F16 if weight.abs() < F16_SMALLEST_NORMAL => 0.0,
                        Storage::F16 => f32::from_bits(weight.to_bits() & 0xFFFF_E000),
                        Storage::Int8 | Storage::Int8Int16 | Storage::Int16Int16 => {
                            libm::roundf(weight / bound(tensor.cols) * limit)
                        }
                    }
                }
            });
        }
        if tensor.name.is_weight() {
            previous_cols = tensor.cols;
        }
    }
    let mut bytes = vec![0; mdn_core::encoded_len(&header).expect("valid header")];
    mdn_core::encode(&header, &parameters, &mut bytes).expect("valid parameters");
    bytes
}

/// Records for the distribution queries at `x`: quantiles and intervals across the range,
/// modes, entropy, a tempered draw, the divergences to the mixture at `previous_x`, and
/// every fifth query the density on a grid over the central 99.8 %.
fn distribution_queries(
    writer: &mut VectorWriter,
    model: &ParityModel<'_>,
    x: &[f32],
    previous_x: &[f32],
    q: usize,
    rng: &mut SplitMix64,
) {
    for p in [1e-6, 0.025, 0.5, 0.9, 0.999_9] {
        writer.push(model, Op::Quantile, x, &[p]);
    }
    writer.push(model, Op::Quantile, x, &[rng.uniform(0.0, 1.0)]);
    for level in [0.5, 0.95] {
        writer.push(model, Op::Interval, x, &[level]);
    }
    writer.push(model, Op::Modes, x, &[]);
    writer.push(model, Op::Entropy, x, &[]);
    let temperature = [1.0, 0.5, 2.0][q % 3];
    let scale = [1.0, 0.7][q % 2];
    writer.push(model, Op::Sample, x, &[temperature, scale, q as f32]);
    let pair: Vec<f32> = x.iter().chain(previous_x).copied().collect();
    for op in [Op::KlDivergence, Op::Hellinger, Op::TotalVariation] {
        writer.push(model, op, &pair, &[]);
    }
    if q.is_multiple_of(5) {
        let mixture = model.mixture(x).expect("finite input");
        // Across the central 99.8 % (quantiles stay finite where a log target's moments
        // overflow); multivariate models get a plain grid and their error.
        let (lo, hi) = match (mixture.quantile(1e-3), mixture.quantile(0.999)) {
            (Ok(lo), Ok(hi)) => (lo, hi),
            _ => (-4.0, 4.0),
        };
        let grid: Vec<f32> = (0..33)
            .map(|i| lo + (hi - lo) * (i as f32 / 32.0))
            .collect();
        writer.push(model, Op::DensityOnGrid, x, &grid);
    }
}

/// Libm inputs: ordinary values across each function's range, and the special ones.
fn libm_arguments() -> Vec<f32> {
    let mut values = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        1e-8,
        -1e-8,
        88.7,
        -87.3,
        -103.9,
        89.0,
        20.0,
        -20.0,
        f32::MIN_POSITIVE,
        1e-40,
        f32::MAX,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    let mut rng = SplitMix64::new(99);
    for _ in 0..200 {
        values.push(rng.uniform(-30.0, 30.0));
    }
    for _ in 0..100 {
        values.push(rng.uniform(0.0, 1.0));
    }
    // Where the queries use them: erfcf of standardised residuals (|z| <= ~10 inside the
    // quantile bracket, beyond it in the tails), sinf / cosf of Box-Muller angles in
    // [0, 2 pi), and the large arguments that need the full range reduction.
    for _ in 0..100 {
        values.push(rng.uniform(-12.0, 12.0));
    }
    for _ in 0..100 {
        values.push(rng.uniform(0.0, core::f32::consts::TAU));
    }
    values.extend([
        core::f32::consts::TAU,
        core::f32::consts::PI,
        core::f32::consts::FRAC_PI_2,
        1e5,
        -3e6,
        1e20,
        9.2,
        -9.2,
        10.1,
    ]);
    values
}

/// The parity vector set of a model: every query on random inputs, targets across the
/// predictive range, edge cases, and the raw libm functions the core uses.
///
/// # Errors
///
/// The blob's validation error against [`ParityModel`]: an invalid blob, or one beyond
/// the parity binary's capacities (`CapacityExceeded`).
pub fn parity_vectors(blob: &[u8], queries: usize, seed: u64) -> mdn_core::Result<Vec<u8>> {
    let blob = AlignedBlob::new(blob);
    let model = ParityModel::from_bytes(blob.bytes())?;
    let header = model.header();
    let (inputs, outputs) = (header.input_dim as usize, header.output_dim as usize);
    let log_target = header.target_transform == TargetTransform::Log;
    let mut rng = SplitMix64::new(seed);
    // The distribution queries draw from their own stream, so the inputs and targets of
    // the density queries do not depend on them.
    let mut extra = SplitMix64::new(seed ^ 0x005E_ED0F_D157);
    let mut writer = VectorWriter::default();
    let mut previous_x: Vec<f32> = vec![0.0; inputs];

    for q in 0..queries {
        // Scales reach 3, offsets 2: this spans several scaled units either side.
        let spread = if q % 10 == 9 { 1e3 } else { 8.0 };
        let x: Vec<f32> = (0..inputs).map(|_| rng.uniform(-spread, spread)).collect();
        for op in [Op::Mean, Op::StdDev, Op::Mixture] {
            writer.push(&model, op, &x, &[]);
        }
        let mixture = model.mixture(&x).expect("finite input");
        let (mean, std) = (mixture.mean(), mixture.std_dev());
        for k in [-4.0_f32, -1.5, 0.0, 0.7, 3.0] {
            let mut y: Vec<f32> = mean
                .iter()
                .zip(&std)
                .map(|(m, s)| m + k * s + rng.uniform(-0.1, 0.1) * s)
                .collect();
            if !y.iter().all(|v| v.is_finite()) {
                y = (0..outputs).map(|_| rng.uniform(0.1, 5.0)).collect();
            }
            writer.push(&model, Op::LogProb, &x, &y);
            writer.push(&model, Op::Prob, &x, &y);
            writer.push(&model, Op::Cdf, &x, &y);
            writer.push(&model, Op::AnomalyScore, &x, &y);
            writer.push(&model, Op::Crps, &x, &y);
        }
        distribution_queries(&mut writer, &model, &x, &previous_x, q, &mut extra);
        previous_x = x;
    }

    // Edge cases: error kinds and non-finite values must agree too.
    let x0 = vec![0.5_f32; inputs];
    let y0 = vec![1.0_f32; outputs];
    let mut bad_x = x0.clone();
    bad_x[0] = f32::NAN;
    let mut inf_x = x0.clone();
    inf_x[0] = f32::INFINITY;
    let mut bad_y = y0.clone();
    bad_y[0] = f32::NAN;
    let mut neg_y = y0.clone();
    neg_y[0] = if log_target { -1.0 } else { -1e30 };
    let zero_y = vec![0.0_f32; outputs];
    let huge_x = vec![3e38_f32; inputs];
    let long_x = vec![0.5_f32; inputs + 1];
    let long_y = vec![1.0_f32; outputs + 1];
    let cases: [(&[f32], &[f32]); 9] = [
        (&bad_x, &y0),
        (&inf_x, &y0),
        (&x0, &bad_y),
        (&x0, &neg_y),
        (&x0, &zero_y),
        (&huge_x, &y0),
        (&long_x, &y0),
        (&x0, &long_y),
        (&[], &y0),
    ];
    for (x, y) in cases {
        writer.push(&model, Op::LogProb, x, y);
        writer.push(&model, Op::Prob, x, y);
        writer.push(&model, Op::Mean, x, &[]);
        writer.push(&model, Op::Mixture, x, &[]);
        writer.push(&model, Op::Cdf, x, y);
        writer.push(&model, Op::AnomalyScore, x, y);
        writer.push(&model, Op::Crps, x, y);
        writer.push(&model, Op::Quantile, x, &[0.3]);
        writer.push(&model, Op::Interval, x, &[0.9]);
        writer.push(&model, Op::Modes, x, &[]);
        writer.push(&model, Op::Entropy, x, &[]);
        writer.push(&model, Op::Sample, x, &[1.0, 1.0, 7.0]);
        writer.push(&model, Op::DensityOnGrid, x, y);
        let pair: Vec<f32> = x.iter().chain(&x0).copied().collect();
        for op in [Op::KlDivergence, Op::Hellinger, Op::TotalVariation] {
            writer.push(&model, op, &pair, &[]);
        }
    }
    // Arguments out of range, and argument lists of the wrong length.
    for p in [
        0.0,
        1.0,
        -0.5,
        1.5,
        f32::NAN,
        f32::INFINITY,
        1e-30,
        1.0 - 6e-8,
        6e-8,
    ] {
        writer.push(&model, Op::Quantile, &x0, &[p]);
        writer.push(&model, Op::Interval, &x0, &[p]);
    }
    writer.push(&model, Op::Quantile, &x0, &[]);
    for (temperature, scale) in [
        (0.0, 1.0),
        (-1.0, 1.0),
        (f32::NAN, 1.0),
        (f32::INFINITY, 1.0),
        (1.0, 0.0),
        (1.0, -2.0),
        (1.0, f32::INFINITY),
        (1e-3, 1.0),
        (1e3, 1e-3),
        (1e-38, 1.0),
    ] {
        writer.push(&model, Op::Sample, &x0, &[temperature, scale, 3.0]);
    }
    writer.push(&model, Op::Sample, &x0, &[]);
    let mut nan_grid = vec![0.5_f32; 5];
    nan_grid[2] = f32::NAN;
    writer.push(&model, Op::DensityOnGrid, &x0, &nan_grid);
    writer.push(&model, Op::DensityOnGrid, &x0, &[]);
    let odd: Vec<f32> = vec![0.5; 2 * inputs + 1];
    let wide_pair: Vec<f32> = x0.iter().chain(&huge_x).copied().collect();
    for op in [Op::KlDivergence, Op::Hellinger, Op::TotalVariation] {
        writer.push(&model, op, &odd, &[]);
        writer.push(&model, op, &wide_pair, &[]);
        writer.push(&model, op, &[], &[]);
    }

    for op in [
        Op::Expf,
        Op::Logf,
        Op::Log1pf,
        Op::Expm1f,
        Op::Tanhf,
        Op::Sqrtf,
        Op::Erfcf,
        Op::Sinf,
        Op::Cosf,
        Op::Erff,
    ] {
        for a in libm_arguments() {
            writer.push(&model, op, &[], &[a]);
        }
    }
    Ok(writer.finish())
}
