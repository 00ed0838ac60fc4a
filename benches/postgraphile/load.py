#!/usr/bin/env python3
"""Turns a recover-better dataset (JSON Lines, see shared DOMAIN.md) into COPY input for
the normalized schema of benches/postgraphile/schema.sql.

    python3 load.py DATASET_DIR OUT_DIR

Writes OUT_DIR/<table>.copy (PostgreSQL COPY text format) for every table, and
OUT_DIR/load.psql, a psql script that \\copy-s them in dependency order in one transaction:

    psql -v ON_ERROR_STOP=1 -d DB -f schema.sql -f OUT_DIR/load.psql

Standard library only.
"""

import json
import os
import sys

# Table -> columns, in load order (parents before children).
TABLES = [
    ("sdgs", ["goal", "name"]),
    ("themes", ["slug", "name", "source"]),
    ("theme_sdgs", ["theme_slug", "sdg"]),
    ("groups", ["slug", "name", "source"]),
    ("measure_categories", ["code", "name", "oxcgrt"]),
    ("measure_category_themes", ["category", "theme_slug"]),
    ("countries", ["code", "iso2", "name", "region", "subregion", "un_regional_group"]),
    ("cycles", ["number", "start_date", "end_date"]),
    ("sessions", ["number", "cycle_number", "start_date", "end_date"]),
    ("session_states", ["session_number", "country_code"]),
    ("recommendations", ["id", "text", "state_under_review_code", "session_number",
                         "cycle_number", "response", "action_category", "document",
                         "paragraph"]),
    ("recommendation_recommending_states", ["recommendation_id", "country_code", "position"]),
    ("recommendation_themes", ["recommendation_id", "theme_slug"]),
    ("recommendation_groups", ["recommendation_id", "group_slug"]),
    ("recommendation_sdgs", ["recommendation_id", "sdg"]),
    ("measures", ["id", "country_code", "title", "description", "category", "start_date",
                  "end_date", "source", "source_code", "source_url"]),
    ("measure_themes", ["measure_id", "theme_slug"]),
    ("measure_groups", ["measure_id", "group_slug"]),
    ("measure_sdgs", ["measure_id", "sdg"]),
    ("good_practices", ["id", "title", "description", "year", "source"]),
    ("good_practice_countries", ["good_practice_id", "country_code"]),
    ("good_practice_themes", ["good_practice_id", "theme_slug"]),
    ("good_practice_groups", ["good_practice_id", "group_slug"]),
    ("good_practice_sdgs", ["good_practice_id", "sdg"]),
    ("good_practice_measures", ["good_practice_id", "measure_id"]),
    ("good_practice_recommendations", ["good_practice_id", "recommendation_id"]),
    ("links", ["recommendation_id", "measure_id", "relation", "status", "note", "evidence_url",
               "created_by", "created_at", "updated_at"]),
]

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def field(value):
    """One value in COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, list):  # a text[] literal
        items = []
        for v in value:
            s = str(v).replace("\\", "\\\\").replace('"', '\\"')
            items.append('"' + s + '"')
        return ("{" + ",".join(items) + "}").translate(_ESCAPES)
    return str(value).translate(_ESCAPES)


def records(path):
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{number}: {e}")


def unique(values):
    """The values in order, duplicates dropped (a join table's key must be unique)."""
    seen = set()
    for v in values:
        if v not in seen:
            seen.add(v)
            yield v


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    files = {name: open(os.path.join(out, name + ".copy"), "w", encoding="utf-8")
             for name, _ in TABLES}
    counts = dict.fromkeys(files, 0)

    def row(table, *values):
        files[table].write("\t".join(field(v) for v in values) + "\n")
        counts[table] += 1

    tax = os.path.join(src, "taxonomy")
    for r in records(os.path.join(tax, "sdgs.jsonl")):
        row("sdgs", r["goal"], r["name"])
    for r in records(os.path.join(tax, "themes.jsonl")):
        row("themes", r["slug"], r["name"], r.get("source"))
        for g in unique(r.get("sdgs") or []):
            row("theme_sdgs", r["slug"], g)
    for r in records(os.path.join(tax, "groups.jsonl")):
        row("groups", r["slug"], r["name"], r.get("source"))
    for r in records(os.path.join(tax, "measure_categories.jsonl")):
        row("measure_categories", r["code"], r["name"], r.get("oxcgrt") or [])
        for t in unique(r.get("themes") or []):
            row("measure_category_themes", r["code"], t)

    for r in records(os.path.join(src, "countries.jsonl")):
        row("countries", r["code"], r.get("iso2"), r["name"], r.get("region"),
            r.get("subregion"), r.get("un_regional_group"))
    for r in records(os.path.join(src, "cycles.jsonl")):
        row("cycles", r["number"], r.get("start_date"), r.get("end_date"))
    cycle_of = {}
    for r in records(os.path.join(src, "sessions.jsonl")):
        cycle_of[r["number"]] = r["cycle"]
        row("sessions", r["number"], r["cycle"], r.get("start_date"), r.get("end_date"))
        for c in unique(r.get("states_under_review") or []):
            row("session_states", r["number"], c)

    for r in records(os.path.join(src, "recommendations.jsonl")):
        rid = r["id"]
        row("recommendations", rid, r["text"], r["state_under_review"], r["session"],
            cycle_of.get(r["session"]), r["response"], r.get("action_category"),
            r.get("document"), r.get("paragraph"))
        for i, c in enumerate(unique(r.get("recommending_states") or [])):
            row("recommendation_recommending_states", rid, c, i)
        for t in unique(r.get("themes") or []):
            row("recommendation_themes", rid, t)
        for g in unique(r.get("groups") or []):
            row("recommendation_groups", rid, g)
        for s in unique(r.get("sdgs") or []):
            row("recommendation_sdgs", rid, s)

    for r in records(os.path.join(src, "measures.jsonl")):
        mid = r["id"]
        row("measures", mid, r["country"], r["title"], r["description"], r["category"],
            r["start_date"], r.get("end_date"), r.get("source"), r.get("source_code"),
            r.get("source_url"))
        for t in unique(r.get("themes") or []):
            row("measure_themes", mid, t)
        for g in unique(r.get("groups") or []):
            row("measure_groups", mid, g)
        for s in unique(r.get("sdgs") or []):
            row("measure_sdgs", mid, s)

    gp_path = os.path.join(src, "good_practices.jsonl")
    for r in records(gp_path) if os.path.exists(gp_path) else []:
        gid = r["id"]
        row("good_practices", gid, r["title"], r["description"], r.get("year"), r.get("source"))
        for c in unique(r.get("countries") or []):
            row("good_practice_countries", gid, c)
        for t in unique(r.get("themes") or []):
            row("good_practice_themes", gid, t)
        for g in unique(r.get("groups") or []):
            row("good_practice_groups", gid, g)
        for s in unique(r.get("sdgs") or []):
            row("good_practice_sdgs", gid, s)
        for m in unique(r.get("measures") or []):
            row("good_practice_measures", gid, m)
        for x in unique(r.get("recommendations") or []):
            row("good_practice_recommendations", gid, x)

    links_path = os.path.join(src, "links.jsonl")
    for r in records(links_path) if os.path.exists(links_path) else []:
        row("links", r["recommendation"], r["measure"], r["relation"],
            r.get("status") or "CONFIRMED", r.get("note"), r.get("evidence_url"),
            r.get("created_by"), r.get("created_at"), r.get("updated_at"))

    for f in files.values():
        f.close()
    with open(os.path.join(out, "load.psql"), "w", encoding="utf-8") as f:
        f.write("begin;\n")
        for name, columns in TABLES:
            path = os.path.abspath(os.path.join(out, name + ".copy")).replace("'", "''")
            f.write(f"\\copy {name} ({', '.join(columns)}) from '{path}'\n")
        f.write("commit;\n")
    print(" ".join(f"{name}={counts[name]}" for name, _ in TABLES if counts[name]))


if __name__ == "__main__":
    main()
