//! Bad input makes `mdn` exit with 1 and one message naming the file, the line, the column
//! and what was expected, and leaves every output file as it was.

mod common;

use std::path::Path;

use common::{hetero_csv, listing, mdn, text, write};

const PREVIOUS: &str = "previous model";

/// Valid CSV text with line `line` (1-based, header = 1) replaced by `replacement`.
fn csv_with_line(line: usize, replacement: &str) -> String {
    let mut lines: Vec<String> = hetero_csv(40, 1).lines().map(str::to_owned).collect();
    lines[line - 1] = replacement.to_owned();
    lines.join("\n") + "\n"
}

/// Runs `mdn train` on `data` (written to `d.csv` unless `None`) with extra args; checks
/// exit code 1, that stderr holds every expected fragment, and that no output changed.
fn train_fails(data: Option<&str>, extra: &[&str], expected: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    if let Some(data) = data {
        write(dir.path(), "d.csv", data);
    }
    write(dir.path(), "model.mdn", PREVIOUS);
    let before = listing(dir.path());
    let mut args = vec![
        "train",
        "--data",
        "d.csv",
        "--target",
        "y",
        "--out",
        "model.mdn",
    ];
    args.extend(["--epochs", "2"]);
    args.extend(extra);
    let output = mdn(dir.path(), &args);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(1), "stderr: {stderr}");
    assert!(stdout.is_empty(), "stdout: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "one message: {stderr}");
    for fragment in expected {
        assert!(stderr.contains(fragment), "`{fragment}` not in: {stderr}");
    }
    let model = std::fs::read_to_string(dir.path().join("model.mdn")).unwrap();
    assert_eq!(model, PREVIOUS, "the previous model was overwritten");
    assert_eq!(listing(dir.path()), before, "files were created");
    stderr
}

#[test]
fn missing_file() {
    train_fails(None, &[], &["d.csv", "cannot read", "No such file"]);
}

#[test]
fn missing_column() {
    train_fails(
        Some(&hetero_csv(40, 1)),
        &["--target", "z"],
        &[
            "d.csv, line 1",
            "expected a column named `z` (target)",
            "found columns: `x`, `y`",
        ],
    );
    train_fails(
        Some(&hetero_csv(40, 1)),
        &["--features", "x,w"],
        &["d.csv, line 1", "`w` (feature)"],
    );
}

#[test]
fn non_numeric_cell() {
    train_fails(
        Some(&csv_with_line(5, "abc,1.5")),
        &[],
        &["d.csv, line 5, column 1 `x`: expected a number, found `abc`"],
    );
}

#[test]
fn empty_cell() {
    train_fails(
        Some(&csv_with_line(7, "0.5,")),
        &[],
        &[
            "d.csv, line 7, column 2 `y`: expected a number, found an empty cell",
            "(a missing value: --missing drop leaves such rows out)",
        ],
    );
}

#[test]
fn nan_and_infinite_cells() {
    train_fails(
        Some(&csv_with_line(3, "NaN,1")),
        &[],
        &["d.csv, line 3, column 1 `x`: expected a number, found `NaN` (a missing value"],
    );
    train_fails(
        Some(&csv_with_line(9, "0.5,inf")),
        &[],
        &[
            "d.csv, line 9, column 2 `y`: expected a finite number",
            "`inf`",
        ],
    );
}

#[test]
fn unused_text_column_is_fine_but_used_one_is_not() {
    let data = "x,label,y\n".to_owned()
        + &(0..20)
            .map(|i| format!("{i},row{i},{}\n", i * i % 7))
            .collect::<String>();
    train_fails(
        Some(&data),
        &[],
        &["d.csv, line 2, column 2 `label`: expected a number, found `row0`"],
    );
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", &data);
    let args = [
        "train",
        "--data",
        "d.csv",
        "--target",
        "y",
        "--features",
        "x",
    ];
    let output = mdn(
        dir.path(),
        &[&args[..], &["--out", "m.mdn", "--epochs", "2"]].concat(),
    );
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
}

