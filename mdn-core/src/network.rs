//! The network: input scaling, then for each of the model's networks its hidden layers and
//! three heads, evaluated over parameter slices that point into the blob.
//!
//! The shared tensors are cut once, when the model is built, with the positions of every
//! layer within one network ([`Placement`]); each network's layers are bound to its words
//! with checked slicing when it is evaluated. Evaluation then runs over iterators whose
//! lengths were checked: no index, no failure.

use crate::{
    blob::from_word,
    error::{Error, Result},
    header::{Activation, Header, MAX_HIDDEN_LAYERS, SigmaTransform, TargetTransform, to_usize},
    kernel::{DotBlocks, HOST_STEP_BLOCKS, dot_blocks, host_dot_blocks},
    layout::{ROW_BLOCK, padded_rows},
    math::{floor_at, log_sum_exp, log_sum_exp_lanes, normal_log_density},
    mixture::{Mixture, transform_target},
};

/// A parameter tensor: little-endian `f32` bit patterns inside the blob, 4-byte aligned.
type Words<'a> = &'a [u32];

#[inline(always)]
fn word(w: &u32) -> f32 {
    from_word(*w)
}

/// A fully connected layer, `y = W x + b`, with `W` stored in blocks of [`ROW_BLOCK`] rows,
/// column after column (FORMAT.md section 3; [`Layout::stored_index`](crate::Layout)).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Dense<'a> {
    /// Whole blocks of `ROW_BLOCK * fan_in` words, zero rows past the last included.
    weights: Words<'a>,
    bias: Words<'a>,
    fan_in: usize,
    /// A kernel the model was given ([`crate::Model::set_kernel`]), else mdn-core's own.
    kernel: Kernel,
}

