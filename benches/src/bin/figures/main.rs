//! Rewrites the benchmark figures in BENCHMARKS.md, with the machine they ran on.
//!
//! ```text
//! cargo run -p mdn-benches --release --bin figures
//! cargo run -p mdn-benches --release --bin figures -- --skip-bench   # reuse criterion's results
//! cargo run -p mdn-benches --release --bin figures -- --device-only  # print step 3's tables
//! ```
//!
//! 1. **Host**: runs `cargo bench -p mdn-benches --bench log_prob` (criterion; candle on one
//!    thread) and reads the median of each benchmark from
//!    `target/criterion/<group>/<function>/new/estimates.json`.
//! 2. **Device**: for each model of `mdn_benches::DEVICE_CASES`, builds `firmware-example`
//!    with the model (`MDN_MODEL`) and its tightest capacities (`MDN_CAPACITIES`), reads flash
//!    and static RAM of `minimal` with `arm-none-eabi-size`, and runs `cost` in QEMU
//!    `mps2-an386` under `-icount shift=6` (instructions, not cycles), decoding its defmt
//!    output with `defmt-print`; then builds `minimal` and `cost` as ARMv6-M code
//!    (`thumbv6m-none-eabi`, software floats) and runs `cost` on `mps2-an385`. The default
//!    firmware builds are restored at the end.
//!
//! Only the text between `<!-- figures:begin -->` and `<!-- figures:end -->` is replaced;
//! the file and the section are created if absent, and everything else is left as it was.
//! `--device-only` runs step 2 alone and prints its tables instead, leaving BENCHMARKS.md
//! as it is (the quick look at a firmware change).
//! Needs qemu-system-arm, arm-none-eabi-size and defmt-print (`scripts/check.sh` installs
//! them).

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail, ensure};
use mdn_benches::{BATCH_ROWS, CASES, Case, DEVICE_CASES, ceiling};
use mdn_tests::qemu::{self, ARMV6M, CORTEX_M4F, Machine};

const BEGIN: &str = "<!-- figures:begin -->";
const END: &str = "<!-- figures:end -->";

/// Published figures for a 1-16-16-1 int8 network on an nRF52840 (Cortex-M4F, 64 MHz):
/// `(runtime, flash KB, RAM KB)`, from the MicroFlow paper (Carnelos et al., 2024).
const PUBLISHED: [(&str, f64, f64); 2] = [
    ("MicroFlow", 34.3, 5.3),
    ("TensorFlow Lite Micro", 116.4, 45.7),
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    const USAGE: &str = "usage: figures [--skip-bench] [--skip-device] | figures --device-only";
    for arg in &args {
        ensure!(
            matches!(
                arg.as_str(),
                "--skip-bench" | "--skip-device" | "--device-only"
            ),
            "unknown argument {arg:?}; {USAGE}"
        );
    }
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().context("workspace root")?;
    if has("--device-only") {
        ensure!(
            args.len() == 1,
            "--device-only takes no other argument; {USAGE}"
        );
        print!("{}", device_section(&root)?);
        return Ok(());
    }
    let load_before = load_average();

    if !has("--skip-bench") {
        // Above other builds' priority where allowed: `nice` warns and runs the command at
        // the normal priority where it is not.
        run(Command::new("nice")
            .args(["-n", "-5"])
            .arg(cargo())
            .current_dir(&root)
            .args(["bench", "-p", "mdn-benches", "--bench", "log_prob"])
            .env("RAYON_NUM_THREADS", "1"))?;
    }
    let host = host_section(&root)?;
    let device = if has("--skip-device") {
        None
    } else {
        Some(device_section(&root)?)
    };
    let load_after = load_average();

    let mut text = String::new();
    writeln!(text, "{BEGIN}")?;
    writeln!(
        text,
        "<!-- Written by `cargo run -p mdn-benches --release --bin figures`; edits between \
         these markers are overwritten. -->\n"
    )?;
    writeln!(text, "## Machine\n")?;
    writeln!(text, "{}\n", machine(&load_before, &load_after))?;
    text.push_str(&host);
    match device {
        Some(device) => text.push_str(&device),
        None => text.push_str("## Device\n\nNot measured in this run (`--skip-device`).\n\n"),
    }
    write!(text, "{END}")?;

    let path = root.join("BENCHMARKS.md");
    let old = fs::read_to_string(&path).unwrap_or_default();
    // An interrupted run leaves the old file whole.
    mdn_train::io::write_atomic(&path, replace_section(&old, &text).as_bytes())?;
    println!("{}", text);
    println!("wrote {}", path.display());
    Ok(())
}

