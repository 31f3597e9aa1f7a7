//! The kernel hook: `Model::set_kernel` routes every dense layer's pairs of blocks through
//! the supplied kernel, and mdn-core's portable kernel honours its stated contract on
//! inputs of unequal lengths.

mod common;

use std::sync::Mutex;

use mdn_core::{
    Activation, HostModel, ROW_BLOCK, SigmaTransform, TargetTransform,
    kernel::{Column, dot_blocks},
};

/// A column whose row `r` holds `scale * (r + 1)`.
fn column(scale: f32) -> Column {
    core::array::from_fn(|r| (scale * (r + 1) as f32).to_bits().to_le())
}

#[test]
fn only_the_inputs_every_slice_has_count() {
    let first: Vec<Column> = (1..=5).map(|i| column(i as f32)).collect();
    let second: Vec<Column> = (1..=5).map(|i| column(-(i as f32))).collect();
    let input = [1.0, 0.5, 0.25, 0.125, 0.0625];
    // sum_{i < n} scale_i (r + 1) x_i, for the first `n` inputs.
    let expected = |n: usize, sign: f32| -> [f32; ROW_BLOCK] {
        let total: f32 = (0..n).map(|i| (i + 1) as f32 * input[i]).sum();
        core::array::from_fn(|r| sign * total * (r + 1) as f32)
    };
    // Each slice in turn the shortest, by one and by several columns; and none at all.
    for (a, b, x) in [
        (5, 5, 5),
        (3, 5, 5),
        (5, 2, 5),
        (5, 5, 3),
        (4, 5, 1),
        (5, 3, 4),
    ] {
        let n = a.min(b).min(x);
        let sums = dot_blocks([&first[..a], &second[..b]], &input[..x]);
        assert_eq!(sums, [expected(n, 1.0), expected(n, -1.0)], "{a} {b} {x}");
    }
    assert_eq!(dot_blocks([&[], &second], &input), [[0.0; ROW_BLOCK]; 2]);
    // The sums start at +0.0: products of -0.0 leave +0.0, not -0.0.
    let negative_zero = [[(-0.0_f32).to_bits().to_le(); ROW_BLOCK]; 3];
    let [a, _] = dot_blocks([&negative_zero, &negative_zero], &[1.0, 2.0, 3.0]);
    assert!(a.iter().all(|v| v.to_bits() == 0), "{a:?}");
}

/// The calls the recording kernel saw: (columns of each block, inputs).
static CALLS: Mutex<Vec<(usize, usize, usize)>> = Mutex::new(Vec::new());

/// Records its call, then computes what mdn-core's kernel computes.
fn recording(blocks: [&[Column]; 2], input: &[f32]) -> [[f32; ROW_BLOCK]; 2] {
    let mut calls = CALLS.lock().unwrap_or_else(|e| e.into_inner());
    calls.push((blocks[0].len(), blocks[1].len(), input.len()));
    dot_blocks(blocks, input)
}

#[test]
fn a_supplied_kernel_computes_every_pair_of_blocks_of_every_layer() {
    // 3 inputs; hidden layers of 9 rows (2 blocks: one pair) and 17 rows (3 blocks: a
    // pair, then the last block with itself); heads 2 + 2 + 2 = 6 rows (1 block, with
    // itself). On a host, mdn-core's four-block kernel must not take any of them.
    let header = common::header(
        3,
        &[9, 17],
        Activation::Relu,
        SigmaTransform::Softplus,
        1e-3,
        2,
        1,
        TargetTransform::Identity,
    );
    let parameters = common::parameters(&header, &mut common::Rng(11), 0.8, (-1.0, 1.0));
    let bytes = common::blob(&header, &parameters);
    let model = HostModel::from_bytes(&bytes).unwrap();
    let mut supplied = model.clone();
    supplied.set_kernel(recording);
    let (x, y) = ([0.5, -1.0, 2.0], [0.25]);
    let log_p = supplied.log_prob(&x, &y).unwrap();
    let calls = std::mem::take(&mut *CALLS.lock().unwrap());
    assert_eq!(
        calls,
        [(3, 3, 3), (9, 9, 9), (9, 9, 9), (17, 17, 17)],
        "one call per pair of blocks, each with the layer's fan-in"
    );
    assert_eq!(log_p.to_bits(), model.log_prob(&x, &y).unwrap().to_bits());

    // Every sum zero: each layer gives its biases, whatever x.
    let mut zero = model.clone();
    zero.set_kernel(|_, _| [[0.0; ROW_BLOCK]; 2]);
    let at = |x: [f32; 3]| zero.log_prob(&x, &y).unwrap();
    assert_ne!(at(x), log_p);
    assert_eq!(at(x), at([-3.0, 0.0, 7.0]));
}
