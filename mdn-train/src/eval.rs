//! Evaluation with mdn-core: the numbers a device computes from the same blob.
//!
//! NLL is the mean of `-ln p(y|x)` in nats per row, in original target units; RMSE is the
//! root mean square error of the predictive mean, pooled over target dimensions;
//! calibration (interval coverage and the PIT histogram) comes from [`crate::calibration`].

use std::path::Path;

use mdn_core::{Blob, HostModel};

use crate::{
    aligned::AlignedBytes,
    calibration::{self, Calibration, PerTarget, Score},
    data::{CsvFormat, Dataset, Selection, Table},
    error::{Error, Result},
    model::Mdn,
};

/// A validated model file: its bytes and where they came from.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The file.
    pub path: std::path::PathBuf,
    /// The blob, validated by mdn-core (CRC included), in aligned storage.
    pub bytes: AlignedBytes,
}

impl ModelFile {
    /// Reads and fully validates a model blob.
    ///
    /// # Errors
    ///
    /// [`Error::Read`] or [`Error::InvalidModel`] with mdn-core's reason.
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// let path = dir.path().join("bad.mdn");
    /// std::fs::write(&path, b"not a model").unwrap();
    /// let err = mdn_train::eval::ModelFile::read(&path).unwrap_err();
    /// assert!(err.to_string().contains("not a valid model"));
    /// ```
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = AlignedBytes::from_slice(&crate::io::read(path)?);
        HostModel::from_bytes(&bytes).map_err(|source| Error::InvalidModel {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(ModelFile {
            path: path.to_path_buf(),
            bytes,
        })
    }

    /// The evaluator over the blob.
    ///
    /// # Errors
    ///
    /// None after [`ModelFile::read`]; [`Error::InvalidModel`] for hand-made values.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// # use mdn_train::aligned::AlignedBytes;
    /// let file = mdn_train::eval::ModelFile { path: "m.mdn".into(), bytes: AlignedBytes::from_slice(&bytes) };
    /// assert_eq!(file.model().unwrap().header().components, 2);
    /// ```
    pub fn model(&self) -> Result<HostModel<'_>> {
        HostModel::from_bytes(&self.bytes).map_err(|source| Error::InvalidModel {
            path: self.path.clone(),
            source,
        })
    }

    /// The validated blob.
    ///
    /// # Errors
    ///
    /// As [`ModelFile::model`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// # use mdn_train::aligned::AlignedBytes;
    /// let file = mdn_train::eval::ModelFile { path: "m.mdn".into(), bytes: AlignedBytes::from_slice(&bytes) };
    /// assert_eq!(file.blob().unwrap().len(), bytes.len());
    /// ```
    pub fn blob(&self) -> Result<Blob<'_>> {
        Blob::from_bytes(&self.bytes).map_err(|source| Error::InvalidModel {
            path: self.path.clone(),
            source,
        })
    }

    /// Feature and target names stored in the model.
    ///
    /// # Errors
    ///
    /// As [`ModelFile::model`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// # use mdn_train::aligned::AlignedBytes;
    /// let file = mdn_train::eval::ModelFile { path: "m.mdn".into(), bytes: AlignedBytes::from_slice(&bytes) };
    /// assert_eq!(file.names().unwrap(), (vec!["x".to_string()], vec!["y".to_string()]));
    /// ```
    pub fn names(&self) -> Result<(Vec<String>, Vec<String>)> {
        let blob = self.blob()?;
        let h = blob.header();
        Ok((
            h.feature_names.iter().map(str::to_owned).collect(),
            h.target_names.iter().map(str::to_owned).collect(),
        ))
    }

    /// Reads `path` (in `format`) and selects the model's feature and target columns by
    /// name. The selection may hold no rows: a caller that needs some reports
    /// [`Selection::note`] first, then checks ([`Dataset::require_rows`]).
    ///
    /// # Errors
    ///
    /// The errors of [`Table::read`] and [`Table::select`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let dir = tempfile::tempdir().unwrap();
    /// # let bytes = mdn_core::doc_example_blob();
    /// # use mdn_train::aligned::AlignedBytes;
    /// let file = mdn_train::eval::ModelFile { path: "m.mdn".into(), bytes: AlignedBytes::from_slice(&bytes) };
    /// let csv = dir.path().join("d.csv");
    /// std::fs::write(&csv, "y,x,note\n1,2,a\n").unwrap();
    /// assert_eq!(file.load_data(&csv, Default::default()).unwrap().data.x, [2.0]);
    /// ```
    pub fn load_data(&self, path: &Path, format: CsvFormat) -> Result<Selection> {
        let (features, targets) = self.names()?;
        Table::read(path, format)?.select(&features, &targets)
    }
}

