//! ACAPS' COVID-19 Government Measures CSV: one row per measure introduced or phased out,
//! with no id that ties a phase-out to what it ends.
//!
//! Each introduction row is a measure of its own, `M-{ISO3}-ACAPS-{ID}`, starting on
//! `DATE_IMPLEMENTED`. A phase-out row ends the latest measure of the same country and
//! `MEASURE` that started on or before its date and is still open (phase-outs are matched in
//! date order, so two phase-outs end two measures, latest first); when none matches it is
//! kept as a record of its own, so the fact that something was lifted is not lost. A row
//! without `DATE_IMPLEMENTED` (the final release has some) is refused: a measure needs a
//! start. ACAPS marks a measure that targets a population group (`TARGETED_POP_GROUP`) but
//! names the group only in free text, so no group is set from it; the description says so.

use std::collections::HashMap;

use super::*;

const COLUMNS: [&str; 6] = [
    "ID",
    "ISO",
    "LOG_TYPE",
    "MEASURE",
    "COMMENTS",
    "DATE_IMPLEMENTED",
];

const INTRODUCTION: &str = "introduction / extension of measures";
const PHASE_OUT: &str = "phase-out measure";

struct PhaseOut {
    country: CountryCode,
    measure: String,
    date: Date,
    line: usize,
    draft: Draft,
}

pub(crate) fn read(csv: &mut CsvFile, run: &mut Run<'_>) -> Result<Vec<Draft>, MeasureImportError> {
    let [id, iso, log_type, measure, comments, date] = csv.header.require(&run.file, COLUMNS)?;
    let optional = |name| csv.header.get(name);
    let (admin, targeted, source, link) = (
        optional("ADMIN_LEVEL_NAME"),
        optional("TARGETED_POP_GROUP"),
        optional("SOURCE"),
        optional("LINK"),
    );
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut introductions: Vec<Draft> = vec![];
    // Introductions by country and measure type, as indices into `introductions`.
    let mut by_type: HashMap<(CountryCode, String), Vec<usize>> = HashMap::new();
    let mut phase_outs: Vec<PhaseOut> = vec![];
    let mut r = csv::ByteRecord::new();
    while let Some(line) = csv.next(&mut r, run)? {
        let f = |i| field(&r, i);
        let acaps_id = f(id).into_owned();
        if acaps_id.is_empty() {
            run.malformed(line, "ID is blank");
            continue;
        }
        if let Some(first) = seen.insert(acaps_id.clone(), line) {
            run.malformed(line, format!("ID {acaps_id} is already on line {first}"));
            continue;
        }
        let log = f(log_type).to_lowercase();
        let is_phase_out = match log.as_str() {
            INTRODUCTION => false,
            PHASE_OUT => true,
            _ => {
                run.malformed(
                    line,
                    format!(
                        "LOG_TYPE {:?} is neither \"Introduction / extension of measures\" nor \"Phase-out measure\"",
                        f(log_type)
                    ),
                );
                continue;
            }
        };
        let Some(country) = run.country(line, "ISO", &f(iso)) else {
            continue;
        };
        let Ok(start) = run.date(line, "DATE_IMPLEMENTED", &f(date)) else {
            continue;
        };
        let kind = collapse_whitespace(&f(measure));
        let what = format!("ACAPS measure {kind:?}");
        let Some(category) = run.category(line, run.crosswalk.acaps(&kind), &what) else {
            continue;
        };
        let Some(start) = start else {
            run.refuse(line, "DATE_IMPLEMENTED is blank");
            continue;
        };
        let mut description = collapse_whitespace(&f(comments));
        if targeted.is_some_and(|i| f(i).eq_ignore_ascii_case("checked")) {
            if !description.is_empty() {
                description.push(' ');
            }
            description.push_str("(ACAPS marks this measure as targeting a population group.)");
        }
        let place = admin.map(f).filter(|a| !a.is_empty());
        let mut title = if is_phase_out {
            format!("{kind} (phase-out)")
        } else {
            kind.clone()
        };
        if let Some(place) = &place {
            title.push_str(&format!(" ({place})"));
        }
        let cited = source.map(f).filter(|s| !s.is_empty());
        let draft = Draft {
            id: format!("M-{country}-ACAPS-{acaps_id}"),
            line,
            country,
            title,
            description,
            category,
            start,
            end: None,
            groups: vec![],
            source: match cited {
                Some(s) => format!("ACAPS COVID-19 Government Measures, ID {acaps_id}; {s}"),
                None => format!("ACAPS COVID-19 Government Measures, ID {acaps_id}"),
            },
            source_code: format!("ACAPS: {kind}"),
            source_url: link.and_then(|i| url_cell(&f(i))),
        };
        let type_key = kind.to_lowercase();
        if is_phase_out {
            phase_outs.push(PhaseOut {
                country,
                measure: type_key,
                date: start,
                line,
                draft,
            });
        } else {
            by_type
                .entry((country, type_key))
                .or_default()
                .push(introductions.len());
            introductions.push(draft);
        }
    }
    phase_outs.sort_by_key(|p| (p.date, p.line));
    let mut alone = vec![];
    for p in phase_outs {
        let ends = by_type
            .get(&(p.country, p.measure.clone()))
            .into_iter()
            .flatten()
            .copied()
            .filter(|&i| introductions[i].end.is_none() && introductions[i].start <= p.date)
            .max_by_key(|&i| (introductions[i].start, introductions[i].line));
        match ends {
            Some(i) => {
                let m = &mut introductions[i];
                m.end = Some(p.date);
                append_note(
                    &mut m.description,
                    p.date,
                    &format!("phased out: {}", p.draft.description),
                );
                run.summary.merged_rows += 1;
            }
            None => alone.push(p.draft),
        }
    }
    introductions.extend(alone);
    Ok(introductions)
}