impl Dense<'_> {
    /// `output[o] = sum_i W[o][i] * input[i] + b[o]`: the sum taken from `i = 0` upwards
    /// starting at `0.0`, the bias added last (as candle's `Linear`: matmul, then bias).
    /// `activation`, if any, is applied to each output as it is written.
    ///
    /// Several blocks of [`ROW_BLOCK`] rows a step, each block's weights read front to
    /// back, each input loaded once for all their sums; then [`finish_block`] for each.
    /// A supplied kernel ([`Kernel`]) takes every pair of blocks. Else, on a Cortex-M two
    /// blocks a step ([`dot_blocks`]); on a host four while four remain, then two
    /// ([`host_dot_blocks`]). Every output keeps its own left-to-right order, so the bits
    /// are those of the plain loop whichever kernel runs. Not generic and not `#[inline]`:
    /// it is compiled with mdn-core's own optimisation level, which a firmware can set to 3
    /// while building the rest for size.
    fn forward(&self, input: &[f32], output: &mut [f32], activation: Option<Activation>) {
        let n = self.fan_in;
        // Exactly `n` inputs, so that each block's columns line up with them.
        let Some(input) = input.get(..n) else {
            return;
        };
        // A zero test LLVM can see spares `chunks_exact` its panic path.
        if n == 0 {
            return;
        }
        let mut blocks = self
            .weights
            .chunks_exact(n.saturating_mul(ROW_BLOCK))
            .map(|block| block.as_chunks::<ROW_BLOCK>().0);
        let mut outputs = output
            .chunks_mut(ROW_BLOCK)
            .zip(self.bias.chunks(ROW_BLOCK));
        // A host runs its own kernels unless it was given one; a Cortex-M always calls
        // `self.kernel`, so that a firmware that supplies a kernel links no other.
        let host_kernels = !self.kernel.supplied && !cfg!(target_os = "none");
        if host_kernels {
            // A host: four blocks a step while four remain ([`HOST_STEP_BLOCKS`]).
            while blocks.len() >= HOST_STEP_BLOCKS {
                let step = core::array::from_fn(|_| blocks.next().unwrap_or_default());
                for sums in &host_dot_blocks::<HOST_STEP_BLOCKS>(step, input) {
                    if let Some((out, bias)) = outputs.next() {
                        finish_block(out, sums, bias, activation);
                    }
                }
            }
        }
        // Two blocks a step (a Cortex-M's whole layer; a host's last one to three blocks).
        // An odd last block goes with itself, its second sums dropped: on a Cortex-M one
        // kernel and one epilogue in flash, at the cost of the repeated block's
        // multiply-adds (none for the 1-32-32 K = 5 model, whose layers have 4, 4 and 2
        // blocks).
        while let Some(block) = blocks.next() {
            let next = blocks.next();
            let pair = [block, next.unwrap_or(block)];
            let [sums, next_sums] = if host_kernels {
                host_dot_blocks(pair, input)
            } else {
                (self.kernel.dot_blocks)(pair, input)
            };
            if let Some((out, bias)) = outputs.next() {
                finish_block(out, &sums, bias, activation);
            }
            if next.is_none() {
                return;
            }
            if let Some((out, bias)) = outputs.next() {
                finish_block(out, &next_sums, bias, activation);
            }
        }
    }

    /// [`Dense::forward`] for [`LANES`] rows at once: `input[i][lane]` is input `i` of row
    /// `lane`, and the layer's outputs go to `outputs` in order. Each lane sums from `i =
    /// 0` upwards starting at `0.0` and adds the bias last, the order of the single-row
    /// kernel, so each lane has its bits.
    ///
    /// Two outputs go together: each input's [`LANES`] values are loaded once for
    /// 2 x [`LANES`] independent sums, and each weight is broadcast once for [`LANES`] rows.
    /// With SSE2 that is eight 4-wide accumulators ([`sums_lanes`]), which keep a host's
    /// vector adders busy instead of waiting on one sum's chain of additions, and still fit
    /// its 16 registers (four outputs spilled them to the stack: slower). A last odd output
    /// goes alone ([`sum_lanes`]).
    fn forward_lanes<'o>(
        &self,
        input: &[Lanes],
        outputs: impl IntoIterator<Item = &'o mut Lanes>,
        activation: Option<Activation>,
    ) {
        let n = self.fan_in;
        if n == 0 {
            return;
        }
        let write = |out: &mut Lanes, acc: &Lanes, bias: &u32| {
            let bias = word(bias);
            for (o, &a) in out.iter_mut().zip(acc) {
                *o = activate(a + bias, activation);
            }
        };
        let mut outputs = outputs.into_iter().zip(self.bias);
        for block in self.weights.chunks_exact(n.saturating_mul(ROW_BLOCK)) {
            let (columns, _) = block.as_chunks::<ROW_BLOCK>();
            for row in (0..ROW_BLOCK).step_by(2) {
                let Some((out0, bias0)) = outputs.next() else {
                    return;
                };
                let Some((out1, bias1)) = outputs.next() else {
                    write(out0, &sum_lanes(columns, row, input), bias0);
                    return;
                };
                let [acc0, acc1] = sums_lanes(columns, row, input);
                write(out0, &acc0, bias0);
                write(out1, &acc1, bias1);
            }
        }
    }
}

/// Rows the batched path evaluates together: with 16, 1024 rows of the 1-32-32 K = 5
/// benchmark model took about 10% less time than with 8 (x86_64, SSE2): each weight is
/// broadcast for more rows, and more independent `expf` calls overlap.
pub(crate) const LANES: usize = 16;

/// One value per row of a block.
type Lanes = [f32; LANES];

/// The dot products of rows `row` and `row + 1` of a block (`columns[i]` holds its
/// weights for input `i`) with `input` in every lane, each summed from index 0 upwards
/// starting at `0.0`.
///
/// Out of line, like [`sum_lanes`], so that the compiler keeps the 2 x [`LANES`] sums in
/// registers whatever the caller does with them: inlined into [`Dense::forward_lanes`],
/// small changes there made it keep them on the stack or in registers out of step with
/// the lanes (one such build of the batched path took 1.3 times as long).
#[inline(never)]
fn sums_lanes(columns: &[[u32; ROW_BLOCK]], row: usize, input: &[Lanes]) -> [Lanes; 2] {
    let mut acc = [[0.0_f32; LANES]; 2];
    for (column, x) in columns.iter().zip(input) {
        let Some(&[w0, w1]) = column.get(row..row.saturating_add(2)) else {
            break;
        };
        mac_lanes(&mut acc[0], from_word(w0), x);
        mac_lanes(&mut acc[1], from_word(w1), x);
    }
    acc
}

