//! `figures --calibrate`: measures what mdn-train's device cost model needs in QEMU and
//! writes its constants (`mdn-train/src/device_cost/calibration.rs`).
//!
//! 1. `libm_cost` on both machines: instructions per call of each libm function over a
//!    sweep of arguments, grouped by the branch each argument takes (mean and maximum).
//! 2. `cost` for every calibration model (`mdn_tests::generate::cost_models`) at its
//!    tightest capacities on both machines, and `minimal`'s static RAM.
//! 3. For each evaluator, the per-operation costs by least squares: QEMU's count less the
//!    libm calls (each at its branch's mean) against the operation counts at the stated
//!    input; the stack peak against the capacities.

use std::{collections::BTreeMap, fmt::Write as _, fs, path::Path};

use anyhow::{Context, Result, bail, ensure};
use mdn_benches::non_negative_least_squares;
use mdn_core::Blob;
use mdn_tests::{
    generate::{AlignedBlob, ModelSpec, cost_models, generated_blob},
    qemu::{self, ARMV6M, CORTEX_M4F, CostReport, Machine},
};
use mdn_train::device_cost::{
    Branch, BranchCost, Core, Evaluator, Feature, Function, Operations, stated_input,
};

use crate::{device::footprint, run};

/// One calibration model's measurements and operation counts.
pub(crate) struct Sample {
    pub(crate) spec: ModelSpec,
    pub(crate) operations: Operations,
    pub(crate) m4f: CostReport,
    pub(crate) m0: CostReport,
}

impl Sample {
    fn measured(&self, evaluator: Evaluator) -> u64 {
        match evaluator {
            Evaluator::CortexM4F => self.m4f.log_prob,
            Evaluator::CortexM4FPortable => self.m4f.portable_log_prob,
            Evaluator::CortexM0 => self.m0.log_prob,
        }
    }

    fn stack(&self, core: Core) -> u64 {
        match core {
            Core::CortexM4F => self.m4f.stack_bytes,
            Core::CortexM0 => self.m0.stack_bytes,
        }
    }
}

/// The QEMU machine that runs a core's code.
pub(crate) fn machine(core: Core) -> &'static Machine {
    match core {
        Core::CortexM4F => &CORTEX_M4F,
        Core::CortexM0 => &ARMV6M,
    }
}

/// Runs the whole calibration and writes `calibration.rs`; returns a report for stdout.
pub(crate) fn calibrate(root: &Path) -> Result<String> {
    let firmware = root.join("firmware-example");
    let libm: BTreeMap<&str, [BranchCost; Branch::ALL.len()]> = Core::ALL
        .iter()
        .map(|&core| Ok((core.name(), libm_costs(&firmware, machine(core))?)))
        .collect::<Result<_>>()?;
    let models = root.join("target/figures/calibration");
    fs::create_dir_all(&models)?;
    let mut samples = Vec::new();
    for spec in &cost_models() {
        eprintln!("figures: calibration model {}", spec.name);
        samples.push(measure(&firmware, &models, spec)?);
    }
    // The application's static RAM does not depend on the model: the default firmware's.
    let default_model = firmware.join("models/minimal.mdn");
    let mut static_ram = BTreeMap::new();
    for core in Core::ALL {
        let size = footprint(&firmware, machine(core), &default_model, [1, 32, 5, 1])?;
        static_ram.insert(core.name(), size.static_ram);
    }
    for machine in [CORTEX_M4F, ARMV6M] {
        run(machine.release_build(&firmware).arg("--quiet"))?;
    }
    write_samples(&models.join("samples.csv"), &samples, &libm)?;

    let mut source = String::from(HEADER);
    let mut report = String::new();
    for evaluator in Evaluator::ALL {
        let core = evaluator.core();
        let libm = &libm[core.name()];
        let fit = fit_instructions(evaluator, &samples, libm)?;
        let error = |p: f64, m: f64| 100.0 * (p - m) / m;
        writeln!(
            report,
            "{evaluator:?}: largest error {:.2} % (fitted), {:.2} % (left out); margin {:.2} %",
            100.0 * fit.largest_error,
            100.0 * fit.largest_left_out_error,
            100.0 * fit.margin,
        )?;
        for ((sample, predicted), left_out) in samples.iter().zip(&fit.predicted).zip(&fit.left_out)
        {
            let measured = sample.measured(evaluator) as f64;
            writeln!(
                report,
                "  {:<40} measured {:>9} predicted {:>11.0} ({:+.2} %, left out {:+.2} %)",
                sample.spec.name,
                measured,
                predicted,
                error(*predicted, measured),
                error(*left_out, measured)
            )?;
        }
        write_calibration(&mut source, evaluator, &fit)?;
    }
    for core in Core::ALL {
        let stack = fit_stack(core, &samples)?;
        writeln!(report, "{core:?}: stack margin {} B", stack.2)?;
        write_core(
            &mut source,
            core,
            &libm[core.name()],
            stack,
            static_ram[core.name()],
        )?;
    }
    let path = root.join("mdn-train/src/device_cost/calibration.rs");
    mdn_train::io::write_atomic(&path, source.as_bytes())?;
    run(std::process::Command::new("rustfmt")
        .args(["--edition", "2024"])
        .arg(&path))?;
    writeln!(report, "wrote {}", path.display())?;
    Ok(report)
}

