//! # mdn-core
//!
//! Evaluate Mixture Density Networks on a microcontroller: `no_std`, no heap, no `unsafe`,
//! no panics, and the same bits on a Cortex-M4F (or a Cortex-M0 without an FPU) as on an
//! x86_64 workstation.
//!
//! A Mixture Density Network maps an input `x` to a whole predictive distribution
//!
//! ```text
//! p(y|x) = sum_k alpha_k(x) * prod_d N(y_d; mu_kd(x), sigma_kd(x))
//! ```
//!
//! with mixing weights `alpha` from a softmax and `sigma > 0` from a positive transform.
//! `mdn-train` fits such a network (by default an ensemble of several, merged into one
//! mixture of every network's components) on a workstation and writes it, with its data
//! scaling, as one blob; this crate validates that blob and answers queries from it.
//!
//! ## Layers
//!
//! Each layer is a module, and each hands a checked value to the next:
//!
//! 1. **bytes -> [`Blob`]** (`blob`): magic, version, declared length, CRC-32, postcard
//!    [`Header`], zero padding, parameter section size, finite parameters, positive
//!    scales, network weights that add up to 1. Nothing is copied: parameters stay
//!    little-endian words in the blob (`f32` values, or packed `f16`, `int8` and 16-bit
//!    weights: each dense layer's [`Storage`]).
//!    A blob that arrives in pieces (a field update over UART, BLE or radio, each chunk
//!    written straight to a flash slot) is validated as it arrives by [`StreamValidator`]
//!    (`blob::stream`), with [`Blob::from_bytes`]'s decision (or [`Model::from_bytes`]'s
//!    for given capacities) and without a copy of the blob: the prefix checked byte by
//!    byte, a running [`Crc32`], the header's bounded fields decoded by postcard from a
//!    buffer of [`HEADER_BUFFER_LEN`] bytes and its names checked as they pass, each
//!    parameter word checked as it completes; it refuses as soon as the bytes so far rule
//!    the blob out.
//! 2. **[`Blob`] -> [`Model`]** (`model`): the header is checked against the evaluator's
//!    capacities (const generics), and the parameter section is cut into the shared
//!    tensors and `M` networks in the order of the one [`Layout`] (`layout`; the
//!    evaluator computes the same offsets with arithmetic, and a test holds the two
//!    together). From here on evaluation is total.
//! 3. **network** (`network`): input scaling, then for each of the `M` networks its hidden
//!    layers and its three heads as one layer (one set of placements, bound to each
//!    network's words with checked slicing), with iterators only: no index, no failure;
//!    network `m` fills components `m*K .. m*K + K` of one mixture. The blob stores each
//!    layer's weights in blocks of [`ROW_BLOCK`] rows, column by column
//!    ([`Layout::stored_position`]), so the kernel ([`kernel`]) reads several blocks front to
//!    back and loads each input once for all their running sums: two blocks (16 sums in
//!    registers) on a Cortex-M4F, four (32 sums in eight SSE2 registers) on a host. A
//!    target can supply its own kernel for two blocks with [`Model::set_kernel`] (the
//!    `mdn-cortex-m` crate has one in assembly); it must give the portable kernel's bits.
//!    `network::dense` holds a layer and its kernel (layers of packed weights run a
//!    portable loop that converts each weight to `f32` exactly, then sums as the kernel
//!    does), `network::batch` the path of [`Model::log_prob_batch`] (16 rows at a time,
//!    each with the single-row bits, for models of `f32` weights), `network::integer` an
//!    integer network's layers (the scaled input quantized to `int16` steps, exact integer
//!    sums in the `f32` scratch buffers' words, requantized by each row's factor; FORMAT.md
//!    section 5, "Integer networks"). The calibration stored
//!    in the blob (a sigma scale per target, a temperature on the mixing logits) is applied
//!    as the mixture is formed.
//!    One word for one thing: a *network* is one of the `M` ([`Header::networks`]); only
//!    the blob's own names keep the format's word (`members.m.*`, FORMAT.md section 3).
//! 4. **[`Mixture`]** (`mixture`): log mixing weights, means and sigmas in original target
//!    units; the density [`Mixture::log_prob`], [`Mixture::prob`],
//!    [`Mixture::anomaly_score`], [`Mixture::density_on_grid`], and the moments
//!    [`Mixture::mean`], [`Mixture::variance`].
//! 5. **derived quantities** (`mixture::*`, each over a non-generic one-dimensional view):
//!    marginal [`Mixture::cdf`], [`Mixture::quantile`] and central [`Mixture::interval`]
//!    (`quantile`); the continuous ranked probability score [`Mixture::crps`] (`crps`);
//!    every mode with its density, [`Mixture::modes`] (`modes`);
//!    [`Mixture::entropy`], [`Mixture::kl_divergence`], [`Mixture::hellinger_distance`],
//!    [`Mixture::total_variation_distance`] (`divergence`); draws with any
//!    [`rand_core::Rng`], optionally tempered, [`Mixture::sample`] (`sample`). [`Model`]
//!    has shortcuts that take `x`.
//! 6. **drift watch** (`monitor`): [`CalibrationMonitor`], fed with each mixture and the
//!    `y` observed later, keeps a PIT histogram, interval coverage, the mean `log p` and a
//!    windowed Kolmogorov-Smirnov test that flags when the model no longer describes the
//!    data, at a stated false-alarm rate.
//!
//! The scalar arithmetic (activations, sigma transforms, the Gaussian log-density and
//! tails, the log-sum-exp, Box-Muller) lives in `math`, once: every transcendental goes
//! through `libm` (one release, pinned exactly: its bits are part of the contract), there
//! is no fused multiply-add and one summation order, so the device computes the bits the
//! host computes; iterative queries (quantiles, modes) have fixed caps and deterministic
//! stopping rules, so they stop at the same step on both.
//! `FORMAT.md` at the repository root describes the bytes and the arithmetic precisely
//! enough for another runtime to reproduce them.
//!
//! ## The format contract
//!
//! [`MAGIC`], [`FORMAT_VERSION`] and the declared length are a fixed 10-byte prefix that any
//! reader can check without serde. The writer ([`encode`], [`encoded_len`]) lives here too,
//! so the trainer, the firmware and the tests share one definition of the format.
//!
//! ## No panics
//!
//! No function of this crate panics on any input; this is proven at link time for the
//! ones on a device's path: validation ([`Blob::from_bytes`], [`Model::from_bytes`] and
//! their `from_prefix`, [`StreamValidator`]), [`Model::mixture`], [`Model::log_prob`],
//! [`Model::log_prob_batch`], [`Mixture::new`] and every [`Mixture`] query, the writer
//! ([`encode`], [`encoded_len`]), the layout's readers ([`Layout::tensors`],
//! [`Layout::stored_position`], [`Layout::find`], [`Blob::parameter_values`]) and the drift
//! monitor ([`CalibrationMonitor`] and its accessors, [`ks_statistic`]).
//! `firmware-example`'s `nopanic` binary calls all of them on bytes the compiler cannot
//! see and links only if no panic path remains, for the Cortex-M4F and for ARMv6-M
//! (release builds, where arithmetic wraps instead of panicking; `scripts/check.sh` links
//! both). Outside the proof, and covered by tests only: [`Model`]'s other shortcuts (each
//! [`Model::mixture`] followed by a proven [`Mixture`] query), accessors, `Display`, and
//! the constructors of plain values such as [`HiddenWidths`] and [`Names`].
//!
//! ## Features and dependencies
//!
//! | feature | default | effect |
//! |---|---|---|
//! | `defmt` | no | `defmt::Format` on every public type (forwarded to `heapless`) |
//! | `tanh` | yes | networks with the tanh activation (libm's `tanhf`) |
//! | `f16` | yes | layers whose weights are stored as IEEE binary16 |
//! | `int8` | yes | layers whose weights are stored as `int8` with a scale per row |
//! | `int16` | yes | integer networks: `int8` or 16-bit weights on `int16` activations, exact integer sums ([`Storage::Int8Int16`], [`Storage::Int16Int16`]), for cores without an FPU |
//!
//! Without `tanh`, `f16`, `int8` or `int16`, a blob that needs it is refused when its
//! header is decoded ([`Error::Unsupported`]) and its code is not linked: a firmware for
//! ReLU models of `f32` weights turns the four off (`default-features = false`) and saves
//! their flash and stack (`firmware-example`'s `minimal`); one for integer networks only
//! keeps `int16`.
//!
//! Sampling takes any generator implementing [`rand_core::Rng`] (rand_core 0.10, which
//! renamed `RngCore` to `Rng`), re-exported as [`rand_core`]; `rand_pcg::Pcg32` is a small
//! seeded choice for a device. Queries that are not called are not linked: a firmware
//! that only calls `log_prob` pays nothing for the others.
//!
//! ## MSRV
//!
//! Rust 1.88 (`<[T]>::as_chunks`).
//!
//! ## Example
//!
//! ```
//! use mdn_core::{Activation, Header, HiddenWidths, Layout, Model, Names, SigmaTransform,
//!     Storage, TargetTransform};
//!
//! // Normally a blob comes from `mdn train`; here we write a tiny one: one input, no hidden
//! // layer, one component, so p(y|x) = N(y; 2x + 1, 0.5^2).
//! let header = Header {
//!     input_dim: 1, output_dim: 1, components: 1, networks: 1, hidden: HiddenWidths::new(),
//!     storage: Storage::uniform(Storage::F32, 0),
//!     activation: Activation::Relu, sigma: SigmaTransform::Exp, sigma_floor: 0.0,
//!     target_transform: TargetTransform::Identity,
//!     feature_names: Names::new("x"), target_names: Names::new("y"),
//! };
//! let parameters = [
//!     0.0, 1.0, // input scaler: offset, scale
//!     0.0, 1.0, // target scaler: offset, scale
//!     0.0,      // members.log_weight: one network, weight 1
//!     1.0, 1.0, // calibration: sigma scale, temperature (the identity)
//!     0.0, 0.0, // logits: weight, bias
//!     2.0, 1.0, // means: weight, bias
//!     0.0, 0.5_f32.ln(), // sigmas: weight, bias (exp transform)
//! ];
//! assert_eq!(Layout::new(&header)?.parameter_count(), parameters.len());
//! let mut bytes = [0_u8; 128];
//! let len = mdn_core::encode(&header, &parameters, &mut bytes)?;
//!
//! // On the device: validate once, then query.
//! let model = Model::<1, 1, 1, 1>::from_bytes(&bytes[..len])?;
//! let mean = model.mean(&[3.0])?;
//! assert_eq!(mean[0], 7.0);
//! let log_p = model.log_prob(&[3.0], &[7.0])?;
//! assert!((log_p - (-(0.5_f32.ln()) - 0.918_938_5)).abs() < 1e-6);
//!
//! // The rest of the distribution: a 90 % interval, the most likely value, a draw.
//! let interval = model.interval(&[3.0], 0.9)?;
//! assert!((interval.lower - (7.0 - 1.644_853_6 * 0.5)).abs() < 1e-5);
//! let modes = model.modes(&[3.0])?;
//! assert_eq!(modes.highest().map(|m| m.location), Some(7.0));
//! let mut rng = <rand_pcg::Pcg32 as mdn_core::rand_core::SeedableRng>::seed_from_u64(1);
//! let y = model.mixture(&[3.0])?.sample(&mut rng);
//! assert!((y[0] - 7.0).abs() < 5.0 * 0.5);
//! # Ok::<(), mdn_core::Error>(())
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod blob;
mod error;
mod half;
mod header;
pub mod kernel;
mod layout;
mod math;
mod mixture;
mod model;
mod monitor;
mod network;

