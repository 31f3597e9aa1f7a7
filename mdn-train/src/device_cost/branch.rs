//! Which branch of libm's code a call takes: the part of a query's cost that depends on the
//! values it meets.
//!
//! libm's `expf`, `logf`, `tanhf` and `log1pf` (0.2.16, the release mdn-core pins) branch on
//! the bits of their argument: a tiny argument returns at once, a large one needs a range
//! reduction, `tanhf` of a saturated argument skips `expm1f`. On a Cortex-M4F the branches
//! of `tanhf` cost from 28 to 110 instructions, on ARMv6-M from 108 to 2,800, so a query's
//! count depends on where its arguments fall. [`Branch::of`] classifies an argument by
//! libm's own thresholds (the constants below are its, bit for bit); the cost model charges
//! each branch what `firmware-example`'s `libm_cost` measured for it.

/// A libm function that `log p(y|x)` calls.
///
/// # Examples
///
/// ```
/// use mdn_train::device_cost::{Branch, Function};
/// assert_eq!(Branch::of(Function::Tanhf, 20.0), Branch::TanhSaturated);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    /// `expf`: log-sum-exps, the `exp` and `nnelu` sigma transforms, softplus.
    Expf,
    /// `logf`: log-sum-exps, every component's `ln sigma`, a log target.
    Logf,
    /// `tanhf`: the `tanh` activation.
    Tanhf,
    /// `log1pf`: softplus.
    Log1pf,
}

impl Function {
    /// Every function, in the order `libm_cost` measures them.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_train::device_cost::Function::ALL.len(), 4);
    /// ```
    pub const ALL: [Function; 4] = [
        Function::Expf,
        Function::Logf,
        Function::Tanhf,
        Function::Log1pf,
    ];

    /// libm's name of the function, as `libm_cost` prints it.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_train::device_cost::Function::Log1pf.name(), "log1pf");
    /// ```
    pub const fn name(self) -> &'static str {
        match self {
            Function::Expf => "expf",
            Function::Logf => "logf",
            Function::Tanhf => "tanhf",
            Function::Log1pf => "log1pf",
        }
    }

    /// The function called `name`, as [`Function::name`] spells it.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::Function;
    /// assert_eq!(Function::from_name("expf"), Some(Function::Expf));
    /// assert_eq!(Function::from_name("exp"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Function> {
        Function::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// A branch of one libm function's code (libm 0.2.16), by the range of its argument `x`.
///
/// # Examples
///
/// ```
/// use mdn_train::device_cost::{Branch, Function};
/// assert_eq!(Branch::of(Function::Expf, 0.0), Branch::ExpfTiny);
/// assert_eq!(Branch::of(Function::Expf, -3.0), Branch::ExpfReduced);
/// assert_eq!(Branch::of(Function::Logf, 1.0), Branch::LogfOne);
/// assert_eq!(Branch::ExpfReduced.function(), Function::Expf);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Branch {
    /// `expf`, `|x| <= 2^-14`: returns `1 + x`.
    ExpfTiny,
    /// `expf`, `|x| <= ln 2 / 2`: no range reduction.
    ExpfSmall,
    /// `expf`, `|x| <= 3 ln 2 / 2`: reduced by one `ln 2`.
    ExpfOneLn2,
    /// `expf`, `|x| < 87.34`: reduced by `k ln 2`.
    ExpfReduced,
    /// `expf`, `|x| >= 87.34`, infinite or NaN: overflow and underflow.
    ExpfEdge,
    /// `logf(1)`: returns 0.
    LogfOne,
    /// `logf` of any other positive normal number.
    LogfNormal,
    /// `logf` of a positive subnormal number: scaled up first.
    LogfSubnormal,
    /// `logf` of zero, a negative number, infinity or NaN.
    LogfEdge,
    /// `tanhf`, `|x| > 10`, infinite or NaN: `+-1` without `expm1f`.
    TanhSaturated,
    /// `tanhf`, `|x| > ln 3 / 2`: `1 - 2 / (expm1f(2|x|) + 2)`.
    TanhLarge,
    /// `tanhf`, `|x| > ln(5/3) / 2`: `t / (t + 2)` with `t = expm1f(2|x|)`.
    TanhMiddle,
    /// `tanhf`, `|x| > ln 2 / 4`: `expm1f(-2|x|)`, reduced by one `ln 2`.
    TanhSmall,
    /// `tanhf`, `|x| >= 2^-26`: `expm1f(-2|x|)` without reduction.
    TanhNear,
    /// `tanhf`, normal `|x| < 2^-26`: `expm1f` returns its argument.
    TanhTiny,
    /// `tanhf` of zero or a subnormal number: returns `x`.
    TanhSubnormal,
    /// `log1pf`, `|x| < 2^-24`: returns `x`.
    Log1pfTiny,
    /// `log1pf`, `1 + x` within `[sqrt 2 / 2, sqrt 2)`: no reduction.
    Log1pfSmall,
    /// `log1pf`, `1 + x` from `sqrt 2` up to about `2^25`: reduced, with a correction term.
    Log1pfReduced,
    /// `log1pf`, larger `x`: reduced, no correction term.
    Log1pfHuge,
    /// `log1pf`, `x <= -1`, infinite or NaN.
    Log1pfEdge,
}

