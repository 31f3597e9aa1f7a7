//! The slot trailer, the active-slot rule and updates cut off by a power failure after
//! every flash call, on the committed models of `firmware-example/models/`.

use std::{fs, path::Path};

use mdn_core::Aligned;
use mdn_update::slot::{
    Cut, EraseModel, LayoutError, NextWrite, PowerCutError, PowerCutFlash, SlotError, SlotId,
    SlotLayout, TRAILER_LEN, Trailer, TrailerError, UpdateError, Updater, ValidSlot, accept_any,
    check_slot, select,
};

/// Each slot's size in these tests; the flash holds A then B.
const SLOT: usize = 16 * 1024;
const LAYOUT: SlotLayout = SlotLayout::new(0, SLOT as u32, SLOT as u32);

type Flash = Box<Aligned<[u8; 2 * SLOT]>>;

fn model(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../firmware-example/models")
        .join(name);
    fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The model a device runs now, the update, and an older model.
fn models() -> [Vec<u8>; 3] {
    [
        "minimal.mdn",
        "demo_student_invsin.mdn",
        "small_1x16x16_k1.mdn",
    ]
    .map(model)
}

fn erased() -> Flash {
    Box::new(Aligned([0xFF; 2 * SLOT]))
}

fn slots(flash: &Flash) -> (&[u8], &[u8]) {
    flash.0.split_at(SLOT)
}

/// Writes `blob` committed with `sequence` into slot `id`, directly.
fn put(flash: &mut Flash, id: SlotId, blob: &[u8], sequence: u32) {
    let slot = &mut flash.0[id.index() * SLOT..][..SLOT];
    slot.fill(0xFF);
    slot[..blob.len()].copy_from_slice(blob);
    let trailer = Trailer::for_blob(blob, sequence, None).unwrap();
    slot[SLOT - TRAILER_LEN..].copy_from_slice(&trailer.to_bytes());
}

/// A blob's bytes, compared whole but shown by length and CRC in assertion messages.
#[derive(PartialEq, Eq)]
struct Bytes(Vec<u8>);

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let crc = mdn_core::crc32(&self.0);
        write!(f, "{} bytes, CRC {crc:#010x}", self.0.len())
    }
}

/// The active slot's id, sequence and blob bytes.
fn active(flash: &Flash) -> Option<(SlotId, u32, Bytes)> {
    let (a, b) = slots(flash);
    let selection = select(a, b, accept_any);
    selection
        .active()
        .map(|(id, valid)| (id, valid.trailer.sequence, Bytes(valid.bytes.to_vec())))
}

#[test]
fn trailers_round_trip() {
    for sequence in [0, 1, 2, 0x7FFF_FFFF, u32::MAX] {
        for blob_len in [4, 6656, u32::MAX] {
            for signature in [None, Some([0; 64]), Some([0xA5; 64])] {
                let trailer = Trailer {
                    sequence,
                    blob_len,
                    blob_crc: sequence ^ blob_len,
                    signature,
                };
                assert_eq!(Trailer::from_bytes(&trailer.to_bytes()), Ok(trailer));
            }
        }
    }
    let [blob, ..] = models();
    let trailer = Trailer::for_blob(&blob, 9, None).unwrap();
    assert_eq!(trailer.blob_crc, mdn_core::crc32(&blob[..blob.len() - 4]));
    assert_eq!(
        Trailer::for_blob(&blob[..3], 1, None),
        Err(TrailerError::InvalidBlobLength { found: 3 })
    );
}

#[test]
fn every_truncation_and_bit_flip_of_a_trailer_is_refused() {
    let [blob, ..] = models();
    for signature in [None, Some([0x3C; 64])] {
        let trailer = Trailer::for_blob(&blob, 42, signature).unwrap();
        let bytes = trailer.to_bytes();
        for n in 0..TRAILER_LEN {
            assert_eq!(
                Trailer::from_bytes(&bytes[..n]),
                Err(TrailerError::Length { found: n })
            );
        }
        let mut longer = bytes.to_vec();
        longer.push(0);
        assert!(Trailer::from_bytes(&longer).is_err());
        let mut flips = 0;
        for bit in 0..TRAILER_LEN * 8 {
            let mut flipped = bytes;
            flipped[bit / 8] ^= 1 << (bit % 8);
            assert!(
                Trailer::from_bytes(&flipped).is_err(),
                "bit {bit} flipped was accepted"
            );
            // In a slot too: the slot is refused, never read with a wrong length.
            let mut flash = erased();
            put(&mut flash, SlotId::A, &blob, 42);
            flash.0[SLOT - TRAILER_LEN..SLOT].copy_from_slice(&flipped);
            assert!(check_slot(slots(&flash).0, accept_any).is_err());
            flips += 1;
        }
        assert_eq!(flips, 768);
    }
}

