//! `M` networks of one architecture trained side by side as batched candle tensors.
//!
//! candle's cost for networks this small is mostly per operation, not per number: a
//! step of one 1-32-32 network and a step of five of them stacked along a leading member
//! axis take nearly the same time. So an ensemble is trained as one set of tensors,
//! `[M, ...]`, with batched matrix products, and each member keeps its own minibatches,
//! validation rows, early stopping and optimiser state:
//!
//! * every member's loss depends only on its own parameters, so the gradient of the sum
//!   of the members' losses is each member's own gradient, and Adam is elementwise;
//! * weights are stored transposed, `[M, in, out]`, so a layer is `h.matmul(w) + b`;
//!   [`Members::member_parameters`] transposes back to the blob's `[out][in]` rows in
//!   [`mdn_core::Layout`] order;
//! * the arithmetic is [`crate::model`]'s, one axis up: log-softmax weights, nnelu as
//!   `z > 0 ? 1 + z : exp(z)`, `sigma = max(t(z), floor)`, Gaussian log-densities and a
//!   max-subtracted log-sum-exp (the blob, not this code, defines what a device computes).

use std::sync::Mutex;

use candle_core::{Device, Tensor, Var};
use mdn_core::{
    Activation, HALF_LN_TWO_PI, Layout, SOFTPLUS_THRESHOLD, SigmaTransform, TensorInfo, TensorName,
};

use crate::{
    error::Result,
    model::{Architecture, is_weight},
};

/// One parameter of all members: a weight `[M, in, out]` or a bias `[M, 1, out]`,
/// member-major so that member `m`'s values are one contiguous run. The three heads are
/// one parameter whose outputs are the logits, then the means, then the sigmas (`parts`,
/// in that order), so they take one matrix product.
#[derive(Debug)]
struct Param {
    parts: Vec<TensorInfo>,
    var: Var,
    /// Values of one member.
    per_member: usize,
}

impl Param {
    fn is_weight(&self) -> bool {
        is_weight(self.parts[0].name)
    }

    /// Inputs of the layer (weights), or 1 (biases).
    fn fan_in(&self) -> usize {
        if self.is_weight() {
            self.parts[0].cols
        } else {
            1
        }
    }

    /// Outputs of one part: weight rows, or bias length.
    fn part_outputs(info: &TensorInfo) -> usize {
        if is_weight(info.name) {
            info.rows
        } else {
            info.len()
        }
    }

    fn outputs(&self) -> usize {
        self.parts.iter().map(Param::part_outputs).sum()
    }
}

/// `M` networks of one architecture as batched tensors (parameters only: the scalers are
/// shared and live with the caller).
///
/// # Examples
///
/// ```
/// use mdn_train::{members::Members, model::Architecture};
/// let arch = Architecture::new(1, 1, 2, vec![4]);
/// let layout = Members::layout_of(&arch).unwrap();
/// let init: Vec<Vec<f32>> = (0..3).map(|m| Members::initial(&layout, m)).collect();
/// let members = Members::new(arch, &layout, &init, &[]).unwrap();
/// assert_eq!(members.count(), 3);
/// assert_eq!(members.member_parameters(&layout, &members.snapshot().unwrap(), 1), init[1]);
/// ```
#[derive(Debug)]
pub struct Members {
    arch: Architecture,
    count: usize,
    /// Components each member uses, at most `arch.components` (the rest of its head is
    /// ignored: a member with fewer components is that smaller model exactly).
    components_used: Vec<usize>,
    /// Hidden weight and bias of each layer, then the head's weight and bias.
    params: Vec<Param>,
    device: Device,
}

/// The values of every parameter of every member, in [`Members`]' own orientation: a
/// snapshot to keep the best weights of each member.
pub type Snapshot = Vec<Vec<f32>>;

impl Members {
    /// The blob layout of one member of `arch` (scaler tensors included, as in a blob).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Core`] or [`crate::Error::InvalidOption`] if the architecture does
    /// not fit the format.
    ///
    /// # Examples
    ///
    /// See [`Members`].
    pub fn layout_of(arch: &Architecture) -> Result<Layout> {
        crate::model::layout_of(arch)
    }

    /// Initial parameters of one member in layout order (scaler slots zero): Glorot-uniform
    /// weights and zero biases from `Pcg64Mcg::seed_from_u64(seed)`, exactly as
    /// [`crate::model::Mdn::new`] draws them.
    ///
    /// # Examples
    ///
    /// See [`Members`].
    pub fn initial(layout: &Layout, seed: u64) -> Vec<f32> {
        crate::model::initial_parameters(layout, seed)
    }

