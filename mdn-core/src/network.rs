//! The network: input scaling, hidden layers and the three heads, evaluated over parameter
//! slices that point into the blob.
//!
//! Every slice is cut once, when the model is built, so evaluation runs over iterators whose
//! lengths were checked: no index, no bounds check, no failure.

use crate::{
    blob::from_word,
    error::{Error, Result},
    header::{Activation, Header, MAX_HIDDEN_LAYERS, SigmaTransform, TargetTransform, to_usize},
    math::{floor_at, log_softmax_in_place, log_sum_exp},
    mixture::{Mixture, component_log_densities, transform_target},
};

/// A parameter tensor: little-endian `f32` bit patterns inside the blob, 4-byte aligned.
type Words<'a> = &'a [u32];

#[inline(always)]
fn word(w: &u32) -> f32 {
    from_word(*w)
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
    /// `output[o] = sum_i W[o][i] * input[i] + b[o]`: the sum taken from `i = 0` upwards
    /// starting at `0.0`, the bias added last (as candle's `Linear`: matmul, then bias).
    /// `activation`, if any, is applied to each output as it is written.
    ///
    /// Rows go [`BLOCK`] at a time (see [`dot_block`]), so each input is loaded once for
    /// four accumulators; the one to three rows left over go one at a time ([`dot`]). A
    /// fan-in of one (the first layer of a one-input model) has no sum to share: `0.0 + w *
    /// x + b` row by row. Every output keeps its own left-to-right order, so the bits are
    /// those of the plain loop. Not generic and not `#[inline]`: it is compiled with
    /// mdn-core's own optimisation level, which a firmware can set to 3 while building the
    /// rest for size.
    fn forward(&self, input: &[f32], output: &mut [f32], activation: Option<Activation>) {
        let finish = |z: f32| match activation {
            Some(activation) => activation.apply(z),
            None => z,
        };
        let n = self.fan_in;
        // Exactly `n` inputs, so that the kernels' column blocks line up with the rows'.
        let Some(input) = input.get(..n) else {
            return;
        };
        if let [x] = *input {
            for ((w, b), out) in self.weights.iter().zip(self.bias).zip(output) {
                let mut acc = 0.0_f32;
                acc += word(w) * x;
                *out = finish(acc + word(b));
            }
            return;
        }
        // Zero tests LLVM can see spare `chunks_exact` its panic paths.
        if n == 0 {
            return;
        }
        // Chunk the outputs like the rows: as many outputs as the layer has rows.
        let rows = self.bias.len().min(output.len());
        let Some(output) = output.get_mut(..rows) else {
            return;
        };
        let (bias4, bias_rest) = self.bias.as_chunks::<BLOCK>();
        let (out4, out_rest) = output.as_chunks_mut::<BLOCK>();
        let mut blocks = self.weights.chunks_exact(n.saturating_mul(BLOCK));
        for ((block, bias), out) in blocks.by_ref().zip(bias4).zip(out4) {
            let Some(([r0, r1, r2], r3)) = split_rows(block, n) else {
                return;
            };
            let sums = dot_block([r0, r1, r2, r3], input);
            for ((out, sum), b) in out.iter_mut().zip(sums).zip(bias) {
                *out = finish(sum + word(b));
            }
        }
        let mut rows = blocks.remainder();
        for (b, out) in bias_rest.iter().zip(out_rest) {
            let Some((row, rest)) = rows.split_at_checked(n) else {
                return;
            };
            rows = rest;
            *out = finish(dot(row, input) + word(b));
        }
    }

    /// [`Dense::forward`] for [`LANES`] rows at once: `input[i][lane]` is input `i` of row
    /// `lane`. Each lane sums from `i = 0` upwards starting at `0.0` and adds the bias
    /// last, the order of the single-row kernel, so each lane has its bits.
    ///
    /// Four outputs go together, as in [`Dense::forward`]: each input block is loaded
    /// once for 4 x [`LANES`] independent sums, enough of them to keep a host's vector
    /// adders busy instead of waiting on one sum's chain of additions.
    fn forward_lanes(&self, input: &[Lanes], output: &mut [Lanes], activation: Option<Activation>) {
        let n = self.fan_in;
        if n == 0 {
            return;
        }
        let finish = |z: f32| match activation {
            Some(activation) => activation.apply(z),
            None => z,
        };
        let mut rows = self.weights.chunks_exact(n);
        let outputs = self.bias.len().min(output.len());
        let Some(output) = output.get_mut(..outputs) else {
            return;
        };
        let (bias4, bias_rest) = self.bias.as_chunks::<4>();
        let (out4, out_rest) = output.as_chunks_mut::<4>();
        for (bias, out) in bias4.iter().zip(out4) {
            let (Some(r0), Some(r1), Some(r2), Some(r3)) =
                (rows.next(), rows.next(), rows.next(), rows.next())
            else {
                return;
            };
            let mut acc = [[0.0_f32; LANES]; 4];
            for ((((w0, w1), w2), w3), x) in r0.iter().zip(r1).zip(r2).zip(r3).zip(input) {
                for (acc, w) in acc.iter_mut().zip([w0, w1, w2, w3]) {
                    let w = word(w);
                    for (a, &x) in acc.iter_mut().zip(x) {
                        *a += w * x;
                    }
                }
            }
            for ((out, acc), bias) in out.iter_mut().zip(acc).zip(bias) {
                let bias = word(bias);
                for (o, a) in out.iter_mut().zip(acc) {
                    *o = finish(a + bias);
                }
            }
        }
        for ((row, bias), out) in rows.zip(bias_rest).zip(out_rest) {
            let mut acc = [0.0_f32; LANES];
            for (w, x) in row.iter().zip(input) {
                let w = word(w);
                for (a, &x) in acc.iter_mut().zip(x) {
                    *a += w * x;
                }
            }
            let bias = word(bias);
            for (o, a) in out.iter_mut().zip(acc) {
                *o = finish(a + bias);
            }
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

/// Rows the batched path evaluates together.
pub(crate) const LANES: usize = 8;

/// One value per row of a block.
type Lanes = [f32; LANES];

/// Copies lane `lane` of `values` into `out`, and returns `out`.
fn column<'o>(values: &[Lanes], lane: usize, out: &'o mut [f32]) -> &'o mut [f32] {
    for (o, v) in out.iter_mut().zip(values) {
        *o = v.get(lane).copied().unwrap_or(0.0);
    }
    out
}

/// Rows [`Dense::forward`] takes together.
const BLOCK: usize = 4;

/// The first `N` rows of `n` values at the start of `weights`, and the rest.
#[inline(always)]
fn split_rows<const N: usize>(mut weights: &[u32], n: usize) -> Option<([&[u32]; N], &[u32])> {
    let mut rows = [weights; N];
    for row in &mut rows {
        (*row, weights) = weights.split_at_checked(n)?;
    }
    Some((rows, weights))
}

/// Columns the dot-product kernels take per step.
const COLUMNS: usize = 8;

/// [`BLOCK`] dot products of `input` with rows as long as it, each summed from index 0
/// upwards starting at `0.0`.
///
/// Each step takes [`COLUMNS`] columns, so that loads use immediate offsets and the loop
/// overhead is shared by 32 multiply-adds; within each accumulator the order of the
/// additions is unchanged, so the bits are those of the plain loop.
#[inline(always)]
fn dot_block(rows: [&[u32]; BLOCK], input: &[f32]) -> [f32; BLOCK] {
    let (x_main, x_rest) = input.as_chunks::<COLUMNS>();
    let mut acc = [0.0_f32; BLOCK];
    let [r0, r1, r2, r3] = rows.map(|r| r.as_chunks::<COLUMNS>());
    let main = r0.0.iter().zip(r1.0).zip(r2.0).zip(r3.0).zip(x_main);
    for ((((w0, w1), w2), w3), x) in main {
        let w = [w0, w1, w2, w3];
        // Spelled out: LLVM may keep a loop over the columns rolled, which costs a counter,
        // a compare and address arithmetic for every four multiply-adds.
        mac_column(&mut acc, w, x, 0);
        mac_column(&mut acc, w, x, 1);
        mac_column(&mut acc, w, x, 2);
        mac_column(&mut acc, w, x, 3);
        mac_column(&mut acc, w, x, 4);
        mac_column(&mut acc, w, x, 5);
        mac_column(&mut acc, w, x, 6);
        mac_column(&mut acc, w, x, 7);
    }
    let rest = r0.1.iter().zip(r1.1).zip(r2.1).zip(r3.1).zip(x_rest);
    for ((((w0, w1), w2), w3), &x) in rest {
        for (a, w) in acc.iter_mut().zip([w0, w1, w2, w3]) {
            *a += word(w) * x;
        }
    }
    acc
}

/// `acc[r] += rows[r][j] * x[j]` for each row `r`.
#[inline(always)]
fn mac_column(
    acc: &mut [f32; BLOCK],
    rows: [&[u32; COLUMNS]; BLOCK],
    x: &[f32; COLUMNS],
    j: usize,
) {
    let x = x.get(j).copied().unwrap_or(0.0);
    for (a, w) in acc.iter_mut().zip(rows) {
        *a += word(w.get(j).unwrap_or(&0)) * x;
    }
}

/// One dot product, summed from index 0 upwards starting at `0.0`, [`COLUMNS`] columns a
/// step.
#[inline(always)]
fn dot(row: &[u32], input: &[f32]) -> f32 {
    let (w_main, w_rest) = row.as_chunks::<COLUMNS>();
    let (x_main, x_rest) = input.as_chunks::<COLUMNS>();
    let mut acc = 0.0_f32;
    for (w, x) in w_main.iter().zip(x_main) {
        for (w, x) in w.iter().zip(x) {
            acc += word(w) * x;
        }
    }
    for (w, x) in w_rest.iter().zip(x_rest) {
        acc += word(w) * x;
    }
    acc
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
    /// Cuts `parameters` into tensors in the order of [`Layout`](crate::Layout) (FORMAT.md section 3):
    /// consecutive slices, without looking tensors up, to keep device code small.
    pub(crate) fn new(header: &Header<'_>, parameters: Words<'a>) -> Result<Self> {
        let mut rest = parameters;
        let mut take = |rows: usize, cols: usize| -> Result<Words<'a>> {
            let len = rows.checked_mul(cols).ok_or(Error::SizeOverflow)?;
            let (tensor, tail) =
                rest.split_at_checked(len)
                    .ok_or(Error::ParameterSizeMismatch {
                        expected: len.saturating_mul(4),
                        found: rest.len().saturating_mul(4),
                    })?;
            rest = tail;
            Ok(tensor)
        };
        let inputs = to_usize(header.input_dim)?;
        let dims = to_usize(header.output_dim)?;
        let components = to_usize(header.components)?;
        let head_rows = components.checked_mul(dims).ok_or(Error::SizeOverflow)?;
        let input_offset = take(1, inputs)?;
        let input_scale = take(1, inputs)?;
        let target_offset = take(1, dims)?;
        let target_scale = take(1, dims)?;
        let mut hidden = heapless::Vec::new();
        let mut fan_in = inputs;
        for &width in &header.hidden {
            let width = to_usize(width)?;
            let layer = Dense {
                weights: take(width, fan_in)?,
                bias: take(1, width)?,
                fan_in,
            };
            hidden.push(layer).map_err(|_| Error::SizeOverflow)?;
            fan_in = width;
        }
        let mut head = |rows| -> Result<Dense<'a>> {
            Ok(Dense {
                weights: take(rows, fan_in)?,
                bias: take(1, rows)?,
                fan_in,
            })
        };
        Ok(Network {
            input_offset,
            input_scale,
            target_offset,
            target_scale,
            hidden,
            logits: head(components)?,
            means: head(head_rows)?,
            sigmas: head(head_rows)?,
            activation: header.activation,
            sigma: header.sigma,
            sigma_floor: header.sigma_floor,
            transform: header.target_transform,
            inputs,
            components,
            dims,
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

    /// The predictive mixture for raw input `x`, in original target units.
    ///
    /// The caller guarantees that the model fits capacities `I`, `W`, `K`, `D` and that
    /// `x` has `inputs()` entries; under that contract no value is cut off.
    pub(crate) fn forward<const I: usize, const W: usize, const K: usize, const D: usize>(
        &self,
        x: &[f32],
    ) -> Mixture<K, D> {
        let mut mixture = Mixture::zeroed(self.components, self.dims, self.transform);
        self.fill::<I, W, K, D>(x, &mut mixture);
        mixture
    }

    /// `ln p(y|x)`: [`Mixture::log_prob`] of [`Network::forward`], under the same contract.
    ///
    /// The mixture stays in this frame: returned by value, its ~70 bytes would be copied.
    ///
    /// # Errors
    ///
    /// As [`Mixture::log_prob`].
    pub(crate) fn log_prob<const I: usize, const W: usize, const K: usize, const D: usize>(
        &self,
        x: &[f32],
        y: &[f32],
    ) -> Result<f32> {
        let mut mixture = Mixture::zeroed(self.components, self.dims, self.transform);
        self.fill::<I, W, K, D>(x, &mut mixture);
        mixture.log_prob(y)
    }

    /// Fills a zeroed `mixture` for raw input `x` (see [`Network::forward`]).
    fn fill<const I: usize, const W: usize, const K: usize, const D: usize>(
        &self,
        x: &[f32],
        mixture: &mut Mixture<K, D>,
    ) {
        let mut scaled = [0.0_f32; I];
        let scaler = self.input_offset.iter().zip(self.input_scale);
        for ((s, &raw), (offset, scale)) in scaled.iter_mut().zip(x).zip(scaler) {
            *s = (raw - word(offset)) / word(scale);
        }

        let mut ping = [0.0_f32; W];
        let mut pong = [0.0_f32; W];
        let activation = Some(self.activation);
        for (i, layer) in self.hidden.iter().enumerate() {
            match i {
                0 => layer.forward(&scaled, &mut ping, activation),
                _ if i % 2 == 1 => layer.forward(&ping, &mut pong, activation),
                _ => layer.forward(&pong, &mut ping, activation),
            }
        }
        let features: &[f32] = match self.hidden.len() {
            0 => &scaled,
            n if n % 2 == 1 => &ping,
            _ => &pong,
        };
        self.heads(features, mixture);
    }

    /// [`Network::forward`] with the approximate functions of [`crate::fast`]: the same
    /// dense layers and sums; `tanh`, the log-softmax and the sigma transform approximate.
    pub(crate) fn forward_fast<const I: usize, const W: usize, const K: usize, const D: usize>(
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
        // ReLU is exact and fused into the kernel; tanh is applied afterwards, approximately.
        let fused = match self.activation {
            Activation::Relu => Some(Activation::Relu),
            Activation::Tanh => None,
        };
        for (i, layer) in self.hidden.iter().enumerate() {
            let output: &mut [f32] = match i {
                0 => {
                    layer.forward(&scaled, &mut ping, fused);
                    &mut ping
                }
                _ if i % 2 == 1 => {
                    layer.forward(&ping, &mut pong, fused);
                    &mut pong
                }
                _ => {
                    layer.forward(&pong, &mut ping, fused);
                    &mut ping
                }
            };
            if fused.is_none() {
                let width = layer.bias.len().min(output.len());
                if let Some(output) = output.get_mut(..width) {
                    crate::fast::activate_in_place(self.activation, output);
                }
            }
        }
        let features: &[f32] = match self.hidden.len() {
            0 => &scaled,
            n if n % 2 == 1 => &ping,
            _ => &pong,
        };
        let mut mixture = Mixture::zeroed(self.components, self.dims, self.transform);
        self.head_outputs(features, &mut mixture);
        let (log_weights, means, sigmas) = mixture.parts_mut();
        if let Some(log_weights) = log_weights.get_mut(..self.components) {
            crate::fast::log_softmax_in_place(log_weights);
        }
        for (mean_row, sigma_row) in means.iter_mut().zip(sigmas.iter_mut()) {
            self.unscale_means(mean_row);
            crate::fast::sigmas_in_place(
                self.sigma,
                self.sigma_floor,
                sigma_row,
                self.target_scale,
            );
        }
        mixture
    }

    /// Writes the three heads' pre-activations for `features` (the last hidden layer's
    /// outputs, or the scaled input) into `mixture`: logits as log weights, means and sigmas
    /// in scaled target units.
    fn head_outputs<const K: usize, const D: usize>(
        &self,
        features: &[f32],
        mixture: &mut Mixture<K, D>,
    ) {
        let (log_weights, means, sigmas) = mixture.parts_mut();
        self.logits.forward(features, log_weights, None);
        if self.dims == D {
            // Rows of the mixture arrays are as long as the model's: one call per head.
            self.means.forward(features, means.as_flattened_mut(), None);
            self.sigmas
                .forward(features, sigmas.as_flattened_mut(), None);
        } else {
            for (row, head) in means.iter_mut().zip(self.means.groups(self.dims)) {
                head.forward(features, row, None);
            }
            for (row, head) in sigmas.iter_mut().zip(self.sigmas.groups(self.dims)) {
                head.forward(features, row, None);
            }
        }
    }

    /// Fills `mixture` from the last hidden layer's outputs (or the scaled input).
    fn heads<const K: usize, const D: usize>(&self, features: &[f32], mixture: &mut Mixture<K, D>) {
        self.head_outputs(features, mixture);
        let (log_weights, means, sigmas) = mixture.parts_mut();
        if let Some(log_weights) = log_weights.get_mut(..self.components) {
            log_softmax_in_place(log_weights);
        }
        for (mean_row, sigma_row) in means.iter_mut().zip(sigmas.iter_mut()) {
            self.unscale_means(mean_row);
            self.sigmas_from_pre_activations(sigma_row);
        }
    }

    /// `ln p(y|x)` of each row into `out`: row `r` is `xs[r * F..]` with `F = inputs()`
    /// values and `ys[r * D..]` with `D = dims()` values, [`LANES`] rows at a time.
    ///
    /// The hidden layers and the three heads run once per block of rows, each weight
    /// loaded once for every row, in loops the compiler vectorises across rows; each row's
    /// sums keep the order of [`Network::forward`]. Unscaling and the sigma transform are
    /// the single-row path's operations, element by element; the log-softmax, the target
    /// transform, the component densities and the log-sum-exp are the very functions
    /// [`Mixture::log_prob`] calls, on each row's values. So every row gets exactly the
    /// single-row bits. The caller guarantees the capacities, that `xs`, `ys` and `out` hold
    /// the same number of rows, and that every value is finite.
    pub(crate) fn log_prob_rows<const I: usize, const W: usize, const K: usize, const D: usize>(
        &self,
        xs: &[f32],
        ys: &[f32],
        out: &mut [f32],
    ) {
        let width = self.inputs.max(1);
        let dims = self.dims.max(1);
        let head_rows = self.components.saturating_mul(dims);
        // Head outputs in the model's row order, `k * dims + d`.
        let mut logits = [[0.0_f32; LANES]; K];
        let mut means = [[[0.0_f32; LANES]; D]; K];
        let mut sigmas = [[[0.0_f32; LANES]; D]; K];
        let blocks = xs
            .chunks(width * LANES)
            .zip(ys.chunks(dims * LANES))
            .zip(out.chunks_mut(LANES));
        for ((block, targets), out) in blocks {
            let mut scaled = [[0.0_f32; LANES]; I];
            // Lanes past the block's rows repeat its first row; their results are dropped.
            for (lane, x) in block
                .chunks_exact(width)
                .chain(core::iter::repeat(block))
                .take(LANES)
                .enumerate()
            {
                let scaler = self.input_offset.iter().zip(self.input_scale);
                for ((s, &raw), (offset, scale)) in scaled.iter_mut().zip(x).zip(scaler) {
                    if let Some(s) = s.get_mut(lane) {
                        *s = (raw - word(offset)) / word(scale);
                    }
                }
            }
            let mut ping = [[0.0_f32; LANES]; W];
            let mut pong = [[0.0_f32; LANES]; W];
            let activation = Some(self.activation);
            for (i, layer) in self.hidden.iter().enumerate() {
                match i {
                    0 => layer.forward_lanes(&scaled, &mut ping, activation),
                    _ if i % 2 == 1 => layer.forward_lanes(&ping, &mut pong, activation),
                    _ => layer.forward_lanes(&pong, &mut ping, activation),
                }
            }
            let features: &[Lanes] = match self.hidden.len() {
                0 => &scaled,
                n if n % 2 == 1 => &ping,
                _ => &pong,
            };
            let means = means.as_flattened_mut();
            let sigmas = sigmas.as_flattened_mut();
            self.logits.forward_lanes(features, &mut logits, None);
            self.means.forward_lanes(features, means, None);
            self.sigmas.forward_lanes(features, sigmas, None);
            let rows = means
                .chunks_exact_mut(dims)
                .zip(sigmas.chunks_exact_mut(dims));
            for (mean_row, sigma_row) in rows.take(self.components) {
                let target = self.target_offset.iter().zip(self.target_scale);
                for ((mean, sigma), (offset, scale)) in
                    mean_row.iter_mut().zip(sigma_row).zip(target)
                {
                    let (offset, scale) = (word(offset), word(scale));
                    for mu in mean {
                        *mu = *mu * scale + offset;
                    }
                    for z in sigma {
                        *z = floor_at(self.sigma.apply(*z), self.sigma_floor) * scale;
                    }
                }
            }
            for (lane, (y, out)) in targets.chunks_exact(dims).zip(out).enumerate() {
                let mut log_weights = [0.0_f32; K];
                let log_weights = column(&logits, lane, &mut log_weights);
                let log_weights = log_weights.get_mut(..self.components).unwrap_or(&mut []);
                log_softmax_in_place(log_weights);
                let mut point = [0.0_f32; D];
                let point = point.get_mut(..self.dims).unwrap_or(&mut []);
                let Some(jacobian) = transform_target(self.transform, y, point) else {
                    *out = f32::NEG_INFINITY;
                    continue;
                };
                let mut mu = [[0.0_f32; D]; K];
                let mut sigma = [[0.0_f32; D]; K];
                let heads = means.get(..head_rows).unwrap_or(&[]);
                column(heads, lane, mu.as_flattened_mut());
                let heads = sigmas.get(..head_rows).unwrap_or(&[]);
                column(heads, lane, sigma.as_flattened_mut());
                let mut per_component = [0.0_f32; K];
                component_log_densities(
                    log_weights,
                    mu.as_flattened(),
                    sigma.as_flattened(),
                    dims,
                    point,
                    &mut per_component,
                );
                let per_component = per_component.get(..self.components).unwrap_or(&[]);
                *out = log_sum_exp(per_component) - jacobian;
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

    /// `sigma = max(transform(z), floor) * scale`, in original target units.
    fn sigmas_from_pre_activations(&self, row: &mut [f32]) {
        for (sigma, scale) in row.iter_mut().zip(self.target_scale) {
            *sigma = floor_at(self.sigma.apply(*sigma), self.sigma_floor) * word(scale);
        }
    }
}
