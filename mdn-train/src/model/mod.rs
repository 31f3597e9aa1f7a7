//! The MDN in candle, mirroring mdn-core's arithmetic (FORMAT.md section 5) operation by
//! operation, so that the density trained here is the density a device computes.
//!
//! * Every parameter is a candle [`Var`] named by mdn-core's [`TensorName`] and kept in
//!   [`Layout`](mdn_core::Layout) order; export gathers them by name in that order, never by map iteration.
//! * Initialisation draws from a seeded PCG generator in layout order (candle's CPU RNG
//!   cannot be seeded): Glorot-uniform weights, as the Keras reference, and zero biases.
//! * Heads: logits `[K]`, means and sigmas `[K * D]` with row `k * D + d` for component
//!   `k`, dimension `d`, exactly the blob's row order.
//! * nnelu is `where(z > 0, 1 + z, exp(min(z, 0)))`: the value mdn-core computes, and the
//!   `min` keeps the unused branch finite so no `0 * inf` NaN reaches the gradient
//!   (candle's `elu` would compute `1 + (exp(z) - 1)`, which differs in the last bits).
//! * The density is computed in log space: log-softmax weights, per-component Gaussian
//!   log-densities, and a log-sum-exp with the maximum subtracted.
//!
//! The module's parts: this file holds the model and its forward pass, `blob` the
//! conversion to and from mdn-core's format (the one source of truth for names, shapes
//! and order), `ops` the candle operations that mirror mdn-core's numerics.

mod blob;
mod ops;

pub(crate) use blob::{check_parameter_count, core_error, initial_parameters, layout_of};
pub use blob::{encode_blob, header, join_names};
pub use ops::log_density;
pub(crate) use ops::{libm_tanh, log_sum_exp_keepdim, sigma_transform};

use candle_core::{Device, Tensor, Var};
use candle_nn::Module;
use mdn_core::{Activation, LayerStorage, SigmaTransform, Storage, TargetTransform, TensorName};

use crate::{
    error::{Error, Result},
    recalibration::Calibration,
    scaling::{Scalers, transform_targets},
};

/// The shape and transforms of an MDN, everything but its parameters and scalers.
///
/// # Examples
///
/// ```
/// use mdn_train::model::Architecture;
/// let arch = Architecture::new(1, 1, 3, vec![32, 32]);
/// assert_eq!(arch.sigma_floor, 1e-3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Architecture {
    /// Input features `F`.
    pub inputs: usize,
    /// Target dimensions `D`.
    pub outputs: usize,
    /// Mixture components `K`.
    pub components: usize,
    /// Hidden layer widths, input side first (at most [`MAX_HIDDEN_LAYERS`](mdn_core::MAX_HIDDEN_LAYERS)).
    pub hidden: Vec<usize>,
    /// Hidden activation.
    pub activation: Activation,
    /// Sigma transform.
    pub sigma: SigmaTransform,
    /// Lower bound on sigma in scaled target units.
    pub sigma_floor: f32,
}

impl Architecture {
    /// The default transforms (relu, nnelu, floor 1e-3) for the given shapes.
    ///
    /// # Examples
    ///
    /// See [`Architecture`].
    pub fn new(inputs: usize, outputs: usize, components: usize, hidden: Vec<usize>) -> Self {
        Architecture {
            inputs,
            outputs,
            components,
            hidden,
            activation: Activation::Relu,
            sigma: SigmaTransform::Nnelu,
            sigma_floor: 1e-3,
        }
    }
}

/// The predictive mixture of a batch as tensors: log weights `[N, K]`, means and sigmas
/// `[N, K, D]`.
#[derive(Debug, Clone)]
pub struct MixtureTensors {
    /// Log mixing weights (log-softmax of the logit head).
    pub log_weights: Tensor,
    /// Component means.
    pub means: Tensor,
    /// Component standard deviations, floored.
    pub sigmas: Tensor,
}

