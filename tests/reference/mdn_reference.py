#!/usr/bin/env python3
"""Independent reference implementation of the mdn model blob, format version 4 (FORMAT.md).

This file is written from FORMAT.md alone and shares no code with mdn-core: the postcard
header is encoded by hand (LEB128 varints), parameters with `struct` (`<f` for f32, `<e` for
the IEEE binary16 weights of `f16` layers, `<b` for the two's-complement bytes of `int8` and
`int8-int16` layers, `<h` for the 16-bit integers of `int16-int16` layers), the trailer with
`zlib.crc32`, and the model is evaluated in float64 with Python's `math` (FORMAT.md section 5
in real arithmetic, not an emulation of its f32 operations). An integer network (every layer
`int8-int16` or `int16-int16`, FORMAT.md section 5, "Integer networks") is evaluated exactly
in Python integers from its quantized scaled input to its heads' sums (the scaled input is
the f32 of the format, since its quantization is a step function of it); only the heads'
`acc * factor` and what follows are float64. Standard library only.

It writes the golden files under `tests/golden/`, which `cargo test -p mdn-tests` checks
against mdn-core (`tests/tests/format_golden.rs`, `tests/tests/reference_numerics.rs`):

- `<name>.mdn`: a blob with deterministic pseudo-random parameters; a model of `M > 1`
  networks (an ensemble) is one blob whose mixture has the `K M` components of all networks;
  each dense layer's weights are stored as `f32`, `f16`, `int8`, or, in an integer network,
  `int8-int16` / `int16-int16` (the header's `storage`);
- `<name>.json`: its header fields, the hex of the encoded header, the tensor table
  (names, shapes, offsets) and the flat parameter list in logical order (tensor after
  tensor, row-major, including `calibration.*` and the `weight_scale` tensors of `int8` and
  integer layers; the blob stores them in blocks of rows, `stored_order`), so that the Rust
  side can re-encode the blob and compare bytes;
- `<name>.vectors.json`: inputs `x`, targets `y` and the float64 `log_prob`, `mean`,
  `variance` (plus the mixture parameters) of every query. A `log_prob` of `"-inf"` means
  density zero (a log target with some `y_d <= 0`); JSON has no infinity.

Every number written is exactly representable where the format stores or reads it
(parameters as f32, binary16, int8 or int16 per their layer's storage, sigma floor, x, y), so
both sides evaluate the very same inputs. The logical value of an `f16` weight is the f32 its
binary16 widens to; of an `int8` weight the integer `q` (-127 ..= 127), its row's
`weight_scale` applied after the sum (FORMAT.md section 5); of an `int8-int16` or
`int16-int16` weight the integer `q`, its row's `weight_scale` the factor that requantizes
the row's integer sum (whose bias is an integral f32). Output is deterministic: the same
script gives the same bytes.

Regenerate the golden files (from the repository root):

    python3 tests/reference/mdn_reference.py
"""

import json
import math
import os
import random
import struct
import zlib
from fractions import Fraction

MAGIC = b"MDN\x00"
FORMAT_VERSION = 4
# FORMAT.md section 3.1: a layer's weights are stored in blocks of this many rows.
ROW_BLOCK = 8
PREFIX_LEN = 10
TRAILER_LEN = 4
MAX_HIDDEN_LAYERS = 8
# FORMAT.md section 2: at most 8 hidden layers plus the heads.
MAX_STORAGE_CODES = MAX_HIDDEN_LAYERS + 1
# FORMAT.md section 4: the network weights exp(members.log_weight) add up to one within this.
WEIGHT_SUM_TOLERANCE = 1e-4

ACTIVATIONS = {"relu": 0, "tanh": 1}
SIGMAS = {"nnelu": 0, "softplus": 1, "exp": 2}
TARGETS = {"identity": 0, "log": 1}
# FORMAT.md sections 2 and 3.1: a dense layer's weight storage, its code and bytes per weight.
STORAGE = {"f32": 0, "f16": 1, "int8": 2, "int8-int16": 3, "int16-int16": 4}
STORAGE_BYTES = {"f32": 4, "f16": 2, "int8": 1, "int8-int16": 1, "int16-int16": 2}
# The integer storages (FORMAT.md section 5, "Integer networks"): every layer of an integer
# network has one of them, and the relu activation (section 4, `InvalidIntegerNetwork`).
INTEGER_STORAGE = ("int8-int16", "int16-int16")
# The storages whose layers carry a `weight_scale` tensor, one f32 per row (section 3): the
# int8 row scales, the integer layers' factors.
ROW_SCALED = ("int8",) + INTEGER_STORAGE
# FORMAT.md section 3: writers quantize int8 weights to -127 ..= 127 (readers accept -128).
INT8_MAX = 127
# FORMAT.md section 3: the weight range of each integer storage, as a writer may use it.
INTEGER_WEIGHT_RANGE = {"int8-int16": (-128, 127), "int16-int16": (-32768, 32767)}
# FORMAT.md section 5, "Integer networks": the scaled input is quantized to steps of
# 2^-INPUT_STEP_BITS; activations are int16 within +-ACTIVATION_MAX; sums are 32-bit.
INPUT_STEP_BITS = 11
ACTIVATION_MAX = 32767
I32_MIN, I32_MAX = -(2**31), 2**31 - 1
# How the golden integer networks are drawn (a writer's choice, not the format's): hidden
# activations in steps of 2^-10, the largest |q| of each storage (`integer_rows`), as mdn's
# test generator (tests/src/generate.rs, `INPUT_STEP`, `HIDDEN_STEP`) does.
INPUT_STEP = 2.0**-INPUT_STEP_BITS
HIDDEN_STEP = 2.0**-10
INTEGER_LIMIT = {"int8-int16": 127, "int16-int16": 1000}

# FORMAT.md section 5 defines C as the f32 nearest ln(2 pi) / 2 (bits 0x3F6B3F8E); the
# reference uses that value so it computes the function the format defines. It differs from
# the exact ln(2 pi) / 2 by 3.5e-8, far below the parity tolerance.
HALF_LN_TWO_PI = struct.unpack("<f", struct.pack("<I", 0x3F6B3F8E))[0]
SOFTPLUS_THRESHOLD = 20.0

GOLDEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "golden")


