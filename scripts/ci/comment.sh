#!/usr/bin/env bash
# Posts the what-if (BLASTMAP_OUT_DIR/diff.md) on the pull or merge request, replacing the previous
# blastmap comment instead of adding one per push. Used by action.yml (GitHub, through `gh api`)
# and templates/blastmap.yml (GitLab, through its REST API with curl).
#
#   scripts/ci/comment.sh github   # needs GH_TOKEN, GITHUB_REPOSITORY, PR_NUMBER
#   scripts/ci/comment.sh gitlab   # needs BLASTMAP_GITLAB_TOKEN, CI_API_V4_URL, CI_PROJECT_ID,
#                                  # CI_MERGE_REQUEST_IID
#
# The body is blastmap's Markdown, whose every name from the estate is already escaped; it is
# passed as a file, never through the command line. Bodies over the platforms' limits are cut at a
# line, with a note pointing at the job's artifact.
set -euo pipefail

marker='<!-- blastmap what-if -->'
limit=60000
out=${BLASTMAP_OUT_DIR:-blastmap-out}
src="$out/diff.md"
[ -f "$src" ] || { echo "comment.sh: $src not found: run blastmap-ci.sh diff first" >&2; exit 2; }

body="$out/comment.md"
{
  echo "$marker"
  if [ "$(wc -c <"$src")" -gt "$limit" ]; then
    head -c "$limit" "$src" | sed '$d'
    echo
    echo "_The what-if is longer than a comment can hold: the whole of it is in the job's \`diff.md\`._"
  else
    cat "$src"
  fi
} >"$body"

github() {
  local id
  id=$(gh api "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" --paginate \
    --jq ".[] | select(.body | startswith(\"$marker\")) | .id" | tail -n 1)
  if [ -n "$id" ] && gh api -X PATCH "repos/$GITHUB_REPOSITORY/issues/comments/$id" -F "body=@$body" >/dev/null; then
    return 0
  fi
  gh api -X POST "repos/$GITHUB_REPOSITORY/issues/$PR_NUMBER/comments" -F "body=@$body" >/dev/null
}

gitlab() {
  local api="$CI_API_V4_URL/projects/$CI_PROJECT_ID/merge_requests/$CI_MERGE_REQUEST_IID/notes"
  local auth="PRIVATE-TOKEN: $BLASTMAP_GITLAB_TOKEN" id
  id=$(curl --fail --silent --show-error -H @- "$api?per_page=100&sort=desc" <<<"$auth" |
    python3 -c 'import json,sys; m=sys.argv[1]; print(next((str(n["id"]) for n in json.load(sys.stdin) if n.get("body","").startswith(m)), ""))' "$marker")
  if [ -n "$id" ] && curl --fail --silent --show-error -X PUT -H @- --data-urlencode "body@$body" "$api/$id" <<<"$auth" >/dev/null; then
    return 0
  fi
  curl --fail --silent --show-error -X POST -H @- --data-urlencode "body@$body" "$api" <<<"$auth" >/dev/null
}

case "${1:-}" in
  github) github ;;
  gitlab) gitlab ;;
  *) echo "usage: comment.sh github|gitlab" >&2; exit 2 ;;
esac
