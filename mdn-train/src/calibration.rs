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
//! * **Proper scores of the intervals and quantiles.** The interval (Winkler) score of the
//!   central `L` interval `[l, u]`, `(u - l) + (2 / (1 - L)) (max(l - y, 0) + max(y - u, 0))`,
//!   rewards narrow intervals that hold `y`; the pinball loss of the `q` quantile `t`,
//!   `(y - t) (q - [y < t])`, is minimised in expectation by the true quantile. Both are in
//!   the units of `y`, lower is better. Sharpness is the mean width of the central 80 %
//!   interval: a calibrated model is best when it is narrowest.
//! * **CRPS** (continuous ranked probability score, [`mdn_core::Mixture::crps`]): the
//!   integral of `(F(t) - [t >= y])^2` over `t`, a proper score of the whole predictive
//!   distribution in the units of `y`, lower is better; for a point forecast it is the
//!   absolute error.
//! * **PIT KS.** The Kolmogorov-Smirnov distance of the PIT values from the uniform
//!   distribution: 0 for a perfectly calibrated model and many rows, about `1.36 / sqrt(n)`
//!   at the 5 % level by chance.
//!
//! For several targets, each target's marginal (the mixture of that dimension's components,
//! exact for a diagonal mixture) is scored and the figures pool all targets.

use mdn_core::Mixture;
use serde::ser::SerializeMap;

/// The central interval levels whose coverage is reported: 50, 80, 90 and 95 %.
pub const LEVELS: [f32; 4] = [0.5, 0.8, 0.9, 0.95];

/// The levels of [`LEVELS`] whose interval score is reported (`interval_score_80`, `_95`).
pub const SCORED_LEVELS: [usize; 2] = [1, 3];

/// The level of [`LEVELS`] whose mean width is reported as `sharpness_80`.
pub const SHARPNESS_LEVEL: usize = 1;

/// The quantiles whose pinball loss is reported (`pinball_05`, `_50`, `_95`).
pub const QUANTILES: [f32; 3] = [0.05, 0.5, 0.95];

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
    /// The observed value.
    pub y: f32,
    /// `F(y|x)`, the predicted marginal CDF at the observed value.
    pub pit: f32,
    /// The central interval `(lower, upper)` of each level of [`LEVELS`].
    pub intervals: [(f32, f32); LEVELS.len()],
    /// The predicted quantile at each probability of [`QUANTILES`].
    pub quantiles: [f32; QUANTILES.len()],
    /// The CRPS of the marginal at the observed value, in the units of `y`.
    pub crps: f32,
}

impl Score {
    /// Whether the central interval of each level of [`LEVELS`] holds the observed value.
    ///
    /// # Examples
    ///
    /// See [`score`].
    pub fn covered(&self) -> [bool; LEVELS.len()] {
        self.intervals.map(|(l, u)| l <= self.y && self.y <= u)
    }

    /// The interval (Winkler) score of the central interval of `LEVELS[level]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::calibration::Score;
    /// let s = Score { y: 3.0, pit: 0.9, intervals: [(-1.0, 1.0); 4], quantiles: [0.0; 3], crps: 0.0 };
    /// // The 80 % interval [-1, 1] misses 3 by 2: width 2 + (2 / 0.2) * 2.
    /// assert!((s.interval_score(1) - 22.0).abs() < 1e-9);
    /// ```
    pub fn interval_score(&self, level: usize) -> f64 {
        let (Some(&(l, u)), Some(&a)) = (self.intervals.get(level), LEVELS.get(level)) else {
            return f64::NAN;
        };
        let (l, u, y) = (f64::from(l), f64::from(u), f64::from(self.y));
        // The level as the percentage it names: 0.8_f32 is 0.800000011920929 in f64.
        let alpha = 1.0 - (f64::from(a) * 100.0).round() / 100.0;
        (u - l) + 2.0 / alpha * ((l - y).max(0.0) + (y - u).max(0.0))
    }