/// The measurements and counts of every calibration model as CSV, for a look beyond the
/// fit.
fn write_samples(
    path: &Path,
    samples: &[Sample],
    libm: &BTreeMap<&str, [BranchCost; Branch::ALL.len()]>,
) -> Result<()> {
    let mut csv = String::from("model");
    for feature in Feature::ALL {
        write!(csv, ",{}", feature.name())?;
    }
    for branch in Branch::ALL {
        write!(csv, ",{branch:?}")?;
    }
    csv.push_str(",libm m4f,libm m0,m4f,m4f portable,m0,stack m4f,stack m0\n");
    for s in samples {
        csv.push_str(s.spec.name);
        for feature in Feature::ALL {
            write!(csv, ",{}", s.operations.count(feature))?;
        }
        for branch in Branch::ALL {
            write!(csv, ",{}", s.operations.calls().known(branch))?;
        }
        writeln!(
            csv,
            ",{},{},{},{},{},{},{}",
            libm_part(&s.operations, &libm[Core::CortexM4F.name()]),
            libm_part(&s.operations, &libm[Core::CortexM0.name()]),
            s.m4f.log_prob,
            s.m4f.portable_log_prob,
            s.m0.log_prob,
            s.m4f.stack_bytes,
            s.m0.stack_bytes
        )?;
    }
    fs::write(path, csv)?;
    Ok(())
}

/// Measures one calibration model on both machines.
fn measure(firmware: &Path, dir: &Path, spec: &ModelSpec) -> Result<Sample> {
    let bytes = generated_blob(spec);
    let path = dir.join(format!("{}.mdn", spec.name));
    fs::write(&path, &bytes)?;
    let aligned = AlignedBlob::new(&bytes);
    let blob = Blob::from_bytes(aligned.bytes())?;
    let (x, y) = stated_input(blob.header());
    let operations = Operations::at(&blob, &x, &y)?;
    let cost = |machine| {
        qemu::measure_cost(machine, firmware, &path, spec.capacities())
            .with_context(|| format!("{} on {}", spec.name, machine.name))
    };
    Ok(Sample {
        spec: spec.clone(),
        operations,
        m4f: cost(&CORTEX_M4F)?,
        m0: cost(&ARMV6M)?,
    })
}

/// Builds and runs `libm_cost` on `machine` and groups its counts by branch.
fn libm_costs(firmware: &Path, machine: &Machine) -> Result<[BranchCost; Branch::ALL.len()]> {
    run(machine
        .release_build(firmware)
        .args(["--quiet", "--bin", "libm_cost"]))?;
    let log = qemu::run_counted(machine, &machine.release_elf(firmware, "libm_cost"))?;
    let mut counts: Vec<Vec<u64>> = vec![Vec::new(); Branch::ALL.len()];
    for line in log.lines().filter_map(|l| l.split("libm_cost: ").nth(1)) {
        let [name, bits, instructions] = line.split_whitespace().collect::<Vec<_>>()[..] else {
            bail!("unexpected libm_cost line {line:?}");
        };
        let function = Function::from_name(name).with_context(|| format!("function {name:?}"))?;
        let x = f32::from_bits(u32::from_str_radix(bits, 16)?);
        counts[Branch::of(function, x).index()].push(instructions.parse()?);
    }
    let mut costs = [BranchCost { mean: 0.0, max: 0 }; Branch::ALL.len()];
    for (branch, counts) in Branch::ALL.iter().zip(&counts) {
        ensure!(
            !counts.is_empty(),
            "libm_cost reached no argument of {branch:?} on {}",
            machine.name
        );
        costs[branch.index()] = BranchCost {
            mean: counts.iter().sum::<u64>() as f64 / counts.len() as f64,
            max: u32::try_from(*counts.iter().max().unwrap_or(&0))?,
        };
    }
    Ok(costs)
}

