//! What both fuzz targets share: aligned storage for blob bytes, and "ask a model every
//! question mdn-core answers".
//!
//! mdn-core promises that no input panics: bytes are validated into a model or an `Error`,
//! and evaluation of a validated model is total. The targets only feed inputs; any panic
//! (or arithmetic overflow, which the fuzz profile checks) is a finding.

use core::convert::Infallible;

use arbitrary::Unstructured;
use mdn_core::{
    Blob, HostModel, Mixture, Model,
    rand_core::{TryRng, utils},
};

/// Capacities that fit every model the `structured` target builds.
pub type FitModel<'a> = Model<'a, 4, 16, 6, 3>;
/// Capacities smaller than many of those models, so `CapacityExceeded` is reached too.
pub type TightModel<'a> = Model<'a, 2, 8, 3, 2>;

/// Bytes in `u32` words, so that they start at a 4-byte-aligned address as mdn-core
/// requires (`Error::Misaligned` otherwise). The same pattern as `mdn-train`'s
/// `AlignedBytes`, without depending on the trainer.
#[derive(Debug, Clone)]
pub struct AlignedBytes {
    words: Vec<u32>,
    len: usize,
}

impl AlignedBytes {
    /// A copy of `bytes`.
    pub fn new(bytes: &[u8]) -> Self {
        let mut out = AlignedBytes {
            words: vec![0; bytes.len().div_ceil(4)],
            len: bytes.len(),
        };
        out.as_bytes_mut().copy_from_slice(bytes);
        out
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u32, u8>(&self.words)[..self.len]
    }

    /// The bytes, mutably.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        &mut bytemuck::cast_slice_mut::<u32, u8>(&mut self.words)[..self.len]
    }
}

/// A copy of `bytes` that starts one byte past a 4-byte boundary (for `Error::Misaligned`).
pub fn misaligned(bytes: &[u8]) -> (AlignedBytes, core::ops::Range<usize>) {
    let mut buffer = vec![0_u8; bytes.len() + 1];
    buffer[1..].copy_from_slice(bytes);
    (AlignedBytes::new(&buffer), 1..bytes.len() + 1)
}

/// Every check the blob layer offers, on any bytes.
pub fn parse_every_way(bytes: &[u8]) {
    if let Ok(blob) = Blob::from_bytes(bytes) {
        inspect_blob(&blob);
    }
    if let Ok((blob, rest)) = Blob::from_prefix(bytes) {
        inspect_blob(&blob);
        assert_eq!(blob.len() + rest.len(), bytes.len());
    }
    let (shifted, range) = misaligned(bytes);
    let _ = Blob::from_bytes(&shifted.as_bytes()[range.clone()]);
    let _ = Blob::from_prefix(&shifted.as_bytes()[range]);
}

/// What a caller can read from a valid blob without evaluating it.
fn inspect_blob(blob: &Blob<'_>) {
    let header = blob.header();
    header.validate().expect("a parsed header is valid");
    let layout = blob.layout().expect("a parsed blob has a layout");
    assert_eq!(layout.stored_count(), blob.parameters().len());
    assert_eq!(layout.parameter_count(), blob.parameter_values().len());
    for tensor in layout.tensors() {
        // `find` gives a shared tensor, or the first network's.
        if tensor.network.unwrap_or(0) == 0 {
            assert_eq!(layout.find(tensor.name), Some(tensor));
        }
        let _ = tensor.to_string();
    }
    assert!(blob.parameter_values().all(f32::is_finite));
    let _ = blob.required_capacities();
    let _ = (blob.crc(), header.feature_names.iter().count());
    let _ = header.target_names.position("y");
}

/// Query values drawn from fuzz input: raw bit patterns (NaN, infinities, subnormals) or
/// moderate numbers, so that both rejection and evaluation are reached.
#[derive(Debug, Clone, Default)]
pub struct Queries {
    /// Inputs, as many as given (the model's count decides whether they fit).
    pub x: Vec<f32>,
    /// Targets.
    pub y: Vec<f32>,
    /// A probability for quantiles and intervals (any value; `(0, 1)` is valid).
    pub p: f32,
    /// Temperature and sigma scale for tempered sampling.
    pub tempering: (f32, f32),
    /// Seed of the sampling generator.
    pub seed: u64,
}

/// One `f32`: half the time a moderate value, else any bit pattern.
pub fn value(u: &mut Unstructured<'_>) -> f32 {
    let raw = u.arbitrary::<u32>().unwrap_or(0);
    if u.arbitrary::<bool>().unwrap_or(true) {
        // A multiple of 1/64 in [-32, 32): inside the data range of any sane model.
        ((raw % 4096) as f32 - 2048.0) / 64.0
    } else {
        f32::from_bits(raw)
    }
}

impl Queries {
    /// Queries for a model with `inputs` features and `outputs` targets: the lengths fit
    /// most of the time, and are wrong (one more or one fewer) otherwise.
    pub fn draw(u: &mut Unstructured<'_>, inputs: usize, outputs: usize) -> Self {
        let mut length = |n: usize| -> usize {
            // Exhausted input gives 0: the right length.
            match u.int_in_range(0_u8..=15).unwrap_or(0) {
                14 => n + 1,
                15 => n.saturating_sub(1),
                _ => n,
            }
        };
        let (nx, ny) = (length(inputs), length(outputs));
        Queries {
            x: (0..nx).map(|_| value(u)).collect(),
            y: (0..ny).map(|_| value(u)).collect(),
            p: if u.arbitrary().unwrap_or(false) {
                value(u)
            } else {
                f32::from(u.arbitrary::<u16>().unwrap_or(0)) / 65536.0
            },
            tempering: (value(u), value(u)),
            seed: u.arbitrary().unwrap_or(0),
        }
    }
}

