//! The streaming validator's pieces that lean on postcard, held to postcard.

use super::HEADER_BUFFER_LEN;
use crate::header::{LengthPrefix, ShapeRepr, USIZE_VARINT_MAX};

/// postcard's decoding of a string: its length, or `None` when it fails.
fn str_length(bytes: &[u8]) -> Option<usize> {
    postcard::take_from_bytes::<&str>(bytes)
        .ok()
        .map(|(s, _)| s.len())
}

#[test]
fn length_prefix_reads_lengths_as_postcard_reads_strings() {
    // Canonical and overlong varints, up to and past the most bytes postcard reads,
    // and last bytes over the limit of the last position.
    let mut varints: heapless::Vec<heapless::Vec<u8, 16>, 64> = heapless::Vec::new();
    for value in [0_u8, 1, 3, 0x7F] {
        for extra in 0..12 {
            let mut v = heapless::Vec::new();
            let _ = v.push(value | if extra > 0 { 0x80 } else { 0 });
            for i in 0..extra {
                let last = i + 1 == extra;
                let _ = v.push(if last { 0x00 } else { 0x80 });
            }
            let _ = varints.push(v);
        }
    }
    for last in [0x01_u8, 0x02, 0x0F, 0x10, 0x7F] {
        let mut v: heapless::Vec<u8, 16> = heapless::Vec::new();
        for _ in 0..USIZE_VARINT_MAX - 1 {
            let _ = v.push(0x80);
        }
        let _ = v.push(last);
        let _ = varints.push(v);
    }
    for varint in &varints {
        let length = postcard::take_from_bytes::<LengthPrefix>(varint)
            .ok()
            .map(|(LengthPrefix(n), rest)| (n, varint.len() - rest.len()));
        // Followed by that many ASCII bytes, the string decodes to that length.
        let mut string = [b'a'; 200];
        string[..varint.len()].copy_from_slice(varint);
        match length {
            Some((n, used)) if n + used <= string.len() => {
                assert_eq!(str_length(&string[..used + n]), Some(n), "{varint:?}");
            }
            Some(_) => {}
            None => assert_eq!(str_length(&string), None, "{varint:?}"),
        }
    }
}

#[test]
fn the_header_buffer_holds_the_longest_acceptable_fields() {
    // Every varint at its most bytes (overlong), every list at its longest.
    let mut bytes: heapless::Vec<u8, 128> = heapless::Vec::new();
    let varint = |bytes: &mut heapless::Vec<u8, 128>, value: u8, len: usize| {
        for _ in 1..len {
            let _ = bytes.push(0x80 | value);
        }
        let _ = bytes.push(0);
    };
    for _ in 0..4 {
        varint(&mut bytes, 1, 5);
    }
    let _ = bytes.push(0x80 | crate::MAX_HIDDEN_LAYERS as u8);
    for _ in 2..USIZE_VARINT_MAX {
        let _ = bytes.push(0x80);
    }
    let _ = bytes.push(0);
    for _ in 0..crate::MAX_HIDDEN_LAYERS {
        varint(&mut bytes, 1, 5);
    }
    let _ = bytes.push(0x80 | crate::MAX_DENSE_LAYERS as u8);
    for _ in 2..USIZE_VARINT_MAX {
        let _ = bytes.push(0x80);
    }
    let _ = bytes.push(0);
    for _ in 0..crate::MAX_DENSE_LAYERS {
        let _ = bytes.push(0);
    }
    let _ = bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(bytes.len(), HEADER_BUFFER_LEN);
    let (shape, rest) = postcard::take_from_bytes::<ShapeRepr<&[u8]>>(&bytes).expect("decodes");
    assert!(rest.is_empty());
    let header = shape.into_header("", "").expect("valid codes");
    assert_eq!(header.hidden.len(), crate::MAX_HIDDEN_LAYERS);
    assert_eq!(header.storage.len(), crate::MAX_DENSE_LAYERS);
}

#[test]
fn the_state_is_small() {
    // 576 bytes on a 64-bit host (usize fields of 8 bytes, a 96-byte buffer), measured
    // 368 on thumbv7em-none-eabihf.
    let size = core::mem::size_of::<super::StreamValidator>();
    assert!(size <= 576, "{size} bytes");
}
