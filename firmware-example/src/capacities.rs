//! The capacities `minimal` and `cost` evaluate their embedded model with, chosen at build
//! time: `MDN_CAPACITIES=I,W,K,D` (default `1,32,5,1`, see `build.rs`), parsed here by a
//! `const fn`, so a firmware for a larger model is a build parameter, not an edit.
//!
//! ```text
//! MDN_MODEL=models/wide_13x64x64_k5.mdn MDN_CAPACITIES=13,64,5,1 cargo build --release
//! ```

/// `I,W,K,D` as four numbers; a malformed string fails compilation (build.rs has already
/// rejected it with a message).
const fn parse(text: &str) -> [usize; 4] {
    let bytes = text.as_bytes();
    let mut values = [0_usize; 4];
    let mut field = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b',' {
            field += 1;
            assert!(field < 4, "MDN_CAPACITIES has more than four fields");
        } else {
            assert!(b.is_ascii_digit(), "MDN_CAPACITIES holds a non-digit");
            values[field] = values[field] * 10 + (b - b'0') as usize;
        }
        i += 1;
    }
    assert!(field == 3, "MDN_CAPACITIES needs four fields");
    values
}

const CAPACITIES: [usize; 4] = parse(env!("MDN_CAPACITIES"));

/// Capacity for input features (`I`).
pub const INPUTS: usize = CAPACITIES[0];
/// Capacity for the widest hidden layer (`W`).
pub const WIDTH: usize = CAPACITIES[1];
/// Capacity for mixture components (`K`).
pub const COMPONENTS: usize = CAPACITIES[2];
/// Capacity for output dimensions (`D`).
pub const OUTPUTS: usize = CAPACITIES[3];

/// The evaluator of `minimal` and `cost`: `Model<INPUTS, WIDTH, COMPONENTS, OUTPUTS>`.
pub type AppModel<'a> = mdn_core::Model<'a, INPUTS, WIDTH, COMPONENTS, OUTPUTS>;
