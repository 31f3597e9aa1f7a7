//! `M` networks of one architecture trained side by side as batched candle tensors.
//!
//! candle's cost for networks this small is mostly per operation, not per number: a
//! step of one 1-32-32 network and a step of five of them stacked along a leading network
//! axis take nearly the same time. So an ensemble is trained as one set of tensors,
//! `[M, ...]`, with batched matrix products, and each network keeps its own minibatches,
//! validation rows, early stopping and optimiser state:
//!
//! * every network's loss depends only on its own parameters, so the gradient of the sum
//!   of the networks' losses is each network's own gradient, and Adam is elementwise;
//! * weights are stored transposed, `[M, in, out]`, so a layer is `h.matmul(w) + b`;
//!   [`Networks::network_parameters`] transposes back to the blob's `[out][in]` rows in
//!   [`mdn_core::Layout`] order;
//! * the arithmetic is [`crate::model`]'s, one axis up: log-softmax weights, nnelu as
//!   `z > 0 ? 1 + z : exp(z)`, `sigma = max(t(z), floor)`, Gaussian log-densities and a
//!   max-subtracted log-sum-exp (the blob, not this code, defines what a device computes).

mod adam;
mod ops;
#[cfg(test)]
mod tests;

use candle_core::{Device, Tensor, Var};
use mdn_core::{Activation, Layout, TensorInfo, TensorName};
use ops::{BiasActivation, MixtureLogDensities, MixtureLogDensity};

pub use adam::NetworkAdam;

use crate::{error::Result, model::Architecture};

/// One parameter of all networks: a weight `[M, in, out]` or a bias `[M, 1, out]`,
/// network-major so that network `m`'s values are one contiguous run. The three heads are
/// one parameter whose outputs are the logits, then the means, then the sigmas (`parts`,
/// in that order), so they take one matrix product.
#[derive(Debug)]
struct Param {
    parts: Vec<TensorInfo>,
    var: Var,
    /// Values of one network.
    per_network: usize,
}

