//! The QEMU machines the firmware runs on, and how to run a firmware ELF there: one
//! definition for the device parity test and the benchmark figures.
//!
//! Both machines are Arm MPS2 boards with the same memory map (4 MB of flash-like SSRAM at
//! 0x0, RAM at 0x2000_0000, a 25 MHz SysTick), so one firmware memory layout serves both.

use std::{
    ffi::OsStr,
    io,
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

/// A QEMU machine and the firmware target whose code it runs.
///
/// # Examples
///
/// ```
/// use mdn_tests::qemu::{ARMV6M, CORTEX_M4F};
///
/// assert_eq!(CORTEX_M4F.target, "thumbv7em-none-eabihf");
/// assert!(ARMV6M.timeout_seconds > CORTEX_M4F.timeout_seconds); // software floats
/// // ARMv6-M code runs on the Cortex-M3 board, ARMv6-M being a subset of ARMv7-M.
/// assert_eq!((ARMV6M.target, ARMV6M.cpu), ("thumbv6m-none-eabi", "cortex-m3"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Machine {
    /// What reports call it.
    pub name: &'static str,
    /// The Rust target the firmware is built for.
    pub target: &'static str,
    /// QEMU's `-machine`.
    pub machine: &'static str,
    /// QEMU's `-cpu`.
    pub cpu: &'static str,
    /// Seconds a firmware may run before QEMU is stopped: the parity sets take about 2 s
    /// on the Cortex-M4F and about 30 s in software floats, on this project's CI machine.
    pub timeout_seconds: u32,
    /// Firmware features every build for this machine enables, beside those a build adds
    /// (comma-separated, or empty).
    pub features: &'static str,
}

impl Machine {
    /// `cargo build --release --target <this machine's target>` in the firmware crate at
    /// `firmware`: [`Machine::build`] with the `release` profile.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::path::Path;
    /// use mdn_tests::qemu::{ARMV6M, CORTEX_M4F};
    ///
    /// let build = CORTEX_M4F.release_build(Path::new("firmware-example"));
    /// let args: Vec<_> = build.get_args().collect();
    /// assert_eq!(args, ["build", "--profile", "release", "--target", "thumbv7em-none-eabihf"]);
    /// let build = ARMV6M.release_build(Path::new("firmware-example"));
    /// let args: Vec<_> = build.get_args().skip(5).collect();
    /// assert_eq!(args, ["--features", "aeabi-float"]);
    /// ```
    pub fn release_build(&self, firmware: &Path) -> Command {
        self.build(firmware, "release")
    }

    /// `cargo build --profile <profile> --target <this machine's target>` in the firmware
    /// crate at `firmware`, with the machine's [`Machine::features`], the firmware's own
    /// target directory (where [`Machine::elf`] looks) and linker arguments: an inherited
    /// `CARGO_TARGET_DIR`, `RUSTFLAGS` or `CARGO_ENCODED_RUSTFLAGS` is dropped. Add `--bin`
    /// and environment as needed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::path::Path;
    /// use mdn_tests::qemu::CORTEX_M4F;
    ///
    /// let build = CORTEX_M4F.build(Path::new("firmware-example"), "size");
    /// let args: Vec<_> = build.get_args().take(3).collect();
    /// assert_eq!(args, ["build", "--profile", "size"]);
    /// ```
    pub fn build(&self, firmware: &Path, profile: &str) -> Command {
        let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        build
            .current_dir(firmware)
            .args(["build", "--profile", profile, "--target", self.target])
            .args(self.feature_args())
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        build
    }

