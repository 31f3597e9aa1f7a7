//! Device parity: mdn-core on a Cortex-M4F (QEMU `mps2-an386`) computes the same bits as
//! on this host, for fresh models and vectors written by this test.
//!
//! The QEMU run is gated: it needs `qemu-system-arm`, `defmt-print` and the
//! `thumbv7em-none-eabihf` target, so it runs only with `MDN_QEMU=1` (as `.ci/run` does),
//! and then fails loudly if anything is missing. Without the switch it reports itself as
//! skipped. The committed golden set is checked against the host on every `cargo test`.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use mdn_tests::{
    generate::{AlignedBlob, ModelSpec, PARITY_MODELS, generated_blob, parity_vectors},
    vectors::{MAX_OUTCOME, ParityModel, evaluate, outcomes_match, records},
};

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware-example")
}

/// Every record of `vectors` evaluated on this host must match its stored outcome; returns
/// the number of records.
fn check_on_host(name: &str, blob: &[u8], vectors: &[u8]) -> usize {
    let blob = AlignedBlob::new(blob);
    let model = ParityModel::from_bytes(blob.bytes()).unwrap_or_else(|e| panic!("{name}: {e}"));
    let mut count = 0;
    for (index, record) in records(vectors).expect("vector header").enumerate() {
        let record = record.unwrap_or_else(|e| panic!("{name}: vector {index}: {e:?}"));
        let mut out = [0_u32; MAX_OUTCOME];
        let n = evaluate(&model, &record, &mut out);
        let stored: Vec<u32> = record
            .expected
            .iter()
            .map(|w| u32::from_le_bytes(*w))
            .collect();
        assert!(
            outcomes_match(&stored, &out[..n]),
            "{name}: vector {index} ({:?}): stored {stored:x?}, host now {:x?}; if the \
             arithmetic changed on purpose, run `cargo run -p mdn-tests --bin regenerate-golden`",
            record.op,
            &out[..n]
        );
        count += 1;
    }
    count
}

#[test]
fn committed_golden_set_matches_host() {
    let golden = firmware_dir().join("golden");
    let mut total = 0;
    for spec in PARITY_MODELS.iter() {
        let blob = fs::read(golden.join(format!("{}.mdn", spec.name))).expect("golden blob");
        assert_eq!(
            blob,
            generated_blob(spec),
            "{}: the committed blob differs from the generator; run \
             `cargo run -p mdn-tests --bin regenerate-golden`",
            spec.name
        );
        let vectors = fs::read(golden.join(format!("{}.vectors", spec.name))).expect("vectors");
        total += check_on_host(spec.name, &blob, &vectors);
    }
    assert!(total > 10_000, "only {total} golden vectors");
}

/// Fresh models: the parity shapes with other seeds, so the run proves more than the
/// committed snapshot.
fn fresh_specs() -> Vec<ModelSpec> {
    PARITY_MODELS
        .iter()
        .map(|spec| ModelSpec {
            seed: spec.seed + 1000,
            ..spec.clone()
        })
        .collect()
}

fn require_tool(tool: &str, install: &str) {
    let found = Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(found, "MDN_QEMU=1 but `{tool}` is missing: {install}");
}

/// Builds the parity firmware over the vector sets in `dir` and returns the ELF path.
fn build_parity_firmware(dir: &Path) -> PathBuf {
    let firmware = firmware_dir();
    let status = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(&firmware)
        .args(["build", "--release", "--bin", "parity"])
        .env("MDN_PARITY_DIR", dir)
        // The firmware has its own target directory and linker arguments.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the parity firmware failed");
    firmware.join("target/thumbv7em-none-eabihf/release/parity")
}

/// Runs `elf` in QEMU under a timeout, with `extra` arguments, decodes its defmt log, and
/// returns (exit code, log).
fn run_in_qemu(elf: &Path, extra: &[String]) -> (i32, String) {
    let mut qemu = Command::new("timeout")
        .arg("120")
        .args([
            "qemu-system-arm",
            "-machine",
            "mps2-an386",
            "-cpu",
            "cortex-m4",
            "-nographic",
        ])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(elf)
        .args(extra)
        .stdout(Stdio::piped())
        .spawn()
        .expect("qemu starts");
    let frames = qemu.stdout.take().expect("qemu stdout");
    let decoded = Command::new("defmt-print")
        .arg("-e")
        .arg(elf)
        .stdin(frames)
        .output()
        .expect("defmt-print runs");
    let status = qemu.wait().expect("qemu exits");
    let log = String::from_utf8_lossy(&decoded.stdout).into_owned()
        + &String::from_utf8_lossy(&decoded.stderr);
    (status.code().unwrap_or(-1), log)
}

#[test]
fn fresh_vectors_match_on_cortex_m4f_in_qemu() {
    if env::var("MDN_QEMU").as_deref() != Ok("1") {
        eprintln!("skipped: set MDN_QEMU=1 to build the firmware and run it in QEMU");
        return;
    }
    require_tool("qemu-system-arm", "apt-get install qemu-system-arm");
    require_tool("defmt-print", "cargo install defmt-print --locked");

    let dir = env::temp_dir().join(format!("mdn-parity-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let mut expected_total = 0;
    for (i, spec) in fresh_specs().iter().enumerate() {
        let blob = generated_blob(spec);
        let vectors = parity_vectors(&blob, 40, 5000 + i as u64).expect("a parity model");
        expected_total += check_on_host(spec.name, &blob, &vectors);
        fs::write(dir.join(format!("{}.mdn", spec.name)), &blob).unwrap();
        fs::write(dir.join(format!("{}.vectors", spec.name)), &vectors).unwrap();
    }

    let elf = build_parity_firmware(&dir);
    let (code, log) = run_in_qemu(&elf, &[]);
    println!("{log}");
    assert_eq!(code, 0, "device parity failed (exit {code}):\n{log}");
    assert!(
        log.contains(&format!("parity: all {expected_total} vectors")),
        "the device did not report all {expected_total} vectors:\n{log}"
    );

    // The same binary, another model: QEMU's loader places a blob and its vectors in the
    // firmware's flash partition (firmware-example/src/partition.rs), no rebuild.
    let other = ModelSpec {
        seed: 77,
        ..PARITY_MODELS[2].clone()
    };
    let blob = generated_blob(&other);
    let vectors = parity_vectors(&blob, 40, 77).expect("a parity model");
    let count = check_on_host("partition", &blob, &vectors);
    let (blob_path, vectors_path) = (dir.join("partition.mdn"), dir.join("partition.bin"));
    fs::write(&blob_path, &blob).unwrap();
    fs::write(&vectors_path, &vectors).unwrap();
    let loader = |path: &Path, address: &str| {
        [
            "-device".to_owned(),
            format!("loader,file={},addr={address}", path.display()),
        ]
    };
    let extra: Vec<String> = loader(&blob_path, "0x300000")
        .into_iter()
        .chain(loader(&vectors_path, "0x340000"))
        .collect();
    let (code, log) = run_in_qemu(&elf, &extra);
    println!("{log}");
    assert_eq!(code, 0, "partition parity failed (exit {code}):\n{log}");
    assert!(
        log.contains(&format!(
            "parity: all {count} vectors of the partition model"
        )),
        "the device did not evaluate the partition model:\n{log}"
    );
    fs::remove_dir_all(&dir).ok();
}
