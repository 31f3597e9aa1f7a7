//! Numeric features and targets of the rows a model uses.

use std::path::PathBuf;

use crate::error::{Error, Result};

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

impl Dataset {
    /// Number of rows.
    ///
    /// # Examples
    ///
    /// See [`Table`](super::Table).
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
    /// let data = mdn_train::data::load(&path, Default::default(), &["y".into()], None).unwrap().data;
    /// assert!(data.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// Number of features `F`.
    ///
    /// # Examples
    ///
    /// See [`Dataset::row_x`].
    pub fn inputs(&self) -> usize {
        self.feature_names.len()
    }

    /// Number of targets `D`.
    ///
    /// # Examples
    ///
    /// See [`Dataset::row_x`].
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
    /// let data = mdn_train::data::load(&path, Default::default(), &["y".into()], None).unwrap().data;
    /// assert_eq!((data.row_x(0), data.row_y(0)), (&[1.0, 2.0][..], &[3.0][..]));
    /// assert_eq!((data.inputs(), data.outputs()), (2, 1));
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
    /// let data = mdn_train::data::load(&path, Default::default(), &["y".into()], None).unwrap().data;
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
    /// let data = mdn_train::data::load(&path, Default::default(), &["y".into()], None).unwrap().data;
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
    /// let data = mdn_train::data::load(&path, Default::default(), &["y".into()], None).unwrap().data;
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