/// An MDN whose parameters are candle variables, with its scalers and column names.
#[derive(Debug, Clone)]
pub struct Mdn {
    arch: Architecture,
    scalers: Scalers,
    feature_names: String,
    target_names: String,
    /// Network parameters (no scalers), in layout order.
    vars: Vec<(TensorName, Var)>,
    /// How [`Mdn::to_blob`] stores each dense layer's weights (training is always `f32`).
    storage: LayerStorage,
    /// The calibration [`Mdn::to_blob`] writes and [`Mdn::log_prob`] applies.
    calibration: Calibration,
    device: Device,
}

impl Mdn {
    /// A freshly initialised model. Weights are Glorot-uniform,
    /// `U(-sqrt(6 / (fan_in + fan_out)), +sqrt(..))`, biases zero, drawn from
    /// `Pcg64Mcg::seed_from_u64(seed)` in layout order: same seed, same model.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for an architecture the blob format cannot hold (a zero
    /// size, more than [`MAX_HIDDEN_LAYERS`](mdn_core::MAX_HIDDEN_LAYERS) layers, name counts that disagree).
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::{model::{Architecture, Mdn}, scaling::{Scaler, Scalers}};
    /// let scalers = Scalers {
    ///     input: Scaler::identity(1),
    ///     target: Scaler::identity(1),
    ///     transform: mdn_core::TargetTransform::Identity,
    /// };
    /// let arch = Architecture::new(1, 1, 2, vec![4]);
    /// let a = Mdn::new(arch.clone(), scalers.clone(), &["x".into()], &["y".into()], 7).unwrap();
    /// let b = Mdn::new(arch, scalers, &["x".into()], &["y".into()], 7).unwrap();
    /// assert_eq!(a.parameters().unwrap(), b.parameters().unwrap());
    /// ```
    pub fn new(
        arch: Architecture,
        scalers: Scalers,
        feature_names: &[String],
        target_names: &[String],
        seed: u64,
    ) -> Result<Self> {
        let mut model = Mdn {
            storage: Storage::uniform(Storage::F32, arch.hidden.len()),
            calibration: Calibration::identity(arch.outputs),
            arch,
            scalers,
            feature_names: join_names(feature_names),
            target_names: join_names(target_names),
            vars: Vec::new(),
            device: Device::Cpu,
        };
        let layout = model.layout()?;
        let params = initial_parameters(&layout, seed);
        for info in layout.tensors().filter(|t| !t.name.is_shared()) {
            let values = params[info.offset..info.offset + info.len()].to_vec();
            model.vars.push((info.name, model.var(&info, values)?));
        }
        Ok(model)
    }

    fn var(&self, info: &mdn_core::TensorInfo, values: Vec<f32>) -> Result<Var> {
        Ok(if info.name.is_weight() {
            Var::from_vec(values, (info.rows, info.cols), &self.device)?
        } else {
            Var::from_vec(values, info.len(), &self.device)?
        })
    }

    /// The architecture.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// assert_eq!(model.architecture().components, 2);
    /// ```
    pub fn architecture(&self) -> &Architecture {
        &self.arch
    }

    /// The scalers stored with the model.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// assert_eq!(model.scalers().input.dims(), 1);
    /// ```
    pub fn scalers(&self) -> &Scalers {
        &self.scalers
    }

    /// The trainable variables, in layout order (for the optimiser).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// assert_eq!(model.vars().len(), 2 + 6); // one hidden layer, three heads
    /// ```
    pub fn vars(&self) -> Vec<Var> {
        self.vars.iter().map(|(_, v)| v.clone()).collect()
    }

