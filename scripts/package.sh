#!/usr/bin/env bash
# Package every Lambda for arm64 and print each binary's size: `sam build` (BuildMethod
# rust-cargolambda), which runs `cargo lambda build --release --arm64 --bin <function>` for each
# function into target/lambda/<function>/bootstrap and assembles .aws-sam/build. cargo-lambda and
# zig come from PyPI (.venv-package/): no Docker, no cross toolchain. The deploy workflow runs this.
#
# Usage: scripts/package.sh [--no-sam]   (--no-sam: the same cargo lambda builds, without SAM)
# Writes target/lambda/<function>/bootstrap, .aws-sam/build/ (unless --no-sam) and
# target/lambda/sizes.tsv; exits 1 if a binary is over the 10 MB goal.
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
if ! rustup target list --installed 2>/dev/null | grep -qx "$target"; then
  step "rustup target add $target"
  rustup target add "$target"
fi

t0=$SECONDS
if (( sam )); then
  # One build per function, as Lambda gets it: each with its own crate's features, so the
  # binaries are those `sam deploy` ships.
  step "sam build (cargo lambda build --release --arm64, per function: ${functions[*]})"
  sam build --beta-features --template-file template.yaml
else
  for f in "${functions[@]}"; do
    step "cargo lambda build --release --arm64 --bin $f"
    cargo lambda build --release --arm64 --locked --bin "$f"
  done
fi
build_s=$((SECONDS - t0))

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
echo "build: ${build_s}s"
exit "$fail"
