#!/usr/bin/env python3
"""Float64 reference values for mdn-core's one-dimensional mixture queries.

Independent of mdn-core's methods (FORMAT.md section 5): where mdn-core runs safeguarded
Newton on the CDF, mean-shift from the component means, per-component Gauss-weighted
quadrature and crossing points for total variation, this script uses plain float64
numerics from `math` only (standard library, no numpy):

- CDF and survival function from `math.erfc`; quantiles by 200 bisections in `t`
  (`t = ln y` for a log target) on the lower tail for p <= 0.5, the upper tail otherwise;
- modes by a scan of the density *in original units* on a grid of step s_min / 20 over
  every mu +- 12 sigma, each grid maximum refined by 200 bisections on the analytic
  derivative of ln p (for a log target: of ln p_T(t) - t, i.e. of the density of y);
- entropy, KL, Hellinger and total variation by composite Simpson rules of step at most
  s_min / 40 over the union of mu +- 14 sigma in `t`, with `math.fsum`; total variation is
  split at the sign changes of p - q (each refined by 200 bisections), so that every
  Simpson panel integrates a smooth function. For a log target the entropy is
  -int p_T(t) (ln p_T(t) - t) dt, the density of y written in t (dy = e^t dt); KL,
  Hellinger and TV are invariant under y = e^t.

Every mixture parameter, target and probability is exactly an f32, so mdn-core evaluates
the very same mixture; weights are exp(log_weight) as given (they sum to 1 only up to f32
rounding, as in mdn-core).

Writes `mdn-core/tests/reference/queries_f64.rs` (Rust constants: the mixtures, their
reference values, and this script's source in `SCRIPT`, compared with this file by the
test). Regenerate from the repository root with

    python3 tests/reference/mdn_queries_reference.py
"""

import math
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "mdn-core", "tests", "reference", "queries_f64.rs")

