//! A/B model slots that survive a torn write, in QEMU: an update from an old model (active,
//! in one slot) to a new one (written into the other) is cut off at every interesting
//! point, each flash image is booted with `firmware-example`'s `slots` on a Cortex-M4F
//! (`mps2-an386`), and the firmware must answer from the old model, bit for bit, until the
//! update's trailer is complete, and from the new one after.
//!
//! The images come from mdn-update's own `Updater` writing through `PowerCutFlash`, a flash
//! whose power fails during a chosen call after a chosen number of bytes: nothing written,
//! the trailer's erase unit erased, the erase half done, the erase done, each chunk
//! boundary and the middle of each chunk, the trailer 1, 48, 92 and 95 bytes written, and
//! the trailer complete. Variants: the old model in A or in B; the target slot erased
//! before, or holding an older committed model (which a NOR erase clears), or, on storage
//! whose bytes keep their stale content until written, an older committed model or
//! garbage.
//!
//! The QEMU run is `#[ignore]`d like the parity runs; `scripts/check.sh` runs it:
//!
//! ```text
//! cargo test -p mdn-tests --test device_slots -- --include-ignored --show-output
//! ```

use std::{
    env, fs,
    path::{Path, PathBuf},
    sync::atomic::{AtomicUsize, Ordering},
    time::Instant,
};

use mdn_tests::{
    generate::AlignedBlob,
    qemu::{self, CORTEX_M4F},
    slots::{QUERIES, SLOT_A_ADDRESS, SLOT_BYTES, SlotModel, answers},
};
use mdn_train::signing;
use mdn_update::{
    signature::verify_slot,
    slot::{
        Cut, EraseModel, PowerCutFlash, SIGNATURE_LEN, SlotId, SlotLayout, TRAILER_LEN, Trailer,
        Updater, select,
    },
};

/// The flash's write and erase units (an nRF52840's: 4-byte words, 4 KB pages).
const WRITE: usize = 4;
const ERASE: usize = 4096;

/// The update arrives in chunks of this many bytes (the last one shorter).
const CHUNK: usize = 1024;

const LAYOUT: SlotLayout = SlotLayout::new(0, SLOT_BYTES as u32, SLOT_BYTES as u32);

/// Sequence numbers: the older model's, the old one's, and the update's.
const OLDER_SEQUENCE: u32 = 9;
const OLD_SEQUENCE: u32 = 10;

fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../firmware-example")
}

fn model(name: &str) -> Vec<u8> {
    fs::read(firmware_dir().join("models").join(name)).expect("a committed model")
}

/// What the target slot holds before the update, and how the storage treats unwritten
/// bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Target {
    /// NOR flash, the target erased.
    Erased,
    /// NOR flash, the target holding an older committed model (the update erases it).
    OlderOnNor,
    /// Stale storage: the older committed model stays wherever nothing is written yet.
    OlderStale,
    /// Stale storage: garbage stays wherever nothing is written yet.
    GarbageStale,
}

impl Target {
    fn erase_model(self) -> EraseModel {
        match self {
            Self::Erased | Self::OlderOnNor => EraseModel::Nor,
            Self::OlderStale | Self::GarbageStale => EraseModel::Stale,
        }
    }
}

/// One interrupted (or complete) update and what the device must answer from.
struct Image {
    name: String,
    bytes: Vec<u8>,
    /// The slot, the sequence and the model expected active.
    slot: SlotId,
    sequence: u32,
    blob: Vec<u8>,
}

/// Commits `blob` with `sequence` into slot `id` of a two-slot image.
fn put(image: &mut [u8], id: SlotId, blob: &[u8], sequence: u32) {
    put_signed(image, id, blob, sequence, None);
}

/// [`put`] with `signature` in the trailer.
fn put_signed(
    image: &mut [u8],
    id: SlotId,
    blob: &[u8],
    sequence: u32,
    signature: Option<[u8; SIGNATURE_LEN]>,
) {
    let slot = &mut image[id.index() * SLOT_BYTES..][..SLOT_BYTES];
    slot.fill(0xFF);
    slot[..blob.len()].copy_from_slice(blob);
    let trailer = Trailer::for_blob(blob, sequence, signature).unwrap();
    slot[SLOT_BYTES - TRAILER_LEN..].copy_from_slice(&trailer.to_bytes());
}

