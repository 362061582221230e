#!/usr/bin/env bash
# The main job on the embedded default: starts the AWS emulator, seeds the organisation and the dev
# environment from config/, publishes the config, validates the repository, then replays
# scenarios/default through the local runtime and prints its timeline and expected outcomes.
# Needs no AWS account; installs its pinned tools on first use. Idempotent.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/bootstrap.sh emulator node
exec cargo run --quiet --locked -p platform-ops -- demo "$@"
