//! The C functions: initialisation, the model's dimensions and every query.
//!
//! Each function checks the model first (NULL, alignment, initialised), then the pointers
//! and the output buffers' lengths against the model's dimensions, then mdn-core checks the
//! inputs' lengths and values. Outputs are written only when the call returns `MDN_OK`.

use core::ffi::c_float;

use mdn_core::{Mode, PerOutput};

use crate::{
    arrays::{input, output, scalar},
    capacities::{CModel, MAX_COMPONENTS, MAX_OUTPUTS},
    model::{self, mdn_model},
    rng::SplitMix64,
    status::{
        mdn_status::{self, *},
        status_of,
    },
};

/// Validates the model blob of `blob_len` bytes at `blob` (checksum, shapes, every
/// parameter) and stores the model in `*model`. The blob is read in place, never copied.
///
/// Returns `MDN_OK`, or why the blob was refused: `MDN_ERROR_MISALIGNED` unless `blob` is
/// 4-byte aligned, `MDN_ERROR_CAPACITY_EXCEEDED` if it needs more than `MDN_MAX_INPUTS`,
/// `MDN_MAX_WIDTH`, `MDN_MAX_COMPONENTS` or `MDN_MAX_OUTPUTS`, `MDN_ERROR_TRUNCATED` or
/// `MDN_ERROR_TRAILING_BYTES` unless `blob_len` is the blob's exact length, and so on. After
/// a failure `*model` is not initialised (queries return `MDN_ERROR_NOT_INITIALISED`).
///
/// # Safety
///
/// `model` points to writable `mdn_model` storage (or is NULL). `blob` points to
/// `blob_len` readable bytes (or is NULL) that must stay valid and unchanged for as long as
/// `*model` is used: the model reads its parameters from them (flash, or a `static` array).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_model_init(
    model: *mut mdn_model,
    blob: *const u8,
    blob_len: usize,
) -> mdn_status {
    // SAFETY: the caller's promises are `model::init`'s.
    status_of(unsafe { model::init(model, blob, blob_len) })
}

/// The model's number of input features: the length every `x` must have. 0 if `model` is
/// NULL or not initialised.
///
/// # Safety
///
/// `model` is NULL or points to a zeroed or `mdn_model_init`-ed `mdn_model`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_input_dim(model: *const mdn_model) -> usize {
    // SAFETY: the caller's promise is `model::get`'s.
    unsafe { model::get(model) }.map_or(0, |m| m.header().input_dim as usize)
}

/// The model's number of output dimensions `D`: the length every `y` must have, and what
/// `mdn_mean`, `mdn_std_dev`, `mdn_cdf`, `mdn_crps` and `mdn_sample` write. 0 if `model`
/// is NULL or not initialised.
///
/// # Safety
///
/// As `mdn_input_dim`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_output_dim(model: *const mdn_model) -> usize {
    // SAFETY: the caller's promise is `model::get`'s.
    unsafe { model::get(model) }.map_or(0, |m| m.header().output_dim as usize)
}

/// The number of mixture components `K` of the model (all networks of an ensemble
/// together): what `mdn_mixture` writes, and the most modes `mdn_modes` can find. 0 if
/// `model` is NULL or not initialised.
///
/// # Safety
///
/// As `mdn_input_dim`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_components(model: *const mdn_model) -> usize {
    // SAFETY: the caller's promise is `model::get`'s.
    unsafe { model::get(model) }.map_or(0, components_of)
}

/// The model, `x` and (if asked) `y` of a query.
///
/// # Safety
///
/// The query functions' promises.
unsafe fn model_and_x<'a>(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
) -> Result<(&'a CModel<'static>, &'a [f32]), mdn_status> {
    // SAFETY: the caller's promises are those of `model::get` and `input`.
    unsafe { Ok((model::get(model)?, input(x, x_len)?)) }
}

