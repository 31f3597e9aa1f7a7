//! `mdn eval` calibration: interval coverage and the PIT histogram on data drawn from a
//! known model are close to nominal, and a deliberately miscalibrated model is caught.
//!
//! Tolerance: with `n` independent rows a calibrated model's coverage of a level `L` has
//! standard error `sqrt(L (1 - L) / n)` and a PIT bin's fraction `sqrt(0.09 / n)`; the
//! tests allow 4 standard errors (a false alarm once in about 16,000 runs per figure, and
//! the seeds are fixed, so the outcome is deterministic anyway).

mod common;
mod sampled;

use common::{mdn, text, write};
use mdn_core::HostModel;
use serde_json::Value;

const ROWS: usize = 4000;

fn eval_json(dir: &std::path::Path, data: &str, extra: &[&str]) -> Value {
    let args = [&["eval", "m.mdn", "--data", data, "--json"][..], extra].concat();
    let output = mdn(dir, &args);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    serde_json::from_str(&stdout).expect("one JSON object")
}

fn four_se(p: f64) -> f64 {
    4.0 * (p * (1.0 - p) / ROWS as f64).sqrt()
}

/// Data from the model, with every sigma scaled by `sigma_scale`, written to `name`.
fn sampled_file(dir: &std::path::Path, name: &str, sigma_scale: f64, seed: u64) {
    let bytes = sampled::doc_bytes();
    let model = HostModel::from_bytes(&bytes).unwrap();
    write(dir, name, &sampled::draw(&model, ROWS, sigma_scale, seed));
}

#[test]
fn data_from_the_model_is_calibrated() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sampled::doc_model(d);
    sampled_file(d, "same.csv", 1.0, 11);
    let e = eval_json(d, "same.csv", &[]);
    for (key, level) in [
        ("coverage_50", 0.5),
        ("coverage_80", 0.8),
        ("coverage_95", 0.95),
    ] {
        let c = e[key].as_f64().unwrap();
        assert!((c - level).abs() <= four_se(level), "{key} = {c}");
    }
    let histogram: Vec<f64> = e["pit_histogram"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(histogram.len(), 10);
    assert!((histogram.iter().sum::<f64>() - 1.0).abs() < 1e-9);
    for (b, f) in histogram.iter().enumerate() {
        assert!((f - 0.1).abs() <= four_se(0.1), "bin {b}: {f}");
    }
}

#[test]
fn an_overconfident_and_an_underconfident_model_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sampled::doc_model(d);
    // The data spread twice as wide as the model says: its intervals are too narrow.
    sampled_file(d, "wide.csv", 2.0, 12);
    let e = eval_json(d, "wide.csv", &[]);
    let c50 = e["coverage_50"].as_f64().unwrap();
    let c95 = e["coverage_95"].as_f64().unwrap();
    assert!(c50 < 0.5 - 5.0 * four_se(0.5), "coverage_50 = {c50}");
    assert!(c95 < 0.95 - 5.0 * four_se(0.95), "coverage_95 = {c95}");
    // Too many observations in the tails: a U-shaped PIT histogram.
    let h = &e["pit_histogram"];
    let (first, last, middle) = (
        h[0].as_f64().unwrap(),
        h[9].as_f64().unwrap(),
        h[5].as_f64().unwrap(),
    );
    assert!(first > 0.15 && last > 0.15 && middle < 0.08, "{h}");

    // Half as wide: the intervals are too generous, the PIT piles up in the middle.
    sampled_file(d, "narrow.csv", 0.5, 13);
    let e = eval_json(d, "narrow.csv", &[]);
    let c50 = e["coverage_50"].as_f64().unwrap();
    assert!(c50 > 0.5 + 5.0 * four_se(0.5), "coverage_50 = {c50}");
    let h = &e["pit_histogram"];
    assert!(
        h[0].as_f64().unwrap() < 0.05 && h[5].as_f64().unwrap() > 0.15,
        "{h}"
    );
}

