#!/usr/bin/env python3
"""Float64 reference values of the continuous ranked probability score of mixtures.

Independent of mdn-core's closed forms (`mdn-core/src/mixture/crps.rs`):

- normal mixtures: `scoringrules.crps_mixnorm` (scoringrules' own implementation of the
  kernel form), each value also checked here against adaptive quadrature (scipy's `quad`)
  of the definition `int (F(t) - 1{t >= y})^2 dt`;
- log-normal mixtures (`y = e^u`, `u` a normal mixture): the definition integrated in `y`
  by adaptive quadrature, written as `int (F(e^u) - 1{u >= ln y})^2 e^u du` (the same
  integral, `t = e^u`), plus `-y` for `y <= 0` (where `F = 0` on `[y, 0]`); each one-
  component value also checked against `scoringrules.crps_lognormal`.

`F` and `1 - F` come from `scipy.special.ndtr` of the standardised distance on each side,
so neither tail is a difference of numbers near 1. The quadrature is split at `ln y` (or
`y`) and at every component mean, over the union of `mu +- 40 sigma`, with
`epsabs = 0, epsrel = 1e-13`; the script stops if scoringrules and quadrature disagree by
more than 1e-9 relative.

Every parameter and target is exactly an f32, so mdn-core evaluates the very same
mixture; the reference normalises the weights `exp(log_weight)` to sum 1 in float64
(mdn-core uses them as given: they differ by f32 rounding, about 1e-7).

Writes `mdn-core/tests/reference/crps_f64.rs` (the mixtures, the reference values, the
package versions, and this script's source in `SCRIPT`, compared with this file by
`mdn-core/tests/crps_reference.rs`). Regenerate from the repository root with

    pip install scoringrules==0.10.0 scipy numpy
    python3 tests/reference/crps_reference.py
"""

import math
import os
import random
import struct
import sys

import numpy as np
import scipy
import scoringrules
from scipy import integrate, special

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "mdn-core", "tests", "reference", "crps_f64.rs")