/// `old` with the marked section replaced by `section` (which includes the markers), or
/// with `section` appended (a new file gets a title).
fn replace_section(old: &str, section: &str) -> String {
    if let (Some(begin), Some(end)) = (old.find(BEGIN), old.find(END))
        && begin < end
    {
        let end = end + END.len();
        return format!("{}{section}{}", &old[..begin], &old[end..]);
    }
    if old.trim().is_empty() {
        return format!("# Benchmarks\n\n{section}\n");
    }
    format!("{}\n\n{section}\n", old.trim_end())
}

fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// Runs `command`, failing with its name unless it succeeds.
fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    ensure!(status.success(), "{command:?} failed: {status}");
    Ok(())
}

/// The output of `command`, which must succeed.
fn output(command: &mut Command) -> Result<String> {
    let out = command
        .output()
        .with_context(|| format!("running {command:?}"))?;
    ensure!(
        out.status.success(),
        "{command:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn load_average() -> String {
    fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// CPU, cores, OS, toolchain, QEMU, date and load: what the figures depend on.
fn machine(load_before: &str, load_after: &str) -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        cpuinfo
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split(':').nth(1))
            .map_or("unknown".to_owned(), |v| v.trim().to_owned())
    };
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let first_line = |command: &mut Command| {
        output(command)
            .ok()
            .and_then(|s| s.lines().next().map(str::to_owned))
            .unwrap_or_else(|| "unknown".into())
    };
    let rustc = first_line(Command::new("rustc").arg("-V"));
    let qemu = first_line(Command::new("qemu-system-arm").arg("--version"));
    let kernel = first_line(Command::new("uname").args(["-sr"]));
    let date = first_line(Command::new("date").args(["-u", "+%Y-%m-%d %H:%M UTC"]));
    format!(
        "| | |\n|---|---|\n| date | {date} |\n| CPU | {} ({} MHz reported), {cores} cores \
         available |\n| OS | {kernel} |\n| Rust | {rustc} |\n| QEMU | {qemu} |\n| load average \
         (1, 5, 15 min) | {load_before} before, {load_after} after |\n\nHost figures are \
         wall-clock medians and move with the load above (the machine may be shared with other \
         builds); device figures are QEMU instruction counts and do not.",
        field("model name"),
        field("cpu MHz"),
    )
}

/// Criterion's figures for one benchmark, in ns per iteration.
#[derive(Debug, Clone, Copy)]
struct Timing {
    /// The median (criterion's estimate).
    median: f64,
    /// The fastest of the 100 samples (each the mean of many iterations): the least
    /// disturbed by other processes on a shared machine.
    fastest: f64,
}

/// Criterion's results for benchmark `group/function`.
fn criterion_timing(root: &Path, group: &str, function: &str) -> Result<Timing> {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let dir = target
        .join("criterion")
        .join(group)
        .join(function)
        .join("new");
    let read = |file: &str| -> Result<serde_json::Value> {
        let path = dir.join(file);
        let text = fs::read_to_string(&path).with_context(|| {
            format!(
                "{}: run `cargo bench -p mdn-benches --bench log_prob` first",
                path.display()
            )
        })?;
        Ok(serde_json::from_str(&text)?)
    };
    let estimates = read("estimates.json")?;
    let median = estimates["median"]["point_estimate"]
        .as_f64()
        .with_context(|| format!("{}: no median", dir.display()))?;
    let sample = read("sample.json")?;
    let numbers = |key: &str| -> Vec<f64> {
        sample[key]
            .as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default()
    };
    let fastest = numbers("times")
        .iter()
        .zip(numbers("iters"))
        .map(|(t, n)| t / n)
        .fold(f64::INFINITY, f64::min);
    ensure!(fastest.is_finite(), "{}: no samples", dir.display());
    Ok(Timing { median, fastest })
}

