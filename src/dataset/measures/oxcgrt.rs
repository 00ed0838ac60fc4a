//! OxCGRT's CSV, in either of the layouts it publishes, told apart by their headers:
//!
//! - **responses** (`OxCGRT_latest_responses.csv`: `CountryCode`, `StartDate`, `EndDate`,
//!   `PolicyType`, `PolicyValue`, `Flag`, `InitialNote`): one row per change of an
//!   indicator, already a spell;
//! - **daily** (`OxCGRT_latest.csv` and its successors: `CountryCode`, `Date`, then a column
//!   per indicator such as `C1_School closing` or `C1M_School closing`, with `C1_Flag` and,
//!   in the files with notes, `C1_Notes`): one row per country and day.
//!
//! Either way a measure is a *spell*: an indicator held at one value (and flag) over
//! consecutive days, `M-{ISO3}-OXCGRT-{indicator}-{value}-{YYYYMMDD}` after its first day.
//! Daily values that repeat extend the spell; responses rows that continue one another at
//! the same value are merged into it. A spell still running on the last day the file has for
//! its country has no end. Value 0 means "no measures" in OxCGRT's codebook, and a blank
//! value "no data": neither is a measure, and both are counted as refused. In the daily
//! layout counts of merged and refused are of indicator values (a row holds one per
//! indicator), and only national rows (`Jurisdiction` `NAT_TOTAL`, or no `RegionCode`) are
//! read.

use std::collections::HashMap;

use super::*;

/// The meaning of each level of the ordinal indicators, in the OxCGRT codebook's words (as
/// the default dataset's OxCGRT measures title them).
const LEVELS: &[(&str, &[&str])] = &[
    ("C1", &["no measures", "recommend closing", "require closing at some levels or categories only", "require closing at all levels"]),
    ("C2", &["no measures", "recommend closing or working from home", "require closing or working from home for some sectors or categories of workers", "require closing or working from home for all but essential workplaces"]),
    ("C3", &["no measures", "recommend cancelling", "require cancelling"]),
    ("C4", &["no restrictions", "restrictions on very large gatherings (more than 1,000 people)", "restrictions on gatherings of 101 to 1,000 people", "restrictions on gatherings of 11 to 100 people", "restrictions on gatherings of 10 people or fewer"]),
    ("C5", &["no measures", "recommend closing or significantly reduce service", "require closing or prohibit most people from using it"]),
    ("C6", &["no measures", "recommend not leaving the house", "require not leaving the house except for daily exercise, grocery shopping and essential trips", "require not leaving the house with minimal exceptions"]),
    ("C7", &["no measures", "recommend not travelling between regions or cities", "internal movement restrictions in place"]),
    ("C8", &["no restrictions", "screening of arrivals", "quarantine of arrivals from some or all regions", "ban on arrivals from some regions", "ban on all regions or total border closure"]),
    ("E1", &["no income support", "government replaces less than 50% of lost salary", "government replaces 50% or more of lost salary"]),
    ("E2", &["no debt or contract relief", "narrow relief, specific to one kind of contract", "broad debt or contract relief"]),
    ("H1", &["no COVID-19 public information campaign", "public officials urging caution about COVID-19", "coordinated public information campaign"]),
    ("H2", &["no testing policy", "testing only of people with symptoms who meet specific criteria", "testing of anyone showing COVID-19 symptoms", "open public testing, including of people without symptoms"]),
    ("H3", &["no contact tracing", "limited contact tracing, not done for all cases", "comprehensive contact tracing, done for all identified cases"]),
];

/// Indicators whose value is an amount in US dollars, not a level.
const AMOUNTS: &[&str] = &["E3", "E4", "H4", "H5"];

const SOURCE: &str = "OxCGRT, Hale et al. (2021), CC BY 4.0";

/// `C1`, `C1M`, `H7`, `V2A`: a letter, digits, and perhaps more letters.
fn is_indicator(code: &str) -> bool {
    let mut chars = code.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && code[1..].starts_with(|c: char| c.is_ascii_digit())
        && code[1..].chars().all(|c| c.is_ascii_alphanumeric())
}

fn base_code(code: &str) -> &str {
    let digits_end = code[1..]
        .find(|c: char| !c.is_ascii_digit())
        .map_or(code.len(), |i| i + 1);
    &code[..digits_end]
}

