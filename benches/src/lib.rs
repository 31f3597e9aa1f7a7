//! # mdn-benches
//!
//! What the benchmark figures are measured on, shared by the criterion benchmarks
//! (`benches/log_prob.rs`) and the command that rewrites BENCHMARKS.md (`src/bin/figures.rs`):
//!
//! * [`CASES`]: the benchmark models, generated deterministically by
//!   [`mdn_tests::generate`] (the same bytes as `firmware-example/models/`), with the
//!   tightest capacities for each;
//! * [`rows`]: reproducible inputs and targets;
//! * [`CandleLogProb`]: the same blob loaded into candle by `mdn-train`'s loader, with every
//!   tensor built before the timed region, so a measurement covers the forward pass and the
//!   mixture log-likelihood only;
//! * [`ceiling`]: the host's measured rates for the work a query cannot avoid;
//! * [`non_negative_least_squares`]: the fit behind the device cost model's constants.
//!
//! ```
//! let case = &mdn_benches::CASES[0];
//! let blob = case.blob();
//! let (x, y) = mdn_benches::rows(case.spec.inputs as usize, 1, 1, 7);
//! let model = mdn_core::HostModel::from_bytes(blob.bytes()).unwrap();
//! let candle = mdn_benches::CandleLogProb::new(blob.bytes(), &x, &y).unwrap();
//! let core = model.log_prob(&x, &y).unwrap();
//! assert!((candle.run().unwrap()[0] - core).abs() < 1e-3);
//! ```

pub mod ceiling;
mod least_squares;

pub use least_squares::non_negative_least_squares;

use anyhow::{Context, Result, ensure};
use candle_core::{Device, Tensor};
use mdn_core::{Blob, Layout, TargetTransform, TensorName};
use mdn_tests::generate::{
    AlignedBlob, MINIMAL, ModelSpec, SMALL, SplitMix64, WIDE, generated_blob,
};
use mdn_train::model::{Mdn, MixtureTensors, log_density};

/// Rows per batch in the batch benchmarks.
///
/// # Examples
///
/// ```
/// let (x, _) = mdn_benches::rows(13, 1, mdn_benches::BATCH_ROWS, 2);
/// assert_eq!(x.len(), 13 * 1024);
/// ```
pub const BATCH_ROWS: usize = 1024;

/// A benchmark model: its spec, a label for tables and its tightest capacities.
///
/// # Examples
///
/// ```
/// let case = &mdn_benches::CASES[1];
/// assert_eq!((case.spec.inputs, case.capacities), (13, [13, 64, 5, 1]));
/// ```
#[derive(Debug, Clone)]
pub struct Case {
    /// The generated model.
    pub spec: ModelSpec,
    /// How tables name it, e.g. `1-32-32 K=5`.
    pub label: &'static str,
    /// The capacities `I, W, K, D` a firmware for exactly this model uses.
    pub capacities: [usize; 4],
}

impl Case {
    /// The model's blob, 4-byte aligned.
    ///
    /// # Examples
    ///
    /// ```
    /// let blob = mdn_benches::CASES[1].blob();
    /// assert_eq!(mdn_core::Blob::from_bytes(blob.bytes()).unwrap().header().input_dim, 13);
    /// ```
    pub fn blob(&self) -> AlignedBlob {
        AlignedBlob::new(&generated_blob(&self.spec))
    }

    /// Multiply-adds of the dense layers in one evaluation, every network's: the length of
    /// each weight tensor of the model's [`Layout`], without the zero rows that fill a
    /// stored block (which a kernel need not compute).
    ///
    /// # Examples
    ///
    /// ```
    /// let [minimal, wide] = [&mdn_benches::CASES[0], &mdn_benches::CASES[1]];
    /// assert_eq!(minimal.multiply_adds(), 32 + 32 * 32 + 32 * 15);
    /// assert_eq!(wide.multiply_adds(), 13 * 64 + 64 * 64 + 64 * 15);
    /// ```
    pub fn multiply_adds(&self) -> usize {
        let blob = self.blob();
        let blob = Blob::from_bytes(blob.bytes()).expect("a generated blob is valid");
        let layout = Layout::new(blob.header()).expect("a valid blob has a layout");
        let weights = layout.tensors().filter(|t| {
            matches!(
                t.name,
                TensorName::HiddenWeight(_)
                    | TensorName::LogitsWeight
                    | TensorName::MeansWeight
                    | TensorName::SigmasWeight
            )
        });
        weights.map(|t| t.len()).sum()
    }

