#!/usr/bin/env python3
"""Check `concerns.jsonl` and `actions.jsonl` of a dataset before the importer sees them.

The records were extracted by hand from OHCHR's UN Human Rights Report 2020 (COVID-19 chapter),
so the mistakes to catch are a hand's mistakes: a slug that does not exist, a measure id mistyped,
a quote that drifted from the report, a country missing from the id. The checks are those of the
importer (fields, enums, references, dates, lengths) plus the extraction rules written down in
PROVENANCE.md (quotes verbatim, ids numbered in report order, links inside the record's countries,
SDGs derived from the themes), so a rule that is written down is also a rule that is enforced.

Usage: check_tracker_records.py [DATASET_DIR] [--report PATH]

DATASET_DIR defaults to the folder above this script. The report defaults to
`shared/sources/ohchr-report-2020-covid.md` beside the repository (or beside its parent, for a
worktree); when it is absent the quote and report-order checks are skipped, and the script says
so, since the project must work without it. Errors are printed as `file:line: reason`; the exit
status is 1 if there is any, 2 if DATASET_DIR is not a dataset folder. Python standard library only.
"""

import argparse
import datetime
import json
import re
import sys
from pathlib import Path

CITATION = "OHCHR, UN Human Rights Report 2020, COVID-19 chapter"
CONCERN_FIELDS = ["id", "countries", "title", "description", "kind", "severity", "reported_on", "themes",
                  "groups", "sdgs", "measures", "recommendations", "source", "source_url"]
ACTION_FIELDS = ["id", "countries", "title", "description", "kind", "start_date", "end_date", "outcome",
                 "people_reached", "themes", "groups", "sdgs", "concerns", "measures", "recommendations", "source"]
CONCERN_KINDS = {"TREND", "RISK", "EARLY_WARNING"}
SEVERITIES = {"LOW", "MEDIUM", "HIGH"}
ACTION_KINDS = {"GUIDANCE_AND_TECHNICAL_SUPPORT", "MONITORING_AND_REPORTING",
                "AWARENESS_RAISING_AND_ADVOCACY", "ADJUSTING_WORKING_METHODS"}
# The limits of src/model/limits.rs, counted in characters as the importer counts them.
LIMITS = {"title": 500, "description": 20_000, "outcome": 5_000, "source": 1_000, "source_url": 2_048}
# The report covers 2020; every date the extraction uses falls inside it (PROVENANCE.md, dates).
PERIOD = (datetime.date(2020, 1, 1), datetime.date(2020, 12, 31))
# `"quote" "quote" (citation)`: the report never uses straight double quotes, so they delimit safely.
SOURCE_RE = re.compile(r'^((?:"[^"]+" )+)\(' + re.escape(CITATION) + r"\)$")
QUOTE_RE = re.compile(r'"([^"]+)"')


