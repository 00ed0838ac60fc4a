//! `import-recommendations`: OHCHR thematic lists and UPR Info CSV exports become
//! recommendations, all or nothing, with errors as `file:row: reason`, and a repeat import
//! changes nothing.

use std::io::Write;
use std::path::Path;

use recover_better::dataset::embedded::DefaultDataset;
use recover_better::dataset::import::{import, ImportOptions as DatasetOptions};
use recover_better::dataset::recommendations::vocabulary::{NameFile, NameList};
use recover_better::dataset::recommendations::{
    import_bytes, Format, ImportOptions, ImportSummary, RecommendationImportError, SessionDetails,
};
use recover_better::dataset::Source;
use recover_better::model::{CountryCode, CycleNumber, Ref, Response, SessionNumber, Slug};
use recover_better::store::{Entity, Store};

const SLOVENIA: &str = "UPR34_Slovenia_Thematic_list_of_Recommendations.docx";

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/recommendations")
            .join(name),
    )
    .unwrap()
}

/// The default dataset's taxonomy, countries, cycles and sessions, without its records: all
/// an import resolves names against.
struct Reference;

impl Source for Reference {
    fn describe(&self) -> String {
        "the default dataset's reference files".into()
    }
    fn read(&self, name: &str) -> std::io::Result<Option<Vec<u8>>> {
        if name.starts_with("taxonomy/")
            || ["countries.jsonl", "cycles.jsonl", "sessions.jsonl"].contains(&name)
        {
            DefaultDataset.read(name)
        } else {
            Ok(None)
        }
    }
}

fn reference_store() -> Store {
    let store = Store::temporary().unwrap();
    import(&store, &Reference, DatasetOptions::default()).unwrap();
    store
}

fn session(number: i64, cycle: Option<i64>) -> Option<SessionDetails> {
    Some(SessionDetails {
        number: SessionNumber::new(number).unwrap(),
        cycle: cycle.map(|c| CycleNumber::new(c).unwrap()),
        start_date: None,
        end_date: None,
    })
}

fn create_session_34() -> ImportOptions {
    ImportOptions {
        session: session(34, Some(3)),
        state: None,
        names: vec![],
    }
}

fn create_session_35() -> ImportOptions {
    ImportOptions {
        session: session(35, Some(3)),
        state: None,
        names: vec![],
    }
}

fn problems(result: Result<ImportSummary, RecommendationImportError>) -> Vec<String> {
    match result {
        Err(RecommendationImportError::Invalid(p)) => p.iter().map(|p| p.to_string()).collect(),
        other => panic!("expected problems, got {other:?}"),
    }
}

fn iso3(codes: &[CountryCode]) -> Vec<&str> {
    codes.iter().map(|c| c.as_str()).collect()
}

fn slugs(slugs: &[Slug]) -> Vec<&str> {
    slugs.iter().map(|s| s.as_str()).collect()
}

fn recommendation(store: &Store, id: &str) -> recover_better::model::Recommendation {
    store
        .recommendation(&Ref::parse(id).unwrap())
        .unwrap()
        .unwrap_or_else(|| panic!("{id} is not stored"))
        .1
        .record
}

const W: &str = "xmlns:w=\"http://schemas.openxmlformats.org/wordprocessingml/2006/main\"";

fn para(s: &str) -> String {
    format!(
        "<w:p><w:r><w:t xml:space=\"preserve\">{}</w:t></w:r></w:p>",
        s.replace('&', "&amp;").replace('<', "&lt;")
    )
}

/// A table of plain cells (split into paragraphs at '\n').
fn table_xml(rows: &[Vec<&str>]) -> String {
    let mut table = String::from("<w:tbl>");
    for row in rows {
        table.push_str("<w:tr>");
        for cell in row {
            table.push_str("<w:tc>");
            for p in cell.split('\n') {
                table.push_str(&para(p));
            }
            table.push_str("</w:tc>");
        }
        table.push_str("</w:tr>");
    }
    table.push_str("</w:tbl>");
    table
}

/// A Word package: the body's XML, and a page header if any.
fn package(body: &str, header: Option<&str>) -> Vec<u8> {
    let document = format!(
        "<?xml version=\"1.0\"?><w:document {W}><w:body>{body}<w:p/></w:body></w:document>"
    );
    let mut parts = vec![("word/document.xml", document)];
    if let Some(h) = header {
        parts.push((
            "word/header1.xml",
            format!("<?xml version=\"1.0\"?><w:hdr {W}>{}</w:hdr>", para(h)),
        ));
    }
    let mut out = std::io::Cursor::new(Vec::new());
    let mut zip = zip::ZipWriter::new(&mut out);
    let stored =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, body) in parts {
        zip.start_file(name, stored).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    }
    zip.finish().unwrap();
    out.into_inner()
}

