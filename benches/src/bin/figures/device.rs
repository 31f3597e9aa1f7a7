//! Step 2 of `figures`: the device tables, from `firmware-example` built for each device
//! model and run in QEMU.

use std::{fmt::Write as _, fs, path::Path, process::Command};

use anyhow::{Context, Result, bail};
use mdn_benches::{DEVICE_CASES, STORAGE_CASES};
use mdn_tests::generate::PARITY_MODELS;
use mdn_tests::qemu::{self, ARMV6M, ARMV6M_COMPILER_BUILTINS, CORTEX_M4F, CostReport, Machine};

use crate::{
    cost_model::{Checked, cost_model_section},
    output, run,
};

/// Published figures for a 1-16-16-1 int8 network on an nRF52840 (Cortex-M4F, 64 MHz):
/// `(runtime, flash KB, RAM KB)`, from the MicroFlow paper (Carnelos et al., 2024).
const PUBLISHED: [(&str, f64, f64); 2] = [
    ("MicroFlow", 34.3, 5.3),
    ("TensorFlow Lite Micro", 116.4, 45.7),
];

/// What `minimal` and `cost` report for one model on one machine.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Footprint {
    /// `minimal`'s text + data.
    pub(crate) flash: u64,
    /// `minimal`'s data + bss.
    pub(crate) static_ram: u64,
    /// `cost`'s instructions and stack peak.
    pub(crate) cost: CostReport,
}

impl Footprint {
    pub(crate) fn ram(&self) -> u64 {
        self.static_ram + self.cost.stack_bytes
    }
}

/// Builds `minimal` and `cost` for `machine` with `model` embedded at `capacities`, and
/// measures `minimal`'s size and `cost`'s figures.
pub(crate) fn footprint(
    firmware: &Path,
    machine: &Machine,
    model: &Path,
    capacities: [usize; 4],
) -> Result<Footprint> {
    footprint_with_profile(firmware, machine, model, capacities, "release")
}

/// [`footprint`] with the firmware built with the cargo `profile`.
fn footprint_with_profile(
    firmware: &Path,
    machine: &Machine,
    model: &Path,
    capacities: [usize; 4],
    profile: &str,
) -> Result<Footprint> {
    let mut build = machine.build(firmware, profile);
    build
        .args(["--quiet", "--bin", "minimal"])
        .args(["--features", &qemu::features_for(model)?])
        .env("MDN_MODEL", model)
        .env(
            "MDN_CAPACITIES",
            capacities.map(|c| c.to_string()).join(","),
        );
    run(&mut build)?;
    let size =
        output(Command::new("arm-none-eabi-size").arg(machine.elf(firmware, profile, "minimal")))?;
    let numbers: Vec<u64> = size
        .lines()
        .nth(1)
        .context("arm-none-eabi-size output")?
        .split_whitespace()
        .take(3)
        .map(str::parse)
        .collect::<std::result::Result<_, _>>()?;
    let [text_size, data, bss] = numbers[..] else {
        bail!("unexpected arm-none-eabi-size output: {size}");
    };
    let cost = qemu::measure_cost_with_profile(machine, firmware, model, capacities, profile)?;
    Ok(Footprint {
        flash: text_size + data,
        static_ram: data + bss,
        cost,
    })
}

