//! Every command and option a user can get wrong: `mdn` exits with 1 for a user or data error
//! (one line on stderr, naming the file or the option and what was wrong) and with 2 for a
//! usage error (clap's message), writes nothing to stdout, and leaves every file as it was.
//!
//! `bad_input.rs` holds the first set (mostly `train` on bad CSV files); this file covers the
//! rest of the command line: model files for every command that reads one, `predict`'s
//! values, `eval`'s columns, `export`'s format, `data synth`, option values of `train`,
//! `baselines` and `demo`, and unwritable outputs of every command that writes.

mod common;

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use common::{hetero_csv, mdn, text, write};

/// A committed golden blob: two features `a`, `b`, one target `y`, identity target.
fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden")
        .join(name)
}

/// Every file under `dir` (recursively) with its bytes; directories as `name/`.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).expect("read dir") {
            let path = entry.expect("entry").path();
            let name = path.strip_prefix(dir).expect("inside").to_path_buf();
            if path.is_dir() {
                files.insert(name, None);
                pending.push(path);
            } else {
                files.insert(name, Some(std::fs::read(&path).expect("read file")));
            }
        }
    }
    files
}

/// A work directory with valid and broken inputs:
///
/// | file | content |
/// |---|---|
/// | `m.mdn` | valid model (features `a`, `b`; target `y`) |
/// | `log.mdn` | valid log-target model (features `load`, `speed`; targets `energy`, `heat`) |
/// | `corrupt.mdn` | `m.mdn` with one bit flipped |
/// | `truncated.mdn` | `m.mdn` without its last byte |
/// | `empty.mdn` | no bytes |
/// | `text.mdn` | a CSV file |
/// | `dir.mdn/` | a directory |
/// | `good.csv` | columns `a`, `b`, `y`, three rows |
/// | `d.csv` | 40 rows `x`, `y` for training |
fn workdir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path();
    let model = std::fs::read(golden("no_hidden.mdn")).expect("golden blob");
    std::fs::write(path.join("m.mdn"), &model).unwrap();
    std::fs::copy(golden("exp_log_target.mdn"), path.join("log.mdn")).unwrap();
    let mut corrupt = model.clone();
    corrupt[30] ^= 0x04;
    std::fs::write(path.join("corrupt.mdn"), corrupt).unwrap();
    std::fs::write(path.join("truncated.mdn"), &model[..model.len() - 1]).unwrap();
    std::fs::write(path.join("empty.mdn"), b"").unwrap();
    write(path, "text.mdn", "a,b,y\n1,2,3\n");
    std::fs::create_dir(path.join("dir.mdn")).unwrap();
    write(path, "good.csv", "a,b,y\n1,2,3\n0.5,-1,2\n2,0,1\n");
    write(path, "d.csv", &hetero_csv(40, 3));
    dir
}

/// Runs `mdn args` in `dir` and checks exit code `code`, an empty stdout, every fragment in
/// stderr (one `error:` line for code 1), and that no file changed. Returns stderr.
fn fails(dir: &Path, args: &[&str], code: i32, fragments: &[&str]) -> String {
    let before = snapshot(dir);
    let output = mdn(dir, args);
    let (stdout, stderr) = text(&output);
    assert_eq!(
        output.status.code(),
        Some(code),
        "{args:?}\nstderr: {stderr}"
    );
    assert!(stdout.is_empty(), "{args:?}: stdout: {stdout}");
    if code == 1 {
        assert_eq!(stderr.lines().count(), 1, "{args:?}: one message: {stderr}");
        assert!(stderr.starts_with("error: "), "{args:?}: {stderr}");
    }
    for fragment in fragments {
        assert!(
            stderr.contains(fragment),
            "{args:?}: `{fragment}` not in: {stderr}"
        );
    }
    assert!(
        snapshot(dir) == before,
        "{args:?} changed the files of the work directory"
    );
    stderr
}

/// `args` with every `{M}` replaced by `model`.
fn with_model<'a>(args: &[&'a str], model: &'a str) -> Vec<&'a str> {
    args.iter()
        .map(|&a| if a == "{M}" { model } else { a })
        .collect()
}

