//! Tells the crate whether it is compiled for ARMv6-M (`cfg(armv6m)`), where its software
//! floating point assembles: `rustc --print cfg` has no stable key that tells ARMv6-M from
//! the other bare-metal Arm targets.

fn main() {
    println!("cargo::rerun-if-env-changed=TARGET");
    println!("cargo::rustc-check-cfg=cfg(armv6m)");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target.starts_with("thumbv6m-") {
        println!("cargo::rustc-cfg=armv6m");
    }
}
