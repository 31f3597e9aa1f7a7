//! # mdn-train
//!
//! Train Mixture Density Networks on CSV data with [candle], write them as mdn-core blobs,
//! and evaluate them with mdn-core: the numbers the trainer reports are the numbers a
//! microcontroller computes from the same bytes.
//!
//! An MDN predicts a whole distribution,
//! `p(y|x) = sum_k alpha_k(x) prod_d N(y_d; mu_kd(x), sigma_kd(x))`, so it can say that the
//! noise grows with `x`, or that one `x` has several likely `y`, where a point predictor
//! can only average. The `mdn` binary (`src/bin/mdn`) is a thin command line over this
//! library.
//!
//! ## Architecture
//!
//! One module per job, in the order data flows:
//!
//! | module | job |
//! |---|---|
//! | [`data`] | CSV to numbers: header, field counts, numeric cells, each error with file, line, column and expectation |
//! | [`scaling`] | feature and target scalers, fitted on training rows only, stored in the blob |
//! | [`model`] | the MDN in candle, mirroring mdn-core's arithmetic (FORMAT.md section 5); parameter names and order from [`mdn_core::Layout`]; export with [`mdn_core::encode`]; blob loading |
//! | [`train`] | the recipe: candidate models (K, noise level) times folds, Adam minibatches, early stopping with one learning-rate drop and the best weights restored, divergence handling, per-epoch metrics |
//! | [`networks`] | many networks of one shape as batched tensors, with a hand-differentiated mixture density and per-network Adam |
//! | [`ensemble`] | weighting the candidates on out-of-fold densities (stacking) and the mixture of all kept networks |
//! | [`eval`] | NLL and RMSE with [`mdn_core::HostModel`], per-sample output, candle vs mdn-core parity |
//! | [`calibration`] | interval coverage and the PIT histogram, from mdn-core's `interval` and `cdf` |
//! | [`summary`] | one prediction's modes, quantiles, intervals and entropy (mdn-core), for `mdn predict` |
//! | [`plot`] | PNG and SVG figures with plotters and an embedded font: density, slices, training curves, calibration |
//! | [`baselines`] | null model, linear least squares and an MSE-trained MLP, each with a constant sigma |
//! | [`describe`] | what a blob holds (`mdn inspect`) and its weights as JSON (`mdn export`) |
//! | [`device_cost`] | what a blob costs on a Cortex-M4F and a Cortex-M0: bytes, instructions per `log p(y\|x)` (worst case over inputs, or at one input) and RAM, calibrated against QEMU |
//! | [`signing`] | detached Ed25519 signatures of blobs (`mdn keygen`, `mdn sign`, `mdn verify`): key and signature files, verification with the device's code (mdn-update) |
//! | [`synth`] | the `hetero` and `invsin` generators |
//! | [`excerpt`] | cells, names and lists cut to a readable length for messages |
//! | [`io`] | atomic writes: a temporary file in the same directory, then a rename |
//! | [`aligned`] | blob bytes in 4-byte-aligned storage, as mdn-core requires |
//! | [`error`] | the one [`Error`] type |
//!
//! ## Guarantees
//!
//! * **One definition of the format.** Every parameter is a candle variable named by
//!   [`mdn_core::TensorName`]; export gathers them by name in [`mdn_core::Layout`] order
//!   and hands them to [`mdn_core::encode`], which validates what it wrote.
//! * **Same arithmetic.** Log-softmax weights, `mu = u * scale + offset`,
//!   `sigma = max(t(z), floor) * scale`, nnelu as `z > 0 ? 1 + z : exp(z)`, Gaussian
//!   log-densities and a max-subtracted log-sum-exp, in mdn-core's order. Candle and
//!   mdn-core agree to about 1e-6 nats for relu networks and 2e-5 at worst (the parity
//!   test states and justifies its tolerance).
//! * **Reproducible.** Initial weights, validation split and batch order come from one
//!   seed through separate PCG streams (candle's CPU RNG cannot be seeded); with the same
//!   data, seed and thread count the blob is byte-identical.
//! * **Nothing half-written.** Files are written atomically; a failed run leaves existing
//!   files as they were. A NaN or infinite loss stops training and keeps the best
//!   weights so far.
//!
//! ## Example
//!
//! ```
//! use mdn_train::{eval, synth, train};
//!
//! let data = synth::generate(synth::Kind::Hetero, 200, 1);
//! let config = train::TrainConfig { epochs: 5, hidden: vec![16], ..Default::default() };
//! let trained = train::train(&data, &config, |_| {})?;
//!
//! // Evaluate the blob exactly as a device would.
//! let model = mdn_core::HostModel::from_bytes(&trained.blob)
//!     .map_err(|source| mdn_train::Error::Core { context: "validating".into(), source })?;
//! let scores = eval::evaluate(&model, &data)?;
//! assert_eq!(scores.n, 200);
//! assert!(scores.nll.is_finite());
//! # Ok::<(), mdn_train::Error>(())
//! ```
//!
//! [candle]: https://github.com/huggingface/candle

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aligned;
pub mod baselines;
pub mod budget;
pub mod calibration;
pub mod compact;
pub mod data;
pub mod describe;
pub mod device_cost;
pub mod ensemble;
pub mod error;
pub mod eval;
pub mod excerpt;
pub mod integer;
pub mod io;
pub mod model;
pub mod networks;
pub mod plot;
pub mod recalibration;
pub mod scaling;
pub mod signing;
pub mod summary;
pub mod synth;
pub mod train;
pub mod upgrade;

pub use error::{Error, Result};
