//! What one `log p(y|x)` does on a device, counted: the quantities the cost model charges.
//!
//! The counts follow mdn-core's evaluation (`mdn-core/src/network`, `mixture.rs`,
//! `math.rs`): input scaling; for each network its dense layers, whose kernel takes two
//! blocks of 8 rows a call (an odd last block paired with itself) and one input column a
//! step, then a bias and the activation for each row; the log-softmax of its logits; each
//! component's mean, sigma and log-density; the log-sum-exp over the whole mixture. Scratch
//! arrays sized by the capacities are zeroed on the way. libm calls are counted by the
//! [`Branch`] their argument takes: known at an input ([`Operations::at`]), any branch in the
//! worst case ([`Operations::worst_case`]).

use mdn_core::{Activation, Blob, Header, ROW_BLOCK, SigmaTransform, Storage, TargetTransform};

use super::{
    BranchCost,
    branch::{Branch, Function},
    trace::Trace,
};

/// A quantity the cost model charges per occurrence; see [`Operations::count`].
///
/// # Examples
///
/// ```
/// use mdn_train::device_cost::Feature;
/// assert_eq!(Feature::Columns.name(), "columns");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feature {
    /// One per query: calls, checks, the final log-sum-exp's fixed part.
    Query,
    /// Input features: a finiteness check and `(x - offset) / scale` each.
    Inputs,
    /// Output dimensions: a finiteness check and the target transform each.
    Outputs,
    /// Networks: each one's loop over its layers, heads and logits.
    Networks,
    /// Networks without a hidden layer, whose heads read the scaled input and write to a
    /// buffer of their own (found dearer than the other features account for).
    LinearNetworks,
    /// Dense layers of every network (the heads count as one).
    Layers,
    /// Kernel calls: one per pair of 8-row blocks of every layer.
    KernelCalls,
    /// Kernel steps: one input column of a pair of blocks, 16 multiply-adds.
    Columns,
    /// Multiply-adds whose product is not zero.
    FullProducts,
    /// Multiply-adds with a zero weight (the rows that fill a block) or a zero input (ReLU).
    ZeroProducts,
    /// Hidden rows with the ReLU activation: bias, a compare and a select, store. (The
    /// heads' rows are counted as components and component dims.)
    ReluRows,
    /// Hidden rows with the tanh activation: bias, a call (whose libm branch is charged
    /// apart), store.
    TanhRows,
    /// Rows of a layer's last block when it is partly filled (a loop, not straight-line).
    TailRows,
    /// Mixture components (`K M`): weight, log-density, log-sum-exp term.
    Components,
    /// Components times outputs: mean, sigma and a Gaussian log-density each.
    ComponentDims,
    /// `f32` scratch words zeroed, sized by the capacities.
    ZeroedWords,
    /// libm calls, whatever their branch: what a call costs beyond the branch's own count.
    LibmCalls,
}

impl Feature {
    /// Every feature.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_train::device_cost::Feature::ALL[0].name(), "query");
    /// ```
    pub const ALL: [Feature; 17] = [
        Feature::Query,
        Feature::Inputs,
        Feature::Outputs,
        Feature::Networks,
        Feature::LinearNetworks,
        Feature::Layers,
        Feature::KernelCalls,
        Feature::Columns,
        Feature::FullProducts,
        Feature::ZeroProducts,
        Feature::ReluRows,
        Feature::TanhRows,
        Feature::TailRows,
        Feature::Components,
        Feature::ComponentDims,
        Feature::ZeroedWords,
        Feature::LibmCalls,
    ];

