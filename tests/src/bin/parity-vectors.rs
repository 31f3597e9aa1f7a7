//! Writes the parity vectors of any model blob, for the firmware's one-binary, any-model run
//! (`firmware-example/README.md`): the blob goes to QEMU's flash at `0x300000`, these
//! vectors at `0x340000`, and the unchanged `parity` binary checks them.
//!
//! ```text
//! cargo run -p mdn-tests --bin parity-vectors -- model.mdn model.vectors [QUERIES [SEED]]
//! ```
//!
//! `QUERIES` (default 60, as the committed set) random inputs, each with every query, plus
//! the edge cases and the raw libm outputs; the expected results are mdn-core's on this
//! host. Exit 1 if the blob is invalid, exceeds the parity binary's capacities
//! (`mdn_tests::vectors::ParityModel`) or gives more vectors than the partition's slot
//! holds; exit 2 on a usage error.

use std::{fs, path::PathBuf, process::ExitCode};

use mdn_tests::{generate::parity_vectors, vectors::PARTITION_SLOT_BYTES as SLOT_BYTES};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: parity-vectors MODEL.mdn OUT.vectors [QUERIES [SEED]]";
    let (Some(model), Some(out)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let number = |i: usize, default: u64| match args.get(i) {
        None => Some(default),
        Some(text) => text.parse::<u64>().ok(),
    };
    let (Some(queries), Some(seed), None) = (number(2, 60), number(3, 1000), args.get(4)) else {
        eprintln!("{usage}\n(QUERIES and SEED are non-negative integers)");
        return ExitCode::from(2);
    };
    match write(model.into(), out.into(), queries as usize, seed) {
        Ok(message) => {
            println!("{message}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}

fn write(model: PathBuf, out: PathBuf, queries: usize, seed: u64) -> Result<String, String> {
    let bytes = fs::read(&model).map_err(|e| format!("{}: {e}", model.display()))?;
    if bytes.len() > SLOT_BYTES {
        return Err(format!(
            "{}: {} bytes, more than the partition slot's {SLOT_BYTES}",
            model.display(),
            bytes.len()
        ));
    }
    let vectors = parity_vectors(&bytes, queries, seed).map_err(|e| match e {
        mdn_core::Error::CapacityExceeded { .. } => format!(
            "{}: {e} (the parity binary's capacities: mdn_tests::vectors::ParityModel)",
            model.display()
        ),
        e => format!("{}: {e}", model.display()),
    })?;
    if vectors.len() > SLOT_BYTES {
        return Err(format!(
            "{queries} queries give {} bytes of vectors, more than the partition slot's \
             {SLOT_BYTES}: ask for fewer",
            vectors.len()
        ));
    }
    // A temporary file renamed over `out`: an interrupted run leaves no half-written file.
    let partial = out.with_extension("vectors.partial");
    fs::write(&partial, &vectors)
        .and_then(|()| fs::rename(&partial, &out))
        .map_err(|e| format!("{}: {e}", out.display()))?;
    Ok(format!(
        "{}: {} bytes of vectors for {queries} queries",
        out.display(),
        vectors.len()
    ))
}