fn group_name(kind: &str, spec_name: &str) -> String {
    format!("{kind}_{spec_name}")
}

/// The host tables, from criterion's results.
fn host_section(root: &Path) -> Result<String> {
    let mut text = String::from(
        "## Host: log p(y|x), mdn-core against candle\n\n\
         `cargo bench -p mdn-benches --bench log_prob` (criterion, 100 samples; candle 0.11 \
         on one thread, `RAYON_NUM_THREADS=1`; the same blob loaded into both, candle \
         through `mdn_train::model::Mdn::from_blob`; every tensor, input and output buffer \
         built before the timed region; candle's time covers input scaling, the forward \
         pass, the mixture in original units, the log-likelihood and copying the result \
         out). Each cell is criterion's median, then the fastest sample in brackets: on a \
         shared machine the fastest sample is the better estimate of what the code costs, \
         the median of what it cost under this load. Ratios are candle's time over \
         mdn-core's, median (fastest).\n\n\
         One sample (ns):\n\n\
         | model | mdn-core, tight capacities | mdn-core, `HostModel` | candle | candle / \
         mdn-core |\n|---|---|---|---|---|\n",
    );
    let cell =
        |t: Timing, scale: f64| format!("{:.0} ({:.0})", t.median / scale, t.fastest / scale);
    let ratio = |a: Timing, b: Timing| {
        format!(
            "{:.1}x ({:.1}x)",
            a.median / b.median,
            a.fastest / b.fastest
        )
    };
    for case in CASES {
        let group = group_name("single", case.spec.name);
        let core = criterion_timing(root, &group, "mdn-core")?;
        let host = criterion_timing(root, &group, "mdn-core-host")?;
        let candle = criterion_timing(root, &group, "candle")?;
        let [i, w, k, d] = case.capacities;
        writeln!(
            text,
            "| {} (`Model<{i}, {w}, {k}, {d}>`) | {} | {} | {} | {} |",
            case.label,
            cell(core, 1.0),
            cell(host, 1.0),
            cell(candle, 1.0),
            ratio(candle, core)
        )?;
    }
    write!(
        text,
        "\n{BATCH_ROWS} rows (`Model::log_prob_batch`, each row with exactly the bits of \
         `Model::log_prob`, against one batched candle forward pass), us per batch:\n\n\
         | model | mdn-core | candle | mdn-core per row (ns) | candle / mdn-core |\n\
         |---|---|---|---|---|\n"
    )?;
    for case in CASES {
        let group = group_name(&format!("batch{BATCH_ROWS}"), case.spec.name);
        let core = criterion_timing(root, &group, "mdn-core")?;
        let candle = criterion_timing(root, &group, "candle")?;
        writeln!(
            text,
            "| {} | {} | {} | {} | {} |",
            case.label,
            cell(core, 1e3),
            cell(candle, 1e3),
            cell(core, BATCH_ROWS as f64),
            ratio(candle, core)
        )?;
    }
    text.push_str(&targets(root)?);
    Ok(text)
}