/// Builds and measures the firmware for every device model, on the Cortex-M4F and as
/// ARMv6-M code, and returns the device tables.
pub(crate) fn device_section(root: &Path) -> Result<String> {
    let firmware = root.join("firmware-example");
    let models = root.join("target/figures");
    fs::create_dir_all(&models)?;
    let mut text = String::from(
        "## Device: Cortex-M4F in QEMU\n\n\
         `firmware-example` built in release (LTO, mdn-core, mdn-cortex-m and libm at \
         opt-level 3, the rest at \"s\") for each model with its tightest capacities \
         (`MDN_MODEL`, `MDN_CAPACITIES`), run in QEMU `mps2-an386` (Cortex-M4 with FPU) under \
         `-icount shift=6`. Queries run with `mdn-cortex-m`'s assembly kernel for the dense \
         layers (`Model::set_kernel`), as `minimal` does; the column after them is the same \
         query with mdn-core's portable kernel (the same bits: the device parity test runs \
         every vector through both). Flash is `minimal`'s text + data (the whole application: \
         runtime, defmt logger, the model blob, validation and one `log_prob`); RAM is its \
         static data + bss plus the stack peak of validation + one `log_prob` (stack \
         painting, in `cost`). **QEMU counts instructions, not cycles**: on silicon a \
         Cortex-M4F needs more cycles than instructions (2-cycle loads, 14-cycle divisions, \
         flash wait states), so compare instruction counts with each other, not with cycle \
         counts. The published figures below are for a 1-16-16-1 **int8** network on an \
         nRF52840; mdn-core evaluates a whole mixture density, with f32 weights or (the rows \
         after the three models) f16 and int8 ones, which its firmware features `f16` and \
         `int8` add (`minimal` is built with the features its model needs).\n\n\
         | model | capacities `I, W, K, D` | blob (B) | flash (B) | static RAM (B) | stack peak \
         (B) | RAM total (B) | instructions per log p(y\\|x) (QEMU) | with mdn-core's kernel \
         | per mixture (network only) | validation (instructions) \
         |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut soft = String::from(
        "## Device without an FPU: ARMv6-M code in QEMU\n\n\
         The same firmware built for `thumbv6m-none-eabi` (the code of a Cortex-M0/M0+: every \
         `f32` operation a software routine) and run on QEMU `mps2-an385`, a Cortex-M3 with \
         `mps2-an386`'s memory map and SysTick (ARMv6-M is a subset of ARMv7-M, so the \
         instructions counted are those a Cortex-M0 would execute). Same models, capacities \
         and method as above (without an FPU, `mdn-cortex-m`'s dense kernel is mdn-core's \
         portable one), built with `firmware-example`'s `aeabi-float`: `f32` addition, \
         subtraction and multiplication by `mdn-cortex-m`'s Thumb-1 routines \
         (`mdn_cortex_m::soft_float`, correctly rounded: compiler-builtins' bits, compared on \
         10 million operand pairs in QEMU), division, comparisons and conversions by \
         compiler-builtins'. The last column is the same query with compiler-builtins' \
         routines throughout, a firmware without the feature; the device parity test proves \
         both compute the host's bits. Where the time goes (QEMU single-stepping one 1-32-32 \
         `f32` query with compiler-builtins' routines, measured once, not rewritten by this \
         command): software `f32` addition (`__addsf3`) 41 % and multiplication \
         (`__mulsf3`) 33 %, plus 12 % in the 64-bit product the multiplication needs \
         (ARMv6-M has no 32 x 32 -> 64 multiply) and 9 % in their `__aeabi_*` entry points, \
         leading-zero counts, division and comparisons. `mdn-cortex-m`'s routines take an \
         addition from about 55 instructions to about 36 and a multiplication from about 74 \
         (with its `__aeabi_lmul`) to about 25 (four 16 x 16 products).\n\n\
         | model | flash (B) | RAM total (B) | instructions per log p(y\\|x) (QEMU) | x the \
         Cortex-M4F | validation (instructions) | with compiler-builtins' floats |\n\
         |---|---|---|---|---|---|---|\n",
    );
    let mut checked = Vec::new();
    for case in DEVICE_CASES.iter().chain(&STORAGE_CASES) {
        let blob = mdn_tests::generate::generated_blob(&case.spec);
        let model = models.join(format!("{}.mdn", case.spec.name));
        fs::write(&model, &blob)?;
        let capacities = case.capacities.map(|c| c.to_string()).join(",");
        eprintln!("figures: firmware for {} ({capacities})", case.label);
        let m4f = footprint(&firmware, &CORTEX_M4F, &model, case.capacities)?;
        writeln!(
            text,
            "| {} | {capacities} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            case.label,
            blob.len(),
            m4f.flash,
            m4f.static_ram,
            m4f.cost.stack_bytes,
            m4f.ram(),
            m4f.cost.log_prob,
            m4f.cost.portable_log_prob,
            m4f.cost.mixture,
            m4f.cost.validate
        )?;
        let v6m = footprint(&firmware, &ARMV6M, &model, case.capacities)?;
        let builtins = qemu::measure_cost(
            &ARMV6M_COMPILER_BUILTINS,
            &firmware,
            &model,
            case.capacities,
        )?;
        writeln!(
            soft,
            "| {} | {} | {} | {} | {:.1} | {} | {} |",
            case.label,
            v6m.flash,
            v6m.ram(),
            v6m.cost.log_prob,
            v6m.cost.log_prob as f64 / m4f.cost.log_prob.max(1) as f64,
            v6m.cost.validate,
            builtins.log_prob
        )?;
        checked.push(Checked {
            label: case.label.to_owned(),
            blob,
            m4f,
            m0: v6m,
        });
    }
    // The cost model on the other models it was not calibrated on: the parity shapes (those
    // with packed weights too, whose conversions it charges at costs measured once).
    for spec in &PARITY_MODELS[1..] {
        let blob = mdn_tests::generate::generated_blob(spec);
        let model = models.join(format!("{}.mdn", spec.name));
        fs::write(&model, &blob)?;
        eprintln!("figures: firmware for {}", spec.name);
        let m4f = footprint(&firmware, &CORTEX_M4F, &model, spec.capacities())?;
        let m0 = footprint(&firmware, &ARMV6M, &model, spec.capacities())?;
        checked.push(Checked {
            label: spec.name.to_owned(),
            blob,
            m4f,
            m0,
        });
    }
    text.push_str(&size_profile_section(&firmware, &models)?);
    text.push_str(
        "\nPublished, for comparison (1-16-16-1 int8 network, nRF52840; the papers' own \
         builds):\n\n| runtime | flash (KB) | RAM (KB) |\n|---|---|---|\n",
    );
    for (name, flash, ram) in PUBLISHED {
        writeln!(text, "| {name} | {flash} | {ram} |")?;
    }
    text.push('\n');
    text.push_str(&soft);
    text.push('\n');
    text.push_str(&cost_model_section(&checked)?);
    // Leave the default firmware builds in place.
    for machine in [CORTEX_M4F, ARMV6M] {
        run(machine.release_build(&firmware).arg("--quiet"))?;
    }
    Ok(text)
}

