//! `--json` prints exactly one parseable JSON object on stdout, whatever else happens on
//! stderr, and the documented keys are there.

mod common;

use common::{hetero_csv, mdn, text, write};
use serde_json::Value;

/// Runs `mdn` and parses stdout as exactly one JSON object.
fn json(dir: &std::path::Path, args: &[&str]) -> Value {
    let output = mdn(dir, args);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    assert_eq!(stdout.lines().count(), 1, "one line on stdout: {stdout}");
    let value: Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    assert!(value.is_object(), "{value}");
    value
}

#[test]
fn every_command_prints_one_json_object() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let synth = json(
        d,
        &[
            "data",
            "synth",
            "--kind",
            "hetero",
            "--n",
            "120",
            "--seed",
            "3",
            "--out",
            "train.csv",
            "--json",
        ],
    );
    assert_eq!(synth["n"], 120);
    write(d, "test.csv", &hetero_csv(30, 9));

    let trained = json(
        d,
        &[
            "train",
            "--data",
            "train.csv",
            "--target",
            "y",
            "--out",
            "m.mdn",
            "--epochs",
            "3",
            "--hidden",
            "8",
            "-k",
            "2",
            "--ensemble",
            "--json",
        ],
    );
    assert_eq!(trained["epochs"], 3);
    assert_eq!(trained["features"], serde_json::json!(["x"]));
    assert_eq!(trained["config"]["sigma_floor"], 0.001);
    let metrics = std::fs::read_to_string(d.join("m.mdn.metrics.csv")).unwrap();
    assert!(metrics.starts_with("epoch,train_nll,val_nll,seconds\n1,"));

    let eval = json(
        d,
        &[
            "eval",
            "m.mdn",
            "--data",
            "test.csv",
            "--json",
            "--per-sample",
            "s.csv",
        ],
    );
    assert_eq!(eval["n"], 30);
    assert!(eval["nll"].as_f64().unwrap().is_finite());
    assert!(eval["rmse"].as_f64().unwrap() > 0.0);
    let per_sample = std::fs::read_to_string(d.join("s.csv")).unwrap();
    assert!(per_sample.starts_with(
        "line,x,y,log_prob,mean_y,std_y,pit,crps,quantile_05,quantile_50,quantile_95,lower_50,"
    ));
    assert_eq!(per_sample.lines().count(), 31);

    let predict = json(
        d,
        &[
            "predict", "--model", "m.mdn", "--x", "-0.25", "--y", "1", "--json",
        ],
    );
    // K = 2 from every network of the ensemble in the blob.
    let networks = trained["networks"].as_u64().unwrap() as usize;
    assert!(networks >= 5, "{networks} networks");
    assert_eq!(predict["weights"].as_array().unwrap().len(), 2 * networks);
    assert_eq!(predict["means"][0].as_array().unwrap().len(), 1);
    assert_eq!(predict["x"], serde_json::json!([-0.25]));
    assert!(predict["log_prob"].as_f64().is_some());
    assert_eq!(predict["parameter_space"], "original");

    let inspect = json(d, &["inspect", "m.mdn", "--json"]);
    assert_eq!(inspect["components"], 2);
    assert_eq!(inspect["networks"], networks);
    let weights = inspect["network_weights"].as_array().unwrap();
    let total: f64 = weights.iter().map(|w| w.as_f64().unwrap()).sum();
    assert!((total - 1.0).abs() < 1e-4, "{total}");
    assert_eq!(
        inspect["min_capacities"],
        serde_json::json!({"I": 1, "W": 8, "K": 2 * networks, "D": 1})
    );
    assert_eq!(
        inspect["bytes"].as_u64().unwrap(),
        std::fs::metadata(d.join("m.mdn")).unwrap().len()
    );
    // The device cost: the blob's own bytes; the software floats of ARMv6-M cost more.
    let cost = &inspect["device_cost"];
    for core in ["cortex-m4f", "cortex-m0"] {
        assert_eq!(cost[core]["blob_bytes"], inspect["bytes"]);
    }
    let instructions = |core: &str, key: &str| cost[core][key].as_u64().unwrap();
    assert!(
        instructions("cortex-m0", "instructions") > 10 * instructions("cortex-m4f", "instructions")
    );
    assert!(
        instructions("cortex-m4f", "instructions_portable")
            > instructions("cortex-m4f", "instructions")
    );

    let written = json(d, &["export", "m.mdn", "--out", "w.json", "--json"]);
    assert_eq!(
        (&written["out"], &written["format"]),
        (&Value::from("w.json"), &Value::from("json"))
    );
    assert_eq!(
        written["bytes"].as_u64().unwrap(),
        std::fs::metadata(d.join("w.json")).unwrap().len()
    );
    let export = json(d, &["export", "m.mdn", "--format", "json"]);
    let tensors = export["tensors"].as_array().unwrap();
    let names: Vec<&str> = tensors
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    // The shared tensors, then each network's tensors under `members.m.`.
    let network = [
        "hidden.0.weight",
        "hidden.0.bias",
        "head.logits.weight",
        "head.logits.bias",
        "head.means.weight",
        "head.means.bias",
        "head.sigmas.weight",
        "head.sigmas.bias",
    ];
    let mut expected: Vec<String> = [
        "input_scaler.offset",
        "input_scaler.scale",
        "target_scaler.offset",
        "target_scaler.scale",
        "members.log_weight",
        "calibration.sigma_scale",
        "calibration.temperature",
    ]
    .map(String::from)
    .to_vec();
    for m in 0..networks {
        expected.extend(network.iter().map(|t| format!("members.{m}.{t}")));
    }
    assert_eq!(names, expected);
    assert_eq!(tensors[4]["shape"], serde_json::json!([networks]));
    assert_eq!(tensors[5]["shape"], serde_json::json!([1]));
    assert_eq!(tensors[7]["shape"], serde_json::json!([8, 1]));
    let count: usize = tensors
        .iter()
        .map(|t| t["values"].as_array().unwrap().len())
        .sum();
    assert_eq!(count as u64, inspect["parameters"].as_u64().unwrap());

    let baselines = json(
        d,
        &[
            "baselines",
            "--train",
            "train.csv",
            "--test",
            "test.csv",
            "--target",
            "y",
            "--epochs",
            "3",
            "--hidden",
            "8",
            "--json",
        ],
    );
    // Null, linear, MLP, the teacher's ensemble and the student written by default.
    let models = baselines["models"].as_array().unwrap();
    assert_eq!(models.len(), 5);
    assert!(models[4]["name"].as_str().unwrap().contains("student"));
    assert!(
        models
            .iter()
            .all(|m| m["nll"].is_f64() && m["rmse"].is_f64())
    );
}

