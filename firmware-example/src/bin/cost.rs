//! Cost figures of the `minimal` model (`MDN_MODEL` with capacities `MDN_CAPACITIES`):
//! instructions per query, counted with SysTick, and the stack peak. Queries run with
//! `mdn-cortex-m`'s kernel, as in `minimal`; `log_prob` also with mdn-core's portable one.
//! Run under `-icount shift=6` (as `figures --device-only` does), where one instruction is
//! 1.6 SysTick ticks on mps2-an386; QEMU counts instructions, not cycles.
//!
//! Every query is at the stated input of mdn-train's device cost model
//! (`mdn_train::device_cost`, which `figures` and the device parity test check against these
//! counts): every feature 0.3, every target -0.7, or 0.7 for a log target, whose density is
//! zero at `y <= 0` (a query there returns before the densities).

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use defmt::info;
use firmware_example::{
    InstructionCounter,
    capacities::{AppModel as MinimalModel, INPUTS, OUTPUTS},
    exit, stack_usage,
};
use mdn_core::{Aligned, Header, TargetTransform};

static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(env!("MDN_MODEL")));

/// Evaluations per measurement; the figure is the mean.
const REPEATS: u64 = 16;
/// The `-icount shift` the figures assume.
const ICOUNT_SHIFT: u32 = 6;

#[entry]
fn main() -> ! {
    // The stack peak of exactly what `minimal` does (validate, one query), measured first
    // and in its own frame so the measuring code below does not count.
    stack_usage::paint();
    let query = minimal_query();
    let stack = stack_usage::peak_bytes();
    info!(
        "cost: stack peak of validate + log_prob {=usize} bytes",
        stack
    );
    if query.is_err() {
        exit(1)
    }
    let Some(core) = cortex_m::Peripherals::take() else {
        exit(4)
    };
    instruction_counts(InstructionCounter::new(core.SYST))
}

/// Every feature of the stated input.
const STATED_FEATURE: f32 = 0.3;

/// Every target of the stated input: within the support of the model's target transform.
fn stated_targets(header: &Header<'_>) -> [f32; OUTPUTS] {
    match header.target_transform {
        TargetTransform::Identity => [-0.7; OUTPUTS],
        TargetTransform::Log => [0.7; OUTPUTS],
    }
}

/// What `minimal` does: validate the blob, answer one query.
#[inline(never)]
fn minimal_query() -> mdn_core::Result<f32> {
    let mut model = MinimalModel::from_bytes(black_box(&MODEL.0))?;
    firmware_example::set_kernels(&mut model);
    let y = stated_targets(model.header());
    model.log_prob(black_box(&[STATED_FEATURE; INPUTS]), black_box(&y))
}

/// Instructions per validation and per query, under `-icount shift=6`.
#[inline(never)]
fn instruction_counts(counter: InstructionCounter) -> ! {
    let ((), overhead) = counter.measure(|| {
        for _ in 0..REPEATS {
            black_box(());
        }
    });
    let per_query = |ticks: u64| {
        InstructionCounter::qemu_instructions(
            ticks.saturating_sub(overhead) / REPEATS,
            ICOUNT_SHIFT,
        )
    };

    let (model, validate_ticks) = counter.measure(|| MinimalModel::from_bytes(black_box(&MODEL.0)));
    let Ok(mut model) = model else { exit(1) };
    let (x, y) = ([STATED_FEATURE; INPUTS], stated_targets(model.header()));
    let log_prob_instructions = |model: &MinimalModel| {
        let (log_p, ticks) = counter.measure(|| {
            let mut last = Ok(0.0);
            for _ in 0..REPEATS {
                last = black_box(model).log_prob(black_box(&x), black_box(&y));
            }
            last
        });
        let Ok(log_p) = log_p else { exit(1) };
        (log_p, per_query(ticks))
    };
    let (_, portable_instructions) = log_prob_instructions(&model);
    firmware_example::set_kernels(&mut model);
    let (log_p, log_prob_instructions) = log_prob_instructions(&model);

    let (_, ticks) = counter.measure(|| {
        for _ in 0..REPEATS {
            let _ = black_box(black_box(&model).mixture(black_box(&x)));
        }
    });
    let mixture_instructions = per_query(ticks);

    let (mean, ticks) = counter.measure(|| {
        let mut last = None;
        for _ in 0..REPEATS {
            last = black_box(&model).mean(black_box(&x)).ok();
        }
        last
    });
    let mean_instructions = per_query(ticks);

    info!(
        "cost: validate {=u64} instructions, log_prob {=u64} instructions (= {=f32}), mean {=u64} instructions (= {=f32})",
        InstructionCounter::qemu_instructions(validate_ticks, ICOUNT_SHIFT),
        log_prob_instructions,
        log_p,
        mean_instructions,
        mean.map_or(f32::NAN, |m| m[0]),
    );
    info!(
        "cost: mixture (network only) {=u64} instructions",
        mixture_instructions
    );
    info!(
        "cost: log_prob with mdn-core's kernel {=u64} instructions",
        portable_instructions
    );

    exit(0)
}