    /// The `expf` and `logf` calls one `log p(y|x)` cannot do without (FORMAT.md section
    /// 5, identity target): a log-sum-exp over each network's `K` logits and one over the
    /// mixture's `M K` components, each with a `logf` and an `expf` per term but the
    /// maximum's (`expf(0)`, which libm returns at once), and a `logf` of each of the `M K
    /// D` sigmas. Sigma transforms may add more.
    ///
    /// # Examples
    ///
    /// ```
    /// // One network, K = 5, D = 1: 4 + 4 exps; 2 + 5 logs.
    /// assert_eq!(mdn_benches::CASES[0].libm_calls(), (8, 7));
    /// ```
    pub fn libm_calls(&self) -> (usize, usize) {
        let spec = &self.spec;
        let [m, k, d] = [spec.networks, spec.components, spec.outputs].map(|v| v as usize);
        let exps = m * (k - 1) + (m * k - 1);
        let logs = (m + 1) + m * k * d;
        (exps, logs)
    }
}

/// The host benchmark models: 1-32-32 ReLU K = 5 (the `minimal` firmware's model) and
/// 13-64-64 ReLU K = 5: [`DEVICE_CASES`] without the 1-16-16 model.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_benches::CASES[0].label, "1-32-32 K=5");
/// ```
pub const CASES: &[Case] = DEVICE_CASES.split_at(1).1;

/// The device benchmark models: [`CASES`] and the 1-16-16 K = 1 model, the shape of the
/// published MicroFlow and TensorFlow Lite Micro figures.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_benches::DEVICE_CASES[0].capacities, [1, 16, 1, 1]);
/// ```
pub const DEVICE_CASES: [Case; 3] = [
    Case {
        spec: SMALL,
        label: "1-16-16 K=1",
        capacities: [1, 16, 1, 1],
    },
    Case {
        spec: MINIMAL,
        label: "1-32-32 K=5",
        capacities: [1, 32, 5, 1],
    },
    Case {
        spec: WIDE,
        label: "13-64-64 K=5",
        capacities: [13, 64, 5, 1],
    },
];

/// The 1-32-32 K = 5 model of [`DEVICE_CASES`] with compact weights, for the device tables:
/// `f16` everywhere, the `int8` plan of `mdn train --weights int8` (int8 hidden layers where
/// int8 is smaller than f16, f16 heads), `int8` everywhere, and the integer network
/// (int8 weights on int16 activations, 16-bit heads: `mdn quantize --activations int16`).
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_benches::STORAGE_CASES.len(), 4);
/// ```
pub const STORAGE_CASES: [Case; 4] = {
    use mdn_core::Storage::{F16, Int8, Int8Int16, Int16Int16};
    [
        Case {
            spec: ModelSpec {
                storage: &[F16, F16, F16],
                ..MINIMAL
            },
            label: "1-32-32 K=5, f16",
            capacities: [1, 32, 5, 1],
        },
        Case {
            spec: ModelSpec {
                storage: &[F16, Int8, F16],
                ..MINIMAL
            },
            label: "1-32-32 K=5, int8 (f16, int8, f16)",
            capacities: [1, 32, 5, 1],
        },
        Case {
            spec: ModelSpec {
                storage: &[Int8, Int8, Int8],
                ..MINIMAL
            },
            label: "1-32-32 K=5, int8 everywhere",
            capacities: [1, 32, 5, 1],
        },
        Case {
            spec: ModelSpec {
                storage: &[Int8Int16, Int8Int16, Int16Int16],
                ..MINIMAL
            },
            label: "1-32-32 K=5, integer (int8, int8, 16-bit heads; int16 activations)",
            capacities: [1, 32, 5, 1],
        },
    ]
};

/// `n` rows of inputs (`inputs` values each, uniform in `[-3, 3)`) and targets (`outputs`
/// values each, uniform in `[-2, 2)`), row-major, from SplitMix64 seeded with `seed`.
///
/// # Examples
///
/// ```
/// let (x, y) = mdn_benches::rows(13, 1, 2, 1);
/// assert_eq!((x.len(), y.len()), (26, 2));
/// assert_eq!(mdn_benches::rows(13, 1, 2, 1), (x, y));
/// ```
pub fn rows(inputs: usize, outputs: usize, n: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let mut rng = SplitMix64::new(seed);
    let x = (0..n * inputs).map(|_| rng.uniform(-3.0, 3.0)).collect();
    let y = (0..n * outputs).map(|_| rng.uniform(-2.0, 2.0)).collect();
    (x, y)
}

