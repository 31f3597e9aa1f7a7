//! The MDN in candle, mirroring mdn-core's arithmetic (FORMAT.md section 5) operation by
//! operation, so that the density trained here is the density a device computes.
//!
//! * Every parameter is a candle [`Var`] named by mdn-core's [`TensorName`] and kept in
//!   [`Layout`] order; export gathers them by name in that order, never by map iteration.
//! * Initialisation draws from a seeded PCG generator in layout order (candle's CPU RNG
//!   cannot be seeded): Glorot-uniform weights, as the Keras reference, and zero biases.
//! * Heads: logits `[K]`, means and sigmas `[K * D]` with row `k * D + d` for component
//!   `k`, dimension `d`, exactly the blob's row order.
//! * nnelu is `where(z > 0, 1 + z, exp(min(z, 0)))`: the value mdn-core computes, and the
//!   `min` keeps the unused branch finite so no `0 * inf` NaN reaches the gradient
//!   (candle's `elu` would compute `1 + (exp(z) - 1)`, which differs in the last bits).
//! * The density is computed in log space: log-softmax weights, per-component Gaussian
//!   log-densities, and a log-sum-exp with the maximum subtracted.

use candle_core::{D as Dim, Device, Tensor, Var};
use candle_nn::Module;
use mdn_core::{
    Activation, Blob, HALF_LN_TWO_PI, Header, HiddenWidths, Layout, MAX_HIDDEN_LAYERS, Names,
    SOFTPLUS_THRESHOLD, SigmaTransform, TargetTransform, TensorName,
};
use rand::{RngExt, SeedableRng};

use crate::{
    aligned::AlignedBytes,
    error::{Error, Result},
    scaling::{Scaler, Scalers, transform_targets},
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
    /// Hidden layer widths, input side first (at most [`MAX_HIDDEN_LAYERS`]).
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
    device: Device,
}

fn u32_dim(option: &'static str, value: usize) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::InvalidOption {
        option,
        expected: "a size that fits 32 bits".into(),
        found: value.to_string(),
    })
}

/// The header of one network of `arch` with target transform `transform`, and feature
/// and target names joined with [`mdn_core::NAME_SEPARATOR`] ([`join_names`]).
///
/// # Errors
///
/// [`Error::InvalidOption`] for a shape the format cannot hold.
///
/// # Examples
///
/// ```
/// use mdn_train::model::{Architecture, header, join_names};
/// let arch = Architecture::new(2, 1, 5, vec![32, 32]);
/// let names = join_names(&["a".into(), "b".into()]);
/// let h = header(&arch, mdn_core::TargetTransform::Identity, &names, "y").unwrap();
/// assert_eq!((h.input_dim, h.components, h.networks), (2, 5, 1));
/// ```
pub fn header<'a>(
    arch: &Architecture,
    transform: mdn_core::TargetTransform,
    feature_names: &'a str,
    target_names: &'a str,
) -> Result<Header<'a>> {
    if arch.hidden.len() > MAX_HIDDEN_LAYERS {
        return Err(Error::InvalidOption {
            option: "--hidden",
            expected: format!("at most {MAX_HIDDEN_LAYERS} hidden layers"),
            found: arch.hidden.len().to_string(),
        });
    }
    let mut hidden = HiddenWidths::new();
    for &w in &arch.hidden {
        let _ = hidden.push(u32_dim("--hidden", w)?);
    }
    let header = Header {
        input_dim: u32_dim("--features", arch.inputs)?,
        output_dim: u32_dim("--target", arch.outputs)?,
        components: u32_dim("--components", arch.components)?,
        networks: 1,
        hidden,
        activation: arch.activation,
        sigma: arch.sigma,
        sigma_floor: arch.sigma_floor,
        target_transform: transform,
        feature_names: Names::new(feature_names),
        target_names: Names::new(target_names),
    };
    header.validate().map_err(|e| Error::InvalidOption {
        option: "the model architecture",
        expected: "a shape the blob format can hold".into(),
        found: e.to_string(),
    })?;
    Ok(header)
}

/// Names joined as a blob stores them, with [`mdn_core::NAME_SEPARATOR`].
///
/// # Examples
///
/// See [`header`].
pub fn join_names(names: &[String]) -> String {
    names.join(&mdn_core::NAME_SEPARATOR.to_string())
}

/// Wraps an mdn-core error with what was being done.
pub(crate) fn core_error(context: &str) -> impl FnOnce(mdn_core::Error) -> Error + '_ {
    move |source| Error::Core {
        context: context.to_owned(),
        source,
    }
}

