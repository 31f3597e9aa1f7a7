//! mdn-core's f32 evaluation agrees with the independent float64 reference
//! (`tests/reference/mdn_reference.py`, FORMAT.md section 5 in real arithmetic) on every
//! golden vector: mixture parameters, `log_prob`, `mean` and `variance`. The golden set
//! includes ensembles (`M > 1` networks in one blob, a mixture of `K M` components), whose
//! vectors list every network's components in mixture order.
//!
//! # Tolerance
//!
//! A value `a` from mdn-core matches the reference `b` when `|a - b| <= ATOL + RTOL * |b|`
//! with `ATOL = RTOL = 1e-5`, plus, for `log_prob` only, the first-order propagation of that
//! same tolerance through the mixture parameters (below).
//!
//! Why 1e-5: f32 rounds each operation to a relative 6e-8 (2^-24). The deepest path here is
//! a dot product of 130 terms, two more layers and the heads; forward error analysis bounds
//! the relative error of a sum of n terms by about `n * 2^-24 * sum|w x| / |sum w x|`, a few
//! 1e-6 unless terms cancel badly. The measured maxima (printed by the test) are a small
//! fraction of the tolerance, while formula errors are far larger (a dropped Jacobian, a
//! wrong scaler or a missing sigma floor move results by 1e-2 or more). Both sides use
//! FORMAT.md's f32 constant for ln(2 pi) / 2, so the constant is not a source of error.
//!
//! Why `log_prob` needs conditioning: `d log p / d mu_kd = gamma_k r_kd / sigma_kd` (with
//! `gamma_k` the responsibility of component k), so a mean correct to one f32 ulp (5e-7 at
//! |mu| = 5) moves `log p` by 7e-5 when `sigma = 0.009` and `r = 1.3`, as happens for the
//! 1-32-32 model at an extrapolated input. A fixed tolerance either fails there or is too
//! loose everywhere else, so `log_prob` gets `ATOL + RTOL |b|` plus
//! `sum_k gamma_k (ATOL + sum_d (|r| / sigma * (ATOL + RTOL |mu|) + |r^2 - 1| * RTOL))`:
//! the change of `log p` when every mixture parameter is off by its own tolerance. It is
//! computed from the reference's float64 mixture. `-inf` (density zero) must match exactly.

mod common;

use common::{Golden, Vector, exact_f32s};
use mdn_core::{Dimension, Error, HostModel, Model};

const ATOL: f64 = 1e-5;
const RTOL: f64 = 1e-5;

/// Largest errors seen for one quantity, over all golden vectors.
#[derive(Debug, Default)]
struct Worst {
    abs: f64,
    rel: f64,
    /// `|a - b| / (ATOL + RTOL |b|)`: at most 1 when within tolerance.
    ratio: f64,
    count: usize,
}

impl Worst {
    fn check(&mut self, what: &str, got: f32, expected: f64) {
        self.check_within(what, got, expected, ATOL + RTOL * expected.abs());
    }

    fn check_within(&mut self, what: &str, got: f32, expected: f64, tolerance: f64) {
        let got = f64::from(got);
        let err = (got - expected).abs();
        let ratio = err / tolerance;
        assert!(
            ratio <= 1.0,
            "{what}: mdn-core {got:e}, reference {expected:e}, error {err:e}"
        );
        self.abs = self.abs.max(err);
        self.rel = self.rel.max(err / expected.abs().max(f64::MIN_POSITIVE));
        self.ratio = self.ratio.max(ratio);
        self.count += 1;
    }
}

/// First-order change of `log p` when each mixture parameter of the reference moves by its
/// tolerance (see the module documentation).
fn propagated(v: &Vector, log_target: bool) -> f64 {
    let dims = v.y.len();
    let t: Vec<f64> = if log_target {
        v.y.iter().map(|y| y.ln()).collect()
    } else {
        v.y.clone()
    };
    let half_ln_two_pi = f64::from(mdn_core::HALF_LN_TWO_PI);
    // Per component: (log weight + log-density, sensitivity of that log-density).
    let components: Vec<(f64, f64)> = v
        .log_weights
        .iter()
        .zip(v.means.chunks_exact(dims).zip(v.sigmas.chunks_exact(dims)))
        .map(|(&log_weight, (means, sigmas))| {
            let mut c = log_weight;
            let mut sensitivity = ATOL;
            for ((&td, &mu), &sigma) in t.iter().zip(means).zip(sigmas) {
                let r = (td - mu) / sigma;
                c += -0.5 * r * r - sigma.ln() - half_ln_two_pi;
                // d/d mu = r / sigma; d/d sigma = (r^2 - 1) / sigma, times RTOL sigma.
                sensitivity +=
                    r.abs() / sigma * (ATOL + RTOL * mu.abs()) + (r * r - 1.0).abs() * RTOL;
            }
            (c, sensitivity)
        })
        .collect();
    let max = components
        .iter()
        .map(|&(c, _)| c)
        .fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = components.iter().map(|(c, _)| (c - max).exp()).sum();
    components
        .iter()
        .map(|(c, sensitivity)| (c - max).exp() / total * sensitivity)
        .sum()
}