impl Branch {
    /// Every branch, function by function.
    ///
    /// # Examples
    ///
    /// ```
    /// use mdn_train::device_cost::Branch;
    /// assert!(Branch::ALL.iter().enumerate().all(|(i, b)| b.index() == i));
    /// ```
    pub const ALL: [Branch; 21] = [
        Branch::ExpfTiny,
        Branch::ExpfSmall,
        Branch::ExpfOneLn2,
        Branch::ExpfReduced,
        Branch::ExpfEdge,
        Branch::LogfOne,
        Branch::LogfNormal,
        Branch::LogfSubnormal,
        Branch::LogfEdge,
        Branch::TanhSaturated,
        Branch::TanhLarge,
        Branch::TanhMiddle,
        Branch::TanhSmall,
        Branch::TanhNear,
        Branch::TanhTiny,
        Branch::TanhSubnormal,
        Branch::Log1pfTiny,
        Branch::Log1pfSmall,
        Branch::Log1pfReduced,
        Branch::Log1pfHuge,
        Branch::Log1pfEdge,
    ];

    /// The position of this branch in [`Branch::ALL`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(mdn_train::device_cost::Branch::LogfOne.index(), 5);
    /// ```
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The function this branch belongs to.
    ///
    /// # Examples
    ///
    /// See [`Branch`].
    pub const fn function(self) -> Function {
        match self {
            Branch::ExpfTiny
            | Branch::ExpfSmall
            | Branch::ExpfOneLn2
            | Branch::ExpfReduced
            | Branch::ExpfEdge => Function::Expf,
            Branch::LogfOne | Branch::LogfNormal | Branch::LogfSubnormal | Branch::LogfEdge => {
                Function::Logf
            }
            Branch::TanhSaturated
            | Branch::TanhLarge
            | Branch::TanhMiddle
            | Branch::TanhSmall
            | Branch::TanhNear
            | Branch::TanhTiny
            | Branch::TanhSubnormal => Function::Tanhf,
            Branch::Log1pfTiny
            | Branch::Log1pfSmall
            | Branch::Log1pfReduced
            | Branch::Log1pfHuge
            | Branch::Log1pfEdge => Function::Log1pf,
        }
    }

