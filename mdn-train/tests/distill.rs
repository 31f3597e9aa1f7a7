//! Distillation and the deployable default of `mdn train`, through the library: a student
//! learns its teacher's density; `--ensemble` is the teacher byte for byte; a teacher
//! that is one network within the budget is written as it is; the budget picks the shape.

use mdn_core::HostModel;
use mdn_train::{
    budget::{Budget, ModelTemplate, StudentShape},
    data::Dataset,
    device_cost::Core,
    model::Architecture,
    synth::{self, Kind},
    train::{self, Deployment, DistillConfig, TrainConfig, Written},
};

fn data() -> Dataset {
    synth::generate(Kind::Hetero, 300, 5)
}

/// A small teacher: one network, K = 3, on a random split.
fn teacher_config() -> TrainConfig {
    TrainConfig {
        components: vec![3],
        noise: vec![0.0],
        hidden: vec![16],
        val_fraction: Some(0.2),
        epochs: 150,
        patience: 40,
        ..TrainConfig::default()
    }
}

/// A small student of another shape than the teacher (so it cannot start from it).
fn student_config() -> DistillConfig {
    DistillConfig {
        hidden: vec![8],
        components: 3,
        students: 1,
        min_points_per_epoch: 256,
        patience: 40,
        drop_patience: 10,
        ..DistillConfig::default()
    }
}

/// Mean `|ln p_a(y|x) - ln p_b(y|x)|` over inputs across the data and, at each, the
/// teacher `a`'s 5 % to 95 % quantiles: where the teacher puts its mass.
fn log_density_gap(a: &[u8], b: &[u8]) -> f64 {
    let (a, b) = (
        HostModel::from_bytes(a).unwrap(),
        HostModel::from_bytes(b).unwrap(),
    );
    let mut sum = 0.0;
    let mut n = 0;
    for i in 0..=20 {
        let x = [0.05 + 0.9 * i as f32 / 20.0];
        for p in [0.05, 0.25, 0.5, 0.75, 0.95] {
            let y = a.quantile(&x, p).unwrap();
            let (la, lb) = (a.log_prob(&x, &[y]).unwrap(), b.log_prob(&x, &[y]).unwrap());
            sum += f64::from((la - lb).abs());
            n += 1;
        }
    }
    sum / f64::from(n)
}

#[test]
fn a_student_learns_its_teachers_density() {
    let data = data();
    let config = teacher_config();
    let teacher = train::train(&data, &config, |_| {}).unwrap();
    let student = train::distill(&data, &teacher, &config, &student_config(), &mut |_| {}).unwrap();
    // One epoch: a student that has barely started, the yardstick.
    let barely = train::distill(
        &data,
        &teacher,
        &TrainConfig {
            epochs: 1,
            ..config.clone()
        },
        &student_config(),
        &mut |_| {},
    )
    .unwrap();
    let trained = log_density_gap(&teacher.blob, &student.blob);
    let untrained = log_density_gap(&teacher.blob, &barely.blob);
    assert!(
        trained < 0.15 && trained < 0.5 * untrained,
        "student {trained}, after one epoch {untrained}"
    );
    // It stopped early on the rows the teacher held out, and reports both there.
    assert!(student.held_out && !student.kept_warm_start);
    assert_eq!(student.val_rows, teacher.rows_held_out.len());
    assert!((student.val_nll - student.teacher_nll).abs() < 0.2);
    let blob = mdn_core::Blob::from_bytes(&student.blob).unwrap();
    assert_eq!((blob.header().networks, blob.header().components), (1, 3));
}

#[test]
fn a_student_never_writes_worse_than_the_teacher_network_it_started_from() {
    let data = data();
    let config = TrainConfig {
        components: vec![3],
        noise: vec![0.0],
        hidden: vec![16],
        folds: 3,
        epochs: 60,
        ..TrainConfig::default()
    };
    let teacher = train::train(&data, &config, |_| {}).unwrap();
    // Each network's held-out rows are its fold: together every row, once.
    let mut rows: Vec<usize> = teacher.network_held_out.concat();
    rows.sort_unstable();
    assert_eq!(
        teacher.network_held_out.len(),
        teacher.ensemble.networks.len()
    );
    assert_eq!(rows, (0..data.len()).collect::<Vec<_>>());

    // A student of the teacher's shape starts from its heaviest network; a learning rate
    // that wrecks it in three epochs leaves that network the better model on its fold.
    let wrecking = DistillConfig {
        hidden: vec![16],
        lr: 0.5,
        ..student_config()
    };
    let short = TrainConfig {
        epochs: 3,
        ..config.clone()
    };
    let student = train::distill(&data, &teacher, &short, &wrecking, &mut |_| {}).unwrap();
    assert!(student.kept_warm_start);
    assert!(
        teacher
            .ensemble
            .networks
            .iter()
            .any(|n| n.as_bytes() == student.blob.as_bytes())
    );
}

