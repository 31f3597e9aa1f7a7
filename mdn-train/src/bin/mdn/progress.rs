//! Training with a progress bar on stderr, shared by `train`, `baselines` and `demo`.

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use mdn_train::{
    Error,
    data::Dataset,
    excerpt,
    train::{self, Deployed, Deployment, EpochMetrics, TrainConfig},
};

use crate::report::warn;

/// A per-epoch progress bar on stderr (hidden when stderr is not a terminal).
fn progress(epochs: usize, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(epochs as u64);
    if let Ok(style) =
        ProgressStyle::with_template("{prefix} {elapsed:>4} [{bar:25}] epoch {pos}/{len} {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_prefix(label.to_owned());
    bar
}

/// Updates `bar` after an epoch: position, train and validation NLL.
fn show(bar: &ProgressBar, best: &mut f64, m: &EpochMetrics) {
    bar.set_position(m.epoch as u64);
    let msg = match m.val_nll {
        Some(v) => {
            *best = best.min(v);
            format!("train {:.4} val {:.4} (best {best:.4})", m.train_nll, v)
        }
        None => format!("train {:.4}", m.train_nll),
    };
    bar.set_message(msg);
}

/// Trains the teacher and the network to write ([`train::deploy`]) with a progress bar
/// for each, then warns of constant features.
pub fn deploy_with_progress(
    data: &Dataset,
    config: &TrainConfig,
    deployment: &Deployment,
) -> Result<Deployed> {
    let teacher_bar = progress(config.epochs, "teacher");
    let student_bar = progress(config.epochs, "student");
    let (mut teacher_best, mut student_best) = (f64::INFINITY, f64::INFINITY);
    let deployed = train::deploy(
        data,
        config,
        deployment,
        &mut |m| show(&teacher_bar, &mut teacher_best, m),
        &mut |m| {
            teacher_bar.finish_and_clear();
            show(&student_bar, &mut student_best, m);
        },
    );
    teacher_bar.finish_and_clear();
    student_bar.finish_and_clear();
    let deployed = deployed?;
    for name in &deployed.teacher.constant_features {
        warn(&format!(
            "feature {} is constant on the training rows: scale 1, it carries no information",
            excerpt::quoted(name)
        ));
    }
    Ok(deployed)
}

/// A blob as mdn-core's evaluator, as `mdn eval` and a device read it.
pub fn model_of(blob: &[u8]) -> Result<mdn_core::HostModel<'_>> {
    mdn_core::HostModel::from_bytes(blob).map_err(|source| {
        Error::Core {
            context: "validating the trained model".into(),
            source,
        }
        .into()
    })
}
