//! `mdn keygen`: a new Ed25519 key pair for signing models.

use std::{fmt, path::PathBuf};

use anyhow::Result;
use mdn_train::signing;
use serde::Serialize;

use crate::{cli::KeygenArgs, report::emit};

/// What `mdn keygen` prints.
#[derive(Debug, Serialize)]
struct KeygenReport {
    secret_key: PathBuf,
    public_key: PathBuf,
}

/// Runs `mdn keygen`.
pub fn run(args: KeygenArgs) -> Result<()> {
    let (secret_key, public_key) = signing::keygen(&args.out)?;
    emit(
        args.output,
        &KeygenReport {
            secret_key,
            public_key,
        },
    )
}

impl fmt::Display for KeygenReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote {} (secret key: keep it private, mode 0600) and {} (public key: build \
             firmware with MDN_PUBLIC_KEY={})",
            self.secret_key.display(),
            self.public_key.display(),
            self.public_key.display()
        )
    }
}
