//! Throwaway spike: a 1-32-32 ReLU MLP with a K = 5, D = 1 Gaussian mixture head, evaluated
//! from a runtime `&[u8]` in two ways, to measure what bounds checks cost.
//!
//! (a) [`log_prob_naive`] indexes the blob with `blob[i * 4..i * 4 + 4]` at every read.
//! (b) [`Network::split`] validates the blob once into per-layer `&[[u8; 4]]` slices;
//!     [`Network::log_prob`] then uses only iterators.

#![no_std]

/// 4-byte aligned storage for `include_bytes!`.
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);

/// The spike's weights (see build.rs): 1,615 f32 = 6,460 bytes.
pub static WEIGHTS: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(env!("OUT_DIR"), "/weights.bin")));

/// Hidden width.
pub const WIDTH: usize = 32;
/// Mixture components.
pub const K: usize = 5;
/// `(n_in, n_out)` per layer in blob order: hidden, hidden, logits, means, sigmas.
const LAYERS: [(usize, usize); 5] = [(1, WIDTH), (WIDTH, WIDTH), (WIDTH, K), (WIDTH, K), (WIDTH, K)];

/// `0.5 * ln(2 pi)` = 0.918938533204672741780329736406 (the Gaussian normaliser in log space).
const HALF_LN_2PI: f32 = 0.918_938_5;

/// ReLU without `f32::max`, which thumbv7em lowers to a call to `fmaxf` (no `vmaxnm` before
/// Armv8). NaN maps to 0.
#[inline(always)]
fn relu(v: f32) -> f32 {
    if v > 0.0 { v } else { 0.0 }
}

/// The largest element (the first NaN-free maximum; `f32::max` would call `fmaxf`).
#[inline(always)]
fn max_of(values: &[f32; K]) -> f32 {
    values[1..].iter().fold(values[0], |m, &v| if v > m { v } else { m })
}

/// `log p(y)` of the mixture given the head outputs.
#[inline(always)]
fn mixture_log_prob(logits: &[f32; K], means: &[f32; K], sigma_pre: &[f32; K], y: f32) -> f32 {
    let max = max_of(logits);
    let mut sum = 0.0;
    for &l in logits {
        sum += libm::expf(l - max);
    }
    let log_norm = max + libm::logf(sum);
    let mut comp = [0.0f32; K];
    for k in 0..K {
        let z = sigma_pre[k];
        // sigma = 1 + z for z > 0, exp(z) otherwise (continuous, C1, positive); ln(exp(z)) = z.
        let (sigma, ln_sigma) = if z > 0.0 { (1.0 + z, libm::logf(1.0 + z)) } else { (libm::expf(z), z) };
        let u = (y - means[k]) / sigma;
        comp[k] = (logits[k] - log_norm) - 0.5 * u * u - ln_sigma - HALF_LN_2PI;
    }
    let max = max_of(&comp);
    let mut sum = 0.0;
    for &c in &comp {
        sum += libm::expf(c - max);
    }
    max + libm::logf(sum)
}

// ----- (a) naive indexing ---------------------------------------------------------------------

fn read(blob: &[u8], index: usize) -> f32 {
    f32::from_le_bytes(blob[index * 4..index * 4 + 4].try_into().unwrap())
}

fn dense_naive(blob: &[u8], offset: usize, input: &[f32], out: &mut [f32], relu: bool) -> usize {
    let n_in = input.len();
    let bias = offset + out.len() * n_in;
    for o in 0..out.len() {
        let mut acc = 0.0;
        for i in 0..n_in {
            acc += read(blob, offset + o * n_in + i) * input[i];
        }
        let v = acc + read(blob, bias + o);
        out[o] = if relu { self::relu(v) } else { v };
    }
    bias + out.len()
}

/// (a) `log p(y | x)`, reading every weight with a checked `blob[i * 4..i * 4 + 4]`.
#[inline(never)]
pub fn log_prob_naive(blob: &[u8], x: f32, y: f32) -> f32 {
    let mut h1 = [0.0; WIDTH];
    let mut h2 = [0.0; WIDTH];
    let (mut logits, mut means, mut sigma_pre) = ([0.0; K], [0.0; K], [0.0; K]);
    let offset = dense_naive(blob, 0, &[x], &mut h1, true);
    let offset = dense_naive(blob, offset, &h1, &mut h2, true);
    let offset = dense_naive(blob, offset, &h2, &mut logits, false);
    let offset = dense_naive(blob, offset, &h2, &mut means, false);
    dense_naive(blob, offset, &h2, &mut sigma_pre, false);
    mixture_log_prob(&logits, &means, &sigma_pre, y)
}

// ----- (b) validate once, then iterate --------------------------------------------------------

/// One dense layer: `n_out` rows of `n_in` little-endian f32 weights, then `n_out` biases.
#[derive(Clone, Copy)]
pub struct Dense<'a> {
    weights: &'a [[u8; 4]],
    biases: &'a [[u8; 4]],
    n_in: usize,
}

impl<'a> Dense<'a> {
    fn take(words: &'a [[u8; 4]], n_in: usize, n_out: usize) -> Option<(Self, &'a [[u8; 4]])> {
        let (weights, rest) = words.split_at_checked(n_in.checked_mul(n_out)?)?;
        let (biases, rest) = rest.split_at_checked(n_out)?;
        Some((Self { weights, biases, n_in }, rest))
    }

