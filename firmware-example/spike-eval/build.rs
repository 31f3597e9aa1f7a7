//! Writes the spike's weights: deterministic pseudo-random little-endian f32s, layer by layer
//! (weights row-major `[n_out][n_in]`, then biases), to `$OUT_DIR/weights.bin`.

use std::{env, fs, path::PathBuf};

/// `(n_in, n_out)` of each layer, in blob order: two hidden layers, then the logit, mean and
/// sigma heads of a K = 5, D = 1 mixture.
const LAYERS: [(usize, usize); 5] = [(1, 32), (32, 32), (32, 5), (32, 5), (32, 5)];

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    // Knuth's MMIX LCG; the top 24 bits give a uniform f32 in [0, 1).
    let mut state: u64 = 0x5EED;
    let mut uniform = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (state >> 40) as f32 / (1u64 << 24) as f32
    };
    let mut blob = Vec::new();
    for (n_in, n_out) in LAYERS {
        // Glorot-like scale keeps activations O(1) through the ReLUs.
        let scale = 1.0 / (n_in as f32).sqrt();
        for _ in 0..n_in * n_out + n_out {
            let value = (2.0 * uniform() - 1.0) * scale;
            blob.extend_from_slice(&value.to_le_bytes());
        }
    }
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("weights.bin");
    fs::write(out, blob).unwrap();
}