def read_jsonl(path):
    """Yield (line number, record or None, error) for each non-empty line."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line), None
            except json.JSONDecodeError as e:
                yield n, None, f"not JSON: {e}"


def keys(path, field):
    return {r[field] for _, r, err in read_jsonl(path) if err is None}


def normalise(text):
    """The report's words without its markdown: emphasis, footnote markers and line breaks are
    layout, not text, so a quote is compared with them removed."""
    text = re.sub(r"<sup>.*?</sup>", "", text)
    text = text.replace("**", "").replace("*", "")
    return re.sub(r"\s+", " ", text).strip()


class Checker:
    def __init__(self, root, report):
        self.root = root
        self.errors = []
        tax = root / "taxonomy"
        self.countries = keys(root / "countries.jsonl", "code")
        self.themes = {}
        for _, r, err in read_jsonl(tax / "themes.jsonl"):
            if err is None:
                self.themes[r["slug"]] = set(r["sdgs"])
        self.groups = keys(tax / "groups.jsonl", "slug")
        self.sdgs = keys(tax / "sdgs.jsonl", "goal")
        self.measures = {}
        for _, r, err in read_jsonl(root / "measures.jsonl"):
            if err is None:
                self.measures[r["id"]] = r["country"]
        self.recommendations = {}
        for _, r, err in read_jsonl(root / "recommendations.jsonl"):
            if err is None:
                self.recommendations[r["id"]] = r["state_under_review"]
        self.report = normalise(report.read_text(encoding="utf-8")) if report else None

    def error(self, file, line, reason):
        self.errors.append(f"{file}:{line}: {reason}")

    def check_file(self, name, fields, check_record):
        path = self.root / name
        records = []
        seen = set()
        if not path.is_file():
            self.error(name, 0, "file not found")
            return records
        for n, r, err in read_jsonl(path):
            if err:
                self.error(name, n, err)
                continue
            if not isinstance(r, dict):
                self.error(name, n, "a record must be a JSON object")
                continue
            missing = [f for f in fields if f not in r]
            extra = [f for f in r if f not in fields]
            if missing:
                self.error(name, n, f"missing field(s): {', '.join(missing)}")
            if extra:
                self.error(name, n, f"unknown field(s): {', '.join(extra)}")
            if missing:
                continue
            if not isinstance(r["id"], str):
                self.error(name, n, f"id: {r['id']!r} must be a string")
                continue
            if r["id"] in seen:
                self.error(name, n, f"id: {r['id']} appears twice")
            seen.add(r["id"])
            self.check_common(name, n, r)
            check_record(name, n, r)
            records.append((n, r))
        return records

    def check_common(self, name, n, r):
        prefix = "C" if name == "concerns.jsonl" else "A"
        for f in ("title", "description", "source"):
            if not isinstance(r[f], str) or not r[f].strip():
                self.error(name, n, f"{f}: must be a non-empty string")
        for f, limit in LIMITS.items():
            v = r.get(f)
            if isinstance(v, str) and len(v) > limit:
                self.error(name, n, f"{f}: {len(v)} characters is over the limit of {limit}")
        cs = r["countries"]
        if not isinstance(cs, list) or not cs:
            self.error(name, n, "countries: must list at least one country")
            cs = []
        for c in cs:
            if c not in self.countries:
                self.error(name, n, f"countries: {c!r} is not in countries.jsonl")
        if len(set(cs)) != len(cs):
            self.error(name, n, "countries: a country is listed twice")
        m = re.fullmatch(prefix + r"-([A-Z]{3})-(\d{3})", r["id"])
        if not m:
            self.error(name, n, f"id: {r['id']!r} is not {prefix}-<ISO3>-NNN")
        elif cs and m.group(1) != cs[0]:
            self.error(name, n, f"id: {r['id']} does not carry its first country {cs[0]}")
        self.check_slugs(name, n, "themes", r["themes"], self.themes)
        self.check_slugs(name, n, "groups", r["groups"], self.groups)
        sdgs = r["sdgs"]
        if not isinstance(sdgs, list) or any(not isinstance(g, int) or g not in self.sdgs for g in sdgs):
            self.error(name, n, f"sdgs: {sdgs!r} must be SDG goals of taxonomy/sdgs.jsonl")
        elif isinstance(r["themes"], list) and all(t in self.themes for t in r["themes"]):
            derived = sorted(set().union(*(self.themes[t] for t in r["themes"])))
            if sorted(sdgs) != derived:
                self.error(name, n, f"sdgs: {sorted(sdgs)} are not the themes' goals {derived} (PROVENANCE.md)")
        self.check_refs(name, n, "measures", r["measures"], self.measures, cs)
        self.check_refs(name, n, "recommendations", r["recommendations"], self.recommendations, cs)
        self.check_source(name, n, r["source"])

    def check_slugs(self, name, n, field, values, known):
        if not isinstance(values, list):
            self.error(name, n, f"{field}: must be a list")
            return
        for v in values:
            if v not in known:
                self.error(name, n, f"{field}: {v!r} is not in taxonomy/{field}.jsonl")
        if len(set(values)) != len(values):
            self.error(name, n, f"{field}: a slug is listed twice")

    def check_refs(self, name, n, field, values, known, countries):
        """A linked measure or recommendation must exist and concern one of the record's countries:
        the report never supports a link across States."""
        if not isinstance(values, list):
            self.error(name, n, f"{field}: must be a list")
            return
        for v in values:
            if v not in known:
                self.error(name, n, f"{field}: {v!r} does not exist in {field}.jsonl")
            elif known[v] not in countries:
                self.error(name, n, f"{field}: {v} is about {known[v]}, not one of the record's countries")
        if len(set(values)) != len(values):
            self.error(name, n, f"{field}: an id is listed twice")

    def check_source(self, name, n, source):
        if not isinstance(source, str):
            return
        m = SOURCE_RE.match(source)
        if not m:
            self.error(name, n, f'source: must be "quote" ... ({CITATION})')
            return
        if self.report is None:
            return
        for q in QUOTE_RE.findall(m.group(1)):
            if normalise(q) not in self.report:
                self.error(name, n, f"source: not verbatim in the report: {q[:80]!r}")

    def date(self, name, n, field, v, optional=False):
        if v is None and optional:
            return None
        try:
            d = datetime.date.fromisoformat(v) if isinstance(v, str) and len(v) == 10 else None
        except ValueError:
            d = None
        if d is None:
            self.error(name, n, f"{field}: {v!r} is not a date (YYYY-MM-DD)")
            return None
        if not PERIOD[0] <= d <= PERIOD[1]:
            self.error(name, n, f"{field}: {v} is outside 2020, the period the report covers")
        return d

    def check_concern(self, name, n, r):
        if r["kind"] not in CONCERN_KINDS:
            self.error(name, n, f"kind: {r['kind']!r} is not one of {sorted(CONCERN_KINDS)}")
        if r["severity"] not in SEVERITIES:
            self.error(name, n, f"severity: {r['severity']!r} is not one of {sorted(SEVERITIES)}")
        self.date(name, n, "reported_on", r["reported_on"])
        if r["source_url"] is not None and not str(r["source_url"]).startswith(("http://", "https://")):
            self.error(name, n, "source_url: must be null or an http(s) URL")

    def check_action(self, name, n, r):
        if r["kind"] not in ACTION_KINDS:
            self.error(name, n, f"kind: {r['kind']!r} is not one of {sorted(ACTION_KINDS)}")
        start = self.date(name, n, "start_date", r["start_date"])
        end = self.date(name, n, "end_date", r["end_date"], optional=True)
        if start and end and end < start:
            self.error(name, n, f"end_date: {end} is before start_date {start}")
        if r["outcome"] is not None and (not isinstance(r["outcome"], str) or not r["outcome"].strip()):
            self.error(name, n, "outcome: must be null or a non-empty string")
        p = r["people_reached"]
        if p is not None and (not isinstance(p, int) or isinstance(p, bool) or p <= 0):
            self.error(name, n, f"people_reached: {p!r} must be null or a positive whole number")

    def check_report_order(self, name, records):
        """Ids count up, per country prefix, in the order the records' first quotes appear in the
        report, and the file lists the records in that order."""
        if self.report is None:
            return
        placed = []
        for n, r in records:
            m = SOURCE_RE.match(r["source"]) if isinstance(r["source"], str) else None
            quotes = QUOTE_RE.findall(m.group(1)) if m else []
            pos = self.report.find(normalise(quotes[0])) if quotes else -1
            if pos >= 0 and re.fullmatch(r"[CA]-[A-Z]{3}-\d{3}", r["id"]):
                placed.append((pos, n, r["id"]))
        last = -1
        for pos, n, rid in placed:
            if pos < last:
                self.error(name, n, f"id: {rid} is listed after a record that comes later in the report")
            last = max(last, pos)
        counters = {}
        for pos, n, rid in sorted(placed):
            prefix, num = rid.rsplit("-", 1)
            counters[prefix] = counters.get(prefix, 0) + 1
            if num != f"{counters[prefix]:03d}":
                self.error(name, n, f"id: {rid} should be {prefix}-{counters[prefix]:03d} (numbered in report order)")


def main():
    here = Path(__file__).resolve()
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset", nargs="?", type=Path, default=here.parent.parent)
    ap.add_argument("--report", type=Path, help="the report in markdown (default: ../shared/sources/ beside the repository)")
    args = ap.parse_args()
    # A clone sits beside `shared/`; a git worktree under `wt/` sits one level deeper.
    rel = Path("shared") / "sources" / "ohchr-report-2020-covid.md"
    candidates = [args.report] if args.report else [here.parents[4] / rel, here.parents[5] / rel]
    report = next((p for p in candidates if p.is_file()), None)
    if report is None:
        print(f"note: {candidates[0]} not found; quotes and report order not checked")
    try:
        c = Checker(args.dataset, report)
    except FileNotFoundError as e:
        print(f"{args.dataset}: not a dataset folder: {e.filename} is missing")
        return 2
    concerns = c.check_file("concerns.jsonl", CONCERN_FIELDS, c.check_concern)
    concern_countries = {r["id"]: set(r["countries"]) for _, r in concerns}

    def check_action(name, n, r):
        c.check_action(name, n, r)
        if not isinstance(r["concerns"], list):
            c.error(name, n, "concerns: must be a list")
            return
        for cid in r["concerns"]:
            if cid not in concern_countries:
                c.error(name, n, f"concerns: {cid!r} does not exist in concerns.jsonl")
            elif not concern_countries[cid] & set(r["countries"]):
                c.error(name, n, f"concerns: {cid} shares no country with the action")
        if len(set(r["concerns"])) != len(r["concerns"]):
            c.error(name, n, "concerns: an id is listed twice")

    actions = c.check_file("actions.jsonl", ACTION_FIELDS, check_action)
    c.check_report_order("concerns.jsonl", concerns)
    c.check_report_order("actions.jsonl", actions)
    for e in c.errors:
        print(e)
    links = sum(len(r[f]) for _, r in concerns for f in ("measures", "recommendations")) + \
        sum(len(r[f]) for _, r in actions for f in ("concerns", "measures", "recommendations"))
    print(f"{len(concerns)} concerns, {len(actions)} actions, {links} links; "
          f"{len(c.errors)} error(s){'' if report else ' (report not found: quotes unchecked)'}")
    return 1 if c.errors else 0


if __name__ == "__main__":
    sys.exit(main())
