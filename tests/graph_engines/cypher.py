"""Load a `blastmap graph --format csv` directory into ladybug (an embedded openCypher engine,
a maintained fork of Kuzu) and answer with Cypher: what each pipeline reaches, who reaches given
secrets, which pipelines can write policies, and the example queries of docs/graph.md.

usage: cypher.py CSV_DIR [SECRET_ID ...]   (prints one JSON document)

Every column is loaded as a string; a relationship file whose rows join several pairs of
node labels is split per pair, as Kuzu-style engines load one pair per COPY.
"""

import csv
import json
import os
import sys
import tempfile

import ladybug


def load(conn, directory, work):
    label_of = {}
    for name in sorted(os.listdir(directory)):
        if not name.startswith("nodes_"):
            continue
        label = name[len("nodes_"):-len(".csv")]
        path = os.path.join(directory, name)
        with open(path, newline="") as f:
            rows = csv.reader(f)
            header = next(rows)
            for row in rows:
                label_of[row[0]] = label
        columns = [h.split(":")[0] for h in header]
        columns[1] = "label"
        conn.execute(
            f"CREATE NODE TABLE `{label}`("
            + ", ".join(f"`{c}` STRING" for c in columns)
            + ", PRIMARY KEY(`id`))"
        )
        conn.execute(f"COPY `{label}` FROM '{path}' (header=true)")
    for name in sorted(os.listdir(directory)):
        if not name.startswith("rels_"):
            continue
        kind = name[len("rels_"):-len(".csv")]
        with open(os.path.join(directory, name), newline="") as f:
            rows = csv.reader(f)
            header = next(rows)
            body = list(rows)
        columns = [h.split(":")[0] for h in header[2:]]
        columns[0] = "type"
        pairs = {}
        for row in body:
            pairs.setdefault((label_of[row[0]], label_of[row[1]]), []).append(row)
        conn.execute(
            f"CREATE REL TABLE `{kind}`("
            + ", ".join(f"FROM `{a}` TO `{b}`" for a, b in pairs)
            + ", "
            + ", ".join(f"`{c}` STRING" for c in columns)
            + ")"
        )
        for (a, b), rows in pairs.items():
            part = os.path.join(work, f"{kind}_{a}_{b}.csv")
            with open(part, "w", newline="") as out:
                writer = csv.writer(out)
                writer.writerow(header)
                writer.writerows(rows)
            pair = f", from='{a}', to='{b}'" if len(pairs) > 1 else ""
            conn.execute(f"COPY `{kind}` FROM '{part}' (header=true{pair})")


def rows(conn, query, params=None):
    result = conn.execute(query, params or {})
    out = []
    while result.has_next():
        out.append(result.get_next())
    return out


def main():
    directory = sys.argv[1]
    secrets = sys.argv[2:]
    work = tempfile.mkdtemp()
    conn = ladybug.Connection(ladybug.Database(os.path.join(work, "db")))
    load(conn, directory, work)
    reach = {}
    for name, secret, caps in rows(
        conn,
        "MATCH (p:Pipeline)-[:LOGS_INTO]->(:Token)-[g:GRANTS]->(s:Secret) "
        "RETURN p.name, s.id, g.capabilities",
    ):
        held = reach.setdefault(name, {}).setdefault(secret, set())
        held.update(json.loads(caps))
    who_can = {}
    for secret in secrets:
        who_can[secret] = sorted(
            {
                r[0]
                for r in rows(
                    conn,
                    "MATCH (p:Pipeline)-[:LOGS_INTO]->(:Token)-[:GRANTS]->(s:Secret) "
                    "WHERE s.id = $id RETURN DISTINCT p.name",
                    {"id": secret},
                )
            }
        )
    policy_writers = sorted(
        {
            r[0]
            for r in rows(
                conn,
                "MATCH (p:Pipeline)-[:LOGS_INTO]->(:Token)-[e:ESCALATES]->() "
                "WHERE e.step = 'policy-write' RETURN DISTINCT p.name",
            )
        }
    )
    # docs/graph.md's examples, run as written there.
    shortest = rows(
        conn,
        "MATCH (t:Team {name: 'payments'})-[:OWNS]->(s:Secret) "
        "MATCH path = (p:Pipeline {name: 'platform-terraform'})-[* SHORTEST 1..8]->(s) "
        "RETURN s.path, length(path) ORDER BY s.path",
    )
    cross_team = rows(
        conn,
        "MATCH (t:Team)-[:RUNS]->(p:Pipeline)-[:LOGS_INTO]->(:Token)-[:GRANTS]->(s:Secret)"
        "<-[:OWNS]-(o:Team) WHERE o.name <> t.name "
        "RETURN DISTINCT p.name, o.name ORDER BY p.name, o.name",
    )
    print(
        json.dumps(
            {
                "reach": {p: {s: sorted(c) for s, c in v.items()} for p, v in reach.items()},
                "who_can": who_can,
                "policy_writers": policy_writers,
                "shortest_to_payments": [[r[0], r[1]] for r in shortest],
                "cross_team": [[r[0], r[1]] for r in cross_team],
            }
        )
    )


main()
