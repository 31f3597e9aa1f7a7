//! The model's networks: input scaling, then for each of the `M` networks its hidden layers
//! and three heads, evaluated over parameter slices that point into the blob, and the
//! mixture they make together.
//!
//! The shared tensors are cut once, when the model is built, with the positions of every
//! layer within one network ([`Placement`]); each network's layers are bound to its words
//! with checked slicing when it is evaluated. Evaluation then runs over iterators whose
//! lengths were checked: no index, no failure. This file holds the model ([`Ensemble`]),
//! one network ([`Network`]) and the single-row path; `dense` holds a dense layer and the
//! choice of its kernel, `batch` the path that evaluates [`batch::LANES`] rows at once.

mod batch;
mod dense;
#[cfg(feature = "int16")]
mod integer;
#[cfg(test)]
mod tests;

use crate::{
    blob::from_word,
    error::{Error, Result},
    header::{
        Activation, Header, MAX_HIDDEN_LAYERS, SigmaTransform, Storage, TargetTransform, to_usize,
    },
    kernel::DotBlocks,
    layout::padded_rows,
    math::{floor_at, log_sum_exp},
    mixture::Mixture,
};
use dense::{Dense, Kernel, Placement};

/// A parameter tensor: little-endian `f32` bit patterns inside the blob, 4-byte aligned.
type Words<'a> = &'a [u32];

#[inline(always)]
fn word(w: &u32) -> f32 {
    from_word(*w)
}

/// An `f32` scratch buffer as `i32` words, for an integer network's activations.
#[cfg(feature = "int16")]
fn as_words(buffer: &mut [f32]) -> &mut [i32] {
    bytemuck::try_cast_slice_mut(buffer).unwrap_or_default()
}

/// The evaluable model of a validated blob: shared scalers and `M` networks.
///
/// The networks share one set of [`Placement`]s, bound to each network's words when it is
/// evaluated, so the model stays small on a device's stack whatever `M` is.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct Ensemble<'a> {
    input_offset: Words<'a>,
    input_scale: Words<'a>,
    target_offset: Words<'a>,
    target_scale: Words<'a>,
    network_log_weights: Words<'a>,
    /// Calibration: a factor on each dimension's sigmas, then the divisor of every mixing
    /// logit (the temperature), `D + 1` words.
    calibration: Words<'a>,
    /// Every network's parameters, `network_len` words each, in blob order.
    network_words: Words<'a>,
    network_len: usize,
    /// Where each network's hidden layers and heads (one layer: logits, means, sigmas) lie
    /// in its words.
    hidden: heapless::Vec<Placement, MAX_HIDDEN_LAYERS>,
    head: Placement,
    activation: Activation,
    sigma: SigmaTransform,
    sigma_floor: f32,
    transform: TargetTransform,
    inputs: usize,
    components: usize,
    dims: usize,
    kernel: Kernel,
}

/// Cuts a tensor of `len` words from the front of `rest`.
fn take<'a>(rest: &mut Words<'a>, len: usize) -> Result<Words<'a>> {
    let (tensor, tail) = rest
        .split_at_checked(len)
        .ok_or(Error::ParameterSizeMismatch {
            expected: len.saturating_mul(4),
            found: rest.len().saturating_mul(4),
        })?;
    *rest = tail;
    Ok(tensor)
}