/// Issue 7's host targets against the fastest samples, the floor that the work a sample
/// cannot avoid sets under them, and where the time goes.
fn targets(root: &Path) -> Result<String> {
    let timings = |kind: &str, case: &Case| -> Result<(Timing, Timing)> {
        let group = group_name(kind, case.spec.name);
        Ok((
            criterion_timing(root, &group, "mdn-core")?,
            criterion_timing(root, &group, "candle")?,
        ))
    };
    let ratio = |(core, candle): (Timing, Timing)| candle.fastest / core.fastest;
    let verdict = |ok: bool| if ok { "met" } else { "**missed**" };
    let batch = format!("batch{BATCH_ROWS}");
    let singles = [timings("single", &CASES[0])?, timings("single", &CASES[1])?];
    let single = singles.map(ratio);
    let batched = ratio(timings(&batch, &CASES[0])?);
    let mut text = String::new();
    writeln!(
        text,
        "\nTargets (fastest samples): one sample at least 50x faster than candle: {} \
         ({:.1}x at 1-32-32, {:.1}x at 13-64-64); a batch of {BATCH_ROWS} at least as fast as \
         candle at 1-32-32: {} ({:.2}x; {:.2}x at 13-64-64, reported only).\n",
        verdict(single.iter().all(|&r| r >= 50.0)),
        single[0],
        single[1],
        verdict(batched >= 1.0),
        batched,
        ratio(timings(&batch, &CASES[1])?)
    )?;

    let per_ns = |function: &str, calls: usize| -> Result<f64> {
        Ok(calls as f64 / criterion_timing(root, "ceiling", function)?.fastest)
    };
    let multiply_adds = per_ns("mul_add_sums", ceiling::MULTIPLY_ADDS)?;
    let exp_ns = 1.0 / per_ns("expf", ceiling::EXP_INPUTS.len())?;
    let ln_ns = 1.0 / per_ns("logf", ceiling::LN_INPUTS.len())?;
    write!(
        text,
        "The floor (`mdn_benches::ceiling`, criterion group `ceiling`, fastest samples): this \
         CPU does at best {multiply_adds:.1} multiply-adds per ns the way mdn-core's bits \
         require them (a multiply, then an add, each rounded: the host kernel's shape with 48 \
         independent sums in twelve SSE2 registers, weights from L1, nothing else), and \
         libm's `expf` and `logf` take {exp_ns:.1} and {ln_ns:.1} ns a call when many \
         overlap. The dense sums and the libm calls a sample cannot do without (FORMAT.md \
         section 5; `Case::libm_calls`) then take at least"
    )?;
    let mut out_of_reach = Vec::new();
    for (i, (case, (_, candle))) in CASES.iter().zip(singles).enumerate() {
        let (exps, logs) = case.libm_calls();
        let macs = case.multiply_adds();
        let sums = macs as f64 / multiply_adds;
        let floor = sums + exps as f64 * exp_ns + logs as f64 * ln_ns;
        let allowed = candle.fastest / 50.0;
        write!(
            text,
            "{} {floor:.0} ns at {} ({sums:.0} ns for {macs} multiply-adds, the rest for \
             {exps} `expf` and {logs} `logf`) of the {allowed:.0} ns that 50x allows ({:.0} %)",
            if i == 0 { "" } else { ";" },
            case.label,
            100.0 * floor / allowed
        )?;
        if floor > 1.1 * allowed {
            out_of_reach.push(case.label);
        }
    }
    if out_of_reach.is_empty() {
        text.push_str(". The floor is within the target for both models.");
    } else {
        write!(
            text,
            ". At {} the floor is more than 10 % over the budget, more than a better \
             schedule than these benchmarks' could recover: no code with mdn-core's arithmetic \
             meets the one-sample target there on this CPU's baseline instruction set, so that \
             part of the target is out of reach rather than missed.",
            out_of_reach.join(" and ")
        )?;
    }
    text.push_str(
        " Wider registers help less than they promise: built for this CPU (`-C \
         target-cpu=native`: AVX-512 and FMA, the same bits, which `./scripts/check.sh` \
         checks), one sample took 248 ns at 1-32-32 against candle's 10,245 (41.3x) and 445 \
         ns at 13-64-64 against 10,543 (23.7x), medians measured once with \
         `CARGO_TARGET_DIR=target/native \
         CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS=\"-C target-cpu=native\" cargo bench \
         -p mdn-benches --bench log_prob` (criterion's results go there too), not rewritten \
         by this command.\n\n",
    );
    text.push_str(
        "Where the time goes (perf record over a loop of queries, measured once when these \
         paths were last tuned, not rewritten by this command). Single-row path, 1-32-32 \
         K=5: the dense sums about 21 %, at about the rate above (four blocks of 8 rows a \
         step where a layer has four, eight SSE2 registers of sums; two blocks for the \
         heads' 15 rows); the rest of the dense layers (bias, ReLU, writing the outputs) 14 \
         %; libm's `expf` 22 %; log-sum-exp 16 % (with its inlined `logf`); the component \
         densities 9 % (`logf` of each sigma, a division); `Model::log_prob` itself (checks, \
         input scaling) 8 %; the rest (sigmas, mixing weights, means) about 7 %. The libm \
         calls whose results FORMAT.md fixes bit for bit, with the loops around them, take \
         about half of the sample's time, which is why 1-32-32 misses 50x. Measured and not \
         adopted: a lane-wise `expf` with exactly libm's bits (checked against `libm::expf` \
         on all 2^32 inputs) was 1.5x faster per value in isolation (SSE2 has no blend, and \
         the special cases cost selects) but made a sample about 5 % slower inside \
         log-sum-exp, whose independent libm calls already overlap; one `logf` per mixture \
         instead of one per component (each sigma split exactly into mantissa and exponent) \
         was 2 % faster per sample and cost the device 400 bytes of flash for 77 fewer \
         instructions (Cortex-M4F, with mdn-core's kernel inlined, before `mdn-cortex-m`). \
         Batch path: blocks of 16 rows, two outputs a step (eight SSE2 \
         accumulators; each row's sums keep the single-row order, so no reassociation and \
         no fused multiply-add); at 13-64-64 most of the time goes to the dense sums, at \
         1-32-32 libm's `expf` and `logf` are about 40 % (in 16 independent rows at a time). \
         candle's matrix products dispatch at run time to AVX2 / AVX-512 with FMA kernels, \
         which mdn-core does not use (no intrinsics, no run-time CPU detection, the same \
         arithmetic everywhere), and its time per sample is mostly per-operation overhead \
         (about 11 us for either model), which is what the one-sample ratio measures.\n\n",
    );
    Ok(text)
}

