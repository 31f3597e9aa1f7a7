#!/usr/bin/env python3
"""Independent reference implementation of the mdn model blob, format version 3 (FORMAT.md).

This file is written from FORMAT.md alone and shares no code with mdn-core: the postcard
header is encoded by hand (LEB128 varints), parameters with `struct`, the trailer with
`zlib.crc32`, and the model is evaluated in float64 with Python's `math` (FORMAT.md section 5
in real arithmetic, not an emulation of its f32 operations). Standard library only.

It writes the golden files under `tests/golden/`, which `cargo test -p mdn-tests` checks
against mdn-core (`tests/tests/format_golden.rs`, `tests/tests/reference_numerics.rs`):

- `<name>.mdn`: a blob with deterministic pseudo-random parameters; a model of `M > 1`
  networks (an ensemble) is one blob whose mixture has the `K M` components of all networks;
- `<name>.json`: its header fields, the hex of the encoded header, the tensor table
  (names, shapes, offsets) and the flat parameter list in logical order (tensor after
  tensor, row-major; the blob stores them in blocks of rows, `stored_order`), so that the Rust
  side can re-encode the blob and compare bytes;
- `<name>.vectors.json`: inputs `x`, targets `y` and the float64 `log_prob`, `mean`,
  `variance` (plus the mixture parameters) of every query. A `log_prob` of `"-inf"` means
  density zero (a log target with some `y_d <= 0`); JSON has no infinity.

Every number written is exactly representable in f32 where the format stores or reads it
(parameters, sigma floor, x, y), so both sides evaluate the very same inputs. Output is
deterministic: the same script gives the same bytes.

Regenerate the golden files (from the repository root):

    python3 tests/reference/mdn_reference.py
"""

import json
import math
import os
import random
import struct
import zlib

MAGIC = b"MDN\x00"
FORMAT_VERSION = 3
# FORMAT.md section 3: a layer's weights are stored in blocks of this many rows.
ROW_BLOCK = 8
PREFIX_LEN = 10
TRAILER_LEN = 4
MAX_HIDDEN_LAYERS = 8
# FORMAT.md section 4: the network weights exp(members.log_weight) add up to one within this.
WEIGHT_SUM_TOLERANCE = 1e-4

ACTIVATIONS = {"relu": 0, "tanh": 1}
SIGMAS = {"nnelu": 0, "softplus": 1, "exp": 2}
TARGETS = {"identity": 0, "log": 1}

# FORMAT.md section 5 defines C as the f32 nearest ln(2 pi) / 2 (bits 0x3F6B3F8E); the
# reference uses that value so it computes the function the format defines. It differs from
# the exact ln(2 pi) / 2 by 3.5e-8, far below the parity tolerance.
HALF_LN_TWO_PI = struct.unpack("<f", struct.pack("<I", 0x3F6B3F8E))[0]
SOFTPLUS_THRESHOLD = 20.0

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")


def f32(value):
    """`value` rounded to the nearest f32 (struct rounds to nearest-even)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


# ---------------------------------------------------------------------------------------
# Writer: FORMAT.md sections 1 to 3.
# ---------------------------------------------------------------------------------------


def varint(n):
    """postcard's unsigned varint: LEB128, 7 bits per byte, low bits first."""
    if not 0 <= n < 2**32:
        raise ValueError("u32 out of range: %r" % n)
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def postcard_str(text):
    raw = text.encode("utf-8")
    return varint(len(raw)) + raw


def encode_header(header):
    """The postcard header of FORMAT.md section 2, field by field."""
    if len(header["hidden"]) > MAX_HIDDEN_LAYERS:
        raise ValueError("too many hidden layers")
    out = bytearray()
    out += varint(header["input_dim"])
    out += varint(header["output_dim"])
    out += varint(header["components"])
    out += varint(header["members"])
    out += varint(len(header["hidden"]))
    for width in header["hidden"]:
        out += varint(width)
    out.append(ACTIVATIONS[header["activation"]])
    out.append(SIGMAS[header["sigma"]])
    out += struct.pack("<f", header["sigma_floor"])
    out.append(TARGETS[header["target_transform"]])
    out += postcard_str("\n".join(header["feature_names"]))
    out += postcard_str("\n".join(header["target_names"]))
    return bytes(out)


