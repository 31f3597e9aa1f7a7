//! Argument groups several commands share: `--json`, the model file, how CSV files are
//! read, and the model and training settings.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::Activations;
use mdn_core::{Activation, SigmaTransform, Storage};
use mdn_train::{
    budget::{Budget, ModelTemplate},
    compact::{self, WeightPlan},
    data::{CsvFormat, Missing, parse_delimiter},
    device_cost::Core,
    excerpt,
    scaling::{InputScaling, TargetScaling},
    train::{Deployment, DistillConfig, Finishing, TrainConfig},
};

/// `--json`, the same for every command.
#[derive(Debug, Clone, Copy, Args)]
pub struct JsonArg {
    /// Print one JSON object on stdout and nothing else (progress, warnings and errors go
    /// to stderr; on an error stdout stays empty).
    #[arg(long)]
    pub json: bool,
}

/// A model file, given as `--model M` or positionally.
#[derive(Debug, Clone, Args)]
pub struct ModelArg {
    /// The model blob (or use --model).
    #[arg(
        value_name = "MODEL",
        required_unless_present = "model",
        conflicts_with = "model"
    )]
    pub model_path: Option<PathBuf>,
    /// The model blob.
    #[arg(long = "model", value_name = "MODEL")]
    pub model: Option<PathBuf>,
}

impl ModelArg {
    /// The path, whichever way it was given (clap guarantees one).
    pub fn path(&self) -> PathBuf {
        self.model
            .clone()
            .or_else(|| self.model_path.clone())
            .unwrap_or_default()
    }
}

/// How the data CSV files of a command are read (not the metrics file `mdn train`
/// writes, which is always comma separated).
#[derive(Debug, Clone, Args)]
pub struct CsvArgs {
    /// Field separator of the data files: `,`, `;`, `tab` (or `\t`), or any other single
    /// ASCII character except `"`.
    #[arg(long, default_value = ",", value_parser = parse_delimiter, help_heading = "Input")]
    pub delimiter: u8,
    /// A missing value (an empty cell, `NA`, `N/A` or `NaN` in any letter case) in a used
    /// column: `error` stops with its file, line and column; `drop` leaves the row out and
    /// says on stderr how many rows were left out.
    #[arg(long, value_enum, default_value_t = Missing::Error, help_heading = "Input")]
    pub missing: Missing,
}

impl From<&CsvArgs> for CsvFormat {
    fn from(args: &CsvArgs) -> Self {
        CsvFormat {
            delimiter: args.delimiter,
            missing: args.missing,
        }
    }
}

/// Hidden activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// max(z, 0).
    Relu,
    /// tanh(z).
    Tanh,
}

/// Sigma transform.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SigmaArg {
    /// 1 + ELU(z): linear for z > 0, exp(z) below.
    Nnelu,
    /// ln(1 + e^z).
    Softplus,
    /// e^z.
    Exp,
}

impl From<ActivationArg> for Activation {
    fn from(arg: ActivationArg) -> Self {
        match arg {
            ActivationArg::Relu => Activation::Relu,
            ActivationArg::Tanh => Activation::Tanh,
        }
    }
}

impl From<SigmaArg> for SigmaTransform {
    fn from(arg: SigmaArg) -> Self {
        match arg {
            SigmaArg::Nnelu => SigmaTransform::Nnelu,
            SigmaArg::Softplus => SigmaTransform::Softplus,
            SigmaArg::Exp => SigmaTransform::Exp,
        }
    }
}

/// The widths of `--hidden` (empty: no hidden layer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenLayers(pub Vec<usize>);

/// Parses `--hidden`: comma-separated widths, or `none` or nothing for no hidden layer.
/// A width of 0 parses, so that the library's check names it with the limits.
fn hidden_widths(value: &str) -> Result<HiddenLayers, String> {
    let value = value.trim();
    if value.is_empty() || value.eq_ignore_ascii_case("none") {
        return Ok(HiddenLayers(Vec::new()));
    }
    value
        .split(',')
        .map(|w| {
            w.trim().parse::<usize>().map_err(|_| {
                format!(
                    "expected comma-separated widths such as 32,32, or `none` (or an empty \
                     value) for no hidden layer, found {} in {}",
                    excerpt::quoted(w),
                    excerpt::quoted(value)
                )
            })
        })
        .collect::<Result<_, _>>()
        .map(HiddenLayers)
}

