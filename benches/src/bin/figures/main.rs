//! Rewrites the benchmark figures in BENCHMARKS.md, with the machine they ran on.
//!
//! ```text
//! cargo run -p mdn-benches --release --bin figures
//! cargo run -p mdn-benches --release --bin figures -- --skip-bench   # reuse criterion's results
//! cargo run -p mdn-benches --release --bin figures -- --device-only  # print step 2's tables
//! cargo run -p mdn-benches --release --bin figures -- --calibrate    # the cost model's constants
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
//!    (`thumbv6m-none-eabi`, software floats) and runs `cost` on `mps2-an385`. The same for
//!    the parity shapes other than `minimal`'s, and with all of them the table of mdn-train's
//!    device cost model against QEMU's counts. The default firmware builds are restored at
//!    the end.
//!
//! Only the text between `<!-- figures:begin -->` and `<!-- figures:end -->` is replaced;
//! the file and the section are created if absent, and everything else is left as it was.
//! `--device-only` runs step 2 alone and prints its tables instead, leaving BENCHMARKS.md
//! as it is (the quick look at a firmware change). `--calibrate` measures what the device
//! cost model is fitted on and rewrites `mdn-train/src/device_cost/calibration.rs`
//! (`calibrate.rs` says how); run it, then the figures, when a change moves the counts.
//! Needs qemu-system-arm, arm-none-eabi-size and defmt-print (`scripts/check.sh` installs
//! them).

use std::{fmt::Write as _, fs, path::Path, process::Command};

use anyhow::{Context, Result, ensure};

mod calibrate;
mod cost_model;
mod device;
mod host;

use device::device_section;
use host::host_section;

const BEGIN: &str = "<!-- figures:begin -->";
const END: &str = "<!-- figures:end -->";

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    const USAGE: &str = "usage: figures [--skip-bench] [--skip-device] | figures --device-only | figures --calibrate";
    for arg in &args {
        ensure!(
            matches!(
                arg.as_str(),
                "--skip-bench" | "--skip-device" | "--device-only" | "--calibrate"
            ),
            "unknown argument {arg:?}; {USAGE}"
        );
    }
    let has = |flag: &str| args.iter().any(|a| a == flag);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let root = root.canonicalize().context("workspace root")?;
    if has("--calibrate") {
        ensure!(
            args.len() == 1,
            "--calibrate takes no other argument; {USAGE}"
        );
        print!("{}", calibrate::calibrate(&root)?);
        return Ok(());
    }
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
pub(crate) fn run(command: &mut Command) -> Result<()> {
    let status = command
        .status()
        .with_context(|| format!("running {command:?}"))?;
    ensure!(status.success(), "{command:?} failed: {status}");
    Ok(())
}

/// The output of `command`, which must succeed.
pub(crate) fn output(command: &mut Command) -> Result<String> {
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
