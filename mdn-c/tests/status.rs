//! `mdn_status`: every mdn-core error kind has its own value, and `mdn_status_str` names
//! every value and any other int.

use std::ffi::CStr;

use mdn_c::{mdn_status, mdn_status_str};
use mdn_core::{Error, HostModel};

/// The variants of mdn-core's `Error`, read from its source: `Error` is `#[non_exhaustive]`,
/// so the mapping's `match` needs a wildcard and cannot fail to compile when a variant is
/// added; this test fails instead.
fn core_error_variants() -> Vec<String> {
    let source = include_str!("../../mdn-core/src/error.rs");
    let body = source
        .split("pub enum Error {")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .expect("mdn-core/src/error.rs declares `pub enum Error`");
    body.lines()
        .filter(|line| line.starts_with("    ") && !line.starts_with("     "))
        .map(str::trim)
        .filter(|line| line.chars().next().is_some_and(char::is_uppercase))
        .map(|line| {
            line.split(|c: char| !c.is_alphanumeric())
                .next()
                .unwrap()
                .to_owned()
        })
        .collect()
}

#[test]
fn every_core_error_is_mapped() {
    let mapping = include_str!("../src/status.rs");
    let variants = core_error_variants();
    assert!(variants.len() >= 30, "parsed {variants:?}");
    for variant in variants {
        assert!(
            mapping.contains(&format!("Error::{variant} ")),
            "mdn_core::Error::{variant} has no mdn_status: add one (append-only) in \
             mdn-c/src/status.rs"
        );
    }
}

#[test]
fn core_errors_map_to_distinct_statuses() {
    let samples = [
        Error::BadMagic,
        Error::NonFiniteInput,
        Error::InputLength {
            expected: 1,
            found: 2,
        },
        Error::InvalidProbability,
    ];
    let statuses: Vec<mdn_status> = samples.iter().map(|&e| e.into()).collect();
    assert_eq!(
        statuses,
        [
            mdn_status::MDN_ERROR_BAD_MAGIC,
            mdn_status::MDN_ERROR_NON_FINITE_INPUT,
            mdn_status::MDN_ERROR_INPUT_LENGTH,
            mdn_status::MDN_ERROR_INVALID_PROBABILITY
        ]
    );
    let refused = HostModel::from_bytes(b"nope").unwrap_err();
    assert_eq!(mdn_status::from(refused), mdn_status::MDN_ERROR_BAD_MAGIC);
}

#[test]
fn status_strings_cover_every_value_and_any_int() {
    let text = |status: i32| {
        // SAFETY: mdn_status_str returns a static, NUL-terminated string for any int.
        unsafe { CStr::from_ptr(mdn_status_str(status)) }
            .to_str()
            .unwrap()
            .to_owned()
    };
    let header = include_str!("../include/mdn.h");
    let values: Vec<i32> = header
        .lines()
        .filter_map(|line| line.trim().strip_prefix("MDN_"))
        .filter_map(|line| line.split(" = ").nth(1))
        .map(|value| value.trim_end_matches(',').parse().unwrap())
        .collect();
    assert!(values.len() >= 41, "{values:?}");
    for value in values {
        assert_ne!(text(value), "unknown mdn_status value", "status {value}");
    }
    for value in [-1, 5, 29, 53, 1000, i32::MIN, i32::MAX] {
        assert_eq!(text(value), "unknown mdn_status value");
    }
    assert_eq!(text(0), "ok");
}
