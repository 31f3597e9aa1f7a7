//! The drift monitor on streams drawn from a model: silent while the data follow the model,
//! flagged soon after the noise doubles or the mean shifts.
//!
//! Setting for every stream: the documentation's example model (1 input, one hidden layer of
//! 3, K = 2), `x` uniform in `[-2, 2)`, `y` drawn from the model's own mixture at `x` with
//! `rand_pcg::Pcg32`; `BINS = 10`, `WINDOW = 256`, `alpha = 0.001` per window; streams of
//! [`STREAM`] observations, any change at [`CHANGE`] (a window boundary).

use mdn_core::{
    CalibrationMonitor, Error, Mixture, Model, TargetTransform, Verdict, doc_example_blob,
    rand_core::{Rng, SeedableRng},
};
use rand_pcg::Pcg32;

const WINDOW: usize = 256;
const STREAM: u32 = 4096;
const CHANGE: u32 = 2048;
const ALPHA: f32 = 0.001;
/// The stated detection delay: the doubled-noise and shifted streams are flagged when at
/// most two windows of changed data have been seen.
const MAX_DELAY: u32 = 2 * WINDOW as u32;

type Monitor = CalibrationMonitor<10, WINDOW>;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Change {
    None,
    /// Every component's sigma doubles (`sample_tempered` with sigma scale 2).
    DoubledNoise,
    /// Every draw moves up by one standard deviation of the mixture at its `x`.
    ShiftedMean,
}

/// Streams [`STREAM`] observations with `change` from [`CHANGE`] on; returns the monitor.
fn stream(seed: u64, change: Change) -> Monitor {
    let blob = doc_example_blob();
    let model = Model::<1, 3, 2, 1>::from_bytes(&blob).expect("doc model");
    let mut rng = Pcg32::seed_from_u64(seed);
    let mut monitor = Monitor::new(ALPHA).expect("alpha");
    for i in 0..STREAM {
        let x = -2.0 + 4.0 * (rng.next_u32() >> 8) as f32 / (1 << 24) as f32;
        let mixture = model.mixture(&[x]).expect("mixture");
        let changed = i >= CHANGE;
        let y = match change {
            Change::DoubledNoise if changed => {
                mixture.sample_tempered(&mut rng, 1.0, 2.0).unwrap()[0]
            }
            Change::ShiftedMean if changed => mixture.sample(&mut rng)[0] + mixture.std_dev()[0],
            _ => mixture.sample(&mut rng)[0],
        };
        monitor.observe(&mixture, &[y]).expect("observe");
    }
    monitor
}

fn flagged_at(monitor: &Monitor) -> Option<u32> {
    match monitor.verdict() {
        Verdict::Drifted { at, .. } => Some(at),
        Verdict::Calibrated => None,
    }
}

#[test]
fn unchanged_stream_raises_no_flag() {
    let monitor = stream(1, Change::None);
    assert_eq!(monitor.verdict(), Verdict::Calibrated);
    assert_eq!(monitor.count(), STREAM);
    assert_eq!(monitor.windows_tested(), STREAM / WINDOW as u32);
    // Coverage near 50/80/95 % (binomial standard errors at n = 4096: 0.8, 0.6, 0.3 %;
    // four of them allowed).
    for (covered, level) in monitor.covered().iter().zip(mdn_core::COVERAGE_LEVELS) {
        let rate = *covered as f32 / STREAM as f32;
        assert!(
            (rate - level).abs() < 0.032,
            "coverage {rate} for level {level}"
        );
    }
    // A flat histogram: each bin within 5 standard errors (sqrt(4096 * 0.1 * 0.9) = 19).
    for &bin in monitor.histogram() {
        assert!((bin as i64 - 410).abs() < 96, "{:?}", monitor.histogram());
    }
    assert!(monitor.mean_log_prob().is_some_and(f32::is_finite));
}

#[test]
fn doubled_noise_is_flagged_within_two_windows() {
    let monitor = stream(1, Change::DoubledNoise);
    let at = flagged_at(&monitor).expect("doubled noise flagged");
    assert!(at > CHANGE && at <= CHANGE + MAX_DELAY, "flagged at {at}");
    // Too many observations outside the intervals.
    assert!(monitor.covered()[2] < (0.95 * STREAM as f32) as u32);
}

