//! Training with a progress bar on stderr, shared by `train`, `baselines` and `demo`.

use anyhow::Result;
use indicatif::{ProgressBar, ProgressStyle};
use mdn_train::{
    Error,
    data::Dataset,
    excerpt,
    train::{self, EpochMetrics, TrainConfig, Trained},
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

/// Trains with a progress bar showing train and validation NLL, then warns of constant
/// features.
pub fn train_with_progress(data: &Dataset, config: &TrainConfig, label: &str) -> Result<Trained> {
    let bar = progress(config.epochs, label);
    let mut best = f64::INFINITY;
    let trained = train::train(data, config, |m: &EpochMetrics| {
        bar.set_position(m.epoch as u64);
        let msg = match m.val_nll {
            Some(v) => {
                best = best.min(v);
                format!("train {:.4} val {:.4} (best {best:.4})", m.train_nll, v)
            }
            None => format!("train {:.4}", m.train_nll),
        };
        bar.set_message(msg);
    });
    bar.finish_and_clear();
    let trained = trained?;
    for name in &trained.constant_features {
        warn(&format!(
            "feature {} is constant on the training rows: scale 1, it carries no information",
            excerpt::quoted(name)
        ));
    }
    Ok(trained)
}

/// The trained blob as mdn-core's evaluator, as `mdn eval` and a device read it.
pub fn trained_model(trained: &Trained) -> Result<mdn_core::HostModel<'_>> {
    mdn_core::HostModel::from_bytes(&trained.blob).map_err(|source| {
        Error::Core {
            context: "validating the trained model".into(),
            source,
        }
        .into()
    })
}
