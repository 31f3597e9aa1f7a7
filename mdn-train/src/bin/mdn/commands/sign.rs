//! `mdn sign`: the detached Ed25519 signature of a model blob.

use std::{fmt, path::PathBuf};

use anyhow::Result;
use mdn_train::{io, signing};
use serde::Serialize;

use crate::{cli::SignArgs, report::emit};

/// What `mdn sign` prints.
#[derive(Debug, Serialize)]
struct SignReport {
    model: PathBuf,
    out: PathBuf,
    blob_bytes: usize,
    signature_bytes: usize,
}

/// Runs `mdn sign`.
pub fn run(args: SignArgs) -> Result<()> {
    let model = args.model.path();
    io::check_writable(&args.out)?;
    let blob = io::read(&model)?;
    let signature = signing::sign(&blob, &model, &args.key)?;
    io::write_atomic(&args.out, &signature)?;
    emit(
        args.output,
        &SignReport {
            model,
            out: args.out,
            blob_bytes: blob.len(),
            signature_bytes: signature.len(),
        },
    )
}

impl fmt::Display for SignReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote {} ({}-byte Ed25519 signature of the {} bytes of {})",
            self.out.display(),
            self.signature_bytes,
            self.blob_bytes,
            self.model.display()
        )
    }
}
