//! Loading the golden files that `tests/reference/mdn_reference.py` writes (see
//! `tests/golden/README.md`).

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::{
    fmt::Display,
    fs,
    path::{Path, PathBuf},
};

use mdn_core::{Activation, Header, HiddenWidths, Names, SigmaTransform, Storage, TargetTransform};
use serde::Deserialize;

/// `tests/golden/`.
pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
}

/// `<name>.json`: what the Python writer put into the blob.
#[derive(Debug, Deserialize)]
pub struct ModelFile {
    pub blob: String,
    pub format_version: u16,
    pub length: usize,
    pub crc32: u32,
    pub header_hex: String,
    pub padding: usize,
    pub header: HeaderFields,
    pub tensors: Vec<TensorEntry>,
    pub parameters: Vec<f64>,
    /// For each word of the parameter section, what is stored there (Python's
    /// `stored_order`).
    pub stored_order: Vec<StoredWord>,
}

/// One word of the parameter section: an `f32` parameter's index (`None` for a zero row),
/// or the indices of the two `f16` / `int16-int16` or four `int8` / `int8-int16` weights
/// packed in it, in byte order.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum StoredWord {
    Single(Option<usize>),
    Packed(Vec<Option<usize>>),
}

/// FORMAT.md section 2, with coded fields by name and names as lists.
#[derive(Debug, Deserialize)]
pub struct HeaderFields {
    pub input_dim: u32,
    pub output_dim: u32,
    pub components: u32,
    /// Networks `M` (an ensemble when > 1); the mixture has `components * networks`. The
    /// JSON keeps FORMAT.md section 2's field name, `members`.
    #[serde(rename = "members")]
    pub networks: u32,
    pub hidden: Vec<u32>,
    pub storage: Vec<String>,
    pub activation: String,
    pub sigma: String,
    pub sigma_floor: f64,
    pub target_transform: String,
    pub feature_names: Vec<String>,
    pub target_names: Vec<String>,
}

/// One row of FORMAT.md section 3's table: `shape` is `[n]` or `[rows, cols]`.
#[derive(Debug, Deserialize)]
pub struct TensorEntry {
    pub name: String,
    pub shape: Vec<usize>,
    pub offset: usize,
}

/// `<name>.vectors.json`.
#[derive(Debug, Deserialize)]
pub struct VectorFile {
    pub blob: String,
    pub vectors: Vec<Vector>,
}

/// One query with its float64 reference results; the mixture lists all `K M` components,
/// component k of network m at `m*K + k`.
#[derive(Debug, Deserialize)]
pub struct Vector {
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub log_prob: LogProb,
    pub mean: Vec<f64>,
    pub variance: Vec<f64>,
    pub log_weights: Vec<f64>,
    pub means: Vec<f64>,
    pub sigmas: Vec<f64>,
}

/// JSON has no infinities: density zero is written as the string `"-inf"`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum LogProb {
    Finite(f64),
    Label(String),
}

impl LogProb {
    pub fn value(&self) -> f64 {
        match self {
            LogProb::Finite(v) => *v,
            LogProb::Label(label) if label == "-inf" => f64::NEG_INFINITY,
            LogProb::Label(label) => panic!("unexpected log_prob label {label:?}"),
        }
    }
}

/// One golden model: its JSON description, its blob bytes and its vectors.
#[derive(Debug)]
pub struct Golden {
    pub name: String,
    pub model: ModelFile,
    pub bytes: Vec<u8>,
    pub vectors: VectorFile,
    features: String,
    targets: String,
}

impl Golden {
    /// The typed header the JSON describes.
    pub fn header(&self) -> Header<'_> {
        let h = &self.model.header;
        Header {
            input_dim: h.input_dim,
            output_dim: h.output_dim,
            components: h.components,
            networks: h.networks,
            hidden: HiddenWidths::from_slice(&h.hidden).expect("at most 8 hidden layers"),
            storage: h.storage.iter().map(|s| by_name::<Storage>(s)).collect(),
            activation: by_name::<Activation>(&h.activation),
            sigma: by_name::<SigmaTransform>(&h.sigma),
            sigma_floor: exact_f32(h.sigma_floor),
            target_transform: by_name::<TargetTransform>(&h.target_transform),
            feature_names: Names::new(&self.features),
            target_names: Names::new(&self.targets),
        }
    }

    /// The parameters, each checked to be exactly an f32 as the writer promises.
    pub fn parameters(&self) -> Vec<f32> {
        self.model
            .parameters
            .iter()
            .map(|&p| exact_f32(p))
            .collect()
    }
}

/// The f32 equal to `value`; panics if `value` is not exactly representable, since the
/// Python side rounds every stored or queried number through `struct.pack('<f')`.
pub fn exact_f32(value: f64) -> f32 {
    let single = value as f32;
    assert_eq!(f64::from(single), value, "{value} is not an f32");
    single
}

pub fn exact_f32s(values: &[f64]) -> Vec<f32> {
    values.iter().map(|&v| exact_f32(v)).collect()
}

/// The coded value whose `Display` name (the one the trainer and JSON use) is `name`.
fn by_name<T: TryFrom<u8> + Display>(name: &str) -> T {
    (0..=u8::MAX)
        .filter_map(|code| T::try_from(code).ok())
        .find(|v| v.to_string() == name)
        .unwrap_or_else(|| panic!("no code is named {name:?}"))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> T {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every golden model, sorted by name.
pub fn all() -> Vec<Golden> {
    let dir = golden_dir();
    let mut names: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".mdn")?.to_owned())
        })
        .collect();
    names.sort();
    assert!(
        names.len() >= 7,
        "expected the golden blobs; run python3 tests/reference/mdn_reference.py"
    );
    names
        .into_iter()
        .map(|name| {
            let model: ModelFile = read_json(&dir.join(format!("{name}.json")));
            let vectors: VectorFile = read_json(&dir.join(format!("{name}.vectors.json")));
            assert_eq!(model.blob, format!("{name}.mdn"));
            assert_eq!(vectors.blob, model.blob);
            let bytes = fs::read(dir.join(&model.blob)).unwrap();
            // mdn-core reads parameters as aligned words. A `Vec<u8>` comes from `malloc`,
            // at least 8-byte aligned on every supported host; fail clearly if not.
            assert_eq!(bytes.as_ptr() as usize % 4, 0, "{name}: unaligned buffer");
            let features = model.header.feature_names.join("\n");
            let targets = model.header.target_names.join("\n");
            Golden {
                name,
                model,
                bytes,
                vectors,
                features,
                targets,
            }
        })
        .collect()
}
