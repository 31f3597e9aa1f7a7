//! Detached Ed25519 signatures over model blobs, on the host: `mdn keygen`, `mdn sign`,
//! `mdn verify`.
//!
//! Signing uses ed25519-dalek; verifying uses [`mdn_update::signature::verify`], the code
//! a firmware runs, so the host says "holds" exactly when the device would. The signature
//! is detached: the blob is not changed, and every `mdn` command still reads it.
//!
//! # Files
//!
//! All three are raw bytes, no text encoding, so that a firmware's build can include the
//! public key as it is (`MDN_PUBLIC_KEY=NAME.pub`), and their lengths tell them apart:
//!
//! | file | bytes | content |
//! |---|---|---|
//! | `NAME.key` | 64 ([`SECRET_KEY_FILE_LEN`]) | the 32-byte secret key (RFC 8032 section 5.1.5), then its 32-byte public key: the layout of libsodium's and Go's Ed25519 private keys. Mode 0600. The public half is checked against the secret one on every use, so a damaged or mixed-up file is refused. |
//! | `NAME.pub` | 32 ([`PUBLIC_KEY_LEN`]) | the public key (RFC 8032 section 5.1.5) |
//! | `MODEL.sig` | 64 ([`SIGNATURE_LEN`]) | the signature of `MODEL`'s bytes, whole (RFC 8032 section 5.1.6) |
//!
//! # Examples
//!
//! ```
//! use mdn_train::signing;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let (key, public) = signing::keygen(&dir.path().join("release"))?;
//! assert!(key.ends_with("release.key") && public.ends_with("release.pub"));
//!
//! let blob = mdn_core::doc_example_blob();
//! let signature = signing::sign(&blob, "model.mdn".as_ref(), &key)?;
//! let public_key = signing::read_public_key(&public)?;
//! assert_eq!(mdn_update::signature::verify(&blob, &signature, &public_key), Ok(()));
//! # Ok::<(), mdn_train::Error>(())
//! ```

use std::path::{Path, PathBuf};

use ed25519_dalek::{Signer, SigningKey};
pub use mdn_update::signature::{PUBLIC_KEY_LEN, SIGNATURE_LEN, SignatureError};

use crate::{
    aligned::AlignedBytes,
    error::{Error, Result},
    io,
};

/// Bytes of a `NAME.key` file: the secret key, then its public key.
pub const SECRET_KEY_FILE_LEN: usize = 64;

/// What a secret key file should hold, for error messages.
const SECRET_KEY_EXPECTED: &str =
    "a 64-byte Ed25519 secret key file (the NAME.key of `mdn keygen`)";

/// What a public key file should hold, for error messages.
const PUBLIC_KEY_EXPECTED: &str =
    "a 32-byte Ed25519 public key file (the NAME.pub of `mdn keygen`)";

/// The key files of `mdn keygen --out NAME`: `NAME.key` and `NAME.pub` (the suffixes are
/// appended, so `NAME` may contain dots).
///
/// # Examples
///
/// ```
/// let (key, public) = mdn_train::signing::key_paths("keys/v1.2".as_ref());
/// assert_eq!((key.to_str(), public.to_str()), (Some("keys/v1.2.key"), Some("keys/v1.2.pub")));
/// ```
pub fn key_paths(name: &Path) -> (PathBuf, PathBuf) {
    (io::with_suffix(name, ".key"), io::with_suffix(name, ".pub"))
}

/// Generates a key pair from the operating system's random source and writes `NAME.key`
/// (mode 0600, from the moment it exists) and `NAME.pub`; returns their paths.
///
/// # Errors
///
/// [`Error::KeyExists`] if `NAME.key` exists (a secret key is never replaced),
/// [`Error::Random`] if no random bytes are available, [`Error::Write`] naming the file.
///
/// # Examples
///
/// See the [module documentation](self).
pub fn keygen(name: &Path) -> Result<(PathBuf, PathBuf)> {
    let (key_path, public_path) = key_paths(name);
    if key_path.exists() {
        return Err(Error::KeyExists { path: key_path });
    }
    io::check_writable(&key_path)?;
    let mut secret = [0_u8; ed25519_dalek::SECRET_KEY_LENGTH];
    getrandom::fill(&mut secret).map_err(|e| Error::Random(e.to_string()))?;
    let key = SigningKey::from_bytes(&secret);
    secret.fill(0);
    // The public key first: a failure then leaves no secret key without its public one.
    io::write_atomic(&public_path, key.verifying_key().as_bytes())?;
    io::write_atomic_private(&key_path, &key.to_keypair_bytes())?;
    Ok((key_path, public_path))
}

/// Reads a `NAME.key` file and checks that its public half belongs to its secret half.
///
/// # Errors
///
/// [`Error::Read`], or [`Error::KeyFile`] naming the file, with the expected and found
/// lengths (a 32-byte file is probably the public key).
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let (key, public) = mdn_train::signing::keygen(&dir.path().join("k"))?;
/// assert!(mdn_train::signing::read_secret_key(&key).is_ok());
/// let err = mdn_train::signing::read_secret_key(&public).unwrap_err();
/// assert!(err.to_string().contains("expected a 64-byte Ed25519 secret key"), "{err}");
/// assert!(err.to_string().contains("found 32 bytes (a public key?)"), "{err}");
/// # Ok::<(), mdn_train::Error>(())
/// ```
pub fn read_secret_key(path: &Path) -> Result<SigningKey> {
    let bytes = io::read(path)?;
    let key_file_error = |found: String| Error::KeyFile {
        path: path.to_path_buf(),
        expected: SECRET_KEY_EXPECTED,
        found,
    };
    let Ok(pair) = <&[u8; SECRET_KEY_FILE_LEN]>::try_from(bytes.as_slice()) else {
        let hint = if bytes.len() == PUBLIC_KEY_LEN {
            " (a public key?)"
        } else {
            ""
        };
        return Err(key_file_error(format!("{} bytes{hint}", bytes.len())));
    };
    SigningKey::from_keypair_bytes(pair).map_err(|_| {
        key_file_error(
            "64 bytes whose second half is not the public key of the first (damaged, or not \
             a key file)"
                .into(),
        )
    })
}

