//! A device budget for the model `mdn train` writes, and the student shape that fits it.
//!
//! The budget limits the worst-case instructions per `log p(y|x)` on one core and the
//! blob's bytes, as [`crate::device_cost::predict`] predicts them. By default it is the
//! cost of the default student (hidden 32, 32 with K = 5) for the data's inputs, outputs
//! and names: for one input that is `firmware-example`'s `minimal`, `Model<1, 32, 5, 1>`.
//! Within a budget the student is the largest shape of the search (two equal hidden
//! layers of at most 32, K at most 5, so that a firmware sized like `minimal` runs it)
//! that fits; a shape given on the command line is taken as it is, and must fit.

use mdn_core::{Header, TargetTransform};
use serde::Serialize;

use crate::{
    device_cost::{self, Core, DeviceCost},
    error::{Error, Result},
    model::{self, Architecture},
};

/// The default student's hidden widths.
pub const DEFAULT_HIDDEN: [usize; 2] = [32, 32];
/// The default student's mixture components.
pub const DEFAULT_COMPONENTS: usize = 5;
/// Hidden widths the search tries, largest first (two equal layers each).
const SEARCH_WIDTHS: [usize; 8] = [32, 28, 24, 20, 16, 12, 8, 4];
/// Mixture components the search tries, largest first.
const SEARCH_COMPONENTS: [usize; 5] = [5, 4, 3, 2, 1];

/// A student's shape: hidden widths and mixture components.
///
/// # Examples
///
/// ```
/// let shape = mdn_train::budget::StudentShape::default();
/// assert_eq!(shape.to_string(), "hidden 32,32, K = 5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StudentShape {
    /// Hidden layer widths, input side first.
    pub hidden: Vec<usize>,
    /// Mixture components `K`.
    pub components: usize,
}

impl Default for StudentShape {
    fn default() -> Self {
        StudentShape {
            hidden: DEFAULT_HIDDEN.to_vec(),
            components: DEFAULT_COMPONENTS,
        }
    }
}

impl std::fmt::Display for StudentShape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hidden: Vec<String> = self.hidden.iter().map(usize::to_string).collect();
        let hidden = if hidden.is_empty() {
            "none".to_owned()
        } else {
            hidden.join(",")
        };
        write!(f, "hidden {hidden}, K = {}", self.components)
    }
}

/// What every model of one data set shares, whatever its shape: inputs, outputs,
/// transforms and names, from which the header of any shape follows.
///
/// # Examples
///
/// ```
/// use mdn_train::budget::{ModelTemplate, StudentShape};
/// use mdn_train::model::Architecture;
/// let template = ModelTemplate::new(
///     &Architecture::new(1, 1, 1, vec![]),
///     mdn_core::TargetTransform::Identity,
///     &["x".into()],
///     &["y".into()],
/// );
/// let cost = template.cost(&StudentShape::default(), mdn_train::device_cost::Core::CortexM4F)?;
/// assert!(cost.blob_bytes > 6_000 && cost.instructions > 5_000);
/// # Ok::<(), mdn_train::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ModelTemplate {
    arch: Architecture,
    transform: TargetTransform,
    feature_names: String,
    target_names: String,
}

impl ModelTemplate {
    /// The template of models with `arch`'s inputs, outputs and transforms (its hidden
    /// widths and components are replaced by each shape's).
    ///
    /// # Examples
    ///
    /// See [`ModelTemplate`].
    pub fn new(
        arch: &Architecture,
        transform: TargetTransform,
        feature_names: &[String],
        target_names: &[String],
    ) -> Self {
        ModelTemplate {
            arch: arch.clone(),
            transform,
            feature_names: model::join_names(feature_names),
            target_names: model::join_names(target_names),
        }
    }

    /// The predicted worst-case cost of one network of `shape` on `core`.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidOption`] for a shape the format cannot hold.
    ///
    /// # Examples
    ///
    /// See [`ModelTemplate`].
    pub fn cost(&self, shape: &StudentShape, core: Core) -> Result<DeviceCost> {
        let header = self.header(shape)?;
        device_cost::predict(&header, core).map_err(|source| Error::Core {
            context: format!("predicting the device cost of a student with {shape}"),
            source,
        })
    }

    fn header(&self, shape: &StudentShape) -> Result<Header<'_>> {
        let arch = Architecture {
            hidden: shape.hidden.clone(),
            components: shape.components,
            ..self.arch.clone()
        };
        model::header(
            &arch,
            self.transform,
            &self.feature_names,
            &self.target_names,
        )
    }
}

/// Limits on the written model's cost on one core.
///
/// # Examples
///
/// ```
/// use mdn_train::{budget::Budget, device_cost::{Core, DeviceCost}};
/// let budget = Budget { core: Core::CortexM4F, max_instructions: Some(6_000), max_blob_bytes: None };
/// let cost = DeviceCost { instructions: 5_900, instructions_portable: None, blob_bytes: 9_000, ram_bytes: 2_000 };
/// assert!(budget.fits(&cost));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Budget {
    /// The core the instructions are counted on.
    #[serde(serialize_with = "serialize_core")]
    pub core: Core,
    /// Instructions per `log p(y|x)`, worst case over inputs (`None`: no limit).
    pub max_instructions: Option<u64>,
    /// Blob bytes (`None`: no limit).
    pub max_blob_bytes: Option<usize>,
}

