#!/usr/bin/env bash
# End-to-end timing and peak memory of blastmap on a synthetic estate.
#
# Generates the estate with `blastmap synth` (default: the issue's large estate, 1M secrets,
# 20k policies, 10k roles, 5k pipelines, 50 namespaces), then times each command with
# /usr/bin/time -v and reports its wall time and peak RSS:
#
#   reach     `reach --format json > /dev/null` (every pipeline, every secret, every chain)
#   findings  `findings --format json` (load + analysis + reach of every token + facts + rules)
#   teams     `dot --view teams` (DOT to /dev/null)
#   overview  `dot --view overview`
#   diff      `diff --base A --head B --pipelines P --format json`, B = A with one role given one
#             more policy (made with python3; skipped when python3 is missing)
#   graph     `graph --format opengraph` and `graph --format csv` (findings on the nodes), written
#             into DIR
#   capabilities  `capabilities` of 1,000 policy files on 200,000 paths, JSON (with the rules
#             behind each answer) and table, to files in DIR (inputs made with python3)
#
# Usage: scripts/bench-e2e.sh [DIR]        (DIR defaults to a temporary directory, removed after)
# Sizes and seed: SECRETS, POLICIES, ROLES, PIPELINES, NAMESPACES, SEED environment variables.
# STEPS: the steps to run (default "reach findings teams overview diff").
# BLASTMAP=path/to/blastmap skips the release build. MEMORY_LIMIT_KB caps the address space of
# the timed commands (ulimit -v; default 16 GiB) so a runaway run fails instead of exhausting
# the machine; 0 disables the cap. The figures are in docs/performance.md.
set -euo pipefail

cd "$(dirname "$0")/.."

if [[ ! -x /usr/bin/time ]]; then
    echo "error: /usr/bin/time is missing (GNU time, for peak RSS); install it with: apt-get install time" >&2
    exit 2
fi

SECRETS=${SECRETS:-1000000}
POLICIES=${POLICIES:-20000}
ROLES=${ROLES:-10000}
PIPELINES=${PIPELINES:-5000}
NAMESPACES=${NAMESPACES:-50}
SEED=${SEED:-1}
MEMORY_LIMIT_KB=${MEMORY_LIMIT_KB:-16777216}
STEPS=${STEPS:-reach findings teams overview diff graph capabilities}

if [[ -z "${BLASTMAP:-}" ]]; then
    cargo build --release --quiet
    BLASTMAP=target/release/blastmap
fi

if [[ $# -ge 1 ]]; then
    DIR=$1
    mkdir -p "$DIR"
else
    DIR=$(mktemp -d -t blastmap-e2e.XXXXXX)
    trap 'rm -rf "$DIR"' EXIT
fi

# Run a command under /usr/bin/time -v; print wall time and peak RSS.
timed() {
    local label=$1
    shift
    local log
    log=$(mktemp -t blastmap-time.XXXXXX)
    local status=0
    (
        if [[ "$MEMORY_LIMIT_KB" != 0 ]]; then ulimit -v "$MEMORY_LIMIT_KB"; fi
        /usr/bin/time -v "$@"
    ) 2>"$log" || status=$?
    local wall rss
    wall=$(sed -n 's/^[[:space:]]*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")
    rss=$(sed -n 's/^[[:space:]]*Maximum resident set size (kbytes): //p' "$log")
    printf '%-9s wall %-10s peak RSS %8.1f MiB  exit %s\n' "$label" "$wall" "$(awk -v k="${rss:-0}" 'BEGIN { print k / 1024 }')" "$status"
    if [[ $status != 0 ]]; then
        grep -v '^[[:space:]]' "$log" | grep -v '^Command' >&2 || true
        rm -f "$log"
        return "$status"
    fi
    rm -f "$log"
}

echo "estate: $SECRETS secrets, $POLICIES policies, $ROLES roles, $PIPELINES pipelines, $NAMESPACES namespaces, seed $SEED"
echo "binary: $BLASTMAP; directory: $DIR; machine: $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB"
timed synth "$BLASTMAP" synth --secrets "$SECRETS" --policies "$POLICIES" --roles "$ROLES" \
    --pipelines "$PIPELINES" --namespaces "$NAMESPACES" --seed "$SEED" --out "$DIR"
ls -l "$DIR"
SNAP=$DIR/snapshot.json
PIPES=$DIR/pipelines.yaml
for step in $STEPS; do
    case $step in
    reach)
        timed reach sh -c "\"\$0\" reach --snapshot \"\$1\" --pipelines \"\$2\" --format json > /dev/null" \
            "$BLASTMAP" "$SNAP" "$PIPES"
        ;;
    findings)
        timed findings "$BLASTMAP" findings --snapshot "$SNAP" --pipelines "$PIPES" --format json \
            --output /dev/null
        ;;
    teams | overview)
        timed "$step" sh -c "\"\$0\" dot --snapshot \"\$1\" --pipelines \"\$2\" --view \"\$3\" > /dev/null" \
            "$BLASTMAP" "$SNAP" "$PIPES" "$step"
        ;;
    diff)
        if ! command -v python3 > /dev/null; then
            echo "diff      skipped: python3 is needed to make the head snapshot" >&2
            continue
        fi
        # The head: the first role with token policies gets the last policy of its namespace
        # (as blastmap::synth::change_one_role does for the benchmarks and tests/suite/perf_golden.rs).
        python3 - "$SNAP" "$DIR/head.json" <<'PY'
