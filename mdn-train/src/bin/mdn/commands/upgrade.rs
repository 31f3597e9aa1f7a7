//! `mdn upgrade`: a format version 3 blob rewritten as version 4.

use std::{fmt, path::PathBuf};

use anyhow::Result;
use mdn_train::{io, upgrade};
use serde::Serialize;

use crate::{cli::UpgradeArgs, report::emit};

/// What `mdn upgrade` prints.
#[derive(Debug, Serialize)]
struct UpgradeReport {
    model: PathBuf,
    out: PathBuf,
    from_version: u16,
    to_version: u16,
    bytes: usize,
}

/// Runs `mdn upgrade`.
pub fn run(args: UpgradeArgs) -> Result<()> {
    let path = args.model.path();
    io::check_writable(&args.out)?;
    let upgraded = upgrade::file(&io::read(&path)?, &path)?;
    io::write_atomic(&args.out, &upgraded)?;
    emit(
        args.output,
        &UpgradeReport {
            model: path,
            out: args.out,
            from_version: upgrade::FROM_VERSION,
            to_version: mdn_core::FORMAT_VERSION,
            bytes: upgraded.len(),
        },
    )
}

impl fmt::Display for UpgradeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote {} (format version {} -> {}, {} bytes)",
            self.out.display(),
            self.from_version,
            self.to_version,
            self.bytes
        )
    }
}
