//! `mdn inspect`: validate a blob and describe it.

use std::{fmt, path::PathBuf};

use anyhow::Result;
use mdn_train::{
    Error,
    describe::{ModelInfo, layers_text, tensor_shape},
    device_cost::DeviceCosts,
    eval::ModelFile,
};
use serde::Serialize;

use crate::{cli::InspectArgs, report::emit};

/// What `mdn inspect` prints: [`ModelInfo`] and the file.
#[derive(Debug, Serialize)]
struct InspectReport {
    #[serde(flatten)]
    info: ModelInfo,
    model: PathBuf,
    /// The worst case over inputs on each core, at the minimum capacities.
    device_cost: DeviceCosts,
    /// The shared tensors and the first network's: `(name, shape, offset)`.
    #[serde(skip)]
    tensors: Vec<(String, Vec<usize>, usize)>,
    /// Parameters of one network, for the line about the others.
    #[serde(skip)]
    network_parameters: usize,
}

/// Runs `mdn inspect`.
pub fn run(args: InspectArgs) -> Result<()> {
    let file = ModelFile::read(&args.model.path())?;
    let blob = file.blob()?;
    let invalid = |source| Error::InvalidModel {
        path: file.path.clone(),
        source,
    };
    let layout = blob.layout().map_err(invalid)?;
    let report = InspectReport {
        info: ModelInfo::new(&blob),
        model: file.path.clone(),
        device_cost: DeviceCosts::predict(blob.header()).map_err(invalid)?,
        // The other networks repeat the first one's shapes.
        tensors: layout
            .tensors()
            .filter(|t| t.network.unwrap_or(0) == 0)
            .map(|t| (t.to_string(), tensor_shape(&t), t.offset))
            .collect(),
        network_parameters: layout.network_parameter_count(),
    };
    emit(args.output, &report)
}

impl fmt::Display for InspectReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = &self.info;
        let c = info.min_capacities;
        writeln!(
            f,
            "{}: valid mdn blob, format version {}, {} bytes, CRC-32 {}",
            self.model.display(),
            info.format_version,
            info.bytes,
            info.crc32
        )?;
        let hidden: Vec<usize> = info.hidden.iter().map(|&w| w as usize).collect();
        writeln!(
            f,
            "network     {}, {} components, {} output(s)",
            layers_text(info.inputs as usize, &hidden, &info.activation),
            info.components,
            info.outputs
        )?;
        if info.networks > 1 {
            let weights: Vec<String> = info
                .network_weights
                .iter()
                .map(|w| format!("{w:.3}"))
                .collect();
            writeln!(
                f,
                "ensemble    {} networks of that shape, weights {}: a mixture of {} components",
                info.networks,
                weights.join(", "),
                c.components
            )?;
        }
        writeln!(
            f,
            "sigma       {} with floor {} (scaled units); target transform {}",
            info.sigma, info.sigma_floor, info.target_transform
        )?;
        writeln!(f, "scalers     (raw - offset) / scale")?;
        for e in info.input_scaler.iter().chain(&info.target_scaler) {
            writeln!(
                f,
                "  {:<16} offset {:<14} scale {}",
                e.name, e.offset, e.scale
            )?;
        }
        writeln!(
            f,
            "features    {}\ntargets     {}",
            info.features.join(", "),
            info.targets.join(", ")
        )?;
        writeln!(
            f,
            "weights     {} (hidden layers, then the heads)",
            info.storage.join(", ")
        )?;
        let scales: Vec<String> = info
            .calibration
            .sigma_scale
            .iter()
            .map(ToString::to_string)
            .collect();
        writeln!(
            f,
            "calibration sigma scale {}, temperature {}{}",
            scales.join(", "),
            info.calibration.temperature,
            if info.calibration.is_identity() {
                " (the identity)"
            } else {
                ""
            }
        )?;
        writeln!(f, "parameters  {}", info.parameters)?;
        for (name, shape, offset) in &self.tensors {
            let shape: Vec<String> = shape.iter().map(usize::to_string).collect();
            let shape = format!("[{}]", shape.join(" x "));
            writeln!(f, "  {name:<32} {shape:<10} at {offset}")?;
        }
        if info.networks > 1 {
            writeln!(
                f,
                "  members.1 .. members.{}: the same tensors, each network {} values further",
                info.networks - 1,
                self.network_parameters
            )?;
        }
        writeln!(
            f,
            "minimum capacities: Model::<{}, {}, {}, {}> (I inputs, W width, K components, D \
             outputs)",
            c.inputs, c.width, c.components, c.outputs
        )?;
        writeln!(
            f,
            "device cost, worst case over inputs at those capacities (a model of QEMU's \
             instruction counts, BENCHMARKS.md \"Cost model\"):"
        )?;
        for line in self.device_cost.to_string().lines() {
            writeln!(f, "  {line}")?;
        }
        Ok(())
    }
}
