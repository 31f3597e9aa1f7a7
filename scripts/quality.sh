#!/usr/bin/env bash
# Test NLL of `mdn train` with every default on the shipped data sets, seeds 0, 1, 2,
# against the best MDN cell of the Keras + TFP reference (data/REFERENCE.md).
# Prints the Markdown table of BENCHMARKS.md ("Training quality") on stdout; progress on
# stderr.
#
#   scripts/quality.sh                 # data/ (the four shipped sets)
#   EXTRA=/tmp/extra scripts/quality.sh  # also every NAME_train.csv / NAME_test.csv there
#                                        # (scripts/extra_data.py makes them; target last)
#   SEEDS="0" scripts/quality.sh       # other seeds
#
# Each set is trained and scored with exactly the two commands of the acceptance rule:
# `mdn train --data NAME_train.csv --target COL --out m.mdn --seed S --json` (defaults
# only) and `mdn eval --model m.mdn --data NAME_test.csv --json`, whose NLL is mdn-core's
# on the blob (every network of the ensemble in it), as a device computes it.
set -euo pipefail

cd "$(dirname "$0")/.."
SEEDS="${SEEDS:-0 1 2}"
OUT="${OUT:-target/quality}"
mkdir -p "$OUT"

cargo build --release -p mdn-train >&2
MDN=target/release/mdn

# Best MDN cell of each shipped set's reference rows (REFERENCE.md, mean over seeds 0-2).
declare -A REF=(
  [faithful]="0.392 (K = 1, fixed)"
  [boston]="2.248 (K = 1, fixed)"
  [synth_hetero]="-0.524 (K = 3, es)"
  [synth_invsin]="1.053 (K = 5, H = 200, fixed)"
)

sets=()
for name in faithful boston synth_hetero synth_invsin; do
  sets+=("data/$name")
done
if [[ -n "${EXTRA:-}" ]]; then
  for train in "$EXTRA"/*_train.csv; do
    sets+=("${train%_train.csv}")
  done
fi

echo "| data set | rows (train / test) | reference best MDN cell | seed 0 | mean ± std, seeds ${SEEDS// /, } | networks (seed 0) | seconds (seed 0) |"
echo "|---|---|---|---|---|---|---|"
for base in "${sets[@]}"; do
  name="$(basename "$base")"
  train="${base}_train.csv"
  test="${base}_test.csv"
  target="$(head -n 1 "$train" | tr -d '\r' | awk -F, '{print $NF}')"
  rows="$(($(wc -l < "$train") - 1)) / $(($(wc -l < "$test") - 1))"
  values=()
  networks=""
  seconds=""
  for seed in $SEEDS; do
    echo "training $name, seed $seed" >&2
    json="$("$MDN" train --data "$train" --target "$target" --out "$OUT/$name-$seed.mdn" \
      --seed "$seed" --json 2>/dev/null)"
    eval_json="$("$MDN" eval --model "$OUT/$name-$seed.mdn" --data "$test" --json)"
    nll="$(grep -o '"nll":[-0-9.eE+]*' <<<"$eval_json" | cut -d: -f2)"
    values+=("$nll")
    if [[ -z "$networks" ]]; then
      networks="$(grep -o '"networks":[0-9]*' <<<"$json" | cut -d: -f2)"
      seconds="$(grep -o '"seconds":[0-9.]*' <<<"$json" | cut -d: -f2)"
    fi
  done
  stats="$(printf '%s\n' "${values[@]}" | awk '{ s += $1; q += $1 * $1; n++ }
    END { m = s / n; v = q / n - m * m; if (v < 0) v = 0; printf "%.3f ± %.3f", m, sqrt(v) }')"
  printf '| %s | %s | %s | %.3f | %s | %s | %.0f |\n' "$name" "$rows" "${REF[$name]:-}" \
    "${values[0]}" "$stats" "$networks" "$seconds"
done
