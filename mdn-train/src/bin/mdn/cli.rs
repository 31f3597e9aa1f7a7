//! Command-line arguments. Every default is written here once and shown by `--help`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mdn_core::{Activation, SigmaTransform};
use mdn_train::{
    data::{CsvFormat, Missing, parse_delimiter},
    excerpt,
    scaling::{InputScaling, TargetScaling},
    synth::Kind,
    train::TrainConfig,
};

/// Mixture Density Networks: train on CSV, evaluate, inspect and export model blobs that
/// mdn-core evaluates on a microcontroller.
///
/// Conventions: with --json, exactly one JSON object goes to stdout; progress, warnings
/// and errors go to stderr. Exit codes: 0 success, 1 user or data error, 2 usage error.
#[derive(Debug, Parser)]
#[command(name = "mdn", version, max_term_width = 100)]
pub struct Cli {
    /// Threads for candle. One is fastest for networks this small, and the same data,
    /// seed and thread count always give a byte-identical model.
    #[arg(long, global = true, env = "RAYON_NUM_THREADS", default_value_t = 1)]
    pub threads: usize,

    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Train an MDN on a CSV file and write the model blob and per-epoch metrics.
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Train(TrainArgs),
    /// Score a model on a CSV file with mdn-core: NLL (nats per row, original units), RMSE
    /// of the predictive mean, and calibration: coverage of the central 50/80/95% intervals
    /// and the PIT histogram (several targets: each target's marginal, pooled).
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Eval(EvalArgs),
    /// The predictive mixture, mean and standard deviation for one input; for a model with
    /// one target also every mode, quantiles, central intervals and the entropy (left out
    /// for several targets).
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Predict(PredictArgs),
    /// Validate a model blob (CRC included) and describe it.
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Inspect(InspectArgs),
    /// Export every weight, bias and scaler by name, with shapes and layout.
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Export(ExportArgs),
    /// Compare the MDN with point predictors on a test file: null model, linear least
    /// squares, and the same MLP trained on MSE, each with a constant sigma.
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Baselines(BaselinesArgs),
    /// Draw a model as PNG and SVG files: `density` (p(y|x) over one feature, data on
    /// top), `slices` (p(y|x) at chosen inputs), `training` (NLL per epoch) and, with
    /// --data, `calibration`. Several targets: one target's marginal.
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Plot(PlotArgs),
    /// Generate data.
    Data {
        /// What to generate.
        #[command(subcommand)]
        command: DataCommand,
    },
    /// The whole story on built-in data: generate the multimodal inverse-sine set, train,
    /// compare with the baselines, check candle against mdn-core, write the model.
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Demo(DemoArgs),
}

/// `mdn data` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Synthetic data with columns x,y: `hetero` (y = 5x + x^2 e, x ~ U(0,1)) or `invsin`
    /// (x = 7 sin(0.75 y) + 0.5 y + (0.25 + 0.1|y|) e, y ~ U(-10.5, 10.5)).
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Synth(SynthArgs),
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

