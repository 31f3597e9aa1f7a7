//! Converting a format version 3 blob to version 4 (FORMAT.md section 6): `mdn upgrade`.
//!
//! Version 4 added per-layer weight storage to the header and the calibration tensors to
//! the parameters. A version-3 blob is the version-4 blob with every layer `f32` and the
//! identity calibration, so the conversion inserts the storage codes after `hidden` and
//! `D + 1` ones after `members.log_weight`; nothing else moves, and every density stays
//! the same bit for bit. mdn-core reads version 4 only: this is the one place that still
//! reads version 3, and it checks that blob's magic, length and CRC as mdn-core did.

use mdn_core::{
    Activation, Error as CoreError, Header, HiddenWidths, Layout, Names, SigmaTransform, Storage,
    StoredAt, TargetTransform,
};
use serde::Deserialize;

use crate::{aligned::AlignedBytes, error::Result, model::encode_blob};

/// The version this module reads.
pub const FROM_VERSION: u16 = 3;

/// A version-3 header as postcard stores it (FORMAT.md version 3, section 2).
#[derive(Deserialize)]
struct HeaderV3<'a> {
    input_dim: u32,
    output_dim: u32,
    components: u32,
    members: u32,
    hidden: HiddenWidths,
    activation: u8,
    sigma: u8,
    sigma_floor: f32,
    target_transform: u8,
    feature_names: &'a str,
    target_names: &'a str,
}