/// The prediction for one row.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// 1-based physical line in the data file.
    pub line: u64,
    /// `ln p(y|x)` from mdn-core.
    pub log_prob: f32,
    /// Predictive mean per target.
    pub mean: Vec<f32>,
    /// Predictive standard deviation per target.
    pub std: Vec<f32>,
    /// Per target, the observed value against its predicted marginal: the PIT, the
    /// central intervals and the quantiles.
    pub scores: Vec<Score>,
}

/// Scores of a model on a data set.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Evaluation {
    /// Rows evaluated.
    pub n: usize,
    /// Mean negative log-likelihood, nats per row, original units (infinite if a row has
    /// density zero, such as `y <= 0` under a log target).
    pub nll: f64,
    /// RMSE of the predictive mean, pooled over target dimensions.
    pub rmse: f64,
    /// RMSE per target dimension.
    pub rmse_per_target: Vec<f64>,
    /// Interval coverage, PIT and interval and quantile scores, pooled over targets (the
    /// keys of [`Calibration`]).
    #[serde(flatten)]
    pub calibration: Calibration,
    /// The same for each target: `<key>_per_target` arrays when there are several.
    #[serde(flatten)]
    pub per_target: PerTarget,
    /// For each network of the blob, the mean weight of each of its components within the
    /// network over the rows (a component under [`UNUSED_WEIGHT`] is never used).
    pub component_weights: Vec<Vec<f64>>,
    /// One entry per row.
    #[serde(skip)]
    pub samples: Vec<Sample>,
}

/// Evaluates a model with mdn-core on every row of `data`.
///
/// # Errors
///
/// [`Error::BadCell`] naming the first target `<= 0` for a log-target model (its density
/// there is zero); [`Error::Core`] naming the line if mdn-core refuses a row (a non-finite
/// value cannot come from [`Table::select`], so this means a shape bug).
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// let model = mdn_core::HostModel::from_bytes(&bytes[..]).unwrap();
/// let data = mdn_train::synth::generate(mdn_train::synth::Kind::Hetero, 20, 1);
/// let e = mdn_train::eval::evaluate(&model, &data).unwrap();
/// assert_eq!(e.n, 20);
/// assert!(e.nll.is_finite() && e.rmse > 0.0);
/// ```
pub fn evaluate(model: &HostModel<'_>, data: &Dataset) -> Result<Evaluation> {
    // A log-target model gives y <= 0 density zero: an infinite NLL that says nothing.
    if model.header().target_transform == mdn_core::TargetTransform::Log {
        crate::scaling::require_positive_targets(data)?;
    }
    let d = data.outputs();
    let mut samples = Vec::with_capacity(data.len());
    let mut nll = 0.0_f64;
    let mut sq = vec![0.0_f64; d];
    let mut calibration = Calibration::default();
    let mut per_target = vec![Calibration::default(); d];
    let header = model.header();
    let (networks, k) = (header.networks as usize, header.components as usize);
    let mut weights = vec![vec![0.0_f64; k]; networks];
    for i in 0..data.len() {
        let line = data.lines[i];
        let context = || format!("{}, line {line}", data.path.display());
        let mixture = model.mixture(data.row_x(i)).map_err(|source| Error::Core {
            context: context(),
            source,
        })?;
        let y = data.row_y(i);
        let log_prob = mixture.log_prob(y).map_err(|source| Error::Core {
            context: context(),
            source,
        })?;
        let mean: Vec<f32> = mixture.mean().to_vec();
        let std: Vec<f32> = mixture.std_dev().to_vec();
        let scores = calibration::score(&mixture, y).map_err(|source| Error::Core {
            context: context(),
            source,
        })?;
        for (score, target) in scores.iter().zip(&mut per_target) {
            calibration.add(score);
            target.add(score);
        }
        add_component_weights(&mut weights, mixture.log_weights());
        nll -= f64::from(log_prob);
        for ((s, &m), &t) in sq.iter_mut().zip(&mean).zip(y) {
            *s += (f64::from(m) - f64::from(t)).powi(2);
        }
        samples.push(Sample {
            line,
            log_prob,
            mean,
            std,
            scores,
        });
    }
    let n = data.len();
    let rows = n.max(1) as f64;
    Ok(Evaluation {
        n,
        nll: nll / rows,
        rmse: (sq.iter().sum::<f64>() / (rows * d.max(1) as f64)).sqrt(),
        rmse_per_target: sq.iter().map(|s| (s / rows).sqrt()).collect(),
        calibration,
        per_target: PerTarget(per_target),
        component_weights: weights
            .into_iter()
            .map(|w| w.into_iter().map(|v| v / rows).collect())
            .collect(),
        samples,
    })
}