    /// A short name, for tables and generated code comments.
    ///
    /// # Examples
    ///
    /// See [`Feature`].
    pub const fn name(self) -> &'static str {
        match self {
            Feature::Query => "query",
            Feature::Inputs => "inputs",
            Feature::Outputs => "outputs",
            Feature::Networks => "networks",
            Feature::LinearNetworks => "linear networks",
            Feature::Layers => "layers",
            Feature::KernelCalls => "kernel calls",
            Feature::Columns => "columns",
            Feature::FullProducts => "full products",
            Feature::ZeroProducts => "zero products",
            Feature::ReluRows => "relu rows",
            Feature::TanhRows => "tanh rows",
            Feature::TailRows => "tail rows",
            Feature::Components => "components",
            Feature::ComponentDims => "component dims",
            Feature::ZeroedWords => "zeroed words",
            Feature::LibmCalls => "libm calls",
        }
    }
}

/// libm calls of one query: by branch where the argument is known, by function where it is
/// not (the worst case charges those the function's dearest branch).
///
/// # Examples
///
/// ```
/// use mdn_train::device_cost::{Branch, Calls, Function};
/// let mut calls = Calls::default();
/// calls.add(Function::Expf, Some(0.0));
/// calls.add(Function::Tanhf, None);
/// assert_eq!(calls.known(Branch::ExpfTiny), 1);
/// assert_eq!((calls.unknown(Function::Tanhf), calls.total()), (1, 2));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calls {
    known: [u64; Branch::ALL.len()],
    unknown: [u64; Function::ALL.len()],
}

impl Calls {
    /// Counts a call of `function` with argument `x`, or with an argument not known.
    ///
    /// # Examples
    ///
    /// See [`Calls`].
    pub fn add(&mut self, function: Function, x: Option<f32>) {
        self.add_many(function, x, 1);
    }

    /// Counts `n` calls of `function`, all with argument `x` or all with unknown ones.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::{Calls, Function};
    /// let mut calls = Calls::default();
    /// calls.add_many(Function::Logf, None, 3);
    /// assert_eq!(calls.unknown(Function::Logf), 3);
    /// ```
    pub fn add_many(&mut self, function: Function, x: Option<f32>, n: u64) {
        match x {
            Some(x) => self.known[Branch::of(function, x).index()] += n,
            None => self.unknown[function as usize] += n,
        }
    }

    /// Calls known to take `branch`.
    ///
    /// # Examples
    ///
    /// See [`Calls`].
    pub fn known(&self, branch: Branch) -> u64 {
        self.known[branch.index()]
    }

    /// Calls of `function` whose branch is not known.
    ///
    /// # Examples
    ///
    /// See [`Calls`].
    pub fn unknown(&self, function: Function) -> u64 {
        self.unknown[function as usize]
    }

    /// Every call.
    ///
    /// # Examples
    ///
    /// See [`Calls`].
    pub fn total(&self) -> u64 {
        self.known.iter().chain(&self.unknown).sum()
    }

    /// Instructions of the calls at the costs of `branches` (in [`Branch::ALL`] order): a
    /// call whose branch is known at the branch's mean, or its maximum for a worst case; one
    /// whose branch is not at the maximum of its function's dearest branch.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::{Branch, BranchCost, Calls, Function};
    /// let mut branches = [BranchCost { mean: 10.0, max: 12 }; Branch::ALL.len()];
    /// branches[Branch::TanhLarge.index()] = BranchCost { mean: 100.0, max: 110 };
    /// let mut calls = Calls::default();
    /// calls.add(Function::Tanhf, Some(0.0));
    /// calls.add(Function::Tanhf, None);
    /// assert_eq!(calls.instructions(&branches, false), 10.0 + 110.0);
    /// assert_eq!(calls.instructions(&branches, true), 12.0 + 110.0);
    /// ```
    pub fn instructions(
        &self,
        branches: &[BranchCost; Branch::ALL.len()],
        worst_case: bool,
    ) -> f64 {
        let known: f64 = Branch::ALL
            .iter()
            .map(|b| {
                let cost = branches[b.index()];
                let per_call = if worst_case {
                    f64::from(cost.max)
                } else {
                    cost.mean
                };
                self.known(*b) as f64 * per_call
            })
            .sum();
        let dearest = |function: Function| {
            Branch::ALL
                .iter()
                .filter(|b| b.function() == function)
                .map(|b| f64::from(branches[b.index()].max))
                .fold(0.0, f64::max)
        };
        let unknown: f64 = Function::ALL
            .iter()
            .map(|&f| self.unknown(f) as f64 * dearest(f))
            .sum();
        known + unknown
    }
}

