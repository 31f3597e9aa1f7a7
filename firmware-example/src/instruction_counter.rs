//! A 64-bit tick counter built on SysTick, for counting the work done by a region of code.

use core::sync::atomic::{AtomicU32, Ordering};

use cortex_m::peripheral::{SCB, SYST, syst::SystClkSource};
use cortex_m_rt::exception;

/// SysTick's reload value: the full 24-bit range, so it wraps every 2^24 ticks.
const RELOAD: u32 = 0x00FF_FFFF;

/// SysTick wraps since [`InstructionCounter::new`], counted by the SysTick exception.
static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    // A load and a store, not `fetch_add`: ARMv6-M (thumbv6m) has no atomic read-modify-write,
    // and none is needed: while SysTick runs, this handler is the only writer (`new` resets
    // the count before enabling it) and it cannot preempt itself.
    WRAPS.store(
        WRAPS.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// Counts core-clock ticks with SysTick, extended past its 24 bits by counting its wraps.
///
/// # What a tick is
///
/// On real silicon a tick is a core clock cycle. **QEMU counts instructions, not cycles**: it
/// has no pipeline or memory timing model (DWT CYCCNT reads 0), and without `-icount` its
/// virtual clock follows the host, so readings vary from run to run. Under
/// `-icount shift=N`, every instruction advances virtual time by exactly 2^N ns and readings
/// are reproducible; on `mps2-an386` and `mps2-an385`, whose SysTick runs at 25 MHz (40 ns
/// per tick), [`Self::qemu_instructions`] converts ticks to instructions: `shift=6` gives
/// 64 ns per instruction, i.e. 1.6 ticks per instruction. `shift=0` is too coarse (one tick
/// per 40 instructions).
///
/// # Wraps
///
/// The SysTick exception counts wraps, so regions may be arbitrarily long as long as it can
/// run: a region executed with interrupts disabled (in a critical section, or while a defmt
/// log statement is being written) must stay under half a wrap, 2^23 ticks (about 5.2 million
/// instructions at `shift=6`). Each wrap adds the exception's own few instructions to the
/// count. This module owns the `SysTick` exception handler.
///
/// # Examples
///
/// ```no_run
/// let core = cortex_m::Peripherals::take().unwrap();
/// let counter = firmware_example::InstructionCounter::new(core.SYST);
/// let (sum, ticks) = counter.measure(|| (0..100u32).map(core::hint::black_box).sum::<u32>());
/// defmt::info!("{=u32} in {=u64} ticks", sum, ticks);
/// ```
pub struct InstructionCounter {
    _syst: SYST,
}

impl InstructionCounter {
    /// SysTick's clock on QEMU `mps2-an386` and `mps2-an385` (`SYSCLK`, hw/arm/mps2.c).
    pub const QEMU_SYSTICK_HZ: u64 = 25_000_000;

    /// Starts SysTick on the core clock at its full 24-bit reload, with its exception enabled.
    pub fn new(mut syst: SYST) -> Self {
        syst.disable_counter();
        syst.set_clock_source(SystClkSource::Core);
        syst.set_reload(RELOAD);
        syst.clear_current();
        WRAPS.store(0, Ordering::Relaxed);
        syst.enable_interrupt();
        syst.enable_counter();
        Self { _syst: syst }
    }

    /// Ticks since [`Self::new`].
    pub fn now(&self) -> u64 {
        loop {
            let wraps = WRAPS.load(Ordering::Acquire);
            let current = SYST::get_current();
            let pending = SCB::is_pendst_pending();
            if WRAPS.load(Ordering::Acquire) != wraps {
                continue; // the exception ran in between: `current` may belong to either wrap
            }
            // A wrap whose exception has not run yet (interrupts disabled, or it is about to
            // be taken): if `current` was read after the reload it is near the top.
            let unserviced = u64::from(pending && current > RELOAD / 2);
            let wraps = u64::from(wraps) + unserviced;
            return wraps * (u64::from(RELOAD) + 1) + u64::from(RELOAD - current);
        }
    }

    /// Runs `f` and returns its result with the ticks it took.
    ///
    /// The count includes a small constant overhead (reading the counter twice, the call);
    /// measure an empty closure and subtract it when it matters.
    pub fn measure<R>(&self, f: impl FnOnce() -> R) -> (R, u64) {
        let start = self.now();
        let result = f();
        let end = self.now();
        (result, end - start)
    }

    /// Converts `ticks` to instructions for QEMU `mps2-an386` or `mps2-an385` run with
    /// `-icount shift=<shift>`: `ticks / (2^shift ns x 25 MHz)`, i.e. `ticks / 1.6` for
    /// `shift=6`.
    ///
    /// Meaningless on real silicon, where a tick is a cycle, or without `-icount`.
    ///
    /// # Examples
    ///
    /// ```
    /// use firmware_example::InstructionCounter;
    ///
    /// assert_eq!(InstructionCounter::qemu_instructions(16_000, 6), 10_000);
    /// ```
    pub const fn qemu_instructions(ticks: u64, shift: u32) -> u64 {
        const NS_PER_SECOND: u64 = 1_000_000_000;
        ticks * NS_PER_SECOND / (InstructionCounter::QEMU_SYSTICK_HZ << shift)
    }
}
