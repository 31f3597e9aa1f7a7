//! The custom candle operations of [`super::Networks`]: a layer's bias and activation, and
//! the mixture's log-density with its gradient written by hand.

use std::sync::Mutex;

use candle_core::Tensor;
use mdn_core::{Activation, HALF_LN_TWO_PI, SOFTPLUS_THRESHOLD, SigmaTransform};

/// Per-row `ln p(u)` of the mixture that a head row `[logits K | means K D | sigma
/// pre-activations K D]` describes, at targets `u` `[.., D]`, with its gradient written by
/// hand: the whole mixture is one candle operation instead of some forty small ones.
///
/// For one row, with `alpha = softmax(l)`, `sigma = max(t(z), floor)`, `r = (u - mu) /
/// sigma`, `c_k = ln alpha_k + sum_d (-r^2 / 2 - ln sigma - ln(2 pi) / 2)`, `ln p =
/// lse(c)` and responsibilities `g_k = exp(c_k - ln p)`:
/// `d ln p / d l_k = g_k - alpha_k`, `d ln p / d mu = g_k r / sigma`, and
/// `d ln p / d z = g_k (r^2 - 1) / sigma * t'(z)` where `t(z)` is above the floor (0 below).
#[derive(Debug)]
pub(super) struct MixtureLogDensity {
    components: usize,
    /// Components used by each network (rows are network-major).
    components_used: Vec<usize>,
    outputs: usize,
    sigma: SigmaTransform,
    floor: f32,
    with_gradient: bool,
    /// `d ln p / d head`, filled by the forward pass for the backward pass.
    gradient: Mutex<Vec<f32>>,
}

impl MixtureLogDensity {
    /// The mixture of networks of `arch`, network `m` using its first
    /// `components_used[m]` components; `with_gradient` keeps the gradient for a backward
    /// pass.
    pub(super) fn new(
        arch: &crate::model::Architecture,
        components_used: Vec<usize>,
        with_gradient: bool,
    ) -> Self {
        MixtureLogDensity {
            components: arch.components,
            components_used,
            outputs: arch.outputs,
            sigma: arch.sigma,
            floor: arch.sigma_floor,
            with_gradient,
            gradient: Mutex::new(Vec::new()),
        }
    }

    /// Components used by the network of row `row` of `rows` (rows are network-major).
    fn components_used_of(&self, row: usize, rows: usize) -> usize {
        let per_network = rows / self.components_used.len().max(1);
        self.components_used[(row / per_network.max(1)).min(self.components_used.len() - 1)]
    }

    /// `(t(z), t'(z))`.
    fn transform(&self, z: f32) -> (f32, f32) {
        match self.sigma {
            SigmaTransform::Nnelu => {
                if z > 0.0 {
                    (1.0 + z, 1.0)
                } else {
                    let e = z.exp();
                    (e, e)
                }
            }
            SigmaTransform::Softplus => {
                if z > SOFTPLUS_THRESHOLD {
                    (z, 1.0)
                } else {
                    let e = z.exp();
                    (e.ln_1p(), e / (1.0 + e))
                }
            }
            SigmaTransform::Exp => {
                let e = z.exp();
                (e, e)
            }
        }
    }

