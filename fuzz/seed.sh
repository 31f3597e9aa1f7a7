#!/usr/bin/env bash
# Rewrites seeds/ from the committed valid blobs (run after the format or the goldens
# change): every golden and firmware model blob under 8 KB (the runs' -max_len), and three
# golden blobs followed by 64 pseudo-random bytes for the query part of `from_bytes`.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf seeds
mkdir seeds
for dir in ../tests/golden ../firmware-example/golden ../firmware-example/models; do
    # ../tests/golden -> tests-golden, ../firmware-example/models -> firmware-models
    prefix=$(sed 's|^\.\./||; s|firmware-example|firmware|; s|/|-|g' <<<"$dir")
    for blob in "$dir"/*.mdn; do
        (($(stat -c %s "$blob") <= 8192)) || continue
        cp "$blob" "seeds/${prefix}_$(basename "$blob")"
    done
done
# minimal.mdn is the minimal_1x32x32_k5 golden blob: keep one copy.
if cmp -s seeds/firmware-models_minimal.mdn seeds/firmware-golden_minimal_1x32x32_k5.mdn; then
    rm seeds/firmware-golden_minimal_1x32x32_k5.mdn
fi
for name in no_hidden exp_log_target ensemble_m3_k2; do
    python3 - "$name" <<'PY'
import random, sys
name = sys.argv[1]
blob = open(f"../tests/golden/{name}.mdn", "rb").read()
tail = random.Random(name).randbytes(64)
open(f"seeds/tests-golden_{name}.with-query-bytes.bin", "wb").write(blob + tail)
PY
done
ls seeds
