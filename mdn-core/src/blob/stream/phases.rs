//! The phases of a blob as it streams: prefix, header fields, names, padding, parameter
//! words, trailer; each takes the bytes that are its own and checks them.

use super::{LayerCursor, Name, Phase, StreamValidator};
use crate::{
    blob::{
        FORMAT_VERSION, MAGIC, PREFIX_LEN, TRAILER_LEN, align4,
        check::{is_finite, is_positive},
        from_word,
    },
    error::{Dimension, Error, Result},
    header::{LengthPrefix, ShapeRepr, Storage, USIZE_VARINT_MAX},
    layout::Layout,
};

impl StreamValidator {
    /// Where the bytes before the trailer end (the declared length is known).
    fn body_end(&self) -> usize {
        self.declared.saturating_sub(TRAILER_LEN)
    }

    /// Takes `chunk`, phase after phase.
    pub(super) fn take(&mut self, mut chunk: &[u8]) -> Result<()> {
        let after = self.received.saturating_add(chunk.len());
        if self.phase != Phase::Prefix && after > self.declared {
            return Err(Error::TrailingBytes {
                expected: self.declared,
                found: after,
            });
        }
        if after > self.slot_len {
            return Err(Error::BufferTooSmall {
                expected: after,
                found: self.slot_len,
            });
        }
        while !chunk.is_empty() {
            let phase = self.phase;
            let taken = match phase {
                Phase::Prefix => self.prefix(chunk)?,
                Phase::Shape => self.shape(chunk)?,
                Phase::NameLength(name) => self.name_length(chunk, name)?,
                Phase::NameBytes {
                    name,
                    left,
                    separators,
                } => self.name_bytes(chunk, name, left, separators)?,
                Phase::Padding { left } => self.padding(chunk, left)?,
                Phase::Parameters { word } => self.parameters(chunk, word)?,
                Phase::Trailer => self.trailer(chunk)?,
                Phase::Done => {
                    return Err(Error::TrailingBytes {
                        expected: self.declared,
                        found: self.received.saturating_add(chunk.len()),
                    });
                }
            };
            if taken == 0 && self.phase == phase {
                // Every phase takes a byte or moves on; this keeps a mistake from looping.
                return Err(Error::HeaderDecode);
            }
            chunk = chunk.get(taken..).unwrap_or(&[]);
        }
        Ok(())
    }

    /// Counts `bytes`, the next of the blob, as received, and hashes them (every byte before
    /// the trailer). Out of line: one copy of the CRC loop for every phase.
    #[inline(never)]
    fn advance(&mut self, bytes: &[u8]) {
        if self.phase != Phase::Trailer {
            self.crc.update(bytes);
        }
        self.received += bytes.len();
    }

    /// Gathers `chunk`'s first bytes in the buffer, up to `limit` buffered bytes and the
    /// end of the header's room (the bytes before the trailer), and counts them as received;
    /// returns the bytes buffered before.
    fn gather(&mut self, chunk: &[u8], limit: usize) -> Result<usize> {
        let room = self.body_end().saturating_sub(self.received);
        if room == 0 {
            // The header runs into the trailer: `from_bytes` decodes it from the bytes
            // before the trailer and runs out.
            return Err(Error::HeaderDecode);
        }
        let count = chunk
            .len()
            .min(room)
            .min(limit.saturating_sub(self.buffered));
        let before = self.buffered;
        let target = self.buffer.get_mut(before..before + count);
        let source = chunk.get(..count);
        if let (Some(target), Some(source)) = (target, source) {
            target.copy_from_slice(source);
        }
        self.buffered += count;
        Ok(before)
    }

    /// Bytes of the buffer after a decoded value of `rest` bytes that were not the value's
    /// after all: they are not received yet, and the CRC has not seen them (the caller
    /// hashes only what the value took).
    fn settle(&mut self, chunk: &[u8], before: usize, rest: usize) -> usize {
        let used = self.buffered.saturating_sub(rest).saturating_sub(before);
        self.advance(chunk.get(..used).unwrap_or(chunk));
        self.buffered = 0;
        used
    }