/// `ln p(y|x)`, the log-density of `y` given the input `x`, in original units, into
/// `*log_p`.
///
/// Returns `MDN_OK`; `MDN_ERROR_INPUT_LENGTH` unless `x_len == mdn_input_dim(model)`,
/// `MDN_ERROR_TARGET_LENGTH` unless `y_len == mdn_output_dim(model)`,
/// `MDN_ERROR_NON_FINITE_INPUT` or `MDN_ERROR_NON_FINITE_TARGET` for NaN or infinite values.
///
/// # Safety
///
/// `model` as in `mdn_input_dim`; `x` and `y` point to `x_len` and `y_len` floats (or are
/// NULL); `log_p` points to a writable float (or is NULL: `MDN_ERROR_NULL_POINTER`).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_log_prob(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    y: *const c_float,
    y_len: usize,
    log_p: *mut c_float,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    status_of(unsafe {
        (|| {
            let (model, x) = model_and_x(model, x, x_len)?;
            let out = scalar(log_p)?;
            *out = model.log_prob(x, input(y, y_len)?)?;
            Ok(())
        })()
    })
}

/// `p(y|x)`, the density of `y` given `x` (`exp` of `mdn_log_prob`), into `*p`.
///
/// Returns as `mdn_log_prob`.
///
/// # Safety
///
/// As `mdn_log_prob`, with `p` for `log_p`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_prob(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    y: *const c_float,
    y_len: usize,
    p: *mut c_float,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    status_of(unsafe {
        (|| {
            let (model, x) = model_and_x(model, x, x_len)?;
            let out = scalar(p)?;
            *out = model.prob(x, input(y, y_len)?)?;
            Ok(())
        })()
    })
}

/// The anomaly score `-ln p(y|x)` in nats, into `*score`: higher is more surprising given
/// `x`. Flag readings above a percentile of the scores on validation data.
///
/// Returns as `mdn_log_prob`.
///
/// # Safety
///
/// As `mdn_log_prob`, with `score` for `log_p`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_anomaly_score(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    y: *const c_float,
    y_len: usize,
    score: *mut c_float,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    status_of(unsafe {
        (|| {
            let (model, x) = model_and_x(model, x, x_len)?;
            let out = scalar(score)?;
            *out = model.anomaly_score(x, input(y, y_len)?)?;
            Ok(())
        })()
    })
}

/// Writes `D = mdn_output_dim(model)` values computed from the mixture at `x` into
/// `out[0..D]`.
///
/// # Safety
///
/// The query functions' promises.
unsafe fn per_output(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    out: *mut c_float,
    out_len: usize,
    query: impl FnOnce(&CModel<'static>, &[f32]) -> Result<PerOutput<MAX_OUTPUTS>, mdn_status>,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    status_of(unsafe {
        (|| {
            let (model, x) = model_and_x(model, x, x_len)?;
            let out = output(out, out_len)?;
            let out = out
                .get_mut(..model.header().output_dim as usize)
                .ok_or(MDN_ERROR_BUFFER_TOO_SMALL)?;
            // `zip`, not `copy_from_slice`: no length check, so no panic path to link.
            for (out, &v) in out.iter_mut().zip(&query(model, x)?) {
                *out = v;
            }
            Ok(())
        })()
    })
}

/// The predictive mean of each output dimension given `x`, into `mean[0..D]` with
/// `D = mdn_output_dim(model)`. For a multimodal density the mean may lie where the density
/// is low: see `mdn_modes`.
///
/// Returns `MDN_OK`; `MDN_ERROR_BUFFER_TOO_SMALL` if `mean_len < D`; the input errors of
/// `mdn_log_prob`.
///
/// # Safety
///
/// `model` as in `mdn_input_dim`; `x` points to `x_len` floats (or is NULL); `mean` to
/// `mean_len` writable floats (or is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_mean(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    mean: *mut c_float,
    mean_len: usize,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    unsafe { per_output(model, x, x_len, mean, mean_len, |m, x| Ok(m.mean(x)?)) }
}

/// The predictive standard deviation of each output dimension given `x`, into
/// `std_dev[0..D]`.
///
/// Returns as `mdn_mean`.
///
/// # Safety
///
/// As `mdn_mean`, with `std_dev` for `mean`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_std_dev(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    std_dev: *mut c_float,
    std_dev_len: usize,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    unsafe {
        per_output(model, x, x_len, std_dev, std_dev_len, |m, x| {
            Ok(m.mixture(x)?.std_dev())
        })
    }
}

