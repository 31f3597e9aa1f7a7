//! The predictive distribution is a probability density with the moments mdn-core reports:
//! densities integrate to 1 (identity and log targets, one and two dimensions), mean and
//! variance agree with numerical integration and with closed forms (single Gaussian,
//! log-normal, TensorFlow Probability's documented mixture).
//!
//! Integrals use the trapezoid rule in f64 over mdn-core's f32 densities. For Gaussian
//! components the rule converges faster than any power of the step (the error is about
//! `exp(-2 pi^2 sigma^2 / h^2)`), so with `h <= sigma_min / 3` the quadrature error is far
//! below the f32 rounding of each density value (relative ~1e-6); 1e-4 leaves room for both.

mod common;

use common::Rng;
use mdn_core::{
    Activation, HiddenWidths, HostModel, Layout, Mixture, SigmaTransform, TargetTransform,
};

/// Tolerance on total probability mass (the brief's 1e-4; see the module comment).
const MASS_TOLERANCE: f64 = 1e-4;
/// Relative tolerance of moments from quadrature against `mean` / `variance`.
const MOMENT_TOLERANCE: f64 = 1e-4;

type Mix = Mixture<{ HostModel::CAPACITIES.components }, { HostModel::CAPACITIES.outputs }>;

/// `sum_i w_i f(lo + i h)` with trapezoid weights over `[lo, hi]`, at most `h` apart.
fn trapezoid(lo: f64, hi: f64, h: f64, mut f: impl FnMut(f64) -> f64) -> f64 {
    let n = ((hi - lo) / h).ceil().max(1.0) as usize;
    let step = (hi - lo) / n as f64;
    let mut sum = 0.5 * (f(lo) + f(hi));
    for i in 1..n {
        sum += f(lo + i as f64 * step);
    }
    sum * step
}

/// Span `[min(mu - 12 sigma), max(mu + 12 sigma)]` of dimension `d`, and the smallest sigma.
fn span(mixture: &Mix, d: usize) -> (f64, f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    let mut sigma_min = f64::INFINITY;
    for c in mixture.iter() {
        let (mu, sigma) = (f64::from(c.means[d]), f64::from(c.sigmas[d]));
        lo = lo.min(mu - 12.0 * sigma);
        hi = hi.max(mu + 12.0 * sigma);
        sigma_min = sigma_min.min(sigma);
    }
    (lo, hi, sigma_min)
}

fn prob(mixture: &Mix, y: &[f64]) -> f64 {
    let y: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    f64::from(mixture.prob(&y).unwrap())
}

/// A random model with moderate weights, so that sigmas stay within about two decades, and
/// a sigma floor of at least `min_floor` (in scaled units).
fn random_model(
    rng: &mut Rng,
    sigma: SigmaTransform,
    outputs: u32,
    target: TargetTransform,
    min_floor: f32,
) -> Vec<u8> {
    let hidden: Vec<u32> = (0..rng.int(0, 2)).map(|_| rng.int(1, 12)).collect();
    let activation = if rng.int(0, 1) == 0 {
        Activation::Relu
    } else {
        Activation::Tanh
    };
    let header = common::header(
        rng.int(1, 3),
        &hidden,
        activation,
        sigma,
        if rng.int(0, 1) == 0 { 0.0_f32 } else { 0.05 }.max(min_floor),
        rng.int(1, 5),
        outputs,
        target,
    );
    let sigma_bias = match sigma {
        SigmaTransform::Nnelu => (-1.5, 0.5),
        SigmaTransform::Softplus => (-1.0, 1.0),
        SigmaTransform::Exp => (-1.5, 0.5),
    };
    let mut parameters = common::parameters(&header, rng, 0.8, sigma_bias);
    if target == TargetTransform::Log {
        // Keep log-normal components moderate: sigma of ln y below about 0.6, so moments
        // converge on a grid of reasonable size.
        let layout = Layout::new(&header).unwrap();
        let scale = layout.find(mdn_core::TensorName::TargetScale).unwrap();
        for p in &mut parameters[scale.offset..scale.offset + scale.len()] {
            *p = 0.3;
        }
    }
    common::blob(&header, &parameters)
}