#[test]
fn ragged_row() {
    train_fails(
        Some(&csv_with_line(4, "0.1,0.2,0.3")),
        &[],
        &["d.csv, line 4: expected 2 fields (as many as the header), found 3"],
    );
}

#[test]
fn huge_cells_and_headers_are_cut_in_messages() {
    let cell = "7".repeat(5 << 20);
    let stderr = train_fails(
        Some(&csv_with_line(6, &format!("{cell}x,1"))),
        &[],
        &[
            "d.csv, line 6, column 1 `x`: expected a number, found `7777",
            "...` (5,242,841 more characters)",
        ],
    );
    assert!(stderr.len() < 200, "{} bytes: {stderr}", stderr.len());

    let header: Vec<String> = (0..5000).map(|i| format!("c{i}")).collect();
    let data = header.join(",") + "\n" + &vec!["1"; 5000].join(",") + "\n";
    let stderr = train_fails(
        Some(&data),
        &[],
        &[
            "d.csv, line 1: expected a column named `y` (target), found columns: `c0`, `c1`",
            "`c19` and 4,980 more",
        ],
    );
    assert!(stderr.len() < 400, "{} bytes: {stderr}", stderr.len());
}

#[test]
fn empty_file() {
    train_fails(Some(""), &[], &["d.csv: the file is empty"]);
}

#[test]
fn too_few_rows() {
    train_fails(
        Some(&hetero_csv(5, 1)),
        &[],
        &["d.csv: expected at least 10 data rows, found 5"],
    );
    train_fails(
        Some("x,y\n"),
        &[],
        &["expected at least 10 data rows, found 0"],
    );
}

#[test]
fn constant_target() {
    let data = "x,y\n".to_owned() + &(0..20).map(|i| format!("{i},3\n")).collect::<String>();
    train_fails(
        Some(&data),
        &[],
        &[
            "d.csv, column 2 `y`: expected a target that varies",
            "constant value 3",
        ],
    );
}

#[test]
fn non_positive_target_with_log_scaling() {
    train_fails(
        Some(&csv_with_line(6, "0.5,-2")),
        &["--scale-y", "log"],
        &[
            "d.csv, line 6, column 2 `y`: expected a positive number",
            "found `-2`",
        ],
    );
}

#[test]
fn unwritable_output() {
    let data = hetero_csv(40, 1);
    train_fails(
        Some(&data),
        &["--out", "no/such/dir/m.mdn"],
        &["no/such/dir/m.mdn: cannot write"],
    );
    // The output is a directory.
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", &data);
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let output = mdn(
        dir.path(),
        &[
            "train", "--data", "d.csv", "--target", "y", "--out", "sub", "--epochs", "2",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).1.contains("sub: cannot write"));
    assert!(!dir.path().join("sub.metrics.csv").exists());
}

