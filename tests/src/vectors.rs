//! Parity vectors: queries with expected outcomes, as bytes a device can read without a heap.
//!
//! The host writes a vector file with [`VectorWriter`] (feature `std`), filling each expected
//! outcome by running [`evaluate`] with mdn-core on x86_64. The firmware embeds the file,
//! runs the *same* [`evaluate`] on the device for every record, and compares with
//! [`outcomes_match`]. One function decides what a query computes, on both sides.
//!
//! # File format (version 1, all integers and floats little-endian)
//!
//! ```text
//! "MDNV"  u16 version = 1  u32 record count
//! record: u8 op  u8 n_x  u8 n_y  u8 n_out
//!         n_x f32 (x)  n_y f32 (y or other arguments)  n_out u32 (expected outcome)
//! ```
//!
//! An outcome is `n_out` words: word 0 is the status (0 for success, else
//! [`error_code`] of the error), the rest are `f32::to_bits` of the results (zero after an
//! error). Operations ([`Op`]) and their outcome lengths:
//!
//! | op | code | arguments | results |
//! |---|---|---|---|
//! | `LogProb` | 1 | x, y | `log p(y\|x)` |
//! | `Prob` | 2 | x, y | `p(y\|x)` |
//! | `Mean` | 3 | x | `D` means |
//! | `StdDev` | 4 | x | `D` standard deviations |
//! | `Mixture` | 5 | x | `K` log weights, `K*D` means, `K*D` sigmas |
//! | `Cdf` | 6 | x, y | `D` marginal CDF values |
//! | `Quantile` | 7 | x, `[p]` | the `p` quantile |
//! | `Interval` | 8 | x, `[level]` | lower, upper |
//! | `Modes` | 9 | x | count `n`, index of the highest (NaN if none), `n` locations, `n` densities |
//! | `Sample` | 10 | x, `[temperature, sigma_scale, seed]` | [`SAMPLE_DRAWS`] draws of `D` values, from [`ParityRng`] seeded with `seed` (an integer-valued `f32`) |
//! | `Entropy` | 11 | x | differential entropy |
//! | `KlDivergence` | 12 | `x1 ++ x2` (halves) | `KL(p(.\|x1) \|\| p(.\|x2))` |
//! | `Hellinger` | 13 | `x1 ++ x2` | Hellinger distance |
//! | `TotalVariation` | 14 | `x1 ++ x2` | total-variation distance |
//! | `AnomalyScore` | 15 | x, y | `-log p(y\|x)` |
//! | `Expf` .. `Sqrtf`, `Erfcf`, `Sinf`, `Cosf` | 16..24 | one value | the libm function's output |
//! | `Erff` | 25 | one value | `libm::erff`'s output |
//! | `DensityOnGrid` | 32 | x, grid | the density at each grid point |
//! | `Crps` | 33 | x, y | `D` marginal CRPS values |
//!
//! Codes 16..=31 are for raw libm functions. Counts and indices are written as `f32`
//! (exact below 2^24). New queries get new op codes; old files stay valid.

use core::convert::Infallible;

use mdn_core::{Error, Model, rand_core::TryRng};

/// Magic bytes of a vector file.
pub const VECTOR_MAGIC: [u8; 4] = *b"MDNV";
/// Version of the vector file format.
pub const VECTOR_VERSION: u16 = 1;
/// The most words an outcome may have.
pub const MAX_OUTCOME: usize = 255;

/// Draws per `Sample` record.
pub const SAMPLE_DRAWS: usize = 4;

/// Capacities of the firmware's parity binary: every parity model must fit them.
pub type ParityModel<'a> = Model<'a, 16, 64, 8, 4>;

/// Bytes of each slot of the firmware's flash partition (a model blob, its vectors), so a
/// blob or vector file for the partition may be at most this long.
pub const PARTITION_SLOT_BYTES: usize = 0x0004_0000;

