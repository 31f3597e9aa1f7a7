//! Tells the crate whether it is compiled for ARMv6-M (`cfg(armv6m)`), where its software
//! floating point assembles, or for ARMv7E-M (`cfg(armv7em)`: Cortex-M4 and M7, whose DSP
//! extension its integer kernel needs): `rustc --print cfg` has no stable key that tells
//! these apart from the other bare-metal Arm targets.

fn main() {
    println!("cargo::rerun-if-env-changed=TARGET");
    println!("cargo::rustc-check-cfg=cfg(armv6m)");
    println!("cargo::rustc-check-cfg=cfg(armv7em)");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv6m-") {
        println!("cargo::rustc-cfg=armv6m");
    }
    if target.starts_with("thumbv7em-") {
        println!("cargo::rustc-cfg=armv7em");
    }
}
