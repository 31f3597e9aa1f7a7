//! The price of verifying a detached Ed25519 signature on the device, for choosing the
//! verification crate (BENCHMARKS.md, "Signature verification"): instructions for one
//! verification of `MDN_MODEL`'s blob, counted with SysTick under `-icount shift=6`.
//!
//! Built with exactly one of the features `cost-ed25519-compact`, `cost-ed25519-dalek` or
//! `cost-salty`, it verifies with that crate; built with none, it is the same program
//! without the verification, the baseline of the flash difference. The key pair and the
//! signature come from a fixed seed in build.rs (`$OUT_DIR/bench_signature.rs`), signed
//! on the host by ed25519-compact over the embedded blob, whole.
//!
//! Exit status 0 when the signature holds (and for the baseline), 1 when it does not,
//! 2 for an invalid blob. `scripts/signature_cost.sh` builds the four variants, measures
//! their flash and runs them.

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use defmt::info;
use firmware_example::{InstructionCounter, capacities::AppModel, exit};
use mdn_core::Aligned;

static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(env!("MDN_MODEL")));

include!(concat!(env!("OUT_DIR"), "/bench_signature.rs"));

/// The `-icount shift` the figures assume.
const ICOUNT_SHIFT: u32 = 6;

#[cfg(any(
    all(feature = "cost-ed25519-compact", feature = "cost-ed25519-dalek"),
    all(feature = "cost-ed25519-compact", feature = "cost-salty"),
    all(feature = "cost-ed25519-dalek", feature = "cost-salty"),
))]
compile_error!("signature_cost measures one crate at a time: enable at most one cost-* feature");

/// The crate measured, as the log names it.
const CRATE: &str = if cfg!(feature = "cost-ed25519-compact") {
    "ed25519-compact"
} else if cfg!(feature = "cost-ed25519-dalek") {
    "ed25519-dalek"
} else if cfg!(feature = "cost-salty") {
    "salty"
} else {
    "none"
};

/// Verifies `signature` over `message` with the crate chosen by the features; `true` for
/// the baseline, which links no verification.
#[inline(never)]
fn verify(message: &[u8], signature: &[u8; 64], key: &[u8; 32]) -> bool {
    #[cfg(feature = "cost-ed25519-compact")]
    {
        let key = ed25519_compact::PublicKey::new(*key);
        let signature = ed25519_compact::Signature::new(*signature);
        key.verify(message, &signature).is_ok()
    }
    #[cfg(feature = "cost-ed25519-dalek")]
    {
        let Ok(key) = ed25519_dalek::VerifyingKey::from_bytes(key) else {
            return false;
        };
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        key.verify_strict(message, &signature).is_ok()
    }
    #[cfg(feature = "cost-salty")]
    {
        let Ok(key) = salty::PublicKey::try_from(key) else {
            return false;
        };
        key.verify(message, &salty::Signature::from(signature))
            .is_ok()
    }
    #[cfg(not(any(
        feature = "cost-ed25519-compact",
        feature = "cost-ed25519-dalek",
        feature = "cost-salty"
    )))]
    {
        let _ = (message, signature, key);
        true
    }
}

#[entry]
fn main() -> ! {
    // What an application does at boot: the blob is validated, and its signature checked.
    if AppModel::from_bytes(black_box(&MODEL.0)).is_err() {
        exit(2)
    }
    let Some(core) = cortex_m::Peripherals::take() else {
        exit(4)
    };
    let counter = InstructionCounter::new(core.SYST);
    let (holds, ticks) = counter.measure(|| {
        verify(
            black_box(&MODEL.0),
            black_box(&BENCH_SIGNATURE),
            black_box(&BENCH_PUBLIC_KEY),
        )
    });
    let instructions = InstructionCounter::qemu_instructions(ticks, ICOUNT_SHIFT);
    info!(
        "signature_cost: {=str} verifies a {=usize}-byte blob in {=u64} instructions: {=bool}",
        CRATE,
        MODEL.0.len(),
        instructions,
        holds
    );
    exit(if holds { 0 } else { 1 })
}
