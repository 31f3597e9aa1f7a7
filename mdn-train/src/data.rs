//! CSV loading: a header line of column names, then numeric rows.
//!
//! [`Table::read`] checks the file's shape (a header, equal field counts) and keeps every
//! row with its physical line; [`Table::select`] parses only the columns a model uses, so
//! an unused text column is fine while a bad cell in a used one is an error naming its
//! line and column. [`CsvFormat`] sets the delimiter and whether a row with a missing
//! value in a used column is an error or left out ([`Selection::dropped`]).

mod cell;
mod dataset;
mod format;

use std::{
    fs::File,
    path::{Path, PathBuf},
};

pub use dataset::Dataset;
pub use format::{
    CsvFormat, Missing, delimiter_option, guess_delimiter, is_missing, parse_delimiter,
};

use crate::{
    error::{Error, Result},
    excerpt,
};

/// Fewest rows [`crate::train::train`] accepts: below this a validation split and the
/// scalers are meaningless.
pub const MIN_TRAIN_ROWS: usize = 10;

/// A CSV file read into memory: its header and its rows with their physical lines.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("d.csv");
/// std::fs::write(&path, "x,label,y\n1,a,2\n3,b,4\n").unwrap();
/// let table = mdn_train::data::Table::read(&path, Default::default()).unwrap();
/// let data = table.select(&["x".into()], &["y".into()]).unwrap().data;
/// assert_eq!((data.len(), data.x, data.y), (2, vec![1.0, 3.0], vec![2.0, 4.0]));
/// assert_eq!(data.lines, vec![2, 3]);
/// ```
#[derive(Debug, Clone)]
pub struct Table {
    path: PathBuf,
    format: CsvFormat,
    columns: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
}

/// The rows of a [`Table`] a model uses, and the rows left out for a missing value.
///
/// # Examples
///
/// See [`Selection::note`].
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The rows kept.
    pub data: Dataset,
    /// The physical line of each row left out by [`Missing::Drop`], in file order.
    pub dropped: Vec<u64>,
    /// Data rows in the file.
    pub rows: usize,
}

impl Selection {
    /// What `--missing drop` did, for stderr: `None` if it left nothing out.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::data::{CsvFormat, Missing, Table};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// std::fs::write(&path, "x,y\n1,2\nNA,3\n4,\n5,6\n").unwrap();
    /// let format = CsvFormat { missing: Missing::Drop, ..Default::default() };
    /// let selection = Table::read(&path, format).unwrap().select(&["x".into()], &["y".into()]).unwrap();
    /// assert_eq!((selection.data.len(), &selection.dropped[..]), (2, &[3, 4][..]));
    /// let note = selection.note().unwrap();
    /// assert!(note.ends_with("d.csv: left out 2 of 4 rows with a missing value (lines 3, 4)"));
    /// ```
    pub fn note(&self) -> Option<String> {
        if self.dropped.is_empty() {
            return None;
        }
        Some(format!(
            "{}: left out {} of {} rows with a missing value (line{} {})",
            self.data.path.display(),
            self.dropped.len(),
            self.rows,
            if self.dropped.len() == 1 { "" } else { "s" },
            excerpt::list(&self.dropped)
        ))
    }
}