/// The operations of one `log p(y|x)` of a model, evaluated with its tightest capacities.
///
/// # Examples
///
/// ```
/// use mdn_train::device_cost::{Feature, Operations};
/// let header = mdn_core::doc_example_header();
/// let worst = Operations::worst_case(&header);
/// // 1-3 ReLU, K = 2, D = 1: one kernel call for the hidden layer's 3 rows and one for the
/// // heads' 6 (each one block, paired with itself), over 1 and 3 input columns.
/// assert_eq!(worst.count(Feature::KernelCalls), 2);
/// assert_eq!(worst.count(Feature::Columns), 1 + 3);
/// assert_eq!(worst.count(Feature::ReluRows), 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operations {
    counts: [u64; Feature::ALL.len()],
    calls: Calls,
    worst_case: bool,
    /// Multiply-adds in `f16`, in `int8` and in integer (`int8-int16`, `int16-int16`)
    /// layers.
    packed: [u64; 3],
    /// Rows of integer layers, zero rows included (each requantized, or turned into `f32`).
    integer_rows: u64,
}

impl Operations {
    /// The operations whatever the input: every data-dependent branch left open (every
    /// ReLU output non-zero, every libm call's branch unknown), except where the code
    /// fixes it: the rows that fill a block hold zero weights, and each log-sum-exp's
    /// largest term is `expf(0)`, its logarithm `logf(1)` when it has one term.
    ///
    /// # Examples
    ///
    /// See [`Operations`].
    pub fn worst_case(header: &Header<'_>) -> Operations {
        let shape = Shape::of(header);
        let mut calls = Calls::default();
        let (m, kd) = (shape.networks, shape.components * shape.dims);
        if header.activation == Activation::Tanh {
            calls.add_many(Function::Tanhf, None, m * shape.hidden.iter().sum::<u64>());
        }
        for (terms, times) in [(shape.components, m), (m * shape.components, 1)] {
            calls.add_many(Function::Expf, Some(0.0), times);
            calls.add_many(Function::Expf, None, times * (terms - 1));
            let sum = (terms == 1).then_some(1.0);
            calls.add_many(Function::Logf, sum, times);
        }
        calls.add_many(Function::Expf, None, m * kd);
        if header.sigma == SigmaTransform::Softplus {
            calls.add_many(Function::Log1pf, None, m * kd);
        }
        calls.add_many(Function::Logf, None, m * kd);
        if header.target_transform == TargetTransform::Log {
            calls.add_many(Function::Logf, None, shape.dims);
        }
        Operations::new(&shape, shape.padding_products(), calls, true)
    }

    /// The operations of `log p(y|x)` at one input: every branch as the values take it.
    ///
    /// # Errors
    ///
    /// mdn-core's error for an input or target of the wrong length or not finite, or for a
    /// blob beyond [`HostModel`](mdn_core::HostModel)'s capacities.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::{Feature, Operations};
    /// let bytes = mdn_core::doc_example_blob();
    /// let blob = mdn_core::Blob::from_bytes(&bytes[..])?;
    /// let at = Operations::at(&blob, &[0.3], &[-0.7])?;
    /// let worst = Operations::worst_case(blob.header());
    /// // ReLU zeros add zero products; an nnelu sigma above 1 skips its `expf`.
    /// assert!(at.count(Feature::ZeroProducts) >= worst.count(Feature::ZeroProducts));
    /// assert!(at.calls().total() <= worst.calls().total());
    /// # Ok::<(), mdn_core::Error>(())
    /// ```
    pub fn at(blob: &Blob<'_>, x: &[f32], y: &[f32]) -> mdn_core::Result<Operations> {
        let shape = Shape::of(blob.header());
        let trace = Trace::of(blob, x, y)?;
        Ok(Operations::new(
            &shape,
            trace.zero_products,
            trace.calls,
            false,
        ))
    }