fn inputs(rng: &mut Rng, model: &HostModel<'_>) -> Vec<f32> {
    (0..model.header().input_dim)
        .map(|_| rng.uniform(-3.0, 3.0) as f32)
        .collect()
}

#[test]
fn densities_integrate_to_one_with_matching_moments() {
    let mut rng = Rng(11);
    let mut worst = (0.0_f64, 0.0_f64);
    for case in 0..18 {
        let sigma = [
            SigmaTransform::Nnelu,
            SigmaTransform::Softplus,
            SigmaTransform::Exp,
        ][case % 3];
        let bytes = random_model(&mut rng, sigma, 1, TargetTransform::Identity, 0.0);
        let model = HostModel::from_bytes(&bytes).unwrap();
        for _ in 0..3 {
            let x = inputs(&mut rng, &model);
            let mixture: Mix = model.mixture(&x).unwrap();
            let (lo, hi, sigma_min) = span(&mixture, 0);
            let h = sigma_min / 8.0;
            let mass = trapezoid(lo, hi, h, |y| prob(&mixture, &[y]));
            let mean = trapezoid(lo, hi, h, |y| y * prob(&mixture, &[y]));
            let m = f64::from(model.mean(&x).unwrap()[0]);
            let variance = trapezoid(lo, hi, h, |y| (y - m) * (y - m) * prob(&mixture, &[y]));
            let v = f64::from(model.variance(&x).unwrap()[0]);
            assert!(
                (mass - 1.0).abs() <= MASS_TOLERANCE,
                "case {case}: mass {mass}"
            );
            // The mean may be near zero: compare on the scale of the distribution's width.
            let width = v.sqrt();
            assert!(
                (mean - m).abs() <= MOMENT_TOLERANCE * (width + m.abs()),
                "case {case}: mean {mean} vs {m}"
            );
            assert!(
                (variance - v).abs() <= MOMENT_TOLERANCE * v,
                "case {case}: variance {variance} vs {v}"
            );
            // `Model::prob` is the mixture's density, recomputed from x.
            let y = [m as f32];
            assert_eq!(model.prob(&x, &y).unwrap(), mixture.prob(&y).unwrap());
            worst.0 = worst.0.max((mass - 1.0).abs());
            worst.1 = worst.1.max((variance - v).abs() / v);
        }
    }
    println!(
        "identity target: max |mass - 1| = {:.2e}, max relative variance error = {:.2e}",
        worst.0, worst.1
    );
}

#[test]
fn two_dimensional_densities_integrate_to_one() {
    let mut rng = Rng(12);
    let mut checked = 0;
    while checked < 5 {
        // A floor of 0.3 bounds the ratio of the largest to the smallest sigma.
        let bytes = random_model(
            &mut rng,
            SigmaTransform::Softplus,
            2,
            TargetTransform::Identity,
            0.3,
        );
        let model = HostModel::from_bytes(&bytes).unwrap();
        let x = inputs(&mut rng, &model);
        let mixture: Mix = model.mixture(&x).unwrap();
        let (lo0, hi0, s0) = span(&mixture, 0);
        let (lo1, hi1, s1) = span(&mixture, 1);
        // h = sigma / 2 leaves a quadrature error near exp(-8 pi^2) per axis. Queries whose
        // grid would exceed 40,000 points are skipped to keep a debug build fast; the
        // one-dimensional test covers widely spread mixtures.
        let points = (hi0 - lo0) / s0 * 2.0 * (hi1 - lo1) / s1 * 2.0;
        if points > 40_000.0 {
            continue;
        }
        let mass = trapezoid(lo0, hi0, s0 / 2.0, |a| {
            trapezoid(lo1, hi1, s1 / 2.0, |b| prob(&mixture, &[a, b]))
        });
        assert!((mass - 1.0).abs() <= MASS_TOLERANCE, "mass {mass}");
        checked += 1;
    }
}

