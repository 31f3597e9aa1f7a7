//! No input makes mdn-core panic: arbitrary bytes, mutated and truncated valid blobs, and
//! arbitrary finite queries on valid models all return a value or an `Error`.
//!
//! Firmware cannot unwind, so a panic on a corrupt flash partition or an odd sensor reading
//! would be a reset loop; these properties back the crate's "no panics" promise.

mod common;

use common::{fix_crc, set_declared_len};
use mdn_core::{
    Activation, Blob, Error, Header, HiddenWidths, HostModel, Layout, Model, Names, SigmaTransform,
    Storage, TargetTransform, TensorName, encode, encoded_len,
};
use mdn_core::{Mixture, rand_core::SeedableRng};
use proptest::prelude::*;
use rand_pcg::Pcg32;

/// Small capacities, so that capacity checks are exercised as well as evaluation.
type SmallModel<'a> = Model<'a, 4, 8, 4, 3>;

/// Parses `bytes` every way the API offers (also at a misaligned address) and, if a model
/// comes out, queries it.
fn exercise(bytes: &[u8]) {
    let _ = Blob::from_bytes(bytes);
    let _ = Blob::from_prefix(bytes);
    let (buffer, shift) = common::misaligned_copy(bytes);
    let _ = Blob::from_bytes(&buffer[shift..shift + bytes.len()]);
    let _ = Blob::from_prefix(&buffer[shift..]);
    if let Ok(model) = HostModel::from_bytes(bytes) {
        query(&model);
    }
    if let Ok((model, _)) = SmallModel::from_prefix(bytes) {
        query(&model);
    }
}

fn query<const I: usize, const W: usize, const K: usize, const D: usize>(
    model: &Model<'_, I, W, K, D>,
) {
    let x = vec![0.5_f32; model.header().input_dim as usize];
    let y = vec![1.5_f32; model.header().output_dim as usize];
    let _ = model.log_prob(&x, &y);
    let _ = model.prob(&x, &y);
    let _ = model.mean(&x);
    let _ = model.variance(&x);
    if let Ok(mixture) = model.mixture(&x) {
        let _ = mixture.std_dev();
        let _ = mixture.iter().count();
        distribution_queries(&mixture, &y);
    }
}

/// Every distribution query of a mixture, with valid and invalid arguments.
/// `values - ln(sum(exp(values)))`, computed in f64 (NaN where that is undefined).
fn normalised(values: &[f32]) -> Vec<f32> {
    let lse = values.iter().map(|&v| f64::from(v).exp()).sum::<f64>().ln();
    values
        .iter()
        .map(|&v| (f64::from(v) - lse) as f32)
        .collect()
}

fn distribution_queries<const K: usize, const D: usize>(mixture: &Mixture<K, D>, y: &[f32]) {
    let _ = mixture.cdf(y);
    let _ = mixture.crps(y);
    let _ = mixture.anomaly_score(y);
    for p in [1e-30, 1e-6, 0.5, 0.999_999, 0.0, f32::NAN] {
        let _ = mixture.quantile(p);
        let _ = mixture.interval(p);
    }
    let _ = mixture.modes();
    let _ = mixture.entropy();
    let _ = mixture.kl_divergence(mixture);
    let _ = mixture.hellinger_distance(mixture);
    let _ = mixture.total_variation_distance(mixture);
    let mut rng = Pcg32::seed_from_u64(1);
    let _ = mixture.sample(&mut rng);
    let _ = mixture.sample_tempered(&mut rng, 0.1, 2.0);
    let _ = mixture.sample_tempered(&mut rng, 0.0, 1.0);
    let grid = [-1.0, 0.0, 1.5, 1e30];
    let mut out = [0.0; 4];
    let _ = mixture.density_on_grid(&grid, &mut out);
}

const ACTIVATIONS: [Activation; 2] = [Activation::Relu, Activation::Tanh];
const SIGMAS: [SigmaTransform; 3] = [
    SigmaTransform::Nnelu,
    SigmaTransform::Softplus,
    SigmaTransform::Exp,
];
const TARGETS: [TargetTransform; 2] = [TargetTransform::Identity, TargetTransform::Log];