    fn tensor(&self, name: TensorName) -> Result<&Tensor> {
        self.vars
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_tensor())
            .ok_or_else(|| Error::MissingTensor {
                tensor: name.to_string(),
            })
    }

    fn linear(&self, weight: TensorName, bias: TensorName) -> Result<candle_nn::Linear> {
        Ok(candle_nn::Linear::new(
            self.tensor(weight)?.clone(),
            Some(self.tensor(bias)?.clone()),
        ))
    }

    /// The mixture for a batch of *scaled* inputs `[N, F]`, in scaled target units.
    ///
    /// # Errors
    ///
    /// A candle error (a shape mismatch is a bug), or [`Error::MissingTensor`] if a layer's
    /// tensor is missing (also a bug).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// let x = candle_core::Tensor::new(&[[0.5_f32], [1.0]], &candle_core::Device::Cpu).unwrap();
    /// let m = model.forward_scaled(&x).unwrap();
    /// assert_eq!(m.means.dims(), [2, 2, 1]);
    /// ```
    pub fn forward_scaled(&self, xs: &Tensor) -> Result<MixtureTensors> {
        let mut h = xs.clone();
        for i in 0..self.arch.hidden.len() {
            let z = self
                .linear(TensorName::HiddenWeight(i), TensorName::HiddenBias(i))?
                .forward(&h)?;
            h = match self.arch.activation {
                Activation::Relu => z.relu()?,
                Activation::Tanh => libm_tanh(&z)?,
            };
        }
        let n = h.dim(0)?;
        let (k, d) = (self.arch.components, self.arch.outputs);
        let logits = self
            .linear(TensorName::LogitsWeight, TensorName::LogitsBias)?
            .forward(&h)?;
        let log_weights = logits.broadcast_sub(&log_sum_exp_keepdim(&logits)?)?;
        let means = self
            .linear(TensorName::MeansWeight, TensorName::MeansBias)?
            .forward(&h)?
            .reshape((n, k, d))?;
        let z = self
            .linear(TensorName::SigmasWeight, TensorName::SigmasBias)?
            .forward(&h)?
            .reshape((n, k, d))?;
        let sigmas = sigma_transform(&z, self.arch.sigma)?.maximum(self.arch.sigma_floor)?;
        Ok(MixtureTensors {
            log_weights,
            means,
            sigmas,
        })
    }

    /// Mean negative log-likelihood of scaled targets `us` `[N, D]` given scaled inputs
    /// `xs` `[N, F]`, in scaled units: the training loss (a scalar tensor).
    ///
    /// # Errors
    ///
    /// A candle error.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// # use candle_core::{Tensor, Device};
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// let x = Tensor::new(&[[0.5_f32]], &Device::Cpu).unwrap();
    /// let y = Tensor::new(&[[0.1_f32]], &Device::Cpu).unwrap();
    /// let nll = model.loss(&x, &y).unwrap().to_scalar::<f32>().unwrap();
    /// assert!(nll.is_finite());
    /// ```
    pub fn loss(&self, xs: &Tensor, us: &Tensor) -> Result<Tensor> {
        let mixture = self.forward_scaled(xs)?;
        Ok(log_density(&mixture, us)?.mean_all()?.neg()?)
    }

    /// Per-row `ln p(y|x)` in original target units for raw `x` (`[N * F]`, row-major) and
    /// raw `y` (`[N * D]`), computed in candle with mdn-core's order of operations: input
    /// scaling, network, `mu = u * scale + offset`, `sigma = (floor(t(z)) * scale) *
    /// sigma_scale`, logits over the temperature, log target and Jacobian. Benchmarks and
    /// the parity test compare it with mdn-core.
    ///
    /// # Errors
    ///
    /// A candle error (for example a length that is not a multiple of `F`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// let lp = model.log_prob(&[0.3, 0.7], &[1.0, 0.0]).unwrap();
    /// let core = mdn_core::HostModel::from_bytes(&bytes[..]).unwrap();
    /// assert!((lp[0] - core.log_prob(&[0.3], &[1.0]).unwrap()).abs() < 1e-5);
    /// ```
    pub fn log_prob(&self, x: &[f32], y: &[f32]) -> Result<Vec<f32>> {
        let (f, d) = (self.arch.inputs, self.arch.outputs);
        let n = x.len() / f.max(1);
        let dev = &self.device;
        let xs = Tensor::from_slice(x, (n, f), dev)?;
        let offset = Tensor::from_slice(&self.scalers.input.offset, (1, f), dev)?;
        let scale = Tensor::from_slice(&self.scalers.input.scale, (1, f), dev)?;
        let xs = xs.broadcast_sub(&offset)?.broadcast_div(&scale)?;
        let mixture = self.forward_scaled(&xs)?;
        let t_offset = Tensor::from_slice(&self.scalers.target.offset, (1, 1, d), dev)?;
        let t_scale = Tensor::from_slice(&self.scalers.target.scale, (1, 1, d), dev)?;
        let sigma_scale = Tensor::from_slice(&self.calibration.sigma_scale, (1, 1, d), dev)?;
        // The temperature divides the logits; the log weights differ from them by a
        // per-row constant, which the renormalisation removes.
        let tempered = (mixture.log_weights / f64::from(self.calibration.temperature))?;
        let original = MixtureTensors {
            log_weights: tempered.broadcast_sub(&log_sum_exp_keepdim(&tempered)?)?,
            means: mixture
                .means
                .broadcast_mul(&t_scale)?
                .broadcast_add(&t_offset)?,
            sigmas: mixture
                .sigmas
                .broadcast_mul(&t_scale)?
                .broadcast_mul(&sigma_scale)?,
        };
        let t = transform_targets(y, self.scalers.transform);
        let lp = log_density(&original, &Tensor::from_slice(&t, (n, d), dev)?)?;
        let mut lp = lp.to_vec1::<f32>()?;
        if self.scalers.transform == TargetTransform::Log {
            for (row, value) in lp.iter_mut().enumerate() {
                let ys = &y[row * d..(row + 1) * d];
                if ys.iter().any(|&v| v <= 0.0) {
                    *value = f32::NEG_INFINITY;
                } else {
                    let jacobian = t[row * d..(row + 1) * d]
                        .iter()
                        .fold(0.0_f32, |acc, &v| acc + v);
                    *value -= jacobian;
                }
            }
        }
        Ok(lp)
    }

    /// How [`Mdn::to_blob`] stores each dense layer (the hidden layers, then the heads).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let mut model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// let int8 = mdn_core::Storage::uniform(mdn_core::Storage::Int8, 1);
    /// model.set_storage(int8.clone()).unwrap();
    /// assert_eq!(model.storage(), &int8[..]);
    /// assert!(model.to_blob().unwrap().len() < bytes.len());
    /// ```
    pub fn storage(&self) -> &[Storage] {
        &self.storage
    }

    /// Stores the weights as `storage` from now on (one entry per dense layer).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a list of the wrong length.
    ///
    /// # Examples
    ///
    /// See [`Mdn::storage`].
    pub fn set_storage(&mut self, storage: LayerStorage) -> Result<()> {
        crate::compact::check_layers(&storage, self.arch.hidden.len())?;
        self.storage = storage;
        Ok(())
    }

    /// The calibration the blob carries.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// assert!(model.calibration().is_identity());
    /// ```
    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// The candle device (always the CPU).
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// assert!(model.device().is_cpu());
    /// ```
    pub fn device(&self) -> &Device {
        &self.device
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Mdn {
        Mdn::from_blob(&mdn_core::doc_example_blob()[..], "m.mdn".as_ref()).unwrap()
    }

    #[test]
    fn a_missing_tensor_is_named() {
        let mut model = example();
        model
            .vars
            .retain(|(name, _)| *name != TensorName::MeansWeight);
        let x = Tensor::new(&[[0.5_f32]], model.device()).unwrap();
        let err = model.forward_scaled(&x).unwrap_err();
        assert!(
            matches!(&err, Error::MissingTensor { tensor } if tensor == "head.means.weight"),
            "{err}"
        );
        assert!(
            err.to_string().contains("no tensor `head.means.weight`"),
            "{err}"
        );
    }

    #[test]
    fn a_parameter_vector_of_the_wrong_length_is_counted_in_values() {
        let model = example();
        let expected = model.parameters().unwrap().len();
        let err = model.set_parameters(&vec![0.0; expected - 3]).unwrap_err();
        assert!(
            matches!(err, Error::ParameterCount { expected: e, found: f, .. } if e == expected && f == expected - 3),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            format!(
                "restoring parameters: expected {expected} parameter values (the model's layout), found {}",
                expected - 3
            )
        );
    }
}
