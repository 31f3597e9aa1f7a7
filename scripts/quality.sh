#!/usr/bin/env bash
# Test NLL of `mdn train` with every default (one student network) and of `mdn train
# --ensemble` (the teacher) on the shipped data sets, seeds 0, 1, 2, against the best MDN
# cell of the Keras + TFP reference (data/REFERENCE.md), with each run's wall time.
# Prints the Markdown table of BENCHMARKS.md ("Quality with the defaults") on stdout;
# progress on stderr. The last three columns are what storing the seed-0 student's weights
# as f16 and as int8 (`mdn quantize --weights f16|int8`) and making it an integer network
# (`--weights int8 --activations int16`, steps fitted on the training file) costs in test
# NLL.
#
#   scripts/quality.sh                 # data/ (the four shipped sets)
#   EXTRA=/tmp/extra scripts/quality.sh  # also every NAME_train.csv / NAME_test.csv there
#                                        # (scripts/extra_data.py makes them; target last)
#   SEEDS="0" scripts/quality.sh       # other seeds
#
# Each cell is exactly the two commands of the acceptance rule:
# `mdn train --data NAME_train.csv --target COL --out m.mdn --seed S [--ensemble]`
# and `mdn eval --model m.mdn --data NAME_test.csv --json`, whose NLL is mdn-core's on the
# blob, as a device computes it. Times are the whole `mdn train` run (two threads when
# there are two cores); run it on an otherwise idle machine for the speed columns.
set -euo pipefail

cd "$(dirname "$0")/.."
SEEDS="${SEEDS:-0 1 2}"
OUT="${OUT:-target/quality}"
mkdir -p "$OUT"

cargo build --release -p mdn-train >&2
MDN=target/release/mdn

# Best MDN cell of each shipped set's reference rows (REFERENCE.md, mean over seeds 0-2).
declare -A REF=(
  [faithful]="0.392"
  [boston]="2.248"
  [synth_hetero]="-0.524"
  [synth_invsin]="1.053"
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

# Trains one model and prints "NLL SECONDS".
run() {
  local train="$1" test="$2" target="$3" out="$4" seed="$5"
  shift 5
  local start end
  start="$(date +%s.%N)"
  "$MDN" train --data "$train" --target "$target" --out "$out" --seed "$seed" "$@" \
    >/dev/null 2>&1
  end="$(date +%s.%N)"
  local nll
  nll="$("$MDN" eval --model "$out" --data "$test" --json | grep -o '"nll":[-0-9.eE+]*' | cut -d: -f2)"
  echo "$nll $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')"
}

# "mean ± std" of the arguments.
stats() {
  printf '%s\n' "$@" | awk '{ s += $1; q += $1 * $1; n++ }
    END { m = s / n; v = q / n - m * m; if (v < 0) v = 0; printf "%.3f ± %.3f", m, sqrt(v) }'
}

echo "| data set | rows (train / test) | reference best MDN cell | student, seed 0 | \`--ensemble\`, seed 0 | student, mean ± std (seeds ${SEEDS// /, }) | \`--ensemble\`, mean ± std | seconds, student / \`--ensemble\` (seed 0) | f16 cost | int8 cost | integer cost |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for base in "${sets[@]}"; do
  name="$(basename "$base")"
  train="${base}_train.csv"
  test="${base}_test.csv"
  target="$(head -n 1 "$train" | tr -d '\r' | awk -F, '{print $NF}')"
  rows="$(($(wc -l < "$train") - 1)) / $(($(wc -l < "$test") - 1))"
  students=()
  ensembles=()
  seconds=""
  for seed in $SEEDS; do
    echo "training $name, seed $seed" >&2
    read -r student student_seconds < <(run "$train" "$test" "$target" "$OUT/$name-$seed.mdn" "$seed")
    read -r ensemble ensemble_seconds < <(run "$train" "$test" "$target" \
      "$OUT/$name-$seed-ensemble.mdn" "$seed" --ensemble)
    students+=("$student")
    ensembles+=("$ensemble")
    if [[ -z "$seconds" ]]; then
      seconds="$student_seconds / $ensemble_seconds"
    fi
  done
  # The first seed's student stored compactly: its test NLL minus the f32 one.
  costs=()
  first="$OUT/$name-${SEEDS%% *}.mdn"
  for weights in f16 int8 int16; do
    case "$weights" in
      int16) plan=(--weights int8 --activations int16 --data "$train") ;;
      *) plan=(--weights "$weights") ;;
    esac
    "$MDN" quantize "$first" "${plan[@]}" --out "$first.$weights" >/dev/null
    nll="$("$MDN" eval --model "$first.$weights" --data "$test" --json | grep -o '"nll":[-0-9.eE+]*' | cut -d: -f2)"
    costs+=("$(awk -v a="${students[0]}" -v b="$nll" 'BEGIN { printf "%+.4f", b - a }')")
  done
  printf '| %s | %s | %s | %.3f | %.3f | %s | %s | %s | %s | %s | %s |\n' "$name" "$rows" "${REF[$name]:-}" \
    "${students[0]}" "${ensembles[0]}" "$(stats "${students[@]}")" \
    "$(stats "${ensembles[@]}")" "$seconds" "${costs[0]}" "${costs[1]}" "${costs[2]}"
done
