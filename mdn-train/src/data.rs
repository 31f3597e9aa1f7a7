//! CSV loading: a header line of column names, then numeric rows.
//!
//! [`Table::read`] checks the file's shape (a header, equal field counts) and keeps every
//! row with its physical line; [`Table::select`] parses only the columns a model uses, so
//! an unused text column is fine while a bad cell in a used one is an error naming its
//! line and column.

use std::{
    fs::File,
    path::{Path, PathBuf},
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
/// let table = mdn_train::data::Table::read(&path).unwrap();
/// let data = table.select(&["x".into()], &["y".into()]).unwrap();
/// assert_eq!((data.len(), data.x, data.y), (2, vec![1.0, 3.0], vec![2.0, 4.0]));
/// assert_eq!(data.lines, vec![2, 3]);
/// ```
#[derive(Debug, Clone)]
pub struct Table {
    path: PathBuf,
    columns: Vec<String>,
    rows: Vec<(u64, csv::StringRecord)>,
}

/// Numeric features and targets of a data set, row-major, with the source line of each row.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// The file the rows came from.
    pub path: PathBuf,
    /// Feature column names, in model input order.
    pub feature_names: Vec<String>,
    /// Target column names, in model output order.
    pub target_names: Vec<String>,
    /// 1-based column index of each feature in the file.
    pub feature_columns: Vec<usize>,
    /// 1-based column index of each target in the file.
    pub target_columns: Vec<usize>,
    /// Features, `len() * feature_names.len()` values, row-major.
    pub x: Vec<f32>,
    /// Targets, `len() * target_names.len()` values, row-major.
    pub y: Vec<f32>,
    /// The 1-based physical line of each row (the header is line 1).
    pub lines: Vec<u64>,
}