/// A core the device budget counts instructions on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CoreArg {
    /// A Cortex-M4F with mdn-cortex-m's kernel.
    #[value(name = "cortex-m4f")]
    CortexM4f,
    /// A Cortex-M0/M0+ (ARMv6-M, software floats).
    #[value(name = "cortex-m0")]
    CortexM0,
}

impl From<CoreArg> for Core {
    fn from(arg: CoreArg) -> Self {
        match arg {
            CoreArg::CortexM4f => Core::CortexM4F,
            CoreArg::CortexM0 => Core::CortexM0,
        }
    }
}

/// What the model written goes to: one network within a device budget (the default), or
/// the whole ensemble (`--ensemble`). The model options configure the teacher.
#[derive(Debug, Clone, Args)]
pub struct DeviceArgs {
    /// Write the teacher itself, every network of the ensemble the model options
    /// describe, instead of one network within the device budget.
    #[arg(long, help_heading = "Device")]
    pub ensemble: bool,
    /// Instructions per log p(y|x) the written network may take on --core, worst case over
    /// inputs as `mdn inspect` predicts it [default: what the default student takes,
    /// hidden 32,32 with K = 5, for the data's inputs and outputs].
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "ensemble",
        help_heading = "Device"
    )]
    pub max_instructions: Option<u64>,
    /// Bytes the written blob may take [default: the default student's].
    #[arg(
        long,
        value_name = "N",
        conflicts_with = "ensemble",
        help_heading = "Device"
    )]
    pub max_blob_bytes: Option<usize>,
    /// The core --max-instructions counts on.
    #[arg(
        long,
        value_enum,
        default_value_t = CoreArg::CortexM4f,
        conflicts_with = "ensemble",
        help_heading = "Device"
    )]
    pub core: CoreArg,
    /// The student's hidden widths, comma separated, or `none` [default: the largest of
    /// 32,32 down to 4,4 that fits the budget].
    #[arg(
        long,
        value_parser = hidden_widths,
        conflicts_with = "ensemble",
        help_heading = "Device"
    )]
    pub student_hidden: Option<HiddenLayers>,
    /// The student's mixture components K [default: the largest of 5 down to 1 that fits
    /// the budget].
    #[arg(
        long,
        value_name = "K",
        conflicts_with = "ensemble",
        help_heading = "Device"
    )]
    pub student_components: Option<usize>,
    /// How the written blob stores its weights: `f32`; `f16` everywhere (half the bytes,
    /// no measurable NLL cost on the shipped data); or `int8` hidden layers with `f16`
    /// heads (the hidden layers a quarter of the bytes; BENCHMARKS.md, "Compact weights").
    #[arg(
        long,
        value_name = "STORAGE",
        default_value = "f32",
        value_parser = super::weight_plan,
        help_heading = "Device"
    )]
    pub weights: WeightPlan,
    /// The heads' storage, overriding --weights' choice for them: f32, f16 or int8.
    #[arg(
        long,
        value_name = "STORAGE",
        value_parser = compact::parse_storage,
        help_heading = "Device"
    )]
    pub head_weights: Option<Storage>,
    /// The activations: `f32`, or `int16` for an integer network, for cores without an FPU
    /// (needs `--weights int8` and the relu activation; its heads are 16-bit unless
    /// `--head-weights int8`; the steps are fitted on the training rows).
    #[arg(long, value_enum, default_value_t = Activations::F32, help_heading = "Device")]
    pub activations: Activations,
    /// Do not fit the calibration (by default it is fitted on the rows held out from every
    /// network, --val-fraction, and written when it is clearly better on them: a mean gain
    /// per row above two standard errors).
    #[arg(long, help_heading = "Device")]
    pub no_calibrate: bool,
}

impl DeviceArgs {
    /// The weight storage and calibration these options ask for.
    ///
    /// # Errors
    ///
    /// A message for `--activations int16` without `--weights int8`, or with heads other
    /// than the default or int8.
    pub fn finishing(&self) -> Result<Finishing, String> {
        let weights = match (self.activations, self.head_weights) {
            (Activations::F32, Some(head)) => self.weights.with_head(head),
            (Activations::F32, None) => self.weights,
            (Activations::Int16, head) => integer_plan(self.weights, head)?,
        };
        Ok(Finishing {
            weights,
            calibrate: !self.no_calibrate,
        })
    }

