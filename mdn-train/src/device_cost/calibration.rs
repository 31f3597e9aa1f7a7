//! The device cost model's measured and fitted constants, written by
//! `cargo run -p mdn-benches --release --bin figures -- --calibrate` (do not edit): libm's
//! branch costs from `firmware-example`'s `libm_cost`, the per-operation costs and the
//! stack fitted to `cost` on `mdn_tests::generate::cost_models()` in QEMU (`mps2-an386` for the
//! Cortex-M4F, `mps2-an385` for ARMv6-M code, `-icount shift=6`).

use super::{BranchCost, Calibration, CoreCalibration, Feature};

/// Cortex-M4F with mdn-cortex-m's kernel.
pub(super) const CORTEX_M4F: Calibration = Calibration {
    coefficients: &[
        (Feature::Query, 321.4139),
        (Feature::Inputs, 13.4794),
        (Feature::Outputs, 0.0000),
        (Feature::Networks, 0.0000),
        (Feature::LinearNetworks, 356.5485),
        (Feature::Layers, 179.7719),
        (Feature::KernelCalls, 88.5388),
        (Feature::Columns, 19.4223),
        (Feature::ReluRows, 10.9351),
        (Feature::TanhRows, 1.6768),
        (Feature::TailRows, 3.8028),
        (Feature::Components, 54.4681),
        (Feature::ComponentDims, 83.6610),
        (Feature::ZeroedWords, 3.4350),
        (Feature::LibmCalls, 2.4323),
    ],
    margin: 0.05817,
    largest_error: 0.04002,
    largest_left_out_error: 0.05817,
};

/// Cortex-M4F with mdn-core's portable kernel.
pub(super) const CORTEX_M4F_PORTABLE: Calibration = Calibration {
    coefficients: &[
        (Feature::Query, 320.5806),
        (Feature::Inputs, 13.7080),
        (Feature::Outputs, 0.0000),
        (Feature::Networks, 0.0000),
        (Feature::LinearNetworks, 358.0386),
        (Feature::Layers, 175.9689),
        (Feature::KernelCalls, 123.0764),
        (Feature::Columns, 35.8868),
        (Feature::ReluRows, 10.9466),
        (Feature::TanhRows, 1.6499),
        (Feature::TailRows, 3.8306),
        (Feature::Components, 54.1524),
        (Feature::ComponentDims, 83.5541),
        (Feature::ZeroedWords, 3.4302),
        (Feature::LibmCalls, 2.4779),
    ],
    margin: 0.05735,
    largest_error: 0.03431,
    largest_left_out_error: 0.05735,
};

/// ARMv6-M.
pub(super) const CORTEX_M0: Calibration = Calibration {
    coefficients: &[
        (Feature::Query, 0.0000),
        (Feature::Inputs, 377.6945),
        (Feature::Outputs, 0.0000),
        (Feature::Networks, 52.8076),
        (Feature::LinearNetworks, 62.5026),
        (Feature::Layers, 0.0000),
        (Feature::KernelCalls, 0.0000),
        (Feature::FullProducts, 228.1860),
        (Feature::ZeroProducts, 101.4935),
        (Feature::ReluRows, 66.0170),
        (Feature::TanhRows, 8.4629),
        (Feature::TailRows, 112.4230),
        (Feature::Components, 974.9724),
        (Feature::ComponentDims, 1430.9101),
        (Feature::ZeroedWords, 0.0000),
        (Feature::LibmCalls, 57.9023),
    ],
    margin: 0.00605,
    largest_error: 0.01135,
    largest_left_out_error: 0.01197,
};