impl Table {
    /// Reads a CSV file with a header line. Fields are trimmed; blank lines are skipped.
    ///
    /// # Errors
    ///
    /// [`Error::Read`], [`Error::EmptyFile`], [`Error::Csv`] (for example invalid UTF-8),
    /// [`Error::RaggedRow`] for a row whose field count differs from the header's.
    ///
    /// # Examples
    ///
    /// See [`Table`].
    pub fn read(path: &Path) -> Result<Self> {
        let file = File::open(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
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
    /// let table = mdn_train::data::Table::read(&path).unwrap();
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
    /// let table = mdn_train::data::Table::read(&path).unwrap();
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
    /// assert!(mdn_train::data::Table::read(&path).unwrap().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The 0-based index of column `name`; `role` says why it is needed, for the error.
    ///
    /// # Errors
    ///
    /// [`Error::MissingColumn`], listing the columns the file has.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// # std::fs::write(&path, "x,y\n1,2\n").unwrap();
    /// let table = mdn_train::data::Table::read(&path).unwrap();
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
    /// let table = mdn_train::data::Table::read(&path).unwrap();
    /// assert_eq!(table.other_columns(&["y".into()]), ["a", "b"]);
    /// ```
    pub fn other_columns(&self, targets: &[String]) -> Vec<String> {
        self.columns
            .iter()
            .filter(|c| !targets.contains(c))
            .cloned()
            .collect()
    }

    /// Parses the named feature and target columns of every row.
    ///
    /// # Errors
    ///
    /// [`Error::MissingColumn`]; [`Error::ColumnConflict`] for a column named twice, named
    /// as both feature and target, whose name appears twice in the header, or whose name
    /// contains a line feed (the blob's name separator); [`Error::BadCell`] for the first
    /// cell (in file order) that is empty, not a number, NaN or infinite;
    /// [`Error::InvalidOption`] for no features or no targets.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// std::fs::write(&path, "x,y\n1,2\n3,oops\n").unwrap();
    /// let table = mdn_train::data::Table::read(&path).unwrap();
    /// let err = table.select(&["x".into()], &["y".into()]).unwrap_err();
    /// assert!(err.to_string().ends_with("line 3, column 2 `y`: expected a number, found `oops`"));
    /// ```
    pub fn select(&self, features: &[String], targets: &[String]) -> Result<Dataset> {
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
        // Cells are parsed left to right so that the first bad one of a row is named.
        let mut used: Vec<usize> = feature_idx.iter().chain(&target_idx).copied().collect();
        used.sort_unstable();
        let mut values = vec![0.0_f32; self.columns.len()];
        for (line, record) in &self.rows {
            for &i in &used {
                values[i] = parse_cell(&self.path, *line, &self.columns[i], i, &record[i])?;
            }
            x.extend(feature_idx.iter().map(|&i| values[i]));
            y.extend(target_idx.iter().map(|&i| values[i]));
            lines.push(*line);
        }
        Ok(Dataset {
            path: self.path.clone(),
            feature_names: features.to_vec(),
            target_names: targets.to_vec(),
            feature_columns: feature_idx.iter().map(|i| i + 1).collect(),
            target_columns: target_idx.iter().map(|i| i + 1).collect(),
            x,
            y,
            lines,
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

/// Parses one cell as a finite `f32`.
fn parse_cell(path: &Path, line: u64, column: &str, index: usize, cell: &str) -> Result<f32> {
    let bad = |expected: &'static str, found: String| Error::BadCell {
        path: path.to_path_buf(),
        line,
        column: column.to_owned(),
        index: index + 1,
        expected,
        found,
    };
    if cell.is_empty() {
        return Err(bad("a number", "an empty cell".to_owned()));
    }
    match cell.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(v),
        Ok(v) if v.is_nan() => Err(bad("a finite number", excerpt::quoted(cell))),
        Ok(_) => Err(bad(
            "a finite number within f32 range (|v| < 3.4e38)",
            excerpt::quoted(cell),
        )),
        Err(_) => Err(bad("a number", excerpt::quoted(cell))),
    }
}

impl Dataset {
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
    /// let data = mdn_train::data::Dataset::load(&path, &["y".into()], None).unwrap();
    /// assert_eq!(data.feature_names, ["a", "b"]);
    /// ```
    pub fn load(path: &Path, targets: &[String], features: Option<&[String]>) -> Result<Self> {
        let table = Table::read(path)?;
        let features = match features {
            Some(f) => f.to_vec(),
            None => table.other_columns(targets),
        };
        table.select(&features, targets)
    }

    /// Number of rows.
    ///
    /// # Examples
    ///
    /// See [`Table`].
    pub fn len(&self) -> usize {
        self.lines.len()
    }

    /// Whether there are no rows.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// std::fs::write(&path, "x,y\n").unwrap();
    /// let data = mdn_train::data::Dataset::load(&path, &["y".into()], None).unwrap();
    /// assert!(data.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Number of features `F`.
    ///
    /// # Examples
    ///
    /// See [`Dataset::load`].
    pub fn inputs(&self) -> usize {
        self.feature_names.len()
    }

    /// Number of targets `D`.
    ///
    /// # Examples
    ///
    /// See [`Dataset::load`].
    pub fn outputs(&self) -> usize {
        self.target_names.len()
    }

    /// Features of row `i`.
    ///
    /// # Panics
    ///
    /// If `i >= len()`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// std::fs::write(&path, "a,b,y\n1,2,3\n").unwrap();
    /// let data = mdn_train::data::Dataset::load(&path, &["y".into()], None).unwrap();
    /// assert_eq!((data.row_x(0), data.row_y(0)), (&[1.0, 2.0][..], &[3.0][..]));
    /// ```
    pub fn row_x(&self, i: usize) -> &[f32] {
        let f = self.inputs();
        &self.x[i * f..(i + 1) * f]
    }

    /// Targets of row `i`.
    ///
    /// # Panics
    ///
    /// If `i >= len()`.
    ///
    /// # Examples
    ///
    /// See [`Dataset::row_x`].
    pub fn row_y(&self, i: usize) -> &[f32] {
        let d = self.outputs();
        &self.y[i * d..(i + 1) * d]
    }

    /// The rows `indices`, in that order.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// std::fs::write(&path, "x,y\n1,2\n3,4\n").unwrap();
    /// let data = mdn_train::data::Dataset::load(&path, &["y".into()], None).unwrap();
    /// assert_eq!(data.subset(&[1]).y, [4.0]);
    /// ```
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        Dataset {
            path: self.path.clone(),
            feature_names: self.feature_names.clone(),
            target_names: self.target_names.clone(),
            feature_columns: self.feature_columns.clone(),
            target_columns: self.target_columns.clone(),
            x: indices
                .iter()
                .flat_map(|&i| self.row_x(i))
                .copied()
                .collect(),
            y: indices
                .iter()
                .flat_map(|&i| self.row_y(i))
                .copied()
                .collect(),
            lines: indices.iter().map(|&i| self.lines[i]).collect(),
        }
    }

    /// Checks that there are at least `min` rows.
    ///
    /// # Errors
    ///
    /// [`Error::TooFewRows`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// std::fs::write(&path, "x,y\n1,2\n").unwrap();
    /// let data = mdn_train::data::Dataset::load(&path, &["y".into()], None).unwrap();
    /// assert!(data.require_rows(1).is_ok());
    /// assert!(data.require_rows(10).is_err());
    /// ```
    pub fn require_rows(&self, min: usize) -> Result<()> {
        if self.len() < min {
            return Err(Error::TooFewRows {
                path: self.path.clone(),
                found: self.len(),
                min,
            });
        }
        Ok(())
    }

    /// Checks that every target column takes at least two values.
    ///
    /// # Errors
    ///
    /// [`Error::ConstantTarget`] for the first constant target.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let path = dir.path().join("d.csv");
    /// std::fs::write(&path, "x,y\n1,2\n3,2\n").unwrap();
    /// let data = mdn_train::data::Dataset::load(&path, &["y".into()], None).unwrap();
    /// assert!(data.require_varying_targets().is_err());
    /// ```
    pub fn require_varying_targets(&self) -> Result<()> {
        let d = self.outputs();
        for j in 0..d {
            let mut values = self.y.iter().skip(j).step_by(d);
            if let Some(&first) = values.next()
                && values.all(|&v| v == first)
            {
                return Err(Error::ConstantTarget {
                    path: self.path.clone(),
                    column: self.target_names[j].clone(),
                    index: self.target_columns[j],
                    value: first,
                });
            }
        }
        Ok(())
    }
}