#[test]
fn log_target_densities_integrate_to_one_with_matching_moments() {
    // With t = ln y: integral of p(y) dy = integral of p(e^t) e^t dt. The components are
    // Gaussian in t, so the trapezoid rule in t keeps its fast convergence. The moments'
    // integrands e^t p and e^2t p are Gaussians shifted by sigma^2 and 2 sigma^2, hence the
    // wider upper limit.
    let mut rng = Rng(13);
    let mut worst = (0.0_f64, 0.0_f64);
    for case in 0..12 {
        let sigma = [
            SigmaTransform::Nnelu,
            SigmaTransform::Softplus,
            SigmaTransform::Exp,
        ][case % 3];
        let bytes = random_model(&mut rng, sigma, 1, TargetTransform::Log, 0.0);
        let model = HostModel::from_bytes(&bytes).unwrap();
        let x = inputs(&mut rng, &model);
        let mixture: Mix = model.mixture(&x).unwrap();
        let (lo, hi, sigma_min) = span(&mixture, 0);
        let sigma_max = mixture
            .iter()
            .map(|c| f64::from(c.sigmas[0]))
            .fold(0.0, f64::max);
        let hi = hi + 2.0 * sigma_max * sigma_max;
        let h = sigma_min / 8.0;
        let density = |t: f64| {
            let y = t.exp();
            prob(&mixture, &[y]) * y
        };
        let mass = trapezoid(lo, hi, h, density);
        let mean = trapezoid(lo, hi, h, |t| t.exp() * density(t));
        let m = f64::from(model.mean(&x).unwrap()[0]);
        let variance = trapezoid(lo, hi, h, |t| (t.exp() - m).powi(2) * density(t));
        let v = f64::from(model.variance(&x).unwrap()[0]);
        assert!(
            (mass - 1.0).abs() <= MASS_TOLERANCE,
            "case {case}: mass {mass}"
        );
        assert!(
            (mean - m).abs() <= MOMENT_TOLERANCE * m,
            "case {case}: mean {mean} vs {m}"
        );
        assert!(
            (variance - v).abs() <= MOMENT_TOLERANCE * v,
            "case {case}: variance {variance} vs {v}"
        );
        // No mass at or below zero.
        assert_eq!(mixture.prob(&[0.0]).unwrap(), 0.0);
        assert_eq!(mixture.log_prob(&[-1.0]).unwrap(), f32::NEG_INFINITY);
        worst.0 = worst.0.max((mass - 1.0).abs());
        worst.1 = worst.1.max((variance - v).abs() / v);
    }
    println!(
        "log target: max |mass - 1| = {:.2e}, max relative variance error = {:.2e}",
        worst.0, worst.1
    );
}

#[test]
fn single_gaussian_matches_closed_form() {
    // No hidden layer, identity scalers, K = 1: p(y|x) = N(y; w.x + b, exp(v.x + c)^2).
    let header = mdn_core::Header {
        hidden: HiddenWidths::new(),
        ..common::header(
            2,
            &[],
            Activation::Relu,
            SigmaTransform::Exp,
            0.0,
            1,
            1,
            TargetTransform::Identity,
        )
    };
    let (w, b) = ([0.75_f32, -1.25], 0.5_f32);
    let (v, c) = ([0.125_f32, 0.25], -0.5_f32);
    let parameters = [
        0.0, 0.0, 1.0, 1.0, // input scaler
        0.0, 1.0, // target scaler
        0.0, // members.log_weight: the one network
        1.0, 1.0, // calibration: the identity
        0.3, -0.2, 0.1, // logits (irrelevant for K = 1)
        w[0], w[1], b, // means
        v[0], v[1], c, // sigmas
    ];
    let bytes = common::blob(&header, &parameters);
    let model = HostModel::from_bytes(&bytes).unwrap();
    let half_ln_two_pi = 0.5 * (2.0 * std::f64::consts::PI).ln();
    let mut worst = 0.0_f64;
    for x in [[0.0_f32, 0.0], [1.0, 2.0], [-3.5, 0.25], [4.0, -4.0]] {
        let mu =
            f64::from(w[0]) * f64::from(x[0]) + f64::from(w[1]) * f64::from(x[1]) + f64::from(b);
        let sigma =
            (f64::from(v[0]) * f64::from(x[0]) + f64::from(v[1]) * f64::from(x[1]) + f64::from(c))
                .exp();
        assert!((f64::from(model.mean(&x).unwrap()[0]) - mu).abs() <= 1e-6 * (1.0 + mu.abs()));
        let var = f64::from(model.variance(&x).unwrap()[0]);
        assert!((var - sigma * sigma).abs() <= 1e-6 * sigma * sigma);
        for z in [-8.0, -1.5, 0.0, 0.3, 2.0, 12.0] {
            let y = (mu + z * sigma) as f32;
            let r = (f64::from(y) - mu) / sigma;
            let expected = -0.5 * r * r - sigma.ln() - half_ln_two_pi;
            let got = f64::from(model.log_prob(&x, &[y]).unwrap());
            let err = (got - expected).abs();
            // f32 rounding of mu, sigma and r: a few ulps of the largest term (0.5 r^2).
            assert!(
                err <= 1e-5 * (1.0 + expected.abs()),
                "x {x:?} z {z}: {got} vs {expected}"
            );
            worst = worst.max(err / (1.0 + expected.abs()));
        }
    }
    println!("single Gaussian: max relative log-density error {worst:.2e}");
}

