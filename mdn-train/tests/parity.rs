//! candle (training) and mdn-core (device) compute the same log-likelihood.
//!
//! Models: each test trains a small model for 20 epochs (300 rows, synthetic data, seeded)
//! and compares every training row.
//!
//! Tolerance: `|candle - core| <= 2e-5 + 2e-6 * |ln p|` nats per row. Both follow FORMAT.md
//! operation by operation (candle's tanh even calls libm's `tanhf`, as mdn-core); what
//! differs is the order of the sums in the matrix products (gemm blocks and vectorises,
//! mdn-core adds strictly left to right) and glibc's `expf`/`logf` against libm's. A few
//! ulps of difference in a mean-head output `u` move `ln p` by `|r| / sigma` times that,
//! which is large where a component is narrow (tanh networks, whose narrow components
//! come with steep means, differ most). The bound sits above the worst case measured, with
//! headroom for other machines' gemm; mdn-train/README.md ("How it stays faithful to the
//! device") has the measured differences, and the test prints the maximum of each case.

use mdn_core::{Activation, HostModel, SigmaTransform};
use mdn_train::{
    data::Dataset,
    ensemble::{Ensemble, log_sum_exp},
    model::Mdn,
    scaling::{InputScaling, TargetScaling},
    synth::{Kind, generate},
    train::{TrainConfig, train},
};

/// Trains `config` on `data` and returns the worst `(|diff|, bound)` over its rows: candle
/// evaluates each network of the trained blob (the ensemble's networks, split back out
/// with `Ensemble::from_blob`) and their weighted densities are combined in f64; mdn-core
/// evaluates the blob.
fn worst_difference(data: &Dataset, config: &TrainConfig) -> (f64, f64) {
    let trained = train(data, config, |_| {}).expect("training succeeds");
    let core = HostModel::from_bytes(&trained.blob).unwrap();
    let split = Ensemble::from_blob(&trained.blob, "trained".as_ref()).unwrap();
    assert_eq!(split.networks.len(), trained.ensemble.networks.len());
    let per_network: Vec<Vec<f32>> = split
        .networks
        .iter()
        .map(|blob| {
            let candle = Mdn::from_blob(blob, "trained".as_ref()).unwrap();
            candle.log_prob(&data.x, &data.y).unwrap()
        })
        .collect();
    let mut worst = (0.0_f64, 0.0_f64);
    for i in 0..data.len() {
        let terms: Vec<f64> = per_network
            .iter()
            .zip(&split.log_weights)
            .map(|(lp, w)| w + f64::from(lp[i]))
            .collect();
        let c = log_sum_exp(&terms);
        let lp = core.log_prob(data.row_x(i), data.row_y(i)).unwrap();
        let diff = (c - f64::from(lp)).abs();
        let bound = 2e-5 + 2e-6 * f64::from(lp).abs();
        assert!(
            diff <= bound,
            "row {i}: candle {c} vs mdn-core {lp}: |diff| {diff:e} > {bound:e} ({config:?})"
        );
        if diff / bound > worst.0 / worst.1.max(1e-30) {
            worst = (diff, bound);
        }
    }
    worst
}

fn small(config: TrainConfig) -> TrainConfig {
    TrainConfig {
        epochs: 20,
        ..config
    }
}

#[test]
fn relu_nnelu_default_architecture() {
    // 1-32-32 relu, K = 5, nnelu: the defaults, on 300 inverse-sine rows.
    let data = generate(Kind::Invsin, 300, 11);
    let (diff, bound) = worst_difference(&data, &small(TrainConfig::default()));
    eprintln!("relu/nnelu: max |candle - core| {diff:e} (bound there {bound:e})");
}

#[test]
fn tanh_softplus_and_standard_inputs() {
    let data = generate(Kind::Hetero, 300, 12);
    let config = TrainConfig {
        activation: Activation::Tanh,
        sigma: SigmaTransform::Softplus,
        scale_x: InputScaling::Standard,
        components: vec![3],
        ..TrainConfig::default()
    };
    let (diff, bound) = worst_difference(&data, &small(config));
    eprintln!("tanh/softplus: max |candle - core| {diff:e} (bound there {bound:e})");
}

#[test]
fn exp_sigma_and_log_target() {
    let mut data = generate(Kind::Hetero, 300, 13);
    for y in &mut data.y {
        *y = y.abs() + 0.1;
    }
    let config = TrainConfig {
        sigma: SigmaTransform::Exp,
        scale_y: TargetScaling::Log,
        hidden: vec![16, 16, 16],
        ..TrainConfig::default()
    };
    let (diff, bound) = worst_difference(&data, &small(config));
    eprintln!("exp/log: max |candle - core| {diff:e} (bound there {bound:e})");
}

#[test]
fn two_outputs_and_no_hidden_layer() {
    let base = generate(Kind::Hetero, 300, 14);
    let mut data = base.clone();
    data.target_names = vec!["y".into(), "z".into()];
    data.target_columns = vec![2, 3];
    data.y = base
        .x
        .iter()
        .zip(&base.y)
        .flat_map(|(&x, &y)| [y, (6.0 * x).sin() + 0.1 * y])
        .collect();
    for hidden in [vec![], vec![24]] {
        let config = TrainConfig {
            hidden,
            components: vec![4],
            ..TrainConfig::default()
        };
        let (diff, bound) = worst_difference(&data, &small(config));
        eprintln!("D = 2: max |candle - core| {diff:e} (bound there {bound:e})");
    }
}
