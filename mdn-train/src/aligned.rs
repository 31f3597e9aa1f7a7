//! Blob bytes in 4-byte-aligned storage.
//!
//! mdn-core reads parameters as aligned `u32` words in place, so it requires the parameter
//! section (and with it the whole blob) to be 4-byte aligned in memory. A `Vec<u8>` makes
//! no such promise; [`AlignedBytes`] keeps the bytes in a `Vec<u32>`.

use std::fmt;

/// Bytes stored in `u32` words, so that they start at a 4-byte-aligned address.
///
/// # Examples
///
/// ```
/// let bytes = mdn_train::aligned::AlignedBytes::from_slice(b"hello");
/// assert_eq!(bytes.as_bytes(), b"hello");
/// assert_eq!(bytes.as_bytes().as_ptr() as usize % 4, 0);
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AlignedBytes {
    words: Vec<u32>,
    len: usize,
}

impl AlignedBytes {
    /// `len` zero bytes.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_train::aligned::AlignedBytes::zeroed(3).as_bytes(), [0, 0, 0]);
    /// ```
    pub fn zeroed(len: usize) -> Self {
        AlignedBytes {
            words: vec![0; len.div_ceil(4)],
            len,
        }
    }

    /// A copy of `bytes`.
    ///
    /// # Examples
    ///
    /// See [`AlignedBytes`].
    pub fn from_slice(bytes: &[u8]) -> Self {
        let mut out = Self::zeroed(bytes.len());
        out.as_bytes_mut().copy_from_slice(bytes);
        out
    }

    /// The bytes.
    ///
    /// # Examples
    ///
    /// See [`AlignedBytes`].
    pub fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.words)[..self.len]
    }

    /// The bytes, mutably.
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = mdn_train::aligned::AlignedBytes::zeroed(2);
    /// b.as_bytes_mut()[1] = 7;
    /// assert_eq!(b.as_bytes(), [0, 7]);
    /// ```
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut::<u32, u8>(&mut self.words)[..self.len]
    }

    /// Shortens to `len` bytes (no effect if already shorter).
    ///
    /// # Examples
    ///
    /// ```
    /// let mut b = mdn_train::aligned::AlignedBytes::from_slice(b"abc");
    /// b.truncate(1);
    /// assert_eq!(b.as_bytes(), b"a");
    /// ```
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

impl std::ops::Deref for AlignedBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl fmt::Debug for AlignedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AlignedBytes({} bytes)", self.len)
    }
}
