//! The validated model: a blob checked against an evaluator's capacities, ready to answer
//! queries.

use crate::{
    blob::Blob,
    error::{Error, Result},
    header::{Capacities, Header},
    kernel::DotBlocks,
    mixture::{Interval, Mixture, Modes, PerOutput},
    network::Ensemble,
};

/// A validated model whose evaluation cannot fail on shape grounds.
///
/// The const parameters are capacities chosen by the application, sizing the scratch
/// buffers that evaluation keeps on the stack:
///
/// | parameter | capacity for |
/// |---|---|
/// | `I` | input features |
/// | `W` | width of the widest hidden layer |
/// | `K` | mixture components, of every network together (`K * M` for an ensemble) |
/// | `D` | output dimensions |
///
/// A model whose blob needs more is rejected by [`Model::from_bytes`] with
/// [`Error::CapacityExceeded`]. Loops run over the model's actual sizes, never the
/// capacities, so capacities cannot change results. Parameters are read in place from the
/// blob (flash, on a device); RAM holds activations and the mixture only.
///
/// # Examples
///
/// ```
/// use mdn_core::Model;
/// # let bytes = mdn_core::doc_example_blob();
/// # let bytes = &bytes[..];
/// // One input, hidden layers up to 32 wide, up to 5 components, one output.
/// let model = Model::<1, 32, 5, 1>::from_bytes(bytes)?;
/// let log_p = model.log_prob(&[0.5], &[1.0])?;
/// assert!(log_p.is_finite());
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Model<'a, const I: usize, const W: usize, const K: usize, const D: usize> {
    blob: Blob<'a>,
    ensemble: Ensemble<'a>,
}

/// Capacities generous enough for any model `mdn-train` writes, for host-side use: up to
/// 128 mixture components in all (an ensemble's networks together).
///
/// Evaluation keeps about 30 KB of scratch on the stack (`log_prob_batch` about 440 KB);
/// use tighter capacities on a device.
///
/// # Examples
///
/// ```
/// # let bytes = mdn_core::doc_example_blob();
/// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
/// assert_eq!(model.header().input_dim, 1);
/// # Ok::<(), mdn_core::Error>(())
/// ```
pub type HostModel<'a> = Model<'a, 512, 1024, 128, 16>;

impl<'a, const I: usize, const W: usize, const K: usize, const D: usize> Model<'a, I, W, K, D> {
    /// This evaluator's capacities.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_core::Model::<1, 32, 5, 1>::CAPACITIES.components, 5);
    /// ```
    pub const CAPACITIES: Capacities = Capacities {
        inputs: I,
        width: W,
        components: K,
        outputs: D,
    };

    pub(crate) const VALID_CAPACITIES: () = assert!(
        I > 0 && K > 0 && D > 0,
        "capacities for inputs, components and outputs must be at least 1"
    );

    /// Validates a blob that fills `bytes` exactly, then checks it against the capacities.
    ///
    /// # Errors
    ///
    /// Any error of [`Blob::from_bytes`], then [`Error::CapacityExceeded`].
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{Dimension, Error, Model};
    /// # let bytes = mdn_core::doc_example_blob();
    /// # let bytes = &bytes[..];
    /// let too_small = Model::<1, 32, 1, 1>::from_bytes(bytes);
    /// assert_eq!(
    ///     too_small.unwrap_err(),
    ///     Error::CapacityExceeded { what: Dimension::Components, found: 2, max: 1 }
    /// );
    /// ```
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Self> {
        Self::from_blob(Blob::from_bytes(bytes)?)
    }

