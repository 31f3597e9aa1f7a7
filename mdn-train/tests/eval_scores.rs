//! `mdn eval`'s interval and quantile scores agree with an independent computation from
//! its own `--per-sample` output: the committed demo student scored on the shipped
//! synth_invsin test file, every figure recomputed here in f64 from the CSV's columns
//! (the observed value, the PIT, the quantiles and the interval bounds) with the textbook
//! formulas, not with mdn-train's code.

mod common;

use std::path::{Path, PathBuf};

use common::{mdn, text};
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Column `name` of every row of the per-sample CSV, as the f32 values it prints.
fn column(csv: &str, name: &str) -> Vec<f64> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let i = header.iter().position(|h| *h == name).unwrap();
    lines
        .map(|l| f64::from(l.split(',').nth(i).unwrap().parse::<f32>().unwrap()))
        .collect()
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (sum, n) = v.fold((0.0, 0.0), |(s, n), x| (s + x, n + 1.0));
    sum / n
}

fn close(name: &str, reported: &Value, expected: f64) {
    let reported = reported
        .as_f64()
        .unwrap_or_else(|| panic!("{name}: {reported}"));
    assert!(
        (reported - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{name}: reported {reported}, recomputed {expected}"
    );
}

#[test]
fn scores_agree_with_a_recomputation_from_the_per_sample_csv() {
    let dir = tempfile::tempdir().unwrap();
    let root = workspace();
    let model = root.join("firmware-example/models/demo_student_invsin.mdn");
    let data = root.join("data/synth_invsin_test.csv");
    let csv_path = dir.path().join("s.csv");
    let output = mdn(
        dir.path(),
        &[
            "eval",
            model.to_str().unwrap(),
            "--data",
            data.to_str().unwrap(),
            "--json",
            "--per-sample",
            csv_path.to_str().unwrap(),
        ],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let csv = std::fs::read_to_string(&csv_path).unwrap();

    let y = column(&csv, "y");
    let n = y.len() as f64;
    assert_eq!(json["n"], 800);
    for level in [50, 80, 90, 95] {
        let (l, u) = (
            column(&csv, &format!("lower_{level}")),
            column(&csv, &format!("upper_{level}")),
        );
        let inside = (0..y.len())
            .filter(|&i| l[i] <= y[i] && y[i] <= u[i])
            .count();
        close(
            &format!("coverage_{level}"),
            &json[format!("coverage_{level}")],
            inside as f64 / n,
        );
        if level == 80 || level == 95 {
            let alpha = 1.0 - f64::from(level) / 100.0;
            let winkler = mean((0..y.len()).map(|i| {
                (u[i] - l[i]) + 2.0 / alpha * ((l[i] - y[i]).max(0.0) + (y[i] - u[i]).max(0.0))
            }));
            close(
                &format!("interval_score_{level}"),
                &json[format!("interval_score_{level}")],
                winkler,
            );
        }
        if level == 80 {
            close(
                "sharpness_80",
                &json["sharpness_80"],
                mean((0..y.len()).map(|i| u[i] - l[i])),
            );
        }
    }

    let pinball = |q: f64, t: &[f64]| {
        mean((0..y.len()).map(|i| {
            let below = if y[i] < t[i] { 1.0 } else { 0.0 };
            (y[i] - t[i]) * (q - below)
        }))
    };
    close(
        "pinball_05",
        &json["pinball_05"],
        pinball(0.05, &column(&csv, "quantile_05")),
    );
    close(
        "pinball_50",
        &json["pinball_50"],
        pinball(0.5, &column(&csv, "quantile_50")),
    );
    close(
        "pinball_95",
        &json["pinball_95"],
        pinball(0.95, &column(&csv, "quantile_95")),
    );

    // The mean of the rows' CRPS. Each row's value is mdn-core's `Mixture::crps`, whose
    // independent check is mdn-core/tests/crps_reference.rs (scoringrules and quadrature);
    // a score is never negative.
    let crps = column(&csv, "crps");
    assert!(crps.iter().all(|&c| c >= 0.0));
    close("crps", &json["crps"], mean(crps.iter().copied()));

    // Kolmogorov-Smirnov distance of the PIT values from U(0, 1).
    let mut pit = column(&csv, "pit");
    pit.sort_by(f64::total_cmp);
    let ks = pit
        .iter()
        .enumerate()
        .map(|(i, &u)| ((i as f64 + 1.0) / n - u).max(u - i as f64 / n))
        .fold(0.0, f64::max);
    close("pit_ks", &json["pit_ks"], ks);
    // A calibrated model: well within the 5 % critical value 1.36 / sqrt(n).
    assert!(ks < 1.36 / n.sqrt(), "{ks}");

    // One network of K = 5 components, weights within it adding up to 1.
    let weights = json["component_weights"].as_array().unwrap();
    assert_eq!(weights.len(), 1);
    let total: f64 = weights[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_f64().unwrap())
        .sum();
    assert_eq!(weights[0].as_array().unwrap().len(), 5);
    assert!((total - 1.0).abs() < 1e-9, "{total}");
}
