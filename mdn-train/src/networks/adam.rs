//! Adam with one learning rate per network.

use candle_core::{Tensor, Var};

use super::{Networks, Snapshot};
use crate::error::Result;

/// Adam with decoupled weight decay (AdamW) and one learning rate per network, updating the
/// variables in place from plain slices: a handful of candle operations per variable
/// would cost more than the arithmetic at these sizes.
#[derive(Debug)]
pub struct NetworkAdam {
    vars: Vec<Var>,
    first: Vec<Vec<f32>>,
    second: Vec<Vec<f32>>,
    values: Vec<Vec<f32>>,
    /// Learning rate of each network; 0 for a frozen one.
    lr: Vec<f64>,
    weight_decay: f64,
    step: i32,
}

/// Keras' default epsilon, as the reference (candle's 1e-8 differs little).
const ADAM_EPS: f32 = 1e-7;
const BETA1: f32 = 0.9;
const BETA2: f32 = 0.999;

impl NetworkAdam {
    /// An optimiser over `networks`' variables, every network at learning rate `lr`.
    ///
    /// # Errors
    ///
    /// A candle error reading the variables.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{networks::{Networks, NetworkAdam}, model::Architecture};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Networks::layout_of(&arch).unwrap();
    /// # let networks = Networks::new(arch, &layout, &[Networks::initial(&layout, 1)], &[]).unwrap();
    /// let adam = NetworkAdam::new(&networks, 1e-3, 0.0).unwrap();
    /// assert_eq!(adam.lr(0), 1e-3);
    /// ```
    pub fn new(networks: &Networks, lr: f64, weight_decay: f64) -> Result<Self> {
        let vars = networks.vars();
        let values = networks.snapshot()?;
        let zeros: Vec<Vec<f32>> = values.iter().map(|v| vec![0.0; v.len()]).collect();
        Ok(NetworkAdam {
            vars,
            first: zeros.clone(),
            second: zeros,
            values,
            lr: vec![lr; networks.count()],
            weight_decay,
            step: 0,
        })
    }

    /// Network `network`'s learning rate (0 once frozen).
    ///
    /// # Examples
    ///
    /// See [`NetworkAdam::new`].
    pub fn lr(&self, network: usize) -> f64 {
        self.lr.get(network).copied().unwrap_or(0.0)
    }

    /// Sets network `network`'s learning rate.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{networks::{Networks, NetworkAdam}, model::Architecture};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Networks::layout_of(&arch).unwrap();
    /// # let networks = Networks::new(arch, &layout, &[Networks::initial(&layout, 1)], &[]).unwrap();
    /// let mut adam = NetworkAdam::new(&networks, 1e-3, 0.0).unwrap();
    /// adam.set_lr(0, 1e-4);
    /// assert_eq!(adam.lr(0), 1e-4);
    /// ```
    pub fn set_lr(&mut self, network: usize, lr: f64) {
        if let Some(own) = self.lr.get_mut(network) {
            *own = lr;
        }
    }

    /// Freezes network `network`: later steps leave its weights and moments as they are.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{networks::{Networks, NetworkAdam}, model::Architecture};
    /// # use candle_core::{Device, Tensor};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Networks::layout_of(&arch).unwrap();
    /// # let networks = Networks::new(arch, &layout, &[Networks::initial(&layout, 1)], &[]).unwrap();
    /// let mut adam = NetworkAdam::new(&networks, 1e-2, 0.0).unwrap();
    /// adam.freeze(0);
    /// let before = networks.snapshot().unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.3_f32]]], &Device::Cpu).unwrap();
    /// adam.backward_step(&networks.log_density(&xs, &us, true).unwrap().sum_all().unwrap()).unwrap();
    /// assert_eq!(networks.snapshot().unwrap(), before);
    /// ```
    pub fn freeze(&mut self, network: usize) {
        self.set_lr(network, 0.0);
    }

    /// Puts network `network`'s values from `snapshot` back into its variables (the
    /// moments are kept).
    ///
    /// # Errors
    ///
    /// A candle error.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::{networks::{Networks, NetworkAdam}, model::Architecture};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Networks::layout_of(&arch).unwrap();
    /// # let networks = Networks::new(arch, &layout, &[Networks::initial(&layout, 1)], &[]).unwrap();
    /// let mut adam = NetworkAdam::new(&networks, 1e-2, 0.0).unwrap();
    /// let mut snapshot = networks.snapshot().unwrap();
    /// snapshot[0][0] = 0.25;
    /// adam.restore_network(&snapshot, 0).unwrap();
    /// assert_eq!(networks.snapshot().unwrap()[0][0], 0.25);
    /// ```
    pub fn restore_network(&mut self, snapshot: &Snapshot, network: usize) -> Result<()> {
        let networks = self.lr.len().max(1);
        for ((var, values), saved) in self.vars.iter().zip(&mut self.values).zip(snapshot) {
            let per = values.len() / networks;
            let range = network * per..(network + 1) * per;
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
    /// # use mdn_train::{networks::{Networks, NetworkAdam}, model::Architecture};
    /// # use candle_core::{Device, Tensor};
    /// # let arch = Architecture::new(1, 1, 2, vec![4]);
    /// # let layout = Networks::layout_of(&arch).unwrap();
    /// # let networks = Networks::new(arch, &layout, &[Networks::initial(&layout, 1)], &[]).unwrap();
    /// let mut adam = NetworkAdam::new(&networks, 1e-2, 0.0).unwrap();
    /// let xs = Tensor::new(&[[[0.5_f32], [0.1]]], &Device::Cpu).unwrap();
    /// let us = Tensor::new(&[[[0.3_f32], [-0.2]]], &Device::Cpu).unwrap();
    /// let loss = |m: &Networks| m.log_density(&xs, &us, true).unwrap().mean_all().unwrap().neg().unwrap();
    /// let before = loss(&networks).to_scalar::<f32>().unwrap();
    /// for _ in 0..20 { adam.backward_step(&loss(&networks)).unwrap(); }
    /// assert!(loss(&networks).to_scalar::<f32>().unwrap() < before);
    /// ```
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step += 1;
        let scale_m = 1.0 / (1.0 - f64::from(BETA1).powi(self.step));
        let scale_v = 1.0 / (1.0 - f64::from(BETA2).powi(self.step));
        let networks = self.lr.len().max(1);
        for (j, var) in self.vars.iter().enumerate() {
            let Some(g) = grads.get(var) else { continue };
            let g = g.flatten_all()?.to_vec1::<f32>()?;
            let per = g.len() / networks;
            let (theta, m, v) = (&mut self.values[j], &mut self.first[j], &mut self.second[j]);
            for (network, &lr) in self.lr.iter().enumerate() {
                if lr == 0.0 {
                    // A stopped or diverged network keeps its weights and moments.
                    continue;
                }
                let range = network * per..(network + 1) * per;
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
