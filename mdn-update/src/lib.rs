//! # mdn-update
//!
//! Ship a new model to a device already in the field, safely: two flash slots (A and B),
//! each a blob followed, at the slot's end, by a small trailer written last; at boot the
//! firmware answers from the newest slot whose trailer and blob validate, otherwise from
//! the other one. A write cut off at any byte leaves the previous model active.
//!
//! `no_std`, no heap, no `unsafe`: slots are byte slices (memory-mapped flash), and
//! writing goes through the caller's flash driver.
//!
//! ```text
//! slot:     [ blob (FORMAT.md) | erased or stale bytes ... | trailer (TRAILER_LEN) ]
//! trailer:  offset size field
//!           0      4    TRAILER_MAGIC b"MDNS"
//!           4      2    trailer version, u16 LE (1)
//!           6      2    flags, u16 LE (bit 0: signed)
//!           8      4    sequence number, u32 LE (the newer slot has the larger one)
//!           12     4    blob length in bytes, u32 LE
//!           16     4    the blob's own CRC-32 (its last 4 bytes): binds trailer to blob
//!           20     64   Ed25519 signature of the blob's bytes (zero when unsigned)
//!           84     8    reserved, zero
//!           92     4    CRC-32/ISO-HDLC of bytes 0..92, u32 LE
//! ```

#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod slot;

#[cfg(feature = "signature")]
pub mod signature;