def network_prefix(m):
    """The prefix of network m's tensor names (FORMAT.md section 3): `members.m.`."""
    return "members.%d." % m


def layout(header):
    """(name, shape) of every tensor in blob order (FORMAT.md section 3): the shared
    tensors (scalers, network log weights), then the M networks one after the other."""
    f, d, k = header["input_dim"], header["output_dim"], header["components"]
    tensors = [
        ("input_scaler.offset", [f]),
        ("input_scaler.scale", [f]),
        ("target_scaler.offset", [d]),
        ("target_scaler.scale", [d]),
        ("members.log_weight", [header["members"]]),
    ]
    for m in range(header["members"]):
        prefix = network_prefix(m)
        fan_in = f
        for i, width in enumerate(header["hidden"]):
            tensors.append((prefix + "hidden.%d.weight" % i, [width, fan_in]))
            tensors.append((prefix + "hidden.%d.bias" % i, [width]))
            fan_in = width
        tensors += [
            (prefix + "head.logits.weight", [k, fan_in]),
            (prefix + "head.logits.bias", [k]),
            (prefix + "head.means.weight", [k * d, fan_in]),
            (prefix + "head.means.bias", [k * d]),
            (prefix + "head.sigmas.weight", [k * d, fan_in]),
            (prefix + "head.sigmas.bias", [k * d]),
        ]
    return tensors


