//! Data drawn from a known model, for the calibration, predict and plot tests.
//!
//! The draws use `rand_distr`'s normal sampler on the mixture's parameters, not mdn-core's
//! own sampler, so that calibration is checked against an independent generator.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};

use mdn_core::HostModel;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

/// mdn-core's documentation model (one input `x`, two components, target `y`, identity
/// scalers), written to `dir/m.mdn`.
pub fn doc_model(dir: &Path) -> PathBuf {
    let path = dir.join("m.mdn");
    std::fs::write(&path, &mdn_core::doc_example_blob()[..]).expect("write model");
    path
}

/// The documentation model's bytes, 4-byte aligned for mdn-core.
pub fn doc_bytes() -> mdn_train::aligned::AlignedBytes {
    mdn_train::aligned::AlignedBytes::from_slice(&mdn_core::doc_example_blob()[..])
}

/// The inputs of [`draw`]: `n` values evenly spread over `[-1.5, 1.5]`.
pub fn inputs(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| -1.5 + 3.0 * (i as f32 + 0.5) / n as f32)
        .collect()
}

/// `x,y` CSV text: for each of [`inputs`], one `y` drawn from `model`'s predictive
/// mixture with every sigma multiplied by `sigma_scale` (1 draws from the model itself;
/// 2 makes the model overconfident by a factor 2, 0.5 underconfident).
pub fn draw(model: &HostModel<'_>, n: usize, sigma_scale: f64, seed: u64) -> String {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut csv = String::from("x,y\n");
    for x in inputs(n) {
        let m = model.mixture(&[x]).expect("mixture");
        let u: f64 = rng.random_range(0.0..1.0);
        let mut acc = 0.0;
        let mut chosen = m.components() - 1;
        for (k, c) in m.iter().enumerate() {
            acc += f64::from(c.weight());
            if u < acc {
                chosen = k;
                break;
            }
        }
        let c = m.component(chosen).expect("component");
        let e: f64 = rng.sample(StandardNormal);
        let y = f64::from(c.means[0]) + sigma_scale * f64::from(c.sigmas[0]) * e;
        csv += &format!("{x},{}\n", y as f32);
    }
    csv
}
