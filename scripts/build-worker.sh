#!/usr/bin/env bash
# Builds brood worker binaries that start on Amazon Linux 2023 (and any Linux with glibc 2.17 or
# newer): a release build for x86_64 and/or aarch64 Linux, linked against glibc 2.17's symbol
# versions with cargo-zigbuild (or, with --musl, statically against musl), with no debug
# information and no symbols. Works from Linux and from macOS; needs rustup and python3.
#
#   scripts/build-worker.sh                  # x86_64 (t3, c7i, ...) -> dist/brood-linux-x86_64
#   scripts/build-worker.sh --arch aarch64   # arm64 (t4g, c7g, ...) -> dist/brood-linux-aarch64
#   scripts/build-worker.sh --arch both --musl --out /tmp/workers
#
# Then: brood run --backend aws --worker-binary dist/brood-linux-x86_64 ...
# cargo-zigbuild and zig (the `ziglang` package) are installed from PyPI into a virtual
# environment under target/zigbuild-venv (override with BROOD_ZIGBUILD_VENV). See
# docs/aws-worker-binary.md.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
arches=(x86_64)
musl=0
out="$root/dist"
glibc=2.17

usage() {
  sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  exit "${1:-0}"
}

while [ $# -gt 0 ]; do
  case "$1" in
    --arch)
      case "${2:-}" in
        x86_64 | amd64) arches=(x86_64) ;;
        aarch64 | arm64) arches=(aarch64) ;;
        both) arches=(x86_64 aarch64) ;;
        *) echo "--arch: x86_64, aarch64 or both (got '${2:-}')" >&2; exit 2 ;;
      esac
      shift 2 ;;
    --musl) musl=1; shift ;;
    --out) out="${2:?--out: a folder}"; shift 2 ;;
    -h | --help) usage 0 ;;
    *) echo "unknown option $1" >&2; usage 2 ;;
  esac
done

venv="${BROOD_ZIGBUILD_VENV:-$root/target/zigbuild-venv}"
if [ ! -x "$venv/bin/cargo-zigbuild" ]; then
  echo "== installing cargo-zigbuild and zig (PyPI: cargo-zigbuild==0.24.1, which brings ziglang) into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'cargo-zigbuild==0.24.1'
fi
# cargo-zigbuild runs zig as `python -m ziglang` from this environment.
export CARGO_ZIGBUILD_PYTHON_PATH="$venv/bin/python"
# A worker needs no debug information; symbols go too (the size every instance downloads).
export CARGO_PROFILE_RELEASE_DEBUG=false
export CARGO_PROFILE_RELEASE_STRIP=true

mkdir -p "$out"
for arch in "${arches[@]}"; do
  if [ "$musl" = 1 ]; then
    triple="$arch-unknown-linux-musl"
    target="$triple"
  else
    triple="$arch-unknown-linux-gnu"
    # cargo-zigbuild's suffix: link against this glibc version's symbols.
    target="$triple.$glibc"
  fi
  rustup target add "$triple" >/dev/null
  echo "== building brood for $target"
  (cd "$root" && "$venv/bin/cargo-zigbuild" zigbuild --release --locked -p brood --target "$target")
  dest="$out/brood-linux-$arch"
  target_dir="${CARGO_TARGET_DIR:-$root/target}"
  cp "$target_dir/$triple/release/brood" "$dest"
  size="$(wc -c <"$dest" | tr -d ' ')"
  echo "== $dest: $((size / 1000000)) MB"
  if command -v readelf >/dev/null 2>&1; then
    floor="$(readelf -V "$dest" 2>/dev/null | grep -o 'GLIBC_[0-9.]*' | sort -t. -k1,1 -k2,2n -k3,3n -u | tail -1 || true)"
    echo "   needs ${floor:-no glibc (static)}; Amazon Linux 2023 has glibc 2.34"
  fi
done
echo "== give it to a run with --worker-binary, e.g. --worker-binary $out/brood-linux-${arches[0]}"