impl Param {
    fn is_weight(&self) -> bool {
        self.parts[0].name.is_weight()
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
        if info.name.is_weight() {
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
/// use mdn_train::{networks::Networks, model::Architecture};
/// let arch = Architecture::new(1, 1, 2, vec![4]);
/// let layout = Networks::layout_of(&arch).unwrap();
/// let init: Vec<Vec<f32>> = (0..3).map(|m| Networks::initial(&layout, m)).collect();
/// let networks = Networks::new(arch, &layout, &init, &[]).unwrap();
/// assert_eq!(networks.count(), 3);
/// assert_eq!(networks.network_parameters(&layout, &networks.snapshot().unwrap(), 1), init[1]);
/// ```
#[derive(Debug)]
pub struct Networks {
    arch: Architecture,
    count: usize,
    /// Components each network uses, at most `arch.components` (the rest of its head is
    /// ignored: a network with fewer components is that smaller model exactly).
    components_used: Vec<usize>,
    /// Hidden weight and bias of each layer, then the head's weight and bias.
    params: Vec<Param>,
    device: Device,
}

/// The values of every parameter of every network, in [`Networks`]' own orientation: a
/// snapshot to keep the best weights of each network.
pub type Snapshot = Vec<Vec<f32>>;

impl Networks {
    /// The blob layout of one network of `arch` (scaler tensors included, as in a blob).
    ///
    /// # Errors
    ///
    /// [`crate::Error::Core`] or [`crate::Error::InvalidOption`] if the architecture does
    /// not fit the format.
    ///
    /// # Examples
    ///
    /// See [`Networks`].
    pub fn layout_of(arch: &Architecture) -> Result<Layout> {
        crate::model::layout_of(arch)
    }

    /// Initial parameters of one network in layout order (scaler slots zero): Glorot-uniform
    /// weights and zero biases from `Pcg64Mcg::seed_from_u64(seed)`, exactly as
    /// [`crate::model::Mdn::new`] draws them.
    ///
    /// # Examples
    ///
    /// See [`Networks`].
    pub fn initial(layout: &Layout, seed: u64) -> Vec<f32> {
        crate::model::initial_parameters(layout, seed)
    }

    /// Stacks `init` (one full layout-order parameter vector per network, scalers included
    /// and ignored) into batched variables; network `m` uses the first `components_used[m]`
    /// components of its head (all of them when `components_used` is empty).
    ///
    /// # Errors
    ///
    /// A candle error, or [`crate::Error::ParameterCount`] if a vector has the wrong length.
    ///
    /// # Examples
    ///
    /// See [`Networks`].
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
                per_network: 0,
            };
            let (fan_in, outputs) = (param.fan_in(), param.outputs());
            param.per_network = fan_in * outputs;
            let mut values = vec![0.0; count * param.per_network];
            for (network, own) in init.iter().enumerate() {
                let dst =
                    &mut values[network * param.per_network..(network + 1) * param.per_network];
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
        Ok(Networks {
            arch,
            count,
            components_used,
            params,
            device,
        })
    }

    /// Number of networks `M`.
    ///
    /// # Examples
    ///
    /// See [`Networks`].
    pub fn count(&self) -> usize {
        self.count
    }

    /// The trainable variables, in layout order.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{networks::Networks, model::Architecture};
    /// let arch = Architecture::new(1, 1, 2, vec![4]);
    /// let layout = Networks::layout_of(&arch).unwrap();
    /// let networks = Networks::new(arch, &layout, &[Networks::initial(&layout, 1)], &[]).unwrap();
    /// assert_eq!(networks.vars().len(), 2 + 2); // one hidden layer; the three heads are one
    /// ```
    pub fn vars(&self) -> Vec<Var> {
        self.params.iter().map(|p| p.var.clone()).collect()
    }

    /// The candle device (always the CPU).
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{networks::Networks, model::Architecture};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Networks::layout_of(&arch).unwrap();
    /// # let networks = Networks::new(arch, &layout, &[Networks::initial(&layout, 1)], &[]).unwrap();
    /// assert!(networks.device().is_cpu());
    /// ```
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Per-network, per-row `ln p(u|x)` `[M, N]` of scaled targets `us` `[M, N, D]` at
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
    /// # use mdn_train::{networks::Networks, model::Architecture};
    /// use candle_core::{Device, Tensor};
    /// let arch = Architecture::new(1, 1, 2, vec![4]);
    /// let layout = Networks::layout_of(&arch).unwrap();
    /// let init = [Networks::initial(&layout, 1), Networks::initial(&layout, 2)];
    /// let networks = Networks::new(arch, &layout, &init, &[]).unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32]], [[0.2]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.1_f32]], [[-0.3]]], &Device::Cpu).unwrap();
    /// assert_eq!(networks.log_density(&xs, &us, false).unwrap().dims(), [2, 1]);
    /// ```
    pub fn log_density(&self, xs: &Tensor, us: &Tensor, with_gradient: bool) -> Result<Tensor> {
        let head = self.head(xs)?;
        let op = self.op(with_gradient);
        Ok(if with_gradient {
            head.apply_op2(us, op)?
        } else {
            head.apply_op2_no_bwd(us, &op)?
        })
    }

    /// Per-network, per-row, per-target `ln p(u_s|x)` `[M, N, S]` of `S` scaled targets
    /// per row, `us` `[M, N, S D]`, with a gradient.
    ///
    /// # Errors
    ///
    /// A candle error (a shape mismatch is a bug).
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{networks::Networks, model::Architecture};
    /// use candle_core::{Device, Tensor};
    /// let arch = Architecture::new(1, 1, 2, vec![4]);
    /// let layout = Networks::layout_of(&arch).unwrap();
    /// let networks = Networks::new(arch, &layout, &[Networks::initial(&layout, 1)], &[]).unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.1_f32, -0.3]]], &Device::Cpu).unwrap();
    /// let each = networks.log_densities(&xs, &us).unwrap();
    /// assert_eq!(each.dims(), [1, 1, 2]);
    /// ```
    pub fn log_densities(&self, xs: &Tensor, us: &Tensor) -> Result<Tensor> {
        let head = self.head(xs)?;
        Ok(head.apply_op2(us, MixtureLogDensities::new(self.op(true)))?)
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
    fn op(&self, with_gradient: bool) -> MixtureLogDensity {
        MixtureLogDensity::new(&self.arch, self.components_used.clone(), with_gradient)
    }

    /// Copies every parameter of every network.
    ///
    /// # Errors
    ///
    /// A candle error.
    ///
    /// # Examples
    ///
    /// See [`Networks`].
    pub fn snapshot(&self) -> Result<Snapshot> {
        self.params
            .iter()
            .map(|p| Ok(p.var.as_tensor().flatten_all()?.to_vec1::<f32>()?))
            .collect()
    }

    /// Copies network `network`'s values from `from` into `into`.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::networks::Networks;
    /// let mut into = vec![vec![0.0; 4]];
    /// Networks::copy_network(&[vec![1.0, 2.0, 3.0, 4.0]], &mut into, 1, 2);
    /// assert_eq!(into, [vec![0.0, 0.0, 3.0, 4.0]]);
    /// ```
    pub fn copy_network(from: &[Vec<f32>], into: &mut Snapshot, network: usize, count: usize) {
        for (src, dst) in from.iter().zip(into.iter_mut()) {
            let per = src.len() / count.max(1);
            let range = network * per..(network + 1) * per;
            dst[range.clone()].copy_from_slice(&src[range]);
        }
    }

    /// Network `network`'s parameters from `snapshot` as a full layout-order vector, with
    /// the scaler slots zero (the caller fills them), weights back in `[out][in]` rows.
    ///
    /// # Examples
    ///
    /// See [`Networks`].
    pub fn network_parameters(
        &self,
        layout: &Layout,
        snapshot: &Snapshot,
        network: usize,
    ) -> Vec<f32> {
        let mut out = vec![0.0; layout.parameter_count()];
        for (p, values) in self.params.iter().zip(snapshot) {
            let own = &values[network * p.per_network..(network + 1) * p.per_network];
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
            self.components_used[network],
            self.arch.components,
            self.arch.outputs,
        );
        out
    }

    /// Components each network uses.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{networks::Networks, model::Architecture};
    /// # let arch = Architecture::new(1, 1, 5, vec![4]);
    /// # let layout = Networks::layout_of(&arch).unwrap();
    /// let init = [Networks::initial(&layout, 1), Networks::initial(&layout, 2)];
    /// let networks = Networks::new(arch, &layout, &init, &[1, 5]).unwrap();
    /// assert_eq!(networks.components_used(), [1, 5]);
    /// ```
    pub fn components_used(&self) -> &[usize] {
        &self.components_used
    }
}

/// Rewrites a `k`-component mixture held in the first `k` of `slots` components as the same
/// mixture over all `slots`: slot `s` copies component `s % k`, and each copy's logit is
/// lowered by `ln(copies)`, so the copies' weights add up to the component's weight and
/// the density is unchanged (up to rounding). Every network of an ensemble blob then has
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
