//! `mdn predict`: the predictive mixture for one input, and what it says.

use std::fmt;

use anyhow::{Result, anyhow};
use mdn_core::TargetTransform;
use mdn_train::{eval::ModelFile, excerpt, summary::Summary};
use serde::Serialize;

use crate::{cli::PredictArgs, report::emit};

/// What `mdn predict` prints.
#[derive(Debug, Serialize)]
struct PredictReport {
    x: Vec<f32>,
    features: Vec<String>,
    targets: Vec<String>,
    /// `log` when the components are normals of `ln y` (log-normals of `y`), else
    /// `original`.
    parameter_space: &'static str,
    /// Every component of every network: component `k` of network `m` is row `m K + k`.
    weights: Vec<f32>,
    means: Vec<Vec<f32>>,
    sigmas: Vec<Vec<f32>>,
    /// The predictive mean and standard deviation per target.
    mean: Vec<f32>,
    std: Vec<f32>,
    /// `--y`: the density there and, for one target, the CDF.
    #[serde(flatten)]
    at_y: Option<AtY>,
    /// Modes, quantiles, intervals and entropy: one target only.
    #[serde(flatten)]
    summary: Option<Summary>,
    /// Components per network, for the table's labels.
    #[serde(skip)]
    per_network: usize,
    /// Networks in the model.
    #[serde(skip)]
    networks: u32,
}

/// The predictive distribution at `--y`.
#[derive(Debug, Serialize)]
struct AtY {
    y: Vec<f32>,
    /// `ln p(y|x)`; `-inf` (density zero, such as `y <= 0` under a log target) is written
    /// as `null` in JSON.
    log_prob: f32,
    /// `F(y|x) = P(Y <= y | x)` for a model with one target; left out for several, whose
    /// one-dimensional queries `predict` does not report (the joint CDF is not what a
    /// calibration check reads, and per-target marginals are `eval --per-sample`'s `pit_*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    cdf: Option<f32>,
}

/// Runs `mdn predict`.
pub fn run(args: PredictArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    let model = file.model()?;
    let (features, targets) = file.names()?;
    let mixture = model.mixture(&args.x).map_err(|e| {
        anyhow!(
            "--x: {e} (the model's features, in order: {})",
            excerpt::quoted_list(&features)
        )
    })?;
    let at_y = args
        .y
        .map(|y| -> Result<AtY> {
            let wrong_y = |e| {
                anyhow!(
                    "--y: {e} (the model's targets: {})",
                    excerpt::quoted_list(&targets)
                )
            };
            let log_prob = mixture.log_prob(&y).map_err(wrong_y)?;
            let cdf = if mixture.dims() == 1 {
                Some(mixture.cdf(&y).map_err(wrong_y)?[0])
            } else {
                None
            };
            Ok(AtY { y, log_prob, cdf })
        })
        .transpose()?;
    let summary = Summary::of(&mixture).map_err(|e| anyhow!("{e}"))?;
    let report = PredictReport {
        x: args.x,
        features,
        targets,
        parameter_space: match mixture.transform() {
            TargetTransform::Log => "log",
            _ => "original",
        },
        weights: mixture.iter().map(|c| c.weight()).collect(),
        means: mixture.iter().map(|c| c.means.to_vec()).collect(),
        sigmas: mixture.iter().map(|c| c.sigmas.to_vec()).collect(),
        mean: mixture.mean().to_vec(),
        std: mixture.std_dev().to_vec(),
        at_y,
        summary,
        per_network: (model.header().components as usize).max(1),
        networks: model.header().networks,
    };
    emit(args.output, &report)
}

fn fmt_list(v: &[f32]) -> String {
    v.iter()
        .map(|x| format!("{x:.5}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl fmt::Display for PredictReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.parameter_space == "log" {
            "mixture of log-normals; means and sigmas are of ln y:\n"
        } else {
            "mixture of normals in original units:\n"
        })?;
        let ensemble = self.networks > 1;
        f.write_str(if ensemble {
            "  net  k  weight    mean        sigma\n"
        } else {
            "  k  weight    mean        sigma\n"
        })?;
        let rows = self.weights.iter().zip(&self.means).zip(&self.sigmas);
        for (i, ((w, m), sd)) in rows.enumerate() {
            let (net, k) = (i / self.per_network, i % self.per_network);
            let label = if ensemble {
                format!("{net:>5}  {k}")
            } else {
                format!("  {k}")
            };
            writeln!(
                f,
                "{label}  {w:<8.4}  {:<10}  {}",
                fmt_list(m),
                fmt_list(sd)
            )?;
        }
        writeln!(
            f,
            "mean {}\nstd  {}",
            fmt_list(&self.mean),
            fmt_list(&self.std)
        )?;
        match &self.summary {
            Some(summary) => f.write_str(&summary.text())?,
            None => f.write_str(
                "(modes, quantiles, intervals, entropy and the CDF at --y are for models with \
                 one target)\n",
            )?,
        }
        if let Some(at) = &self.at_y {
            writeln!(
                f,
                "log p(y|x) = {:.6} (p = {:.6})",
                at.log_prob,
                at.log_prob.exp()
            )?;
            if let Some(cdf) = at.cdf {
                writeln!(f, "F(y|x) = P(Y <= y | x) = {cdf:.6}")?;
            }
        }
        Ok(())
    }
}