    /// Stacks `init` (one full layout-order parameter vector per member, scalers included
    /// and ignored) into batched variables; member `m` uses the first `components_used[m]`
    /// components of its head (all of them when `components_used` is empty).
    ///
    /// # Errors
    ///
    /// A candle error, or [`crate::Error::ParameterCount`] if a vector has the wrong length.
    ///
    /// # Examples
    ///
    /// See [`Members`].
    pub fn new(
        arch: Architecture,
        layout: &Layout,
        init: &[Vec<f32>],
        components_used: &[usize],
    ) -> Result<Self> {
        let device = Device::Cpu;
        let count = init.len();
        let components_used = if components_used.is_empty() {
            vec![arch.components; count]
        } else {
            components_used
                .iter()
                .map(|&k| k.clamp(1, arch.components))
                .collect()
        };
        for p in init {
            crate::model::check_parameter_count(layout, p.len())?;
        }
        let mut groups: Vec<Vec<TensorInfo>> = Vec::new();
        let (mut head_weight, mut head_bias) = (Vec::new(), Vec::new());
        for info in layout.tensors().filter(|t| !t.name.is_shared()) {
            match info.name {
                TensorName::LogitsWeight | TensorName::MeansWeight | TensorName::SigmasWeight => {
                    head_weight.push(info);
                }
                TensorName::LogitsBias | TensorName::MeansBias | TensorName::SigmasBias => {
                    head_bias.push(info);
                }
                _ => groups.push(vec![info]),
            }
        }
        groups.push(head_weight);
        groups.push(head_bias);
        let mut params = Vec::new();
        for parts in groups {
            let mut param = Param {
                parts,
                var: Var::from_vec(vec![0.0_f32], 1, &device)?,
                per_member: 0,
            };
            let (fan_in, outputs) = (param.fan_in(), param.outputs());
            param.per_member = fan_in * outputs;
            let mut values = vec![0.0; count * param.per_member];
            for (member, own) in init.iter().enumerate() {
                let dst = &mut values[member * param.per_member..(member + 1) * param.per_member];
                let mut column = 0;
                for info in &param.parts {
                    let src = &own[info.offset..info.offset + info.len()];
                    let rows = Param::part_outputs(info);
                    // Blob rows are outputs: store `[in][out]` for `h.matmul(w)`.
                    for o in 0..rows {
                        for i in 0..fan_in {
                            dst[i * outputs + column + o] = src[o * fan_in + i];
                        }
                    }
                    column += rows;
                }
            }
            param.var = Var::from_vec(values, (count, fan_in, outputs), &device)?;
            params.push(param);
        }
        Ok(Members {
            arch,
            count,
            components_used,
            params,
            device,
        })
    }

    /// Number of members `M`.
    ///
    /// # Examples
    ///
    /// See [`Members`].
    pub fn count(&self) -> usize {
        self.count
    }

    /// The trainable variables, in layout order.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::Members, model::Architecture};
    /// let arch = Architecture::new(1, 1, 2, vec![4]);
    /// let layout = Members::layout_of(&arch).unwrap();
    /// let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)], &[]).unwrap();
    /// assert_eq!(members.vars().len(), 2 + 2); // one hidden layer; the three heads are one
    /// ```
    pub fn vars(&self) -> Vec<Var> {
        self.params.iter().map(|p| p.var.clone()).collect()
    }

