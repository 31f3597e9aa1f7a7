//! The hand-differentiated mixture against candle's autograd, and the optimiser.

use candle_core::{Device, Tensor};
use mdn_core::{Activation, SigmaTransform, TargetTransform};

use super::*;
use crate::{
    model::Mdn,
    scaling::{Scaler, Scalers},
};

/// The candle-autograd model of [`crate::model`] against the fused, hand-differentiated
/// one here: same parameters, same rows, same values and gradients. Tolerance: f32
/// arithmetic in different orders (gemm blocking, sums over rows) on values of order 1,
/// 2e-4 relative to the largest gradient.
fn check(activation: Activation, sigma: SigmaTransform, floor: f32) {
    let arch = Architecture {
        activation,
        sigma,
        sigma_floor: floor,
        ..Architecture::new(3, 2, 3, vec![5, 4])
    };
    let scalers = Scalers {
        input: Scaler::identity(3),
        target: Scaler::identity(2),
        transform: TargetTransform::Identity,
    };
    let names = |n: usize| (0..n).map(|i| format!("c{i}")).collect::<Vec<_>>();
    let model = Mdn::new(arch.clone(), scalers, &names(3), &names(2), 3).unwrap();
    let params = model.parameters().unwrap();
    let layout = model.layout().unwrap();
    let networks = Networks::new(arch, &layout, std::slice::from_ref(&params), &[]).unwrap();
    let rows = 7;
    let x: Vec<f32> = (0..rows * 3)
        .map(|i| ((i * 37 % 11) as f32 - 5.0) / 4.0)
        .collect();
    let u: Vec<f32> = (0..rows * 2)
        .map(|i| ((i * 23 % 13) as f32 - 6.0) / 3.0)
        .collect();
    let dev = Device::Cpu;
    let xs = Tensor::from_slice(&x, (rows, 3), &dev).unwrap();
    let us = Tensor::from_slice(&u, (rows, 2), &dev).unwrap();

    let reference = model.loss(&xs, &us).unwrap();
    let fused = networks
        .log_density(&xs.unsqueeze(0).unwrap(), &us.unsqueeze(0).unwrap(), true)
        .unwrap()
        .mean_all()
        .unwrap()
        .neg()
        .unwrap();
    let (a, b) = (
        reference.to_scalar::<f32>().unwrap(),
        fused.to_scalar::<f32>().unwrap(),
    );
    assert!((a - b).abs() < 1e-5 * a.abs().max(1.0), "loss {a} vs {b}");

    let grads = reference.backward().unwrap();
    let mut expected = vec![0.0_f32; params.len()];
    for (var, info) in model
        .vars()
        .iter()
        .zip(layout.tensors().filter(|t| !t.name.is_shared()))
    {
        let g = grads
            .get(var)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        expected[info.offset..info.offset + info.len()].copy_from_slice(&g);
    }
    let grads = fused.backward().unwrap();
    let snapshot: Snapshot = networks
        .vars()
        .iter()
        .map(|v| {
            grads
                .get(v)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap()
        })
        .collect();
    let found = networks.network_parameters(&layout, &snapshot, 0);
    let scale = expected.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
    for (i, (e, f)) in expected.iter().zip(&found).enumerate() {
        assert!((e - f).abs() <= 2e-4 * scale, "parameter {i}: {e} vs {f}");
    }
}

#[test]
fn a_padded_network_has_the_density_of_its_fewer_components() {
    // A K = 2 network stored with 5 components (copies, weights split) against the
    // same network stored with 2.
    let arch = |k| Architecture::new(1, 1, k, vec![6]);
    let layout5 = Networks::layout_of(&arch(5)).unwrap();
    let layout2 = Networks::layout_of(&arch(2)).unwrap();
    let five = Networks::new(arch(5), &layout5, &[Networks::initial(&layout5, 9)], &[2]).unwrap();
    let mut padded = five.network_parameters(&layout5, &five.snapshot().unwrap(), 0);
    // The same network with two components: its first two of each head.
    let mut two = vec![0.0_f32; layout2.parameter_count()];
    for info in layout2.tensors() {
        let from = layout5.find(info.name).unwrap();
        let n = info.len();
        two[info.offset..info.offset + n].copy_from_slice(&padded[from.offset..from.offset + n]);
    }
    // Before padding the copies' logits were lowered; undo that for the K = 2 model.
    let lb2 = layout2.find(TensorName::LogitsBias).unwrap().offset;
    two[lb2] += 3_f32.ln();
    two[lb2 + 1] += 2_f32.ln();
    for scale in [TensorName::InputScale, TensorName::TargetScale] {
        padded[layout5.find(scale).unwrap().offset] = 1.0;
        two[layout2.find(scale).unwrap().offset] = 1.0;
    }
    let encode = |arch: Architecture, params: &[f32]| {
        let scalers = Scalers {
            input: Scaler::identity(1),
            target: Scaler::identity(1),
            transform: TargetTransform::Identity,
        };
        let model = Mdn::new(arch, scalers, &["x".into()], &["y".into()], 0).unwrap();
        model.set_parameters(params).unwrap();
        model.to_blob().unwrap()
    };
    let (a, b) = (encode(arch(5), &padded), encode(arch(2), &two));
    let (a, b) = (
        mdn_core::HostModel::from_bytes(&a).unwrap(),
        mdn_core::HostModel::from_bytes(&b).unwrap(),
    );
    for (x, y) in [(0.1_f32, -0.3_f32), (0.7, 0.2), (-1.0, 1.5)] {
        let (pa, pb) = (
            a.log_prob(&[x], &[y]).unwrap(),
            b.log_prob(&[x], &[y]).unwrap(),
        );
        assert!((pa - pb).abs() < 1e-5, "{pa} vs {pb}");
    }
}