impl CsvArgs {
    /// The library's format.
    pub fn format(&self) -> CsvFormat {
        CsvFormat {
            delimiter: self.delimiter,
            missing: self.missing,
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

impl ModelOptions {
    /// The library configuration.
    pub fn config(&self) -> TrainConfig {
        TrainConfig {
            components: self.components.clone(),
            noise: self.noise.clone(),
            folds: self.folds,
            hidden: self.hidden.0.clone(),
            activation: match self.activation {
                ActivationArg::Relu => Activation::Relu,
                ActivationArg::Tanh => Activation::Tanh,
            },
            sigma: match self.sigma {
                SigmaArg::Nnelu => SigmaTransform::Nnelu,
                SigmaArg::Softplus => SigmaTransform::Softplus,
                SigmaArg::Exp => SigmaTransform::Exp,
            },
            sigma_floor: self.sigma_floor,
            epochs: self.epochs,
            batch: self.batch,
            lr: self.lr,
            weight_decay: self.weight_decay,
            seed: self.seed,
            val_fraction: self.val_fraction,
            patience: self.patience,
            lr_patience: self.lr_patience,
            lr_drops: self.lr_drops,
            lr_drop_factor: self.lr_drop_factor,
            drop_patience: self.drop_patience,
            jobs: self.jobs,
            scale_x: self.scale_x,
            scale_y: self.scale_y,
            fail_at_epoch: None,
        }
    }
}

/// `mdn train`.
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// CSV file with a header line.
    #[arg(long)]
    pub data: PathBuf,
    /// Target column(s), comma separated; several give a diagonal multi-output mixture.
    #[arg(long, value_delimiter = ',', required = true)]
    pub target: Vec<String>,
    /// Feature columns, comma separated [default: every other column].
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Where to write the model blob; metrics go to `<OUT>.metrics.csv`.
    #[arg(long)]
    pub out: PathBuf,
    /// Model and training settings.
    #[command(flatten)]
    pub options: ModelOptions,
    /// How the CSV files are read.
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
    /// Testing aid: make the loss NaN in this epoch.
    #[arg(long, hide = true)]
    pub fail_at_epoch: Option<usize>,
    /// Also score the trained model (every network of the ensemble, by mdn-core) on this
    /// CSV file and report its NLL, nats per row, original units.
    #[arg(long, value_name = "CSV")]
    pub test: Option<PathBuf>,
}

/// `mdn eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The model.
    #[command(flatten)]
    pub model: ModelArg,
    /// CSV file holding the model's feature and target columns (found by name).
    #[arg(long)]
    pub data: PathBuf,
    /// Also write one row per sample: line, features, targets, log_prob, mean and std.
    #[arg(long, value_name = "CSV")]
    pub per_sample: Option<PathBuf>,
    /// How the CSV files are read.
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `mdn predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model.
    #[command(flatten)]
    pub model: ModelArg,
    /// Feature values in model order, comma separated (negative values are fine: --x -1.7).
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        required = true
    )]
    pub x: Vec<f32>,
    /// Target value(s) whose log density to report.
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub y: Option<Vec<f32>>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// A finite number (`--at`).
fn finite_f32(s: &str) -> Result<f32, String> {
    match s.trim().parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(_) => Err("expected a finite number".into()),
        Err(_) => Err(format!("expected a number, found `{s}`")),
    }
}

/// A 1-based row number (`--rows`).
fn data_row(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(v) if v >= 1 => Ok(v),
        _ => Err(format!(
            "expected a 1-based data row number (1 is the first row after the header), found `{s}`"
        )),
    }
}

/// `mdn plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// The model.
    #[command(flatten)]
    pub model: ModelArg,
    /// CSV file with the model's columns: its points go on the density, its medians hold
    /// the features that do not vary, and it is scored for the calibration plot.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Directory for `<plot>.png` and `<plot>.svg` (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Values of the varied feature at which to draw p(y|x), comma separated [default:
    /// its 10th, 50th and 90th percentiles in --data, or of the scaler's range].
    #[arg(
        long,
        value_delimiter = ',',
        allow_hyphen_values = true,
        value_parser = finite_f32
    )]
    pub at: Vec<f32>,
    /// 1-based data rows of --data whose p(y|x) to draw, with the observed value marked.
    #[arg(long, value_delimiter = ',', requires = "data", value_parser = data_row)]
    pub rows: Vec<usize>,
    /// The feature on the horizontal axis [default: the first]; the others are held at
    /// their medians in --data, or without --data at offset + scale / 2 of the input
    /// scaler (the middle of the training range under minmax scaling).
    #[arg(long)]
    pub feature: Option<String>,
    /// The target shown, for a model with several [default: the first].
    #[arg(long)]
    pub target: Option<String>,
    /// Per-epoch metrics CSV [default: the model's path with `.metrics.csv` appended, and
    /// `training` is skipped with a note when that file does not exist].
    #[arg(long, value_name = "CSV")]
    pub metrics: Option<PathBuf>,
    /// How the CSV files are read.
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `mdn inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model.
    #[command(flatten)]
    pub model: ModelArg,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object: header, layout note, and every tensor by name.
    Json,
}

/// `mdn export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The model.
    #[command(flatten)]
    pub model: ModelArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
    pub format: ExportFormat,
    /// Output file [default: stdout].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object on stdout: with --out, what was written ({model, out,
    /// format, bytes}); without, the weights (as always).
    #[arg(long)]
    pub json: bool,
}

/// `mdn baselines`.
#[derive(Debug, Args)]
pub struct BaselinesArgs {
    /// CSV file to fit on.
    #[arg(long)]
    pub train: PathBuf,
    /// CSV file to score on.
    #[arg(long)]
    pub test: PathBuf,
    /// Target column(s), comma separated.
    #[arg(long, value_delimiter = ',', required = true)]
    pub target: Vec<String>,
    /// Feature columns, comma separated [default: every other column].
    #[arg(long, value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Settings of the MDN (and of the MLP's network and optimiser).
    #[command(flatten)]
    pub options: ModelOptions,
    /// How the CSV files are read.
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `mdn data synth`.
#[derive(Debug, Args)]
pub struct SynthArgs {
    /// Which generator.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Number of rows.
    #[arg(long, default_value_t = 4000)]
    pub n: usize,
    /// Seed of the generator.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output CSV file.
    #[arg(long)]
    pub out: PathBuf,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `mdn demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Directory for the data, the model and its metrics (created if missing).
    #[arg(long, default_value = "mdn-demo")]
    pub out: PathBuf,
    /// Rows of the generated data; 80% train, 20% test.
    #[arg(long, default_value_t = 4000)]
    pub n: usize,
    /// Model and training settings.
    #[command(flatten)]
    pub options: ModelOptions,
    /// Print one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_defaults_are_the_library_defaults() {
        let cli = Cli::parse_from(["mdn", "train", "--data", "d", "--target", "y", "--out", "m"]);
        let Command::Train(args) = cli.command else {
            panic!("not train");
        };
        assert_eq!(args.options.config(), TrainConfig::default());
    }

    #[test]
    fn negative_values_and_positional_models_parse() {
        let cli = Cli::parse_from(["mdn", "predict", "m.mdn", "--x", "-1.7,2", "--y", "-3"]);
        let Command::Predict(args) = cli.command else {
            panic!("not predict");
        };
        assert_eq!((args.x, args.y), (vec![-1.7, 2.0], Some(vec![-3.0])));
        assert_eq!(args.model.path(), PathBuf::from("m.mdn"));
    }

    #[test]
    fn no_hidden_layer_is_none_or_an_empty_value() {
        for value in ["", "none", "None", " "] {
            let cli = Cli::parse_from(["mdn", "demo", "--hidden", value]);
            let Command::Demo(args) = cli.command else {
                panic!("not demo");
            };
            assert_eq!(
                args.options.config().hidden,
                Vec::<usize>::new(),
                "{value:?}"
            );
        }
        let cli = Cli::parse_from(["mdn", "demo", "--hidden", "none", "--hidden", "16, 8"]);
        let Command::Demo(args) = cli.command else {
            panic!("not demo");
        };
        assert_eq!(args.options.config().hidden, [16, 8]);
        for bad in ["none,4", "32,,32", "x", "-4"] {
            let err = hidden_widths(bad).unwrap_err();
            assert!(err.contains("`none`") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
