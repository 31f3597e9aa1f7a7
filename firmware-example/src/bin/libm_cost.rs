//! Instructions per call of each libm function that `log p(y|x)` calls (`expf`, `logf`,
//! `tanhf`, `log1pf`), over a sweep of arguments that reaches every branch of their code:
//! what mdn-train's device cost model charges a call on the branch its argument takes.
//! `figures --calibrate` runs it on both machines under `-icount shift=6` and groups the
//! counts by branch. One line a call: `libm_cost: <function> <argument bits> <instructions>`.

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use defmt::info;
use firmware_example::{InstructionCounter, exit};

/// Calls per measurement; the figure is the mean.
const REPEATS: u64 = 16;
/// The `-icount shift` the figures assume.
const ICOUNT_SHIFT: u32 = 6;

/// A libm function of one `f32`.
type Function = fn(f32) -> f32;

/// The functions, by libm's names.
const FUNCTIONS: [(&str, Function); 4] = [
    ("expf", libm::expf),
    ("logf", libm::logf),
    ("tanhf", libm::tanhf),
    ("log1pf", libm::log1pf),
];

/// Arguments at the edges of the functions' branches (libm 0.2.16's thresholds and their
/// neighbours) and where mdn-core's calls meet them.
const SPECIAL: [f32; 20] = [
    0.0,
    1.0,
    -1.0,
    0.346_573_6,
    1.039_720_8,
    0.255_412_8,
    0.549_306_2,
    0.414_213_57,
    -0.292_893_2,
    10.0,
    10.000_001,
    20.0,
    87.33,
    88.72,
    -87.34,
    -103.97,
    -104.0,
    3.4e38,
    f32::INFINITY,
    f32::NAN,
];

#[entry]
fn main() -> ! {
    let Some(core) = cortex_m::Peripherals::take() else {
        exit(4)
    };
    let counter = InstructionCounter::new(core.SYST);
    let ((), overhead) = counter.measure(|| {
        for _ in 0..REPEATS {
            black_box(black_box(0.5_f32));
        }
    });
    for (name, function) in FUNCTIONS {
        let measure = |x: f32| {
            let (_, ticks) = counter.measure(|| {
                for _ in 0..REPEATS {
                    black_box(black_box(function)(black_box(x)));
                }
            });
            let per_call = ticks.saturating_sub(overhead) / REPEATS;
            let instructions = InstructionCounter::qemu_instructions(per_call, ICOUNT_SHIFT);
            info!(
                "libm_cost: {=str} {=u32:x} {=u64}",
                name,
                x.to_bits(),
                instructions
            );
        };
        for x in SPECIAL {
            measure(x);
            measure(-x);
        }
        // Both signs, every exponent from the subnormals to 2^8, eight mantissas each with
        // every bit drawn: software floats take shortcuts on short mantissas (a power of two
        // can cost half as much), which arguments met in a query rarely have.
        let mut bits = 0x9E37_79B9_u32;
        for exponent in -130..=8 {
            for _ in 0..8 {
                // A 32-bit xorshift (Marsaglia 2003): 23 mantissa bits a draw.
                bits ^= bits << 13;
                bits ^= bits >> 17;
                bits ^= bits << 5;
                let mantissa = f32::from_bits(0x3f80_0000 | (bits >> 9));
                let x = mantissa * libm::exp2f(exponent as f32);
                measure(x);
                measure(-x);
            }
        }
    }
    exit(0)
}