    /// How many times `feature` occurs.
    ///
    /// # Examples
    ///
    /// See [`Operations`].
    pub fn count(&self, feature: Feature) -> u64 {
        self.counts[feature as usize]
    }

    /// Multiply-adds in layers stored as `f16`, as `int8` and as an integer network's
    /// (zero rows included): an `f16` or `int8` one converts a weight to `f32` before the
    /// multiply-add the other features count; an integer one replaces it.
    ///
    /// # Examples
    ///
    /// ```
    /// let header = mdn_core::doc_example_header();
    /// let worst = mdn_train::device_cost::Operations::worst_case(&header);
    /// assert_eq!(worst.packed_products(), [0, 0, 0]);
    /// ```
    pub fn packed_products(&self) -> [u64; 3] {
        self.packed
    }

    /// Rows of every network's integer layers (zero rows included): each one's bias,
    /// requantization or conversion to `f32`.
    ///
    /// # Examples
    ///
    /// ```
    /// let header = mdn_core::doc_example_header();
    /// let worst = mdn_train::device_cost::Operations::worst_case(&header);
    /// assert_eq!(worst.integer_rows(), 0);
    /// ```
    pub fn integer_rows(&self) -> u64 {
        self.integer_rows
    }

    /// The libm calls.
    ///
    /// # Examples
    ///
    /// See [`Operations::at`].
    pub fn calls(&self) -> &Calls {
        &self.calls
    }

    /// Whether these are [`Operations::worst_case`]'s, whose known branches are charged at
    /// their most and which get the calibration's margin.
    ///
    /// # Examples
    ///
    /// ```
    /// let header = mdn_core::doc_example_header();
    /// assert!(mdn_train::device_cost::Operations::worst_case(&header).is_worst_case());
    /// ```
    pub fn is_worst_case(&self) -> bool {
        self.worst_case
    }

    fn new(shape: &Shape, zero_products: u64, calls: Calls, worst_case: bool) -> Operations {
        let (i, d, m, k) = (shape.inputs, shape.dims, shape.networks, shape.components);
        let layers = shape.layers();
        let mut fan_in = i;
        let [mut kernel_calls, mut columns, mut tail] = [0_u64; 3];
        for &width in &layers {
            let pairs = width.div_ceil(BLOCK).div_ceil(2);
            kernel_calls += pairs;
            columns += pairs * fan_in;
            tail += width % BLOCK;
            fan_in = width;
        }
        let hidden_rows: u64 = shape.hidden.iter().sum();
        let relu = u64::from(shape.activation == Activation::Relu);
        let [ci, cw, ck, cd] = shape.capacities();
        // The mixture, the scaled input, the two hidden buffers, the target point and the
        // components' densities; in every network whose head outputs do not fit the spare
        // hidden buffer, the heads' own buffer.
        let mut zeroed = ck * (1 + 2 * cd) + ci + 2 * cw + cd + ck;
        if k + 2 * k * d > cw {
            zeroed += m * 3 * ck * cd;
        }
        let products = m * 2 * BLOCK * columns;
        // An integer network runs none of the float kernel's calls, columns or products:
        // its multiply-adds are charged per product (`Operations::packed_products`).
        let float = u64::from(!shape.storage.iter().any(|s| s.is_integer()));
        let (kernel_calls, columns) = (float * kernel_calls, float * columns);
        let (products, zero_products) = (float * products, float * zero_products);
        let mut counts = [0; Feature::ALL.len()];
        for (feature, value) in [
            (Feature::Query, 1),
            (Feature::Inputs, i),
            (Feature::Outputs, d),
            (Feature::Networks, m),
            (
                Feature::LinearNetworks,
                if shape.hidden.is_empty() { m } else { 0 },
            ),
            (Feature::Layers, m * layers.len() as u64),
            (Feature::KernelCalls, m * kernel_calls),
            (Feature::Columns, m * columns),
            (
                Feature::FullProducts,
                products.saturating_sub(zero_products),
            ),
            (Feature::ZeroProducts, zero_products),
            (Feature::ReluRows, relu * m * hidden_rows),
            (Feature::TanhRows, (1 - relu) * m * hidden_rows),
            (Feature::TailRows, m * tail),
            (Feature::Components, m * k),
            (Feature::ComponentDims, m * k * d),
            (Feature::ZeroedWords, zeroed),
            (Feature::LibmCalls, calls.total()),
        ] {
            counts[feature as usize] = value;
        }
        Operations {
            counts,
            calls,
            worst_case,
            packed: [
                shape.packed_products(|s| s == Storage::F16),
                shape.packed_products(|s| s == Storage::Int8),
                shape.packed_products(Storage::is_integer),
            ],
            integer_rows: (1 - float)
                * m
                * layers
                    .iter()
                    .map(|w| w.div_ceil(BLOCK) * BLOCK)
                    .sum::<u64>(),
        }
    }
}