/// The marginal CDF `P(Y_d <= y_d | x)` of each output dimension, into `cdf[0..D]`.
///
/// Returns `MDN_OK`; `MDN_ERROR_BUFFER_TOO_SMALL` if `cdf_len < D`; the errors of
/// `mdn_log_prob`.
///
/// # Safety
///
/// As `mdn_log_prob`; `cdf` points to `cdf_len` writable floats (or is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_cdf(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    y: *const c_float,
    y_len: usize,
    cdf: *mut c_float,
    cdf_len: usize,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    unsafe {
        per_output(model, x, x_len, cdf, cdf_len, |m, x| {
            Ok(m.cdf(x, input(y, y_len)?)?)
        })
    }
}

/// The continuous ranked probability score of each output dimension's marginal at the
/// observed `y`, in the units of `y` (lower is better), into `crps[0..D]`.
///
/// Returns as `mdn_cdf`.
///
/// # Safety
///
/// As `mdn_cdf`, with `crps` for `cdf`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_crps(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    y: *const c_float,
    y_len: usize,
    crps: *mut c_float,
    crps_len: usize,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    unsafe {
        per_output(model, x, x_len, crps, crps_len, |m, x| {
            Ok(m.crps(x, input(y, y_len)?)?)
        })
    }
}

/// The `p` quantile of a one-output model's predictive distribution given `x`, into `*q`:
/// `P(Y <= *q | x) = p`, accurate to 1e-7 in probability.
///
/// Returns `MDN_OK`; `MDN_ERROR_INVALID_PROBABILITY` unless `0 < p < 1`;
/// `MDN_ERROR_NOT_UNIVARIATE` for a model with several outputs; the input errors of
/// `mdn_log_prob`.
///
/// # Safety
///
/// `model` as in `mdn_input_dim`; `x` points to `x_len` floats (or is NULL); `q` to a
/// writable float (or is NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_quantile(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    p: c_float,
    q: *mut c_float,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    status_of(unsafe {
        (|| {
            let (model, x) = model_and_x(model, x, x_len)?;
            let out = scalar(q)?;
            *out = model.quantile(x, p)?;
            Ok(())
        })()
    })
}

/// The central interval holding `coverage` of a one-output model's predictive probability
/// given `x` (for example 0.9): `*lower` is the `(1 - coverage) / 2` quantile, `*upper` the
/// `(1 + coverage) / 2` quantile.
///
/// Returns as `mdn_quantile`, with `coverage` for `p`.
///
/// # Safety
///
/// As `mdn_quantile`; `lower` and `upper` point to writable floats (or are NULL).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_interval(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    coverage: c_float,
    lower: *mut c_float,
    upper: *mut c_float,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    status_of(unsafe {
        (|| {
            let (model, x) = model_and_x(model, x, x_len)?;
            let (lower, upper) = (scalar(lower)?, scalar(upper)?);
            let interval = model.interval(x, coverage)?;
            (*lower, *upper) = (interval.lower, interval.upper);
            Ok(())
        })()
    })
}