import json, sys
snap = json.load(open(sys.argv[1]))
def change():
    for ns in snap["namespaces"]:
        policies = ns.get("policies") or []
        if not policies:
            continue
        for m in ns.get("auth_mounts") or []:
            for roles in (m.get("roles") or {}).values():
                for r in roles:
                    if isinstance(r.get("token_policies"), list):
                        r["token_policies"].append(policies[-1]["name"])
                        return
change()
json.dump(snap, open(sys.argv[2], "w"))
PY
        timed diff sh -c "\"\$0\" diff --base \"\$1\" --head \"\$2\" --pipelines \"\$3\" --format json > /dev/null" \
            "$BLASTMAP" "$SNAP" "$DIR/head.json" "$PIPES"
        ;;
    graph)
        timed opengraph "$BLASTMAP" graph --snapshot "$SNAP" --pipelines "$PIPES" \
            --format opengraph --out "$DIR/graph.json"
        timed csv "$BLASTMAP" graph --snapshot "$SNAP" --pipelines "$PIPES" \
            --format csv --out "$DIR/graph-csv"
        ls -l "$DIR/graph.json" "$DIR/graph-csv"
        ;;
    capabilities)
        # 1,000 policies of 4-5 rules (exact, prefix, `+` and deny rules over 100 teams) and
        # 200,000 paths that match them, or nothing.
        mkdir -p "$DIR/caps/policies"
        python3 - "$DIR/caps" <<'PY'
import random, sys
out = sys.argv[1]
random.seed(1)
teams = [f"team{i}" for i in range(100)]
for i in range(1000):
    t = teams[i % 100]
    rules = [
        f'path "secret/data/{t}/app{i}/*" {{ capabilities = ["read", "list"] }}',
        f'path "secret/metadata/{t}/*" {{ capabilities = ["list"] }}',
        f'path "kv/{t}/+/config" {{ capabilities = ["read"] }}',
        f'path "database/creds/{t}-ro" {{ capabilities = ["read"] }}',
    ]
    if i % 50 == 0:
        rules.append(f'path "secret/data/{t}/*" {{ capabilities = ["deny"] }}')
    open(f"{out}/policies/p{i:04}.hcl", "w").write("\n".join(rules) + "\n")
with open(f"{out}/paths.txt", "w") as f:
    for j in range(200000):
        t = teams[j % 100]
        k = random.randint(0, 4)
        f.write([f"secret/data/{t}/app{random.randint(0, 999)}/key{j}", f"secret/metadata/{t}/x{j}",
                 f"kv/{t}/svc{j % 37}/config", f"database/creds/{t}-ro", f"other/{t}/{j}"][k] + "\n")
PY
        for format in json table; do
            timed "caps-$format" sh -c "\"\$0\" capabilities --policy-file \"\$1\"/policies/*.hcl --paths-file \"\$1/paths.txt\" --format \"\$2\" > \"\$1/out.\$2\"" \
                "$BLASTMAP" "$DIR/caps" "$format"
        done
        ;;
    *)
        echo "unknown step $step (expected reach, findings, teams, overview, diff, graph, capabilities)" >&2
        exit 2
        ;;
    esac
done
