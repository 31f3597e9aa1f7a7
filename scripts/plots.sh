#!/usr/bin/env bash
# Regenerates the figures the README shows, in docs/images/ (PNG; `mdn plot` also writes
# SVG). Deterministic: fixed seeds and one candle thread give the same models every run.
#
#   ./scripts/plots.sh
#
# invsin-*.png: `mdn demo` (the inverse sine: up to three y for one x), slices at x = 0
# and 8. boston-*.png: Boston housing, log-normal components, the predictive density of
# three test houses (`--rows`) and of the price over `lstat` with `rm` and `ptratio` held at
# their test-set medians.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAYON_NUM_THREADS=1
cargo build --release --quiet -p mdn-train
mdn=target/release/mdn
work=target/plots
rm -rf "$work"
mkdir -p "$work" docs/images

"$mdn" demo --out "$work/demo" >"$work/demo.txt"
for figure in density slices calibration; do
    cp "$work/demo/$figure.png" "docs/images/invsin-$figure.png"
done

"$mdn" train --data data/boston_train.csv --target medv --features rm,lstat,ptratio \
    --components 3 --scale-y log --out "$work/boston.mdn" >"$work/boston.txt"
"$mdn" plot "$work/boston.mdn" --data data/boston_test.csv --feature lstat --rows 5,6,15 \
    --out "$work/boston"
for figure in density slices; do
    cp "$work/boston/$figure.png" "docs/images/boston-$figure.png"
done
ls -l docs/images