fn title(code: &str, name: &str, value: &str) -> String {
    let base = base_code(code);
    if AMOUNTS.contains(&base) {
        return format!("{name}: USD {value}");
    }
    let level = LEVELS
        .iter()
        .find(|(c, _)| *c == base)
        .and_then(|(_, levels)| value.parse::<usize>().ok().and_then(|v| levels.get(v)));
    match level {
        Some(meaning) => format!("{name}: {meaning}"),
        None => format!("{name}: level {value}"),
    }
}

/// A number as OxCGRT writes it (`3`, `3.0`, `3.00`), in one spelling: `3`.
fn number(raw: &str) -> Option<String> {
    let v: f64 = raw.parse().ok()?;
    if !v.is_finite() || v < 0.0 {
        return None;
    }
    Some(if v.fract() == 0.0 && v < 1e15 {
        format!("{}", v as u64)
    } else {
        format!("{v}")
    })
}

/// `20200316` as a date.
fn yyyymmdd(raw: &str) -> Option<Date> {
    if raw.len() != 8 || !raw.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Date::parse(&format!("{}-{}-{}", &raw[..4], &raw[4..6], &raw[6..])).ok()
}

/// One indicator's value over consecutive days.
struct Spell {
    code: String,
    name: String,
    value: String,
    flag: String,
    category: MeasureCategory,
    start: Date,
    /// The last day known to be in the spell (`None`: open-ended, from a responses row).
    last: Option<Date>,
    line: usize,
    notes: String,
}

impl Spell {
    fn continues(&self, next: &Spell) -> bool {
        self.value == next.value
            && self.flag == next.flag
            && match self.last {
                None => true,
                Some(last) => next.start.naive() <= last.naive() + chrono::Days::new(1),
            }
    }

    fn absorb(&mut self, next: Spell) {
        self.last = match (self.last, next.last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
        if !next.notes.is_empty() && !self.notes.contains(&next.notes) {
            if !self.notes.is_empty() {
                self.notes.push_str("\n\n");
            }
            self.notes.push_str(&next.notes);
        }
    }
}

/// Spells by country and indicator, merged and turned into drafts.
#[derive(Default)]
struct Spells {
    by_indicator: HashMap<(CountryCode, String), Vec<Spell>>,
    /// The last day the file has for each country (daily layout).
    last_day: HashMap<CountryCode, Date>,
}

impl Spells {
    fn push(&mut self, country: CountryCode, spell: Spell) {
        self.by_indicator
            .entry((country, spell.code.clone()))
            .or_default()
            .push(spell);
    }

