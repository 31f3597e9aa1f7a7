//! The kernel hook: `Model::set_kernel` really routes the dense layers through the
//! supplied kernel, and mdn-core's portable kernel honours its stated contract on inputs
//! of unequal lengths.

use mdn_core::{
    HostModel, ROW_BLOCK,
    kernel::{Column, dot_blocks},
};

/// A column whose row `r` holds `scale * (r + 1)`.
fn column(scale: f32) -> Column {
    core::array::from_fn(|r| (scale * (r + 1) as f32).to_bits().to_le())
}

#[test]
fn only_the_inputs_every_slice_has_count() {
    let first: Vec<Column> = (1..=5).map(|i| column(i as f32)).collect();
    let second: Vec<Column> = (1..=3).map(|i| column(-(i as f32))).collect();
    let input = [1.0, 0.5, 0.25, 0.125];
    let [a, b] = dot_blocks([&first, &second], &input);
    // Three inputs count (the shortest, `second`): sum_i scale_i (r + 1) x_i.
    let weight = |sign: f32| sign * (1.0 * 1.0 + 2.0 * 0.5 + 3.0 * 0.25);
    for r in 0..ROW_BLOCK {
        assert_eq!(a[r], weight(1.0) * (r + 1) as f32, "row {r}");
        assert_eq!(b[r], weight(-1.0) * (r + 1) as f32, "row {r}");
    }
    assert_eq!(
        dot_blocks([&first[..3], &second], &input[..3]),
        [a, b],
        "the same as truncated slices"
    );
    assert_eq!(dot_blocks([&[], &second], &input), [[0.0; ROW_BLOCK]; 2]);
}

#[test]
fn a_supplied_kernel_computes_every_dense_layer() {
    let bytes = mdn_core::doc_example_blob();
    let model = HostModel::from_bytes(&bytes[..]).unwrap();
    let mut portable = model.clone();
    portable.set_kernel(dot_blocks);
    // Every sum zero: each layer gives its biases, which changes the density.
    let mut zero = model.clone();
    zero.set_kernel(|_, _| [[0.0; ROW_BLOCK]; 2]);
    for x in [-2.0, -0.5, 0.0, 0.75, 3.0] {
        for y in [-1.0, 0.0, 0.5, 2.0] {
            let exact = model.log_prob(&[x], &[y]).unwrap();
            assert_eq!(
                portable.log_prob(&[x], &[y]).unwrap().to_bits(),
                exact.to_bits()
            );
            assert_ne!(
                zero.log_prob(&[x], &[y]).unwrap(),
                exact,
                "x = {x}, y = {y}"
            );
        }
    }
    // With zero sums the network ignores x: the same density for every input.
    let at = |x: f32| zero.log_prob(&[x], &[0.5]).unwrap();
    assert_eq!(at(-2.0), at(3.0));
}