impl Table {
    /// Reads a CSV file with a header line, fields separated by `format.delimiter`. Fields
    /// are trimmed; blank lines are skipped. `format.missing` applies in
    /// [`Table::select`].
    ///
    /// # Errors
    ///
    /// [`Error::Read`], [`Error::EmptyFile`], [`Error::Csv`] (for example invalid UTF-8),
    /// [`Error::RaggedRow`] for a row whose field count differs from the header's.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::data::{CsvFormat, Table};
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// std::fs::write(&path, "x;y\n1,5;2\n").unwrap();
    /// let format = CsvFormat { delimiter: b';', ..Default::default() };
    /// assert_eq!(Table::read(&path, format).unwrap().columns(), ["x", "y"]);
    /// ```
    pub fn read(path: &Path, format: CsvFormat) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .delimiter(format.delimiter)
            .from_reader(file);
        let header = reader.headers().map_err(|e| csv_error(path, e))?.clone();
        if header.is_empty() || (header.len() == 1 && header[0].is_empty()) {
            return Err(Error::EmptyFile {
                path: path.to_path_buf(),
            });
        }
        let columns: Vec<String> = header.iter().map(str::to_owned).collect();
        let mut rows = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(path, e))?;
            let line = record.position().map_or(0, csv::Position::line);
            if record.len() != columns.len() {
                return Err(Error::RaggedRow {
                    path: path.to_path_buf(),
                    line,
                    expected: columns.len(),
                    found: record.len(),
                });
            }
            rows.push((line, record));
        }
        Ok(Table {
            path: path.to_path_buf(),
            format,
            columns,
            rows,
        })
    }

    /// The file this table was read from.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// # std::fs::write(&path, "x,y\n1,2\n").unwrap();
    /// let table = mdn_train::data::Table::read(&path, Default::default()).unwrap();
    /// assert_eq!(table.path(), path);
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Column names, in file order.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// # std::fs::write(&path, "x,y\n1,2\n").unwrap();
    /// let table = mdn_train::data::Table::read(&path, Default::default()).unwrap();
    /// assert_eq!(table.columns(), ["x", "y"]);
    /// ```
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Number of data rows.
    ///
    /// # Examples
    ///
    /// See [`Table::columns`].
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether there are no data rows.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// std::fs::write(&path, "x,y\n").unwrap();
    /// assert!(mdn_train::data::Table::read(&path, Default::default()).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The 0-based index of column `name`; `role` says why it is needed, for the error.
    ///
    /// # Errors
    ///
    /// [`Error::MissingColumn`], listing the columns the file has and, when the header is
    /// one column holding `;`, a tab or `,`, suggesting that delimiter.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// # std::fs::write(&path, "x,y\n1,2\n").unwrap();
    /// let table = mdn_train::data::Table::read(&path, Default::default()).unwrap();
    /// assert_eq!(table.column_index("y", "target").unwrap(), 1);
    /// assert!(table.column_index("z", "target").is_err());
    /// ```
    pub fn column_index(&self, name: &str, role: &'static str) -> Result<usize> {
        self.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::MissingColumn {
                path: self.path.clone(),
                column: name.to_owned(),
                role,
                available: self.columns.clone(),
                separated_by: guess_delimiter(&self.columns, self.format.delimiter),
            })
    }

    /// Every column that is not in `targets`, in file order: the default features.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// # std::fs::write(&path, "a,y,b\n1,2,3\n").unwrap();
    /// let table = mdn_train::data::Table::read(&path, Default::default()).unwrap();
    /// assert_eq!(table.other_columns(&["y".into()]), ["a", "b"]);
    /// ```
    pub fn other_columns(&self, targets: &[String]) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| !targets.contains(c))
            .cloned()
            .collect()
    }

    /// Parses the named feature and target columns of every row; under [`Missing::Drop`]
    /// a row with a missing value in one of them is left out.
    ///
    /// # Errors
    ///
    /// [`Error::MissingColumn`]; [`Error::ColumnConflict`] for a column named twice, named
    /// as both feature and target, whose name appears twice in the header, or whose name
    /// contains a line feed (the blob's name separator); [`Error::BadCell`] for the first
    /// cell (in file order) that is not a number or infinite; [`Error::MissingValue`] for
    /// the first missing value under [`Missing::Error`]; [`Error::InvalidOption`] for no
    /// features or no targets.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// std::fs::write(&path, "x,y\n1,2\n3,oops\n").unwrap();
    /// let table = mdn_train::data::Table::read(&path, Default::default()).unwrap();
    /// let err = table.select(&["x".into()], &["y".into()]).unwrap_err();
    /// assert!(err.to_string().ends_with("line 3, column 2 `y`: expected a number, found `oops`"));
    /// ```
    pub fn select(&self, features: &[String], targets: &[String]) -> Result<Selection> {
        if targets.is_empty() {
            return Err(invalid("--target", "at least one column", "none"));
        }
        if features.is_empty() {
            return Err(invalid(
                "--features",
                "at least one feature column",
                "none (the file has no column besides the target)",
            ));
        }
        let mut seen: Vec<&String> = Vec::new();
        for name in targets.iter().chain(features) {
            let problem = if seen.contains(&name) {
                Some(if targets.contains(name) && features.contains(name) {
                    "is named both as a feature and as a target"
                } else {
                    "is named twice"
                })
            } else if self.columns.iter().filter(|c| *c == name).count() > 1 {
                Some("appears more than once in the header, so it is ambiguous")
            } else if name.contains(mdn_core::NAME_SEPARATOR) {
                Some("has a line feed in its name, which a model cannot store")
            } else {
                None
            };
            if let Some(problem) = problem {
                return Err(Error::ColumnConflict {
                    path: self.path.clone(),
                    column: name.clone(),
                    problem,
                });
            }
            seen.push(name);
        }
        let target_idx = targets
            .iter()
            .map(|t| self.column_index(t, "target"))
            .collect::<Result<Vec<_>>>()?;
        let feature_idx = features
            .iter()
            .map(|f| self.column_index(f, "feature"))
            .collect::<Result<Vec<_>>>()?;

        let mut x = Vec::with_capacity(self.rows.len() * features.len());
        let mut y = Vec::with_capacity(self.rows.len() * targets.len());
        let mut lines = Vec::with_capacity(self.rows.len());
        let mut dropped = Vec::new();
        // Cells are parsed left to right so that the first bad one of a row is named, and
        // every one of them, so that text is an error even in a row that is dropped.
        let mut used: Vec<usize> = feature_idx.iter().chain(&target_idx).copied().collect();
        used.sort_unstable();
        let mut values = vec![0.0_f32; self.columns.len()];
        for (line, record) in &self.rows {
            let mut complete = true;
            for &i in &used {
                let place = cell::Place {
                    path: &self.path,
                    line: *line,
                    column: &self.columns[i],
                    index: i,
                };
                match cell::parse(&place, &record[i], self.format.missing)? {
                    Some(v) => values[i] = v,
                    None => complete = false,
                }
            }
            if !complete {
                dropped.push(*line);
                continue;
            }
            x.extend(feature_idx.iter().map(|&i| values[i]));
            y.extend(target_idx.iter().map(|&i| values[i]));
            lines.push(*line);
        }
        Ok(Selection {
            data: Dataset {
                path: self.path.clone(),
                feature_names: features.to_vec(),
                target_names: targets.to_vec(),
                feature_columns: feature_idx.iter().map(|i| i + 1).collect(),
                target_columns: target_idx.iter().map(|i| i + 1).collect(),
                x,
                y,
                lines,
            },
            dropped,
            rows: self.rows.len(),
        })
    }
}