#[test]
fn ensemble_is_the_weighted_mixture_of_its_networks() {
    // Two networks without hidden layers, K = 1 each, weights 0.3 and 0.7:
    // p(y|x) = 0.3 N(y; 2x + 1, 0.5^2) + 0.7 N(y; -x, exp(0.25 x)^2), in closed form.
    let header = mdn_core::Header {
        networks: 2,
        ..common::header(
            1,
            &[],
            Activation::Relu,
            SigmaTransform::Exp,
            0.0,
            1,
            1,
            TargetTransform::Identity,
        )
    };
    let (w0, w1) = (0.3_f32.ln(), 0.7_f32.ln());
    let parameters = [
        0.0,
        1.0,
        0.0,
        1.0, // scalers
        w0,
        w1, // members.log_weight
        1.0,
        1.0, // calibration: the identity
        0.4,
        -0.1,
        2.0,
        1.0,
        0.0,
        0.5_f32.ln(), // network 0: logits, means, sigmas
        -0.2,
        0.3,
        -1.0,
        0.0,
        0.25,
        0.0, // network 1
    ];
    let bytes = common::blob(&header, &parameters);
    let model = HostModel::from_bytes(&bytes).unwrap();
    let normal = |y: f64, mu: f64, sigma: f64| {
        (-0.5 * ((y - mu) / sigma).powi(2)).exp() / (sigma * (2.0 * std::f64::consts::PI).sqrt())
    };
    for x in [-2.0_f32, 0.0, 1.5] {
        let xf = f64::from(x);
        let mixture = model.mixture(&[x]).unwrap();
        assert_eq!(mixture.components(), 2);
        let weights: Vec<f32> = mixture.iter().map(|c| c.log_weight.exp()).collect();
        assert!((weights[0] - 0.3).abs() < 1e-6 && (weights[1] - 0.7).abs() < 1e-6);
        let (mu0, s0) = (2.0 * xf + 1.0, 0.5);
        let (mu1, s1) = (-xf, (0.25 * xf).exp());
        let mean = 0.3 * mu0 + 0.7 * mu1;
        assert!((f64::from(model.mean(&[x]).unwrap()[0]) - mean).abs() < 1e-5);
        for y in [-3.0_f32, -0.5, 0.0, 1.0, 4.0] {
            let yf = f64::from(y);
            let expected = (0.3 * normal(yf, mu0, s0) + 0.7 * normal(yf, mu1, s1)).ln();
            let got = f64::from(model.log_prob(&[x], &[y]).unwrap());
            assert!(
                (got - expected).abs() <= 1e-5 * (1.0 + expected.abs()),
                "x {x} y {y}: {got} vs {expected}"
            );
        }
    }
}

