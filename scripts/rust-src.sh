#!/usr/bin/env bash
# Makes the standard library's source available to the toolchain in use (what `rustup component
# add rust-src` installs), for `-Zbuild-std` cross builds where the target's prebuilt std cannot
# be installed (no rustup channel reachable). Source: Debian's rust-src package of exactly this
# rustc version (trixie-backports, else trixie), unpacked into .cache/rust-src/ and linked into
# the sysroot's lib/rustlib/src/rust. Idempotent; a no-op when the source is already there.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

sysroot="$(rustc --print sysroot)"
link="$sysroot/lib/rustlib/src/rust"
if [[ -f "$link/library/Cargo.lock" ]]; then
  exit 0
fi
version="$(rustc --version | awk '{print $2}')"
cache="$ROOT/.cache/rust-src/$version"
if [[ ! -f "$cache/library/Cargo.lock" ]]; then
  mirror="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  deb=""
  for suite in trixie-backports trixie forky sid; do
    curl -fsS -m 120 "$mirror/dists/$suite/main/binary-all/Packages.xz" -o "$tmp/Packages.xz" || continue
    deb="$(xz -dc "$tmp/Packages.xz" | awk -v want="$version" '
      /^Package: / { pkg = $2 } /^Version: / { ver = $2 } /^Filename: / { file = $2 }
      /^$/ { if (pkg == "rust-src" && index(ver, want "+") == 1) print file; pkg = "" }' | tail -1)"
    [[ -n "$deb" ]] && break
  done
  [[ -n "$deb" ]] || { echo "rust-src.sh: no Debian rust-src package for rustc $version" >&2; exit 1; }
  echo "rust-src.sh: fetching $deb"
  curl -fsS -m 600 "$mirror/$deb" -o "$tmp/rust-src.deb"
  dpkg-deb -x "$tmp/rust-src.deb" "$tmp/x"
  mkdir -p "$(dirname "$cache")"
  rm -rf "$cache"
  mv "$tmp/x/usr/src/rustc-$version" "$cache"
fi
mkdir -p "$(dirname "$link")"
ln -sfn "$cache" "$link"
echo "rust-src.sh: std source for rustc $version linked at $link"
