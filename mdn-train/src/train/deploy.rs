//! The whole of `mdn train`: the teacher, then the one network that goes to the device,
//! then its weight storage and calibration ([`finish`]).

use crate::{
    aligned::AlignedBytes,
    budget::Budget,
    compact::{self, WeightPlan},
    data::Dataset,
    device_cost,
    error::{Error, Result},
    integer,
    recalibration::{self, CalibrationFit},
    train::{DistillConfig, Distilled, EpochMetrics, TrainConfig, Trained, distill, train},
};

/// What to write.
///
/// # Examples
///
/// ```
/// use mdn_train::{budget::Budget, device_cost::Core, train::{Deployment, DistillConfig}};
/// let budget = Budget { core: Core::CortexM4F, max_instructions: None, max_blob_bytes: None };
/// let deployment = Deployment::Device { budget, student: DistillConfig::default() };
/// assert!(matches!(deployment, Deployment::Device { .. }));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Deployment {
    /// The teacher itself: every network of the ensemble (`--ensemble`).
    Ensemble,
    /// One network within `budget`: the teacher as it is when it is one network within
    /// the budget, else a student distilled from it with `student`'s shape and settings.
    Device {
        /// The budget the written network meets.
        budget: Budget,
        /// The student's shape (chosen within the budget) and settings.
        student: DistillConfig,
    },
}

/// Which model [`deploy`] chose to write.
///
/// # Examples
///
/// ```
/// assert_eq!(mdn_train::train::Written::Student.to_string(), "student");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Written {
    /// The teacher's ensemble (`--ensemble`).
    Ensemble,
    /// The teacher, already one network within the budget.
    Teacher,
    /// A student distilled from the teacher.
    Student,
}

impl std::fmt::Display for Written {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Written::Ensemble => "ensemble",
            Written::Teacher => "teacher",
            Written::Student => "student",
        })
    }
}

/// The outcome of [`deploy`].
#[derive(Debug)]
pub struct Deployed {
    /// The teacher (the model of `--ensemble`).
    pub teacher: Trained,
    /// The student, when one was distilled.
    pub student: Option<Distilled>,
    /// Which model is written.
    pub written: Written,
}

impl Deployed {
    /// The blob to write.
    ///
    /// # Examples
    ///
    /// See [`deploy`].
    pub fn blob(&self) -> &AlignedBytes {
        match &self.student {
            Some(student) => &student.blob,
            None => &self.teacher.blob,
        }
    }

    /// The written model's epochs (what `<out>.metrics.csv` holds).
    ///
    /// # Examples
    ///
    /// See [`deploy`].
    pub fn metrics(&self) -> &[EpochMetrics] {
        match &self.student {
            Some(student) => &student.metrics,
            None => &self.teacher.metrics,
        }
    }

    /// The written model's validation NLL: the student's on its validation rows, or the
    /// teacher's.
    ///
    /// # Examples
    ///
    /// See [`deploy`].
    pub fn val_nll(&self) -> Option<f64> {
        match &self.student {
            Some(student) => Some(student.val_nll),
            None => self.teacher.best_val_nll,
        }
    }
}

/// Trains the teacher on `data` with `config`, then, for [`Deployment::Device`], writes
/// it as it is if it is one network within the budget, else distils a student from it.
/// A teacher whose every network diverged is returned as it is (the caller reports it).
///
/// # Errors
///
/// As [`train`] and [`distill()`].
///
/// # Examples
///
/// ```no_run
/// use mdn_train::{budget::Budget, device_cost::Core, train::*};
/// let data = mdn_train::synth::generate(mdn_train::synth::Kind::Hetero, 200, 1);
/// let config = TrainConfig { epochs: 5, ..Default::default() };
/// let budget = Budget { core: Core::CortexM4F, max_instructions: None, max_blob_bytes: None };
/// let deployment = Deployment::Device { budget, student: DistillConfig::default() };
/// let deployed = deploy(&data, &config, &deployment, &mut |_| {}, &mut |_| {}).unwrap();
/// assert_eq!(deployed.written, Written::Student);
/// assert!(deployed.blob().len() < deployed.teacher.blob.len());
/// ```
pub fn deploy(
    data: &Dataset,
    config: &TrainConfig,
    deployment: &Deployment,
    on_teacher_epoch: &mut dyn FnMut(&EpochMetrics),
    on_student_epoch: &mut dyn FnMut(&EpochMetrics),
) -> Result<Deployed> {
    let teacher = train(data, config, on_teacher_epoch)?;
    let Deployment::Device { budget, student } = deployment else {
        return Ok(Deployed {
            teacher,
            student: None,
            written: Written::Ensemble,
        });
    };
    if teacher.diverged.is_some() || fits_as_it_is(&teacher, budget)? {
        return Ok(Deployed {
            teacher,
            student: None,
            written: Written::Teacher,
        });
    }
    let student = distill(data, &teacher, config, student, on_student_epoch)?;
    Ok(Deployed {
        teacher,
        student: Some(student),
        written: Written::Student,
    })
}

/// Whether the teacher is one network within `budget`.
fn fits_as_it_is(teacher: &Trained, budget: &Budget) -> Result<bool> {
    if teacher.ensemble.networks.len() != 1 {
        return Ok(false);
    }
    let blob = mdn_core::Blob::from_bytes(&teacher.blob).map_err(|source| Error::Core {
        context: "validating the teacher".into(),
        source,
    })?;
    let cost = device_cost::predict(blob.header(), budget.core).map_err(|source| Error::Core {
        context: "predicting the teacher's device cost".into(),
        source,
    })?;
    Ok(budget.fits(&cost))
}

