//! What a model costs on a microcontroller, predicted from its header: blob bytes,
//! instructions per `log p(y|x)` and RAM, on a Cortex-M4F (with `mdn-cortex-m`'s kernel and
//! with mdn-core's portable one) and on a Cortex-M0/M0+ (ARMv6-M, software floats).
//!
//! # The model
//!
//! * **Blob bytes** are exact: [`mdn_core::encoded_len`] of the header.
//! * **Instructions** are a sum over what the query does ([`Operations`]): each kind of
//!   operation ([`Feature`]: kernel columns, rows, components, ...) times instructions per
//!   occurrence, plus each libm call at the instructions of the [`Branch`] its argument
//!   takes. The per-branch costs are measured directly (`firmware-example`'s `libm_cost`
//!   in QEMU, over a sweep of arguments); the per-operation costs are fitted by least
//!   squares, none negative, to the QEMU counts of `firmware-example`'s `cost` on 40
//!   calibration models (after their libm calls are taken off), at their tightest
//!   capacities. Both come from
//!   `cargo run -p mdn-benches --release --bin figures -- --calibrate`, which writes
//!   `calibration.rs`; BENCHMARKS.md ("Cost model") gives the error on other models.
//! * **RAM** is the application's static RAM plus the stack peak of validation and one
//!   query: validation's, or the query's, linear in the capacities `I, W, K, K D, D`
//!   (fitted the same way), whichever is deeper.
//!
//! # Inputs
//!
//! A query's count depends on the values it meets: an nnelu sigma above 1 skips its
//! `expf`, a ReLU zero makes a software multiply-add cheap on ARMv6-M, libm's branches
//! differ several times over. Two predictions:
//!
//! * [`predict`], the **worst case over inputs**, for budgets: every libm call at its
//!   function's dearest branch, every sigma taking its `expf` (and softplus its `log1pf`),
//!   every product of a real weight non-zero, then the largest under-estimate of the
//!   calibration ([`Calibration::margin`]) on top. Only what the code fixes is taken as
//!   known: the zero rows that fill a block, and each log-sum-exp's largest term
//!   (`expf(0)`).
//! * [`predict_at`], the cost **at one input**, whose branches and zero products are read
//!   off a replay of the query on the host: what QEMU's count is checked against, at the
//!   stated input ([`stated_input`]: every feature 0.3, every target -0.7, or 0.7 for a log
//!   target), which `firmware-example`'s `cost` uses too.
//!
//! # Examples
//!
//! ```
//! use mdn_train::device_cost::{Core, predict, predict_at, stated_input};
//!
//! let bytes = mdn_core::doc_example_blob();
//! let blob = mdn_core::Blob::from_bytes(&bytes[..])?;
//! let worst = predict(blob.header(), Core::CortexM4F)?;
//! assert_eq!(worst.blob_bytes, blob.len());
//! let (x, y) = stated_input(blob.header());
//! let at = predict_at(&blob, Core::CortexM4F, &x, &y)?;
//! assert!(at.instructions <= worst.instructions);
//! # Ok::<(), mdn_core::Error>(())
//! ```

mod branch;
mod calibration;
mod operations;
mod packed;
mod trace;

use std::fmt;

use mdn_core::{Blob, Header, TargetTransform};
use serde::Serialize;

use crate::excerpt::thousands;

pub use branch::{Branch, Function};
pub use operations::{Calls, Feature, Operations};

/// A microcontroller core the cost model predicts for.
///
/// # Examples
///
/// ```
/// use mdn_train::device_cost::Core;
/// assert_eq!(Core::CortexM0.name(), "cortex-m0");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Core {
    /// A Cortex-M4F (`thumbv7em-none-eabihf`, with an FPU), measured on QEMU `mps2-an386`.
    CortexM4F,
    /// A Cortex-M0/M0+ (`thumbv6m-none-eabi`, software floats), measured as ARMv6-M code
    /// on QEMU `mps2-an385`.
    CortexM0,
}

