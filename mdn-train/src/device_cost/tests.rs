//! Tests of the device cost model on blobs written here: exact sizes, growth with the
//! model, the worst case above every input's cost, and the replay against mdn-core.

use mdn_core::{
    Activation, Header, HiddenWidths, HostModel, Layout, Names, SigmaTransform, TargetTransform,
    TensorName,
};

use super::*;
use crate::aligned::AlignedBytes;

/// A header with `inputs` features, `hidden` widths, `k` components, `m` networks and `d`
/// outputs.
fn header(
    inputs: u32,
    hidden: &[u32],
    (k, m, d): (u32, u32, u32),
    activation: Activation,
    sigma: SigmaTransform,
    target: TargetTransform,
) -> Header<'static> {
    const FEATURES: &str = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\nl\nm";
    const TARGETS: &str = "y0\ny1\ny2";
    let names = |all: &'static str, n: u32| {
        let end = all
            .match_indices('\n')
            .nth(n as usize - 1)
            .map_or(all.len(), |(i, _)| i);
        Names::new(&all[..end])
    };
    Header {
        input_dim: inputs,
        output_dim: d,
        components: k,
        networks: m,
        hidden: HiddenWidths::from_slice(hidden).unwrap(),
        storage: mdn_core::Storage::uniform(mdn_core::Storage::F32, hidden.len()),
        activation,
        sigma,
        sigma_floor: 1e-3,
        target_transform: target,
        feature_names: names(FEATURES, inputs),
        target_names: names(TARGETS, d),
    }
}

/// A blob for `header` with parameters from a fixed sequence: weights of both signs, so
/// that ReLUs are zero for some inputs, scalers that move the inputs around.
fn blob(header: &Header<'_>) -> AlignedBytes {
    let layout = Layout::new(header).unwrap();
    let mut parameters = Vec::new();
    let mut state = 0x2545_f491_u32;
    for tensor in layout.tensors() {
        for _ in 0..tensor.len() {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let unit = (state >> 8) as f32 / (1 << 24) as f32;
            parameters.push(match tensor.name {
                name if name.is_scale() => 0.5 + unit,
                TensorName::NetworkLogWeights => -(header.networks as f32).ln(),
                _ => 2.0 * unit - 1.0,
            });
        }
    }
    let mut bytes = vec![0; mdn_core::encoded_len(header).unwrap()];
    mdn_core::encode(header, &parameters, &mut bytes).unwrap();
    AlignedBytes::from_slice(&bytes)
}

/// Shapes that differ in every way the model counts.
fn shapes() -> Vec<Header<'static>> {
    use Activation::{Relu, Tanh};
    use SigmaTransform::{Exp, Nnelu, Softplus};
    use TargetTransform::{Identity, Log};
    vec![
        header(1, &[32, 32], (5, 1, 1), Relu, Nnelu, Identity),
        header(3, &[16, 8], (3, 1, 2), Tanh, Softplus, Identity),
        header(2, &[24], (4, 1, 1), Relu, Exp, Log),
        header(2, &[], (2, 1, 3), Relu, Nnelu, Identity),
        header(2, &[8, 8], (2, 3, 1), Tanh, Exp, Identity),
        header(13, &[17, 40, 9], (8, 2, 2), Relu, Softplus, Log),
    ]
}

#[test]
fn blob_bytes_are_the_encoded_length() {
    for header in shapes() {
        let bytes = blob(&header);
        for core in Core::ALL {
            assert_eq!(predict(&header, core).unwrap().blob_bytes, bytes.len());
        }
    }
}

#[test]
fn the_worst_case_covers_every_input() {
    for header in shapes() {
        let bytes = blob(&header);
        let blob = mdn_core::Blob::from_bytes(&bytes).unwrap();
        let worst: Vec<DeviceCost> = Core::ALL
            .iter()
            .map(|&c| predict(&header, c).unwrap())
            .collect();
        let (inputs, outputs) = (header.input_dim as usize, header.output_dim as usize);
        let mut state = 7_u32;
        for query in 0..40 {
            let mut draw = |scale: f32| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                scale * ((state >> 8) as f32 / (1 << 24) as f32 - 0.5)
            };
            let spread = if query % 4 == 0 { 200.0 } else { 8.0 };
            let x: Vec<f32> = (0..inputs).map(|_| draw(spread)).collect();
            let y: Vec<f32> = (0..outputs).map(|_| draw(spread).abs() + 1e-3).collect();
            for (core, worst) in Core::ALL.iter().zip(&worst) {
                let at = predict_at(&blob, *core, &x, &y).unwrap();
                assert!(
                    at.instructions <= worst.instructions,
                    "{core:?} {x:?}: {at:?} > {worst:?}"
                );
                assert!(at.instructions_portable <= worst.instructions_portable);
                assert_eq!(
                    (at.blob_bytes, at.ram_bytes),
                    (worst.blob_bytes, worst.ram_bytes)
                );
            }
        }
    }
}