    /// The candle device (always the CPU).
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::Members, model::Architecture};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Members::layout_of(&arch).unwrap();
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)], &[]).unwrap();
    /// assert!(members.device().is_cpu());
    /// ```
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Per-member, per-row `ln p(u|x)` `[M, N]` of scaled targets `us` `[M, N, D]` at
    /// scaled inputs `xs` `[M, N, F]`, in scaled target units. `with_gradient` prepares
    /// the backward pass (training); without it the result has no gradient (validation).
    ///
    /// # Errors
    ///
    /// A candle error (a shape mismatch is a bug).
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::Members, model::Architecture};
    /// use candle_core::{Device, Tensor};
    /// let arch = Architecture::new(1, 1, 2, vec![4]);
    /// let layout = Members::layout_of(&arch).unwrap();
    /// let init = [Members::initial(&layout, 1), Members::initial(&layout, 2)];
    /// let members = Members::new(arch, &layout, &init, &[]).unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32]], [[0.2]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.1_f32]], [[-0.3]]], &Device::Cpu).unwrap();
    /// assert_eq!(members.log_density(&xs, &us, false).unwrap().dims(), [2, 1]);
    /// ```
    pub fn log_density(&self, xs: &Tensor, us: &Tensor, with_gradient: bool) -> Result<Tensor> {
        self.mixture_log_density(xs, us, None, with_gradient)
    }

    /// Per-member, per-row `sum_s w_s ln p(u_s|x)` `[M, N]` of `S` scaled targets per row,
    /// `us` `[M, N, S D]` (target `s` of a row at `s D ..`), with weights `weights` (`M N S`
    /// values, row-major): an expectation of the log-density over a distribution of targets,
    /// such as a teacher's mixture by quadrature. Otherwise as [`Members::log_density`].
    ///
    /// # Errors
    ///
    /// A candle error (a shape mismatch is a bug).
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::Members, model::Architecture};
    /// use candle_core::{Device, Tensor};
    /// let arch = Architecture::new(1, 1, 2, vec![4]);
    /// let layout = Members::layout_of(&arch).unwrap();
    /// let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)], &[]).unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32]]], &Device::Cpu).unwrap();
    /// // Two targets with weights 1/4 and 3/4: the weighted mean of their log-densities.
    /// let us = Tensor::new(&[[[0.1_f32, -0.3]]], &Device::Cpu).unwrap();
    /// let both = members.expected_log_density(&xs, &us, vec![0.25, 0.75], false).unwrap();
    /// let one = |u: f32| {
    ///     let us = Tensor::new(&[[[u]]], &Device::Cpu).unwrap();
    ///     members.log_density(&xs, &us, false).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap()[0]
    /// };
    /// let expected = 0.25 * one(0.1) + 0.75 * one(-0.3);
    /// let found = both.flatten_all().unwrap().to_vec1::<f32>().unwrap()[0];
    /// assert!((found - expected).abs() < 1e-5);
    /// ```
    pub fn expected_log_density(
        &self,
        xs: &Tensor,
        us: &Tensor,
        weights: Vec<f32>,
        with_gradient: bool,
    ) -> Result<Tensor> {
        self.mixture_log_density(xs, us, Some(weights), with_gradient)
    }

    /// Per-member, per-row, per-target `ln p(u_s|x)` `[M, N, S]` of `S` scaled targets
    /// per row, `us` `[M, N, S D]`, with a gradient.
    ///
    /// # Errors
    ///
    /// A candle error (a shape mismatch is a bug).
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::Members, model::Architecture};
    /// use candle_core::{Device, Tensor};
    /// let arch = Architecture::new(1, 1, 2, vec![4]);
    /// let layout = Members::layout_of(&arch).unwrap();
    /// let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)], &[]).unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.1_f32, -0.3]]], &Device::Cpu).unwrap();
    /// let each = members.log_densities(&xs, &us).unwrap();
    /// assert_eq!(each.dims(), [1, 1, 2]);
    /// ```
    pub fn log_densities(&self, xs: &Tensor, us: &Tensor) -> Result<Tensor> {
        let head = self.head(xs)?;
        Ok(head.apply_op2(us, MixtureLogDensities(self.op(true, None)))?)
    }

    fn mixture_log_density(
        &self,
        xs: &Tensor,
        us: &Tensor,
        weights: Option<Vec<f32>>,
        with_gradient: bool,
    ) -> Result<Tensor> {
        let head = self.head(xs)?;
        let op = self.op(with_gradient, weights);
        Ok(if with_gradient {
            head.apply_op2(us, op)?
        } else {
            head.apply_op2_no_bwd(us, &op)?
        })
    }

    /// The heads' raw outputs `[M, N, K + 2 K D]` for scaled inputs `xs` `[M, N, F]`.
    fn head(&self, xs: &Tensor) -> Result<Tensor> {
        let mut h = xs.clone();
        let layers = self.arch.hidden.len();
        let dense =
            |h: &Tensor, pair: &[Param], activation: Option<Activation>| -> Result<Tensor> {
                let z = h.matmul(pair[0].var.as_tensor())?;
                Ok(z.apply_op2(pair[1].var.as_tensor(), BiasActivation(activation))?)
            };
        for pair in self.params[..2 * layers].chunks(2) {
            h = dense(&h, pair, Some(self.arch.activation))?;
        }
        dense(&h, &self.params[2 * layers..], None)
    }

    /// The mixture operation of these networks.
    fn op(&self, with_gradient: bool, weights: Option<Vec<f32>>) -> MixtureLogDensity {
        MixtureLogDensity {
            components: self.arch.components,
            components_used: self.components_used.clone(),
            outputs: self.arch.outputs,
            sigma: self.arch.sigma,
            floor: self.arch.sigma_floor,
            with_gradient,
            gradient: Mutex::new(Vec::new()),
            weights,
        }
    }

    /// Copies every parameter of every member.
    ///
    /// # Errors
    ///
    /// A candle error.
    ///
    /// # Examples
    ///
    /// See [`Members`].
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.params
            .iter()
            .map(|p| Ok(p.var.as_tensor().flatten_all()?.to_vec1::<f32>()?))
            .collect()
    }

    /// Copies member `member`'s values from `from` into `into`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::members::Members;
    /// let mut into = vec![vec![0.0; 4]];
    /// Members::copy_member(&[vec![1.0, 2.0, 3.0, 4.0]], &mut into, 1, 2);
    /// assert_eq!(into, [vec![0.0, 0.0, 3.0, 4.0]]);
    /// ```
    pub fn copy_member(from: &[Vec<f32>], into: &mut Snapshot, member: usize, count: usize) {
        for (src, dst) in from.iter().zip(into.iter_mut()) {
            let per = src.len() / count.max(1);
            let range = member * per..(member + 1) * per;
            dst[range.clone()].copy_from_slice(&src[range]);
        }
    }

    /// Member `member`'s parameters from `snapshot` as a full layout-order vector, with
    /// the scaler slots zero (the caller fills them), weights back in `[out][in]` rows.
    ///
    /// # Examples
    ///
    /// See [`Members`].
    pub fn member_parameters(
        &self,
        layout: &Layout,
        snapshot: &Snapshot,
        member: usize,
    ) -> Vec<f32> {
        let mut out = vec![0.0; layout.parameter_count()];
        for (p, values) in self.params.iter().zip(snapshot) {
            let own = &values[member * p.per_member..(member + 1) * p.per_member];
            let (fan_in, outputs) = (p.fan_in(), p.outputs());
            let mut column = 0;
            for info in &p.parts {
                let rows = Param::part_outputs(info);
                let dst = &mut out[info.offset..info.offset + info.len()];
                for o in 0..rows {
                    for i in 0..fan_in {
                        dst[o * fan_in + i] = own[i * outputs + column + o];
                    }
                }
                column += rows;
            }
        }
        pad_components(
            layout,
            &mut out,
            self.components_used[member],
            self.arch.components,
            self.arch.outputs,
        );
        out
    }

    /// Components each member uses.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::Members, model::Architecture};
    /// # let arch = Architecture::new(1, 1, 5, vec![4]);
    /// # let layout = Members::layout_of(&arch).unwrap();
    /// let init = [Members::initial(&layout, 1), Members::initial(&layout, 2)];
    /// let members = Members::new(arch, &layout, &init, &[1, 5]).unwrap();
    /// assert_eq!(members.components_used(), [1, 5]);
    /// ```
    pub fn components_used(&self) -> &[usize] {
        &self.components_used
    }
}

