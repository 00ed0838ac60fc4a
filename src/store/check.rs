//! The integrity check: every invariant of DOMAIN.md, verified in both directions.
//!
//! - each record decodes, sits under the key its natural key gives, and its references
//!   resolve (with a recommendation's State under review among its session's States);
//! - each record's expected index entries exist, and each index entry is produced by a record
//!   (the entries are derived by the same function the write path uses);
//! - the natural-key map and the records agree both ways; the kept counters equal the records.

use std::collections::{BTreeMap, HashMap};

use roaring::RoaringBitmap;

use super::keys::*;
use super::write::{Key, Plan, Record};
use super::{tree_of, Entity, Result, Store, TreeId, DEPENDENCY_ORDER};
use crate::model::LinkKey;

/// What the check found: every violation, and how many records of each kind it read.
#[derive(Debug, Default)]
pub struct CheckReport {
    pub violations: Vec<String>,
    pub counts: BTreeMap<&'static str, u64>,
}

impl CheckReport {
    pub fn is_clean(&self) -> bool {
        self.violations.is_empty()
    }
}

/// Reads the whole store once; memory grows with the number of index entries.
pub fn check(store: &Store) -> Result<CheckReport> {
    // Every key is read: on a remote engine, all of them in one go.
    let bulk = store.bulk_view()?;
    let store = bulk.as_ref().unwrap_or(store);
    let view = Plan::new(store)?;
    let mut report = CheckReport::default();
    if store.engine.pending_rollback()? {
        report
            .violations
            .push("an interrupted large write is pending rollback (reopen the store)".into());
    }
    let mut expected_index = vec![];
    // (ref kind, id) -> ref, of every record read, to check the refs tree against.
    let mut ids: HashMap<(u8, u32), String> = HashMap::new();

    for kind in DEPENDENCY_ORDER {
        let tree = tree_of(kind);
        let mut n = 0u64;
        for kv in store.engine.iter(tree) {
            let (at, v) = kv?;
            n += 1;
            let record = match Record::decode(kind, &v) {
                Ok(s) => s.record,
                Err(e) => {
                    report
                        .violations
                        .push(format!("{} key {:?}: {e}", tree.name(), at.as_ref()));
                    continue;
                }
            };
            let key = record.key();
            let whence = key.to_string();
            // The record must sit where its natural key says.
            let expected_at = match &key {
                Key::Country(c) => Some(country_key(*c).to_vec()),
                Key::Cycle(c) => Some(cycle_key(*c).to_vec()),
                Key::Session(s) => Some(session_key(*s).to_vec()),
                Key::Theme(s) | Key::Group(s) => Some(s.as_str().as_bytes().to_vec()),
                Key::Sdg(g) => Some(sdg_key(*g).to_vec()),
                Key::MeasureCategory(c) => Some(category_key(*c).to_vec()),
                Key::Recommendation(r) => view
                    .id(RefKind::Recommendation, r)?
                    .map(|i| id_key(i).to_vec()),
                Key::Measure(r) => view.id(RefKind::Measure, r)?.map(|i| id_key(i).to_vec()),
                Key::GoodPractice(r) => view
                    .id(RefKind::GoodPractice, r)?
                    .map(|i| id_key(i).to_vec()),
                Key::Concern(r) => view.id(RefKind::Concern, r)?.map(|i| id_key(i).to_vec()),
                Key::Action(r) => view.id(RefKind::Action, r)?.map(|i| id_key(i).to_vec()),
                Key::Link(LinkKey {
                    recommendation,
                    measure,
                }) => match (
                    view.id(RefKind::Recommendation, recommendation)?,
                    view.id(RefKind::Measure, measure)?,
                ) {
                    (Some(r), Some(m)) => Some(link_key(r, m).to_vec()),
                    _ => None,
                },
            };
            if expected_at.as_deref() != Some(at.as_ref()) {
                report.violations.push(format!(
                    "{whence} is stored under key {:?} in {}, but its natural key maps to {:?}",
                    at.as_ref(),
                    tree.name(),
                    expected_at
                ));
            }
            let ref_kind = match kind {
                Entity::Recommendation => Some(RefKind::Recommendation),
                Entity::Measure => Some(RefKind::Measure),
                Entity::GoodPractice => Some(RefKind::GoodPractice),
                Entity::Concern => Some(RefKind::Concern),
                Entity::Action => Some(RefKind::Action),
                _ => None,
            };
            if let (Some(rk), Some(id)) = (ref_kind, decode_id(&at)) {
                let r = match &key {
                    Key::Recommendation(r)
                    | Key::Measure(r)
                    | Key::GoodPractice(r)
                    | Key::Concern(r)
                    | Key::Action(r) => r.to_string(),
                    _ => String::new(),
                };
                ids.insert((rk as u8, id), r);
            }
            for problem in view.broken_references(&record)? {
                report.violations.push(format!("{whence}: {problem}"));
            }
            expected_index.extend(view.derived_entries(&record, &at)?);
        }
        let counted = store.count(kind)?;
        if counted != n {
            report.violations.push(format!(
                "the {} counter says {counted}, but the store holds {n}",
                kind.noun()
            ));
        }
        report.counts.insert(tree.name(), n);
    }

    // The natural-key map, in the other direction: every entry points at a record that has it.
    let mut max_id: HashMap<u8, u32> = HashMap::new();
    for kv in store.engine.iter(TreeId::Refs) {
        let (k, v) = kv?;
        match (decode_ref_key(&k), decode_id(&v)) {
            (Some((kind, r)), Some(id)) => {
                let m = max_id.entry(kind as u8).or_default();
                *m = (*m).max(id + 1);
                if ids.get(&(kind as u8, id)) != Some(&r.to_string()) {
                    report
                        .violations
                        .push(format!("refs entry {r} -> id {id} has no such record"));
                }
            }
            _ => report
                .violations
                .push(format!("refs entry {:?} is malformed", k.as_ref())),
        }
    }
    for (kind, max) in max_id {
        let next = store
            .engine
            .get(TreeId::Meta, format!("next-id/{kind}").as_bytes())?
            .and_then(|v| decode_id(&v))
            .unwrap_or(0);
        if next < max {
            report.violations.push(format!(
                "next id of ref kind {kind} is {next}, but id {} is in use",
                max - 1
            ));
        }
    }

    // Posting lists, both ways.
    let mut expected: BTreeMap<Vec<u8>, RoaringBitmap> = BTreeMap::new();
    for (key, target) in expected_index {
        expected.entry(key).or_default().insert(target);
    }
    let describe = |k: &[u8]| match Index::decode_key(k) {
        Some(i) => format!("{i:?}"),
        None => format!("undecodable key {k:?}"),
    };
    let sample = |b: &RoaringBitmap| {
        b.iter()
            .take(5)
            .map(|t| t.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    for kv in store.engine.iter(TreeId::Index) {
        let (k, v) = kv?;
        let stored = match super::codec::decode_postings(&v) {
            Ok(l) => l,
            Err(e) => {
                report
                    .violations
                    .push(format!("posting list {}: {e}", describe(&k)));
                continue;
            }
        };
        let want = expected.remove(k.as_ref()).unwrap_or_default();
        if stored.is_empty() {
            report
                .violations
                .push(format!("posting list {} is stored empty", describe(&k)));
        }
        let orphans = &stored - &want;
        if !orphans.is_empty() {
            report.violations.push(format!(
                "posting list {} holds {} target(s) no record produces: {}",
                describe(&k),
                orphans.len(),
                sample(&orphans)
            ));
        }
        let missing = &want - &stored;
        if !missing.is_empty() {
            report.violations.push(format!(
                "posting list {} lacks {} target(s) that records produce: {}",
                describe(&k),
                missing.len(),
                sample(&missing)
            ));
        }
    }
    for (k, want) in expected {
        report.violations.push(format!(
            "posting list {} is missing ({} target(s) expected: {})",
            describe(&k),
            want.len(),
            sample(&want)
        ));
    }
    Ok(report)
}
