#!/usr/bin/env bash
# Builds the C firmware with Debian's arm-none-eabi-gcc against mdn-c's static library, for
# a Cortex-M4F (thumbv7em-none-eabihf, QEMU mps2-an386) and for ARMv6-M (thumbv6m-none-eabi,
# as a Cortex-M0: no FPU; QEMU mps2-an385):
#
#   firmware-c/build.sh        # -> firmware-c/build/<target>/{parity,minimal}.elf
#
# `parity` takes parity-vector capacities (MDN_CAPACITIES=16,64,8,4, those of
# mdn_tests::vectors::ParityModel), `minimal` the bare-metal defaults (1,32,5,1). The
# libraries' target dirs are firmware-c/target/<program> (the profile `firmware` of the root
# Cargo.toml).
#
# `cargo rustc --crate-type staticlib`: mdn-c's manifest lists `rlib` too (for its Rust
# tests), and Cargo applies no LTO to a crate with an rlib crate type; with the staticlib
# alone the profile's fat LTO applies. Both libraries are built with mdn-c's `nopanic`
# feature: a panic path left in the library would be an undefined reference to
# `mdn_c_has_a_panic_path`, and the link would fail. Every link here is the link-time proof
# that the C API cannot panic, on both targets.
set -euo pipefail
cd "$(dirname "$0")"
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS
root=$(cd .. && pwd)
target_dir=$PWD/target

for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
    case $target in
    thumbv7em-none-eabihf) cpu=(-mcpu=cortex-m4 -mthumb -mfpu=fpv4-sp-d16 -mfloat-abi=hard) ;;
    thumbv6m-none-eabi) cpu=(-mcpu=cortex-m0 -mthumb -mfloat-abi=soft) ;;
    esac
    out=build/$target
    mkdir -p "$out"
    for app in parity minimal; do
        capacities=$([ "$app" = parity ] && echo 16,64,8,4 || echo 1,32,5,1)
        # `parity` runs every model kind; `minimal` a ReLU f32 model, without the rest.
        defaults=$([ "$app" = parity ] && echo "" || echo --no-default-features)
        # A target dir per program: their features differ, so Cargo keeps a build-script
        # run for each, and one left from the other program must not leave its header
        # (capacities) in a shared include/ (the parity harness sizes its arrays by it).
        (cd "$root" && MDN_CAPACITIES=$capacities cargo rustc -q -p mdn-c --profile firmware \
            --target "$target" $defaults --features nopanic --crate-type staticlib \
            --target-dir "$target_dir/$app")
        lib=$target_dir/$app/$target/firmware
        # The header and library of this build (its capacities), kept beside the ELF.
        mkdir -p "$out/$app-include"
        cp "$lib/include/mdn.h" "$out/$app-include/mdn.h"
        cp "$lib/libmdn_c.a" "$out/libmdn_c-$app.a"
        extra=()
        if [ "$app" = minimal ]; then
            {
                echo "/* models/minimal.mdn, written by firmware-c/build.sh */"
                echo "static const uint8_t MINIMAL_MODEL[] __attribute__((aligned(4))) = {"
                od -An -v -tx1 ../firmware-example/models/minimal.mdn |
                    sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'
                echo "};"
            } >"$out/minimal_model.h"
            libs=(-nostdlib -lgcc)
        else
            extra=(-I ../mdn-c/tests/c)
            libs=(--specs=nano.specs --specs=rdimon.specs -lc -lrdimon)
        fi
        arm-none-eabi-gcc "${cpu[@]}" -std=c99 -Os -Wall -Wextra -Werror -ffunction-sections \
            -fdata-sections -nostartfiles -Wl,--gc-sections -T mps2.ld \
            -I "$out/$app-include" -I "$out" "${extra[@]}" \
            src/startup.c "src/$app.c" "$out/libmdn_c-$app.a" "${libs[@]}" -o "$out/$app.elf"
    done
    arm-none-eabi-size "$out"/*.elf
done
