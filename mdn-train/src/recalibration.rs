//! Recalibration: the calibration tensors of a blob (FORMAT.md section 5), read, written and
//! fitted to held-out rows.
//!
//! A model can be over- or under-confident on new data: trained too briefly, or on rows
//! that differ from those it meets. The blob carries a correction that every query
//! applies on the device: a factor on every sigma of each target dimension
//! (`calibration.sigma_scale`) and a temperature that divides the mixing logits
//! (`calibration.temperature`). Both at 1.0, the identity, give the uncalibrated bits.
//!
//! [`fit`] chooses them by maximising the likelihood of validation rows, each candidate
//! scored by mdn-core itself (the blob written with the candidate and evaluated), so the
//! NLL it reports is the device's. The search is over logarithms (a scale of 2 and one of
//! 1/2 are as far from 1): golden-section searches, one coordinate at a time, repeated.
//! The sigma scales come first; the temperature is fitted only on at least
//! [`TEMPERATURE_ROWS_PER_COMPONENT`] rows per mixture component, and kept only if it lowers
//! the rows' total NLL by more than [`TEMPERATURE_GAIN`] nats on top of them (one nat per
//! fitted factor, Akaike's rule, since the gain of a factor fitted on the rows is partly the
//! fit's own) and clearly, by more than two standard errors of the rows' gains, and if a
//! temperature fitted on either half of the rows also helps on the other half.
//!
//! A fit is worth writing only when it is clearly better on the rows
//! ([`CalibrationFit::is_clear`]): its mean gain per row is more than two standard errors of
//! the rows' gains. On a few dozen rows a fit can gain on them and lose on new data; the
//! rule is the one `mdn train` uses to keep a student that starts from a teacher network.

use mdn_core::{Blob, HostModel, TensorName};

use crate::{
    aligned::AlignedBytes,
    error::{Error, Result},
    model::{core_error, encode_blob},
};

/// The smallest gain in the rows' total NLL (nats, summed over the rows) for which [`fit`]
/// keeps a temperature other than 1: one nat for the one factor (Akaike's rule).
pub const TEMPERATURE_GAIN: f64 = 1.0;

/// The fewest rows per mixture component (every network's, `M * K`) on which [`fit`]
/// tries a temperature.
///
/// The temperature moves weight between components everywhere at once, and a sharper one
/// bets on the component that won on these rows: with a few rows per component that bet
/// is mostly the rows' own luck. Measured (BENCHMARKS.md, "Recalibration"): on faithful's
/// 43 validation rows (5 components) a temperature of 0.17 passed every other check here
/// and raised the test NLL by 0.061; a sigma scale, which only widens or narrows what the
/// network already says, needs no such floor.
pub const TEMPERATURE_ROWS_PER_COMPONENT: usize = 20;

/// The search range of every log factor: factors from `e^-3` (0.05) to `e^3` (20).
const LOG_RANGE: f64 = 3.0;

/// Golden-section steps per coordinate: the bracket shrinks to `6 * 0.618^30`, about
/// `3e-6` in log units.
const GOLDEN_STEPS: usize = 30;

/// Sweeps over the coordinates.
const SWEEPS: usize = 3;

/// The calibration stored in a blob.
///
/// # Examples
///
/// ```
/// use mdn_train::recalibration::Calibration;
/// let bytes = mdn_core::doc_example_blob();
/// assert_eq!(Calibration::read(&bytes).unwrap(), Calibration::identity(1));
/// let wider = Calibration { sigma_scale: vec![2.0], temperature: 1.0 };
/// let calibrated = wider.apply(&bytes).unwrap();
/// assert_eq!(Calibration::read(&calibrated).unwrap(), wider);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Calibration {
    /// The factor on every sigma of each target dimension.
    pub sigma_scale: Vec<f32>,
    /// The divisor of every mixing logit.
    pub temperature: f32,
}

impl Calibration {
    /// The identity for `dims` target dimensions: every factor 1.
    ///
    /// # Examples
    ///
    /// ```
    /// let identity = mdn_train::recalibration::Calibration::identity(2);
    /// assert!(identity.is_identity());
    /// ```
    pub fn identity(dims: usize) -> Self {
        Calibration {
            sigma_scale: vec![1.0; dims],
            temperature: 1.0,
        }
    }

    /// Whether every factor is 1.
    ///
    /// # Examples
    ///
    /// See [`Calibration::identity`].
    pub fn is_identity(&self) -> bool {
        self.temperature == 1.0 && self.sigma_scale.iter().all(|&s| s == 1.0)
    }