pub use blob::{
    Aligned, Blob, Crc32, FORMAT_VERSION, HEADER_BUFFER_LEN, MAGIC, PREFIX_LEN, StreamValidator,
    StreamedBlob, TRAILER_LEN, crc32, encode, encoded_len,
};
pub use error::{CodedField, Dimension, Error, Result};
pub use header::{
    Activation, Capacities, Header, HiddenWidths, LayerStorage, MAX_DENSE_LAYERS,
    MAX_HIDDEN_LAYERS, NAME_SEPARATOR, Names, SigmaTransform, Storage, TargetTransform,
};
pub use layout::{Layout, ROW_BLOCK, StoredAt, TensorInfo, TensorName};
pub use math::{HALF_LN_TWO_PI, SOFTPLUS_THRESHOLD, WEIGHT_SUM_TOLERANCE};
pub use mixture::{Component, Interval, Mixture, Mode, Modes, PerOutput};
pub use model::{HostModel, Model};
pub use monitor::{COVERAGE_LEVELS, CalibrationMonitor, Verdict, ks_statistic};
/// The random number generator traits [`Mixture::sample`] takes (rand_core 0.10).
pub use rand_core;

#[doc(hidden)]
pub use doc_support::{ExampleBlob, doc_example_blob, doc_example_header};