impl Core {
    /// Both cores.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_train::device_cost::Core::ALL.len(), 2);
    /// ```
    pub const ALL: [Core; 2] = [Core::CortexM4F, Core::CortexM0];

    /// The name on the command line and in JSON: `cortex-m4f` or `cortex-m0`.
    ///
    /// # Examples
    ///
    /// See [`Core`].
    pub const fn name(self) -> &'static str {
        match self {
            Core::CortexM4F => "cortex-m4f",
            Core::CortexM0 => "cortex-m0",
        }
    }

    /// Its measured constants, from `calibration.rs`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::Core;
    /// assert!(Core::CortexM0.calibration().static_ram > 0);
    /// ```
    pub fn calibration(self) -> &'static CoreCalibration {
        match self {
            Core::CortexM4F => &calibration::CORE_CORTEX_M4F,
            Core::CortexM0 => &calibration::CORE_CORTEX_M0,
        }
    }

    /// How people call it.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_train::device_cost::Core::CortexM4F.title(), "Cortex-M4F");
    /// ```
    pub const fn title(self) -> &'static str {
        match self {
            Core::CortexM4F => "Cortex-M4F",
            Core::CortexM0 => "Cortex-M0 (ARMv6-M)",
        }
    }
}

/// The code that runs a query, each calibrated on its own: a core, and on the Cortex-M4F
/// the dense layers' kernel.
///
/// # Examples
///
/// ```
/// use mdn_train::device_cost::{Core, Evaluator};
/// assert_eq!(Evaluator::CortexM4FPortable.core(), Core::CortexM4F);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Evaluator {
    /// Cortex-M4F with `mdn-cortex-m`'s kernel (`Model::set_kernel`), as `minimal` runs.
    CortexM4F,
    /// Cortex-M4F with mdn-core's portable kernel.
    CortexM4FPortable,
    /// ARMv6-M, where `mdn-cortex-m`'s kernel is mdn-core's, in a firmware with
    /// `mdn-cortex-m`'s `aeabi-float` (its `f32` addition, subtraction and multiplication in
    /// place of compiler-builtins'; without it an `f32` network's query takes about 1.7
    /// times as many instructions: BENCHMARKS.md, "Device without an FPU").
    CortexM0,
}

impl Evaluator {
    /// Every evaluator.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_train::device_cost::Evaluator::ALL.len(), 3);
    /// ```
    pub const ALL: [Evaluator; 3] = [
        Evaluator::CortexM4F,
        Evaluator::CortexM4FPortable,
        Evaluator::CortexM0,
    ];

    /// The core it runs on.
    ///
    /// # Examples
    ///
    /// See [`Evaluator`].
    pub const fn core(self) -> Core {
        match self {
            Evaluator::CortexM4F | Evaluator::CortexM4FPortable => Core::CortexM4F,
            Evaluator::CortexM0 => Core::CortexM0,
        }
    }

    /// The features its instructions are fitted on: the multiply-adds as kernel columns
    /// where the FPU makes every one cost the same, as full and zero products in software
    /// floats.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::{Evaluator, Feature};
    /// assert!(Evaluator::CortexM0.features().contains(&Feature::ZeroProducts));
    /// assert!(!Evaluator::CortexM4F.features().contains(&Feature::ZeroProducts));
    /// ```
    pub fn features(self) -> Vec<Feature> {
        let excluded: &[Feature] = match self.core() {
            Core::CortexM4F => &[Feature::FullProducts, Feature::ZeroProducts],
            Core::CortexM0 => &[Feature::Columns],
        };
        Feature::ALL
            .into_iter()
            .filter(|f| !excluded.contains(f))
            .collect()
    }