#[test]
fn every_command_that_reads_a_model_rejects_bad_model_files() {
    let dir = workdir();
    let commands: [&[&str]; 4] = [
        &["inspect", "{M}"],
        &["export", "{M}"],
        &["predict", "{M}", "--x", "1,2"],
        &["eval", "{M}", "--data", "good.csv"],
    ];
    let models = [
        ("missing.mdn", "cannot read"),
        ("dir.mdn", "cannot read"),
        ("empty.mdn", "not a valid model"),
        ("truncated.mdn", "not a valid model"),
        ("corrupt.mdn", "not a valid model: checksum"),
        ("text.mdn", "not a valid model"),
    ];
    for command in commands {
        for (model, reason) in models {
            // Positionally and with --model.
            fails(dir.path(), &with_model(command, model), 1, &[model, reason]);
            let mut flagged = with_model(command, "--model");
            let at = flagged.iter().position(|&a| a == "--model").unwrap();
            flagged.insert(at + 1, model);
            fails(dir.path(), &flagged, 1, &[model, reason]);
        }
    }
}

#[test]
fn every_command_needs_its_required_arguments() {
    let dir = workdir();
    let cases: [&[&str]; 13] = [
        &[],
        &["train"],
        &["train", "--data", "d.csv", "--target", "y"],
        &["train", "--data", "d.csv", "--out", "o.mdn"],
        &["eval", "m.mdn"],
        &["eval", "--data", "good.csv"],
        &["predict", "m.mdn"],
        &["predict", "--x", "1,2"],
        &["inspect"],
        &["export"],
        &["baselines", "--train", "d.csv", "--target", "y"],
        &["data"],
        &["data", "synth", "--kind", "hetero"],
    ];
    for args in cases {
        fails(dir.path(), args, 2, &["Usage: mdn"]);
    }
    fails(
        dir.path(),
        &["data", "synth", "--out", "s.csv"],
        2,
        &["--kind"],
    );
}

#[test]
fn unknown_commands_and_options_are_usage_errors() {
    let dir = workdir();
    fails(dir.path(), &["frobnicate"], 2, &["frobnicate"]);
    fails(dir.path(), &["data", "frobnicate"], 2, &["frobnicate"]);
    let cases: [&[&str]; 8] = [
        &[
            "train", "--data", "d.csv", "--target", "y", "--out", "o.mdn",
        ],
        &["eval", "m.mdn", "--data", "good.csv"],
        &["predict", "m.mdn", "--x", "1,2"],
        &["inspect", "m.mdn"],
        &["export", "m.mdn"],
        &[
            "baselines",
            "--train",
            "d.csv",
            "--test",
            "d.csv",
            "--target",
            "y",
        ],
        &["data", "synth", "--kind", "hetero", "--out", "s.csv"],
        &["demo", "--out", "demo"],
    ];
    for args in cases {
        let args = [args, &["--frobnicate"]].concat();
        fails(dir.path(), &args, 2, &["--frobnicate"]);
    }
    // A model given both ways.
    fails(
        dir.path(),
        &["inspect", "m.mdn", "--model", "m.mdn"],
        2,
        &["cannot be used with"],
    );
}

#[test]
fn predict_rejects_wrong_inputs_and_targets() {
    let dir = workdir();
    let d = dir.path();
    // Wrong number of features (the model takes a, b).
    for x in ["1", "1,2,3"] {
        fails(
            d,
            &["predict", "m.mdn", "--x", x],
            1,
            &["--x", "model takes 2", "features, in order: `a`, `b`"],
        );
    }
    // Not numbers: clap's parse error.
    for x in ["a,b", "1,", "1;2", ""] {
        fails(d, &["predict", "m.mdn", "--x", x], 2, &["--x"]);
    }
    // Numbers that are not finite (1e39 overflows f32).
    for x in ["NaN,1", "1,inf", "-inf,0", "1e39,0"] {
        fails(
            d,
            &["predict", "m.mdn", "--x", x],
            1,
            &["--x", "NaN or infinity"],
        );
    }
    // Targets: wrong length, not numbers, not finite.
    for y in ["1,2", "1,2,3"] {
        fails(
            d,
            &["predict", "m.mdn", "--x", "1,2", "--y", y],
            1,
            &["--y", "model predicts 1", "y"],
        );
    }
    fails(
        d,
        &["predict", "m.mdn", "--x", "1,2", "--y", "abc"],
        2,
        &["--y"],
    );
    fails(
        d,
        &["predict", "m.mdn", "--x", "1,2", "--y", "nan"],
        1,
        &["--y", "NaN or infinity"],
    );
    fails(
        d,
        &["predict", "log.mdn", "--x", "1,2", "--y", "1"],
        1,
        &["--y", "model predicts 2", "targets: `energy`, `heat`"],
    );
}

