//! The smallest useful firmware: boots, logs one line and exits 0.
//!
//! It will embed a model blob and answer one query once mdn-core exists.

#![no_std]
#![no_main]

use cortex_m_rt::entry;
use firmware_example::exit;

#[entry]
fn main() -> ! {
    defmt::info!("minimal: ok");
    exit(0)
}
