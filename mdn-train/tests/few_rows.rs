//! Every command on data files of 0, 1, 2 and 3 rows exits 0 or 1, never 101 (a panic) nor
//! by a signal, and a failure says what is wrong in an `error:` line.
//!
//! `eval` also reads the rows with two more that `--missing drop` leaves out.
//! `predict`, `inspect` and `export` read no CSV file: they run on the model that `train`
//! would have written from those rows (none, since training needs 10), and must name the
//! missing model.

mod common;

use std::path::Path;

use common::{hetero_csv, mdn, text, write};

/// Settings that keep every training run to a fraction of a second in debug builds.
const TINY: [&str; 8] = ["--epochs", "1", "--hidden", "4", "-k", "1", "--noise", "0"];

/// Runs `mdn args` in `dir`: exit 0 when `fails` is empty, else exit 1 with an `error:`
/// line holding every fragment of `fails`.
fn check(dir: &Path, args: &[String], fails: &[String]) {
    let output = mdn(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let (stdout, stderr) = text(&output);
    let code = output.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "{args:?} exited with {code:?} (101 is a panic, none a signal): {stderr}"
    );
    if fails.is_empty() {
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        return;
    }
    assert_eq!(code, Some(1), "{args:?} succeeded: {stdout}");
    assert!(stdout.is_empty(), "{args:?}: stdout: {stdout}");
    let message = stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("{args:?}: no `error:` line in: {stderr}"));
    for fragment in fails {
        assert!(
            message.contains(fragment.as_str()),
            "{args:?}: `{fragment}` not in: {message}"
        );
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| (*s).to_owned()).collect()
}

/// Each command run on `n` data rows, with the fragments of its error (none: success).
fn cases(n: usize) -> Vec<(Vec<String>, Vec<String>)> {
    let data = format!("d{n}.csv");
    let model = format!("m{n}.mdn");
    let count = n.to_string();
    let too_few = |min: usize| {
        let rows = if min == 1 { "row" } else { "rows" };
        vec![format!(
            "{data}: expected at least {min} data {rows}, found {n}"
        )]
    };
    let needs_one = if n == 0 { too_few(1) } else { Vec::new() };
    let cannot_read = vec![format!("{model}: cannot read")];
    let at_least = |min: usize| vec![format!("--n: expected at least {min} row")];
    let train = ["train", "--target", "y", "--data"];
    let baselines = ["baselines", "--target", "y", "--train"];
    let synth = ["data", "synth", "--kind", "invsin", "--out", "s.csv", "--n"];
    let gaps = format!("g{n}.csv");
    let gaps_need_one = if n == 0 {
        vec![format!("{gaps}: expected at least 1 data row, found 0")]
    } else {
        Vec::new()
    };
    let cases: [(Vec<&str>, Vec<String>); 12] = [
        (
            [&train[..], &[&data, "--out", &model], &TINY].concat(),
            too_few(10),
        ),
        (
            [
                &train[..],
                &[
                    "big.csv",
                    "--out",
                    "t.mdn",
                    "--val-fraction",
                    "0.2",
                    "--test",
                    &data,
                ],
                &TINY,
            ]
            .concat(),
            needs_one.clone(),
        ),
        (
            vec![
                "eval",
                "model.mdn",
                "--data",
                &data,
                "--per-sample",
                "s.csv",
            ],
            needs_one.clone(),
        ),
        (
            vec!["eval", "model.mdn", "--data", &gaps, "--missing", "drop"],
            gaps_need_one,
        ),
        (vec!["predict", &model, "--x", "0.5"], cannot_read.clone()),
        (vec!["inspect", &model], cannot_read.clone()),
        (vec!["export", &model], cannot_read),
        (
            [&baselines[..], &[&data, "--test", &data], &TINY].concat(),
            // An empty test file is named first.
            if n == 0 { too_few(1) } else { too_few(10) },
        ),
        (
            [&baselines[..], &["big.csv", "--test", &data], &TINY].concat(),
            needs_one.clone(),
        ),
        (
            vec!["plot", "model.mdn", "--data", &data, "--out", "plots"],
            needs_one,
        ),
        (
            [&synth[..], &[&count]].concat(),
            if n == 0 { at_least(1) } else { Vec::new() },
        ),
        (vec!["demo", "--out", "demo", "--n", &count], at_least(50)),
    ];
    cases
        .into_iter()
        .map(|(args, fails)| (strings(&args), fails))
        .collect()
}

#[test]
fn every_command_on_zero_to_three_rows_exits_0_or_1_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let big = hetero_csv(40, 2);
    write(d, "big.csv", &big);
    let model = [
        "train",
        "--data",
        "big.csv",
        "--target",
        "y",
        "--out",
        "model.mdn",
    ];
    let model = [&model[..], &["--val-fraction", "0.2"], &TINY].concat();
    check(d, &strings(&model), &[]);
    for n in 0..=3 {
        let rows: Vec<&str> = big.lines().take(n + 1).collect();
        write(d, &format!("d{n}.csv"), &(rows.join("\n") + "\n"));
        // The same rows and two that `--missing drop` leaves out.
        write(d, &format!("g{n}.csv"), &(rows.join("\n") + "\nNA,1\n2,\n"));
        for (args, fails) in cases(n) {
            check(d, &args, &fails);
        }
    }
}
