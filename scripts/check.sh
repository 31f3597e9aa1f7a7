#!/usr/bin/env bash
# Runs every check and test of the mdn workspace, installing what it needs first.
#
#   ./scripts/check.sh
#
# Works on a fresh Debian machine with rustup (as root or with sudo). Steps: toolchain
# pieces (thumb targets, QEMU, ARM binutils, defmt-print), formatting, clippy with
# -D warnings (workspace, firmware, mdn-cortex-m for both thumb targets), mdn-core for both
# thumb targets with and without defmt, host tests (the golden set and the batch path also built with
# -C target-cpu=native: the same bits), docs with -D warnings, the firmware builds, and the
# QEMU parity runs (Cortex-M4F, and ARMv6-M code without an FPU), the drift watch run and
# the A/B slots booted on every interrupted update (mdn-update);
# the C API: its host tests compile C programs with `cc` against target/release/libmdn_c.a
# (mdn-c/tests/c_api.rs), and firmware-c/ (arm-none-eabi-gcc) runs its parity in QEMU.
# RUSTFLAGS is never exported: it would replace the firmware's linker arguments.
set -euo pipefail
cd "$(dirname "$0")/.."
unset RUSTFLAGS

step() { printf '\n==> %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

step "installing what the checks need"
rustup target add thumbv7em-none-eabihf thumbv6m-none-eabi
# Only to check that mdn-cortex-m's assembly builds for a Cortex-M33 too (never run there).
rustup target add thumbv8m.main-none-eabihf
rustup component add rustfmt clippy
if ! command -v qemu-system-arm >/dev/null || ! command -v arm-none-eabi-size >/dev/null ||
    ! command -v arm-none-eabi-gcc >/dev/null || [ ! -d /usr/lib/arm-none-eabi/newlib ]; then
    as_root apt-get update -qq
    # The C compiler and newlib build firmware-c/ (the C API on the device).
    as_root apt-get install -y -qq --no-install-recommends qemu-system-arm binutils-arm-none-eabi \
        gcc-arm-none-eabi libnewlib-arm-none-eabi
fi
if ! command -v defmt-print >/dev/null; then
    cargo install defmt-print --locked --quiet
fi

step "formatting"
cargo fmt --all -- --check
(cd firmware-example && cargo fmt --all -- --check)

step "clippy (host workspace)"
cargo clippy --workspace --all-targets -- -D warnings
# mdn-update's optional Ed25519 signatures (off by default, so not in the line above).
cargo clippy -p mdn-update --all-targets --features signature -- -D warnings

step "mdn-core on thumb targets, with and without defmt; mdn-cortex-m's assembly; mdn-update"
for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
    cargo build -p mdn-core --target "$target"
    cargo build -p mdn-core --target "$target" --features defmt
    cargo build -p mdn-core --target "$target" --no-default-features
done
# The host build compiles mdn-cortex-m's portable fallback, not its assembly: the dense
# kernel (FPU targets), the integer kernel (`int16`, thumbv7em) and the software floats
# (`aeabi-float`, thumbv6m).
for target in thumbv6m-none-eabi thumbv7em-none-eabihf thumbv8m.main-none-eabihf; do
    cargo clippy -p mdn-cortex-m --target "$target" -- -D warnings
    cargo clippy -p mdn-cortex-m --target "$target" --features int16,aeabi-float -- -D warnings
done
# mdn-update: no_std A/B slots on both cores, with and without defmt, and with its signature
# verification (ed25519-dalek): checked and linted, not built (the firmware's `slots` and
# `signature` binaries build and run it in QEMU).
for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
    cargo clippy -p mdn-update --target "$target" -- -D warnings
    cargo clippy -p mdn-update --target "$target" --features defmt -- -D warnings
    cargo clippy -p mdn-update --target "$target" --features signature -- -D warnings
done
# The C API's bare-metal build (no_std, its panic handler); firmware-c/ links it in QEMU.
for target in thumbv6m-none-eabi thumbv7em-none-eabihf; do
    cargo clippy -p mdn-c --target "$target" -- -D warnings
done

step "host tests"
cargo test --workspace
# A build without the optional evaluators refuses their blobs with Error::Unsupported.
cargo test -p mdn-core --no-default-features --test errors unsupported
# The streaming validator against from_bytes at every split of every committed blob (the
# 24 KB one too, which a debug run samples), in release.
MDN_STREAM_ALL_SPLITS=1 cargo test --release -p mdn-core --test stream \
    every_committed_blob_split_anywhere_in_two

step "host bits built for this CPU (-C target-cpu=native): golden set and batch path"
# Rust never contracts into fused multiply-adds, so AVX and FMA must not change a bit.
# Release, where the compiler widens the loops (the single-row and the batched kernels).
# Target-scoped flags and their own target dir: the firmware and the warm host builds stay
# as they are.
host=$(rustc -vV | sed -n 's/^host: //p')
native=("CARGO_TARGET_$(tr 'a-z-' 'A-Z_' <<<"$host")_RUSTFLAGS=-C target-cpu=native")
env "${native[@]}" cargo test --release --target-dir target/native \
    -p mdn-tests --test device_parity committed_golden_set_matches_host
env "${native[@]}" cargo test --release --target-dir target/native -p mdn-core --test batch

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps

step "firmware: clippy and builds (QEMU and board variants)"
(
    cd firmware-example
    cargo clippy --release --bins --features tanh,f16,int8,int16 -- -D warnings
    cargo clippy --release --bins --features tanh,f16,int8,int16 --target thumbv6m-none-eabi -- -D warnings
    # The signature binaries: `signature` needs a public key at build time (any 32-byte
    # key will do for linting: RFC 8032's TEST 1 key, whose secret is public, never shipped);
    # `signature_cost` without a crate is its baseline (scripts/signature_cost.sh builds
    # the candidates).
    lint_key=$(mktemp)
    printf '%b' "$(sed 's/../\\x&/g' <<<d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a)" >"$lint_key"
    MDN_PUBLIC_KEY=$lint_key cargo clippy --release --bins --features signature,signature-cost -- -D warnings
    rm -f "$lint_key"
    cargo build --release
    # The size profile (`minimal` for flash-constrained parts), with packed weights.
    cargo build --profile size --bin minimal --features f16,int8
    # The parity firmware: every model kind (tanh, f16 and int8 weights).
    cargo build --release --features tanh,f16,int8,int16
    # Its own target dir: the QEMU binaries stay at target/thumbv7em-none-eabihf/release.
    cargo build --release --no-default-features --features board-nrf52840dk \
        --target-dir target/nrf52840dk
    # Link-time proof that mdn-core cannot panic: the build fails if any panic path remains.
    # Without and with the optional evaluators (tanh, packed weights), on both cores.
    for features in nopanic nopanic,tanh,f16,int8,int16; do
        cargo build --release --bin nopanic --features "$features"
        cargo build --release --bin nopanic --features "$features" --target thumbv6m-none-eabi
    done
)

step "device parity, drift watch, the C API's parity, signatures and torn slot updates in QEMU"
# The QEMU tests are #[ignore]d in a plain `cargo test`. Each one listed as ignored must
# report `ok` here: a renamed, filtered or un-ignored test fails this step instead of
# passing without a QEMU run.
for file in device_parity device_drift device_c_parity device_signature device_slots; do
    qemu_run=(cargo test -p mdn-tests --test "$file" --)
    qemu_tests=$("${qemu_run[@]}" --ignored --list --format terse | sed -n 's/: test$//p')
    if [ -z "$qemu_tests" ]; then
        echo "no ignored QEMU test in tests/tests/$file.rs" >&2
        exit 1
    fi
    log=$(mktemp)
    "${qemu_run[@]}" --include-ignored --show-output 2>&1 | tee "$log"
    for test in $qemu_tests; do
        if ! grep -qxF "test $test ... ok" "$log"; then
            echo "QEMU test $test did not run and pass" >&2
            exit 1
        fi
    done
    rm -f "$log"
done

step "all checks passed"
