//! Detached Ed25519 signatures over a blob.
//!
//! A signature is never part of the blob: it travels beside it (a `MODEL.sig` file on the
//! host, the 64-byte field of a slot's trailer on the device), so every tool that reads
//! blobs reads a signed one unchanged. The message signed is the blob's bytes, whole, as
//! FORMAT.md defines them: header, parameters and CRC-32. A firmware that was built with a
//! public key accepts a blob only if [`verify`] says the signature holds for that key.
//!
//! | what | bytes | encoding |
//! |---|---|---|
//! | public key | [`PUBLIC_KEY_LEN`] (32) | RFC 8032 section 5.1.5, raw |
//! | signature | [`SIGNATURE_LEN`] (64) | RFC 8032 section 5.1.6 (`R ‖ S`), raw |
//!
//! Verification is [ed25519-dalek]'s `verify_strict` (pure Ed25519 of RFC 8032, with no
//! context and no prehash): besides the RFC's checks (a canonical `S`, points that decode)
//! it refuses small-order keys and `R` points, so a signature cannot be made to hold for
//! several messages and keys. It was chosen by measurement against ed25519-compact and
//! salty (BENCHMARKS.md, "Signature verification"): about 2.3 million instructions per
//! verification of a 6.6 KB blob on a Cortex-M4F, 42 KB of flash; 17 KB with the compact
//! SHA-512 (build with `--cfg sha2_backend_soft="compact"` in the firmware's rustflags).
//!
//! No heap, no `unsafe` here, no panic in this module's code: every outcome is a
//! [`SignatureError`] or `Ok(())`. Unlike mdn-core's queries, this is not proven at link
//! time: ed25519-dalek's verification keeps one bounds check the optimiser cannot remove
//! (curve25519-dalek 5.0's `NafLookupTable5::select`, `window.rs` line 191, indexing an
//! 8-entry table by an odd NAF digit below 16, in range by construction), so a firmware
//! with this feature links the panic handler for it.
//!
//! # Examples
//!
//! ```
//! use mdn_update::signature::{SignatureError, verify};
//!
//! // RFC 8032 section 7.1, TEST 2: a one-byte message.
//! let key = hex32("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
//! let signature = [
//!     hex32("92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"),
//!     hex32("085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
//! ]
//! .concat();
//! assert_eq!(verify(&[0x72], &signature, &key), Ok(()));
//! assert_eq!(verify(&[0x73], &signature, &key), Err(SignatureError::Invalid));
//! assert_eq!(verify(&[0x72], &[], &key), Err(SignatureError::Missing));
//! assert_eq!(
//!     verify(&[0x72], &signature[..63], &key),
//!     Err(SignatureError::WrongLength { found: 63 })
//! );
//! # fn hex32(hex: &str) -> [u8; 32] {
//! #     core::array::from_fn(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
//! # }
//! ```
//!
//! [ed25519-dalek]: https://docs.rs/ed25519-dalek

use core::fmt;

use ed25519_dalek::{Signature, VerifyingKey};

use crate::slot::ValidSlot;

/// Bytes of an Ed25519 signature (RFC 8032 section 5.1.6): `R` then `S`, 32 bytes each;
/// the slot trailer's field ([`slot::SIGNATURE_LEN`](crate::slot::SIGNATURE_LEN)).
pub use crate::slot::SIGNATURE_LEN;

/// Bytes of an Ed25519 public key (RFC 8032 section 5.1.5).
pub const PUBLIC_KEY_LEN: usize = 32;

/// Why a blob's signature was refused.
///
/// Each variant is a distinct situation for whoever reads the log: an unsigned update
/// ([`Missing`](Self::Missing)) is a packaging mistake, a [`WrongLength`](Self::WrongLength)
/// one a transfer cut short, a [`MalformedKey`](Self::MalformedKey) a firmware built with the
/// wrong file, and [`Invalid`](Self::Invalid) a blob or signature that was altered or signed
/// by another key.
///
/// # Examples
///
/// ```
/// use mdn_update::signature::SignatureError;
///
/// let error = SignatureError::WrongLength { found: 40 };
/// assert_eq!(error.to_string(), "signature is 40 bytes, expected 64");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SignatureError {
    /// No signature: empty, or all 64 bytes zero (the trailer of an unsigned slot) or all
    /// 0xFF (erased flash). No key signs to these bytes under strict verification.
    Missing,
    /// The signature is not [`SIGNATURE_LEN`] bytes long (truncated, or with extra bytes).
    WrongLength {
        /// Its length in bytes.
        found: usize,
    },
    /// The public key is not a usable Ed25519 key: its bytes decode to no curve point, or to
    /// a point of small order, for which signatures prove nothing.
    MalformedKey,
    /// The signature does not hold for this blob and key: either was altered, or another
    /// key signed; also when its `R` or `S` half is not a valid encoding.
    Invalid,
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("the blob is not signed (no signature)"),
            Self::WrongLength { found } => {
                write!(f, "signature is {found} bytes, expected {SIGNATURE_LEN}")
            }
            Self::MalformedKey => f.write_str("the public key is not a valid Ed25519 key"),
            Self::Invalid => f.write_str("the signature does not hold for this blob and key"),
        }
    }
}