#[test]
fn exported_json_reproduces_the_blob_parameters_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", &hetero_csv(60, 4));
    let args = [
        "train",
        "--data",
        "train.csv",
        "--target",
        "y",
        "--out",
        "m.mdn",
        "--epochs",
        "2",
    ];
    assert_eq!(mdn(d, &args).status.code(), Some(0));
    let output = mdn(d, &["export", "m.mdn", "--out", "w.json"]);
    assert_eq!(output.status.code(), Some(0));
    let export: Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("w.json")).unwrap()).unwrap();
    let values: Vec<f32> = export["tensors"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| t["values"].as_array().unwrap().clone())
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let bytes =
        mdn_train::aligned::AlignedBytes::from_slice(&std::fs::read(d.join("m.mdn")).unwrap());
    let blob = mdn_core::Blob::from_bytes(&bytes).unwrap();
    let stored: Vec<f32> = blob.parameter_values().collect();
    assert_eq!(
        values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
        stored.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
}

#[test]
fn a_model_without_hidden_layers_trains_from_none_or_an_empty_value() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "train.csv", &hetero_csv(30, 4));
    let train = [
        "train",
        "--data",
        "train.csv",
        "--target",
        "y",
        "--epochs",
        "2",
    ];
    let mut blobs = Vec::new();
    for (hidden, out) in [("", "a.mdn"), ("none", "b.mdn")] {
        let options = [
            "-k",
            "1",
            "--noise",
            "0",
            "--hidden",
            hidden,
            "--out",
            out,
            "--ensemble",
            "--json",
        ];
        let trained = json(d, &[&train[..], &options].concat());
        assert_eq!(trained["config"]["hidden"], serde_json::json!([]));
        let inspect = json(d, &["inspect", out, "--json"]);
        assert_eq!(inspect["hidden"], serde_json::json!([]));
        assert_eq!(inspect["min_capacities"]["W"], 1);
        blobs.push(std::fs::read(d.join(out)).unwrap());
    }
    assert_eq!(blobs[0], blobs[1]);

    // The deployed student takes the same spelling for its own layers.
    let options = [
        "--student-hidden",
        "none",
        "--student-components",
        "1",
        "--out",
        "s.mdn",
        "--json",
    ];
    let args = [&train[..], &options].concat();
    let trained = json(d, &args);
    assert_eq!(trained["student"]["hidden"], serde_json::json!([]));
    let inspect = json(d, &["inspect", "s.mdn", "--json"]);
    assert_eq!(inspect["hidden"], serde_json::json!([]));
    assert_eq!(inspect["networks"], 1);
}
