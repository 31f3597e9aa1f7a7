//! One module per command: each reads its arguments, does the work through mdn-train and
//! prints its report ([`crate::report`]).

mod baselines;
mod calibrate;
mod demo;
mod eval;
mod export;
mod inspect;
mod keygen;
mod plot;
mod predict;
mod quantize;
mod sign;
mod synth;
mod train;
mod upgrade;
mod verify;

use anyhow::Result;

use crate::cli::{Command, DataCommand};

/// Runs `command`.
pub fn run(command: Command) -> Result<()> {
    match command {
        Command::Train(args) => train::run(args),
        Command::Eval(args) => eval::run(args),
        Command::Predict(args) => predict::run(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Export(args) => export::run(args),
        Command::Quantize(args) => quantize::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Upgrade(args) => upgrade::run(args),
        Command::Keygen(args) => keygen::run(args),
        Command::Sign(args) => sign::run(args),
        Command::Verify(args) => verify::run(args),
        Command::Baselines(args) => baselines::run(args),
        Command::Plot(args) => plot::run(args),
        Command::Data {
            command: DataCommand::Synth(args),
        } => synth::run(args),
        Command::Demo(args) => demo::run(args),
    }
}