    /// Its calibration, from `calibration.rs`.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::Evaluator;
    /// assert!(Evaluator::CortexM0.calibration().margin >= 0.0);
    /// ```
    pub fn calibration(self) -> &'static Calibration {
        match self {
            Evaluator::CortexM4F => &calibration::CORTEX_M4F,
            Evaluator::CortexM4FPortable => &calibration::CORTEX_M4F_PORTABLE,
            Evaluator::CortexM0 => &calibration::CORTEX_M0,
        }
    }

    /// Instructions per `log p(y|x)` with `operations`: each feature at its fitted cost,
    /// each libm call at its branch's mean cost where the branch is known, at its
    /// function's dearest branch's maximum where it is not; for a worst case
    /// ([`Operations::is_worst_case`]), known branches at their maximum too and the
    /// calibration's margin on top.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::{Evaluator, Operations};
    /// let bytes = mdn_core::doc_example_blob();
    /// let blob = mdn_core::Blob::from_bytes(&bytes[..])?;
    /// let at = Operations::at(&blob, &[0.3], &[-0.7])?;
    /// let worst = Operations::worst_case(blob.header());
    /// let m4f = Evaluator::CortexM4F;
    /// assert!(m4f.instructions(&worst) > m4f.instructions(&at));
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn instructions(self, operations: &Operations) -> u64 {
        let worst_case = operations.is_worst_case();
        let calibration = self.calibration();
        let structure: f64 = self
            .features()
            .iter()
            .map(|&f| calibration.coefficient(f) * operations.count(f) as f64)
            .sum();
        let branches = &self.core().calibration().branches;
        let calls = operations.calls().instructions(branches, worst_case);
        let packed: f64 = operations
            .packed_products()
            .iter()
            .zip(self.packed_conversion())
            .map(|(&products, per_product)| products as f64 * per_product)
            .sum();
        let integer_rows = operations.integer_rows() as f64 * self.integer_row_cost();
        let total = structure + calls + packed + integer_rows;
        let total = if worst_case {
            total * (1.0 + calibration.margin)
        } else {
            total
        };
        total.max(0.0).ceil() as u64
    }
}

/// The fitted costs of one [`Evaluator`] (written by `figures --calibrate`).
///
/// # Examples
///
/// ```
/// use mdn_train::device_cost::{Evaluator, Feature};
/// let columns = Evaluator::CortexM4F.calibration().coefficient(Feature::Columns);
/// assert!(columns > 0.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Calibration {
    /// Instructions per occurrence of each feature the evaluator is fitted on.
    pub coefficients: &'static [(Feature, f64)],
    /// The largest fraction by which the fit fell short of QEMU's count on a calibration
    /// model left out of it (leave-one-out); the worst case adds it.
    pub margin: f64,
    /// The largest error of the fit on a calibration model, as a fraction of QEMU's count.
    pub largest_error: f64,
    /// The same for each model predicted by the fit to the others (leave-one-out).
    pub largest_left_out_error: f64,
}

impl Calibration {
    /// Instructions per occurrence of `feature` (0 for one the evaluator is not fitted on).
    ///
    /// # Examples
    ///
    /// See [`Calibration`].
    pub fn coefficient(&self, feature: Feature) -> f64 {
        self.coefficients
            .iter()
            .find(|(f, _)| *f == feature)
            .map_or(0.0, |&(_, c)| c)
    }
}

/// The measured constants of one core: each libm branch's instructions per call
/// (`libm_cost`), and its RAM (written by `figures --calibrate`).
///
/// # Examples
///
/// ```
/// use mdn_train::device_cost::{Branch, Core};
/// let m4f = Core::CortexM4F.calibration();
/// let (large, saturated) = (Branch::TanhLarge.index(), Branch::TanhSaturated.index());
/// assert!(m4f.branches[large].mean > 3.0 * m4f.branches[saturated].mean);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CoreCalibration {
    /// Each libm branch's cost, in [`Branch::ALL`] order.
    pub branches: [BranchCost; Branch::ALL.len()],
    /// The stack peak of validation in bytes: the floor under a query's.
    pub validation_stack: f64,
    /// The stack peak of validation and one query in bytes where the query's is deeper: a
    /// constant, then bytes per capacity `I`, `W`, `K`, `K D` and `D`.
    pub stack: [f64; 6],
    /// The largest number of bytes by which the stack fit fell short on a calibration model
    /// left out of it; added to every prediction.
    pub stack_margin: f64,
    /// The application's static RAM (`minimal`'s data and bss) in bytes.
    pub static_ram: usize,
}

