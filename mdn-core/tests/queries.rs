//! The distribution queries against closed forms and statistics: Gaussian quantiles,
//! entropies, KL divergence, Hellinger and total-variation distances of Gaussians, the
//! log-normal's mode and quantiles, TensorFlow Probability's documented mixture, and
//! Kolmogorov-Smirnov tests of the sampler (plain, tempered, scaled, log target, two
//! dimensions). The float64 comparison on general mixtures is `queries_reference.rs`.

use mdn_core::{
    Error, Interval, Mixture, TargetTransform,
    rand_core::{Rng, SeedableRng},
};
use rand_pcg::Pcg32;

type Mix = Mixture<8, 2>;

fn mixture(weights: &[f32], means: &[f32], sigmas: &[f32], transform: TargetTransform) -> Mix {
    let log_weights: Vec<f32> = weights.iter().map(|w| w.ln()).collect();
    Mix::new(&log_weights, means, sigmas, 1, transform).unwrap()
}

fn gaussian(mu: f32, sigma: f32) -> Mix {
    mixture(&[1.0], &[mu], &[sigma], TargetTransform::Identity)
}

/// TensorFlow Probability's `MixtureSameFamily` example: weights (0.3, 0.7), means (-1, 1),
/// sigmas (0.1, 0.5); mean 0.4, variance 1.018.
fn tfp() -> Mix {
    mixture(
        &[0.3, 0.7],
        &[-1.0, 1.0],
        &[0.1, 0.5],
        TargetTransform::Identity,
    )
}

/// Standard normal CDF in float64.
fn phi(z: f64) -> f64 {
    0.5 * libm::erfc(-z / std::f64::consts::SQRT_2)
}

/// Standard normal quantiles (to 16 digits, from the inverse error function).
const NORMAL_QUANTILES: [(f32, f64); 8] = [
    (1e-6, -4.753_424_308_822_899),
    (0.001, -3.090_232_306_167_813_5),
    (0.025, -1.959_963_984_540_054),
    (0.05, -1.644_853_626_951_472_2),
    (0.5, 0.0),
    (0.9, 1.281_551_565_544_600_4),
    (0.975, 1.959_963_984_540_054),
    (0.999, 3.090_232_306_167_813_5),
];