/// Rows of a stored block, as a count.
const BLOCK: u64 = ROW_BLOCK as u64;

/// A header's sizes as counts.
#[derive(Debug, Clone)]
pub(super) struct Shape {
    pub(super) inputs: u64,
    pub(super) dims: u64,
    pub(super) networks: u64,
    /// `K`, each network's.
    pub(super) components: u64,
    pub(super) hidden: Vec<u64>,
    pub(super) activation: Activation,
    /// Each dense layer's weight storage, the heads last.
    pub(super) storage: Vec<Storage>,
}

impl Shape {
    pub(super) fn of(header: &Header<'_>) -> Shape {
        Shape {
            inputs: header.input_dim.into(),
            dims: header.output_dim.into(),
            networks: header.networks.into(),
            components: header.components.into(),
            hidden: header.hidden.iter().map(|&w| w.into()).collect(),
            activation: header.activation,
            storage: header.storage.iter().copied().collect(),
        }
    }

    /// Multiply-adds of every network in layers whose storage is `counted` (zero rows
    /// included).
    fn packed_products(&self, counted: impl Fn(Storage) -> bool) -> u64 {
        let mut fan_in = self.inputs;
        let mut products = 0;
        for (width, &layer) in self.layers().into_iter().zip(&self.storage) {
            if counted(layer) {
                products += width.div_ceil(BLOCK) * BLOCK * fan_in;
            }
            fan_in = width;
        }
        self.networks * products
    }

    /// The widths of every dense layer, the heads (`K + 2 K D` rows) last.
    fn layers(&self) -> Vec<u64> {
        let head = self.components + 2 * self.components * self.dims;
        self.hidden.iter().copied().chain([head]).collect()
    }

    /// The tightest capacities `I, W, K, D` (`W` at least 1, as a firmware's must be).
    pub(super) fn capacities(&self) -> [u64; 4] {
        let width = self.hidden.iter().copied().max().unwrap_or(0).max(1);
        [
            self.inputs,
            width,
            self.networks * self.components,
            self.dims,
        ]
    }

    /// Multiply-adds of every network with a weight that fills a block: the kernel takes
    /// whole pairs of blocks, and an odd last block's second copy has real rows.
    fn padding_products(&self) -> u64 {
        let mut fan_in = self.inputs;
        let mut padding = 0;
        for width in self.layers() {
            let blocks = width.div_ceil(BLOCK);
            let computed_rows = blocks.div_ceil(2) * 2 * BLOCK;
            let last = width - (blocks - 1) * BLOCK;
            let real_rows = width + if blocks % 2 == 1 { last } else { 0 };
            padding += (computed_rows - real_rows) * fan_in;
            fan_in = width;
        }
        self.networks * padding
    }
}
