#!/usr/bin/env bash
# Cold starts: every function binary and a hello-world lambda_runtime binary, built with the same
# (release) profile, started against a Runtime API stand-in until each asks for its first event.
#
#   ./scripts/init-bench.sh [ROUNDS]
#
# Prints the README's init table. The release build takes a while (fat LTO, one codegen unit);
# Lambda runs arm64 builds of the same code, this machine's architecture is measured here.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds=${1:-30}
bash scripts/bootstrap.sh >/dev/null
# One build per binary, as `sam build` (cargo-lambda) makes them: built together, Cargo would
# unify the features of the crates they share, and each binary would carry what the others
# enabled (the log processor measured 10.4 MB that way against 10.0 MB alone).
for package in hello-lambda $(basename -a functions/*/); do
  cargo build --release --locked --bins -p "$package"
done
cargo build --locked -p platform-ops --bin platform-ops
target=${CARGO_TARGET_DIR:-target}
"$target/debug/platform-ops" bench init --bin-dir "$target/release" --rounds "$rounds"