#[test]
fn tensorflow_probability_example_mixture() {
    // tfp.distributions.MixtureSameFamily docs: weights 0.3 / 0.7, means -1 / 1, scales
    // 0.1 / 0.5. Mean 0.3 * -1 + 0.7 * 1 = 0.4; variance
    // 0.3 * (0.01 + 1.96) + 0.7 * (0.25 + 0.36) = 1.018.
    let m = Mixture::<2, 1>::new(
        &[0.3_f32.ln(), 0.7_f32.ln()],
        &[-1.0, 1.0],
        &[0.1, 0.5],
        1,
        TargetTransform::Identity,
    )
    .unwrap();
    assert!((f64::from(m.mean()[0]) - 0.4).abs() <= 1e-6);
    assert!((f64::from(m.variance()[0]) - 1.018).abs() <= 2e-6);
    assert!((f64::from(m.std_dev()[0]) - 1.018_f64.sqrt()).abs() <= 1e-6);
    // The density at 0 in f64: 0.3 N(0; -1, 0.1) + 0.7 N(0; 1, 0.5).
    let normal = |y: f64, mu: f64, s: f64| {
        (-0.5 * ((y - mu) / s).powi(2)).exp() / (s * (2.0 * std::f64::consts::PI).sqrt())
    };
    for y in [-1.0_f32, -0.5, 0.0, 0.8, 2.0] {
        let yd = f64::from(y);
        let expected = (0.3 * normal(yd, -1.0, 0.1) + 0.7 * normal(yd, 1.0, 0.5)).ln();
        let got = f64::from(m.log_prob(&[y]).unwrap());
        assert!(
            (got - expected).abs() <= 1e-5 * (1.0 + expected.abs()),
            "{y}: {got} vs {expected}"
        );
    }
}

#[test]
fn log_normal_moments_match_closed_forms() {
    let mut worst = 0.0_f64;
    for (mu, sigma) in [
        (0.0_f32, 1.0_f32),
        (1.5, 0.25),
        (-2.0, 0.5),
        (3.0, 0.1),
        (0.5, 1.5),
    ] {
        let m = Mixture::<1, 1>::new(&[0.0], &[mu], &[sigma], 1, TargetTransform::Log).unwrap();
        let (mu, s2) = (f64::from(mu), f64::from(sigma) * f64::from(sigma));
        let mean = (mu + 0.5 * s2).exp();
        let variance = s2.exp_m1() * (2.0 * mu + s2).exp();
        let got_mean = f64::from(m.mean()[0]);
        let got_variance = f64::from(m.variance()[0]);
        // expf of an argument rounded to f32 (|argument| < 5): a few 1e-7 relative.
        assert!(
            (got_mean - mean).abs() <= 2e-6 * mean,
            "{mu} {s2}: {got_mean} vs {mean}"
        );
        assert!(
            (got_variance - variance).abs() <= 5e-6 * variance,
            "{mu} {s2}: {got_variance} vs {variance}"
        );
        worst = worst.max((got_variance - variance).abs() / variance);
    }
    // A two-component log-normal mixture: the law of total variance in f64.
    let (w, mus, sigmas) = ([0.25_f64, 0.75], [0.0_f64, 1.0], [0.5_f64, 0.25]);
    let m = Mixture::<2, 1>::new(
        &[0.25_f32.ln(), 0.75_f32.ln()],
        &[0.0, 1.0],
        &[0.5, 0.25],
        1,
        TargetTransform::Log,
    )
    .unwrap();
    let comp: Vec<(f64, f64)> = (0..2)
        .map(|k| {
            let s2 = sigmas[k] * sigmas[k];
            let mk = (mus[k] + 0.5 * s2).exp();
            (mk, s2.exp_m1() * mk * mk)
        })
        .collect();
    let mean: f64 = (0..2).map(|k| w[k] * comp[k].0).sum();
    let variance: f64 = (0..2)
        .map(|k| w[k] * (comp[k].1 + (comp[k].0 - mean).powi(2)))
        .sum();
    assert!((f64::from(m.mean()[0]) - mean).abs() <= 2e-6 * mean);
    assert!((f64::from(m.variance()[0]) - variance).abs() <= 5e-6 * variance);
    println!("log-normal: max relative variance error {worst:.2e}");
}