/// The 1-32-32 model in `f32`, with the int8 plan and int8 everywhere, built with the
/// firmware's `size` profile (everything at opt-level "s") on the Cortex-M4F.
fn size_profile_section(firmware: &Path, models: &Path) -> Result<String> {
    let mut text = String::from(
        "\nThe same `minimal` built with `firmware-example`'s `size` profile (`cargo build \
         --profile size`: mdn-core, libm and mdn-cortex-m at opt-level \"s\" too), for parts \
         whose flash matters more than their instructions; the same bits:\n\n\
         | model | flash (B) | RAM total (B) | instructions per log p(y\\|x) (QEMU) |\n\
         |---|---|---|---|\n",
    );
    // Each under a name of its own: the storage cases share their spec's name.
    for (i, case) in [&DEVICE_CASES[1], &STORAGE_CASES[1], &STORAGE_CASES[2]]
        .into_iter()
        .enumerate()
    {
        let model = models.join(format!("size-profile-{i}.mdn"));
        fs::write(&model, mdn_tests::generate::generated_blob(&case.spec))?;
        eprintln!("figures: size profile for {}", case.label);
        let size = footprint_with_profile(firmware, &CORTEX_M4F, &model, case.capacities, "size")?;
        writeln!(
            text,
            "| {} | {} | {} | {} |",
            case.label,
            size.flash,
            size.ram(),
            size.cost.log_prob
        )?;
    }
    Ok(text)
}