impl CoreCalibration {
    /// Bytes of RAM for the tightest capacities of a header, `[I, W, K, D]`, in a firmware
    /// whose validation takes `floor_extra` bytes more stack than the calibration
    /// firmware's (a build with packed layers, for a model with packed weights).
    ///
    /// # Examples
    ///
    /// ```
    /// let calibration = mdn_train::device_cost::Core::CortexM4F.calibration();
    /// assert!(calibration.ram_bytes([13, 64, 5, 1], 0) > calibration.ram_bytes([1, 32, 5, 1], 0));
    /// ```
    pub fn ram_bytes(&self, capacities: [u64; 4], floor_extra: usize) -> usize {
        let [i, w, k, d] = capacities.map(|c| c as f64);
        let terms = [1.0, i, w, k, k * d, d];
        let query: f64 = self.stack.iter().zip(terms).map(|(c, t)| c * t).sum();
        let floor = self.validation_stack + floor_extra as f64;
        let stack = (query.max(floor) + self.stack_margin).ceil() as usize;
        self.static_ram + stack
    }
}

/// What one call of a libm branch cost over `libm_cost`'s arguments in that branch.
///
/// # Examples
///
/// ```
/// let cost = mdn_train::device_cost::BranchCost { mean: 58.5, max: 59 };
/// assert!(cost.mean <= f64::from(cost.max));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BranchCost {
    /// Mean instructions per call.
    pub mean: f64,
    /// Most instructions of a call.
    pub max: u32,
}

/// What a model costs on one core.
///
/// # Examples
///
/// ```
/// use mdn_train::device_cost::{Core, predict};
/// let header = mdn_core::doc_example_header();
/// let m0 = predict(&header, Core::CortexM0)?;
/// assert_eq!(m0.instructions_portable, None);
/// assert!(m0.instructions > predict(&header, Core::CortexM4F)?.instructions);
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeviceCost {
    /// Instructions per `log p(y|x)`: with `mdn-cortex-m`'s kernel on a Cortex-M4F.
    pub instructions: u64,
    /// Instructions per `log p(y|x)` with mdn-core's portable kernel (Cortex-M4F only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instructions_portable: Option<u64>,
    /// The blob's bytes (flash), exactly.
    pub blob_bytes: usize,
    /// Static RAM plus the stack peak of validation and one query, at the tightest
    /// capacities.
    pub ram_bytes: usize,
}

/// The worst case over inputs of `log p(y|x)` for a model with `header` on `core`, at its
/// tightest capacities: what a budget should be checked against.
///
/// # Errors
///
/// mdn-core's error for an invalid header (as [`mdn_core::encoded_len`] reports it).
///
/// # Examples
///
/// See [`DeviceCost`] and the [module documentation](self).
pub fn predict(header: &Header<'_>, core: Core) -> mdn_core::Result<DeviceCost> {
    let blob_bytes = mdn_core::encoded_len(header)?;
    Ok(cost(
        header,
        core,
        blob_bytes,
        &Operations::worst_case(header),
    ))
}

/// The cost of `log p(y|x)` of `blob` at input `x` and target `y` on `core`, at its tightest
/// capacities: what QEMU's count is checked against.
///
/// # Errors
///
/// mdn-core's error for an input or target of the wrong length or not finite, or for a
/// blob beyond [`HostModel`](mdn_core::HostModel)'s capacities.
///
/// # Examples
///
/// See the [module documentation](self).
pub fn predict_at(
    blob: &Blob<'_>,
    core: Core,
    x: &[f32],
    y: &[f32],
) -> mdn_core::Result<DeviceCost> {
    let operations = Operations::at(blob, x, y)?;
    Ok(cost(blob.header(), core, blob.len(), &operations))
}