impl<'a> Ensemble<'a> {
    /// Cuts `parameters` into the shared tensors and `M` equal networks in the order of
    /// [`Layout`](crate::Layout) (FORMAT.md section 3), with arithmetic rather than tensor
    /// look-ups, to keep device code small.
    pub(crate) fn new(header: &Header<'_>, parameters: Words<'a>) -> Result<Self> {
        let mut rest = parameters;
        let inputs = to_usize(header.input_dim)?;
        let dims = to_usize(header.output_dim)?;
        let components = to_usize(header.components)?;
        let networks = to_usize(header.networks)?;
        let mut hidden = heapless::Vec::new();
        let mut network_len = 0_usize;
        let mut fan_in = inputs;
        // `Layout::new` checked every size of this header (the blob was validated against
        // it), so this arithmetic cannot overflow.
        let mut place = |outputs: usize, fan_in: usize, storage: Storage| {
            let storage = storage.as_built();
            let start = network_len;
            let weight_bytes = padded_rows(outputs)
                .wrapping_mul(fan_in)
                .wrapping_mul(storage.bytes());
            let scales = start.wrapping_add(weight_bytes / 4);
            let bias = match storage.has_row_scales() {
                true => scales.wrapping_add(outputs),
                false => scales,
            };
            network_len = bias.wrapping_add(outputs);
            Placement::new(start, bias, network_len, fan_in, storage)
        };
        let mut storage = header.storage.iter().copied();
        for &width in &header.hidden {
            let width = to_usize(width)?;
            // One code per layer: `Layout::new` counted them when the blob was read.
            let layer_storage = storage.next().unwrap_or(Storage::F32);
            hidden
                .push(place(width, fan_in, layer_storage))
                .map_err(|_| Error::SizeOverflow)?;
            fan_in = width;
        }
        let head_rows = components.wrapping_mul(dims).wrapping_mul(2);
        let head_storage = storage.next().unwrap_or(Storage::F32);
        let head = place(components.wrapping_add(head_rows), fan_in, head_storage);
        let all_words = network_len.wrapping_mul(networks);
        Ok(Ensemble {
            input_offset: take(&mut rest, inputs)?,
            input_scale: take(&mut rest, inputs)?,
            target_offset: take(&mut rest, dims)?,
            target_scale: take(&mut rest, dims)?,
            network_log_weights: take(&mut rest, networks)?,
            calibration: take(&mut rest, dims.wrapping_add(1))?,
            network_words: take(&mut rest, all_words)?,
            network_len,
            hidden,
            head,
            activation: header.activation,
            sigma: header.sigma,
            sigma_floor: header.sigma_floor,
            transform: header.target_transform,
            inputs,
            components,
            dims,
            kernel: Kernel::default(),
        })
    }

    /// Evaluates the dense layers with `kernel` from now on.
    pub(crate) fn set_kernel(&mut self, kernel: DotBlocks) {
        self.kernel.dot_blocks = kernel;
        self.kernel.supplied = true;
    }

    /// Evaluates integer layers with `kernel` from now on.
    #[cfg(feature = "int16")]
    pub(crate) fn set_integer_kernel(&mut self, kernel: crate::kernel::IntegerKernel) {
        self.kernel.integer = kernel;
    }