SQRT_2 = math.sqrt(2.0)
LN_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def f32(value):
    """`value` rounded to the nearest f32 (struct rounds to nearest-even)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


class Mixture:
    def __init__(self, name, log, weights, means, sigmas):
        self.name = name
        self.log = log
        self.log_weights = [f32(math.log(w)) for w in weights]
        self.weights = [math.exp(lw) for lw in self.log_weights]
        self.means = [f32(m) for m in means]
        self.sigmas = [f32(s) for s in sigmas]
        self.components = list(zip(self.weights, self.means, self.sigmas))
        self.s_min = min(self.sigmas)

    # Densities in t (t = ln y for a log target).
    def log_density_t(self, t):
        terms = [
            math.log(w) - math.log(s) - LN_SQRT_2PI - 0.5 * ((t - m) / s) ** 2
            for w, m, s in self.components
        ]
        top = max(terms)
        return top + math.log(math.fsum(math.exp(c - top) for c in terms))

    def density_t(self, t):
        return math.exp(self.log_density_t(t))

    def lower(self, t):
        return math.fsum(w * 0.5 * math.erfc(-(t - m) / (s * SQRT_2)) for w, m, s in self.components)

    def upper(self, t):
        return math.fsum(w * 0.5 * math.erfc((t - m) / (s * SQRT_2)) for w, m, s in self.components)

    def to_y(self, t):
        return math.exp(t) if self.log else t

    def density_y(self, t):
        """Density in original units at the point t (for a log target, y = e^t)."""
        return math.exp(self.log_density_t(t) - (t if self.log else 0.0))

    def span(self, k):
        return (
            min(m - k * s for _, m, s in self.components),
            max(m + k * s for _, m, s in self.components),
        )

    def cdf(self, y):
        if self.log:
            return 0.0 if y <= 0.0 else self.lower(math.log(y))
        return self.lower(y)

    def quantile(self, p):
        lo, hi = self.span(40.0)
        upper = p > 0.5
        mass = 1.0 - p if upper else p
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if upper:
                above = self.upper(mid) > mass
            else:
                above = self.lower(mid) < mass
            if above:
                lo = mid
            else:
                hi = mid
        t = 0.5 * (lo + hi)
        return self.to_y(t), self.density_y(t)

    def slope(self, t):
        """d/dt of ln(density in original units at t)."""
        terms = [
            (math.log(w) - math.log(s) - 0.5 * ((t - m) / s) ** 2, (m - t) / (s * s))
            for w, m, s in self.components
        ]
        top = max(c for c, _ in terms)
        e = [(math.exp(c - top), g) for c, g in terms]
        total = math.fsum(x for x, _ in e)
        return math.fsum(x * g for x, g in e) / total - (1.0 if self.log else 0.0)

    def modes(self):
        lo, hi = self.span(12.0)
        step = self.s_min / 20.0
        n = int(math.ceil((hi - lo) / step))
        ts = [lo + i * (hi - lo) / n for i in range(n + 1)]
        values = [self.log_density_t(t) - (t if self.log else 0.0) for t in ts]
        found = []
        for i in range(1, n):
            if values[i - 1] < values[i] >= values[i + 1]:
                a, b = ts[i - 1], ts[i + 1]
                for _ in range(200):
                    mid = 0.5 * (a + b)
                    if self.slope(mid) > 0.0:
                        a = mid
                    else:
                        b = mid
                t = 0.5 * (a + b)
                found.append((self.to_y(t), self.density_y(t)))
        return found

    def entropy(self):
        lo, hi = self.span(14.0)

        def integrand(t):
            lp = self.log_density_t(t)
            return -math.exp(lp) * (lp - (t if self.log else 0.0))

        return simpson(integrand, lo, hi, self.s_min / 40.0)


def simpson(f, lo, hi, h_max):
    n = max(2, int(math.ceil((hi - lo) / h_max)))
    n += n % 2
    h = (hi - lo) / n
    terms = [f(lo), f(hi)]
    terms += [(4.0 if i % 2 else 2.0) * f(lo + i * h) for i in range(1, n)]
    return math.fsum(terms) * h / 3.0


def divergences(p, q):
    lo = min(p.span(14.0)[0], q.span(14.0)[0])
    hi = max(p.span(14.0)[1], q.span(14.0)[1])
    h = min(p.s_min, q.s_min) / 40.0

    def kl(t):
        lp, lq = p.log_density_t(t), q.log_density_t(t)
        return math.exp(lp) * (lp - lq)

    def hellinger(t):
        return 0.5 * (math.sqrt(p.density_t(t)) - math.sqrt(q.density_t(t))) ** 2

    def gap(t):
        return p.log_density_t(t) - q.log_density_t(t)

    # Sign changes of p - q on a fine grid, each refined by bisection.
    n = int(math.ceil((hi - lo) / h))
    cuts = [lo]
    previous = gap(lo) > 0.0
    for i in range(1, n + 1):
        t = lo + i * (hi - lo) / n
        here = gap(t) > 0.0
        if here != previous:
            a, b = lo + (i - 1) * (hi - lo) / n, t
            for _ in range(200):
                mid = 0.5 * (a + b)
                if (gap(mid) > 0.0) == previous:
                    a = mid
                else:
                    b = mid
            cuts.append(0.5 * (a + b))
        previous = here
    cuts.append(hi)

    def half_abs(t):
        return 0.5 * abs(p.density_t(t) - q.density_t(t))

    tv = math.fsum(simpson(half_abs, a, b, h) for a, b in zip(cuts, cuts[1:]) if b > a)
    return (
        simpson(kl, lo, hi, h),
        math.sqrt(max(0.0, simpson(hellinger, lo, hi, h))),
        tv,
    )


def random_mixture(name, seed, k):
    rng = random.Random(seed)
    raw = [rng.uniform(0.2, 1.0) for _ in range(k)]
    total = sum(raw)
    return Mixture(
        name,
        False,
        [w / total for w in raw],
        [rng.uniform(-3.0, 3.0) for _ in range(k)],
        [rng.uniform(0.2, 1.5) for _ in range(k)],
    )


MIXTURES = [
    # TensorFlow Probability's documented example: mean 0.4, variance 1.018.
    Mixture("tfp", False, [0.3, 0.7], [-1.0, 1.0], [0.1, 0.5]),
    Mixture("tfp_shifted", False, [0.5, 0.5], [-0.8, 1.1], [0.15, 0.45]),
    Mixture("tfp_close", False, [0.3, 0.7], [-0.999, 1.001], [0.1, 0.5]),
    Mixture("gauss_a", False, [1.0], [0.0], [1.0]),
    Mixture("gauss_b", False, [1.0], [1.0], [2.0]),
    Mixture("trimodal", False, [0.2, 0.5, 0.3], [-4.0, 0.0, 5.0], [0.5, 1.0, 0.8]),
    Mixture("shoulder", False, [0.6, 0.4], [0.0, 1.2], [1.0, 0.4]),
    # Two modes 0.28 sigma either side of 0, barely separated (a dip of 1e-4 relative).
    Mixture("near_merge", False, [0.5, 0.5], [-1.05, 1.05], [1.0, 1.0]),
    # Components 1.8 sigma apart: one mode.
    Mixture("unimodal_pair", False, [0.5, 0.5], [-0.9, 0.9], [1.0, 1.0]),
    random_mixture("k5", 5, 5),
    random_mixture("k8", 8, 8),
    # Separated by 100 sigma: the median lies in an empty gap.
    Mixture("far", False, [0.5, 0.5], [-50.0, 50.0], [1.0, 1.0]),
    # |mu| / sigma = 2000: f32 spacing near the answer limits every query.
    Mixture("offset", False, [0.4, 0.6], [1000.0, 1001.5], [0.5, 0.5]),
    # Components 10, 20 and 100 times narrower inside a wide one: the quadrature's hard case.
    Mixture("ratio10", False, [0.3, 0.7], [0.5, 0.0], [0.2, 2.0]),
    Mixture("ratio20", False, [0.3, 0.7], [0.5, 0.0], [0.1, 2.0]),
    Mixture("narrow_wide", False, [0.3, 0.7], [0.5, 0.0], [0.02, 2.0]),
    # The same shape, moved a little: two nearby inputs to one model.
    Mixture("narrow_wide_moved", False, [0.32, 0.68], [0.51, 0.1], [0.021, 2.05]),
    # A narrow component that outweighs a wide one only against far tails: its crossings
    # with the moved copy lie just outside its own mu +- 10 sigma (found by a property test).
    Mixture("tail_dominant", False, [0.016177, 0.967646, 0.016177],
            [0.0, 9.170858, -17.856098], [0.01, 0.01, 2.653065]),
    Mixture("tail_dominant_moved", False, [0.016177, 0.967646, 0.016177],
            [1.0, 10.170858, -16.856098], [0.01, 0.01, 2.653065]),
    Mixture("log_single", True, [1.0], [1.0], [0.5]),
    Mixture("log_mix", True, [0.4, 0.6], [0.0, 1.5], [0.3, 0.5]),
    Mixture("log_wide", True, [0.7, 0.3], [2.0, 0.5], [1.0, 0.2]),
]

PAIRS = [
    ("gauss_a", "gauss_b"),
    ("tfp", "tfp_shifted"),
    ("tfp", "tfp_close"),
    ("trimodal", "k5"),
    ("k5", "k8"),
    ("near_merge", "unimodal_pair"),
    ("shoulder", "gauss_a"),
    ("ratio10", "gauss_b"),
    ("ratio20", "gauss_b"),
    ("narrow_wide", "gauss_b"),
    ("gauss_b", "ratio10"),
    ("gauss_b", "ratio20"),
    ("gauss_b", "narrow_wide"),
    ("narrow_wide", "narrow_wide_moved"),
    ("tail_dominant", "tail_dominant_moved"),
    ("log_mix", "log_single"),
    ("log_wide", "log_mix"),
]

PROBABILITIES = [
    1e-6, 1e-4, 1e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.99,
    0.999, 0.9999, 0.999999,
]


def cdf_points(m):
    lo, hi = m.span(4.0)
    points = [f32(lo + (hi - lo) * i / 8.0) for i in range(9)]
    if m.log:
        points = [f32(math.exp(t)) for t in points] + [0.0, -1.0]
    return points


def rust_str(text):
    return '"' + text + '"'


def rust_list(values):
    return "&[" + ", ".join(repr(float(v)) for v in values) + "]"


def rust_pairs(pairs):
    return "&[" + ", ".join("(%r, %r)" % (float(a), float(b)) for a, b in pairs) + "]"


def main():
    by_name = {m.name: m for m in MIXTURES}
    lines = [
        "// @generated by `python3 tests/reference/mdn_queries_reference.py`; do not edit.",
        "//! Float64 reference values of one-dimensional mixture queries, from the script in",
        "//! [`SCRIPT`] (its full source, pasted next to the vectors it produced).",
        "",
        '#![allow(clippy::approx_constant, reason = "reference values are data: e is exp(1.0)")]',
        "",
        "/// A one-dimensional mixture (every parameter exactly an f32) and its reference values.",
        "pub struct RefMixture {",
        "    pub name: &'static str,",
        "    pub log_target: bool,",
        "    pub log_weights: &'static [f64],",
        "    pub means: &'static [f64],",
        "    pub sigmas: &'static [f64],",
        "    /// `(y, F(y))`.",
        "    pub cdf: &'static [(f64, f64)],",
        "    /// `(p, q, density at q)`, in original units.",
        "    pub quantiles: &'static [(f64, f64, f64)],",
        "    /// `(location, density)`, sorted by location, in original units.",
        "    pub modes: &'static [(f64, f64)],",
        "    pub entropy: f64,",
        "}",
        "",
        "/// Divergences between two of [`MIXTURES`], by name.",
        "pub struct RefPair {",
        "    pub p: &'static str,",
        "    pub q: &'static str,",
        "    pub kl: f64,",
        "    pub hellinger: f64,",
        "    pub total_variation: f64,",
        "}",
        "",
        "pub const MIXTURES: &[RefMixture] = &[",
    ]
    for m in MIXTURES:
        quantiles = []
        for p in PROBABILITIES:
            p = f32(p)
            q, density = m.quantile(p)
            quantiles.append("(%r, %r, %r)" % (p, q, density))
        lines += [
            "    RefMixture {",
            "        name: %s," % rust_str(m.name),
            "        log_target: %s," % ("true" if m.log else "false"),
            "        log_weights: %s," % rust_list(m.log_weights),
            "        means: %s," % rust_list(m.means),
            "        sigmas: %s," % rust_list(m.sigmas),
            "        cdf: %s," % rust_pairs((y, m.cdf(y)) for y in cdf_points(m)),
            "        quantiles: &[%s]," % ", ".join(quantiles),
            "        modes: %s," % rust_pairs(m.modes()),
            "        entropy: %r," % m.entropy(),
            "    },",
        ]
    lines += ["];", "", "pub const PAIRS: &[RefPair] = &["]
    for a, b in PAIRS:
        kl, hellinger, tv = divergences(by_name[a], by_name[b])
        lines += [
            "    RefPair {",
            "        p: %s," % rust_str(a),
            "        q: %s," % rust_str(b),
            "        kl: %r," % kl,
            "        hellinger: %r," % hellinger,
            "        total_variation: %r," % tv,
            "    },",
        ]
    with open(os.path.abspath(__file__), encoding="utf-8") as f:
        source = f.read()
    fence = "#" * 4
    assert '"' + fence not in source
    lines += [
        "];",
        "",
        "/// The generator's source, which the test compares with",
        "/// `tests/reference/mdn_queries_reference.py`.",
        "pub const SCRIPT: &str = r" + fence + '"' + source + '"' + fence + ";",
    ]
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    print("wrote %s: %d mixtures, %d pairs" % (os.path.normpath(OUT), len(MIXTURES), len(PAIRS)))


if __name__ == "__main__":
    main()
