//! One `log p(y|x)` replayed on the host with the values a device meets: which products of
//! the kernels are zero and which branch every libm call takes.
//!
//! The dense layers are recomputed here in mdn-core's arithmetic (FORMAT.md section 5: each
//! sum from the first input up, starting at zero, the bias added last), so the arguments
//! are the device's to the bit; a test checks the result against mdn-core's own mixture.
//! The densities come from mdn-core's mixture.

use mdn_core::{
    Activation, Blob, HALF_LN_TWO_PI, HostModel, ROW_BLOCK, SOFTPLUS_THRESHOLD, SigmaTransform,
    TargetTransform, TensorName,
};

use super::{branch::Function, operations::Calls};

/// What the values of one query decide.
#[derive(Debug, Clone)]
pub(super) struct Trace {
    /// Multiply-adds of the kernels with a zero weight or a zero input.
    pub(super) zero_products: u64,
    /// Every libm call, by branch.
    pub(super) calls: Calls,
}

impl Trace {
    /// The trace of `log p(y|x)` of `blob`.
    pub(super) fn of(blob: &Blob<'_>, x: &[f32], y: &[f32]) -> mdn_core::Result<Trace> {
        let model = HostModel::from_blob(blob.clone())?;
        let mixture = model.mixture(x)?;
        // The target's errors come before any density, as in `Mixture::log_prob`.
        mixture.log_prob(y)?;
        let mut trace = Trace {
            zero_products: 0,
            calls: Calls::default(),
        };
        let parameters = Parameters::of(blob)?;
        let header = blob.header();
        let scaled: Vec<f32> = x
            .iter()
            .zip(parameters.shared(TensorName::InputOffset))
            .zip(parameters.shared(TensorName::InputScale))
            .map(|((x, offset), scale)| (x - offset) / scale)
            .collect();
        for network in 0..header.networks as usize {
            let mut input = scaled.clone();
            for layer in 0..header.hidden.len() {
                let weights = parameters.of_network(TensorName::HiddenWeight(layer), network);
                let scales = parameters.of_network(TensorName::HiddenWeightScale(layer), network);
                let bias = parameters.of_network(TensorName::HiddenBias(layer), network);
                let sums = trace.dense(weights, scales, bias, &input);
                input = sums
                    .into_iter()
                    .map(|z| match header.activation {
                        Activation::Relu => Activation::Relu.apply(z),
                        Activation::Tanh => {
                            trace.calls.add(Function::Tanhf, Some(z));
                            Activation::Tanh.apply(z)
                        }
                    })
                    .collect();
            }
            let head = [
                TensorName::LogitsWeight,
                TensorName::MeansWeight,
                TensorName::SigmasWeight,
            ];
            let weights: Vec<f32> = head
                .iter()
                .flat_map(|&name| parameters.of_network(name, network))
                .copied()
                .collect();
            // Empty unless the heads are int8.
            let scales: Vec<f32> = [
                TensorName::LogitsWeightScale,
                TensorName::MeansWeightScale,
                TensorName::SigmasWeightScale,
            ]
            .iter()
            .flat_map(|&name| parameters.of_network(name, network))
            .copied()
            .collect();
            let bias: Vec<f32> = [
                TensorName::LogitsBias,
                TensorName::MeansBias,
                TensorName::SigmasBias,
            ]
            .iter()
            .flat_map(|&name| parameters.of_network(name, network))
            .copied()
            .collect();
            let outputs = trace.dense(&weights, &scales, &bias, &input);
            let k = header.components as usize;
            let kd = k * header.output_dim as usize;
            let temperature = parameters.shared(TensorName::Temperature)[0];
            let logits: Vec<f32> = outputs[..k].iter().map(|l| l / temperature).collect();
            trace.log_sum_exp(&logits);
            for &z in &outputs[k + kd..] {
                trace.sigma(header.sigma, z);
            }
        }
        trace.log_density(&mixture, header.target_transform, y);
        Ok(trace)
    }