def f32(value):
    """`value` rounded to the nearest f32 (struct rounds to nearest-even)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


class Mixture:
    def __init__(self, name, log, weights, means, sigmas):
        self.name = name
        self.log = log
        self.log_weights = [f32(math.log(w)) for w in weights]
        raw = [math.exp(lw) for lw in self.log_weights]
        self.weights = [w / math.fsum(raw) for w in raw]
        self.means = [f32(m) for m in means]
        self.sigmas = [f32(s) for s in sigmas]

    def tails(self, u):
        """`(F, 1 - F)` of the normal mixture in `u` (`u = ln y` for a log target)."""
        lower = upper = 0.0
        for w, m, s in zip(self.weights, self.means, self.sigmas):
            z = (u - m) / s
            lower += w * special.ndtr(z)
            upper += w * special.ndtr(-z)
        return lower, upper

    def breakpoints(self, u0):
        lo = min(m - 40 * s for m, s in zip(self.means, self.sigmas))
        hi = max(m + 40 * s for m, s in zip(self.means, self.sigmas))
        lo, hi = min(lo, u0 - 1.0), max(hi, u0 + 1.0)
        inner = sorted(set([u0] + [m for m in self.means]))
        return [lo] + [p for p in inner if lo < p < hi] + [hi]

    def quadrature(self, y):
        """The definition, integrated piece by piece between the breakpoints."""
        if self.log:
            if y <= 0.0:
                u0, extra = -math.inf, -y
            else:
                u0, extra = math.log(y), 0.0
        else:
            u0, extra = y, 0.0

        def integrand(u):
            lower, upper = self.tails(u)
            gap = upper if u >= u0 else lower
            return gap * gap * (math.exp(u) if self.log else 1.0)

        points = self.breakpoints(u0 if math.isfinite(u0) else min(self.means))
        if self.log:
            # For y <= 0 the integrand is about e^u far below the components, whose
            # integral e^lo does not vanish.
            points[0] = -math.inf
        total = []
        for a, b in zip(points, points[1:]):
            value, _ = integrate.quad(integrand, a, b, epsabs=0.0, epsrel=1e-13, limit=2000)
            total.append(value)
        return math.fsum(total) + extra

    def crps(self, y):
        quad = self.quadrature(y)
        if not self.log:
            closed = float(
                scoringrules.crps_mixnorm(
                    y, np.array(self.means), np.array(self.sigmas), np.array(self.weights)
                )
            )
            check(closed, quad, self.name, y)
            return closed
        if len(self.means) == 1 and y > 0.0:
            closed = float(scoringrules.crps_lognormal(y, self.means[0], self.sigmas[0]))
            check(closed, quad, self.name, y)
        return quad

    def targets(self):
        """Targets in original units: at and between the components, and both tails."""
        lo = min(m - 8 * s for m, s in zip(self.means, self.sigmas))
        hi = max(m + 8 * s for m, s in zip(self.means, self.sigmas))
        us = [lo, hi]
        for m, s in zip(self.means, self.sigmas):
            us += [m, m + 0.3 * s, m - 2.5 * s]
        if self.log:
            ys = [math.exp(u) for u in us] + [0.0, -1.5]
        else:
            ys = us
        return sorted(set(f32(y) for y in ys))


def check(closed, quad, name, y):
    if abs(closed - quad) > 1e-9 * max(abs(closed), 1e-300):
        sys.exit("%s at y = %r: scoringrules %r, quadrature %r" % (name, y, closed, quad))


def random_mixture(name, log, k, rng, mean_span, sigma_lo, sigma_hi):
    weights = [rng.uniform(0.05, 1.0) for _ in range(k)]
    total = sum(weights)
    weights = [w / total for w in weights]
    means = [rng.uniform(-mean_span, mean_span) for _ in range(k)]
    sigmas = [math.exp(rng.uniform(math.log(sigma_lo), math.log(sigma_hi))) for _ in range(k)]
    return Mixture(name, log, weights, means, sigmas)


def mixtures():
    rng = random.Random(19)
    out = [
        Mixture("standard", False, [1.0], [0.0], [1.0]),
        Mixture("narrow", False, [1.0], [5.0], [1e-3]),
        Mixture("offset", False, [1.0], [1000.0], [0.5]),
        Mixture("tfp", False, [0.3, 0.7], [-1.0, 1.0], [0.1, 0.5]),
        Mixture("wide_narrow", False, [0.2, 0.5, 0.3], [0.0, 0.5, 3.0], [30.0, 0.01, 1.0]),
        Mixture("separated", False, [0.5, 0.5], [-50.0, 50.0], [0.2, 0.2]),
    ]
    for k in range(2, 9):
        out.append(random_mixture("random_k%d" % k, False, k, rng, 10.0, 0.01, 10.0))
    out += [
        Mixture("lognormal", True, [1.0], [0.0], [1.0]),
        Mixture("lognormal_wide", True, [1.0], [0.5], [2.5]),
        Mixture("lognormal_narrow", True, [1.0], [2.0], [0.01]),
        Mixture("log_two", True, [0.4, 0.6], [-1.0, 1.5], [0.3, 0.8]),
        Mixture("log_wide_narrow", True, [0.3, 0.3, 0.4], [0.0, 0.2, 1.0], [2.0, 0.005, 0.5]),
    ]
    for k in range(2, 9):
        out.append(random_mixture("log_random_k%d" % k, True, k, rng, 2.0, 0.01, 1.5))
    return out


def rust_list(values):
    return "&[%s]" % ", ".join(repr(float(v)) for v in values)


def main():
    versions = "python %s, numpy %s, scipy %s, scoringrules %s" % (
        sys.version.split()[0],
        np.__version__,
        scipy.__version__,
        scoringrules.__version__,
    )
    lines = [
        "// @generated by `python3 tests/reference/crps_reference.py`; do not edit.",
        "//! Float64 reference values of the CRPS of mixtures, from the script in [`SCRIPT`]",
        "//! (its full source, pasted next to the values it produced).",
        "",
        "/// The packages that computed the values.",
        "pub const VERSIONS: &str = %s;" % ('"' + versions + '"'),
        "",
        "/// A one-dimensional mixture (every parameter exactly an f32) and its reference values.",
        "pub struct RefMixture {",
        "    pub name: &'static str,",
        "    pub log_target: bool,",
        "    pub log_weights: &'static [f64],",
        "    pub means: &'static [f64],",
        "    pub sigmas: &'static [f64],",
        "    /// `(y, CRPS(y))`, in original units.",
        "    pub crps: &'static [(f64, f64)],",
        "}",
        "",
        "pub const MIXTURES: &[RefMixture] = &[",
    ]
    for m in mixtures():
        pairs = ", ".join("(%r, %r)" % (y, m.crps(y)) for y in m.targets())
        lines += [
            "    RefMixture {",
            '        name: "%s",' % m.name,
            "        log_target: %s," % ("true" if m.log else "false"),
            "        log_weights: %s," % rust_list(m.log_weights),
            "        means: %s," % rust_list(m.means),
            "        sigmas: %s," % rust_list(m.sigmas),
            "        crps: &[%s]," % pairs,
            "    },",
        ]
    with open(os.path.abspath(__file__), encoding="utf-8") as f:
        source = f.read()
    fence = "#" * 4
    assert '"' + fence not in source
    lines += [
        "];",
        "",
        "/// The source of `tests/reference/crps_reference.py` that wrote this file.",
        "pub const SCRIPT: &str = r" + fence + '"' + source + '"' + fence + ";",
        "",
    ]
    with open(OUT, "w") as f:
        f.write("\n".join(lines))


if __name__ == "__main__":
    main()