    /// The pinball loss of the quantile at `QUANTILES[q]`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::calibration::Score;
    /// let s = Score { y: 1.0, pit: 0.5, intervals: [(0.0, 0.0); 4], quantiles: [0.0, 2.0, 0.0], crps: 0.0 };
    /// // The median 2 is above y = 1: (1 - 2) (0.5 - 1).
    /// assert!((s.pinball(1) - 0.5).abs() < 1e-9);
    /// ```
    pub fn pinball(&self, q: usize) -> f64 {
        let (Some(&t), Some(&p)) = (self.quantiles.get(q), QUANTILES.get(q)) else {
            return f64::NAN;
        };
        let (t, y) = (f64::from(t), f64::from(self.y));
        let below = if y < t { 1.0 } else { 0.0 };
        // The probability as the percentage it names (0.05_f32 is not 0.05 in f64).
        let p = (f64::from(p) * 100.0).round() / 100.0;
        (y - t) * (p - below)
    }
}

/// Scores every target of `y` against its marginal in `mixture`.
///
/// # Errors
///
/// mdn-core's errors of `cdf`, `interval` and `quantile` (a wrong length or a non-finite
/// `y`).
///
/// # Examples
///
/// ```
/// use mdn_core::{Mixture, TargetTransform};
/// let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity).unwrap();
/// let s = mdn_train::calibration::score(&m, &[1.0]).unwrap();
/// assert!((s[0].pit - 0.841_344_7).abs() < 1e-6);
/// // 1.0 is outside the central 50 % interval (+-0.674) and inside the others (+-1.28 ...).
/// assert_eq!(s[0].covered(), [false, true, true, true]);
/// assert!(s[0].quantiles[1].abs() < 1e-6);
/// ```
pub fn score<const K: usize, const D: usize>(
    mixture: &Mixture<K, D>,
    y: &[f32],
) -> Result<Vec<Score>, mdn_core::Error> {
    let cdf = mixture.cdf(y)?;
    let crps = mixture.crps(y)?;
    let mut scores = Vec::with_capacity(y.len());
    for (d, ((&value, &pit), &crps)) in y.iter().zip(cdf.iter()).zip(crps.iter()).enumerate() {
        let m = marginal(mixture, d)?;
        let mut intervals = [(0.0, 0.0); LEVELS.len()];
        for (bounds, &level) in intervals.iter_mut().zip(&LEVELS) {
            let i = m.interval(level)?;
            *bounds = (i.lower, i.upper);
        }
        let mut quantiles = [0.0; QUANTILES.len()];
        for (t, &p) in quantiles.iter_mut().zip(&QUANTILES) {
            *t = m.quantile(p)?;
        }
        scores.push(Score {
            y: value,
            pit,
            intervals,
            quantiles,
            crps,
        });
    }
    Ok(scores)
}

/// The PIT histogram bin of `u`: `floor(u * bins)`, with `u = 1` in the last bin.
fn bin(u: f32) -> usize {
    // `as` saturates: a (never expected) NaN or negative value lands in bin 0.
    ((u * PIT_BINS as f32) as usize).min(PIT_BINS - 1)
}

/// Coverage, PIT and interval and quantile scores accumulated over rows.
///
/// Serialises as the `mdn eval --json` keys `coverage_50`, `coverage_80`, `coverage_90`,
/// `coverage_95` (fractions of values inside the central interval), `pit_histogram`
/// (fraction of values per bin, [`PIT_BINS`] bins), `pit_ks`, `crps`, `interval_score_80`,
/// `interval_score_95`, `pinball_05`, `pinball_50`, `pinball_95` and `sharpness_80` (means
/// over the values); all `null` without values.
///
/// # Examples
///
/// ```
/// use mdn_train::calibration::{Calibration, Score};
/// let score = |y: f32, pit: f32| Score { y, pit, intervals: [(-1.0, 1.0); 4], quantiles: [-1.0, 0.0, 1.0], crps: 0.0 };
/// let mut c = Calibration::default();
/// c.add(&score(3.0, 0.05));
/// c.add(&score(0.5, 0.55));
/// assert_eq!(c.coverage(), Some([0.5, 0.5, 0.5, 0.5]));
/// assert_eq!(c.pit_histogram().unwrap()[0], 0.5);
/// let json = serde_json::to_value(&c).unwrap();
/// assert_eq!(json["coverage_95"], 0.5);
/// assert_eq!(json["sharpness_80"], 2.0);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calibration {
    values: usize,
    covered: [usize; LEVELS.len()],
    pit_counts: [usize; PIT_BINS],
    pits: Vec<f32>,
    interval_scores: [f64; SCORED_LEVELS.len()],
    pinball: [f64; QUANTILES.len()],
    width: f64,
    crps: f64,
}