/// A small model for the documentation examples (not part of the API).
#[doc(hidden)]
mod doc_support {
    use crate::{
        Activation, Header, HiddenWidths, Layout, Names, SigmaTransform, Storage, TargetTransform,
        encode,
    };

    /// Bytes of the example blob, 4-byte aligned.
    #[derive(Debug)]
    pub struct ExampleBlob {
        bytes: crate::Aligned<[u8; 512]>,
        len: usize,
    }

    impl core::ops::Deref for ExampleBlob {
        type Target = [u8];

        fn deref(&self) -> &[u8] {
            self.bytes.0.get(..self.len).unwrap_or(&[])
        }
    }

    /// 1 input, one hidden layer of 3, K = 2, D = 1.
    pub fn doc_example_header() -> Header<'static> {
        let mut hidden = HiddenWidths::new();
        let _ = hidden.push(3);
        Header {
            input_dim: 1,
            output_dim: 1,
            components: 2,
            networks: 1,
            hidden,
            storage: Storage::uniform(Storage::F32, 1),
            activation: Activation::Relu,
            sigma: SigmaTransform::Nnelu,
            sigma_floor: 1e-3,
            target_transform: TargetTransform::Identity,
            feature_names: Names::new("x"),
            target_names: Names::new("y"),
        }
    }

    /// The example blob, with deterministic parameters and identity scalers.
    pub fn doc_example_blob() -> ExampleBlob {
        let header = doc_example_header();
        let mut parameters = [0.0_f32; 64];
        let count = Layout::new(&header).map_or(0, |l| l.parameter_count());
        for (i, p) in parameters.iter_mut().enumerate().take(count) {
            // Scales (indices 1 and 3) must be positive, the one network's log weight
            // (index 4) is ln 1, the calibration (5 and 6) is the identity; the rest vary
            // in [-0.8, 0.8], the values of format version 3, which had no calibration.
            let version3 = if i > 6 { i - 2 } else { i };
            *p = if matches!(i, 1 | 3 | 5 | 6) {
                1.0
            } else if i == 4 {
                0.0
            } else {
                ((version3 * 7 % 17) as f32 - 8.0) / 10.0
            };
        }
        let mut bytes = crate::Aligned([0_u8; 512]);
        let len = encode(
            &header,
            parameters.get(..count).unwrap_or(&[]),
            &mut bytes.0,
        )
        .unwrap_or(0);
        ExampleBlob { bytes, len }
    }
}
