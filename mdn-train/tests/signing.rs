//! `mdn keygen`, `mdn sign` and `mdn verify` through the command line: a signed model
//! verifies; a tampered blob, a tampered signature and another key's public key exit 1
//! with "does NOT hold"; an unsigned model (no .sig), an empty or truncated .sig, swapped
//! key files and an invalid blob are errors of their own, naming the file and the expected
//! and found lengths. The signature itself is checked against RFC 8032's vectors in
//! mdn-update; here the concern is the files and the exit statuses.

mod common;

use std::{fs, path::Path};

use common::{mdn, text};

/// A valid blob to sign.
fn model_bytes() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware-example/models/minimal.mdn");
    fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Runs `mdn` and returns (exit status, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = mdn(dir, args);
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

/// A directory with `m.mdn`, key pairs `k` and `other`, and `m.sig` signed by `k`.
fn signed() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.mdn"), model_bytes()).unwrap();
    for name in ["k", "other"] {
        let (code, _, stderr) = run(dir.path(), &["keygen", "--out", name]);
        assert_eq!(code, Some(0), "{stderr}");
    }
    let (code, stdout, stderr) = run(
        dir.path(),
        &["sign", "m.mdn", "--key", "k.key", "--out", "m.sig"],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("wrote m.sig"), "{stdout}");
    dir
}

fn verify(dir: &Path, model: &str, sig: &str, public: &str) -> (Option<i32>, String, String) {
    run(dir, &["verify", model, "--sig", sig, "--pub", public])
}

/// Exit 1, "does NOT hold" on stdout, the model and the reason on stderr.
fn assert_refused(outcome: (Option<i32>, String, String), reason: &str) {
    let (code, stdout, stderr) = outcome;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("signature does NOT hold"), "{stdout}");
    assert!(
        stderr.starts_with("error: ") && stderr.contains(reason),
        "{stderr}"
    );
}

/// Exit 1, nothing on stdout, one error line on stderr containing `message`.
fn assert_error(outcome: (Option<i32>, String, String), message: &str) {
    let (code, stdout, stderr) = outcome;
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.is_empty(), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(message), "expected {message:?} in {stderr}");
}

#[test]
fn keygen_writes_a_private_secret_key_and_a_public_key() {
    let dir = signed();
    assert_eq!(fs::read(dir.path().join("k.key")).unwrap().len(), 64);
    assert_eq!(fs::read(dir.path().join("k.pub")).unwrap().len(), 32);
    assert_eq!(fs::read(dir.path().join("m.sig")).unwrap().len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |name: &str| {
            fs::metadata(dir.path().join(name))
                .unwrap()
                .permissions()
                .mode()
        };
        assert_eq!(mode("k.key") & 0o777, 0o600);
        assert_ne!(
            mode("k.pub") & 0o044,
            0,
            "the public key is readable by others"
        );
    }
    // Two key pairs differ (the OS's random source, not a fixed seed).
    assert_ne!(
        fs::read(dir.path().join("k.pub")).unwrap(),
        fs::read(dir.path().join("other.pub")).unwrap()
    );
    // A secret key is never replaced.
    let before = fs::read(dir.path().join("k.key")).unwrap();
    assert_error(
        run(dir.path(), &["keygen", "--out", "k"]),
        "k.key: already exists",
    );
    assert_eq!(fs::read(dir.path().join("k.key")).unwrap(), before);
}

#[test]
fn a_signed_model_verifies_and_is_unchanged() {
    let dir = signed();
    assert_eq!(fs::read(dir.path().join("m.mdn")).unwrap(), model_bytes());
    let (code, stdout, stderr) = verify(dir.path(), "m.mdn", "m.sig", "k.pub");
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.starts_with("signature holds"), "{stdout}");
    let (code, stdout, _) = run(
        dir.path(),
        &[
            "verify", "--model", "m.mdn", "--sig", "m.sig", "--pub", "k.pub", "--json",
        ],
    );
    assert_eq!(code, Some(0));
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["holds"], true);
    // The signed blob is still a model every command reads.
    let (code, _, stderr) = run(dir.path(), &["inspect", "m.mdn"]);
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn a_tampered_blob_is_refused() {
    let dir = signed();
    for index in [0, 100, model_bytes().len() - 1] {
        let mut blob = model_bytes();
        blob[index] ^= 0x10;
        fs::write(dir.path().join("t.mdn"), &blob).unwrap();
        assert_refused(
            verify(dir.path(), "t.mdn", "m.sig", "k.pub"),
            "t.mdn: signature m.sig refused for public key k.pub: the signature does not hold",
        );
    }
    // One byte more, one byte less.
    let mut longer = model_bytes();
    longer.push(0);
    fs::write(dir.path().join("t.mdn"), &longer).unwrap();
    assert_refused(
        verify(dir.path(), "t.mdn", "m.sig", "k.pub"),
        "does not hold",
    );
    let shorter = &model_bytes()[..model_bytes().len() - 1];
    fs::write(dir.path().join("t.mdn"), shorter).unwrap();
    assert_refused(
        verify(dir.path(), "t.mdn", "m.sig", "k.pub"),
        "does not hold",
    );
}

