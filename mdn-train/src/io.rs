//! Atomic file output: a temporary file in the destination's directory, then a rename.
//!
//! A reader never sees a half-written file, and a failed run never destroys the file that
//! was there before: the rename replaces it in one step, or not at all.

use std::{
    io::Write,
    path::{Path, PathBuf},
};

use crate::error::{Error, Result};

/// The directory a file will be created in (`.` for a bare file name).
fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn write_error(path: &Path, source: std::io::Error) -> Error {
    Error::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `bytes` to `path` atomically: to a temporary file in the same directory, flushed
/// to disk, then renamed over `path`.
///
/// # Errors
///
/// [`Error::Write`] naming `path`; the previous content of `path`, if any, is untouched and
/// no temporary file is left behind.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("hello.txt");
/// mdn_train::io::write_atomic(&path, b"hi").unwrap();
/// assert_eq!(std::fs::read(&path).unwrap(), b"hi");
/// ```
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    // tempfile creates files readable by the owner only; an output file gets the usual
    // permissions (0666 less the umask), as `File::create` would give it.
    write_atomic_with_mode(path, bytes, 0o666)
}

/// Writes `bytes` to `path` atomically as [`write_atomic`] does, readable and writable by
/// its owner only (mode 0600 on Unix) from the moment it exists: for secret keys.
///
/// # Errors
///
/// [`Error::Write`] naming `path`, as [`write_atomic`].
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("secret.key");
/// mdn_train::io::write_atomic_private(&path, b"k").unwrap();
/// # #[cfg(unix)]
/// # {
/// use std::os::unix::fs::PermissionsExt;
/// let mode = std::fs::metadata(&path).unwrap().permissions().mode();
/// assert_eq!(mode & 0o777, 0o600);
/// # }
/// ```
pub fn write_atomic_private(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with_mode(path, bytes, 0o600)
}

/// [`write_atomic`] with the file created with Unix permissions `mode` (less the umask).
fn write_atomic_with_mode(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    #[cfg(not(unix))]
    let _ = mode;
    if path.is_dir() {
        return Err(write_error(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
        ));
    }
    let mut builder = tempfile::Builder::new();
    builder.prefix(".mdn-").suffix(".tmp");
    #[cfg(unix)]
    builder.permissions(std::os::unix::fs::PermissionsExt::from_mode(mode));
    let mut file = builder
        .tempfile_in(parent_dir(path))
        .map_err(|e| write_error(path, e))?;
    file.write_all(bytes).map_err(|e| write_error(path, e))?;
    file.as_file()
        .sync_all()
        .map_err(|e| write_error(path, e))?;
    file.persist(path).map_err(|e| write_error(path, e.error))?;
    Ok(())
}

/// Checks, before a long computation, that `path` can later be written: its directory
/// exists and accepts a new file, and `path` is not a directory. Creates nothing that stays.
///
/// # Errors
///
/// [`Error::Write`] naming `path`.
///
/// # Examples
///
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// assert!(mdn_train::io::check_writable(&dir.path().join("m.mdn")).is_ok());
/// assert!(mdn_train::io::check_writable(&dir.path().join("no/such/dir/m.mdn")).is_err());
/// ```
pub fn check_writable(path: &Path) -> Result<()> {
    if path.is_dir() {
        return Err(write_error(
            path,
            std::io::Error::new(std::io::ErrorKind::IsADirectory, "is a directory"),
        ));
    }
    tempfile::Builder::new()
        .prefix(".mdn-")
        .suffix(".tmp")
        .tempfile_in(parent_dir(path))
        .map(drop)
        .map_err(|e| write_error(path, e))
}

/// `path` with `suffix` appended to its file name: `model.mdn` -> `model.mdn.metrics.csv`.
///
/// # Examples
///
/// ```
/// use std::path::Path;
/// let p = mdn_train::io::with_suffix(Path::new("out/m.mdn"), ".metrics.csv");
/// assert_eq!(p, Path::new("out/m.mdn.metrics.csv"));
/// ```
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Reads a whole file, naming it in the error.
///
/// # Errors
///
/// [`Error::Read`].
///
/// # Examples
///
/// ```
/// assert!(mdn_train::io::read(std::path::Path::new("/no/such/file")).is_err());
/// ```
pub fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })
}
