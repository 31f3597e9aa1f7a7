//! `ln p(y|x)` on the host: mdn-core against candle on the same weights.
//!
//! ```text
//! cargo bench -p mdn-benches --bench log_prob
//! ```
//!
//! For each model of `mdn_benches::CASES`:
//!
//! * `single_<model>`: one sample. `mdn-core` is `Model::log_prob` with the model's tightest
//!   capacities, `mdn-core-host` the same through `HostModel`, `candle` the forward pass and
//!   mixture log-likelihood of `mdn_benches::CandleLogProb` on a one-row batch.
//! * `batch1024_<model>`: 1024 rows. `mdn-core` is `Model::log_prob_batch`, `candle` one
//!   batched forward pass and log-likelihood.
//! * `ceiling/mul_add_sums`, `ceiling/expf`, `ceiling/logf`: the host's rates for the work
//!   a query cannot avoid (`mdn_benches::ceiling`), the floor the one-sample figures are
//!   set against.
//!
//! Tensors, inputs and output buffers are built before the timed region. candle runs on
//! one thread: this program sets `RAYON_NUM_THREADS=1` (which candle reads on every
//! matrix product) before anything else runs. Criterion writes its estimates to
//! `target/criterion/<group>/<function>/new/estimates.json`; `figures` reads them.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use mdn_benches::{BATCH_ROWS, CASES, CandleLogProb, Case, ceiling, rows};
use mdn_core::{HostModel, Model};

/// Benchmarks one model with capacities `I, W, K, D`.
fn bench_case<const I: usize, const W: usize, const K: usize, const D: usize>(
    c: &mut Criterion,
    case: &Case,
) {
    assert_eq!(case.capacities, [I, W, K, D], "{}", case.label);
    let blob = case.blob();
    let model = Model::<I, W, K, D>::from_bytes(blob.bytes()).expect("valid benchmark model");
    let host = HostModel::from_bytes(blob.bytes()).expect("valid benchmark model");
    let (f, d) = (case.spec.inputs as usize, case.spec.outputs as usize);

    let (x, y) = rows(f, d, 1, 1);
    let candle = CandleLogProb::new(blob.bytes(), &x, &y).expect("candle model");
    let mut group = c.benchmark_group(format!("single_{}", case.spec.name));
    group.throughput(Throughput::Elements(1));
    group.bench_function("mdn-core", |b| {
        b.iter(|| model.log_prob(black_box(&x), black_box(&y)))
    });
    group.bench_function("mdn-core-host", |b| {
        b.iter(|| host.log_prob(black_box(&x), black_box(&y)))
    });
    group.bench_function("candle", |b| b.iter(|| candle.run().expect("candle")));
    group.finish();

    let (xs, ys) = rows(f, d, BATCH_ROWS, 2);
    let candle = CandleLogProb::new(blob.bytes(), &xs, &ys).expect("candle model");
    let mut out = vec![0.0_f32; BATCH_ROWS];
    let mut group = c.benchmark_group(format!("batch{BATCH_ROWS}_{}", case.spec.name));
    group.throughput(Throughput::Elements(BATCH_ROWS as u64));
    group.bench_function("mdn-core", |b| {
        b.iter(|| model.log_prob_batch(black_box(&xs), black_box(&ys), &mut out))
    });
    group.bench_function("candle", |b| b.iter(|| candle.run().expect("candle")));
    group.finish();
}

/// `ceiling/mul_add_sums`, `ceiling/expf`, `ceiling/logf`: the host's rates for the work a
/// query cannot avoid ([`mdn_benches::ceiling`]).
fn bench_ceiling(c: &mut Criterion) {
    let weights = ceiling::weights();
    let xs: Vec<f32> = (0..ceiling::COLUMNS)
        .map(|c| 1.0 - c as f32 * 1e-3)
        .collect();
    let mut group = c.benchmark_group("ceiling");
    group.throughput(Throughput::Elements(ceiling::MULTIPLY_ADDS as u64));
    group.bench_function("mul_add_sums", |b| {
        b.iter(|| ceiling::mul_add_sums(black_box(&weights), black_box(&xs)))
    });
    group.throughput(Throughput::Elements(ceiling::EXP_INPUTS.len() as u64));
    group.bench_function("expf", |b| {
        b.iter(|| black_box(ceiling::EXP_INPUTS).map(libm::expf))
    });
    group.throughput(Throughput::Elements(ceiling::LN_INPUTS.len() as u64));
    group.bench_function("logf", |b| {
        b.iter(|| black_box(ceiling::LN_INPUTS).map(libm::logf))
    });
    group.finish();
}

fn main() {
    // SAFETY: the first statement of `main`, before any other thread exists.
    unsafe { std::env::set_var("RAYON_NUM_THREADS", "1") };
    let mut c = Criterion::default().configure_from_args();
    bench_case::<1, 32, 5, 1>(&mut c, &CASES[0]);
    bench_case::<13, 64, 5, 1>(&mut c, &CASES[1]);
    bench_ceiling(&mut c);
    c.final_summary();
}