    /// `["--features", features]`, or nothing when [`Machine::features`] is empty (cargo
    /// adds up the features of several `--features` arguments).
    fn feature_args(&self) -> Vec<&'static str> {
        match self.features {
            "" => Vec::new(),
            features => vec!["--features", features],
        }
    }

    /// The release ELF of firmware binary `bin` built for this machine's target in the
    /// firmware crate at `firmware` (its own `target/` directory).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::path::Path;
    /// use mdn_tests::qemu::ARMV6M;
    ///
    /// assert_eq!(
    ///     ARMV6M.release_elf(Path::new("firmware-example"), "parity"),
    ///     Path::new("firmware-example/target/thumbv6m-none-eabi/release/parity")
    /// );
    /// ```
    pub fn release_elf(&self, firmware: &Path, bin: &str) -> PathBuf {
        self.elf(firmware, "release", bin)
    }

    /// The ELF of firmware binary `bin` built with `profile` (see [`Machine::build`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::path::Path;
    /// use mdn_tests::qemu::CORTEX_M4F;
    ///
    /// assert_eq!(
    ///     CORTEX_M4F.elf(Path::new("firmware-example"), "size", "minimal"),
    ///     Path::new("firmware-example/target/thumbv7em-none-eabihf/size/minimal")
    /// );
    /// ```
    pub fn elf(&self, firmware: &Path, profile: &str, bin: &str) -> PathBuf {
        firmware
            .join("target")
            .join(self.target)
            .join(profile)
            .join(bin)
    }
}

/// A Cortex-M4F: `thumbv7em-none-eabihf` code on `mps2-an386`, the FPU's arithmetic.
pub const CORTEX_M4F: Machine = Machine {
    name: "Cortex-M4F",
    target: "thumbv7em-none-eabihf",
    machine: "mps2-an386",
    cpu: "cortex-m4",
    timeout_seconds: 120,
    features: "",
};

/// ARMv6-M code (as for a Cortex-M0/M0+: no FPU, every `f32` operation a software routine)
/// on `mps2-an385`, a Cortex-M3 with `mps2-an386`'s memory map. QEMU's only Cortex-M0
/// board, `microbit`, has 16 KB of RAM and 256 KB of flash, too little for the parity
/// vectors; the instructions executed are the ones a Cortex-M0 would execute. Built with
/// the firmware's `aeabi-float`: `f32` addition, subtraction and multiplication by
/// `mdn-cortex-m`'s Thumb-1 routines, the rest (division, comparisons, conversions) by
/// compiler-builtins'. [`ARMV6M_COMPILER_BUILTINS`] is the same without the feature.
pub const ARMV6M: Machine = Machine {
    name: "ARMv6-M (soft float)",
    target: "thumbv6m-none-eabi",
    machine: "mps2-an385",
    cpu: "cortex-m3",
    timeout_seconds: 600,
    features: "aeabi-float",
};

/// [`ARMV6M`] with every `f32` operation a compiler-builtins routine: what a firmware gets
/// without `mdn-cortex-m`'s `aeabi-float`.
///
/// # Examples
///
/// ```
/// use mdn_tests::qemu::{ARMV6M, ARMV6M_COMPILER_BUILTINS};
///
/// assert_eq!(ARMV6M_COMPILER_BUILTINS.target, ARMV6M.target);
/// assert_eq!((ARMV6M.features, ARMV6M_COMPILER_BUILTINS.features), ("aeabi-float", ""));
/// ```
pub const ARMV6M_COMPILER_BUILTINS: Machine = Machine {
    name: "ARMv6-M (compiler-builtins floats)",
    features: "",
    ..ARMV6M
};

/// What a firmware run left: QEMU's exit status and the firmware's defmt log, decoded.
///
/// # Examples
///
/// ```no_run
/// use std::path::Path;
/// use mdn_tests::qemu::{self, CORTEX_M4F};
///
/// let elf = Path::new("firmware-example/target/thumbv7em-none-eabihf/release/minimal");
/// let run = qemu::run(&CORTEX_M4F, elf, &["-icount", "shift=6"])?;
/// assert_eq!(run.code, Some(0), "{}", run.log);
/// # Ok::<(), std::io::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Run {
    /// QEMU's exit status: the firmware's exit code, passed through semihosting; 124 if
    /// [`Machine::timeout_seconds`] ran out (from `timeout`); `None` if a signal ended it.
    pub code: Option<i32>,
    /// The decoded log, then `defmt-print`'s own messages.
    pub log: String,
}