/// The number that follows `prefix` in `log`.
fn number_after(log: &str, prefix: &str) -> Result<u64> {
    let start = log
        .find(prefix)
        .with_context(|| format!("{prefix:?} not in the firmware's output:\n{log}"))?
        + prefix.len();
    let digits: String = log[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .parse()
        .with_context(|| format!("no number after {prefix:?}"))
}

/// Runs a firmware ELF on `machine` in QEMU under `-icount shift=6` (instructions, not
/// cycles) and returns its decoded defmt log.
fn run_firmware(machine: &Machine, elf: &Path) -> Result<String> {
    let run = qemu::run(machine, elf, &["-icount", "shift=6"])
        .with_context(|| format!("running {} in QEMU", elf.display()))?;
    ensure!(
        run.code == Some(0),
        "{} on {}: exit status {:?}\n{}",
        elf.display(),
        machine.name,
        run.code,
        run.log
    );
    Ok(run.log)
}

/// What `minimal` and `cost` report for one model on one machine.
struct Footprint {
    /// `minimal`'s text + data.
    flash: u64,
    /// `minimal`'s data + bss.
    static_ram: u64,
    /// The stack peak of validation + one query.
    stack: u64,
    /// With `mdn-cortex-m`'s kernel, as `minimal` runs.
    log_prob: u64,
    /// With mdn-core's portable kernel.
    portable_log_prob: u64,
    mixture: u64,
    validate: u64,
}

impl Footprint {
    fn ram(&self) -> u64 {
        self.static_ram + self.stack
    }
}

/// Builds `minimal` and `cost` for `machine` with `model` embedded at `capacities`, and
/// measures `minimal`'s size and `cost`'s figures.
fn footprint(
    firmware: &Path,
    machine: &Machine,
    model: &Path,
    capacities: &str,
) -> Result<Footprint> {
    let mut build = machine.release_build(firmware);
    build
        .args(["--quiet", "--bin", "minimal", "--bin", "cost"])
        .env("MDN_MODEL", model)
        .env("MDN_CAPACITIES", capacities);
    run(&mut build)?;
    let size =
        output(Command::new("arm-none-eabi-size").arg(machine.release_elf(firmware, "minimal")))?;
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
    let log = run_firmware(machine, &machine.release_elf(firmware, "cost"))?;
    Ok(Footprint {
        flash: text_size + data,
        static_ram: data + bss,
        stack: number_after(&log, "validate + log_prob ")?,
        log_prob: number_after(&log, "instructions, log_prob ")?,
        portable_log_prob: number_after(&log, "with mdn-core's kernel ")?,
        mixture: number_after(&log, "network only) ")?,
        validate: number_after(&log, "cost: validate ")?,
    })
}

/// Builds and measures the firmware for every device model, on the Cortex-M4F and as
/// ARMv6-M code, and returns the device tables.
fn device_section(root: &Path) -> Result<String> {
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
         nRF52840; mdn-core evaluates f32 weights and a whole mixture density.\n\n\
         | model | capacities `I, W, K, D` | blob (B) | flash (B) | static RAM (B) | stack peak \
         (B) | RAM total (B) | instructions per log p(y\\|x) (QEMU) | with mdn-core's kernel \
         | per mixture (network only) | validation (instructions) \
         |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut soft = String::from(
        "## Device without an FPU: ARMv6-M code in QEMU\n\n\
         The same firmware built for `thumbv6m-none-eabi` (the code of a Cortex-M0/M0+: every \
         `f32` operation is a compiler-builtins routine) and run on QEMU `mps2-an385`, a \
         Cortex-M3 with `mps2-an386`'s memory map and SysTick (ARMv6-M is a subset of \
         ARMv7-M, so the instructions counted are those a Cortex-M0 would execute). Same \
         models, capacities and method as above (without an FPU, `mdn-cortex-m`'s kernel is \
         mdn-core's portable one); the device parity test proves these builds \
         compute the host's bits too. Where the time goes (QEMU single-stepping one 1-32-32 \
         query, measured once, not rewritten by this command): compiler-builtins' software \
         `f32` addition (`__addsf3`) 41 % and multiplication (`__mulsf3`) 33 %, plus 12 % in \
         the 64-bit product the multiplication needs (ARMv6-M has no 32 x 32 -> 64 \
         multiply) and 9 % in their `__aeabi_*` entry points, leading-zero counts, division \
         and comparisons; mdn-core's own code (loops, libm's functions around their float \
         operations) about 6 %. A faster correctly rounded software multiply-add would give \
         the same bits and would be the lever there.\n\n\
         | model | flash (B) | RAM total (B) | instructions per log p(y\\|x) (QEMU) | x the \
         Cortex-M4F | validation (instructions) |\n|---|---|---|---|---|---|\n",
    );
    for case in &DEVICE_CASES {
        let blob = mdn_tests::generate::generated_blob(&case.spec);
        let model = models.join(format!("{}.mdn", case.spec.name));
        fs::write(&model, &blob)?;
        let capacities = case.capacities.map(|c| c.to_string()).join(",");
        eprintln!("figures: firmware for {} ({capacities})", case.label);
        let m4f = footprint(&firmware, &CORTEX_M4F, &model, &capacities)?;
        writeln!(
            text,
            "| {} | {capacities} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            case.label,
            blob.len(),
            m4f.flash,
            m4f.static_ram,
            m4f.stack,
            m4f.ram(),
            m4f.log_prob,
            m4f.portable_log_prob,
            m4f.mixture,
            m4f.validate
        )?;
        let v6m = footprint(&firmware, &ARMV6M, &model, &capacities)?;
        writeln!(
            soft,
            "| {} | {} | {} | {} | {:.1} | {} |",
            case.label,
            v6m.flash,
            v6m.ram(),
            v6m.log_prob,
            v6m.log_prob as f64 / m4f.log_prob.max(1) as f64,
            v6m.validate
        )?;
    }
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
    // Leave the default firmware builds in place.
    for machine in [CORTEX_M4F, ARMV6M] {
        run(machine.release_build(&firmware).arg("--quiet"))?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_marked_section_is_replaced() {
        let section = format!("{BEGIN}\nnew\n{END}");
        let old = format!("# B\n\nintro\n\n{BEGIN}\nold\n{END}\n\n## Training\n\nkept\n");
        assert_eq!(
            replace_section(&old, &section),
            format!("# B\n\nintro\n\n{section}\n\n## Training\n\nkept\n")
        );
        assert_eq!(
            replace_section("# B\n\n## Training\n", &section),
            format!("# B\n\n## Training\n\n{section}\n")
        );
        assert_eq!(
            replace_section("", &section),
            format!("# Benchmarks\n\n{section}\n")
        );
    }
}
