//! Selects the memory layout for the chosen target feature, passes the linker scripts, and
//! exports `MDN_PARITY_DIR`, `MDN_MODEL` and `MDN_CAPACITIES` for binaries that embed model
//! blobs and parity vectors; with the `signature` feature, bakes the public key of
//! `MDN_PUBLIC_KEY` into `$OUT_DIR/public_key.rs`; with `signature-cost`, signs `MDN_MODEL`
//! with a fixed key for `signature_cost` (`$OUT_DIR/bench_signature.rs`).

use std::{
    env, fs,
    path::{Path, PathBuf},
};

/// `(cargo feature, memory layout)`; exactly one feature must be enabled.
const TARGETS: [(&str, &str); 2] = [
    ("qemu", "memory/qemu-mps2-an386.x"),
    ("board-nrf52840dk", "memory/nrf52840.x"),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    println!("cargo::rerun-if-changed=build.rs");

    let enabled: Vec<&str> = TARGETS
        .iter()
        .filter(|(feature, _)| env::var_os(feature_env(feature)).is_some())
        .map(|&(_, memory)| memory)
        .collect();
    // Any other combination is reported by `compile_error!` in src/lib.rs, which names the
    // features; linking never starts.
    if let [memory] = enabled[..] {
        println!("cargo::rerun-if-changed={memory}");
        // cortex-m-rt's link.x does `INCLUDE memory.x`, searched on the library path.
        fs::copy(manifest_dir.join(memory), out_dir.join("memory.x")).unwrap();
        // cortex-m-rt's `device` feature includes `device.x` for interrupt handler aliases;
        // src/vector_table.rs points every interrupt at the default handler, so it is empty.
        fs::write(
            out_dir.join("device.x"),
            "/* no device interrupt handlers */\n",
        )
        .unwrap();
        println!("cargo::rustc-link-search={}", out_dir.display());
        // Here rather than in .cargo/config.toml rustflags, which an exported RUSTFLAGS replaces.
        println!("cargo::rustc-link-arg=--nmagic");
        println!("cargo::rustc-link-arg=-Tlink.x");
        println!("cargo::rustc-link-arg=-Tdefmt.x");
    }

    export_parity_dir(&manifest_dir);
    let model = export_model(&manifest_dir);
    export_capacities();
    if env::var_os("CARGO_FEATURE_SIGNATURE").is_some() {
        export_public_key(&manifest_dir, &out_dir);
    }
    #[cfg(feature = "signature-cost")]
    write_bench_signature(&model, &out_dir);
    #[cfg(not(feature = "signature-cost"))]
    let _ = model;
}

/// Bytes of an Ed25519 public key (RFC 8032 section 5.1.5).
const PUBLIC_KEY_BYTES: usize = 32;

/// Writes `$OUT_DIR/public_key.rs`, `pub const PUBLIC_KEY: [u8; 32]`, from the file named by
/// `MDN_PUBLIC_KEY` (a relative path is taken relative to `firmware-example/`): the `NAME.pub`
/// that `mdn keygen --out NAME` writes, 32 raw bytes. Fails the build, naming the variable and
/// the file, when the variable is missing, the file cannot be read or has another length.
fn export_public_key(manifest_dir: &Path, out_dir: &Path) {
    println!("cargo::rerun-if-env-changed=MDN_PUBLIC_KEY");
    let Some(path) = env::var_os("MDN_PUBLIC_KEY") else {
        panic!(
            "the `signature` feature needs MDN_PUBLIC_KEY=path/NAME.pub, the public key the \
             firmware accepts signatures from (written by `mdn keygen --out NAME`)"
        )
    };
    let path = manifest_dir.join(path);
    println!("cargo::rerun-if-changed={}", path.display());
    let key = fs::read(&path)
        .unwrap_or_else(|err| panic!("MDN_PUBLIC_KEY: cannot read {}: {err}", path.display()));
    assert!(
        key.len() == PUBLIC_KEY_BYTES,
        "MDN_PUBLIC_KEY: {} holds {} bytes, expected a {PUBLIC_KEY_BYTES}-byte Ed25519 public \
         key (the NAME.pub of `mdn keygen --out NAME`, not the secret NAME.key)",
        path.display(),
        key.len()
    );
    let code = format!(
        "/// The Ed25519 public key signatures are checked against, from `MDN_PUBLIC_KEY` \
         ({}).\npub const PUBLIC_KEY: [u8; {PUBLIC_KEY_BYTES}] = {key:?};\n",
        path.display()
    );
    fs::write(out_dir.join("public_key.rs"), code).unwrap();
}

/// Writes `$OUT_DIR/bench_signature.rs` for `signature_cost`: `BENCH_PUBLIC_KEY` and
/// `BENCH_SIGNATURE`, the signature of the blob at `model`, whole, by the key pair of a fixed
/// seed (the same key every build: the figures do not depend on it, and nothing trusts it).
#[cfg(feature = "signature-cost")]
fn write_bench_signature(model: &Path, out_dir: &Path) {
    use ed25519_compact::{KeyPair, Seed};

    let blob = fs::read(model).unwrap();
    let key_pair = KeyPair::from_seed(Seed::new([0x5a; 32]));
    let signature = key_pair.sk.sign(&blob, None);
    let code = format!(
        "/// The public key of `signature_cost`'s fixed-seed key pair.\n\
         static BENCH_PUBLIC_KEY: [u8; 32] = {:?};\n\
         /// The signature of `MDN_MODEL`'s blob by that key pair.\n\
         static BENCH_SIGNATURE: [u8; 64] = {:?};\n",
        *key_pair.pk, *signature
    );
    fs::write(out_dir.join("bench_signature.rs"), code).unwrap();
}

