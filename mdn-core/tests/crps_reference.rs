//! [`Mixture::crps`] against independent float64 references: `tests/reference/crps_reference.py`
//! (scoringrules' normal-mixture CRPS, and adaptive quadrature of the definition in `y` for
//! log-normal mixtures), whose output, package versions and full source are in
//! `reference/crps_f64.rs`. CI needs no Python: regenerate the file with
//!
//! ```text
//! pip install scoringrules==0.10.0 scipy numpy
//! python3 tests/reference/crps_reference.py
//! ```
//!
//! Run with `--nocapture` to see the measured errors.
//!
//! # Tolerance
//!
//! `|crps - ref| <= 1e-5 max(|ref|, s)`, with `s` the smallest sigma in units of `y`
//! (`min_k sigma_k e^(mu_k)` for a log target, the width of the narrowest component at its
//! median): relative where the score is at least the narrowest scale, absolute below it.

// Generated: kept exactly as the script writes it.
#[rustfmt::skip]
#[path = "reference/crps_f64.rs"]
mod reference;

use mdn_core::{Mixture, TargetTransform};
use reference::{MIXTURES, RefMixture, SCRIPT, VERSIONS};

type Mix = Mixture<8, 1>;

fn exact_f32(value: f64) -> f32 {
    let single = value as f32;
    assert_eq!(f64::from(single), value, "{value} is not an f32");
    single
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

/// The narrowest component's scale in units of `y`.
fn smallest_scale(r: &RefMixture) -> f64 {
    r.means
        .iter()
        .zip(r.sigmas)
        .map(|(&m, &s)| if r.log_target { s * m.exp() } else { s })
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn embedded_script_is_the_generator() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/reference/crps_reference.py"
    );
    let script = std::fs::read_to_string(path).expect("the reference script");
    assert!(
        script == SCRIPT,
        "reference/crps_f64.rs is stale: run python3 tests/reference/crps_reference.py"
    );
}

#[test]
fn crps_matches_reference() {
    let (mut worst_rel, mut worst_tol, mut at) = (0.0_f64, 0.0_f64, String::new());
    let mut count = 0;
    let mut failures = Vec::new();
    for r in MIXTURES {
        let m = build(r);
        let scale = smallest_scale(r);
        for &(y, want) in r.crps {
            let got = f64::from(m.crps(&[exact_f32(y)]).unwrap()[0]);
            let err = (got - want).abs();
            let rel = err / want.abs();
            let of_tolerance = err / (1e-5 * want.abs().max(scale));
            if of_tolerance > worst_tol || of_tolerance.is_nan() {
                worst_tol = of_tolerance;
                at = format!("{} at y = {y}: {got} against {want}", r.name);
            }
            worst_rel = worst_rel.max(rel);
            if of_tolerance > 1.0 || of_tolerance.is_nan() {
                failures.push(format!(
                    "{} at y = {y}: mdn-core {got:e}, reference {want:e}",
                    r.name
                ));
            }
            count += 1;
        }
    }
    println!("CRPS against {VERSIONS}: {count} values");
    println!("  largest relative error {worst_rel:.2e}");
    println!("  largest fraction of the tolerance {worst_tol:.3} ({at})");
    assert!(count > 300, "only {count} reference values");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