/// Runs the update of `new` on `image`, cut at `cut`; returns the flash calls made.
fn update(
    image: &mut [u8],
    model: EraseModel,
    cut: Option<Cut>,
    new: &[u8],
    next: SlotId,
) -> usize {
    let mut flash = PowerCutFlash::<WRITE, ERASE>::new(image, model, cut);
    let next = mdn_update::slot::NextWrite {
        slot: next,
        sequence: OLD_SEQUENCE + 1,
    };
    let result = (|| {
        let mut updater = Updater::begin(&mut flash, &LAYOUT, next)?;
        for chunk in new.chunks(CHUNK) {
            updater.write(chunk)?;
        }
        updater.finish(None, |_, _| true)
    })();
    assert_eq!(result.is_ok(), cut.is_none_or(|c| c.call >= flash.calls()));
    flash.calls()
}

/// Every interrupted update: 2 old slots x 4 targets x (5 erase points, 2 per chunk, 4 in
/// the trailer, the trailer complete).
fn images() -> Vec<Image> {
    let [old, new, older] = [
        "minimal.mdn",
        "demo_student_invsin.mdn",
        "small_1x16x16_k1.mdn",
    ]
    .map(model);
    let mut images = Vec::new();
    for old_slot in [SlotId::A, SlotId::B] {
        for target in [
            Target::Erased,
            Target::OlderOnNor,
            Target::OlderStale,
            Target::GarbageStale,
        ] {
            let mut before = vec![0xFF_u8; 2 * SLOT_BYTES];
            put(&mut before, old_slot, &old, OLD_SEQUENCE);
            let new_slot = old_slot.other();
            match target {
                Target::Erased => {}
                Target::OlderOnNor | Target::OlderStale => {
                    put(&mut before, new_slot, &older, OLDER_SEQUENCE)
                }
                Target::GarbageStale => {
                    let slot = &mut before[new_slot.index() * SLOT_BYTES..][..SLOT_BYTES];
                    for (i, b) in slot.iter_mut().enumerate() {
                        *b = (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3];
                    }
                }
            }
            let model = target.erase_model();
            let calls = update(&mut before.clone(), model, None, &new, new_slot);
            // 2 erases, one write per chunk (whole words), the trailer.
            let chunks = new.len().div_ceil(CHUNK);
            assert_eq!(calls, 2 + chunks + 1);
            let trailer_call = calls - 1;
            let mut cuts = vec![
                ("nothing written", Cut { call: 0, bytes: 0 }),
                (
                    "trailer unit half erased",
                    Cut {
                        call: 0,
                        bytes: ERASE / 2,
                    },
                ),
                ("trailer unit erased", Cut { call: 1, bytes: 0 }),
                (
                    "erase half done",
                    Cut {
                        call: 1,
                        bytes: SLOT_BYTES / 2,
                    },
                ),
                ("erase done", Cut { call: 2, bytes: 0 }),
            ];
            for chunk in 0..chunks {
                let len = CHUNK.min(new.len() - chunk * CHUNK);
                let call = 2 + chunk;
                cuts.push((
                    "mid-chunk",
                    Cut {
                        call,
                        bytes: len / 2,
                    },
                ));
                cuts.push(("chunk boundary", Cut { call, bytes: len }));
            }
            for bytes in [1, TRAILER_LEN / 2, TRAILER_LEN - 4, TRAILER_LEN - 1] {
                cuts.push((
                    "trailer partly written",
                    Cut {
                        call: trailer_call,
                        bytes,
                    },
                ));
            }
            cuts.push((
                "trailer complete",
                Cut {
                    call: trailer_call,
                    bytes: TRAILER_LEN,
                },
            ));
            for (what, cut) in cuts {
                let mut bytes = before.clone();
                update(&mut bytes, model, Some(cut), &new, new_slot);
                let committed = cut.call == trailer_call && cut.bytes >= TRAILER_LEN;
                let (slot, sequence, blob) = if committed {
                    (new_slot, OLD_SEQUENCE + 1, new.clone())
                } else {
                    (old_slot, OLD_SEQUENCE, old.clone())
                };
                images.push(Image {
                    name: format!(
                        "old in {}, target {target:?}, {what} (call {}, {} bytes)",
                        old_slot.name(),
                        cut.call,
                        cut.bytes
                    ),
                    bytes,
                    slot,
                    sequence,
                    blob,
                });
            }
        }
    }
    images
}

/// The log lines the firmware must print for `image`: the active slot, then each query's
/// bits, computed here by mdn-core.
fn expected_lines(image: &Image) -> Vec<String> {
    let aligned = AlignedBlob::new(&image.blob);
    let model = SlotModel::from_bytes(aligned.bytes()).expect("the expected model fits");
    let crc = u32::from_le_bytes(image.blob[image.blob.len() - 4..].try_into().unwrap());
    let mut lines = vec![format!(
        "slots: active {}, sequence {}, blob crc {crc:#010x}",
        image.slot.name(),
        image.sequence
    )];
    for (i, ([log_p, mean], (x, y))) in answers(&model).into_iter().zip(QUERIES).enumerate() {
        lines.push(format!(
            "slots: query {i} x {:#010x} y {:#010x}: log p {log_p:#010x}, mean {mean:#010x}",
            x.to_bits(),
            y.to_bits()
        ));
    }
    lines
}

