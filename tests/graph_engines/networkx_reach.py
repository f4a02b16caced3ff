"""Read a `blastmap graph --format graphml` file with networkx and walk it: what each pipeline
reaches directly (every edge but ESCALATES), and with escalation steps followed at most DEPTH
steps from each login's token (a namespace under full control gives every secret it contains).

usage: networkx_reach.py FILE DEPTH   (prints one JSON document)
"""

import json
import sys

import networkx


def main():
    graph = networkx.read_graphml(sys.argv[1])
    depth = int(sys.argv[2])
    kind = {n: d.get("kind") for n, d in graph.nodes(data=True)}

    def out(node, edge_kind):
        for _, target, data in graph.out_edges(node, data=True):
            if data.get("kind") == edge_kind:
                yield target

    def contained_secrets(namespace):
        found, stack, seen = set(), [namespace], {namespace}
        while stack:
            node = stack.pop()
            for target in list(out(node, "CONTAINS")) + list(out(node, "HOLDS")):
                if target in seen:
                    continue
                seen.add(target)
                if kind[target] == "Secret":
                    found.add(target)
                else:
                    stack.append(target)
        return found

    plain = networkx.DiGraph()
    plain.add_nodes_from(graph.nodes)
    plain.add_edges_from(
        (a, b) for a, b, d in graph.edges(data=True) if d.get("kind") != "ESCALATES"
    )
    direct, escalated = {}, {}
    for node in graph.nodes:
        if kind[node] != "Pipeline":
            continue
        tokens = set(out(node, "LOGS_INTO"))
        reached = set()
        for token in tokens:
            reached.update(t for t in out(token, "GRANTS"))
        # The same answer from networkx's own reachability over the non-escalation edges.
        walked = {n for n in networkx.descendants(plain, node) if kind[n] == "Secret"}
        assert walked == reached, (node, sorted(walked ^ reached))
        direct[node] = sorted(reached)
        frontier, seen, total = {t: 0 for t in tokens}, set(tokens), set(reached)
        while frontier:
            following = {}
            for at, steps in frontier.items():
                if kind[at] == "Namespace":
                    total.update(contained_secrets(at))
                    continue
                total.update(out(at, "GRANTS"))
                if steps == depth:
                    continue
                for target in out(at, "ESCALATES"):
                    if target not in seen:
                        seen.add(target)
                        following[target] = steps + 1
            frontier = following
        escalated[node] = len(total)
    print(json.dumps({"direct": direct, "escalated": escalated}))


main()
