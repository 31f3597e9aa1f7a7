//! Command-line arguments. Every default is written here once and shown by `--help`.

mod options;

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use mdn_core::Storage;
#[cfg(test)]
use mdn_train::train::TrainConfig;
use mdn_train::{
    compact::{self, WeightPlan},
    synth::Kind,
};
pub use options::{CsvArgs, DeviceArgs, JsonArg, ModelArg, ModelOptions, integer_plan};

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
    /// Export every weight, bias and scaler by name, with shapes and layout, as JSON: on
    /// stdout, or into --out (and then --json prints what was written: model, out, format,
    /// bytes).
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Export(ExportArgs),
    /// Rewrite a model's weights as f32, f16 or int8 (FORMAT.md section 3.1): a smaller
    /// blob for the same model. With --data, report what it costs in NLL.
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Quantize(QuantizeArgs),
    /// Fit a model's calibration (a sigma scale per target and, when it helps, a temperature
    /// on the mixing weights) to validation rows by maximum likelihood, and write the
    /// recalibrated blob; every query on the device applies it.
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Calibrate(CalibrateArgs),
    /// Convert a blob of format version 3 to version 4 (the densities stay the same, bit
    /// for bit).
    #[command(allow_negative_numbers = true, args_override_self = true)]
    Upgrade(UpgradeArgs),
    /// Generate an Ed25519 key pair for signing models: NAME.key (the secret key, 64 raw
    /// bytes: secret then public key; mode 0600; never replaced) and NAME.pub (the public
    /// key, 32 raw bytes, what a firmware is built with: MDN_PUBLIC_KEY=NAME.pub).
    Keygen(KeygenArgs),
    /// Sign a model blob (checked with mdn-core first): writes the detached 64-byte Ed25519
    /// signature of the blob's bytes to --out. The blob itself is not changed.
    Sign(SignArgs),
    /// Check a model's detached signature against a public key, as the device does: prints
    /// whether it holds, and exits 1 when it does not.
    Verify(VerifyArgs),
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
    /// Model and training settings (of the teacher).
    #[command(flatten)]
    pub options: ModelOptions,
    /// What is written: one network within a device budget, or the ensemble.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// How the CSV files are read.
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
    /// Testing aid: make the loss NaN in this epoch.
    #[arg(long, hide = true)]
    pub fail_at_epoch: Option<usize>,
    /// Also score the written model (by mdn-core) on this CSV file and report its NLL,
    /// nats per row, original units.
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
    /// Also write one row per sample: line, features, targets, log_prob, mean, std and pit.
    #[arg(long, value_name = "CSV")]
    pub per_sample: Option<PathBuf>,
    /// How the CSV files are read.
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
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
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
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
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
}

/// `mdn inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The model.
    #[command(flatten)]
    pub model: ModelArg,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
}

/// What a quantized model's activations are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Activations {
    /// `f32`, as trained.
    F32,
    /// `int16` steps between exact integer layers (`int8-int16` storage).
    Int16,
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
    /// Output format (the weights themselves are JSON either way).
    #[command(flatten)]
    pub output: JsonArg,
}

/// `mdn quantize`.
#[derive(Debug, Args)]
pub struct QuantizeArgs {
    /// The model.
    #[command(flatten)]
    pub model: ModelArg,
    /// The storage: `f32`, `f16` (everywhere) or `int8` (hidden layers; the heads `f16`).
    #[arg(long, value_name = "STORAGE", value_parser = weight_plan)]
    pub weights: WeightPlan,
    /// The heads' storage, overriding --weights' choice for them: f32, f16 or int8 (with
    /// `--activations int16` the heads are 16-bit unless this says int8).
    #[arg(long, value_name = "STORAGE", value_parser = compact::parse_storage)]
    pub head_weights: Option<Storage>,
    /// The activations: `f32`, or `int16` for an integer network (every layer `int8-int16`,
    /// for processors without an FPU: needs `--weights int8`, a relu model and `--data`,
    /// whose rows fit the activation steps).
    #[arg(long, value_enum, default_value_t = Activations::F32)]
    pub activations: Activations,
    /// Where to write the converted blob.
    #[arg(long)]
    pub out: PathBuf,
    /// CSV file with the model's columns: score the model before and after on it (with
    /// `--activations int16`, also the rows that fit the activation steps).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// How the CSV files are read.
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
}

/// `--weights`.
fn weight_plan(s: &str) -> Result<WeightPlan, String> {
    s.parse()
}

/// `mdn calibrate`.
#[derive(Debug, Args)]
pub struct CalibrateArgs {
    /// The model.
    #[command(flatten)]
    pub model: ModelArg,
    /// Validation CSV file with the model's columns: rows the model did not learn from.
    #[arg(long)]
    pub data: PathBuf,
    /// Where to write the recalibrated blob (the model unchanged when the fit is not
    /// clearly better on the rows: a mean gain per row within two standard errors).
    #[arg(long)]
    pub out: PathBuf,
    /// Write the fitted calibration even when it is not clearly better on the rows.
    #[arg(long)]
    pub force: bool,
    /// How the CSV files are read.
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
}

/// `mdn upgrade`.
#[derive(Debug, Args)]
pub struct UpgradeArgs {
    /// The version-3 blob.
    #[command(flatten)]
    pub model: ModelArg,
    /// Where to write the version-4 blob.
    #[arg(long)]
    pub out: PathBuf,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
}

/// `mdn keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// The key pair's name: writes NAME.key and NAME.pub.
    #[arg(long, value_name = "NAME")]
    pub out: PathBuf,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
}

/// `mdn sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The blob to sign.
    #[command(flatten)]
    pub model: ModelArg,
    /// The secret key file (NAME.key of `mdn keygen`).
    #[arg(long, value_name = "NAME.key")]
    pub key: PathBuf,
    /// Where to write the signature (conventionally MODEL.sig).
    #[arg(long, value_name = "MODEL.sig")]
    pub out: PathBuf,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
}

/// `mdn verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The signed blob.
    #[command(flatten)]
    pub model: ModelArg,
    /// The signature file (written by `mdn sign`).
    #[arg(long, value_name = "MODEL.sig")]
    pub sig: PathBuf,
    /// The public key file (NAME.pub of `mdn keygen`).
    #[arg(long = "pub", value_name = "NAME.pub")]
    pub public_key: PathBuf,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
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
    /// Settings of the MDN's teacher (and of the MLP's network and optimiser).
    #[command(flatten)]
    pub options: ModelOptions,
    /// Which MDN is compared: one network within a device budget (and the ensemble it
    /// was distilled from), or the ensemble.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// How the CSV files are read.
    #[command(flatten)]
    pub csv: CsvArgs,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
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
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
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
    /// Model and training settings (of the teacher).
    #[command(flatten)]
    pub options: ModelOptions,
    /// What is written: one network within a device budget, or the ensemble.
    #[command(flatten)]
    pub device: DeviceArgs,
    /// Output format.
    #[command(flatten)]
    pub output: JsonArg,
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
        assert_eq!(TrainConfig::from(&args.options), TrainConfig::default());
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
                TrainConfig::from(&args.options).hidden,
                Vec::<usize>::new(),
                "{value:?}"
            );
        }
        let cli = Cli::parse_from(["mdn", "demo", "--hidden", "none", "--hidden", "16, 8"]);
        let Command::Demo(args) = cli.command else {
            panic!("not demo");
        };
        assert_eq!(TrainConfig::from(&args.options).hidden, [16, 8]);
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
