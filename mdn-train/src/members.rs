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

use candle_core::{D as Dim, Device, Tensor, Var};
use mdn_core::{Activation, HALF_LN_TWO_PI, Layout, TensorInfo, TensorName};

use crate::{
    error::Result,
    model::{Architecture, is_scaler, is_weight, libm_tanh, log_sum_exp_keepdim, sigma_transform},
};

/// One parameter tensor of all members: `[M, in, out]` for a weight, `[M, 1, len]` for a
/// bias, member-major so that member `m`'s values are one contiguous run.
#[derive(Debug)]
struct Param {
    info: TensorInfo,
    var: Var,
    /// Values of one member.
    per_member: usize,
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
/// let members = Members::new(arch, &layout, &init).unwrap();
/// assert_eq!(members.count(), 3);
/// assert_eq!(members.member_parameters(&layout, &members.snapshot().unwrap(), 1), init[1]);
/// ```
#[derive(Debug)]
pub struct Members {
    arch: Architecture,
    count: usize,
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

    /// Initial parameters of one member in layout order (scalers as identity): Glorot-uniform
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
    /// and ignored) into batched variables.
    ///
    /// # Errors
    ///
    /// A candle error, or [`crate::Error::Core`] if a vector has the wrong length.
    ///
    /// # Examples
    ///
    /// See [`Members`].
    pub fn new(arch: Architecture, layout: &Layout, init: &[Vec<f32>]) -> Result<Self> {
        let device = Device::Cpu;
        let count = init.len();
        for p in init {
            crate::model::check_parameter_count(layout, p.len())?;
        }
        let mut params = Vec::new();
        for info in layout.tensors().filter(|t| !is_scaler(t.name)) {
            let mut values = Vec::with_capacity(count * info.len());
            for member in init {
                let own = &member[info.offset..info.offset + info.len()];
                if is_weight(info.name) {
                    // Blob rows are outputs: store `[in][out]` for `h.matmul(w)`.
                    for i in 0..info.cols {
                        values.extend((0..info.rows).map(|o| own[o * info.cols + i]));
                    }
                } else {
                    values.extend_from_slice(own);
                }
            }
            let shape = if is_weight(info.name) {
                (count, info.cols, info.rows)
            } else {
                (count, 1, info.len())
            };
            params.push(Param {
                info,
                var: Var::from_vec(values, shape, &device)?,
                per_member: info.len(),
            });
        }
        Ok(Members {
            arch,
            count,
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
    /// let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)]).unwrap();
    /// assert_eq!(members.vars().len(), 2 + 6);
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
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)]).unwrap();
    /// assert!(members.device().is_cpu());
    /// ```
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn param(&self, name: TensorName) -> &Tensor {
        // Every name asked for below exists in a layout of this architecture.
        let found = self.params.iter().find(|p| p.info.name == name);
        found.map_or_else(|| unreachable!("no tensor {name}"), |p| p.var.as_tensor())
    }

    fn dense(&self, h: &Tensor, weight: TensorName, bias: TensorName) -> Result<Tensor> {
        Ok(h.matmul(self.param(weight))?
            .broadcast_add(self.param(bias))?)
    }

    /// Per-member, per-row `ln p(u|x)` `[M, N]` of scaled targets `us` `[M, N, D]` at
    /// scaled inputs `xs` `[M, N, F]`, in scaled target units.
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
    /// let members = Members::new(arch, &layout, &init).unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32]], [[0.2]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.1_f32]], [[-0.3]]], &Device::Cpu).unwrap();
    /// assert_eq!(members.log_density(&xs, &us).unwrap().dims(), [2, 1]);
    /// ```
    pub fn log_density(&self, xs: &Tensor, us: &Tensor) -> Result<Tensor> {
        let mut h = xs.clone();
        for i in 0..self.arch.hidden.len() {
            let z = self.dense(&h, TensorName::HiddenWeight(i), TensorName::HiddenBias(i))?;
            h = match self.arch.activation {
                Activation::Relu => z.relu()?,
                Activation::Tanh => libm_tanh(&z)?,
            };
        }
        let (m, n, _) = h.dims3()?;
        let (k, d) = (self.arch.components, self.arch.outputs);
        let logits = self.dense(&h, TensorName::LogitsWeight, TensorName::LogitsBias)?;
        let log_weights = logits.broadcast_sub(&log_sum_exp_keepdim(&logits)?)?;
        let means = self
            .dense(&h, TensorName::MeansWeight, TensorName::MeansBias)?
            .reshape((m, n, k, d))?;
        let z = self
            .dense(&h, TensorName::SigmasWeight, TensorName::SigmasBias)?
            .reshape((m, n, k, d))?;
        let sigmas = sigma_transform(&z, self.arch.sigma)?.maximum(self.arch.sigma_floor)?;
        let r = us.unsqueeze(2)?.broadcast_sub(&means)?.div(&sigmas)?;
        let g = (((r.sqr()? * -0.5)? - sigmas.log()?)? - f64::from(HALF_LN_TWO_PI))?;
        let c = (log_weights + g.sum(Dim::Minus1)?)?;
        Ok(log_sum_exp_keepdim(&c)?.squeeze(Dim::Minus1)?)
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
            let info = p.info;
            let dst = &mut out[info.offset..info.offset + info.len()];
            if is_weight(info.name) {
                for o in 0..info.rows {
                    for i in 0..info.cols {
                        dst[o * info.cols + i] = own[i * info.rows + o];
                    }
                }
            } else {
                dst.copy_from_slice(own);
            }
        }
        out
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
    /// Learning rate of each member.
    pub lr: Vec<f64>,
    weight_decay: f64,
    step: i32,
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
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)]).unwrap();
    /// let adam = MemberAdam::new(&members, 1e-3, 0.0).unwrap();
    /// assert_eq!(adam.lr, [1e-3]);
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
        })
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
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)]).unwrap();
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
    /// # let members = Members::new(arch, &layout, &[Members::initial(&layout, 1)]).unwrap();
    /// let mut adam = MemberAdam::new(&members, 1e-2, 0.0).unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32], [0.1]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.3_f32], [-0.2]]], &Device::Cpu).unwrap();
    /// let loss = |m: &Members| m.log_density(&xs, &us).unwrap().mean_all().unwrap().neg().unwrap();
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
                for i in range {
                    m[i] = BETA1 * m[i] + (1.0 - BETA1) * g[i];
                    v[i] = BETA2 * v[i] + (1.0 - BETA2) * (g[i] * g[i]);
                    // m_hat / (sqrt(v_hat) + eps) with the bias corrections folded in.
                    let update = m[i] / (v[i].sqrt() * root_scale_v + ADAM_EPS);
                    theta[i] = theta[i] * decay - step * update;
                }
            }
            var.set(&Tensor::from_slice(theta, var.shape(), var.device())?)?;
        }
        Ok(())
    }
}
