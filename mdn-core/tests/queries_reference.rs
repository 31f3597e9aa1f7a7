//! mdn-core's one-dimensional queries against an independent float64 reference:
//! `tests/reference/mdn_queries_reference.py` (standard-library Python, other methods: see
//! its docstring), whose output and full source are in `reference/queries_f64.rs`.
//!
//! Run with `--nocapture` to see the measured errors; the tolerances below are the
//! accuracy the crate documents.
//!
//! # Tolerances and why
//!
//! - CDF: `|F - F_ref| <= 3e-7`. `F` sums `K` rounded terms near at most 1 (`f32` ulp
//!   6e-8 below 1), each from an `erfcf` good to about 1 ulp.
//! - Quantiles, in probability space: the tail mass `m` (`p`, or `1 - p` above the median)
//!   at the returned `q`, recomputed in float64 with `libm::erfc`, satisfies
//!   `|m(q) - m| <= 2e-7 + 2e-6 m + f(t) ulp(t)`, with `t = q` (`ln q` for a log target,
//!   where the density `f` is that of `ln y`, and twice the term: the test's `ln q` rounds
//!   once more). The last term is `f32` itself: no `f32` lies closer to the exact quantile
//!   than half an ulp, and the probability between two neighbours is the density times
//!   their spacing (it dominates only where `|mu| / sigma` is in the hundreds or more, the
//!   `offset` mixture). `2e-6 m` is the relative accuracy of the tails.
//! - Modes: the same number as the reference; locations within `1e-5 s_min` (`s_min` in
//!   units of `ln y` times `y` for a log target) plus 2 ulps, densities within `1e-5`
//!   relative.
//! - Entropy: `2e-6` absolute, for any ratio of sigmas (the scale-ordered decomposition of
//!   `-p ln p`: a component 100 times narrower inside a wide one costs nothing).
//! - KL and Hellinger: `1e-6 + 1e-5` relative, except where either mixture has a
//!   component inside one many times wider ([`multi_scale`]) and the other does not: the
//!   wide component's grid (step `0.125` of its sigma) cannot resolve the narrow one's
//!   peak in `ln p - ln q`, and the error grows with the ratio of the sigmas. The limits
//!   there are the measured errors, rounded up. Two mixtures of the same multi-scale shape
//!   (`narrow_wide` and `narrow_wide_moved`, whose narrow peaks are half a narrow sigma
//!   apart) are no better: the peaks of `ln p` and `ln q` do not cancel.
//! - Total variation: `2e-7` absolute (crossing points, not quadrature), in every case.

// Generated: kept exactly as the script writes it.
#[rustfmt::skip]
#[path = "reference/queries_f64.rs"]
mod reference;

use mdn_core::{Mixture, TargetTransform};
use reference::{MIXTURES, PAIRS, RefMixture, SCRIPT};

type Mix = Mixture<8, 1>;

fn exact_f32(value: f64) -> f32 {
    let single = value as f32;
    assert_eq!(f64::from(single), value, "{value} is not an f32");
    single
}

/// `max_k |mu_k| / sigma_k`: above about 100, `f32` spacing near the answers dominates.
fn conditioning(r: &RefMixture) -> f64 {
    r.means
        .iter()
        .zip(r.sigmas)
        .map(|(m, s)| m.abs() / s)
        .fold(0.0, f64::max)
}

fn build(r: &RefMixture) -> Mix {
    let f = |v: &[f64]| v.iter().map(|&x| exact_f32(x)).collect::<Vec<_>>();
    let transform = if r.log_target {
        TargetTransform::Log
    } else {
        TargetTransform::Identity
    };
    Mix::new(&f(r.log_weights), &f(r.means), &f(r.sigmas), 1, transform).unwrap()
}

/// Lower and upper tail mass of the reference mixture at `y`, in float64 (musl's `erfc`).
fn tails(r: &RefMixture, y: f64) -> (f64, f64) {
    if r.log_target && y <= 0.0 {
        return (0.0, 1.0);
    }
    let t = if r.log_target { y.ln() } else { y };
    let mut lower = 0.0;
    let mut upper = 0.0;
    for ((&lw, &mu), &sigma) in r.log_weights.iter().zip(r.means).zip(r.sigmas) {
        let z = (t - mu) / (sigma * std::f64::consts::SQRT_2);
        lower += lw.exp() * 0.5 * libm::erfc(-z);
        upper += lw.exp() * 0.5 * libm::erfc(z);
    }
    (lower, upper)
}

/// The probability between neighbouring `f32` values at the answer `q`, in the space the
/// solver works in: `f(q) ulp(q)`, or `2 f_T(ln q) ulp(ln q)` for a log target.
fn resolution(r: &RefMixture, q: f32, density: f64) -> f64 {
    if r.log_target {
        let t = (f64::from(q)).ln() as f32;
        2.0 * density * f64::from(q) * ulp(t)
    } else {
        density * ulp(q)
    }
}