    /// `ln p` of one row, and its gradient into `grad` when given. `scratch` holds
    /// `[c (K) | sigma (K D) | r (K D) | t'(z) (K D)]`.
    fn row(
        &self,
        head: &[f32],
        u: &[f32],
        components_used: usize,
        grad: Option<&mut [f32]>,
        scratch: &mut [f32],
    ) -> f32 {
        let (k_all, d) = (self.components, self.outputs);
        let kd = k_all * d;
        let k = components_used;
        let (c, rest) = scratch.split_at_mut(k_all);
        let c = &mut c[..k];
        let (sigmas, rest) = rest.split_at_mut(kd);
        let (rs, slopes) = rest.split_at_mut(kd);
        let logits = &head[..k];
        let l_max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let l_sum: f32 = logits.iter().map(|&l| (l - l_max).exp()).sum();
        let l_lse = l_max + l_sum.ln();
        for j in 0..k {
            let mut g = logits[j] - l_lse;
            for (e, &target) in u.iter().enumerate().take(d) {
                let i = j * d + e;
                let (t, slope) = self.transform(head[k_all + kd + i]);
                let (sigma, slope) = if t > self.floor {
                    (t, slope)
                } else {
                    (self.floor, 0.0)
                };
                let r = (target - head[k_all + i]) / sigma;
                g += -0.5 * (r * r) - sigma.ln() - HALF_LN_TWO_PI;
                (sigmas[i], rs[i], slopes[i]) = (sigma, r, slope);
            }
            c[j] = g;
        }
        let c_max = c.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let c_sum: f32 = c.iter().map(|&v| (v - c_max).exp()).sum();
        let lp = c_max + c_sum.ln();
        if let Some(grad) = grad {
            // Unused components (beyond `components_used`) keep a zero gradient.
            grad.fill(0.0);
            for j in 0..k {
                let responsibility = (c[j] - lp).exp();
                grad[j] = responsibility - (logits[j] - l_lse).exp();
                for e in 0..d {
                    let i = j * d + e;
                    let (sigma, r) = (sigmas[i], rs[i]);
                    grad[k_all + i] = responsibility * r / sigma;
                    grad[k_all + kd + i] = responsibility * (r * r - 1.0) / sigma * slopes[i];
                }
            }
        }
        lp
    }

    /// One row with `S` targets `us` (`S D` values): each `ln p(u_s)` into `lps` and its
    /// gradient with respect to the row's head into `gradients` (`S` rows of the head's
    /// width), each as [`MixtureLogDensity::row`] computes them, with the mixing weights,
    /// sigmas and their logarithms computed once for the row.
    fn row_targets(
        &self,
        head: &[f32],
        us: &[f32],
        components_used: usize,
        lps: &mut [f32],
        gradients: &mut [f32],
        scratch: &mut [f32],
    ) {
        let (k_all, d) = (self.components, self.outputs);
        let kd = k_all * d;
        let width = k_all + 2 * kd;
        let k = components_used;
        let (base, rest) = scratch.split_at_mut(k_all);
        let (c, rest) = rest.split_at_mut(k_all);
        let (inverse, rest) = rest.split_at_mut(kd);
        let (slopes, rs) = rest.split_at_mut(kd);
        let logits = &head[..k];
        let l_max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let l_sum: f32 = logits.iter().map(|&l| (l - l_max).exp()).sum();
        let l_lse = l_max + l_sum.ln();
        // `ln alpha_j - sum_d (ln sigma_jd + ln(2 pi) / 2)`: a component's log-density
        // but for the squared distances.
        for j in 0..k {
            base[j] = logits[j] - l_lse;
            for e in 0..d {
                let i = j * d + e;
                let (t, slope) = self.transform(head[k_all + kd + i]);
                let (sigma, slope) = if t > self.floor {
                    (t, slope)
                } else {
                    (self.floor, 0.0)
                };
                (inverse[i], slopes[i]) = (1.0 / sigma, slope);
                base[j] -= sigma.ln() + HALF_LN_TWO_PI;
            }
        }
        let targets = us
            .chunks_exact(d)
            .zip(lps)
            .zip(gradients.chunks_exact_mut(width));
        for ((u, lp), grad) in targets {
            for j in 0..k {
                let mut g = base[j];
                for (e, &target) in u.iter().enumerate() {
                    let i = j * d + e;
                    let r = (target - head[k_all + i]) * inverse[i];
                    rs[i] = r;
                    g -= 0.5 * (r * r);
                }
                c[j] = g;
            }
            let c = &mut c[..k];
            let c_max = c.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let mut c_sum = 0.0;
            for v in c.iter_mut() {
                *v = (*v - c_max).exp();
                c_sum += *v;
            }
            *lp = c_max + c_sum.ln();
            // Unused components (beyond `components_used`) keep a zero gradient.
            grad.fill(0.0);
            for j in 0..k {
                // The responsibility, from the exponentials of the log-sum-exp.
                let responsibility = c[j] / c_sum;
                grad[j] = responsibility - (logits[j] - l_lse).exp();
                for e in 0..d {
                    let i = j * d + e;
                    let (inverse, r) = (inverse[i], rs[i]);
                    grad[k_all + i] = responsibility * r * inverse;
                    grad[k_all + kd + i] = responsibility * (r * r - 1.0) * inverse * slopes[i];
                }
            }
        }
    }
}