/// The version-4 blob of the version-3 blob `bytes`, validated by mdn-core.
///
/// # Errors
///
/// The [`mdn_core::Error`] of the first failing check of the version-3 blob (magic,
/// version other than 3, length, CRC, header), or any validation error of the result.
///
/// # Examples
///
/// ```
/// // A version-4 blob is refused: there is nothing to upgrade.
/// let bytes = mdn_core::doc_example_blob();
/// let err = mdn_train::upgrade::from_version_3(&bytes).unwrap_err();
/// assert_eq!(err, mdn_core::Error::UnsupportedVersion { found: 4 });
/// ```
pub fn from_version_3(bytes: &[u8]) -> std::result::Result<AlignedBytes, CoreError> {
    let body = checked_body(bytes)?;
    let after_prefix = &body[mdn_core::PREFIX_LEN..];
    let (old, rest): (HeaderV3<'_>, &[u8]) =
        postcard::take_from_bytes(after_prefix).map_err(|_| CoreError::HeaderDecode)?;
    let header_end = mdn_core::PREFIX_LEN + (after_prefix.len() - rest.len());
    let header = Header {
        input_dim: old.input_dim,
        output_dim: old.output_dim,
        components: old.components,
        networks: old.members,
        storage: Storage::uniform(Storage::F32, old.hidden.len()),
        hidden: old.hidden,
        activation: Activation::try_from(old.activation)?,
        sigma: SigmaTransform::try_from(old.sigma)?,
        sigma_floor: old.sigma_floor,
        target_transform: TargetTransform::try_from(old.target_transform)?,
        feature_names: Names::new(old.feature_names),
        target_names: Names::new(old.target_names),
    };
    let layout = Layout::new(&header)?;
    let section = body
        .get(header_end.next_multiple_of(4)..)
        .unwrap_or_default();
    let old_words: Vec<f32> = section
        .chunks_exact(4)
        .map(|w| f32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect();
    // Version 4's stored section: version 3's shared words, the calibration's D + 1 ones,
    // then the networks, which did not move.
    let (dims, shared_v3) = (
        old.output_dim as usize,
        2 * (old.input_dim + old.output_dim) as usize + old.members as usize,
    );
    let mut words = old_words.get(..shared_v3).unwrap_or_default().to_vec();
    words.extend(std::iter::repeat_n(1.0, dims + 1));
    words.extend_from_slice(old_words.get(shared_v3..).unwrap_or_default());
    if words.len() != layout.stored_count() {
        return Err(CoreError::ParameterSizeMismatch {
            expected: (layout.stored_count() - dims - 1) * 4,
            found: old_words.len() * 4,
        });
    }
    // Every layer is f32: a value's byte offset is its word's.
    let parameters: Vec<f32> = (0..layout.parameter_count())
        .map(|i| match layout.stored_position(i) {
            Some(StoredAt { byte, .. }) => words[byte / 4],
            None => f32::NAN,
        })
        .collect();
    encode_blob(&header, &parameters).map_err(|e| match e {
        crate::Error::Core { source, .. } => source,
        _ => CoreError::HeaderDecode,
    })
}

/// The bytes before the trailer of a version-3 blob that fills `bytes`, after the checks of
/// its prefix, length and CRC.
fn checked_body(bytes: &[u8]) -> std::result::Result<&[u8], CoreError> {
    let prefix_and_trailer = mdn_core::PREFIX_LEN + mdn_core::TRAILER_LEN;
    if bytes.len() >= 4 && bytes[..4] != mdn_core::MAGIC {
        return Err(CoreError::BadMagic);
    }
    if bytes.len() < mdn_core::PREFIX_LEN {
        return Err(CoreError::Truncated {
            expected: prefix_and_trailer,
            found: bytes.len(),
        });
    }
    let version = u16::from_le_bytes([bytes[4], bytes[5]]);
    if version != FROM_VERSION {
        return Err(CoreError::UnsupportedVersion { found: version });
    }
    let declared = u32::from_le_bytes([bytes[6], bytes[7], bytes[8], bytes[9]]);
    let length = declared as usize;
    if length < prefix_and_trailer {
        return Err(CoreError::InvalidLength { declared });
    }
    if length > bytes.len() {
        return Err(CoreError::Truncated {
            expected: length,
            found: bytes.len(),
        });
    }
    if length < bytes.len() {
        return Err(CoreError::TrailingBytes {
            expected: length,
            found: bytes.len(),
        });
    }
    let (body, trailer) = bytes.split_at(length - mdn_core::TRAILER_LEN);
    let stored = u32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let computed = mdn_core::crc32(body);
    if stored != computed {
        return Err(CoreError::ChecksumMismatch { stored, computed });
    }
    Ok(body)
}

/// [`from_version_3`] for a file: the error names the file.
///
/// # Errors
///
/// [`crate::Error::InvalidModel`] naming `path` with mdn-core's reason.
///
/// # Examples
///
/// ```
/// let bytes = mdn_core::doc_example_blob();
/// let err = mdn_train::upgrade::file(&bytes, "new.mdn".as_ref()).unwrap_err();
/// assert!(err.to_string().contains("new.mdn"), "{err}");
/// ```
pub fn file(bytes: &[u8], path: &std::path::Path) -> Result<AlignedBytes> {
    from_version_3(bytes).map_err(|source| crate::Error::InvalidModel {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A version-3 blob written by hand from a version-4 one: the storage codes and the
    /// calibration taken out, as FORMAT.md version 3 lays it out.
    fn version_3_of(v4: &[u8]) -> Vec<u8> {
        let blob = mdn_core::Blob::from_bytes(v4).unwrap();
        let header = blob.header();
        let layout = blob.layout().unwrap();
        assert!(header.storage.iter().all(|&s| s == Storage::F32));
        let mut out = Vec::new();
        let varint = |mut n: u64, out: &mut Vec<u8>| loop {
            let byte = (n & 0x7F) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        };
        for n in [
            header.input_dim,
            header.output_dim,
            header.components,
            header.networks,
        ] {
            varint(n.into(), &mut out);
        }
        varint(header.hidden.len() as u64, &mut out);
        for &w in &header.hidden {
            varint(w.into(), &mut out);
        }
        out.push(header.activation.code());
        out.push(header.sigma.code());
        out.extend_from_slice(&header.sigma_floor.to_le_bytes());
        out.push(header.target_transform.code());
        for names in [header.feature_names.as_str(), header.target_names.as_str()] {
            varint(names.len() as u64, &mut out);
            out.extend_from_slice(names.as_bytes());
        }
        let mut bytes = mdn_core::MAGIC.to_vec();
        bytes.extend_from_slice(&3_u16.to_le_bytes());
        bytes.extend_from_slice(&[0; 4]);
        bytes.extend_from_slice(&out);
        while !bytes.len().is_multiple_of(4) {
            bytes.push(0);
        }
        let d = header.output_dim as usize;
        let shared_v3 = 2 * (header.input_dim + header.output_dim) as usize + layout.networks();
        for (i, w) in blob.parameters().iter().enumerate() {
            if (shared_v3..shared_v3 + d + 1).contains(&i) {
                continue;
            }
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        let len = (bytes.len() + 4) as u32;
        bytes[6..10].copy_from_slice(&len.to_le_bytes());
        let crc = mdn_core::crc32(&bytes);
        bytes.extend_from_slice(&crc.to_le_bytes());
        bytes
    }

    #[test]
    fn upgrading_gives_back_the_version_4_blob() {
        let v4 = mdn_core::doc_example_blob();
        let v3 = version_3_of(&v4);
        assert_eq!(u16::from_le_bytes([v3[4], v3[5]]), 3);
        assert_eq!(from_version_3(&v3).unwrap().as_bytes(), &v4[..]);
    }

    #[test]
    fn a_corrupt_version_3_blob_is_refused_like_mdn_core_refused_it() {
        let v3 = version_3_of(&mdn_core::doc_example_blob());
        let mut flipped = v3.clone();
        flipped[20] ^= 1;
        assert!(matches!(
            from_version_3(&flipped),
            Err(CoreError::ChecksumMismatch { .. })
        ));
        assert!(matches!(
            from_version_3(&v3[..v3.len() - 1]),
            Err(CoreError::Truncated { .. })
        ));
        assert_eq!(from_version_3(b"nope").unwrap_err(), CoreError::BadMagic);
    }
}