    /// The branch `function(x)` takes, by libm 0.2.16's tests on the bits of `x`.
    ///
    /// # Examples
    ///
    /// See [`Branch`].
    pub fn of(function: Function, x: f32) -> Branch {
        let bits = x.to_bits();
        let magnitude = bits & 0x7fff_ffff;
        match function {
            // src/math/expf.rs
            Function::Expf => match magnitude {
                0x42ae_ac50.. => Branch::ExpfEdge,
                0x3f85_1593.. => Branch::ExpfReduced,
                0x3eb1_7219.. => Branch::ExpfOneLn2,
                0x3900_0001.. => Branch::ExpfSmall,
                _ => Branch::ExpfTiny,
            },
            // src/math/logf.rs
            Function::Logf => match bits {
                0x3f80_0000 => Branch::LogfOne,
                0x0080_0000..0x7f80_0000 => Branch::LogfNormal,
                0x0000_0001..0x0080_0000 => Branch::LogfSubnormal,
                _ => Branch::LogfEdge,
            },
            // src/math/tanhf.rs, then src/math/expm1f.rs for `expm1f(-2|x|)`: its `|2x| >
            // ln 2 / 2` and `|2x| < 2^-25` at half the argument.
            Function::Tanhf => match magnitude {
                0x4120_0001.. => Branch::TanhSaturated,
                0x3f0c_9f55.. => Branch::TanhLarge,
                0x3e82_c579.. => Branch::TanhMiddle,
                0x3e31_7219.. => Branch::TanhSmall,
                0x3280_0000.. => Branch::TanhNear,
                0x0080_0000.. => Branch::TanhTiny,
                _ => Branch::TanhSubnormal,
            },
            // src/math/log1pf.rs
            Function::Log1pf => {
                let negative = bits >> 31 != 0;
                if bits >= 0xbf80_0000 || (!negative && bits >= 0x7f80_0000) {
                    Branch::Log1pfEdge
                } else if bits << 1 < 0x3380_0000 << 1 {
                    Branch::Log1pfTiny
                } else if (!negative && bits < 0x3ed4_13d0) || (negative && bits <= 0xbe95_f619) {
                    Branch::Log1pfSmall
                } else {
                    // libm's exponent k of `1 + x` (its bits nudged by `1 - sqrt 2 / 2`); the
                    // correction term only while k < 25.
                    let nudged = (1.0 + x).to_bits() + (0x3f80_0000 - 0x3f35_04f3);
                    if (nudged >> 23) < 0x7f + 25 {
                        Branch::Log1pfReduced
                    } else {
                        Branch::Log1pfHuge
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_fall_where_libm_puts_them() {
        let half_ln2 = f32::from_bits(0x3eb1_7218);
        assert_eq!(Branch::of(Function::Expf, half_ln2), Branch::ExpfSmall);
        assert_eq!(
            Branch::of(Function::Expf, -half_ln2.next_up()),
            Branch::ExpfOneLn2
        );
        assert_eq!(Branch::of(Function::Expf, 2.0), Branch::ExpfReduced);
        assert_eq!(Branch::of(Function::Expf, -90.0), Branch::ExpfEdge);
        assert_eq!(Branch::of(Function::Expf, f32::NAN), Branch::ExpfEdge);
        assert_eq!(Branch::of(Function::Tanhf, 10.0), Branch::TanhLarge);
        assert_eq!(
            Branch::of(Function::Tanhf, (-10.0_f32).next_up()),
            Branch::TanhLarge
        );
        assert_eq!(Branch::of(Function::Tanhf, -10.5), Branch::TanhSaturated);
        assert_eq!(Branch::of(Function::Tanhf, 0.4), Branch::TanhMiddle);
        assert_eq!(Branch::of(Function::Tanhf, 0.2), Branch::TanhSmall);
        assert_eq!(Branch::of(Function::Tanhf, 0.1), Branch::TanhNear);
        assert_eq!(Branch::of(Function::Tanhf, 1e-9), Branch::TanhTiny);
        assert_eq!(Branch::of(Function::Tanhf, 0.0), Branch::TanhSubnormal);
        assert_eq!(Branch::of(Function::Logf, 2.0), Branch::LogfNormal);
        assert_eq!(Branch::of(Function::Logf, 1e-40), Branch::LogfSubnormal);
        assert_eq!(Branch::of(Function::Logf, 0.0), Branch::LogfEdge);
        assert_eq!(Branch::of(Function::Logf, -1.0), Branch::LogfEdge);
        assert_eq!(Branch::of(Function::Log1pf, 1e-9), Branch::Log1pfTiny);
        assert_eq!(Branch::of(Function::Log1pf, 0.3), Branch::Log1pfSmall);
        assert_eq!(Branch::of(Function::Log1pf, -0.25), Branch::Log1pfSmall);
        assert_eq!(Branch::of(Function::Log1pf, -0.5), Branch::Log1pfReduced);
        assert_eq!(Branch::of(Function::Log1pf, 1e6), Branch::Log1pfReduced);
        assert_eq!(Branch::of(Function::Log1pf, 1e8), Branch::Log1pfHuge);
        assert_eq!(Branch::of(Function::Log1pf, -1.0), Branch::Log1pfEdge);
        assert_eq!(
            Branch::of(Function::Log1pf, f32::INFINITY),
            Branch::Log1pfEdge
        );
    }

    #[test]
    fn every_branch_belongs_to_its_function() {
        for function in Function::ALL {
            assert_eq!(Function::from_name(function.name()), Some(function));
            for x in [0.0, 1.0, -1.0, 0.3, 5.0, 1e-30, 1e9, -100.0, f32::NAN] {
                assert_eq!(Branch::of(function, x).function(), function);
            }
        }
    }
}