fn serialize_core<S: serde::Serializer>(core: &Core, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(core.name())
}

impl Budget {
    /// The default budget on `core`: the cost of the default student for `template`.
    ///
    /// # Errors
    ///
    /// As [`ModelTemplate::cost`].
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::budget::{Budget, ModelTemplate, StudentShape};
    /// # use mdn_train::{device_cost::Core, model::Architecture};
    /// # let template = ModelTemplate::new(&Architecture::new(1, 1, 1, vec![]),
    /// #     mdn_core::TargetTransform::Identity, &["x".into()], &["y".into()]);
    /// let budget = Budget::default_for(&template, Core::CortexM4F)?;
    /// assert!(budget.fits(&template.cost(&StudentShape::default(), Core::CortexM4F)?));
    /// # Ok::<(), mdn_train::Error>(())
    /// ```
    pub fn default_for(template: &ModelTemplate, core: Core) -> Result<Self> {
        let cost = template.cost(&StudentShape::default(), core)?;
        Ok(Budget {
            core,
            max_instructions: Some(cost.instructions),
            max_blob_bytes: Some(cost.blob_bytes),
        })
    }

    /// Whether `cost` is within every limit.
    ///
    /// # Examples
    ///
    /// See [`Budget`].
    pub fn fits(&self, cost: &DeviceCost) -> bool {
        self.max_instructions
            .is_none_or(|max| cost.instructions <= max)
            && self.max_blob_bytes.is_none_or(|max| cost.blob_bytes <= max)
    }

    /// The student within this budget: `fixed` (hidden widths and/or components given by
    /// the user) completed by the largest fitting shape of the search, by parameters.
    ///
    /// # Errors
    ///
    /// [`Error::NothingFits`] when no shape of the search fits (or a fixed shape does
    /// not), naming the smallest shape's cost.
    ///
    /// # Examples
    ///
    /// ```
    /// # use mdn_train::budget::{Budget, ModelTemplate, StudentShape};
    /// # use mdn_train::{device_cost::Core, model::Architecture};
    /// # let template = ModelTemplate::new(&Architecture::new(1, 1, 1, vec![]),
    /// #     mdn_core::TargetTransform::Identity, &["x".into()], &["y".into()]);
    /// let budget = Budget::default_for(&template, Core::CortexM4F)?;
    /// assert_eq!(budget.student(&template, None, None)?, StudentShape::default());
    /// let small = Budget { max_instructions: Some(3_000), ..budget };
    /// let shape = small.student(&template, None, None)?;
    /// assert!(shape.hidden[0] < 32 || shape.components < 5);
    /// let none = Budget { max_instructions: Some(10), ..budget };
    /// assert!(none.student(&template, None, None).is_err());
    /// # Ok::<(), mdn_train::Error>(())
    /// ```
    pub fn student(
        &self,
        template: &ModelTemplate,
        hidden: Option<&[usize]>,
        components: Option<usize>,
    ) -> Result<StudentShape> {
        let widths: Vec<Vec<usize>> = match hidden {
            Some(hidden) => vec![hidden.to_vec()],
            None => SEARCH_WIDTHS.iter().map(|&w| vec![w, w]).collect(),
        };
        let ks: Vec<usize> = match components {
            Some(k) => vec![k],
            None => SEARCH_COMPONENTS.to_vec(),
        };
        let mut best: Option<(usize, StudentShape)> = None;
        let mut cheapest: Option<(DeviceCost, StudentShape)> = None;
        for hidden in &widths {
            for &components in &ks {
                let shape = StudentShape {
                    hidden: hidden.clone(),
                    components,
                };
                let cost = template.cost(&shape, self.core)?;
                let header = template.header(&shape)?;
                let parameters = mdn_core::Layout::new(&header).map_or(0, |l| l.parameter_count());
                if self.fits(&cost) {
                    if best.as_ref().is_none_or(|(p, _)| parameters > *p) {
                        best = Some((parameters, shape));
                    }
                } else if cheapest
                    .as_ref()
                    .is_none_or(|(c, _)| cost.instructions < c.instructions)
                {
                    cheapest = Some((cost, shape));
                }
            }
        }
        match (best, cheapest) {
            (Some((_, shape)), _) => Ok(shape),
            (None, cheapest) => Err(Error::NothingFits {
                budget: self.describe(),
                smallest: cheapest.map_or_else(String::new, |(cost, shape)| {
                    format!(
                        "the smallest student tried ({shape}) needs {} instructions and {} bytes",
                        cost.instructions, cost.blob_bytes
                    )
                }),
            }),
        }
    }

    /// The budget in words, for messages.
    fn describe(&self) -> String {
        let instructions = self
            .max_instructions
            .map_or("any number of".to_owned(), |n| format!("at most {n}"));
        let bytes = self
            .max_blob_bytes
            .map_or("any size".to_owned(), |n| format!("at most {n} bytes"));
        format!(
            "{instructions} instructions per log p(y|x) on a {} and a blob of {bytes}",
            self.core.name()
        )
    }
}
