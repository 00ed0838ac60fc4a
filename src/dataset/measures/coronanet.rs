//! CoronaNet's release CSV: one row per policy event, grouped into policies by `policy_id`
//! (a `new_entry`, then `update`s that change or end it).
//!
//! A policy becomes one measure `M-{ISO3}-CN-{policy_id}`: its start is the earliest
//! `date_start` of its events; its end is the date of its latest "End of Policy" update
//! (that row's `date_end`, or its `date_start` when blank), else the `date_end` of its latest
//! event (blank: still in force). Title, type and targets come from the `new_entry` (or, when
//! the file lacks it, the first event read); each event's description is appended, dated,
//! unless an earlier one already says it. Rows are matched on `ISO_A3`, not on the file's
//! name: CoronaNet cuts its per-country files by partial name match.

use std::collections::HashMap;

use super::*;

const COLUMNS: [&str; 10] = [
    "record_id",
    "policy_id",
    "entry_type",
    "update_type",
    "description",
    "date_start",
    "date_end",
    "ISO_A3",
    "type",
    "type_sub_cat",
];

/// `target_who_gen` values (matched as lower-case substrings) that name a group of UHRI's
/// affected persons. Only groups the value names outright: "People of a certain age" may be
/// the old or the young, so it maps to none.
const GROUPS: &[(&str, &str)] = &[
    ("prisoner", "persons-deprived-of-their-liberty"),
    ("migrant", "migrants"),
    ("refugee", "refugees-and-asylum-seekers"),
    ("asylum seeker", "refugees-and-asylum-seekers"),
    ("nursing home", "older-persons"),
    ("elderly", "older-persons"),
    ("people with disabilities", "persons-with-disabilities"),
    ("persons with disabilities", "persons-with-disabilities"),
    ("indigenous", "indigenous-peoples"),
    ("women", "women"),
    ("children", "children"),
    ("medical workers", "medical-staff"),
    ("health workers", "medical-staff"),
];

pub(crate) fn groups_of(targets: &str) -> Vec<Slug> {
    let t = targets.to_lowercase();
    GROUPS
        .iter()
        .filter(|(pattern, _)| t.contains(pattern))
        .filter_map(|(_, slug)| Slug::parse(slug).ok())
        .collect()
}

struct Policy {
    draft: Draft,
    from_new_entry: bool,
    /// The latest event by `date_start` (then by line): its end date.
    latest: (Date, usize, Option<Date>),
    /// The latest "End of Policy" update: its date and line, and the end it gives.
    ended: Option<(Date, usize, Date)>,
}

pub(crate) fn read(csv: &mut CsvFile, run: &mut Run<'_>) -> Result<Vec<Draft>, MeasureImportError> {
    let [record_id, policy_id, entry_type, update_type, description, date_start, date_end, iso, kind, sub] =
        csv.header.require(&run.file, COLUMNS)?;
    let optional = |name| csv.header.get(name);
    let (link, pdf_link, who_gen) = (
        optional("link"),
        optional("pdf_link"),
        optional("target_who_gen"),
    );
    let (level, province, city) = (
        optional("init_country_level"),
        optional("province"),
        optional("city"),
    );
    let mut policies: HashMap<(CountryCode, String), Policy> = HashMap::new();
    let mut r = csv::ByteRecord::new();
    while let Some(line) = csv.next(&mut r, run)? {
        let f = |i| field(&r, i);
        if f(record_id).is_empty() {
            run.malformed(line, "record_id is blank");
            continue;
        }
        let pid = f(policy_id).into_owned();
        if pid.is_empty() {
            run.malformed(line, "policy_id is blank");
            continue;
        }
        let Some(country) = run.country(line, "ISO_A3", &f(iso)) else {
            continue;
        };
        let (Ok(start), Ok(end)) = (
            run.date(line, "date_start", &f(date_start)),
            run.date(line, "date_end", &f(date_end)),
        ) else {
            continue;
        };
        let Some(start) = start else {
            run.refuse(line, "date_start is blank");
            continue;
        };
        let (kind, sub) = (f(kind), f(sub));
        let what = format!("CoronaNet type {kind:?}");
        let Some(category) = run.category(line, run.crosswalk.coronanet(&kind, &sub), &what) else {
            continue;
        };
        let is_new_entry = f(entry_type) == "new_entry";
        let is_end = f(update_type).eq_ignore_ascii_case("End of Policy");
        let note = collapse_whitespace(&f(description));

        let key = (country, pid.clone());
        let policy = match policies.get_mut(&key) {
            Some(p) => {
                run.summary.merged_rows += 1;
                p
            }
            None => {
                let draft = Draft {
                    id: format!("M-{country}-CN-{pid}"),
                    line,
                    country,
                    title: String::new(),
                    description: String::new(),
                    category,
                    start,
                    end: None,
                    groups: vec![],
                    source: format!(
                        "CoronaNet Research Project, Cheng et al. (2020), policy {pid}"
                    ),
                    source_code: String::new(),
                    source_url: None,
                };
                policies.entry(key).or_insert(Policy {
                    draft,
                    from_new_entry: false,
                    latest: (start, line, end),
                    ended: None,
                })
            }
        };
        // The new entry describes the policy; without one, the first event read does.
        if policy.draft.title.is_empty() || (is_new_entry && !policy.from_new_entry) {
            let d = &mut policy.draft;
            d.line = line;
            d.category = category;
            d.title = title(
                &kind,
                &sub,
                level.map(f).as_deref(),
                province.map(f).as_deref(),
                city.map(f).as_deref(),
            );
            d.source_code = if sub.is_empty() {
                format!("CoronaNet: {kind}")
            } else {
                format!("CoronaNet: {kind} / {sub}")
            };
            d.groups = who_gen.map(|i| groups_of(&f(i))).unwrap_or_default();
            d.source_url = [link, pdf_link]
                .into_iter()
                .flatten()
                .find_map(|i| url_cell(&f(i)));
            policy.from_new_entry = is_new_entry;
        }
        let d = &mut policy.draft;
        d.start = d.start.min(start);
        append_note(&mut d.description, start, &note);
        if (start, line) >= (policy.latest.0, policy.latest.1) {
            policy.latest = (start, line, end);
        }
        if is_end && policy.ended.is_none_or(|(s, l, _)| (start, line) >= (s, l)) {
            policy.ended = Some((start, line, end.unwrap_or(start)));
        }
    }
    let mut drafts = Vec::with_capacity(policies.len());
    for (_, p) in policies {
        let mut d = p.draft;
        d.end = match p.ended {
            Some((_, _, end)) => Some(end),
            None => p.latest.2,
        };
        if d.description.is_empty() {
            d.description = "CoronaNet records this policy without a description.".into();
        }
        if let Some(end) = d.end.filter(|&e| e < d.start) {
            run.refuse(
                d.line,
                format!("policy ends ({end}) before it starts ({})", d.start),
            );
            continue;
        }
        drafts.push(d);
    }
    Ok(drafts)
}

fn title(
    kind: &str,
    sub: &str,
    level: Option<&str>,
    province: Option<&str>,
    city: Option<&str>,
) -> String {
    let mut t = if sub.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {sub}")
    };
    let local = level.is_some_and(|l| !l.is_empty() && !l.eq_ignore_ascii_case("National"));
    if local {
        if let Some(place) = [city, province]
            .into_iter()
            .flatten()
            .find(|p| !p.is_empty())
        {
            t.push_str(&format!(" ({place})"));
        }
    }
    t
}