/// [`sums_lanes`] for one row.
#[inline(never)]
fn sum_lanes(columns: &[[u32; ROW_BLOCK]], row: usize, input: &[Lanes]) -> Lanes {
    let mut acc = [0.0_f32; LANES];
    for (column, x) in columns.iter().zip(input) {
        let Some(w) = column.get(row) else {
            break;
        };
        mac_lanes(&mut acc, word(w), x);
    }
    acc
}

/// `acc[lane] += w * x[lane]` in every lane.
#[inline(always)]
fn mac_lanes(acc: &mut Lanes, w: f32, x: &Lanes) {
    for (a, &x) in acc.iter_mut().zip(x) {
        *a += w * x;
    }
}

/// `activation(z)`, or `z` for a layer without one (the heads).
#[inline(always)]
fn activate(z: f32, activation: Option<Activation>) -> f32 {
    match activation {
        Some(activation) => activation.apply(z),
        None => z,
    }
}

/// `out[r] = activation(sums[r] + bias[r])` for the rows of one block that exist (a
/// layer's last block may have fewer than [`ROW_BLOCK`]).
#[inline(always)]
fn finish_block(
    out: &mut [f32],
    sums: &[f32; ROW_BLOCK],
    bias: &[u32],
    activation: Option<Activation>,
) {
    let finish = |out: &mut f32, sum: &f32, b: &u32| *out = activate(sum + word(b), activation);
    // A whole block (every block but perhaps a layer's last) in straight-line code, with no
    // length check per output: 220 fewer instructions per 1-32-32 evaluation on a
    // Cortex-M4F, for about 650 bytes of flash.
    let whole = (
        out.first_chunk_mut::<ROW_BLOCK>(),
        bias.first_chunk::<ROW_BLOCK>(),
    );
    if let (Some(out), Some(bias)) = whole {
        for ((out, sum), b) in out.iter_mut().zip(sums).zip(bias) {
            finish(out, sum, b);
        }
        return;
    }
    for ((out, sum), b) in out.iter_mut().zip(sums).zip(bias) {
        finish(out, sum, b);
    }
}

/// Where a dense layer's tensors lie in a network's parameters: weights at
/// `start..bias`, biases at `bias..end`.
#[derive(Debug, Clone, Copy, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
struct Placement {
    start: usize,
    bias: usize,
    end: usize,
    fan_in: usize,
}

impl Placement {
    /// The layer over one network's parameter words (`None` only if they are too short,
    /// which [`Network::new`] ruled out).
    fn bind<'a>(&self, words: Words<'a>, kernel: Kernel) -> Option<Dense<'a>> {
        Some(Dense {
            weights: words.get(self.start..self.bias)?,
            bias: words.get(self.bias..self.end)?,
            fan_in: self.fan_in,
            kernel,
        })
    }
}

/// One network of the model: the shared shapes over its own parameter words.
struct Member<'n, 'a> {
    network: &'n Network<'a>,
    words: Words<'a>,
}