    /// The calibration a blob stores.
    ///
    /// # Errors
    ///
    /// [`Error::Core`] if `bytes` is not a valid blob.
    ///
    /// # Examples
    ///
    /// See [`Calibration`].
    pub fn read(bytes: &[u8]) -> Result<Self> {
        let aligned = AlignedBytes::from_slice(bytes);
        let blob = Blob::from_bytes(&aligned).map_err(core_error("reading the calibration"))?;
        let layout = blob.layout().map_err(core_error("laying out the model"))?;
        let values: Vec<f32> = blob.parameter_values().collect();
        let tensor = |name| {
            layout
                .find(name)
                .map_or_else(Vec::new, |t| values[t.offset..t.offset + t.len()].to_vec())
        };
        Ok(Calibration {
            sigma_scale: tensor(TensorName::SigmaScale),
            temperature: tensor(TensorName::Temperature)
                .first()
                .copied()
                .unwrap_or(1.0),
        })
    }

    /// The blob `bytes` with this calibration in place of its own; nothing else changes.
    ///
    /// # Errors
    ///
    /// [`Error::Core`] if `bytes` is not a valid blob, a factor is not positive, or
    /// [`Error::InvalidOption`] if the sigma scales are not one per target dimension.
    ///
    /// # Examples
    ///
    /// See [`Calibration`].
    pub fn apply(&self, bytes: &[u8]) -> Result<AlignedBytes> {
        let aligned = AlignedBytes::from_slice(bytes);
        let blob = Blob::from_bytes(&aligned).map_err(core_error("reading the model"))?;
        let layout = blob.layout().map_err(core_error("laying out the model"))?;
        let mut values: Vec<f32> = blob.parameter_values().collect();
        let dims = blob.header().output_dim as usize;
        if self.sigma_scale.len() != dims {
            return Err(Error::InvalidOption {
                option: "the calibration",
                expected: format!("{dims} sigma scales, one per target"),
                found: self.sigma_scale.len().to_string(),
            });
        }
        for tensor in layout.tensors() {
            let new: &[f32] = match tensor.name {
                TensorName::SigmaScale => &self.sigma_scale,
                TensorName::Temperature => std::slice::from_ref(&self.temperature),
                _ => continue,
            };
            values[tensor.offset..tensor.offset + tensor.len()].copy_from_slice(new);
        }
        encode_blob(blob.header(), &values)
    }
}

/// What [`fit`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationFit {
    /// The fitted calibration.
    pub calibration: Calibration,
    /// Mean NLL of the rows with the blob's own calibration (nats a row).
    pub nll_before: f64,
    /// Mean NLL of the rows with [`CalibrationFit::calibration`].
    pub nll_after: f64,
    /// Rows the fit used: those of finite log-density under the blob's own calibration.
    pub rows: usize,
    /// The standard error of the mean gain per row (`nll_before - nll_after`): the sample
    /// standard deviation of the rows' gains over the square root of their number.
    pub gain_standard_error: f64,
    /// The fewest rows on which a temperature is tried for this model:
    /// [`TEMPERATURE_ROWS_PER_COMPONENT`] per mixture component. With fewer, only the
    /// sigma scales were fitted.
    pub temperature_rows: usize,
}

/// How many standard errors a fit's mean gain must exceed to be written.
pub const CLEAR_GAIN: f64 = 2.0;

impl CalibrationFit {
    /// Whether the fit is clearly better on its rows: a mean gain per row above
    /// [`CLEAR_GAIN`] standard errors of the rows' gains.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::recalibration::{Calibration, CalibrationFit};
    /// let fit = CalibrationFit {
    ///     calibration: Calibration::identity(1),
    ///     nll_before: 1.0,
    ///     nll_after: 0.9,
    ///     rows: 100,
    ///     gain_standard_error: 0.02,
    ///     temperature_rows: 100,
    /// };
    /// assert!(fit.is_clear());
    /// assert!(!CalibrationFit { gain_standard_error: 0.06, ..fit }.is_clear());
    /// ```
    pub fn is_clear(&self) -> bool {
        self.nll_before - self.nll_after > CLEAR_GAIN * self.gain_standard_error
    }
}

