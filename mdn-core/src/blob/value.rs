//! One stored parameter value: its bytes as each weight storage writes them, and the
//! `f32` it stands for (FORMAT.md section 3.1).

use crate::{half, header::Storage, layout::StoredAt};

/// The value stored at `at` in a parameter section's bytes, widened to `f32` exactly.
pub(super) fn read_value(bytes: &[u8], at: StoredAt) -> Option<f32> {
    let value = bytes.get(at.byte..)?;
    Some(match at.storage {
        Storage::F32 => f32::from_le_bytes(*value.first_chunk::<4>()?),
        Storage::F16 => half::widen(u16::from_le_bytes(*value.first_chunk::<2>()?)),
        Storage::Int16Int16 => f32::from(i16::from_le_bytes(*value.first_chunk::<2>()?)),
        Storage::Int8 | Storage::Int8Int16 => f32::from(i8::from_le_bytes([*value.first()?])),
    })
}

/// The bytes that store `value` as `storage`, if it holds `value` exactly: an `f32` any
/// value, an `f16` the values binary16 represents, an `int8` or `int8-int16` the integers
/// `-128 ..= 127`, an `int16-int16` the integers `-32768 ..= 32767`.
pub(super) fn stored_bytes(value: f32, storage: Storage) -> Option<([u8; 4], usize)> {
    match storage {
        Storage::F32 => Some((value.to_le_bytes(), 4)),
        Storage::F16 => {
            let [a, b] = half::narrow_exact(value)?.to_le_bytes();
            Some(([a, b, 0, 0], 2))
        }
        Storage::Int16Int16 => {
            let q = value as i16;
            let [a, b] = q.to_le_bytes();
            (f32::from(q) == value).then_some(([a, b, 0, 0], 2))
        }
        Storage::Int8 | Storage::Int8Int16 => {
            let q = value as i8;
            (f32::from(q) == value).then_some(([q.to_le_bytes()[0], 0, 0, 0], 1))
        }
    }
}
