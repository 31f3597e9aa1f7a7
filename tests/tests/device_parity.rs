//! Device parity: mdn-core on a microcontroller computes the same bits as on this host, for
//! fresh models and vectors written by this test, on two devices in QEMU:
//!
//! - a Cortex-M4F (`mps2-an386`) running `thumbv7em-none-eabihf` code: the FPU's arithmetic;
//! - ARMv6-M code (`thumbv6m-none-eabi`, as for a Cortex-M0/M0+) run on the Cortex-M3 of
//!   `mps2-an385` ([`mdn_tests::qemu::ARMV6M`] says why): no FPU, every `f32` operation done
//!   in software, addition, subtraction and multiplication by `mdn-cortex-m`'s Thumb-1
//!   routines (the firmware's `aeabi-float`), the rest by compiler-builtins.
//!
//! Those routines are compared with compiler-builtins' on 10 million operand pairs
//! (`firmware-example`'s `soft_float`, built without `aeabi-float`), so the parity of the
//! vectors holds for a firmware that uses either; the C API's QEMU test
//! (`device_c_parity`) runs its ARMv6-M vectors with compiler-builtins' routines.
//!
//! A third QEMU test checks mdn-train's device cost model against `firmware-example`'s
//! `cost` on three of the parity shapes, so that the model cannot drift from the code it
//! predicts.
//!
//! The QEMU runs need `qemu-system-arm`, `defmt-print` and both thumb targets, so they are
//! `#[ignore]`d: a plain `cargo test` lists them as ignored, and `scripts/check.sh` runs
//! them with `-- --include-ignored` (and fails if none of them ran). Run, they fail loudly
//! if anything is missing:
//!
//! ```text
//! cargo test -p mdn-tests --test device_parity -- --include-ignored
//! ```
//!
//! The committed golden set is checked against the host on every `cargo test`.

use std::{
    env, fs,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use mdn_tests::{
    generate::{AlignedBlob, ModelSpec, PARITY_MODELS, generated_blob, parity_vectors},
    qemu::{self, ARMV6M, ARMV6M_COMPILER_BUILTINS, CORTEX_M4F, Machine},
    vectors::{MAX_OUTCOME, ParityModel, evaluate, outcomes_match, records},
};
use mdn_train::device_cost::{Core, predict, predict_at, stated_input};

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
    assert!(found, "the QEMU tests need `{tool}`: {install}");
}

/// Builds the parity firmware for `device` over the vector sets in `dir` and returns the
/// ELF path.
fn build_parity_firmware(device: &Machine, dir: &Path) -> PathBuf {
    let firmware = firmware_dir();
    let status = device
        .release_build(&firmware)
        .args(["--bin", "parity", "--features", "tanh,f16,int8,int16"])
        .env("MDN_PARITY_DIR", dir)
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building the parity firmware for {} failed",
        device.name
    );
    device.release_elf(&firmware, "parity")
}

#[test]
#[ignore = "needs QEMU (scripts/check.sh runs them)"]
fn fresh_vectors_match_on_cortex_m4f_in_qemu() {
    fresh_vectors_match_in_qemu(&CORTEX_M4F);
}

#[test]
#[ignore = "needs QEMU (scripts/check.sh runs them)"]
fn fresh_vectors_match_on_armv6m_without_fpu_in_qemu() {
    fresh_vectors_match_in_qemu(&ARMV6M);
}

