#!/usr/bin/env bash
# What weight storage and recalibration do to test NLL on the shipped data sets (seed 0),
# every number from `mdn eval` (mdn-core on the blob, as a device computes it). Prints the
# two Markdown tables of BENCHMARKS.md ("Compact weights: NLL cost" and "Recalibration") on
# stdout; progress on stderr.
#
#   scripts/storage_calibration.sh
#
# 1. Storage: the default `mdn train` model (f32), then `mdn quantize` of it to f16, to
#    `int8` (int8 hidden layers, f16 heads; a first layer of fewer than 5 inputs f16) and
#    to int8 with int8 heads, and to the integer network for cores without an FPU (`--weights
#    int8 --activations int16`, its steps fitted on the training file); the test NLL of
#    each and its cost against f32.
# 2. Recalibration: the training file split into rows for training (4 in 5) and validation
#    (every 5th row). Deliberately mis-calibrated models (`--epochs 5` and `--epochs 50`,
#    no calibration) and a default one are trained on the first part; `mdn calibrate` fits each on the
#    validation rows; test coverage of the central 80 % interval and test NLL before and
#    after. Then `mdn train --val-fraction 0.2` as it calibrates by default (written or
#    not, its decision), against the same run with `--no-calibrate`.
set -euo pipefail

cd "$(dirname "$0")/.."
OUT="${OUT:-target/storage_calibration}"
SEED="${SEED:-0}"
mkdir -p "$OUT"

cargo build --release -p mdn-train >&2
MDN=target/release/mdn

# `mdn eval --json` figure KEY of MODEL on DATA.
figure() {
  "$MDN" eval --model "$1" --data "$2" --json | grep -o "\"$3\":[-0-9.eE+]*" | cut -d: -f2
}

delta() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.4f", b - a }'; }

storage_rows=""
calibration_rows=""
default_rows=""
for name in faithful boston synth_hetero synth_invsin; do
  train="data/${name}_train.csv" test="data/${name}_test.csv"
  target="$(head -n 1 "$train" | tr -d '\r' | awk -F, '{print $NF}')"
  echo "$name: default model" >&2
  "$MDN" train --data "$train" --target "$target" --out "$OUT/$name.mdn" --seed "$SEED" \
    >/dev/null 2>&1
  f32="$(figure "$OUT/$name.mdn" "$test" nll)"
  row="| $name | $(stat -c %s "$OUT/$name.mdn") | $f32"
  for plan in "f16" "int8" "int8 --head-weights int8" "int8 --activations int16 --data $train"; do
    tag="${plan%% --data*}"
    tag="${tag// /_}"
    # shellcheck disable=SC2086
    "$MDN" quantize "$OUT/$name.mdn" --weights $plan --out "$OUT/$name-$tag.mdn" >/dev/null
    nll="$(figure "$OUT/$name-$tag.mdn" "$test" nll)"
    row="$row | $(stat -c %s "$OUT/$name-$tag.mdn") | $(delta "$f32" "$nll")"
  done
  storage_rows="$storage_rows$row |"$'\n'

  # 4 rows in 5 to train on, every 5th to validate on.
  awk 'NR == 1 || (NR - 2) % 5 != 4' "$train" >"$OUT/$name-fit.csv"
  awk 'NR == 1 || (NR - 2) % 5 == 4' "$train" >"$OUT/$name-val.csv"
  for kind in 5-epochs 50-epochs default; do
    echo "$name: $kind model on 4/5 of the rows, calibrated on the rest" >&2
    extra=()
    [[ "$kind" == *-epochs ]] && extra=(--epochs "${kind%-epochs}")
    "$MDN" train --data "$OUT/$name-fit.csv" --target "$target" --out "$OUT/$name-$kind.mdn" \
      --seed "$SEED" --no-calibrate "${extra[@]}" >/dev/null 2>&1
    "$MDN" calibrate "$OUT/$name-$kind.mdn" --data "$OUT/$name-val.csv" \
      --out "$OUT/$name-$kind-cal.mdn" --json >"$OUT/$name-$kind-cal.json"
    scale="$(grep -o '"sigma_scale":\[[^]]*\]' "$OUT/$name-$kind-cal.json" | cut -d'[' -f2 | tr -d ']')"
    temperature="$(grep -o '"temperature":[-0-9.eE+]*' "$OUT/$name-$kind-cal.json" | cut -d: -f2)"
    written="$(grep -o '"written":[a-z]*' "$OUT/$name-$kind-cal.json" | cut -d: -f2)"
    cov_before="$(figure "$OUT/$name-$kind.mdn" "$test" coverage_80)"
    cov_after="$(figure "$OUT/$name-$kind-cal.mdn" "$test" coverage_80)"
    nll_before="$(figure "$OUT/$name-$kind.mdn" "$test" nll)"
    nll_after="$(figure "$OUT/$name-$kind-cal.mdn" "$test" nll)"
    calibration_rows="$calibration_rows| $name | $kind | $scale | $temperature | $written | $cov_before | $cov_after | $nll_before | $nll_after | $(delta "$nll_before" "$nll_after") |"$'\n'
  done

  echo "$name: --val-fraction 0.2, calibrated by default and not" >&2
  "$MDN" train --data "$train" --target "$target" --out "$OUT/$name-vf.mdn" --seed "$SEED" \
    --val-fraction 0.2 --json >"$OUT/$name-vf.json" 2>/dev/null
  "$MDN" train --data "$train" --target "$target" --out "$OUT/$name-vf-nocal.mdn" \
    --seed "$SEED" --val-fraction 0.2 --no-calibrate >/dev/null 2>&1
  decision="$(grep -o '"decision":"[a-z_]*"' "$OUT/$name-vf.json" | cut -d'"' -f4)"
  with="$(figure "$OUT/$name-vf.mdn" "$test" nll)"
  without="$(figure "$OUT/$name-vf-nocal.mdn" "$test" nll)"
  default_rows="$default_rows| $name | $decision | $without | $with | $(delta "$without" "$with") |"$'\n'
done

echo "| set | f32 blob (B) | f32 test NLL | f16 blob (B) | f16 cost | int8 blob (B) | int8 cost | int8 + int8 heads blob (B) | cost | integer blob (B) | cost |"
echo "|---|---|---|---|---|---|---|---|---|"
printf '%s' "$storage_rows"
echo
echo "| set | model | sigma scale | temperature | written | test coverage_80 before | after | test NLL before | after | change |"
echo "|---|---|---|---|---|---|---|---|---|---|"
printf '%s' "$calibration_rows"
echo
echo "| set | \`--val-fraction 0.2\`: calibration | test NLL with \`--no-calibrate\` | by default | change |"
echo "|---|---|---|---|---|"
printf '%s' "$default_rows"