#[test]
fn bit_flips_in_the_blob_are_refused() {
    let [blob, ..] = models();
    let mut flash = erased();
    put(&mut flash, SlotId::A, &blob, 1);
    assert!(check_slot(slots(&flash).0, accept_any).is_ok());
    // Every 7th byte, a different bit each time: 950 flips through header, parameters
    // and CRC.
    for at in (0..blob.len()).step_by(7) {
        let mut bad = flash.clone();
        bad.0[at] ^= 1 << (at % 8);
        assert!(check_slot(slots(&bad).0, accept_any).is_err(), "byte {at}");
    }
    // Every truncation of the committed length (a trailer claiming fewer bytes).
    for len in (0..blob.len() as u32).step_by(97) {
        let mut bad = flash.clone();
        let trailer = Trailer {
            blob_len: len,
            ..Trailer::for_blob(&blob, 1, None).unwrap()
        };
        bad.0[SLOT - TRAILER_LEN..SLOT].copy_from_slice(&trailer.to_bytes());
        assert!(
            check_slot(slots(&bad).0, accept_any).is_err(),
            "length {len}"
        );
    }
}

/// One slot's state for the rule's cases.
#[derive(Debug, Clone, Copy)]
enum State {
    Erased,
    Valid(u32),
    /// Intact trailer over a corrupted blob.
    CorruptBlob(u32),
    /// A trailer from another blob (its CRC field is not this blob's).
    OtherBlobsTrailer(u32),
    /// Valid, but the acceptance check refuses it (as a bad signature would).
    Refused(u32),
    /// A blob whose length exceeds the slot in its trailer.
    TooLong(u32),
}

fn build(state: State, id: SlotId, flash: &mut Flash, blob: &[u8], other: &[u8]) {
    match state {
        State::Erased => {}
        State::Valid(s) | State::Refused(s) => put(flash, id, blob, s),
        State::CorruptBlob(s) => {
            put(flash, id, blob, s);
            flash.0[id.index() * SLOT + 100] ^= 0x40;
        }
        State::OtherBlobsTrailer(s) => {
            put(flash, id, blob, s);
            let trailer = Trailer::for_blob(other, s, None).unwrap();
            let end = (id.index() + 1) * SLOT;
            flash.0[end - TRAILER_LEN..end].copy_from_slice(&trailer.to_bytes());
        }
        State::TooLong(s) => {
            put(flash, id, blob, s);
            let trailer = Trailer {
                blob_len: SLOT as u32,
                ..Trailer::for_blob(blob, s, None).unwrap()
            };
            let end = (id.index() + 1) * SLOT;
            flash.0[end - TRAILER_LEN..end].copy_from_slice(&trailer.to_bytes());
        }
    }
}

/// A slot, B slot, the active slot and sequence expected, the next write expected.
type Case = (State, State, Option<(SlotId, u32)>, (SlotId, u32));

