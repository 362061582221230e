#!/usr/bin/env bash
# Runs the log processor's fuzz targets for a bounded time each (default 30 s): the decoder
# (base64 + capped gzip + batch JSON) and the line path (parse, redact, classify).
# Needs the nightly toolchain; installs the pinned cargo-fuzz on first use.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${1:-30}"
CARGO_FUZZ_VERSION=0.13.2
if ! cargo +nightly fuzz --version 2>/dev/null | grep -q "$CARGO_FUZZ_VERSION"; then
  cargo +nightly install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
cd functions/log-processor
for target in decode line; do
  echo "== fuzz $target (${seconds}s)"
  cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -rss_limit_mb=512 -max_len=262144
done
