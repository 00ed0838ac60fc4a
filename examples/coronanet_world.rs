//! Writes a synthetic whole-world file in CoronaNet's release format, to measure
//! `import-measures --format coronanet` at the size of CoronaNet's own world file (about 90k
//! rows): `cargo run --release --example coronanet_world -- OUT.csv [ROWS] [SEED]`.
//!
//! Deterministic per seed. Every text is generated (no CoronaNet data is copied: its licence
//! is unconfirmed); the shape follows the Honduras release file: all 63 columns in the
//! release's order, about 1.35 events per policy (a new entry, then updates, some of them
//! "End of Policy"), descriptions of about 350 characters, the 20 policy types.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const HEADER: &str = "record_id,policy_id,entry_type,update_type,update_level,update_level_var,description,date_announced,date_start,date_end,date_end_spec,country,ISO_A3,ISO_A2,init_country_level,domestic_policy,province,ISO_L2,city,type,type_sub_cat,type_new_admin_coop,type_vac_cat,type_vac_mix,type_vac_reg,type_vac_purchase,type_vac_group,type_vac_group_rank,type_vac_who_pays,type_vac_dist_admin,type_vac_loc,type_vac_cost_num,type_vac_cost_scale,type_vac_cost_unit,type_vac_cost_gov_perc,type_vac_amt_num,type_vac_amt_scale,type_vac_amt_unit,type_vac_amt_gov_perc,type_text,institution_cat,institution_status,institution_conditions,target_init_same,target_country,target_geog_level,target_region,target_province,target_city,target_intl_org,target_other,target_who_what,target_who_gen,target_direction,travel_mechanism,compliance,enforcer,pdf_link,link,collab,collab_id,date_updated,recorded_date";

/// The 20 types of CoronaNet's field dictionary, with their share of the Honduras file.
const TYPES: &[(&str, u32)] = &[
    ("Restriction and Regulation of Businesses", 60),
    ("Curfew", 47),
    ("Health Resources", 36),
    ("Social Distancing", 31),
    ("External Border Restrictions", 29),
    ("Restriction and Regulation of Government Services", 29),
    ("Closure and Regulation of Schools", 26),
    ("Declaration of Emergency", 23),
    ("Lockdown", 21),
    ("New Task Force, Bureau or Administrative Configuration", 21),
    ("Other Policy Not Listed Above", 17),
    ("Restrictions of Mass Gatherings", 14),
    ("Public Awareness Measures", 12),
    ("Internal Border Restrictions", 11),
    ("Health Monitoring", 9),
    ("Hygiene", 7),
    ("COVID-19 Vaccines", 6),
    ("Quarantine", 6),
    ("Health Testing", 3),
    ("Anti-Disinformation Measures", 2),
];

const WORDS: &[&str] = &[
    "the",
    "government",
    "announced",
    "that",
    "all",
    "public",
    "measures",
    "will",
    "remain",
    "in",
    "force",
    "until",
    "further",
    "notice",
    "ministry",
    "of",
    "health",
    "residents",
    "must",
    "businesses",
    "schools",
    "borders",
    "gatherings",
    "are",
    "restricted",
    "from",
    "national",
    "emergency",
    "order",
    "decree",
    "extended",
    "relaxed",
    "province",
    "curfew",
];

const COUNTRIES_JSONL: &str = include_str!("../data/default/countries.jsonl");

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let out = args
        .next()
        .ok_or("usage: coronanet_world OUT.csv [ROWS] [SEED]")?;
    let rows: usize = args.next().map_or(Ok(90_000), |s| s.parse())?;
    let seed: u64 = args.next().map_or(Ok(1), |s| s.parse())?;
    let countries: Vec<(String, String)> = COUNTRIES_JSONL
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| {
            Some((
                v["code"].as_str()?.to_owned(),
                v["name"].as_str()?.to_owned(),
            ))
        })
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let total_weight: u32 = TYPES.iter().map(|t| t.1).sum();
    let day0 = chrono::NaiveDate::from_ymd_opt(2020, 1, 15).ok_or("date")?;
    let columns: Vec<&str> = HEADER.split(',').collect();
    let at = |name: &str| {
        columns
            .iter()
            .position(|c| *c == name)
            .expect("a release column")
    };
    let mut w = csv::Writer::from_path(&out)?;
    w.write_record(&columns)?;
    let (mut written, mut policy) = (0usize, 0u64);
    let mut row = vec![String::new(); columns.len()];
    while written < rows {
        policy += 1;
        let (iso, name) = &countries[rng.gen_range(0..countries.len())];
        let mut pick = rng.gen_range(0..total_weight);
        let kind = TYPES
            .iter()
            .find(|(_, weight)| {
                let hit = pick < *weight;
                pick = pick.saturating_sub(*weight);
                hit
            })
            .map_or(TYPES[0].0, |t| t.0);
        // About 1.35 events a policy, as in the Honduras file: most have none after the
        // new entry, a few have several.
        let updates = if rng.gen_bool(0.8) {
            0
        } else {
            rng.gen_range(1..4)
        };
        let mut start = day0 + chrono::Days::new(rng.gen_range(0..700));
        for event in 0..=updates {
            if written == rows {
                break;
            }
            let end_of_policy = event == updates && updates > 0 && rng.gen_bool(0.3);
            let end = start + chrono::Days::new(rng.gen_range(3..60));
            let words: Vec<&str> = (0..rng.gen_range(40..75))
                .map(|_| WORDS[rng.gen_range(0..WORDS.len())])
                .collect();
            let (entry, update) = match (event, end_of_policy) {
                (0, _) => ("new_entry", ""),
                (_, true) => ("update", "End of Policy"),
                _ => ("update", "Change of Policy"),
            };
            let open_ended = !end_of_policy && rng.gen_bool(0.3);
            row.iter_mut().for_each(String::clear);
            for (column, value) in [
                ("record_id", format!("R_{policy:07}{event:02}x")),
                ("policy_id", policy.to_string()),
                ("entry_type", entry.to_owned()),
                ("update_type", update.to_owned()),
                ("description", format!("{name}: {}.", words.join(" "))),
                ("date_announced", start.to_string()),
                ("date_start", start.to_string()),
                (
                    "date_end",
                    if open_ended {
                        String::new()
                    } else {
                        end.to_string()
                    },
                ),
                ("country", name.clone()),
                ("ISO_A3", iso.clone()),
                ("init_country_level", "National".into()),
                ("domestic_policy", "1".into()),
                ("type", kind.to_owned()),
                (
                    "target_who_what",
                    "All Residents (Citizen Residents + Foreign Residents)".into(),
                ),
                ("target_who_gen", "No special population targeted".into()),
                ("link", format!("https://example.org/{iso}/{policy}")),
                ("collab", "CoronaNet (original)".into()),
                ("date_updated", "2021-01-01".into()),
                ("recorded_date", "2021-01-01".into()),
            ] {
                row[at(column)] = value;
            }
            w.write_record(&row)?;
            written += 1;
            start = end + chrono::Days::new(1);
        }
    }
    w.flush()?;
    eprintln!("{written} rows, {policy} policies, written to {out}");
    Ok(())
}