/// Rewrites a `k`-component mixture held in the first `k` of `slots` components as the same
/// mixture over all `slots`: slot `s` copies component `s % k`, and each copy's logit is
/// lowered by `ln(copies)`, so the copies' weights add up to the component's weight and
/// the density is unchanged (up to rounding). Every member of an ensemble blob then has
/// one shape.
fn pad_components(layout: &Layout, params: &mut [f32], k: usize, slots: usize, outputs: usize) {
    if k >= slots {
        return;
    }
    let (Some(lw), Some(lb), Some(mw), Some(mb), Some(sw), Some(sb)) = (
        layout.find(TensorName::LogitsWeight),
        layout.find(TensorName::LogitsBias),
        layout.find(TensorName::MeansWeight),
        layout.find(TensorName::MeansBias),
        layout.find(TensorName::SigmasWeight),
        layout.find(TensorName::SigmasBias),
    ) else {
        return;
    };
    let h = lw.cols;
    let copies = |j: usize| (slots - j).div_ceil(k);
    let logit_bias: Vec<f32> = (0..k)
        .map(|j| params[lb.offset + j] - (copies(j) as f32).ln())
        .collect();
    for slot in 0..slots {
        let j = slot % k;
        for i in 0..h {
            params[lw.offset + slot * h + i] = params[lw.offset + j * h + i];
        }
        params[lb.offset + slot] = logit_bias[j];
        for (w, b) in [(mw, mb), (sw, sb)] {
            for e in 0..outputs {
                let (to, from) = (slot * outputs + e, j * outputs + e);
                for i in 0..h {
                    params[w.offset + to * h + i] = params[w.offset + from * h + i];
                }
                params[b.offset + to] = params[b.offset + from];
            }
        }
    }
}

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
struct MixtureLogDensity {
    components: usize,
    /// Components used by each member (rows are member-major).
    components_used: Vec<usize>,
    outputs: usize,
    sigma: SigmaTransform,
    floor: f32,
    with_gradient: bool,
    /// `d ln p / d head`, filled by the forward pass for the backward pass.
    gradient: Mutex<Vec<f32>>,
    /// `S` weights per row when each row has `S` targets: the result is then
    /// `sum_s w_s ln p(u_s)` ([`Members::expected_log_density`]).
    weights: Option<Vec<f32>>,
}

