#!/usr/bin/env bash
# Device footprint and cost of mdn-core on a Cortex-M4F, as a Markdown table.
#
#   ./scripts/footprint.sh
#
# For each model in firmware-example/models/: builds `minimal` and `cost` with that model
# embedded (MDN_MODEL) and its tightest capacities (MDN_CAPACITIES, from its name), reads
# flash and static RAM with arm-none-eabi-size, and runs `cost` in QEMU mps2-an386 under
# `-icount shift=6`, where it counts instructions with SysTick (1.6 ticks per instruction)
# and measures the stack peak of validation + one query. QEMU counts instructions, not
# cycles. Needs qemu-system-arm, arm-none-eabi-size and defmt-print (./scripts/check.sh
# installs them). BENCHMARKS.md's figures, with the fast path and the host benchmarks, come
# from `cargo run -p mdn-benches --release --bin figures`.
set -euo pipefail
cd "$(dirname "$0")/../firmware-example"
unset RUSTFLAGS
elf=target/thumbv7em-none-eabihf/release

printf '| model | blob (B) | `minimal` flash (B) | static RAM (B) | stack peak (B) | RAM total (B) | instructions per log p(y\\|x) | per mixture | validation |\n'
printf '|---|---|---|---|---|---|---|---|---|\n'
# The tightest capacities I,W,K,D of a model named like `NAME_FxH1xH2_kK[_dD]` (the names
# regenerate-golden writes); the default build's 1,32,5,1 for any other name (minimal.mdn).
capacities() {
    if [[ $1 =~ _([0-9]+)((x[0-9]+)*)_k([0-9]+)(_d([0-9]+))?$ ]]; then
        local inputs=${BASH_REMATCH[1]} k=${BASH_REMATCH[4]} d=${BASH_REMATCH[6]:-1} w=1 h
        for h in ${BASH_REMATCH[2]//x/ }; do ((h > w)) && w=$h; done
        echo "$inputs,$w,$k,$d"
    else
        echo "1,32,5,1"
    fi
}

for model in models/*.mdn; do
    MDN_MODEL="$model" MDN_CAPACITIES="$(capacities "$(basename "$model" .mdn)")" \
        cargo build --release --quiet --bin minimal --bin cost
    read -r text data bss _ < <(arm-none-eabi-size "$elf/minimal" | tail -1)
    log=$(timeout 60 qemu-system-arm -machine mps2-an386 -cpu cortex-m4 -nographic \
        -semihosting-config enable=on,target=native -icount shift=6 -kernel "$elf/cost" \
        | defmt-print -e "$elf/cost")
    stack=$(grep -o 'validate + log_prob [0-9]* bytes' <<<"$log" | grep -o '[0-9]*')
    log_prob=$(grep -o 'log_prob [0-9]* instructions' <<<"$log" | grep -o '[0-9]*')
    mixture=$(grep -o 'network only) [0-9]* instructions' <<<"$log" | grep -o '[0-9]*')
    validate=$(grep -o 'validate [0-9]* instructions' <<<"$log" | grep -o '[0-9]*')
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$(basename "$model" .mdn)" \
        "$(stat -c %s "$model")" "$((text + data))" "$((data + bss))" "$stack" \
        "$((data + bss + stack))" "$log_prob" "$mixture" "$validate"
done
# Leave the default build in place.
cargo build --release --quiet
