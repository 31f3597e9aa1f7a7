//! candle operations that compute what mdn-core computes: libm's `tanh`, the sigma
//! transforms, the log-sum-exp and the mixture's log-density.

use candle_core::{D as Dim, Tensor};
use mdn_core::{HALF_LN_TWO_PI, SOFTPLUS_THRESHOLD, SigmaTransform};

use super::MixtureTensors;
use crate::error::Result;

/// `tanh` through libm's `tanhf`, the function mdn-core calls, so that hidden activations
/// agree bit for bit given the same pre-activations (candle's own `tanh` calls the
/// platform's `tanhf`, which can differ from libm's by an ulp).
struct LibmTanh;

impl candle_core::CustomOp1 for LibmTanh {
    fn name(&self) -> &'static str {
        "libm-tanh"
    }

    fn cpu_fwd(
        &self,
        storage: &candle_core::CpuStorage,
        layout: &candle_core::Layout,
    ) -> candle_core::Result<(candle_core::CpuStorage, candle_core::Shape)> {
        let (start, end) = layout
            .contiguous_offsets()
            .ok_or_else(|| candle_core::Error::Msg("libm-tanh needs a contiguous tensor".into()))?;
        let values = storage.as_slice::<f32>()?[start..end]
            .iter()
            .map(|&z| libm::tanhf(z))
            .collect();
        Ok((candle_core::CpuStorage::F32(values), layout.shape().clone()))
    }

    fn bwd(
        &self,
        _arg: &Tensor,
        res: &Tensor,
        grad_res: &Tensor,
    ) -> candle_core::Result<Option<Tensor>> {
        // d tanh(z) / dz = 1 - tanh(z)^2.
        Ok(Some(grad_res.mul(&res.sqr()?.affine(-1.0, 1.0)?)?))
    }
}

/// `tanh` through libm's `tanhf` (see [`LibmTanh`]).
pub(crate) fn libm_tanh(z: &Tensor) -> Result<Tensor> {
    Ok(z.contiguous()?.apply_op1(LibmTanh)?)
}

/// `ln sum exp` over the last dimension, kept: `m + ln(sum(exp(v - m)))` with `m` the
/// maximum, as mdn-core. `m` is detached: the exact gradient does not depend on it.
pub(crate) fn log_sum_exp_keepdim(v: &Tensor) -> Result<Tensor> {
    let max = v.max_keepdim(Dim::Minus1)?.detach();
    let sum = v.broadcast_sub(&max)?.exp()?.sum_keepdim(Dim::Minus1)?;
    Ok((max + sum.log()?)?)
}

/// Applies a sigma transform as mdn-core does, with gradients that stay finite.
pub(crate) fn sigma_transform(z: &Tensor, kind: SigmaTransform) -> Result<Tensor> {
    Ok(match kind {
        SigmaTransform::Nnelu => {
            let positive = (z + 1.0)?;
            let negative = z.minimum(0.0_f32)?.exp()?;
            z.gt(0.0_f32)?.where_cond(&positive, &negative)?
        }
        SigmaTransform::Exp => z.exp()?,
        SigmaTransform::Softplus => {
            // log1p(e) by Goldberg's identity `e * ln(u) / (u - 1)` with `u = 1 + e`
            // (exact to a few ulps), and `e` itself where `u` rounds to 1.
            let e = z.minimum(SOFTPLUS_THRESHOLD)?.exp()?;
            let u = (&e + 1.0)?;
            let denominator = (&u - 1.0)?;
            let rounds_to_one = denominator.eq(0.0_f32)?;
            let safe = rounds_to_one.where_cond(&denominator.ones_like()?, &denominator)?;
            let log1p = (e.clone() * u.log()?)?.div(&safe)?;
            let small = rounds_to_one.where_cond(&e, &log1p)?;
            z.gt(SOFTPLUS_THRESHOLD)?.where_cond(z, &small)?
        }
    })
}

/// Per-row `ln p(t)` `[N]` of a mixture `[N, K, D]` at targets `t` `[N, D]`, in the units of
/// the mixture: `lse_k(log_w_k + sum_d (-0.5 r^2 - ln sigma - C))`, `r = (t - mu) / sigma`.
///
/// # Errors
///
/// A candle error for mismatched shapes.
///
/// # Examples
///
/// ```
/// use candle_core::{Device, Tensor};
/// use mdn_train::model::{MixtureTensors, log_density};
/// let dev = Device::Cpu;
/// let m = MixtureTensors {
///     log_weights: Tensor::new(&[[0.0_f32]], &dev).unwrap(),
///     means: Tensor::new(&[[[0.0_f32]]], &dev).unwrap(),
///     sigmas: Tensor::new(&[[[1.0_f32]]], &dev).unwrap(),
/// };
/// let lp = log_density(&m, &Tensor::new(&[[0.0_f32]], &dev).unwrap()).unwrap();
/// assert_eq!(lp.to_vec1::<f32>().unwrap(), [-0.9189385]);
/// ```
pub fn log_density(mixture: &MixtureTensors, t: &Tensor) -> Result<Tensor> {
    let r = t
        .unsqueeze(1)?
        .broadcast_sub(&mixture.means)?
        .div(&mixture.sigmas)?;
    let g = (((r.sqr()? * -0.5)? - mixture.sigmas.log()?)? - f64::from(HALF_LN_TWO_PI))?;
    let c = (&mixture.log_weights + g.sum(2)?)?;
    Ok(log_sum_exp_keepdim(&c)?.squeeze(1)?)
}