/// A component whose mean weight within its network is under this is never used: 1 %.
pub const UNUSED_WEIGHT: f64 = 0.01;

/// Adds each component's weight within its network to `sums` (`[network][component]`):
/// the mixture's log-weights hold network `m`'s components at `m K .. (m + 1) K`, each with
/// the network's own log-weight added, which dividing by the block's sum removes.
fn add_component_weights(sums: &mut [Vec<f64>], log_weights: &[f32]) {
    let k = sums.first().map_or(1, Vec::len).max(1);
    for (sum, block) in sums.iter_mut().zip(log_weights.chunks(k)) {
        let top = block.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let w: Vec<f64> = block.iter().map(|&l| f64::from(l - top).exp()).collect();
        let total: f64 = w.iter().sum();
        for (s, v) in sum.iter_mut().zip(&w) {
            *s += v / total;
        }
    }
}

/// The components whose mean weight within their network is under [`UNUSED_WEIGHT`], as
/// `(network, component)`.
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// let model = mdn_core::HostModel::from_bytes(&bytes[..]).unwrap();
/// let data = mdn_train::synth::generate(mdn_train::synth::Kind::Hetero, 20, 1);
/// let e = mdn_train::eval::evaluate(&model, &data).unwrap();
/// let total: f64 = e.component_weights[0].iter().sum();
/// assert!((total - 1.0).abs() < 1e-9);
/// assert!(mdn_train::eval::unused_components(&e).len() < e.component_weights[0].len());
/// ```
pub fn unused_components(evaluation: &Evaluation) -> Vec<(usize, usize)> {
    let mut unused = Vec::new();
    for (m, weights) in evaluation.component_weights.iter().enumerate() {
        for (k, &w) in weights.iter().enumerate() {
            if w < UNUSED_WEIGHT {
                unused.push((m, k));
            }
        }
    }
    unused
}

