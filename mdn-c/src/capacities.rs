//! The capacities the library evaluates models with, fixed when it is built:
//! `MDN_CAPACITIES=I,W,K,D`, or mdn-core's `HostModel` capacities on a host and
//! firmware-example's `minimal` ones (1, 32, 5, 1) on bare metal (see `build.rs`). The header
//! of the build states them as `MDN_MAX_INPUTS` and so on.

include!(concat!(env!("OUT_DIR"), "/capacities.rs"));

/// The evaluator behind every `mdn_model`.
pub(crate) type CModel<'a> =
    mdn_core::Model<'a, MAX_INPUTS, MAX_WIDTH, MAX_COMPONENTS, MAX_OUTPUTS>;
