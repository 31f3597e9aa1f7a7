//! What packed weights cost beyond `f32` ones: instructions per multiply-add (`f16`,
//! `int8`), an integer network's multiply-adds and rows, and the stack a firmware with packed
//! layers takes. Measured on single models in QEMU, not fitted like the rest of the cost
//! model (its calibration models are all `f32`).

use mdn_core::Header;

use super::{Core, Evaluator};

impl Evaluator {
    /// Instructions a packed weight's multiply-add costs beyond an `f32` one's, for `f16`,
    /// `int8` and integer layers: measured, not fitted (the calibration models are `f32`),
    /// on the 1-32-32 K = 5 model stored as `f16` and as `int8` throughout, and as the
    /// integer network of `mdn quantize --activations int16` (int8, int8, 16-bit heads),
    /// against the same model in `f32` (BENCHMARKS.md, "Compact weights"): the conversion of
    /// each weight to `f32` (mdn-core's portable loop for packed layers on every core; on
    /// ARMv6-M the integer-to-float conversion is a software routine); for an integer
    /// network, which runs no float kernel (its products are not counted as `f32` ones), the
    /// whole cost of a multiply-add (on the Cortex-M4F `mdn-cortex-m`'s `smlad` kernel, or
    /// mdn-core's portable one).
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::Evaluator;
    /// let [f16, int8, integer] = Evaluator::CortexM4F.packed_conversion();
    /// assert!(f16 > int8);
    /// assert!(Evaluator::CortexM0.packed_conversion()[2] < 20.0);
    /// ```
    pub const fn packed_conversion(self) -> [f64; 3] {
        // Measured 2026-12-07 with ARMv6-M's `aeabi-float` (QEMU, `cost`, the stated
        // input). f16 and int8: (the packed model's count - the f32 model's prediction) /
        // products, on the 1-32-32 model (ARMv6-M: 211,405 and 294,103 against 185,586).
        // Integer, with `integer_row_cost`: on the Cortex-M4F the two counts of the 1-32-32
        // integer network (9,221: 1,568 products, 80 rows) and the parity set's integer
        // ensemble (10,460: 608, 80) solved for both; the portable kernel's products from
        // the 1-32-32 count with mdn-core's kernel (10,660). On ARMv6-M the products fitted
        // to the two 1-32-32 integer networks of `figures` and the parity set (50,014 and
        // 56,338) with the rows' cost from a profile.
        match self {
            Evaluator::CortexM4F => [11.38, 4.13, 0.689],
            Evaluator::CortexM4FPortable => [10.25, 3.0, 1.607],
            Evaluator::CortexM0 => [16.47, 69.31, 10.2],
        }
    }

    /// Instructions an integer layer's row costs beyond its multiply-adds
    /// ([`Evaluator::packed_conversion`]'s third figure): its bias, requantization or
    /// conversion to `f32`, the loop around its sums. On the Cortex-M4F solved with the
    /// per-product figure from two integer networks of different shapes (the 1-32-32 K = 5
    /// model and the parity set's 3-16-8 K = 3 D = 2 ensemble of two networks: two counts,
    /// two unknowns). On ARMv6-M read off a QEMU single-step profile of the 1-32-32 model
    /// (7,172 instructions for its 80 rows: the requantization's 64-bit product in
    /// `__aeabi_lmul` where a sum is positive, the heads' conversion to `f32`): there the
    /// ensemble's count is dominated by its mixture's software float, which the
    /// calibration, fitted on `f32` networks, predicts low (BENCHMARKS.md, "Cost model").
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::Evaluator;
    /// assert!(Evaluator::CortexM0.integer_row_cost() > 0.0);
    /// ```
    pub const fn integer_row_cost(self) -> f64 {
        match self {
            Evaluator::CortexM4F | Evaluator::CortexM4FPortable => 59.10,
            Evaluator::CortexM0 => 89.65,
        }
    }
}

/// Stack bytes that validating a model with packed weights, in a firmware built with packed
/// layers (mdn-core's `f16` and `int8` features), takes beyond an `f32` one: the storage each
/// layer's placement and the layout carry, and the walk over packed words. Measured once on
/// the 1-32-32 K = 5 model (peaks of 1,996 B against 2,236 B on the Cortex-M4F, 2,412 B
/// against 2,708 B as ARMv6-M code); the calibration models are all `f32`.
pub(super) fn packed_stack(header: &Header<'_>, core: Core) -> usize {
    if header.storage.iter().all(|&s| s == mdn_core::Storage::F32) {
        return 0;
    }
    // An integer network (a firmware with mdn-core's `int16`): the quantized input and the
    // integer layers' frames, measured on the same model stored as `mdn quantize
    // --activations int16` writes it (2,284 B and 2,748 B).
    let integer = header.storage.iter().any(|s| s.is_integer());
    match (core, integer) {
        (Core::CortexM4F, false) => 240,
        // 296 B on that model; 22 B more on the int8 ensemble of the parity set since the
        // integer path's refactoring of the networks' loop (2,756 B measured).
        (Core::CortexM0, false) => 318,
        (Core::CortexM4F, true) => 280,
        (Core::CortexM0, true) => 328,
    }
}
