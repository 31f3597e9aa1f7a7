//! Affine scaling of features and targets, fitted on training rows only.
//!
//! A scaler maps a raw value `v` to `(v - offset) / scale` (a division, exactly as mdn-core
//! does it), so the network sees inputs of order one and the mixture is learned on a
//! standardised target. Offsets and scales are stored in the blob; mdn-core undoes the
//! target scaling, so every density the user sees is in original units.

use mdn_core::TargetTransform;

use crate::{
    data::Dataset,
    error::{Error, Result},
};

/// How features are scaled before the first layer.
///
/// # Examples
///
/// ```
/// use mdn_train::scaling::{InputScaling, Scaler};
/// let s = Scaler::fit(&[0.0, 10.0, 4.0, 30.0], 2, InputScaling::MinMax.into()).0;
/// assert_eq!((s.offset, s.scale), (vec![0.0, 10.0], vec![4.0, 20.0]));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum InputScaling {
    /// `(x - min) / (max - min)`: every training feature in `[0, 1]`.
    #[value(name = "minmax")]
    MinMax,
    /// `(x - mean) / std` (population standard deviation).
    Standard,
    /// No scaling.
    None,
}

/// How targets are transformed and scaled before the mixture is fitted.
///
/// # Examples
///
/// ```
/// use mdn_train::scaling::TargetScaling;
/// assert_eq!(TargetScaling::Log.transform(), mdn_core::TargetTransform::Log);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetScaling {
    /// `(y - mean) / std`.
    Standard,
    /// `(ln y - mean) / std` of `ln y`: a log-normal mixture, for positive targets.
    Log,
    /// No scaling.
    None,
}

/// The fitting rule of one [`Scaler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalerKind {
    /// Offset min, scale max - min.
    MinMax,
    /// Offset mean, scale population standard deviation.
    Standard,
    /// Offset 0, scale 1.
    Identity,
}

impl From<InputScaling> for ScalerKind {
    fn from(s: InputScaling) -> Self {
        match s {
            InputScaling::MinMax => ScalerKind::MinMax,
            InputScaling::Standard => ScalerKind::Standard,
            InputScaling::None => ScalerKind::Identity,
        }
    }
}

impl TargetScaling {
    /// The target transform this scaling stores in the blob.
    ///
    /// # Examples
    ///
    /// See [`TargetScaling`].
    pub fn transform(self) -> TargetTransform {
        match self {
            TargetScaling::Log => TargetTransform::Log,
            TargetScaling::Standard | TargetScaling::None => TargetTransform::Identity,
        }
    }

    /// The rule for the (transformed) target's affine scaler.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::scaling::{ScalerKind, TargetScaling};
    /// assert_eq!(TargetScaling::Log.kind(), ScalerKind::Standard);
    /// ```
    pub fn kind(self) -> ScalerKind {
        match self {
            TargetScaling::Standard | TargetScaling::Log => ScalerKind::Standard,
            TargetScaling::None => ScalerKind::Identity,
        }
    }
}

/// Per-column offsets and scales: `scaled = (raw - offset) / scale`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scaler {
    /// One offset per column.
    pub offset: Vec<f32>,
    /// One scale per column, each positive and finite.
    pub scale: Vec<f32>,
}

impl Scaler {
    /// The identity scaler for `dims` columns.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = mdn_train::scaling::Scaler::identity(2);
    /// assert_eq!(s.apply(&[3.0, 4.0]), [3.0, 4.0]);
    /// ```
    pub fn identity(dims: usize) -> Self {
        Scaler {
            offset: vec![0.0; dims],
            scale: vec![1.0; dims],
        }
    }

    /// Fits a scaler to row-major `values` with `dims` columns. Sums run in `f64`.
    ///
    /// A column whose fitted scale would be zero (a constant), subnormal or not finite gets
    /// scale 1; the indices of such columns are returned so the caller can warn.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::scaling::{Scaler, ScalerKind};
    /// let (s, constant) = Scaler::fit(&[1.0, 5.0, 3.0, 5.0], 2, ScalerKind::Standard);
    /// assert_eq!((s.offset, s.scale, constant), (vec![2.0, 5.0], vec![1.0, 1.0], vec![1]));
    /// ```
    pub fn fit(values: &[f32], dims: usize, kind: ScalerKind) -> (Self, Vec<usize>) {
        let mut scaler = Scaler::identity(dims);
        let mut constant = Vec::new();
        if kind == ScalerKind::Identity || dims == 0 {
            return (scaler, constant);
        }
        for j in 0..dims {
            let column = || values.iter().skip(j).step_by(dims).map(|&v| f64::from(v));
            let n = column().count().max(1) as f64;
            let (offset, scale) = match kind {
                ScalerKind::MinMax => {
                    let min = column().fold(f64::INFINITY, f64::min);
                    let max = column().fold(f64::NEG_INFINITY, f64::max);
                    (min, max - min)
                }
                _ => {
                    let mean = column().sum::<f64>() / n;
                    let var = column().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
                    (mean, var.sqrt())
                }
            };
            scaler.offset[j] = if offset.is_finite() {
                offset as f32
            } else {
                0.0
            };
            let scale = scale as f32;
            if scale.is_normal() && scale > 0.0 {
                scaler.scale[j] = scale;
            } else {
                constant.push(j);
            }
        }
        (scaler, constant)
    }