    /// `out = W input + b` (lengths truncate to the layer's; the caller guarantees enough).
    #[inline(always)]
    fn forward(&self, input: &[f32], out: &mut [f32]) {
        // `chunks_exact(0)` panics; an early return lets LLVM drop that path.
        if KERNEL != "plain" && self.n_in == 0 {
            return;
        }
        for ((row, bias), o) in self.weights.chunks_exact(self.n_in).zip(self.biases).zip(out) {
            let acc = if KERNEL == "unroll4" { dot4(row, input) } else { dot(row, input) };
            *o = acc + f32::from_le_bytes(*bias);
        }
    }

    /// [`Self::forward`] with the input width a constant, so the row loop unrolls fully.
    #[inline(always)]
    fn forward_fixed<const N: usize>(&self, input: &[f32; N], out: &mut [f32]) {
        let (rows, _) = self.weights.as_chunks::<N>();
        for ((row, bias), o) in rows.iter().zip(self.biases).zip(out) {
            let mut acc = 0.0;
            for (w, x) in row.iter().zip(input) {
                acc += f32::from_le_bytes(*w) * x;
            }
            *o = acc + f32::from_le_bytes(*bias);
        }
    }
}

/// Kernel selected at build time: `plain` (as specified), `guard` (plus an `n_in == 0` early
/// return), `unroll4` (guard, and the dot product unrolled by 4 in the same summation order).
const KERNEL: &str = match option_env!("SPIKE_KERNEL") {
    Some(kernel) => kernel,
    None => "plain",
};

#[inline(always)]
fn dot(row: &[[u8; 4]], input: &[f32]) -> f32 {
    let mut acc = 0.0;
    for (w, x) in row.iter().zip(input) {
        acc += f32::from_le_bytes(*w) * x;
    }
    acc
}

/// [`dot`] unrolled by 4, accumulating in the same left-to-right order (same bits).
#[inline(always)]
fn dot4(row: &[[u8; 4]], input: &[f32]) -> f32 {
    let (w4, w_rest) = row.as_chunks::<4>();
    let (x4, _) = input.as_chunks::<4>();
    let mut acc = 0.0;
    for (w, x) in w4.iter().zip(x4) {
        acc += f32::from_le_bytes(w[0]) * x[0];
        acc += f32::from_le_bytes(w[1]) * x[1];
        acc += f32::from_le_bytes(w[2]) * x[2];
        acc += f32::from_le_bytes(w[3]) * x[3];
    }
    for (w, x) in w_rest.iter().zip(input.iter().skip(w4.len() * 4)) {
        acc += f32::from_le_bytes(*w) * x;
    }
    acc
}

/// The network's layers as sub-slices of the blob, validated once.
#[derive(Clone, Copy)]
pub struct Network<'a> {
    layers: [Dense<'a>; 5],
}

impl<'a> Network<'a> {
    /// Splits `blob` into layers; `None` if its length is not exactly the network's.
    #[inline(never)]
    pub fn split(blob: &'a [u8]) -> Option<Self> {
        let (mut words, rest) = blob.as_chunks::<4>();
        if !rest.is_empty() {
            return None;
        }
        let mut layers = [Dense { weights: &[], biases: &[], n_in: 1 }; 5];
        for (layer, (n_in, n_out)) in layers.iter_mut().zip(LAYERS) {
            (*layer, words) = Dense::take(words, n_in, n_out)?;
        }
        words.is_empty().then_some(Self { layers })
    }

    /// (b) `log p(y | x)` with iterators only.
    #[inline(never)]
    pub fn log_prob(&self, x: f32, y: f32) -> f32 {
        let [l1, l2, head_logits, head_means, head_sigmas] = &self.layers;
        let mut h1 = [0.0f32; WIDTH];
        let mut h2 = [0.0f32; WIDTH];
        let (mut logits, mut means, mut sigma_pre) = ([0.0; K], [0.0; K], [0.0; K]);
        l1.forward(&[x], &mut h1);
        h1.iter_mut().for_each(|h| *h = relu(*h));
        l2.forward(&h1, &mut h2);
        h2.iter_mut().for_each(|h| *h = relu(*h));
        head_logits.forward(&h2, &mut logits);
        head_means.forward(&h2, &mut means);
        head_sigmas.forward(&h2, &mut sigma_pre);
        mixture_log_prob(&logits, &means, &sigma_pre, y)
    }

    /// (c) `log p(y | x)` with the widths as constants (what const-generic shapes give).
    #[inline(never)]
    pub fn log_prob_fixed(&self, x: f32, y: f32) -> f32 {
        let [l1, l2, head_logits, head_means, head_sigmas] = &self.layers;
        let mut h1 = [0.0f32; WIDTH];
        let mut h2 = [0.0f32; WIDTH];
        let (mut logits, mut means, mut sigma_pre) = ([0.0; K], [0.0; K], [0.0; K]);
        l1.forward_fixed(&[x], &mut h1);
        h1.iter_mut().for_each(|h| *h = relu(*h));
        l2.forward_fixed(&h1, &mut h2);
        h2.iter_mut().for_each(|h| *h = relu(*h));
        head_logits.forward_fixed(&h2, &mut logits);
        head_means.forward_fixed(&h2, &mut means);
        head_sigmas.forward_fixed(&h2, &mut sigma_pre);
        mixture_log_prob(&logits, &means, &sigma_pre, y)
    }
}
