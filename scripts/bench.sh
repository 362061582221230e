#!/usr/bin/env bash
# The log processor's figures: the criterion benchmark, peak RSS for one delivery, and the Python
# comparison on the same payload in the same run, once both pipelines are shown to produce the
# same output (records, redactions, signatures, metrics, EMF documents, detections); then the
# cold-start table of every function beside hello world (scripts/init-bench.sh). One command for
# every figure of the README's log processing and cold start sections.
#
#   ./scripts/bench.sh [PAYLOAD]          BENCH_SKIP_INIT=1 leaves the cold starts out
#
# PAYLOAD: a CloudWatch Logs subscription event as Lambda receives it ({"awslogs":{"data":...}})
# to compare on; without it, the project's synthetic 10,000-event delivery (about 1 MB).
set -euo pipefail
if [[ $# -gt 1 || ${1:-} == -* ]]; then
  echo "usage: $0 [PAYLOAD]" >&2
  exit 2
fi
# Resolved before the cd below, so a relative path means what the caller meant.
payload=${1:+$(realpath -e -- "$1")}
cd "$(dirname "${BASH_SOURCE[0]}")/.."
target=${CARGO_TARGET_DIR:-target}
mkdir -p "$target/bench"

cargo bench -p log-processor --no-default-features --bench pipeline -- --warm-up-time 2 --measurement-time 8
# Timed as Lambda runs it: the release profile's code generation (full LTO, one codegen unit,
# panic=abort), with symbols for the stage table (Cargo.toml, profile.lambda-bench).
cargo build -q --profile lambda-bench -p log-processor --no-default-features --example compare
bin=$target/lambda-bench/examples/compare

if [[ -z "$payload" ]]; then
  payload=$target/bench/payload.json
  "$bin" --write "$payload" --rounds 1 >/dev/null
fi

# Best of many rounds on both sides: on a shared machine a single round can land in someone
# else's busy second, and the ratio should compare the two pipelines, not two moments.
echo "== Rust, best of 60 ($payload): one core, then the batch split across the cores"
rust_out=$("$bin" --payload "$payload" --rounds 60)
grep -E '^(payload_bytes|events|records|rust_ns_per_event|workers|rust_wall_ns_per_event|pipeline_new_us|first_delivery_ms|best_delivery_ms)=' <<<"$rust_out"

echo "== where the instructions go, per stage (callgrind, one delivery, one core)"
if command -v valgrind >/dev/null; then
  python3 scripts/stages.py "$bin" "$payload"
else
  echo "valgrind is not installed: no stage shares (apt-get install valgrind)"
fi

echo "== peak RSS, one delivery"
/usr/bin/time -f "peak_rss_kib=%M" "$bin" --payload "$payload" --rounds 1 2>&1 >/dev/null | grep '^peak_rss_kib='

echo "== Python, best of 7, same payload"
rust_ns=$(sed -n 's/^rust_ns_per_event=//p' <<<"$rust_out")
python_out=$(python3 scripts/compare_python.py "$payload" --rounds 7 --rust-ns "$rust_ns")

# Figures only count if both did the same work: compare the two parity summaries first.
python3 - <(sed -n 's/^parity=//p' <<<"$rust_out") <(sed -n 's/^parity=//p' <<<"$python_out") <<'EOF'
import json, sys
rust, python = (json.load(open(path)) for path in sys.argv[1:3])
def differences(a, b, path="parity"):
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            yield from differences(a.get(key), b.get(key), f"{path}.{key}")
    elif a != b:
        yield f"  {path}: rust={json.dumps(a)} python={json.dumps(b)}"
found = list(differences(rust, python))
if found:
    print("parity: Rust and Python differ; diff their outputs with compare --dump DIR and"
          " compare_python.py --dump DIR", *found, sep="\n", file=sys.stderr)
    sys.exit(1)
print(f"parity: identical ({rust['records']} records, {sum(rust['redactions'].values())} redactions,"
      f" {sum(rust['signatures'].values())} signature hits, {rust['detections']} detections,"
      f" {rust['emf_documents']} EMF documents)")
EOF
grep -E '^(python_ns_per_event|rust_ns_per_event|ratio)=' <<<"$python_out"

# The cold-start table: every function's init beside hello world (release builds of all of them).
if [[ ${BENCH_SKIP_INIT:-} == 1 ]]; then
  echo "== cold starts: skipped (BENCH_SKIP_INIT=1; scripts/init-bench.sh runs them alone)"
else
  echo "== cold starts, process start to the first request for work (scripts/init-bench.sh)"
  bash scripts/init-bench.sh
fi
