//! How a CSV file is read: its field separator and what a missing value does.

use crate::excerpt;

/// How a CSV file is read.
///
/// # Examples
///
/// ```
/// use mdn_train::data::{CsvFormat, Missing};
/// let format = CsvFormat { delimiter: b';', missing: Missing::Drop };
/// assert_eq!(CsvFormat::default(), CsvFormat { delimiter: b',', missing: Missing::Error });
/// # let _ = format;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvFormat {
    /// The field separator, one ASCII byte (see [`parse_delimiter`]).
    pub delimiter: u8,
    /// What a missing value in a used column does.
    pub missing: Missing,
}

impl Default for CsvFormat {
    fn default() -> Self {
        CsvFormat {
            delimiter: b',',
            missing: Missing::Error,
        }
    }
}

/// What a missing value in a used column does: an empty cell, or `NA`, `N/A` or `NaN` in
/// any letter case ([`is_missing`]).
///
/// # Examples
///
/// ```
/// use clap::ValueEnum;
/// let drop = mdn_train::data::Missing::from_str("drop", false).unwrap();
/// assert_eq!(drop, mdn_train::data::Missing::Drop);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Missing {
    /// Stop with an error naming the file, line and column.
    #[default]
    Error,
    /// Leave the row out (the caller reports how many were).
    Drop,
}

/// Whether a (trimmed) cell is a missing value: empty, `NA`, `N/A` or `NaN` in any letter
/// case (a sign included).
///
/// # Examples
///
/// ```
/// use mdn_train::data::is_missing;
/// assert!(is_missing("") && is_missing("NA") && is_missing("n/a") && is_missing("-nan"));
/// assert!(!is_missing("inf") && !is_missing("none") && !is_missing("0"));
/// ```
pub fn is_missing(cell: &str) -> bool {
    cell.is_empty()
        || cell.eq_ignore_ascii_case("na")
        || cell.eq_ignore_ascii_case("n/a")
        || cell.parse::<f32>().is_ok_and(f32::is_nan)
}

/// Parses a `--delimiter` value: `,`, `;`, `tab` or `\t` (the two characters) for a tab,
/// or any other single ASCII character except the quote `"` and line breaks.
///
/// # Errors
///
/// A message saying what is accepted, for the command line's usage error.
///
/// # Examples
///
/// ```
/// use mdn_train::data::parse_delimiter;
/// assert_eq!(parse_delimiter(";"), Ok(b';'));
/// assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
/// assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
/// assert!(parse_delimiter(";;").is_err() && parse_delimiter("é").is_err());
/// ```
pub fn parse_delimiter(value: &str) -> Result<u8, String> {
    let byte = match (value, value.as_bytes()) {
        ("tab" | "\\t", _) => Some(b'\t'),
        (_, [b]) if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => Some(*b),
        _ => None,
    };
    byte.ok_or_else(|| {
        format!(
            "expected `,`, `;`, `tab` (or `\\t`) or another single ASCII character other than \
             `\"` and a line break, found {}",
            excerpt::quoted(value)
        )
    })
}

/// The delimiter a file seems to use when its header, split by `delimiter`, is one column:
/// the first of `;`, a tab and `,` that the column contains (other than `delimiter`).
///
/// # Examples
///
/// ```
/// use mdn_train::data::guess_delimiter;
/// assert_eq!(guess_delimiter(&["x;y".into()], b','), Some(b';'));
/// assert_eq!(guess_delimiter(&["x,y".into()], b';'), Some(b','));
/// assert_eq!(guess_delimiter(&["x".into(), "y;z".into()], b','), None);
/// ```
pub fn guess_delimiter(columns: &[String], delimiter: u8) -> Option<u8> {
    let [only] = columns else { return None };
    [b';', b'\t', b',']
        .into_iter()
        .find(|&c| c != delimiter && only.as_bytes().contains(&c))
}

/// How `--delimiter` is written for `byte`: `tab` for a tab, the quoted character else.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_train::data::delimiter_option(b'\t'), "--delimiter tab");
/// assert_eq!(mdn_train::data::delimiter_option(b';'), "--delimiter ';'");
/// ```
pub fn delimiter_option(byte: u8) -> String {
    match byte {
        b'\t' => "--delimiter tab".into(),
        other => format!("--delimiter '{}'", char::from(other)),
    }
}
