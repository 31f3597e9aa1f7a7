//! The one error type of mdn-train: every message names what the user has to fix.
//!
//! Data errors name the file, the 1-based physical line (the header is line 1), the column
//! by name and 1-based index, and what was expected against what was found.

use std::path::PathBuf;

use crate::excerpt;

/// Everything that can go wrong while loading data, training, evaluating or writing files.
///
/// # Examples
///
/// ```
/// use mdn_train::Error;
/// let e = Error::TooFewRows { path: "d.csv".into(), found: 3, min: 10 };
/// assert_eq!(e.to_string(), "d.csv: expected at least 10 data rows, found 3");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("{}: cannot read: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file could not be written (nothing was written or replaced).
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The CSV file has no header line.
    #[error("{}: the file is empty; expected a header line of column names, then data rows", path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
    /// The CSV file could not be parsed (for example invalid UTF-8).
    #[error("{}, line {line}: {message}", path.display())]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based physical line.
        line: u64,
        /// The parser's message.
        message: String,
    },
    /// A column named on the command line or in a model is not in the header.
    #[error(
        "{}, line 1: expected a column named {} ({role}), found columns: {}{}",
        path.display(),
        excerpt::quoted(column),
        excerpt::quoted_list(available),
        separator_hint(*separated_by)
    )]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The missing column.
        column: String,
        /// Why it is needed ("target", "feature", "feature of the model"...).
        role: &'static str,
        /// The columns the header has.
        available: Vec<String>,
        /// The delimiter the file seems to use, when the header is one column that holds
        /// one ([`crate::data::guess_delimiter`]).
        separated_by: Option<u8>,
    },
    /// The same column was named twice, or as feature and target.
    #[error("{}, line 1: column {} {problem}", path.display(), excerpt::quoted(column))]
    ColumnConflict {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A data row has a different number of fields than the header.
    #[error("{}, line {line}: expected {expected} fields (as many as the header), found {found}", path.display())]
    RaggedRow {
        /// The file.
        path: PathBuf,
        /// 1-based physical line.
        line: u64,
        /// Fields in the header.
        expected: usize,
        /// Fields on this line.
        found: usize,
    },
    /// A cell of a used column is not a finite number.
    #[error(
        "{}, line {line}, column {index} {}: expected {expected}, found {found}",
        path.display(),
        excerpt::quoted(column)
    )]
    BadCell {
        /// The file.
        path: PathBuf,
        /// 1-based physical line.
        line: u64,
        /// Column name.
        column: String,
        /// 1-based column index.
        index: usize,
        /// What the cell should hold.
        expected: &'static str,
        /// What it holds, quoted and cut ([`excerpt::quoted`]), or "an empty cell".
        found: String,
    },
    /// A cell of a used column holds a missing value (empty, `NA`, `N/A`, `NaN`) and
    /// missing values are errors (`--missing error`, the default).
    #[error(
        "{}, line {line}, column {index} {}: expected a number, found {found} (a missing value: \
         --missing drop leaves such rows out)",
        path.display(),
        excerpt::quoted(column)
    )]
    MissingValue {
        /// The file.
        path: PathBuf,
        /// 1-based physical line.
        line: u64,
        /// Column name.
        column: String,
        /// 1-based column index.
        index: usize,
        /// "an empty cell", or the cell quoted.
        found: String,
    },
    /// Too few data rows to train (or none to evaluate).
    #[error(
        "{}: expected at least {min} data {}, found {found}",
        path.display(),
        if *min == 1 { "row" } else { "rows" }
    )]
    TooFewRows {
        /// The file.
        path: PathBuf,
        /// Data rows found.
        found: usize,
        /// Rows required.
        min: usize,
    },
    /// Every training value of a target column is the same.
    #[error(
        "{}, column {index} {}: expected a target that varies, found the constant value {value} on every training row",
        path.display(),
        excerpt::quoted(column)
    )]
    ConstantTarget {
        /// The file.
        path: PathBuf,
        /// Column name.
        column: String,
        /// 1-based column index.
        index: usize,
        /// The constant.
        value: f32,
    },
    /// An option has a value that cannot work.
    #[error("invalid value for {option}: expected {expected}, found {found}")]
    InvalidOption {
        /// The option, such as `--hidden`.
        option: &'static str,
        /// What is allowed.
        expected: String,
        /// What was given.
        found: String,
    },
    /// A model blob failed validation.
    #[error("{}: not a valid model: {source}", path.display())]
    InvalidModel {
        /// The file.
        path: PathBuf,
        /// The check that failed.
        source: mdn_core::Error,
    },
    /// A blob of several networks was given where one network is needed (a candle model).
    #[error(
        "{}: holds an ensemble of {networks} networks; expected one (split it with `Ensemble::from_blob`)",
        path.display()
    )]
    EnsembleBlob {
        /// The file.
        path: PathBuf,
        /// Networks in the blob.
        networks: u32,
    },
    /// A candle model lacks a tensor its layout names (a bug in mdn-train).
    #[error("the model has no tensor `{tensor}`, which its layout names (a bug in mdn-train)")]
    MissingTensor {
        /// The tensor's name, as in [`mdn_core::TensorName`]'s display.
        tensor: String,
    },
    /// A parameter vector does not have the length of the model's layout (a bug in the
    /// caller).
    #[error("{context}: expected {expected} parameter values (the model's layout), found {found}")]
    ParameterCount {
        /// What was being done.
        context: &'static str,
        /// Values in the layout.
        expected: usize,
        /// Values given.
        found: usize,
    },
    /// An ensemble was given no networks.
    #[error("writing an ensemble: expected at least one network, found none")]
    EmptyEnsemble,
    /// An ensemble was given a different number of log weights than networks.
    #[error(
        "writing an ensemble of {networks} networks: expected one log weight per network, found {weights}"
    )]
    EnsembleWeights {
        /// Networks given.
        networks: usize,
        /// Log weights given.
        weights: usize,
    },
    /// A network of an ensemble differs from the first in what the blob stores once for
    /// all networks: the header (shapes, transforms, names) or the scalers.
    #[error("writing an ensemble: network {network} has {field} {found}, expected {expected}")]
    EnsembleMismatch {
        /// The network (0-based, in the order given).
        network: usize,
        /// The header field or scaler value, such as `sigma_floor` or `input_scaler.offset[0]`.
        field: String,
        /// What the ensemble needs (network 0's value, or one network per blob).
        expected: String,
        /// What the network has.
        found: String,
    },
    /// A key file of `mdn keygen` has the wrong length or content.
    #[error("{}: expected {expected}, found {found}", path.display())]
    KeyFile {
        /// The file.
        path: PathBuf,
        /// What it should hold ("a 64-byte Ed25519 secret key (NAME.key of mdn keygen)"...).
        expected: &'static str,
        /// What it holds.
        found: String,
    },
    /// `mdn keygen` would replace an existing secret key.
    #[error(
        "{}: already exists; refusing to replace a secret key (remove it first, or choose another NAME)",
        path.display()
    )]
    KeyExists {
        /// The existing key file.
        path: PathBuf,
    },
    /// The model has no signature: its signature file is absent or empty.
    #[error(
        "{}: no signature: the file {} (the model is unsigned; sign it with `mdn sign`)",
        path.display(),
        if *absent { "does not exist" } else { "is empty" }
    )]
    MissingSignature {
        /// The signature file.
        path: PathBuf,
        /// Whether the file does not exist (otherwise it is empty).
        absent: bool,
    },
    /// The signature file is not one 64-byte signature.
    #[error(
        "{}: expected a {expected}-byte Ed25519 signature, found {found} bytes{}",
        path.display(),
        if found < expected { " (truncated)" } else { "" }
    )]
    SignatureLength {
        /// The signature file.
        path: PathBuf,
        /// Bytes of a signature (64).
        expected: usize,
        /// Bytes in the file.
        found: usize,
    },
    /// The operating system could not supply random bytes for a new key.
    #[error("cannot generate a key: the operating system's random source failed: {0}")]
    Random(String),
    /// mdn-core refused a query or could not encode a model.
    #[error("{context}: {source}")]
    Core {
        /// What was being done.
        context: String,
        /// mdn-core's error.
        source: mdn_core::Error,
    },
    /// A tensor operation failed (a bug, or out of memory).
    #[error("tensor computation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// The loss became NaN or infinite; the best model so far was written.
    #[error(
        "training diverged: the loss became {loss} in epoch {epoch}; {saved} (try a smaller --lr or a larger sigma floor)"
    )]
    Diverged {
        /// The epoch (1-based) whose loss was not finite.
        epoch: usize,
        /// The loss value (NaN or inf).
        loss: f32,
        /// Where the best model so far went, or why none was written.
        saved: String,
    },
    /// No student shape fits the device budget (checked before any training).
    #[error(
        "no student fits the device budget ({budget}): {smallest}; raise --max-instructions or --max-blob-bytes, or choose --student-hidden and --student-components"
    )]
    NothingFits {
        /// The budget, in words.
        budget: String,
        /// The cheapest shape tried and its cost.
        smallest: String,
    },
    /// A figure could not be drawn or encoded (a bug: drawing in memory cannot fail on I/O).
    #[error("cannot draw the {figure} plot: {message}")]
    Plot {
        /// The figure, such as `density`.
        figure: &'static str,
        /// The drawing library's message.
        message: String,
    },
    /// JSON output could not be produced.
    #[error("cannot encode JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The end of [`Error::MissingColumn`]'s message when the file seems to use another
/// delimiter.
fn separator_hint(separated_by: Option<u8>) -> String {
    separated_by.map_or_else(String::new, |byte| {
        let name = match byte {
            b'\t' => "a tab".to_owned(),
            other => format!("`{}`", char::from(other)),
        };
        format!(
            "; the header is one column containing {name}: if that separates the fields, \
             give {}",
            crate::data::delimiter_option(byte)
        )
    })
}

/// The result type of mdn-train.
pub type Result<T, E = Error> = std::result::Result<T, E>;
