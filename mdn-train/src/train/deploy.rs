//! The whole of `mdn train`: the teacher, then the one network that goes to the device.

use crate::{
    aligned::AlignedBytes,
    budget::Budget,
    data::Dataset,
    device_cost,
    error::{Error, Result},
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
