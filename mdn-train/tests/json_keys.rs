//! The JSON keys of every command, listed: outside tools read them, so a change to this list
//! is a deliberate change to the command line's interface, never a side effect of a
//! refactoring.
//!
//! Each list holds every key path of one command's output: `a.b` is key `b` inside the
//! object under `a`, `a[]` the elements of the array under `a`. Data-dependent names are
//! fixed by the inputs (feature `x`, target `y`; the golden two-target model).

mod common;

use std::{collections::BTreeSet, path::Path};

use common::{hetero_csv, mdn, text, write};
use serde_json::Value;

/// Every key path of `value` below `prefix`.
fn key_paths(value: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                let path = if prefix.is_empty() {
                    key.clone()
                } else {
                    format!("{prefix}.{key}")
                };
                out.insert(path.clone());
                key_paths(v, &path, out);
            }
        }
        Value::Array(items) => {
            for item in items {
                key_paths(item, &format!("{prefix}[]"), out);
            }
        }
        _ => {}
    }
}

/// Runs `mdn args --json` in `dir` and checks that its key paths are `expected`.
fn keys(dir: &Path, args: &[&str], expected: &[&str]) {
    let output = mdn(dir, &[args, &["--json"]].concat());
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    let value: Value = serde_json::from_str(&stdout).expect("stdout is JSON");
    let mut found = BTreeSet::new();
    key_paths(&value, "", &mut found);
    let expected: BTreeSet<String> = expected.iter().map(|k| (*k).to_owned()).collect();
    assert!(
        found == expected,
        "{args:?}\nadded: {:?}\nmissing: {:?}",
        found.difference(&expected).collect::<Vec<_>>(),
        expected.difference(&found).collect::<Vec<_>>()
    );
}

/// The golden model with two targets and a log transform (features `load`, `speed`).
fn golden_two_targets() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/golden/ensemble_m2_k3_log_d2.mdn")
}

/// The predicted device cost of a blob, in `train` and `inspect`.
const DEVICE_COST: &[&str] = &[
    "device_cost",
    "device_cost.cortex-m0",
    "device_cost.cortex-m0.blob_bytes",
    "device_cost.cortex-m0.instructions",
    "device_cost.cortex-m0.ram_bytes",
    "device_cost.cortex-m4f",
    "device_cost.cortex-m4f.blob_bytes",
    "device_cost.cortex-m4f.instructions",
    "device_cost.cortex-m4f.instructions_portable",
    "device_cost.cortex-m4f.ram_bytes",
];

const TRAIN: &[&str] = &[
    "budget",
    "bytes",
    "best_epoch",
    "calibration",
    "calibration.decision",
    "candidates",
    "candidates[].components",
    "candidates[].noise",
    "candidates[].val_nll",
    "candidates[].weight",
    "config",
    "config.activation",
    "config.batch",
    "config.components",
    "config.drop_patience",
    "config.epochs",
    "config.folds",
    "config.hidden",
    "config.jobs",
    "config.lr",
    "config.lr_drop_factor",
    "config.lr_drops",
    "config.lr_patience",
    "config.noise",
    "config.patience",
    "config.scale_x",
    "config.scale_y",
    "config.seed",
    "config.sigma",
    "config.sigma_floor",
    "config.val_fraction",
    "config.weight_decay",
    "epochs",
    "features",
    "metrics",
    "model",
    "networks",
    "parameters",
    "rows",
    "seconds",
    "stopped_early",
    "storage",
    "student",
    "student_val_nll",
    "targets",
    "teacher_metrics",
    "teacher_val_nll",
    "test",
    "train_nll",
    "train_rows",
    "val_nll",
    "val_rows",
    "written",
];

/// The default `mdn train`: the budget and the student written within it.
const TRAIN_STUDENT: &[&str] = &[
    "budget.core",
    "budget.max_blob_bytes",
    "budget.max_instructions",
    "student.components",
    "student.hidden",
];

const TRAIN_TEST: &[&str] = &["test.data", "test.n", "test.nll", "test.rmse"];

/// `mdn train --val-fraction`: the calibration was fitted on the held-out rows.
const TRAIN_CALIBRATION: &[&str] = &[
    "calibration.gain_standard_error",
    "calibration.nll_after",
    "calibration.nll_before",
    "calibration.rows",
    "calibration.sigma_scale",
    "calibration.temperature",
    "calibration.temperature_rows",
];

const QUANTIZE: &[&str] = &[
    "bytes_after",
    "bytes_before",
    "model",
    "out",
    "score",
    "storage_after",
    "storage_before",
];