/// `ln p(y|x)` of a blob in candle, for fixed rows: every tensor (inputs, targets,
/// scalers) is built by [`CandleLogProb::new`]; [`CandleLogProb::run`] does what
/// `mdn_train::model::Mdn::log_prob` does after building them: input scaling, the network,
/// the mixture in original units, the per-row log-density, and the copy of the result out
/// of the tensor.
///
/// # Examples
///
/// See the [crate documentation](crate).
#[derive(Debug)]
pub struct CandleLogProb {
    model: Mdn,
    xs: Tensor,
    input_offset: Tensor,
    input_scale: Tensor,
    target_offset: Tensor,
    target_scale: Tensor,
    targets: Tensor,
}

impl CandleLogProb {
    /// Loads `blob` into candle with `mdn-train`'s loader and builds the tensors of the rows
    /// `x` (row-major, `F` values a row) and `y` (`D` values a row).
    ///
    /// # Errors
    ///
    /// An invalid blob, a log target (the benchmark models have identity targets), or
    /// lengths that do not make whole rows.
    ///
    /// # Examples
    ///
    /// See the [crate documentation](crate).
    pub fn new(blob: &[u8], x: &[f32], y: &[f32]) -> Result<Self> {
        let model = Mdn::from_blob(blob, "benchmark.mdn".as_ref())?;
        let (f, d) = (model.architecture().inputs, model.architecture().outputs);
        let scalers = model.scalers();
        ensure!(
            scalers.transform == TargetTransform::Identity,
            "benchmark models have identity targets"
        );
        let n = x.len() / f;
        ensure!(
            x.len() == n * f && y.len() == n * d,
            "x and y must be whole rows"
        );
        let dev = Device::Cpu;
        let tensor = |values: &[f32], shape: &[usize]| Tensor::from_slice(values, shape, &dev);
        Ok(CandleLogProb {
            xs: tensor(x, &[n, f])?,
            input_offset: tensor(&scalers.input.offset, &[1, f])?,
            input_scale: tensor(&scalers.input.scale, &[1, f])?,
            target_offset: tensor(&scalers.target.offset, &[1, 1, d])?,
            target_scale: tensor(&scalers.target.scale, &[1, 1, d])?,
            targets: tensor(y, &[n, d])?,
            model,
        })
    }

    /// `ln p(y|x)` of every row, in original target units.
    ///
    /// # Errors
    ///
    /// A candle error.
    ///
    /// # Examples
    ///
    /// See the [crate documentation](crate).
    pub fn run(&self) -> Result<Vec<f32>> {
        let xs = self
            .xs
            .broadcast_sub(&self.input_offset)?
            .broadcast_div(&self.input_scale)?;
        let mixture = self.model.forward_scaled(&xs)?;
        let original = MixtureTensors {
            log_weights: mixture.log_weights,
            means: mixture
                .means
                .broadcast_mul(&self.target_scale)?
                .broadcast_add(&self.target_offset)?,
            sigmas: mixture.sigmas.broadcast_mul(&self.target_scale)?,
        };
        let lp = log_density(&original, &self.targets)?;
        lp.to_vec1::<f32>().context("reading the log-densities")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Candle and mdn-core compute the same densities on every benchmark model (to the
    /// 2e-5 nats the trainer's parity test allows, with headroom for the wider model's
    /// longer sums), so the benchmarks compare like with like.
    #[test]
    fn candle_and_core_agree_on_the_benchmark_models() {
        for case in CASES {
            let blob = case.blob();
            let model = mdn_core::HostModel::from_bytes(blob.bytes()).unwrap();
            let (f, d) = (case.spec.inputs as usize, case.spec.outputs as usize);
            let (x, y) = rows(f, d, 64, 3);
            let candle = CandleLogProb::new(blob.bytes(), &x, &y)
                .unwrap()
                .run()
                .unwrap();
            let mut core = vec![0.0; 64];
            model.log_prob_batch(&x, &y, &mut core).unwrap();
            for (a, b) in candle.iter().zip(&core) {
                assert!(
                    (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                    "{}: {a} vs {b}",
                    case.label
                );
            }
        }
    }
}