impl<'a> Member<'_, 'a> {
    /// The hidden layers, input side first, over this network's words.
    fn hidden(&self) -> impl Iterator<Item = Dense<'a>> + '_ {
        self.network
            .hidden
            .iter()
            .filter_map(|layer| layer.bind(self.words, self.network.kernel))
    }

    /// The three heads as one layer: `K` logit rows, then `K D` mean and `K D` sigma rows.
    fn head(&self) -> Option<Dense<'a>> {
        self.network.head.bind(self.words, self.network.kernel)
    }

    /// Runs the hidden layers on `input`, alternating between the two scratch buffers, and
    /// returns the last layer's outputs (`input` itself without hidden layers).
    ///
    /// Also returns the buffer the features are not in, free for the heads' outputs.
    fn features<'s>(
        &self,
        input: &'s [f32],
        ping: &'s mut [f32],
        pong: &'s mut [f32],
    ) -> (&'s [f32], &'s mut [f32]) {
        let activation = Some(self.network.activation);
        for (i, layer) in self.hidden().enumerate() {
            match i {
                0 => layer.forward(input, ping, activation),
                _ if i % 2 == 1 => layer.forward(ping, pong, activation),
                _ => layer.forward(pong, ping, activation),
            }
        }
        match self.network.hidden.len() {
            0 => (input, ping),
            n if n % 2 == 1 => (ping, pong),
            _ => (pong, ping),
        }
    }

    /// [`Member::features`] for [`LANES`] rows at once.
    fn features_lanes<'s>(
        &self,
        input: &'s [Lanes],
        ping: &'s mut [Lanes],
        pong: &'s mut [Lanes],
        activation: Activation,
    ) -> &'s [Lanes] {
        let activation = Some(activation);
        for (i, layer) in self.hidden().enumerate() {
            match i {
                0 => layer.forward_lanes(input, &mut *ping, activation),
                _ if i % 2 == 1 => layer.forward_lanes(ping, &mut *pong, activation),
                _ => layer.forward_lanes(pong, &mut *ping, activation),
            }
        }
        match self.network.hidden.len() {
            0 => input,
            n if n % 2 == 1 => ping,
            _ => pong,
        }
    }

    /// Writes the heads' raw outputs for `features` into one network's share of a
    /// mixture: `K` logits, `K` rows of means and of sigma pre-activations.
    ///
    /// The outputs go to `spare` (the hidden layers' free buffer) when they fit, else to a
    /// buffer as large as the capacities allow (`K + 2 K D <= 3 K D` values), zeroed only
    /// then: with `HostModel`'s capacities that is 24 KB per network and query.
    fn heads<const K: usize, const D: usize>(
        &self,
        features: &[f32],
        spare: &mut [f32],
        logits: &mut [f32],
        means: &mut [[f32; D]],
        sigmas: &mut [[f32; D]],
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
        head.forward(features, outputs, None);
        let (k, dims) = (self.network.components, self.network.dims.max(1));
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

/// The evaluable model of a validated blob: shared scalers and `M` networks.
///
/// The networks share one set of [`Placement`]s, bound to each network's words when it is
/// evaluated, so the model stays small on a device's stack whatever `M` is.
#[derive(Debug, Clone)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) struct Network<'a> {
    input_offset: Words<'a>,
    input_scale: Words<'a>,
    target_offset: Words<'a>,
    target_scale: Words<'a>,
    member_log_weights: Words<'a>,
    /// Every network's parameters, `member_len` words each, in blob order.
    members: Words<'a>,
    member_len: usize,
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

/// The dense layers' kernel for two blocks of rows: mdn-core's portable [`dot_blocks`],
/// or one supplied with [`crate::Model::set_kernel`].
///
/// A pointer, set when the model is built, rather than a choice in [`Dense::forward`]: a
/// firmware that supplies its kernel right after validation then links no other (the
/// compiler drops the portable kernel's address when it is overwritten), which kept the
/// 1-32-32 `minimal` within its 20 KB of flash.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Kernel {
    dot_blocks: DotBlocks,
    /// A host runs its own four-block kernel only for mdn-core's.
    supplied: bool,
}

