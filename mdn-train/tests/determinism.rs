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