impl Calibration {
    /// Adds one scored value.
    ///
    /// # Examples
    ///
    /// See [`Calibration`].
    pub fn add(&mut self, score: &Score) {
        self.values += 1;
        for (count, inside) in self.covered.iter_mut().zip(score.covered()) {
            *count += usize::from(inside);
        }
        if let Some(count) = self.pit_counts.get_mut(bin(score.pit)) {
            *count += 1;
        }
        self.pits.push(score.pit);
        for (sum, &level) in self.interval_scores.iter_mut().zip(&SCORED_LEVELS) {
            *sum += score.interval_score(level);
        }
        for (q, sum) in self.pinball.iter_mut().enumerate() {
            *sum += score.pinball(q);
        }
        let (l, u) = score.intervals[SHARPNESS_LEVEL];
        self.width += f64::from(u) - f64::from(l);
        self.crps += f64::from(score.crps);
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

    /// The Kolmogorov-Smirnov distance of the PIT values from the uniform distribution,
    /// `max_i max(i / n - u_(i), u_(i) - (i - 1) / n)` over the sorted values; `None`
    /// without values.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::calibration::{Calibration, Score};
    /// let mut c = Calibration::default();
    /// for pit in [0.1, 0.2, 0.3, 0.4] {
    ///     c.add(&Score { y: 0.0, pit, intervals: [(0.0, 0.0); 4], quantiles: [0.0; 3], crps: 0.0 });
    /// }
    /// // The empirical CDF reaches 1 at 0.4, where the uniform is at 0.4.
    /// assert!((c.pit_ks().unwrap() - 0.6).abs() < 1e-6);
    /// ```
    pub fn pit_ks(&self) -> Option<f64> {
        let mut pits: Vec<f64> = self.pits.iter().map(|&u| f64::from(u)).collect();
        pits.sort_by(f64::total_cmp);
        let n = pits.len() as f64;
        pits.iter()
            .enumerate()
            .map(|(i, &u)| ((i + 1) as f64 / n - u).max(u - i as f64 / n))
            .reduce(f64::max)
    }

    /// Mean interval score of each level of [`SCORED_LEVELS`]; `None` without values.
    ///
    /// # Examples
    ///
    /// See [`Score::interval_score`].
    pub fn interval_scores(&self) -> Option<[f64; SCORED_LEVELS.len()]> {
        self.mean_of(self.interval_scores)
    }

    /// Mean pinball loss of each quantile of [`QUANTILES`]; `None` without values.
    ///
    /// # Examples
    ///
    /// See [`Score::pinball`].
    pub fn pinball(&self) -> Option<[f64; QUANTILES.len()]> {
        self.mean_of(self.pinball)
    }

    /// Mean width of the central interval of `LEVELS[SHARPNESS_LEVEL]` (80 %); `None`
    /// without values.
    ///
    /// # Examples
    ///
    /// See [`Calibration`].
    pub fn sharpness(&self) -> Option<f64> {
        self.mean_of([self.width]).map(|[w]| w)
    }

    /// Mean CRPS; `None` without values.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::calibration::{Calibration, Score};
    /// let mut c = Calibration::default();
    /// let s = |crps: f32| Score { y: 0.0, pit: 0.5, intervals: [(-1.0, 1.0); 4], quantiles: [0.0; 3], crps };
    /// c.add(&s(0.25));
    /// c.add(&s(0.75));
    /// assert_eq!(c.crps(), Some(0.5));
    /// ```
    pub fn crps(&self) -> Option<f64> {
        self.mean_of([self.crps]).map(|[c]| c)
    }

    fn mean_of<const N: usize>(&self, sums: [f64; N]) -> Option<[f64; N]> {
        (self.values > 0).then(|| sums.map(|s| s / self.values as f64))
    }

    /// Every figure by its `mdn eval --json` key, in order (see [`Calibration`]).
    ///
    /// # Examples
    ///
    /// ```
    /// let c = mdn_train::calibration::Calibration::default();
    /// let keys: Vec<String> = c.figures().into_iter().map(|(k, _)| k).collect();
    /// assert_eq!(keys[0], "coverage_50");
    /// assert!(keys.contains(&"pit_ks".to_string()));
    /// ```
    pub fn figures(&self) -> Vec<(String, serde_json::Value)> {
        let json = |v: Option<f64>| serde_json::json!(v);
        let percent = |p: f32| format!("{:02.0}", f64::from(p) * 100.0);
        let coverage = self.coverage();
        let mut figures: Vec<(String, serde_json::Value)> = LEVELS
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                (
                    format!("coverage_{}", percent(l)),
                    json(coverage.map(|c| c[i])),
                )
            })
            .collect();
        figures.push((
            "pit_histogram".into(),
            serde_json::json!(self.pit_histogram()),
        ));
        figures.push(("pit_ks".into(), json(self.pit_ks())));
        figures.push(("crps".into(), json(self.crps())));
        let scores = self.interval_scores();
        for (i, &level) in SCORED_LEVELS.iter().enumerate() {
            let key = format!("interval_score_{}", percent(LEVELS[level]));
            figures.push((key, json(scores.map(|s| s[i]))));
        }
        let pinball = self.pinball();
        for (i, &q) in QUANTILES.iter().enumerate() {
            figures.push((
                format!("pinball_{}", percent(q)),
                json(pinball.map(|p| p[i])),
            ));
        }
        let key = format!("sharpness_{}", percent(LEVELS[SHARPNESS_LEVEL]));
        figures.push((key, json(self.sharpness())));
        figures
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
    /// let s = Score { y: 0.0, pit: 0.5, intervals: [(-1.0, 1.0); 4], quantiles: [0.0; 3], crps: 0.0 };
    /// for _ in 0..100 { c.add(&s); }
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
    /// c.add(&Score { y: 0.0, pit: 0.3, intervals: [(-1.0, 1.0); 4], quantiles: [0.0; 3], crps: 0.0 });
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
        if let Some(ks) = self.pit_ks() {
            s += &format!(
                "  PIT KS distance from uniform {ks:.4} (by chance about {:.4} or less)\n",
                1.36 / (self.values as f64).sqrt()
            );
        }
        if let (Some(i), Some(p), Some(w)) =
            (self.interval_scores(), self.pinball(), self.sharpness())
        {
            s += &format!(
                "scores (units of y, lower is better): CRPS {:.4}; interval score 80% {:.4}, \
                 95% {:.4}; pinball 5% {:.4}, 50% {:.4}, 95% {:.4}; sharpness (mean 80% width) \
                 {w:.4}\n",
                self.crps().unwrap_or(f64::NAN),
                i[0],
                i[1],
                p[0],
                p[1],
                p[2]
            );
        }
        s
    }
}