impl Mdn {
    /// A freshly initialised model. Weights are Glorot-uniform,
    /// `U(-sqrt(6 / (fan_in + fan_out)), +sqrt(..))`, biases zero, drawn from
    /// `Pcg64Mcg::seed_from_u64(seed)` in layout order: same seed, same model.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for an architecture the blob format cannot hold (a zero
    /// size, more than [`MAX_HIDDEN_LAYERS`] layers, name counts that disagree).
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
        Ok(if is_weight(info.name) {
            Var::from_vec(values, (info.rows, info.cols), &self.device)?
        } else {
            Var::from_vec(values, info.len(), &self.device)?
        })
    }

    /// Loads a validated single-network blob into candle, for evaluation or further
    /// training ([`crate::ensemble::Ensemble::from_blob`] splits an ensemble's).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidModel`] if `bytes` is not a valid blob (`path` names it),
    /// [`Error::EnsembleBlob`] if it holds several networks.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "example.mdn".as_ref()).unwrap();
    /// assert_eq!(model.to_blob().unwrap().as_bytes(), &bytes[..]);
    /// ```
    pub fn from_blob(bytes: &[u8], path: &std::path::Path) -> Result<Self> {
        let aligned = AlignedBytes::from_slice(bytes);
        let blob = Blob::from_bytes(&aligned).map_err(|source| Error::InvalidModel {
            path: path.to_path_buf(),
            source,
        })?;
        let header = blob.header();
        if header.networks != 1 {
            return Err(Error::EnsembleBlob {
                path: path.to_path_buf(),
                networks: header.networks,
            });
        }
        let layout = blob.layout().map_err(core_error("laying out the model"))?;
        let params: Vec<f32> = blob.parameter_values().collect();
        let get = |name| -> Vec<f32> {
            layout
                .find(name)
                .map_or_else(Vec::new, |t| params[t.offset..t.offset + t.len()].to_vec())
        };
        let arch = Architecture {
            inputs: header.input_dim as usize,
            outputs: header.output_dim as usize,
            components: header.components as usize,
            hidden: header.hidden.iter().map(|&w| w as usize).collect(),
            activation: header.activation,
            sigma: header.sigma,
            sigma_floor: header.sigma_floor,
        };
        let scalers = Scalers {
            input: Scaler {
                offset: get(TensorName::InputOffset),
                scale: get(TensorName::InputScale),
            },
            target: Scaler {
                offset: get(TensorName::TargetOffset),
                scale: get(TensorName::TargetScale),
            },
            transform: header.target_transform,
        };
        let mut model = Mdn {
            arch,
            scalers,
            feature_names: header.feature_names.as_str().to_owned(),
            target_names: header.target_names.as_str().to_owned(),
            vars: Vec::new(),
            device: Device::Cpu,
        };
        for info in layout.tensors().filter(|t| !t.name.is_shared()) {
            let values = params[info.offset..info.offset + info.len()].to_vec();
            model.vars.push((info.name, model.var(&info, values)?));
        }
        Ok(model)
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

    /// The blob header of this model.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] if the architecture does not fit the format.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// assert_eq!(model.header().unwrap().feature_names.as_str(), "x");
    /// ```
    pub fn header(&self) -> Result<Header<'_>> {
        header(
            &self.arch,
            self.scalers.transform,
            &self.feature_names,
            &self.target_names,
        )
    }

    /// The parameter layout of this model.
    ///
    /// # Errors
    ///
    /// As [`Mdn::header`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// assert_eq!(model.layout().unwrap().parameter_count(), model.parameters().unwrap().len());
    /// ```
    pub fn layout(&self) -> Result<Layout> {
        Layout::new(&self.header()?).map_err(core_error("laying out the model"))
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

    /// Every parameter, scalers included, gathered by name in [`Layout`] order: the blob's
    /// parameter section.
    ///
    /// # Errors
    ///
    /// A candle error reading a variable, or an architecture error.
    ///
    /// # Examples
    ///
    /// See [`Mdn::new`].
    pub fn parameters(&self) -> Result<Vec<f32>> {
        let layout = self.layout()?;
        let mut out = Vec::with_capacity(layout.parameter_count());
        for info in layout.tensors() {
            let values = match info.name {
                TensorName::InputOffset => self.scalers.input.offset.clone(),
                TensorName::InputScale => self.scalers.input.scale.clone(),
                TensorName::TargetOffset => self.scalers.target.offset.clone(),
                TensorName::TargetScale => self.scalers.target.scale.clone(),
                // One network: all of the mixture's weight.
                TensorName::NetworkLogWeights => vec![0.0],
                name => self.tensor(name)?.flatten_all()?.to_vec1::<f32>()?,
            };
            debug_assert_eq!(values.len(), info.len(), "{}", info.name);
            out.extend(values);
        }
        Ok(out)
    }

    /// Overwrites the trainable variables from a full parameter vector (as returned by
    /// [`Mdn::parameters`]); the scalers are left as they are.
    ///
    /// # Errors
    ///
    /// A candle error, or [`Error::ParameterCount`] for a vector of the wrong length.
    ///
    /// # Examples
    ///
    /// ```
    /// # let bytes = mdn_core::doc_example_blob();
    /// let model = mdn_train::model::Mdn::from_blob(&bytes[..], "m".as_ref()).unwrap();
    /// let mut p = model.parameters().unwrap();
    /// let last = p.len() - 1;
    /// p[last] = 0.5;
    /// model.set_parameters(&p).unwrap();
    /// assert_eq!(model.parameters().unwrap()[last], 0.5);
    /// ```
    pub fn set_parameters(&self, params: &[f32]) -> Result<()> {
        let layout = self.layout()?;
        check_parameter_count(&layout, params.len())?;
        for (name, var) in &self.vars {
            if let Some(info) = layout.find(*name) {
                let values = &params[info.offset..info.offset + info.len()];
                var.set(&Tensor::from_slice(values, var.shape(), &self.device)?)?;
            }
        }
        Ok(())
    }

    /// The model as a blob, written by [`mdn_core::encode`] into aligned storage.
    ///
    /// # Errors
    ///
    /// [`Error::Core`] if mdn-core refuses the model (for example a non-finite parameter
    /// after a diverged run).
    ///
    /// # Examples
    ///
    /// See [`Mdn::from_blob`].
    pub fn to_blob(&self) -> Result<AlignedBytes> {
        let header = self.header()?;
        let params = self.parameters()?;
        encode_blob(&header, &params)
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
    /// scaling, network, `mu = u * scale + offset`, `sigma = floor(t(z)) * scale`, log
    /// target and Jacobian. Benchmarks and the parity test compare it with mdn-core.
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
        let original = MixtureTensors {
            log_weights: mixture.log_weights,
            means: mixture
                .means
                .broadcast_mul(&t_scale)?
                .broadcast_add(&t_offset)?,
            sigmas: mixture.sigmas.broadcast_mul(&t_scale)?,
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

/// Encodes a header and parameters with [`mdn_core::encode`] into exactly sized, aligned
/// storage.
///
/// # Errors
///
/// [`Error::Core`] with mdn-core's reason.
///
/// # Examples
///
/// ```
/// let header = mdn_core::doc_example_header();
/// let n = mdn_core::Layout::new(&header).unwrap().parameter_count();
/// let mut params = vec![0.5; n];
/// params[4] = 0.0; // the one network's log weight, after 4 scaler values
/// let blob = mdn_train::model::encode_blob(&header, &params).unwrap();
/// assert!(mdn_core::HostModel::from_bytes(&blob).is_ok());
/// ```
pub fn encode_blob(header: &Header<'_>, params: &[f32]) -> Result<AlignedBytes> {
    let len = mdn_core::encoded_len(header).map_err(core_error("encoding the model"))?;
    let mut bytes = AlignedBytes::zeroed(len);
    let written = mdn_core::encode(header, params, bytes.as_bytes_mut())
        .map_err(core_error("encoding the model"))?;
    bytes.truncate(written);
    Ok(bytes)
}

/// Initial parameters in layout order, scaler slots zero: Glorot-uniform weights,
/// `U(-sqrt(6 / (fan_in + fan_out)), +sqrt(..))`, and zero biases, drawn from
/// `Pcg64Mcg::seed_from_u64(seed)` in layout order.
pub(crate) fn initial_parameters(layout: &Layout, seed: u64) -> Vec<f32> {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
    let mut out = vec![0.0; layout.parameter_count()];
    for info in layout.tensors().filter(|t| is_weight(t.name)) {
        // Glorot uniform: fan_in = cols, fan_out = rows.
        let limit = (6.0 / (info.rows + info.cols) as f64).sqrt() as f32;
        for v in &mut out[info.offset..info.offset + info.len()] {
            *v = rng.random_range(-limit..limit);
        }
    }
    out
}

/// The layout of `arch` (names do not change it).
pub(crate) fn layout_of(arch: &Architecture) -> Result<Layout> {
    let names = |n: usize| vec![String::new(); n];
    let scalers = Scalers {
        input: Scaler::identity(arch.inputs),
        target: Scaler::identity(arch.outputs),
        transform: TargetTransform::Identity,
    };
    let probe = Mdn {
        arch: arch.clone(),
        scalers,
        feature_names: join_names(&names(arch.inputs)),
        target_names: join_names(&names(arch.outputs)),
        vars: Vec::new(),
        device: Device::Cpu,
    };
    probe.layout()
}

/// [`Error::ParameterCount`] unless a parameter vector has `layout`'s length.
pub(crate) fn check_parameter_count(layout: &Layout, found: usize) -> Result<()> {
    if found == layout.parameter_count() {
        return Ok(());
    }
    Err(Error::ParameterCount {
        context: "restoring parameters",
        expected: layout.parameter_count(),
        found,
    })
}

pub(crate) fn is_weight(name: TensorName) -> bool {
    matches!(
        name,
        TensorName::HiddenWeight(_)
            | TensorName::LogitsWeight
            | TensorName::MeansWeight
            | TensorName::SigmasWeight
    )
}

/// `tanh` through libm's `tanhf`, the function mdn-core calls, so that hidden activations
/// agree bit for bit given the same pre-activations (candle's own `tanh` calls the
/// platform's `tanhf`, which can differ from libm's by an ulp).
struct LibmTanh;

impl candle_core::CustomOp1 for LibmTanh {
    fn name(&self) -> &'static str {
        "libm-tanh"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (start, end) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("libm-tanh needs a contiguous tensor".into()))?;
        let values = storage.as_slice::<f32>()?[start..end]
            .iter()
            .map(|&z| libm::tanhf(z))
            .collect();
        Ok((candle_core::CpuStorage::F32(values), layout.shape().clone()))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        // d tanh(z) / dz = 1 - tanh(z)^2.
        Ok(Some(grad_res.mul(&res.sqr()?.affine(-1.0, 1.0)?)?))
    }
}

/// `tanh` through libm's `tanhf` (see [`LibmTanh`]).
pub(crate) fn libm_tanh(z: &Tensor) -> Result<Tensor> {
    Ok(z.contiguous()?.apply_op1(LibmTanh)?)
}

/// `ln sum exp` over the last dimension, kept: `m + ln(sum(exp(v - m)))` with `m` the
/// maximum, as mdn-core. `m` is detached: the exact gradient does not depend on it.
pub(crate) fn log_sum_exp_keepdim(v: &Tensor) -> Result<Tensor> {
    let max = v.max_keepdim(Dim::Minus1)?.detach();
    let sum = v.broadcast_sub(&max)?.exp()?.sum_keepdim(Dim::Minus1)?;
    Ok((max + sum.log()?)?)
}

/// Applies a sigma transform as mdn-core does, with gradients that stay finite.
pub(crate) fn sigma_transform(z: &Tensor, kind: SigmaTransform) -> Result<Tensor> {
    Ok(match kind {
        SigmaTransform::Nnelu => {
            let positive = (z + 1.0)?;
            let negative = z.minimum(0.0_f32)?.exp()?;
            z.gt(0.0_f32)?.where_cond(&positive, &negative)?
        }
        SigmaTransform::Exp => z.exp()?,
        SigmaTransform::Softplus => {
            // log1p(e) by Goldberg's identity `e * ln(u) / (u - 1)` with `u = 1 + e`
            // (exact to a few ulps), and `e` itself where `u` rounds to 1.
            let e = z.minimum(SOFTPLUS_THRESHOLD)?.exp()?;
            let u = (&e + 1.0)?;
            let denominator = (&u - 1.0)?;
            let rounds_to_one = denominator.eq(0.0_f32)?;
            let safe = rounds_to_one.where_cond(&denominator.ones_like()?, &denominator)?;
            let log1p = (e.clone() * u.log()?)?.div(&safe)?;
            let small = rounds_to_one.where_cond(&e, &log1p)?;
            z.gt(SOFTPLUS_THRESHOLD)?.where_cond(z, &small)?
        }
    })
}

/// Per-row `ln p(t)` `[N]` of a mixture `[N, K, D]` at targets `t` `[N, D]`, in the units of
/// the mixture: `lse_k(log_w_k + sum_d (-0.5 r^2 - ln sigma - C))`, `r = (t - mu) / sigma`.
///
/// # Errors
///
/// A candle error for mismatched shapes.
///
/// # Examples
///
/// ```
/// use candle_core::{Device, Tensor};
/// use mdn_train::model::{MixtureTensors, log_density};
/// let dev = Device::Cpu;
/// let m = MixtureTensors {
///     log_weights: Tensor::new(&[[0.0_f32]], &dev).unwrap(),
///     means: Tensor::new(&[[[0.0_f32]]], &dev).unwrap(),
///     sigmas: Tensor::new(&[[[1.0_f32]]], &dev).unwrap(),
/// };
/// let lp = log_density(&m, &Tensor::new(&[[0.0_f32]], &dev).unwrap()).unwrap();
/// assert_eq!(lp.to_vec1::<f32>().unwrap(), [-0.9189385]);
/// ```
pub fn log_density(mixture: &MixtureTensors, t: &Tensor) -> Result<Tensor> {
    let r = t
        .unsqueeze(1)?
        .broadcast_sub(&mixture.means)?
        .div(&mixture.sigmas)?;
    let g = (((r.sqr()? * -0.5)? - mixture.sigmas.log()?)? - f64::from(HALF_LN_TWO_PI))?;
    let c = (&mixture.log_weights + g.sum(2)?)?;
    Ok(log_sum_exp_keepdim(&c)?.squeeze(1)?)
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
