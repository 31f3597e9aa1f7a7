//! Cross-crate tests of mdn, and what they share with the firmware.
//!
//! The library is `no_std` without its default `std` feature, so that `firmware-example`
//! can use [`vectors`], the parity vector format, and run the very same query code on the
//! device that produced the expected outcomes on the host.
//!
//! The tests themselves live in `tests/tests/`: golden blobs against an independent Python
//! writer, numerics against a float64 reference, and the device parity runs in QEMU
//! ([`qemu`]: the machines and how to run a firmware there, shared with the benchmark
//! figures).

#![cfg_attr(not(feature = "std"), no_std)]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod slots;
pub mod vectors;

#[cfg(feature = "std")]
pub mod generate;
#[cfg(feature = "std")]
pub mod qemu;
