//! C arrays (pointer and length) as slices, with NULL and impossible lengths as statuses.

use core::slice;

use crate::status::mdn_status::{self, MDN_ERROR_NULL_POINTER};

/// The `len` values at `ptr`; NULL with `len == 0` is the empty array.
///
/// # Safety
///
/// `ptr`, if not null, points to `len` readable, initialised, aligned `T`s not written
/// while the slice lives.
pub(crate) unsafe fn input<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], mdn_status> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&[])
        } else {
            Err(MDN_ERROR_NULL_POINTER)
        };
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(MDN_ERROR_NULL_POINTER);
    }
    // SAFETY: non-null, at most isize::MAX bytes (checked), and the caller promises `len`
    // readable, aligned values that stay unchanged meanwhile.
    Ok(unsafe { slice::from_raw_parts(ptr, len) })
}

/// The `len` writable values at `ptr`; NULL with `len == 0` is the empty array.
///
/// # Safety
///
/// `ptr`, if not null, points to `len` writable, aligned `T`s that nothing else accesses
/// while the slice lives.
pub(crate) unsafe fn output<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], mdn_status> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(&mut [])
        } else {
            Err(MDN_ERROR_NULL_POINTER)
        };
    }
    if len > isize::MAX as usize / size_of::<T>().max(1) {
        return Err(MDN_ERROR_NULL_POINTER);
    }
    // SAFETY: non-null, at most isize::MAX bytes (checked), and the caller promises `len`
    // writable, aligned values that nothing else accesses meanwhile. `T` is a plain number
    // type here, so any previous contents are fine to overwrite.
    Ok(unsafe { slice::from_raw_parts_mut(ptr, len) })
}

/// The value at `ptr`, writable.
///
/// # Safety
///
/// `ptr`, if not null, points to a writable, aligned `T` that nothing else accesses while
/// the borrow lives.
pub(crate) unsafe fn scalar<'a, T>(ptr: *mut T) -> Result<&'a mut T, mdn_status> {
    // SAFETY: the caller's promise, for a non-null pointer (`as_mut` checks null).
    unsafe { ptr.as_mut() }.ok_or(MDN_ERROR_NULL_POINTER)
}