/// How [`finish`] prepares the written blob for the device: the weight storage, and
/// whether to fit the calibration.
///
/// # Examples
///
/// ```
/// let finishing = mdn_train::train::Finishing::default();
/// assert_eq!(finishing.weights, mdn_train::compact::WeightPlan::F32);
/// assert!(finishing.calibrate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finishing {
    /// How each dense layer stores its weights.
    pub weights: WeightPlan,
    /// Fit the calibration on the rows held out from every network, when there are any
    /// and it helps ([`CalibrationChoice`]).
    pub calibrate: bool,
}

impl Default for Finishing {
    fn default() -> Self {
        Finishing {
            weights: WeightPlan::F32,
            calibrate: true,
        }
    }
}

/// What [`finish`] decided about the calibration.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum CalibrationChoice {
    /// Not asked for (`--no-calibrate`).
    Off,
    /// No row was held out from every network (the default cross-fitted teacher learned
    /// from every row; `--val-fraction` holds rows out): fitting on rows the model learned
    /// from would make it over-confident.
    NoHeldOutRows,
    /// Fitted and written: clearly better on the held-out rows (a mean gain per row above
    /// two standard errors: [`CalibrationFit::is_clear`]).
    Applied {
        /// The fit.
        #[serde(flatten)]
        fit: CalibrationSummary,
    },
    /// Fitted, not written: the gain was within two standard errors.
    NotHelpful {
        /// The fit.
        #[serde(flatten)]
        fit: CalibrationSummary,
    },
}

/// A [`CalibrationFit`] as reports show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CalibrationSummary {
    /// The factor on every sigma, per target.
    pub sigma_scale: Vec<f32>,
    /// The divisor of the mixing logits.
    pub temperature: f32,
    /// NLL of the held-out rows before and after, nats a row.
    pub nll_before: f64,
    /// See `nll_before`.
    pub nll_after: f64,
    /// The standard error of the mean gain per row.
    pub gain_standard_error: f64,
    /// Rows fitted on.
    pub rows: usize,
    /// The fewest rows on which the temperature is tried
    /// ([`CalibrationFit::temperature_rows`]).
    pub temperature_rows: usize,
}

impl From<&CalibrationFit> for CalibrationSummary {
    fn from(fit: &CalibrationFit) -> Self {
        CalibrationSummary {
            sigma_scale: fit.calibration.sigma_scale.clone(),
            temperature: fit.calibration.temperature,
            nll_before: fit.nll_before,
            nll_after: fit.nll_after,
            gain_standard_error: fit.gain_standard_error,
            rows: fit.rows,
            temperature_rows: fit.temperature_rows,
        }
    }
}

/// Converts the written blob of `deployed` to `finishing.weights` (an integer network's
/// activation steps fitted on every row of `data`) and, when asked, fits
/// its calibration on the rows of `data` that no network learned from
/// ([`Trained::rows_held_out`]), keeping it when it is clearly better on them
/// ([`CalibrationFit::is_clear`]). The blob is replaced in place; the teacher's own blob is
/// kept when a student is written.
///
/// # Errors
///
/// [`Error::Core`] if the conversion fails (a weight beyond binary16's range for `f16`).
///
/// # Examples
///
/// ```no_run
/// use mdn_train::{compact::WeightPlan, train::*};
/// let data = mdn_train::synth::generate(mdn_train::synth::Kind::Hetero, 300, 1);
/// let config = TrainConfig { epochs: 5, val_fraction: Some(0.2), ..Default::default() };
/// let mut deployed = deploy(&data, &config, &Deployment::Ensemble, &mut |_| {}, &mut |_| {}).unwrap();
/// let finishing = Finishing { weights: "int8".parse().unwrap(), calibrate: true };
/// let choice = finish(&mut deployed, &data, &finishing).unwrap();
/// assert!(!matches!(choice, CalibrationChoice::NoHeldOutRows));
/// ```
pub fn finish(
    deployed: &mut Deployed,
    data: &Dataset,
    finishing: &Finishing,
) -> Result<CalibrationChoice> {
    let mut written = match finishing.weights.is_integer() {
        true => {
            let rows: Vec<Vec<f32>> = (0..data.len()).map(|i| data.row_x(i).to_vec()).collect();
            integer::to_integer(deployed.blob(), &rows, finishing.weights.head)?
        }
        false => compact::apply(deployed.blob(), &finishing.weights)?,
    };
    let held_out = &deployed.teacher.rows_held_out;
    let choice = if !finishing.calibrate {
        CalibrationChoice::Off
    } else if held_out.is_empty() {
        CalibrationChoice::NoHeldOutRows
    } else {
        let rows = data.subset(held_out);
        let fit = recalibration::fit(&written, &rows.x, &rows.y)?;
        if fit.is_clear() {
            written = fit.calibration.apply(&written)?;
            CalibrationChoice::Applied { fit: (&fit).into() }
        } else {
            CalibrationChoice::NotHelpful { fit: (&fit).into() }
        }
    };
    match &mut deployed.student {
        Some(student) => student.blob = written,
        None => deployed.teacher.blob = written,
    }
    Ok(choice)
}