#[test]
fn costs_grow_with_width_components_and_networks() {
    let base = |width: u32, k: u32, m: u32| {
        header(
            4,
            &[width, width],
            (k, m, 2),
            Activation::Tanh,
            SigmaTransform::Softplus,
            TargetTransform::Identity,
        )
    };
    let grows = |smaller: &Header<'_>, larger: &Header<'_>, cores: &[Core]| {
        for &core in cores {
            let (a, b) = (
                predict(smaller, core).unwrap(),
                predict(larger, core).unwrap(),
            );
            assert!(a.instructions < b.instructions, "{core:?}: {a:?} {b:?}");
            assert!(a.instructions_portable <= b.instructions_portable);
            assert!(
                a.blob_bytes < b.blob_bytes && a.ram_bytes <= b.ram_bytes,
                "{a:?} {b:?}"
            );
        }
    };
    // A block more: every core. A row more can cost less on ARMv6-M, where the kernel
    // multiplies an odd last block twice (8 rows: 16 real products a column; 9 rows: 9
    // real and 7 zero ones), and does on the device too.
    for width in [8, 9, 16, 17, 24, 56] {
        grows(&base(width, 3, 1), &base(width + 8, 3, 1), &Core::ALL);
        grows(
            &base(width, 3, 1),
            &base(width + 1, 3, 1),
            &[Core::CortexM4F],
        );
    }
    for k in 1..8 {
        grows(&base(16, k, 2), &base(16, k + 1, 2), &Core::ALL);
    }
    for m in 1..5 {
        grows(&base(16, 3, m), &base(16, 3, m + 1), &Core::ALL);
    }
}

#[test]
fn nnelu_calls_expf_exactly_for_sigmas_at_most_their_scale() {
    // The replay's sigma branches against mdn-core's mixture: an nnelu sigma in scaled
    // units is at most 1 where its `expf` ran (the floor is far below).
    let header = header(
        3,
        &[20, 12],
        (5, 2, 2),
        Activation::Relu,
        SigmaTransform::Nnelu,
        TargetTransform::Identity,
    );
    let bytes = blob(&header);
    let blob = mdn_core::Blob::from_bytes(&bytes).unwrap();
    let model = HostModel::from_bytes(&bytes).unwrap();
    // The sigmas the nnelu branch `expf` gives: at most the target scale times the
    // calibration's sigma scale (after the two network weights).
    let values: Vec<f32> = blob.parameter_values().collect();
    let scales: Vec<f32> = (0..2)
        .map(|d| values[2 * 3 + 2 + d] * values[2 * 3 + 4 + 2 + d])
        .collect();
    let worst = Operations::worst_case(&header);
    for i in 0..30 {
        let x = [i as f32 * 0.37 - 5.0, 1.5 - i as f32 * 0.11, (i % 7) as f32];
        let at = Operations::at(&blob, &x, &[0.5, -0.5]).unwrap();
        let mixture = model.mixture(&x).unwrap();
        let exp_branch = mixture
            .iter()
            .flat_map(|c| c.sigmas.iter().zip(&scales).map(|(s, scale)| s <= scale))
            .filter(|&below| below)
            .count() as u64;
        let expf = |o: &Operations| {
            let known: u64 = Branch::ALL
                .iter()
                .filter(|b| b.function() == Function::Expf)
                .map(|&b| o.calls().known(b))
                .sum();
            known + o.calls().unknown(Function::Expf)
        };
        // Both log-sum-exps call expf once a term, whatever the input.
        let log_sum_exps = 2 * 5 + 2 * 5;
        assert_eq!(expf(&at) - log_sum_exps, exp_branch, "x = {x:?}");
        assert_eq!(expf(&worst) - log_sum_exps, 2 * 5 * 2);
    }
}

#[test]
fn relu_zeros_make_zero_products() {
    let header = header(
        2,
        &[16, 16],
        (2, 1, 1),
        Activation::Relu,
        SigmaTransform::Exp,
        TargetTransform::Identity,
    );
    let bytes = blob(&header);
    let blob = mdn_core::Blob::from_bytes(&bytes).unwrap();
    let worst = Operations::worst_case(&header);
    // Only the heads leave rows of a block empty: 6 rows, one block paired with itself, so
    // 2 empty rows twice over, of 16 inputs each.
    assert_eq!(worst.count(Feature::ZeroProducts), 2 * 2 * 16);
    let at = Operations::at(&blob, &[0.3, -0.2], &[0.1]).unwrap();
    let total = |o: &Operations| o.count(Feature::ZeroProducts) + o.count(Feature::FullProducts);
    assert_eq!(total(&at), total(&worst));
    assert!(at.count(Feature::ZeroProducts) > worst.count(Feature::ZeroProducts));
}

#[test]
fn the_stated_input_is_in_the_support() {
    let log = header(
        2,
        &[8],
        (1, 1, 2),
        Activation::Relu,
        SigmaTransform::Exp,
        TargetTransform::Log,
    );
    assert_eq!(stated_input(&log), (vec![0.3; 2], vec![0.7; 2]));
    let bytes = blob(&log);
    let blob = mdn_core::Blob::from_bytes(&bytes).unwrap();
    let (x, y) = stated_input(&log);
    assert!(
        HostModel::from_bytes(&bytes)
            .unwrap()
            .log_prob(&x, &y)
            .unwrap()
            .is_finite()
    );
    // At y <= 0 the density is zero: the query skips the components' logarithms.
    let early = Operations::at(&blob, &x, &[-0.7, 0.7]).unwrap();
    assert!(early.calls().total() < Operations::at(&blob, &x, &y).unwrap().calls().total());
}

#[test]
fn words_name_both_cores() {
    let costs = DeviceCosts::predict(&mdn_core::doc_example_header()).unwrap();
    let text = costs.to_string();
    assert!(text.starts_with("Cortex-M4F: at most "), "{text}");
    assert!(
        text.contains("with mdn-cortex-m's kernel")
            && text.contains("\nCortex-M0 (ARMv6-M): at most ")
    );
}