    /// The deployment these options ask for, for models like `template`: the budget (the
    /// default student's cost unless a limit is given) and the student's shape in it.
    ///
    /// # Errors
    ///
    /// [`mdn_train::Error::InvalidOption`] for `--student-components 0`,
    /// [`mdn_train::Error::NothingFits`] when no student fits the budget.
    pub fn deployment(&self, template: &ModelTemplate) -> mdn_train::Result<Deployment> {
        if self.ensemble {
            return Ok(Deployment::Ensemble);
        }
        if self.student_components == Some(0) {
            return Err(mdn_train::Error::InvalidOption {
                option: "--student-components",
                expected: "at least 1".into(),
                found: "0".into(),
            });
        }
        let core = Core::from(self.core);
        let hidden = self.student_hidden.as_ref().map(|h| h.0.as_slice());
        let budget = if self.max_instructions.is_some() || self.max_blob_bytes.is_some() {
            Budget {
                core,
                max_instructions: self.max_instructions,
                max_blob_bytes: self.max_blob_bytes,
            }
        } else if hidden.is_some() || self.student_components.is_some() {
            // A shape chosen by hand and no limit: its own cost is the budget.
            Budget {
                core,
                max_instructions: None,
                max_blob_bytes: None,
            }
        } else {
            Budget::default_for(template, core)?
        };
        let shape = budget.student(template, hidden, self.student_components)?;
        Ok(Deployment::Device {
            budget,
            student: DistillConfig {
                hidden: shape.hidden,
                components: shape.components,
                ..DistillConfig::default()
            },
        })
    }
}

/// Model and optimiser settings shared by `train`, `baselines` and `demo`.
#[derive(Debug, Clone, Args)]
pub struct ModelOptions {
    /// Candidate numbers of mixture components K, comma separated. Every K is tried with
    /// every --noise level; the candidates are weighted by their validation likelihood.
    #[arg(
        long,
        short = 'k',
        value_delimiter = ',',
        default_value = "1,5",
        help_heading = "Model"
    )]
    pub components: Vec<usize>,
    /// Candidate noise levels, comma separated: Gaussian noise added to each training
    /// input and target, in standard deviations of that column (a regulariser for small
    /// data sets; 0 is none).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "0,0.1",
        help_heading = "Model"
    )]
    pub noise: Vec<f32>,
    /// Networks per candidate: network f stops early on fold f of the rows and learns
    /// from the others; every row's out-of-fold density weighs the candidates, and the
    /// model is the mixture of all networks of the kept candidates.
    #[arg(long, default_value_t = 5, help_heading = "Model")]
    pub folds: usize,
    /// Hidden layer widths, input side first, comma separated (at most 8 layers); `none`
    /// or an empty value (`--hidden ""`) for no hidden layer: the heads read the scaled
    /// inputs directly.
    #[arg(
        long,
        default_value = "32,32",
        value_parser = hidden_widths,
        help_heading = "Model"
    )]
    pub hidden: HiddenLayers,
    /// Hidden activation.
    #[arg(long, value_enum, default_value_t = ActivationArg::Relu, help_heading = "Model")]
    pub activation: ActivationArg,
    /// Transform making sigma positive.
    #[arg(long, value_enum, default_value_t = SigmaArg::Nnelu, help_heading = "Model")]
    pub sigma: SigmaArg,
    /// Lower bound on every sigma, in standard deviations of the scaled target.
    #[arg(long, default_value_t = 1e-3, help_heading = "Model")]
    pub sigma_floor: f32,
    /// Feature scaling, fitted on training rows only.
    #[arg(long, value_enum, default_value_t = InputScaling::MinMax, help_heading = "Model")]
    pub scale_x: InputScaling,
    /// Target scaling; `log` models ln y (log-normal components, y > 0 required).
    #[arg(long, value_enum, default_value_t = TargetScaling::Standard, help_heading = "Model")]
    pub scale_y: TargetScaling,
    /// Maximum number of epochs.
    #[arg(long, default_value_t = 3000, help_heading = "Training")]
    pub epochs: usize,
    /// Minibatch size.
    #[arg(long, default_value_t = 64, help_heading = "Training")]
    pub batch: usize,
    /// Adam learning rate.
    #[arg(long, default_value_t = 1e-3, help_heading = "Training")]
    pub lr: f64,
    /// AdamW decoupled weight decay; 0 is plain Adam, as the Keras reference.
    #[arg(long, default_value_t = 0.0, help_heading = "Training")]
    pub weight_decay: f64,
    /// Seed of the initial weights, the validation split and the batch order.
    #[arg(long, default_value_t = 42, help_heading = "Training")]
    pub seed: u64,
    /// Instead of folds: one network per candidate, this fraction of the rows held out
    /// at random for validation; 0 disables validation and early stopping and trains
    /// one network of the first candidate for exactly --epochs epochs.
    #[arg(long, help_heading = "Training")]
    pub val_fraction: Option<f64>,
    /// Epochs without a better validation NLL before a network restarts from its best
    /// weights with a smaller learning rate (--lr-drops), or stops.
    #[arg(long, default_value_t = 300, help_heading = "Training")]
    pub patience: usize,
    /// Halve the learning rate after this many epochs without a better validation NLL
    /// (and again after as many more, down to lr/64); 0 keeps it constant.
    #[arg(long, default_value_t = 0, help_heading = "Training")]
    pub lr_patience: usize,
    /// Times a network whose patience ran out restarts from its best weights with the
    /// learning rate times --lr-drop-factor, before it stops.
    #[arg(long, default_value_t = 1, help_heading = "Training")]
    pub lr_drops: usize,
    /// Learning-rate factor of each drop.
    #[arg(long, default_value_t = 0.1, help_heading = "Training")]
    pub lr_drop_factor: f64,
    /// Patience after a drop (0: --patience).
    #[arg(long, default_value_t = 100, help_heading = "Training")]
    pub drop_patience: usize,
    /// Threads training the two groups of candidates side by side (0: one per core, at
    /// most two). The model does not depend on it.
    #[arg(long, default_value_t = 0, help_heading = "Training")]
    pub jobs: usize,
}

