#!/usr/bin/env bash
# The README's reliability table: the default scenario under injected AWS faults at several seeds,
# with every delivery made twice, and both at once; each run compared with its own fault-free run.
# Prints a Markdown table (and keeps each run's JSON under target/reliability/). Usage:
#   ./scripts/reliability.sh [RATE] [SEED...]        (default: 10% and seeds 1 to 5 and 7)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rate="${1:-10%}"
shift || true
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(1 2 3 4 5 7)

bash scripts/bootstrap.sh >/dev/null
cargo build -q -p platform-ops --locked
out=target/reliability
mkdir -p "$out"
# A copy: a build during the runs does not change the binary under them.
bin="$out/platform-ops"
cp target/debug/platform-ops "$bin"

run() {
  local name="$1"
  shift
  local started=$SECONDS
  "$bin" demo --output json "$@" >"$out/$name.json" 2>"$out/$name.log" || true
  echo "$((SECONDS - started))" >"$out/$name.seconds"
}

runs=()
for seed in "${seeds[@]}"; do
  run "faults-$seed" --faults "$rate" --seed "$seed"
  runs+=("faults-$seed")
done
run duplicates --duplicate-deliveries
runs+=(duplicates)
run "both-7" --faults "$rate" --seed 7 --duplicate-deliveries
runs+=(both-7)

python3 - "$out" "${runs[@]}" <<'EOF'
import json, sys
out, runs = sys.argv[1], sys.argv[2:]
kinds = ["throttled", "server-error", "unavailable", "reset", "timeout", "response-lost"]
print("| run | outcomes met | " + " | ".join(kinds) + " | SDK retries | failed task attempts | redeliveries | effects (fault-free) | duplicate | missing | wall |")
print("|---|---|" + "---|" * len(kinds) + "---|---|---|---|---|---|---|")
notes = []
for name in runs:
    try:
        doc = json.load(open(f"{out}/{name}.json"))
    except (OSError, ValueError) as e:
        print(f"| {name} | did not finish ({e}) |")
        continue
    r = doc["reliability"]
    checks = doc["checks"]
    met = sum(1 for c in checks if c["met"])
    injected = r["faults"]["injected"]
    eff = r["effects"]
    dup = sum(max(d["actual"] - d["expected"], 0) for d in eff["differences"])
    miss = sum(max(d["expected"] - d["actual"], 0) for d in eff["differences"])
    wall = open(f"{out}/{name}.seconds").read().strip()
    label = name.replace("faults-", "faults, seed ").replace("both-7", "faults seed 7 + twice").replace("duplicates", "every delivery twice")
    print(f"| {label} | {met}/{len(checks)} | " + " | ".join(str(injected.get(k, 0)) for k in kinds)
          + f" | {r['sdk_retries']} | {r['task_failures']} | {r['redeliveries']} | {eff['actual']} ({eff['expected']}) | {dup} | {miss} | {wall} s |")
    for d in eff["differences"]:
        notes.append(f"- {label}: {d['operation']} {d['actual']} (fault-free: {d['expected']})")
    for c in checks:
        if not c["met"]:
            notes.append(f"- {label}: unmet: {c['step']}: {c['expectation']}")
if notes:
    print()
    print("\n".join(notes))
EOF
