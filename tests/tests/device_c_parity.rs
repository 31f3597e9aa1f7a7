//! The C firmware (`firmware-c/`, built by `firmware-c/build.sh` with Debian's
//! arm-none-eabi-gcc against `mdn-c`) in QEMU: `parity` checks fresh parity vectors of every
//! committed model blob through the C API, bit for bit against mdn-core on this host, on a
//! Cortex-M4F (`mps2-an386`) and as ARMv6-M code without an FPU (`mps2-an385`); `minimal`
//! (the footprint build) computes its one log p(y|x) on both. `parity` also chooses between
//! two A/B update slots through `mdn_slots_trailer` and `mdn_slots_select`.
//!
//! `#[ignore]`d: a plain `cargo test` lists them as ignored, and `scripts/check.sh` runs
//! them (it installs gcc-arm-none-eabi and QEMU).

use std::{
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use mdn_tests::{
    generate::parity_vectors,
    qemu::{ARMV6M, CORTEX_M4F, Machine},
};

/// Where QEMU's loader puts the bundle (firmware-c/src/parity.c reads it there).
const BUNDLE_ADDRESS: &str = "0x00200000";

/// The bundle's room: from [`BUNDLE_ADDRESS`] to the end of the boards' 4 MB of flash.
/// Past it QEMU maps nothing, and the program locks up on its first read there.
const BUNDLE_ROOM: usize = 0x0040_0000 - 0x0020_0000;

/// Parity queries per blob: 40 keep the fourteen committed blobs' vectors (1.6 MB) within
/// [`BUNDLE_ROOM`], with room for a few more models; `parity_vectors`' variations (input
/// spread, temperature, sigma scale, the density grid) repeat every 10 queries.
const QUERIES: usize = 40;

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../firmware-c")
        .canonicalize()
        .unwrap()
}

/// Runs firmware-c/build.sh (both targets, both programs) once per test process.
fn build() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let dir = firmware_dir();
    BUILT.call_once(|| {
        let status = Command::new(dir.join("build.sh"))
            .env_remove("CARGO_TARGET_DIR")
            .status()
            .expect("firmware-c/build.sh runs (needs arm-none-eabi-gcc)");
        assert!(status.success(), "firmware-c/build.sh failed");
    });
    dir
}

/// The bundle of firmware-c/src/parity.c: every committed blob within the parity
/// capacities with vectors computed now by mdn-core.
fn bundle() -> Vec<u8> {
    let firmware = Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware-example");
    let mut blobs: Vec<PathBuf> = ["golden", "models"]
        .iter()
        .flat_map(|dir| fs::read_dir(firmware.join(dir)).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "mdn"))
        .collect();
    blobs.sort();
    let pad = |bytes: &mut Vec<u8>| bytes.resize(bytes.len().next_multiple_of(4), 0);
    let mut out = b"MDNB".to_vec();
    out.extend_from_slice(&(blobs.len() as u32).to_le_bytes());
    for (i, path) in blobs.iter().enumerate() {
        let blob = fs::read(path).unwrap();
        let vectors = parity_vectors(&blob, QUERIES, 2000 + i as u64)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let name = path.file_name().unwrap().to_str().unwrap().as_bytes();
        for len in [name.len(), blob.len(), vectors.len()] {
            out.extend_from_slice(&(len as u32).to_le_bytes());
        }
        for part in [name, &blob, &vectors] {
            out.extend_from_slice(part);
            pad(&mut out);
        }
    }
    out
}

/// Runs `elf` on `machine` with `extra` QEMU arguments; returns (exit status, stdout).
fn run(machine: &Machine, elf: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let output = Command::new("timeout")
        .arg(machine.timeout_seconds.to_string())
        .args([
            "qemu-system-arm",
            "-machine",
            machine.machine,
            "-cpu",
            machine.cpu,
        ])
        .args([
            "-nographic",
            "-semihosting-config",
            "enable=on,target=native",
        ])
        .args(extra)
        .arg("-kernel")
        .arg(elf)
        .output()
        .expect("qemu-system-arm runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

fn c_parity_in_qemu(machine: &Machine) {
    let dir = build();
    let elf = dir.join("build").join(machine.target).join("parity.elf");
    let scratch = tempfile::tempdir().unwrap();
    let bundle_path = scratch.path().join("bundle.bin");
    let bundle = bundle();
    assert!(
        bundle.len() <= BUNDLE_ROOM,
        "the parity bundle takes {} bytes, more than the {BUNDLE_ROOM} from {BUNDLE_ADDRESS} \
         to the end of flash: fewer QUERIES, or a bundle in two runs",
        bundle.len()
    );
    fs::write(&bundle_path, bundle).unwrap();
    let loader = format!(
        "loader,file={},addr={BUNDLE_ADDRESS}",
        bundle_path.display()
    );
    let (code, log) = run(machine, &elf, &["-device", &loader]);
    println!("{}:\n{log}", machine.name);
    assert_eq!(code, Some(0), "C parity failed on {}:\n{log}", machine.name);
    assert!(log.contains("C parity: all "), "{log}");
    // The A/B update slots through the C API on the device (mdn_slots_*).
    assert!(log.contains("C slots: the newer slot chosen"), "{log}");

    let minimal = dir.join("build").join(machine.target).join("minimal.elf");
    let (code, log) = run(machine, &minimal, &[]);
    println!("minimal:\n{log}");
    assert_eq!(
        code,
        Some(0),
        "C minimal failed on {}:\n{log}",
        machine.name
    );
}

#[test]
#[ignore = "needs QEMU and arm-none-eabi-gcc (scripts/check.sh runs them)"]
fn c_api_parity_on_cortex_m4f_in_qemu() {
    c_parity_in_qemu(&CORTEX_M4F);
}

#[test]
#[ignore = "needs QEMU and arm-none-eabi-gcc (scripts/check.sh runs them)"]
fn c_api_parity_on_armv6m_without_fpu_in_qemu() {
    c_parity_in_qemu(&ARMV6M);
}