#[test]
#[ignore = "needs QEMU (scripts/check.sh runs them)"]
fn soft_float_routines_give_compiler_builtins_bits_on_armv6m_in_qemu() {
    require_tool("qemu-system-arm", "apt-get install qemu-system-arm");
    require_tool("defmt-print", "cargo install defmt-print --locked");
    let device = &ARMV6M_COMPILER_BUILTINS;
    let firmware = firmware_dir();
    let status = device
        .release_build(&firmware)
        .args(["--bin", "soft_float"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building soft_float failed");
    let elf = device.release_elf(&firmware, "soft_float");
    let qemu::Run { code, log } =
        qemu::run(device, &elf, &[] as &[&str]).expect("qemu-system-arm and defmt-print run");
    println!("{log}");
    assert_eq!(code, Some(0), "soft_float failed (exit {code:?}):\n{log}");
    assert!(
        log.contains("soft_float: 10000576 operand pairs"),
        "soft_float did not compare every pair:\n{log}"
    );
}

/// Fresh models and vectors, evaluated on the host and then on `device`, from the
/// firmware's embedded sets and from its flash partition.
fn fresh_vectors_match_in_qemu(device: &Machine) {
    require_tool("qemu-system-arm", "apt-get install qemu-system-arm");
    require_tool("defmt-print", "cargo install defmt-print --locked");

    // One directory per device: the two tests run at the same time in one process.
    let dir = env::temp_dir().join(format!(
        "mdn-parity-{}-{}",
        std::process::id(),
        device.target
    ));
    fs::create_dir_all(&dir).expect("temp dir");
    let mut expected_total = 0;
    for (i, spec) in fresh_specs().iter().enumerate() {
        let blob = generated_blob(spec);
        let vectors = parity_vectors(&blob, 40, 5000 + i as u64).expect("a parity model");
        expected_total += check_on_host(spec.name, &blob, &vectors);
        fs::write(dir.join(format!("{}.mdn", spec.name)), &blob).unwrap();
        fs::write(dir.join(format!("{}.vectors", spec.name)), &vectors).unwrap();
    }

    let elf = build_parity_firmware(device, &dir);
    let qemu::Run { code, log } =
        qemu::run(device, &elf, &[] as &[&str]).expect("qemu-system-arm and defmt-print run");
    println!("{}:\n{log}", device.name);
    assert_eq!(
        code,
        Some(0),
        "device parity on {} failed (exit {code:?}):\n{log}",
        device.name
    );
    assert!(
        log.contains(&format!("parity: all {expected_total} vectors")),
        "{} did not report all {expected_total} vectors:\n{log}",
        device.name
    );
    // Every vector went through both kernels, which were also compared directly.
    for line in [
        "kernels: mdn-cortex-m gives mdn-core's sums",
        "mdn-core kernel:",
        "mdn-cortex-m kernel:",
        "with each kernel",
    ] {
        assert!(log.contains(line), "{}: no {line:?} in\n{log}", device.name);
    }

    // The same binary, other models: QEMU's loader places a blob and its vectors in the
    // firmware's flash partition (firmware-example/src/partition.rs), no rebuild. A
    // generated one, and the student `mdn demo` wrote (committed, see `demo_student`).
    let other = ModelSpec {
        seed: 77,
        ..PARITY_MODELS[2].clone()
    };
    run_partition(device, &elf, &dir, "partition", &generated_blob(&other), 77);
    run_partition(device, &elf, &dir, "demo student", &demo_student(), 78);
    fs::remove_dir_all(&dir).ok();
}

/// Runs the parity firmware `elf` on `device` with `blob` and fresh vectors (seed `seed`)
/// in its flash partition, and checks that every vector matches the host's outcome.
fn run_partition(device: &Machine, elf: &Path, dir: &Path, name: &str, blob: &[u8], seed: u64) {
    let vectors = parity_vectors(blob, 40, seed).expect("a parity model");
    let count = check_on_host(name, blob, &vectors);
    let (blob_path, vectors_path) = (dir.join("partition.mdn"), dir.join("partition.bin"));
    fs::write(&blob_path, blob).unwrap();
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
    let qemu::Run { code, log } =
        qemu::run(device, elf, &extra).expect("qemu-system-arm and defmt-print run");
    println!("{} ({name}):\n{log}", device.name);
    assert_eq!(
        code,
        Some(0),
        "{name} parity on {} failed (exit {code:?}):\n{log}",
        device.name
    );
    assert!(
        log.contains(&format!(
            "parity: all {count} vectors of the partition model"
        )),
        "{} did not evaluate the {name} model:\n{log}",
        device.name
    );
}

/// The student `mdn demo` writes: one network, trained in release by
/// `mdn demo --out mdn-demo` (firmware-example/models/README.md), committed so that CI
/// does not train it in debug.
fn demo_student() -> Vec<u8> {
    fs::read(firmware_dir().join("models/demo_student_invsin.mdn")).expect("the demo student")
}

/// The capacities of `firmware-example`'s `minimal`.
const MINIMAL: [usize; 4] = [1, 32, 5, 1];

#[test]
fn demo_student_is_one_network_that_minimal_accepts() {
    let bytes = demo_student();
    let aligned = AlignedBlob::new(&bytes);
    let blob = mdn_core::Blob::from_bytes(aligned.bytes()).expect("a valid blob");
    assert_eq!(blob.header().networks, 1);
    let model = mdn_core::Model::<1, 32, 5, 1>::from_bytes(aligned.bytes()).expect("fits minimal");
    assert!(model.log_prob(&[0.3], &[-0.7]).unwrap().is_finite());
    let [i, w, k, d] = MINIMAL;
    let needed = blob.required_capacities().unwrap();
    assert_eq!(
        (
            needed.inputs,
            needed.width,
            needed.components,
            needed.outputs
        ),
        (i, w, k, d)
    );
}

#[test]
#[ignore = "needs QEMU (scripts/check.sh runs them)"]
fn demo_student_runs_with_minimals_capacities_in_qemu() {
    require_tool("qemu-system-arm", "apt-get install qemu-system-arm");
    require_tool("defmt-print", "cargo install defmt-print --locked");
    // `cost` does what `minimal` does (validate, give mdn-cortex-m's kernel, one log p at
    // the stated input) with `minimal`'s capacities, and counts it.
    let path = firmware_dir().join("models/demo_student_invsin.mdn");
    let bytes = demo_student();
    let aligned = AlignedBlob::new(&bytes);
    let blob = mdn_core::Blob::from_bytes(aligned.bytes()).unwrap();
    for (machine, core) in [(&CORTEX_M4F, Core::CortexM4F), (&ARMV6M, Core::CortexM0)] {
        let report = qemu::measure_cost(machine, &firmware_dir(), &path, MINIMAL)
            .unwrap_or_else(|e| panic!("the demo student on {}: {e}", machine.name));
        let worst = predict(blob.header(), core).unwrap();
        println!(
            "demo student on {}: {} instructions per log p(y|x) (worst case predicted {}), \
             stack peak {} B",
            machine.name, report.log_prob, worst.instructions, report.stack_bytes
        );
        assert!(report.log_prob <= worst.instructions);
    }
}

/// How far the cost model's instructions at the stated input may be from QEMU's count: the
/// target of issue 17 (BENCHMARKS.md, "Cost model", gives the errors, 4 % at most).
const COST_TOLERANCE: f64 = 0.05;

/// The stack prediction's tolerance above the measured peak (it must never be below): the
/// fit's margin (its largest shortfall on a calibration model, 143 B on the Cortex-M4F
/// since format version 4, whose builds differ by their features) sits on top of
/// validation's own peak, the floor of every small model's.
const STACK_TOLERANCE: f64 = 0.10;

/// The cost model's tolerance for models with packed weights, whose conversions it charges
/// at a cost per multiply-add measured on one model (not fitted).
const PACKED_COST_TOLERANCE: f64 = 0.15;

#[test]
#[ignore = "needs QEMU (scripts/check.sh runs them)"]
fn cost_model_matches_qemu() {
    require_tool("qemu-system-arm", "apt-get install qemu-system-arm");
    require_tool("defmt-print", "cargo install defmt-print --locked");
    let dir = env::temp_dir().join(format!("mdn-cost-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    // A tanh network with softplus and two outputs, a ReLU one with a log target, and an
    // ensemble: the shapes of the committed parity set, none a calibration model; then the
    // models with packed weights (int8 and f16: the conversions are charged at costs
    // measured once on another model, within PACKED_COST_TOLERANCE; the integer network's
    // multiply-adds and rows likewise, measured on the same shape with other values).
    for spec in [
        &PARITY_MODELS[1],
        &PARITY_MODELS[2],
        &PARITY_MODELS[4],
        &PARITY_MODELS[6],
        &PARITY_MODELS[7],
        // The integer 1-32-32 network (the integer ensemble, PARITY_MODELS[9], is one of the
        // two the integer costs were fitted on; on ARMv6-M its mixture's software float,
        // most of its count, is predicted 38 % low: BENCHMARKS.md, "Compact weights").
        &PARITY_MODELS[8],
    ] {
        let tolerance = if spec.storage.is_empty() {
            COST_TOLERANCE
        } else {
            PACKED_COST_TOLERANCE
        };
        let bytes = generated_blob(spec);
        let path = dir.join(format!("{}.mdn", spec.name));
        fs::write(&path, &bytes).unwrap();
        let aligned = AlignedBlob::new(&bytes);
        let blob = mdn_core::Blob::from_bytes(aligned.bytes()).unwrap();
        let (x, y) = stated_input(blob.header());
        for core in Core::ALL {
            let machine = match core {
                Core::CortexM4F => &CORTEX_M4F,
                Core::CortexM0 => &ARMV6M,
            };
            let report = qemu::measure_cost(machine, &firmware_dir(), &path, spec.capacities())
                .unwrap_or_else(|e| panic!("{} on {}: {e}", spec.name, machine.name));
            let at = predict_at(&blob, core, &x, &y).unwrap();
            let worst = predict(blob.header(), core).unwrap();
            let mut checks = vec![(
                machine.name,
                at.instructions,
                worst.instructions,
                report.log_prob,
            )];
            if let (Some(at), Some(worst)) = (at.instructions_portable, worst.instructions_portable)
            {
                checks.push((
                    "Cortex-M4F, portable kernel",
                    at,
                    worst,
                    report.portable_log_prob,
                ));
            }
            for (on, predicted, bound, measured) in checks {
                let error = (predicted as f64 - measured as f64) / measured as f64;
                println!(
                    "{} on {on}: QEMU {measured}, predicted {predicted} ({:+.1} %), worst case {bound}",
                    spec.name,
                    100.0 * error
                );
                assert!(
                    error.abs() <= tolerance,
                    "{} on {on}: QEMU counted {measured} instructions, the cost model predicts \
                     {predicted} ({:+.1} %); if the code changed, recalibrate with `cargo run -p \
                     mdn-benches --release --bin figures -- --calibrate`",
                    spec.name,
                    100.0 * error
                );
                assert!(
                    bound >= measured,
                    "{} on {on}: worst case {bound} below QEMU's {measured}",
                    spec.name
                );
            }
            let stack = at.ram_bytes - core.calibration().static_ram;
            let measured = report.stack_bytes as usize;
            assert!(
                stack >= measured && stack as f64 <= measured as f64 * (1.0 + STACK_TOLERANCE),
                "{} on {}: stack peak {measured} B, predicted {stack} B",
                spec.name,
                machine.name
            );
        }
    }
    fs::remove_dir_all(&dir).ok();
}
