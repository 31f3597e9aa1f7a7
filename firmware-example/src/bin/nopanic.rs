//! Link-time proof that mdn-core cannot panic.
//!
//! Validates a blob and evaluates queries on `black_box` inputs, with mdn-core's kernel or
//! `mdn-cortex-m`'s as a `black_box` decides, so the compiler must keep every path,
//! including every error path; then reads the blob's layout and parameter values back and
//! writes the blob again with `encode`, and streams the bytes through `StreamValidator`. The panic handler calls a function that does not
//! exist: if any panic path survives optimisation, the link fails with an undefined
//! reference to `mdn_core_has_a_panic_path`. Built in release (LTO) by `scripts/check.sh`,
//! for the Cortex-M4F and for ARMv6-M (other code, so other optimisations to prove):
//!
//! ```text
//! cargo build --release --bin nopanic --features nopanic
//! cargo build --release --bin nopanic --features nopanic --target thumbv6m-none-eabi
//! ```
//!
//! The binary is never run.

#![no_std]
#![no_main]

use core::{hint::black_box, panic::PanicInfo};

use core::convert::Infallible;

use cortex_m_rt::entry;
use firmware_example::exit;
use mdn_core::{
    Blob, CalibrationMonitor, Mixture, Model, StreamValidator, Verdict, encode, encoded_len,
    ks_statistic, rand_core::TryRng,
};

unsafe extern "C" {
    /// Deliberately undefined: referencing it from a reachable panic fails the link.
    fn mdn_core_has_a_panic_path() -> !;
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    // SAFETY: never executed; the symbol does not exist, so any reachable call fails to link.
    unsafe { mdn_core_has_a_panic_path() }
}

/// A generator whose state the compiler cannot see (xorshift32).
struct Opaque(u32);

impl TryRng for Opaque {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 17;
        self.0 ^= self.0 << 5;
        Ok(self.0)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        mdn_core::rand_core::utils::next_u64_via_u32(self)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        mdn_core::rand_core::utils::fill_bytes_via_next_word(dst, || self.try_next_u32())
    }
}

/// Every distribution query of `mixture`, with arguments the compiler cannot see.
fn distribution_queries(mixture: &Mixture<8, 2>, other: &Mixture<8, 2>, y: &[f32]) -> u32 {
    let bits = |r: mdn_core::Result<f32>| r.map_or(0, f32::to_bits);
    let mut checksum = 0_u32;
    checksum ^= mixture
        .cdf(y)
        .map_or(0, |c| c.iter().fold(0, |a, v| a ^ v.to_bits()));
    checksum ^= bits(mixture.anomaly_score(y));
    checksum ^= mixture
        .crps(y)
        .map_or(0, |c| c.iter().fold(0, |a, v| a ^ v.to_bits()));
    checksum ^= bits(mixture.quantile(black_box(0.3)));
    checksum ^= mixture
        .interval(black_box(0.9))
        .map_or(0, |i| i.lower.to_bits() ^ i.upper.to_bits());
    checksum ^= mixture.modes().map_or(0, |m| {
        m.iter()
            .fold(m.highest_index().unwrap_or(0) as u32, |a, v| {
                a ^ v.location.to_bits() ^ v.density.to_bits()
            })
    });
    checksum ^= bits(mixture.entropy());
    checksum ^= bits(mixture.kl_divergence(other));
    checksum ^= bits(mixture.hellinger_distance(other));
    checksum ^= bits(mixture.total_variation_distance(other));
    let mut rng = Opaque(black_box(1));
    checksum ^= mixture
        .sample(&mut rng)
        .iter()
        .fold(0, |a, v| a ^ v.to_bits());
    checksum ^= mixture
        .sample_tempered(&mut rng, black_box(0.5), black_box(2.0))
        .map_or(0, |s| s.iter().fold(0, |a, v| a ^ v.to_bits()));
    let grid: [f32; 8] = black_box([0.0; 8]);
    let mut density = [0.0_f32; 8];
    let n = black_box(8_usize);
    let (grid, out) = (
        grid.get(..n).unwrap_or(&[]),
        density.get_mut(..n).unwrap_or(&mut []),
    );
    if mixture.density_on_grid(grid, out).is_ok() {
        checksum ^= density.iter().fold(0, |a, v| a ^ v.to_bits());
    }
    checksum ^ drift_monitor(mixture, y)
}

/// `CalibrationMonitor` (its windows filled, so the sort and the test run) and
/// `ks_statistic`, with a level, observations and counts the compiler cannot see.
fn drift_monitor(mixture: &Mixture<8, 2>, y: &[f32]) -> u32 {
    let mut checksum = 0_u32;
    if let Ok(mut monitor) = CalibrationMonitor::<10, 16>::new(black_box(0.001)) {
        for _ in 0..black_box(40_u32) {
            if let Ok(Verdict::Drifted { at, statistic }) = monitor.observe(mixture, y) {
                checksum ^= at ^ statistic.to_bits();
            }
        }
        checksum ^= monitor
            .histogram()
            .iter()
            .fold(monitor.count(), |a, v| a ^ v);
        checksum ^= monitor
            .covered()
            .iter()
            .fold(monitor.windows_tested(), |a, v| a ^ v);
        checksum ^= monitor.mean_log_prob().map_or(0, f32::to_bits);
        checksum ^= monitor.last_statistic().map_or(0, f32::to_bits);
        checksum ^= monitor.critical_value().to_bits();
        monitor.reset();
        checksum ^= monitor.count();
    }
    let mut values: [f32; 64] = black_box([0.5; 64]);
    let n = black_box(64_usize);
    checksum ^ ks_statistic(values.get_mut(..n).unwrap_or(&mut [])).to_bits()
}

