//! `mdn plot` writes every figure as a valid PNG and SVG, needs no installed font, and
//! refuses bad input with exit 1 (data) or 2 (usage), a clear message, and nothing written.

mod common;
mod sampled;

use std::path::Path;

use common::{listing, mdn, text, write};
use mdn_core::HostModel;
use serde_json::Value;

const METRICS: &str = "epoch,train_nll,val_nll,seconds\n1,2.5,2.6,0.1\n2,2.0,2.2,0.1\n3,1.8,2.1,0.1\n4,1.7,2.15,0.1\n";

/// A model, 200 rows of data drawn from it, and its metrics file.
fn setup(dir: &Path) {
    sampled::doc_model(dir);
    let bytes = sampled::doc_bytes();
    let model = HostModel::from_bytes(&bytes).unwrap();
    write(dir, "d.csv", &sampled::draw(&model, 200, 1.0, 7));
    write(dir, "m.mdn.metrics.csv", METRICS);
}

fn run_ok(dir: &Path, args: &[&str]) -> Value {
    let output = mdn(dir, &[args, &["--json"]].concat());
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{args:?}: {stderr}");
    serde_json::from_str(&stdout).expect("one JSON object")
}

/// Checks `<dir>/<name>.png` decodes with the `png` crate to a non-blank image and
/// `<dir>/<name>.svg` parses as XML with an `svg` root holding text.
fn check_figure(dir: &Path, name: &str) {
    let bytes = std::fs::read(dir.join(format!("{name}.png"))).unwrap();
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "{name}.png magic");
    let mut reader = png::Decoder::new(std::io::Cursor::new(&bytes[..]))
        .read_info()
        .unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert!(info.width >= 800 && info.height >= 500, "{name}: {info:?}");
    let pixels = &pixels[..info.buffer_size()];
    let dark = pixels
        .chunks(3)
        .filter(|p| p.iter().all(|&c| c < 100))
        .count();
    assert!(
        dark > 500,
        "{name}.png has text and axes ({dark} dark pixels)"
    );

    let svg = std::fs::read_to_string(dir.join(format!("{name}.svg"))).unwrap();
    assert!(svg.starts_with("<svg"), "{name}.svg");
    let doc = roxmltree::Document::parse(&svg).unwrap_or_else(|e| panic!("{name}.svg: {e}"));
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts = doc.descendants().filter(|n| n.has_tag_name("text")).count();
    assert!(texts >= 5, "{name}.svg has {texts} text elements");
}

#[test]
fn every_figure_is_a_valid_png_and_svg() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let v = run_ok(
        d,
        &[
            "plot", "--model", "m.mdn", "--data", "d.csv", "--out", "figs", "--at", "-1,0.5",
            "--rows", "1,200",
        ],
    );
    let expected = [
        "calibration.png",
        "calibration.svg",
        "density.png",
        "density.svg",
        "slices.png",
        "slices.svg",
        "training.png",
        "training.svg",
    ];
    assert_eq!(listing(&d.join("figs")), expected);
    assert_eq!(v["files"].as_array().unwrap().len(), 8);
    assert_eq!(v["skipped"], serde_json::json!([]));
    for name in ["density", "slices", "training", "calibration"] {
        check_figure(&d.join("figs"), name);
    }
    // The slices name the rows and the observed values.
    let slices = std::fs::read_to_string(d.join("figs/slices.svg")).unwrap();
    assert!(slices.contains("row 200"), "row label");
    assert!(slices.contains("x = 0.5"), "--at label");
}

#[test]
fn without_data_or_metrics_the_rest_is_drawn_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    sampled::doc_model(d);
    let output = mdn(d, &["plot", "m.mdn", "--out", "figs"]);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("no training plot: no metrics file"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no calibration plot: needs --data"),
        "{stderr}"
    );
    assert!(stdout.contains("wrote figs/density.png"), "{stdout}");
    assert_eq!(
        listing(&d.join("figs")),
        ["density.png", "density.svg", "slices.png", "slices.svg"]
    );
    check_figure(&d.join("figs"), "density");
    check_figure(&d.join("figs"), "slices");
}

#[test]
fn plots_need_no_installed_font() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let normal = mdn(d, &["plot", "m.mdn", "--data", "d.csv", "--out", "a"]);
    assert_eq!(normal.status.code(), Some(0));
    let fontless = std::process::Command::new(env!("CARGO_BIN_EXE_mdn"))
        .args(["plot", "m.mdn", "--data", "d.csv", "--out", "b"])
        .current_dir(d)
        .env("FONTCONFIG_FILE", "/dev/null")
        .env("FONTCONFIG_PATH", "/nonexistent")
        .env("XDG_DATA_DIRS", "/nonexistent")
        .output()
        .unwrap();
    assert_eq!(fontless.status.code(), Some(0), "{}", text(&fontless).1);
    for file in listing(&d.join("a")) {
        let a = std::fs::read(d.join("a").join(&file)).unwrap();
        let b = std::fs::read(d.join("b").join(&file)).unwrap();
        assert!(a == b, "{file} differs without fontconfig");
    }
}