/// Runs `elf` on `machine` in QEMU (semihosting on, no display) under
/// [`Machine::timeout_seconds`], with `extra` arguments (such as `-icount shift=6` or
/// `-device loader,...`), and decodes its defmt output with `defmt-print -e elf`.
///
/// # Errors
///
/// If `timeout`, `qemu-system-arm` or `defmt-print` cannot be started (QEMU is then
/// stopped).
///
/// # Examples
///
/// See [`Run`].
pub fn run<S: AsRef<OsStr>>(machine: &Machine, elf: &Path, extra: &[S]) -> io::Result<Run> {
    let mut qemu = Command::new("timeout")
        .arg(machine.timeout_seconds.to_string())
        .args(["qemu-system-arm", "-machine", machine.machine])
        .args(["-cpu", machine.cpu, "-nographic"])
        .args(["-semihosting-config", "enable=on,target=native"])
        .args(extra)
        .arg("-kernel")
        .arg(elf)
        .stdout(Stdio::piped())
        .spawn()?;
    let decoded = match qemu.stdout.take() {
        Some(frames) => Command::new("defmt-print")
            .arg("-e")
            .arg(elf)
            .stdin(frames)
            .output(),
        None => Err(io::Error::other("QEMU's stdout was not captured")),
    };
    let decoded = match decoded {
        Ok(decoded) => decoded,
        Err(err) => {
            // Not left running until the timeout.
            qemu.kill().ok();
            qemu.wait().ok();
            return Err(err);
        }
    };
    let status = qemu.wait()?;
    Ok(Run {
        code: status.code(),
        log: String::from_utf8_lossy(&decoded.stdout).into_owned()
            + &String::from_utf8_lossy(&decoded.stderr),
    })
}

/// The `-icount shift` under which QEMU's SysTick counts instructions (2^6 ns each,
/// reproducibly); `firmware-example`'s `cost` and `libm_cost` convert ticks with it.
pub const ICOUNT_SHIFT: &str = "shift=6";

/// What `firmware-example`'s `cost` prints for its model: instructions per query (QEMU
/// counts, not cycles) and the stack peak.
///
/// # Examples
///
/// ```
/// use mdn_tests::qemu::CostReport;
///
/// let log = "INFO  cost: stack peak of validate + log_prob 1816 bytes
/// INFO  cost: validate 214490 instructions, log_prob 5565 instructions (= -2.06), mean 5325 instructions (= 0.91)
/// INFO  cost: mixture (network only) 4968 instructions
/// INFO  cost: log_prob with mdn-core's kernel 7338 instructions";
/// let report = CostReport::parse(log).unwrap();
/// assert_eq!((report.stack_bytes, report.log_prob, report.portable_log_prob), (1816, 5565, 7338));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CostReport {
    /// The stack peak of validation and one `log_prob`, in bytes.
    pub stack_bytes: u64,
    /// Instructions of validation.
    pub validate: u64,
    /// Instructions per `log_prob` with `mdn-cortex-m`'s kernel.
    pub log_prob: u64,
    /// Instructions per `log_prob` with mdn-core's portable kernel.
    pub portable_log_prob: u64,
    /// Instructions per `mixture` (the networks without the density).
    pub mixture: u64,
}

impl CostReport {
    /// Reads the figures out of `cost`'s decoded log; `None` if one is missing.
    ///
    /// # Examples
    ///
    /// See [`CostReport`].
    pub fn parse(log: &str) -> Option<CostReport> {
        Some(CostReport {
            stack_bytes: number_after(log, "validate + log_prob ")?,
            validate: number_after(log, "cost: validate ")?,
            log_prob: number_after(log, "instructions, log_prob ")?,
            portable_log_prob: number_after(log, "with mdn-core's kernel ")?,
            mixture: number_after(log, "network only) ")?,
        })
    }
}

/// Builds `firmware-example`'s `cost` for `machine` with the blob at `model` embedded at
/// `capacities` (`I, W, K, D`), runs it in QEMU under `-icount` [`ICOUNT_SHIFT`] and reads
/// its report.
///
/// # Errors
///
/// A failed build or run, or a log without the figures (the message says which).
///
/// # Examples
///
/// ```no_run
/// use std::path::Path;
/// use mdn_tests::qemu::{self, CORTEX_M4F};
///
/// let firmware = Path::new("firmware-example");
/// let model = firmware.join("models/minimal.mdn");
/// let report = qemu::measure_cost(&CORTEX_M4F, firmware, &model, [1, 32, 5, 1])?;
/// assert_eq!(report.log_prob, 5565);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn measure_cost(
    machine: &Machine,
    firmware: &Path,
    model: &Path,
    capacities: [usize; 4],
) -> io::Result<CostReport> {
    measure_cost_with_profile(machine, firmware, model, capacities, "release")
}