/// The writer and the layout's readers on a header and parameters the compiler cannot see
/// (those of `blob`): `encoded_len`, `encode`, `Layout::tensors`, `Layout::stored_position`,
/// `Layout::find`, `Blob::parameter_values`.
fn writer_and_layout(blob: &Blob<'_>) -> u32 {
    let header = blob.header();
    let mut checksum = encoded_len(header).map_or(0, |len| len as u32);
    if let Ok(layout) = blob.layout() {
        checksum ^= layout.tensors().fold(0, |a, t| {
            a ^ t.offset as u32 ^ t.len() as u32 ^ t.network.map_or(0, |m| m as u32)
        });
        checksum ^= layout
            .stored_position(black_box(3))
            .map_or(0, |at| at.byte as u32);
        checksum ^= layout
            .find(black_box(mdn_core::TensorName::MeansBias))
            .map_or(0, |t| t.offset as u32);
    }
    let mut parameters = [0.0_f32; BYTES.len() / 4];
    let mut count = 0;
    for (p, value) in parameters.iter_mut().zip(blob.parameter_values()) {
        *p = value;
        count += 1;
    }
    let mut out = [0_u8; BYTES.len()];
    let parameters = parameters.get(..count).unwrap_or(&[]);
    checksum ^ encode(header, parameters, &mut out).map_or(0, |len| len as u32)
}

/// `StreamValidator`, with and without capacities, fed the bytes in chunks of a size the
/// compiler cannot see.
fn streamed(bytes: &[u8]) -> u32 {
    let slot = black_box(16_384_usize);
    let mut validator = match black_box(true) {
        true => StreamValidator::for_model::<4, 64, 8, 2>(slot),
        false => StreamValidator::new(slot),
    };
    for chunk in bytes.chunks(black_box(7_usize).max(1)) {
        if validator.feed(chunk).is_err() {
            break;
        }
    }
    let received = validator.received() as u32 ^ validator.declared_len().unwrap_or(0) as u32;
    validator
        .finish()
        .map_or(received, |blob| blob.crc ^ blob.len as u32)
}

/// Arbitrary bytes: the compiler may assume nothing about the blob.
static BYTES: [u8; 8192] = [0; 8192];

#[entry]
fn main() -> ! {
    let bytes: &[u8] = black_box(&BYTES);
    let len = black_box(bytes.len());
    let bytes = bytes.get(..len).unwrap_or(&[]);
    let mut checksum = 0_u32;
    if let Ok(mut model) = Model::<4, 64, 8, 2>::from_bytes(bytes) {
        if black_box(len) % 2 == 1 {
            firmware_example::set_kernels(&mut model);
        }
        let x: [f32; 4] = black_box([0.0; 4]);
        let y: [f32; 2] = black_box([0.0; 2]);
        let (nx, ny) = (black_box(4_usize), black_box(2_usize));
        let (x, y) = (x.get(..nx).unwrap_or(&[]), y.get(..ny).unwrap_or(&[]));
        if let Ok(mixture) = model.mixture(x) {
            checksum ^= mixture.log_prob(y).map_or(0, f32::to_bits);
            checksum ^= mixture.prob(y).map_or(0, f32::to_bits);
            checksum ^= mixture.mean().iter().fold(0, |a, v| a ^ v.to_bits());
            checksum ^= mixture.variance().iter().fold(0, |a, v| a ^ v.to_bits());
            checksum ^= mixture.std_dev().iter().fold(0, |a, v| a ^ v.to_bits());
            let x2: [f32; 4] = black_box([1.0; 4]);
            if let Ok(other) = model.mixture(x2.get(..nx).unwrap_or(&[])) {
                checksum ^= distribution_queries(&mixture, &other, y);
            }
        }
        checksum ^= model.log_prob(x, y).map_or(0, f32::to_bits);
        let rows = black_box(3_usize);
        let (xs, ys) = (black_box([0.5_f32; 12]), black_box([0.5_f32; 6]));
        let mut out = [0.0_f32; 3];
        let batch = (
            xs.get(..rows * nx).unwrap_or(&[]),
            ys.get(..rows * ny).unwrap_or(&[]),
            out.get_mut(..rows).unwrap_or(&mut []),
        );
        if model.log_prob_batch(batch.0, batch.1, batch.2).is_ok() {
            checksum ^= out.iter().fold(0, |a, v| a ^ v.to_bits());
        }
        checksum ^= writer_and_layout(model.blob());
    }
    // A mixture from parameters the compiler cannot see.
    let (k, d) = (black_box(2_usize), black_box(2_usize));
    let parameters: [f32; 10] = black_box([0.0; 10]);
    let (log_weights, rest) = parameters.split_at_checked(k).unwrap_or_default();
    let (means, sigmas) = rest.split_at_checked(k * d).unwrap_or_default();
    let transform = mdn_core::TargetTransform::Identity;
    if let Ok(mixture) = Mixture::<8, 2>::new(log_weights, means, sigmas, d, transform) {
        checksum ^= mixture.log_weights().iter().fold(0, |a, v| a ^ v.to_bits());
    }
    if let Ok((model, rest)) = Model::<4, 64, 8, 2>::from_prefix(bytes) {
        checksum ^= rest.len() as u32 ^ model.blob().crc();
    }
    checksum ^= streamed(bytes);
    black_box(checksum);
    exit(0)
}