/// Cortex-M4F.
pub(super) const CORE_CORTEX_M4F: CoreCalibration = CoreCalibration {
    branches: [
        // ExpfTiny
        BranchCost {
            mean: 26.00,
            max: 26,
        },
        // ExpfSmall
        BranchCost {
            mean: 40.00,
            max: 40,
        },
        // ExpfOneLn2
        BranchCost {
            mean: 56.00,
            max: 56,
        },
        // ExpfReduced
        BranchCost {
            mean: 61.00,
            max: 61,
        },
        // ExpfEdge
        BranchCost {
            mean: 30.95,
            max: 75,
        },
        // LogfOne
        BranchCost {
            mean: 15.00,
            max: 15,
        },
        // LogfNormal
        BranchCost {
            mean: 56.00,
            max: 56,
        },
        // LogfSubnormal
        BranchCost {
            mean: 57.00,
            max: 57,
        },
        // LogfEdge
        BranchCost {
            mean: 15.99,
            max: 16,
        },
        // TanhSaturated
        BranchCost {
            mean: 30.00,
            max: 30,
        },
        // TanhLarge
        BranchCost {
            mean: 109.85,
            max: 112,
        },
        // TanhMiddle
        BranchCost {
            mean: 90.00,
            max: 90,
        },
        // TanhSmall
        BranchCost {
            mean: 93.00,
            max: 93,
        },
        // TanhNear
        BranchCost {
            mean: 73.00,
            max: 73,
        },
        // TanhTiny
        BranchCost {
            mean: 51.00,
            max: 52,
        },
        // TanhSubnormal
        BranchCost {
            mean: 31.00,
            max: 31,
        },
        // Log1pfTiny
        BranchCost {
            mean: 15.27,
            max: 22,
        },
        // Log1pfSmall
        BranchCost {
            mean: 45.00,
            max: 45,
        },
        // Log1pfReduced
        BranchCost {
            mean: 67.48,
            max: 70,
        },
        // Log1pfHuge
        BranchCost {
            mean: 58.00,
            max: 58,
        },
        // Log1pfEdge
        BranchCost {
            mean: 19.73,
            max: 20,
        },
    ],
    validation_stack: 1988.0,
    stack: [1765.860, 0.476, 4.996, 3.024, 18.347, 0.000],
    stack_margin: 143.0,
    static_ram: 20,
};

/// Cortex-M0 (ARMv6-M).
pub(super) const CORE_CORTEX_M0: CoreCalibration = CoreCalibration {
    branches: [
        // ExpfTiny
        BranchCost {
            mean: 255.22,
            max: 388,
        },
        // ExpfSmall
        BranchCost {
            mean: 1273.05,
            max: 1330,
        },
        // ExpfOneLn2
        BranchCost {
            mean: 2003.25,
            max: 2056,
        },
        // ExpfReduced
        BranchCost {
            mean: 2336.74,
            max: 2398,
        },
        // ExpfEdge
        BranchCost {
            mean: 371.50,
            max: 2675,
        },
        // LogfOne
        BranchCost {
            mean: 23.00,
            max: 23,
        },
        // LogfNormal
        BranchCost {
            mean: 2635.80,
            max: 2710,
        },
        // LogfSubnormal
        BranchCost {
            mean: 2843.66,
            max: 2878,
        },
        // LogfEdge
        BranchCost {
            mean: 185.26,
            max: 280,
        },
        // TanhSaturated
        BranchCost {
            mean: 123.68,
            max: 125,
        },
        // TanhLarge
        BranchCost {
            mean: 4188.60,
            max: 4273,
        },
        // TanhMiddle
        BranchCost {
            mean: 3262.14,
            max: 3305,
        },
        // TanhSmall
        BranchCost {
            mean: 3400.92,
            max: 3416,
        },
        // TanhNear
        BranchCost {
            mean: 2350.55,
            max: 2455,
        },
        // TanhTiny
        BranchCost {
            mean: 474.58,
            max: 486,
        },
        // TanhSubnormal
        BranchCost {
            mean: 256.89,
            max: 268,
        },
        // Log1pfTiny
        BranchCost {
            mean: 31.97,
            max: 263,
        },
        // Log1pfSmall
        BranchCost {
            mean: 2181.24,
            max: 2263,
        },
        // Log1pfReduced
        BranchCost {
            mean: 3282.97,
            max: 3625,
        },
        // Log1pfHuge
        BranchCost {
            mean: 2791.00,
            max: 2791,
        },
        // Log1pfEdge
        BranchCost {
            mean: 171.92,
            max: 180,
        },
    ],
    validation_stack: 2412.0,
    stack: [1991.404, 3.603, 7.933, 7.777, 21.001, 4.495],
    stack_margin: 26.0,
    static_ram: 20,
};