    /// Scales row-major `values` (as many columns as the scaler): `(v - offset) / scale`.
    ///
    /// # Examples
    ///
    /// ```
    /// let s = mdn_train::scaling::Scaler { offset: vec![1.0], scale: vec![2.0] };
    /// assert_eq!(s.apply(&[5.0, 1.0]), [2.0, 0.0]);
    /// ```
    pub fn apply(&self, values: &[f32]) -> Vec<f32> {
        let dims = self.offset.len().max(1);
        values
            .chunks(dims)
            .flat_map(|row| {
                row.iter()
                    .zip(self.offset.iter().zip(&self.scale))
                    .map(|(&v, (&o, &s))| (v - o) / s)
            })
            .collect()
    }

    /// Number of columns.
    ///
    /// # Examples
    ///
    /// See [`Scaler::identity`].
    pub fn dims(&self) -> usize {
        self.offset.len()
    }
}

/// The transform and both scalers of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Scalers {
    /// Feature scaler.
    pub input: Scaler,
    /// Target scaler, applied after [`Scalers::transform`].
    pub target: Scaler,
    /// Target transform before scaling.
    pub transform: TargetTransform,
}

/// The result of [`fit`]: scalers plus the warnings to show.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The fitted scalers.
    pub scalers: Scalers,
    /// Names of constant features (given scale 1).
    pub constant_features: Vec<String>,
}

/// Applies the target transform to row-major targets: `ln y` (libm's `logf`, as mdn-core)
/// for [`TargetTransform::Log`].
///
/// # Examples
///
/// ```
/// use mdn_core::TargetTransform;
/// let t = mdn_train::scaling::transform_targets(&[1.0], TargetTransform::Log);
/// assert_eq!(t, [0.0]);
/// ```
pub fn transform_targets(y: &[f32], transform: TargetTransform) -> Vec<f32> {
    match transform {
        TargetTransform::Identity => y.to_vec(),
        TargetTransform::Log => y.iter().map(|&v| libm::logf(v)).collect(),
    }
}

/// Checks that a log target is positive on every row of `data`.
///
/// # Errors
///
/// [`Error::BadCell`] naming the first non-positive target.
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("d.csv");
/// std::fs::write(&path, "x,y\n1,2\n3,0\n").unwrap();
/// let data = mdn_train::data::load(&path, Default::default(), &["y".into()], None).unwrap().data;
/// let err = mdn_train::scaling::require_positive_targets(&data).unwrap_err();
/// assert!(err.to_string().contains("line 3"));
/// ```
pub fn require_positive_targets(data: &Dataset) -> Result<()> {
    let d = data.outputs();
    for (i, &line) in data.lines.iter().enumerate() {
        for j in 0..d {
            let v = data.y[i * d + j];
            if v <= 0.0 {
                return Err(Error::BadCell {
                    path: data.path.clone(),
                    line,
                    column: data.target_names[j].clone(),
                    index: data.target_columns[j],
                    expected: "a positive number (--scale-y log models ln y)",
                    found: format!("`{v}`"),
                });
            }
        }
    }
    Ok(())
}

/// Fits both scalers on the training rows `train`.
///
/// # Errors
///
/// [`Error::ConstantTarget`] if a target does not vary over `train`; [`Error::BadCell`]
/// for a non-positive target with [`TargetScaling::Log`].
///
/// # Examples
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("d.csv");
/// std::fs::write(&path, "x,c,y\n0,1,1\n2,1,3\n").unwrap();
/// use mdn_train::scaling::{InputScaling, TargetScaling, fit};
/// let data = mdn_train::data::load(&path, Default::default(), &["y".into()], None).unwrap().data;
/// let fitted = fit(&data, InputScaling::MinMax, TargetScaling::Standard).unwrap();
/// assert_eq!(fitted.constant_features, ["c"]);
/// assert_eq!(fitted.scalers.target.offset, [2.0]);
/// ```
pub fn fit(train: &Dataset, x: InputScaling, y: TargetScaling) -> Result<Fitted> {
    let (input, constant) = Scaler::fit(&train.x, train.inputs(), x.into());
    if y == TargetScaling::Log {
        require_positive_targets(train)?;
    }
    let transform = y.transform();
    let t = transform_targets(&train.y, transform);
    let (target, constant_targets) = Scaler::fit(&t, train.outputs(), y.kind());
    let constant_targets = if y == TargetScaling::None {
        // Identity scaling says nothing about variation: check it with a min-max fit.
        Scaler::fit(&t, train.outputs(), ScalerKind::MinMax).1
    } else {
        constant_targets
    };
    if let Some(&j) = constant_targets.first() {
        return Err(Error::ConstantTarget {
            path: train.path.clone(),
            column: train.target_names[j].clone(),
            index: train.target_columns[j],
            value: train.y.get(j).copied().unwrap_or(0.0),
        });
    }
    Ok(Fitted {
        scalers: Scalers {
            input,
            target,
            transform,
        },
        constant_features: constant
            .into_iter()
            .map(|j| train.feature_names[j].clone())
            .collect(),
    })
}
