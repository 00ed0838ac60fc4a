#!/usr/bin/env python3
"""The 347 recommendations the United States received at UPR session 36, as default-dataset lines.

Reads the hand transcription in `dataset/sources/upr-usa-s36/upr_usa_session36_recommendations.csv`
(see its SOURCE.txt) and prints one `recommendations.jsonl` line per row, in paragraph order.
The mapping (also in data/default/PROVENANCE.md):
- id `R-36-USA-{paragraph}`: the scheme `import-recommendations --format ohchr-thematic-list`
  uses, so OHCHR's own thematic list of this review would update these records, not add others;
- text as transcribed (OHCHR's spaced apostrophes "women ’ s" included);
- recommending_states from the `recommending_states` column; the 4 rows with a `note` are the
  upstream artefacts of SOURCE.txt, and the script checks that each is resolved as its note says;
- response: supported -> SUPPORTED, noted -> NOTED, supported_noted -> PARTIALLY_SUPPORTED;
- source_themes: the OHCHR theme-cluster heading; themes: that heading through
  data/import/uhri_themes.tsv (the importer's crosswalk); sdgs: the themes' goals per
  taxonomy/themes.jsonl; groups none; action_category null (UPR Info never coded this session).

Usage: tools/usa_s36_to_jsonl.py SOURCES_DIR > lines.jsonl   (Python standard library only)
"""
import csv
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def normalize(label):
    label = label.replace("&", " & ").replace("\u2019", "'")
    label = " ".join(label.split()).lower()
    return label[4:] if label.startswith("the ") else label


def crosswalk():
    out = {}
    lines = [l for l in (ROOT / "data/import/uhri_themes.tsv").read_text().splitlines()
             if l.strip() and not l.startswith("#")]
    for line in lines[1:]:
        label, slugs = (line.split("\t") + [""])[:2]
        out[normalize(label)] = [s for s in slugs.split(",") if s]
    return out


RESOLVED = {  # paragraph -> recommending States, as each note says
    "26.34": ["LIE"],          # "ACT Group" is not a State; Liechtenstein spoke for it
    "26.91": ["PHL"],          # "the Paris Principles" is a parsing artefact
    "26.161": ["VEN", "NIC"],  # "Bolivarian Republic of" is Venezuela's name, split upstream
    "26.347": ["NIC"],         # the State is "(Nicaragua)." at the end of the upstream text
}
RESPONSES = {"supported": "SUPPORTED", "noted": "NOTED", "supported_noted": "PARTIALLY_SUPPORTED"}


def main(sources):
    themes = crosswalk()
    sdgs = {}
    for line in (ROOT / "data/default/taxonomy/themes.jsonl").read_text().splitlines():
        t = json.loads(line)
        sdgs[t["slug"]] = t.get("sdgs", [])
    path = Path(sources) / "upr-usa-s36/upr_usa_session36_recommendations.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    assert len(rows) == 347, len(rows)
    rows.sort(key=lambda r: int(r["paragraph"].split(".")[1]))
    for r in rows:
        states = r["recommending_states"].split(";")
        if r["note"]:
            assert states == RESOLVED[r["paragraph"]], (r["paragraph"], states)
        assert all(re.fullmatch("[A-Z]{3}", s) for s in states), states
        heading = r["thematic_list_theme"]
        slugs = sorted(set(themes[normalize(heading)]))
        goals = sorted({g for s in slugs for g in sdgs[s]})
        print(json.dumps({
            "id": f"R-36-USA-{r['paragraph']}",
            "text": r["text"].strip(),
            "state_under_review": "USA",
            "recommending_states": states,
            "session": 36,
            "response": RESPONSES[r["position"]],
            "action_category": None,
            "themes": slugs,
            "groups": [],
            "sdgs": goals,
            "document": r["document"],
            "paragraph": r["paragraph"],
            "source_themes": [heading],
        }, ensure_ascii=False, separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else str(ROOT.parent.parent / "shared/dataset/sources"))