#[test]
fn selection_rule() {
    use State::*;
    let [old, new, older] = models();
    // (A, B, expected active slot and sequence, expected next write)
    let cases: &[Case] = &[
        (Erased, Erased, None, (SlotId::A, 1)),
        (Valid(1), Erased, Some((SlotId::A, 1)), (SlotId::B, 2)),
        (Erased, Valid(1), Some((SlotId::B, 1)), (SlotId::A, 2)),
        (Valid(4), Valid(5), Some((SlotId::B, 5)), (SlotId::A, 6)),
        (Valid(7), Valid(5), Some((SlotId::A, 7)), (SlotId::B, 8)),
        // A tie goes to A.
        (Valid(5), Valid(5), Some((SlotId::A, 5)), (SlotId::B, 6)),
        // The newer slot unusable: the older answers, the newer is overwritten next.
        (
            Valid(4),
            CorruptBlob(9),
            Some((SlotId::A, 4)),
            (SlotId::B, 5),
        ),
        (
            OtherBlobsTrailer(9),
            Valid(4),
            Some((SlotId::B, 4)),
            (SlotId::A, 5),
        ),
        (Valid(4), Refused(9), Some((SlotId::A, 4)), (SlotId::B, 5)),
        (TooLong(9), Valid(3), Some((SlotId::B, 3)), (SlotId::A, 4)),
        (CorruptBlob(2), Refused(3), None, (SlotId::A, 1)),
        (
            Valid(u32::MAX - 1),
            Valid(u32::MAX - 2),
            Some((SlotId::A, u32::MAX - 1)),
            (SlotId::B, u32::MAX),
        ),
    ];
    for &(a, b, expected, next) in cases {
        let mut flash = erased();
        build(a, SlotId::A, &mut flash, &old, &older);
        build(b, SlotId::B, &mut flash, &new, &older);
        let refused = |state| matches!(state, Refused(_));
        let (sa, sb) = slots(&flash);
        let accept = |slot: &ValidSlot| {
            let blob = slot.bytes;
            !(refused(a) && blob == &old[..] || refused(b) && blob == &new[..])
        };
        let selection = select(sa, sb, accept);
        let found = selection
            .active()
            .map(|(id, valid)| (id, valid.trailer.sequence));
        assert_eq!(found, expected, "A {a:?}, B {b:?}");
        if let Some((id, valid)) = selection.active() {
            let blob = if id == SlotId::A { &old } else { &new };
            assert_eq!(valid.bytes, &blob[..]);
            assert_eq!(valid.blob.len(), blob.len());
        }
        let (slot, sequence) = next;
        assert_eq!(
            selection.next_write(),
            Ok(NextWrite { slot, sequence }),
            "A {a:?}, B {b:?}"
        );
    }
    // The sequence is exhausted: no update can become newer.
    let mut flash = erased();
    put(&mut flash, SlotId::B, &new, u32::MAX);
    let (a, b) = slots(&flash);
    assert_eq!(
        select(a, b, accept_any).next_write(),
        Err(SlotError::SequenceExhausted)
    );
    // A slot's errors are kept.
    let selection = select(a, b, accept_any);
    assert_eq!(
        selection.slot(SlotId::A).as_ref().unwrap_err(),
        &SlotError::Trailer(TrailerError::BadMagic)
    );
    assert_eq!(
        check_slot(&a[..TRAILER_LEN - 1], accept_any).unwrap_err(),
        SlotError::SlotTooSmall { len: 95 }
    );
}

/// Runs one update of `blob` in `chunk`-byte chunks on `flash` (a `W`-byte write unit,
/// `E`-byte erase unit), cut at `cut`; returns whether `finish` succeeded and the calls.
fn update<const W: usize, const E: usize>(
    memory: &mut Flash,
    model: EraseModel,
    cut: Option<Cut>,
    blob: &[u8],
    chunk: usize,
) -> (Result<Trailer, UpdateError<PowerCutError>>, usize) {
    let next = {
        let (a, b) = slots(memory);
        select(a, b, accept_any).next_write().unwrap()
    };
    let mut flash = PowerCutFlash::<W, E>::new(&mut memory.0, model, cut);
    let result = (|| {
        let mut updater = Updater::begin(&mut flash, &LAYOUT, next)?;
        for piece in blob.chunks(chunk) {
            updater.write(piece)?;
        }
        updater.finish(None, |flash, trailer| {
            // Full validation in place, as on memory-mapped flash.
            let start = LAYOUT.offset(next.slot) as usize;
            mdn_core::Blob::from_bytes(&flash.memory()[start..][..trailer.blob_len as usize])
                .is_ok()
        })
    })();
    (result, flash.calls())
}

#[test]
fn updates_of_every_chunk_size_and_write_unit() {
    let [old, new, _] = models();
    for chunk in [1, 3, 4, 5, 64, 100, 1000, new.len()] {
        for (old_slot, w) in [
            (SlotId::A, 1),
            (SlotId::B, 4),
            (SlotId::A, 8),
            (SlotId::B, 32),
        ] {
            let mut flash = erased();
            put(&mut flash, old_slot, &old, 3);
            let (result, _) = match w {
                1 => update::<1, 4096>(&mut flash, EraseModel::Nor, None, &new, chunk),
                4 => update::<4, 4096>(&mut flash, EraseModel::Nor, None, &new, chunk),
                8 => update::<8, 2048>(&mut flash, EraseModel::Nor, None, &new, chunk),
                _ => update::<32, 16384>(&mut flash, EraseModel::Nor, None, &new, chunk),
            };
            let trailer = result.unwrap_or_else(|e| panic!("chunk {chunk}, unit {w}: {e}"));
            assert_eq!(trailer.sequence, 4);
            assert_eq!(
                active(&flash),
                Some((old_slot.other(), 4, Bytes(new.clone())))
            );
            // The old slot is untouched.
            let (a, b) = slots(&flash);
            let old_bytes = if old_slot == SlotId::A { a } else { b };
            assert!(old_bytes[..old.len()] == old[..], "the old slot changed");
        }
    }
    // The first update of an empty device goes to A with sequence 1.
    let mut flash = erased();
    let (result, calls) = update::<4, 4096>(&mut flash, EraseModel::Nor, None, &new, 512);
    assert_eq!(result.unwrap().sequence, 1);
    assert_eq!(active(&flash).unwrap().0, SlotId::A);
    // 2 erases, 13 chunks of 512 (the last 4 bytes short of a chunk: 13 writes), 1 trailer.
    assert_eq!(calls, 2 + 13 + 1);
}