#[test]
fn a_tampered_signature_or_another_key_is_refused() {
    let dir = signed();
    let signature = fs::read(dir.path().join("m.sig")).unwrap();
    for index in [0, 31, 32, 63] {
        let mut tampered = signature.clone();
        tampered[index] ^= 0x01;
        fs::write(dir.path().join("t.sig"), &tampered).unwrap();
        assert_refused(
            verify(dir.path(), "m.mdn", "t.sig", "k.pub"),
            "does not hold",
        );
    }
    assert_refused(
        verify(dir.path(), "m.mdn", "m.sig", "other.pub"),
        "for public key other.pub: the signature does not hold",
    );
    // An all-zero signature is the trailer's "unsigned".
    fs::write(dir.path().join("z.sig"), [0_u8; 64]).unwrap();
    assert_refused(
        verify(dir.path(), "m.mdn", "z.sig", "k.pub"),
        "the blob is not signed",
    );
}

#[test]
fn missing_empty_and_truncated_signature_files_are_errors() {
    let dir = signed();
    assert_error(
        verify(dir.path(), "m.mdn", "unsigned.sig", "k.pub"),
        "unsigned.sig: no signature: the file does not exist (the model is unsigned",
    );
    fs::write(dir.path().join("empty.sig"), b"").unwrap();
    assert_error(
        verify(dir.path(), "m.mdn", "empty.sig", "k.pub"),
        "empty.sig: no signature: the file is empty",
    );
    let signature = fs::read(dir.path().join("m.sig")).unwrap();
    fs::write(dir.path().join("short.sig"), &signature[..63]).unwrap();
    assert_error(
        verify(dir.path(), "m.mdn", "short.sig", "k.pub"),
        "short.sig: expected a 64-byte Ed25519 signature, found 63 bytes (truncated)",
    );
    let mut long = signature.clone();
    long.push(0);
    fs::write(dir.path().join("long.sig"), &long).unwrap();
    assert_error(
        verify(dir.path(), "m.mdn", "long.sig", "k.pub"),
        "long.sig: expected a 64-byte Ed25519 signature, found 65 bytes",
    );
}

#[test]
fn key_files_are_checked() {
    let dir = signed();
    // Swapped: the public key given as the secret one, and the other way round.
    assert_error(
        run(
            dir.path(),
            &["sign", "m.mdn", "--key", "k.pub", "--out", "x.sig"],
        ),
        "k.pub: expected a 64-byte Ed25519 secret key file (the NAME.key of `mdn keygen`), \
         found 32 bytes (a public key?)",
    );
    assert_error(
        verify(dir.path(), "m.mdn", "m.sig", "k.key"),
        "k.key: expected a 32-byte Ed25519 public key file (the NAME.pub of `mdn keygen`), \
         found 64 bytes (the secret key?",
    );
    // A damaged secret key: its public half no longer matches.
    let mut key = fs::read(dir.path().join("k.key")).unwrap();
    key[5] ^= 1;
    fs::write(dir.path().join("bad.key"), &key).unwrap();
    assert_error(
        run(
            dir.path(),
            &["sign", "m.mdn", "--key", "bad.key", "--out", "x.sig"],
        ),
        "bad.key: expected a 64-byte Ed25519 secret key file (the NAME.key of `mdn keygen`), \
         found 64 bytes whose second half is not the public key of the first",
    );
    // A public key that is no curve point: the device's MalformedKey.
    let mut no_point = [0_u8; 32];
    no_point[0] = 2;
    fs::write(dir.path().join("bad.pub"), no_point).unwrap();
    assert_refused(
        verify(dir.path(), "m.mdn", "m.sig", "bad.pub"),
        "the public key is not a valid Ed25519 key",
    );
    assert!(!dir.path().join("x.sig").exists());
}

#[test]
fn only_valid_blobs_are_signed() {
    let dir = signed();
    let mut blob = model_bytes();
    blob[100] ^= 1;
    fs::write(dir.path().join("bad.mdn"), &blob).unwrap();
    assert_error(
        run(
            dir.path(),
            &["sign", "bad.mdn", "--key", "k.key", "--out", "bad.sig"],
        ),
        "bad.mdn: not a valid model: checksum mismatch",
    );
    assert!(!dir.path().join("bad.sig").exists());
}
