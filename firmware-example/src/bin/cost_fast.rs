//! Cost of the approximate path, `mdn_core::fast::FastModel::log_prob`, on the `minimal`
//! model (`MDN_MODEL` with capacities `MDN_CAPACITIES`): instructions per query, counted
//! with SysTick under `-icount shift=6` exactly as `cost` counts the exact path, in a binary
//! of its own so that each figure is what a firmware calling only that path pays. QEMU
//! counts instructions, not cycles.

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use defmt::info;
use firmware_example::{
    InstructionCounter,
    capacities::{AppModel, INPUTS, OUTPUTS},
    exit,
};
use mdn_core::{Aligned, fast::FastModel};

static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(env!("MDN_MODEL")));

/// Evaluations per measurement; the figure is the mean.
const REPEATS: u64 = 16;
/// The `-icount shift` the figures assume.
const ICOUNT_SHIFT: u32 = 6;

#[entry]
fn main() -> ! {
    let Some(core) = cortex_m::Peripherals::take() else {
        exit(4)
    };
    let counter = InstructionCounter::new(core.SYST);
    let ((), overhead) = counter.measure(|| {
        for _ in 0..REPEATS {
            black_box(());
        }
    });
    let Ok(mut model) = AppModel::from_bytes(black_box(&MODEL.0)) else {
        exit(1)
    };
    // As `cost` measures the exact path: the same dense layers, so the difference is the
    // approximate functions alone.
    model.set_kernel(mdn_cortex_m::dot_blocks);
    let fast = FastModel::new(&model);
    let (x, y) = ([0.3_f32; INPUTS], [-0.7_f32; OUTPUTS]);
    let (log_p, ticks) = counter.measure(|| {
        let mut last = Ok(0.0);
        for _ in 0..REPEATS {
            last = black_box(&fast).log_prob(black_box(&x), black_box(&y));
        }
        last
    });
    let Ok(log_p) = log_p else { exit(1) };
    info!(
        "cost: fast log_prob {=u64} instructions (= {=f32})",
        InstructionCounter::qemu_instructions(
            ticks.saturating_sub(overhead) / REPEATS,
            ICOUNT_SHIFT
        ),
        log_p
    );
    exit(0)
}