/// Spacing of `f32` values at `v`.
fn ulp(v: f32) -> f64 {
    let bits = v.abs().to_bits();
    f64::from(f32::from_bits(bits + 1)) - f64::from(f32::from_bits(bits))
}

/// Measured quadrature limits for mixtures with a component 10, 20 or 100 times narrower
/// than one it lies inside: `(KL, Hellinger)`, absolute.
fn multi_scale(name: &str) -> Option<(f64, f64)> {
    match name {
        "ratio10" => Some((1e-4, 3e-4)),
        "ratio20" => Some((1.5e-2, 1.5e-3)),
        "narrow_wide" | "narrow_wide_moved" => Some((0.3, 5e-2)),
        _ => None,
    }
}

#[derive(Debug, Default)]
struct Worst {
    value: f64,
    at: String,
}

impl Worst {
    fn see(&mut self, err: f64, at: impl FnOnce() -> String) {
        if err > self.value || err.is_nan() {
            self.value = err;
            self.at = at();
        }
    }
}

#[test]
fn embedded_script_is_the_generator() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/reference/mdn_queries_reference.py"
    );
    let script = std::fs::read_to_string(path).expect("the reference script");
    assert!(
        script == SCRIPT,
        "reference/queries_f64.rs is stale: run python3 tests/reference/mdn_queries_reference.py"
    );
}

#[test]
fn cdf_matches_reference() {
    let mut worst = Worst::default();
    for r in MIXTURES {
        let m = build(r);
        for &(y, expected) in r.cdf {
            let got = f64::from(m.cdf(&[exact_f32(y)]).unwrap()[0]);
            let err = (got - expected).abs();
            assert!(
                err <= 3e-7,
                "{}: F({y}) = {got}, reference {expected}",
                r.name
            );
            worst.see(err, || format!("{} y = {y}", r.name));
        }
    }
    println!("cdf: max |F - F_ref| = {:.2e} ({})", worst.value, worst.at);
}

#[test]
fn quantiles_are_accurate_in_probability_space() {
    let mut worst_abs = Worst::default();
    let mut worst_rel = Worst::default();
    let mut worst_ratio = Worst::default();
    for r in MIXTURES {
        let m = build(r);
        for &(p, q_ref, density) in r.quantiles {
            let p32 = exact_f32(p);
            let q = m.quantile(p32).unwrap();
            let (lower, upper) = tails(r, f64::from(q));
            // The tail the solver works in, and its target mass (1 - p is exact in f64).
            let (mass, target) = if p <= 0.5 {
                (lower, p)
            } else {
                (upper, 1.0 - p)
            };
            let err = (mass - target).abs();
            let tolerance = 2e-7 + 2e-6 * target + resolution(r, q, density);
            assert!(
                err <= tolerance,
                "{}: quantile({p}) = {q} (reference {q_ref}): tail mass {mass:e}, target \
                 {target:e}, error {err:e} > {tolerance:e}",
                r.name
            );
            worst_ratio.see(err / tolerance, || format!("{} p = {p}", r.name));
            if conditioning(r) < 100.0 {
                worst_abs.see(err, || format!("{} p = {p}", r.name));
                worst_rel.see(err / target, || format!("{} p = {p}", r.name));
            }
        }
    }
    println!(
        "quantile: max |m(q) - m| = {:.2e} ({}), max relative {:.2e} ({}) where \
         |mu| / sigma < 100; max error / tolerance {:.2} ({})",
        worst_abs.value,
        worst_abs.at,
        worst_rel.value,
        worst_rel.at,
        worst_ratio.value,
        worst_ratio.at
    );
}

#[test]
fn intervals_hold_their_level() {
    let mut worst = Worst::default();
    for r in MIXTURES {
        let m = build(r);
        for level in [0.5_f32, 0.8, 0.95, 0.99, 0.999_999] {
            let i = m.interval(level).unwrap();
            let alpha = 0.5 * (1.0 - f64::from(level));
            let (below, _) = tails(r, f64::from(i.lower));
            let (_, above) = tails(r, f64::from(i.upper));
            for (mass, q) in [(below, i.lower), (above, i.upper)] {
                let density = mixture_density(r, f64::from(q));
                let err = (mass - alpha).abs();
                let tolerance = 2e-7 + 2e-6 * alpha + resolution(r, q, density);
                assert!(
                    err <= tolerance,
                    "{}: interval({level}) = {i:?}: tail {mass:e}, expected {alpha:e}",
                    r.name
                );
                worst.see(err / tolerance, || format!("{} level {level}", r.name));
            }
            assert!(i.lower <= i.upper, "{}: {i:?}", r.name);
        }
    }
    println!(
        "interval: max error / tolerance {:.2} ({})",
        worst.value, worst.at
    );
}