/// The capacities `minimal` and `cost` evaluate `MDN_MODEL` with, when `MDN_CAPACITIES` is
/// not set: 1 input, hidden layers up to 32 wide, 5 components, 1 output.
const DEFAULT_CAPACITIES: &str = "1,32,5,1";

/// Exports `MDN_CAPACITIES`, the `Model<I, W, K, D>` capacities of `minimal` and `cost` as
/// `I,W,K,D` (default [`DEFAULT_CAPACITIES`]); src/capacities.rs parses it at compile time.
/// Checked here too, so a typo fails with a message rather than a const-evaluation error.
fn export_capacities() {
    println!("cargo::rerun-if-env-changed=MDN_CAPACITIES");
    let capacities = env::var("MDN_CAPACITIES").unwrap_or_else(|_| DEFAULT_CAPACITIES.into());
    let values: Vec<Option<usize>> = capacities
        .split(',')
        .map(|v| v.trim().parse().ok().filter(|&v: &usize| v > 0))
        .collect();
    assert!(
        values.len() == 4 && values.iter().all(Option::is_some),
        "MDN_CAPACITIES: expected four positive integers I,W,K,D (e.g. {DEFAULT_CAPACITIES}), \
         found {capacities:?}"
    );
    let values: Vec<String> = values.iter().flatten().map(usize::to_string).collect();
    println!("cargo::rustc-env=MDN_CAPACITIES={}", values.join(","));
}

/// Exports the absolute path of the model that `minimal` and `cost` embed as `MDN_MODEL`
/// (default `models/minimal.mdn`; a relative path is taken relative to `firmware-example/`),
/// and returns it.
fn export_model(manifest_dir: &Path) -> PathBuf {
    println!("cargo::rerun-if-env-changed=MDN_MODEL");
    let model = match env::var_os("MDN_MODEL") {
        Some(path) => manifest_dir.join(path),
        None => manifest_dir.join("models/minimal.mdn"),
    };
    let model = model
        .canonicalize()
        .unwrap_or_else(|err| panic!("MDN_MODEL: cannot resolve {}: {err}", model.display()));
    println!("cargo::rerun-if-changed={}", model.display());
    println!("cargo::rustc-env=MDN_MODEL={}", model.display());
    model
}

/// Exports the absolute path of the parity directory as `MDN_PARITY_DIR` (default `golden/`)
/// and reruns this script when the variable or any file in the directory changes.
fn export_parity_dir(manifest_dir: &Path) {
    println!("cargo::rerun-if-env-changed=MDN_PARITY_DIR");
    let dir = match env::var_os("MDN_PARITY_DIR") {
        // The build script's working directory is the manifest directory, whatever the
        // caller's is, so a relative path is resolved against it.
        Some(dir) => manifest_dir.join(dir),
        None => manifest_dir.join("golden"),
    };
    let dir = dir
        .canonicalize()
        .unwrap_or_else(|err| panic!("MDN_PARITY_DIR: cannot resolve {}: {err}", dir.display()));
    assert!(
        dir.is_dir(),
        "MDN_PARITY_DIR: {} is not a directory",
        dir.display()
    );
    let dir_utf8 = dir
        .to_str()
        .unwrap_or_else(|| panic!("MDN_PARITY_DIR: {} is not UTF-8", dir.display()));

    // A directory entry makes Cargo rerun when a file is added or removed; each file entry
    // when its contents change.
    println!("cargo::rerun-if-changed={dir_utf8}");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|err| panic!("MDN_PARITY_DIR: cannot list {dir_utf8}: {err}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    for file in &files {
        println!("cargo::rerun-if-changed={}", file.display());
    }
    println!("cargo::rustc-env=MDN_PARITY_DIR={dir_utf8}");
    write_parity_sets(&files);
}

/// Writes `$OUT_DIR/parity_sets.rs`: one `ParitySet` (see src/bin/parity.rs) for every
/// `NAME.mdn` with a `NAME.vectors` beside it, blobs in a 4-byte-aligned wrapper.
fn write_parity_sets(files: &[PathBuf]) {
    let mut code = String::from("/// Every parity set, sorted by name.\n");
    code.push_str("static PARITY_SETS: &[ParitySet] = &[\n");
    let mut count = 0;
    for blob in files
        .iter()
        .filter(|f| f.extension().is_some_and(|e| e == "mdn"))
    {
        let vectors = blob.with_extension("vectors");
        if !vectors.is_file() {
            continue;
        }
        let name = blob
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("UTF-8 file name");
        code.push_str(&format!(
            "    ParitySet {{ name: {name:?}, blob: &Aligned(*include_bytes!({blob:?})), \
             vectors: include_bytes!({vectors:?}) }},\n"
        ));
        count += 1;
    }
    code.push_str("];\n");
    assert!(
        count > 0,
        "MDN_PARITY_DIR holds no NAME.mdn + NAME.vectors pair"
    );
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap()).join("parity_sets.rs");
    fs::write(out, code).unwrap();
}

/// `board-nrf52840dk` -> `CARGO_FEATURE_BOARD_NRF52840DK`.
fn feature_env(feature: &str) -> String {
    format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"))
}
