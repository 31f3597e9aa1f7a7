//! The C programs in `tests/c/`, compiled against the release library exactly as a user
//! would (`cc -std=c99 -I mdn-c/include prog.c target/release/libmdn_c.a -lm`, from the
//! workspace root) and run:
//!
//! - `parity.c` on every committed blob (`firmware-example/golden/*.mdn` and
//!   `firmware-example/models/*.mdn`) with parity vectors computed now by mdn-core on this
//!   host: every log p, density, mean, standard deviation, mixture, CDF, CRPS, quantile,
//!   interval, mode, entropy, anomaly score and draw must have mdn-core's bits;
//! - `bad_input.c`: NULL pointers, zeroed models, bad blobs, short buffers, wrong lengths,
//!   NaN inputs and out-of-range status values give the expected statuses;
//! - `slots.c`: A/B update slots (`mdn_slots_select`, `mdn_slots_trailer`): the active
//!   slot, the next write, torn and corrupted slots, NULL pointers and short lengths.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::Command,
};

use mdn_tests::generate::parity_vectors;

/// The workspace root: the C programs are compiled from there.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .into()
}

/// `cargo build --release -p mdn-c` in this test's target directory (default capacities),
/// and the path of `libmdn_c.a` it wrote.
fn release_library() -> PathBuf {
    // This test runs as <target dir>/<profile>/deps/c_api-<hash>.
    let target_dir: PathBuf = env::current_exe()
        .unwrap()
        .ancestors()
        .nth(3)
        .expect("test binary inside a target directory")
        .into();
    let status = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .current_dir(workspace())
        .args(["build", "--release", "-p", "mdn-c", "--target-dir"])
        .arg(&target_dir)
        .env_remove("MDN_CAPACITIES")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build --release -p mdn-c failed");
    target_dir.join("release/libmdn_c.a")
}

/// Compiles `mdn-c/tests/c/<program>.c` with the exact command line (the output
/// name aside) and returns the executable.
fn compile(program: &str, library: &Path, out_dir: &Path) -> PathBuf {
    let exe = out_dir.join(program);
    let source = format!("mdn-c/tests/c/{program}.c");
    let output = Command::new("cc")
        .current_dir(workspace())
        .args(["-std=c99", "-I", "mdn-c/include", &source])
        .arg(library)
        .arg("-lm")
        .arg("-o")
        .arg(&exe)
        .output()
        .expect("cc runs");
    assert!(
        output.status.success(),
        "cc -std=c99 -I mdn-c/include {source} {} -lm failed:\n{}",
        library.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// Every committed model blob.
fn committed_blobs() -> Vec<PathBuf> {
    let firmware = workspace().join("firmware-example");
    let mut blobs: Vec<PathBuf> = ["golden", "models"]
        .iter()
        .flat_map(|dir| fs::read_dir(firmware.join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "mdn"))
        .collect();
    blobs.sort();
    blobs
}

#[test]
fn c_programs_match_mdn_core_and_refuse_bad_input() {
    let library = release_library();
    let dir = tempfile::tempdir().unwrap();

    let parity = compile("parity", &library, dir.path());
    let mut command = Command::new(&parity);
    for (i, blob) in committed_blobs().iter().enumerate() {
        let vectors = parity_vectors(&fs::read(blob).unwrap(), 60, 1000 + i as u64)
            .unwrap_or_else(|e| panic!("{}: {e}", blob.display()));
        let path = dir.path().join(format!("{i}.vectors"));
        fs::write(&path, vectors).unwrap();
        command.arg(blob).arg(path);
    }
    let run = command.output().unwrap();
    let log = String::from_utf8_lossy(&run.stdout);
    println!("{log}");
    assert!(
        run.status.success(),
        "{log}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert_eq!(
        log.matches("bit-identical").count(),
        committed_blobs().len()
    );

    let bad_input = compile("bad_input", &library, dir.path());
    let minimal = workspace().join("firmware-example/models/minimal.mdn");
    let run = Command::new(bad_input).arg(&minimal).output().unwrap();
    let log = String::from_utf8_lossy(&run.stdout);
    println!("{log}");
    assert!(run.status.success(), "{log}");

    let slots = compile("slots", &library, dir.path());
    let student = workspace().join("firmware-example/models/demo_student_invsin.mdn");
    let run = Command::new(slots)
        .arg(&minimal)
        .arg(student)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&run.stdout);
    println!("{log}");
    assert!(
        run.status.success() && log.contains("slots: every check holds"),
        "{log}"
    );
}
