//! Calibration: whether predicted probabilities come true as often as they claim.
//!
//! Two views of the same question, both computed by mdn-core from the blob:
//!
//! * **Coverage.** The central `L` interval ([`mdn_core::Mixture::interval`]) of a calibrated
//!   model holds the observed `y` in a fraction `L` of the rows, within the binomial
//!   noise `sqrt(L (1 - L) / n)`.
//! * **PIT** (probability integral transform). `u = F(y|x)`, the predicted CDF at the
//!   observed value ([`mdn_core::Mixture::cdf`]), is uniform on `[0, 1]` for a calibrated
//!   model; its histogram is flat at `1 / bins`. Too much mass at both ends means the
//!   densities are too narrow (overconfident), a hump in the middle that they are too wide,
//!   a slope that they are biased.
//!
//! For several targets, each target's marginal (the mixture of that dimension's components,
//! exact for a diagonal mixture) is scored and the figures pool all targets.

use mdn_core::Mixture;
use serde::ser::SerializeMap;

/// The central interval levels whose coverage is reported: 50, 80 and 95 %.
pub const LEVELS: [f32; 3] = [0.5, 0.8, 0.95];

/// Bins of the PIT histogram, equal width on `[0, 1]`.
pub const PIT_BINS: usize = 10;

/// The marginal of target `d`: the mixture with the same weights and component `k`'s mean
/// and sigma of dimension `d` (for a diagonal mixture, the exact marginal density).
///
/// # Errors
///
/// [`mdn_core::Error::EmptyDimension`] for a `d` out of range; the value errors of
/// [`Mixture::new`] for a mixture whose means or sigmas of dimension `d` are not finite, or
/// whose sigmas are zero (a model's can underflow without a sigma floor).
///
/// # Examples
///
/// ```
/// use mdn_core::{Mixture, TargetTransform};
/// let m = Mixture::<2, 2>::new(&[-0.693_147_2, -0.693_147_2], &[0.0, 10.0, 1.0, 20.0], &[1.0, 2.0, 1.0, 2.0],
///     2, TargetTransform::Identity).unwrap();
/// let second = mdn_train::calibration::marginal(&m, 1).unwrap();
/// assert_eq!(second.component(1).unwrap().means, &[20.0]);
/// ```
pub fn marginal<const K: usize, const D: usize>(
    mixture: &Mixture<K, D>,
    d: usize,
) -> Result<Mixture<K, 1>, mdn_core::Error> {
    let pick = |values: &[f32]| values.get(d).copied();
    let means: Option<Vec<f32>> = mixture.iter().map(|c| pick(c.means)).collect();
    let sigmas: Option<Vec<f32>> = mixture.iter().map(|c| pick(c.sigmas)).collect();
    let (Some(means), Some(sigmas)) = (means, sigmas) else {
        return Err(mdn_core::Error::EmptyDimension {
            what: mdn_core::Dimension::Outputs,
        });
    };
    Mixture::new(
        mixture.log_weights(),
        &means,
        &sigmas,
        1,
        mixture.transform(),
    )
}

/// One observed target value scored against its predicted marginal.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// `F(y|x)`, the predicted marginal CDF at the observed value.
    pub pit: f32,
    /// Whether each central interval of [`LEVELS`] holds the observed value.
    pub covered: [bool; LEVELS.len()],
}

/// Scores every target of `y` against its marginal in `mixture`.
///
/// # Errors
///
/// mdn-core's errors of `cdf` and `interval` (a wrong length or a non-finite `y`).
///
/// # Examples
///
/// ```
/// use mdn_core::{Mixture, TargetTransform};
/// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity).unwrap();
/// let s = mdn_train::calibration::score(&m, &[1.0]).unwrap();
/// assert!((s[0].pit - 0.841_344_7).abs() < 1e-6);
/// // 1.0 is outside the central 50 % interval (+-0.674) and inside the 80 and 95 % ones.
/// assert_eq!(s[0].covered, [false, true, true]);
/// ```
pub fn score<const K: usize, const D: usize>(
    mixture: &Mixture<K, D>,
    y: &[f32],
) -> Result<Vec<Score>, mdn_core::Error> {
    let cdf = mixture.cdf(y)?;
    let mut scores = Vec::with_capacity(y.len());
    for (d, (&value, &pit)) in y.iter().zip(cdf.iter()).enumerate() {
        let m = marginal(mixture, d)?;
        let mut covered = [false; LEVELS.len()];
        for (c, &level) in covered.iter_mut().zip(&LEVELS) {
            *c = m.interval(level)?.contains(value);
        }
        scores.push(Score { pit, covered });
    }
    Ok(scores)
}

/// The PIT histogram bin of `u`: `floor(u * bins)`, with `u = 1` in the last bin.
fn bin(u: f32) -> usize {
    // `as` saturates: a (never expected) NaN or negative value lands in bin 0.
    ((u * PIT_BINS as f32) as usize).min(PIT_BINS - 1)
}