#[test]
fn eval_names_the_problem_with_its_data() {
    let dir = workdir();
    let d = dir.path();
    write(d, "no_b.csv", "a,y\n1,2\n");
    write(d, "no_y.csv", "a,b\n1,2\n");
    write(d, "empty.csv", "");
    write(d, "header.csv", "a,b,y\n");
    write(d, "ragged.csv", "a,b,y\n1,2,3\n1,2\n");
    write(d, "inf.csv", "a,b,y\n1,2,3\n1,inf,3\n");
    let cases: [(&str, &[&str]); 7] = [
        (
            "no_b.csv",
            &["no_b.csv, line 1", "`b` (feature)", "`a`, `y`"],
        ),
        ("no_y.csv", &["no_y.csv, line 1", "`y` (target)"]),
        ("empty.csv", &["empty.csv", "the file is empty"]),
        (
            "header.csv",
            &["header.csv", "at least 1 data row, found 0"],
        ),
        ("ragged.csv", &["ragged.csv, line 3", "expected 3 fields"]),
        (
            "inf.csv",
            &["inf.csv, line 3, column 2 `b`", "finite number"],
        ),
        ("missing.csv", &["missing.csv", "cannot read"]),
    ];
    for (data, fragments) in cases {
        fails(d, &["eval", "m.mdn", "--data", data], 1, fragments);
        // With --per-sample, nothing is written either.
        fails(
            d,
            &["eval", "m.mdn", "--data", data, "--per-sample", "s.csv"],
            1,
            fragments,
        );
    }
}

#[test]
fn eval_rejects_targets_outside_a_log_models_support() {
    // A log-target model gives such a row density zero: the NLL is infinite and useless.
    // `train --scale-y log` rejects the same data with "expected a positive number"; eval
    // should name the line and column the same way.
    let dir = workdir();
    let d = dir.path();
    write(
        d,
        "neg.csv",
        "load,speed,energy,heat\n1,2,3,4\n0.5,1,-2,4\n",
    );
    fails(
        d,
        &["eval", "log.mdn", "--data", "neg.csv"],
        1,
        &["neg.csv, line 3, column 3 `energy`", "positive"],
    );
}

#[test]
fn export_rejects_unknown_formats() {
    let dir = workdir();
    for format in ["xml", "JSON", "", "csv"] {
        fails(
            dir.path(),
            &["export", "m.mdn", "--format", format],
            2,
            &["--format", "possible values: json"],
        );
    }
}

#[test]
fn every_command_that_writes_rejects_an_unwritable_output() {
    let dir = workdir();
    let d = dir.path();
    std::fs::create_dir(d.join("sub")).unwrap();
    // A regular file where a directory is needed.
    write(d, "file", "not a directory");
    for out in ["no/such/dir/out", "sub", "file/out"] {
        fails(
            d,
            &[
                "train", "--data", "d.csv", "--target", "y", "--out", out, "--epochs", "1",
            ],
            1,
            &[out, "cannot write"],
        );
        fails(
            d,
            &["eval", "m.mdn", "--data", "good.csv", "--per-sample", out],
            1,
            &[out, "cannot write"],
        );
        fails(
            d,
            &["export", "m.mdn", "--out", out],
            1,
            &[out, "cannot write"],
        );
        fails(
            d,
            &[
                "data", "synth", "--kind", "hetero", "--n", "10", "--out", out,
            ],
            1,
            &[out, "cannot write"],
        );
    }
    // train checks its metrics file too, before training.
    std::fs::create_dir(d.join("o.mdn.metrics.csv")).unwrap();
    fails(
        d,
        &[
            "train", "--data", "d.csv", "--target", "y", "--out", "o.mdn", "--epochs", "1",
        ],
        1,
        &["o.mdn.metrics.csv", "cannot write"],
    );
    // demo's output directory cannot be a file.
    fails(
        d,
        &["demo", "--out", "file", "--epochs", "1"],
        1,
        &["file", "cannot create the directory"],
    );
}

