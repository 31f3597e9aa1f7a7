//! The model in mdn-core's format: headers, layouts, parameter vectors and blobs.

use candle_core::{Device, Tensor};
use mdn_core::{
    Blob, Header, HiddenWidths, Layout, MAX_HIDDEN_LAYERS, Names, Storage, TargetTransform,
    TensorName,
};
use rand::{RngExt, SeedableRng};

use super::{Architecture, Mdn};
use crate::{
    aligned::AlignedBytes,
    error::{Error, Result},
    recalibration::Calibration,
    scaling::{Scaler, Scalers},
};

fn u32_dim(option: &'static str, value: usize) -> Result<u32> {
    u32::try_from(value).map_err(|_| Error::InvalidOption {
        option,
        expected: "a size that fits 32 bits".into(),
        found: value.to_string(),
    })
}

/// The header of one network of `arch` with target transform `transform`, and feature
/// and target names joined with [`mdn_core::NAME_SEPARATOR`] ([`join_names`]), every layer
/// stored as `f32` (training's storage; [`crate::compact`] converts a blob).
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
        storage: Storage::uniform(Storage::F32, arch.hidden.len()),
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
    /// Loads a validated single-network blob into candle, for evaluation or further
    /// training ([`crate::ensemble::Ensemble::from_blob`] splits an ensemble's). Packed
    /// weights become the `f32` values their layer computes with (an `int8` weight `q *
    /// scale`), and the model remembers the storage and the calibration for
    /// [`Mdn::to_blob`].
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
        let invalid = |source| Error::InvalidModel {
            path: path.to_path_buf(),
            source,
        };
        let stored = Blob::from_bytes(&AlignedBytes::from_slice(bytes))
            .map_err(invalid)?
            .header()
            .storage
            .clone();
        let all_f32 = Storage::uniform(Storage::F32, stored.len().saturating_sub(1));
        let aligned = if stored == all_f32 {
            AlignedBytes::from_slice(bytes)
        } else {
            crate::compact::convert(bytes, &all_f32)?
        };
        let calibration = Calibration::read(&aligned)?;
        let blob = Blob::from_bytes(&aligned).map_err(invalid)?;
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
            storage: stored,
            calibration,
            device: Device::Cpu,
        };
        for info in layout.tensors().filter(|t| !t.name.is_shared()) {
            let values = params[info.offset..info.offset + info.len()].to_vec();
            model.vars.push((info.name, model.var(&info, values)?));
        }
        Ok(model)
    }

    /// The blob header of this model in training's storage (`f32` everywhere).
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

    /// Every parameter, scalers and calibration included, gathered by name in the order of
    /// [`Mdn::layout`] (`f32` everywhere): what training restores with
    /// [`Mdn::set_parameters`], and what [`Mdn::to_blob`] converts to the model's storage.
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
                TensorName::SigmaScale => self.calibration.sigma_scale.clone(),
                TensorName::Temperature => vec![self.calibration.temperature],
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

    /// The model as a blob, written by [`mdn_core::encode`] into aligned storage, each
    /// layer in [`Mdn::storage`] ([`crate::compact::convert`]).
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
        let blob = encode_blob(&header, &params)?;
        if header.storage == self.storage {
            return Ok(blob);
        }
        crate::compact::convert(&blob, &self.storage)
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
/// params[5..7].fill(1.0); // the calibration: the identity
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
    for info in layout.tensors().filter(|t| t.name.is_weight()) {
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
        storage: Storage::uniform(Storage::F32, arch.hidden.len()),
        calibration: Calibration::identity(arch.outputs),
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