impl From<&ModelOptions> for TrainConfig {
    fn from(options: &ModelOptions) -> Self {
        TrainConfig {
            components: options.components.clone(),
            noise: options.noise.clone(),
            folds: options.folds,
            hidden: options.hidden.0.clone(),
            activation: options.activation.into(),
            sigma: options.sigma.into(),
            sigma_floor: options.sigma_floor,
            epochs: options.epochs,
            batch: options.batch,
            lr: options.lr,
            weight_decay: options.weight_decay,
            seed: options.seed,
            val_fraction: options.val_fraction,
            patience: options.patience,
            lr_patience: options.lr_patience,
            lr_drops: options.lr_drops,
            lr_drop_factor: options.lr_drop_factor,
            drop_patience: options.drop_patience,
            jobs: options.jobs,
            scale_x: options.scale_x,
            scale_y: options.scale_y,
            fail_at_epoch: None,
        }
    }
}

/// The integer network's plan for `--weights WEIGHTS --activations int16` with
/// `--head-weights HEAD`: `int8` weights only, heads 16-bit or (`int8`) int8.
///
/// # Errors
///
/// A message naming what `--activations int16` needs.
pub fn integer_plan(weights: WeightPlan, head: Option<Storage>) -> Result<WeightPlan, String> {
    if weights.hidden != Storage::Int8 {
        return Err(
            "--activations int16 needs --weights int8 (an integer network's hidden \
                    layers are int8-int16)"
                .into(),
        );
    }
    match head {
        None => Ok(WeightPlan::integer(false)),
        Some(Storage::Int8) => Ok(WeightPlan::integer(true)),
        Some(other) => Err(format!(
            "with --activations int16 the heads are 16-bit (the default) or int8 \
             (--head-weights int8), not {other}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_that_do_not_parse_name_the_choices() {
        for bad in ["none,4", "32,,32", "x", "-4"] {
            let err = hidden_widths(bad).unwrap_err();
            assert!(err.contains("`none`") && err.contains(bad), "{err}");
        }
        assert_eq!(hidden_widths(" 16 ,8 "), Ok(HiddenLayers(vec![16, 8])));
    }

    #[test]
    fn cli_enums_convert_to_the_libraries() {
        assert_eq!(Activation::from(ActivationArg::Tanh), Activation::Tanh);
        assert_eq!(
            SigmaTransform::from(SigmaArg::Softplus),
            SigmaTransform::Softplus
        );
        let csv = CsvArgs {
            delimiter: b';',
            missing: Missing::Drop,
        };
        assert_eq!(
            CsvFormat::from(&csv),
            CsvFormat {
                delimiter: b';',
                missing: Missing::Drop
            }
        );
    }
}
