#!/usr/bin/env bash
# Runs the log processor's fuzz targets for a bounded time each (default 30 s): the decoder
# (base64 + capped gzip + batch JSON), the one-pass batch reader against simd-json (differential),
# the line path (parse, redact, classify) and the JSON-line reader against serde_json (differential).
# Needs the nightly toolchain; installs the pinned cargo-fuzz on first use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-30}"
CARGO_FUZZ_VERSION=0.13.2
if ! cargo +nightly fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo +nightly install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
cd functions/log-processor
for target in decode batch line jsonline; do
  echo "== fuzz $target (${seconds}s)"
  # A target with seeds and a dictionary starts from them (its corpus stays in fuzz/corpus).
  args=()
  if [[ -d fuzz/seeds/$target ]]; then
    mkdir -p "fuzz/corpus/$target"
    args+=("$PWD/fuzz/corpus/$target" "$PWD/fuzz/seeds/$target")
  fi
  options=()
  if [[ -f fuzz/$target.dict ]]; then
    options+=("-dict=$PWD/fuzz/$target.dict")
  fi
  cargo +nightly fuzz run "$target" "${args[@]}" -- -max_total_time="$seconds" -rss_limit_mb=512 \
    -max_len=262144 "${options[@]}"
done