/// The per-sample CSV: `line`, the features, the targets, `log_prob`, then `mean_<t>` and
/// `std_<t>` for every target `t`, then per target the PIT (predicted CDF at the observed
/// value), the CRPS, the quantiles of [`calibration::QUANTILES`] and the bounds of every
/// central interval of [`calibration::LEVELS`]: `pit`, `crps`, `quantile_05`, `quantile_50`,
/// `quantile_95`, `lower_50`, `upper_50`, ... for one target, with `_<t>` appended for
/// each of several: every figure of the pooled scores can be recomputed from them.
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// let model = mdn_core::HostModel::from_bytes(&bytes[..]).unwrap();
/// let data = mdn_train::synth::generate(mdn_train::synth::Kind::Hetero, 2, 1);
/// let e = mdn_train::eval::evaluate(&model, &data).unwrap();
/// let csv = mdn_train::eval::per_sample_csv(&data, &e);
/// assert!(csv.starts_with("line,x,y,log_prob,mean_y,std_y,pit,crps,quantile_05,"));
/// ```
pub fn per_sample_csv(data: &Dataset, evaluation: &Evaluation) -> String {
    let mut header = vec!["line".to_owned()];
    header.extend(data.feature_names.iter().cloned());
    header.extend(data.target_names.iter().cloned());
    header.push("log_prob".into());
    for t in &data.target_names {
        header.push(format!("mean_{t}"));
        header.push(format!("std_{t}"));
    }
    let mut per_target = vec!["pit".to_owned(), "crps".to_owned()];
    for q in calibration::QUANTILES {
        per_target.push(format!("quantile_{:02.0}", f64::from(q) * 100.0));
    }
    for level in calibration::LEVELS {
        let percent = f64::from(level) * 100.0;
        per_target.push(format!("lower_{percent:.0}"));
        per_target.push(format!("upper_{percent:.0}"));
    }
    match data.target_names.as_slice() {
        [_] => header.extend(per_target.iter().cloned()),
        names => {
            for t in names {
                header.extend(per_target.iter().map(|c| format!("{c}_{t}")));
            }
        }
    }
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(&header);
    for (i, s) in evaluation.samples.iter().enumerate() {
        let mut row = vec![s.line.to_string()];
        row.extend(data.row_x(i).iter().map(f32::to_string));
        row.extend(data.row_y(i).iter().map(f32::to_string));
        row.push(s.log_prob.to_string());
        for (m, sd) in s.mean.iter().zip(&s.std) {
            row.push(m.to_string());
            row.push(sd.to_string());
        }
        for score in &s.scores {
            row.push(score.pit.to_string());
            row.push(score.crps.to_string());
            row.extend(score.quantiles.iter().map(f32::to_string));
            for (l, u) in score.intervals {
                row.push(l.to_string());
                row.push(u.to_string());
            }
        }
        let _ = writer.write_record(&row);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Largest `|candle - mdn-core|` of `ln p(y|x)` over the rows of `data`, and the row's
/// `|ln p|` there: the parity of the trainer's arithmetic with the device's. For an
/// ensemble, candle evaluates each network and the log-weighted densities are combined in
/// f64; mdn-core evaluates the blob itself.
///
/// # Errors
///
/// A candle error, or [`Error::Core`] if mdn-core refuses a row.
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// # use mdn_train::aligned::AlignedBytes;
/// let file = mdn_train::eval::ModelFile { path: "m.mdn".into(), bytes: AlignedBytes::from_slice(&bytes) };
/// let data = mdn_train::synth::generate(mdn_train::synth::Kind::Hetero, 50, 1);
/// let (max_diff, _) = mdn_train::eval::parity(&file, &data).unwrap();
/// assert!(max_diff < 1e-4);
/// ```
pub fn parity(file: &ModelFile, data: &Dataset) -> Result<(f64, f64)> {
    let ensemble = crate::ensemble::Ensemble::from_blob(&file.bytes, &file.path)?;
    let mut per_network = Vec::new();
    for (bytes, &weight) in ensemble.networks.iter().zip(&ensemble.log_weights) {
        let lp = Mdn::from_blob(bytes, &file.path)?.log_prob(&data.x, &data.y)?;
        per_network.push((weight, lp));
    }
    let candle = (0..data.len()).map(|i| {
        let terms: Vec<f64> = per_network
            .iter()
            .map(|(w, lp)| w + f64::from(lp[i]))
            .collect();
        crate::ensemble::log_sum_exp(&terms)
    });
    let core = evaluate(&file.model()?, data)?;
    let mut worst = (0.0_f64, 0.0_f64);
    for (c, s) in candle.zip(&core.samples) {
        let core = f64::from(s.log_prob);
        // Both sides at density zero (a log target's y <= 0) agree: no difference.
        let diff = if c == core { 0.0 } else { (c - core).abs() };
        if diff > worst.0 || diff.is_nan() {
            worst = (diff, f64::from(s.log_prob).abs());
        }
    }
    Ok(worst)
}
