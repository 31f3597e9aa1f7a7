//! The committed `include/mdn.h` is the header of a host build with default capacities:
//! regenerate it with `MDN_C_BLESS=1 cargo test -p mdn-c --test header` after changing the
//! API.

use std::{env, fs, path::Path};

#[path = "../header.rs"]
mod header;

#[test]
fn committed_header_is_current() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The committed header describes a 64-bit host (its MDN_MODEL_WORDS).
    let fresh = header::generate(
        crate_dir,
        header::HOST_CAPACITIES,
        header::model_words("64"),
    );
    let path = crate_dir.join("include/mdn.h");
    if env::var_os("MDN_C_BLESS").is_some() {
        fs::write(&path, &fresh).unwrap();
    }
    let committed = fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "mdn-c/include/mdn.h is stale: run `MDN_C_BLESS=1 cargo test -p mdn-c --test header` \
         and commit it"
    );
}

#[test]
fn header_is_c99_for_a_c_compiler() {
    // Compiles a translation unit that includes the header with the strictest C99 flags.
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("include_only.c");
    fs::write(
        &source,
        "#include \"mdn.h\"\nint main(void) { static mdn_model m; \
         return (int)mdn_input_dim(&m) + (int)sizeof m / 8 - MDN_MODEL_WORDS; }\n",
    )
    .unwrap();
    let include = Path::new(env!("CARGO_MANIFEST_DIR")).join("include");
    let status = std::process::Command::new("cc")
        .args([
            "-std=c99",
            "-pedantic-errors",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-c",
            "-I",
        ])
        .arg(&include)
        .arg(&source)
        .arg("-o")
        .arg(dir.path().join("include_only.o"))
        .status()
        .expect("cc runs");
    assert!(status.success(), "mdn.h does not compile as C99");
}
