//! Ending the program: [`exit`], the panic handler and the HardFault handler.

use cortex_m_rt::{ExceptionFrame, exception};

/// Exit code after a panic (the same as a panicking Rust test).
pub const EXIT_PANIC: i32 = 101;

/// Exit code after a HardFault (a bus, memory-management or usage fault escalates to it).
pub const EXIT_HARD_FAULT: i32 = 102;

/// Ends the program with `code` (0 = success).
///
/// Under `qemu`, semihosting `SYS_EXIT_EXTENDED` makes QEMU exit with `code` as its status.
/// Everything logged before has been written: defmt-semihosting writes each frame before the
/// log macro returns.
///
/// On the board, a `bkpt` halts the core when a debugger is attached (without one it escalates
/// to a HardFault, which ends here again), then the core sleeps forever; `code` is not
/// reported.
pub fn exit(code: i32) -> ! {
    #[cfg(feature = "qemu")]
    semihosting::process::exit(code);

    #[cfg(not(feature = "qemu"))]
    {
        let _ = code;
        cortex_m::asm::bkpt();
        loop {
            cortex_m::asm::wfi();
        }
    }
}

#[cfg(not(feature = "nopanic"))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // No logging: the panic may have happened inside the defmt logger, which would panic again
    // on re-entry.
    exit(EXIT_PANIC)
}

// SAFETY: cortex-m-rt requires the HardFault handler to be an `unsafe fn`; it never returns.
#[exception]
unsafe fn HardFault(_frame: &ExceptionFrame) -> ! {
    exit(EXIT_HARD_FAULT)
}