#[test]
fn data_synth_rejects_bad_kinds_and_counts() {
    let dir = workdir();
    let d = dir.path();
    for kind in ["foo", "", "HETERO"] {
        fails(
            d,
            &["data", "synth", "--kind", kind, "--out", "s.csv"],
            2,
            &["--kind", "possible values: hetero, invsin"],
        );
    }
    for n in ["-5", "abc", "1.5"] {
        fails(
            d,
            &[
                "data", "synth", "--kind", "hetero", "--n", n, "--out", "s.csv",
            ],
            2,
            &["--n"],
        );
    }
    fails(
        d,
        &[
            "data", "synth", "--kind", "invsin", "--seed", "-1", "--out", "s.csv",
        ],
        2,
        &["--seed"],
    );
}

#[test]
fn data_synth_rejects_zero_rows() {
    let dir = workdir();
    fails(
        dir.path(),
        &[
            "data", "synth", "--kind", "hetero", "--n", "0", "--out", "s.csv",
        ],
        1,
        &["--n", "at least 1"],
    );
}

/// Option values that parse but are out of range: `(option, value, expected fragment)`.
/// Each command that trains checks them before reading data or writing anything.
const OUT_OF_RANGE: [(&str, &str, &str); 20] = [
    ("--components", "0", "at least 1"),
    ("-k", "0", "at least 1"),
    ("--hidden", "0", "each at least 1"),
    ("--hidden", "32,0", "each at least 1"),
    ("--hidden", "1,1,1,1,1,1,1,1,1", "at most 8"),
    ("--lr", "-1", "finite number > 0"),
    ("--lr", "0", "finite number > 0"),
    ("--lr", "NaN", "finite number > 0"),
    ("--lr", "inf", "finite number > 0"),
    ("--val-fraction", "1.5", "[0, 0.9)"),
    ("--val-fraction", "-0.1", "[0, 0.9)"),
    ("--val-fraction", "0.9", "[0, 0.9)"),
    ("--batch", "0", "at least 1"),
    ("--epochs", "0", "at least 1"),
    ("--sigma-floor", "-1", "finite number >= 0"),
    ("--sigma-floor", "NaN", "finite number >= 0"),
    ("--sigma-floor", "inf", "finite number >= 0"),
    ("--weight-decay", "-1", "finite number >= 0"),
    ("--weight-decay", "NaN", "finite number >= 0"),
    ("--weight-decay", "inf", "finite number >= 0"),
];

/// Option values that do not parse: `(option, value)`; clap names the option.
const UNPARSABLE: [(&str, &str); 15] = [
    ("--components", "-1"),
    ("--components", "abc"),
    ("--hidden", "none,4"),
    ("--hidden", "32,,32"),
    ("--hidden", "32,x"),
    ("--hidden", "-4"),
    ("--activation", "gelu"),
    ("--sigma", "foo"),
    ("--scale-x", "log"),
    ("--scale-y", "minmax"),
    ("--epochs", "-3"),
    ("--batch", "1.5"),
    ("--lr", "fast"),
    ("--seed", "-1"),
    ("--patience", "x"),
];

/// Checks every bad option value on the command `base` (which is otherwise valid).
fn rejects_bad_options(dir: &Path, base: &[&str]) {
    for (option, value, expected) in OUT_OF_RANGE {
        let args = [base, &[option, value]].concat();
        // `-k` is reported under its long name.
        let named = if option == "-k" {
            "--components"
        } else {
            option
        };
        fails(dir, &args, 1, &[named, expected]);
    }
    for (option, value) in UNPARSABLE {
        let args = [base, &[option, value]].concat();
        fails(dir, &args, 2, &[option]);
    }
}

#[test]
fn train_rejects_bad_option_values() {
    let dir = workdir();
    rejects_bad_options(
        dir.path(),
        &[
            "train", "--data", "d.csv", "--target", "y", "--out", "o.mdn",
        ],
    );
}