/// Fits the calibration of the blob `bytes` to the rows `x` (`rows * F` values, row-major)
/// and `y` (`rows * D`) by maximum likelihood, as the module documentation describes.
///
/// Rows of zero density under the blob's own calibration (a log target's `y <= 0`) cannot
/// inform it and are left out.
///
/// # Errors
///
/// [`Error::Core`] if `bytes` is not a valid blob or a row has the wrong length or a
/// non-finite value; [`Error::InvalidOption`] if no row has a finite log-density.
///
/// # Examples
///
/// ```
/// use mdn_train::recalibration::{Calibration, fit};
/// let bytes = mdn_core::doc_example_blob();
/// // Rows from the model with every sigma doubled: the fit finds about 2.
/// let wide = Calibration { sigma_scale: vec![2.0], temperature: 1.0 }.apply(&bytes).unwrap();
/// let model = mdn_core::HostModel::from_bytes(&wide).unwrap();
/// let mut rng = rand_pcg::Pcg32::new(7, 1);
/// let (mut x, mut y) = (Vec::new(), Vec::new());
/// for i in 0..2000 {
///     let xi = (i % 40) as f32 / 20.0 - 1.0;
///     x.push(xi);
///     y.push(model.mixture(&[xi]).unwrap().sample(&mut rng)[0]);
/// }
/// let found = fit(&bytes, &x, &y).unwrap();
/// assert!((found.calibration.sigma_scale[0] - 2.0).abs() < 0.15, "{found:?}");
/// assert!(found.nll_after < found.nll_before);
/// ```
pub fn fit(bytes: &[u8], x: &[f32], y: &[f32]) -> Result<CalibrationFit> {
    let start = Calibration::read(bytes)?;
    let (rows_x, rows_y) = finite_rows(bytes, x, y)?;
    let dims = start.sigma_scale.len();
    let rows = rows_y.len() / dims.max(1);
    if rows == 0 {
        return Err(Error::InvalidOption {
            option: "the calibration rows",
            expected: "at least one row of finite log-density".into(),
            found: "none".into(),
        });
    }
    let sigma_only = search(bytes, &rows_x, &rows_y, dims, false)?;
    // The factors are rounded to f32: score what will be stored, row by row.
    let before = row_nlls(bytes, &start, &rows_x, &rows_y)?;
    let nlls = |calibration: &Calibration| row_nlls(bytes, calibration, &rows_x, &rows_y);
    let sigma_nlls = nlls(&sigma_only)?;
    let (mut calibration, mut after) = (sigma_only, sigma_nlls);
    let temperature_rows = TEMPERATURE_ROWS_PER_COMPONENT * components(bytes)?;
    if rows >= temperature_rows {
        let with_temperature = search(bytes, &rows_x, &rows_y, dims, true)?;
        let both_nlls = nlls(&with_temperature)?;
        // The temperature is one more factor fitted on the same rows: it must gain more
        // than one nat over them, clearly (two standard errors of the rows' gains), and on
        // rows it was not fitted on (each half of the rows, fitted on the other).
        let (gain, standard_error) = mean_gain(&after, &both_nlls);
        if gain * rows as f64 > TEMPERATURE_GAIN
            && gain > CLEAR_GAIN * standard_error
            && temperature_holds_out(bytes, &rows_x, &rows_y, dims)?
        {
            (calibration, after) = (with_temperature, both_nlls);
        }
    }
    let (gain, gain_standard_error) = mean_gain(&before, &after);
    let nll_before = before.iter().sum::<f64>() / before.len().max(1) as f64;
    Ok(CalibrationFit {
        calibration,
        nll_before,
        nll_after: nll_before - gain,
        rows,
        gain_standard_error,
        temperature_rows,
    })
}

/// The calibration of `dims` sigma scales (and the temperature, if `temperature`) that
/// maximises the likelihood of the rows: golden-section searches over the log factors, one
/// coordinate at a time, [`SWEEPS`] times.
fn search(
    bytes: &[u8],
    x: &[f32],
    y: &[f32],
    dims: usize,
    temperature: bool,
) -> Result<Calibration> {
    let calibration_of = |logs: &[f64]| Calibration {
        sigma_scale: logs[..dims].iter().map(|l| l.exp() as f32).collect(),
        temperature: logs[dims].exp() as f32,
    };
    let mut logs = vec![0.0_f64; dims + 1];
    let coordinates = dims + usize::from(temperature);
    for _ in 0..SWEEPS {
        for c in 0..coordinates {
            let mut trial = logs.clone();
            let (l, _) = golden_section(|v| {
                trial[c] = v;
                mean_nll(bytes, &calibration_of(&trial), x, y)
            })?;
            logs[c] = l;
        }
    }
    Ok(calibration_of(&logs))
}