const QUANTIZE_SCORE: &[&str] = &[
    "score.data",
    "score.n",
    "score.nll_after",
    "score.nll_before",
];

const CALIBRATE: &[&str] = &[
    "data",
    "gain_standard_error",
    "model",
    "nll_after",
    "nll_before",
    "out",
    "rows",
    "sigma_scale",
    "temperature",
    "temperature_rows",
    "written",
];

const UPGRADE: &[&str] = &["bytes", "from_version", "model", "out", "to_version"];

const EVAL: &[&str] = &[
    "component_weights",
    "coverage_50",
    "coverage_80",
    "coverage_90",
    "coverage_95",
    "crps",
    "data",
    "interval_score_80",
    "interval_score_95",
    "model",
    "n",
    "nll",
    "per_sample",
    "pinball_05",
    "pinball_50",
    "pinball_95",
    "pit_histogram",
    "pit_ks",
    "rmse",
    "rmse_per_target",
    "sharpness_80",
    "targets",
];

const PREDICT: &[&str] = &[
    "features",
    "mean",
    "means",
    "parameter_space",
    "sigmas",
    "std",
    "targets",
    "weights",
    "x",
];

const PREDICT_Y: &[&str] = &["log_prob", "y"];

/// The CDF at `--y`: one target only.
const PREDICT_CDF: &[&str] = &["cdf"];

const PREDICT_ONE_TARGET: &[&str] = &[
    "entropy",
    "intervals",
    "intervals.0.5",
    "intervals.0.8",
    "intervals.0.9",
    "intervals.0.95",
    "modes",
    "modes[].density",
    "modes[].y",
    "quantiles",
    "quantiles.0.05",
    "quantiles.0.25",
    "quantiles.0.5",
    "quantiles.0.75",
    "quantiles.0.95",
];

const INSPECT: &[&str] = &[
    "activation",
    "bytes",
    "calibration",
    "calibration.sigma_scale",
    "calibration.temperature",
    "components",
    "crc32",
    "features",
    "format_version",
    "hidden",
    "input_scaler",
    "input_scaler[].name",
    "input_scaler[].offset",
    "input_scaler[].scale",
    "inputs",
    "min_capacities",
    "min_capacities.D",
    "min_capacities.I",
    "min_capacities.K",
    "min_capacities.W",
    "model",
    "network_weights",
    "networks",
    "outputs",
    "parameters",
    "sigma",
    "sigma_floor",
    "storage",
    "target_scaler",
    "target_scaler[].name",
    "target_scaler[].offset",
    "target_scaler[].scale",
    "target_transform",
    "targets",
];

const EXPORT_WRITTEN: &[&str] = &["bytes", "format", "model", "out"];

const EXPORT_WEIGHTS: &[&str] = &[
    "crc32",
    "format",
    "format_version",
    "header",
    "header.activation",
    "header.components",
    "header.feature_names",
    "header.hidden",
    "header.input_dim",
    "header.members",
    "header.output_dim",
    "header.sigma",
    "header.sigma_floor",
    "header.storage",
    "header.target_names",
    "header.target_transform",
    "layout",
    "model",
    "parameter_count",
    "tensors",
    "tensors[].name",
    "tensors[].offset",
    "tensors[].shape",
    "tensors[].values",
];

const BASELINES: &[&str] = &[
    "models",
    "models[].name",
    "models[].nll",
    "models[].rmse",
    "n",
    "test",
    "train",
    "units",
];

const PLOT: &[&str] = &[
    "data", "feature", "files", "held", "model", "out", "skipped", "target",
];

const PLOT_SKIPPED: &[&str] = &["skipped[].plot", "skipped[].reason"];

const SYNTH: &[&str] = &["kind", "n", "out", "seed"];

const DEMO: &[&str] = &[
    "best_epoch",
    "epochs",
    "metrics",
    "model",
    "models",
    "models[].name",
    "models[].nll",
    "models[].rmse",
    "n_test",
    "n_train",
    "out",
    "parity_max_abs_diff",
    "plots",
    "seconds",
    "test",
    "train",
];