/// Every mode (local maximum of the density) of a one-output model's predictive
/// distribution given `x`, **highest density first**: `ys[i]` is where mode `i` lies, in
/// original units, `densities[i]` the density there. `ys[0]` is the most likely value,
/// mdn-core's `Modes::highest`, compared in log space (so it is right even where a density
/// underflows to 0 as a float, as far out in a log target's tail); the others follow by
/// density, highest first, equal densities in order of location. `*count` is set to the
/// number of modes found (at most `mdn_components(model)`), and the first
/// `min(*count, capacity)` are written. With `capacity == 0`, `ys` and `densities` may be
/// NULL (a count query).
///
/// Returns `MDN_OK` (also when `*count > capacity`); `MDN_ERROR_NOT_UNIVARIATE` for a
/// model with several outputs; the input errors of `mdn_log_prob`. `*count` is written only
/// on `MDN_OK`.
///
/// # Safety
///
/// `model` as in `mdn_input_dim`; `x` points to `x_len` floats (or is NULL); `ys` and
/// `densities` to `capacity` writable floats each (or are NULL); `count` to a writable
/// `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_modes(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    ys: *mut c_float,
    densities: *mut c_float,
    capacity: usize,
    count: *mut usize,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    status_of(unsafe {
        (|| {
            let (model, x) = model_and_x(model, x, x_len)?;
            let (ys, densities) = (output(ys, capacity)?, output(densities, capacity)?);
            let count = scalar(count)?;
            let modes = model.modes(x)?;
            let mut sorted = [Mode {
                location: 0.0,
                density: 0.0,
            }; MAX_COMPONENTS];
            let sorted = sorted.get_mut(..modes.len()).unwrap_or(&mut []);
            // The highest first, then the others in location order, sorted by density.
            let highest = modes.highest_index();
            let first = highest.and_then(|h| modes.get(h));
            let rest = (modes.iter().enumerate())
                .filter(|&(i, _)| Some(i) != highest)
                .map(|(_, mode)| mode);
            for (out, &mode) in sorted.iter_mut().zip(first.into_iter().chain(rest)) {
                *out = mode;
            }
            let others = usize::from(first.is_some());
            by_density(sorted.get_mut(others..).unwrap_or(&mut []));
            for ((mode, y), density) in sorted.iter().zip(ys).zip(densities) {
                (*y, *density) = (mode.location, mode.density);
            }
            *count = sorted.len();
            Ok(())
        })()
    })
}

/// Sorts `modes` by density, highest first; stable (an insertion sort: at most
/// `MAX_COMPONENTS` modes, no allocation), so equal densities keep their location order.
fn by_density(modes: &mut [Mode]) {
    for i in 1..modes.len() {
        // The unsorted mode sinks through `modes[..=i]`; slice patterns keep every access
        // provably in bounds (no panic path).
        let mut tail = modes.get_mut(..=i).unwrap_or(&mut []);
        loop {
            let swapped = match tail {
                [.., before, last] if before.density < last.density => {
                    core::mem::swap(before, last);
                    true
                }
                _ => false,
            };
            if !swapped {
                break;
            }
            let len = tail.len();
            tail = core::mem::take(&mut tail)
                .get_mut(..len.saturating_sub(1))
                .unwrap_or(&mut []);
        }
    }
}

/// The differential entropy of the predictive distribution given `x`, in nats, into
/// `*entropy` (numerical quadrature for one output; see mdn-core's `Mixture::entropy`).
///
/// Returns `MDN_OK`; `MDN_ERROR_NOT_UNIVARIATE` for a model with several outputs; the
/// input errors of `mdn_log_prob`.
///
/// # Safety
///
/// As `mdn_quantile`, with `entropy` for `q`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_entropy(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    entropy: *mut c_float,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    status_of(unsafe {
        (|| {
            let (model, x) = model_and_x(model, x, x_len)?;
            let out = scalar(entropy)?;
            *out = model.entropy(x)?;
            Ok(())
        })()
    })
}