    fn prefix(&mut self, chunk: &[u8]) -> Result<usize> {
        let count = chunk.len().min(PREFIX_LEN - self.buffered);
        for (at, &byte) in (self.buffered..).zip(chunk.iter().take(count)) {
            if MAGIC.get(at).is_some_and(|&m| m != byte) {
                return Err(Error::BadMagic);
            }
            if let Some(slot) = self.buffer.get_mut(at) {
                *slot = byte;
            }
        }
        self.buffered += count;
        let [_, _, _, _, v0, v1, l0, l1, l2, l3, ..] = self.buffer;
        if self.buffered >= 6 {
            let version = u16::from_le_bytes([v0, v1]);
            if version != FORMAT_VERSION {
                return Err(Error::UnsupportedVersion { found: version });
            }
        }
        if self.buffered == PREFIX_LEN {
            let declared = u32::from_le_bytes([l0, l1, l2, l3]);
            let declared_len = usize::try_from(declared).map_err(|_| Error::SizeOverflow)?;
            if declared_len < PREFIX_LEN + TRAILER_LEN {
                return Err(Error::InvalidLength { declared });
            }
            if declared_len > self.slot_len {
                return Err(Error::BufferTooSmall {
                    expected: declared_len,
                    found: self.slot_len,
                });
            }
            // `take` checked the chunk against the slot; now it can against the blob.
            let after = self.received.saturating_add(chunk.len());
            if after > declared_len {
                return Err(Error::TrailingBytes {
                    expected: declared_len,
                    found: after,
                });
            }
            self.declared = declared_len;
            self.buffered = 0;
            self.advance(chunk.get(..count).unwrap_or(chunk));
            self.phase = Phase::Shape;
        } else {
            self.advance(chunk.get(..count).unwrap_or(chunk));
        }
        Ok(count)
    }

    /// The header's fields before the names: decoded by postcard from the buffer once they
    /// are all in, then checked as far as they go without the names.
    fn shape(&mut self, chunk: &[u8]) -> Result<usize> {
        let before = self.gather(chunk, super::HEADER_BUFFER_LEN)?;
        let gathered = self.buffer.get(..self.buffered).unwrap_or(&[]);
        let (shape, rest) = match postcard::take_from_bytes::<ShapeRepr<&[u8]>>(gathered) {
            Ok(decoded) => decoded,
            Err(postcard::Error::DeserializeUnexpectedEnd)
                if self.buffered < super::HEADER_BUFFER_LEN =>
            {
                let used = self.buffered - before;
                self.advance(chunk.get(..used).unwrap_or(chunk));
                return Ok(used);
            }
            // Full and still short, or not a header: no header `from_bytes` accepts
            // starts so.
            Err(_) => return Err(Error::HeaderDecode),
        };
        let rest = rest.len();
        let header = shape.into_header("", "")?;
        let layout = Layout::new(&header)?;
        if let Some(max) = self.capacities {
            header.capacities()?.fits(&max)?;
        }
        self.header = Some(header);
        self.layout = Some(layout);
        // Bytes of this chunk after the fields belong to the names: not taken here.
        let used = self.settle(chunk, before, rest);
        self.phase = Phase::NameLength(Name::Features);
        Ok(used)
    }

    /// A name's length: a postcard varint, decoded by postcard once complete.
    fn name_length(&mut self, chunk: &[u8], name: Name) -> Result<usize> {
        let before = self.gather(chunk, USIZE_VARINT_MAX)?;
        let gathered = self.buffer.get(..self.buffered).unwrap_or(&[]);
        let (LengthPrefix(len), rest) = match postcard::take_from_bytes::<LengthPrefix>(gathered) {
            Ok(decoded) => decoded,
            Err(postcard::Error::DeserializeUnexpectedEnd) if self.buffered < USIZE_VARINT_MAX => {
                let used = self.buffered - before;
                self.advance(chunk.get(..used).unwrap_or(chunk));
                return Ok(used);
            }
            Err(_) => return Err(Error::HeaderDecode),
        };
        let rest = rest.len();
        let used = self.settle(chunk, before, rest);
        if len > self.body_end().saturating_sub(self.received) {
            // The name would run into the trailer: postcard runs out of bytes.
            return Err(Error::HeaderDecode);
        }
        self.phase = Phase::NameBytes {
            name,
            left: len,
            separators: 0,
        };
        if len == 0 {
            self.name_done(name, 1)?;
        }
        Ok(used)
    }