    /// The networks in blob order.
    fn networks(&self) -> impl Iterator<Item = Network<'_, 'a>> + '_ {
        // `max(1)`: every network has heads, so `network_len > 0`; this lets the compiler
        // see it (`chunks_exact(0)` panics).
        let chunks = self.network_words.chunks_exact(self.network_len.max(1));
        chunks.map(|words| Network {
            ensemble: self,
            words,
        })
    }

    /// Number of input features.
    pub(crate) const fn inputs(&self) -> usize {
        self.inputs
    }

    /// Number of output dimensions.
    pub(crate) const fn dims(&self) -> usize {
        self.dims
    }

    /// Components of the whole mixture: `K` from each network.
    fn mixture_components(&self) -> usize {
        self.components
            .saturating_mul(self.network_log_weights.len())
    }

    /// `s_i = (x_i - offset_i) / scale_i`.
    fn scale_input<const I: usize>(&self, x: &[f32]) -> [f32; I] {
        let mut scaled = [0.0_f32; I];
        let scaler = self.input_offset.iter().zip(self.input_scale);
        for ((s, &raw), (offset, scale)) in scaled.iter_mut().zip(x).zip(scaler) {
            *s = (raw - word(offset)) / word(scale);
        }
        scaled
    }

    /// The predictive mixture for raw input `x`, in original target units.
    ///
    /// The caller guarantees that the model fits capacities `I`, `W`, `K`, `D` and that
    /// `x` has `inputs()` entries; under that contract no value is cut off.
    pub(crate) fn forward<const I: usize, const W: usize, const K: usize, const D: usize>(
        &self,
        x: &[f32],
    ) -> Mixture<K, D> {
        let mut mixture = Mixture::zeroed(self.mixture_components(), self.dims, self.transform);
        self.fill::<I, W, K, D>(x, &mut mixture);
        mixture
    }

    /// `ln p(y|x)`: [`Mixture::log_prob`] of [`Ensemble::forward`], under the same contract.
    ///
    /// The mixture stays in this frame: returned by value, it would be copied.
    ///
    /// # Errors
    ///
    /// As [`Mixture::log_prob`].
    pub(crate) fn log_prob<const I: usize, const W: usize, const K: usize, const D: usize>(
        &self,
        x: &[f32],
        y: &[f32],
    ) -> Result<f32> {
        let mut mixture = Mixture::zeroed(self.mixture_components(), self.dims, self.transform);
        self.fill::<I, W, K, D>(x, &mut mixture);
        mixture.log_prob(y)
    }

    /// Fills a zeroed `mixture` with every network's components for raw input `x`.
    fn fill<const I: usize, const W: usize, const K: usize, const D: usize>(
        &self,
        x: &[f32],
        mixture: &mut Mixture<K, D>,
    ) {
        let scaled = self.scale_input::<I>(x);
        let mut ping = [0.0_f32; W];
        let mut pong = [0.0_f32; W];
        let components = self.mixture_components();
        let (log_weights, means, sigmas) = mixture.parts_mut();
        let k = self.components.max(1);
        let shares = log_weights
            .chunks_mut(k)
            .zip(means.chunks_mut(k))
            .zip(sigmas.chunks_mut(k));
        #[cfg(feature = "int16")]
        let quantized = self.is_integer().then(|| {
            let mut quantized = [0_i32; I];
            integer::quantize_input(&scaled, &mut quantized);
            quantized
        });
        for (network, ((logits, means), sigmas)) in self.networks().zip(shares) {
            let outputs = (logits, means, sigmas);
            #[cfg(feature = "int16")]
            if let Some(quantized) = &quantized {
                let ping = as_words(&mut ping);
                let pong = as_words(&mut pong);
                let (features, spare) =
                    network.hidden_layers(quantized, ping, pong, Dense::forward_integer);
                let spare = bytemuck::try_cast_slice_mut(spare).unwrap_or_default();
                network.heads::<K, D>(spare, outputs, |head, out| {
                    head.forward_integer_head(features, out)
                });
                continue;
            }
            let activation = Some(self.activation);
            let (features, spare) =
                network.hidden_layers(&scaled, &mut ping, &mut pong, |l, i, o| {
                    l.forward(i, o, activation)
                });
            network.heads::<K, D>(spare, outputs, |head, out| {
                head.forward(features, out, None)
            });
        }
        let log_weights = log_weights.get_mut(..components).unwrap_or(&mut []);
        self.mix(log_weights);
        let rows = means.iter_mut().zip(sigmas.iter_mut()).take(components);
        for (mean_row, sigma_row) in rows {
            self.unscale_means(mean_row);
            self.sigmas_from_pre_activations(sigma_row);
        }
    }

    /// The calibration's temperature, which divides every mixing logit.
    fn temperature(&self) -> f32 {
        // The last of the D + 1 words `new` cut; 1.0 (the identity) only if it were missing.
        self.calibration.last().map_or(1.0, word)
    }

    /// Turns every network's head logits into mixture log weights in place:
    /// `l_mk = head_mk / T`, then `(l_mk - lse(l_m)) + w_m`, each network's `K` values at a
    /// time.
    fn mix(&self, log_weights: &mut [f32]) {
        let temperature = self.temperature();
        let shares = log_weights.chunks_mut(self.components.max(1));
        for (share, weight) in shares.zip(self.network_log_weights) {
            for v in share.iter_mut() {
                *v /= temperature;
            }
            let (lse, weight) = (log_sum_exp(share), word(weight));
            for v in share {
                *v = (*v - lse) + weight;
            }
        }
    }

    /// `mu = u * scale + offset`: from scaled target units to original ones.
    fn unscale_means(&self, row: &mut [f32]) {
        let target = self.target_offset.iter().zip(self.target_scale);
        for (mu, (offset, scale)) in row.iter_mut().zip(target) {
            *mu = *mu * word(scale) + word(offset);
        }
    }

    /// `sigma = (max(transform(z), floor) * scale) * sigma_scale`, in original target
    /// units, calibrated.
    fn sigmas_from_pre_activations(&self, row: &mut [f32]) {
        let scales = self.target_scale.iter().zip(self.calibration);
        for (sigma, (scale, calibration)) in row.iter_mut().zip(scales) {
            let unscaled = floor_at(self.sigma.apply(*sigma), self.sigma_floor) * word(scale);
            *sigma = unscaled * word(calibration);
        }
    }

    /// Whether the networks compute in integers (every layer `int8-int16` or
    /// `int16-int16`: validation allows all or none).
    #[cfg(feature = "int16")]
    fn is_integer(&self) -> bool {
        self.head.storage().is_integer()
    }

    /// Whether every dense layer stores `f32` weights (the batched path's case).
    pub(crate) fn all_f32(&self) -> bool {
        let layers = self.hidden.iter().chain([&self.head]);
        layers
            .into_iter()
            .all(|layer| layer.storage() == Storage::F32)
    }
}

