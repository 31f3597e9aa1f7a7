//! Helpers shared by the integration tests: run the `mdn` binary, make small data files.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::{
    path::{Path, PathBuf},
    process::{Command, Output},
};

/// Runs `mdn` with `args` in `dir`, one candle thread.
pub fn mdn(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mdn"))
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "1")
        .output()
        .expect("the mdn binary runs")
}

/// stdout and stderr as text.
pub fn text(output: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Writes `contents` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write test file");
    path
}

/// `n` rows `x,y` of the heteroscedastic set (seeded), as CSV text.
pub fn hetero_csv(n: usize, seed: u64) -> String {
    mdn_train::synth::to_csv(&mdn_train::synth::generate(
        mdn_train::synth::Kind::Hetero,
        n,
        seed,
    ))
}

/// The names of the files in `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