    /// A name's bytes: UTF-8 as `core::str::from_utf8` (postcard's check) sees it, and its
    /// separators counted as [`Names::len`](crate::Names::len) counts them.
    fn name_bytes(
        &mut self,
        chunk: &[u8],
        name: Name,
        left: usize,
        mut separators: usize,
    ) -> Result<usize> {
        let (bytes, _) = chunk.split_at_checked(left).unwrap_or((chunk, &[]));
        for &byte in bytes {
            separators += usize::from(byte == NAME_SEPARATOR_BYTE);
            let Some(slot) = self.utf8.get_mut(self.utf8_len) else {
                return Err(Error::HeaderDecode);
            };
            *slot = byte;
            self.utf8_len += 1;
            match core::str::from_utf8(self.utf8.get(..self.utf8_len).unwrap_or(&[])) {
                Ok(_) => self.utf8_len = 0,
                // The start of a character that may still complete.
                Err(e) if e.error_len().is_none() => {}
                Err(_) => return Err(Error::HeaderDecode),
            }
        }
        self.advance(bytes);
        let left = left - bytes.len();
        self.phase = Phase::NameBytes {
            name,
            left,
            separators,
        };
        if left == 0 {
            if self.utf8_len != 0 {
                return Err(Error::HeaderDecode);
            }
            self.name_done(name, separators + 1)?;
        }
        Ok(bytes.len())
    }

    /// A name is complete and holds `count` names: the next name, or the whole header.
    fn name_done(&mut self, name: Name, count: usize) -> Result<()> {
        match name {
            Name::Features => {
                self.feature_names = count;
                self.phase = Phase::NameLength(Name::Targets);
                Ok(())
            }
            Name::Targets => self.header_done(count),
        }
    }

    /// The header is complete (it ends at `received`): the header's own checks, then the
    /// parameter section's size against the declared length.
    fn header_done(&mut self, target_names: usize) -> Result<()> {
        let (Some(header), Some(layout)) = (&self.header, &self.layout) else {
            return Err(Error::HeaderDecode);
        };
        let features = self.feature_names;
        header.validate_counting_names(|what, _| match what {
            Dimension::Inputs => features,
            _ => target_names,
        })?;
        let parameters_start = align4(self.received);
        let body_end = self.body_end();
        // `Layout::new` checked that this product fits.
        let expected = layout.stored_count().wrapping_mul(4);
        let found = body_end.checked_sub(parameters_start);
        if found != Some(expected) {
            return Err(Error::ParameterSizeMismatch {
                expected,
                found: found.unwrap_or(0),
            });
        }
        self.phase = match parameters_start - self.received {
            0 => Phase::Parameters { word: 0 },
            left => Phase::Padding { left },
        };
        Ok(())
    }

    fn padding(&mut self, chunk: &[u8], left: usize) -> Result<usize> {
        let (padding, _) = chunk.split_at_checked(left).unwrap_or((chunk, &[]));
        if padding.iter().any(|&b| b != 0) {
            return Err(Error::NonZeroPadding);
        }
        self.advance(padding);
        self.phase = match left - padding.len() {
            0 => Phase::Parameters { word: 0 },
            left => Phase::Padding { left },
        };
        Ok(padding.len())
    }

    /// Parameter words, each checked as soon as its fourth byte is in.
    fn parameters(&mut self, chunk: &[u8], mut word: usize) -> Result<usize> {
        let words = self.layout.as_ref().map_or(0, Layout::stored_count);
        let mut rest = chunk;
        // A word begun in an earlier chunk, then whole words, then the start of the next.
        while self.buffered > 0 && word < words {
            let Some((&byte, tail)) = rest.split_first() else {
                break;
            };
            rest = tail;
            self.gather_word_byte(byte);
            if self.buffered == 4 {
                self.buffered = 0;
                let [a, b, c, d, ..] = self.buffer;
                // The word as it lies in memory, as `Blob::from_bytes` reads it.
                self.check_word(word, u32::from_ne_bytes([a, b, c, d]))?;
                word += 1;
            }
        }
        if self.buffered == 0 {
            let (whole, _) = rest.as_chunks::<4>();
            let whole = whole.get(..words - word).unwrap_or(whole);
            for &bytes in whole {
                self.check_word(word, u32::from_ne_bytes(bytes))?;
                word += 1;
            }
            rest = rest.get(whole.len() * 4..).unwrap_or(&[]);
            if word < words {
                for &byte in rest.iter().take(3) {
                    self.gather_word_byte(byte);
                }
                rest = rest.get(self.buffered..).unwrap_or(&[]);
            }
        }
        let taken = chunk.len() - rest.len();
        self.advance(chunk.get(..taken).unwrap_or(chunk));
        self.phase = match word < words {
            true => Phase::Parameters { word },
            false => Phase::Trailer,
        };
        Ok(taken)
    }

