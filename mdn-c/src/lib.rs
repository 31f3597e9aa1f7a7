//! mdn from C: a static library (`libmdn_c.a`) and a generated C99 header
//! (`include/mdn.h`) over [`mdn_core`], with its guarantees: a blob validated once, no
//! heap, no panic path on bare metal, and the host's bits on the device.
//!
//! # The API
//!
//! The caller owns an [`mdn_model`] (a `static`, a global or a stack variable of
//! [`MDN_MODEL_WORDS`] `uint64_t`s), fills it with [`mdn_model_init`] from a 4-byte-aligned
//! blob that outlives it, then asks queries ([`mdn_log_prob`], [`mdn_mean`],
//! [`mdn_quantile`], [`mdn_interval`], [`mdn_modes`], [`mdn_sample`], ...). Every function
//! returns an [`mdn_status`] (`MDN_OK` = 0); [`mdn_status_str`] names any value. NULL
//! pointers, a zeroed or failed model, short buffers and wrong lengths return a status;
//! nothing is read or written past the lengths given.
//!
//! A/B update slots (mdn-update): [`mdn_slots_select`] chooses the slot to boot from (the
//! newest whose trailer and blob validate) and where the next update goes,
//! [`mdn_slots_trailer`] writes the trailer that commits an update, written last.
//!
//! # Capacities
//!
//! Fixed when the library is built ([`capacities`]): `MDN_CAPACITIES=I,W,K,D` at build time,
//! else mdn-core's `HostModel` ones on a host (any blob `mdn` writes loads) and
//! firmware-example's `minimal` ones (1, 32, 5, 1) on bare metal. The build writes the
//! header stating them beside its library: `target/<triple>/<profile>/include/mdn.h`; the
//! committed `include/mdn.h` is the host default build's (`tests/header.rs` keeps it
//! current).
//!
//! # Targets
//!
//! On bare metal (`target_os = "none"`) the crate is `no_std`, and on
//! `thumbv7em-none-eabihf` the dense layers use `mdn-cortex-m`'s kernel. With the `nopanic`
//! feature (bare metal only) the panic handler calls an undefined symbol, so linking a
//! program against the library fails unless every panic path was optimised away:
//! `firmware-c/build.sh` builds its libraries that way for both thumb targets, so each of its
//! links is the proof. The proof needs fat LTO across mdn-core (its checks are removed only
//! where the calls are inlined), which Cargo applies to a `staticlib`-only build:
//! `cargo rustc -p mdn-c --profile firmware --target <thumb target> --crate-type staticlib`
//! (this manifest also lists `rlib`, for the Rust tests, and Cargo does not LTO a crate with
//! an rlib crate type). Without the feature a panic would spin forever.

#![cfg_attr(target_os = "none", no_std)]
#![deny(missing_docs)]

#[cfg(all(feature = "nopanic", not(target_os = "none")))]
compile_error!("feature `nopanic` is for bare-metal targets (target_os = \"none\")");

mod arrays;
pub mod capacities;
mod model;
mod queries;
mod rng;
mod slots;
mod status;

pub use capacities::MDN_MODEL_WORDS;
pub use model::mdn_model;
pub use queries::*;
pub use slots::*;
pub use status::{mdn_status, mdn_status_str};

#[cfg(all(target_os = "none", not(feature = "nopanic")))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Unreachable in release builds (the `nopanic` builds prove it); debug builds keep
    // overflow checks and land here.
    loop {
        core::hint::spin_loop();
    }
}

#[cfg(all(target_os = "none", feature = "nopanic"))]
unsafe extern "C" {
    /// Deliberately undefined: a reachable call fails the link of any program.
    fn mdn_c_has_a_panic_path() -> !;
}

#[cfg(all(target_os = "none", feature = "nopanic"))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // SAFETY: never executed; the symbol does not exist, so a reachable call fails to link.
    unsafe { mdn_c_has_a_panic_path() }
}