/// A query kind.
///
/// # Examples
///
/// ```
/// use mdn_tests::vectors::Op;
/// assert_eq!(Op::try_from(1), Ok(Op::LogProb));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Op {
    /// `Model::log_prob(x, y)`.
    LogProb = 1,
    /// `Model::prob(x, y)`.
    Prob = 2,
    /// `Model::mean(x)`.
    Mean = 3,
    /// `Mixture::std_dev` of `Model::mixture(x)`.
    StdDev = 4,
    /// Every parameter of `Model::mixture(x)`.
    Mixture = 5,
    /// `Model::cdf(x, y)`.
    Cdf = 6,
    /// `Model::quantile(x, y[0])`.
    Quantile = 7,
    /// `Model::interval(x, y[0])`.
    Interval = 8,
    /// `Model::modes(x)`.
    Modes = 9,
    /// `Mixture::sample_tempered` of `Model::mixture(x)`, [`SAMPLE_DRAWS`] times.
    Sample = 10,
    /// `Model::entropy(x)`.
    Entropy = 11,
    /// `Mixture::kl_divergence` between the mixtures at the two halves of `x`.
    KlDivergence = 12,
    /// `Mixture::hellinger_distance` between the mixtures at the two halves of `x`.
    Hellinger = 13,
    /// `Mixture::total_variation_distance` between the mixtures at the two halves of `x`.
    TotalVariation = 14,
    /// `Model::anomaly_score(x, y)`.
    AnomalyScore = 15,
    /// `libm::expf(y[0])`.
    Expf = 16,
    /// `libm::logf(y[0])`.
    Logf = 17,
    /// `libm::log1pf(y[0])`.
    Log1pf = 18,
    /// `libm::expm1f(y[0])`.
    Expm1f = 19,
    /// `libm::tanhf(y[0])`.
    Tanhf = 20,
    /// `libm::sqrtf(y[0])`.
    Sqrtf = 21,
    /// `libm::erfcf(y[0])`.
    Erfcf = 22,
    /// `libm::sinf(y[0])`.
    Sinf = 23,
    /// `libm::cosf(y[0])`.
    Cosf = 24,
    /// `libm::erff(y[0])`.
    Erff = 25,
    /// `Mixture::density_on_grid` of `Model::mixture(x)` over the grid `y`.
    DensityOnGrid = 32,
    /// `Model::crps(x, y)`.
    Crps = 33,
}

impl TryFrom<u8> for Op {
    type Error = VectorError;

    fn try_from(code: u8) -> Result<Self, VectorError> {
        Ok(match code {
            1 => Op::LogProb,
            2 => Op::Prob,
            3 => Op::Mean,
            4 => Op::StdDev,
            5 => Op::Mixture,
            6 => Op::Cdf,
            7 => Op::Quantile,
            8 => Op::Interval,
            9 => Op::Modes,
            10 => Op::Sample,
            11 => Op::Entropy,
            12 => Op::KlDivergence,
            13 => Op::Hellinger,
            14 => Op::TotalVariation,
            15 => Op::AnomalyScore,
            16 => Op::Expf,
            17 => Op::Logf,
            18 => Op::Log1pf,
            19 => Op::Expm1f,
            20 => Op::Tanhf,
            21 => Op::Sqrtf,
            22 => Op::Erfcf,
            23 => Op::Sinf,
            24 => Op::Cosf,
            25 => Op::Erff,
            32 => Op::DensityOnGrid,
            33 => Op::Crps,
            _ => return Err(VectorError::UnknownOp(code)),
        })
    }
}

/// A malformed vector file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum VectorError {
    /// The file does not start with [`VECTOR_MAGIC`] and [`VECTOR_VERSION`].
    BadHeader,
    /// The file ends inside a record.
    Truncated,
    /// A record has an unknown op code.
    UnknownOp(u8),
}

/// The stable status code of a query error, shared by host and device.
///
/// # Examples
///
/// ```
/// use mdn_core::Error;
/// assert_eq!(mdn_tests::vectors::error_code(&Error::NonFiniteInput), 3);
/// ```
pub fn error_code(error: &Error) -> u32 {
    match error {
        Error::InputLength { .. } => 1,
        Error::TargetLength { .. } => 2,
        Error::NonFiniteInput => 3,
        Error::NonFiniteTarget => 4,
        Error::InvalidProbability => 5,
        Error::NotUnivariate { .. } => 6,
        Error::InvalidTemperature => 7,
        Error::InvalidSigmaScale => 8,
        Error::TransformMismatch => 9,
        Error::OutputLength { .. } => 10,
        _ => 255,
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014) as a `rand_core` generator: the fixed-seed
/// generator of `Sample` records, so host and device draw the same numbers.
///
/// `next_u32` is the high half of `next_u64`.
///
/// # Examples
///
/// ```
/// use mdn_core::rand_core::Rng;
/// let mut rng = mdn_tests::vectors::ParityRng::new(0);
/// assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
/// ```
#[derive(Debug, Clone)]
pub struct ParityRng(u64);

impl ParityRng {
    /// A generator with the given seed.
    pub fn new(seed: u64) -> Self {
        ParityRng(seed)
    }
}

impl TryRng for ParityRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.try_next_u64().map(|v| (v >> 32) as u32)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Ok(z ^ (z >> 31))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        mdn_core::rand_core::utils::fill_bytes_via_next_word(dst, || self.try_next_u64())
    }
}