/// A Word document holding one table and a page header, as OHCHR's lists are laid out.
fn docx(header: &str, rows: &[Vec<&str>]) -> Vec<u8> {
    package(&table_xml(rows), Some(header))
}

/// Session 35 is not in the default dataset, so these lists create it.
const HEADER: &str = "UPR of Slovenia (3rd Cycle - 35th Session)";
const THEMES: &str = "- Acceptance of international norms\n- Enforced disappearances\nSDGs: \n- 16 - PEACE, JUSTICE AND STRONG INSTITUTIONS\nAffected persons: \n- Disappeared persons";

fn cycle_3_table(recommendation: &str, position: &str) -> Vec<Vec<&'static str>> {
    let leak = |s: &str| -> &'static str { Box::leak(s.to_owned().into_boxed_str()) };
    vec![
        vec![
            "Recommendation",
            "Position",
            "Full list of themes",
            "Assessment/comments on level of implementation",
        ],
        vec!["Theme: Acceptance of international norms"],
        vec![leak(recommendation), leak(position), THEMES, ""],
    ]
}

#[test]
fn the_slovenia_thematic_list_imports_its_215_recommendations_with_positions_states_and_themes() {
    let store = reference_store();

    let summary = import_bytes(
        &store,
        Format::OhchrThematicList,
        SLOVENIA,
        &fixture(SLOVENIA),
        &create_session_34(),
    )
    .unwrap();

    assert_eq!(
        (
            summary.recommendations,
            summary.imported,
            summary.updated,
            summary.unchanged
        ),
        (215, 215, 0, 0)
    );
    assert!(summary.refused.is_empty());
    assert_eq!(store.count(Entity::Recommendation).unwrap(), 215);
    let s34 = store
        .session(SessionNumber::new(34).unwrap())
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(
        s34.states_under_review,
        vec![CountryCode::parse("SVN").unwrap()]
    );
    let (mut supported, mut noted) = (0, 0);
    for r in store.recommendations() {
        match r.unwrap().1.record.response {
            Response::Supported => supported += 1,
            Response::Noted => noted += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(
        (supported, noted),
        (182, 33),
        "SOURCE.txt: Supported 182, Noted 33"
    );

    // Two States in parentheses, removed from the text; the cluster and UHRI themes kept.
    let r = recommendation(&store, "R-34-SVN-121.1");
    assert_eq!(r.text, "Ratify the International Convention for the Protection of All Persons from Enforced Disappearance");
    assert_eq!(iso3(&r.recommending_states), ["FRA", "LTU"]);
    assert_eq!(
        r.source_themes,
        [
            "Acceptance of international norms",
            "Enforced disappearances"
        ]
    );
    let themes = slugs(&r.themes);
    assert_eq!(
        themes,
        ["enforced-disappearances", "international-instruments"]
    );
    assert_eq!(slugs(&r.groups), ["disappeared-persons"]);
    assert_eq!(r.sdgs.iter().map(|g| g.get()).collect::<Vec<_>>(), [16]);
    assert_eq!(r.document.as_deref(), Some("A/HRC/43/15"));
    assert_eq!(r.paragraph.as_deref(), Some("121.1"));
    assert_eq!(r.action_category, None);
    // A parenthesis that is not a State stays in the text.
    let r = recommendation(&store, "R-34-SVN-121.3");
    assert!(
        r.text.ends_with("Forced Labour Convention, 1930 (No. 29)"),
        "{}",
        r.text
    );
    assert_eq!(r.recommending_states, [CountryCode::parse("GBR").unwrap()]);
}

/// A second real list: the United States' 347 recommendations of session 36 (the default
/// dataset's, from A/HRC/46/15 and its addendum) laid out as OHCHR's thematic lists are, with
/// the States' names as the store has them, read back by the importer.
#[test]
fn the_united_states_list_laid_out_as_ohchr_does_reads_back_as_the_default_dataset_has_it() {
    let store = reference_store();
    let lines = |name: &str| -> Vec<serde_json::Value> {
        String::from_utf8(DefaultDataset.read(name).unwrap().unwrap())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let names: std::collections::HashMap<String, String> = lines("countries.jsonl")
        .into_iter()
        .map(|c| {
            (
                c["code"].as_str().unwrap().to_owned(),
                c["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected: Vec<serde_json::Value> = lines("recommendations.jsonl")
        .into_iter()
        .filter(|r| r["id"].as_str().unwrap().starts_with("R-36-USA-"))
        .collect();
    assert_eq!(expected.len(), 347);
    let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let mut rows = vec![vec!["Recommendation", "Position", "Full list of themes"]];
    let mut cluster = "";
    for r in &expected {
        let theme = r["source_themes"][0].as_str().unwrap();
        if theme != cluster {
            cluster = theme;
            rows.push(vec![leak(format!("Theme: {theme}"))]);
        }
        let states: String = r["recommending_states"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| format!(" ({})", names[c.as_str().unwrap()]))
            .collect();
        let position = match r["response"].as_str().unwrap() {
            "SUPPORTED" => "Supported",
            "NOTED" => "Noted",
            "PARTIALLY_SUPPORTED" => "Supported in part",
            other => panic!("{other}"),
        };
        rows.push(vec![
            leak(format!(
                "{} {}{states};\nSource of Position: A/HRC/46/15/Add.1",
                r["paragraph"].as_str().unwrap(),
                r["text"].as_str().unwrap()
            )),
            position,
            leak(format!("- {theme}")),
        ]);
    }

    let summary = import_bytes(
        &store,
        Format::OhchrThematicList,
        "UPR36_USA.docx",
        &docx(
            "UPR of United States of America (3rd Cycle - 36th Session)",
            &rows,
        ),
        &ImportOptions::default(),
    )
    .unwrap();

    assert_eq!(summary.imported, 347);
    for e in &expected {
        let r = recommendation(&store, e["id"].as_str().unwrap());
        let got = serde_json::json!({
            "text": r.text,
            "recommending_states": iso3(&r.recommending_states),
            "response": r.response,
            "document": r.document,
            "paragraph": r.paragraph,
            "source_themes": r.source_themes,
            "themes": slugs(&r.themes),
        });
        let want = serde_json::json!({
            "text": e["text"],
            "recommending_states": e["recommending_states"],
            "response": e["response"],
            "document": e["document"],
            "paragraph": e["paragraph"],
            "source_themes": e["source_themes"],
            "themes": e["themes"],
        });
        assert_eq!(got, want, "{}", e["id"]);
    }
}

#[test]
fn importing_the_same_list_twice_changes_nothing() {
    let store = reference_store();
    import_bytes(
        &store,
        Format::OhchrThematicList,
        SLOVENIA,
        &fixture(SLOVENIA),
        &create_session_34(),
    )
    .unwrap();
    let before = recommendation(&store, "R-34-SVN-122.1");

    let again = import_bytes(
        &store,
        Format::OhchrThematicList,
        SLOVENIA,
        &fixture(SLOVENIA),
        &ImportOptions::default(),
    )
    .unwrap();

    assert_eq!(
        (again.imported, again.updated, again.unchanged),
        (0, 0, 215)
    );
    assert!(again.sessions_written.is_empty());
    assert_eq!(recommendation(&store, "R-34-SVN-122.1"), before);
    assert_eq!(store.count(Entity::Recommendation).unwrap(), 215);
}

#[test]
fn a_list_whose_session_does_not_exist_is_refused_once_and_nothing_is_written() {
    let store = reference_store();
    let mut rows = cycle_3_table("121.1 Ratify it (France);", "Supported");
    rows.push(vec!["121.2 Ratify it too (Spain);", "Noted", THEMES, ""]);

    let p = problems(import_bytes(
        &store,
        Format::OhchrThematicList,
        "s35.docx",
        &docx(HEADER, &rows),
        &ImportOptions::default(),
    ));

    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("s35.docx:3: session 35 does not exist; give --session 35 --cycle N"),
        "{p:?}"
    );
    assert_eq!(store.count(Entity::Recommendation).unwrap(), 0);
    assert!(store
        .session(SessionNumber::new(35).unwrap())
        .unwrap()
        .is_none());
}

#[test]
fn a_session_that_does_not_list_the_state_is_refused_unless_the_session_is_given() {
    let store = reference_store();
    let rows = cycle_3_table("121.1 Ratify it (Spain);", "Supported");
    let list = docx("UPR of France (3rd Cycle - 34th Session)", &rows);

    let p = problems(import_bytes(
        &store,
        Format::OhchrThematicList,
        "fra.docx",
        &list,
        &ImportOptions::default(),
    ));
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].starts_with("fra.docx:3: session 34 does not list FRA among its States under review"),
        "{p:?}"
    );

    let summary = import_bytes(
        &store,
        Format::OhchrThematicList,
        "fra.docx",
        &list,
        &create_session_34(),
    )
    .unwrap();
    assert_eq!(summary.sessions_written, [SessionNumber::new(34).unwrap()]);
    let s34 = store
        .session(SessionNumber::new(34).unwrap())
        .unwrap()
        .unwrap()
        .record;
    assert_eq!(iso3(&s34.states_under_review), ["FRA", "SVN"]);
    assert_eq!(
        recommendation(&store, "R-34-FRA-121.1").recommending_states,
        [CountryCode::parse("ESP").unwrap()]
    );
}

#[test]
fn a_table_without_a_position_column_is_refused_naming_the_file_and_header_row() {
    let store = reference_store();
    let mut rows = cycle_3_table("121.1 Ratify it (France);", "Supported");
    rows[0][1] = "Response";

    let p = problems(import_bytes(
        &store,
        Format::OhchrThematicList,
        "bad.docx",
        &docx(HEADER, &rows),
        &create_session_35(),
    ));

    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("bad.docx:1: the table has no \"Position\" column (its headers: \"Recommendation\", \"Response\""), "{p:?}");
    assert_eq!(store.count(Entity::Recommendation).unwrap(), 0);
}

#[test]
fn an_unknown_state_name_is_refused_with_its_row_and_nothing_is_written() {
    let store = reference_store();
    let mut rows = cycle_3_table("121.1 Ratify it (France);", "Supported");
    rows.push(vec![
        "121.2 Ratify it too (Atlantis);",
        "Supported",
        THEMES,
        "",
    ]);

    let p = problems(import_bytes(
        &store,
        Format::OhchrThematicList,
        "bad.docx",
        &docx(HEADER, &rows),
        &create_session_35(),
    ));

    assert_eq!(p, ["bad.docx:4: unknown State name \"Atlantis\" (not in countries.jsonl nor data/import/country_aliases.tsv; a file given with --country-aliases can add it)"]);
    assert_eq!(store.count(Entity::Recommendation).unwrap(), 0);
    assert!(
        store
            .session(SessionNumber::new(35).unwrap())
            .unwrap()
            .is_none(),
        "the session is not half-written either"
    );
}

#[test]
fn an_unknown_position_and_an_unknown_uhri_theme_are_refused_with_their_row() {
    let store = reference_store();
    let mut rows = cycle_3_table("121.1 Ratify it (Iran (Islamic Republic of));", "Maybe");
    rows.push(vec![
        "121.2 Ratify it (Holy See);",
        "Noted",
        "- Rights of mermaids",
        "",
    ]);

    let p = problems(import_bytes(
        &store,
        Format::OhchrThematicList,
        "bad.docx",
        &docx(HEADER, &rows),
        &create_session_35(),
    ));

    assert_eq!(
        p,
        [
            "bad.docx:3: unknown position \"Maybe\" (expected Supported, Noted, Supported in part or Pending)",
            "bad.docx:4: UHRI theme \"Rights of mermaids\" is not in the crosswalk (data/import/uhri_themes.tsv; a file given with --uhri-themes can add it)",
        ]
    );
    assert_eq!(store.count(Entity::Recommendation).unwrap(), 0);
}

#[test]
fn names_a_new_document_uses_are_resolved_by_files_given_for_the_import() {
    let store = reference_store();
    let rows = vec![
        vec!["Recommendation", "Position", "Full list of themes"],
        vec![
            "35.1 Protect the rights of persons affected by climate change (Netherlands (Kingdom of the)) (Ruritania);",
            "Supported",
            "- Climate change & human rights\nAffected persons:\n- persons affected by climate change",
        ],
    ];
    let bytes = docx(HEADER, &rows);
    let file = |list, name: &str, text: &str| NameFile {
        list,
        name: name.into(),
        text: text.into(),
    };
    let with = |names: Vec<NameFile>| ImportOptions {
        names,
        ..create_session_35()
    };

    let p = problems(import_bytes(
        &store,
        Format::OhchrThematicList,
        "c4.docx",
        &bytes,
        &with(vec![]),
    ));
    assert_eq!(p.len(), 3, "{p:?}");
    assert!(
        p[0].starts_with("c4.docx:2: unknown State name \"Ruritania\""),
        "{p:?}"
    );
    assert!(
        p[1].starts_with(
            "c4.docx:2: UHRI theme \"Climate change & human rights\" is not in the crosswalk"
        ),
        "{p:?}"
    );
    assert!(
        p[2].ends_with("a file given with --uhri-affected-persons can add it"),
        "{p:?}"
    );

    // A bad row in a names file is named with its line, and nothing is imported.
    let bad = vec![
        file(
            NameList::CountryAliases,
            "aliases.tsv",
            "name\tcode\nRuritania\tRUX\n",
        ),
        file(
            NameList::UhriThemes,
            "themes.tsv",
            "# mine\nlabel\tthemes\nClimate change & human rights\tclimate\n",
        ),
    ];
    let p = problems(import_bytes(
        &store,
        Format::OhchrThematicList,
        "c4.docx",
        &bytes,
        &with(bad),
    ));
    assert_eq!(
        p,
        [
            "aliases.tsv:2: RUX is not a country of the store",
            "themes.tsv:3: \"climate\" is not a theme of the store",
        ]
    );
    assert_eq!(store.count(Entity::Recommendation).unwrap(), 0);

    let good = vec![
        file(
            NameList::CountryAliases,
            "aliases.tsv",
            "Ruritania\tAUT\tmade up for this test\n",
        ),
        file(
            NameList::UhriThemes,
            "themes.tsv",
            "label\tthemes\nClimate change & human rights\tenvironment,right-to-health\n",
        ),
        file(
            NameList::UhriAffectedPersons,
            "persons.tsv",
            "label\tgroups\nPersons affected by climate change\t\n",
        ),
    ];
    let summary = import_bytes(
        &store,
        Format::OhchrThematicList,
        "c4.docx",
        &bytes,
        &with(good),
    )
    .unwrap();
    assert_eq!(summary.imported, 1);
    let r = recommendation(&store, "R-35-SVN-35.1");
    assert_eq!(iso3(&r.recommending_states), ["NLD", "AUT"]);
    assert_eq!(slugs(&r.themes), ["environment", "right-to-health"]);
    assert!(r.groups.is_empty());
    assert_eq!(r.source_themes, ["Climate change & human rights"]);
}

#[test]
fn a_cycle_4_style_table_with_more_columns_in_another_order_imports() {
    let store = reference_store();
    let rows = vec![
        vec!["Position", "Recommendation", "Affected persons", "SDGs", "Full list of themes", "Assessment/comments on level of implementation", "Mandate"],
        vec!["Theme: Right to health"],
        vec![
            "Supported in part",
            "45.1. Ensure access to health care for older persons during the pandemic (State of Palestine) (Türkiye);\nSource of position: A/HRC/55/9/Add.1",
            "- older persons",
            "- 3 - GOOD HEALTH AND WELL-BEING",
            "- Right to health",
            "",
            "x",
        ],
    ];
    let options = ImportOptions {
        session: session(45, Some(4)),
        state: Some(CountryCode::parse("SVN").unwrap()),
        names: vec![],
    };

    let summary = import_bytes(
        &store,
        Format::OhchrThematicList,
        "c4.docx",
        &docx("Thematic list", &rows),
        &options,
    )
    .unwrap();

    assert_eq!(summary.imported, 1);
    assert_eq!(summary.sessions_written, [SessionNumber::new(45).unwrap()]);
    let r = recommendation(&store, "R-45-SVN-45.1");
    assert_eq!(r.response, Response::PartiallySupported);
    assert_eq!(iso3(&r.recommending_states), ["PSE", "TUR"]);
    assert_eq!(slugs(&r.groups), ["older-persons"]);
    assert_eq!(slugs(&r.themes), ["right-to-health"]);
    assert_eq!(r.sdgs.iter().map(|g| g.get()).collect::<Vec<_>>(), [3]);
    assert_eq!(r.document.as_deref(), Some("A/HRC/55/9"));
}

#[test]
fn a_list_split_into_tables_is_read_whole_and_rows_are_counted_through_them() {
    let store = reference_store();
    let header = vec!["Recommendation", "Position", "Full list of themes"];
    let row = |n: &str, state: &str| -> Vec<&'static str> {
        let leak = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
        vec![
            leak(format!("{n} Ratify the Convention ({state});")),
            "Supported",
            "- Acceptance of international norms",
        ]
    };
    let body = [
        para("Legend: S = Supported"),
        table_xml(&[vec!["Symbol", "Meaning"], vec!["S", "Supported"]]),
        table_xml(&[
            header.clone(),
            vec!["Theme: Acceptance of international norms"],
            row("35.1", "France"),
        ]),
        para(""),
        // The same list after a page break: the header repeated.
        table_xml(&[header.clone(), row("35.2", "Chile")]),
        // And once more without it.
        table_xml(&[row("35.3", "Peru"), row("35.4", "Atlantis")]),
    ]
    .concat();

    let p = problems(import_bytes(
        &store,
        Format::OhchrThematicList,
        "split.docx",
        &package(&body, Some(HEADER)),
        &create_session_35(),
    ));
    assert_eq!(
        p,
        ["split.docx:7: unknown State name \"Atlantis\" (not in countries.jsonl nor data/import/country_aliases.tsv; a file given with --country-aliases can add it)"]
    );
    assert_eq!(store.count(Entity::Recommendation).unwrap(), 0);

    let fixed = body.replace("Atlantis", "Japan");
    let summary = import_bytes(
        &store,
        Format::OhchrThematicList,
        "split.docx",
        &package(&fixed, Some(HEADER)),
        &create_session_35(),
    )
    .unwrap();
    assert_eq!(summary.imported, 4);
    for (id, state) in [
        ("35.1", "FRA"),
        ("35.2", "CHL"),
        ("35.3", "PER"),
        ("35.4", "JPN"),
    ] {
        let r = recommendation(&store, &format!("R-35-SVN-{id}"));
        assert_eq!(r.recommending_states[0].as_str(), state);
        assert_eq!(r.source_themes, ["Acceptance of international norms"]);
    }
}

#[test]
fn merged_cells_and_a_title_paragraph_instead_of_a_page_header_read_as_word_shows_them() {
    let store = reference_store();
    let cell =
        |attrs: &str, text: &str| format!("<w:tc><w:tcPr>{attrs}</w:tcPr>{}</w:tc>", para(text));
    let row = |cells: &[String]| format!("<w:tr>{}</w:tr>", cells.concat());
    let themes = "- Right to health";
    let body = [
        para("UPR of Iran (Islamic Republic of) (4th Cycle \u{2013} 48th session)"),
        "<w:tbl>".to_owned(),
        // "Recommendation" spans the paragraph-number and the text columns.
        row(&[
            cell("<w:gridSpan w:val=\"2\"/>", "Recommendation"),
            cell("", "Position"),
            cell("", "Full list of themes"),
        ]),
        row(&[
            cell("", "48.1"),
            cell("", "Ensure access to health care for older persons (Chile)"),
            cell("<w:vMerge w:val=\"restart\"/>", "Supported in part"),
            cell("", themes),
        ]),
        // The position cell continues the one above.
        row(&[
            cell("", "48.2"),
            cell("", "Adopt a national health plan by 2026 (Peru)"),
            cell("<w:vMerge/>", ""),
            cell("", themes),
        ]),
        "</w:tbl>".to_owned(),
    ]
    .concat();
    let options = ImportOptions {
        session: session(48, Some(4)),
        state: None,
        names: vec![],
    };

    let summary = import_bytes(
        &store,
        Format::OhchrThematicList,
        "c4.docx",
        &package(&body, None),
        &options,
    )
    .unwrap();

    assert_eq!(summary.imported, 2);
    let second = recommendation(&store, "R-48-IRN-48.2");
    assert_eq!(second.text, "Adopt a national health plan by 2026");
    assert_eq!(second.response, Response::PartiallySupported);
    assert_eq!(second.recommending_states[0].as_str(), "PER");
    assert_eq!(
        recommendation(&store, "R-48-IRN-48.1").response,
        Response::PartiallySupported
    );
}

#[test]
fn a_upr_info_export_imports_with_joint_rows_merged_and_unknown_authors_refused() {
    let store = reference_store();
    let options = ImportOptions {
        session: session(36, None),
        state: None,
        names: vec![],
    };

    let summary = import_bytes(
        &store,
        Format::UprInfoCsv,
        "sample.csv",
        &fixture("upr_info_sample.csv"),
        &options,
    )
    .unwrap();

    assert_eq!(
        (summary.recommendations, summary.imported, summary.merged),
        (3, 3, 2)
    );
    assert_eq!(summary.refused.len(), 2, "{:?}", summary.refused);
    assert!(summary.refused[0]
        .to_string()
        .starts_with("sample.csv:6: the recommending State is recorded as \"(Unknown)\""));
    assert!(summary.refused[1].to_string().starts_with("sample.csv:7: "));
    let r = recommendation(&store, "R-36-HND-0001");
    assert_eq!(iso3(&r.recommending_states), ["PRT", "IRN"]);
    assert_eq!(slugs(&r.themes), ["detention", "justice"]);
    assert_eq!(r.sdgs.iter().map(|g| g.get()).collect::<Vec<_>>(), [16]);
    assert_eq!(r.action_category.map(|a| a.get()), Some(4));
    assert_eq!(
        recommendation(&store, "R-36-HND-0002").response,
        Response::Noted
    );
    assert_eq!(
        recommendation(&store, "R-36-USA-0001").response,
        Response::PartiallySupported
    );

    let again = import_bytes(
        &store,
        Format::UprInfoCsv,
        "sample.csv",
        &fixture("upr_info_sample.csv"),
        &options,
    )
    .unwrap();
    assert_eq!((again.imported, again.updated, again.unchanged), (0, 0, 3));
}

fn session_36() -> ImportOptions {
    ImportOptions {
        session: session(36, None),
        state: None,
        names: vec![],
    }
}

#[test]
fn a_later_upr_info_export_in_another_order_keeps_every_id_and_numbers_only_new_texts() {
    let store = reference_store();
    let first = "To,Text,From,Response,Action,Issue,Session\n\
        Honduras,Adopt a plan on detention conditions,Portugal,,4,Detention,36\n\
        Honduras,Consider ratifying the convention,France,,3,International instruments,36\n\
        Honduras,Withdrawn text,Spain,,4,Justice,36\n";
    import_bytes(
        &store,
        Format::UprInfoCsv,
        "first.csv",
        first.as_bytes(),
        &session_36(),
    )
    .unwrap();
    assert_eq!(
        recommendation(&store, "R-36-HND-0002").text,
        "Consider ratifying the convention"
    );
    assert_eq!(
        recommendation(&store, "R-36-HND-0001").response,
        Response::Pending
    );

    // Responses filled in, rows in another order, a text respaced, one row new, one gone.
    let later = "To,Text,From,Response,Action,Issue,Session\n\
        Honduras,A new recommendation,Chile,Accepted,4,Justice,36\n\
        Honduras,Consider  ratifying the convention.,France,Noted,3,International instruments,36\n\
        Honduras,Adopt a plan on detention conditions,Portugal,Accepted,4,Detention,36\n";
    let import_later = || {
        import_bytes(
            &store,
            Format::UprInfoCsv,
            "later.csv",
            later.as_bytes(),
            &session_36(),
        )
        .unwrap()
    };
    let summary = import_later();

    assert_eq!(
        (summary.imported, summary.updated, summary.unchanged),
        (1, 2, 0)
    );
    let one = recommendation(&store, "R-36-HND-0001");
    assert_eq!(one.text, "Adopt a plan on detention conditions");
    assert_eq!(one.response, Response::Supported);
    let two = recommendation(&store, "R-36-HND-0002");
    assert_eq!(two.text, "Consider  ratifying the convention.");
    assert_eq!(two.response, Response::Noted);
    assert_eq!(
        recommendation(&store, "R-36-HND-0003").text,
        "Withdrawn text"
    );
    assert_eq!(
        recommendation(&store, "R-36-HND-0004").text,
        "A new recommendation"
    );
    assert_eq!(summary.not_in_file, [Ref::parse("R-36-HND-0003").unwrap()]);
    assert!(summary
        .to_string()
        .contains("1 stored recommendations of these reviews are not in the file (kept as they are): R-36-HND-0003"));

    let again = import_later();
    assert_eq!((again.imported, again.updated, again.unchanged), (0, 0, 3));
    assert_eq!(store.count(Entity::Recommendation).unwrap(), 4);
}

#[test]
fn an_export_saved_by_a_spreadsheet_with_a_bom_semicolons_and_other_case_imports_the_same() {
    let comma = String::from_utf8(fixture("upr_info_sample.csv")).unwrap();
    let mut rows = csv::Reader::from_reader(comma.as_bytes());
    let mut saved = String::from("\u{feff}to;TEXT;From;response;Action;issue;Session\r\n");
    for row in rows.records() {
        let row = row.unwrap();
        let cells: Vec<String> = [0, 3, 4, 7, 8, 9, 10]
            .iter()
            .map(|&i| {
                let c = &row[i];
                if c.contains([';', ',', '"']) {
                    format!("\"{}\"", c.replace('"', "\"\""))
                } else {
                    c.to_owned()
                }
            })
            .collect();
        saved.push_str(&cells.join(";"));
        saved.push_str("\r\n");
    }
    let a = reference_store();
    let b = reference_store();

    let from_comma = import_bytes(
        &a,
        Format::UprInfoCsv,
        "a.csv",
        comma.as_bytes(),
        &session_36(),
    )
    .unwrap();
    let from_saved = import_bytes(
        &b,
        Format::UprInfoCsv,
        "b.csv",
        saved.as_bytes(),
        &session_36(),
    )
    .unwrap();

    assert_eq!(
        (
            from_saved.imported,
            from_saved.merged,
            from_saved.refused.len()
        ),
        (
            from_comma.imported,
            from_comma.merged,
            from_comma.refused.len()
        )
    );
    assert_eq!(from_saved.imported, 3);
    for id in ["R-36-HND-0001", "R-36-HND-0002", "R-36-USA-0001"] {
        assert_eq!(recommendation(&b, id), recommendation(&a, id), "{id}");
    }
}

#[test]
fn issues_a_later_export_adds_are_mapped_by_a_file_given_for_the_import() {
    let store = reference_store();
    let csv = "To,Text,From,Response,Action,Issue,Session\n\
        Honduras,Vaccinate older persons first,Chile,Accepted,5,\"Pandemic response,right to health\",36\n";
    let p = problems(import_bytes(
        &store,
        Format::UprInfoCsv,
        "new.csv",
        csv.as_bytes(),
        &session_36(),
    ));
    assert_eq!(
        p,
        ["new.csv:2: unknown Issue \"Pandemic response\" (not the name of a theme; a file given with --upr-info-issues can map it)"]
    );

    let options = ImportOptions {
        names: vec![NameFile {
            list: NameList::UprInfoIssues,
            name: "issues.tsv".into(),
            text: "label\tthemes\nPandemic response\tcovid-19,right-to-health\n".into(),
        }],
        ..session_36()
    };
    let summary = import_bytes(
        &store,
        Format::UprInfoCsv,
        "new.csv",
        csv.as_bytes(),
        &options,
    )
    .unwrap();
    assert_eq!(summary.imported, 1);
    let r = recommendation(&store, "R-36-HND-0001");
    assert_eq!(slugs(&r.themes), ["covid-19", "right-to-health"]);
}

#[test]
fn bad_upr_info_rows_are_refused_with_their_line_and_nothing_is_written() {
    let store = reference_store();
    let mut csv = String::from_utf8(fixture("upr_info_sample.csv")).unwrap();
    csv = csv.replace("Noted,3,International", "Maybe,9,International");
    csv.push_str("Atlantis,,,Text,France,,,Accepted,4,General,36\n");
    csv.push_str("Honduras,,,Text\n");

    let p = problems(import_bytes(
        &store,
        Format::UprInfoCsv,
        "bad.csv",
        csv.as_bytes(),
        &ImportOptions::default(),
    ));

    assert_eq!(p.len(), 4, "{p:?}");
    assert!(
        p[0].starts_with("bad.csv:5: unknown Response \"Maybe\""),
        "{p:?}"
    );
    assert!(
        p[1].starts_with("bad.csv:5: Action \"9\" is not an action category 1-5"),
        "{p:?}"
    );
    assert_eq!(p[2], "bad.csv:9: unknown State name \"Atlantis\" in To (not in countries.jsonl nor data/import/country_aliases.tsv; a file given with --country-aliases can add it)");
    assert!(
        p[3].starts_with("bad.csv:10: not a readable CSV row"),
        "{p:?}"
    );
    assert_eq!(store.count(Entity::Recommendation).unwrap(), 0);
}

#[test]
fn a_csv_without_an_issue_column_is_refused_naming_it() {
    let store = reference_store();
    let csv = "To,Text,From,Response,Action,Session\nHonduras,Act,France,Accepted,4,36\n";

    let p = problems(import_bytes(
        &store,
        Format::UprInfoCsv,
        "bad.csv",
        csv.as_bytes(),
        &ImportOptions::default(),
    ));

    assert_eq!(p.len(), 1, "{p:?}");
    assert!(p[0].starts_with("bad.csv:1: no \"Issue\" column"), "{p:?}");
}

#[tokio::test]
async fn imported_source_themes_and_partial_support_reach_graphql_filters_and_facets() {
    let store = reference_store();
    import_bytes(
        &store,
        Format::OhchrThematicList,
        SLOVENIA,
        &fixture(SLOVENIA),
        &create_session_34(),
    )
    .unwrap();
    let options = ImportOptions {
        session: session(36, None),
        state: None,
        names: vec![],
    };
    import_bytes(
        &store,
        Format::UprInfoCsv,
        "sample.csv",
        &fixture("upr_info_sample.csv"),
        &options,
    )
    .unwrap();
    let store = std::sync::Arc::new(store);
    let catalog = recover_better::catalog::Catalog::load(&store).unwrap();
    let live = std::sync::Arc::new(recover_better::live::Live::new(store.clone(), catalog));
    let schema = recover_better::graphql::schema(live, Default::default());

    let response = schema
        .execute(
            r#"{ recommendation(ref: "R-34-SVN-121.1") { sourceThemes response }
                 partial: recommendations(first: 5, filter: {response: [PARTIALLY_SUPPORTED]}) { totalCount nodes { ref } }
                 all: recommendations(first: 0) { totalCount facets { response { value count } } } }"#,
        )
        .await;

    assert!(response.errors.is_empty(), "{:?}", response.errors);
    let data = response.data.into_json().unwrap();
    assert_eq!(
        data["recommendation"],
        serde_json::json!({
            "sourceThemes": ["Acceptance of international norms", "Enforced disappearances"],
            "response": "SUPPORTED"
        })
    );
    assert_eq!(
        data["partial"],
        serde_json::json!({ "totalCount": 1, "nodes": [{ "ref": "R-36-USA-0001" }] })
    );
    assert_eq!(data["all"]["totalCount"], 218);
    let mut facets: Vec<(String, u64)> = data["all"]["facets"]["response"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["value"].as_str().unwrap().to_owned(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    facets.sort();
    assert_eq!(
        facets,
        [
            ("NOTED".to_owned(), 34),
            ("PARTIALLY_SUPPORTED".to_owned(), 1),
            ("SUPPORTED".to_owned(), 183)
        ]
    );
}