    /// Adds a byte of a parameter word to the buffer.
    fn gather_word_byte(&mut self, byte: u8) {
        if let Some(slot) = self.buffer.get_mut(self.buffered) {
            *slot = byte;
        }
        self.buffered += 1;
    }

    /// The checks of `Blob::from_bytes` on parameter word `index` (FORMAT.md section 4):
    /// finite as stored, positive where it scales, the network weights adding up to 1 once
    /// the last is in.
    fn check_word(&mut self, index: usize, word: u32) -> Result<()> {
        let Some(layout) = &self.layout else {
            return Err(Error::HeaderDecode);
        };
        let shared = layout.shared_words();
        if index < shared {
            if !is_finite(word, Storage::F32) {
                return Err(Error::NonFiniteParameter { index });
            }
            let [inputs, targets, calibration] = layout.shared_scale_ranges();
            let scale =
                inputs.contains(&index) || targets.contains(&index) || calibration.contains(&index);
            if scale && !is_positive(word) {
                return Err(Error::InvalidScale { index });
            }
            let weights = layout.network_weights_range();
            if weights.contains(&index) {
                self.weights.add(from_word(word));
                if index + 1 == weights.end && !self.weights.is_one() {
                    return Err(Error::InvalidNetworkWeights);
                }
            }
            return Ok(());
        }
        let layers = layout.storage().len();
        let mut cursor = match self.layer {
            Some(cursor) => cursor,
            None => LayerCursor {
                index: 0,
                start: shared,
                shape: layout.dense_layers().next().ok_or(Error::HeaderDecode)?,
            },
        };
        // Every layer has at least one row (no size is zero), so each takes words.
        while index >= cursor.start + cursor.shape.words() {
            cursor.start += cursor.shape.words();
            cursor.index = (cursor.index + 1) % layers.max(1);
            let next = layout.dense_layers().nth(cursor.index);
            cursor.shape = next.ok_or(Error::HeaderDecode)?;
        }
        self.layer = Some(cursor);
        let offset = index - cursor.start;
        let weights = cursor.shape.weight_words();
        let storage = match offset < weights {
            true => cursor.shape.storage,
            false => Storage::F32,
        };
        if !is_finite(word, storage) {
            return Err(Error::NonFiniteParameter { index });
        }
        let scales = weights..weights + cursor.shape.scale_words();
        if scales.contains(&offset) && !is_positive(word) {
            return Err(Error::InvalidScale { index });
        }
        Ok(())
    }

    /// The stored CRC, compared with the computed one once complete.
    fn trailer(&mut self, chunk: &[u8]) -> Result<usize> {
        let count = chunk.len().min(TRAILER_LEN - self.buffered);
        let target = self.buffer.get_mut(self.buffered..self.buffered + count);
        if let (Some(target), Some(source)) = (target, chunk.get(..count)) {
            target.copy_from_slice(source);
        }
        self.buffered += count;
        self.advance(chunk.get(..count).unwrap_or(chunk));
        if self.buffered == TRAILER_LEN {
            let [a, b, c, d, ..] = self.buffer;
            let stored = u32::from_le_bytes([a, b, c, d]);
            let computed = self.crc.finish();
            if stored != computed {
                return Err(Error::ChecksumMismatch { stored, computed });
            }
            self.buffered = 0;
            self.phase = Phase::Done;
        }
        Ok(count)
    }
}

/// [`NAME_SEPARATOR`](crate::NAME_SEPARATOR) as its one UTF-8 byte.
const NAME_SEPARATOR_BYTE: u8 = crate::NAME_SEPARATOR as u8;