/// One record of a vector file.
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    /// The query.
    pub op: Op,
    /// Input features as `f32` words.
    pub x: &'a [[u8; 4]],
    /// Target, or the argument of a libm op.
    pub y: &'a [[u8; 4]],
    /// The expected outcome.
    pub expected: &'a [[u8; 4]],
}

/// Reads the records of a vector file, in order.
///
/// # Errors
///
/// [`VectorError::BadHeader`] for a wrong magic or version; the iterator then yields
/// [`VectorError`]s for malformed records.
///
/// # Examples
///
/// ```
/// assert!(mdn_tests::vectors::records(b"nope").is_err());
/// ```
pub fn records(bytes: &[u8]) -> Result<Records<'_>, VectorError> {
    let [m0, m1, m2, m3, v0, v1, c0, c1, c2, c3, rest @ ..] = bytes else {
        return Err(VectorError::BadHeader);
    };
    if [*m0, *m1, *m2, *m3] != VECTOR_MAGIC || u16::from_le_bytes([*v0, *v1]) != VECTOR_VERSION {
        return Err(VectorError::BadHeader);
    }
    Ok(Records {
        rest,
        remaining: u32::from_le_bytes([*c0, *c1, *c2, *c3]),
    })
}

/// Iterator over the records of a vector file (see [`records`]).
#[derive(Debug)]
pub struct Records<'a> {
    rest: &'a [u8],
    remaining: u32,
}

impl<'a> Records<'a> {
    fn words(&mut self, n: usize) -> Result<&'a [[u8; 4]], VectorError> {
        let (head, tail) = self
            .rest
            .split_at_checked(n * 4)
            .ok_or(VectorError::Truncated)?;
        self.rest = tail;
        Ok(head.as_chunks::<4>().0)
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, VectorError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let [op, n_x, n_y, n_out, tail @ ..] = self.rest else {
            self.remaining = 0;
            return Some(Err(VectorError::Truncated));
        };
        let (op, n_x, n_y, n_out) = (
            *op,
            usize::from(*n_x),
            usize::from(*n_y),
            usize::from(*n_out),
        );
        self.rest = tail;
        let record = (|| {
            Ok(Record {
                op: Op::try_from(op)?,
                x: self.words(n_x)?,
                y: self.words(n_y)?,
                expected: self.words(n_out)?,
            })
        })();
        if record.is_err() {
            self.remaining = 0;
        }
        Some(record)
    }
}

/// Fixed-capacity buffer for `f32` arguments read from a record.
type Args<const N: usize> = heapless::Vec<f32, N>;

fn floats<const N: usize>(words: &[[u8; 4]]) -> Args<N> {
    words
        .iter()
        .map(|w| f32::from_le_bytes(*w))
        .take(N)
        .collect()
}

/// Writes an outcome: status word, then the values' bits.
fn write_outcome(out: &mut [u32], result: Result<&[f32], Error>) -> usize {
    let Some((status, values)) = out.split_first_mut() else {
        return 0;
    };
    match result {
        Ok(v) => {
            *status = 0;
            for (o, x) in values.iter_mut().zip(v) {
                *o = x.to_bits();
            }
            1 + v.len().min(values.len())
        }
        Err(e) => {
            *status = error_code(&e);
            1
        }
    }
}

/// Writes the outcome of a query with one result.
fn write_one(out: &mut [u32], result: Result<f32, Error>) -> usize {
    write_outcome(
        out,
        result.as_ref().map(core::slice::from_ref).map_err(|e| *e),
    )
}

