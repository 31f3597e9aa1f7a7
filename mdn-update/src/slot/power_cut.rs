//! A flash over RAM that loses power at a chosen call: what the host tests and the QEMU
//! torn-write test cut updates with.

use embedded_storage::nor_flash::{
    ErrorType, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash, check_erase, check_read,
    check_write,
};

/// How [`PowerCutFlash`] treats erases and writes.
///
/// # Examples
///
/// See [`PowerCutFlash`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EraseModel {
    /// NOR flash: an erase sets bytes to `0xFF`, a write clears bits (AND) and may only
    /// program erased bytes.
    Nor,
    /// Storage without a working erase (or an erase that never reached these bytes): an
    /// erase changes nothing and a write replaces bytes, so every byte not yet written
    /// keeps its stale content.
    Stale,
}

/// Where the power fails: during flash call number `call` (0 for the first erase), after
/// its first `bytes` bytes took effect; every later call fails too.
///
/// # Examples
///
/// See [`PowerCutFlash`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    /// The call (erase or write, counted from 0) during which the power fails.
    pub call: usize,
    /// Bytes of that call that took effect (0: none; the call's length or more: all of
    /// it, then the power fails).
    pub bytes: usize,
}

/// What a [`PowerCutFlash`] call returns after the power failed, or on a misuse.
///
/// # Examples
///
/// ```
/// use embedded_storage::nor_flash::{NorFlashError, NorFlashErrorKind};
/// use mdn_update::slot::PowerCutError;
///
/// assert_eq!(PowerCutError::PowerCut.kind(), NorFlashErrorKind::Other);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PowerCutError {
    /// The power failed during or before this call.
    PowerCut,
    /// An unaligned or out-of-bounds call.
    Misuse(NorFlashErrorKind),
    /// A NOR write to bytes that were not erased (programming a unit twice).
    NotErased {
        /// The first such offset.
        offset: u32,
    },
}

impl NorFlashError for PowerCutError {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::Misuse(kind) => *kind,
            Self::PowerCut | Self::NotErased { .. } => NorFlashErrorKind::Other,
        }
    }
}

/// A flash device over a RAM buffer whose power fails at a chosen [`Cut`]: for testing
/// that an update cut off anywhere leaves a bootable device. Write unit `WRITE` bytes,
/// erase unit `ERASE` bytes, read unit 1.
///
/// # Examples
///
/// ```
/// use embedded_storage::nor_flash::NorFlash;
/// use mdn_update::slot::{Cut, EraseModel, PowerCutError, PowerCutFlash};
///
/// let mut memory = [0_u8; 64];
/// let cut = Cut { call: 1, bytes: 2 };
/// let mut flash = PowerCutFlash::<4, 32>::new(&mut memory, EraseModel::Nor, Some(cut));
/// flash.erase(0, 32)?; // call 0
/// assert_eq!(flash.write(0, &[1, 2, 3, 4]), Err(PowerCutError::PowerCut)); // call 1
/// assert_eq!(flash.memory()[..4], [1, 2, 0xFF, 0xFF]);
/// assert_eq!(flash.calls(), 2);
/// # Ok::<(), PowerCutError>(())
/// ```
#[derive(Debug)]
pub struct PowerCutFlash<'a, const WRITE: usize, const ERASE: usize> {
    memory: &'a mut [u8],
    model: EraseModel,
    cut: Option<Cut>,
    calls: usize,
}

impl<'a, const WRITE: usize, const ERASE: usize> PowerCutFlash<'a, WRITE, ERASE> {
    /// A flash over `memory` (its capacity is `memory.len()`), cut at `cut` (`None`: never).
    ///
    /// # Examples
    ///
    /// See [`PowerCutFlash`].
    pub fn new(memory: &'a mut [u8], model: EraseModel, cut: Option<Cut>) -> Self {
        Self {
            memory,
            model,
            cut,
            calls: 0,
        }
    }

    /// The flash's bytes.
    ///
    /// # Examples
    ///
    /// See [`PowerCutFlash`].
    pub fn memory(&self) -> &[u8] {
        self.memory
    }

    /// Erase and write calls made so far, the failed ones included: run an update once
    /// without a cut to learn how many calls there are to cut.
    ///
    /// # Examples
    ///
    /// See [`PowerCutFlash`].
    pub fn calls(&self) -> usize {
        self.calls
    }

    /// How many bytes of a call of `len` bytes take effect, and whether power fails.
    fn budget(&mut self, len: usize) -> (usize, bool) {
        let call = self.calls;
        self.calls += 1;
        match self.cut {
            Some(cut) if call > cut.call => (0, true),
            Some(cut) if call == cut.call => (cut.bytes.min(len), true),
            _ => (len, false),
        }
    }
}

impl<const WRITE: usize, const ERASE: usize> ErrorType for PowerCutFlash<'_, WRITE, ERASE> {
    type Error = PowerCutError;
}

impl<const WRITE: usize, const ERASE: usize> ReadNorFlash for PowerCutFlash<'_, WRITE, ERASE> {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        check_read(self, offset, bytes.len()).map_err(PowerCutError::Misuse)?;
        if self.cut.is_some_and(|cut| self.calls > cut.call) {
            return Err(PowerCutError::PowerCut);
        }
        let start = offset as usize;
        bytes.copy_from_slice(&self.memory[start..start + bytes.len()]);
        Ok(())
    }

    fn capacity(&self) -> usize {
        self.memory.len()
    }
}

impl<const WRITE: usize, const ERASE: usize> NorFlash for PowerCutFlash<'_, WRITE, ERASE> {
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = ERASE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        check_erase(self, from, to).map_err(PowerCutError::Misuse)?;
        let range = from as usize..to as usize;
        let (done, cut) = self.budget(range.len());
        if self.model == EraseModel::Nor {
            self.memory[range.start..range.start + done].fill(0xFF);
        }
        if cut {
            return Err(PowerCutError::PowerCut);
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        check_write(self, offset, bytes.len()).map_err(PowerCutError::Misuse)?;
        let start = offset as usize;
        let target = &mut self.memory[start..start + bytes.len()];
        if self.model == EraseModel::Nor
            && let Some(i) = target.iter().position(|&b| b != 0xFF)
        {
            return Err(PowerCutError::NotErased {
                offset: offset + i as u32,
            });
        }
        let (done, cut) = self.budget(bytes.len());
        let target = &mut self.memory[start..start + done];
        for (old, &new) in target.iter_mut().zip(bytes) {
            *old = match self.model {
                EraseModel::Nor => *old & new,
                EraseModel::Stale => new,
            };
        }
        if cut {
            return Err(PowerCutError::PowerCut);
        }
        Ok(())
    }
}