#[test]
fn every_commands_json_keys_are_the_listed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keys(
        d,
        &[
            "data",
            "synth",
            "--kind",
            "hetero",
            "--n",
            "40",
            "--out",
            "train.csv",
        ],
        SYNTH,
    );
    write(d, "test.csv", &hetero_csv(12, 9));
    let train = [
        "train",
        "--data",
        "train.csv",
        "--target",
        "y",
        "--out",
        "m.mdn",
        "--epochs",
        "2",
        "--hidden",
        "4",
        "-k",
        "2",
    ];
    keys(
        d,
        &[&train[..], &["--ensemble"]].concat(),
        &[TRAIN, DEVICE_COST].concat(),
    );
    keys(d, &train, &[TRAIN, DEVICE_COST, TRAIN_STUDENT].concat());
    keys(
        d,
        &[&train[..], &["--test", "test.csv"]].concat(),
        &[TRAIN, DEVICE_COST, TRAIN_STUDENT, TRAIN_TEST].concat(),
    );
    keys(
        d,
        &[&train[..], &["--val-fraction", "0.25", "--weights", "int8"]].concat(),
        &[TRAIN, DEVICE_COST, TRAIN_STUDENT, TRAIN_CALIBRATION].concat(),
    );
    keys(d, &["eval", "m.mdn", "--data", "test.csv"], EVAL);
    keys(
        d,
        &["quantize", "m.mdn", "--weights", "f16", "--out", "q.mdn"],
        QUANTIZE,
    );
    keys(
        d,
        &[
            "quantize",
            "m.mdn",
            "--weights",
            "int8",
            "--out",
            "q.mdn",
            "--data",
            "test.csv",
        ],
        &[QUANTIZE, QUANTIZE_SCORE].concat(),
    );
    keys(
        d,
        &[
            "quantize",
            "m.mdn",
            "--weights",
            "int8",
            "--activations",
            "int16",
            "--out",
            "i.mdn",
            "--data",
            "test.csv",
        ],
        &[QUANTIZE, QUANTIZE_SCORE].concat(),
    );
    keys(
        d,
        &["calibrate", "m.mdn", "--data", "test.csv", "--out", "c.mdn"],
        CALIBRATE,
    );
    write_version_3(d, "old.mdn");
    keys(d, &["upgrade", "old.mdn", "--out", "new.mdn"], UPGRADE);
    keys(
        d,
        &["predict", "m.mdn", "--x", "0.5"],
        &[PREDICT, PREDICT_ONE_TARGET].concat(),
    );
    keys(
        d,
        &["predict", "m.mdn", "--x", "0.5", "--y", "2"],
        &[PREDICT, PREDICT_Y, PREDICT_CDF, PREDICT_ONE_TARGET].concat(),
    );
    let two = golden_two_targets();
    let two = two.to_str().unwrap();
    keys(
        d,
        &["predict", two, "--x", "1,2", "--y", "1,2"],
        &[PREDICT, PREDICT_Y].concat(),
    );
    keys(d, &["inspect", "m.mdn"], &[INSPECT, DEVICE_COST].concat());
    keys(d, &["export", "m.mdn", "--out", "w.json"], EXPORT_WRITTEN);
    keys(d, &["export", "m.mdn"], EXPORT_WEIGHTS);
    keys(
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
            "2",
            "--hidden",
            "4",
            "-k",
            "1",
        ],
        BASELINES,
    );
    keys(
        d,
        &["plot", "m.mdn", "--data", "test.csv", "--out", "plots"],
        PLOT,
    );
    keys(
        d,
        &[
            "plot",
            "m.mdn",
            "--out",
            "plots",
            "--metrics",
            "m.mdn.metrics.csv",
        ],
        &[PLOT, PLOT_SKIPPED].concat(),
    );
    keys(
        d,
        &[
            "demo", "--out", "demo", "--n", "50", "--epochs", "2", "--hidden", "4", "-k", "1",
            "--noise", "0",
        ],
        DEMO,
    );
}

/// The golden tiny model of mdn-core's error tests as format version 3 wrote it (the
/// version-4 blob without its storage codes and calibration), into `dir/name`.
fn write_version_3(dir: &Path, name: &str) {
    // 1 input, no hidden layer, K = 1, exp sigma: prefix, header, padding, the 16 words of
    // FORMAT.md version 3 section 3.1, CRC.
    let header: &[u8] = &[1, 1, 1, 1, 0, 0, 2, 0, 0, 0, 0, 0, 1, b'x', 2, b'y', b'0'];
    let mut bytes = mdn_core::MAGIC.to_vec();
    bytes.extend_from_slice(&3_u16.to_le_bytes());
    bytes.extend_from_slice(&96_u32.to_le_bytes());
    bytes.extend_from_slice(header);
    bytes.push(0);
    let words: [f32; 16] = [
        0.0, 1.0, 0.0, 1.0, 0.0, 0.25, 0.25, 0.25, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.25, 0.25,
    ];
    for w in words {
        bytes.extend_from_slice(&w.to_le_bytes());
    }
    let crc = mdn_core::crc32(&bytes);
    bytes.extend_from_slice(&crc.to_le_bytes());
    assert_eq!(bytes.len(), 96);
    std::fs::write(dir.join(name), bytes).unwrap();
}