/// [`measure_cost`] with the firmware built with `profile` (see [`Machine::build`]).
///
/// # Errors
///
/// As [`measure_cost`].
///
/// # Examples
///
/// ```no_run
/// use std::path::Path;
/// use mdn_tests::qemu::{self, CORTEX_M4F};
///
/// let firmware = Path::new("firmware-example");
/// let model = firmware.join("models/minimal.mdn");
/// let report = qemu::measure_cost_with_profile(&CORTEX_M4F, firmware, &model, [1, 32, 5, 1], "size")?;
/// assert!(report.log_prob > 5565);
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn measure_cost_with_profile(
    machine: &Machine,
    firmware: &Path,
    model: &Path,
    capacities: [usize; 4],
    profile: &str,
) -> io::Result<CostReport> {
    let capacities = capacities.map(|c| c.to_string()).join(",");
    let status = machine
        .build(firmware, profile)
        .args([
            "--quiet",
            "--bin",
            "cost",
            "--features",
            &features_for(model)?,
        ])
        .env("MDN_MODEL", model)
        .env("MDN_CAPACITIES", &capacities)
        .status()?;
    if !status.success() {
        return Err(io::Error::other(format!(
            "building cost for {} ({capacities}) on {} failed: {status}",
            model.display(),
            machine.name
        )));
    }
    let log = run_counted(machine, &machine.elf(firmware, profile, "cost"))?;
    CostReport::parse(&log)
        .ok_or_else(|| io::Error::other(format!("no cost figures in the log:\n{log}")))
}

/// The firmware features (`tanh`, `f16`, `int8`: what mdn-core evaluates beyond ReLU
/// networks of `f32` weights) a model needs, as `--features` takes them: the smallest
/// firmware that runs it, as an application for that model would be built.
///
/// # Errors
///
/// An [`io::Error`] if the file cannot be read or is not a valid blob.
///
/// # Examples
///
/// ```
/// let minimal = std::path::Path::new("../firmware-example/models/minimal.mdn");
/// assert_eq!(mdn_tests::qemu::features_for(minimal)?, "");
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn features_for(model: &Path) -> io::Result<String> {
    let bytes = std::fs::read(model)?;
    let mut words = vec![0_u32; bytes.len().div_ceil(4)];
    bytemuck::cast_slice_mut::<u32, u8>(&mut words)[..bytes.len()].copy_from_slice(&bytes);
    let aligned = &bytemuck::cast_slice::<u32, u8>(&words)[..bytes.len()];
    let blob = mdn_core::Blob::from_bytes(aligned)
        .map_err(|e| io::Error::other(format!("{}: {e}", model.display())))?;
    let header = blob.header();
    let mut features = Vec::new();
    if header.activation == mdn_core::Activation::Tanh {
        features.push("tanh");
    }
    for (storage, feature) in [
        (mdn_core::Storage::F16, "f16"),
        (mdn_core::Storage::Int8, "int8"),
        (mdn_core::Storage::Int8Int16, "int16"),
    ] {
        if header.storage.contains(&storage) {
            features.push(feature);
        }
    }
    Ok(features.join(","))
}

/// Runs a firmware ELF on `machine` under `-icount` [`ICOUNT_SHIFT`] and returns its log.
///
/// # Errors
///
/// As [`run`], or an exit status other than 0 (with the log).
///
/// # Examples
///
/// ```no_run
/// use std::path::Path;
/// use mdn_tests::qemu::{self, CORTEX_M4F};
///
/// let elf = Path::new("firmware-example/target/thumbv7em-none-eabihf/release/libm_cost");
/// assert!(qemu::run_counted(&CORTEX_M4F, elf)?.contains("libm_cost: expf"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn run_counted(machine: &Machine, elf: &Path) -> io::Result<String> {
    let run = self::run(machine, elf, &["-icount", ICOUNT_SHIFT])?;
    if run.code != Some(0) {
        return Err(io::Error::other(format!(
            "{} on {}: exit status {:?}\n{}",
            elf.display(),
            machine.name,
            run.code,
            run.log
        )));
    }
    Ok(run.log)
}

/// The number that follows `prefix` in `log`.
fn number_after(log: &str, prefix: &str) -> Option<u64> {
    let start = log.find(prefix)? + prefix.len();
    let digits: String = log[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}
