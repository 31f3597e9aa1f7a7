//! The batched path gives every row exactly the bits of the single-row path.
//!
//! `Model::log_prob_batch` shares the hidden layers across blocks of rows; the claim is
//! that each row's arithmetic, and so each bit, is that of `Model::log_prob`. Checked on
//! random models of every activation, sigma transform and target transform, with row
//! counts that are and are not multiples of the block size.

mod common;

use common::{Rng, blob, header, parameters};
use mdn_core::{Activation, Error, HostModel, Model, SigmaTransform, TargetTransform};

fn same_bits(a: f32, b: f32) -> bool {
    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
}

#[test]
fn batch_rows_equal_single_rows_bit_for_bit() {
    let mut rng = Rng(7);
    // (hidden, inputs, components, outputs, networks)
    let shapes: [(&[u32], u32, u32, u32, u32); 6] = [
        (&[32, 32], 1, 5, 1, 1),
        (&[16, 8, 4], 3, 3, 2, 1),
        (&[], 2, 2, 1, 1),
        (&[7], 5, 1, 3, 1),
        (&[24, 24, 24], 4, 4, 1, 1),
        (&[8, 8], 2, 2, 2, 3),
    ];
    let variants = [
        (
            Activation::Relu,
            SigmaTransform::Nnelu,
            TargetTransform::Identity,
        ),
        (
            Activation::Tanh,
            SigmaTransform::Softplus,
            TargetTransform::Identity,
        ),
        (Activation::Relu, SigmaTransform::Exp, TargetTransform::Log),
    ];
    let mut checked = 0;
    for &(hidden, inputs, components, outputs, networks) in &shapes {
        for &(activation, sigma, target) in &variants {
            let h = mdn_core::Header {
                networks,
                ..header(
                    inputs, hidden, activation, sigma, 1e-3, components, outputs, target,
                )
            };
            let bytes = blob(&h, &parameters(&h, &mut rng, 1.0, (-2.0, 1.0)));
            let model = HostModel::from_bytes(&bytes).unwrap();
            for rows in [1_usize, 7, 8, 9, 15, 16, 17, 23, 40] {
                let xs: Vec<f32> = (0..rows * inputs as usize)
                    .map(|_| rng.uniform(-4.0, 4.0) as f32)
                    .collect();
                let ys: Vec<f32> = (0..rows * outputs as usize)
                    .map(|_| match target {
                        TargetTransform::Log => rng.uniform(0.01, 5.0) as f32,
                        TargetTransform::Identity => rng.uniform(-5.0, 5.0) as f32,
                    })
                    .collect();
                let mut out = vec![0.0; rows];
                model.log_prob_batch(&xs, &ys, &mut out).unwrap();
                let xr = xs.chunks_exact(inputs as usize);
                let yr = ys.chunks_exact(outputs as usize);
                for (r, ((x, y), &batched)) in xr.zip(yr).zip(&out).enumerate() {
                    let single = model.log_prob(x, y).unwrap();
                    assert!(
                        same_bits(batched, single),
                        "{hidden:?} {activation} {sigma} {target} row {r}/{rows}: \
                         batch {batched:e} ({:#x}), single {single:e} ({:#x})",
                        batched.to_bits(),
                        single.to_bits()
                    );
                    checked += 1;
                }
            }
        }
    }
    assert_eq!(checked, 6 * 3 * (1 + 7 + 8 + 9 + 15 + 16 + 17 + 23 + 40));
}

#[test]
fn rows_outside_the_support_or_overflowing_keep_their_bits() {
    // A log target at or below zero has density zero (`-inf`), in its own row only; inputs
    // as large as `f32::MAX` overflow the layers to infinities and NaNs, which each row's
    // log-sum-exp must treat as the single-row one does.
    let mut rng = Rng(13);
    for (activation, sigma) in [
        (Activation::Relu, SigmaTransform::Exp),
        (Activation::Tanh, SigmaTransform::Nnelu),
    ] {
        let h = mdn_core::Header {
            networks: 2,
            ..header(
                2,
                &[8, 8],
                activation,
                sigma,
                1e-3,
                3,
                2,
                TargetTransform::Log,
            )
        };
        let bytes = blob(&h, &parameters(&h, &mut rng, 1.0, (-2.0, 1.0)));
        let model = HostModel::from_bytes(&bytes).unwrap();
        let rows = 37;
        let xs: Vec<f32> = (0..rows * 2)
            .map(|i| match i % 7 {
                0 => f32::MAX,
                3 => -1e30,
                _ => rng.uniform(-4.0, 4.0) as f32,
            })
            .collect();
        let ys: Vec<f32> = (0..rows * 2)
            .map(|i| match i % 11 {
                0 => 0.0,
                5 => -1.5,
                _ => rng.uniform(0.01, 5.0) as f32,
            })
            .collect();
        let mut out = vec![0.0; rows];
        model.log_prob_batch(&xs, &ys, &mut out).unwrap();
        let rows = xs.chunks_exact(2).zip(ys.chunks_exact(2)).zip(&out);
        for (r, ((x, y), &batched)) in rows.enumerate() {
            let single = model.log_prob(x, y).unwrap();
            assert!(
                same_bits(batched, single),
                "{activation} {sigma} row {r}: batch {batched:e}, single {single:e}"
            );
        }
        assert!(out.contains(&f32::NEG_INFINITY));
    }
}

#[test]
fn tight_capacities_give_the_same_bits_as_host_capacities() {
    let mut rng = Rng(11);
    let h = header(
        1,
        &[32, 32],
        Activation::Relu,
        SigmaTransform::Nnelu,
        1e-3,
        5,
        1,
        TargetTransform::Identity,
    );
    let bytes = blob(&h, &parameters(&h, &mut rng, 1.0, (-2.0, 1.0)));
    let host = HostModel::from_bytes(&bytes).unwrap();
    let tight = Model::<1, 32, 5, 1>::from_bytes(&bytes).unwrap();
    let xs: Vec<f32> = (0..100).map(|i| i as f32 / 10.0 - 5.0).collect();
    let ys: Vec<f32> = (0..100).map(|i| (i % 13) as f32 - 6.0).collect();
    let (mut a, mut b) = (vec![0.0; 100], vec![0.0; 100]);
    host.log_prob_batch(&xs, &ys, &mut a).unwrap();
    tight.log_prob_batch(&xs, &ys, &mut b).unwrap();
    assert!(a.iter().zip(&b).all(|(a, b)| same_bits(*a, *b)));
}

#[test]
fn batch_errors_are_checked_before_computing() {
    let bytes = common::tiny_blob();
    let model = HostModel::from_bytes(&bytes).unwrap();
    let mut out = [7.0_f32; 2];
    assert_eq!(
        model.log_prob_batch(&[0.0], &[0.0, 0.0], &mut out),
        Err(Error::InputLength {
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        model.log_prob_batch(&[0.0, 1.0], &[0.0], &mut out),
        Err(Error::TargetLength {
            expected: 2,
            found: 1
        })
    );
    assert_eq!(
        model.log_prob_batch(&[0.0, f32::NAN], &[0.0, 0.0], &mut out),
        Err(Error::NonFiniteInput)
    );
    assert_eq!(
        model.log_prob_batch(&[0.0, 1.0], &[f32::INFINITY, 0.0], &mut out),
        Err(Error::NonFiniteTarget)
    );
    assert_eq!(out, [7.0; 2], "nothing is written on error");
    assert_eq!(model.log_prob_batch(&[], &[], &mut []), Ok(()));
}
