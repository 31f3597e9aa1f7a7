//! Step 2's last table: mdn-train's device cost model against QEMU's counts on models it
//! was not calibrated on.

use std::fmt::Write as _;

use anyhow::Result;
use mdn_core::Blob;
use mdn_tests::generate::AlignedBlob;
use mdn_train::device_cost::{Core, DeviceCost, Evaluator, predict, predict_at, stated_input};

use crate::device::Footprint;

/// A model the device tables measured, on both machines.
pub(crate) struct Checked {
    /// How the tables name it.
    pub(crate) label: String,
    pub(crate) blob: Vec<u8>,
    pub(crate) m4f: Footprint,
    pub(crate) m0: Footprint,
}

/// `predicted` against `measured`, as a signed percentage.
fn error(predicted: u64, measured: u64) -> f64 {
    100.0 * (predicted as f64 - measured as f64) / measured as f64
}

/// The section: what the model is, the table, the largest errors.
pub(crate) fn cost_model_section(checked: &[Checked]) -> Result<String> {
    let calibration = |e: Evaluator| e.calibration();
    let mut text = String::new();
    write!(
        text,
        "## Cost model: predicted against QEMU\n\n\
         `mdn_train::device_cost` predicts what a model costs from its header alone: the \
         blob's bytes (exact), instructions per log p(y\\|x) on a Cortex-M4F (with \
         `mdn-cortex-m`'s kernel and with mdn-core's) and on a Cortex-M0 (ARMv6-M), and RAM \
         (static RAM and the stack peak of validation and one query, at the tightest \
         capacities); `mdn inspect` prints it. Instructions are a sum over what a query does \
         (kernel columns, rows, components, ...), each at a cost per occurrence, plus every \
         libm call at the cost of the branch of libm's code its argument takes, as \
         `firmware-example`'s `libm_cost` measured it over a sweep of arguments. The costs \
         per occurrence are fitted (least squares, none negative) to `cost`'s counts on {} \
         calibration models (`mdn_tests::generate::cost_models`) by `cargo run -p \
         mdn-benches --release --bin figures -- --calibrate`, which writes them into \
         `mdn-train/src/device_cost/calibration.rs`: there the largest error is {:.1} % on \
         the Cortex-M4F ({:.1} % for a model left out of the fit), {:.1} % ({:.1} %) with \
         the portable kernel, {:.1} % ({:.1} %) on ARMv6-M.\n\n\
         What a query costs depends on the values it meets: libm's branches differ several \
         times over (`tanhf` 28 to 110 instructions on the Cortex-M4F, 108 to 2,800 on \
         ARMv6-M), an nnelu sigma above 1 skips its `expf`, a ReLU zero makes a software \
         multiply-add cheap. `predict_at` reads them off a replay of the query on the host \
         (the check below, at the stated input: every feature 0.3, every target -0.7, or 0.7 \
         for a log target, as `cost` evaluates); `predict`, for budgets, is the worst case \
         over inputs: every libm call at its function's dearest branch, every sigma through \
         `expf` (softplus through `log1pf` too), no ReLU zero, and then the largest \
         under-estimate of a left-out calibration model on top. The models below were not \
         among the calibration models; QEMU's counts are the tables' above.\n\n\
         | model | Cortex-M4F (QEMU) | predicted | error | portable kernel (QEMU) | \
         predicted | error | ARMv6-M (QEMU) | predicted | error | worst case, x QEMU's \
         (M4F, ARMv6-M) | RAM M4F (QEMU / predicted) | RAM ARMv6-M (QEMU / predicted) \
         |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        mdn_tests::generate::cost_models().len(),
        100.0 * calibration(Evaluator::CortexM4F).largest_error,
        100.0 * calibration(Evaluator::CortexM4F).largest_left_out_error,
        100.0 * calibration(Evaluator::CortexM4FPortable).largest_error,
        100.0 * calibration(Evaluator::CortexM4FPortable).largest_left_out_error,
        100.0 * calibration(Evaluator::CortexM0).largest_error,
        100.0 * calibration(Evaluator::CortexM0).largest_left_out_error,
    )?;
    let mut largest = [0.0_f64; 3];
    for model in checked {
        let aligned = AlignedBlob::new(&model.blob);
        let blob = Blob::from_bytes(aligned.bytes())?;
        let (x, y) = stated_input(blob.header());
        let at = |core| predict_at(&blob, core, &x, &y);
        let (m4f, m0) = (at(Core::CortexM4F)?, at(Core::CortexM0)?);
        let worst = |core| predict(blob.header(), core);
        let (worst_m4f, worst_m0) = (worst(Core::CortexM4F)?, worst(Core::CortexM0)?);
        let portable = m4f.instructions_portable.unwrap_or(0);
        let rows = [
            (m4f.instructions, model.m4f.cost.log_prob),
            (portable, model.m4f.cost.portable_log_prob),
            (m0.instructions, model.m0.cost.log_prob),
        ];
        write!(text, "| {} ", model.label)?;
        for (slot, (predicted, measured)) in largest.iter_mut().zip(rows) {
            let e = error(predicted, measured);
            *slot = slot.max(e.abs());
            write!(text, "| {measured} | {predicted} | {e:+.1} % ")?;
        }
        let ram = |cost: &DeviceCost, measured: &Footprint| {
            format!("{} / {}", measured.ram(), cost.ram_bytes)
        };
        writeln!(
            text,
            "| {:.2}, {:.2} | {} | {} |",
            worst_m4f.instructions as f64 / model.m4f.cost.log_prob as f64,
            worst_m0.instructions as f64 / model.m0.cost.log_prob as f64,
            ram(&m4f, &model.m4f),
            ram(&m0, &model.m0),
        )?;
    }
    writeln!(
        text,
        "\nLargest error on these {} models: {:.1} % on the Cortex-M4F, {:.1} % with the \
         portable kernel, {:.1} % on ARMv6-M (target: within 5 %). The device parity test \
         (`tests/tests/device_parity.rs`, run by `scripts/check.sh`) checks three of them \
         against QEMU within 5 %, and that the worst case is above QEMU's count.\n",
        checked.len(),
        largest[0],
        largest[1],
        largest[2]
    )?;
    Ok(text)
}