impl MixtureLogDensity {
    /// Components used by the network of row `row` of `rows` (rows are network-major).
    fn components_used_of(&self, row: usize, rows: usize) -> usize {
        let per_member = rows / self.components_used.len().max(1);
        self.components_used[(row / per_member.max(1)).min(self.components_used.len() - 1)]
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

    /// `sum_s w_s ln p(u_s)` of one row with `S` targets `us` (`S D` values) and weights
    /// `ws` (of any sign; zero weights are skipped), each `ln p(u_s)` into `each` when
    /// given, and the gradient into `grad` when given: the sum of each target's gradient
    /// ([`MixtureLogDensity::row`]) times its weight, with the weights, sigmas and their
    /// logarithms computed once for the row.
    #[allow(clippy::too_many_arguments, reason = "one row's inputs and outputs")]
    fn row_expected(
        &self,
        head: &[f32],
        us: &[f32],
        ws: &[f32],
        components_used: usize,
        mut grad: Option<&mut [f32]>,
        mut each: Option<&mut [f32]>,
        scratch: &mut [f32],
    ) -> f32 {
        let (k_all, d) = (self.components, self.outputs);
        let kd = k_all * d;
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
        if let Some(grad) = grad.as_deref_mut() {
            grad.fill(0.0);
        }
        let (mut total, mut weight_sum) = (0.0_f32, 0.0_f32);
        for (s, (u, &w)) in us.chunks_exact(d).zip(ws).enumerate() {
            if w == 0.0 && each.is_none() {
                continue;
            }
            weight_sum += w;
            for j in 0..k {
                let mut g = base[j];
                for e in 0..d {
                    let i = j * d + e;
                    let r = (u[e] - head[k_all + i]) * inverse[i];
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
            let lp = c_max + c_sum.ln();
            total += w * lp;
            if let Some(each) = each.as_deref_mut() {
                each[s] = lp;
            }
            if let Some(grad) = grad.as_deref_mut() {
                // Responsibilities from the exponentials of the log-sum-exp.
                let scale = w / c_sum;
                for j in 0..k {
                    let wr = scale * c[j];
                    grad[j] += wr;
                    for e in 0..d {
                        let i = j * d + e;
                        let (inverse, r) = (inverse[i], rs[i]);
                        grad[k_all + i] += wr * r * inverse;
                        grad[k_all + kd + i] += wr * (r * r - 1.0) * inverse * slopes[i];
                    }
                }
            }
        }
        if let Some(grad) = grad {
            for j in 0..k {
                grad[j] -= weight_sum * (logits[j] - l_lse).exp();
            }
        }
        total
    }
}

/// `act(z + b)` for `z` `[M, N, out]` and a bias `b` `[M, 1, out]`, with a backward pass
/// that sums the bias gradient over rows in one loop (candle reduces a middle axis
/// element by element, which cost a third of a training step).
#[derive(Debug, Clone, Copy)]
struct BiasActivation(Option<Activation>);

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
        let (members, _, outputs) = l1.shape().dims3()?;
        let per_member = z.len() / members.max(1);
        let mut out = Vec::with_capacity(z.len());
        for (m, rows) in z.chunks(per_member.max(1)).enumerate() {
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
        let (members, _, outputs) = res.dims3()?;
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
        let mut bias = vec![0.0_f32; members * outputs];
        let per_member = grad.len() / members.max(1);
        for (m, rows) in grad.chunks(per_member.max(1)).enumerate() {
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
        // `row` takes `K + 3 K D` values, `row_expected` `2 K + 3 K D`.
        let mut scratch = vec![0.0_f32; 2 * k + 3 * k * d];
        let mut gradient = self
            .gradient
            .lock()
            .map_err(|_| candle_core::Error::Msg("poisoned".into()))?;
        if self.with_gradient {
            gradient.clear();
            gradient.resize(head.len(), 0.0);
        }
        let per_member = rows / self.components_used.len().max(1);
        let targets = self.weights.as_ref().map_or(1, |w| w.len() / rows.max(1));
        for row in 0..rows {
            let grad = self
                .with_gradient
                .then(|| &mut gradient[row * width..(row + 1) * width]);
            let components_used =
                self.components_used[(row / per_member.max(1)).min(self.components_used.len() - 1)];
            let head = &head[row * width..(row + 1) * width];
            lp.push(match &self.weights {
                None => self.row(
                    head,
                    &u[row * d..(row + 1) * d],
                    components_used,
                    grad,
                    &mut scratch,
                ),
                Some(weights) => self.row_expected(
                    head,
                    &u[row * targets * d..(row + 1) * targets * d],
                    &weights[row * targets..(row + 1) * targets],
                    components_used,
                    grad,
                    None,
                    &mut scratch,
                ),
            });
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
/// `[M, N, K + 2 K D]` describes, with a backward pass that recomputes the row and sums
/// each target's gradient times its incoming gradient ([`MixtureLogDensity::row_expected`]).
#[derive(Debug)]
struct MixtureLogDensities(MixtureLogDensity);

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
        let op = &self.0;
        let (k, d) = (op.components, op.outputs);
        let width = k + 2 * k * d;
        let rows = head.len() / width;
        let targets = u.len() / (rows * d).max(1);
        let mut lp = vec![0.0_f32; rows * targets];
        let mut scratch = vec![0.0_f32; 2 * k + 3 * k * d];
        let ones = vec![1.0_f32; targets];
        for row in 0..rows {
            op.row_expected(
                &head[row * width..(row + 1) * width],
                &u[row * targets * d..(row + 1) * targets * d],
                &ones,
                op.components_used_of(row, rows),
                None,
                Some(&mut lp[row * targets..(row + 1) * targets]),
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
        arg2: &Tensor,
        _res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let op = &self.0;
        let head = arg1.flatten_all()?.to_vec1::<f32>()?;
        let u = arg2.flatten_all()?.to_vec1::<f32>()?;
        let incoming = grad_res.flatten_all()?.to_vec1::<f32>()?;
        let (k, d) = (op.components, op.outputs);
        let width = k + 2 * k * d;
        let rows = head.len() / width;
        let targets = incoming.len() / rows.max(1);
        let mut gradient = vec![0.0_f32; head.len()];
        let mut scratch = vec![0.0_f32; 2 * k + 3 * k * d];
        for row in 0..rows {
            op.row_expected(
                &head[row * width..(row + 1) * width],
                &u[row * targets * d..(row + 1) * targets * d],
                &incoming[row * targets..(row + 1) * targets],
                op.components_used_of(row, rows),
                Some(&mut gradient[row * width..(row + 1) * width]),
                None,
                &mut scratch,
            );
        }
        Ok((
            Some(Tensor::from_vec(gradient, arg1.shape(), arg1.device())?),
            None,
        ))
    }
}

/// Adam with decoupled weight decay (AdamW) and one learning rate per member, updating the
/// variables in place from plain slices: a handful of candle operations per variable
/// would cost more than the arithmetic at these sizes.
#[derive(Debug)]
pub struct MemberAdam {
    vars: Vec<Var>,
    first: Vec<Vec<f32>>,
    second: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    /// Learning rate of each member; 0 for a frozen one.
    lr: Vec<f64>,
    weight_decay: f64,
    step: i32,
    /// The moving average of the values, when averaging ([`MemberAdam::average_weights`]).
    average: Option<Average>,
}

/// An exponential moving average of every member's weights.
#[derive(Debug)]
struct Average {
    decay: f32,
    values: Vec<Vec<f32>>,
}

/// Keras' default epsilon, as the reference (candle's 1e-8 differs little).
const ADAM_EPS: f32 = 1e-7;
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;

impl MemberAdam {
    /// An optimiser over `members`' variables, every member at learning rate `lr`.
    ///
    /// # Errors
    ///
    /// A candle error reading the variables.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::{Members, MemberAdam}, model::Architecture};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Members::layout_of(&arch).unwrap();
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)], &[]).unwrap();
    /// let adam = MemberAdam::new(&members, 1e-3, 0.0).unwrap();
    /// assert_eq!(adam.lr(0), 1e-3);
    /// ```
    pub fn new(members: &Members, lr: f64, weight_decay: f64) -> Result<Self> {
        let vars = members.vars();
        let values = members.snapshot()?;
        let zeros: Vec<Vec<f32>> = values.iter().map(|v| vec![0.0; v.len()]).collect();
        Ok(MemberAdam {
            vars,
            first: zeros.clone(),
            second: zeros,
            values,
            lr: vec![lr; members.count()],
            weight_decay,
            step: 0,
            average: None,
        })
    }

    /// Keeps an exponential moving average of every member's weights from now on, with
    /// `decay` per step (Polyak averaging): the average of the last `1 / (1 - decay)` steps
    /// or so is a better estimate of the minimum than the last step when the gradients are
    /// noisy. Early steps use a smaller decay, `min(decay, (1 + t) / (10 + t))`, so that the
    /// initial weights fade quickly. [`MemberAdam::load_average`] puts it into the variables.
    ///
    /// # Examples
    ///
    /// See [`MemberAdam::load_average`].
    pub fn average_weights(&mut self, decay: f32) {
        self.average = Some(Average {
            decay,
            values: self.values.clone(),
        });
    }

    /// Puts the averaged weights into the variables (the current ones when not averaging),
    /// to evaluate or keep them; [`MemberAdam::load_current`] puts the current ones back.
    ///
    /// # Errors
    ///
    /// A candle error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::{Members, MemberAdam}, model::Architecture};
    /// # use candle_core::{Device, Tensor};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Members::layout_of(&arch).unwrap();
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)], &[]).unwrap();
    /// let mut adam = MemberAdam::new(&members, 1e-2, 0.0).unwrap();
    /// adam.average_weights(0.9);
    /// let start = members.snapshot().unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.3_f32]]], &Device::Cpu).unwrap();
    /// for _ in 0..3 {
    ///     adam.backward_step(&members.log_density(&xs, &us, true).unwrap().sum_all().unwrap()).unwrap();
    /// }
    /// let current = members.snapshot().unwrap();
    /// adam.load_average().unwrap();
    /// let average = members.snapshot().unwrap();
    /// // Between the start and the current weights.
    /// let (a, b, c) = (start[0][0], average[0][0], current[0][0]);
    /// assert!((a <= b && b <= c) || (c <= b && b <= a));
    /// adam.load_current().unwrap();
    /// assert_eq!(members.snapshot().unwrap(), current);
    /// ```
    pub fn load_average(&self) -> Result<()> {
        match &self.average {
            Some(average) => self.load(&average.values),
            None => self.load_current(),
        }
    }

