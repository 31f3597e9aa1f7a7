//! Reading the data files of a command: the rows kept, after a warning for the rows
//! `--missing drop` left out.

use std::path::Path;

use anyhow::Result;
use mdn_train::{
    data::{self, Dataset, Selection, Table},
    eval::ModelFile,
};

use crate::{cli::CsvArgs, report::warn};

/// The rows kept, after saying on stderr which rows `--missing drop` left out.
fn kept(selection: Selection) -> Dataset {
    if let Some(note) = selection.note() {
        warn(&note);
    }
    selection.data
}

/// The training rows of `path`: `targets` and `features` (default: every other column).
pub fn training(
    path: &Path,
    csv: &CsvArgs,
    targets: &[String],
    features: Option<&[String]>,
) -> Result<Dataset> {
    Ok(kept(data::load(path, csv.into(), targets, features)?))
}

/// The rows of `path` with `data`'s columns (a test file for a model trained on `data`),
/// at least one.
pub fn like(path: &Path, csv: &CsvArgs, data: &Dataset) -> Result<Dataset> {
    let table = Table::read(path, csv.into())?;
    let rows = kept(table.select(&data.feature_names, &data.target_names)?);
    rows.require_rows(1)?;
    Ok(rows)
}

/// The rows of `path` with `file`'s columns, at least one.
pub fn for_model(file: &ModelFile, path: &Path, csv: &CsvArgs) -> Result<Dataset> {
    let rows = kept(file.load_data(path, csv.into())?);
    rows.require_rows(1)?;
    Ok(rows)
}
