//! `mdn verify`: does a model's detached signature hold for a public key? The check is
//! mdn-update's, the one a firmware runs.

use std::{fmt, path::PathBuf};

use anyhow::{Result, bail};
use mdn_train::{io, signing};
use serde::Serialize;

use crate::{cli::VerifyArgs, report::emit};

/// What `mdn verify` prints.
#[derive(Debug, Serialize)]
struct VerifyReport {
    model: PathBuf,
    signature: PathBuf,
    public_key: PathBuf,
    holds: bool,
    /// Why it does not hold (mdn-update's `SignatureError`); absent when it holds.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// Runs `mdn verify`: exit status 0 when the signature holds, 1 (with the report printed
/// first) when it does not; a missing or truncated signature file is an error of its own.
pub fn run(args: VerifyArgs) -> Result<()> {
    let model = args.model.path();
    let blob = io::read(&model)?;
    let verdict = signing::verify_file(&blob, &args.sig, &args.public_key)?;
    let report = VerifyReport {
        model,
        signature: args.sig,
        public_key: args.public_key,
        holds: verdict.is_ok(),
        reason: verdict.err().map(|e| e.to_string()),
    };
    emit(args.output, &report)?;
    if let Some(reason) = &report.reason {
        bail!(
            "{}: signature {} refused for public key {}: {reason}",
            report.model.display(),
            report.signature.display(),
            report.public_key.display()
        );
    }
    Ok(())
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.reason {
            None => writeln!(
                f,
                "signature holds: {} is signed by the key of {} ({})",
                self.model.display(),
                self.public_key.display(),
                self.signature.display()
            ),
            Some(reason) => writeln!(
                f,
                "signature does NOT hold: {} with {} and {}: {reason}",
                self.model.display(),
                self.signature.display(),
                self.public_key.display()
            ),
        }
    }
}