/// `act(z + b)` for `z` `[M, N, out]` and a bias `b` `[M, 1, out]`, with a backward pass
/// that sums the bias gradient over rows in one loop (candle reduces a middle axis
/// element by element, which cost a third of a training step).
#[derive(Debug, Clone, Copy)]
pub(super) struct BiasActivation(pub(super) Option<Activation>);

impl candle_core::CustomOp2 for BiasActivation {
    fn name(&self) -> &'static str {
        "bias-activation"
    }

    fn cpu_fwd(
        &self,
        s1: &candle_core::CpuStorage,
        l1: &candle_core::Layout,
        s2: &candle_core::CpuStorage,
        l2: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let z = contiguous(s1, l1)?;
        let b = contiguous(s2, l2)?;
        let (networks, _, outputs) = l1.shape().dims3()?;
        let per_network = z.len() / networks.max(1);
        let mut out = Vec::with_capacity(z.len());
        for (m, rows) in z.chunks(per_network.max(1)).enumerate() {
            let bias = &b[m * outputs..(m + 1) * outputs];
            for row in rows.chunks(outputs.max(1)) {
                out.extend(row.iter().zip(bias).map(|(&v, &c)| {
                    let v = v + c;
                    match self.0 {
                        None => v,
                        Some(Activation::Relu) => v.max(0.0),
                        Some(Activation::Tanh) => libm::tanhf(v),
                    }
                }));
            }
        }
        Ok((candle_core::CpuStorage::F32(out), l1.shape().clone()))
    }

    fn bwd(
        &self,
        _arg1: &Tensor,
        arg2: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (networks, _, outputs) = res.dims3()?;
        let out = res.flatten_all()?.to_vec1::<f32>()?;
        let mut grad = grad_res.flatten_all()?.to_vec1::<f32>()?;
        for (g, &o) in grad.iter_mut().zip(&out) {
            *g *= match self.0 {
                None => 1.0,
                Some(Activation::Relu) => {
                    if o > 0.0 {
                        1.0
                    } else {
                        0.0
                    }
                }
                Some(Activation::Tanh) => 1.0 - o * o,
            };
        }
        let mut bias = vec![0.0_f32; networks * outputs];
        let per_network = grad.len() / networks.max(1);
        for (m, rows) in grad.chunks(per_network.max(1)).enumerate() {
            let acc = &mut bias[m * outputs..(m + 1) * outputs];
            for row in rows.chunks(outputs.max(1)) {
                for (a, &g) in acc.iter_mut().zip(row) {
                    *a += g;
                }
            }
        }
        let grad_z = Tensor::from_vec(grad, res.shape(), res.device())?;
        let grad_b = Tensor::from_vec(bias, arg2.shape(), arg2.device())?;
        Ok((Some(grad_z), Some(grad_b)))
    }
}

fn contiguous<'a>(
    storage: &'a candle_core::CpuStorage,
    layout: &candle_core::Layout,
) -> candle_core::Result<&'a [f32]> {
    let (start, end) = layout.contiguous_offsets().ok_or_else(|| {
        candle_core::Error::Msg("mixture-log-density needs contiguous tensors".into())
    })?;
    Ok(&storage.as_slice::<f32>()?[start..end])
}

impl candle_core::CustomOp2 for MixtureLogDensity {
    fn name(&self) -> &'static str {
        "mixture-log-density"
    }

    fn cpu_fwd(
        &self,
        s1: &candle_core::CpuStorage,
        l1: &candle_core::Layout,
        s2: &candle_core::CpuStorage,
        l2: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let head = contiguous(s1, l1)?;
        let u = contiguous(s2, l2)?;
        let (k, d) = (self.components, self.outputs);
        let width = k + 2 * k * d;
        let rows = head.len() / width;
        let mut lp = Vec::with_capacity(rows);
        let mut scratch = vec![0.0_f32; k + 3 * k * d];
        let mut gradient = self
            .gradient
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned".into()))?;
        if self.with_gradient {
            gradient.clear();
            gradient.resize(head.len(), 0.0);
        }
        for row in 0..rows {
            let grad = self
                .with_gradient
                .then(|| &mut gradient[row * width..(row + 1) * width]);
            lp.push(self.row(
                &head[row * width..(row + 1) * width],
                &u[row * d..(row + 1) * d],
                self.components_used_of(row, rows),
                grad,
                &mut scratch,
            ));
        }
        let dims = l1.shape().dims();
        let shape = candle_core::Shape::from(&dims[..dims.len() - 1]);
        Ok((candle_core::CpuStorage::F32(lp), shape))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        _arg2: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let gradient = self
            .gradient
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned".into()))?;
        let local = Tensor::from_slice(&gradient, arg1.shape(), arg1.device())?;
        Ok((
            Some(local.broadcast_mul(&grad_res.unsqueeze(candle_core::D::Minus1)?)?),
            None,
        ))
    }
}

