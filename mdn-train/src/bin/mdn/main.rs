//! `mdn`: train, evaluate, inspect and export Mixture Density Networks.
//!
//! Results go to stdout (one JSON object with `--json`); progress, warnings and errors go
//! to stderr. Exit codes: 0 success, 1 user or data error, 2 usage error (clap).
//!
//! | module | job |
//! |---|---|
//! | `cli` | the arguments, every default written once |
//! | `commands` | one module per command: the work and its report |
//! | `report` | printing a report as JSON or text |
//! | `load` | reading data files, with the note on rows `--missing drop` left out |
//! | `progress` | training with a progress bar |

mod cli;
mod commands;
mod load;
mod progress;
mod report;

use std::process::ExitCode;

use clap::Parser;
use cli::Cli;
use mdn_train::Error;

/// Keeps freed memory in the process instead of returning it to the kernel.
///
/// Training allocates and frees the same tensor sizes thousands of times per second. With
/// glibc's defaults, blocks of 128 KiB and more come from `mmap` and go back with `munmap`,
/// and a free top of the heap above 128 KiB is trimmed, so every step faults fresh zeroed
/// pages in again, and wide networks spend much of an epoch in the kernel. BENCHMARKS.md
/// ("Training", "Speed") has the measured effect.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    // 1 GiB: larger than any tensor these networks make, so nothing is mapped per call.
    const THRESHOLD: libc::c_int = 1 << 30;
    // SAFETY: mallopt only changes allocator parameters; it is called before any thread
    // exists, and a refused setting (return value 0) just keeps glibc's default.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
        libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() -> ExitCode {
    keep_freed_memory();
    let cli = Cli::parse();
    // candle reads its thread count from this variable on every matrix product.
    // SAFETY: nothing else runs yet: no thread has been spawned and none reads the
    // environment concurrently.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", cli.threads.max(1).to_string()) };
    match commands::run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // mdn-train's errors already carry their cause; others show their chain.
            match e.downcast_ref::<Error>() {
                Some(err) => eprintln!("error: {err}"),
                None => eprintln!("error: {e:#}"),
            }
            ExitCode::from(1)
        }
    }
}