/// One network of the model: the shared shapes over its own parameter words.
struct Network<'n, 'a> {
    ensemble: &'n Ensemble<'a>,
    words: Words<'a>,
}

impl<'a> Network<'_, 'a> {
    /// The hidden layers, input side first, over this network's words.
    fn hidden(&self) -> impl Iterator<Item = Dense<'a>> + '_ {
        self.ensemble
            .hidden
            .iter()
            .filter_map(|layer| layer.bind(self.words, self.ensemble.kernel))
    }

    /// The three heads as one layer: `K` logit rows, then `K D` mean and `K D` sigma rows.
    fn head(&self) -> Option<Dense<'a>> {
        self.ensemble.head.bind(self.words, self.ensemble.kernel)
    }

    /// Runs the hidden layers on `input` with `forward` (`f32` layers, or an integer
    /// network's on `int16` activations held in `i32` words), alternating between the two
    /// scratch buffers, and returns the last layer's outputs (`input` itself without hidden
    /// layers).
    ///
    /// Also returns the buffer the features are not in, free for the heads' outputs.
    fn hidden_layers<'s, T>(
        &self,
        input: &'s [T],
        ping: &'s mut [T],
        pong: &'s mut [T],
        forward: impl Fn(&Dense<'a>, &[T], &mut [T]),
    ) -> (&'s [T], &'s mut [T]) {
        for (i, layer) in self.hidden().enumerate() {
            match i {
                0 => forward(&layer, input, ping),
                _ if i % 2 == 1 => forward(&layer, ping, pong),
                _ => forward(&layer, pong, ping),
            }
        }
        match self.ensemble.hidden.len() {
            0 => (input, ping),
            n if n % 2 == 1 => (ping, pong),
            _ => (pong, ping),
        }
    }

    /// Writes the heads' raw outputs, as `run` computes them with the heads' layer, into one
    /// network's share of a mixture: `K` logits, `K` rows of means and of sigma
    /// pre-activations.
    ///
    /// The outputs go to `spare` (the hidden layers' free buffer) when they fit, else to a
    /// buffer as large as the capacities allow (`K + 2 K D <= 3 K D` values), zeroed only
    /// then: with `HostModel`'s capacities that is 24 KB per network and query.
    fn heads<const K: usize, const D: usize>(
        &self,
        spare: &mut [f32],
        (logits, means, sigmas): (&mut [f32], &mut [[f32; D]], &mut [[f32; D]]),
        run: impl FnOnce(&Dense<'a>, &mut [f32]),
    ) {
        let Some(head) = self.head() else {
            return;
        };
        let mut fallback;
        let outputs = match spare.get_mut(..head.bias.len()) {
            Some(outputs) => outputs,
            None => {
                fallback = [[[0.0_f32; D]; 3]; K];
                fallback.as_flattened_mut().as_flattened_mut()
            }
        };
        run(&head, outputs);
        let (k, dims) = (self.ensemble.components, self.ensemble.dims.max(1));
        let Some((raw_logits, rest)) = outputs.split_at_checked(k) else {
            return;
        };
        let Some((raw_means, raw_sigmas)) = rest.split_at_checked(k.saturating_mul(dims)) else {
            return;
        };
        for (logit, raw) in logits.iter_mut().zip(raw_logits) {
            *logit = *raw;
        }
        for (rows, raw) in [(means, raw_means), (sigmas, raw_sigmas)] {
            for (row, raw) in rows.iter_mut().zip(raw.chunks_exact(dims)) {
                for (value, raw) in row.iter_mut().zip(raw) {
                    *value = *raw;
                }
            }
        }
    }
}