    fn drafts(self, run: &mut Run<'_>) -> Vec<Draft> {
        let mut drafts = vec![];
        for ((country, _), mut spells) in self.by_indicator {
            spells.sort_by_key(|s| (s.start, s.line));
            let mut merged: Vec<Spell> = vec![];
            for s in spells {
                match merged.last_mut() {
                    Some(prev) if prev.continues(&s) => {
                        run.summary.merged_rows += 1;
                        prev.absorb(s);
                    }
                    _ => merged.push(s),
                }
            }
            let file_end = self.last_day.get(&country).copied();
            for s in merged {
                let end = s.last.filter(|&l| Some(l) != file_end);
                let flag = if s.flag.is_empty() {
                    String::new()
                } else {
                    format!(" flag={}", s.flag)
                };
                drafts.push(Draft {
                    id: format!(
                        "M-{country}-OXCGRT-{}-{}-{}",
                        s.code,
                        s.value,
                        s.start.naive().format("%Y%m%d")
                    ),
                    line: s.line,
                    country,
                    title: title(&s.code, &s.name, &s.value),
                    description: if s.notes.is_empty() {
                        "OxCGRT records this policy without a note.".into()
                    } else {
                        s.notes.clone()
                    },
                    category: s.category,
                    start: s.start,
                    end,
                    groups: vec![],
                    source: SOURCE.into(),
                    source_code: format!("OxCGRT {}={}{flag}", s.code, s.value),
                    source_url: first_url(&s.notes),
                });
            }
        }
        drafts
    }
}

pub(crate) fn read(csv: &mut CsvFile, run: &mut Run<'_>) -> Result<Vec<Draft>, MeasureImportError> {
    if csv.header.has("PolicyType") {
        responses(csv, run)
    } else {
        daily(csv, run)
    }
}

/// Reads a value cell: `None` when the row is refused or malformed (counted through `run`).
fn value(run: &mut Run<'_>, line: usize, column: &str, raw: &str) -> Option<String> {
    if raw.is_empty() {
        run.refuse(line, "no value (OxCGRT: no data)");
        return None;
    }
    let Some(v) = number(raw) else {
        run.malformed(line, format!("{column}: {raw:?} is not a number"));
        return None;
    };
    if v == "0" {
        run.refuse(line, "value 0 (OxCGRT: no measures in force)");
        return None;
    }
    Some(v)
}

fn flag(run: &mut Run<'_>, line: usize, column: &str, raw: &str) -> Result<String, ()> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    number(raw).ok_or_else(|| run.malformed(line, format!("{column}: {raw:?} is not a number")))
}

fn date(run: &mut Run<'_>, line: usize, column: &str, raw: &str) -> Result<Option<Date>, ()> {
    if raw.is_empty() {
        return Ok(None);
    }
    yyyymmdd(raw).map(Some).ok_or_else(|| {
        run.malformed(line, format!("{column}: {raw:?} is not a date YYYYMMDD"));
    })
}

fn responses(csv: &mut CsvFile, run: &mut Run<'_>) -> Result<Vec<Draft>, MeasureImportError> {
    let [country_code, start_date, end_date, policy_type, policy_value, flag_column, note] =
        csv.header.require(
            &run.file,
            [
                "CountryCode",
                "StartDate",
                "EndDate",
                "PolicyType",
                "PolicyValue",
                "Flag",
                "InitialNote",
            ],
        )?;
    let mut spells = Spells::default();
    let mut r = csv::ByteRecord::new();
    while let Some(line) = csv.next(&mut r, run)? {
        let f = |i| field(&r, i);
        let Some((code, name)) = f(policy_type)
            .split_once(':')
            .map(|(c, n)| (c.trim().to_owned(), n.trim().to_owned()))
            .filter(|(c, _)| is_indicator(c))
        else {
            run.malformed(
                line,
                format!("PolicyType {:?} is not \"CODE: name\"", f(policy_type)),
            );
            continue;
        };
        let Some(country) = run.country(line, "CountryCode", &f(country_code)) else {
            continue;
        };
        let (Ok(start), Ok(end), Ok(flag)) = (
            date(run, line, "StartDate", &f(start_date)),
            date(run, line, "EndDate", &f(end_date)),
            flag(run, line, "Flag", &f(flag_column)),
        ) else {
            continue;
        };
        let Some(start) = start else {
            run.refuse(line, "StartDate is blank");
            continue;
        };
        let what = format!("OxCGRT indicator {code}");
        let Some(category) = run.category(line, run.crosswalk.oxcgrt(&code), &what) else {
            continue;
        };
        let Some(value) = value(run, line, "PolicyValue", &f(policy_value)) else {
            continue;
        };
        if let Some(end) = end.filter(|&e| e < start) {
            run.malformed(line, format!("EndDate {end} is before StartDate {start}"));
            continue;
        }
        let note = collapse_whitespace(&f(note));
        spells.push(
            country,
            Spell {
                code,
                name,
                value,
                flag,
                category,
                start,
                last: end,
                line,
                notes: note,
            },
        );
    }
    Ok(spells.drafts(run))
}

/// An indicator's columns in the daily layout.
struct Indicator {
    code: String,
    name: String,
    value: usize,
    flag: Option<usize>,
    notes: Option<usize>,
    category: MeasureCategory,
}

fn daily(csv: &mut CsvFile, run: &mut Run<'_>) -> Result<Vec<Draft>, MeasureImportError> {
    let [country_code, date_column] = csv.header.require(&run.file, ["CountryCode", "Date"])?;
    let jurisdiction = csv.header.get("Jurisdiction");
    let region = csv.header.get("RegionCode");
    let mut indicators = vec![];
    for (i, column) in csv.header.all.iter().enumerate() {
        let Some((code, name)) = column.split_once('_') else {
            continue;
        };
        if !is_indicator(code) || name == "Flag" || name == "Notes" || name.starts_with("IsGeneral")
        {
            continue;
        }
        match run.crosswalk.oxcgrt(code) {
            Some(category) => indicators.push(Indicator {
                code: code.to_owned(),
                name: name.to_owned(),
                value: i,
                flag: csv.header.get(&format!("{code}_Flag")),
                notes: csv.header.get(&format!("{code}_Notes")),
                category,
            }),
            None => run.refuse(
                1,
                format!(
                    "OxCGRT indicator {code} is not in the crosswalk (column {column:?} ignored)"
                ),
            ),
        }
    }
    // The spell each indicator of each country is in, while rows come in day order.
    let mut open: HashMap<(CountryCode, usize), Spell> = HashMap::new();
    let mut spells = Spells::default();
    let mut r = csv::ByteRecord::new();
    while let Some(line) = csv.next(&mut r, run)? {
        let f = |i| field(&r, i);
        let subnational = jurisdiction.is_some_and(|j| !f(j).is_empty() && f(j) != "NAT_TOTAL")
            || region.is_some_and(|c| !f(c).is_empty());
        if subnational {
            run.refuse(line, "subnational row (only national rows are read)");
            continue;
        }
        let Some(country) = run.country(line, "CountryCode", &f(country_code)) else {
            continue;
        };
        let day = match date(run, line, "Date", &f(date_column)) {
            Ok(Some(day)) => day,
            Ok(None) => {
                run.malformed(line, "Date is blank");
                continue;
            }
            Err(()) => continue,
        };
        let last = spells.last_day.entry(country).or_insert(day);
        *last = (*last).max(day);
        for (k, ind) in indicators.iter().enumerate() {
            let Ok(flag) = ind.flag.map_or(Ok(String::new()), |c| {
                flag(run, line, &csv.header.all[c], &f(c))
            }) else {
                continue;
            };
            let note = ind
                .notes
                .map(|c| collapse_whitespace(&f(c)))
                .unwrap_or_default();
            let value = value(run, line, &ind.name, &f(ind.value));
            let key = (country, k);
            let continued = match (&value, open.get_mut(&key)) {
                (Some(v), Some(s))
                    if s.value == *v
                        && s.flag == flag
                        && s.last
                            .is_some_and(|l| l.naive() + chrono::Days::new(1) == day.naive()) =>
                {
                    s.last = Some(day);
                    if !note.is_empty() {
                        append_note(&mut s.notes, day, &note);
                    }
                    run.summary.merged_rows += 1;
                    true
                }
                _ => false,
            };
            if continued {
                continue;
            }
            if let Some(done) = open.remove(&key) {
                spells.push(country, done);
            }
            if let Some(value) = value {
                let mut notes = String::new();
                append_note(&mut notes, day, &note);
                open.insert(
                    key,
                    Spell {
                        code: ind.code.clone(),
                        name: ind.name.clone(),
                        value,
                        flag,
                        category: ind.category,
                        start: day,
                        last: Some(day),
                        line,
                        notes,
                    },
                );
            }
        }
    }
    for ((country, _), spell) in open {
        spells.push(country, spell);
    }
    Ok(spells.drafts(run))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicator_codes_are_told_from_other_columns() {
        assert!(is_indicator("C1"));
        assert!(is_indicator("C1M"));
        assert!(is_indicator("V2A"));
        assert!(!is_indicator("StringencyIndex"));
        assert!(!is_indicator("M"));
        assert_eq!(base_code("C1M"), "C1");
        assert_eq!(base_code("H7"), "H7");
    }

    #[test]
    fn values_are_spelled_one_way() {
        assert_eq!(number("3.00").as_deref(), Some("3"));
        assert_eq!(number("1500000").as_deref(), Some("1500000"));
        assert_eq!(number("x"), None);
    }

    #[test]
    fn titles_use_the_codebook_level() {
        assert_eq!(
            title("C1", "School closing", "3"),
            "School closing: require closing at all levels"
        );
        assert_eq!(
            title("H6", "Facial Coverings", "2"),
            "Facial Coverings: level 2"
        );
        assert_eq!(
            title("E3", "Fiscal measures", "1000"),
            "Fiscal measures: USD 1000"
        );
    }
}
