//! One cell of a used column as a finite `f32`, or a missing value.

use std::path::Path;

use super::format::{Missing, is_missing};
use crate::{
    error::{Error, Result},
    excerpt,
};

/// Where a cell is, for its error.
pub(super) struct Place<'a> {
    pub path: &'a Path,
    pub line: u64,
    pub column: &'a str,
    /// 0-based.
    pub index: usize,
}

/// Parses one trimmed cell: `Some(v)` for a finite number, `None` for a missing value
/// under [`Missing::Drop`].
///
/// # Errors
///
/// [`Error::MissingValue`] for a missing value under [`Missing::Error`]; [`Error::BadCell`]
/// for text or an infinite number (whatever `missing` says).
pub(super) fn parse(place: &Place<'_>, cell: &str, missing: Missing) -> Result<Option<f32>> {
    if is_missing(cell) {
        return match missing {
            Missing::Drop => Ok(None),
            Missing::Error => Err(Error::MissingValue {
                path: place.path.to_path_buf(),
                line: place.line,
                column: place.column.to_owned(),
                index: place.index + 1,
                found: if cell.is_empty() {
                    "an empty cell".to_owned()
                } else {
                    excerpt::quoted(cell)
                },
            }),
        };
    }
    let bad = |expected: &'static str| Error::BadCell {
        path: place.path.to_path_buf(),
        line: place.line,
        column: place.column.to_owned(),
        index: place.index + 1,
        expected,
        found: excerpt::quoted(cell),
    };
    match cell.parse::<f32>() {
        Ok(v) if v.is_finite() => Ok(Some(v)),
        Ok(_) => Err(bad("a finite number within f32 range (|v| < 3.4e38)")),
        Err(_) => Err(bad("a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place<'static> {
        Place {
            path: Path::new("d.csv"),
            line: 7,
            column: "y",
            index: 1,
        }
    }

    #[test]
    fn missing_values_are_dropped_or_named() {
        for cell in ["", "NA", "na", "N/A", "NaN", "nan", "-NaN"] {
            assert_eq!(
                parse(&place(), cell, Missing::Drop).unwrap(),
                None,
                "{cell}"
            );
            let err = parse(&place(), cell, Missing::Error).unwrap_err();
            assert!(
                err.to_string()
                    .starts_with("d.csv, line 7, column 2 `y`: expected a number, found "),
                "{err}"
            );
            assert!(
                err.to_string()
                    .ends_with("--missing drop leaves such rows out)"),
                "{err}"
            );
        }
    }

    #[test]
    fn text_and_infinities_stay_errors_when_missing_values_are_dropped() {
        for (cell, expected) in [
            ("abc", "expected a number, found `abc`"),
            (
                "inf",
                "expected a finite number within f32 range (|v| < 3.4e38), found `inf`",
            ),
            ("1e39", "found `1e39`"),
        ] {
            let err = parse(&place(), cell, Missing::Drop).unwrap_err();
            assert!(matches!(err, Error::BadCell { .. }), "{err}");
            assert!(err.to_string().ends_with(expected), "{err}");
        }
        assert_eq!(parse(&place(), "-2.5", Missing::Error).unwrap(), Some(-2.5));
    }
}