#[test]
fn fused_gradients_match_candle_autograd() {
    for activation in [Activation::Relu, Activation::Tanh] {
        for sigma in [
            SigmaTransform::Nnelu,
            SigmaTransform::Softplus,
            SigmaTransform::Exp,
        ] {
            check(activation, sigma, 1e-3);
        }
    }
    // A floor above most sigmas: their gradient is zero on both sides.
    check(Activation::Relu, SigmaTransform::Nnelu, 0.9);
}

/// `log_densities` (several targets per row, one forward pass, the gradient kept per
/// target) against `log_density` called once per target: the same values, and the
/// gradient of a weighted sum of the targets' log-densities is the weighted sum of
/// each call's gradient. Tolerance: the same f32 operations in the same order per
/// target, summed over targets in another order: 1e-5 relative.
#[test]
fn several_targets_per_row_match_one_at_a_time() {
    for (sigma, floor) in [
        (SigmaTransform::Nnelu, 1e-3),
        (SigmaTransform::Softplus, 1e-3),
        (SigmaTransform::Exp, 0.5),
    ] {
        let arch = Architecture {
            sigma,
            sigma_floor: floor,
            ..Architecture::new(2, 2, 3, vec![6])
        };
        let layout = Networks::layout_of(&arch).unwrap();
        let init = [Networks::initial(&layout, 4), Networks::initial(&layout, 5)];
        // The second network uses two of its three components.
        let networks = Networks::new(arch, &layout, &init, &[3, 2]).unwrap();
        let (count, rows, targets) = (2, 5, 4);
        let dev = Device::Cpu;
        let x: Vec<f32> = (0..count * rows * 2)
            .map(|i| ((i * 7 % 9) as f32 - 4.0) / 3.0)
            .collect();
        let u: Vec<f32> = (0..count * rows * targets * 2)
            .map(|i| ((i * 11 % 13) as f32 - 6.0) / 4.0)
            .collect();
        let weights: Vec<f32> = (0..count * rows * targets)
            .map(|i| (i % 5) as f32 - 1.5)
            .collect();
        let xs = Tensor::from_slice(&x, (count, rows, 2), &dev).unwrap();
        let us = Tensor::from_slice(&u, (count, rows, targets * 2), &dev).unwrap();
        let w = Tensor::from_slice(&weights, (count, rows, targets), &dev).unwrap();
        let each = networks.log_densities(&xs, &us).unwrap();
        let together = (each.clone() * &w).unwrap().sum_all().unwrap();
        let grads = together.backward().unwrap();
        let each = each.flatten_all().unwrap().to_vec1::<f32>().unwrap();

        let mut total = 0.0_f32;
        let mut expected: Vec<Vec<f32>> = networks
            .vars()
            .iter()
            .map(|v| vec![0.0; v.as_tensor().elem_count()])
            .collect();
        for s in 0..targets {
            let one: Vec<f32> = (0..count * rows)
                .flat_map(|r| u[(r * targets + s) * 2..(r * targets + s) * 2 + 2].to_vec())
                .collect();
            let one = Tensor::from_slice(&one, (count, rows, 2), &dev).unwrap();
            let lp = networks.log_density(&xs, &one, true).unwrap();
            let ws: Vec<f32> = (0..count * rows)
                .map(|r| weights[r * targets + s])
                .collect();
            let lp_values = lp.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            for (r, &v) in lp_values.iter().enumerate() {
                let found = each[r * targets + s];
                assert!(
                    (found - v).abs() <= 1e-5 * v.abs().max(1.0),
                    "{found} vs {v}"
                );
            }
            let ws = Tensor::from_slice(&ws, (count, rows), &dev).unwrap();
            let weighted = (lp * ws).unwrap().sum_all().unwrap();
            total += weighted.to_scalar::<f32>().unwrap();
            let grads = weighted.backward().unwrap();
            for (acc, var) in expected.iter_mut().zip(networks.vars()) {
                let g = grads.get(&var).unwrap().flatten_all().unwrap();
                for (a, g) in acc.iter_mut().zip(g.to_vec1::<f32>().unwrap()) {
                    *a += g;
                }
            }
        }
        let found_total = together.to_scalar::<f32>().unwrap();
        assert!((found_total - total).abs() <= 1e-4 * total.abs().max(1.0));
        for (expected, var) in expected.iter().zip(networks.vars()) {
            let found = grads.get(&var).unwrap().flatten_all().unwrap();
            let scale = expected.iter().fold(1e-3_f32, |m, v| m.max(v.abs()));
            for (e, f) in expected.iter().zip(found.to_vec1::<f32>().unwrap()) {
                assert!((e - f).abs() <= 1e-5 * scale.max(1.0), "{e} vs {f}");
            }
        }
    }
}