/// Runs the query of `record` on `model` and writes its outcome into `out`; returns the
/// number of words written. This is the one definition of what each op computes.
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// let model = mdn_core::HostModel::from_bytes(&bytes[..]).unwrap();
/// let mut out = [0_u32; 4];
/// let words = [1.0_f32.to_le_bytes()];
/// let record = mdn_tests::vectors::Record {
///     op: mdn_tests::vectors::Op::Expf, x: &[], y: &words, expected: &[],
/// };
/// assert_eq!(mdn_tests::vectors::evaluate(&model, &record, &mut out), 2);
/// assert_eq!(f32::from_bits(out[1]), libm::expf(1.0));
/// ```
pub fn evaluate<const I: usize, const W: usize, const K: usize, const D: usize>(
    model: &Model<'_, I, W, K, D>,
    record: &Record<'_>,
    out: &mut [u32],
) -> usize {
    // Arguments may be longer than the model expects (error-kind parity): keep a margin.
    let x: Args<64> = floats(record.x);
    let y: Args<64> = floats(record.y);
    let scalar = |f: fn(f32) -> f32| y.first().map(|&a| f(a)).unwrap_or(f32::NAN);
    match record.op {
        Op::LogProb => write_outcome(
            out,
            model
                .log_prob(&x, &y)
                .as_ref()
                .map(core::slice::from_ref)
                .map_err(|e| *e),
        ),
        Op::Prob => write_outcome(
            out,
            model
                .prob(&x, &y)
                .as_ref()
                .map(core::slice::from_ref)
                .map_err(|e| *e),
        ),
        Op::Mean => write_outcome(out, model.mean(&x).as_deref().map_err(|e| *e)),
        Op::StdDev => {
            let std = model.mixture(&x).map(|m| m.std_dev());
            write_outcome(out, std.as_deref().map_err(|e| *e))
        }
        Op::Mixture => match model.mixture(&x) {
            Ok(mixture) => {
                let mut values: heapless::Vec<f32, MAX_OUTCOME> = heapless::Vec::new();
                let _ = values.extend_from_slice(mixture.log_weights());
                for c in mixture.iter() {
                    let _ = values.extend_from_slice(c.means);
                }
                for c in mixture.iter() {
                    let _ = values.extend_from_slice(c.sigmas);
                }
                write_outcome(out, Ok(&values))
            }
            Err(e) => write_outcome(out, Err(e)),
        },
        Op::Cdf => write_outcome(out, model.cdf(&x, &y).as_deref().map_err(|e| *e)),
        Op::Crps => write_outcome(out, model.crps(&x, &y).as_deref().map_err(|e| *e)),
        Op::Quantile => {
            let p = y.first().copied().unwrap_or(f32::NAN);
            write_one(out, model.quantile(&x, p))
        }
        Op::Interval => {
            let level = y.first().copied().unwrap_or(f32::NAN);
            let interval = model.interval(&x, level).map(|i| [i.lower, i.upper]);
            write_outcome(out, interval.as_ref().map(|v| &v[..]).map_err(|e| *e))
        }
        Op::Modes => match model.modes(&x) {
            Ok(modes) => {
                let mut values: heapless::Vec<f32, MAX_OUTCOME> = heapless::Vec::new();
                let highest = modes.highest_index().map_or(f32::NAN, |i| i as f32);
                let _ = values.extend_from_slice(&[modes.len() as f32, highest]);
                for m in modes.iter() {
                    let _ = values.push(m.location);
                }
                for m in modes.iter() {
                    let _ = values.push(m.density);
                }
                write_outcome(out, Ok(&values))
            }
            Err(e) => write_outcome(out, Err(e)),
        },
        Op::Sample => {
            let arg = |i: usize| y.get(i).copied().unwrap_or(f32::NAN);
            // `as` saturates and maps NaN to 0: any argument gives a seed.
            let mut rng = ParityRng::new(arg(2) as u64);
            let draws = model.mixture(&x).and_then(|mixture| {
                let mut values: heapless::Vec<f32, MAX_OUTCOME> = heapless::Vec::new();
                for _ in 0..SAMPLE_DRAWS {
                    let draw = mixture.sample_tempered(&mut rng, arg(0), arg(1))?;
                    let _ = values.extend_from_slice(&draw);
                }
                Ok(values)
            });
            write_outcome(out, draws.as_deref().map_err(|e| *e))
        }
        Op::Entropy => write_one(out, model.entropy(&x)),
        Op::KlDivergence | Op::Hellinger | Op::TotalVariation => {
            let (x1, x2) = x.split_at(x.len() / 2);
            let value = model.mixture(x1).and_then(|p| {
                let q = model.mixture(x2)?;
                match record.op {
                    Op::KlDivergence => p.kl_divergence(&q),
                    Op::Hellinger => p.hellinger_distance(&q),
                    _ => p.total_variation_distance(&q),
                }
            });
            write_one(out, value)
        }
        Op::AnomalyScore => write_one(out, model.anomaly_score(&x, &y)),
        Op::DensityOnGrid => {
            let mut density = [0.0_f32; 64];
            let density = density.get_mut(..y.len()).unwrap_or(&mut []);
            let result = model
                .mixture(&x)
                .and_then(|mixture| mixture.density_on_grid(&y, density));
            write_outcome(out, result.map(|()| &density[..]))
        }
        Op::Expf => write_outcome(out, Ok(&[scalar(libm::expf)])),
        Op::Logf => write_outcome(out, Ok(&[scalar(libm::logf)])),
        Op::Log1pf => write_outcome(out, Ok(&[scalar(libm::log1pf)])),
        Op::Expm1f => write_outcome(out, Ok(&[scalar(libm::expm1f)])),
        Op::Tanhf => write_outcome(out, Ok(&[scalar(libm::tanhf)])),
        Op::Sqrtf => write_outcome(out, Ok(&[scalar(libm::sqrtf)])),
        Op::Erfcf => write_outcome(out, Ok(&[scalar(libm::erfcf)])),
        Op::Sinf => write_outcome(out, Ok(&[scalar(libm::sinf)])),
        Op::Cosf => write_outcome(out, Ok(&[scalar(libm::cosf)])),
        Op::Erff => write_outcome(out, Ok(&[scalar(libm::erff)])),
    }
}