/// The heart of it: an update from `old` (active) to `new`, cut at every flash call and
/// at several bytes into each; until the trailer write completes the old model answers,
/// bit for bit, and the new one after.
#[test]
fn power_cut_after_every_flash_call() {
    let [old, new, older] = models();
    let mut images = 0;
    for model in [EraseModel::Nor, EraseModel::Stale] {
        for old_slot in [SlotId::A, SlotId::B] {
            for stale in [None, Some(&older), Some(&new)] {
                // The flash before the update: the old model active; the target slot
                // erased, an older committed model, or (Stale only) garbage.
                let mut before = erased();
                put(&mut before, old_slot, &old, 10);
                let target = old_slot.other().index() * SLOT;
                match stale {
                    Some(blob) if blob == &older => put(&mut before, old_slot.other(), blob, 9),
                    Some(_) => {
                        for (i, b) in before.0[target..target + SLOT].iter_mut().enumerate() {
                            *b = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3];
                        }
                    }
                    None => {}
                }
                let (_, calls) = update::<4, 4096>(&mut before.clone(), model, None, &new, 500);
                for call in 0..calls {
                    let len = if call == calls - 1 { TRAILER_LEN } else { 500 };
                    for bytes in [0, 1, 4, len / 2, len - 4, len - 1, len] {
                        let mut flash = before.clone();
                        let cut = Cut { call, bytes };
                        let (result, _) =
                            update::<4, 4096>(&mut flash, model, Some(cut), &new, 500);
                        // Nothing ever fails but the power.
                        if let Err(e) = &result {
                            assert_eq!(
                                *e,
                                UpdateError::Flash(PowerCutError::PowerCut),
                                "{model:?}, cut {cut:?}"
                            );
                        }
                        let committed = call == calls - 1 && bytes >= len;
                        let expected = if committed {
                            (old_slot.other(), 11, Bytes(new.clone()))
                        } else {
                            (old_slot, 10, Bytes(old.clone()))
                        };
                        assert_eq!(
                            active(&flash),
                            Some(expected),
                            "{model:?}, old in {old_slot:?}, cut {cut:?}"
                        );
                        // The old slot's bytes are never touched.
                        assert!(
                            flash.0[old_slot.index() * SLOT..][..SLOT]
                                == before.0[old_slot.index() * SLOT..][..SLOT],
                            "{model:?}, cut {cut:?}: the old slot changed"
                        );
                        // And the next update still goes to the slot that was cut.
                        let (a, b) = slots(&flash);
                        let next = select(a, b, accept_any).next_write().unwrap();
                        let target_now = if committed {
                            old_slot
                        } else {
                            old_slot.other()
                        };
                        assert_eq!(next.slot, target_now);
                        images += 1;
                    }
                }
            }
        }
    }
    println!("{images} interrupted updates, each left a bootable device");
    assert!(images > 500);
}