#[test]
fn interrupted_updates_select_the_old_model_on_the_host() {
    let images = images();
    for image in &images {
        // The image in 4-byte aligned memory, as flash is.
        let aligned = AlignedBlob::new(&image.bytes);
        let (a, b) = aligned.bytes().split_at(SLOT_BYTES);
        let selection = select(a, b, |slot| SlotModel::from_blob(slot.blob.clone()).is_ok());
        let (id, valid) = selection
            .active()
            .unwrap_or_else(|| panic!("{}: no slot", image.name));
        assert_eq!(
            (id, valid.trailer.sequence, valid.bytes == &image.blob[..]),
            (image.slot, image.sequence, true),
            "{}",
            image.name
        );
    }
    // 2 old slots x 4 targets x 24 cut points (7 chunks).
    assert_eq!(images.len(), 192);
}

#[test]
#[ignore = "needs QEMU (scripts/check.sh runs them)"]
fn interrupted_updates_boot_the_old_model_in_qemu() {
    let started = Instant::now();
    let firmware = firmware_dir();
    let status = CORTEX_M4F
        .release_build(&firmware)
        .args(["--bin", "slots"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building the slots firmware failed");
    let elf = CORTEX_M4F.release_elf(&firmware, "slots");

    let dir = env::temp_dir().join(format!("mdn-slots-{}", std::process::id()));
    fs::create_dir_all(&dir).expect("temp dir");
    let images = images();
    let next = AtomicUsize::new(0);
    let committed = AtomicUsize::new(0);
    // Two QEMUs at a time: this project's CI machine has two cores.
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(image) = images.get(i) else { break };
                    let path = dir.join(format!("image{i}.bin"));
                    fs::write(&path, &image.bytes).unwrap();
                    let loader = format!("loader,file={},addr={SLOT_A_ADDRESS:#x}", path.display());
                    let run = qemu::run(&CORTEX_M4F, &elf, &["-device", &loader])
                        .expect("qemu-system-arm and defmt-print run");
                    assert_eq!(
                        run.code,
                        Some(0),
                        "image {i} ({}) failed:\n{}",
                        image.name,
                        run.log
                    );
                    for line in expected_lines(image) {
                        assert!(
                            run.log.contains(&line),
                            "image {i} ({}): expected {line:?} in\n{}",
                            image.name,
                            run.log
                        );
                    }
                    if image.sequence > OLD_SEQUENCE {
                        committed.fetch_add(1, Ordering::Relaxed);
                    }
                    fs::remove_file(&path).ok();
                }
            });
        }
    });
    fs::remove_dir_all(&dir).ok();
    let committed = committed.into_inner();
    println!(
        "slots: {} flash images booted in QEMU ({} interrupted updates answered from the old \
         model bit for bit, {committed} complete ones from the new), {:.1} s",
        images.len(),
        images.len() - committed,
        started.elapsed().as_secs_f64()
    );
    assert!(images.len() - committed >= 100);
}

/// A flash image for a firmware built with a public key, and the model it must answer
/// from (`None`: no usable slot).
struct SignedCase {
    name: &'static str,
    bytes: Vec<u8>,
    expected: Option<Image>,
}