/// Instructions of a query's libm calls, each at its branch's mean.
fn libm_part(operations: &Operations, libm: &[BranchCost; Branch::ALL.len()]) -> f64 {
    operations.calls().instructions(libm, false)
}

/// A fitted evaluator: its coefficients, and for every calibration model the prediction of
/// the fit to all of them and of the fit to the others.
struct Fit {
    coefficients: Vec<(Feature, f64)>,
    predicted: Vec<f64>,
    left_out: Vec<f64>,
    /// The largest fraction by which a left-out prediction fell short.
    margin: f64,
    /// The largest error of `predicted` and of `left_out`, as fractions.
    largest_error: f64,
    largest_left_out_error: f64,
}

/// Non-negative least squares of `targets` on `rows`; the coefficients, the predictions,
/// and each row's prediction by the fit to the other rows.
fn fit_with_left_out(rows: &[Vec<f64>], targets: &[f64]) -> Result<(Vec<f64>, Vec<f64>, Vec<f64>)> {
    let fit = |rows: &[Vec<f64>], targets: &[f64]| {
        non_negative_least_squares(rows, targets).context("the fit failed (dependent features)")
    };
    let predict = |c: &[f64], row: &[f64]| row.iter().zip(c).map(|(x, c)| x * c).sum::<f64>();
    let coefficients = fit(rows, targets)?;
    let predicted = rows.iter().map(|r| predict(&coefficients, r)).collect();
    let mut left_out = Vec::new();
    for i in 0..rows.len() {
        let others = |v: &[Vec<f64>]| -> Vec<Vec<f64>> {
            v.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, r)| r.clone())
                .collect()
        };
        let other_targets: Vec<f64> = targets
            .iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, t)| *t)
            .collect();
        left_out.push(predict(&fit(&others(rows), &other_targets)?, &rows[i]));
    }
    Ok((coefficients, predicted, left_out))
}

fn fit_instructions(
    evaluator: Evaluator,
    samples: &[Sample],
    libm: &[BranchCost; Branch::ALL.len()],
) -> Result<Fit> {
    let features = evaluator.features();
    let rows: Vec<Vec<f64>> = samples
        .iter()
        .map(|s| {
            features
                .iter()
                .map(|&f| s.operations.count(f) as f64)
                .collect()
        })
        .collect();
    let calls: Vec<f64> = samples
        .iter()
        .map(|s| libm_part(&s.operations, libm))
        .collect();
    let targets: Vec<f64> = samples
        .iter()
        .zip(&calls)
        .map(|(s, calls)| s.measured(evaluator) as f64 - calls)
        .collect();
    let (coefficients, predicted, left_out) =
        fit_with_left_out(&rows, &targets).with_context(|| format!("{evaluator:?}"))?;
    let with_calls =
        |v: Vec<f64>| -> Vec<f64> { v.iter().zip(&calls).map(|(v, c)| v + c).collect() };
    let (predicted, left_out) = (with_calls(predicted), with_calls(left_out));
    let margin = samples
        .iter()
        .zip(&left_out)
        .map(|(s, p)| {
            let measured = s.measured(evaluator) as f64;
            (measured - p) / measured
        })
        .fold(0.0, f64::max);
    let largest = |predictions: &[f64]| {
        samples
            .iter()
            .zip(predictions)
            .map(|(s, p)| {
                let measured = s.measured(evaluator) as f64;
                ((p - measured) / measured).abs()
            })
            .fold(0.0, f64::max)
    };
    Ok(Fit {
        coefficients: features.into_iter().zip(coefficients).collect(),
        largest_error: largest(&predicted),
        largest_left_out_error: largest(&left_out),
        predicted,
        left_out,
        margin,
    })
}

