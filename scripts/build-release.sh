#!/usr/bin/env bash
# Builds blastmap for installation, exactly as the container image does (the Dockerfile's build
# stage runs this script): the binary, its manual pages and its shell completions, laid out
# under one prefix.
#
#   bash scripts/build-release.sh [PREFIX]        # default: dist/
#
# PREFIX/bin/blastmap
# PREFIX/share/man/man1/blastmap*.1
# PREFIX/share/bash-completion/completions/blastmap
# PREFIX/share/zsh/site-functions/_blastmap
# PREFIX/share/fish/vendor_completions.d/blastmap.fish
#
# BLASTMAP_GIT_COMMIT names the commit `blastmap --version` reports; without it the script asks
# git (a container build has no .git: pass it as a build argument). BLASTMAP_PROFILE picks the
# cargo profile (release by default; the tests use dev, whose artifacts are already built).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

prefix=${1:-dist}
profile=${BLASTMAP_PROFILE:-release}

if [ -z "${BLASTMAP_GIT_COMMIT:-}" ]; then
  BLASTMAP_GIT_COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || true)
fi
export BLASTMAP_GIT_COMMIT

cargo build --locked --profile "$profile" --bin blastmap

case "$profile" in
  dev) out_dir=debug ;;
  *) out_dir=$profile ;;
esac
binary="${CARGO_TARGET_DIR:-target}/$out_dir/blastmap"

install -d "$prefix/bin" "$prefix/share/man/man1" \
  "$prefix/share/bash-completion/completions" \
  "$prefix/share/zsh/site-functions" \
  "$prefix/share/fish/vendor_completions.d"
install -m 0755 "$binary" "$prefix/bin/blastmap"

installed="$prefix/bin/blastmap"
"$installed" man --out "$prefix/share/man/man1"
"$installed" completions bash > "$prefix/share/bash-completion/completions/blastmap"
"$installed" completions zsh > "$prefix/share/zsh/site-functions/_blastmap"
"$installed" completions fish > "$prefix/share/fish/vendor_completions.d/blastmap.fish"

"$installed" --version