/// `ln p(u_s)` `[M, N, S]` of `S` targets per row (`[M, N, S D]`) of the mixtures a head
/// `[M, N, K + 2 K D]` describes. The forward pass keeps each target's gradient
/// ([`MixtureLogDensity::row_targets`]); the backward pass sums them, each times its
/// incoming gradient.
#[derive(Debug)]
pub(super) struct MixtureLogDensities {
    op: MixtureLogDensity,
    /// `[row][target][head]`: `d ln p(u_s) / d head`, filled by the forward pass.
    gradients: Mutex<Vec<f32>>,
}

impl MixtureLogDensities {
    /// `op`'s log-density at several targets per row.
    pub(super) fn new(op: MixtureLogDensity) -> Self {
        MixtureLogDensities {
            op,
            gradients: Mutex::new(Vec::new()),
        }
    }
}

impl candle_core::CustomOp2 for MixtureLogDensities {
    fn name(&self) -> &'static str {
        "mixture-log-densities"
    }

    fn cpu_fwd(
        &self,
        s1: &candle_core::CpuStorage,
        l1: &candle_core::Layout,
        s2: &candle_core::CpuStorage,
        l2: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let head = contiguous(s1, l1)?;
        let u = contiguous(s2, l2)?;
        let op = &self.op;
        let (k, d) = (op.components, op.outputs);
        let width = k + 2 * k * d;
        let rows = head.len() / width;
        let targets = u.len() / (rows * d).max(1);
        let mut lp = vec![0.0_f32; rows * targets];
        let mut gradients = self
            .gradients
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned".into()))?;
        gradients.clear();
        gradients.resize(rows * targets * width, 0.0);
        let mut scratch = vec![0.0_f32; 2 * k + 3 * k * d];
        let per_row = lp
            .chunks_exact_mut(targets)
            .zip(gradients.chunks_exact_mut(targets * width))
            .enumerate();
        for (row, (lp, gradients)) in per_row {
            op.row_targets(
                &head[row * width..(row + 1) * width],
                &u[row * targets * d..(row + 1) * targets * d],
                op.components_used_of(row, rows),
                lp,
                gradients,
                &mut scratch,
            );
        }
        let dims = l1.shape().dims();
        let mut shape = dims[..dims.len() - 1].to_vec();
        shape.push(targets);
        Ok((
            candle_core::CpuStorage::F32(lp),
            candle_core::Shape::from(shape),
        ))
    }

    fn bwd(
        &self,
        arg1: &Tensor,
        _arg2: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let gradients = self
            .gradients
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned".into()))?;
        let incoming = grad_res.flatten_all()?.to_vec1::<f32>()?;
        let width = arg1.dims().last().copied().unwrap_or(1).max(1);
        let targets = grad_res.dims().last().copied().unwrap_or(1).max(1);
        let mut gradient = vec![0.0_f32; arg1.elem_count()];
        for ((out, own), incoming) in gradient
            .chunks_exact_mut(width)
            .zip(gradients.chunks_exact(targets * width))
            .zip(incoming.chunks_exact(targets))
        {
            for (g, &w) in own.chunks_exact(width).zip(incoming) {
                for (o, &g) in out.iter_mut().zip(g) {
                    *o += w * g;
                }
            }
        }
        Ok((
            Some(Tensor::from_vec(gradient, arg1.shape(), arg1.device())?),
            None,
        ))
    }
}
