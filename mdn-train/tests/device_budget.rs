//! `mdn train`'s device budget from the command line: what it writes by default, budget
//! flags against `--ensemble`, and a budget nothing fits, refused before any training.

mod common;

use common::{hetero_csv, listing, mdn, text, write};
use serde_json::Value;

const SMALL: [&str; 6] = ["--epochs", "3", "--hidden", "4", "-k", "2"];

fn train(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let args = [
        &[
            "train", "--data", "d.csv", "--target", "y", "--out", "m.mdn",
        ][..],
        &SMALL,
        extra,
    ]
    .concat();
    mdn(dir, &args)
}

#[test]
fn the_default_writes_one_network_within_the_budget_and_the_teachers_metrics() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", &hetero_csv(60, 1));
    let output = train(dir.path(), &["--json"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["written"], "student");
    assert_eq!(report["networks"], 1);
    assert_eq!(report["student"]["hidden"], serde_json::json!([32, 32]));
    let budget = report["budget"]["max_instructions"].as_u64().unwrap();
    let cost = report["device_cost"]["cortex-m4f"]["instructions"]
        .as_u64()
        .unwrap();
    assert!(cost <= budget, "{cost} > {budget}");
    assert_eq!(
        report["budget"]["max_blob_bytes"],
        report["device_cost"]["cortex-m4f"]["blob_bytes"]
    );
    assert_eq!(report["val_nll"], report["student_val_nll"]);
    assert!(report["teacher_val_nll"].is_f64());
    assert!(
        listing(dir.path()).contains(&"m.mdn.teacher.metrics.csv".to_owned()),
        "{:?}",
        listing(dir.path())
    );
    // The blob is what the report says.
    let blob = std::fs::read(dir.path().join("m.mdn")).unwrap();
    assert_eq!(report["bytes"], blob.len());
}

#[test]
fn budget_flags_with_ensemble_are_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", &hetero_csv(60, 1));
    for flags in [
        &["--max-instructions", "5000"][..],
        &["--max-blob-bytes", "9000"],
        &["--core", "cortex-m0"],
        &["--student-hidden", "16,16"],
        &["--student-components", "3"],
    ] {
        let output = train(dir.path(), &[&["--ensemble"][..], flags].concat());
        let (_, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains("--ensemble"), "{stderr}");
    }
    assert_eq!(listing(dir.path()), ["d.csv"]);
}

#[test]
fn a_budget_nothing_fits_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", &hetero_csv(60, 1));
    let started = std::time::Instant::now();
    for flags in [
        &["--max-instructions", "200"][..],
        &["--max-blob-bytes", "100"],
        &["--core", "cortex-m0", "--max-instructions", "6000"],
        &["--student-hidden", "64,64", "--max-instructions", "6000"],
    ] {
        let output = train(
            dir.path(),
            &[&["--epochs", "3000", "--patience", "3000"][..], flags].concat(),
        );
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(1), "{flags:?}: {stderr}");
        assert!(stdout.is_empty());
        assert!(
            stderr.contains("no student fits the device budget") && stderr.contains("needs"),
            "{stderr}"
        );
    }
    // Nothing trained (3000 epochs would take minutes), nothing written.
    assert!(started.elapsed().as_secs() < 60);
    assert_eq!(listing(dir.path()), ["d.csv"]);
}

#[test]
fn a_larger_budget_or_shape_is_taken_as_given() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "d.csv", &hetero_csv(60, 1));
    let output = train(
        dir.path(),
        &[
            "--student-hidden",
            "8",
            "--student-components",
            "2",
            "--json",
        ],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["student"]["hidden"], serde_json::json!([8]));
    assert_eq!(report["student"]["components"], 2);
    // On a Cortex-M0 the default budget is the default student's cost there.
    let output = train(dir.path(), &["--core", "cortex-m0", "--json"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["budget"]["core"], "cortex-m0");
    assert!(
        report["device_cost"]["cortex-m0"]["instructions"].as_u64()
            <= report["budget"]["max_instructions"].as_u64()
    );
}