def f32(value):
    """`value` rounded to the nearest f32 (struct rounds to nearest-even)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def f16(value):
    """`value` rounded to the nearest IEEE binary16 (struct's `e` rounds to nearest-even),
    as the float it widens to."""
    return struct.unpack("<e", struct.pack("<e", value))[0]


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
    # `storage`: a postcard seq of u8, one code per dense layer (hidden layers, then heads).
    storage = header["storage"]
    if len(storage) != len(header["hidden"]) + 1 or len(storage) > MAX_STORAGE_CODES:
        raise ValueError("storage needs one code per hidden layer plus one for the heads")
    check_integer_network(header)
    out += varint(len(storage))
    for kind in storage:
        out.append(STORAGE[kind])
    out.append(ACTIVATIONS[header["activation"]])
    out.append(SIGMAS[header["sigma"]])
    out += struct.pack("<f", header["sigma_floor"])
    out.append(TARGETS[header["target_transform"]])
    out += postcard_str("\n".join(header["feature_names"]))
    out += postcard_str("\n".join(header["target_names"]))
    return bytes(out)


def is_integer_network(header):
    """Whether the network computes in integers (FORMAT.md section 5, "Integer networks")."""
    return any(kind in INTEGER_STORAGE for kind in header["storage"])


def check_integer_network(header):
    """FORMAT.md section 4 (`InvalidIntegerNetwork`): an integer storage in every dense layer
    or in none, and then the relu activation."""
    if is_integer_network(header) and not (
        all(kind in INTEGER_STORAGE for kind in header["storage"])
        and header["activation"] == "relu"
    ):
        raise ValueError("an integer network is integer in every layer, and relu")


def network_prefix(m):
    """The prefix of network m's tensor names (FORMAT.md section 3): `members.m.`."""
    return "members.%d." % m


SHARED_TENSORS = (
    "input_scaler.offset",
    "input_scaler.scale",
    "target_scaler.offset",
    "target_scaler.scale",
    "members.log_weight",
    "calibration.sigma_scale",
    "calibration.temperature",
)
HEADS = ("logits", "means", "sigmas")


def layer_storage(header, name):
    """The storage of the dense layer a network tensor belongs to (`hidden.i.*` or `head.*`,
    without the `members.m.` prefix): the header's `storage[i]`, the heads the last code."""
    if name.startswith("hidden."):
        return header["storage"][int(name.split(".")[1])]
    assert name.startswith("head."), name
    return header["storage"][len(header["hidden"])]


def layout(header):
    """(name, shape) of every tensor in logical order (FORMAT.md section 3): the shared
    tensors (scalers, network log weights, calibration), then the M networks one after the
    other; the `weight_scale` (one per row) of an `int8` or integer layer follows each of its
    weights."""
    f, d, k = header["input_dim"], header["output_dim"], header["components"]
    shapes = {
        "input_scaler.offset": [f],
        "input_scaler.scale": [f],
        "target_scaler.offset": [d],
        "target_scaler.scale": [d],
        "members.log_weight": [header["members"]],
        "calibration.sigma_scale": [d],
        "calibration.temperature": [1],
    }
    tensors = [(name, shapes[name]) for name in SHARED_TENSORS]
    assert len(header["storage"]) == len(header["hidden"]) + 1
    for m in range(header["members"]):
        prefix = network_prefix(m)
        layers = []
        fan_in = f
        for i, width in enumerate(header["hidden"]):
            layers.append(("hidden.%d" % i, width, fan_in))
            fan_in = width
        layers += [("head.logits", k, fan_in), ("head.means", k * d, fan_in),
                   ("head.sigmas", k * d, fan_in)]
        for name, rows, cols in layers:
            tensors.append((prefix + name + ".weight", [rows, cols]))
            if layer_storage(header, name) in ROW_SCALED:
                tensors.append((prefix + name + ".weight_scale", [rows]))
            tensors.append((prefix + name + ".bias", [rows]))
    return tensors


def size(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def stored_values(header):
    """Every value of the parameter section in stored order (FORMAT.md section 3.1), as
    (index, storage): `index` is the parameter's index in logical order (tensor after
    tensor, row-major), or None for a weight of a zero row that fills a layer's last block;
    `storage` is how it is stored, "f32" (4 bytes), or "f16" / "int16-int16" (2) and "int8" /
    "int8-int16" (1) for the packed weights of such a layer."""
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

    values = []
    for name in SHARED_TENSORS:
        values += [(i, "f32") for i in vector(name)]
    for m in range(header["members"]):
        prefix = network_prefix(m)
        # (storage, weight rows, row scales or factors (int8 and integer layers only),
        # biases) of each dense layer; the three heads are stored as one layer: logit rows,
        # mean rows, sigma rows.
        layers = []
        for i in range(len(header["hidden"])):
            name = prefix + "hidden.%d" % i
            kind = header["storage"][i]
            scales = vector(name + ".weight_scale") if kind in ROW_SCALED else []
            layers.append((kind, rows(name + ".weight"), scales, vector(name + ".bias")))
        kind = header["storage"][len(header["hidden"])]
        heads = [prefix + "head.%s" % h for h in HEADS]
        layers.append((
            kind,
            sum((rows(h + ".weight") for h in heads), []),
            sum((vector(h + ".weight_scale") for h in heads), []) if kind in ROW_SCALED
            else [],
            sum((vector(h + ".bias") for h in heads), []),
        ))
        for kind, weight_rows, scales, bias in layers:
            cols = len(weight_rows[0])
            while len(weight_rows) % ROW_BLOCK:
                weight_rows.append([None] * cols)
            for block in range(0, len(weight_rows), ROW_BLOCK):
                for c in range(cols):
                    for r in range(block, block + ROW_BLOCK):
                        values.append((weight_rows[r][c], kind))
            values += [(i, "f32") for i in scales]
            values += [(i, "f32") for i in bias]
    assert sorted(i for i, _ in values if i is not None) == list(range(offset))
    return values


def stored_order(header):
    """For each 32-bit word of the parameter section (FORMAT.md section 3.1): the index in
    logical order of the f32 stored there (None for a zero-row weight of an `f32` layer), or,
    for a word of packed weights, the list of the 2 (`f16`, `int16-int16`) or 4 (`int8`,
    `int8-int16`) indices it holds in byte order (None for zero-row weights). All-f32 models
    give exactly format version 3's list (one index or None per word)."""
    order, pending = [], []
    for index, kind in stored_values(header):
        if kind == "f32":
            assert not pending
            order.append(index)
        else:
            pending.append(index)
            if len(pending) * STORAGE_BYTES[kind] == 4:
                order.append(pending)
                pending = []
    assert not pending
    return order


def exact_value(kind, value):
    """`value` as stored with `kind`; fails for a value the storage does not hold exactly
    (FORMAT.md section 3: a writer fails rather than round) or a non-finite one."""
    if not math.isfinite(value):
        raise ValueError("non-finite parameter %r" % value)
    if kind == "f32":
        raw = struct.pack("<f", value)
        ok = struct.unpack("<f", raw)[0] == value
    elif kind == "f16":
        raw = struct.pack("<e", value)
        ok = struct.unpack("<e", raw)[0] == value
    elif kind == "int8":
        ok = value == int(value) and -INT8_MAX <= value <= INT8_MAX
        raw = struct.pack("<b", int(value)) if ok else b""
    else:
        lo, hi = INTEGER_WEIGHT_RANGE[kind]
        ok = value == int(value) and lo <= value <= hi
        code = "<b" if kind == "int8-int16" else "<h"
        raw = struct.pack(code, int(value)) if ok else b""
    if not ok:
        raise ValueError("%r is not exactly an %s value" % (value, kind))
    # -0.0 stays -0.0 in f32 and f16; an integer zero has one encoding.
    return raw


def parameter_section(header, parameters):
    """The parameter section: every value in stored order, f32 LE, or binary16 LE / one
    two's-complement byte / a 16-bit two's-complement integer LE for the weights of `f16` /
    `int8` and `int8-int16` / `int16-int16` layers; zero rows as +0.0 / 0."""
    tensors = layout(header)
    assert len(parameters) == sum(size(shape) for _, shape in tensors)
    check_integer_network(header)
    # Values that must be > 0 (FORMAT.md section 4, `InvalidScale`), and the biases of an
    # integer layer, f32 values that hold integers (section 3).
    offset = 0
    for name, shape in tensors:
        n = size(shape)
        values = parameters[offset : offset + n]
        if name in ("input_scaler.scale", "calibration.sigma_scale",
                    "calibration.temperature") or name.endswith(".weight_scale"):
            if not all(v > 0.0 for v in values):
                raise ValueError("%s must be > 0" % name)
        if name.endswith(".bias") and is_integer_network(header):
            if not all(math.isfinite(v) and v == int(v) for v in values):
                raise ValueError("%s of an integer layer must hold integers" % name)
        offset += n
    section = bytearray()
    for index, kind in stored_values(header):
        section += exact_value(kind, 0.0 if index is None else parameters[index])
    assert len(section) % 4 == 0
    return bytes(section)


def write_blob(header, parameters):
    """The whole blob: prefix, header, zero padding, parameter section in stored order,
    CRC-32 trailer."""
    section = parameter_section(header, parameters)
    encoded = encode_header(header)
    header_end = PREFIX_LEN + len(encoded)
    padding = (4 - header_end % 4) % 4
    length = header_end + padding + len(section) + TRAILER_LEN
    body = bytearray()
    body += MAGIC
    body += struct.pack("<H", FORMAT_VERSION)
    body += struct.pack("<I", length)
    body += encoded
    body += b"\x00" * padding
    body += section
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
    count, pos = read_varint(blob, pos)
    assert count == len(h["hidden"]) + 1, "StorageCount"
    codes = {v: k for k, v in STORAGE.items()}
    h["storage"] = [codes[b] for b in blob[pos : pos + count]]
    pos += count
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
    check_integer_network(h)
    start = pos + (4 - pos % 4) % 4
    assert all(b == 0 for b in blob[pos:start])
    end = length - TRAILER_LEN
    values = stored_values(h)
    assert sum(STORAGE_BYTES[kind] for _, kind in values) == end - start
    parameters = [None] * sum(i is not None for i, _ in values)
    formats = {"f32": "<f", "f16": "<e", "int8": "<b", "int8-int16": "<b", "int16-int16": "<h"}
    pos = start
    for index, kind in values:
        (value,) = struct.unpack_from(formats[kind], blob, pos)
        value = float(value)
        pos += STORAGE_BYTES[kind]
        assert math.isfinite(value)
        if index is None:
            # Writers write +0.0 (or 0) in zero rows.
            assert value == 0.0 and math.copysign(1.0, value) == 1.0
        else:
            parameters[index] = value
    assert pos == end
    return h, parameters


# ---------------------------------------------------------------------------------------
# Evaluator: FORMAT.md section 5, in float64; integer networks exactly, in Python integers.
# ---------------------------------------------------------------------------------------


class Model:
    def __init__(self, header, parameters):
        self.header = header
        self.parameters = parameters
        self.integer = is_integer_network(header)
        check_integer_network(header)
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

    def dense(self, m, name, v):
        """Dense layer `name` (`hidden.i` or `head.*`) of network m (FORMAT.md section 5):
        `acc` sums the logical weights times the inputs (an f16 weight is the value it widens
        to, an int8 weight the integer q); an int8 layer then multiplies by its row scale,
        `z = (acc * scale) + b`, any other layer adds the bias, `z = acc + b`."""
        assert not self.integer, "an integer network computes in `integer_network`"
        prefix = network_prefix(m) + name
        weight = self.tensors[prefix + ".weight"]
        bias = self.tensors[prefix + ".bias"]
        if layer_storage(self.header, name) == "int8":
            scales = self.tensors[prefix + ".weight_scale"]
        else:
            scales = None
        out = []
        for o, (row, b) in enumerate(zip(weight, bias)):
            acc = 0.0
            for w, x in zip(row, v):
                acc += w * x
            if scales is not None:
                acc = acc * scales[o]
            out.append(acc + b)
        return out

    def integer_layer(self, m, name, a):
        """The sums of integer layer `name` (`hidden.i` or `head.*`) of network m on the
        integer activations `a` (FORMAT.md section 5, "Integer networks", step 2):
        `acc = B[o] + sum_i q[o][i] * a[i]`, `B` the bias's f32 converted toward zero,
        saturating. Returns the exact sums, not yet wrapped to 32 bits (a writer keeps them
        in range; `check_integer_evaluation` checks the golden models do), and the rows'
        factors (`weight_scale`)."""
        prefix = network_prefix(m) + name
        weight = self.tensors[prefix + ".weight"]
        bias = self.tensors[prefix + ".bias"]
        sums = [
            f32_to_i32(b) + sum(int(q) * ai for q, ai in zip(row, a))
            for row, b in zip(weight, bias)
        ]
        return sums, self.tensors[prefix + ".weight_scale"]

    def integer_network(self, m, a):
        """Network m of an integer network on its quantized input `a` (`network_input`), in
        exact integer arithmetic (FORMAT.md section 5, "Integer networks", steps 2 and 3):
        each hidden layer's activations `min(max(R(acc, F), 0), 32767)` of its wrapped sums.
        Returns (per hidden layer: its exact sums and its activations, per head: its exact
        sums and factors)."""
        layers = []
        for i in range(len(self.header["hidden"])):
            sums, factors = self.integer_layer(m, "hidden.%d" % i, a)
            a = [
                min(max(requantize(wrap_i32(acc), factor), 0), ACTIVATION_MAX)
                for acc, factor in zip(sums, factors)
            ]
            layers.append((sums, a))
        heads = [self.integer_layer(m, "head." + head, a) for head in HEADS]
        return layers, heads

    def heads(self, m, v):
        """The raw outputs of network m's three heads (logits, means, sigma pre-activations)
        on its input `v` (`network_input`). An integer network's are `acc * F[o]` (step 4:
        the f32 of the wrapped sum times the factor; here in real arithmetic, the sum
        exact)."""
        if self.integer:
            _, heads = self.integer_network(m, v)
            return [
                [wrap_i32(acc) * factor for acc, factor in zip(sums, factors)]
                for sums, factors in heads
            ]
        for i in range(len(self.header["hidden"])):
            z = self.dense(m, "hidden.%d" % i, v)
            if self.header["activation"] == "relu":
                v = [zi if zi > 0.0 else 0.0 for zi in z]
            else:
                v = [math.tanh(zi) for zi in z]
        return [self.dense(m, "head." + head, v) for head in HEADS]

    def network_input(self, x):
        """What every network reads (FORMAT.md section 5): the scaled input
        `s_i = (x_i - offset_i) / scale_i`, in float64; for an integer network the f32 `s_i`
        (each operation rounded to f32: its quantization is a step function of those bits)
        quantized to int16 steps (`quantize_input`)."""
        t = self.tensors
        pairs = list(zip(x, t["input_scaler.offset"], t["input_scaler.scale"]))
        if self.integer:
            # float64 then f32 rounding of an f32 - or / is the f32 operation
            # (53 >= 2 * 24 + 2 bits: the double rounding is innocuous).
            return quantize_input([f32(f32(xi - o) / s) for xi, o, s in pairs])
        return [(xi - o) / s for xi, o, s in pairs]

    def network(self, m, v):
        """Network m on its input `v` (`network_input`): (log_alpha[k], mu[k][d], sigma[k][d])
        of its K components, with log_alpha_k = (l_mk - lse(l_m)) + w_m,
        l_mk = head_mk / temperature (FORMAT.md section 5)."""
        h = self.header
        t = self.tensors
        raw_logits, u, z = self.heads(m, v)
        # The logits divided by the temperature (identity 1.0: x / 1.0 is x).
        (temperature,) = t["calibration.temperature"]
        logits = [l / temperature for l in raw_logits]
        lse = log_sum_exp(logits)
        w_m = self.network_log_weights()[m]
        log_alpha = [(l - lse) + w_m for l in logits]
        k_count, d_count = h["components"], h["output_dim"]
        offset, scale = t["target_scaler.offset"], t["target_scaler.scale"]
        sigma_scale = t["calibration.sigma_scale"]
        floor = h["sigma_floor"]
        mu, sigma = [], []
        for k in range(k_count):
            mu_row, sigma_row = [], []
            for d in range(d_count):
                row = k * d_count + d
                mu_row.append(u[row] * scale[d] + offset[d])
                s = sigma_transform(h["sigma"], z[row])
                s = s if s > floor else floor
                # (t * target_scale[d]) * sigma_scale[d] (identity 1.0: x * 1.0 is x).
                sigma_row.append((s * scale[d]) * sigma_scale[d])
            mu.append(mu_row)
            sigma.append(sigma_row)
        return log_alpha, mu, sigma

    def mixture(self, x):
        """(log_alpha[j], mu[j][d], sigma[j][d]) of the K M components in original target
        units; component k of network m is j = m*K + k."""
        v = self.network_input(x)
        log_alpha, mu, sigma = [], [], []
        for m in range(self.header["members"]):
            la, mu_m, sigma_m = self.network(m, v)
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


def roundf(value):
    """C's `roundf` on a float (half away from zero), exactly: `abs(value) - floor` is
    exact."""
    if not math.isfinite(value):
        return value
    n = math.floor(abs(value))
    if abs(value) - n >= 0.5:
        n += 1
    return math.copysign(float(n), value)


def quantize_input(scaled):
    """FORMAT.md section 5, "Integer networks", step 1: each f32 scaled input in int16 steps
    of 2^-11, `min(max(roundf(s * 2048.0), -32767.0), 32767.0)` as an integer (`max` / `min`
    return the other operand for a NaN, so a NaN gives -32767)."""
    out = []
    for s in scaled:
        v = roundf(s * 2.0**INPUT_STEP_BITS)  # the product is exact: a power of two
        v = -float(ACTIVATION_MAX) if math.isnan(v) else max(v, -float(ACTIVATION_MAX))
        out.append(int(min(v, float(ACTIVATION_MAX))))
    return out


def f32_to_i32(value):
    """An f32 bias as an integer (step 2): toward zero, saturating to 32 bits (Rust's
    `as i32`; a NaN, which validation excludes, would give 0)."""
    if math.isnan(value):
        return 0
    if value >= 2.0**31:
        return I32_MAX
    if value <= -(2.0**31):
        return I32_MIN
    return math.trunc(value)


def wrap_i32(n):
    """`n` modulo 2^32 as a two's-complement 32-bit integer: a sum of wrapping 32-bit
    additions and products is the exact sum wrapped once."""
    return (n + 2**31) % 2**32 - 2**31


def requantize(acc, factor):
    """`R(acc, F) = floor(acc * F + 1/2)` from the bits of the f32 `F > 0` (step 3): with `m`
    its significand (with the implicit bit unless subnormal) and `s = 150 - max(e, 1)` from
    its biased exponent `e`, `F = m 2^-s`; `s <= 0` (`F >= 2^23`) gives 32767 for `acc > 0`,
    else 0; otherwise `(acc m + 2^(s-1)) >> s` (Python's `>>` floors, and for `s >= 63`,
    where FORMAT.md says 0, `|acc m| < 2^55` makes it 0 too). Before the clamp to
    0 ..= 32767."""
    assert 0.0 < factor < math.inf and f32(factor) == factor, factor
    (bits,) = struct.unpack("<I", struct.pack("<f", factor))
    exponent = (bits >> 23) & 0xFF
    significand = (bits & 0x7FFFFF) | (0x800000 if exponent else 0)
    shift = 150 - max(exponent, 1)
    if shift <= 0:
        return ACTIVATION_MAX if acc > 0 else 0
    return (acc * significand + (1 << (shift - 1))) >> shift


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
    storage=None,
):
    assert len(features) == inputs and len(targets) == outputs
    if storage is None:
        storage = ["f32"] * (len(hidden) + 1)
    assert len(storage) == len(hidden) + 1
    # The keys are FORMAT.md section 2's field names: the network count is `members`.
    return {
        "input_dim": inputs,
        "output_dim": outputs,
        "components": components,
        "members": networks,
        "hidden": hidden,
        "storage": storage,
        "activation": activation,
        "sigma": sigma,
        "sigma_floor": f32(floor),
        "target_transform": target,
        "feature_names": features,
        "target_names": targets,
    }


# name, seed, header, sigma bias range (pre-activation of the sigma head), target offset range,
# network weights (one per network; `members.log_weight` stores their ln rounded to f32, and
# a single network stores [0.0]), calibration (`calibration.sigma_scale` per target,
# `calibration.temperature`), None for the identity (all ones). The first seven models are
# format version 3's: all layers f32, identity calibration, the same parameter values and
# vectors. The last two are integer networks (storage codes 3 and 4).
MODELS = [
    (
        # The classic 1-32-32 toy MDN (inverse sine), K = 5.
        "relu_nnelu_1x32x32_k5",
        1,
        header(1, [32, 32], "relu", "nnelu", 1e-3, 5, 1, "identity", ["x"], ["y"]),
        (-2.0, 0.5),
        (-2.0, 5.0),
        [1.0],
        None,
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
        None,
    ),
    (
        # Log target: log-normal components, Jacobian, y <= 0 has density zero.
        "exp_log_target",
        3,
        header(2, [6], "relu", "exp", 0.0, 2, 2, "log", ["load", "speed"], ["energy", "heat"]),
        (-2.5, -0.5),
        (0.5, 2.0),
        [1.0],
        None,
    ),
    (
        # No hidden layer: the heads read the scaled inputs directly; K = 1; the floor binds.
        "no_hidden",
        4,
        header(2, [], "relu", "nnelu", 0.25, 1, 1, "identity", ["a", "b"], ["y"]),
        (-2.5, 0.5),
        (-2.0, 5.0),
        [1.0],
        None,
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
        None,
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
        None,
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
        None,
    ),
    (
        # The twin of relu_nnelu_1x32x32_k5 (same seed, so the same f32 draws) with int8
        # hidden layers (quantized per row) and f16 heads, and a non-identity calibration.
        "int8_hidden_f16_head_1x32x32_k5",
        1,
        header(
            1,
            [32, 32],
            "relu",
            "nnelu",
            1e-3,
            5,
            1,
            "identity",
            ["x"],
            ["y"],
            storage=["int8", "int8", "f16"],
        ),
        (-2.0, 0.5),
        (-2.0, 5.0),
        [1.0],
        ([1.25], 0.8),
    ),
    (
        # An int8 ensemble: M = 2 networks of K = 3, tanh, a log target with D = 2, every
        # layer int8 (the heads too: 15 rows, one zero row; hidden widths 10 and 6, zero rows
        # in both), a sigma scale per target and temperature 1.3.
        "int8_ensemble_m2_k3_tanh_log_d2",
        9,
        header(
            3,
            [10, 6],
            "tanh",
            "exp",
            1e-3,
            3,
            2,
            "log",
            ["pressure", "flow", "valve"],
            ["power", "temperature"],
            networks=2,
            storage=["int8", "int8", "int8"],
        ),
        (-2.0, -0.5),
        (0.5, 2.0),
        [0.6, 0.4],
        ([0.75, 1.5], 1.3),
    ),
    (
        # No hidden layer with f16 heads: 3 inputs, K = 2, softplus with a binding floor.
        "f16_head_no_hidden_k2",
        10,
        header(
            3,
            [],
            "relu",
            "softplus",
            0.05,
            2,
            1,
            "identity",
            ["x1", "x2", "x3"],
            ["y"],
            storage=["f16"],
        ),
        (-2.0, 0.5),
        (-2.0, 5.0),
        [1.0],
        None,
    ),
    (
        # An integer network, the twin of relu_nnelu_1x32x32_k5 (same seed, the same f32
        # draws): int8 weights on int16 activations in the hidden layers, 16-bit weights in
        # the heads (FORMAT.md section 5, "Integer networks"), a non-identity calibration.
        "int8_int16_1x32x32_k5",
        1,
        header(
            1,
            [32, 32],
            "relu",
            "nnelu",
            1e-3,
            5,
            1,
            "identity",
            ["x"],
            ["y"],
            storage=["int8-int16", "int8-int16", "int16-int16"],
        ),
        (-2.0, 0.5),
        (-2.0, 5.0),
        [1.0],
        ([1.25], 0.8),
    ),
    (
        # An integer ensemble, the twin of ensemble_m2_k3_log_d2 (same seed): every layer
        # int8-int16 (hidden width 6 and the 15 head rows: zero rows in both last blocks),
        # a log target with D = 2, softplus with a binding floor, `y <= 0`.
        "int8_int16_ensemble_m2_k3_log_d2",
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
            storage=["int8-int16", "int8-int16"],
        ),
        (-2.0, 0.0),
        (0.5, 2.0),
        [0.7, 0.3],
        None,
    ),
]