    /// Validates a blob at the start of `bytes` and returns the model with the bytes after
    /// the blob (for example the erased rest of a flash partition).
    ///
    /// # Errors
    ///
    /// As [`Model::from_bytes`], except that trailing bytes are allowed.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let mut partition = bytes.to_vec();
    /// partition.resize(4096, 0xFF);
    /// let (model, rest) = mdn_core::HostModel::from_prefix(&partition)?;
    /// assert_eq!(rest.len(), 4096 - model.blob().len());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn from_prefix(bytes: &'a [u8]) -> Result<(Self, &'a [u8])> {
        let (blob, rest) = Blob::from_prefix(bytes)?;
        Ok((Self::from_blob(blob)?, rest))
    }

    /// Checks an already validated blob against the capacities.
    ///
    /// # Errors
    ///
    /// [`Error::CapacityExceeded`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let blob = mdn_core::Blob::from_bytes(&bytes[..])?;
    /// let model = mdn_core::HostModel::from_blob(blob)?;
    /// assert_eq!(model.header().components, 2);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn from_blob(blob: Blob<'a>) -> Result<Self> {
        let () = Self::VALID_CAPACITIES;
        blob.required_capacities()?.fits(&Self::CAPACITIES)?;
        let ensemble = Ensemble::new(blob.header(), blob.parameters())?;
        Ok(Model { blob, ensemble })
    }

    /// Evaluates the dense layers with `kernel` instead of mdn-core's portable one, for
    /// every query of this model (the batched [`Model::log_prob_batch`] excepted: it has a
    /// kernel across rows of its own).
    ///
    /// For a target where a hand-written kernel saves instructions, such as
    /// `mdn-cortex-m`'s for a Cortex-M4F. The kernel must return what
    /// [`kernel::dot_blocks`](crate::kernel::dot_blocks) returns, bit for bit
    /// ([`DotBlocks`]); the device parity test is the place to prove that.
    ///
    /// On a host, a supplied kernel also takes the blocks mdn-core's four-block host kernel
    /// would take: with the portable kernel (or `mdn-cortex-m`'s, which is the portable one
    /// there) a sample loses that kernel's gain (BENCHMARKS.md, "Measured once"). Supply a
    /// kernel where it is faster.
    ///
    /// A setter rather than a builder: a model moved through `self` was copied on a
    /// Cortex-M4F's stack, which raised `minimal`'s stack peak.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{HostModel, kernel::dot_blocks};
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = HostModel::from_bytes(&bytes[..])?;
    /// let mut supplied = model.clone();
    /// supplied.set_kernel(dot_blocks);
    /// assert_eq!(
    ///     supplied.log_prob(&[0.5], &[1.0])?.to_bits(),
    ///     model.log_prob(&[0.5], &[1.0])?.to_bits()
    /// );
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn set_kernel(&mut self, kernel: DotBlocks) {
        self.ensemble.set_kernel(kernel);
    }

    /// Sums integer layers (`int8-int16` and `int16-int16`, FORMAT.md section 5) with
    /// `kernel` instead of mdn-core's portable [`INTEGER_KERNEL`](crate::kernel::INTEGER_KERNEL),
    /// for every query of this model: for a target where a hand-written kernel saves
    /// instructions, such as `mdn-cortex-m`'s for a Cortex-M4 (`smlad`). The kernel must
    /// return what mdn-core's returns, bit for bit, for inputs within `-32767..=32767`
    /// ([`IntegerKernel`](crate::kernel::IntegerKernel)); the device parity test is the
    /// place to prove that. A model without integer layers never calls it.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_core::{HostModel, kernel::INTEGER_KERNEL};
    /// # let bytes = mdn_core::doc_example_blob();
    /// let mut model = HostModel::from_bytes(&bytes[..])?;
    /// let before = model.log_prob(&[0.5], &[1.0])?;
    /// model.set_integer_kernel(INTEGER_KERNEL);
    /// assert_eq!(model.log_prob(&[0.5], &[1.0])?.to_bits(), before.to_bits());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    #[cfg(feature = "int16")]
    pub fn set_integer_kernel(&mut self, kernel: crate::kernel::IntegerKernel) {
        self.ensemble.set_integer_kernel(kernel);
    }

    /// The model header: shapes, transforms, names.
    ///
    /// # Examples
    ///
    /// See [`HostModel`].
    pub fn header(&self) -> &Header<'a> {
        self.blob.header()
    }

    /// The validated blob the model reads its parameters from.
    ///
    /// # Examples
    ///
    /// See [`Model::from_prefix`].
    pub fn blob(&self) -> &Blob<'a> {
        &self.blob
    }

    fn check_input(&self, x: &[f32]) -> Result<()> {
        if x.len() != self.ensemble.inputs() {
            return Err(Error::InputLength {
                expected: self.ensemble.inputs(),
                found: x.len(),
            });
        }
        if x.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFiniteInput);
        }
        Ok(())
    }

    /// The predictive mixture `p(y|x)` for raw (unscaled) `x`, in original target units.
    ///
    /// # Errors
    ///
    /// [`Error::InputLength`] or [`Error::NonFiniteInput`]; nothing else can fail.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
    /// let mixture = model.mixture(&[0.3])?;
    /// let total: f32 = mixture.iter().map(|c| c.weight()).sum();
    /// assert!((total - 1.0).abs() < 1e-6);
    /// assert!(model.mixture(&[f32::NAN]).is_err());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn mixture(&self, x: &[f32]) -> Result<Mixture<K, D>> {
        self.check_input(x)?;
        Ok(self.ensemble.forward::<I, W, K, D>(x))
    }

    /// `ln p(y|x)` in original target units: [`Mixture::log_prob`] of [`Model::mixture`].
    ///
    /// # Errors
    ///
    /// The input errors of [`Model::mixture`], then [`Error::TargetLength`] or
    /// [`Error::NonFiniteTarget`].
    ///
    /// # Examples
    ///
    /// See [`Model`].
    pub fn log_prob(&self, x: &[f32], y: &[f32]) -> Result<f32> {
        self.check_input(x)?;
        self.ensemble.log_prob::<I, W, K, D>(x, y)
    }

    /// `ln p(y|x)` for many rows at once: row `r` is `xs[r * F..(r + 1) * F]` and
    /// `ys[r * D..(r + 1) * D]` (with `F` inputs and `D` outputs), its result `out[r]`.
    ///
    /// Each row gets exactly the bits of [`Model::log_prob`]; the rows share the work of
    /// the hidden layers and heads, 16 at a time, which makes this several times faster on
    /// a host. Scratch for 16 rows lives on the stack (for [`HostModel`], about 440 KB).
    ///
    /// # Errors
    ///
    /// Checked for the whole batch before anything is computed: [`Error::InputLength`] or
    /// [`Error::TargetLength`] if `xs` or `ys` does not hold `out.len()` rows,
    /// [`Error::NonFiniteInput`] or [`Error::NonFiniteTarget`] for any NaN or infinity.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes)?;
    /// let (xs, ys) = ([0.1, 0.2, 0.3], [1.0, 0.0, -1.0]);
    /// let mut out = [0.0; 3];
    /// model.log_prob_batch(&xs, &ys, &mut out)?;
    /// assert_eq!(out[2].to_bits(), model.log_prob(&[0.3], &[-1.0])?.to_bits());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn log_prob_batch(&self, xs: &[f32], ys: &[f32], out: &mut [f32]) -> Result<()> {
        let (inputs, dims) = (self.ensemble.inputs(), self.ensemble.dims());
        let expected = out.len().saturating_mul(inputs);
        if xs.len() != expected {
            return Err(Error::InputLength {
                expected,
                found: xs.len(),
            });
        }
        let expected = out.len().saturating_mul(dims);
        if ys.len() != expected {
            return Err(Error::TargetLength {
                expected,
                found: ys.len(),
            });
        }
        if xs.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFiniteInput);
        }
        if ys.iter().any(|v| !v.is_finite()) {
            return Err(Error::NonFiniteTarget);
        }
        if self.ensemble.all_f32() {
            self.ensemble.log_prob_rows::<I, W, K, D>(xs, ys, out);
            return Ok(());
        }
        // Packed weights go row by row: their loops are not the batched path's.
        let rows = xs.chunks(self.ensemble.inputs().max(1));
        let rows = rows.zip(ys.chunks(self.ensemble.dims().max(1)));
        for (out, (x, y)) in out.iter_mut().zip(rows) {
            *out = self.ensemble.log_prob::<I, W, K, D>(x, y)?;
        }
        Ok(())
    }

    /// `p(y|x)`, defined as `expf(log_prob(x, y))`.
    ///
    /// # Errors
    ///
    /// As [`Model::log_prob`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
    /// let p = model.prob(&[0.0], &[0.0])?;
    /// // `expf` of the log-density, with the libm every target uses (std's `exp` may round
    /// // differently).
    /// assert_eq!(p, libm::expf(model.log_prob(&[0.0], &[0.0])?));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn prob(&self, x: &[f32], y: &[f32]) -> Result<f32> {
        self.mixture(x)?.prob(y)
    }

    /// The predictive mean of each output dimension.
    ///
    /// # Errors
    ///
    /// As [`Model::mixture`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
    /// assert_eq!(model.mean(&[0.0])?.len(), 1);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn mean(&self, x: &[f32]) -> Result<PerOutput<D>> {
        Ok(self.mixture(x)?.mean())
    }

    /// The predictive variance of each output dimension.
    ///
    /// # Errors
    ///
    /// As [`Model::mixture`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
    /// assert!(model.variance(&[0.0])?[0] > 0.0);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn variance(&self, x: &[f32]) -> Result<PerOutput<D>> {
        Ok(self.mixture(x)?.variance())
    }

    /// The marginal CDF of each output dimension at `y`: [`Mixture::cdf`] of
    /// [`Model::mixture`].
    ///
    /// # Errors
    ///
    /// The input errors of [`Model::mixture`], then those of [`Mixture::cdf`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
    /// let median = model.quantile(&[0.3], 0.5)?;
    /// assert!((model.cdf(&[0.3], &[median])?[0] - 0.5).abs() < 1e-6);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn cdf(&self, x: &[f32], y: &[f32]) -> Result<PerOutput<D>> {
        self.mixture(x)?.cdf(y)
    }

    /// The continuous ranked probability score of each output's marginal distribution at
    /// `y`: [`Mixture::crps`] of [`Model::mixture`].
    ///
    /// # Errors
    ///
    /// The input errors of [`Model::mixture`], then those of [`Mixture::crps`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
    /// let median = model.quantile(&[0.3], 0.5)?;
    /// assert!(model.crps(&[0.3], &[median])?[0] < model.crps(&[0.3], &[median + 100.0])?[0]);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn crps(&self, x: &[f32], y: &[f32]) -> Result<PerOutput<D>> {
        self.mixture(x)?.crps(y)
    }

    /// The `p` quantile of a one-dimensional output: [`Mixture::quantile`] of
    /// [`Model::mixture`].
    ///
    /// # Errors
    ///
    /// The input errors of [`Model::mixture`], then those of [`Mixture::quantile`].
    ///
    /// # Examples
    ///
    /// See [`Model::cdf`].
    pub fn quantile(&self, x: &[f32], p: f32) -> Result<f32> {
        self.mixture(x)?.quantile(p)
    }

    /// The central interval holding probability `level` of a one-dimensional output:
    /// [`Mixture::interval`] of [`Model::mixture`].
    ///
    /// # Errors
    ///
    /// The input errors of [`Model::mixture`], then those of [`Mixture::interval`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
    /// let i = model.interval(&[0.3], 0.8)?;
    /// assert!(i.lower < model.quantile(&[0.3], 0.5)? && i.width() > 0.0);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn interval(&self, x: &[f32], level: f32) -> Result<Interval> {
        self.mixture(x)?.interval(level)
    }

    /// Every mode of a one-dimensional output, sorted by location: [`Mixture::modes`] of
    /// [`Model::mixture`].
    ///
    /// # Errors
    ///
    /// The input errors of [`Model::mixture`], then those of [`Mixture::modes`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
    /// let modes = model.modes(&[0.3])?;
    /// let max = modes.iter().map(|m| m.density).fold(0.0, f32::max);
    /// assert!(modes.highest().is_some_and(|best| best.density >= max));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn modes(&self, x: &[f32]) -> Result<Modes<K>> {
        self.mixture(x)?.modes()
    }

    /// The differential entropy of a one-dimensional output, in nats:
    /// [`Mixture::entropy`] of [`Model::mixture`].
    ///
    /// # Errors
    ///
    /// The input errors of [`Model::mixture`], then those of [`Mixture::entropy`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
    /// assert!(model.entropy(&[0.3])?.is_finite());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn entropy(&self, x: &[f32]) -> Result<f32> {
        self.mixture(x)?.entropy()
    }

    /// The anomaly score `-ln p(y|x)`: [`Mixture::anomaly_score`] of [`Model::mixture`].
    ///
    /// # Errors
    ///
    /// As [`Model::log_prob`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_core::HostModel::from_bytes(&bytes[..])?;
    /// let score = model.anomaly_score(&[0.3], &[40.0])?;
    /// assert_eq!(score, -model.log_prob(&[0.3], &[40.0])?);
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn anomaly_score(&self, x: &[f32], y: &[f32]) -> Result<f32> {
        self.mixture(x)?.anomaly_score(y)
    }
}