#[test]
fn deployments_write_the_ensemble_the_teacher_or_a_student() {
    let data = data();
    let folds = TrainConfig {
        components: vec![2],
        noise: vec![0.0],
        hidden: vec![8],
        folds: 3,
        epochs: 40,
        ..TrainConfig::default()
    };
    let unlimited = Budget {
        core: Core::CortexM4F,
        max_instructions: None,
        max_blob_bytes: None,
    };
    let device = Deployment::Device {
        budget: unlimited,
        student: DistillConfig {
            students: 1,
            min_points_per_epoch: 128,
            ..student_config()
        },
    };
    let run = |config: &TrainConfig, deployment: &Deployment| {
        train::deploy(&data, config, deployment, &mut |_| {}, &mut |_| {}).unwrap()
    };

    // `--ensemble`: the teacher, byte for byte what `train` writes.
    let ensemble = run(&folds, &Deployment::Ensemble);
    let teacher = train::train(&data, &folds, |_| {}).unwrap();
    assert_eq!(ensemble.written, Written::Ensemble);
    assert_eq!(ensemble.blob().as_bytes(), teacher.blob.as_bytes());
    assert!(teacher.ensemble.networks.len() > 1);

    // The default: the same teacher, then one student network.
    let deployed = run(&folds, &device);
    assert_eq!(deployed.written, Written::Student);
    assert_eq!(deployed.teacher.blob.as_bytes(), teacher.blob.as_bytes());
    let blob = mdn_core::Blob::from_bytes(deployed.blob()).unwrap();
    assert_eq!(blob.header().networks, 1);
    assert_eq!(
        deployed.metrics().len(),
        deployed.student.as_ref().unwrap().metrics.len()
    );

    // A teacher that is one network within the budget is written as it is.
    let one = teacher_config();
    let deployed = run(&TrainConfig { epochs: 20, ..one }, &device);
    assert_eq!(deployed.written, Written::Teacher);
    assert!(deployed.student.is_none());
    assert_eq!(deployed.blob().as_bytes(), deployed.teacher.blob.as_bytes());
}

#[test]
fn the_budget_picks_the_largest_student_that_fits() {
    let template = ModelTemplate::new(
        &Architecture::new(13, 1, 1, vec![]),
        mdn_core::TargetTransform::Identity,
        &(0..13).map(|i| format!("f{i}")).collect::<Vec<_>>(),
        &["y".into()],
    );
    let default = Budget::default_for(&template, Core::CortexM4F).unwrap();
    assert_eq!(
        default.student(&template, None, None).unwrap(),
        StudentShape::default()
    );
    // Tighter budgets: the shape found fits, and is the largest that does.
    for (instructions, bytes) in [(9_000, None), (4_000, None), (u64::MAX, Some(3_000))] {
        let budget = Budget {
            core: Core::CortexM4F,
            max_instructions: Some(instructions),
            max_blob_bytes: bytes,
        };
        let shape = budget.student(&template, None, None).unwrap();
        assert!(budget.fits(&template.cost(&shape, Core::CortexM4F).unwrap()));
        let wider = StudentShape {
            hidden: shape.hidden.iter().map(|w| w + 4).collect(),
            ..shape.clone()
        };
        if shape.hidden[0] < 32 {
            assert!(!budget.fits(&template.cost(&wider, Core::CortexM4F).unwrap()));
        }
    }
    // A fixed shape beyond the budget, or a budget nothing fits: an error that says so.
    let tiny = Budget {
        max_instructions: Some(100),
        ..default
    };
    let err = tiny.student(&template, None, None).unwrap_err().to_string();
    assert!(
        err.contains("no student fits") && err.contains("100"),
        "{err}"
    );
    let err = default
        .student(&template, Some(&[64, 64]), Some(5))
        .unwrap_err();
    assert!(err.to_string().contains("no student fits"));
    // The Cortex-M0 counts software floats: the same shape costs far more.
    let m4 = template
        .cost(&StudentShape::default(), Core::CortexM4F)
        .unwrap();
    let m0 = template
        .cost(&StudentShape::default(), Core::CortexM0)
        .unwrap();
    assert!(m0.instructions > 20 * m4.instructions);
    assert_eq!(m0.blob_bytes, m4.blob_bytes);
}
