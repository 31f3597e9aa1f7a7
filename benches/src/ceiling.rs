//! What a host can do at best with the work a query cannot avoid, measured rather than
//! taken from a data sheet: a floor under any code's time for one sample, against which
//! the one-sample speed target is checked.
//!
//! * **Multiply-adds.** mdn-core's bits fix each sum's order and round after every
//!   multiply and every add (no fused multiply-add; FORMAT.md section 5), so on x86_64's
//!   baseline (SSE2) a multiply-add is one lane of a 4-wide multiply and one of a 4-wide
//!   add. [`mul_add_sums`] has the shape of mdn-core's host kernel (blocks of 8 sums, one
//!   input broadcast to all of them; written out again here with [`BLOCKS`] blocks, so a
//!   change to the kernel's shape must be made here too) and does nothing else: 48
//!   independent sums, enough to hide the adds' latency and few enough for x86_64's 16
//!   registers, with the weights read from L1.
//! * **libm calls.** FORMAT.md fixes `expf` and `logf` as libm's, so each call a query
//!   needs costs at least libm's time per call when many independent calls overlap
//!   ([`EXP_INPUTS`] and [`LN_INPUTS`] of them at a time).
//!
//! Each is a measured rate, not a hardware limit: a cleverer schedule could beat it by a
//! little, so a target is out of reach only when the floor misses it by more than that.

/// Blocks of 8 sums: 12 of x86_64's 16 SSE2 registers.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_benches::ceiling::BLOCKS * 8, 48);
/// ```
pub const BLOCKS: usize = 6;

/// Inputs per call of [`mul_add_sums`].
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_benches::ceiling::weights().len(), mdn_benches::ceiling::COLUMNS);
/// ```
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
///
/// # Examples
///
/// ```
/// let column: mdn_benches::ceiling::Column = [[0.5; 8]; mdn_benches::ceiling::BLOCKS];
/// assert_eq!(column.as_flattened().len(), 48);
/// ```
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

/// Independent `expf` arguments per measurement: `-10 <= v < 0`, the range of a
/// log-sum-exp's `v - max`.
///
/// # Examples
///
/// ```
/// let v = mdn_benches::ceiling::EXP_INPUTS;
/// assert!(v.iter().all(|&v| (-10.0..0.0).contains(&v)));
/// ```
pub const EXP_INPUTS: [f32; 64] = spread(-10.0, 0.0);

/// Independent `logf` arguments per measurement: `0.5 <= v < 5.5`, the range of sigmas and
/// of a log-sum-exp's sum of five terms.
///
/// # Examples
///
/// ```
/// let v = mdn_benches::ceiling::LN_INPUTS;
/// assert!(v.iter().all(|&v| (0.5..5.5).contains(&v)));
/// ```
pub const LN_INPUTS: [f32; 64] = spread(0.5, 5.5);

/// 64 values from `from` upwards, spaced evenly below `to`.
const fn spread(from: f32, to: f32) -> [f32; 64] {
    let mut values = [0.0; 64];
    let mut i = 0;
    while i < 64 {
        values[i] = from + (to - from) * (i as f32 / 64.0);
        i += 1;
    }
    values
}