    /// `W a + b` with mdn-core's sums, counting the kernel's zero products: it takes whole
    /// pairs of 8-row blocks, the rows that fill a block being zero, and an odd last block
    /// twice. An `int8` layer's `weights` are the integers `q` and `scales` its row scales
    /// (each sum times its row's scale before the bias); other layers have no scales.
    fn dense(&mut self, weights: &[f32], scales: &[f32], bias: &[f32], input: &[f32]) -> Vec<f32> {
        let fan_in = input.len();
        let rows = bias.len();
        let row = |r: usize| &weights[r * fan_in..(r + 1) * fan_in];
        let blocks = rows.div_ceil(ROW_BLOCK);
        let computed_blocks = (0..blocks.div_ceil(2) * 2).map(|b| b.min(blocks - 1));
        for block in computed_blocks {
            for slot in 0..ROW_BLOCK {
                let r = block * ROW_BLOCK + slot;
                let zeros = if r < rows {
                    row(r)
                        .iter()
                        .zip(input)
                        .filter(|&(w, a)| *w == 0.0 || *a == 0.0)
                        .count()
                } else {
                    fan_in
                };
                self.zero_products += zeros as u64;
            }
        }
        (0..rows)
            .map(|r| {
                let mut sum = 0.0_f32;
                for (w, a) in row(r).iter().zip(input) {
                    sum += w * a;
                }
                match scales.get(r) {
                    Some(scale) => sum * scale + bias[r],
                    None => sum + bias[r],
                }
            })
            .collect()
    }

    /// mdn-core's `log_sum_exp`: `expf(v - max)` of every value, `logf` of their sum.
    fn log_sum_exp(&mut self, values: &[f32]) -> f32 {
        let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if values.iter().any(|v| v.is_nan()) || max.is_infinite() {
            return if max.is_infinite() { max } else { f32::NAN };
        }
        let mut sum = 0.0_f32;
        for &v in values {
            self.calls.add(Function::Expf, Some(v - max));
            sum += libm::expf(v - max);
        }
        self.calls.add(Function::Logf, Some(sum));
        max + libm::logf(sum)
    }

    /// The libm calls of a sigma transform of `z`.
    fn sigma(&mut self, transform: SigmaTransform, z: f32) {
        match transform {
            SigmaTransform::Nnelu if z > 0.0 => {}
            SigmaTransform::Softplus if z > SOFTPLUS_THRESHOLD => {}
            SigmaTransform::Nnelu | SigmaTransform::Exp => self.calls.add(Function::Expf, Some(z)),
            SigmaTransform::Softplus => {
                self.calls.add(Function::Expf, Some(z));
                self.calls.add(Function::Log1pf, Some(libm::expf(z)));
            }
        }
    }

    /// The libm calls of the density at `y`: the target transform's `logf`s, each
    /// component's `logf(sigma)`s and the log-sum-exp over the components.
    fn log_density<const K: usize, const D: usize>(
        &mut self,
        mixture: &mdn_core::Mixture<K, D>,
        transform: TargetTransform,
        y: &[f32],
    ) {
        let point: Vec<f32> = match transform {
            TargetTransform::Identity => y.to_vec(),
            TargetTransform::Log => {
                if y.iter().any(|&v| v <= 0.0) {
                    // Zero density: the query returns before any component.
                    for &v in y.iter().take_while(|&&v| v > 0.0) {
                        self.calls.add(Function::Logf, Some(v));
                    }
                    return;
                }
                y.iter()
                    .map(|&v| {
                        self.calls.add(Function::Logf, Some(v));
                        libm::logf(v)
                    })
                    .collect()
            }
        };
        let densities: Vec<f32> = mixture
            .iter()
            .map(|component| {
                let mut sum = 0.0_f32;
                for ((&t, &mu), &sigma) in point.iter().zip(component.means).zip(component.sigmas) {
                    self.calls.add(Function::Logf, Some(sigma));
                    let r = (t - mu) / sigma;
                    sum += -0.5 * (r * r) - libm::logf(sigma) - HALF_LN_TWO_PI;
                }
                component.log_weight + sum
            })
            .collect();
        self.log_sum_exp(&densities);
    }
}

/// A blob's parameters in logical order, by tensor.
struct Parameters {
    values: Vec<f32>,
    layout: mdn_core::Layout,
}

impl Parameters {
    fn of(blob: &Blob<'_>) -> mdn_core::Result<Parameters> {
        Ok(Parameters {
            values: blob.parameter_values().collect(),
            layout: blob.layout()?,
        })
    }

    fn tensor(&self, name: TensorName, network: Option<usize>) -> &[f32] {
        self.layout
            .tensors()
            .find(|t| t.name == name && t.network == network)
            .and_then(|t| self.values.get(t.offset..t.offset + t.len()))
            .unwrap_or(&[])
    }

    fn shared(&self, name: TensorName) -> &[f32] {
        self.tensor(name, None)
    }

    fn of_network(&self, name: TensorName, network: usize) -> &[f32] {
        self.tensor(name, Some(network))
    }
}
