//! Step 1 of `figures`: the host tables, from criterion's results.

use std::{
    fmt::Write as _,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, Result, ensure};
use mdn_benches::{BATCH_ROWS, CASES, Case, ceiling};

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
pub(crate) fn host_section(root: &Path) -> Result<String> {
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
