//! Link-time proof that mdn-core's device path cannot panic.
//!
//! Validates a blob and evaluates queries on `black_box` inputs, so the compiler must keep
//! every path, including every error path. The panic handler calls a function that does not
//! exist: if any panic path survives optimisation, the link fails with an undefined
//! reference to `mdn_core_has_a_panic_path`. Built in release (LTO) by `scripts/check.sh`:
//!
//! ```text
//! cargo build --release --bin nopanic --features nopanic
//! ```
//!
//! The binary is never run.

#![no_std]
#![no_main]

use core::{hint::black_box, panic::PanicInfo};

use cortex_m_rt::entry;
use firmware_example::exit;
use mdn_core::Model;

unsafe extern "C" {
    /// Deliberately undefined: referencing it from a reachable panic fails the link.
    fn mdn_core_has_a_panic_path() -> !;
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    // SAFETY: never executed; the symbol does not exist, so any reachable call fails to link.
    unsafe { mdn_core_has_a_panic_path() }
}

/// Arbitrary bytes: the compiler may assume nothing about the blob.
static BYTES: [u8; 8192] = [0; 8192];

#[entry]
fn main() -> ! {
    let bytes: &[u8] = black_box(&BYTES);
    let len = black_box(bytes.len());
    let bytes = bytes.get(..len).unwrap_or(&[]);
    let mut checksum = 0_u32;
    if let Ok(model) = Model::<4, 64, 8, 2>::from_bytes(bytes) {
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
        }
        checksum ^= model.log_prob(x, y).map_or(0, f32::to_bits);
    }
    if let Ok((model, rest)) = Model::<4, 64, 8, 2>::from_prefix(bytes) {
        checksum ^= rest.len() as u32 ^ model.blob().crc();
    }
    black_box(checksum);
    exit(0)
}
