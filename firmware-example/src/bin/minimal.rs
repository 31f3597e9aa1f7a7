//! The smallest useful application, and the footprint figure: one embedded model
//! (`MDN_MODEL`, default `models/minimal.mdn`: 1-32-32 ReLU, K = 5, nnelu, D = 1) with
//! capacities `MDN_CAPACITIES` (default `1,32,5,1`), validated once, one query, one defmt
//! line, exit 0.
//!
//! Regenerate the models with `cargo run -p mdn-tests --bin regenerate-golden`.

#![no_std]
#![no_main]

use core::hint::black_box;

use cortex_m_rt::entry;
use firmware_example::{
    capacities::{AppModel, INPUTS, OUTPUTS},
    exit,
};
use mdn_core::Aligned;

/// The model, 4-byte aligned in flash. It is read in place; nothing is copied to RAM.
static MODEL: &Aligned<[u8]> = &Aligned(*include_bytes!(env!("MDN_MODEL")));

#[entry]
fn main() -> ! {
    // black_box: the firmware must work for any blob of these capacities, as if loaded at
    // run time, so the compiler may not specialise on this one.
    let (x, y) = (black_box([0.3_f32; INPUTS]), black_box([-0.7_f32; OUTPUTS]));
    let query = AppModel::from_bytes(black_box(&MODEL.0)).and_then(|mut model| {
        firmware_example::set_kernels(&mut model);
        model.log_prob(&x, &y)
    });
    match query {
        Ok(log_p) => {
            defmt::info!("log p(y|x) = {=f32}", log_p);
            exit(0)
        }
        // The exit status reports it; the parity binary names errors.
        Err(_) => exit(1),
    }
}
