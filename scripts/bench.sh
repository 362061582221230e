#!/usr/bin/env bash
# The log processor's figures: the criterion benchmark, peak RSS for one 1 MB delivery, and the
# Python comparison on the same payload in the same run. Prints the numbers the README reports.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
payload=target/bench/payload.json
mkdir -p target/bench

cargo bench -p log-processor --no-default-features --bench pipeline -- --warm-up-time 2 --measurement-time 8
cargo build -q --profile bench -p log-processor --no-default-features --example compare
bin=target/release/examples/compare
[[ -x "$bin" ]] || bin=target/bench/examples/compare

echo "== peak RSS, one delivery (10,000 events)"
/usr/bin/time -f "peak_rss_kib=%M" "$bin" "$payload" 1 2>&1 | grep -E "peak_rss|payload_bytes"

echo "== Rust vs Python on the same payload"
rust_ns=$("$bin" "$payload" 20 | sed -n 's/^rust_ns_per_event=//p')
python3 scripts/compare_python.py "$payload" "$rust_ns" 5