#[test]
fn gaussian_quantiles_match_known_values() {
    for (mu, sigma) in [(0.0_f32, 1.0_f32), (3.0, 2.0), (-40.0, 0.01)] {
        let m = gaussian(mu, sigma);
        for (p, z) in NORMAL_QUANTILES {
            // The known z for the f32 p; 1e-6 and 0.999 are not exact in f32: correct z by
            // the difference (dz = dp / phi(z)).
            let density = (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt();
            let z = z + (f64::from(p) - decimal(p)) / density;
            let expected = f64::from(mu) + f64::from(sigma) * z;
            let got = f64::from(m.quantile(p).unwrap());
            // Within 2 ulps of the expected value, and 1e-6 sigma.
            let tolerance =
                2.0 * f64::from(f32::EPSILON) * expected.abs() + 1e-6 * f64::from(sigma);
            assert!(
                (got - expected).abs() <= tolerance,
                "N({mu}, {sigma}) quantile({p}) = {got}, expected {expected}"
            );
        }
    }
}

/// The decimal value `p` was written as (the f32 literal rounds it).
fn decimal(p: f32) -> f64 {
    format!("{p}").parse().unwrap()
}

#[test]
fn quantile_and_cdf_are_inverse() {
    let m = tfp();
    for i in 1..1000 {
        let p = i as f32 / 1000.0;
        let q = m.quantile(p).unwrap();
        let back = m.cdf(&[q]).unwrap()[0];
        assert!((back - p).abs() <= 3e-7, "cdf(quantile({p})) = {back}");
    }
    // Monotone.
    let qs: Vec<f32> = (1..100)
        .map(|i| m.quantile(i as f32 / 100.0).unwrap())
        .collect();
    assert!(qs.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn tfp_mixture_cdf_matches_closed_form() {
    let m = tfp();
    for y in [-1.5_f32, -1.0, -0.9, 0.0, 0.4, 1.0, 2.0, 3.0] {
        let y64 = f64::from(y);
        let expected = f64::from(0.3_f32.ln().exp()) * phi((y64 + 1.0) / 0.1)
            + f64::from(0.7_f32.ln().exp()) * phi((y64 - 1.0) / 0.5);
        let got = f64::from(m.cdf(&[y]).unwrap()[0]);
        assert!(
            (got - expected).abs() < 2e-7,
            "F({y}) = {got}, expected {expected}"
        );
    }
    // The closed-form moments still hold, and the modes sit near the two means: the narrow
    // component's peak is the higher.
    assert!((m.mean()[0] - 0.4).abs() < 1e-6);
    assert!((m.variance()[0] - 1.018).abs() < 1e-5);
    let modes = m.modes().unwrap();
    assert_eq!(modes.len(), 2);
    assert!((modes[0].location + 1.0).abs() < 1e-4 && (modes[1].location - 1.0).abs() < 1e-4);
    assert_eq!(modes.highest_index(), Some(0));
}

#[test]
fn multivariate_cdf_is_per_dimension() {
    let m = Mix::new(
        &[0.5_f32.ln(), 0.5_f32.ln()],
        &[0.0, 10.0, 2.0, 10.0],
        &[1.0, 1.0, 1.0, 2.0],
        2,
        TargetTransform::Identity,
    )
    .unwrap();
    let cdf = m.cdf(&[1.0, 10.0]).unwrap();
    let first = 0.5 * phi(1.0) + 0.5 * phi(-1.0);
    assert!((f64::from(cdf[0]) - first).abs() < 1e-7);
    assert!((cdf[1] - 0.5).abs() < 1e-7);
    assert_eq!(m.quantile(0.5), Err(Error::NotUnivariate { dims: 2 }));
    assert_eq!(
        m.cdf(&[1.0]),
        Err(Error::TargetLength {
            expected: 2,
            found: 1
        })
    );
}

#[test]
fn intervals_are_central() {
    let m = gaussian(5.0, 2.0);
    for (level, z) in [(0.95_f32, 1.959_964_f32), (0.5, 0.674_489_75)] {
        let Interval { lower, upper } = m.interval(level).unwrap();
        assert!((lower - (5.0 - 2.0 * z)).abs() < 2e-6, "{level}: {lower}");
        assert!((upper - (5.0 + 2.0 * z)).abs() < 2e-6, "{level}: {upper}");
    }
    // The extreme level keeps both tails: 1 - 6e-8 leaves 3e-8 each side (z = 5.42).
    let i = m.interval(1.0 - f32::EPSILON / 2.0).unwrap();
    assert!(
        i.upper > 5.0 + 2.0 * 5.3 && i.lower < 5.0 - 2.0 * 5.3,
        "{i:?}"
    );
    for bad in [0.0, 1.0, -0.1, 1.1, f32::NAN, f32::INFINITY] {
        assert_eq!(m.interval(bad), Err(Error::InvalidProbability));
        assert_eq!(m.quantile(bad), Err(Error::InvalidProbability));
    }
}

#[test]
fn log_normal_quantiles_modes_and_entropy() {
    let (mu, sigma) = (1.0_f32, 0.5_f32);
    let m = mixture(&[1.0], &[mu], &[sigma], TargetTransform::Log);
    for (p, z) in NORMAL_QUANTILES.iter().skip(2).take(5) {
        let expected = (f64::from(mu) + f64::from(sigma) * z).exp();
        let got = f64::from(m.quantile(*p).unwrap());
        assert!(
            (got / expected - 1.0).abs() < 2e-6,
            "quantile({p}) = {got}, {expected}"
        );
    }
    assert_eq!(m.cdf(&[0.0]).unwrap()[0], 0.0);
    assert_eq!(m.cdf(&[-2.0]).unwrap()[0], 0.0);
    // Mode exp(mu - sigma^2), not exp(mu).
    let mode = m.modes().unwrap()[0];
    assert!((f64::from(mode.location) - 0.75_f64.exp()).abs() < 1e-6);
    // Entropy of a log-normal: mu + 0.5 ln(2 pi e sigma^2).
    let exact = 1.0 + 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * 0.25).ln();
    assert!((f64::from(m.entropy().unwrap()) - exact).abs() < 1e-6);
}

#[test]
fn log_target_modes_are_those_of_the_density_of_y() {
    // Two log-normals; check each mode is a local maximum of prob(y) in y itself.
    let m = mixture(&[0.4, 0.6], &[0.0, 1.5], &[0.3, 0.5], TargetTransform::Log);
    let modes = m.modes().unwrap();
    assert_eq!(modes.len(), 2);
    for mode in modes.iter() {
        let y = mode.location;
        let h = y * 1e-3;
        let p = |v: f32| m.prob(&[v]).unwrap();
        assert!(p(y) >= p(y - h) && p(y) >= p(y + h), "{mode:?}");
        assert_eq!(mode.density, p(y));
    }
}

#[test]
fn modes_are_not_the_heaviest_component_mean() {
    // Two overlapping components: one mode, between the means, not at the heavier mean.
    let m = mixture(
        &[0.55, 0.45],
        &[-0.8, 0.8],
        &[1.0, 1.0],
        TargetTransform::Identity,
    );
    let modes = m.modes().unwrap();
    assert_eq!(modes.len(), 1);
    assert!(modes[0].location > -0.8 + 0.3 && modes[0].location < 0.0);
    // Five well separated components: five modes, sorted, the highest is the densest.
    let means = [-20.0, -10.0, 0.0, 10.0, 20.0];
    let m = mixture(
        &[0.1, 0.3, 0.2, 0.25, 0.15],
        &means,
        &[1.0, 0.5, 2.0, 1.0, 1.0],
        TargetTransform::Identity,
    );
    let modes = m.modes().unwrap();
    assert_eq!(modes.len(), 5);
    for (mode, mean) in modes.iter().zip(means) {
        assert!((mode.location - mean).abs() < 1e-3, "{mode:?}");
    }
    let best = modes.highest().unwrap();
    assert!(modes.iter().all(|m| m.density <= best.density));
    assert_eq!(modes.highest_index(), Some(1));
}

#[test]
fn gaussian_entropy_matches_closed_form() {
    for (mu, sigma) in [
        (0.25_f32, 1e-3_f32),
        (3.0, 0.1),
        (3.0, 1.0),
        (-3.0, 2.0),
        (3.0, 50.0),
    ] {
        let exact = 0.5
            * (2.0 * std::f64::consts::PI * std::f64::consts::E * f64::from(sigma).powi(2)).ln();
        let got = f64::from(gaussian(mu, sigma).entropy().unwrap());
        assert!((got - exact).abs() < 2e-6, "sigma {sigma}: {got}, {exact}");
    }
    // Where |mu| / sigma is large, the nodes mu + sigma z round to f32 values up to half an
    // ulp of mu away, which is 1.2e-4 sigma here: the error grows to about 5e-6.
    let exact = 0.5 * (2.0 * std::f64::consts::PI * std::f64::consts::E * 1e-6_f64).ln();
    let got = f64::from(gaussian(3.0, 1e-3).entropy().unwrap());
    assert!((got - exact).abs() < 1e-5, "{got}, {exact}");
}

#[test]
fn gaussian_divergences_match_closed_forms() {
    for (mu_p, s_p, mu_q, s_q) in [
        (0.0_f32, 1.0_f32, 1.0_f32, 2.0_f32),
        (0.0, 1.0, 0.0, 1.0),
        (5.0, 0.3, 5.2, 0.3),
        (0.0, 1.0, 4.0, 1.0),
        (0.0, 2.0, 1e-3, 2.0),
    ] {
        let (p, q) = (gaussian(mu_p, s_p), gaussian(mu_q, s_q));
        let (mp, sp, mq, sq) = (
            f64::from(mu_p),
            f64::from(s_p),
            f64::from(mu_q),
            f64::from(s_q),
        );
        let kl = (sq / sp).ln() + (sp * sp + (mp - mq).powi(2)) / (2.0 * sq * sq) - 0.5;
        let h2 = 1.0
            - (2.0 * sp * sq / (sp * sp + sq * sq)).sqrt()
                * (-(mp - mq).powi(2) / (4.0 * (sp * sp + sq * sq))).exp();
        let case = format!("N({mu_p}, {s_p}) vs N({mu_q}, {s_q})");
        let got_kl = f64::from(p.kl_divergence(&q).unwrap());
        assert!(
            (got_kl - kl).abs() <= 1e-6 + 1e-5 * kl,
            "{case}: KL {got_kl}, {kl}"
        );
        let got_h = f64::from(p.hellinger_distance(&q).unwrap());
        let h = h2.sqrt();
        assert!(
            (got_h - h).abs() <= 1e-6 + 1e-5 * h,
            "{case}: H {got_h}, {h}"
        );
        if s_p == s_q {
            // Equal sigmas: TV = 2 Phi(|dmu| / (2 sigma)) - 1.
            let tv = 2.0 * phi((mp - mq).abs() / (2.0 * sp)) - 1.0;
            let got_tv = f64::from(p.total_variation_distance(&q).unwrap());
            assert!((got_tv - tv).abs() <= 2e-7, "{case}: TV {got_tv}, {tv}");
        }
    }
    // Disjoint: TV and Hellinger reach 1, also with the crossing in the gap between the
    // grids, and for more components in the gap.
    let (p, q) = (gaussian(-100.0, 1.0), gaussian(100.0, 1.0));
    assert_eq!(p.total_variation_distance(&q).unwrap(), 1.0);
    assert_eq!(q.total_variation_distance(&p).unwrap(), 1.0);
    assert!(p.hellinger_distance(&q).unwrap() > 1.0 - 1e-6);
    let p = mixture(
        &[0.5, 0.5],
        &[-100.0, 100.0],
        &[1.0, 1.0],
        TargetTransform::Identity,
    );
    let q = mixture(
        &[0.25, 0.75],
        &[-100.0, 100.0],
        &[1.0, 1.0],
        TargetTransform::Identity,
    );
    let tv = p.total_variation_distance(&q).unwrap();
    assert!((tv - 0.25).abs() < 2e-7, "{tv}");
    let q = mixture(
        &[0.5, 0.5],
        &[-100.0, 0.0],
        &[1.0, 1.0],
        TargetTransform::Identity,
    );
    let tv = p.total_variation_distance(&q).unwrap();
    assert!((tv - 0.5).abs() < 2e-7, "{tv}");
}

#[test]
fn divergence_errors() {
    let p = gaussian(0.0, 1.0);
    let log = mixture(&[1.0], &[0.0], &[1.0], TargetTransform::Log);
    assert_eq!(p.kl_divergence(&log), Err(Error::TransformMismatch));
    assert_eq!(log.hellinger_distance(&p), Err(Error::TransformMismatch));
    let two = Mixture::<2, 2>::new(
        &[0.0],
        &[0.0, 0.0],
        &[1.0, 1.0],
        2,
        TargetTransform::Identity,
    )
    .unwrap();
    assert_eq!(
        p.total_variation_distance(&two),
        Err(Error::NotUnivariate { dims: 2 })
    );
    assert_eq!(two.kl_divergence(&p), Err(Error::NotUnivariate { dims: 2 }));
    assert_eq!(two.entropy(), Err(Error::NotUnivariate { dims: 2 }));
    assert_eq!(two.modes(), Err(Error::NotUnivariate { dims: 2 }));
    // Mixtures of other capacities compare too.
    let small = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity).unwrap();
    assert_eq!(p.kl_divergence(&small), Ok(0.0));
}

#[test]
fn anomaly_score_and_grid_agree_with_log_prob() {
    let m = tfp();
    let grid: Vec<f32> = (0..50).map(|i| -3.0 + i as f32 * 0.13).collect();
    let mut density = vec![0.0; grid.len()];
    m.density_on_grid(&grid, &mut density).unwrap();
    for (&y, &d) in grid.iter().zip(&density) {
        assert_eq!(d.to_bits(), m.prob(&[y]).unwrap().to_bits());
        assert_eq!(m.anomaly_score(&[y]).unwrap(), -m.log_prob(&[y]).unwrap());
    }
    let log = mixture(&[1.0], &[0.0], &[1.0], TargetTransform::Log);
    assert_eq!(log.anomaly_score(&[-1.0]), Ok(f32::INFINITY));
    let mut short = [7.0; 3];
    assert_eq!(
        m.density_on_grid(&grid, &mut short),
        Err(Error::OutputLength {
            expected: 50,
            found: 3
        })
    );
    assert_eq!(short, [7.0; 3]);
    let mut out = [7.0; 2];
    assert_eq!(
        m.density_on_grid(&[0.0, f32::NAN], &mut out),
        Err(Error::NonFiniteTarget)
    );
    assert_eq!(out, [7.0; 2]);
    assert_eq!(m.anomaly_score(&[f32::NAN]), Err(Error::NonFiniteTarget));
}

/// Kolmogorov-Smirnov statistic of `draws` against the CDF `cdf`.
fn ks_statistic(draws: &mut [f64], cdf: impl Fn(f64) -> f64) -> f64 {
    draws.sort_by(f64::total_cmp);
    let n = draws.len() as f64;
    draws
        .iter()
        .enumerate()
        .map(|(i, &y)| {
            let f = cdf(y);
            (f - i as f64 / n).abs().max((f - (i + 1) as f64 / n).abs())
        })
        .fold(0.0, f64::max)
}

/// Number of draws of each KS test.
const DRAWS: usize = 20_000;
/// The KS critical value at significance 0.001: `1.949 / sqrt(n)` (asymptotic
/// Kolmogorov distribution), 0.0138 for 20,000 draws. With fixed seeds the tests are
/// deterministic; a correct sampler passes a given seed with probability 0.999.
fn ks_threshold() -> f64 {
    1.949 / (DRAWS as f64).sqrt()
}

/// Float64 mixture CDF at `y` of dimension `d` with weights tempered by `temperature` and
/// sigmas multiplied by `scale`.
fn reference_cdf(m: &Mix, d: usize, temperature: f64, scale: f64, y: f64) -> f64 {
    let log = m.transform() == TargetTransform::Log;
    if log && y <= 0.0 {
        return 0.0;
    }
    let t = if log { y.ln() } else { y };
    let logits: Vec<f64> = m
        .iter()
        .map(|c| f64::from(c.log_weight) / temperature)
        .collect();
    let max = logits.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let total: f64 = logits.iter().map(|l| (l - max).exp()).sum();
    m.iter()
        .zip(&logits)
        .map(|(c, l)| {
            let (mu, sigma) = (f64::from(c.means[d]), f64::from(c.sigmas[d]) * scale);
            (l - max).exp() / total * phi((t - mu) / sigma)
        })
        .sum()
}

fn draws(m: &Mix, rng: &mut dyn Rng, temperature: f32, scale: f32, d: usize) -> Vec<f64> {
    (0..DRAWS)
        .map(|_| f64::from(m.sample_tempered(rng, temperature, scale).unwrap()[d]))
        .collect()
}

#[test]
fn samples_follow_the_mixture() {
    let threshold = ks_threshold();
    let cases: [(&str, Mix, f32, f32); 6] = [
        ("tfp", tfp(), 1.0, 1.0),
        ("tfp T=0.5", tfp(), 0.5, 1.0),
        ("tfp T=3", tfp(), 3.0, 1.0),
        ("tfp scale 0.5", tfp(), 1.0, 0.5),
        (
            "trimodal",
            mixture(
                &[0.2, 0.5, 0.3],
                &[-4.0, 0.0, 5.0],
                &[0.5, 1.0, 0.8],
                TargetTransform::Identity,
            ),
            1.0,
            1.0,
        ),
        (
            "log target",
            mixture(&[0.4, 0.6], &[0.0, 1.5], &[0.3, 0.5], TargetTransform::Log),
            1.0,
            1.0,
        ),
    ];
    for (i, (name, m, temperature, scale)) in cases.iter().enumerate() {
        let mut rng = Pcg32::seed_from_u64(i as u64 + 1);
        let mut ys = draws(m, &mut rng, *temperature, *scale, 0);
        let ks = ks_statistic(&mut ys, |y| {
            reference_cdf(m, 0, f64::from(*temperature), f64::from(*scale), y)
        });
        println!("KS {name}: {ks:.4} (threshold {threshold:.4})");
        assert!(ks < threshold, "{name}: KS statistic {ks} >= {threshold}");
    }
}

#[test]
fn two_dimensional_samples_follow_each_marginal() {
    let m = Mix::new(
        &[0.3_f32.ln(), 0.7_f32.ln()],
        &[-2.0, 10.0, 2.0, 12.0],
        &[0.5, 1.0, 1.0, 3.0],
        2,
        TargetTransform::Identity,
    )
    .unwrap();
    let mut rng = Pcg32::seed_from_u64(42);
    let pairs: Vec<_> = (0..DRAWS).map(|_| m.sample(&mut rng)).collect();
    for d in 0..2 {
        let mut ys: Vec<f64> = pairs.iter().map(|p| f64::from(p[d])).collect();
        let ks = ks_statistic(&mut ys, |y| reference_cdf(&m, d, 1.0, 1.0, y));
        assert!(ks < ks_threshold(), "dimension {d}: KS {ks}");
    }
    // Both coordinates come from the same component.
    let m = Mix::new(
        &[0.3_f32.ln(), 0.7_f32.ln()],
        &[-10.0, -10.0, 10.0, 10.0],
        &[1.0, 1.0, 1.0, 1.0],
        2,
        TargetTransform::Identity,
    )
    .unwrap();
    assert!((0..1000).all(|_| {
        let y = m.sample(&mut rng);
        (y[0] < 0.0) == (y[1] < 0.0)
    }));
}

#[test]
fn sampling_is_reproducible_and_validates_arguments() {
    let m = tfp();
    let mut a = Pcg32::seed_from_u64(9);
    let mut b = Pcg32::seed_from_u64(9);
    for _ in 0..100 {
        assert_eq!(
            m.sample(&mut a)[0].to_bits(),
            m.sample_tempered(&mut b, 1.0, 1.0).unwrap()[0].to_bits()
        );
    }
    // A trait object works as well as a concrete generator.
    let dynamic: &mut dyn Rng = &mut a;
    assert!(m.sample(dynamic)[0].is_finite());
    for t in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        assert_eq!(
            m.sample_tempered(&mut a, t, 1.0),
            Err(Error::InvalidTemperature)
        );
    }
    for s in [0.0, -1.0, f32::NAN, f32::INFINITY] {
        assert_eq!(
            m.sample_tempered(&mut a, 1.0, s),
            Err(Error::InvalidSigmaScale)
        );
    }
    // Nothing is drawn on error.
    let before = a.clone();
    let _ = m.sample_tempered(&mut a, 0.0, 1.0);
    assert_eq!(a, before);
    // Extreme temperatures: the heaviest component only, or uniform weights.
    let far = mixture(
        &[0.3, 0.7],
        &[-10.0, 10.0],
        &[1.0, 1.0],
        TargetTransform::Identity,
    );
    let cold = (0..1000)
        .filter(|_| far.sample_tempered(&mut a, 1e-3, 1.0).unwrap()[0] < 0.0)
        .count();
    assert_eq!(cold, 0);
    let hot = (0..10_000)
        .filter(|_| far.sample_tempered(&mut a, 1e6, 1.0).unwrap()[0] < 0.0)
        .count();
    assert!((4_800..5_200).contains(&hot), "{hot}");
}
