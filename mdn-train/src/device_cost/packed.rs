//! What packed weights cost beyond `f32` ones: instructions per multiply-add (`f16`,
//! `int8`), an integer network's multiply-adds and rows, and the stack a firmware with packed
//! layers takes. Measured on single models in QEMU, not fitted like the rest of the cost
//! model (its calibration models are all `f32`).

use mdn_core::Header;

use super::{Core, Evaluator};

impl Evaluator {
    /// Instructions a packed weight's multiply-add costs beyond an `f32` one's, for `f16`,
    /// `int8` and integer layers: measured once, not fitted (the calibration models are
    /// `f32`), on the 1-32-32 K = 5 model stored as `f16` and as `int8` throughout, and as
    /// the integer network of `mdn quantize --activations int16` (int8, int8, 16-bit
    /// heads), against the same model in `f32` (BENCHMARKS.md, "Compact weights"): the
    /// conversion of each weight to `f32` (mdn-core's portable loop for packed layers on
    /// every core; on ARMv6-M the integer-to-float conversion is a software routine); for
    /// an integer network, which runs no float kernel (its products are not counted as
    /// `f32` ones), the whole cost of a multiply-add, its rows' requantization included.
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
        // Integer (with `integer_row_cost`): fitted to QEMU's counts of the 1-32-32 K = 5
        // integer network (13,276 and 69,924 instructions, 1,568 products and 80 rows) and,
        // on the Cortex-M4F, the parity set's integer ensemble (12,858, 608 and 80),
        // measured 2026-12-07.
        match self {
            Evaluator::CortexM4F => [11.38, 4.13, 2.39],
            Evaluator::CortexM4FPortable => [10.25, 3.0, 2.39],
            Evaluator::CortexM0 => [17.0, 71.9, 12.0],
        }
    }

    /// Instructions an integer layer's row costs beyond its multiply-adds
    /// ([`Evaluator::packed_conversion`]'s third figure): its bias, requantization or
    /// conversion to `f32`, the loop around its sums. On the Cortex-M4F measured once with
    /// the per-product figure, from two integer networks of different shapes (the 1-32-32
    /// K = 5 model and the parity set's 3-16-8 K = 3 D = 2 ensemble of two networks: two
    /// counts, two unknowns). On ARMv6-M the rows' cost is read off a QEMU single-step
    /// profile of the 1-32-32 model (about 100 instructions a row), the products' fitted to
    /// its count: the ensemble's count there is dominated by its mixture's software float
    /// (172,085 instructions, 15 % of them in the network), which the calibration, fitted on
    /// `f32` networks, predicts 42 % low; BENCHMARKS.md, "Compact weights", has the figures.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::Evaluator;
    /// assert!(Evaluator::CortexM0.integer_row_cost() > 0.0);
    /// ```
    pub const fn integer_row_cost(self) -> f64 {
        match self {
            Evaluator::CortexM4F | Evaluator::CortexM4FPortable => 76.6,
            Evaluator::CortexM0 => 100.0,
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