#[test]
fn shifted_mean_is_flagged_within_one_window() {
    let monitor = stream(1, Change::ShiftedMean);
    let at = flagged_at(&monitor).expect("shifted mean flagged");
    assert!(
        at > CHANGE && at <= CHANGE + WINDOW as u32,
        "flagged at {at}"
    );
}

/// Over 40 seeds: no false alarm in 40 unchanged streams (640 windows; at alpha = 0.001
/// per window about 0.64 are expected, so this seed range happens to have none), and every
/// changed stream flagged within the stated delay. Prints the delays measured.
#[test]
fn detection_delay_and_false_alarms_over_seeds() {
    let mut delays = Vec::new();
    for seed in 100..140 {
        assert_eq!(flagged_at(&stream(seed, Change::None)), None, "seed {seed}");
        let at = flagged_at(&stream(seed, Change::DoubledNoise)).expect("flagged");
        assert!(at > CHANGE && at <= CHANGE + MAX_DELAY, "seed {seed}: {at}");
        delays.push(at - CHANGE);
    }
    let one_window = delays.iter().filter(|&&d| d == WINDOW as u32).count();
    println!("doubled noise: delays {delays:?}, {one_window} of 40 within one window");
}

#[test]
fn errors_leave_the_monitor_unchanged() {
    let m = Mixture::<1, 2>::new(
        &[0.0],
        &[0.0, 0.0],
        &[1.0, 1.0],
        2,
        TargetTransform::Identity,
    )
    .expect("mixture");
    let mut monitor = Monitor::new(ALPHA).expect("alpha");
    assert_eq!(
        monitor.observe(&m, &[0.0, 0.0]),
        Err(Error::NotUnivariate { dims: 2 })
    );
    let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)
        .expect("mixture");
    assert_eq!(
        monitor.observe(&m, &[f32::INFINITY]),
        Err(Error::NonFiniteTarget)
    );
    assert_eq!(
        monitor.observe(&m, &[]),
        Err(Error::TargetLength {
            expected: 1,
            found: 0
        })
    );
    assert_eq!(monitor, Monitor::new(ALPHA).expect("alpha"));
    for alpha in [f32::NAN, -0.1, 1.0] {
        assert_eq!(Monitor::new(alpha), Err(Error::InvalidProbability));
    }
}

#[test]
fn log_target_with_zero_density() {
    let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Log).expect("m");
    let mut monitor = CalibrationMonitor::<4, 4>::new(0.01).expect("alpha");
    monitor.observe(&m, &[-1.0]).expect("observe");
    assert_eq!(monitor.histogram(), &[1, 0, 0, 0]);
    assert_eq!(monitor.mean_log_prob(), Some(f32::NEG_INFINITY));
}

/// The stated false-alarm rate, measured: 4,000 windows of 64 calibrated observations
/// (standard normal draws under a standard normal model) at alpha = 0.05 and 0.01. The
/// number of rejecting windows is binomial(4000, alpha) if the critical value is right:
/// 200 +- 14 and 40 +- 6.3; four standard deviations allowed.
#[test]
fn false_alarm_rate_per_window_is_alpha() {
    let m = Mixture::<1, 1>::new(&[0.0], &[0.0], &[1.0], 1, TargetTransform::Identity)
        .expect("mixture");
    for (alpha, expected, sd) in [(0.05_f32, 200.0_f32, 13.8_f32), (0.01, 40.0, 6.3)] {
        let mut rng = Pcg32::seed_from_u64(9);
        let mut rejections = 0;
        for _ in 0..4000 {
            let mut monitor = CalibrationMonitor::<1, 64>::new(alpha).expect("alpha");
            for _ in 0..64 {
                let y = m.sample(&mut rng);
                monitor.observe(&m, &y).expect("observe");
            }
            assert_eq!(monitor.windows_tested(), 1);
            if monitor.verdict() != Verdict::Calibrated {
                rejections += 1;
            }
        }
        println!("alpha {alpha}: {rejections} of 4000 windows rejected (expected {expected})");
        assert!(
            (rejections as f32 - expected).abs() < 4.0 * sd,
            "alpha {alpha}: {rejections} rejections"
        );
    }
}