/// The stack fit of a core: validation's peak (the shallowest of the calibration models',
/// where validation is deeper than the query), the query's peak against `[1, I, W, K, K D,
/// D]` of the tightest capacities on the models deeper than that, and the largest
/// under-estimate in bytes of a model left out.
fn fit_stack(core: Core, samples: &[Sample]) -> Result<(f64, [f64; 6], f64)> {
    let stacks: Vec<f64> = samples.iter().map(|s| s.stack(core) as f64).collect();
    let validation = stacks.iter().copied().fold(f64::INFINITY, f64::min);
    let terms = |s: &Sample| {
        let [i, w, k, d] = s.spec.capacities().map(|c| c as f64);
        vec![1.0, i, w, k, k * d, d]
    };
    let (rows, deeper): (Vec<Vec<f64>>, Vec<f64>) = samples
        .iter()
        .zip(&stacks)
        .filter(|&(_, &s)| s > validation)
        .map(|(sample, &s)| (terms(sample), s))
        .unzip();
    let (c, _, left_out) = fit_with_left_out(&rows, &deeper).context("stack fit")?;
    let margin = deeper
        .iter()
        .zip(&left_out)
        .map(|(s, p)| s - p.max(validation))
        .fold(0.0, f64::max);
    Ok((
        validation,
        [c[0], c[1], c[2], c[3], c[4], c[5]],
        margin.ceil(),
    ))
}

const HEADER: &str = "//! The device cost model's measured and fitted constants, written by\n\
//! `cargo run -p mdn-benches --release --bin figures -- --calibrate` (do not edit): libm's\n\
//! branch costs from `firmware-example`'s `libm_cost`, the per-operation costs and the\n\
//! stack fitted to `cost` on `mdn_tests::generate::cost_models()` in QEMU (`mps2-an386` for the\n\
//! Cortex-M4F, `mps2-an385` for ARMv6-M code, `-icount shift=6`).\n\n\
use super::{BranchCost, Calibration, CoreCalibration, Feature};\n";

fn write_calibration(out: &mut String, evaluator: Evaluator, fit: &Fit) -> Result<()> {
    let name = match evaluator {
        Evaluator::CortexM4F => "CORTEX_M4F",
        Evaluator::CortexM4FPortable => "CORTEX_M4F_PORTABLE",
        Evaluator::CortexM0 => "CORTEX_M0",
    };
    let title = match evaluator {
        Evaluator::CortexM4F => "Cortex-M4F with mdn-cortex-m's kernel",
        Evaluator::CortexM4FPortable => "Cortex-M4F with mdn-core's portable kernel",
        Evaluator::CortexM0 => "ARMv6-M",
    };
    writeln!(
        out,
        "\n/// {title}.\npub(super) const {name}: Calibration = Calibration {{\ncoefficients: &["
    )?;
    for (feature, c) in &fit.coefficients {
        writeln!(out, "(Feature::{feature:?}, {c:.4}),")?;
    }
    writeln!(
        out,
        "],\nmargin: {:.5},\nlargest_error: {:.5},\nlargest_left_out_error: {:.5},\n}};",
        fit.margin, fit.largest_error, fit.largest_left_out_error
    )?;
    Ok(())
}

fn write_core(
    out: &mut String,
    core: Core,
    costs: &[BranchCost],
    (validation_stack, stack, stack_margin): (f64, [f64; 6], f64),
    static_ram: u64,
) -> Result<()> {
    let name = match core {
        Core::CortexM4F => "CORE_CORTEX_M4F",
        Core::CortexM0 => "CORE_CORTEX_M0",
    };
    writeln!(
        out,
        "\n/// {}.\npub(super) const {name}: CoreCalibration = CoreCalibration {{\nbranches: [",
        core.title()
    )?;
    for (branch, cost) in Branch::ALL.iter().zip(costs) {
        writeln!(
            out,
            "// {branch:?}\nBranchCost {{ mean: {:.2}, max: {} }},",
            cost.mean, cost.max
        )?;
    }
    let stack = stack.map(|c| format!("{c:.3}")).join(", ");
    writeln!(
        out,
        "],\nvalidation_stack: {validation_stack:?},\nstack: [{stack}],\n\
         stack_margin: {stack_margin:?},\nstatic_ram: {static_ram},\n}};"
    )?;
    Ok(())
}
