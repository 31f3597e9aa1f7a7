//! The device-interrupt part of the vector table, sized for the selected machine.
//!
//! Without a peripheral access crate, cortex-m-rt would emit a placeholder table of 240
//! interrupt vectors (960 bytes of flash). The firmware enables cortex-m-rt's `device`
//! feature and provides a table as long as the machine has interrupts, every entry the
//! default handler: the application enables no interrupt, so none can be taken.

/// One interrupt vector.
#[repr(C)]
pub union Vector {
    handler: unsafe extern "C" fn(),
}

unsafe extern "C" {
    /// cortex-m-rt's default exception handler (an infinite loop unless overridden).
    fn DefaultHandler();
}

/// External interrupts of the machine: 32 on mps2-an386 and mps2-an385 (CMSDK), 48 on the
/// nRF52840.
#[cfg(feature = "qemu")]
const INTERRUPTS: usize = 32;
#[cfg(feature = "board-nrf52840dk")]
const INTERRUPTS: usize = 48;

// SAFETY: cortex-m-rt's linker script places this symbol right after the exception
// vectors; each entry is a valid handler address.
#[unsafe(link_section = ".vector_table.interrupts")]
#[unsafe(no_mangle)]
static __INTERRUPTS: [Vector; INTERRUPTS] = [const {
    Vector {
        handler: DefaultHandler,
    }
}; INTERRUPTS];
