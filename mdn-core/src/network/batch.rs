//! The batched path: `ln p(y|x)` for [`LANES`] rows at once, each row with exactly the bits
//! of the single-row path, in loops a host's compiler vectorises across the rows.

use super::{
    Ensemble, Network,
    dense::{Dense, activate},
    word,
};
use crate::{
    blob::from_word,
    header::Activation,
    layout::ROW_BLOCK,
    math::{floor_at, log_sum_exp_lanes, normal_log_density},
    mixture::transform_target,
};

/// Rows the batched path evaluates together: 16 rather than 8, so that each weight is
/// broadcast for more rows and more independent `expf` calls overlap (BENCHMARKS.md,
/// "Measured once").
pub(super) const LANES: usize = 16;

/// One value per row of a block.
type Lanes = [f32; LANES];

impl Ensemble<'_> {
    /// `ln p(y|x)` of each row into `out`: row `r` is `xs[r * F..]` with `F = inputs()`
    /// values and `ys[r * D..]` with `D = dims()` values, [`LANES`] rows at a time.
    ///
    /// The hidden layers and the heads run once per block of rows, each weight
    /// loaded once for every row, in loops the compiler vectorises across rows; each row's
    /// sums keep the order of [`Ensemble::forward`]. The mixture follows across the rows
    /// too, each step for every row of the block before the next starts, so that the
    /// rows' independent `expf` and `logf` calls overlap: unscaling and the sigma
    /// transform; the mixing weights as [`Ensemble::mix`] forms them, with
    /// [`log_sum_exp_lanes`]; the target transform of each row ([`transform_target`]); the
    /// component densities summed as
    /// [`component_log_densities`](crate::mixture::component_log_densities) sums them; the
    /// final log-sum-exp. Each row takes exactly the single-row operations in their order,
    /// so it gets the bits of [`Mixture::log_prob`](crate::Mixture::log_prob) of
    /// [`Ensemble::forward`] (`mdn-core/tests/batch.rs`). The caller guarantees the
    /// capacities, that `xs`, `ys` and `out` hold the same number of rows, and that every
    /// value is finite.
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
        // `max(1)`: never 0 (`k` and `dims` are not), which lets the compiler see it
        // (`chunks_mut(0)` panics).
        let head_values = k.saturating_mul(dims).max(1);
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
            .chunks(width.saturating_mul(LANES))
            .zip(ys.chunks(dims.saturating_mul(LANES)))
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
                .zip(means.as_flattened_mut().chunks_mut(head_values))
                .zip(sigmas.as_flattened_mut().chunks_mut(head_values));
            for (network, ((logits, means), sigmas)) in self.networks().zip(shares) {
                let features =
                    network.features_lanes(&scaled, &mut ping, &mut pong, self.activation);
                if let Some(head) = network.head() {
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
                let target = target.zip(self.calibration);
                for ((mean, sigma), ((offset, scale), calibration)) in
                    mean_row.iter_mut().zip(sigma_row).zip(target)
                {
                    let (offset, scale) = (word(offset), word(scale));
                    let calibration = word(calibration);
                    for mu in mean {
                        *mu = *mu * scale + offset;
                    }
                    for z in sigma {
                        let unscaled = floor_at(self.sigma.apply(*z), self.sigma_floor) * scale;
                        *z = unscaled * calibration;
                    }
                }
            }
            let shares = logits.chunks_mut(k).zip(self.network_log_weights);
            let temperature = self.temperature();
            for (share, weight) in shares {
                for row in share.iter_mut() {
                    for v in row {
                        *v /= temperature;
                    }
                }
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
}

impl Network<'_, '_> {
    /// [`Network::features`] for [`LANES`] rows at once.
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
        match self.ensemble.hidden.len() {
            0 => input,
            n if n % 2 == 1 => ping,
            _ => pong,
        }
    }
}

impl Dense<'_> {
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
    pub(super) fn forward_lanes<'o>(
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

/// The dot products of rows `row` and `row + 1` of a block (`columns[i]` holds its
/// weights for input `i`) with `input` in every lane, each summed from index 0 upwards
/// starting at `0.0`.
///
/// Out of line, like [`sum_lanes`], so that the compiler keeps the 2 x [`LANES`] sums in
/// registers whatever the caller does with them: inlined into [`Dense::forward_lanes`],
/// small changes there made it keep them on the stack or in registers out of step with
/// the lanes, and the batch much slower (BENCHMARKS.md, "Measured once").
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
