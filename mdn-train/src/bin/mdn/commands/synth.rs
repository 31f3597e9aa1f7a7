//! `mdn data synth`: write a synthetic data set.

use std::{fmt, path::PathBuf};

use anyhow::{Result, anyhow};
use mdn_train::{io, synth};
use serde::Serialize;

use crate::{cli::SynthArgs, report::emit};

/// What `mdn data synth` prints.
#[derive(Debug, Serialize)]
struct SynthReport {
    out: PathBuf,
    kind: &'static str,
    n: usize,
    seed: u64,
}

/// Runs `mdn data synth`.
pub fn run(args: SynthArgs) -> Result<()> {
    if args.n == 0 {
        return Err(anyhow!("--n: expected at least 1 row, found 0"));
    }
    let data = synth::generate(args.kind, args.n, args.seed);
    io::write_atomic(&args.out, synth::to_csv(&data).as_bytes())?;
    let report = SynthReport {
        out: args.out,
        kind: args.kind.name(),
        n: args.n,
        seed: args.seed,
    };
    emit(args.output, &report)
}

impl fmt::Display for SynthReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "wrote {} rows of `{}` data to {}",
            self.n,
            self.kind,
            self.out.display()
        )
    }
}