#[test]
fn baselines_rejects_bad_option_values_and_data() {
    let dir = workdir();
    let d = dir.path();
    write(d, "t.csv", &hetero_csv(20, 4));
    rejects_bad_options(
        d,
        &[
            "baselines",
            "--train",
            "d.csv",
            "--test",
            "t.csv",
            "--target",
            "y",
        ],
    );
    write(d, "no_x.csv", "y\n1\n2\n");
    write(d, "header.csv", "x,y\n");
    let cases: [(&[&str], &[&str]); 5] = [
        (
            &["--train", "missing.csv", "--test", "t.csv"],
            &["missing.csv", "cannot read"],
        ),
        (
            &["--train", "d.csv", "--test", "missing.csv"],
            &["missing.csv", "cannot read"],
        ),
        (
            &["--train", "d.csv", "--test", "no_x.csv"],
            &["no_x.csv, line 1", "`x` (feature)"],
        ),
        (
            &["--train", "d.csv", "--test", "header.csv"],
            &["header.csv", "found 0"],
        ),
        (
            &["--train", "t.csv", "--test", "d.csv", "--features", "z"],
            &["t.csv, line 1", "`z`"],
        ),
    ];
    for (files, fragments) in cases {
        let args = [&["baselines", "--target", "y", "--epochs", "1"], files].concat();
        fails(d, &args, 1, fragments);
    }
}

#[test]
fn demo_rejects_bad_option_values_before_creating_anything() {
    let dir = workdir();
    let d = dir.path();
    rejects_bad_options(d, &["demo", "--out", "demo"]);
    for n in ["0", "10", "49"] {
        fails(
            d,
            &["demo", "--out", "demo", "--n", n],
            1,
            &["--n", "at least 50"],
        );
    }
    fails(d, &["demo", "--out", "demo", "--n", "-1"], 2, &["--n"]);
    assert!(!d.join("demo").exists(), "demo created its directory");
}

#[test]
fn train_rejects_bad_column_choices() {
    let dir = workdir();
    let d = dir.path();
    let train = |extra: &[&str]| -> Vec<String> {
        let base = [
            "train", "--data", "d.csv", "--out", "o.mdn", "--epochs", "1",
        ];
        base.iter().chain(extra).map(|s| (*s).to_owned()).collect()
    };
    let cases: [(&[&str], &[&str]); 5] = [
        (
            &["--target", "y", "--features", "y"],
            &["`y` is named both as a feature and as a target"],
        ),
        (
            &["--target", "y", "--features", "x,x"],
            &["`x` is named twice"],
        ),
        (&["--target", "y,y"], &["`y` is named twice"]),
        (&["--target", "z"], &["d.csv, line 1", "`z` (target)"]),
        (
            &["--target", "y", "--features", "w"],
            &["d.csv, line 1", "`w` (feature)"],
        ),
    ];
    for (extra, fragments) in cases {
        let args = train(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(d, &args, 1, fragments);
    }
    // Every column is a target: nothing left to learn from.
    let args = train(&["--target", "x,y"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    fails(d, &args, 1, &["--features", "at least one feature"]);
}

#[test]
fn quantize_to_an_integer_network_names_what_it_needs() {
    let dir = workdir();
    let d = dir.path();
    let int16 = ["--activations", "int16", "--out", "q.mdn"];
    let with = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut args = vec!["quantize", "m.mdn"];
        args.extend(extra);
        args.extend(int16);
        args
    };
    fails(
        d,
        &with(&["--weights", "f16", "--data", "good.csv"]),
        1,
        &["--activations int16 needs --weights int8"],
    );
    fails(
        d,
        &with(&["--weights", "int8"]),
        1,
        &["--activations int16 needs --data"],
    );
    fails(
        d,
        &with(&[
            "--weights",
            "int8",
            "--head-weights",
            "f32",
            "--data",
            "good.csv",
        ]),
        1,
        &["heads are 16-bit (the default) or int8", "not f32"],
    );
    // An integer network is made from a float model, once.
    std::fs::copy(golden("int8_int16_1x32x32_k5.mdn"), d.join("int.mdn")).unwrap();
    fails(
        d,
        &["quantize", "int.mdn", "--weights", "f16", "--out", "q.mdn"],
        1,
        &["--weights", "int8-int16, int8-int16, int16-int16"],
    );
}
