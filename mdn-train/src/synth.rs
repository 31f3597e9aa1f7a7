//! Synthetic data sets from the project's data README, generated from a seed.
//!
//! * `hetero`: `x ~ U(0, 1)`, `y = 5 x + x^2 e`, `e ~ N(0, 1)`: noise that grows with `x`.
//! * `invsin`: `y ~ U(-10.5, 10.5)`, `x = 7 sin(0.75 y) + 0.5 y + (0.25 + 0.1 |y|) e`: the
//!   inverse of a noisy sine, with up to three valid `y` for one `x`.
//!
//! The samples differ from the NumPy ones shipped in `data/`; the distributions do not.

use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

use crate::data::Dataset;

/// Which generator.
///
/// # Examples
///
/// ```
/// use mdn_train::synth::{Kind, generate};
/// let data = generate(Kind::Invsin, 100, 3);
/// assert_eq!((data.len(), data.feature_names.as_slice()), (100, &["x".to_string()][..]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// Heteroscedastic line: `y = 5x + x^2 e`.
    Hetero,
    /// Inverse sine: multimodal `y` given `x`.
    Invsin,
}

/// Generates `n` rows `(x, y)` with seed `seed` (computed in `f64`, stored as `f32`).
///
/// # Examples
///
/// See [`Kind`].
pub fn generate(kind: Kind, n: usize, seed: u64) -> Dataset {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut x = Vec::with_capacity(n);
    let mut y = Vec::with_capacity(n);
    for _ in 0..n {
        let (xi, yi) = match kind {
            Kind::Hetero => {
                let xi: f64 = rng.random_range(0.0..1.0);
                let e: f64 = rng.sample(StandardNormal);
                (xi, 5.0 * xi + xi * xi * e)
            }
            Kind::Invsin => {
                let yi: f64 = rng.random_range(-10.5..10.5);
                let e: f64 = rng.sample(StandardNormal);
                let xi = 7.0 * (0.75 * yi).sin() + 0.5 * yi + (0.25 + 0.1 * yi.abs()) * e;
                (xi, yi)
            }
        };
        x.push(xi as f32);
        y.push(yi as f32);
    }
    Dataset {
        path: format!("<synthetic {}>", kind.name()).into(),
        feature_names: vec!["x".into()],
        target_names: vec!["y".into()],
        feature_columns: vec![1],
        target_columns: vec![2],
        x,
        y,
        lines: (2..n as u64 + 2).collect(),
    }
}

impl Kind {
    /// The generator's name, as on the command line.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_train::synth::Kind::Hetero.name(), "hetero");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Kind::Hetero => "hetero",
            Kind::Invsin => "invsin",
        }
    }
}

/// The data set as CSV text with columns `x,y` (shortest round-trip floats).
///
/// # Examples
///
/// ```
/// let data = mdn_train::synth::generate(mdn_train::synth::Kind::Hetero, 2, 1);
/// assert!(mdn_train::synth::to_csv(&data).starts_with("x,y\n"));
/// ```
pub fn to_csv(data: &Dataset) -> String {
    let mut out = String::new();
    let names: Vec<&str> = data
        .feature_names
        .iter()
        .chain(&data.target_names)
        .map(String::as_str)
        .collect();
    out.push_str(&names.join(","));
    out.push('\n');
    for i in 0..data.len() {
        let cells: Vec<String> = data
            .row_x(i)
            .iter()
            .chain(data.row_y(i))
            .map(|v| v.to_string())
            .collect();
        out.push_str(&cells.join(","));
        out.push('\n');
    }
    out
}
