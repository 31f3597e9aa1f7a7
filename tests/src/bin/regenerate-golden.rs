//! Rewrites the committed parity set and the firmware's pinned model.
//!
//! ```text
//! cargo run -p mdn-tests --bin regenerate-golden
//! ```
//!
//! Writes `firmware-example/golden/<model>.mdn` and `<model>.vectors` for every model of
//! `mdn_tests::generate::PARITY_MODELS`, and the footprint models
//! `firmware-example/models/minimal.mdn`, `small_1x16x16_k1.mdn` and `wide_13x64x64_k5.mdn`.
//! The expected outcomes are mdn-core's on this host; the committed files are a regression
//! snapshot whose correctness `tests/device_parity.rs` re-proves from fresh files.

use std::{fs, path::Path};

use mdn_tests::generate::{MINIMAL, PARITY_MODELS, SMALL, WIDE, generated_blob, parity_vectors};

/// Queries per parity model in the committed set.
const QUERIES: usize = 60;

fn main() -> std::io::Result<()> {
    let firmware = Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware-example");
    let golden = firmware.join("golden");
    fs::create_dir_all(&golden)?;
    for (i, spec) in PARITY_MODELS.iter().enumerate() {
        let blob = generated_blob(spec);
        let vectors = parity_vectors(&blob, QUERIES, 1000 + i as u64)
            .expect("a parity model fits the parity capacities");
        fs::write(golden.join(format!("{}.mdn", spec.name)), &blob)?;
        fs::write(golden.join(format!("{}.vectors", spec.name)), &vectors)?;
        println!(
            "{}: blob {} bytes, vectors {} bytes",
            spec.name,
            blob.len(),
            vectors.len()
        );
    }
    fs::create_dir_all(firmware.join("models"))?;
    fs::write(
        firmware.join("models/minimal.mdn"),
        generated_blob(&MINIMAL),
    )?;
    fs::write(
        firmware.join("models/small_1x16x16_k1.mdn"),
        generated_blob(&SMALL),
    )?;
    fs::write(
        firmware.join("models/wide_13x64x64_k5.mdn"),
        generated_blob(&WIDE),
    )?;
    println!("models/minimal.mdn, small_1x16x16_k1.mdn and wide_13x64x64_k5.mdn written");
    Ok(())
}