/// An update to a firmware built with a public key: the old model signed with it in slot A,
/// the new one in slot B with a good, a missing, a foreign or a tampered signature, or a
/// tampered blob (its CRC and trailer made anew, the signature kept). `None`: the firmware
/// must find no usable slot (the old model unsigned, nothing else).
fn signed_images(dir: &Path) -> (PathBuf, Vec<SignedCase>) {
    let (key, public) = signing::keygen(&dir.join("release")).unwrap();
    let (other, _) = signing::keygen(&dir.join("other")).unwrap();
    let paths =
        ["minimal.mdn", "demo_student_invsin.mdn"].map(|m| firmware_dir().join("models").join(m));
    let [old, new] = paths.clone().map(|p| fs::read(p).unwrap());
    let sign = |blob: &[u8], key: &Path| Some(signing::sign(blob, &paths[0], key).unwrap());
    let mut tampered_blob = new.clone();
    let crc_at = tampered_blob.len() - 4;
    tampered_blob[crc_at / 2] ^= 0x04;
    let crc = mdn_core::crc32(&tampered_blob[..crc_at]);
    tampered_blob[crc_at..].copy_from_slice(&crc.to_le_bytes());
    let mut tampered_signature = sign(&new, &key).unwrap();
    tampered_signature[40] ^= 0x80;
    let cases = [
        (
            "signed by the key",
            new.clone(),
            sign(&new, &key),
            SlotId::B,
        ),
        ("unsigned", new.clone(), None, SlotId::A),
        (
            "signed by another key",
            new.clone(),
            sign(&new, &other),
            SlotId::A,
        ),
        (
            "tampered signature",
            new.clone(),
            Some(tampered_signature),
            SlotId::A,
        ),
        ("tampered blob", tampered_blob, sign(&new, &key), SlotId::A),
    ];
    let mut images = Vec::new();
    for (name, blob, signature, active) in cases {
        let mut bytes = vec![0xFF; 2 * SLOT_BYTES];
        put_signed(&mut bytes, SlotId::A, &old, OLD_SEQUENCE, sign(&old, &key));
        put_signed(&mut bytes, SlotId::B, &blob, OLD_SEQUENCE + 1, signature);
        let (sequence, expected) = match active {
            SlotId::A => (OLD_SEQUENCE, old.clone()),
            SlotId::B => (OLD_SEQUENCE + 1, new.clone()),
        };
        let image = Image {
            name: name.into(),
            bytes: bytes.clone(),
            slot: active,
            sequence,
            blob: expected,
        };
        images.push(SignedCase {
            name,
            bytes,
            expected: Some(image),
        });
    }
    let mut unsigned_only = vec![0xFF; 2 * SLOT_BYTES];
    put(&mut unsigned_only, SlotId::A, &old, OLD_SEQUENCE);
    images.push(SignedCase {
        name: "the old model unsigned, slot B empty",
        bytes: unsigned_only,
        expected: None,
    });
    (public, images)
}

#[test]
fn only_slots_signed_by_the_key_become_active_on_the_host() {
    let dir = tempfile::tempdir().unwrap();
    let (public, images) = signed_images(dir.path());
    let key = signing::read_public_key(&public).unwrap();
    for SignedCase {
        name,
        bytes,
        expected,
    } in images
    {
        let aligned = AlignedBlob::new(&bytes);
        let (a, b) = aligned.bytes().split_at(SLOT_BYTES);
        let selection = select(a, b, |slot| verify_slot(slot, &key).is_ok());
        let active = selection
            .active()
            .map(|(id, valid)| (id, valid.trailer.sequence));
        let expected = expected.map(|image| (image.slot, image.sequence));
        assert_eq!(active, expected, "{name}");
    }
}

#[test]
#[ignore = "needs QEMU (scripts/check.sh runs them)"]
fn only_slots_signed_by_the_key_become_active_in_qemu() {
    let dir = tempfile::tempdir().unwrap();
    let (public, images) = signed_images(dir.path());
    let firmware = firmware_dir();
    // Its own target dir: the unsigned `slots` of the test above stays where it is.
    let target_dir = firmware.join("target/signed");
    let status = CORTEX_M4F
        .release_build(&firmware)
        .args(["--bin", "slots", "--features", "signature", "--target-dir"])
        .arg(&target_dir)
        .env("MDN_PUBLIC_KEY", &public)
        .status()
        .expect("cargo runs");
    assert!(
        status.success(),
        "building the signed slots firmware failed"
    );
    let elf = target_dir.join(CORTEX_M4F.target).join("release/slots");
    for (i, case) in images.iter().enumerate() {
        let SignedCase {
            name,
            bytes,
            expected,
        } = case;
        let path = dir.path().join(format!("signed{i}.bin"));
        fs::write(&path, bytes).unwrap();
        let loader = format!("loader,file={},addr={SLOT_A_ADDRESS:#x}", path.display());
        let run = qemu::run(&CORTEX_M4F, &elf, &["-device", &loader]).expect("QEMU runs");
        match expected {
            Some(image) => {
                assert_eq!(run.code, Some(0), "{name}:\n{}", run.log);
                for line in expected_lines(image) {
                    assert!(
                        run.log.contains(&line),
                        "{name}: expected {line:?} in\n{}",
                        run.log
                    );
                }
            }
            None => {
                assert_eq!(run.code, Some(3), "{name}:\n{}", run.log);
                assert!(
                    run.log.contains("refused: signature Missing"),
                    "{name}:\n{}",
                    run.log
                );
            }
        }
    }
    println!(
        "slots: {} signed-update images booted in QEMU, each as expected",
        images.len()
    );
}
