//! The network's arithmetic against the definitions it implements: the dense layers' kernels
//! against the plain loop, the placements against the layout.

use super::{
    Ensemble,
    batch::LANES,
    dense::{Dense, Kernel},
};
use crate::{
    Layout, TensorName,
    header::Activation,
    kernel::{dot_blocks, host_dot_blocks},
};

/// A value in `[-4, 4)` with a full random mantissa, from a 64-bit LCG state.
fn draw(state: &mut u64) -> f32 {
    *state = state
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((*state >> 40) as f32 / (1_u32 << 24) as f32) * 8.0 - 4.0
}

/// The plain loop of FORMAT.md section 5 over a row-major `w`: `acc = 0.0; acc = acc +
/// w[r][c] * x[c]` from `c = 0`, then the bias, then the activation.
fn plain(w: &[f32], b: f32, x: &[f32], activation: Option<Activation>) -> f32 {
    let mut acc = 0.0_f32;
    for (w, x) in w.iter().zip(x) {
        acc += w * x;
    }
    let z = acc + b;
    match activation {
        None => z,
        Some(Activation::Relu) => {
            if z > 0.0 {
                z
            } else {
                0.0
            }
        }
        Some(Activation::Tanh) => libm::tanhf(z),
    }
}

/// `Dense::forward` and `Dense::forward_lanes` give the plain loop's bits for every
/// number of rows from 1 to 72 (one to nine blocks: a host's four-block step none to
/// twice, followed by none to three blocks; whole and partial) and every fan-in from 1
/// to 17 (odd and even column counts), write nothing past the layer's rows into a
/// longer output buffer, and fill a shorter one with the rows that fit. The portable
/// kernel (`dot_blocks`, a Cortex-M's default) gives the host kernel's sums, and the
/// layer run through it as a supplied kernel gives the same outputs
/// (`tests/kernel.rs` checks that a supplied kernel takes every pair of blocks).
#[test]
fn kernels_give_the_plain_loop_bits() {
    const MAX_ROWS: usize = 72;
    const MAX_IN: usize = 17;
    let mut state = 7_u64;
    for rows in 1..=MAX_ROWS {
        for fan_in in 1..=MAX_IN {
            let mut w = [0.0_f32; MAX_ROWS * MAX_IN];
            let mut b = [0.0_f32; MAX_ROWS];
            let mut x = [[0.0_f32; LANES]; MAX_IN];
            w.iter_mut().for_each(|v| *v = draw(&mut state));
            b.iter_mut().for_each(|v| *v = draw(&mut state));
            x.iter_mut().flatten().for_each(|v| *v = draw(&mut state));
            // FORMAT.md section 3.1, written out here: blocks of 8 rows, column by
            // column, zero rows to fill the last block.
            let mut words = [0_u32; MAX_ROWS.div_ceil(8) * 8 * MAX_IN];
            for r in 0..rows {
                for c in 0..fan_in {
                    words[(r / 8) * 8 * fan_in + c * 8 + r % 8] = w[r * fan_in + c].to_bits();
                }
            }
            let bias = b.map(f32::to_bits);
            let dense = Dense {
                weights: &words[..rows.div_ceil(8) * 8 * fan_in],
                scales: &[],
                bias: &bias[..rows],
                storage: crate::Storage::F32,
                fan_in,
                kernel: Kernel::default(),
            };
            // The same layer with a supplied kernel: every pair of blocks through it.
            let supplied = Dense {
                kernel: Kernel {
                    dot_blocks,
                    supplied: true,
                    ..Kernel::default()
                },
                ..dense
            };
            let row = |r: usize| &w[r * fan_in..(r + 1) * fan_in];
            let blocks = || {
                dense
                    .weights
                    .chunks(8 * fan_in)
                    .map(|block| block.as_chunks::<8>().0)
            };
            let first_lane = x.map(|x| x[0]);
            for (a, b) in blocks().zip(blocks().skip(1).chain(blocks().take(1))) {
                let bits = |sums: [[f32; 8]; 2]| sums.map(|s| s.map(f32::to_bits));
                assert_eq!(
                    bits(dot_blocks([a, b], &first_lane[..fan_in])),
                    bits(host_dot_blocks([a, b], &first_lane[..fan_in])),
                    "{rows}x{fan_in}"
                );
            }
            for activation in [None, Some(Activation::Relu), Some(Activation::Tanh)] {
                let lane = |l: usize| -> [f32; MAX_IN] { x.map(|x| x[l]) };
                let mut out = [f32::MAX; MAX_ROWS + 9];
                dense.forward(&lane(0)[..fan_in], &mut out, activation);
                let mut through_supplied = [f32::MAX; MAX_ROWS + 9];
                supplied.forward(&lane(0)[..fan_in], &mut through_supplied, activation);
                assert_eq!(
                    out.map(f32::to_bits),
                    through_supplied.map(f32::to_bits),
                    "{rows}x{fan_in}"
                );
                for r in 0..rows {
                    let expected = plain(row(r), b[r], &lane(0)[..fan_in], activation);
                    assert_eq!(
                        out[r].to_bits(),
                        expected.to_bits(),
                        "{rows}x{fan_in} row {r}"
                    );
                }
                assert!(
                    out[rows..].iter().all(|&v| v == f32::MAX),
                    "{rows}x{fan_in}"
                );
                let mut short = [f32::MAX; MAX_ROWS];
                dense.forward(&lane(0)[..fan_in], &mut short[..rows / 2], activation);
                let same_as_out = |v: &[f32]| {
                    v.iter()
                        .map(|v| v.to_bits())
                        .eq(out[..rows / 2].iter().map(|v| v.to_bits()))
                };
                assert!(same_as_out(&short[..rows / 2]), "{rows}x{fan_in}");
                assert!(short[rows / 2..].iter().all(|&v| v == f32::MAX));

                let mut lanes = [[f32::MAX; LANES]; MAX_ROWS + 9];
                dense.forward_lanes(&x[..fan_in], &mut lanes, activation);
                for (r, found) in lanes.iter().enumerate().take(rows) {
                    for (l, found) in found.iter().enumerate() {
                        let expected = plain(row(r), b[r], &lane(l)[..fan_in], activation);
                        assert_eq!(
                            found.to_bits(),
                            expected.to_bits(),
                            "{rows}x{fan_in} {r} {l}"
                        );
                    }
                }
                let tail = lanes[rows..].iter().flatten();
                assert!(tail.clone().all(|&v| v == f32::MAX), "{rows}x{fan_in}");
            }
        }
    }
}

