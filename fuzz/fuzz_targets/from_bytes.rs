//! Raw bytes into every parser of mdn-core, then every query on what validates.
//!
//! The input is a blob, possibly followed by more bytes: `from_bytes` sees all of it,
//! `from_prefix` takes the blob and hands the rest back, and the rest supplies the query
//! values (`x`, `y`, a probability, tempering, a sampling seed). For an exact blob the
//! queries come from its last bytes, which the CRC makes vary with every change.

#![no_main]

use arbitrary::Unstructured;
use libfuzzer_sys::fuzz_target;
use mdn_core::{Blob, Header, HostModel};
use mdn_fuzz::{
    AlignedBytes, FitModel, Queries, TightModel, models_from_bytes, parse_every_way, query_model,
};

/// Bytes of an exact blob that seed its queries: the last parameters and the CRC.
const QUERY_TAIL: usize = 64;

fn queries(header: &Header<'_>, source: &[u8]) -> Queries {
    let mut u = Unstructured::new(source);
    Queries::draw(
        &mut u,
        header.input_dim as usize,
        header.output_dim as usize,
    )
}

fuzz_target!(|data: &[u8]| {
    let storage = AlignedBytes::new(data);
    let bytes = storage.as_bytes();
    parse_every_way(bytes);

    if let Ok(blob) = Blob::from_bytes(bytes) {
        let q = queries(
            blob.header(),
            &bytes[bytes.len().saturating_sub(QUERY_TAIL)..],
        );
        models_from_bytes(bytes, &q);
    }
    if let Ok((model, rest)) = HostModel::from_prefix(bytes) {
        query_model(&model, &queries(model.header(), rest));
    }
    if let Ok((model, rest)) = FitModel::from_prefix(bytes) {
        let q = queries(model.header(), rest);
        let _ = model.log_prob(&q.x, &q.y);
    }
    if let Ok((model, rest)) = TightModel::from_prefix(bytes) {
        let q = queries(model.header(), rest);
        let _ = model.log_prob(&q.x, &q.y);
    }
});
