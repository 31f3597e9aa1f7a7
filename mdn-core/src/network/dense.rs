//! A dense layer over its parameter words, where its tensors lie in a network's words, and
//! the kernel its multiply-adds run through.

use super::{Words, word};
use crate::{
    header::{Activation, Storage},
    kernel::{DotBlocks, HOST_STEP_BLOCKS, dot_blocks, host_dot_blocks},
    layout::ROW_BLOCK,
};

/// A fully connected layer, `y = W x + b`, with `W` stored in blocks of [`ROW_BLOCK`] rows,
/// column after column (FORMAT.md section 3; [`Layout::stored_position`](crate::Layout::stored_position)).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Dense<'a> {
    /// Whole blocks of `ROW_BLOCK * fan_in` weights, zero rows past the last included,
    /// each weight in `storage`'s bytes.
    pub(super) weights: Words<'a>,
    /// One factor per row for `int8` and `int8-int16`, else empty.
    #[cfg_attr(
        not(any(feature = "int8", feature = "int16")),
        allow(dead_code, reason = "read by int8 and int8-int16 layers")
    )]
    pub(super) scales: Words<'a>,
    pub(super) bias: Words<'a>,
    pub(super) storage: Storage,
    pub(super) fan_in: usize,
    /// A kernel the model was given ([`crate::Model::set_kernel`]), else mdn-core's own.
    pub(super) kernel: Kernel,
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
    pub(super) fn forward(
        &self,
        input: &[f32],
        output: &mut [f32],
        activation: Option<Activation>,
    ) {
        match self.storage.as_built() {
            Storage::F32 => self.forward_f32(input, output, activation),
            #[cfg(feature = "f16")]
            Storage::F16 => self.forward_packed::<u16>(input, output, activation),
            #[cfg(feature = "int8")]
            Storage::Int8 => self.forward_packed::<i8>(input, output, activation),
            // Validation refuses a storage this build leaves out.
            #[allow(unreachable_patterns, reason = "reachable without the features")]
            _ => {}
        }
    }

    /// [`Dense::forward`] for `f32` weights, through the layer's kernel.
    fn forward_f32(&self, input: &[f32], output: &mut [f32], activation: Option<Activation>) {
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
}

/// A packed weight type: `f16` bits or an `int8`, and the exact `f32` values of one
/// column of a block.
#[cfg(any(feature = "f16", feature = "int8"))]
trait Packed: bytemuck::Pod {
    fn widen_column(column: &[Self; ROW_BLOCK]) -> [f32; ROW_BLOCK];
}

#[cfg(feature = "f16")]
impl Packed for u16 {
    #[inline(always)]
    fn widen_column(column: &[u16; ROW_BLOCK]) -> [f32; ROW_BLOCK] {
        column.map(|h| crate::half::widen(u16::from_le(h)))
    }
}

#[cfg(feature = "int8")]
impl Packed for i8 {
    #[inline(always)]
    fn widen_column(column: &[i8; ROW_BLOCK]) -> [f32; ROW_BLOCK] {
        column.map(f32::from)
    }
}

#[cfg(any(feature = "f16", feature = "int8"))]
impl Dense<'_> {
    /// [`Dense::forward`] for weights packed as `T`: the same sums, each weight widened
    /// exactly, one block of [`ROW_BLOCK`] rows at a time, mdn-core's portable loop on
    /// every target. An `int8` layer multiplies each row's sum by its scale before the
    /// bias (FORMAT.md section 5).
    fn forward_packed<T: Packed>(
        &self,
        input: &[f32],
        output: &mut [f32],
        activation: Option<Activation>,
    ) {
        let n = self.fan_in;
        let Some(input) = input.get(..n) else {
            return;
        };
        let Ok(columns) = bytemuck::try_cast_slice::<u32, [T; ROW_BLOCK]>(self.weights) else {
            return;
        };
        if n == 0 {
            return;
        }
        let blocks = columns.chunks_exact(n);
        let outputs = output
            .chunks_mut(ROW_BLOCK)
            .zip(self.bias.chunks(ROW_BLOCK));
        let mut scales = self.scales.chunks(ROW_BLOCK);
        for (block, (out, bias)) in blocks.zip(outputs) {
            let mut sums = [0.0_f32; ROW_BLOCK];
            for (column, &x) in block.iter().zip(input) {
                let weights = T::widen_column(column);
                for (sum, w) in sums.iter_mut().zip(weights) {
                    *sum += w * x;
                }
            }
            if let Some(scales) = scales.next() {
                for (sum, scale) in sums.iter_mut().zip(scales) {
                    *sum *= word(scale);
                }
            }
            finish_block(out, &sums, bias, activation);
        }
    }
}