#[test]
fn bad_options_are_user_errors() {
    let data = hetero_csv(40, 1);
    train_fails(
        Some(&data),
        &["--lr", "-1"],
        &["--lr", "expected a finite number > 0"],
    );
    train_fails(Some(&data), &["--hidden", "32,0"], &["--hidden"]);
    train_fails(
        Some(&data),
        &["--val-fraction", "0.95"],
        &["--val-fraction"],
    );
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    for args in [
        &["train", "--data", "d.csv"][..],
        &["inspect"][..],
        &[
            "train",
            "--data",
            "d.csv",
            "--target",
            "y",
            "--out",
            "m",
            "--activation",
            "gelu",
        ][..],
        &["frobnicate"][..],
    ] {
        let output = mdn(dir.path(), args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
    }
}

/// Trains a tiny model into `dir/m.mdn`.
fn tiny_model(dir: &Path) {
    write(dir, "d.csv", &hetero_csv(40, 1));
    let output = mdn(
        dir,
        &[
            "train", "--data", "d.csv", "--target", "y", "--out", "m.mdn", "--epochs", "2",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{:?}", text(&output));
}

#[test]
fn eval_names_missing_columns_and_bad_cells() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path());
    write(dir.path(), "other.csv", "a,y\n1,2\n");
    let output = mdn(dir.path(), &["eval", "m.mdn", "--data", "other.csv"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output)
            .1
            .contains("other.csv, line 1: expected a column named `x`")
    );

    write(dir.path(), "bad.csv", "x,y\n1,2\n0.5,?\n");
    let output = mdn(
        dir.path(),
        &[
            "eval",
            "--model",
            "m.mdn",
            "--data",
            "bad.csv",
            "--per-sample",
            "s.csv",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output)
            .1
            .contains("bad.csv, line 3, column 2 `y`: expected a number, found `?`")
    );
    assert!(!dir.path().join("s.csv").exists());
}

#[test]
fn corrupt_and_missing_models() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path());
    let mut bytes = std::fs::read(dir.path().join("m.mdn")).unwrap();
    bytes[40] ^= 0x10;
    std::fs::write(dir.path().join("corrupt.mdn"), bytes).unwrap();
    for command in ["inspect", "export"] {
        let output = mdn(dir.path(), &[command, "corrupt.mdn"]);
        assert_eq!(output.status.code(), Some(1));
        let stderr = text(&output).1;
        assert!(
            stderr.contains("corrupt.mdn: not a valid model: checksum"),
            "{stderr}"
        );
    }
    let output = mdn(dir.path(), &["predict", "nope.mdn", "--x", "1"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).1.contains("nope.mdn: cannot read"));
}

#[test]
fn predict_checks_input_lengths() {
    let dir = tempfile::tempdir().unwrap();
    tiny_model(dir.path());
    let output = mdn(dir.path(), &["predict", "m.mdn", "--x", "1,2"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        text(&output)
            .1
            .contains("--x: input has 2 features, model takes 1")
    );
    let output = mdn(
        dir.path(),
        &["predict", "m.mdn", "--x", "-1.5", "--y", "1,2"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).1.contains("--y"));
}

#[test]
fn divergence_writes_the_best_model_so_far_and_names_the_epoch() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", &hetero_csv(40, 1));
    write(dir.path(), "m.mdn", PREVIOUS);
    let output = mdn(
        dir.path(),
        &[
            "train",
            "--data",
            "d.csv",
            "--target",
            "y",
            "--out",
            "m.mdn",
            "--epochs",
            "10",
            "--fail-at-epoch",
            "4",
        ],
    );
    let stderr = text(&output).1;
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the loss became NaN in epoch 4"),
        "{stderr}"
    );
    assert!(
        stderr.contains("best model so far (epoch 3, 5 network(s)) to m.mdn"),
        "{stderr}"
    );
    let bytes = std::fs::read(dir.path().join("m.mdn")).unwrap();
    let bytes = mdn_train::aligned::AlignedBytes::from_slice(&bytes);
    assert!(mdn_core::HostModel::from_bytes(&bytes).is_ok());
    let metrics = std::fs::read_to_string(dir.path().join("m.mdn.metrics.csv")).unwrap();
    assert_eq!(metrics.lines().count(), 1 + 3);

    // Divergence in the first epoch leaves the previous file alone.
    write(dir.path(), "m.mdn", PREVIOUS);
    let output = mdn(
        dir.path(),
        &[
            "train",
            "--data",
            "d.csv",
            "--target",
            "y",
            "--out",
            "m.mdn",
            "--epochs",
            "10",
            "--fail-at-epoch",
            "1",
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output).1.contains("no model was written"));
    assert_eq!(
        std::fs::read_to_string(dir.path().join("m.mdn")).unwrap(),
        PREVIOUS
    );
}
