//! `mdn inspect` on truncated and bit-flipped model files exits with 1 and one message on
//! stderr naming the file, never with a panic (101) and never accepting the file.
//!
//! mdn-core's own tests (`mdn-core/tests/corruption.rs`) check every truncation and 10,000
//! flips through the library; this checks the same path through the command line, on a
//! few hundred files so that it stays quick: every truncation of the smallest golden blob,
//! every fourth truncation of a larger one, and 200 random flips of 1 to 8 bits.

mod common;

use std::path::Path;

use common::{mdn, text};

/// Fixed seed: a failure reproduces exactly.
const SEED: u64 = 0x636C_695F_666C_6970;
/// Random flips through the CLI.
const FLIPS: usize = 200;

/// SplitMix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn golden(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Writes `bytes` to `dir/name`, runs `mdn inspect` on it and checks the rejection.
fn rejected(dir: &Path, name: &str, bytes: &[u8], what: &str) {
    std::fs::write(dir.join(name), bytes).unwrap();
    let output = mdn(dir, &["inspect", name]);
    let (stdout, stderr) = text(&output);
    assert_ne!(
        output.status.code(),
        Some(101),
        "{what}: panicked: {stderr}"
    );
    assert_eq!(output.status.code(), Some(1), "{what}: stderr: {stderr}");
    assert!(stdout.is_empty(), "{what}: stdout: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "{what}: one message: {stderr}");
    assert!(
        stderr.starts_with(&format!("error: {name}: not a valid model: ")),
        "{what}: {stderr}"
    );
}

#[test]
fn inspect_rejects_truncated_files() {
    let dir = tempfile::tempdir().unwrap();
    for (blob, stride) in [("no_hidden.mdn", 1), ("tanh_softplus_k3_d2.mdn", 4)] {
        let bytes = golden(blob);
        // The whole file is fine: the failures below are the truncation's doing.
        std::fs::write(dir.path().join("whole.mdn"), &bytes).unwrap();
        assert_eq!(
            mdn(dir.path(), &["inspect", "whole.mdn"]).status.code(),
            Some(0)
        );
        for n in (0..bytes.len()).step_by(stride) {
            rejected(
                dir.path(),
                "cut.mdn",
                &bytes[..n],
                &format!("{blob} cut to {n} bytes"),
            );
        }
    }
}

#[test]
fn inspect_rejects_bit_flips() {
    let dir = tempfile::tempdir().unwrap();
    let blobs = [golden("no_hidden.mdn"), golden("exp_log_target.mdn")];
    let mut rng = Rng(SEED);
    for i in 0..FLIPS {
        let mut bytes = blobs[i % blobs.len()].clone();
        let bits = 1 + rng.below(8);
        let mut flipped = Vec::new();
        while flipped.len() < bits {
            let bit = rng.below(bytes.len() * 8);
            if !flipped.contains(&bit) {
                flipped.push(bit);
                bytes[bit / 8] ^= 1 << (bit % 8);
            }
        }
        rejected(
            dir.path(),
            "flipped.mdn",
            &bytes,
            &format!("flip {i}: bits {flipped:?}"),
        );
    }
}