/// `activation(z)`, or `z` for a layer without one (the heads).
#[inline(always)]
pub(super) fn activate(z: f32, activation: Option<Activation>) -> f32 {
    match activation {
        Some(activation) => activation.as_built().apply(z),
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
    // length check per output: fewer instructions for some flash (BENCHMARKS.md, "Measured
    // once").
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

/// Where a dense layer's tensors lie in a network's parameters: weights from `start`, then
/// for `int8` one row scale per output, then the biases at `bias..end`.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(super) struct Placement {
    pub(super) start: usize,
    pub(super) bias: usize,
    pub(super) end: usize,
    pub(super) fan_in: usize,
    /// Only in a build with packed layers: an `f32`-only model keeps its placements (one
    /// per layer, in every copy of the model on a device's stack) as small as before.
    #[cfg(any(feature = "f16", feature = "int8", feature = "int16"))]
    storage: Storage,
}

impl Placement {
    /// A layer's placement.
    pub(super) fn new(
        start: usize,
        bias: usize,
        end: usize,
        fan_in: usize,
        storage: Storage,
    ) -> Self {
        #[cfg(not(any(feature = "f16", feature = "int8", feature = "int16")))]
        let _ = storage;
        Placement {
            start,
            bias,
            end,
            fan_in,
            #[cfg(any(feature = "f16", feature = "int8", feature = "int16"))]
            storage,
        }
    }

    /// How the layer's weights are stored, as this build evaluates them.
    #[inline(always)]
    pub(super) fn storage(&self) -> Storage {
        #[cfg(any(feature = "f16", feature = "int8", feature = "int16"))]
        return self.storage.as_built();
        #[cfg(not(any(feature = "f16", feature = "int8", feature = "int16")))]
        Storage::F32
    }

    /// The layer over one network's parameter words (`None` only if they are too short,
    /// which [`Ensemble::new`](super::Ensemble::new) ruled out).
    pub(super) fn bind<'a>(&self, words: Words<'a>, kernel: Kernel) -> Option<Dense<'a>> {
        // The row scales are as many as the biases, right before them.
        let scales = match self.storage().has_row_scales() {
            true => self.bias.wrapping_sub(self.end.wrapping_sub(self.bias)),
            false => self.bias,
        };
        Some(Dense {
            weights: words.get(self.start..scales)?,
            scales: words.get(scales..self.bias)?,
            bias: words.get(self.bias..self.end)?,
            storage: self.storage(),
            fan_in: self.fan_in,
            kernel,
        })
    }
}

/// The dense layers' kernel for two blocks of rows: mdn-core's portable [`dot_blocks`],
/// or one supplied with [`crate::Model::set_kernel`].
///
/// A pointer, set when the model is built, rather than a choice in [`Dense::forward`]: a
/// firmware that supplies its kernel right after validation then links no other (the
/// compiler drops the portable kernel's address when it is overwritten), which kept the
/// 1-32-32 `minimal` within its 20 KB of flash.
#[derive(Debug, Clone, Copy)]
pub(super) struct Kernel {
    pub(super) dot_blocks: DotBlocks,
    /// A host runs its own four-block kernel only for mdn-core's.
    pub(super) supplied: bool,
    /// Integer layers' sums: mdn-core's, or one supplied with
    /// [`crate::Model::set_integer_kernel`].
    #[cfg(feature = "int16")]
    pub(super) integer: crate::kernel::IntegerKernel,
}

impl Default for Kernel {
    fn default() -> Self {
        Self {
            dot_blocks,
            supplied: false,
            #[cfg(feature = "int16")]
            integer: crate::kernel::INTEGER_KERNEL,
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