#[test]
fn per_sample_pit_is_mdn_core_cdf_and_coverage_is_mdn_core_interval() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sampled::doc_model(d);
    let bytes = sampled::doc_bytes();
    let model = HostModel::from_bytes(&bytes).unwrap();
    let n = 300;
    write(d, "d.csv", &sampled::draw(&model, n, 1.3, 5));
    let e = eval_json(d, "d.csv", &["--per-sample", "s.csv"]);

    let rows = std::fs::read_to_string(d.join("s.csv")).unwrap();
    let mut lines = rows.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let at = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let levels = [0.5, 0.8, 0.9, 0.95];
    let mut inside = [0_usize; 4];
    for (line, x) in lines.zip(sampled::inputs(n)) {
        let cells: Vec<&str> = line.split(',').collect();
        let cell = |name: &str| -> f32 { cells[at(name)].parse().unwrap() };
        let y = cell("y");
        assert_eq!(
            cell("pit"),
            model.cdf(&[x], &[y]).unwrap()[0],
            "line {line}"
        );
        assert_eq!(
            cell("quantile_50"),
            model.quantile(&[x], 0.5).unwrap(),
            "line {line}"
        );
        for (count, level) in inside.iter_mut().zip(levels) {
            let interval = model.interval(&[x], level).unwrap();
            let percent = level * 100.0;
            assert_eq!(cell(&format!("lower_{percent:.0}")), interval.lower);
            assert_eq!(cell(&format!("upper_{percent:.0}")), interval.upper);
            *count += usize::from(interval.contains(y));
        }
    }
    for (count, key) in
        inside
            .iter()
            .zip(["coverage_50", "coverage_80", "coverage_90", "coverage_95"])
    {
        assert_eq!(e[key].as_f64().unwrap(), *count as f64 / n as f64, "{key}");
    }
}

#[test]
fn eval_text_reports_calibration() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sampled::doc_model(d);
    sampled_file(d, "d.csv", 1.0, 3);
    let output = mdn(d, &["eval", "m.mdn", "--data", "d.csv"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for expected in [
        "central 50% interval holds",
        "central 80% interval holds",
        "central 95% interval holds",
        "PIT histogram (10 bins",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
}

#[test]
fn several_targets_are_scored_by_their_marginals() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("a,b,u,v\n");
    for i in 0..60 {
        let t = i as f32 / 60.0;
        csv += &format!(
            "{t},{},{},{}\n",
            1.0 - t,
            2.0 * t + 0.1 * (i % 7) as f32,
            (i % 5) as f32
        );
    }
    write(d, "multi.csv", &csv);
    let trained = mdn(
        d,
        &[
            "train",
            "--data",
            "multi.csv",
            "--target",
            "u,v",
            "--out",
            "m.mdn",
            "--epochs",
            "2",
            "--hidden",
            "4",
            "-k",
            "2",
        ],
    );
    assert_eq!(trained.status.code(), Some(0), "{}", text(&trained).1);
    let e = eval_json(d, "multi.csv", &["--per-sample", "s.csv"]);
    let histogram = e["pit_histogram"].as_array().unwrap();
    assert!((histogram.iter().map(|v| v.as_f64().unwrap()).sum::<f64>() - 1.0).abs() < 1e-9);
    assert!(e["coverage_80"].as_f64().is_some());
    let rows = std::fs::read_to_string(d.join("s.csv")).unwrap();
    let header = rows.lines().next().unwrap();
    assert!(
        header.contains(",pit_u,crps_u,quantile_05_u,")
            && header.ends_with(",lower_95_v,upper_95_v"),
        "{header}"
    );
    // Each figure per target too, beside the pooled one.
    for key in [
        "coverage_80",
        "pit_ks",
        "interval_score_95",
        "pinball_50",
        "sharpness_80",
    ] {
        let per_target = e[format!("{key}_per_target")].as_array().unwrap();
        assert_eq!(per_target.len(), 2, "{key}");
        assert!(per_target.iter().all(|v| v.as_f64().is_some()), "{key}");
    }
}