/// The predictive mixture given `x`: with `K = mdn_components(model)` and
/// `D = mdn_output_dim(model)`, `log_weights[k]` is component `k`'s log mixing weight,
/// `means[k * D + d]` and `sigmas[k * D + d]` its mean and standard deviation for output `d`
/// (in the components' space: for a log target, of `ln y`). `*components` is set to `K`.
///
/// Returns `MDN_OK`; `MDN_ERROR_BUFFER_TOO_SMALL` if `capacity < K` (`log_weights` holds
/// `capacity` floats, `means` and `sigmas` `capacity * D` each); the input errors of
/// `mdn_log_prob`.
///
/// # Safety
///
/// `model` as in `mdn_input_dim`; `x` points to `x_len` floats (or is NULL);
/// `log_weights` to `capacity` writable floats, `means` and `sigmas` to `capacity * D`
/// each; `components` to a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_mixture(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    log_weights: *mut c_float,
    means: *mut c_float,
    sigmas: *mut c_float,
    capacity: usize,
    components: *mut usize,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    status_of(unsafe {
        (|| {
            let (model, x) = model_and_x(model, x, x_len)?;
            let dims = model.header().output_dim as usize;
            let values = capacity.checked_mul(dims).ok_or(MDN_ERROR_NULL_POINTER)?;
            let log_weights = output(log_weights, capacity)?;
            let (means, sigmas) = (output(means, values)?, output(sigmas, values)?);
            let components = scalar(components)?;
            let k = components_of(model);
            if capacity < k {
                return Err(MDN_ERROR_BUFFER_TOO_SMALL);
            }
            let mixture = model.mixture(x)?;
            for (out, &w) in log_weights.iter_mut().zip(mixture.log_weights()) {
                *out = w;
            }
            let (mut m, mut s) = (means.iter_mut(), sigmas.iter_mut());
            for component in mixture.iter() {
                // The component's values first: `zip` takes from its first iterator before
                // it sees the second end.
                for (&v, out) in component.means.iter().zip(m.by_ref()) {
                    *out = v;
                }
                for (&v, out) in component.sigmas.iter().zip(s.by_ref()) {
                    *out = v;
                }
            }
            *components = k;
            Ok(())
        })()
    })
}

/// `K * M`, every component of the model.
fn components_of(model: &CModel<'_>) -> usize {
    let header = model.header();
    header.components as usize * header.networks as usize
}

/// One draw from the predictive distribution given `x`, into `y[0..D]`, advancing
/// `*rng_state`: the generator is SplitMix64 (Steele, Lea and Flood 2014) over the 64-bit
/// state, as in mdn's parity vectors, so the same state gives the same draw on every
/// platform. Seed the state with any value once, then keep passing it.
///
/// Returns `MDN_OK`; `MDN_ERROR_BUFFER_TOO_SMALL` if `y_len < D`; the input errors of
/// `mdn_log_prob`. The state advances only on `MDN_OK`.
///
/// # Safety
///
/// `model` as in `mdn_input_dim`; `x` points to `x_len` floats (or is NULL); `rng_state`
/// to a writable `uint64_t`; `y` to `y_len` writable floats.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn mdn_sample(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    rng_state: *mut u64,
    y: *mut c_float,
    y_len: usize,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    unsafe { mdn_sample_tempered(model, x, x_len, 1.0, 1.0, rng_state, y, y_len) }
}

/// As `mdn_sample`, with the mixing logits divided by `temperature` (below 1 favours the
/// heavier components) and every sigma multiplied by `sigma_scale`; both 1 is `mdn_sample`.
///
/// Returns as `mdn_sample`, and `MDN_ERROR_INVALID_TEMPERATURE` or
/// `MDN_ERROR_INVALID_SIGMA_SCALE` unless they are positive and finite.
///
/// # Safety
///
/// As `mdn_sample`.
#[unsafe(no_mangle)]
#[allow(
    clippy::too_many_arguments,
    reason = "a C function: each array is a pointer and a length"
)]
pub unsafe extern "C" fn mdn_sample_tempered(
    model: *const mdn_model,
    x: *const c_float,
    x_len: usize,
    temperature: c_float,
    sigma_scale: c_float,
    rng_state: *mut u64,
    y: *mut c_float,
    y_len: usize,
) -> mdn_status {
    // SAFETY: the caller's promises, passed on.
    status_of(unsafe {
        (|| {
            let (model, x) = model_and_x(model, x, x_len)?;
            let state = scalar(rng_state)?;
            let out = output(y, y_len)?;
            let out = out
                .get_mut(..model.header().output_dim as usize)
                .ok_or(MDN_ERROR_BUFFER_TOO_SMALL)?;
            let mixture = model.mixture(x)?;
            let mut rng = SplitMix64(*state);
            let draw = mixture.sample_tempered(&mut rng, temperature, sigma_scale)?;
            for (out, &v) in out.iter_mut().zip(&draw) {
                *out = v;
            }
            *state = rng.0;
            Ok(())
        })()
    })
}
