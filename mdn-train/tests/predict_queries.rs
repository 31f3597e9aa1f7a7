//! `mdn predict` reports mdn-core's modes, quantiles, intervals and entropy, bit for bit.

mod common;
mod sampled;

use common::{mdn, text, write};
use mdn_core::HostModel;
use serde_json::Value;

fn predict_json(dir: &std::path::Path, x: &str) -> Value {
    let output = mdn(dir, &["predict", "m.mdn", "--x", x, "--json"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    serde_json::from_str(&stdout).expect("one JSON object")
}

/// A JSON number as the `f32` it was printed from (the shortest round-trip form).
fn f32_of(v: &Value) -> f32 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) as f32
}

/// Every object key anywhere in `v`.
fn keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                keys(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
        _ => {}
    }
}

#[test]
fn predict_json_is_mdn_core_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    sampled::doc_model(dir.path());
    let bytes = sampled::doc_bytes();
    let model = HostModel::from_bytes(&bytes).unwrap();
    for x in [-1.5_f32, -0.3, 0.0, 0.7, 2.0] {
        let p = predict_json(dir.path(), &x.to_string());

        let modes = model.modes(&[x]).unwrap();
        let json_modes = p["modes"].as_array().unwrap();
        assert_eq!(json_modes.len(), modes.len(), "x = {x}");
        for (j, m) in json_modes.iter().zip(modes.iter()) {
            assert_eq!(j.as_object().unwrap().len(), 2, "{j}");
            assert_eq!(f32_of(&j["y"]), m.location);
            assert_eq!(f32_of(&j["density"]), m.density);
        }

        let quantiles = p["quantiles"].as_object().unwrap();
        assert_eq!(
            quantiles.keys().collect::<Vec<_>>(),
            ["0.05", "0.25", "0.5", "0.75", "0.95"]
        );
        for (key, q) in quantiles {
            let level: f32 = key.parse().unwrap();
            assert_eq!(f32_of(q), model.quantile(&[x], level).unwrap(), "q {key}");
        }

        let intervals = p["intervals"].as_object().unwrap();
        assert_eq!(
            intervals.keys().collect::<Vec<_>>(),
            ["0.5", "0.8", "0.9", "0.95"]
        );
        for (key, pair) in intervals {
            let i = model.interval(&[x], key.parse().unwrap()).unwrap();
            assert_eq!(f32_of(&pair[0]), i.lower, "interval {key}");
            assert_eq!(f32_of(&pair[1]), i.upper, "interval {key}");
        }

        assert_eq!(f32_of(&p["entropy"]), model.entropy(&[x]).unwrap());

        let mut all = Vec::new();
        keys(&p, &mut all);
        let with_mode: Vec<&String> = all.iter().filter(|k| k.contains("mode")).collect();
        assert_eq!(with_mode, ["modes"], "keys containing `mode`");
    }
}

#[test]
fn predict_text_shows_the_queries() {
    let dir = tempfile::tempdir().unwrap();
    sampled::doc_model(dir.path());
    let output = mdn(dir.path(), &["predict", "m.mdn", "--x", "0.3"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for expected in [
        "modes ",
        "highest",
        "quantiles ",
        "central 50% interval [",
        "central 95% interval [",
        "entropy ",
    ] {
        assert!(stdout.contains(expected), "{expected}: {stdout}");
    }
}

#[test]
fn several_targets_leave_the_univariate_queries_out() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("x,u,v\n");
    for i in 0..40 {
        let t = i as f32 / 40.0;
        csv += &format!(
            "{t},{},{}\n",
            3.0 * t + 0.1 * (i % 3) as f32,
            (i % 4) as f32
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
    let p = predict_json(d, "0.5");
    for key in ["modes", "quantiles", "intervals", "entropy"] {
        assert!(p.get(key).is_none(), "{key} in {p}");
    }
    assert_eq!(p["mean"].as_array().unwrap().len(), 2);
    let output = mdn(d, &["predict", "m.mdn", "--x", "0.5"]);
    assert!(text(&output).0.contains("for models with one target"));
}

#[test]
fn predict_reports_the_cdf_at_y_for_one_target_and_null_for_a_log_density_of_minus_infinity() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sampled::doc_model(d);
    let bytes = sampled::doc_bytes();
    let model = HostModel::from_bytes(&bytes).unwrap();
    for (x, y) in [(-1.5_f32, -2.0_f32), (0.7, 0.1), (2.0, 3.5)] {
        let (xs, ys) = (x.to_string(), y.to_string());
        let output = mdn(d, &["predict", "m.mdn", "--x", &xs, "--y", &ys, "--json"]);
        let p: Value = serde_json::from_str(&text(&output).0).unwrap();
        let cdf = model.mixture(&[x]).unwrap().cdf(&[y]).unwrap()[0];
        assert_eq!(f32_of(&p["cdf"]), cdf, "x = {x}, y = {y}");
        let output = mdn(d, &["predict", "m.mdn", "--x", &xs, "--y", &ys]);
        let expected = format!("F(y|x) = P(Y <= y | x) = {cdf:.6}\n");
        assert!(text(&output).0.ends_with(&expected), "{}", text(&output).0);
    }
    // A log target gives y <= 0 density zero: `log_prob` is null and the CDF 0; with two
    // targets (the golden model: energy, heat) there is no `cdf` key.
    let data: String = std::iter::once("x,y\n".to_owned())
        .chain((1..=30).map(|i| format!("{},{}\n", i % 7, 1 + i % 5)))
        .collect();
    write(d, "positive.csv", &data);
    let args = [
        "train",
        "--data",
        "positive.csv",
        "--target",
        "y",
        "--scale-y",
        "log",
        "--out",
        "log.mdn",
        "--epochs",
        "2",
        "--hidden",
        "4",
        "-k",
        "1",
        "--noise",
        "0",
    ];
    assert_eq!(mdn(d, &args).status.code(), Some(0));
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/golden/ensemble_m2_k3_log_d2.mdn");
    for (model, x, y, cdf) in [
        ("log.mdn", "2", "-1", Some(0.0)),
        (golden.to_str().unwrap(), "1,2", "-1,2", None),
    ] {
        let output = mdn(d, &["predict", model, "--x", x, "--y", y, "--json"]);
        let (stdout, stderr) = text(&output);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        let p: Value = serde_json::from_str(&stdout).unwrap();
        assert!(p["log_prob"].is_null(), "{p}");
        assert_eq!(p.get("cdf").and_then(Value::as_f64), cdf, "{p}");
    }
}