impl core::error::Error for SignatureError {}

/// Checks that `signature` is `public_key`'s Ed25519 signature of `blob`, the blob's bytes
/// whole.
///
/// Checks in this order, so the error names the first problem: the signature's presence
/// ([`SignatureError::Missing`]), its length, the key, then the signature itself. The blob
/// is not validated here: check it with `mdn_core` as well (a valid signature proves who
/// wrote the bytes, not that they are a blob this firmware can run).
///
/// # Errors
///
/// A [`SignatureError`] saying why the signature was refused.
///
/// # Examples
///
/// ```
/// use mdn_update::signature::{SignatureError, verify};
///
/// // RFC 8032 section 7.1, TEST 1: the empty message.
/// let key = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
/// let signature = hex(concat!(
///     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155",
///     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
/// ));
/// let key: [u8; 32] = key.try_into().unwrap();
/// assert_eq!(verify(b"", &signature, &key), Ok(()));
///
/// let mut tampered = signature.clone();
/// tampered[10] ^= 1;
/// assert_eq!(verify(b"", &tampered, &key), Err(SignatureError::Invalid));
/// assert_eq!(verify(b"", &[0; 64], &key), Err(SignatureError::Missing));
/// assert_eq!(verify(b"", &signature, &[0; 32]), Err(SignatureError::MalformedKey));
/// # fn hex(hex: &str) -> Vec<u8> {
/// #     (0..hex.len() / 2).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()).collect()
/// # }
/// ```
pub fn verify(
    blob: &[u8],
    signature: &[u8],
    public_key: &[u8; PUBLIC_KEY_LEN],
) -> Result<(), SignatureError> {
    if is_unsigned(signature) {
        return Err(SignatureError::Missing);
    }
    let signature: &[u8; SIGNATURE_LEN] =
        signature
            .try_into()
            .map_err(|_| SignatureError::WrongLength {
                found: signature.len(),
            })?;
    let key = VerifyingKey::from_bytes(public_key).map_err(|_| SignatureError::MalformedKey)?;
    if key.is_weak() {
        return Err(SignatureError::MalformedKey);
    }
    key.verify_strict(blob, &Signature::from_bytes(signature))
        .map_err(|_| SignatureError::Invalid)
}

/// Checks that an A/B slot's blob carries `public_key`'s signature in its trailer: the
/// check a firmware built with a key makes before a slot may become active, inside the
/// acceptance check it gives [`slot::select`](crate::slot::select).
///
/// # Errors
///
/// [`SignatureError::Missing`] for a trailer without a signature (flag bit 0 clear), else
/// those of [`verify`] over the slot's blob bytes.
///
/// # Examples
///
/// ```
/// use mdn_update::signature::{SignatureError, verify_slot};
/// use mdn_update::slot::{check_slot, Trailer, TRAILER_LEN};
///
/// let blob = mdn_core::doc_example_blob();
/// let mut slot = mdn_core::Aligned([0xFF_u8; 512]);
/// slot.0[..blob.len()].copy_from_slice(&blob);
/// let unsigned = Trailer::for_blob(&blob, 1, None)?;
/// slot.0[512 - TRAILER_LEN..].copy_from_slice(&unsigned.to_bytes());
///
/// let key = [0x11; 32]; // a firmware's `MDN_PUBLIC_KEY`
/// let refused = check_slot(&slot.0, |slot| verify_slot(slot, &key).is_ok());
/// assert!(refused.is_err());
/// let valid = check_slot(&slot.0, |_| true)?;
/// assert_eq!(verify_slot(&valid, &key), Err(SignatureError::Missing));
/// # Ok::<(), Box<dyn core::error::Error>>(())
/// ```
pub fn verify_slot(
    slot: &ValidSlot<'_>,
    public_key: &[u8; PUBLIC_KEY_LEN],
) -> Result<(), SignatureError> {
    match &slot.trailer.signature {
        Some(signature) => verify(slot.bytes, signature, public_key),
        None => Err(SignatureError::Missing),
    }
}

/// Whether `signature` stands for "no signature": empty, or [`SIGNATURE_LEN`] bytes all
/// zero (an unsigned slot's trailer) or all 0xFF (erased flash).
///
/// # Examples
///
/// ```
/// use mdn_update::signature::is_unsigned;
///
/// assert!(is_unsigned(&[]));
/// assert!(is_unsigned(&[0; 64]));
/// assert!(is_unsigned(&[0xff; 64]));
/// assert!(!is_unsigned(&[0; 63])); // too short: a truncated signature, not an absent one
/// ```
pub fn is_unsigned(signature: &[u8]) -> bool {
    signature.is_empty()
        || (signature.len() == SIGNATURE_LEN
            && (signature.iter().all(|&b| b == 0) || signature.iter().all(|&b| b == 0xff)))
}

#[cfg(test)]
mod tests {
    extern crate std;