/// Reads a `NAME.pub` file: 32 bytes.
///
/// # Errors
///
/// [`Error::Read`], or [`Error::KeyFile`] naming the file, with the expected and found
/// lengths (a 64-byte file is probably the secret key). A key that is no curve point is
/// refused later, by [`verify_file`] ([`SignatureError::MalformedKey`]).
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let (key, public) = mdn_train::signing::keygen(&dir.path().join("k"))?;
/// assert_eq!(mdn_train::signing::read_public_key(&public)?.len(), 32);
/// let err = mdn_train::signing::read_public_key(&key).unwrap_err();
/// assert!(err.to_string().contains("found 64 bytes (the secret key?"), "{err}");
/// # Ok::<(), mdn_train::Error>(())
/// ```
pub fn read_public_key(path: &Path) -> Result<[u8; PUBLIC_KEY_LEN]> {
    let bytes = io::read(path)?;
    bytes.as_slice().try_into().map_err(|_| {
        let hint = if bytes.len() == SECRET_KEY_FILE_LEN {
            " (the secret key? never give it to anyone, nor build it into firmware)"
        } else {
            ""
        };
        Error::KeyFile {
            path: path.to_path_buf(),
            expected: PUBLIC_KEY_EXPECTED,
            found: format!("{} bytes{hint}", bytes.len()),
        }
    })
}

/// The signature of `blob` (read from `model`, named in errors) by the key in `key_file`,
/// after checking that `blob` is a valid model blob.
///
/// # Errors
///
/// [`Error::InvalidModel`] naming `model` if mdn-core refuses the blob (nothing is signed);
/// the errors of [`read_secret_key`].
///
/// # Examples
///
/// See the [module documentation](self).
pub fn sign(blob: &[u8], model: &Path, key_file: &Path) -> Result<[u8; SIGNATURE_LEN]> {
    mdn_core::Blob::from_bytes(AlignedBytes::from_slice(blob).as_bytes()).map_err(|source| {
        Error::InvalidModel {
            path: model.to_path_buf(),
            source,
        }
    })?;
    let key = read_secret_key(key_file)?;
    Ok(key.sign(blob).to_bytes())
}

/// Reads the signature file `path` of a model: [`Error::MissingSignature`] when it does not
/// exist or is empty, [`Error::SignatureLength`] when it is not 64 bytes.
///
/// # Errors
///
/// Those two, and [`Error::Read`] for any other failure to read.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let sig = dir.path().join("m.sig");
/// let err = mdn_train::signing::read_signature(&sig).unwrap_err();
/// assert!(err.to_string().ends_with("no signature: the file does not exist (the model is unsigned; sign it with `mdn sign`)"), "{err}");
/// std::fs::write(&sig, [7; 40]).unwrap();
/// let err = mdn_train::signing::read_signature(&sig).unwrap_err();
/// assert!(err.to_string().ends_with("expected a 64-byte Ed25519 signature, found 40 bytes (truncated)"), "{err}");
/// ```
pub fn read_signature(path: &Path) -> Result<[u8; SIGNATURE_LEN]> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::MissingSignature {
                path: path.to_path_buf(),
                absent: true,
            });
        }
        Err(source) => {
            return Err(Error::Read {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if bytes.is_empty() {
        return Err(Error::MissingSignature {
            path: path.to_path_buf(),
            absent: false,
        });
    }
    bytes
        .as_slice()
        .try_into()
        .map_err(|_| Error::SignatureLength {
            path: path.to_path_buf(),
            expected: SIGNATURE_LEN,
            found: bytes.len(),
        })
}

/// Whether the signature in `signature_file` holds for `blob` and the public key in
/// `public_file`, by [`mdn_update::signature::verify`], the device's check. The inner
/// result is that check's: `Ok(())` when it holds.
///
/// # Errors
///
/// The file errors of [`read_signature`] and [`read_public_key`] (the outer `Result`): a
/// missing or truncated signature file is an error, not a verdict.
///
/// # Examples
///
/// ```
/// use mdn_train::signing;
///
/// let dir = tempfile::tempdir().unwrap();
/// let (key, public) = signing::keygen(&dir.path().join("k"))?;
/// let mut blob = mdn_core::doc_example_blob().to_vec();
/// let sig = dir.path().join("m.sig");
/// std::fs::write(&sig, signing::sign(&blob, "m".as_ref(), &key)?).unwrap();
/// assert_eq!(signing::verify_file(&blob, &sig, &public)?, Ok(()));
/// blob[20] ^= 1;
/// assert_eq!(
///     signing::verify_file(&blob, &sig, &public)?,
///     Err(signing::SignatureError::Invalid)
/// );
/// # Ok::<(), mdn_train::Error>(())
/// ```
pub fn verify_file(
    blob: &[u8],
    signature_file: &Path,
    public_file: &Path,
) -> Result<std::result::Result<(), SignatureError>> {
    let signature = read_signature(signature_file)?;
    let public_key = read_public_key(public_file)?;
    Ok(mdn_update::signature::verify(blob, &signature, &public_key))
}