/// Shape and codes of a random valid model.
#[derive(Debug, Clone)]
struct Shape {
    inputs: u32,
    hidden: Vec<u32>,
    activation: Activation,
    sigma: SigmaTransform,
    floor: f32,
    components: u32,
    networks: u32,
    outputs: u32,
    target: TargetTransform,
}

impl Shape {
    fn header(&self) -> Header<'static> {
        Header {
            input_dim: self.inputs,
            output_dim: self.outputs,
            components: self.components,
            networks: self.networks,
            hidden: HiddenWidths::from_slice(&self.hidden).unwrap(),
            storage: Storage::uniform(Storage::F32, self.hidden.len()),
            activation: self.activation,
            sigma: self.sigma,
            sigma_floor: self.floor,
            target_transform: self.target,
            feature_names: common::names("feature_", self.inputs),
            target_names: common::names("target_", self.outputs),
        }
    }
}

fn shape() -> impl Strategy<Value = Shape> {
    (
        1_u32..=5,
        prop::collection::vec(1_u32..=10, 0..=3),
        prop::sample::select(ACTIVATIONS.as_slice()),
        prop::sample::select(SIGMAS.as_slice()),
        prop_oneof![Just(0.0_f32), 0.0_f32..1.0],
        1_u32..=5,
        1_u32..=3,
        1_u32..=3,
        prop::sample::select(TARGETS.as_slice()),
    )
        .prop_map(
            |(inputs, hidden, activation, sigma, floor, components, networks, outputs, target)| {
                Shape {
                    inputs,
                    hidden,
                    activation,
                    sigma,
                    floor,
                    components,
                    networks,
                    outputs,
                    target,
                }
            },
        )
}

/// A finite f32 of any magnitude, from subnormals to `f32::MAX`.
fn any_finite() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("finite", |v| v.is_finite())
}