fn invalid(option: &'static str, expected: &str, found: &str) -> Error {
    Error::InvalidOption {
        option,
        expected: expected.to_owned(),
        found: found.to_owned(),
    }
}

fn csv_error(path: &Path, error: csv::Error) -> Error {
    let line = error.position().map_or(1, csv::Position::line);
    match error.into_kind() {
        csv::ErrorKind::Io(source) => Error::Read {
            path: path.to_path_buf(),
            source,
        },
        csv::ErrorKind::Utf8 { err, .. } => Error::Csv {
            path: path.to_path_buf(),
            line,
            message: format!("expected UTF-8 text, found invalid bytes ({err})"),
        },
        other => Error::Csv {
            path: path.to_path_buf(),
            line,
            message: format!("{other:?}"),
        },
    }
}

/// Reads `path` and selects `targets` and `features` (default: every other column).
///
/// # Errors
///
/// Those of [`Table::read`] and [`Table::select`].
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("d.csv");
/// std::fs::write(&path, "a,b,y\n1,2,3\n").unwrap();
/// let data = mdn_train::data::load(&path, Default::default(), &["y".into()], None).unwrap().data;
/// assert_eq!(data.feature_names, ["a", "b"]);
/// ```
pub fn load(
    path: &Path,
    format: CsvFormat,
    targets: &[String],
    features: Option<&[String]>,
) -> Result<Selection> {
    let table = Table::read(path, format)?;
    let features = match features {
        Some(f) => f.to_vec(),
        None => table.other_columns(targets),
    };
    table.select(&features, targets)
}