/// Density of the reference mixture at `y` in original units, float64.
fn mixture_density(r: &RefMixture, y: f64) -> f64 {
    if r.log_target && y <= 0.0 {
        return 0.0;
    }
    let t = if r.log_target { y.ln() } else { y };
    let mut sum = 0.0;
    for ((&lw, &mu), &sigma) in r.log_weights.iter().zip(r.means).zip(r.sigmas) {
        let z = (t - mu) / sigma;
        sum += lw.exp() * (-0.5 * z * z).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt());
    }
    if r.log_target { sum / y } else { sum }
}

#[test]
fn modes_match_reference() {
    let mut worst_location = Worst::default();
    let mut worst_density = Worst::default();
    for r in MIXTURES {
        let m = build(r);
        let modes = m.modes().unwrap();
        assert_eq!(
            modes.len(),
            r.modes.len(),
            "{}: modes {:?}, reference {:?}",
            r.name,
            modes.as_slice(),
            r.modes
        );
        let s_min = r.sigmas.iter().copied().fold(f64::INFINITY, f64::min);
        for (mode, &(location, density)) in modes.iter().zip(r.modes) {
            // For a log target s_min is in units of ln y: times y in units of y.
            let scale = if r.log_target {
                s_min * location
            } else {
                s_min
            };
            let err = (f64::from(mode.location) - location).abs();
            let tolerance = 1e-5 * scale + 2.0 * ulp(mode.location);
            assert!(
                err <= tolerance,
                "{}: mode at {} (reference {location}), error {err:e} > {tolerance:e}",
                r.name,
                mode.location
            );
            if conditioning(r) < 100.0 {
                worst_location.see(err / scale, || format!("{} at {location}", r.name));
            }
            let rel = (f64::from(mode.density) - density).abs() / density;
            assert!(
                rel <= 1e-5,
                "{}: density {} at the mode, reference {density}",
                r.name,
                mode.density
            );
            worst_density.see(rel, || format!("{} at {location}", r.name));
        }
        let highest = modes.highest_index().unwrap();
        let best = r
            .modes
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.1.total_cmp(&b.1.1))
            .map(|(i, _)| i)
            .unwrap();
        // Equal heights (symmetric mixtures) may pick either.
        if (r.modes[highest].1 - r.modes[best].1).abs() > 1e-6 * r.modes[best].1 {
            panic!("{}: highest mode {highest}, reference {best}", r.name);
        }
    }
    println!(
        "modes: max location error {:.2e} s_min ({}) where |mu| / sigma < 100, max density \
         error {:.2e} relative ({})",
        worst_location.value, worst_location.at, worst_density.value, worst_density.at
    );
}

#[test]
fn entropy_matches_reference() {
    let mut worst = Worst::default();
    for r in MIXTURES {
        let m = build(r);
        let got = f64::from(m.entropy().unwrap());
        let err = (got - r.entropy).abs();
        let tolerance = 2e-6;
        assert!(
            err <= tolerance,
            "{}: entropy {got}, reference {}, error {err:e}",
            r.name,
            r.entropy
        );
        println!(
            "entropy {:>14}: {got:>12.7} reference {:>12.7} error {err:.2e}",
            r.name, r.entropy
        );
        worst.see(err, || r.name.to_owned());
    }
    println!("entropy: max error {:.2e} ({})", worst.value, worst.at);
}

#[test]
fn divergences_match_reference() {
    let find = |name: &str| MIXTURES.iter().find(|r| r.name == name).unwrap();
    let mut worst = [Worst::default(), Worst::default(), Worst::default()];
    for pair in PAIRS {
        let (p, q) = (build(find(pair.p)), build(find(pair.q)));
        let limits = multi_scale(pair.p).or(multi_scale(pair.q));
        let (kl_limit, hellinger_limit) = (limits.map(|l| l.0), limits.map(|l| l.1));
        let got = [
            p.kl_divergence(&q).unwrap(),
            p.hellinger_distance(&q).unwrap(),
            p.total_variation_distance(&q).unwrap(),
        ];
        let expected = [pair.kl, pair.hellinger, pair.total_variation];
        for (i, ((&g, &e), name)) in got
            .iter()
            .zip(&expected)
            .zip(["kl", "hellinger", "tv"])
            .enumerate()
        {
            let err = (f64::from(g) - e).abs();
            let limit = [kl_limit, hellinger_limit, None][i];
            let tolerance = match (i, limit) {
                (2, _) => 2e-7,
                (_, Some(limit)) => limit,
                _ => 1e-6 + 1e-5 * e,
            };
            assert!(
                err <= tolerance,
                "{} vs {}: {name} {g}, reference {e}, error {err:e}",
                pair.p,
                pair.q
            );
            println!(
                "{name:>9} {:>11} || {:<13}: {g:>12.8} reference {e:>12.8} error {err:.2e}",
                pair.p, pair.q
            );
            if limit.is_none() {
                worst[i].see(err, || format!("{} vs {}", pair.p, pair.q));
            }
        }
    }
    for (w, name) in worst.iter().zip(["kl", "hellinger", "tv"]) {
        println!(
            "{name}: max error {:.2e} ({}) outside the multi-scale limits",
            w.value, w.at
        );
    }
}