fn check_vector(
    model: &HostModel<'_>,
    what: &str,
    v: &Vector,
    worst: &mut [Worst; 6],
    zeros: &mut usize,
    conditioned: &mut usize,
) {
    let log_target = model.header().target_transform == mdn_core::TargetTransform::Log;
    let x = exact_f32s(&v.x);
    let y = exact_f32s(&v.y);
    let mixture = model.mixture(&x).unwrap();
    let dims = mixture.dims();
    assert_eq!(mixture.components(), v.log_weights.len(), "{what}");
    let header = model.header();
    assert_eq!(
        mixture.components(),
        (header.components * header.networks) as usize,
        "{what}: K M components"
    );
    let rows = v.means.chunks_exact(dims).zip(v.sigmas.chunks_exact(dims));
    for ((component, &log_weight), (means, sigmas)) in mixture.iter().zip(&v.log_weights).zip(rows)
    {
        worst[0].check(what, component.log_weight, log_weight);
        for (&got, &expected) in component.means.iter().zip(means) {
            worst[1].check(what, got, expected);
        }
        for (&got, &expected) in component.sigmas.iter().zip(sigmas) {
            worst[2].check(what, got, expected);
        }
    }

    let log_p = model.log_prob(&x, &y).unwrap();
    let expected = v.log_prob.value();
    if expected == f64::NEG_INFINITY || log_p == f32::NEG_INFINITY {
        assert_eq!(
            f64::from(log_p),
            expected,
            "{what}: density zero must match exactly"
        );
        *zeros += 1;
    } else {
        let tolerance = ATOL + RTOL * expected.abs() + propagated(v, log_target);
        worst[3].check_within(what, log_p, expected, tolerance);
        if (f64::from(log_p) - expected).abs() > ATOL + RTOL * expected.abs() {
            *conditioned += 1;
        }
    }

    let mean = model.mean(&x).unwrap();
    let variance = model.variance(&x).unwrap();
    assert_eq!(
        (mean.len(), variance.len()),
        (v.mean.len(), v.variance.len())
    );
    assert_eq!(mean.len(), dims);
    for (&got, &expected) in mean.iter().zip(&v.mean) {
        worst[4].check(what, got, expected);
    }
    for (&got, &expected) in variance.iter().zip(&v.variance) {
        worst[5].check(what, got, expected);
    }
}

#[test]
fn host_model_matches_the_float64_reference() {
    let mut worst: [Worst; 6] = Default::default();
    let mut zeros = 0;
    let mut conditioned = 0;
    let mut ensembles = 0;
    for golden in common::all() {
        ensembles += usize::from(golden.model.header.networks > 1);
        let model = HostModel::from_bytes(&golden.bytes).unwrap();
        for (i, v) in golden.vectors.vectors.iter().enumerate() {
            let what = format!("{} vector {i}", golden.name);
            check_vector(&model, &what, v, &mut worst, &mut zeros, &mut conditioned);
        }
    }
    let names = [
        "log_weights",
        "means",
        "sigmas",
        "log_prob",
        "mean",
        "variance",
    ];
    println!("mdn-core (f32) against the float64 reference, tolerance {ATOL:e} + {RTOL:e} |b|:");
    for (name, w) in names.iter().zip(&worst) {
        println!(
            "  {name:<12} {:>4} values: max abs {:.2e}, max rel {:.2e}, max / tolerance {:.3}",
            w.count, w.abs, w.rel, w.ratio
        );
    }
    println!("  log_prob -inf (density zero): {zeros} exact matches");
    println!("  log_prob values outside the plain rule, within the conditioned one: {conditioned}");
    assert!(
        zeros >= 8,
        "the log-target vectors include density-zero cases"
    );
    assert!(ensembles >= 2, "the golden set includes ensembles");
}

/// `Model::<I, W, K, D>` on `golden` computes the host model's bits.
fn same_bits_as_host<const I: usize, const W: usize, const K: usize, const D: usize>(
    golden: &Golden,
) {
    let host = HostModel::from_bytes(&golden.bytes).unwrap();
    let small = Model::<I, W, K, D>::from_bytes(&golden.bytes)
        .unwrap_or_else(|e| panic!("{}: {e}", golden.name));
    for v in &golden.vectors.vectors {
        let (x, y) = (exact_f32s(&v.x), exact_f32s(&v.y));
        let (a, b) = (
            host.log_prob(&x, &y).unwrap(),
            small.log_prob(&x, &y).unwrap(),
        );
        assert_eq!(a.to_bits(), b.to_bits(), "{}", golden.name);
        assert_eq!(host.mean(&x).unwrap(), small.mean(&x).unwrap());
        assert_eq!(host.variance(&x).unwrap(), small.variance(&x).unwrap());
    }
}

#[test]
fn an_ensemble_needs_capacity_for_every_networks_components() {
    // FORMAT.md section 4: the mixture of M networks of K components needs K M.
    for golden in common::all() {
        match golden.name.as_str() {
            "ensemble_m3_k2" => {
                same_bits_as_host::<1, 8, 6, 1>(&golden);
                assert_eq!(
                    Model::<1, 8, 5, 1>::from_bytes(&golden.bytes).unwrap_err(),
                    Error::CapacityExceeded {
                        what: Dimension::Components,
                        found: 6,
                        max: 5
                    }
                );
            }
            "ensemble_m2_k3_log_d2" => {
                same_bits_as_host::<2, 6, 6, 2>(&golden);
                assert_eq!(
                    Model::<2, 6, 3, 2>::from_bytes(&golden.bytes).unwrap_err(),
                    Error::CapacityExceeded {
                        what: Dimension::Components,
                        found: 6,
                        max: 3
                    }
                );
            }
            _ => {}
        }
    }
}

#[test]
fn small_capacities_give_the_same_bits_as_the_host_model() {
    // Capacities size scratch buffers only; a device-sized evaluator must compute the
    // host's bits, so host parity implies device parity up to the platform's libm.
    for golden in common::all() {
        if golden.name != "tanh_softplus_k3_d2" && golden.name != "no_hidden" {
            continue;
        }
        same_bits_as_host::<3, 8, 3, 2>(&golden);
    }
}
