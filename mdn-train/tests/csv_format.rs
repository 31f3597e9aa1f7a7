//! `--delimiter` and `--missing`: every command that reads a data CSV file takes both
//! (`train`, `eval`, `baselines`, `plot`); a file separated by another delimiter is named
//! as such, and `--missing drop` leaves out rows with a missing value and counts them.

mod common;

use std::path::Path;

use common::{hetero_csv, mdn, text, write};
use serde_json::Value;

const TINY: [&str; 10] = [
    "--epochs",
    "1",
    "--hidden",
    "4",
    "-k",
    "1",
    "--noise",
    "0",
    "--val-fraction",
    "0.2",
];

/// Runs `mdn args` in `dir`; returns the exit code, stdout and stderr.
fn run(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let output = mdn(dir, args);
    let (stdout, stderr) = text(&output);
    (output.status.code(), stdout, stderr)
}

/// `csv` with every comma replaced by `delimiter`.
fn separated(csv: &str, delimiter: &str) -> String {
    csv.replace(',', delimiter)
}

/// The hetero set with lines `missing` (1-based, the header is 1) given a missing value.
fn with_missing(rows: usize, missing: &[(usize, &str)]) -> String {
    let mut lines: Vec<String> = hetero_csv(rows, 5).lines().map(str::to_owned).collect();
    for &(line, row) in missing {
        lines[line - 1] = row.to_owned();
    }
    lines.join("\n") + "\n"
}

#[test]
fn a_file_separated_by_another_delimiter_is_named_and_read_with_delimiter() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let csv = hetero_csv(30, 1);
    write(d, "semi.csv", &separated(&csv, ";"));
    write(d, "tab.csv", &separated(&csv, "\t"));
    let train = |data: &str, extra: &[&str]| -> (Option<i32>, String, String) {
        let args = ["train", "--data", data, "--target", "y", "--out", "m.mdn"];
        run(d, &[&args[..], &TINY, extra].concat())
    };
    let (code, _, stderr) = train("semi.csv", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "semi.csv, line 1: expected a column named `y` (target), found columns: `x;y`; the \
             header is one column containing `;`: if that separates the fields, give \
             --delimiter ';'"
        ),
        "{stderr}"
    );
    let (code, _, stderr) = train("tab.csv", &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("containing a tab: if that separates the fields, give --delimiter tab"),
        "{stderr}"
    );
    // A comma file read with `;` is one column too.
    write(d, "comma.csv", &csv);
    let (code, _, stderr) = train("comma.csv", &["--delimiter", ";"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("give --delimiter ','"), "{stderr}");

    for (file, delimiter) in [("semi.csv", ";"), ("tab.csv", "tab"), ("tab.csv", "\\t")] {
        let (code, _, stderr) = train(file, &["--delimiter", delimiter]);
        assert_eq!(code, Some(0), "{file} {delimiter}: {stderr}");
        let (code, stdout, stderr) = run(
            d,
            &[
                "eval",
                "m.mdn",
                "--data",
                file,
                "--delimiter",
                delimiter,
                "--json",
            ],
        );
        assert_eq!(code, Some(0), "{stderr}");
        let eval: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(eval["n"], 30);
    }
    let (code, _, stderr) = run(
        d,
        &[
            "plot",
            "m.mdn",
            "--data",
            "semi.csv",
            "--delimiter",
            ";",
            "--out",
            "plots",
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    let (code, _, stderr) = run(
        d,
        &[
            &[
                "baselines",
                "--train",
                "semi.csv",
                "--test",
                "semi.csv",
                "--target",
                "y",
            ][..],
            &["--delimiter", ";"],
            &TINY,
        ]
        .concat(),
    );
    assert_eq!(code, Some(0), "{stderr}");
}

#[test]
fn bad_delimiters_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for bad in [";;", "é", "\"", "", "comma"] {
        let (code, stdout, stderr) =
            run(d, &["eval", "m.mdn", "--data", "d.csv", "--delimiter", bad]);
        assert_eq!(code, Some(2), "{bad:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(
            stderr.contains("--delimiter") && stderr.contains("single ASCII character"),
            "{bad:?}: {stderr}"
        );
    }
}

#[test]
fn missing_values_are_errors_unless_dropped_and_then_counted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = with_missing(
        40,
        &[(4, "NA,1"), (9, "0.5,"), (12, "nan,2"), (20, "0.3,N/A")],
    );
    write(d, "d.csv", &data);
    let train = [
        "train", "--data", "d.csv", "--target", "y", "--out", "m.mdn",
    ];
    let (code, _, stderr) = run(d, &[&train[..], &TINY].concat());
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: d.csv, line 4, column 1 `x`: expected a number, found `NA` (a missing value: \
         --missing drop leaves such rows out)"
    );
    assert!(!d.join("m.mdn").exists());

    let note = "warning: d.csv: left out 4 of 40 rows with a missing value (lines 4, 9, 12, 20)";
    let (code, stdout, stderr) = run(
        d,
        &[&train[..], &TINY, &["--missing", "drop", "--json"]].concat(),
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stderr.contains(note), "{stderr}");
    let trained: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(trained["rows"], 36);

    for args in [
        &["eval", "m.mdn", "--data", "d.csv", "--json"][..],
        &[
            "plot", "m.mdn", "--data", "d.csv", "--out", "plots", "--json",
        ],
        &[
            &[
                "baselines",
                "--train",
                "d.csv",
                "--test",
                "d.csv",
                "--target",
                "y",
            ][..],
            &TINY,
        ]
        .concat(),
    ] {
        let (code, _, stderr) = run(d, args);
        assert_eq!(code, Some(1), "{args:?}: {stderr}");
        assert!(
            stderr.contains("line 4, column 1 `x`"),
            "{args:?}: {stderr}"
        );
        let (code, _, stderr) = run(d, &[args, &["--missing", "drop"]].concat());
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(stderr.contains(note), "{args:?}: {stderr}");
    }
    let (code, stdout, _) = run(
        d,
        &[
            "eval",
            "m.mdn",
            "--data",
            "d.csv",
            "--json",
            "--missing",
            "drop",
        ],
    );
    assert_eq!(code, Some(0));
    let eval: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(eval["n"], 36);

    // Text in a dropped row is still an error, and a file of nothing but missing values
    // leaves no row to score.
    write(d, "text.csv", &with_missing(20, &[(3, "abc,NA")]));
    let (code, _, stderr) = run(
        d,
        &["eval", "m.mdn", "--data", "text.csv", "--missing", "drop"],
    );
    assert_eq!(code, Some(1));
    assert!(
        stderr.contains("text.csv, line 3, column 1 `x`: expected a number, found `abc`"),
        "{stderr}"
    );
    write(d, "none.csv", "x,y\nNA,1\n2,\n");
    let (code, _, stderr) = run(
        d,
        &["eval", "m.mdn", "--data", "none.csv", "--missing", "drop"],
    );
    assert_eq!(code, Some(1));
    assert_eq!(
        stderr.lines().collect::<Vec<_>>(),
        [
            "warning: none.csv: left out 2 of 2 rows with a missing value (lines 2, 3)",
            "error: none.csv: expected at least 1 data row, found 0",
        ]
    );
}