#[test]
fn several_features_vary_one_and_hold_the_others_at_their_medians() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut csv = String::from("a,b,y\n");
    for i in 0..50 {
        let t = i as f32;
        csv += &format!("{t},{},{}\n", 100.0 + 2.0 * t, 0.5 * t + (i % 3) as f32);
    }
    write(d, "two.csv", &csv);
    let trained = mdn(
        d,
        &[
            "train", "--data", "two.csv", "--target", "y", "--out", "m.mdn", "--epochs", "3",
            "--hidden", "4", "-k", "2",
        ],
    );
    assert_eq!(trained.status.code(), Some(0), "{}", text(&trained).1);
    let v = run_ok(
        d,
        &[
            "plot",
            "m.mdn",
            "--data",
            "two.csv",
            "--feature",
            "b",
            "--out",
            "figs",
            "--rows",
            "3",
        ],
    );
    assert_eq!(v["feature"], "b");
    // The median of a = 0, 1, .., 49 is 24.5.
    assert_eq!(v["held"], serde_json::json!({ "a": 24.5 }));
    let density = std::fs::read_to_string(d.join("figs/density.svg")).unwrap();
    assert!(density.contains("other features at the medians of the data: a = 24.5"));
    for name in ["density", "slices", "training", "calibration"] {
        check_figure(&d.join("figs"), name);
    }
    // Without data, the others sit in the middle of the input scaler's range.
    let v = run_ok(d, &["plot", "m.mdn", "--out", "nodata"]);
    assert_eq!(v["feature"], "a");
    assert_eq!(v["held"]["b"], 149.0);
}

/// Runs `mdn` expecting `code`, every `needles` in stderr, empty stdout and no `figs`.
fn refused(dir: &Path, args: &[&str], code: i32, needles: &[&str]) {
    let output = mdn(dir, args);
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
    assert!(stdout.is_empty(), "{args:?}: stdout {stdout}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: `{needle}` not in {stderr}"
        );
    }
    assert!(
        !dir.join("figs").exists(),
        "{args:?} wrote {:?}",
        listing(&dir.join("figs"))
    );
}

#[test]
fn bad_input_is_refused_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    setup(d);
    let plot = |extra: &[&str]| -> Vec<String> {
        [&["plot", "m.mdn", "--out", "figs"][..], extra]
            .concat()
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    let check = |extra: &[&str], code: i32, needles: &[&str]| {
        let args = plot(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        refused(d, &args, code, needles);
    };

    // The model.
    refused(
        d,
        &["plot", "nope.mdn", "--out", "figs"],
        1,
        &["nope.mdn", "cannot read"],
    );
    write(d, "junk.mdn", "not a model");
    refused(
        d,
        &["plot", "junk.mdn", "--out", "figs"],
        1,
        &["junk.mdn", "not a valid model"],
    );
    refused(d, &["plot", "--out", "figs"], 2, &["MODEL"]);
    refused(d, &["plot", "m.mdn"], 2, &["--out"]);

    // --at and --rows.
    check(
        &["--at", "abc"],
        2,
        &["--at", "expected a number, found `abc`"],
    );
    check(&["--at", "1,nan"], 2, &["--at", "finite"]);
    check(&["--rows", "1"], 2, &["--data"]);
    check(
        &["--data", "d.csv", "--rows", "0"],
        2,
        &["--rows", "1-based"],
    );
    check(&["--data", "d.csv", "--rows", "x"], 2, &["--rows"]);
    check(
        &["--data", "d.csv", "--rows", "5,201"],
        1,
        &["--rows", "from 1 to 200", "found 201"],
    );

    // Names.
    check(&["--feature", "z"], 1, &["--feature", "`z`", "x"]);
    check(&["--target", "z"], 1, &["--target", "`z`", "y"]);

    // The data.
    check(
        &["--data", "missing.csv"],
        1,
        &["missing.csv", "cannot read"],
    );
    write(d, "bad.csv", "x,y\n0.1,0.2\n0.3,abc\n");
    check(
        &["--data", "bad.csv"],
        1,
        &["bad.csv, line 3, column 2 `y`", "abc"],
    );
    write(d, "other.csv", "a,b\n1,2\n");
    check(
        &["--data", "other.csv"],
        1,
        &["other.csv, line 1", "a column named `y`"],
    );

    // The metrics: an explicit file must exist and parse.
    check(&["--metrics", "none.csv"], 1, &["none.csv", "cannot read"]);
    write(
        d,
        "broken.csv",
        "epoch,train_nll,val_nll\n1,2.5,2.6\n2,oops,2.4\n",
    );
    check(
        &["--metrics", "broken.csv"],
        1,
        &["broken.csv, line 3, column 2 `train_nll`", "oops"],
    );
    write(d, "nocol.csv", "epoch,loss\n1,2\n");
    check(
        &["--metrics", "nocol.csv"],
        1,
        &["nocol.csv, line 1", "`train_nll`"],
    );
    // The default metrics file is also read when it exists.
    write(d, "m.mdn.metrics.csv", "epoch,train_nll\n1,\n");
    check(
        &[],
        1,
        &["m.mdn.metrics.csv, line 2, column 2 `train_nll`", "empty"],
    );
}

#[test]
fn demo_writes_the_plots() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let output = mdn(
        d,
        &[
            "demo", "--out", "demo", "--n", "200", "--epochs", "3", "--hidden", "8", "-k", "2",
            "--json",
        ],
    );
    let (stdout, stderr) = text(&output);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let v: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["plots"].as_array().unwrap().len(), 8);
    for name in ["density", "slices", "training", "calibration"] {
        check_figure(&d.join("demo"), name);
    }
}