    use std::vec::Vec;

    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    fn hex(hex: &str) -> Vec<u8> {
        (0..hex.len() / 2)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect()
    }

    /// `(secret key, public key, message, signature)`, copied from RFC 8032 section 7.1
    /// (Ed25519 TEST 1, 2, 3 and SHA(abc)): an independent reference, not produced by the
    /// code under test.
    const RFC8032: [(&str, &str, &str, &str); 4] = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155\
             5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da\
             085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
        (
            "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
            "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
            "af82",
            "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac\
             18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
        ),
        (
            "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
            "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
            // SHA-512("abc")
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
             2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
            "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589\
             09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704",
        ),
    ];

    fn case(index: usize) -> ([u8; 32], Vec<u8>, Vec<u8>) {
        let (_, key, message, signature) = RFC8032[index];
        (hex(key).try_into().unwrap(), hex(message), hex(signature))
    }

    #[test]
    fn rfc8032_signatures_hold() {
        for (index, (secret, key, message, signature)) in RFC8032.iter().enumerate() {
            let public_key: [u8; 32] = hex(key).try_into().unwrap();
            assert_eq!(
                verify(&hex(message), &hex(signature), &public_key),
                Ok(()),
                "RFC 8032 vector {index}"
            );
            // The host side (mdn keygen / mdn sign) derives the same key and signature.
            let signing = SigningKey::from_bytes(&hex(secret).try_into().unwrap());
            assert_eq!(signing.verifying_key().to_bytes(), public_key);
            assert_eq!(
                signing.sign(&hex(message)).to_bytes().as_slice(),
                hex(signature)
            );
        }
    }

    #[test]
    fn every_altered_bit_is_refused() {
        let (key, message, signature) = case(2);
        for bit in 0..message.len() * 8 {
            let mut tampered = message.clone();
            tampered[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                verify(&tampered, &signature, &key),
                Err(SignatureError::Invalid)
            );
        }
        // Every 7th bit (a prime stride: each byte, each bit position): debug-build
        // verification is slow enough that all 512 would take a quarter minute.
        for bit in (0..SIGNATURE_LEN * 8).step_by(7) {
            let mut tampered = signature.clone();
            tampered[bit / 8] ^= 1 << (bit % 8);
            assert_eq!(
                verify(&message, &tampered, &key),
                Err(SignatureError::Invalid),
                "bit {bit}"
            );
        }
        let mut longer = message.clone();
        longer.push(0);
        assert_eq!(
            verify(&longer, &signature, &key),
            Err(SignatureError::Invalid)
        );
        assert_eq!(
            verify(&message[..1], &signature, &key),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn another_key_is_refused() {
        let (_, message, signature) = case(2);
        let (other_key, _, _) = case(1);
        assert_eq!(
            verify(&message, &signature, &other_key),
            Err(SignatureError::Invalid)
        );
    }

    #[test]
    fn missing_and_wrong_length_signatures() {
        let (key, message, signature) = case(1);
        assert_eq!(verify(&message, &[], &key), Err(SignatureError::Missing));
        assert_eq!(
            verify(&message, &[0; 64], &key),
            Err(SignatureError::Missing)
        );
        assert_eq!(
            verify(&message, &[0xff; 64], &key),
            Err(SignatureError::Missing)
        );
        for length in [1, 32, 63] {
            assert_eq!(
                verify(&message, &signature[..length], &key),
                Err(SignatureError::WrongLength { found: length })
            );
        }
        let mut longer = signature.clone();
        longer.push(0);
        assert_eq!(
            verify(&message, &longer, &key),
            Err(SignatureError::WrongLength { found: 65 })
        );
        // A zero-filled short buffer is a truncated signature, not an absent one.
        assert_eq!(
            verify(&message, &[0; 63], &key),
            Err(SignatureError::WrongLength { found: 63 })
        );
    }

    #[test]
    fn malformed_keys() {
        let (_, message, signature) = case(1);
        // y = 2 is not the y-coordinate of any curve point.
        let mut no_point = [0_u8; 32];
        no_point[0] = 2;
        // The identity (y = 1) and the zero point (y = 0, order 4) are of small order.
        let mut identity = [0_u8; 32];
        identity[0] = 1;
        for key in [no_point, identity, [0; 32]] {
            assert_eq!(
                verify(&message, &signature, &key),
                Err(SignatureError::MalformedKey),
                "{key:x?}"
            );
        }
    }

    #[test]
    fn a_non_canonical_s_is_refused() {
        // S + L, where L is the group order (RFC 8032 section 5.1.7 requires S < L): the
        // same point equation holds, a lax verifier would accept it.
        const L: [u8; 32] = [
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
        ];
        let (key, message, mut signature) = case(1);
        let mut carry = 0_u16;
        for (s, l) in signature[32..].iter_mut().zip(L) {
            let sum = u16::from(*s) + u16::from(l) + carry;
            *s = sum as u8;
            carry = sum >> 8;
        }
        assert_eq!(carry, 0);
        assert_eq!(
            verify(&message, &signature, &key),
            Err(SignatureError::Invalid)
        );
    }
}