impl serde::Serialize for Calibration {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let figures = self.figures();
        let mut map = serializer.serialize_map(Some(figures.len()))?;
        for (key, value) in &figures {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// Each target's [`Calibration`], serialised as `<key>_per_target` arrays (one value per
/// target) when there are several targets, and as nothing for one (the pooled keys say it
/// all).
///
/// # Examples
///
/// ```
/// use mdn_train::calibration::{Calibration, PerTarget};
/// let one = serde_json::to_value(PerTarget(vec![Calibration::default()])).unwrap();
/// assert!(one.as_object().unwrap().is_empty());
/// let two = serde_json::to_value(PerTarget(vec![Calibration::default(); 2])).unwrap();
/// assert_eq!(two["pit_ks_per_target"].as_array().unwrap().len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PerTarget(pub Vec<Calibration>);

impl serde::Serialize for PerTarget {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.0.len() < 2 {
            return serializer.serialize_map(Some(0))?.end();
        }
        let per_target: Vec<Vec<(String, serde_json::Value)>> =
            self.0.iter().map(Calibration::figures).collect();
        let keys = per_target.first().map(Vec::len).unwrap_or(0);
        let mut map = serializer.serialize_map(Some(keys))?;
        for k in 0..keys {
            let key = format!("{}_per_target", per_target[0][k].0);
            let values: Vec<&serde_json::Value> = per_target.iter().map(|f| &f[k].1).collect();
            map.serialize_entry(&key, &values)?;
        }
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
            [
                "coverage_50",
                "coverage_80",
                "coverage_90",
                "coverage_95",
                "crps",
                "interval_score_80",
                "interval_score_95",
                "pinball_05",
                "pinball_50",
                "pinball_95",
                "pit_histogram",
                "pit_ks",
                "sharpness_80"
            ]
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
