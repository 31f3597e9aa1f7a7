//! The values of a parameter section: finite where they must be, positive where they scale
//! (FORMAT.md section 4).

use super::from_word;
#[cfg(feature = "f16")]
use crate::half;
use crate::{
    error::{Error, Result},
    header::Storage,
    layout::Layout,
};

/// Checks every value of a parameter section laid out by `layout` (its size already
/// checked): no NaN or infinity among the `f32` values and the `f16` weights, then no
/// value `<= 0` where a scale must be positive. The first failing word decides, finiteness
/// over the whole section before positivity (FORMAT.md section 4).
///
/// A model stored as `f32` throughout is checked word by word; only a build with packed
/// storage walks the layers ([`check_packed`]), so an `f32`-only firmware links no more
/// than that loop.
pub(super) fn check_values(layout: &Layout, words: &[u32]) -> Result<()> {
    #[cfg(any(feature = "f16", feature = "int8", feature = "int16"))]
    if layout.storage().iter().any(|&s| s != Storage::F32) {
        return check_packed(layout, words);
    }
    for (index, &word) in words.iter().enumerate() {
        if !is_finite(word, Storage::F32) {
            return Err(Error::NonFiniteParameter { index });
        }
    }
    check_shared_scales(layout, words)
}

/// Whether a parameter word holds no NaN and no infinity as `storage`: one `f32`, two
/// `f16` (in a build with them), or four `int8` bytes, which are all valid. The rule of
/// [`check_values`] and of the streaming validator, word by word.
#[inline(always)]
pub(crate) fn is_finite(word: u32, storage: Storage) -> bool {
    match storage.as_built() {
        Storage::F32 => from_word(word).is_finite(),
        #[cfg(feature = "f16")]
        Storage::F16 => {
            let word = u32::from_le(word);
            half::is_finite(word as u16) && half::is_finite((word >> 16) as u16)
        }
        _ => true,
    }
}

/// Whether a word that must hold a positive scale does (its value is finite).
#[inline(always)]
pub(crate) fn is_positive(word: u32) -> bool {
    // Not `v > 0.0` alone: the rule of FORMAT.md section 4 is "any value <= 0", and a NaN
    // is the finiteness check's to reject.
    let value = from_word(word);
    value > 0.0 || value.is_nan()
}

/// [`Error::InvalidScale`] for the first shared value that must be positive and is not:
/// the scalers' scales, then the calibration.
fn check_shared_scales(layout: &Layout, words: &[u32]) -> Result<()> {
    let [inputs, targets, calibration] = layout.shared_scale_ranges();
    for index in inputs.chain(targets).chain(calibration) {
        if words.get(index).is_some_and(|&w| !is_positive(w)) {
            return Err(Error::InvalidScale { index });
        }
    }
    Ok(())
}

/// [`Error::InvalidScale`] for the first word of `range` that is not positive (its values
/// are finite).
#[cfg(any(feature = "f16", feature = "int8", feature = "int16"))]
fn check_positive(words: &[u32], range: core::ops::Range<usize>) -> Result<()> {
    let values = words.iter().enumerate().skip(range.start);
    for (index, &word) in values.take(range.len()) {
        if !is_positive(word) {
            return Err(Error::InvalidScale { index });
        }
    }
    Ok(())
}

/// [`check_values`] for a model with packed layers: a walk over the networks' layers with
/// plain arithmetic, `f16` weights checked as binary16, `int8` bytes all valid, `int8` row
/// scales positive.
#[cfg(any(feature = "f16", feature = "int8", feature = "int16"))]
fn check_packed(layout: &Layout, words: &[u32]) -> Result<()> {
    let shared = layout.shared_words();
    // Finiteness first, over the whole section in word order.
    check_finite(words, 0..shared, Storage::F32)?;
    let mut at = shared;
    for _ in 0..layout.networks() {
        for layer in layout.dense_layers() {
            let scales = at + layer.weight_words();
            check_finite(words, at..scales, layer.storage)?;
            at += layer.words();
            check_finite(words, scales..at, Storage::F32)?;
        }
    }
    check_shared_scales(layout, words)?;
    let mut at = shared;
    for _ in 0..layout.networks() {
        for layer in layout.dense_layers() {
            let scales = at + layer.weight_words();
            check_positive(words, scales..scales + layer.scale_words())?;
            at += layer.words();
        }
    }
    Ok(())
}

/// [`Error::NonFiniteParameter`] for the first word of `range` that holds a NaN or an
/// infinity as `storage` (an `f32`, or two `f16`; every `int8` byte is valid). Out of line:
/// one copy in flash for every kind of word.
#[cfg(any(feature = "f16", feature = "int8", feature = "int16"))]
#[inline(never)]
fn check_finite(words: &[u32], range: core::ops::Range<usize>, storage: Storage) -> Result<()> {
    let values = words.iter().enumerate().skip(range.start);
    for (index, &word) in values.take(range.len()) {
        if !is_finite(word, storage) {
            return Err(Error::NonFiniteParameter { index });
        }
    }
    Ok(())
}
