//! The most multiply-adds per second a host can do the way mdn-core must do them, measured
//! rather than taken from a data sheet: a bound on any kernel's time for a model's dense
//! sums, against which the one-sample speed target is checked.
//!
//! mdn-core's bits fix each sum's order and round after every multiply and every add (no
//! fused multiply-add; FORMAT.md section 5), so on x86_64's baseline (SSE2) a
//! multiply-add is one lane of a 4-wide multiply and one of a 4-wide add. [`mul_add_sums`]
//! is mdn-core's host kernel (blocks of 8 sums, one input broadcast to all of them) with
//! [`BLOCKS`] blocks: 48 independent sums, enough to hide the adds' latency and few enough
//! for x86_64's 16 registers, with the weights read from L1 like the kernel's. It does
//! nothing else, so no code computing such sums can go faster.

/// Blocks of 8 sums: 12 of x86_64's 16 SSE2 registers.
pub const BLOCKS: usize = 6;

/// Inputs per call.
pub const COLUMNS: usize = 64;

/// Multiply-adds per call of [`mul_add_sums`].
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_benches::ceiling::MULTIPLY_ADDS, 3072);
/// ```
pub const MULTIPLY_ADDS: usize = COLUMNS * BLOCKS * 8;

/// One input's weights: eight for each block.
pub type Column = [[f32; 8]; BLOCKS];

/// Weights for [`mul_add_sums`]: [`COLUMNS`] columns (12 KB, in L1).
///
/// # Examples
///
/// ```
/// let weights = mdn_benches::ceiling::weights();
/// assert_eq!((weights.len(), weights[1][0][0]), (64, 48e-6));
/// ```
pub fn weights() -> Vec<Column> {
    let weight = |c: usize, b: usize, r: usize| ((c * BLOCKS + b) * 8 + r) as f32 * 1e-6;
    (0..COLUMNS)
        .map(|c| core::array::from_fn(|b| core::array::from_fn(|r| weight(c, b, r))))
        .collect()
}

/// `acc[b][r] += w[c][b][r] * xs[c]` for each input `c`, each sum from `c = 0` upwards: the
/// kernel's work with nothing else. (Written with groups of four sums instead, the compiler
/// mixed the sums across registers and ran at an eighth of this speed.)
///
/// # Examples
///
/// ```
/// use mdn_benches::ceiling::{COLUMNS, mul_add_sums, weights};
/// let sums = mul_add_sums(&weights(), &[1.0; COLUMNS]);
/// assert_eq!(sums[0][0], (0..COLUMNS).map(|c| (c * 48) as f32 * 1e-6).sum::<f32>());
/// ```
pub fn mul_add_sums(weights: &[Column], xs: &[f32]) -> [[f32; 8]; BLOCKS] {
    let mut acc = [[0.0_f32; 8]; BLOCKS];
    for (column, &x) in weights.iter().zip(xs) {
        for (acc, w) in acc.iter_mut().zip(column) {
            for (a, w) in acc.iter_mut().zip(w) {
                *a += w * x;
            }
        }
    }
    acc
}
