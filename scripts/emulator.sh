#!/usr/bin/env bash
# Runs a command against a fresh AWS emulator: installs the pinned moto if needed, starts it on a
# free 127.0.0.1 port, waits until it answers, exports the AWS_* variables pointing at it, runs the
# command, and stops the emulator however the command ends. Without a command it waits for Ctrl-C.
#   scripts/emulator.sh cargo run -q -p platform-ops -- world seed
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh" emulator >&2

log="$(mktemp -t platform-ops-moto.XXXXXX)"
# Port 0: moto binds a free port itself and logs it, so nothing can take it in between.
MOTO_IAM_LOAD_MANAGED_POLICIES=true "$ROOT/.venv/bin/moto_server" -H 127.0.0.1 -p 0 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$log"' EXIT

answers() {
  if command -v curl >/dev/null; then
    curl -fsS -o /dev/null "$1" 2>/dev/null
  else
    "$ROOT/.venv/bin/python" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$1" 2>/dev/null
  fi
}

port=""
for _ in $(seq 1 600); do
  kill -0 "$pid" 2>/dev/null || { cat "$log" >&2; echo "emulator: moto exited" >&2; exit 1; }
  port="$(sed -n 's|.*Running on http://127.0.0.1:\([0-9]*\).*|\1|p' "$log" | head -n 1)"
  if [[ -n "$port" ]] && answers "http://127.0.0.1:$port/moto-api/data.json"; then
    break
  fi
  port=""
  sleep 0.1
done
[[ -n "$port" ]] || { cat "$log" >&2; echo "emulator: no answer within 60 s" >&2; exit 1; }

export AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1
export AWS_ACCESS_KEY_ID=AKIAEMULATOR00000000 AWS_SECRET_ACCESS_KEY=emulator-secret
unset AWS_PROFILE AWS_SESSION_TOKEN
echo "emulator: moto at $AWS_ENDPOINT_URL (pid $pid)" >&2

if (($#)); then
  "$@"
else
  echo "export AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL AWS_REGION=$AWS_REGION AWS_ACCESS_KEY_ID=$AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY"
  echo "emulator: running; Ctrl-C stops it" >&2
  wait "$pid"
fi