def size(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def stored_order(header):
    """For each word of the parameter section (FORMAT.md section 3), the index of the
    parameter stored there in logical order (tensor after tensor, row-major), or None for
    a zero row that fills a layer's last block."""
    starts, offset = {}, 0
    for name, shape in layout(header):
        starts[name] = (offset, shape)
        offset += size(shape)

    def rows(name):
        start, (count, cols) = starts[name]
        return [list(range(start + r * cols, start + (r + 1) * cols)) for r in range(count)]

    def vector(name):
        start, (count,) = starts[name]
        return list(range(start, start + count))

    order = []
    for name in ("input_scaler.offset", "input_scaler.scale", "target_scaler.offset",
                 "target_scaler.scale", "members.log_weight"):
        order += vector(name)
    for m in range(header["members"]):
        prefix = network_prefix(m)
        layers = [(rows(prefix + "hidden.%d.weight" % i), vector(prefix + "hidden.%d.bias" % i))
                  for i in range(len(header["hidden"]))]
        # The three heads are stored as one layer: logit rows, mean rows, sigma rows.
        heads = ("logits", "means", "sigmas")
        layers.append((
            sum((rows(prefix + "head.%s.weight" % h) for h in heads), []),
            sum((vector(prefix + "head.%s.bias" % h) for h in heads), []),
        ))
        for weight_rows, bias in layers:
            cols = len(weight_rows[0])
            while len(weight_rows) % ROW_BLOCK:
                weight_rows.append([None] * cols)
            for block in range(0, len(weight_rows), ROW_BLOCK):
                for c in range(cols):
                    for r in range(block, block + ROW_BLOCK):
                        order.append(weight_rows[r][c])
            order += bias
    assert sorted(i for i in order if i is not None) == list(range(offset))
    return order


def write_blob(header, parameters):
    """The whole blob: prefix, header, zero padding, f32 LE parameters in stored order
    (zero rows as 0.0), CRC-32 trailer."""
    parameters = [0.0 if i is None else parameters[i] for i in stored_order(header)]
    encoded = encode_header(header)
    header_end = PREFIX_LEN + len(encoded)
    padding = (4 - header_end % 4) % 4
    length = header_end + padding + 4 * len(parameters) + TRAILER_LEN
    body = bytearray()
    body += MAGIC
    body += struct.pack("<H", FORMAT_VERSION)
    body += struct.pack("<I", length)
    body += encoded
    body += b"\x00" * padding
    for p in parameters:
        body += struct.pack("<f", p)
    body += struct.pack("<I", zlib.crc32(bytes(body)) & 0xFFFFFFFF)
    assert len(body) == length
    return bytes(body)


def read_varint(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def read_blob(blob):
    """Parses a blob back (a self-check of the writer, not a validating reader)."""
    assert blob[:4] == MAGIC
    version, length = struct.unpack_from("<HI", blob, 4)
    assert version == FORMAT_VERSION and length == len(blob)
    (crc,) = struct.unpack_from("<I", blob, length - 4)
    assert crc == zlib.crc32(blob[: length - 4]) & 0xFFFFFFFF
    pos = PREFIX_LEN
    h = {}
    h["input_dim"], pos = read_varint(blob, pos)
    h["output_dim"], pos = read_varint(blob, pos)
    h["components"], pos = read_varint(blob, pos)
    h["members"], pos = read_varint(blob, pos)
    count, pos = read_varint(blob, pos)
    h["hidden"] = []
    for _ in range(count):
        width, pos = read_varint(blob, pos)
        h["hidden"].append(width)
    codes = {v: k for k, v in ACTIVATIONS.items()}
    h["activation"] = codes[blob[pos]]
    codes = {v: k for k, v in SIGMAS.items()}
    h["sigma"] = codes[blob[pos + 1]]
    (h["sigma_floor"],) = struct.unpack_from("<f", blob, pos + 2)
    codes = {v: k for k, v in TARGETS.items()}
    h["target_transform"] = codes[blob[pos + 6]]
    pos += 7
    for field in ("feature_names", "target_names"):
        n, pos = read_varint(blob, pos)
        h[field] = blob[pos : pos + n].decode("utf-8").split("\n")
        pos += n
    start = pos + (4 - pos % 4) % 4
    assert all(b == 0 for b in blob[pos:start])
    count = (length - 4 - start) // 4
    stored = struct.unpack_from("<%df" % count, blob, start)
    order = stored_order(h)
    assert len(order) == count
    parameters = [0.0] * sum(i is not None for i in order)
    for value, index in zip(stored, order):
        if index is None:
            assert value == 0.0
        else:
            parameters[index] = value
    return h, parameters


# ---------------------------------------------------------------------------------------
# Evaluator: FORMAT.md section 5, in float64.
# ---------------------------------------------------------------------------------------


class Model:
    def __init__(self, header, parameters):
        self.header = header
        self.parameters = parameters
        self.tensors = {}
        offset = 0
        for name, shape in layout(header):
            n = size(shape)
            flat = parameters[offset : offset + n]
            if len(shape) == 2:
                rows, cols = shape
                self.tensors[name] = [flat[r * cols : (r + 1) * cols] for r in range(rows)]
            else:
                self.tensors[name] = flat
            offset += n
        assert offset == len(parameters)

    def network_log_weights(self):
        """`members.log_weight` (FORMAT.md section 3, row 5)."""
        return self.tensors["members.log_weight"]

    def dense(self, prefix, v):
        weight = self.tensors[prefix + ".weight"]
        bias = self.tensors[prefix + ".bias"]
        out = []
        for row, b in zip(weight, bias):
            acc = 0.0
            for w, x in zip(row, v):
                acc += w * x
            out.append(acc + b)
        return out

    def network(self, m, scaled):
        """Network m on the scaled input: (log_alpha[k], mu[k][d], sigma[k][d]) of its K
        components, with log_alpha_k = (l_mk - lse(l_m)) + w_m (FORMAT.md section 5)."""
        h = self.header
        t = self.tensors
        prefix = network_prefix(m)
        v = scaled
        for i in range(len(h["hidden"])):
            z = self.dense(prefix + "hidden.%d" % i, v)
            if h["activation"] == "relu":
                v = [zi if zi > 0.0 else 0.0 for zi in z]
            else:
                v = [math.tanh(zi) for zi in z]
        logits = self.dense(prefix + "head.logits", v)
        lse = log_sum_exp(logits)
        w_m = self.network_log_weights()[m]
        log_alpha = [(l - lse) + w_m for l in logits]
        k_count, d_count = h["components"], h["output_dim"]
        u = self.dense(prefix + "head.means", v)
        z = self.dense(prefix + "head.sigmas", v)
        offset, scale = t["target_scaler.offset"], t["target_scaler.scale"]
        floor = h["sigma_floor"]
        mu, sigma = [], []
        for k in range(k_count):
            mu_row, sigma_row = [], []
            for d in range(d_count):
                row = k * d_count + d
                mu_row.append(u[row] * scale[d] + offset[d])
                s = sigma_transform(h["sigma"], z[row])
                s = s if s > floor else floor
                sigma_row.append(s * scale[d])
            mu.append(mu_row)
            sigma.append(sigma_row)
        return log_alpha, mu, sigma

    def mixture(self, x):
        """(log_alpha[j], mu[j][d], sigma[j][d]) of the K M components in original target
        units; component k of network m is j = m*K + k."""
        t = self.tensors
        scaled = [
            (xi - o) / s
            for xi, o, s in zip(x, t["input_scaler.offset"], t["input_scaler.scale"])
        ]
        log_alpha, mu, sigma = [], [], []
        for m in range(self.header["members"]):
            la, mu_m, sigma_m = self.network(m, scaled)
            log_alpha += la
            mu += mu_m
            sigma += sigma_m
        return log_alpha, mu, sigma

    def log_prob(self, x, y):
        log_alpha, mu, sigma = self.mixture(x)
        if self.header["target_transform"] == "log":
            if any(yd <= 0.0 for yd in y):
                return -math.inf
            t = [math.log(yd) for yd in y]
            jacobian = sum(t)
        else:
            t = list(y)
            jacobian = 0.0
        c = []
        for la, mu_k, sigma_k in zip(log_alpha, mu, sigma):
            s = 0.0
            for td, m, sd in zip(t, mu_k, sigma_k):
                r = (td - m) / sd
                s += -0.5 * (r * r) - math.log(sd) - HALF_LN_TWO_PI
            c.append(la + s)
        return log_sum_exp(c) - jacobian

    def moments(self, x):
        """(mean[d], variance[d]) of the predictive distribution in original units."""
        log_alpha, mu, sigma = self.mixture(x)
        weights = [math.exp(la) for la in log_alpha]
        log_target = self.header["target_transform"] == "log"
        means, variances = [], []
        for d in range(self.header["output_dim"]):
            comp = []
            for k in range(len(weights)):
                s2 = sigma[k][d] * sigma[k][d]
                if log_target:
                    m = math.exp(mu[k][d] + 0.5 * s2)
                    comp.append((m, math.expm1(s2) * (m * m)))
                else:
                    comp.append((mu[k][d], s2))
            mean = sum(w * m for w, (m, _) in zip(weights, comp))
            var = sum(w * (v + (m - mean) ** 2) for w, (m, v) in zip(weights, comp))
            means.append(mean)
            variances.append(var)
        return means, variances


def sigma_transform(kind, z):
    if kind == "nnelu":
        return 1.0 + z if z > 0.0 else math.exp(z)
    if kind == "softplus":
        return z if z > SOFTPLUS_THRESHOLD else math.log1p(math.exp(z))
    return math.exp(z)


def check_network_weights(log_weights):
    """FORMAT.md section 4's rule (`InvalidNetworkWeights`): the network weights add up to one
    within 1e-4, both in float64 and summed in f32 as the format writes it (each exp rounded
    to f32, then each partial sum; Python's `math.exp`, not libm's `expf`, which may differ
    in the last bit, far inside the tolerance)."""
    exact = math.fsum(math.exp(w) for w in log_weights)
    single = 0.0
    for w in log_weights:
        single = f32(single + f32(math.exp(w)))
    return abs(exact - 1.0) <= WEIGHT_SUM_TOLERANCE and abs(
        single - 1.0
    ) <= WEIGHT_SUM_TOLERANCE


def log_sum_exp(values):
    m = max(values)
    if math.isinf(m):
        return m
    return m + math.log(sum(math.exp(v - m) for v in values))


# ---------------------------------------------------------------------------------------
# Golden models and vectors.
# ---------------------------------------------------------------------------------------


def header(
    inputs,
    hidden,
    activation,
    sigma,
    floor,
    components,
    outputs,
    target,
    features,
    targets,
    networks=1,
):
    assert len(features) == inputs and len(targets) == outputs
    # The keys are FORMAT.md section 2's field names: the network count is `members`.
    return {
        "input_dim": inputs,
        "output_dim": outputs,
        "components": components,
        "members": networks,
        "hidden": hidden,
        "activation": activation,
        "sigma": sigma,
        "sigma_floor": f32(floor),
        "target_transform": target,
        "feature_names": features,
        "target_names": targets,
    }


# name, seed, header, sigma bias range (pre-activation of the sigma head), target offset range,
# network weights (one per network; `members.log_weight` stores their ln rounded to f32, and
# a single network stores [0.0]).
MODELS = [
    (
        # The classic 1-32-32 toy MDN (inverse sine), K = 5.
        "relu_nnelu_1x32x32_k5",
        1,
        header(1, [32, 32], "relu", "nnelu", 1e-3, 5, 1, "identity", ["x"], ["y"]),
        (-2.0, 0.5),
        (-2.0, 5.0),
        [1.0],
    ),
    (
        # Multi-byte UTF-8 names; a very negative sigma bias row makes the floor bind.
        "tanh_softplus_k3_d2",
        2,
        header(
            3,
            [8],
            "tanh",
            "softplus",
            0.02,
            3,
            2,
            "identity",
            ["température", "pression", "humidité"],
            ["débit", "niveau"],
        ),
        (-3.0, 1.0),
        (-2.0, 5.0),
        [1.0],
    ),
    (
        # Log target: log-normal components, Jacobian, y <= 0 has density zero.
        "exp_log_target",
        3,
        header(2, [6], "relu", "exp", 0.0, 2, 2, "log", ["load", "speed"], ["energy", "heat"]),
        (-2.5, -0.5),
        (0.5, 2.0),
        [1.0],
    ),
    (
        # No hidden layer: the heads read the scaled inputs directly; K = 1; the floor binds.
        "no_hidden",
        4,
        header(2, [], "relu", "nnelu", 0.25, 1, 1, "identity", ["a", "b"], ["y"]),
        (-2.5, 0.5),
        (-2.0, 5.0),
        [1.0],
    ),
    (
        # Three hidden layers (both scratch buffers alternate), a width > 127 (two-byte
        # varint) and names longer than 127 bytes (two-byte string length).
        "deep_wide_k4_d3",
        5,
        header(
            4,
            [130, 5, 3],
            "relu",
            "exp",
            1e-4,
            4,
            3,
            "identity",
            [
                "inlet_temperature_degrees_celsius",
                "outlet_temperature_degrees_celsius",
                "mass_flow_kilograms_per_second",
                "ambient_pressure_hectopascal",
            ],
            ["efficiency", "loss", "margin"],
        ),
        (-2.0, 0.0),
        (-2.0, 5.0),
        [1.0],
    ),
    (
        # An ensemble: M = 3 networks of K = 2 components merged into one mixture of 6, with
        # non-uniform network weights; each network's logits are normalised on their own.
        "ensemble_m3_k2",
        6,
        header(1, [8, 8], "tanh", "nnelu", 1e-3, 2, 1, "identity", ["x"], ["y"], networks=3),
        (-2.0, 0.5),
        (-2.0, 5.0),
        [0.5, 0.3, 0.2],
    ),
    (
        # An ensemble with a log target and D = 2: M = 2 networks of K = 3 (6 components),
        # softplus with a binding floor, density zero for y <= 0.
        "ensemble_m2_k3_log_d2",
        7,
        header(
            2,
            [6],
            "relu",
            "softplus",
            0.01,
            3,
            2,
            "log",
            ["load", "speed"],
            ["energy", "heat"],
            networks=2,
        ),
        (-2.0, 0.0),
        (0.5, 2.0),
        [0.7, 0.3],
    ),
]


def make_parameters(rng, header, sigma_bias, target_offset, network_weights):
    """Deterministic parameters, each exactly an f32, with non-trivial scalers. Every network
    draws its own parameters from the same ranges; `members.log_weight` draws nothing (so a
    single network has the parameters it had in format version 1)."""
    assert len(network_weights) == header["members"]
    params = []
    for full_name, shape in layout(header):
        n = size(shape)
        fan_in = shape[1] if len(shape) == 2 else 1
        name = full_name
        if name.startswith("members.") and name != "members.log_weight":
            name = name.split(".", 2)[2]
        if name == "members.log_weight":
            values = [math.log(w) for w in network_weights]
        elif name == "input_scaler.offset":
            values = [rng.uniform(-3.0, 3.0) for _ in range(n)]
        elif name == "input_scaler.scale":
            values = [rng.uniform(0.4, 3.0) for _ in range(n)]
        elif name == "target_scaler.offset":
            values = [rng.uniform(*target_offset) for _ in range(n)]
        elif name == "target_scaler.scale":
            lo, hi = (0.3, 0.8) if header["target_transform"] == "log" else (0.3, 2.5)
            values = [rng.uniform(lo, hi) for _ in range(n)]
        elif name.startswith("hidden.") and name.endswith(".weight"):
            bound = 1.3 * math.sqrt(3.0 / fan_in)
            values = [rng.uniform(-bound, bound) for _ in range(n)]
        elif name.startswith("hidden."):
            values = [rng.uniform(-0.3, 0.3) for _ in range(n)]
        elif name == "head.logits.weight":
            values = [rng.uniform(-1.5, 1.5) / math.sqrt(fan_in) for _ in range(n)]
        elif name == "head.logits.bias":
            values = [rng.uniform(-1.0, 1.0) for _ in range(n)]
        elif name == "head.means.weight":
            values = [rng.uniform(-1.5, 1.5) / math.sqrt(fan_in) for _ in range(n)]
        elif name == "head.means.bias":
            values = [rng.uniform(-2.0, 2.0) for _ in range(n)]
        elif name == "head.sigmas.weight":
            values = [rng.uniform(-0.5, 0.5) / math.sqrt(fan_in) for _ in range(n)]
        elif name == "head.sigmas.bias":
            values = [rng.uniform(*sigma_bias) for _ in range(n)]
            if header["sigma"] == "softplus":
                # softplus(-12) = 6e-6 < floor: exercises the floor on every input.
                values[-1] = -12.0
        else:
            raise AssertionError(name)
        params += [f32(v) for v in values]
    return params


def split_networks(model):
    """Each network of `model` as a model of its own (M = 1, log weight 0.0), from the blob's
    parameter order alone: the shared scalers, then that network's slice."""
    h = model.header
    single = dict(h, members=1)
    scalers = sum(
        size(shape) for name, shape in layout(h) if not name.startswith("members.")
    )
    per_network = (len(model.parameters) - scalers - h["members"]) // h["members"]
    start = scalers + h["members"]
    out = []
    for m in range(h["members"]):
        begin = start + m * per_network
        out.append(
            Model(
                single,
                model.parameters[:scalers] + [0.0] + model.parameters[begin : begin + per_network],
            )
        )
    return out


def check_ensemble(model, vectors):
    """An ensemble is the mixture of its networks: p(y|x) = sum_m exp(w_m) p_m(y|x), and the
    mean is the weighted mean of the networks' means (a check of the reference itself)."""
    networks = split_networks(model)
    weights = model.network_log_weights()
    for v in vectors:
        x, y = v["x"], v["y"]
        if v["log_prob"] != "-inf":
            parts = [w + net.log_prob(x, y) for w, net in zip(weights, networks)]
            assert abs(log_sum_exp(parts) - v["log_prob"]) <= 1e-9 * (1 + abs(v["log_prob"]))
        for d in range(model.header["output_dim"]):
            mean = math.fsum(
                math.exp(w) * net.moments(x)[0][d] for w, net in zip(weights, networks)
            )
            assert abs(mean - v["mean"][d]) <= 1e-9 * (1 + abs(mean))


def make_vectors(rng, model, parameters, count):
    h = model.header
    t = model.tensors
    offsets, scales = t["input_scaler.offset"], t["input_scaler.scale"]
    inputs = [
        # Exactly the scaler offsets: every scaled input is zero.
        list(offsets),
        # Far outside the training range: saturating tanh, large relu activations.
        [f32(o + 8.0 * s) for o, s in zip(offsets, scales)],
        [f32(o - 6.0 * s) for o, s in zip(offsets, scales)],
    ]
    while len(inputs) < count:
        inputs.append([f32(o + s * rng.gauss(0.0, 1.5)) for o, s in zip(offsets, scales)])

    log_target = h["target_transform"] == "log"
    vectors = []
    for i, x in enumerate(inputs):
        log_alpha, mu, sigma = model.mixture(x)
        k = rng.randrange(len(log_alpha))
        # Mostly near a component; every fifth query far in the tail (up to ~9 sigma).
        spread = 6.0 if i % 5 == 4 else 1.5
        y = []
        for d in range(h["output_dim"]):
            t_d = mu[k][d] + sigma[k][d] * rng.gauss(0.0, spread)
            y.append(f32(math.exp(t_d)) if log_target else f32(t_d))
        if log_target and i % 7 == 3:
            # Density zero: one dimension at or below zero.
            y[rng.randrange(len(y))] = rng.choice([0.0, -1.5, f32(-1e-3)])
        vectors.append(vector(model, x, y))
    if log_target:
        vectors.append(vector(model, inputs[0], [0.0] * h["output_dim"]))
        vectors.append(vector(model, inputs[1], [-2.0] * h["output_dim"]))
    return vectors


def vector(model, x, y):
    log_alpha, mu, sigma = model.mixture(x)
    lp = model.log_prob(x, y)
    means, variances = model.moments(x)
    return {
        "x": x,
        "y": y,
        "log_prob": "-inf" if lp == -math.inf else lp,
        "mean": means,
        "variance": variances,
        "log_weights": log_alpha,
        "means": [m for row in mu for m in row],
        "sigmas": [s for row in sigma for s in row],
    }


def self_test():
    """Known answers for the building blocks, so a broken writer fails here first."""
    assert zlib.crc32(b"123456789") == 0xCBF43926
    assert varint(0) == b"\x00"
    assert varint(127) == b"\x7f"
    assert varint(128) == b"\x80\x01"
    assert varint(300) == b"\xac\x02"
    assert varint(2**32 - 1) == b"\xff\xff\xff\xff\x0f"
    assert abs(HALF_LN_TWO_PI - 0.5 * math.log(2.0 * math.pi)) < 4e-8
    assert log_sum_exp([0.0, 0.0]) == math.log(2.0)
    assert check_network_weights([0.0])
    assert check_network_weights([f32(math.log(w)) for w in (0.5, 0.3, 0.2)])
    assert not check_network_weights([0.0, 0.0])
    assert not check_network_weights([f32(math.log(0.5)), f32(math.log(0.4999))])


def dump(path, value):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(value, f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")


def main():
    self_test()
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    for name, seed, h, sigma_bias, target_offset, network_weights in MODELS:
        rng = random.Random(seed)
        parameters = make_parameters(rng, h, sigma_bias, target_offset, network_weights)
        blob = write_blob(h, parameters)
        parsed_header, parsed_parameters = read_blob(blob)
        assert parsed_header == h and parsed_parameters == parameters, name
        encoded = encode_header(h)
        model = Model(h, parameters)
        assert check_network_weights(model.network_log_weights()), name
        vectors = make_vectors(rng, model, parameters, 40)
        if h["members"] > 1:
            check_ensemble(model, vectors)

        tensors, offset = [], 0
        for tensor_name, shape in layout(h):
            tensors.append({"name": tensor_name, "shape": shape, "offset": offset})
            offset += size(shape)

        with open(os.path.join(GOLDEN_DIR, name + ".mdn"), "wb") as f:
            f.write(blob)
        dump(
            os.path.join(GOLDEN_DIR, name + ".json"),
            {
                "generator": "python3 tests/reference/mdn_reference.py",
                "blob": name + ".mdn",
                "format_version": FORMAT_VERSION,
                "length": len(blob),
                "crc32": struct.unpack_from("<I", blob, len(blob) - 4)[0],
                "header_hex": encoded.hex(),
                "padding": (4 - (PREFIX_LEN + len(encoded)) % 4) % 4,
                "header": h,
                "tensors": tensors,
                "parameters": parameters,
                "stored_order": stored_order(h),
            },
        )
        dump(
            os.path.join(GOLDEN_DIR, name + ".vectors.json"),
            {
                "generator": "python3 tests/reference/mdn_reference.py",
                "blob": name + ".mdn",
                "vectors": vectors,
            },
        )
        print(
            "%-24s %6d bytes, header %3d bytes, padding %d, %5d parameters, M = %d"
            % (name, len(blob), len(encoded), (4 - (PREFIX_LEN + len(encoded)) % 4) % 4,
               len(parameters), h["members"])
        )


if __name__ == "__main__":
    main()