/// Coverage and PIT counts accumulated over rows.
///
/// Serialises as the `mdn eval --json` keys `coverage_50`, `coverage_80`, `coverage_95`
/// (fractions of values inside the central interval) and `pit_histogram` (fraction of
/// values per bin, [`PIT_BINS`] bins); all `null` without values.
///
/// # Examples
///
/// ```
/// use mdn_train::calibration::{Calibration, Score};
/// let mut c = Calibration::default();
/// c.add(&Score { pit: 0.05, covered: [false, false, true] });
/// c.add(&Score { pit: 0.55, covered: [true, true, true] });
/// assert_eq!(c.coverage(), Some([0.5, 0.5, 1.0]));
/// assert_eq!(c.pit_histogram().unwrap()[0], 0.5);
/// let json = serde_json::to_value(&c).unwrap();
/// assert_eq!(json["coverage_95"], 1.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calibration {
    values: usize,
    covered: [usize; LEVELS.len()],
    pit_counts: [usize; PIT_BINS],
}

impl Calibration {
    /// Adds one scored value.
    ///
    /// # Examples
    ///
    /// See [`Calibration`].
    pub fn add(&mut self, score: &Score) {
        self.values += 1;
        for (count, &inside) in self.covered.iter_mut().zip(&score.covered) {
            *count += usize::from(inside);
        }
        if let Some(count) = self.pit_counts.get_mut(bin(score.pit)) {
            *count += 1;
        }
    }

    /// Number of scored values (rows times targets).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_train::calibration::Calibration::default().values(), 0);
    /// ```
    pub fn values(&self) -> usize {
        self.values
    }

    /// Fraction of values inside each central interval of [`LEVELS`]; `None` without values.
    ///
    /// # Examples
    ///
    /// See [`Calibration`].
    pub fn coverage(&self) -> Option<[f64; LEVELS.len()]> {
        (self.values > 0).then(|| self.covered.map(|c| c as f64 / self.values as f64))
    }

    /// Fraction of values in each PIT bin; `None` without values.
    ///
    /// # Examples
    ///
    /// See [`Calibration`].
    pub fn pit_histogram(&self) -> Option<[f64; PIT_BINS]> {
        (self.values > 0).then(|| self.pit_counts.map(|c| c as f64 / self.values as f64))
    }

    /// Two binomial standard errors of a fraction `p` estimated from [`Calibration::values`]
    /// independent values: how far a calibrated model strays by chance (about 95 % of the
    /// time).
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::calibration::{Calibration, Score};
    /// let mut c = Calibration::default();
    /// for _ in 0..100 { c.add(&Score { pit: 0.5, covered: [true; 3] }); }
    /// assert!((c.chance_band(0.5) - 0.1).abs() < 1e-12);
    /// ```
    pub fn chance_band(&self, p: f64) -> f64 {
        2.0 * (p * (1.0 - p) / self.values.max(1) as f64).sqrt()
    }

    /// Human-readable lines: each coverage against its nominal level, and the histogram.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::calibration::{Calibration, Score};
    /// let mut c = Calibration::default();
    /// c.add(&Score { pit: 0.3, covered: [true; 3] });
    /// assert!(c.text().contains("central 50% interval holds 100.0%"));
    /// ```
    pub fn text(&self) -> String {
        let (Some(coverage), Some(histogram)) = (self.coverage(), self.pit_histogram()) else {
            return "calibration: no values\n".into();
        };
        let mut s = String::from("calibration (mdn-core intervals and CDF):\n");
        for (&level, &c) in LEVELS.iter().zip(&coverage) {
            let level = f64::from(level);
            s += &format!(
                "  central {:.0}% interval holds {:.1}% of the values (calibrated: {:.0}% +- {:.1}% by chance)\n",
                level * 100.0,
                c * 100.0,
                level * 100.0,
                self.chance_band(level) * 100.0
            );
        }
        let bins: Vec<String> = histogram.iter().map(|f| format!("{f:.3}")).collect();
        s += &format!(
            "  PIT histogram ({PIT_BINS} bins, flat at {:.3} when calibrated): {}\n",
            1.0 / PIT_BINS as f64,
            bins.join(" ")
        );
        s
    }
}

impl serde::Serialize for Calibration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let coverage = self.coverage();
        let mut map = serializer.serialize_map(Some(LEVELS.len() + 1))?;
        for (i, level) in LEVELS.iter().enumerate() {
            let key = format!("coverage_{:.0}", f64::from(*level) * 100.0);
            map.serialize_entry(&key, &coverage.map(|c| c[i]))?;
        }
        map.serialize_entry("pit_histogram", &self.pit_histogram())?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_the_unit_interval() {
        assert_eq!(bin(0.0), 0);
        assert_eq!(bin(0.099_999), 0);
        assert_eq!(bin(0.1), 1);
        assert_eq!(bin(0.95), 9);
        assert_eq!(bin(1.0), 9);
        assert_eq!(bin(f32::NAN), 0);
    }

    #[test]
    fn json_keys_are_the_documented_ones() {
        let json = serde_json::to_value(Calibration::default()).unwrap();
        let mut keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["coverage_50", "coverage_80", "coverage_95", "pit_histogram"]
        );
        assert!(json["coverage_50"].is_null());
    }

    #[test]
    fn marginal_of_a_one_dimensional_mixture_is_itself() {
        let m = Mixture::<2, 1>::new(
            &[0.3_f32.ln(), 0.7_f32.ln()],
            &[-1.0, 1.0],
            &[0.1, 0.5],
            1,
            mdn_core::TargetTransform::Identity,
        )
        .unwrap();
        assert_eq!(marginal(&m, 0).unwrap(), m);
        assert!(marginal(&m, 1).is_err());
    }
}
