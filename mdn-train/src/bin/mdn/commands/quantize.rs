//! `mdn quantize`: a model's weights rewritten as f32, f16 or int8, or the whole model as an
//! integer network (int8 weights on int16 activations).

use std::{fmt, path::PathBuf};

use anyhow::{Result, bail};
use mdn_train::{
    aligned::AlignedBytes,
    compact,
    eval::{self, ModelFile},
    integer, io,
};
use serde::Serialize;

use crate::{
    cli::{Activations, QuantizeArgs, integer_plan},
    load,
    report::emit,
};

/// What `mdn quantize` prints.
#[derive(Debug, Serialize)]
struct QuantizeReport {
    model: PathBuf,
    out: PathBuf,
    /// Storage of each dense layer before and after (hidden layers, then the heads).
    storage_before: Vec<String>,
    storage_after: Vec<String>,
    bytes_before: usize,
    bytes_after: usize,
    /// With --data: the NLL of each model on it (nats per row, mdn-core).
    score: Option<Score>,
}

/// The two models scored on --data.
#[derive(Debug, Serialize)]
struct Score {
    data: PathBuf,
    n: usize,
    nll_before: f64,
    nll_after: f64,
}

/// Runs `mdn quantize`.
pub fn run(args: QuantizeArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    io::check_writable(&args.out)?;
    let before = file.blob()?.header().clone();
    let plan = match args.head_weights {
        Some(head) => args.weights.with_head(head),
        None => args.weights,
    };
    let data = match &args.data {
        Some(path) => Some((path, load::for_model(&file, path, &args.csv)?)),
        None => None,
    };
    let converted = match args.activations {
        Activations::F32 => compact::apply(&file.bytes, &plan)?,
        Activations::Int16 => {
            let plan = integer_plan(args.weights, args.head_weights).map_err(anyhow::Error::msg)?;
            let Some((_, data)) = &data else {
                bail!("--activations int16 needs --data: the rows that fit the activation steps");
            };
            let rows: Vec<Vec<f32>> = (0..data.len()).map(|i| data.row_x(i).to_vec()).collect();
            integer::to_integer(&file.bytes, &rows, plan.head)?
        }
    };
    let score = match data {
        Some((path, data)) => {
            let after = ModelFile {
                path: args.out.clone(),
                bytes: AlignedBytes::from_slice(&converted),
            };
            Some(Score {
                data: path.clone(),
                n: data.len(),
                nll_before: eval::evaluate(&file.model()?, &data)?.nll,
                nll_after: eval::evaluate(&after.model()?, &data)?.nll,
            })
        }
        None => None,
    };
    io::write_atomic(&args.out, &converted)?;
    let names = |storage: &[mdn_core::Storage]| storage.iter().map(ToString::to_string).collect();
    let after = mdn_core::Blob::from_bytes(&converted)
        .map(|b| names(&b.header().storage))
        .unwrap_or_default();
    let report = QuantizeReport {
        model: file.path.clone(),
        out: args.out,
        storage_before: names(&before.storage),
        storage_after: after,
        bytes_before: file.bytes.len(),
        bytes_after: converted.len(),
        score,
    };
    emit(args.output, &report)
}

impl fmt::Display for QuantizeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "weights {} -> {}: {} -> {} bytes ({:.0} %)",
            self.storage_before.join(", "),
            self.storage_after.join(", "),
            self.bytes_before,
            self.bytes_after,
            100.0 * self.bytes_after as f64 / self.bytes_before.max(1) as f64
        )?;
        if let Some(score) = &self.score {
            writeln!(
                f,
                "NLL on {} ({} rows): {:.4} -> {:.4} nats per row ({:+.4})",
                score.data.display(),
                score.n,
                score.nll_before,
                score.nll_after,
                score.nll_after - score.nll_before
            )?;
        }
        writeln!(f, "wrote {}", self.out.display())
    }
}
