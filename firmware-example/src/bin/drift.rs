//! Drift watch on the device: `mdn_core::CalibrationMonitor` fed with `(x, y)` pairs.
//!
//! The model is `models/minimal.mdn` (1-32-32 ReLU, K = 5, nnelu, D = 1, generated
//! parameters). Two streams of [`STREAM`] observations, with `x`
//! uniform in `[-1, 1)` and `y` drawn from the model's own mixture at `x`
//! (`mdn_tests::vectors::ParityRng`, fixed seeds):
//!
//! 1. unchanged: every draw from the model; the monitor must raise no flag;
//! 2. doubled noise: from observation [`CHANGE`] on, every component's sigma is doubled
//!    (`Mixture::sample_tempered` with sigma scale 2); the monitor must flag within
//!    [`MAX_DELAY`] observations of the change.
//!
//! The monitor: 10 PIT bins, Kolmogorov-Smirnov windows of [`WINDOW`] values, false-alarm
//! probability [`ALPHA`] per window. Logs the instructions per `observe` (meaningful under
//! `-icount shift=6`) and one line per stream; exit 0 when both behave as stated, 1 for a
//! flag on the unchanged stream, 2 for a missed or late flag on the changed one, 3 if the
//! model or a query fails.
//!
//! Why not the demo student (`models/demo_student_invsin.mdn`)? Its mixture has well
//! separated branches; doubling each component's sigma then moves the PIT of a draw only
//! within its branch's share of `[0, 1]`, and the Kolmogorov-Smirnov distance stays small
//! (measured: no flag in 2,048 doubled-noise observations, last D = 0.054 against a critical
//! 0.121). The test watches calibration of the whole predictive distribution, not of each
//! component.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use firmware_example::{InstructionCounter, exit};
use mdn_core::{Aligned, CalibrationMonitor, Model, Verdict};
use mdn_tests::vectors::ParityRng;

/// The model, 4-byte aligned in flash.
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!("../../models/minimal.mdn"));

/// Observations per stream.
const STREAM: u32 = 4096;
/// The observation (counted from 0) from which the second stream's noise is doubled.
const CHANGE: u32 = 2048;
/// PIT values per Kolmogorov-Smirnov test.
const WINDOW: usize = 256;
/// False-alarm probability per window: about 16 * 0.001 = 1.6 % over an unchanged stream.
const ALPHA: f32 = 0.001;
/// The stated detection delay: two windows.
const MAX_DELAY: u32 = 2 * WINDOW as u32;

type Monitor = CalibrationMonitor<10, WINDOW>;

/// The `-icount shift` the instruction counts assume (`tests/src/qemu.rs`'s `ICOUNT_SHIFT`).
const ICOUNT_SHIFT: u32 = 6;

/// Instructions per `observe` (one `cdf`, one `log_prob`, the bookkeeping, and the window's
/// sort and test spread over its `WINDOW` observations), averaged over one window of the
/// unchanged stream's draws; meaningful only under `-icount shift=6`.
fn observe_cost(
    model: &Model<'_, 1, 32, 5, 1>,
    counter: &InstructionCounter,
) -> mdn_core::Result<u64> {
    use mdn_core::rand_core::Rng;
    let mut rng = ParityRng::new(1);
    let mut monitor = Monitor::new(ALPHA)?;
    let mut ticks = 0;
    for _ in 0..WINDOW {
        let x = -1.0 + 2.0 * (rng.next_u32() >> 8) as f32 / (1 << 24) as f32;
        let mixture = model.mixture(&[x])?;
        let y = mixture.sample(&mut rng);
        let (verdict, t) = counter.measure(|| monitor.observe(&mixture, &y));
        verdict?;
        ticks += t;
    }
    Ok(InstructionCounter::qemu_instructions(
        ticks / WINDOW as u64,
        ICOUNT_SHIFT,
    ))
}

/// Streams [`STREAM`] observations from `seed`, with every sigma doubled from [`CHANGE`] on
/// if `doubled`; returns the monitor at the end.
fn stream(model: &Model<'_, 1, 32, 5, 1>, seed: u64, doubled: bool) -> mdn_core::Result<Monitor> {
    use mdn_core::rand_core::Rng;
    let mut rng = ParityRng::new(seed);
    let mut monitor = Monitor::new(ALPHA)?;
    for i in 0..STREAM {
        let x = -1.0 + 2.0 * (rng.next_u32() >> 8) as f32 / (1 << 24) as f32;
        let mixture = model.mixture(&[x])?;
        let sigma_scale = if doubled && i >= CHANGE { 2.0 } else { 1.0 };
        let y = mixture.sample_tempered(&mut rng, 1.0, sigma_scale)?;
        monitor.observe(&mixture, &y)?;
    }
    Ok(monitor)
}

fn log_monitor(name: &str, monitor: &Monitor) {
    let [c50, c80, c95] = monitor.covered();
    defmt::info!(
        "drift: {=str}: {=u32} observations, {=u32} windows, last D = {=f32} (critical {=f32}), coverage 50/80/95 % = {=u32}/{=u32}/{=u32}, mean log p = {=f32}, PIT histogram {=[?]}",
        name,
        monitor.count(),
        monitor.windows_tested(),
        monitor.last_statistic().unwrap_or(f32::NAN),
        monitor.critical_value(),
        c50,
        c80,
        c95,
        monitor.mean_log_prob().unwrap_or(f32::NAN),
        &monitor.histogram()[..]
    );
}

#[entry]
fn main() -> ! {
    let mut model = match Model::<1, 32, 5, 1>::from_bytes(&MODEL.0) {
        Ok(model) => model,
        Err(_) => exit(3),
    };
    firmware_example::set_kernels(&mut model);

    let (Ok(unchanged), Ok(doubled)) = (stream(&model, 1, false), stream(&model, 2, true)) else {
        exit(3)
    };
    let Some(core) = cortex_m::Peripherals::take() else {
        exit(3)
    };
    let counter = InstructionCounter::new(core.SYST);
    let Ok(per_observation) = observe_cost(&model, &counter) else {
        exit(3)
    };
    defmt::info!(
        "drift: observe costs {=u64} instructions per observation (under -icount shift=6; the sort included)",
        per_observation
    );
    log_monitor("unchanged", &unchanged);
    let mut code = 0;
    match unchanged.verdict() {
        Verdict::Calibrated => defmt::info!("drift: unchanged stream: no flag"),
        Verdict::Drifted { at, statistic } => {
            defmt::error!(
                "drift: unchanged stream: flagged at {=u32} (D = {=f32})",
                at,
                statistic
            );
            code = 1;
        }
    }
    log_monitor("doubled", &doubled);
    match doubled.verdict() {
        Verdict::Drifted { at, statistic } => {
            defmt::info!(
                "drift: doubled noise from {=u32}: flagged at {=u32}, {=u32} after the change (D = {=f32})",
                CHANGE,
                at,
                at.saturating_sub(CHANGE),
                statistic
            );
            if at <= CHANGE || at > CHANGE + MAX_DELAY {
                code = code.max(2);
            }
        }
        Verdict::Calibrated => {
            defmt::error!("drift: doubled noise from {=u32}: no flag", CHANGE);
            code = code.max(2);
        }
    }
    exit(code)
}