#[test]
fn prob_is_exp_of_log_prob() {
    let mut rng = Rng(14);
    let bytes = random_model(
        &mut rng,
        SigmaTransform::Nnelu,
        2,
        TargetTransform::Identity,
        0.0,
    );
    let model = HostModel::from_bytes(&bytes).unwrap();
    let x = inputs(&mut rng, &model);
    for y in [[0.0_f32, 0.0], [1.0, -2.0], [40.0, 40.0]] {
        let log_p = model.log_prob(&x, &y).unwrap();
        assert_eq!(
            model.prob(&x, &y).unwrap().to_bits(),
            libm::expf(log_p).to_bits()
        );
    }
}

/// The calibration in closed form: no hidden layer, K = 2, D = 1, logits `l = (a x, -a x)`
/// over the temperature T, sigmas `exp(s_k)` times the sigma scale c. The weights are
/// `softmax(l / T)` and every sigma is `c` times the uncalibrated one.
#[test]
fn calibration_matches_closed_form() {
    let header = mdn_core::Header {
        components: 2,
        ..common::header(
            1,
            &[],
            Activation::Relu,
            SigmaTransform::Exp,
            0.0,
            2,
            1,
            TargetTransform::Identity,
        )
    };
    let (a, c, t) = (0.8_f32, 1.5_f32, 0.6_f32);
    let (mu, s) = ([-1.0_f32, 2.0], [0.2_f32, -0.3]);
    let parameters = |c: f32, t: f32| {
        vec![
            0.0, 1.0, 0.0, 1.0, // scalers
            0.0, // members.log_weight
            c, t, // calibration
            a, -a, 0.0, 0.0, // logits: weights, biases
            0.0, 0.0, mu[0], mu[1], // means
            0.0, 0.0, s[0], s[1], // sigmas (exp transform)
        ]
    };
    let calibrated = common::blob(&header, &parameters(c, t));
    let identity = common::blob(&header, &parameters(1.0, 1.0));
    let model = HostModel::from_bytes(&calibrated).unwrap();
    let plain = HostModel::from_bytes(&identity).unwrap();
    for x in [-2.0_f32, 0.0, 0.7, 3.0] {
        let l = [
            f64::from(a * x) / f64::from(t),
            -f64::from(a * x) / f64::from(t),
        ];
        let norm = (l[0].exp() + l[1].exp()).ln();
        let mixture = model.mixture(&[x]).unwrap();
        let reference = plain.mixture(&[x]).unwrap();
        for (k, (component, plain)) in mixture.iter().zip(reference.iter()).enumerate() {
            let expected_log_weight = l[k] - norm;
            assert!(
                (f64::from(component.log_weight) - expected_log_weight).abs() < 1e-6,
                "x {x} k {k}: {} vs {expected_log_weight}",
                component.log_weight
            );
            let sigma = f64::from(s[k]).exp() * f64::from(c);
            assert!((f64::from(component.sigmas[0]) - sigma).abs() < 1e-6 * sigma);
            // Exactly the uncalibrated sigma times c: one f32 multiply (FORMAT.md section 5).
            assert_eq!(component.sigmas[0], plain.sigmas[0] * c);
            assert_eq!(component.means[0], plain.means[0]);
        }
        for y in [-3.0_f32, 0.0, 2.5] {
            let density: f64 = (0..2)
                .map(|k| {
                    let sigma = f64::from(s[k]).exp() * f64::from(c);
                    let z = (f64::from(y) - f64::from(mu[k])) / sigma;
                    (l[k] - norm).exp() * (-0.5 * z * z).exp()
                        / (sigma * (2.0 * std::f64::consts::PI).sqrt())
                })
                .sum();
            let got = f64::from(model.log_prob(&[x], &[y]).unwrap());
            assert!(
                (got - density.ln()).abs() < 1e-5,
                "x {x} y {y}: {got} vs {}",
                density.ln()
            );
        }
    }
}