/// Asks `model` every question mdn-core answers. Results are checked for what is always
/// true of them (shapes, ranges); values themselves may be anything for odd models.
pub fn query_model<const I: usize, const W: usize, const K: usize, const D: usize>(
    model: &Model<'_, I, W, K, D>,
    q: &Queries,
) {
    let (x, y) = (&q.x[..], &q.y[..]);
    // Every network's components: the mixture's size.
    let components = (model.header().components * model.header().networks) as usize;
    // Every query of the model once; then the mixture's own queries on one forward pass.
    let _ = model.log_prob(x, y);
    let _ = model.prob(x, y);
    let _ = model.anomaly_score(x, y);
    let _ = model.mean(x);
    let _ = model.variance(x);
    let _ = model.cdf(x, y);
    let _ = model.quantile(x, q.p);
    let _ = model.interval(x, q.p);
    if let Ok(modes) = model.modes(x) {
        assert!(modes.len() <= components);
        let _ = (modes.highest(), modes.highest_index(), modes.as_slice());
    }
    let _ = model.entropy(x);
    query_batch(model, q);
    let Ok(mixture) = model.mixture(x) else {
        return;
    };
    assert_eq!(mixture.components(), components);
    assert_eq!(mixture.dims(), model.header().output_dim as usize);
    query_mixture(&mixture, q);
}

/// `log_prob_batch` over 1 to 17 copies of the query row (across the 16-row blocks of its
/// scratch), sometimes with an output one row longer, which regroups the same values into
/// other rows or fails; a batch that succeeds must give each row the bits of `log_prob` on
/// that row (any NaN equal to any NaN).
fn query_batch<const I: usize, const W: usize, const K: usize, const D: usize>(
    model: &Model<'_, I, W, K, D>,
    q: &Queries,
) {
    let rows = 1 + (q.seed % 17) as usize;
    let xs = q.x.repeat(rows);
    let ys = q.y.repeat(rows);
    let out_len = if q.seed & (1 << 20) == 0 {
        rows
    } else {
        rows + 1
    };
    let mut out = vec![0.0_f32; out_len];
    if model.log_prob_batch(&xs, &ys, &mut out).is_err() {
        return;
    }
    let (inputs, dims) = (xs.len() / out_len, ys.len() / out_len);
    let rows = xs.chunks_exact(inputs).zip(ys.chunks_exact(dims));
    for (value, (x, y)) in out.into_iter().zip(rows) {
        let single = model
            .log_prob(x, y)
            .expect("a row of a valid batch is a valid query");
        assert!(
            value.to_bits() == single.to_bits() || (value.is_nan() && single.is_nan()),
            "batch {value} vs single {single}"
        );
    }
}

/// Every query of a [`Mixture`] but modes and entropy (asked through the model), including
/// the two-mixture divergences (against itself and against a one-component mixture of the
/// same transform).
pub fn query_mixture<const K: usize, const D: usize>(mixture: &Mixture<K, D>, q: &Queries) {
    let y = &q.y[..];
    let _ = mixture.log_prob(y);
    let _ = mixture.prob(y);
    let _ = mixture.anomaly_score(y);
    if let Ok(cdf) = mixture.cdf(y) {
        assert!(cdf.iter().all(|c| !(*c > 1.0 || *c < 0.0)), "cdf {cdf:?}");
    }
    let _ = (mixture.mean(), mixture.variance(), mixture.std_dev());
    let _ = mixture.quantile(q.p);
    let _ = mixture.interval(q.p);
    let mut grid_out = [0.0_f32; 4];
    let grid = [q.p, q.tempering.0, q.tempering.1, 0.0];
    let _ = mixture.density_on_grid(&grid, &mut grid_out);
    let _ = mixture.density_on_grid(&grid, &mut grid_out[..3]);
    let _ = mixture.kl_divergence(mixture);
    let _ = mixture.hellinger_distance(mixture);
    let _ = mixture.total_variation_distance(mixture);
    if let Ok(other) = Mixture::<1, 1>::new(&[0.0], &[q.p], &[1.0], 1, mixture.transform()) {
        let _ = mixture.kl_divergence(&other);
        let _ = other.kl_divergence(mixture);
        let _ = mixture.hellinger_distance(&other);
        let _ = mixture.total_variation_distance(&other);
    }
    let _ = mixture.log_weights();
    for c in mixture.iter() {
        let _ = c.weight();
    }
    let _ = mixture.component(mixture.components());
    let mut rng = SplitMix(q.seed);
    assert_eq!(mixture.sample(&mut rng).len(), mixture.dims());
    let _ = mixture.sample_tempered(&mut rng, q.tempering.0, q.tempering.1);
}

/// Parses `bytes` as every evaluator type and queries what validates: every query through
/// [`HostModel`], and one density through the smaller evaluators (capacities never change
/// results, so repeating every query there would only slow the fuzzer down).
pub fn models_from_bytes(bytes: &[u8], q: &Queries) {
    if let Ok(model) = HostModel::from_bytes(bytes) {
        query_model(&model, q);
    }
    if let Ok(model) = FitModel::from_bytes(bytes) {
        let _ = model.log_prob(&q.x, &q.y);
    }
    if let Ok(model) = TightModel::from_bytes(bytes) {
        let _ = model.log_prob(&q.x, &q.y);
    }
}

/// SplitMix64, for the sampling queries.
#[derive(Debug, Clone)]
pub struct SplitMix(pub u64);

impl TryRng for SplitMix {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next_word() >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_word())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        utils::fill_bytes_via_next_word(dst, || self.try_next_u64())
    }
}

impl SplitMix {
    /// The next 64 bits.
    pub fn next_word(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
