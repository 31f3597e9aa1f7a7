//! Fixes the capacities (`MDN_CAPACITIES=I,W,K,D`, or the target's default) for
//! `src/capacities.rs`, and writes the header of this build beside its library:
//! `target/<triple>/<profile>/include/mdn.h` (`target/<profile>/include/mdn.h` on a host
//! build without `--target`).

use std::{env, fs, path::PathBuf};

mod header;

fn main() {
    let crate_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=header.rs");
    println!("cargo::rerun-if-changed=src");
    println!("cargo::rerun-if-env-changed=MDN_CAPACITIES");

    let bare_metal = env::var("CARGO_CFG_TARGET_OS").is_ok_and(|os| os == "none");
    let default = if bare_metal {
        header::BARE_METAL_CAPACITIES
    } else {
        header::HOST_CAPACITIES
    };
    let capacities = match env::var("MDN_CAPACITIES") {
        Ok(text) => parse(&text).unwrap_or_else(|| {
            panic!(
                "MDN_CAPACITIES: expected four positive integers I,W,K,D (e.g. {}), found {text:?}",
                header::join(default)
            )
        }),
        Err(_) => default,
    };
    let [inputs, width, components, outputs] = capacities;
    let pointer_width = env::var("CARGO_CFG_TARGET_POINTER_WIDTH").unwrap();
    let model_words = header::model_words(&pointer_width);
    fs::write(
        out_dir.join("capacities.rs"),
        format!(
            "/// Capacity for input features (`I`).\npub const MAX_INPUTS: usize = {inputs};\n\
             /// Capacity for the widest hidden layer (`W`).\npub const MAX_WIDTH: usize = {width};\n\
             /// Capacity for mixture components (`K`).\npub const MAX_COMPONENTS: usize = {components};\n\
             /// Capacity for output dimensions (`D`).\npub const MAX_OUTPUTS: usize = {outputs};\n\
             /// `uint64_t` words of an `mdn_model` on this target ({pointer_width}-bit pointers).\n\
             pub const MDN_MODEL_WORDS: usize = {model_words};\n"
        ),
    )
    .unwrap();

    // OUT_DIR is <profile dir>/build/mdn-c-<hash>/out.
    if let Some(profile_dir) = out_dir.ancestors().nth(3) {
        let include = profile_dir.join("include");
        fs::create_dir_all(&include).unwrap();
        fs::write(
            include.join("mdn.h"),
            header::generate(&crate_dir, capacities, model_words),
        )
        .unwrap();
    }
}

/// `"I,W,K,D"` as four positive numbers.
fn parse(text: &str) -> Option<[usize; 4]> {
    let values: Vec<usize> = text
        .split(',')
        .map(|v| v.trim().parse().ok().filter(|&v: &usize| v > 0))
        .collect::<Option<_>>()?;
    values.try_into().ok()
}