#[test]
fn updater_refuses_what_would_not_boot() {
    let [old, new, _] = models();
    let mut flash = erased();
    put(&mut flash, SlotId::A, &old, 1);
    let before = flash.clone();
    let check = |flash: &Flash| assert_eq!(active(flash), Some((SlotId::A, 1, Bytes(old.clone()))));

    // A truncated transfer: the read-back finds the declared length longer.
    let (result, _) = update::<4, 4096>(&mut flash, EraseModel::Nor, None, &new[..4000], 256);
    assert!(matches!(
        result,
        Err(UpdateError::Blob(mdn_core::Error::Truncated { .. }))
    ));
    check(&flash);
    // A corrupted transfer.
    let mut bad = new.clone();
    bad[3000] ^= 1;
    let mut flash = before.clone();
    let (result, _) = update::<4, 4096>(&mut flash, EraseModel::Nor, None, &bad, 256);
    assert!(matches!(
        result,
        Err(UpdateError::Blob(mdn_core::Error::ChecksumMismatch { .. }))
    ));
    check(&flash);
    // Too long for the slot: refused before writing past the trailer.
    let mut flash = before.clone();
    let big = vec![0_u8; SLOT];
    let (result, _) = update::<4, 4096>(&mut flash, EraseModel::Nor, None, &big, 4096);
    assert_eq!(
        result.unwrap_err(),
        UpdateError::BlobTooLong {
            space: SLOT - TRAILER_LEN
        }
    );
    check(&flash);
    // The caller's check refuses.
    let mut flash = before.clone();
    {
        let mut driver = PowerCutFlash::<4, 4096>::new(&mut flash.0, EraseModel::Nor, None);
        let next = NextWrite {
            slot: SlotId::B,
            sequence: 2,
        };
        let mut updater = Updater::begin(&mut driver, &LAYOUT, next).unwrap();
        updater.write(&new).unwrap();
        assert_eq!(
            updater.finish(None, |_, _| false).unwrap_err(),
            UpdateError::Slot(SlotError::Rejected)
        );
    }
    check(&flash);
    // After a failed call the updater does nothing more.
    let mut flash = before.clone();
    {
        let cut = Some(Cut { call: 3, bytes: 0 });
        let mut driver = PowerCutFlash::<4, 4096>::new(&mut flash.0, EraseModel::Nor, cut);
        let next = NextWrite {
            slot: SlotId::B,
            sequence: 2,
        };
        let mut updater = Updater::begin(&mut driver, &LAYOUT, next).unwrap();
        updater.write(&new[..8]).unwrap();
        assert!(matches!(
            updater.write(&new[8..16]),
            Err(UpdateError::Flash(_))
        ));
        assert_eq!(updater.write(&new[16..24]), Err(UpdateError::Aborted));
        assert_eq!(updater.finish(None, |_, _| true), Err(UpdateError::Aborted));
    }
    check(&flash);
}

#[test]
fn layouts_that_do_not_suit_the_flash_are_refused() {
    let mut memory = erased();
    let mut flash = PowerCutFlash::<4, 4096>::new(&mut memory.0, EraseModel::Nor, None);
    let next = NextWrite {
        slot: SlotId::B,
        sequence: 1,
    };
    for (layout, error) in [
        (SlotLayout::new(0, 8192, 16384), LayoutError::Overlap),
        (
            SlotLayout::new(0, 16384, 16384 + 4096),
            LayoutError::OutOfFlash,
        ),
        (SlotLayout::new(100, 16384, 4096), LayoutError::Unaligned),
        (SlotLayout::new(0, 16384, 1000), LayoutError::SlotSize),
    ] {
        assert_eq!(
            Updater::begin(&mut flash, &layout, next).unwrap_err(),
            UpdateError::Layout(error)
        );
    }
    // Nothing was erased.
    assert_eq!(flash.calls(), 0);
    let mut odd = PowerCutFlash::<3, 4095>::new(&mut memory.0, EraseModel::Nor, None);
    assert_eq!(
        Updater::begin(&mut odd, &LAYOUT, next).unwrap_err(),
        UpdateError::Layout(LayoutError::UnsupportedFlash)
    );
}

/// Arbitrary bytes never panic the decoder or the slot check: random trailers, random
/// trailers with the magic and version in place, and slots of every small length.
#[test]
fn arbitrary_bytes_never_panic() {
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let [blob, ..] = models();
    let valid = Trailer::for_blob(&blob, 3, None).unwrap().to_bytes();
    for round in 0..20_000 {
        let mut bytes = [0_u8; TRAILER_LEN];
        bytes.iter_mut().for_each(|b| *b = next() as u8);
        if round % 2 == 0 {
            bytes[..6].copy_from_slice(&valid[..6]);
        }
        let _ = Trailer::from_bytes(&bytes);
        // With a correct CRC, so that the later checks run too.
        let crc = mdn_core::crc32(&bytes[..92]);
        bytes[92..].copy_from_slice(&crc.to_le_bytes());
        if let Ok(trailer) = Trailer::from_bytes(&bytes) {
            assert_eq!(trailer.to_bytes(), bytes);
        }
    }
    let mut slot = Aligned([0_u8; 512]);
    for len in 0..=512 {
        slot.0.iter_mut().for_each(|b| *b = next() as u8);
        if len >= TRAILER_LEN {
            // A committed trailer whose length points anywhere, over random bytes.
            let trailer = Trailer {
                blob_len: (next() % 600) as u32,
                ..Trailer::for_blob(&blob, 1, None).unwrap()
            };
            slot.0[len - TRAILER_LEN..len].copy_from_slice(&trailer.to_bytes());
        }
        assert!(check_slot(&slot.0[..len], accept_any).is_err());
    }
}
