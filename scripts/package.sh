#!/usr/bin/env bash
# Package every Lambda for arm64: `cargo lambda build --release --arm64` (cargo-lambda and zig
# from PyPI, .venv-package/), then `sam build` (BuildMethod rust-cargolambda) into .aws-sam/build,
# and print each binary's size. The deploy workflow runs this; so can anyone, with no Docker and no
# cross toolchain.
#
# Where the aarch64 standard library cannot be installed (`rustup target add` needs a reachable
# rustup channel), std is built from source instead (-Zbuild-std, with the source of exactly this
# rustc from scripts/rust-src.sh).
#
# Usage: scripts/package.sh [--no-sam]
# Writes target/lambda/<function>/bootstrap, .aws-sam/build/, and target/lambda/sizes.tsv.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

sam=1
for arg in "$@"; do
  case "$arg" in
    --no-sam) sam=0 ;;
    *) echo "package.sh: unknown argument '$arg' (--no-sam)" >&2; exit 2 ;;
  esac
done

step() { printf '\n== %s\n' "$*"; }

step "tools (bootstrap.sh sam package)"
bash scripts/bootstrap.sh sam package
export PATH="$ROOT/.venv-package/bin:$ROOT/.venv-sam/bin:$PATH"
export SAM_CLI_TELEMETRY=0

# The functions are the template's rust-cargolambda binaries: one list, the template's.
mapfile -t functions < <(awk '/BuildMethod: rust-cargolambda/ { want = 1 } want && /Binary:/ { print $2; want = 0 }' template.yaml)
(( ${#functions[@]} )) || { echo "package.sh: no rust-cargolambda functions in template.yaml" >&2; exit 1; }

target=aarch64-unknown-linux-gnu
if ! rustup target list --installed 2>/dev/null | grep -qx "$target" \
  && ! rustup target add "$target" 2>/dev/null; then
  step "no prebuilt std for $target: building it from source (-Zbuild-std)"
  bash scripts/rust-src.sh
  # build-std is unstable; RUSTC_BOOTSTRAP lets this exact stable toolchain use it.
  export RUSTC_BOOTSTRAP=1
  export CARGO_UNSTABLE_BUILD_STD=std,panic_abort
fi

bins=()
for f in "${functions[@]}"; do bins+=(--bin "$f"); done
step "cargo lambda build --release --arm64 (${functions[*]})"
t0=$SECONDS
cargo lambda build --release --arm64 --locked "${bins[@]}"
build_s=$((SECONDS - t0))

if (( sam )); then
  step "sam build"
  t1=$SECONDS
  sam build --beta-features --template-file template.yaml
  sam_s=$((SECONDS - t1))
fi

step "binary sizes (stripped, arm64)"
sizes=target/lambda/sizes.tsv
printf 'function\tbytes\tMiB\n' >"$sizes"
fail=0
for f in "${functions[@]}"; do
  bin="target/lambda/$f/bootstrap"
  [[ -f "$bin" ]] || { echo "package.sh: $bin was not built" >&2; exit 1; }
  bytes=$(stat -c %s "$bin")
  mib=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1048576 }')
  printf '%s\t%s\t%s\n' "$f" "$bytes" "$mib" >>"$sizes"
  printf '  %-16s %6s MiB  %s\n' "$f" "$mib" "$(file -b "$bin" | cut -d, -f1-2)"
  # The goal is under 10 MB per function: a bigger one is worth a look before it ships.
  (( bytes < 10 * 1000 * 1000 )) || { echo "  ^ over 10 MB" >&2; fail=1; }
done
echo "cargo lambda build: ${build_s}s${sam_s:+, sam build: ${sam_s}s}"
exit "$fail"