impl Default for Kernel {
    fn default() -> Self {
        Self {
            dot_blocks,
            supplied: false,
        }
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Kernel {
    fn format(&self, f: defmt::Formatter<'_>) {
        let name = if self.supplied {
            "supplied"
        } else {
            "mdn-core's"
        };
        defmt::write!(f, "{=str} kernel", name);
    }
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

impl<'a> Network<'a> {
    /// Cuts `parameters` into the shared tensors and `M` equal networks in the order of
    /// [`Layout`](crate::Layout) (FORMAT.md section 3), with arithmetic rather than tensor
    /// look-ups, to keep device code small.
    pub(crate) fn new(header: &Header<'_>, parameters: Words<'a>) -> Result<Self> {
        let mut rest = parameters;
        let inputs = to_usize(header.input_dim)?;
        let dims = to_usize(header.output_dim)?;
        let components = to_usize(header.components)?;
        let members = to_usize(header.members)?;
        let mut hidden = heapless::Vec::new();
        let mut member_len = 0_usize;
        let mut fan_in = inputs;
        // `Layout::new` checked every size of this header (the blob was validated against
        // it), so this arithmetic cannot overflow.
        let mut place = |outputs: usize, fan_in: usize| {
            let start = member_len;
            let bias = start.wrapping_add(padded_rows(outputs).wrapping_mul(fan_in));
            member_len = bias.wrapping_add(outputs);
            Placement {
                start,
                bias,
                end: member_len,
                fan_in,
            }
        };
        for &width in &header.hidden {
            let width = to_usize(width)?;
            hidden
                .push(place(width, fan_in))
                .map_err(|_| Error::SizeOverflow)?;
            fan_in = width;
        }
        let head_rows = components.wrapping_mul(dims).wrapping_mul(2);
        let head = place(components.wrapping_add(head_rows), fan_in);
        let networks = member_len.wrapping_mul(members);
        Ok(Network {
            input_offset: take(&mut rest, inputs)?,
            input_scale: take(&mut rest, inputs)?,
            target_offset: take(&mut rest, dims)?,
            target_scale: take(&mut rest, dims)?,
            member_log_weights: take(&mut rest, members)?,
            members: take(&mut rest, networks)?,
            member_len,
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
        self.kernel = Kernel {
            dot_blocks: kernel,
            supplied: true,
        };
    }

    /// The networks in blob order.
    fn networks(&self) -> impl Iterator<Item = Member<'_, 'a>> + '_ {
        // `max(1)`: every network has heads, so `member_len > 0`; this lets the compiler
        // see it (`chunks_exact(0)` panics).
        let chunks = self.members.chunks_exact(self.member_len.max(1));
        chunks.map(|words| Member {
            network: self,
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
            .saturating_mul(self.member_log_weights.len())
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

    /// `ln p(y|x)`: [`Mixture::log_prob`] of [`Network::forward`], under the same contract.
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
        for (member, ((logits, means), sigmas)) in self.networks().zip(shares) {
            let (features, spare) = member.features(&scaled, &mut ping, &mut pong);
            member.heads::<K, D>(features, spare, logits, means, sigmas);
        }
        let log_weights = log_weights.get_mut(..components).unwrap_or(&mut []);
        self.mix(log_weights);
        let rows = means.iter_mut().zip(sigmas.iter_mut()).take(components);
        for (mean_row, sigma_row) in rows {
            self.unscale_means(mean_row);
            self.sigmas_from_pre_activations(sigma_row);
        }
    }

    /// Turns every network's logits into mixture log weights in place:
    /// `(l_mk - lse(l_m)) + w_m`, each network's `K` values at a time.
    fn mix(&self, log_weights: &mut [f32]) {
        let shares = log_weights.chunks_mut(self.components.max(1));
        for (share, weight) in shares.zip(self.member_log_weights) {
            let (lse, weight) = (log_sum_exp(share), word(weight));
            for v in share {
                *v = (*v - lse) + weight;
            }
        }
    }

    /// `ln p(y|x)` of each row into `out`: row `r` is `xs[r * F..]` with `F = inputs()`
    /// values and `ys[r * D..]` with `D = dims()` values, [`LANES`] rows at a time.
    ///
    /// The hidden layers and the heads run once per block of rows, each weight
    /// loaded once for every row, in loops the compiler vectorises across rows; each row's
    /// sums keep the order of [`Network::forward`]. The mixture follows across the rows
    /// too, each step for every row of the block before the next starts, so that the
    /// rows' independent `expf` and `logf` calls overlap: unscaling and the sigma
    /// transform; the mixing weights as [`Network::mix`] forms them, with
    /// [`log_sum_exp_lanes`]; the target transform of each row ([`transform_target`]); the
    /// component densities summed as
    /// [`component_log_densities`](crate::mixture::component_log_densities) sums them; the
    /// final log-sum-exp. Each row takes exactly the single-row operations in their order,
    /// so it gets the bits of [`Mixture::log_prob`] of [`Network::forward`]
    /// (`mdn-core/tests/batch.rs`). The caller guarantees the capacities, that `xs`, `ys`
    /// and `out` hold the same number of rows, and that every value is finite.
    pub(crate) fn log_prob_rows<const I: usize, const W: usize, const K: usize, const D: usize>(
        &self,
        xs: &[f32],
        ys: &[f32],
        out: &mut [f32],
    ) {
        let width = self.inputs.max(1);
        let dims = self.dims.max(1);
        let components = self.mixture_components();
        let k = self.components.max(1);
        // Every buffer is written before it is read, block after block: zeroed once.
        let mut scaled = [[0.0_f32; LANES]; I];
        let mut ping = [[0.0_f32; LANES]; W];
        let mut pong = [[0.0_f32; LANES]; W];
        // Head outputs of every network in the mixture's row order, `k * dims + d`.
        let mut logits = [[0.0_f32; LANES]; K];
        let mut means = [[[0.0_f32; LANES]; D]; K];
        let mut sigmas = [[[0.0_f32; LANES]; D]; K];
        let mut points = [[0.0_f32; D]; LANES];
        let mut jacobians = [None; LANES];
        let blocks = xs
            .chunks(width * LANES)
            .zip(ys.chunks(dims * LANES))
            .zip(out.chunks_mut(LANES));
        for ((block, targets), out) in blocks {
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
            let shares = logits
                .chunks_mut(k)
                .zip(means.as_flattened_mut().chunks_mut(k * dims))
                .zip(sigmas.as_flattened_mut().chunks_mut(k * dims));
            for (member, ((logits, means), sigmas)) in self.networks().zip(shares) {
                let features =
                    member.features_lanes(&scaled, &mut ping, &mut pong, self.activation);
                if let Some(head) = member.head() {
                    let outputs = logits.iter_mut().chain(means).chain(sigmas);
                    head.forward_lanes(features, outputs, None);
                }
            }
            let means = means.as_flattened_mut();
            let sigmas = sigmas.as_flattened_mut();
            let rows = means
                .chunks_exact_mut(dims)
                .zip(sigmas.chunks_exact_mut(dims));
            for (mean_row, sigma_row) in rows.take(components) {
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
            let shares = logits.chunks_mut(k).zip(self.member_log_weights);
            for (share, weight) in shares {
                let (lse, weight) = (log_sum_exp_lanes(share), word(weight));
                for row in share {
                    for (v, lse) in row.iter_mut().zip(lse) {
                        *v = (*v - lse) + weight;
                    }
                }
            }
            let lanes = targets
                .chunks_exact(dims)
                .zip(&mut points)
                .zip(&mut jacobians);
            for ((y, point), jacobian) in lanes {
                let point = point.get_mut(..self.dims).unwrap_or(&mut []);
                *jacobian = transform_target(self.transform, y, point);
            }
            // `log_weight + sum_d ln N(point_d; mu_kd, sigma_kd)`, the sum from `d = 0`
            // starting at `0.0`, as `component_log_densities` takes it for one row.
            let heads = means.chunks_exact(dims).zip(sigmas.chunks_exact(dims));
            for (log_weights, (mu, sigma)) in logits.iter_mut().zip(heads).take(components) {
                let mut sums = [0.0_f32; LANES];
                for (d, (mu, sigma)) in mu.iter().zip(sigma).enumerate() {
                    let lanes = sums.iter_mut().zip(&points).zip(mu.iter().zip(sigma));
                    for ((sum, point), (&mu, &sigma)) in lanes {
                        let t = point.get(d).copied().unwrap_or(0.0);
                        *sum += normal_log_density(t, mu, sigma);
                    }
                }
                for (w, sum) in log_weights.iter_mut().zip(sums) {
                    *w += sum;
                }
            }
            let lse = log_sum_exp_lanes(logits.get(..components).unwrap_or(&[]));
            for ((out, lse), jacobian) in out.iter_mut().zip(lse).zip(&jacobians) {
                *out = match jacobian {
                    Some(jacobian) => lse - jacobian,
                    None => f32::NEG_INFINITY,
                };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Layout, TensorName};

    /// A value in `[-4, 4)` with a full random mantissa, from a 64-bit LCG state.
    fn draw(state: &mut u64) -> f32 {
        *state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((*state >> 40) as f32 / (1_u32 << 24) as f32) * 8.0 - 4.0
    }

    /// The plain loop of FORMAT.md section 5 over a row-major `w`: `acc = 0.0; acc = acc +
    /// w[r][c] * x[c]` from `c = 0`, then the bias, then the activation.
    fn plain(w: &[f32], b: f32, x: &[f32], activation: Option<Activation>) -> f32 {
        let mut acc = 0.0_f32;
        for (w, x) in w.iter().zip(x) {
            acc += w * x;
        }
        let z = acc + b;
        match activation {
            None => z,
            Some(Activation::Relu) => {
                if z > 0.0 {
                    z
                } else {
                    0.0
                }
            }
            Some(Activation::Tanh) => libm::tanhf(z),
        }
    }

    /// `Dense::forward` and `Dense::forward_lanes` give the plain loop's bits for every
    /// number of rows from 1 to 72 (one to nine blocks: a host's four-block step none to
    /// twice, followed by none to three blocks; whole and partial) and every fan-in from 1
    /// to 17 (odd and even column counts), write nothing past the layer's rows into a
    /// longer output buffer, and fill a shorter one with the rows that fit. The portable
    /// kernel (`dot_blocks`, a Cortex-M's default) gives the host kernel's sums, and the
    /// layer run through it as a supplied kernel gives the same outputs
    /// (`tests/kernel.rs` checks that a supplied kernel takes every pair of blocks).
    #[test]
    fn kernels_give_the_plain_loop_bits() {
        const MAX_ROWS: usize = 72;
        const MAX_IN: usize = 17;
        let mut state = 7_u64;
        for rows in 1..=MAX_ROWS {
            for fan_in in 1..=MAX_IN {
                let mut w = [0.0_f32; MAX_ROWS * MAX_IN];
                let mut b = [0.0_f32; MAX_ROWS];
                let mut x = [[0.0_f32; LANES]; MAX_IN];
                w.iter_mut().for_each(|v| *v = draw(&mut state));
                b.iter_mut().for_each(|v| *v = draw(&mut state));
                x.iter_mut().flatten().for_each(|v| *v = draw(&mut state));
                // FORMAT.md section 3.1, written out here: blocks of 8 rows, column by
                // column, zero rows to fill the last block.
                let mut words = [0_u32; MAX_ROWS.div_ceil(8) * 8 * MAX_IN];
                for r in 0..rows {
                    for c in 0..fan_in {
                        words[(r / 8) * 8 * fan_in + c * 8 + r % 8] = w[r * fan_in + c].to_bits();
                    }
                }
                let bias = b.map(f32::to_bits);
                let dense = Dense {
                    weights: &words[..rows.div_ceil(8) * 8 * fan_in],
                    bias: &bias[..rows],
                    fan_in,
                    kernel: Kernel::default(),
                };
                // The same layer with a supplied kernel: every pair of blocks through it.
                let supplied = Dense {
                    kernel: Kernel {
                        dot_blocks,
                        supplied: true,
                    },
                    ..dense
                };
                let row = |r: usize| &w[r * fan_in..(r + 1) * fan_in];
                let blocks = || {
                    dense
                        .weights
                        .chunks(8 * fan_in)
                        .map(|block| block.as_chunks::<8>().0)
                };
                let first_lane = x.map(|x| x[0]);
                for (a, b) in blocks().zip(blocks().skip(1).chain(blocks().take(1))) {
                    let bits = |sums: [[f32; 8]; 2]| sums.map(|s| s.map(f32::to_bits));
                    assert_eq!(
                        bits(dot_blocks([a, b], &first_lane[..fan_in])),
                        bits(host_dot_blocks([a, b], &first_lane[..fan_in])),
                        "{rows}x{fan_in}"
                    );
                }
                for activation in [None, Some(Activation::Relu), Some(Activation::Tanh)] {
                    let lane = |l: usize| -> [f32; MAX_IN] { x.map(|x| x[l]) };
                    let mut out = [f32::MAX; MAX_ROWS + 9];
                    dense.forward(&lane(0)[..fan_in], &mut out, activation);
                    let mut through_supplied = [f32::MAX; MAX_ROWS + 9];
                    supplied.forward(&lane(0)[..fan_in], &mut through_supplied, activation);
                    assert_eq!(
                        out.map(f32::to_bits),
                        through_supplied.map(f32::to_bits),
                        "{rows}x{fan_in}"
                    );
                    for r in 0..rows {
                        let expected = plain(row(r), b[r], &lane(0)[..fan_in], activation);
                        assert_eq!(
                            out[r].to_bits(),
                            expected.to_bits(),
                            "{rows}x{fan_in} row {r}"
                        );
                    }
                    assert!(
                        out[rows..].iter().all(|&v| v == f32::MAX),
                        "{rows}x{fan_in}"
                    );
                    let mut short = [f32::MAX; MAX_ROWS];
                    dense.forward(&lane(0)[..fan_in], &mut short[..rows / 2], activation);
                    let same_as_out = |v: &[f32]| {
                        v.iter()
                            .map(|v| v.to_bits())
                            .eq(out[..rows / 2].iter().map(|v| v.to_bits()))
                    };
                    assert!(same_as_out(&short[..rows / 2]), "{rows}x{fan_in}");
                    assert!(short[rows / 2..].iter().all(|&v| v == f32::MAX));

                    let mut lanes = [[f32::MAX; LANES]; MAX_ROWS + 9];
                    dense.forward_lanes(&x[..fan_in], &mut lanes, activation);
                    for (r, found) in lanes.iter().enumerate().take(rows) {
                        for (l, found) in found.iter().enumerate() {
                            let expected = plain(row(r), b[r], &lane(l)[..fan_in], activation);
                            assert_eq!(
                                found.to_bits(),
                                expected.to_bits(),
                                "{rows}x{fan_in} {r} {l}"
                            );
                        }
                    }
                    let tail = lanes[rows..].iter().flatten();
                    assert!(tail.clone().all(|&v| v == f32::MAX), "{rows}x{fan_in}");
                }
            }
        }
    }

    /// Every network's placements, shifted by its index times `member_len`, put each
    /// parameter where `Layout::stored_index` stores it: the evaluator's arithmetic and the
    /// one definition of the order agree, value by value.
    #[test]
    fn placements_are_the_layout_offsets() {
        let mut header = crate::doc_example_header();
        for (hidden, members, k) in [(&[3_u32][..], 1, 2), (&[9, 2][..], 3, 3), (&[][..], 2, 5)] {
            header.hidden = crate::HiddenWidths::from_slice(hidden).unwrap();
            header.members = members;
            header.components = k;
            header.output_dim = 2;
            header.target_names = crate::Names::new("a\nb");
            let layout = Layout::new(&header).unwrap();
            let words = [0_u32; 1024];
            let parameters = &words[..layout.stored_count()];
            let network = Network::new(&header, parameters).unwrap();
            let shared = 2 * (1 + 2) + members as usize;
            assert_eq!(
                shared + network.member_len * members as usize,
                layout.stored_count()
            );
            let mut seen = [false; 1024];
            for tensor in layout.tensors() {
                for e in 0..tensor.len() {
                    let stored = layout.stored_index(tensor.offset + e).unwrap();
                    assert!(!seen[stored], "{tensor}[{e}] stored twice");
                    seen[stored] = true;
                    let Some(m) = tensor.member else {
                        assert_eq!(stored, tensor.offset + e, "{tensor}");
                        continue;
                    };
                    let placement = match tensor.name {
                        TensorName::HiddenWeight(i) | TensorName::HiddenBias(i) => {
                            network.hidden[i]
                        }
                        _ => network.head,
                    };
                    // The tensor's first row within its layer (the heads share one).
                    let k = k as usize;
                    let first_row = match tensor.name {
                        TensorName::MeansWeight | TensorName::MeansBias => k,
                        TensorName::SigmasWeight | TensorName::SigmasBias => k + k * 2,
                        _ => 0,
                    };
                    let within = match tensor.name {
                        TensorName::HiddenBias(_)
                        | TensorName::LogitsBias
                        | TensorName::MeansBias
                        | TensorName::SigmasBias => placement.bias + first_row + e,
                        _ => {
                            let (row, col) = (first_row + e / tensor.cols, e % tensor.cols);
                            let n = placement.fan_in;
                            placement.start + (row / 8) * 8 * n + col * 8 + row % 8
                        }
                    };
                    assert_eq!(
                        stored,
                        shared + m * network.member_len + within,
                        "{tensor}[{e}]"
                    );
                }
            }
            // What no value was stored at is padding: whole rows of each layer's last block.
            let padding = seen[..layout.stored_count()]
                .iter()
                .filter(|s| !**s)
                .count();
            assert_eq!(padding, layout.stored_count() - layout.parameter_count());
        }
    }
}
