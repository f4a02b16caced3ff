#!/usr/bin/env bash
# The steps the shipped CI integrations run (action.yml for GitHub Actions, templates/blastmap.yml
# for GitLab CI), kept in one script so both do the same thing and a test can run it.
#
#   scripts/ci/blastmap-ci.sh findings   # findings.sarif, gl-sast-report.json, findings.json, findings.md;
#                                        # gate on BLASTMAP_FAIL_ON
#   scripts/ci/blastmap-ci.sh diff       # diff.md (and diff.json); gate on BLASTMAP_DIFF_FAIL_ON
#
# Every input arrives in an environment variable, never spliced into the script's text, so a value
# set by a pull request (a path, a branch name) cannot become shell code:
#   BLASTMAP_BIN          the blastmap binary (default: blastmap on PATH)
#   BLASTMAP_SNAPSHOT     the snapshot written by `blastmap export` (required)
#   BLASTMAP_PIPELINES    the pipeline inventory (optional)
#   BLASTMAP_SUPPRESS     accepted findings with their reasons (optional)
#   BLASTMAP_FAIL_ON      findings: fail at or above this severity (optional)
#   BLASTMAP_DIFF_APPLY   diff: the changes, one per line (policy files or directories, change files,
#                         Terraform plans as JSON)
#   BLASTMAP_DIFF_FAIL_ON diff: gates, separated by spaces or commas (new-access, new-cross-team, a severity)
#   BLASTMAP_OUT_DIR      where the outputs go (default: blastmap-out)
#
# Exit codes are blastmap's: 0 passed, 1 a gate failed, 2 an error.
set -euo pipefail

die() {
  echo "blastmap-ci: $*" >&2
  exit 2
}

bin=${BLASTMAP_BIN:-blastmap}
out=${BLASTMAP_OUT_DIR:-blastmap-out}
[ -n "${BLASTMAP_SNAPSHOT:-}" ] || die "set the snapshot input (a file written by blastmap export)"
[ -f "$BLASTMAP_SNAPSHOT" ] || die "snapshot not found: $BLASTMAP_SNAPSHOT"
mkdir -p -- "$out"

common=(--snapshot "$BLASTMAP_SNAPSHOT")
if [ -n "${BLASTMAP_PIPELINES:-}" ]; then
  common+=(--pipelines "$BLASTMAP_PIPELINES")
fi
if [ -n "${BLASTMAP_SUPPRESS:-}" ]; then
  common+=(--suppress "$BLASTMAP_SUPPRESS")
fi

run_findings() {
  local gate=() rc=0
  if [ -n "${BLASTMAP_FAIL_ON:-}" ]; then
    gate=(--fail-on "$BLASTMAP_FAIL_ON")
  fi
  "$bin" findings "${common[@]}" --format json --output "$out/findings.json"
  "$bin" findings "${common[@]}" --format markdown --output "$out/findings.md"
  "$bin" findings "${common[@]}" --format gitlab-sast --output "$out/gl-sast-report.json"
  "$bin" findings "${common[@]}" --format sarif --output "$out/findings.sarif" "${gate[@]}" || rc=$?
  if [ "$rc" -eq 1 ]; then
    echo "blastmap-ci: findings at or above ${BLASTMAP_FAIL_ON} (see $out/findings.md)" >&2
  fi
  return "$rc"
}

run_diff() {
  local changes=() gates=() rc=0 line gate
  while IFS= read -r line; do
    [ -n "$line" ] && changes+=("$line")
  done <<<"${BLASTMAP_DIFF_APPLY:-}"
  [ "${#changes[@]}" -gt 0 ] || die "set the diff-apply input: the policy files, change files or plans to judge"
  local fail_on=${BLASTMAP_DIFF_FAIL_ON:-}
  for gate in ${fail_on//,/ }; do
    gates+=(--fail-on "$gate")
  done
  "$bin" diff "${common[@]}" --apply "${changes[@]}" --format json >"$out/diff.json" || true
  "$bin" diff "${common[@]}" --apply "${changes[@]}" --format markdown "${gates[@]}" >"$out/diff.md" || rc=$?
  if [ "$rc" -eq 2 ]; then
    cat "$out/diff.md" >&2
  fi
  return "$rc"
}

case "${1:-}" in
  findings) run_findings ;;
  diff) run_diff ;;
  *) die "usage: blastmap-ci.sh findings|diff" ;;
esac