/// Whether a temperature fitted on one half of the rows (with the sigma scales) beats the
/// sigma scales alone on the other half, both ways: the halves are the even and the odd
/// rows.
fn temperature_holds_out(bytes: &[u8], x: &[f32], y: &[f32], dims: usize) -> Result<bool> {
    let features = x.len() / (y.len() / dims.max(1)).max(1);
    let half = |parity: usize| {
        let rows = x.chunks(features.max(1)).zip(y.chunks(dims.max(1)));
        let (mut hx, mut hy) = (Vec::new(), Vec::new());
        for (_, (xs, ys)) in rows.enumerate().filter(|(i, _)| i % 2 == parity) {
            hx.extend_from_slice(xs);
            hy.extend_from_slice(ys);
        }
        (hx, hy)
    };
    let halves = [half(0), half(1)];
    for (fit_on, check_on) in [(&halves[0], &halves[1]), (&halves[1], &halves[0])] {
        if fit_on.1.is_empty() || check_on.1.is_empty() {
            return Ok(false);
        }
        let sigma_only = search(bytes, &fit_on.0, &fit_on.1, dims, false)?;
        let with_temperature = search(bytes, &fit_on.0, &fit_on.1, dims, true)?;
        let without = mean_nll(bytes, &sigma_only, &check_on.0, &check_on.1)?;
        let with = mean_nll(bytes, &with_temperature, &check_on.0, &check_on.1)?;
        if with >= without {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The mixture components of the blob `bytes`: `K` per network, `M` networks.
fn components(bytes: &[u8]) -> Result<usize> {
    let aligned = AlignedBytes::from_slice(bytes);
    let blob = Blob::from_bytes(&aligned).map_err(core_error("reading the model"))?;
    let header = blob.header();
    Ok(header.components as usize * header.networks as usize)
}

/// The mean of `before[i] - after[i]` and its standard error (the sample standard
/// deviation over the square root of the count).
fn mean_gain(before: &[f64], after: &[f64]) -> (f64, f64) {
    let gains: Vec<f64> = before.iter().zip(after).map(|(b, a)| b - a).collect();
    let n = gains.len().max(1) as f64;
    let mean = gains.iter().sum::<f64>() / n;
    let variance = gains.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (mean, (variance / n).sqrt())
}

/// The rows of `x`, `y` whose log-density under the blob is finite.
fn finite_rows(bytes: &[u8], x: &[f32], y: &[f32]) -> Result<(Vec<f32>, Vec<f32>)> {
    let aligned = AlignedBytes::from_slice(bytes);
    let model = HostModel::from_bytes(&aligned).map_err(core_error("reading the model"))?;
    let (f, d) = (
        model.header().input_dim as usize,
        model.header().output_dim as usize,
    );
    let log_probs = log_probs(&model, x, y)?;
    let (mut rows_x, mut rows_y) = (Vec::new(), Vec::new());
    for ((xs, ys), lp) in x.chunks(f).zip(y.chunks(d)).zip(log_probs) {
        if lp.is_finite() {
            rows_x.extend_from_slice(xs);
            rows_y.extend_from_slice(ys);
        }
    }
    Ok((rows_x, rows_y))
}

/// `ln p(y|x)` of every row, by mdn-core.
fn log_probs(model: &HostModel<'_>, x: &[f32], y: &[f32]) -> Result<Vec<f32>> {
    let d = model.header().output_dim as usize;
    let mut out = vec![0.0; y.len() / d.max(1)];
    model
        .log_prob_batch(x, y, &mut out)
        .map_err(core_error("evaluating the calibration rows"))?;
    Ok(out)
}

/// Mean NLL of the rows under `bytes` with `calibration`, as the device computes it.
fn mean_nll(bytes: &[u8], calibration: &Calibration, x: &[f32], y: &[f32]) -> Result<f64> {
    let nlls = row_nlls(bytes, calibration, x, y)?;
    Ok(nlls.iter().sum::<f64>() / nlls.len().max(1) as f64)
}

/// Each row's NLL under `bytes` with `calibration`, as the device computes it.
fn row_nlls(bytes: &[u8], calibration: &Calibration, x: &[f32], y: &[f32]) -> Result<Vec<f64>> {
    let calibrated = calibration.apply(bytes)?;
    let model = HostModel::from_bytes(&calibrated).map_err(core_error("reading the model"))?;
    let log_probs = log_probs(&model, x, y)?;
    Ok(log_probs.iter().map(|&lp| -f64::from(lp)).collect())
}

/// The minimum of `f` over `[-LOG_RANGE, LOG_RANGE]` by golden-section search: `(v, f(v))`.
fn golden_section(mut f: impl FnMut(f64) -> Result<f64>) -> Result<(f64, f64)> {
    let ratio = (5.0_f64.sqrt() - 1.0) / 2.0;
    let (mut lo, mut hi) = (-LOG_RANGE, LOG_RANGE);
    let mut a = hi - ratio * (hi - lo);
    let mut b = lo + ratio * (hi - lo);
    let (mut fa, mut fb) = (f(a)?, f(b)?);
    for _ in 0..GOLDEN_STEPS {
        // A NaN compares false: the bracket moves away from it.
        if fa < fb {
            hi = b;
            (b, fb) = (a, fa);
            a = hi - ratio * (hi - lo);
            fa = f(a)?;
        } else {
            lo = a;
            (a, fa) = (b, fb);
            b = lo + ratio * (hi - lo);
            fb = f(b)?;
        }
    }
    // The identity competes too: a fit never ends worse than no change.
    let identity = f(0.0)?;
    let (best, value) = if fa < fb { (a, fa) } else { (b, fb) };
    Ok(if identity <= value {
        (0.0, identity)
    } else {
        (best, value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_section_finds_a_parabola_minimum() {
        let (v, value) = golden_section(|v| Ok((v - 0.7) * (v - 0.7) + 1.0)).unwrap();
        assert!((v - 0.7).abs() < 1e-5, "{v}");
        assert!((value - 1.0).abs() < 1e-9);
    }

    #[test]
    fn a_calibrated_model_is_left_as_it_is() {
        let bytes = mdn_core::doc_example_blob();
        let model = HostModel::from_bytes(&bytes).unwrap();
        // The model's own samples: the identity is (about) optimal.
        let mut rng = rand_pcg::Pcg32::new(3, 1);
        let (mut x, mut y) = (Vec::new(), Vec::new());
        for i in 0..4000 {
            let xi = (i % 50) as f32 / 25.0 - 1.0;
            x.push(xi);
            y.push(model.mixture(&[xi]).unwrap().sample(&mut rng)[0]);
        }
        let found = fit(&bytes, &x, &y).unwrap();
        assert!(
            (found.calibration.sigma_scale[0] - 1.0).abs() < 0.05,
            "{found:?}"
        );
        assert!(found.nll_after <= found.nll_before);
        assert!(found.nll_before - found.nll_after < 2e-3, "{found:?}");
    }

    /// A golden model of 5 components (one network), and `rows` rows drawn from it with its
    /// mixing logits divided by 0.3.
    fn sharper_rows(rows: usize) -> (AlignedBytes, Vec<f32>, Vec<f32>) {
        let bytes = include_bytes!("../../tests/golden/relu_nnelu_1x32x32_k5.mdn");
        let bytes = AlignedBytes::from_slice(bytes);
        let sharp = Calibration {
            sigma_scale: vec![1.0],
            temperature: 0.3,
        };
        let sharp = sharp.apply(&bytes).unwrap();
        let model = HostModel::from_bytes(&sharp).unwrap();
        let mut rng = rand_pcg::Pcg32::new(5, 1);
        let (x, y) = (0..rows)
            .map(|i| {
                let xi = (i % 50) as f32 / 25.0 - 1.0;
                (xi, model.mixture(&[xi]).unwrap().sample(&mut rng)[0])
            })
            .unzip();
        (bytes, x, y)
    }

    #[test]
    fn the_temperature_needs_rows_for_every_component() {
        let (bytes, _, _) = sharper_rows(0);
        let floor = TEMPERATURE_ROWS_PER_COMPONENT * components(&bytes).unwrap();
        assert_eq!(floor, 100);
        // At the floor and above: the sharper mixing weights are found.
        for rows in [floor, 150] {
            let (bytes, x, y) = sharper_rows(rows);
            let found = fit(&bytes, &x, &y).unwrap();
            let temperature = found.calibration.temperature;
            assert!((0.25..0.4).contains(&temperature), "{rows}: {found:?}");
        }
        // One row short of it: only the sigma scale is fitted, although these rows alone
        // pass the other checks (measured: a temperature of 0.31 without the floor).
        let (bytes, x, y) = sharper_rows(floor - 1);
        assert_eq!(fit(&bytes, &x, &y).unwrap().calibration.temperature, 1.0);
    }

    #[test]
    fn wrong_sigma_scale_count_is_named() {
        let bytes = mdn_core::doc_example_blob();
        let two = Calibration::identity(2);
        let err = two.apply(&bytes).unwrap_err();
        assert!(
            err.to_string().contains("1 sigma scales, one per target"),
            "{err}"
        );
    }
}