    /// Puts the current weights back into the variables after [`MemberAdam::load_average`].
    ///
    /// # Errors
    ///
    /// A candle error.
    ///
    /// # Examples
    ///
    /// See [`MemberAdam::load_average`].
    pub fn load_current(&self) -> Result<()> {
        self.load(&self.values)
    }

    fn load(&self, values: &[Vec<f32>]) -> Result<()> {
        for (var, values) in self.vars.iter().zip(values) {
            var.set(&Tensor::from_slice(values, var.shape(), var.device())?)?;
        }
        Ok(())
    }

    /// Member `member`'s learning rate (0 once frozen).
    ///
    /// # Examples
    ///
    /// See [`MemberAdam::new`].
    pub fn lr(&self, member: usize) -> f64 {
        self.lr.get(member).copied().unwrap_or(0.0)
    }

    /// Sets member `member`'s learning rate.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::{Members, MemberAdam}, model::Architecture};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Members::layout_of(&arch).unwrap();
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)], &[]).unwrap();
    /// let mut adam = MemberAdam::new(&members, 1e-3, 0.0).unwrap();
    /// adam.set_lr(0, 1e-4);
    /// assert_eq!(adam.lr(0), 1e-4);
    /// ```
    pub fn set_lr(&mut self, member: usize, lr: f64) {
        if let Some(own) = self.lr.get_mut(member) {
            *own = lr;
        }
    }

    /// Freezes member `member`: later steps leave its weights and moments as they are.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::{Members, MemberAdam}, model::Architecture};
    /// # use candle_core::{Device, Tensor};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Members::layout_of(&arch).unwrap();
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)], &[]).unwrap();
    /// let mut adam = MemberAdam::new(&members, 1e-2, 0.0).unwrap();
    /// adam.freeze(0);
    /// let before = members.snapshot().unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.3_f32]]], &Device::Cpu).unwrap();
    /// adam.backward_step(&members.log_density(&xs, &us, true).unwrap().sum_all().unwrap()).unwrap();
    /// assert_eq!(members.snapshot().unwrap(), before);
    /// ```
    pub fn freeze(&mut self, member: usize) {
        self.set_lr(member, 0.0);
    }

    /// Puts member `member`'s values from `snapshot` back into its variables (the
    /// moments are kept).
    ///
    /// # Errors
    ///
    /// A candle error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::{Members, MemberAdam}, model::Architecture};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Members::layout_of(&arch).unwrap();
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)], &[]).unwrap();
    /// let mut adam = MemberAdam::new(&members, 1e-2, 0.0).unwrap();
    /// let mut snapshot = members.snapshot().unwrap();
    /// snapshot[0][0] = 0.25;
    /// adam.restore_member(&snapshot, 0).unwrap();
    /// assert_eq!(members.snapshot().unwrap()[0][0], 0.25);
    /// ```
    pub fn restore_member(&mut self, snapshot: &Snapshot, member: usize) -> Result<()> {
        let members = self.lr.len().max(1);
        for ((var, values), saved) in self.vars.iter().zip(&mut self.values).zip(snapshot) {
            let per = values.len() / members;
            let range = member * per..(member + 1) * per;
            values[range.clone()].copy_from_slice(&saved[range]);
            var.set(&Tensor::from_slice(values, var.shape(), var.device())?)?;
        }
        if let Some(average) = &mut self.average {
            for (values, saved) in average.values.iter_mut().zip(snapshot) {
                let per = values.len() / members;
                let range = member * per..(member + 1) * per;
                values[range.clone()].copy_from_slice(&saved[range]);
            }
        }
        Ok(())
    }

    /// One step down the gradient of `loss`.
    ///
    /// # Errors
    ///
    /// A candle error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{members::{Members, MemberAdam}, model::Architecture};
    /// # use candle_core::{Device, Tensor};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Members::layout_of(&arch).unwrap();
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)], &[]).unwrap();
    /// let mut adam = MemberAdam::new(&members, 1e-2, 0.0).unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32], [0.1]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.3_f32], [-0.2]]], &Device::Cpu).unwrap();
    /// let loss = |m: &Members| m.log_density(&xs, &us, true).unwrap().mean_all().unwrap().neg().unwrap();
    /// let before = loss(&members).to_scalar::<f32>().unwrap();
    /// for _ in 0..20 { adam.backward_step(&loss(&members)).unwrap(); }
    /// assert!(loss(&members).to_scalar::<f32>().unwrap() < before);
    /// ```
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step += 1;
        let scale_m = 1.0 / (1.0 - f64::from(BETA1).powi(self.step));
        let scale_v = 1.0 / (1.0 - f64::from(BETA2).powi(self.step));
        let members = self.lr.len().max(1);
        for (j, var) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var) else { continue };
            let g = g.flatten_all()?.to_vec1::<f32>()?;
            let per = g.len() / members;
            let (theta, m, v) = (&mut self.values[j], &mut self.first[j], &mut self.second[j]);
            for (member, &lr) in self.lr.iter().enumerate() {
                if lr == 0.0 {
                    // A stopped or diverged member keeps its weights and moments.
                    continue;
                }
                let range = member * per..(member + 1) * per;
                let step = (lr * scale_m) as f32;
                let root_scale_v = scale_v.sqrt() as f32;
                let decay = (1.0 - lr * self.weight_decay) as f32;
                for i in range.clone() {
                    m[i] = BETA1 * m[i] + (1.0 - BETA1) * g[i];
                    v[i] = BETA2 * v[i] + (1.0 - BETA2) * (g[i] * g[i]);
                    // m_hat / (sqrt(v_hat) + eps) with the bias corrections folded in.
                    let update = m[i] / (v[i].sqrt() * root_scale_v + ADAM_EPS);
                    theta[i] = theta[i] * decay - step * update;
                }
                if let Some(average) = &mut self.average {
                    let t = self.step as f32;
                    let keep = average.decay.min((1.0 + t) / (10.0 + t));
                    let avg = &mut average.values[j][range.clone()];
                    for (a, &v) in avg.iter_mut().zip(&theta[range]) {
                        *a = keep * *a + (1.0 - keep) * v;
                    }
                }
            }
            var.set(&Tensor::from_slice(theta, var.shape(), var.device())?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};
    use mdn_core::{Activation, SigmaTransform, TargetTransform};

    use super::*;
    use crate::{
        model::Mdn,
        scaling::{Scaler, Scalers},
    };

    /// The candle-autograd model of [`crate::model`] against the fused, hand-differentiated
    /// one here: same parameters, same rows, same values and gradients. Tolerance: f32
    /// arithmetic in different orders (gemm blocking, sums over rows) on values of order 1,
    /// 2e-4 relative to the largest gradient.
    fn check(activation: Activation, sigma: SigmaTransform, floor: f32) {
        let arch = Architecture {
            activation,
            sigma,
            sigma_floor: floor,
            ..Architecture::new(3, 2, 3, vec![5, 4])
        };
        let scalers = Scalers {
            input: Scaler::identity(3),
            target: Scaler::identity(2),
            transform: TargetTransform::Identity,
        };
        let names = |n: usize| (0..n).map(|i| format!("c{i}")).collect::<Vec<_>>();
        let model = Mdn::new(arch.clone(), scalers, &names(3), &names(2), 3).unwrap();
        let params = model.parameters().unwrap();
        let layout = model.layout().unwrap();
        let members = Members::new(arch, &layout, std::slice::from_ref(&params), &[]).unwrap();
        let rows = 7;
        let x: Vec<f32> = (0..rows * 3)
            .map(|i| ((i * 37 % 11) as f32 - 5.0) / 4.0)
            .collect();
        let u: Vec<f32> = (0..rows * 2)
            .map(|i| ((i * 23 % 13) as f32 - 6.0) / 3.0)
            .collect();
        let dev = Device::Cpu;
        let xs = Tensor::from_slice(&x, (rows, 3), &dev).unwrap();
        let us = Tensor::from_slice(&u, (rows, 2), &dev).unwrap();

        let reference = model.loss(&xs, &us).unwrap();
        let fused = members
            .log_density(&xs.unsqueeze(0).unwrap(), &us.unsqueeze(0).unwrap(), true)
            .unwrap()
            .mean_all()
            .unwrap()
            .neg()
            .unwrap();
        let (a, b) = (
            reference.to_scalar::<f32>().unwrap(),
            fused.to_scalar::<f32>().unwrap(),
        );
        assert!((a - b).abs() < 1e-5 * a.abs().max(1.0), "loss {a} vs {b}");

        let grads = reference.backward().unwrap();
        let mut expected = vec![0.0_f32; params.len()];
        for (var, info) in model
            .vars()
            .iter()
            .zip(layout.tensors().filter(|t| !t.name.is_shared()))
        {
            let g = grads
                .get(var)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            expected[info.offset..info.offset + info.len()].copy_from_slice(&g);
        }
        let grads = fused.backward().unwrap();
        let snapshot: Snapshot = members
            .vars()
            .iter()
            .map(|v| {
                grads
                    .get(v)
                    .unwrap()
                    .flatten_all()
                    .unwrap()
                    .to_vec1::<f32>()
                    .unwrap()
            })
            .collect();
        let found = members.member_parameters(&layout, &snapshot, 0);
        let scale = expected.iter().fold(0.0_f32, |m, v| m.max(v.abs()));
        for (i, (e, f)) in expected.iter().zip(&found).enumerate() {
            assert!((e - f).abs() <= 2e-4 * scale, "parameter {i}: {e} vs {f}");
        }
    }

    #[test]
    fn a_padded_network_has_the_density_of_its_fewer_components() {
        // A K = 2 network stored with 5 components (copies, weights split) against the
        // same network stored with 2.
        let arch = |k| Architecture::new(1, 1, k, vec![6]);
        let layout5 = Members::layout_of(&arch(5)).unwrap();
        let layout2 = Members::layout_of(&arch(2)).unwrap();
        let five = Members::new(arch(5), &layout5, &[Members::initial(&layout5, 9)], &[2]).unwrap();
        let mut padded = five.member_parameters(&layout5, &five.snapshot().unwrap(), 0);
        // The same network with two components: its first two of each head.
        let mut two = vec![0.0_f32; layout2.parameter_count()];
        for info in layout2.tensors() {
            let from = layout5.find(info.name).unwrap();
            let n = info.len();
            two[info.offset..info.offset + n]
                .copy_from_slice(&padded[from.offset..from.offset + n]);
        }
        // Before padding the copies' logits were lowered; undo that for the K = 2 model.
        let lb2 = layout2.find(TensorName::LogitsBias).unwrap().offset;
        two[lb2] += 3_f32.ln();
        two[lb2 + 1] += 2_f32.ln();
        for scale in [TensorName::InputScale, TensorName::TargetScale] {
            padded[layout5.find(scale).unwrap().offset] = 1.0;
            two[layout2.find(scale).unwrap().offset] = 1.0;
        }
        let encode = |arch: Architecture, params: &[f32]| {
            let scalers = Scalers {
                input: Scaler::identity(1),
                target: Scaler::identity(1),
                transform: TargetTransform::Identity,
            };
            let model = Mdn::new(arch, scalers, &["x".into()], &["y".into()], 0).unwrap();
            model.set_parameters(params).unwrap();
            model.to_blob().unwrap()
        };
        let (a, b) = (encode(arch(5), &padded), encode(arch(2), &two));
        let (a, b) = (
            mdn_core::HostModel::from_bytes(&a).unwrap(),
            mdn_core::HostModel::from_bytes(&b).unwrap(),
        );
        for (x, y) in [(0.1_f32, -0.3_f32), (0.7, 0.2), (-1.0, 1.5)] {
            let (pa, pb) = (
                a.log_prob(&[x], &[y]).unwrap(),
                b.log_prob(&[x], &[y]).unwrap(),
            );
            assert!((pa - pb).abs() < 1e-5, "{pa} vs {pb}");
        }
    }

    #[test]
    fn fused_gradients_match_candle_autograd() {
        for activation in [Activation::Relu, Activation::Tanh] {
            for sigma in [
                SigmaTransform::Nnelu,
                SigmaTransform::Softplus,
                SigmaTransform::Exp,
            ] {
                check(activation, sigma, 1e-3);
            }
        }
        // A floor above most sigmas: their gradient is zero on both sides.
        check(Activation::Relu, SigmaTransform::Nnelu, 0.9);
    }
}
