#!/usr/bin/env bash
# The Ed25519 verification candidates on the Cortex-M4F (QEMU mps2-an386): flash of
# firmware-example's `signature_cost` with each crate against the same program without the
# verification, and instructions for one verification of models/minimal.mdn (6,656 bytes)
# under `-icount shift=6` (QEMU counts instructions, not cycles). Prints the Markdown table
# of BENCHMARKS.md ("Signature verification") on stdout.
#
#   scripts/signature_cost.sh
#
# Needs what scripts/check.sh installs (thumbv7em target, qemu-system-arm, defmt-print,
# arm-none-eabi-size). Builds in its own target directories (target/signature-cost in
# firmware-example): about 4 minutes from cold on a 2-core machine, seconds when warm.
set -euo pipefail
cd "$(dirname "$0")/../firmware-example"
unset RUSTFLAGS CARGO_TARGET_DIR

target=thumbv7em-none-eabihf
target_dir=target/signature-cost
compact_sha2=(--config "target.$target.rustflags=[\"--cfg\",\"sha2_backend_soft=\\\"compact\\\"\"]")

# measure LABEL FEATURE [CARGO ARGS...]: prints "LABEL|flash bytes|instructions". One
# target directory per set of rustflags: the variants share their dependencies' builds.
measure() {
    local label=$1 feature=$2
    shift 2
    local dir="$target_dir/default"
    [[ $label == *compact-sha2 ]] && dir="$target_dir/compact-sha2"
    cargo build --quiet --release --target "$target" --target-dir "$dir" --bin signature_cost \
        --features "signature-cost${feature:+,$feature}" "$@" >&2
    local elf="$dir/$target/release/signature_cost"
    # Flash: .text + .rodata + .data as arm-none-eabi-size counts them (text + data).
    local flash
    flash=$(arm-none-eabi-size "$elf" | awk 'NR == 2 { print $1 + $2 }')
    local log
    log=$(timeout 120 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
        -semihosting-config enable=on,target=native -icount shift=6 -kernel "$elf" |
        defmt-print -e "$elf")
    grep -q ': true$' <<<"$log" || { echo "$label: the signature did not hold: $log" >&2; exit 1; }
    local instructions
    instructions=$(sed -n 's/.* in \([0-9]*\) instructions.*/\1/p' <<<"$log")
    echo "$label|$flash|$instructions"
}

rows=(
    "$(measure baseline "")"
    "$(measure ed25519-compact cost-ed25519-compact)"
    "$(measure ed25519-dalek cost-ed25519-dalek)"
    "$(measure ed25519-dalek-compact-sha2 cost-ed25519-dalek "${compact_sha2[@]}")"
    "$(measure salty cost-salty)"
)
baseline_compact=$(measure baseline-compact-sha2 "" "${compact_sha2[@]}")

base_flash=$(cut -d'|' -f2 <<<"${rows[0]}")
echo "| crate | flash of signature_cost (bytes) | flash added by verification (bytes) | instructions per verification |"
echo "|---|---:|---:|---:|"
for row in "${rows[@]:1}"; do
    IFS='|' read -r label flash instructions <<<"$row"
    base=$base_flash
    [[ $label == *compact-sha2 ]] && base=$(cut -d'|' -f2 <<<"$baseline_compact")
    echo "| $label | $flash | $((flash - base)) | $instructions |"
done
echo "| (baseline: no verification) | $base_flash | 0 | - |"
