//! Runtime support shared by the firmware binaries in `src/bin/`.
//!
//! Each binary is a self-checking program: it logs with [`defmt`], measures what it wants with
//! [`InstructionCounter`] and [`stack_usage`], and ends with [`exit`], whose code is the verdict
//! (0 = pass) and becomes QEMU's exit status.
//!
//! # Targets
//!
//! Exactly one of these Cargo features must be enabled; any other combination fails to
//! compile.
//!
//! | feature | machine | memory | defmt transport | [`exit`] |
//! |---|---|---|---|---|
//! | `qemu` (default) | QEMU `mps2-an386`, Cortex-M4F | flash 4 MB at 0x0, RAM 4 MB at 0x2000_0000 | semihosting stdout | semihosting `SYS_EXIT_EXTENDED`: QEMU exits with the code |
//! | `board-nrf52840dk` | nRF52840-DK, Cortex-M4F | flash 1 MB at 0x0, RAM 256 KB at 0x2000_0000 | RTT | `bkpt`, then sleeps |
//!
//! With `--target thumbv6m-none-eabi` the `qemu` build is ARMv6-M code without an FPU
//! (software floats), which QEMU runs on `mps2-an385`, a Cortex-M3 with the same memory map.
//!
//! # Running
//!
//! ```text
//! cargo build --release
//! timeout 20 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
//!     -semihosting-config enable=on,target=native \
//!     -kernel target/thumbv7em-none-eabihf/release/minimal \
//!   | defmt-print -e target/thumbv7em-none-eabihf/release/minimal
//! ```
//!
//! Add `-icount shift=6` for deterministic [`InstructionCounter`] readings. Decode with the ELF
//! that ran: a stale ELF decodes silently to wrong text. Nothing but defmt may write to the
//! semihosting stdout, or the frames are corrupted.
//!
//! # Exit codes
//!
//! 0 is success; binaries choose their own failure codes below 100. A panic exits with
//! [`EXIT_PANIC`] and a HardFault with [`EXIT_HARD_FAULT`]. The panic handler does not format
//! its message: `core::fmt` costs kilobytes of flash.

#![no_std]

#[cfg(all(feature = "qemu", feature = "board-nrf52840dk"))]
compile_error!(
    "features `qemu` and `board-nrf52840dk` are mutually exclusive; for the board build with \
     `--no-default-features --features board-nrf52840dk`"
);
#[cfg(not(any(feature = "qemu", feature = "board-nrf52840dk")))]
compile_error!("enable exactly one target feature: `qemu` (the default) or `board-nrf52840dk`");

// The defmt global logger: linked in for its `#[defmt::global_logger]`, never called directly.
// The `nopanic` proof links no logger: the loggers' own panic paths would fail its link.
#[cfg(all(feature = "board-nrf52840dk", not(feature = "nopanic")))]
use defmt_rtt as _;
#[cfg(all(feature = "qemu", not(feature = "nopanic")))]
use defmt_semihosting as _;

// Every binary links mdn-cortex-m, whether it calls it or not, so that its `aeabi-float`
// routines (ARMv6-M builds) replace compiler-builtins' in all of them: a crate no code
// names is not linked at all.
use mdn_cortex_m as _;

pub mod capacities;
mod exit;
mod instruction_counter;
#[cfg(feature = "qemu")]
pub mod partition;
pub mod stack_usage;
mod vector_table;

pub use exit::{EXIT_HARD_FAULT, EXIT_PANIC, exit};

/// Gives `model` `mdn-cortex-m`'s kernels, right after validation: the dense layers'
/// (assembly on the Cortex-M4F) and, in a build with the `int16` feature, the integer
/// networks' (`smlad` on the Cortex-M4F); on ARMv6-M both are mdn-core's portable ones.
pub fn set_kernels<const I: usize, const W: usize, const K: usize, const D: usize>(
    model: &mut mdn_core::Model<'_, I, W, K, D>,
) {
    model.set_kernel(mdn_cortex_m::dot_blocks);
    #[cfg(feature = "int16")]
    model.set_integer_kernel(mdn_cortex_m::INTEGER_KERNEL);
}
pub use instruction_counter::InstructionCounter;
