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
}

impl Machine {
    /// `cargo build --release --target <this machine's target>` in the firmware crate at
    /// `firmware`, with the firmware's own target directory (where [`Machine::release_elf`]
    /// looks) and linker arguments: an inherited `CARGO_TARGET_DIR`, `RUSTFLAGS` or
    /// `CARGO_ENCODED_RUSTFLAGS` is dropped. Add `--bin` and environment as needed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::path::Path;
    /// use mdn_tests::qemu::CORTEX_M4F;
    ///
    /// let build = CORTEX_M4F.release_build(Path::new("firmware-example"));
    /// let args: Vec<_> = build.get_args().collect();
    /// assert_eq!(args, ["build", "--release", "--target", "thumbv7em-none-eabihf"]);
    /// ```
    pub fn release_build(&self, firmware: &Path) -> Command {
        let mut build = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
        build
            .current_dir(firmware)
            .args(["build", "--release", "--target", self.target])
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS");
        build
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
        firmware
            .join("target")
            .join(self.target)
            .join("release")
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
};

/// ARMv6-M code (as for a Cortex-M0/M0+: no FPU, every `f32` operation a compiler-builtins
/// routine) on `mps2-an385`, a Cortex-M3 with `mps2-an386`'s memory map. QEMU's only
/// Cortex-M0 board, `microbit`, has 16 KB of RAM and 256 KB of flash, too little for the
/// parity vectors; the instructions executed are the ones a Cortex-M0 would execute.
pub const ARMV6M: Machine = Machine {
    name: "ARMv6-M (soft float)",
    target: "thumbv6m-none-eabi",
    machine: "mps2-an385",
    cpu: "cortex-m3",
    timeout_seconds: 600,
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
