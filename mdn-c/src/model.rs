//! `mdn_model`: caller-owned storage that holds a validated mdn-core model, and whether it
//! holds one.

use core::{
    mem::{align_of, size_of},
    ptr,
};

use crate::{
    capacities::{CModel, MDN_MODEL_WORDS},
    status::mdn_status::{self, *},
};

/// Storage for one model, owned by the caller (a `static`, a global, or the stack). Zero it
/// or pass it to `mdn_model_init` before use: a zeroed model is "not initialised" and every
/// query on it returns `MDN_ERROR_NOT_INITIALISED`. No function allocates, and a model needs
/// no cleanup. Queries only read the model: several threads may query one model at once.
#[allow(
    non_camel_case_types,
    reason = "the C name is the API; cbindgen copies it into mdn.h"
)]
#[repr(C)]
#[derive(Debug)]
pub struct mdn_model {
    /// Private: the validated model and a check word. Do not read or write.
    pub _opaque: [u64; MDN_MODEL_WORDS],
}

/// What an initialised `mdn_model` holds, at its start.
#[repr(C)]
struct State {
    /// [`INITIALISED`] XOR the blob's address while the model is valid, anything else (zero
    /// after a failed `mdn_model_init`) otherwise.
    check: u64,
    /// The blob the model reads its parameters from.
    blob: *const u8,
    model: CModel<'static>,
}

/// The check word's constant ("mdn-c ok" in ASCII).
const INITIALISED: u64 = u64::from_be_bytes(*b"mdn-c ok");

// The model must fit the caller's storage, aligned: on every target this library is built
// for, since this is evaluated for each.
const _: () = assert!(size_of::<State>() <= size_of::<mdn_model>());
const _: () = assert!(align_of::<State>() <= align_of::<mdn_model>());

/// The check word of a model valid for `blob`.
fn check_word(blob: *const u8) -> u64 {
    INITIALISED ^ blob as usize as u64
}

/// Validates `blob_len` bytes at `blob` into `*model`. See `mdn_model_init`.
///
/// # Safety
///
/// `model`, if not null, points to writable `mdn_model` storage; `blob`, if not null, to
/// `blob_len` readable bytes that stay valid and unchanged while the model is used.
pub(crate) unsafe fn init(
    model: *mut mdn_model,
    blob: *const u8,
    blob_len: usize,
) -> Result<(), mdn_status> {
    if model.is_null() {
        return Err(MDN_ERROR_NULL_POINTER);
    }
    if !model.is_aligned() {
        return Err(MDN_ERROR_MODEL_MISALIGNED);
    }
    let state = model.cast::<State>();
    // SAFETY: `state` is non-null, aligned (checked; `State`'s alignment is at most
    // `mdn_model`'s, asserted above) and points into writable `mdn_model` storage at least
    // `size_of::<State>()` bytes long (asserted above). Writing the `u64` first marks the
    // model as not initialised until validation succeeds.
    unsafe { ptr::addr_of_mut!((*state).check).write(0) };
    if blob.is_null() {
        return Err(MDN_ERROR_NULL_POINTER);
    }
    if blob_len > isize::MAX as usize {
        return Err(MDN_ERROR_NULL_POINTER);
    }
    // SAFETY: `blob` is non-null and the caller promises `blob_len` readable bytes there
    // (at most isize::MAX, checked); `u8` has no alignment. The lifetime is extended to
    // 'static because the model lives in C storage without a lifetime: the header requires
    // the blob to outlive the model and to stay unchanged while the model is used, which is
    // what the borrow stands for.
    let bytes: &'static [u8] = unsafe { core::slice::from_raw_parts(blob, blob_len) };
    #[allow(unused_mut, reason = "the kernel is set on bare metal only")]
    let mut validated = CModel::from_bytes(bytes)?;
    // The assembly kernels on a Cortex-M4F (the portable ones elsewhere on bare metal), as
    // firmware-example does: a firmware that supplies one links no other. On a host,
    // mdn-core's own host kernel is faster.
    #[cfg(target_os = "none")]
    validated.set_kernel(mdn_cortex_m::dot_blocks);
    #[cfg(all(target_os = "none", feature = "int16"))]
    validated.set_integer_kernel(mdn_cortex_m::INTEGER_KERNEL);
    // SAFETY: as above, `state` is valid for a write of a `State`; the storage is plain
    // words, so overwriting it drops nothing. The check word is written last.
    unsafe {
        ptr::addr_of_mut!((*state).blob).write(blob);
        ptr::addr_of_mut!((*state).model).write(validated);
        ptr::addr_of_mut!((*state).check).write(check_word(blob));
    }
    Ok(())
}

/// The model in `*model`, if it holds one.
///
/// # Safety
///
/// `model`, if not null, points to readable `mdn_model` storage that is zeroed or was
/// passed to `mdn_model_init`, and is not written while the returned borrow lives.
pub(crate) unsafe fn get<'m>(model: *const mdn_model) -> Result<&'m CModel<'static>, mdn_status> {
    if model.is_null() {
        return Err(MDN_ERROR_NULL_POINTER);
    }
    if !model.is_aligned() {
        return Err(MDN_ERROR_MODEL_MISALIGNED);
    }
    let state = model.cast::<State>();
    // SAFETY: non-null, aligned, and the first two words are initialised memory of the
    // caller's storage (zeroed or written by `init`); reading them as integers and a raw
    // pointer is valid for any bit pattern.
    let (check, blob) = unsafe {
        (
            ptr::addr_of!((*state).check).read(),
            ptr::addr_of!((*state).blob).read(),
        )
    };
    if blob.is_null() || check != check_word(blob) {
        return Err(MDN_ERROR_NOT_INITIALISED);
    }
    // SAFETY: the check word matches, so the last `init` on this storage succeeded and
    // wrote a valid `CModel` (it is written before the check word, and a failed `init`
    // clears the check word first). The caller keeps the storage unchanged meanwhile.
    Ok(unsafe { &*ptr::addr_of!((*state).model) })
}