def quantize_rows(weights, rows, cols):
    """Symmetric per-row int8 quantization of f32 weights (row-major): per row
    `scale = max|w| / 127` rounded to f32 (1.0 for an all-zero row), `q = w / scale` rounded
    half to even and clamped to -127 ..= 127. Returns (q as floats, scales)."""
    q, scales = [], []
    for r in range(rows):
        row = weights[r * cols : (r + 1) * cols]
        largest = max(abs(w) for w in row)
        scale = f32(largest / INT8_MAX) if largest > 0.0 else 1.0
        assert scale > 0.0
        scales.append(scale)
        # round() is round-half-even; float(int) gives +0.0 for a zero.
        q += [float(max(-INT8_MAX, min(INT8_MAX, round(w / scale)))) for w in row]
    return q, scales


def integer_steps(header, name):
    """(s_in, s_out): the steps of the input and output activations of the integer layer a
    network tensor belongs to (`hidden.i.*` or `head.*`, without `members.m.`), as the golden
    integer networks choose them: the scaled input's 2^-11 (FORMAT.md section 5) into the
    first layer, 2^-10 between hidden layers, 1 out of the heads (their outputs are reals)."""
    if name.startswith("hidden."):
        i = int(name.split(".")[1])
        return (INPUT_STEP if i == 0 else HIDDEN_STEP), HIDDEN_STEP
    assert name.startswith("head."), name
    return (INPUT_STEP if not header["hidden"] else HIDDEN_STEP), 1.0


