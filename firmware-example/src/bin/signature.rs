//! Detached Ed25519 signatures on the device: verifies every case of a signature test file
//! placed in the flash partition by QEMU's loader against the public key baked in at build
//! time (`MDN_PUBLIC_KEY=NAME.pub`, build.rs), with `mdn_update::signature::verify`, and logs
//! each outcome; a blob whose signature holds is then validated with mdn-core. Logs the
//! instructions of the first case's verification (run under `-icount shift=6`).
//!
//! The test file (written by tests/tests/device_signature.rs) is at
//! [`partition::VECTORS_ADDRESS`]: `b"MDNSIGT1"`, a case count (u32 LE), then each case as
//! the blob's length and the signature's length (u32 LE each), the blob, zero padding to a
//! multiple of 4 bytes, the signature, zero padding to a multiple of 4. The blobs are
//! whole blobs and the signatures whole trailer fields, as the host made them: tampering
//! happens on the host, the firmware only checks.
//!
//! Exit status 0 when every case was checked (the host compares the outcomes with what it
//! expects), 2 when a blob whose signature holds is not a valid blob, 3 for a malformed
//! test file, 4 if the SysTick peripheral is taken.

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use defmt::{error, info};
use firmware_example::{InstructionCounter, exit, partition};
use mdn_update::signature::{SignatureError, verify};

include!(concat!(env!("OUT_DIR"), "/public_key.rs"));

/// The test file's first bytes.
const MAGIC: &[u8; 8] = b"MDNSIGT1";
/// The `-icount shift` the instruction count assumes.
const ICOUNT_SHIFT: u32 = 6;

#[entry]
fn main() -> ! {
    let Some(core) = cortex_m::Peripherals::take() else {
        exit(4)
    };
    let counter = InstructionCounter::new(core.SYST);
    let file = partition::vectors_slot();
    let Some(mut cases) = Cases::new(file) else {
        error!("signature: no test file (magic MDNSIGT1) at the vector partition");
        exit(3)
    };
    let mut index = 0_u32;
    while let Some(case) = cases.next_case() {
        let Some((blob, signature)) = case else {
            error!("signature: case {=u32} runs past the partition", index);
            exit(3)
        };
        let (verdict, ticks) =
            counter.measure(|| verify(black_box(blob), black_box(signature), &PUBLIC_KEY));
        if index == 0 {
            info!(
                "signature: one verification of a {=usize}-byte blob: {=u64} instructions",
                blob.len(),
                InstructionCounter::qemu_instructions(ticks, ICOUNT_SHIFT)
            );
        }
        match verdict {
            Ok(()) => {
                // A signature proves who wrote the bytes; mdn-core decides they are a blob.
                if mdn_core::Blob::from_bytes(blob).is_err() {
                    error!(
                        "signature: case {=u32}: signed, but not a valid blob",
                        index
                    );
                    exit(2)
                }
                info!("signature: case {=u32}: accepted", index);
            }
            Err(SignatureError::Missing) => {
                info!("signature: case {=u32}: refused: missing", index)
            }
            Err(SignatureError::WrongLength { found }) => info!(
                "signature: case {=u32}: refused: wrong-length {=usize}",
                index, found
            ),
            Err(SignatureError::MalformedKey) => {
                info!("signature: case {=u32}: refused: malformed-key", index)
            }
            Err(SignatureError::Invalid) => {
                info!("signature: case {=u32}: refused: invalid", index)
            }
            Err(_) => info!("signature: case {=u32}: refused: other", index),
        }
        index += 1;
    }
    info!("signature: {=u32} cases checked", index);
    exit(0)
}

/// The cases of a test file, read without panicking: `None` past the last one,
/// `Some(None)` for a case that does not fit.
struct Cases<'a> {
    rest: &'a [u8],
    remaining: u32,
}

impl<'a> Cases<'a> {
    fn new(file: &'a [u8]) -> Option<Self> {
        let rest = file.strip_prefix(MAGIC)?;
        let (count, rest) = take_u32(rest)?;
        Some(Self {
            rest,
            remaining: count,
        })
    }

    fn next_case(&mut self) -> Option<Option<(&'a [u8], &'a [u8])>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        Some(self.take_case())
    }

    fn take_case(&mut self) -> Option<(&'a [u8], &'a [u8])> {
        let (blob_len, rest) = take_u32(self.rest)?;
        let (signature_len, rest) = take_u32(rest)?;
        let (blob, rest) = take_padded(rest, blob_len as usize)?;
        let (signature, rest) = take_padded(rest, signature_len as usize)?;
        self.rest = rest;
        Some((blob, signature))
    }
}

fn take_u32(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let (word, rest) = bytes.split_first_chunk::<4>()?;
    Some((u32::from_le_bytes(*word), rest))
}

/// `len` bytes, then the padding to a multiple of 4.
fn take_padded(bytes: &[u8], len: usize) -> Option<(&[u8], &[u8])> {
    let taken = bytes.get(..len)?;
    let rest = bytes.get(len.checked_next_multiple_of(4)?..)?;
    Some((taken, rest))
}
