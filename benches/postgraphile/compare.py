#!/usr/bin/env python3
"""Compares recover-better's answer to a benchmark query with PostGraphile's.

    python3 compare.py Qn OURS.json POSTGRAPHILE.json

Prints one line: the totalCounts side by side and whether the rest of the answer (the page's
keys, the fields asked for, the facet counts) is the same. Exits 1 if a totalCount differs.
"""

import json
import sys


def nodes(conn):
    return conn.get("nodes") or [e["node"] for e in conn.get("edges") or []]


def states(rec):
    """Names of a recommendation's recommending States, as a sorted list."""
    v = rec["recommendingStates"]
    if isinstance(v, dict):  # PostGraphile: a connection of join rows
        return sorted(n["country"]["name"] for n in v["nodes"])
    return sorted(s["name"] for s in v)


def same(a, b):
    return "same" if a == b else "DIFFERENT"


def q0(o, p):
    return [f"__typename ours={o['__typename']} postgraphile={p['__typename']}"], True


def q1(o, p):
    o, p = o["recommendation"], p["recommendation"]
    ok = (o["ref"] == p["id"] and o["text"] == p["text"]
          and o["stateUnderReview"]["name"] == p["stateUnderReview"]["name"])
    return [f"{o['ref']}: fields {same(True, ok)}, recommending States "
            f"{same(states(o), states(p))} ({', '.join(states(o))})"], True


def page(o_conn, p_conn, fields):
    """Compares a page of nodes: ours use `ref`, PostGraphile's `id`."""
    on, pn = nodes(o_conn), nodes(p_conn)
    keys = same([n["ref"] for n in on], [n["id"] for n in pn])
    vals = same([[n[f] for f in fields] for n in on], [[n[f] for f in fields] for n in pn])
    return f"page of {len(on)}/{len(pn)}: keys {keys}, fields {vals}"


def total(label, o_conn, p_conn):
    a, b = o_conn["totalCount"], p_conn["totalCount"]
    return f"{label}totalCount ours={a} postgraphile={b} {same(a, b)}", a == b


def q2(o, p):
    o, p = o["country"], p["country"]
    t1, ok1 = total("received ", o["recommendationsReceived"], p["recommendationsReceived"])
    t2, ok2 = total("measures ", o["measures"], p["measures"])
    return [t1, page(o["recommendationsReceived"], p["recommendationsReceived"], ["text", "response"]),
            t2, page(o["measures"], p["measures"], ["title", "startDate"])], ok1 and ok2


def q3(o, p):
    o, p = o["recommendations"], p["recommendations"]
    t, ok = total("", o, p)
    on, pn = nodes(o), nodes(p)
    names = same([n["stateUnderReview"]["name"] for n in on],
                 [n["stateUnderReview"]["name"] for n in pn])
    return [t, page(o, p, ["text"]) + f", States under review {names}"], ok


def q4(o, p):
    o, p = o["country"]["measures"], p["country"]["measures"]
    t, ok = total("", o, p)

    def links(n, ours):
        ls = n["links"] if ours else n["links"]["nodes"]
        return sorted((l["relation"], l["recommendation"]["ref" if ours else "id"],
                       tuple(states(l["recommendation"]))) for l in ls)

    lo = [links(n, True) for n in nodes(o)]
    lp = [links(n, False) for n in nodes(p)]
    return [t, page(o, p, ["title"]) + f", links with their States {same(lo, lp)} "
               f"({sum(map(len, lo))}/{sum(map(len, lp))} links)"], ok


FACETS = {  # ours -> (PostGraphile root alias, group connection, count field)
    "response": ("recommendations", "response", "id"),
    "actionCategory": ("actionCategory", "groupedAggregates", "id"),
    "theme": ("theme", "groupedAggregates", "recommendationId"),
    "group": ("group", "groupedAggregates", "recommendationId"),
    "sdg": ("sdg", "groupedAggregates", "recommendationId"),
    "cycle": ("recommendations", "cycle", "id"),
    "session": ("recommendations", "session", "id"),
    "stateUnderReview": ("recommendations", "stateUnderReview", "id"),
    "recommendingState": ("recommendingState", "groupedAggregates", "recommendationId"),
}


def q5(o, p):
    conn = o["recommendations"]
    t, ok = total("", conn, p["recommendations"])
    out = [t, page(conn, p["recommendations"], [])]
    diffs = []
    for facet, (root, field, count) in FACETS.items():
        ours = {f["value"]: f["count"] for f in conn["facets"][facet]}
        theirs = {g["keys"][0]: int(g["distinctCount"][count]) for g in p[root][field]
                  if g["keys"][0] is not None}
        if ours != theirs:
            diffs.append(facet)
    n = sum(len(v) for v in conn["facets"].values())
    out.append(f"9 facets ({n} values): " + ("same counts" if not diffs
                                             else "DIFFERENT in " + ", ".join(diffs)))
    return out, ok


def q6(o, p):
    o, p = o["search"], p["search"]
    t, ok = total("", o, p)
    ours = [(n["node"]["__typename"], n["node"]["ref"]) for n in nodes(o)]
    theirs = []
    for n in nodes(p):
        target = n["recommendation"] or n["measure"] or n["goodPractice"]
        theirs.append((n["kind"], target["id"] if target else None))
    common = len(set(ours) & set(theirs))
    kinds = lambda hits: ",".join(f"{k}:{sum(1 for h in hits if h[0] == k)}"
                                  for k in sorted({h[0] for h in hits}))
    return [t, f"first page: {common} of {len(ours)} hits in common "
               f"(ours {kinds(ours)}; postgraphile {kinds(theirs)}; ranking differs: BM25 vs ts_rank)"], ok


def main():
    name, ours_path, theirs_path = sys.argv[1:4]
    ours, theirs = (json.load(open(x)) for x in (ours_path, theirs_path))
    for label, doc in (("ours", ours), ("postgraphile", theirs)):
        if doc.get("errors"):
            print(f"{name}: {label} answered with errors: {doc['errors']}")
            sys.exit(1)
    lines, ok = {"Q0": q0, "Q1": q1, "Q2": q2, "Q3": q3, "Q4": q4, "Q5": q5, "Q6": q6}[name](
        ours["data"], theirs["data"])
    print(f"- {name}: " + "; ".join(lines))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
