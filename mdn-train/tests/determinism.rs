//! Same data, seed and thread count: the same blob, byte for byte.

mod common;

use common::{hetero_csv, mdn, text, write};

fn train(dir: &std::path::Path, out: &str, seed: &str) -> Vec<u8> {
    let output = mdn(
        dir,
        &[
            "train", "--data", "d.csv", "--target", "y", "--out", out, "--epochs", "8", "--batch",
            "32", "--seed", seed,
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
    std::fs::read(dir.join(out)).unwrap()
}

#[test]
fn same_seed_gives_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", &hetero_csv(200, 5));
    let a = train(dir.path(), "a.mdn", "7");
    let b = train(dir.path(), "b.mdn", "7");
    assert_eq!(a, b, "two runs with seed 7 differ");
    let c = train(dir.path(), "c.mdn", "8");
    assert_ne!(a, c, "seeds 7 and 8 gave the same model");
}

#[test]
fn library_training_is_deterministic_too() {
    let data = mdn_train::synth::generate(mdn_train::synth::Kind::Invsin, 150, 2);
    let config = mdn_train::train::TrainConfig {
        epochs: 5,
        hidden: vec![16],
        ..Default::default()
    };
    let a = mdn_train::train::train(&data, &config, |_| {}).unwrap();
    let b = mdn_train::train::train(&data, &config, |_| {}).unwrap();
    assert_eq!(a.blob, b.blob);
    assert_eq!(a.metrics.len(), 5);
}

#[test]
fn candidate_groups_on_one_or_two_threads_give_identical_bytes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", &hetero_csv(120, 6));
    let run = |out: &str, jobs: &str| {
        let output = mdn(
            dir.path(),
            &[
                "train", "--data", "d.csv", "--target", "y", "--out", out, "--epochs", "6",
                "--seed", "3", "--jobs", jobs,
            ],
        );
        assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
        std::fs::read(dir.path().join(out)).unwrap()
    };
    assert_eq!(run("one.mdn", "1"), run("two.mdn", "2"));
}

#[test]
fn the_default_recipe_weighs_its_candidates() {
    let data = mdn_train::synth::generate(mdn_train::synth::Kind::Hetero, 150, 4);
    let config = mdn_train::train::TrainConfig {
        epochs: 4,
        hidden: vec![8],
        ..Default::default()
    };
    let trained = mdn_train::train::train(&data, &config, |_| {}).unwrap();
    assert_eq!(trained.candidates.len(), 4);
    assert_eq!(trained.network_runs.len(), 4 * 5);
    let total: f64 = trained.candidates.iter().map(|c| c.weight).sum();
    assert!((total - 1.0).abs() < 1e-9, "weights add up to {total}");
    let networks = trained.candidates.iter().filter(|c| c.weight > 0.0).count() * 5;
    assert_eq!(trained.ensemble.networks.len(), networks);
    let mass: f64 = trained.ensemble.log_weights.iter().map(|w| w.exp()).sum();
    assert!((mass - 1.0).abs() < 1e-9);
    // Every network has the largest candidate's shape.
    for blob in &trained.ensemble.networks {
        let model = mdn_core::HostModel::from_bytes(blob).unwrap();
        assert_eq!(model.header().components, 5);
    }
    // The blob is every network in one: its density is the weighted mixture of the
    // networks' own densities (combined here in f64).
    let merged = mdn_core::HostModel::from_bytes(&trained.blob).unwrap();
    assert_eq!(merged.header().networks as usize, networks);
    let models: Vec<_> = trained
        .ensemble
        .networks
        .iter()
        .map(|b| mdn_core::HostModel::from_bytes(b).unwrap())
        .collect();
    for i in 0..data.len() {
        let (x, y) = (data.row_x(i), data.row_y(i));
        let terms: Vec<f64> = models
            .iter()
            .zip(&trained.ensemble.log_weights)
            .map(|(m, w)| w + f64::from(m.log_prob(x, y).unwrap()))
            .collect();
        let expected = mdn_train::ensemble::log_sum_exp(&terms);
        let got = f64::from(merged.log_prob(x, y).unwrap());
        assert!(
            (got - expected).abs() <= 1e-5 * (1.0 + expected.abs()),
            "row {i}: blob {got}, networks {expected}"
        );
    }

    // Without validation: one network of the first candidate, exactly `epochs` epochs.
    let fixed = mdn_train::train::TrainConfig {
        val_fraction: Some(0.0),
        components: vec![3],
        ..config
    };
    let trained = mdn_train::train::train(&data, &fixed, |_| {}).unwrap();
    assert_eq!(trained.ensemble.networks.len(), 1);
    assert_eq!(trained.metrics.len(), 4);
    assert!(trained.metrics.iter().all(|m| m.val_nll.is_none()));
}
