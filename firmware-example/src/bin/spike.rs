//! Throwaway measurement spike: what does evaluating an MDN from a runtime `&[u8]` cost?
//!
//! Variant (a) indexes the blob naively, (b) validates it once and iterates (see the
//! `spike-eval` crate). Select with `SPIKE_VARIANT=naive|split|both` at build time (default
//! `both`) so each variant's flash and panic symbols can be measured alone. Run under
//! `-icount shift=6`; exits 1 if the two variants disagree.

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use defmt::info;
use firmware_example::{InstructionCounter, exit, stack_usage};
use spike_eval::{Network, WEIGHTS, log_prob_naive};

const VARIANT: &str = match option_env!("SPIKE_VARIANT") {
    Some(variant) => variant,
    None => "both",
};
/// `SPIKE_FIXED=1`: evaluate (b) with the widths as constants (`Network::log_prob_fixed`).
const FIXED_WIDTHS: bool = option_env!("SPIKE_FIXED").is_some();
const REPEATS: u64 = 10;
const ICOUNT_SHIFT: u32 = 6;

#[entry]
fn main() -> ! {
    stack_usage::paint();
    let core = cortex_m::Peripherals::take().unwrap();
    let counter = InstructionCounter::new(core.SYST);
    let blob: &[u8] = black_box(&WEIGHTS.0);
    let (x, y) = (black_box(0.3f32), black_box(-0.7f32));

    let ((), overhead) = counter.measure(|| {
        for _ in 0..REPEATS {
            black_box(());
        }
    });
    let report = |name: &str, ticks: u64, value: f32| {
        let per_eval = (ticks - overhead) / REPEATS;
        let instructions = InstructionCounter::qemu_instructions(per_eval, ICOUNT_SHIFT);
        info!(
            "{=str}: log p = {=f32} ({=u32:#x}), {=u64} ticks per eval = {=u64} instructions",
            name,
            value,
            value.to_bits(),
            per_eval,
            instructions
        );
    };

    let mut naive = None;
    if VARIANT == "naive" || VARIANT == "both" {
        let (value, ticks) = counter.measure(|| {
            let mut value = 0.0;
            for _ in 0..REPEATS {
                value = black_box(log_prob_naive(black_box(blob), black_box(x), black_box(y)));
            }
            value
        });
        report("(a) naive", ticks, value);
        naive = Some(value);
    }
    let mut split = None;
    if VARIANT == "split" || VARIANT == "both" {
        let (network, split_ticks) = counter.measure(|| Network::split(black_box(blob)));
        let Some(network) = network else { exit(2) };
        let network = black_box(&network);
        let (value, ticks) = counter.measure(|| {
            let mut value = 0.0;
            for _ in 0..REPEATS {
                value = black_box(if FIXED_WIDTHS {
                    network.log_prob_fixed(black_box(x), black_box(y))
                } else {
                    network.log_prob(black_box(x), black_box(y))
                });
            }
            value
        });
        info!("(b) split once: {=u64} ticks", split_ticks);
        report("(b) split", ticks, value);
        split = Some(value);
    }
    info!("stack peak: {=usize} bytes", stack_usage::peak_bytes());
    match (naive, split) {
        (Some(a), Some(b)) if a.to_bits() != b.to_bits() => exit(1),
        _ => exit(0),
    }
}