/// The parity rule: equal status, and every value equal by `to_bits`, except that any NaN
/// equals any NaN (x86_64 and ARM produce different NaN bits). `-0.0 != +0.0`.
///
/// # Examples
///
/// ```
/// use mdn_tests::vectors::outcomes_match;
/// let nan_x86 = 0xffc0_0000_u32;
/// let nan_arm = 0x7fc0_0000_u32;
/// assert!(outcomes_match(&[0, nan_x86], &[0, nan_arm]));
/// assert!(!outcomes_match(&[0, 0.0_f32.to_bits()], &[0, (-0.0_f32).to_bits()]));
/// ```
pub fn outcomes_match(expected: &[u32], actual: &[u32]) -> bool {
    expected.len() == actual.len()
        && expected.first() == actual.first()
        && expected
            .iter()
            .zip(actual)
            .skip(1)
            .all(|(&e, &a)| e == a || (f32::from_bits(e).is_nan() && f32::from_bits(a).is_nan()))
}

/// Builds vector files on the host.
#[cfg(feature = "std")]
#[derive(Debug, Default)]
pub struct VectorWriter {
    count: u32,
    body: std::vec::Vec<u8>,
}

#[cfg(feature = "std")]
impl VectorWriter {
    /// Appends a record whose expected outcome is computed by [`evaluate`] on `model`.
    ///
    /// # Panics
    ///
    /// If `x` or `y` has more than 255 values (a test-setup bug).
    pub fn push<const I: usize, const W: usize, const K: usize, const D: usize>(
        &mut self,
        model: &Model<'_, I, W, K, D>,
        op: Op,
        x: &[f32],
        y: &[f32],
    ) -> std::vec::Vec<u32> {
        let words = |v: &[f32]| {
            v.iter()
                .map(|f| f.to_le_bytes())
                .collect::<std::vec::Vec<_>>()
        };
        let (xw, yw) = (words(x), words(y));
        let record = Record {
            op,
            x: &xw,
            y: &yw,
            expected: &[],
        };
        let mut out = [0_u32; MAX_OUTCOME];
        let n = evaluate(model, &record, &mut out);
        let header = [
            op as u8,
            u8::try_from(x.len()).expect("at most 255 inputs"),
            u8::try_from(y.len()).expect("at most 255 targets"),
            u8::try_from(n).expect("outcome fits"),
        ];
        self.body.extend_from_slice(&header);
        for w in xw.iter().chain(&yw) {
            self.body.extend_from_slice(w);
        }
        for o in &out[..n] {
            self.body.extend_from_slice(&o.to_le_bytes());
        }
        self.count += 1;
        out[..n].to_vec()
    }

    /// The finished file.
    pub fn finish(self) -> std::vec::Vec<u8> {
        let mut bytes = std::vec::Vec::with_capacity(10 + self.body.len());
        bytes.extend_from_slice(&VECTOR_MAGIC);
        bytes.extend_from_slice(&VECTOR_VERSION.to_le_bytes());
        bytes.extend_from_slice(&self.count.to_le_bytes());
        bytes.extend_from_slice(&self.body);
        bytes
    }
}
