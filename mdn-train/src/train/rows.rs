//! Which rows each network learns from and stops early on, and the run's streams of
//! randomness.

use rand::{SeedableRng, seq::SliceRandom};
use rand_pcg::Pcg64Mcg;

use crate::train::TrainConfig;

/// A stream of the run's randomness: initialisation, split and batch order never share one.
pub(crate) fn stream(seed: u64, purpose: u64) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(stream_seed(seed, purpose))
}

/// The seed of stream `purpose`; stream 0 (initialisation) uses the run's seed itself.
fn stream_seed(seed: u64, purpose: u64) -> u64 {
    // The 64-bit golden ratio spreads the purposes over unrelated seeds.
    seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Initial weights.
pub(crate) const STREAM_INIT: u64 = 0;
/// The validation split and the folds.
const STREAM_SPLIT: u64 = 1;
/// Minibatch order.
pub(crate) const STREAM_BATCHES: u64 = 2;
/// Input and target noise.
pub(crate) const STREAM_NOISE: u64 = 3;

/// Stream purposes are spaced by this per network.
const STREAMS_PER_NETWORK: u64 = 16;

/// The seed of network `network`'s stream `purpose`: network 0 uses the run's own streams,
/// so one network trains exactly as a single network.
pub(crate) fn network_seed(seed: u64, network: usize, purpose: u64) -> u64 {
    stream_seed(seed, purpose + STREAMS_PER_NETWORK * network as u64)
}

/// Splits `0..n` into sorted training and validation indices with the seed's split stream.
fn split(n: usize, val_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut val_rows = (n as f64 * val_fraction).round() as usize;
    if val_fraction > 0.0 {
        val_rows = val_rows.clamp(1, n.saturating_sub(2));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut stream(seed, STREAM_SPLIT));
    let (val, train) = order.split_at(val_rows);
    let (mut train, mut val) = (train.to_vec(), val.to_vec());
    train.sort_unstable();
    val.sort_unstable();
    (train, val)
}

/// Splits `0..n` into `folds` folds with the seed's split stream: row `order[j]` goes to
/// fold `j % folds`, so fold sizes differ by at most one. Each fold is sorted.
fn folds(n: usize, folds: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut stream(seed, STREAM_SPLIT));
    let mut out = vec![Vec::new(); folds];
    for (j, &row) in order.iter().enumerate() {
        out[j % folds].push(row);
    }
    for fold in &mut out {
        fold.sort_unstable();
    }
    out
}

/// Which rows each network trains and validates on (indices into the whole data set).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Assignment {
    pub(crate) train: Vec<Vec<usize>>,
    pub(crate) val: Vec<Vec<usize>>,
}

impl Assignment {
    /// One network on a random split, or `folds` networks on as many folds, each
    /// validating on its own fold and training on the others.
    pub(crate) fn new(n: usize, config: &TrainConfig) -> Self {
        if let Some(fraction) = config.val_fraction {
            let (train, val) = split(n, fraction, config.seed);
            return Assignment {
                train: vec![train],
                val: vec![val],
            };
        }
        let folds = folds(n, config.folds, config.seed);
        let train = (0..folds.len())
            .map(|m| {
                let mut rows: Vec<usize> = folds
                    .iter()
                    .enumerate()
                    .filter(|&(f, _)| f != m)
                    .flat_map(|(_, fold)| fold.iter().copied())
                    .collect();
                rows.sort_unstable();
                rows
            })
            .collect();
        Assignment { train, val: folds }
    }

    /// The same rows for each of `candidates` candidates in turn.
    pub(crate) fn repeat(&self, candidates: usize) -> Self {
        let times = |v: &Vec<Vec<usize>>| -> Vec<Vec<usize>> {
            (0..candidates).flat_map(|_| v.iter().cloned()).collect()
        };
        Assignment {
            train: times(&self.train),
            val: times(&self.val),
        }
    }

    /// Networks `range` of this assignment.
    pub(crate) fn slice(&self, range: std::ops::Range<usize>) -> Self {
        Assignment {
            train: self.train[range.clone()].to_vec(),
            val: self.val[range].to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_a_seeded_partition_in_file_order() {
        let (train, val) = split(100, 0.1, 7);
        assert_eq!((train.len(), val.len()), (90, 10));
        let mut all: Vec<usize> = train.iter().chain(&val).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert!(train.is_sorted() && val.is_sorted());
        assert_eq!(split(100, 0.1, 7), (train, val.clone()));
        assert_ne!(split(100, 0.1, 8).1, val);
        // Any positive fraction keeps at least one validation row and two training rows.
        assert_eq!(split(10, 0.01, 1).1.len(), 1);
        assert_eq!(split(10, 0.0, 1).1.len(), 0);
    }

    #[test]
    fn folds_partition_the_rows_and_each_network_learns_from_the_others() {
        let config = TrainConfig {
            folds: 3,
            ..TrainConfig::default()
        };
        let a = Assignment::new(10, &config);
        assert_eq!(a.train.len(), 3);
        let sizes: Vec<usize> = a.val.iter().map(Vec::len).collect();
        assert_eq!(sizes, [4, 3, 3]);
        for (train, val) in a.train.iter().zip(&a.val) {
            let mut all: Vec<usize> = train.iter().chain(val).copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..10).collect::<Vec<_>>());
        }
        let twice = a.repeat(2);
        assert_eq!(twice.train.len(), 6);
        assert_eq!(twice.slice(3..6), a);
    }

    #[test]
    fn streams_are_distinct() {
        assert_eq!(stream_seed(5, STREAM_INIT), 5);
        assert_ne!(stream_seed(5, STREAM_SPLIT), stream_seed(5, STREAM_BATCHES));
        assert_eq!(
            network_seed(5, 0, STREAM_NOISE),
            stream_seed(5, STREAM_NOISE)
        );
        assert_ne!(
            network_seed(5, 1, STREAM_INIT),
            network_seed(5, 0, STREAM_INIT)
        );
    }
}
