//! What one predictive distribution says beyond its mean: every mode, quantiles, central
//! intervals and the entropy, each computed by mdn-core (the device's numbers).
//!
//! These queries are one-dimensional: for a model with several targets
//! [`Summary::of`] returns `None` and `mdn predict` leaves them out (score each target's
//! marginal with [`crate::calibration::marginal`] if needed).

use mdn_core::Mixture;
use serde::{Serialize, Serializer};

use crate::calibration::LEVELS;

/// The probabilities whose quantiles are reported.
pub const QUANTILES: [f32; 5] = [0.05, 0.25, 0.5, 0.75, 0.95];

/// One mode: a local maximum of the density.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Peak {
    /// Location, original target units.
    pub y: f32,
    /// Density there, per original target unit.
    pub density: f32,
}

/// mdn-core's univariate queries of one predictive distribution.
///
/// Serialised as the `mdn predict --json` keys: `modes` (`[{"y", "density"}]`),
/// `quantiles` (`{"0.05": q, ..}`), `intervals` (`{"0.5": [lower, upper], ..}`) and
/// `entropy`.
///
/// # Examples
///
/// ```
/// use mdn_core::{Mixture, TargetTransform};
/// let m = Mixture::<1, 1>::new(&[0.0], &[2.0], &[0.5], 1, TargetTransform::Identity).unwrap();
/// let summary = mdn_train::summary::Summary::of(&m).unwrap().unwrap();
/// let json = serde_json::to_string(&summary).unwrap();
/// assert!(json.starts_with(r#"{"modes":[{"y":2.0,"density":0.7978846}],"quantiles":{"0.05":"#));
/// assert!(json.contains(r#""0.5":2.0,"#) && json.contains(r#""intervals":{"0.5":["#));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Every mode, sorted by location ([`Mixture::modes`]).
    pub modes: Vec<Peak>,
    /// Index into `modes` of the highest one.
    #[serde(skip)]
    pub highest: Option<usize>,
    /// `(p, quantile)` for each of [`QUANTILES`] ([`Mixture::quantile`]).
    #[serde(serialize_with = "by_level")]
    pub quantiles: Vec<(f32, f32)>,
    /// `(level, lower, upper)` for each central interval of [`LEVELS`]
    /// ([`Mixture::interval`]).
    #[serde(serialize_with = "intervals_by_level")]
    pub intervals: Vec<(f32, f32, f32)>,
    /// Differential entropy in nats ([`Mixture::entropy`]).
    pub entropy: f32,
}

/// `[(p, q)]` as the map `{"p": q}`.
fn by_level<S: Serializer>(values: &[(f32, f32)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(values.iter().map(|(p, q)| (p.to_string(), q)))
}

/// `[(level, lower, upper)]` as the map `{"level": [lower, upper]}`.
fn intervals_by_level<S: Serializer>(values: &[(f32, f32, f32)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_map(
        values
            .iter()
            .map(|(level, lo, hi)| (level.to_string(), [lo, hi])),
    )
}

impl Summary {
    /// Queries a one-dimensional mixture; `None` for several targets.
    ///
    /// # Errors
    ///
    /// mdn-core's errors, none of which a mixture from a validated model can produce.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<2, 1>::new(&[-0.693_147_2, -0.693_147_2], &[-3.0, 3.0], &[0.5, 0.5],
    ///     1, TargetTransform::Identity).unwrap();
    /// let s = mdn_train::summary::Summary::of(&m).unwrap().unwrap();
    /// assert_eq!(s.modes.len(), 2);
    /// assert!(s.quantiles[2].1.abs() < 1e-4);
    /// ```
    pub fn of<const K: usize, const D: usize>(
        mixture: &Mixture<K, D>,
    ) -> Result<Option<Self>, mdn_core::Error> {
        if mixture.dims() != 1 {
            return Ok(None);
        }
        let modes = mixture.modes()?;
        let quantiles = QUANTILES
            .iter()
            .map(|&p| mixture.quantile(p).map(|q| (p, q)))
            .collect::<Result<_, _>>()?;
        let intervals = LEVELS
            .iter()
            .map(|&l| mixture.interval(l).map(|i| (l, i.lower, i.upper)))
            .collect::<Result<_, _>>()?;
        Ok(Some(Summary {
            modes: modes
                .iter()
                .map(|m| Peak {
                    y: m.location,
                    density: m.density,
                })
                .collect(),
            highest: modes.highest_index(),
            quantiles,
            intervals,
            entropy: mixture.entropy()?,
        }))
    }

    /// Human-readable lines for `mdn predict`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Mixture, TargetTransform};
    /// let m = Mixture::<1, 1>::new(&[0.0], &[2.0], &[0.5], 1, TargetTransform::Identity).unwrap();
    /// let text = mdn_train::summary::Summary::of(&m).unwrap().unwrap().text();
    /// assert!(text.contains("modes") && text.contains("central 95%"));
    /// ```
    pub fn text(&self) -> String {
        let modes: Vec<String> = self
            .modes
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mark = if Some(i) == self.highest {
                    ", highest"
                } else {
                    ""
                };
                format!("{:.5} (density {:.5}{mark})", m.y, m.density)
            })
            .collect();
        let mut s = format!(
            "modes       {} of them: {}\n",
            self.modes.len(),
            modes.join(", ")
        );
        let quantiles: Vec<String> = self
            .quantiles
            .iter()
            .map(|(p, q)| format!("{p}: {q:.5}"))
            .collect();
        s += &format!("quantiles   {}\n", quantiles.join(", "));
        for (level, lo, hi) in &self.intervals {
            s += &format!(
                "central {:.0}% interval [{lo:.5}, {hi:.5}]\n",
                level * 100.0
            );
        }
        s += &format!("entropy     {:.5} nats\n", self.entropy);
        s
    }
}