/// Every network's placements, shifted by its index times `network_len`, put each
/// parameter where `Layout::stored_position` stores it, for every storage type: the
/// evaluator's arithmetic and the one definition of the order agree, value by value.
#[test]
fn placements_are_the_layout_offsets() {
    use crate::Storage::{F16, F32, Int8};
    let mut header = crate::doc_example_header();
    let shapes = [
        (&[3_u32][..], 1, 2, &[F32, F32][..]),
        (&[9, 2][..], 3, 3, &[Int8, F16, Int8][..]),
        (&[][..], 2, 5, &[F16][..]),
        (&[5][..], 2, 1, &[Int8, Int8][..]),
        (&[17][..], 1, 2, &[F16, Int8][..]),
    ];
    for (hidden, networks, k, storage) in shapes {
        header.hidden = crate::HiddenWidths::from_slice(hidden).unwrap();
        header.storage = crate::LayerStorage::from_slice(storage).unwrap();
        header.networks = networks;
        header.components = k;
        header.output_dim = 2;
        header.target_names = crate::Names::new("a\nb");
        let layout = Layout::new(&header).unwrap();
        let words = [0_u32; 1024];
        let parameters = &words[..layout.stored_count()];
        let ensemble = Ensemble::new(&header, parameters).unwrap();
        // Scalers, network weights, calibration (D + 1).
        let shared = 2 * (1 + 2) + networks as usize + 3;
        assert_eq!(
            shared + ensemble.network_len * networks as usize,
            layout.stored_count()
        );
        let mut seen = [false; 4096];
        let mut value_bytes = 0;
        for tensor in layout.tensors() {
            for e in 0..tensor.len() {
                let at = layout.stored_position(tensor.offset + e).unwrap();
                assert_eq!(at.storage, tensor.storage, "{tensor}");
                let bytes = at.storage.bytes();
                value_bytes += bytes;
                for byte in &mut seen[at.byte..at.byte + bytes] {
                    assert!(!*byte, "{tensor}[{e}] overlaps another value");
                    *byte = true;
                }
                let Some(m) = tensor.network else {
                    assert_eq!(at.byte, (tensor.offset + e) * 4, "{tensor}");
                    continue;
                };
                let placement = match tensor.name {
                    TensorName::HiddenWeight(i)
                    | TensorName::HiddenWeightScale(i)
                    | TensorName::HiddenBias(i) => ensemble.hidden[i],
                    _ => ensemble.head,
                };
                assert_eq!(
                    placement.storage(),
                    storage[tensor.name_layer(hidden.len())]
                );
                // The tensor's first row within its layer (the heads share one).
                let k = k as usize;
                let first_row = match tensor.name {
                    TensorName::MeansWeight
                    | TensorName::MeansWeightScale
                    | TensorName::MeansBias => k,
                    TensorName::SigmasWeight
                    | TensorName::SigmasWeightScale
                    | TensorName::SigmasBias => k + k * 2,
                    _ => 0,
                };
                let within = match tensor.name {
                    TensorName::HiddenBias(_)
                    | TensorName::LogitsBias
                    | TensorName::MeansBias
                    | TensorName::SigmasBias => (placement.bias + first_row + e) * 4,
                    TensorName::HiddenWeightScale(_)
                    | TensorName::LogitsWeightScale
                    | TensorName::MeansWeightScale
                    | TensorName::SigmasWeightScale => {
                        let rows = placement.end - placement.bias;
                        (placement.bias - rows + first_row + e) * 4
                    }
                    _ => {
                        let (row, col) = (first_row + e / tensor.cols, e % tensor.cols);
                        let n = placement.fan_in;
                        let weight = (row / 8) * 8 * n + col * 8 + row % 8;
                        placement.start * 4 + weight * bytes
                    }
                };
                assert_eq!(
                    at.byte,
                    (shared + m * ensemble.network_len) * 4 + within,
                    "{tensor}[{e}]"
                );
            }
        }
        // What no value was stored at is padding: whole rows of each layer's last block.
        let padding = seen[..layout.stored_count() * 4]
            .iter()
            .filter(|s| !**s)
            .count();
        assert_eq!(padding, layout.stored_count() * 4 - value_bytes);
    }
}

impl crate::TensorInfo {
    /// The dense layer a network tensor belongs to: hidden layer `i`, or `hidden` for the
    /// heads.
    fn name_layer(&self, hidden: usize) -> usize {
        match self.name {
            TensorName::HiddenWeight(i)
            | TensorName::HiddenWeightScale(i)
            | TensorName::HiddenBias(i) => i,
            _ => hidden,
        }
    }
}
