//! The network: input scaling, hidden layers and the three heads, evaluated over parameter
//! slices that point into the blob.
//!
//! Every slice is cut once, when the model is built, so evaluation runs over iterators whose
//! lengths were checked: no index, no bounds check, no failure.

use crate::{
    error::{Error, Result},
    header::{Activation, Header, MAX_HIDDEN_LAYERS, SigmaTransform, TargetTransform, to_usize},
    layout::{Layout, TensorName},
    math::{floor_at, log_softmax_in_place},
    mixture::Mixture,
};

/// A parameter tensor: little-endian `f32` words inside the blob.
type Words<'a> = &'a [[u8; 4]];

#[inline(always)]
fn word(w: &[u8; 4]) -> f32 {
    f32::from_le_bytes(*w)
}

/// A fully connected layer, `y = W x + b` with `W` stored `[out][in]` row-major.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Dense<'a> {
    weights: Words<'a>,
    bias: Words<'a>,
    fan_in: usize,
}

impl Dense<'_> {
    /// `output[o] = f(sum_i W[o][i] * input[i] + b[o])`, the sum taken from `i = 0` upwards
    /// starting at `0.0`, the bias added last (as candle's `Linear`: matmul, then bias).
    #[inline(always)]
    fn forward(&self, input: &[f32], output: &mut [f32], f: impl Fn(f32) -> f32) {
        // fan_in >= 1 for a validated model; max(1) only spares a panic path.
        let rows = self.weights.chunks_exact(self.fan_in.max(1));
        for ((row, bias), out) in rows.zip(self.bias).zip(output) {
            let mut acc = 0.0_f32;
            for (w, &x) in row.iter().zip(input) {
                acc += word(w) * x;
            }
            *out = f(acc + word(bias));
        }
    }

    /// Splits a `[K * D][H]` head into `K` groups of `D` rows.
    fn groups(&self, dims: usize) -> impl Iterator<Item = Dense<'_>> {
        let group = dims.saturating_mul(self.fan_in).max(1);
        self.weights
            .chunks_exact(group)
            .zip(self.bias.chunks_exact(dims.max(1)))
            .map(|(weights, bias)| Dense {
                weights,
                bias,
                fan_in: self.fan_in,
            })
    }
}

/// The evaluable network of a validated blob.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct Network<'a> {
    input_offset: Words<'a>,
    input_scale: Words<'a>,
    target_offset: Words<'a>,
    target_scale: Words<'a>,
    hidden: heapless::Vec<Dense<'a>, MAX_HIDDEN_LAYERS>,
    logits: Dense<'a>,
    means: Dense<'a>,
    sigmas: Dense<'a>,
    activation: Activation,
    sigma: SigmaTransform,
    sigma_floor: f32,
    transform: TargetTransform,
    inputs: usize,
    components: usize,
    dims: usize,
}

impl<'a> Network<'a> {
    /// Cuts `parameters` into tensors following `header`'s layout.
    pub(crate) fn new(header: &Header<'_>, parameters: Words<'a>) -> Result<Self> {
        let layout = Layout::new(header)?;
        let tensor = |name| -> Result<Words<'a>> {
            let info = layout.find(name).ok_or(Error::SizeOverflow)?;
            let end = info
                .offset
                .checked_add(info.len())
                .ok_or(Error::SizeOverflow)?;
            parameters
                .get(info.offset..end)
                .ok_or(Error::ParameterSizeMismatch {
                    expected: layout.parameter_count() * 4,
                    found: parameters.len() * 4,
                })
        };
        let dense = |weight, bias, fan_in| -> Result<Dense<'a>> {
            Ok(Dense {
                weights: tensor(weight)?,
                bias: tensor(bias)?,
                fan_in,
            })
        };

        let inputs = to_usize(header.input_dim)?;
        let mut hidden = heapless::Vec::new();
        let mut fan_in = inputs;
        for (i, &width) in header.hidden.iter().enumerate() {
            let layer = dense(
                TensorName::HiddenWeight(i),
                TensorName::HiddenBias(i),
                fan_in,
            )?;
            hidden.push(layer).map_err(|_| Error::SizeOverflow)?;
            fan_in = to_usize(width)?;
        }
        Ok(Network {
            input_offset: tensor(TensorName::InputOffset)?,
            input_scale: tensor(TensorName::InputScale)?,
            target_offset: tensor(TensorName::TargetOffset)?,
            target_scale: tensor(TensorName::TargetScale)?,
            hidden,
            logits: dense(TensorName::LogitsWeight, TensorName::LogitsBias, fan_in)?,
            means: dense(TensorName::MeansWeight, TensorName::MeansBias, fan_in)?,
            sigmas: dense(TensorName::SigmasWeight, TensorName::SigmasBias, fan_in)?,
            activation: header.activation,
            sigma: header.sigma,
            sigma_floor: header.sigma_floor,
            transform: header.target_transform,
            inputs,
            components: to_usize(header.components)?,
            dims: to_usize(header.output_dim)?,
        })
    }

    /// Number of input features.
    pub(crate) const fn inputs(&self) -> usize {
        self.inputs
    }

    /// The predictive mixture for raw input `x`, in original target units.
    ///
    /// The caller guarantees that the model fits capacities `I`, `W`, `K`, `D` and that
    /// `x` has `inputs()` entries; under that contract no value is cut off.
    pub(crate) fn forward<const I: usize, const W: usize, const K: usize, const D: usize>(
        &self,
        x: &[f32],
    ) -> Mixture<K, D> {
        let mut scaled = [0.0_f32; I];
        let scaler = self.input_offset.iter().zip(self.input_scale);
        for ((s, &raw), (offset, scale)) in scaled.iter_mut().zip(x).zip(scaler) {
            *s = (raw - word(offset)) / word(scale);
        }

        let mut ping = [0.0_f32; W];
        let mut pong = [0.0_f32; W];
        let act = |z| self.activation.apply(z);
        for (i, layer) in self.hidden.iter().enumerate() {
            match i {
                0 => layer.forward(&scaled, &mut ping, act),
                _ if i % 2 == 1 => layer.forward(&ping, &mut pong, act),
                _ => layer.forward(&pong, &mut ping, act),
            }
        }
        let features: &[f32] = match self.hidden.len() {
            0 => &scaled,
            n if n % 2 == 1 => &ping,
            _ => &pong,
        };

        let mut mixture = Mixture::zeroed(self.components, self.dims, self.transform);
        let (log_weights, means, sigmas) = mixture.parts_mut();
        self.logits.forward(features, log_weights, |z| z);
        if let Some(log_weights) = log_weights.get_mut(..self.components) {
            log_softmax_in_place(log_weights);
        }

        let target = self.target_offset.iter().zip(self.target_scale);
        for (row, head) in means.iter_mut().zip(self.means.groups(self.dims)) {
            head.forward(features, row, |z| z);
            for (mu, (offset, scale)) in row.iter_mut().zip(target.clone()) {
                *mu = *mu * word(scale) + word(offset);
            }
        }
        for (row, head) in sigmas.iter_mut().zip(self.sigmas.groups(self.dims)) {
            head.forward(features, row, |z| {
                floor_at(self.sigma.apply(z), self.sigma_floor)
            });
            for (sigma, scale) in row.iter_mut().zip(self.target_scale) {
                *sigma *= word(scale);
            }
        }
        mixture
    }
}
