//! The device cost model's measured and fitted constants, written by
//! `cargo run -p mdn-benches --release --bin figures -- --calibrate` (do not edit): libm's
//! branch costs from `firmware-example`'s `libm_cost`, the per-operation costs and the
//! stack fitted to `cost` on `mdn_tests::generate::cost_models()` in QEMU (`mps2-an386` for the
//! Cortex-M4F, `mps2-an385` for ARMv6-M code, `-icount shift=6`).

use super::{BranchCost, Calibration, CoreCalibration, Feature};

/// Cortex-M4F with mdn-cortex-m's kernel.
pub(super) const CORTEX_M4F: Calibration = Calibration {
    coefficients: &[
        (Feature::Query, 309.6463),
        (Feature::Inputs, 14.0302),
        (Feature::Outputs, 0.0000),
        (Feature::Networks, 0.0000),
        (Feature::LinearNetworks, 240.1629),
        (Feature::Layers, 145.8764),
        (Feature::KernelCalls, 82.9840),
        (Feature::Columns, 19.1818),
        (Feature::ReluRows, 9.5503),
        (Feature::TanhRows, 4.8156),
        (Feature::TailRows, 9.9567),
        (Feature::Components, 49.8307),
        (Feature::ComponentDims, 81.4549),
        (Feature::ZeroedWords, 3.5378),
        (Feature::LibmCalls, 0.0000),
    ],
    margin: 0.04455,
    largest_error: 0.03259,
    largest_left_out_error: 0.04455,
};

/// Cortex-M4F with mdn-core's portable kernel.
pub(super) const CORTEX_M4F_PORTABLE: Calibration = Calibration {
    coefficients: &[
        (Feature::Query, 308.3588),
        (Feature::Inputs, 14.2186),
        (Feature::Outputs, 0.0000),
        (Feature::Networks, 2.0818),
        (Feature::LinearNetworks, 240.2656),
        (Feature::Layers, 141.7885),
        (Feature::KernelCalls, 117.4609),
        (Feature::Columns, 35.6517),
        (Feature::ReluRows, 9.5405),
        (Feature::TanhRows, 4.8081),
        (Feature::TailRows, 9.9986),
        (Feature::Components, 49.5998),
        (Feature::ComponentDims, 81.3868),
        (Feature::ZeroedWords, 3.5378),
        (Feature::LibmCalls, 0.0000),
    ],
    margin: 0.04505,
    largest_error: 0.02807,
    largest_left_out_error: 0.04505,
};

/// ARMv6-M.
pub(super) const CORTEX_M0: Calibration = Calibration {
    coefficients: &[
        (Feature::Query, 0.0000),
        (Feature::Inputs, 372.2214),
        (Feature::Outputs, 0.0000),
        (Feature::Networks, 0.0000),
        (Feature::LinearNetworks, 0.0000),
        (Feature::Layers, 0.0000),
        (Feature::KernelCalls, 0.0000),
        (Feature::FullProducts, 228.3119),
        (Feature::ZeroProducts, 101.3600),
        (Feature::ReluRows, 57.0754),
        (Feature::TanhRows, 19.9830),
        (Feature::TailRows, 133.1790),
        (Feature::Components, 800.9418),
        (Feature::ComponentDims, 1291.4023),
        (Feature::ZeroedWords, 0.0000),
        (Feature::LibmCalls, 46.5580),
    ],
    margin: 0.00581,
    largest_error: 0.01269,
    largest_left_out_error: 0.01290,
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
    validation_stack: 1748.0,
    stack: [1420.845, 3.367, 7.938, 6.572, 21.341, 9.312],
    stack_margin: 23.0,
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
    validation_stack: 2124.0,
    stack: [1835.399, 3.462, 7.941, 7.883, 20.621, 18.764],
    stack_margin: 21.0,
    static_ram: 20,
};