def integer_rows(weights, rows, bound, kind, steps):
    """An integer layer's weights from f32 draws in `[-bound, bound]` (row-major): with
    `limit` 127 (`int8-int16`) or 1000 (`int16-int16`, so that 32 inputs of 32767 stay far
    inside 32 bits), `q = round_half_even(w / bound * limit)` and every row's factor
    `F = f32((bound / limit) * s_in / s_out)` for the layer's steps `(s_in, s_out)`
    (`integer_steps`; FORMAT.md section 5: `F = s_w * s_in / s_out`, `s_w = bound / limit`
    the weight step). Returns (q as floats, factors)."""
    limit = INTEGER_LIMIT[kind]
    s_in, s_out = steps
    factor = f32(bound / limit * s_in / s_out)
    assert factor > 0.0
    # |w| <= bound, so |q| <= limit; float(int) gives +0.0 for a zero.
    return [float(round(w / bound * limit)) for w in weights], [factor] * rows


def make_parameters(rng, header, sigma_bias, target_offset, network_weights, calibration):
    """Deterministic parameters, each exactly an f32, with non-trivial scalers. Every network
    draws its own parameters from the same ranges; `members.log_weight` and the calibration
    draw nothing (so a single all-f32 network has the parameters it had in format version 1).
    The weights of an `f16` layer are the f32 draws rounded to binary16; of an `int8` layer
    the draws quantized per row (`quantize_rows`), whose scales are its `weight_scale`
    tensors (they draw nothing either). An integer layer quantizes its weight draws by their
    range (`integer_rows`), its factors are its `weight_scale`, and its biases are the f32
    bias draws in units of its sums, `f32(round_half_even(b / (F[o] * s_out)))` (the real
    bias `B * F * s_out`; an f32 holding an integer), so the integer network computes the
    same kind of function as the float ones, on the same draws."""
    assert len(network_weights) == header["members"]
    if calibration is None:
        calibration = ([1.0] * header["output_dim"], 1.0)
    sigma_scale, temperature = calibration
    assert len(sigma_scale) == header["output_dim"]
    params = []
    row_scales = None
    # An integer layer's bias step per row, F[o] * s_out, from its factors.
    bias_steps = None
    for full_name, shape in layout(header):
        n = size(shape)
        fan_in = shape[1] if len(shape) == 2 else 1
        name = full_name
        if name.startswith("members.") and name != "members.log_weight":
            name = name.split(".", 2)[2]
        if name == "members.log_weight":
            values = [math.log(w) for w in network_weights]
        elif name == "calibration.sigma_scale":
            values = list(sigma_scale)
        elif name == "calibration.temperature":
            values = [temperature]
        elif name.endswith(".weight_scale"):
            # The scales of the weight tensor just before (logical order, FORMAT.md 3).
            assert row_scales is not None and len(row_scales) == n
            params += row_scales
            if layer_storage(header, name) in INTEGER_STORAGE:
                s_out = integer_steps(header, name)[1]
                bias_steps = [factor * s_out for factor in row_scales]
            row_scales = None
            continue
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
            bound = 1.5 / math.sqrt(fan_in)
            values = [rng.uniform(-1.5, 1.5) / math.sqrt(fan_in) for _ in range(n)]
        elif name == "head.logits.bias":
            values = [rng.uniform(-1.0, 1.0) for _ in range(n)]
        elif name == "head.means.weight":
            bound = 1.5 / math.sqrt(fan_in)
            values = [rng.uniform(-1.5, 1.5) / math.sqrt(fan_in) for _ in range(n)]
        elif name == "head.means.bias":
            values = [rng.uniform(-2.0, 2.0) for _ in range(n)]
        elif name == "head.sigmas.weight":
            bound = 0.5 / math.sqrt(fan_in)
            values = [rng.uniform(-0.5, 0.5) / math.sqrt(fan_in) for _ in range(n)]
        elif name == "head.sigmas.bias":
            values = [rng.uniform(*sigma_bias) for _ in range(n)]
            if header["sigma"] == "softplus":
                # softplus(-12) = 6e-6 < floor: exercises the floor on every input.
                values[-1] = -12.0
        else:
            raise AssertionError(name)
        values = [f32(v) for v in values]
        if name.endswith(".weight"):
            kind = layer_storage(header, name)
            if kind == "f16":
                values = [f16(v) for v in values]
            elif kind == "int8":
                values, row_scales = quantize_rows(values, shape[0], shape[1])
            elif kind in INTEGER_STORAGE:
                steps = integer_steps(header, name)
                values, row_scales = integer_rows(values, shape[0], f32(bound), kind, steps)
        elif name.endswith(".bias") and bias_steps is not None:
            assert len(bias_steps) == n
            values = [f32(float(round(b / step))) for b, step in zip(values, bias_steps)]
            bias_steps = None
        params += values
    assert row_scales is None and bias_steps is None
    return params