fn cost(header: &Header<'_>, core: Core, blob_bytes: usize, operations: &Operations) -> DeviceCost {
    let instructions = |evaluator: Evaluator| evaluator.instructions(operations);
    let (main, portable) = match core {
        Core::CortexM4F => (Evaluator::CortexM4F, Some(Evaluator::CortexM4FPortable)),
        Core::CortexM0 => (Evaluator::CortexM0, None),
    };
    DeviceCost {
        instructions: instructions(main),
        instructions_portable: portable.map(instructions),
        blob_bytes,
        ram_bytes: core.calibration().ram_bytes(
            operations::Shape::of(header).capacities(),
            packed::packed_stack(header, core),
        ),
    }
}

/// The input every count is stated at: every feature 0.3, every target -0.7, or 0.7 for a
/// log target (whose density is zero at `y <= 0`, where a query returns early); what
/// `firmware-example`'s `cost` evaluates.
///
/// # Examples
///
/// ```
/// let header = mdn_core::doc_example_header();
/// assert_eq!(mdn_train::device_cost::stated_input(&header), (vec![0.3], vec![-0.7]));
/// ```
pub fn stated_input(header: &Header<'_>) -> (Vec<f32>, Vec<f32>) {
    let target = match header.target_transform {
        TargetTransform::Identity => -0.7,
        TargetTransform::Log => 0.7,
    };
    (
        vec![0.3; header.input_dim as usize],
        vec![target; header.output_dim as usize],
    )
}

/// The worst-case cost on both cores: `mdn inspect`'s `device_cost`.
///
/// # Examples
///
/// ```
/// let header = mdn_core::doc_example_header();
/// let costs = mdn_train::device_cost::DeviceCosts::predict(&header)?;
/// let json = serde_json::to_value(&costs).unwrap();
/// assert!(json["cortex-m4f"]["instructions_portable"].is_u64());
/// assert!(json["cortex-m0"].get("instructions_portable").is_none());
/// assert!(costs.to_string().contains("Cortex-M0"));
/// # Ok::<(), mdn_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DeviceCosts {
    /// On a Cortex-M4F.
    #[serde(rename = "cortex-m4f")]
    pub cortex_m4f: DeviceCost,
    /// On a Cortex-M0/M0+.
    #[serde(rename = "cortex-m0")]
    pub cortex_m0: DeviceCost,
}

impl DeviceCosts {
    /// [`predict`] on both cores.
    ///
    /// # Errors
    ///
    /// As [`predict`].
    ///
    /// # Examples
    ///
    /// See [`DeviceCosts`].
    pub fn predict(header: &Header<'_>) -> mdn_core::Result<DeviceCosts> {
        Ok(DeviceCosts {
            cortex_m4f: predict(header, Core::CortexM4F)?,
            cortex_m0: predict(header, Core::CortexM0)?,
        })
    }
}

/// In words, one line a core, e.g. `Cortex-M4F: at most 6,120 instructions per log p(y|x)
/// with mdn-cortex-m's kernel (8,050 with mdn-core's), 1,850 B of RAM, 6,644 B of blob`.
impl fmt::Display for DeviceCosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (core, cost) in [
            (Core::CortexM4F, &self.cortex_m4f),
            (Core::CortexM0, &self.cortex_m0),
        ] {
            write!(
                f,
                "{}: at most {} instructions per log p(y|x)",
                core.title(),
                thousands(cost.instructions as usize)
            )?;
            if let Some(portable) = cost.instructions_portable {
                write!(
                    f,
                    " with mdn-cortex-m's kernel ({} with mdn-core's)",
                    thousands(portable as usize)
                )?;
            }
            writeln!(
                f,
                ", {} B of RAM, {} B of blob",
                thousands(cost.ram_bytes),
                thousands(cost.blob_bytes)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