/// A valid blob: random shape, parameters either moderate or of any finite magnitude.
fn valid_blob() -> impl Strategy<Value = Vec<u8>> {
    (shape(), any::<bool>()).prop_flat_map(|(shape, extreme)| {
        let header = shape.header();
        let count = Layout::new(&header).unwrap().parameter_count();
        let value = if extreme {
            any_finite().boxed()
        } else {
            (-3.0_f32..3.0).boxed()
        };
        prop::collection::vec(value, count).prop_map(move |mut parameters| {
            let header = shape.header();
            let layout = Layout::new(&header).unwrap();
            for tensor in layout.tensors().filter(|t| t.name.is_scale()) {
                for p in &mut parameters[tensor.offset..tensor.offset + tensor.len()] {
                    *p = p.abs().max(f32::MIN_POSITIVE);
                }
            }
            // Equal network weights, which add up to 1 within the format's tolerance.
            let weights = layout.find(TensorName::NetworkLogWeights).unwrap();
            let equal = -(weights.len() as f32).ln();
            parameters[weights.offset..weights.offset + weights.len()].fill(equal);
            let mut bytes = vec![0; encoded_len(&header).unwrap()];
            encode(&header, &parameters, &mut bytes).unwrap();
            bytes
        })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        exercise(&bytes);
    }

    /// Random bytes behind a valid prefix and under a correct CRC reach the header decoder
    /// and the checks after it, which random bytes alone almost never do.
    #[test]
    fn arbitrary_body_with_valid_prefix_and_crc_never_panics(
        body in prop::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut bytes = mdn_core::MAGIC.to_vec();
        bytes.extend_from_slice(&mdn_core::FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&body);
        bytes.extend_from_slice(&[0; 4]);
        set_declared_len(&mut bytes);
        exercise(&bytes);
    }

    /// Plausible headers with random field values (zero dimensions, huge widths, unknown
    /// codes, odd floors) over a random parameter section.
    #[test]
    fn crafted_headers_never_panic(
        dims in prop::array::uniform4(prop_oneof![0_u32..4, any::<u32>()]),
        hidden in prop::collection::vec(prop_oneof![0_u32..12, any::<u32>()], 0..10),
        codes in prop::array::uniform3(prop_oneof![0_u8..3, any::<u8>()]),
        storage in prop::collection::vec(prop_oneof![0_u8..3, any::<u8>()], 0..11),
        floor in any::<f32>(),
        names in (0_usize..4, 0_usize..4),
        parameters in prop::collection::vec(any::<f32>(), 0..200),
    ) {
        let raw = common::RawHeader {
            input_dim: dims[0],
            output_dim: dims[1],
            components: dims[2],
            networks: dims[3],
            hidden,
            storage,
            activation: codes[0],
            sigma: codes[1],
            sigma_floor: floor,
            target_transform: codes[2],
            feature_names: vec![b'\n'; names.0],
            target_names: vec![b'\n'; names.1],
        };
        exercise(&common::raw_blob(&raw.encode(), &parameters));
    }

    #[test]
    fn mutated_valid_blobs_never_panic(
        bytes in valid_blob(),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        keep_crc_valid in any::<bool>(),
    ) {
        let mut bytes = bytes;
        for (index, value) in mutations {
            let i = index.index(bytes.len());
            bytes[i] = value;
        }
        if keep_crc_valid {
            fix_crc(&mut bytes);
        }
        exercise(&bytes);
    }

    #[test]
    fn single_bit_flips_are_detected(bytes in valid_blob(), bit in any::<prop::sample::Index>()) {
        // CRC-32 detects every single-bit error, so no flipped blob may pass as valid.
        let mut bytes = bytes;
        let bit = bit.index(bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(Blob::from_bytes(&bytes).is_err());
        exercise(&bytes);
    }

    #[test]
    fn valid_blobs_are_accepted(bytes in valid_blob()) {
        let blob = Blob::from_bytes(&bytes).unwrap();
        prop_assert_eq!(blob.len(), bytes.len());
        let model = HostModel::from_bytes(&bytes).unwrap();
        query(&model);
    }
}

proptest! {
    // Each case parses every prefix of a blob of up to a few hundred bytes.
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_truncation_is_an_error(bytes in valid_blob()) {
        for n in 0..bytes.len() {
            let prefix = &bytes[..n];
            prop_assert!(Blob::from_bytes(prefix).is_err(), "{} of {} bytes", n, bytes.len());
            prop_assert!(Blob::from_prefix(prefix).is_err());
            prop_assert!(HostModel::from_bytes(prefix).is_err());
        }
        // A blob declares its length, so what is missing is always reported as truncation.
        let err = Blob::from_bytes(&bytes[..bytes.len() - 1]).unwrap_err();
        prop_assert!(matches!(err, Error::Truncated { .. }), "{:?}", err);
    }

    #[test]
    fn finite_queries_never_panic(
        bytes in valid_blob(),
        x in prop::collection::vec(any_finite(), 5),
        y in prop::collection::vec(any_finite(), 3),
    ) {
        let model = HostModel::from_bytes(&bytes).unwrap();
        let inputs = model.header().input_dim as usize;
        let outputs = model.header().output_dim as usize;
        let (x, y) = (&x[..inputs], &y[..outputs]);
        let mixture = model.mixture(x).unwrap();
        let log_p = model.log_prob(x, y).unwrap();
        let _ = model.prob(x, y).unwrap();
        let _ = model.mean(x).unwrap();
        let _ = model.variance(x).unwrap();
        let _ = mixture.std_dev();
        // Shapes never depend on values.
        let header = model.header();
        prop_assert_eq!(mixture.components(), (header.components * header.networks) as usize);
        prop_assert_eq!(mixture.dims(), outputs);
        // The density is never positive infinity: sigmas are floored at > 0 or finite.
        prop_assert!(log_p != f32::INFINITY || mixture.iter().any(|c| c.sigmas.contains(&0.0)));
        if let Ok(small) = SmallModel::from_bytes(&bytes) {
            let same = small.log_prob(x, y).unwrap();
            prop_assert!(same.to_bits() == log_p.to_bits() || (same.is_nan() && log_p.is_nan()));
        }
    }

    /// Wrong lengths and non-finite values are errors, whatever else the query holds.
    #[test]
    fn malformed_queries_are_errors(
        bytes in valid_blob(),
        x in prop::collection::vec(any::<f32>(), 0..8),
        y in prop::collection::vec(any::<f32>(), 0..8),
    ) {
        let model = HostModel::from_bytes(&bytes).unwrap();
        let inputs = model.header().input_dim as usize;
        let outputs = model.header().output_dim as usize;
        let result = model.log_prob(&x, &y);
        let x_ok = x.len() == inputs && x.iter().all(|v| v.is_finite());
        let y_ok = y.len() == outputs && y.iter().all(|v| v.is_finite());
        prop_assert_eq!(result.is_ok(), x_ok && y_ok);
        prop_assert_eq!(model.mean(&x).is_ok(), x_ok);
    }
}

/// Any `f32`, with the special values and extremes well represented.
fn any_value() -> impl Strategy<Value = f32> {
    prop_oneof![
        any::<f32>(),
        Just(0.0),
        Just(-0.0),
        Just(f32::NAN),
        Just(f32::INFINITY),
        Just(f32::NEG_INFINITY),
        Just(f32::MAX),
        Just(f32::MIN_POSITIVE),
        Just(1e-30),
        -100.0_f32..100.0,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// `Mixture::new` accepts exactly the parameters it documents, whatever it is given
    /// (NaN, infinite, zero or negative sigmas and means; weights that do not add up to 1),
    /// and every mixture it accepts, extreme values included, answers every distribution
    /// query without panicking, in bounded time. (A model's own mixture may hold NaN or
    /// zero sigmas after an overflow: `finite_queries_never_panic` queries those, and the
    /// firmware's `nopanic` build proves at link time that no query can panic.)
    #[test]
    fn mixtures_accept_exactly_valid_parameters_and_never_panic(
        raw_log_weights in prop::collection::vec(any_value(), 1..5),
        normalise in any::<bool>(),
        means in prop::collection::vec(any_value(), 4),
        sigmas in prop::collection::vec(any_value(), 4),
        y in any_value(),
        log_target in any::<bool>(),
    ) {
        let k = raw_log_weights.len();
        // Normalised in f64, so that many draws have weights that add up to 1.
        let log_weights = if normalise { normalised(&raw_log_weights) } else { raw_log_weights };
        let (means, sigmas) = (&means[..k], &sigmas[..k]);
        let transform = if log_target { TargetTransform::Log } else { TargetTransform::Identity };
        let total: f64 = log_weights.iter().map(|&w| f64::from(w).exp()).sum();
        let distance = (total - 1.0).abs();
        // Sums within a tenth of the tolerance of its edge may round either way in f32.
        prop_assume!(!(0.9e-4..=1.1e-4).contains(&distance));
        let expected = if distance.is_nan() || distance > 1e-4 {
            Err(Error::InvalidMixtureWeights)
        } else if let Some(index) = means.iter().position(|m| !m.is_finite()) {
            Err(Error::NonFiniteMean { index })
        } else if let Some(index) = sigmas.iter().position(|s| !(s.is_finite() && *s > 0.0)) {
            Err(Error::InvalidSigma { index })
        } else {
            Ok(())
        };
        let result = Mixture::<4, 1>::new(&log_weights, means, sigmas, 1, transform);
        prop_assert_eq!(result.as_ref().map(|_| ()).map_err(|e| *e), expected);
        if let Ok(mixture) = result {
            distribution_queries(&mixture, &[y]);
        }
    }

    /// On valid mixtures the answers keep their invariants.
    #[test]
    fn distribution_queries_keep_their_invariants(
        weights in prop::collection::vec(0.01_f32..1.0, 1..5),
        means in prop::collection::vec(-20.0_f32..20.0, 4),
        sigmas in prop::collection::vec(0.01_f32..5.0, 4),
        p in 1e-5_f32..0.99999,
        log_target in any::<bool>(),
    ) {
        let k = weights.len();
        let total: f32 = weights.iter().sum();
        let log_weights: Vec<f32> = weights.iter().map(|w| (w / total).ln()).collect();
        let transform = if log_target { TargetTransform::Log } else { TargetTransform::Identity };
        let m = Mixture::<4, 1>::new(&log_weights, &means[..k], &sigmas[..k], 1, transform).unwrap();
        let q = m.quantile(p).unwrap();
        // The documented bound: f32 rounding of F, plus the density times the spacing of
        // f32 values at the quantile, both in the components' space (ln y for a log
        // target, where cdf's logf(q) rounds once more: twice the spacing).
        let (t, density_t, roundings) = if log_target {
            (q.ln(), m.prob(&[q]).unwrap() * q, 2.0)
        } else {
            (q, m.prob(&[q]).unwrap(), 1.0)
        };
        let spacing = f32::from_bits(t.abs().to_bits() + 1) - t.abs();
        let tolerance = 3e-7 + 2e-6 * p + roundings * density_t * spacing;
        let error = (m.cdf(&[q]).unwrap()[0] - p).abs();
        prop_assert!(error <= tolerance, "p {} q {} error {} > {}", p, q, error, tolerance);
        let i = m.interval(p).unwrap();
        prop_assert!(i.lower <= i.upper);
        let modes = m.modes().unwrap();
        prop_assert!(!modes.is_empty() && modes.len() <= k);
        prop_assert!(modes.windows(2).all(|w| w[0].location < w[1].location));
        let best = modes.highest().unwrap().density;
        prop_assert!(modes.iter().all(|mode| mode.density <= best * (1.0 + 1e-6)));
        prop_assert!(m.entropy().unwrap().is_finite());
        prop_assert_eq!(m.kl_divergence(&m).unwrap(), 0.0);
        prop_assert_eq!(m.hellinger_distance(&m).unwrap(), 0.0);
        prop_assert_eq!(m.total_variation_distance(&m).unwrap(), 0.0);
        let shifted: Vec<f32> = means.iter().map(|v| v + 1.0).collect();
        let other = Mixture::<4, 1>::new(&log_weights, &shifted[..k], &sigmas[..k], 1, transform)
            .unwrap();
        let (kl, h, tv) = (
            m.kl_divergence(&other).unwrap(),
            m.hellinger_distance(&other).unwrap(),
            m.total_variation_distance(&other).unwrap(),
        );
        prop_assert!(kl > 0.0 && (0.0..=1.0).contains(&h) && (0.0..=1.0).contains(&tv));
        // Pinsker and the Hellinger bounds on total variation: H^2 <= TV <= sqrt(2) H,
        // TV <= sqrt(KL / 2); with room for the documented quadrature error.
        prop_assert!(h * h <= tv + 1e-3 && tv <= 2.0_f32.sqrt() * h + 1e-3, "{} {}", h, tv);
        prop_assert!(tv <= (kl / 2.0).sqrt() + 1e-3, "{} {}", tv, kl);
    }
}

#[test]
fn names_are_checked_by_count_not_content() {
    // Empty names are names: a one-input model may call its input "".
    let header = Header {
        feature_names: Names::new(""),
        ..common::tiny_header()
    };
    let mut bytes = vec![0; encoded_len(&header).unwrap()];
    encode(&header, &common::filled(&header, 1.0), &mut bytes).unwrap();
    assert_eq!(
        Blob::from_bytes(&bytes)
            .unwrap()
            .header()
            .feature_names
            .as_str(),
        ""
    );
}

#[test]
fn capacities_do_not_change_results() {
    // `Model`'s promise: loops run over the model's sizes, never the capacities. Widths and
    // output counts around multiples of 4 catch kernels that block rows or unroll inputs.
    let mut rng = common::Rng(7);
    for width in 1..=9 {
        for outputs in 1..=5 {
            let header = common::header(
                3,
                &[width, width + 2],
                Activation::Tanh,
                SigmaTransform::Softplus,
                1e-3,
                3,
                outputs,
                TargetTransform::Identity,
            );
            let parameters = common::parameters(&header, &mut rng, 1.0, (-1.0, 1.0));
            let bytes = common::blob(&header, &parameters);
            let exact = Model::<3, 11, 3, 5>::from_bytes(&bytes).unwrap();
            let host = HostModel::from_bytes(&bytes).unwrap();
            let x = [0.3, -1.2, 2.0];
            let y: Vec<f32> = (0..outputs).map(|d| d as f32 * 0.5 - 0.4).collect();
            let (a, b) = (exact.mixture(&x).unwrap(), host.mixture(&x).unwrap());
            for (ca, cb) in a.iter().zip(b.iter()) {
                assert_eq!(ca.log_weight.to_bits(), cb.log_weight.to_bits());
                assert_eq!(ca.means, cb.means, "width {width}, outputs {outputs}");
                assert_eq!(ca.sigmas, cb.sigmas, "width {width}, outputs {outputs}");
            }
            assert_eq!(
                exact.log_prob(&x, &y).unwrap().to_bits(),
                host.log_prob(&x, &y).unwrap().to_bits(),
                "width {width}, outputs {outputs}"
            );
        }
    }
}
