//! `mdn baselines`: the MDN against point predictors with a constant sigma, on a test file.
//! [`compare`] and [`ScoreTable`] serve `mdn demo` too.

use std::{fmt, path::PathBuf, time::Instant};

use anyhow::Result;
use mdn_train::{
    Error,
    baselines::{self, Predictor, Score},
    data::Dataset,
    eval,
    train::{self, Deployed, Deployment, Finishing, TrainConfig},
};
use serde::Serialize;

use crate::{
    cli::BaselinesArgs,
    load,
    progress::{deploy_with_progress, model_of},
    report::emit,
};

/// What `mdn baselines` prints.
#[derive(Debug, Serialize)]
struct BaselinesReport {
    train: PathBuf,
    test: PathBuf,
    /// Test rows.
    n: usize,
    units: &'static str,
    models: Vec<Score>,
}

/// Runs `mdn baselines`.
pub fn run(args: BaselinesArgs) -> Result<()> {
    let config = TrainConfig::from(&args.options);
    config.validate()?;
    let train_data = load::training(
        &args.train,
        &args.csv,
        &args.target,
        args.features.as_deref(),
    )?;
    let test_data = load::like(&args.test, &args.csv, &train_data)?;
    let deployment = args
        .device
        .deployment(&super::train::template(&train_data, &config))?;
    let finishing = args.device.finishing().map_err(anyhow::Error::msg)?;
    let (scores, _) = compare(&train_data, &test_data, &config, &deployment, &finishing)?;
    let report = BaselinesReport {
        train: args.train,
        test: args.test,
        n: test_data.len(),
        units: "nats per test row, original target units",
        models: scores,
    };
    emit(args.output, &report)
}

/// Trains the baselines and the MDN `deployment` asks for on `train_data` and scores them
/// on `test_data`; returns the scores (the written MDN's last, after the teacher's
/// ensemble when a student was distilled from it) and the MDN.
pub fn compare(
    train_data: &Dataset,
    test_data: &Dataset,
    config: &TrainConfig,
    deployment: &Deployment,
    finishing: &Finishing,
) -> Result<(Vec<Score>, Deployed)> {
    let mut scores = vec![
        baselines::null(train_data, test_data),
        baselines::linear(train_data, test_data, config.scale_x),
    ];
    let mlp_started = Instant::now();
    scores.push(baselines::mlp(train_data, test_data, config)?);
    eprintln!(
        "trained the MLP baseline in {:.1} s",
        mlp_started.elapsed().as_secs_f64()
    );
    let mut deployed = deploy_with_progress(train_data, config, deployment)?;
    if let Some(div) = deployed.teacher.diverged {
        return Err(Error::Diverged {
            epoch: div.epoch,
            loss: div.loss,
            saved: "no model was written".into(),
        }
        .into());
    }
    train::finish(&mut deployed, train_data, finishing)?;
    let teacher = &deployed.teacher;
    let ks: Vec<String> = teacher
        .candidates
        .iter()
        .filter(|c| c.weight > 0.0)
        .map(|c| c.components.to_string())
        .collect();
    let ensemble = format!(
        "MDN (K = {}, {} nets)",
        ks.join("+"),
        teacher.ensemble.networks.len()
    );
    let score = |kind: Predictor, name: String, model: &mdn_core::HostModel| -> Result<Score> {
        let evaluation = eval::evaluate(model, test_data)?;
        Ok(Score {
            kind,
            name,
            nll: evaluation.nll,
            rmse: evaluation.rmse,
        })
    };
    let teacher_model = model_of(&teacher.blob)?;
    match &deployed.student {
        Some(student) => {
            scores.push(score(Predictor::MdnEnsemble, ensemble, &teacher_model)?);
            let model = model_of(&student.blob)?;
            let name = format!("MDN student (K = {}, 1 net)", model.header().components);
            scores.push(score(Predictor::Mdn, name, &model)?);
        }
        None => scores.push(score(Predictor::Mdn, ensemble, &teacher_model)?),
    }
    Ok((scores, deployed))
}

/// The scores as a table: model, test NLL, test RMSE.
pub struct ScoreTable<'a>(pub &'a [Score]);

impl fmt::Display for ScoreTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<28} {:>10} {:>10}", "model", "test NLL", "test RMSE")?;
        for score in self.0 {
            writeln!(
                f,
                "{:<28} {:>10.4} {:>10.4}",
                score.name, score.nll, score.rmse
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for BaselinesReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} test rows of {}; NLL in nats per row, original units (lower is better)",
            self.n,
            self.test.display()
        )?;
        ScoreTable(&self.models).fmt(f)
    }
}
