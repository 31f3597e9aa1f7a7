//! Detached Ed25519 signatures on the device: `firmware-example`'s `signature` binary,
//! built with a public key made by this test (`MDN_PUBLIC_KEY`, baked in by build.rs),
//! verifies blobs and signatures made and tampered with on the host, passed through the
//! flash partition by QEMU's loader, on a Cortex-M4F (`mps2-an386`). Each case must get
//! its own outcome: the signed blob accepted (and then valid for mdn-core); a tampered
//! blob and a tampered signature refused as invalid; a truncated signature as one of the
//! wrong length; an unsigned one (the trailer's all-zero field, or no bytes at all) as
//! missing. The log also gives the instructions of one verification (`-icount shift=6`).
//!
//! The key and signatures come from `mdn_train::signing` (ed25519-dalek on the host, a
//! fresh key every run); the verification is mdn-update's on both sides, and the host
//! checks the same cases first, so a device outcome that differs from the host's fails.
//!
//! The QEMU run is `#[ignore]`d like the parity runs (it needs `qemu-system-arm`,
//! `defmt-print` and the thumb target); `scripts/check.sh` runs it:
//!
//! ```text
//! cargo test -p mdn-tests --test device_signature -- --include-ignored
//! ```

use std::{
    fs,
    path::{Path, PathBuf},
};

use mdn_tests::qemu::{self, CORTEX_M4F};
use mdn_train::signing;
use mdn_update::signature::{SIGNATURE_LEN, SignatureError, verify};

/// Where the firmware reads its test file (firmware_example::partition::VECTORS_ADDRESS).
const TEST_FILE_ADDRESS: &str = "0x00340000";

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware-example")
}

/// One case: what the firmware is given and what it must answer, in the words of its log.
struct Case {
    name: &'static str,
    blob: Vec<u8>,
    signature: Vec<u8>,
    expected: Result<(), SignatureError>,
    logged: &'static str,
}

/// A fresh key pair in `dir` (`k.key`, `k.pub`) and the cases, signed with it.
fn cases(dir: &Path) -> Vec<Case> {
    let (key, _) = signing::keygen(&dir.join("k")).unwrap();
    let model = firmware_dir().join("models/minimal.mdn");
    let blob = fs::read(&model).unwrap();
    let signature = signing::sign(&blob, &model, &key).unwrap().to_vec();
    let mut tampered_blob = blob.clone();
    // A weight's byte: the CRC no longer matches either, but the signature is checked first.
    tampered_blob[blob.len() / 2] ^= 0x04;
    let mut tampered_signature = signature.clone();
    tampered_signature[40] ^= 0x80;
    vec![
        Case {
            name: "signed",
            blob: blob.clone(),
            signature: signature.clone(),
            expected: Ok(()),
            logged: "accepted",
        },
        Case {
            name: "tampered blob",
            blob: tampered_blob,
            signature: signature.clone(),
            expected: Err(SignatureError::Invalid),
            logged: "refused: invalid",
        },
        Case {
            name: "tampered signature",
            blob: blob.clone(),
            signature: tampered_signature,
            expected: Err(SignatureError::Invalid),
            logged: "refused: invalid",
        },
        Case {
            name: "truncated signature",
            blob: blob.clone(),
            signature: signature[..40].to_vec(),
            expected: Err(SignatureError::WrongLength { found: 40 }),
            logged: "refused: wrong-length 40",
        },
        Case {
            name: "unsigned (all-zero trailer field)",
            blob: blob.clone(),
            signature: vec![0; SIGNATURE_LEN],
            expected: Err(SignatureError::Missing),
            logged: "refused: missing",
        },
        Case {
            name: "unsigned (absent)",
            blob,
            signature: Vec::new(),
            expected: Err(SignatureError::Missing),
            logged: "refused: missing",
        },
    ]
}

/// The firmware's test file (src/bin/signature.rs): magic, count, then each case's
/// lengths and bytes, each padded to 4 bytes.
fn test_file(cases: &[Case]) -> Vec<u8> {
    let mut file = b"MDNSIGT1".to_vec();
    file.extend_from_slice(&(cases.len() as u32).to_le_bytes());
    for case in cases {
        file.extend_from_slice(&(case.blob.len() as u32).to_le_bytes());
        file.extend_from_slice(&(case.signature.len() as u32).to_le_bytes());
        for bytes in [&case.blob, &case.signature] {
            file.extend_from_slice(bytes);
            file.resize(file.len().next_multiple_of(4), 0);
        }
    }
    file
}

#[test]
fn host_outcomes_of_the_device_cases() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    let public = signing::read_public_key(&dir.path().join("k.pub")).unwrap();
    for case in &cases {
        assert_eq!(
            verify(&case.blob, &case.signature, &public),
            case.expected,
            "{}",
            case.name
        );
    }
    assert!(test_file(&cases).len() <= mdn_tests::vectors::PARTITION_SLOT_BYTES);
}

#[test]
#[ignore = "needs qemu-system-arm, defmt-print and the thumbv7em target; scripts/check.sh runs it"]
fn device_verifies_signatures() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(dir.path());
    let file = dir.path().join("signature-cases.bin");
    fs::write(&file, test_file(&cases)).unwrap();

    let firmware = firmware_dir();
    let status = CORTEX_M4F
        .release_build(&firmware)
        .args(["--bin", "signature", "--features", "signature"])
        .env("MDN_PUBLIC_KEY", dir.path().join("k.pub"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the signature firmware failed");
    let elf = CORTEX_M4F.release_elf(&firmware, "signature");
    let loader = format!("loader,file={},addr={TEST_FILE_ADDRESS}", file.display());
    let run = qemu::run(
        &CORTEX_M4F,
        &elf,
        &["-icount", qemu::ICOUNT_SHIFT, "-device", &loader],
    )
    .expect("QEMU and defmt-print run");
    println!("{}:\n{}", CORTEX_M4F.name, run.log);
    assert_eq!(run.code, Some(0), "{}", run.log);
    for (index, case) in cases.iter().enumerate() {
        let line = format!("signature: case {index}: {}", case.logged);
        assert!(
            run.log.lines().any(|l| l.ends_with(&line)),
            "{}: expected {line:?} in\n{}",
            case.name,
            run.log
        );
    }
    assert!(
        run.log
            .contains(&format!("signature: {} cases checked", cases.len())),
        "{}",
        run.log
    );
    let instructions = run
        .log
        .split("-byte blob: ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no instruction count in\n{}", run.log));
    // BENCHMARKS.md ("Signature verification"): about 2.3 million; a large change means
    // the crate or its build settings changed.
    assert!(
        (1_000_000..5_000_000).contains(&instructions),
        "{instructions} instructions for one verification"
    );
}
