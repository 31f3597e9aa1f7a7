//! The device cost model's measured and fitted constants, written by
//! `cargo run -p mdn-benches --release --bin figures -- --calibrate` (do not edit): libm's
//! branch costs from `firmware-example`'s `libm_cost`, the per-operation costs and the
//! stack fitted to `cost` on `mdn_tests::generate::cost_models()` in QEMU (`mps2-an386` for the
//! Cortex-M4F, `mps2-an385` for ARMv6-M code, `-icount shift=6`).

use super::{BranchCost, Calibration, CoreCalibration, Feature};

/// Cortex-M4F with mdn-cortex-m's kernel.
pub(super) const CORTEX_M4F: Calibration = Calibration {
    coefficients: &[
        (Feature::Query, 314.9955),
        (Feature::Inputs, 13.8668),
        (Feature::Outputs, 0.0000),
        (Feature::Networks, 0.0000),
        (Feature::LinearNetworks, 354.5369),
        (Feature::Layers, 183.6319),
        (Feature::KernelCalls, 84.7709),
        (Feature::Columns, 19.4621),
        (Feature::ReluRows, 11.0489),
        (Feature::TanhRows, 1.9377),
        (Feature::TailRows, 3.7730),
        (Feature::Components, 52.7618),
        (Feature::ComponentDims, 86.1389),
        (Feature::ZeroedWords, 3.4325),
        (Feature::LibmCalls, 2.3572),
    ],
    margin: 0.05823,
    largest_error: 0.02928,
    largest_left_out_error: 0.05823,
};

/// Cortex-M4F with mdn-core's portable kernel.
pub(super) const CORTEX_M4F_PORTABLE: Calibration = Calibration {
    coefficients: &[
        (Feature::Query, 314.4212),
        (Feature::Inputs, 14.1364),
        (Feature::Outputs, 0.0000),
        (Feature::Networks, 0.0000),
        (Feature::LinearNetworks, 354.9398),
        (Feature::Layers, 179.4899),
        (Feature::KernelCalls, 119.5433),
        (Feature::Columns, 35.9210),
        (Feature::ReluRows, 11.0554),
        (Feature::TanhRows, 1.9028),
        (Feature::TailRows, 3.8249),
        (Feature::Components, 52.5624),
        (Feature::ComponentDims, 86.0627),
        (Feature::ZeroedWords, 3.4129),
        (Feature::LibmCalls, 2.4154),
    ],
    margin: 0.05811,
    largest_error: 0.02369,
    largest_left_out_error: 0.05811,
};

/// ARMv6-M.
pub(super) const CORTEX_M0: Calibration = Calibration {
    coefficients: &[
        (Feature::Query, 0.0000),
        (Feature::Inputs, 317.3739),
        (Feature::Outputs, 0.0000),
        (Feature::Networks, 717.1758),
        (Feature::LinearNetworks, 0.0000),
        (Feature::Layers, 0.0000),
        (Feature::KernelCalls, 142.8917),
        (Feature::FullProducts, 134.1037),
        (Feature::ZeroProducts, 50.2065),
        (Feature::ReluRows, 40.3026),
        (Feature::TanhRows, 40.0093),
        (Feature::TailRows, 90.0571),
        (Feature::Components, 550.6711),
        (Feature::ComponentDims, 1119.6699),
        (Feature::ZeroedWords, 0.0000),
        (Feature::LibmCalls, 11.9574),
    ],
    margin: 0.00851,
    largest_error: 0.00959,
    largest_left_out_error: 0.01375,
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
    validation_stack: 1996.0,
    stack: [1773.739, 0.582, 4.962, 2.739, 18.453, 0.000],
    stack_margin: 146.0,
    static_ram: 20,
};

/// Cortex-M0 (ARMv6-M).
pub(super) const CORE_CORTEX_M0: CoreCalibration = CoreCalibration {
    branches: [
        // ExpfTiny
        BranchCost {
            mean: 168.81,
            max: 180,
        },
        // ExpfSmall
        BranchCost {
            mean: 833.17,
            max: 846,
        },
        // ExpfOneLn2
        BranchCost {
            mean: 1282.67,
            max: 1313,
        },
        // ExpfReduced
        BranchCost {
            mean: 1551.66,
            max: 1586,
        },
        // ExpfEdge
        BranchCost {
            mean: 282.60,
            max: 1860,
        },
        // LogfOne
        BranchCost {
            mean: 23.00,
            max: 23,
        },
        // LogfNormal
        BranchCost {
            mean: 1685.94,
            max: 1753,
        },
        // LogfSubnormal
        BranchCost {
            mean: 1812.06,
            max: 1835,
        },
        // LogfEdge
        BranchCost {
            mean: 144.37,
            max: 145,
        },
        // TanhSaturated
        BranchCost {
            mean: 107.75,
            max: 108,
        },
        // TanhLarge
        BranchCost {
            mean: 2734.93,
            max: 2800,
        },
        // TanhMiddle
        BranchCost {
            mean: 2144.32,
            max: 2171,
        },
        // TanhSmall
        BranchCost {
            mean: 2189.33,
            max: 2215,
        },
        // TanhNear
        BranchCost {
            mean: 1573.52,
            max: 1590,
        },
        // TanhTiny
        BranchCost {
            mean: 369.00,
            max: 370,
        },
        // TanhSubnormal
        BranchCost {
            mean: 157.24,
            max: 178,
        },
        // Log1pfTiny
        BranchCost {
            mean: 28.06,
            max: 173,
        },
        // Log1pfSmall
        BranchCost {
            mean: 1400.46,
            max: 1426,
        },
        // Log1pfReduced
        BranchCost {
            mean: 2100.33,
            max: 2393,
        },
        // Log1pfHuge
        BranchCost {
            mean: 1793.00,
            max: 1793,
        },
        // Log1pfEdge
        BranchCost {
            mean: 135.27,
            max: 141,
        },
    ],
    validation_stack: 2412.0,
    stack: [2173.488, 0.320, 5.126, 2.340, 18.994, 0.000],
    stack_margin: 141.0,
    static_ram: 20,
};