def split_networks(model):
    """Each network of `model` as a model of its own (M = 1, log weight 0.0), from the
    parameters' logical order alone: the shared scalers, [0.0], the shared calibration, then
    that network's slice."""
    h = model.header
    single = dict(h, members=1)
    sizes = dict(layout(h))
    scalers = sum(size(sizes[name]) for name in SHARED_TENSORS[:4])
    calibration = sum(size(sizes[name]) for name in SHARED_TENSORS[5:])
    start = scalers + h["members"] + calibration
    per_network = (len(model.parameters) - start) // h["members"]
    out = []
    for m in range(h["members"]):
        begin = start + m * per_network
        out.append(
            Model(
                single,
                model.parameters[:scalers]
                + [0.0]
                + model.parameters[scalers + h["members"] : start]
                + model.parameters[begin : begin + per_network],
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


def dequantized(model):
    """The float model an integer network stands for: every layer `f32` (evaluated in
    float64), with the real weights and biases its integers and factors represent for the
    activation steps of `integer_steps`, `W = q F s_out / s_in` and `b = B F s_out` (so
    `z = acc F s_out`, the layer's output in real units)."""
    h = model.header
    parameters = []
    for full_name, shape in layout(h):
        values = model.tensors[full_name]
        if full_name.endswith(".weight_scale"):
            continue
        if full_name.startswith("members.") and full_name != "members.log_weight":
            name = full_name.split(".", 2)[2]
            factors = model.tensors[full_name.rsplit(".", 1)[0] + ".weight_scale"]
            s_in, s_out = integer_steps(h, name)
            if name.endswith(".weight"):
                values = [[q * f * s_out / s_in for q in row]
                          for row, f in zip(values, factors)]
            else:
                values = [f32_to_i32(b) * f * s_out for b, f in zip(values, factors)]
        parameters += [v for row in values for v in row] if len(shape) == 2 else list(values)
    return Model(dict(h, storage=["f32"] * len(h["storage"])), parameters)


def check_integer_evaluation(model, inputs):
    """An integer network against its dequantized float network (`dequantized`, float64) on
    `inputs`: every hidden activation and head output agrees within the quantization error
    propagated through the layers (the scaled input's rounding to 2^-11, at most half a step,
    plus its f32 rounding; each hidden layer's requantization, half a step; `sum |W| err` of
    the inputs' errors through a layer, relu and the real heads being 1-Lipschitz), which
    needs no saturated activation and no sum outside 32 bits (asserted). Returns per hidden
    layer (zero, in-between and 32767 activations), and the largest |sum| and the largest
    head error in units of its own bound."""
    plain = dequantized(model)
    h = model.header
    counts = [[0, 0, 0] for _ in h["hidden"]]
    largest_sum, worst = 0, 0.0
    for x in inputs:
        a = model.network_input(x)
        s = plain.network_input(x)
        assert all(abs(ai) < ACTIVATION_MAX for ai in a), (x, a)
        for m in range(h["members"]):
            layers, heads = model.integer_network(m, a)
            v, err = s, [0.5 * INPUT_STEP + abs(si) * 2.0**-23 for si in s]
            for i, (sums, activations) in enumerate(layers):
                name = network_prefix(m) + "hidden.%d" % i
                z = plain.dense(m, "hidden.%d" % i, v)
                err = [
                    sum(abs(w) * e for w, e in zip(row, err)) + 0.5 * HIDDEN_STEP
                    for row in plain.tensors[name + ".weight"]
                ]
                v = [zi if zi > 0.0 else 0.0 for zi in z]
                for acc, ai, vi, ei in zip(sums, activations, v, err):
                    assert I32_MIN <= acc <= I32_MAX, (name, acc)
                    largest_sum = max(largest_sum, abs(acc))
                    assert ai < ACTIVATION_MAX, (name, x)
                    assert abs(ai * HIDDEN_STEP - vi) <= ei * (1 + 1e-9) + 1e-12, (name, x)
                    counts[i][0 if ai == 0 else 2 if ai == ACTIVATION_MAX else 1] += 1
            for head, (sums, factors) in zip(HEADS, heads):
                name = network_prefix(m) + "head." + head
                z = plain.dense(m, "head." + head, v)
                rows = plain.tensors[name + ".weight"]
                for acc, factor, zi, row in zip(sums, factors, z, rows):
                    assert I32_MIN <= acc <= I32_MAX, (name, acc)
                    largest_sum = max(largest_sum, abs(acc))
                    bound = sum(abs(w) * e for w, e in zip(row, err)) * (1 + 1e-9)
                    bound += 1e-12 * (1.0 + abs(zi))
                    assert abs(acc * factor - zi) <= bound, (name, x, acc * factor, zi, bound)
                    worst = max(worst, abs(acc * factor - zi) / bound)
    return counts, largest_sum, worst


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
    self_test_storage()
    self_test_layout()
    self_test_evaluation()
    self_test_integer()


def raises(function, *args):
    try:
        function(*args)
    except (ValueError, OverflowError):
        return True
    return False


def self_test_storage():
    """Known bytes of the three storages and of a small version-4 blob."""
    assert exact_value("f32", -2.5) == bytes.fromhex("000020c0")
    assert exact_value("f16", 1.0) == bytes.fromhex("003c")
    assert exact_value("f16", -2.0) == bytes.fromhex("00c0")
    assert exact_value("f16", 65504.0) == bytes.fromhex("ff7b")
    assert exact_value("f16", 2.0**-24) == bytes.fromhex("0100")  # smallest subnormal
    assert exact_value("int8", -127.0) == b"\x81" and exact_value("int8", 127.0) == b"\x7f"
    assert exact_value("int8", 0.0) == b"\x00" and exact_value("int8", -0.0) == b"\x00"
    assert f16(1.0 / 3.0) == 0.333251953125
    # Writers fail rather than round.
    assert raises(exact_value, "f32", 0.1)
    assert raises(exact_value, "f16", f32(0.1))
    assert raises(exact_value, "f16", 65520.0)
    assert raises(exact_value, "int8", 0.5)
    assert raises(exact_value, "int8", -128.0)
    assert raises(exact_value, "f32", math.nan)
    # `storage` right after `hidden`: one hidden layer of 2 (f16), int8 heads.
    h = header(1, [2], "relu", "nnelu", 0.0, 1, 1, "identity", ["x"], ["y"],
               storage=["f16", "int8"])
    assert encode_header(h) == bytes.fromhex("0101010101020201020000000000000001780179")
    assert raises(encode_header, dict(h, storage=["f16"]))
    # One int8 layer (the heads, R = 3 rows of C = 1): 7 shared f32, the 3 weight bytes and 5
    # zero-row bytes, the 3 row scales, the 3 biases.
    h = header(1, [], "relu", "nnelu", 0.0, 1, 1, "identity", ["x"], ["y"], storage=["int8"])
    parameters = tiny_int8_parameters()
    assert [name for name, _ in layout(h)][7:] == [
        "members.0.head.logits.weight", "members.0.head.logits.weight_scale",
        "members.0.head.logits.bias", "members.0.head.means.weight",
        "members.0.head.means.weight_scale", "members.0.head.means.bias",
        "members.0.head.sigmas.weight", "members.0.head.sigmas.weight_scale",
        "members.0.head.sigmas.bias",
    ]
    expected = struct.pack("<7f", 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0)
    expected += bytes([5, 0xFD, 0x7F, 0, 0, 0, 0, 0])
    expected += struct.pack("<6f", 0.5, 0.125, 2.0, 0.25, 1.0, -1.0)
    assert parameter_section(h, parameters) == expected
    assert stored_order(h) == [0, 1, 2, 3, 4, 5, 6, [7, 10, 13, None], [None] * 4,
                               8, 11, 14, 9, 12, 15]
    blob = write_blob(h, parameters)
    assert read_blob(blob) == (h, parameters)
    assert raises(write_blob, h, parameters[:8] + [0.0] + parameters[9:])  # a zero scale
    assert raises(write_blob, h, parameters[:6] + [-1.0] + parameters[7:])  # temperature
    # Known answer of the int8 arithmetic (K = 1: log_alpha = 0): z = (acc * scale) + b.
    x = 0.5
    log_alpha, mu, sigma = Model(h, parameters).mixture([x])
    assert log_alpha == [0.0]
    assert mu == [[(-3.0 * x) * 0.125 + 1.0]]
    assert sigma == [[1.0 + ((127.0 * x) * 2.0 - 1.0)]]


def tiny_int8_parameters():
    # scalers (identity), log weight 0, calibration (identity), then per head: q, scale, bias.
    return [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0,
            5.0, 0.5, 0.25, -3.0, 0.125, 1.0, 127.0, 2.0, -1.0]


def self_test_layout():
    """`stored_values` against FORMAT.md section 3.1's closed form: weight (r, c) of a layer
    of R rows, C inputs and b bytes per weight lies ((r div 8) 8 C + 8 c + r mod 8) b bytes
    after the layer's start, its scales (int8) or factors (integer layers) and then its
    biases 8 ceil(R / 8) C b bytes after it; a layer takes 2 ceil(R / 8) C b + R words, plus
    R for an int8 or integer layer. For a float network and an integer one."""
    h = header(3, [9, 17, 4], "tanh", "exp", 0.0, 3, 2, "identity", ["a", "b", "c"],
               ["y", "z"], networks=2, storage=["int8", "f16", "f32", "int8"])
    check_layout(h)
    check_layout(dict(h, activation="relu",
                      storage=["int16-int16", "int8-int16", "int16-int16", "int8-int16"]))


def check_layout(h):
    tensors = layout(h)
    starts, offset = {}, 0
    for name, shape in tensors:
        starts[name] = offset
        offset += size(shape)
    expected = {}  # logical index -> byte offset in the parameter section
    pos = 0
    for name in SHARED_TENSORS:
        for i in range(size(dict(tensors)[name])):
            expected[starts[name] + i] = pos
            pos += 4
    k, d = h["components"], h["output_dim"]
    for m in range(h["members"]):
        prefix = network_prefix(m)
        layers = [([("hidden.%d" % i, h["hidden"][i])], h["storage"][i],
                   ([h["input_dim"]] + h["hidden"])[i]) for i in range(len(h["hidden"]))]
        layers.append(([("head.logits", k), ("head.means", k * d), ("head.sigmas", k * d)],
                       h["storage"][-1], (([h["input_dim"]] + h["hidden"])[-1])))
        for parts, kind, c_count in layers:
            b = STORAGE_BYTES[kind]
            r_count = sum(rows for _, rows in parts)
            blocks = -(-r_count // ROW_BLOCK)
            after = pos + 8 * blocks * c_count * b
            r0 = 0
            for part, rows in parts:
                for r in range(rows):
                    for c in range(c_count):
                        index = starts[prefix + part + ".weight"] + r * c_count + c
                        rr = r0 + r
                        expected[index] = pos + ((rr // 8) * 8 * c_count + c * 8 + rr % 8) * b
                r0 += rows
            tails = ["weight_scale", "bias"] if kind in ROW_SCALED else ["bias"]
            for tail in tails:
                r0 = 0
                for part, rows in parts:
                    for r in range(rows):
                        expected[starts[prefix + part + "." + tail] + r] = after + 4 * (r0 + r)
                    r0 += rows
                after += 4 * r_count
            words = 2 * blocks * c_count * b + r_count + (r_count if kind in ROW_SCALED else 0)
            assert after == pos + 4 * words
            pos = after
    assert len(expected) == offset
    got, pos = {}, 0
    for index, kind in stored_values(h):
        if index is not None:
            got[index] = pos
        pos += STORAGE_BYTES[kind]
    assert got == expected
    order = stored_order(h)
    assert len(order) * 4 == pos


def self_test_evaluation():
    """Storage and calibration against their definitions (FORMAT.md section 5): an f16
    layer is an f32 layer holding the widened weights (exactly); an int8 layer an f32 layer
    holding q * scale (up to float64 rounding); the calibration rescales the sigmas and
    divides the logits, its identity changes nothing."""
    def make(storage, calibration=None, seed=11):
        h = header(2, [3, 9], "tanh", "softplus", 0.01, 2, 2, "identity", ["a", "b"],
                   ["y", "z"], networks=2, storage=storage)
        rng = random.Random(seed)
        parameters = make_parameters(rng, h, (-2.0, 0.5), (-2.0, 5.0), [0.5, 0.5],
                                     calibration)
        assert read_blob(write_blob(h, parameters)) == (h, parameters)
        return Model(h, parameters)

    inputs = [[0.3, -1.2], [4.0, 2.5], [-7.5, 0.125]]
    targets = [[0.5, 2.0], [-1.0, 3.5], [6.0, -2.0]]
    # f16: the same logical values in an f32 layout give the very same float64 results.
    half = make(["f16", "f16", "f16"])
    assert all(v == f16(v) for name, t in half.tensors.items() if name.endswith(".weight")
               for row in t for v in row)
    widened = Model(dict(half.header, storage=["f32"] * 3), half.parameters)
    assert write_blob(half.header, half.parameters) != write_blob(widened.header,
                                                                  widened.parameters)
    for x, y in zip(inputs, targets):
        assert half.mixture(x) == widened.mixture(x)
        assert half.log_prob(x, y) == widened.log_prob(x, y)
    # int8: the f32 model with weights q * scale (each exact in float64) and no scales.
    quantized = make(["int8", "f32", "int8"])
    plain_parameters = []
    for name, shape in layout(quantized.header):
        if name.endswith(".weight_scale"):
            continue
        t = quantized.tensors[name]
        if name.endswith(".weight") and name[:-len(".weight")] + ".weight_scale" in \
                quantized.tensors:
            scales = quantized.tensors[name[:-len(".weight")] + ".weight_scale"]
            assert all(q == int(q) and -INT8_MAX <= q <= INT8_MAX for row in t for q in row)
            t = [[q * scale for q in row] for row, scale in zip(t, scales)]
        plain_parameters += [v for row in t for v in row] if len(shape) == 2 else list(t)
    plain = Model(dict(quantized.header, storage=["f32"] * 3), plain_parameters)
    for x, y in zip(inputs, targets):
        for a, b in zip(flatten(quantized.mixture(x)), flatten(plain.mixture(x))):
            assert abs(a - b) <= 1e-12 * (1.0 + abs(b)), (a, b)
        a, b = quantized.log_prob(x, y), plain.log_prob(x, y)
        assert abs(a - b) <= 1e-12 * (1.0 + abs(b)), (a, b)
    # The quantization: q = round(w / scale), scale = max |w_row| / 127 in f32.
    unquantized = make(["f32", "f32", "f32"])
    for name, t in unquantized.tensors.items():
        if name.endswith("hidden.0.weight") or name.endswith("head.means.weight"):
            for row, qrow, scale in zip(t, quantized.tensors[name],
                                        quantized.tensors[name + "_scale"]):
                assert scale == f32(max(abs(w) for w in row) / 127.0)
                assert max(abs(q) for q in qrow) == 127.0
                assert all(abs(w - q * scale) <= 0.5 * scale * (1 + 1e-6)
                           for w, q in zip(row, qrow))
    # Calibration: identity gives the uncalibrated model; otherwise the sigmas scale by
    # sigma_scale[d], the means do not move, and each network's log weights are the
    # log-softmax of its logits / T (recovered from the identity model's, shift-invariant).
    base = make(["f32", "f32", "f32"])
    assert base.tensors["calibration.sigma_scale"] == [1.0, 1.0]
    assert base.tensors["calibration.temperature"] == [1.0]
    sigma_scale, temperature = [0.5, f32(1.7)], f32(1.3)
    calibrated = make(["f32", "f32", "f32"], (sigma_scale, temperature))
    k = base.header["components"]
    for x in inputs:
        la0, mu0, s0 = base.mixture(x)
        la1, mu1, s1 = calibrated.mixture(x)
        assert mu0 == mu1
        for row0, row1 in zip(s0, s1):
            for d, (a, b) in enumerate(zip(row0, row1)):
                assert abs(a * sigma_scale[d] - b) <= 1e-15 * b
        for m, w_m in enumerate(base.network_log_weights()):
            logits = [(la - w_m) / temperature for la in la0[m * k : (m + 1) * k]]
            lse = log_sum_exp(logits)
            for l, b in zip(logits, la1[m * k : (m + 1) * k]):
                assert abs((l - lse) + w_m - b) <= 1e-12 * (1.0 + abs(b))
    # Identity calibration does nothing: x / 1.0 and x * 1.0 are x. (The version-3 golden
    # vectors, regenerated with identity calibration, are the same numbers; see README.)


def self_test_integer():
    """Integer networks (FORMAT.md section 5, "Integer networks"): known bytes and a known
    answer of a small blob, the rules a writer enforces, the integer building blocks against
    independent formulas (the requantization against `fractions.Fraction`'s exact
    `floor(acc * F + 1/2)` on ties, negative sums, subnormal factors, factors >= 2^23 and a
    sweep), and a drawn integer ensemble against its dequantized float network."""
    # Storage bytes: int8-int16 takes -128 too, int16-int16 16-bit little-endian integers.
    assert exact_value("int8-int16", -128.0) == b"\x80"
    assert exact_value("int8-int16", 127.0) == b"\x7f"
    assert exact_value("int16-int16", 1000.0) == bytes.fromhex("e803")
    assert exact_value("int16-int16", -32768.0) == bytes.fromhex("0080")
    assert exact_value("int16-int16", -0.0) == b"\x00\x00"
    for kind, value in (("int8-int16", 128.0), ("int8-int16", 0.5), ("int16-int16", 32768.0),
                        ("int16-int16", -32769.0), ("int16-int16", 2.5),
                        ("int16-int16", math.inf)):
        assert raises(exact_value, kind, value), (kind, value)
    # One int8-int16 hidden layer of 2 rows (6 zero rows), int16-int16 heads (R = 3, C = 2).
    h = header(1, [2], "relu", "nnelu", 0.0, 1, 1, "identity", ["x"], ["y"],
               storage=["int8-int16", "int16-int16"])
    assert encode_header(h) == bytes.fromhex("0101010101020203040000000000000001780179")
    # Integer in every layer or in none, and relu (`InvalidIntegerNetwork`).
    assert raises(encode_header, dict(h, storage=["int8-int16", "f32"]))
    assert raises(encode_header, dict(h, storage=["int8", "int16-int16"]))
    assert raises(encode_header, dict(h, activation="tanh"))
    assert [name for name, _ in layout(h)][7:] == [
        "members.0.hidden.0.weight", "members.0.hidden.0.weight_scale",
        "members.0.hidden.0.bias",
        "members.0.head.logits.weight", "members.0.head.logits.weight_scale",
        "members.0.head.logits.bias", "members.0.head.means.weight",
        "members.0.head.means.weight_scale", "members.0.head.means.bias",
        "members.0.head.sigmas.weight", "members.0.head.sigmas.weight_scale",
        "members.0.head.sigmas.bias",
    ]
    parameters = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0,  # scalers, log weight, calibration
                  3.0, -2.0, 0.5, 0.25, 1.0, 0.0,  # hidden: q, factors, biases
                  1.0, 1.0, 1.0, 0.0,  # logits
                  2.0, 0.0, 2.0**-10, 5.0,  # means
                  0.0, -1.0, 2.0**-11, 3000.0]  # sigmas
    expected = struct.pack("<7f", 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0)
    expected += bytes([3, 0xFE, 0, 0, 0, 0, 0, 0]) + struct.pack("<4f", 0.5, 0.25, 1.0, 0.0)
    expected += struct.pack("<8h", 1, 2, 0, 0, 0, 0, 0, 0) + struct.pack("<8h", 1, 0, -1, 0,
                                                                          0, 0, 0, 0)
    expected += struct.pack("<6f", 1.0, 2.0**-10, 2.0**-11, 0.0, 5.0, 3000.0)
    assert parameter_section(h, parameters) == expected
    assert stored_order(h) == [0, 1, 2, 3, 4, 5, 6, [7, 8, None, None], [None] * 4, 9, 10,
                               11, 12, [13, 17], [21, None], [None] * 2, [None] * 2,
                               [14, 18], [22, None], [None] * 2, [None] * 2,
                               15, 19, 23, 16, 20, 24]
    assert read_blob(write_blob(h, parameters)) == (h, parameters)
    assert raises(write_blob, h, parameters[:11] + [1.5] + parameters[12:])  # bias 1.5
    assert raises(write_blob, h, parameters[:7] + [3.5] + parameters[8:])  # weight 3.5
    assert raises(write_blob, h, parameters[:7] + [128.0] + parameters[8:])  # not an int8
    assert raises(write_blob, h, parameters[:9] + [0.0] + parameters[10:])  # a zero factor
    # Known answer at x = 0.5 (a = 1024): hidden sums 1 + 3 * 1024 = 3073 and -2048, times
    # 0.5 and 0.25: 1536.5 rounds up to 1537, -512 is cut to 0 by the relu; heads: logit
    # 1537 (K = 1: log_alpha 0), mean (5 + 2 * 1537) 2^-10, sigma 1 + 3000 * 2^-11 (nnelu).
    model = Model(h, parameters)
    assert model.network_input([0.5]) == [1024]
    assert model.integer_network(0, [1024]) == (
        [([3073, -2048], [1537, 0])],
        [([1537], [1.0]), ([3079], [2.0**-10]), ([3000], [2.0**-11])],
    )
    assert model.mixture([0.5]) == ([0.0], [[3079 / 1024]], [[1.0 + 3000 / 2048]])

    # Step 1: rounding half away from zero in steps of 2^-11, saturating (NaN: -32767).
    assert quantize_input([0.0, 1.0, -(2.0**-12), 2.0**-12, 3 * 2.0**-12, -3 * 2.0**-12,
                           100.0, -1e30, math.nan, math.inf]) == [
        0, 2048, -1, 1, 2, -2, 32767, -32767, -32767, 32767]
    assert quantize_input([2.0**-12 - 2.0**-36, 16.0, f32(15.9998)]) == [0, 32767, 32767]
    # Step 2: biases toward zero, saturating; sums wrap to 32 bits.
    assert [f32_to_i32(v) for v in (2.5, -2.5, -0.0, 1e-40, 3e9, -3e9, -(2.0**31),
                                    f32(2.0**31 - 128))] == [
        2, -2, 0, 0, I32_MAX, I32_MIN, I32_MIN, 2**31 - 128]
    assert [wrap_i32(n) for n in (I32_MAX + 1, I32_MIN - 1, 2**32 + 5, -7)] == [
        I32_MIN, I32_MAX, 5, -7]
    # Step 3: R(acc, F) = floor(acc * F + 1/2) exactly, against Fraction.
    tiny = struct.unpack("<f", struct.pack("<I", 1))[0]  # 2^-149, the smallest subnormal
    big = f32(1e30)
    cases = [
        (1000, 0.5), (1001, 0.5), (-1001, 0.5), (-1, 0.5), (-3, 0.5), (3, 0.5),
        (3 * 2**23, 2.0**-24), (-3 * 2**23, 2.0**-24), (3, f32(1.0 / 3.0)),
        (2**20, 1.0 / 64.0), (2**30, 1.0), (1, big), (-1, big), (0, big), (1, 2.0**23),
        (-1, 2.0**23), (1, f32(8388607.5)), (I32_MAX, f32(1e-30)), (I32_MAX, tiny),
        (I32_MIN, tiny), (I32_MIN, 2.0**-126), (-1, tiny), (I32_MAX, 2.0**-31),
        (I32_MIN, 2.0**-31), (I32_MIN, 2.0**-32), (I32_MAX, 2.0**-32),
    ]
    sweep = random.Random(18)
    for _ in range(20000):
        bits = sweep.randrange(1, 0x7F800000)  # every positive finite f32
        factor = struct.unpack("<f", struct.pack("<I", bits))[0]
        cases.append((sweep.randint(I32_MIN, I32_MAX) >> sweep.randrange(32), factor))
    for acc, factor in cases:
        exact = math.floor(Fraction(acc) * Fraction(factor) + Fraction(1, 2))
        got = requantize(acc, factor)
        if factor < 2.0**23:
            assert got == exact, (acc, factor, got, exact)
        clamp = min(max(exact, 0), ACTIVATION_MAX)
        assert min(max(got, 0), ACTIVATION_MAX) == clamp, (acc, factor)
    assert requantize(1001, 0.5) == 501 and requantize(-1001, 0.5) == -500
    assert requantize(1, 2.0**23) == ACTIVATION_MAX and requantize(-5, big) == 0

    # A drawn integer ensemble, both integer storages, two hidden layers: the integer
    # evaluator against the float network its integers stand for.
    h = header(2, [5, 9], "relu", "softplus", 0.01, 2, 2, "identity", ["a", "b"], ["y", "z"],
               networks=2, storage=["int8-int16", "int16-int16", "int16-int16"])
    parameters = make_parameters(random.Random(11), h, (-2.0, 0.5), (-2.0, 5.0), [0.5, 0.5],
                                 None)
    assert read_blob(write_blob(h, parameters)) == (h, parameters)
    model = Model(h, parameters)
    offsets, scales = model.tensors["input_scaler.offset"], model.tensors["input_scaler.scale"]
    inputs = [[f32(o + c * s) for o, s in zip(offsets, scales)] for c in (-6.0, 0.0, 8.0)]
    inputs += [[f32(o + s * sweep.gauss(0.0, 1.5)) for o, s in zip(offsets, scales)]
               for _ in range(20)]
    counts, _, _ = check_integer_evaluation(model, inputs)
    assert all(zero and between for zero, between, _ in counts), counts
    # The golden generator's weights: |q| <= the limit, which one weight at least reaches
    # closely; the factors are F = (bound / limit) s_in / s_out.
    q = model.tensors["members.0.hidden.1.weight"]
    assert max(abs(v) for row in q for v in row) <= 1000
    factor = f32(1.3 * math.sqrt(3.0 / 5) / 1000 * HIDDEN_STEP / HIDDEN_STEP)
    assert model.tensors["members.0.hidden.1.weight_scale"] == [factor] * 9


def flatten(mixture):
    log_alpha, mu, sigma = mixture
    return list(log_alpha) + [v for row in mu for v in row] + [v for row in sigma for v in row]


# The `<name>.json` schema (format version 4 added, all else as in version 3):
# - `header.storage`: one of "f32", "f16", "int8", "int8-int16", "int16-int16" per dense
#   layer, the hidden layers input side first, then the heads (FORMAT.md section 2's
#   `storage`, codes 0 to 4), placed right after `header.hidden`;
# - `tensors` and `parameters` (logical order) also hold `calibration.sigma_scale` [D] and
#   `calibration.temperature` [1] after `members.log_weight`, and for an int8 or integer
#   layer its `*.weight_scale` [rows] (scales or factors) right after each of its weights;
#   `parameters` holds the logical values: an f16 layer's weights as the f32 values they
#   widen to, an int8 or integer layer's as the integers q (JSON numbers such as -127.0 or
#   998.0), an integer layer's biases as the integral f32 values stored; every value is an
#   exact f32;
# - `stored_order`, one entry per 32-bit word of the parameter section as before: the
#   logical index of the f32 stored there (null for a zero-row weight of an f32 layer), or,
#   for a word of packed weights, a list of the 2 (f16, int16-int16) / 4 (int8, int8-int16)
#   logical indices it holds in byte order (null for zero-row weights). All-f32 models keep
#   version 3's shape of it.


def dump(path, value):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(value, f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")


def main():
    self_test()
    os.makedirs(GOLDEN_DIR, exist_ok=True)
    for name, seed, h, sigma_bias, target_offset, network_weights, calibration in MODELS:
        rng = random.Random(seed)
        parameters = make_parameters(
            rng, h, sigma_bias, target_offset, network_weights, calibration
        )
        blob = write_blob(h, parameters)
        parsed_header, parsed_parameters = read_blob(blob)
        assert parsed_header == h and parsed_parameters == parameters, name
        encoded = encode_header(h)
        model = Model(h, parameters)
        assert check_network_weights(model.network_log_weights()), name
        vectors = make_vectors(rng, model, parameters, 40)
        if h["members"] > 1:
            check_ensemble(model, vectors)
        integer_note = None
        if model.integer:
            # Non-trivial activations (each hidden layer has zeros and values in between,
            # none saturates at 32767, asserted within), sums far inside 32 bits, and the
            # integer results within the propagated quantization error of the float network.
            counts, largest_sum, worst = check_integer_evaluation(
                model, [v["x"] for v in vectors]
            )
            assert all(zero and between for zero, between, _ in counts), (name, counts)
            integer_note = (
                "%-32s integer: hidden activations (0 / between / 32767) %s, largest |sum| "
                "%d, head error <= %.2f of its propagated bound"
                % ("", " ".join("%d/%d/%d" % tuple(c) for c in counts), largest_sum, worst)
            )

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
            "%-32s %6d bytes, header %3d bytes, padding %d, %5d parameters, M = %d, %s"
            % (name, len(blob), len(encoded), (4 - (PREFIX_LEN + len(encoded)) % 4) % 4,
               len(parameters), h["members"], "/".join(h["storage"]))
        )
        if integer_note:
            print(integer_note)


if __name__ == "__main__":
    main()
