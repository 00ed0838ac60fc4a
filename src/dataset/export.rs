//! Export: the store written out in the interchange format, each file sorted by natural key,
//! so that import → export → import → export gives byte-identical files.

use std::io::{BufWriter, Write};
use std::path::Path;

use serde::Serialize;

use super::{io_error, DatasetError, FILES};
use crate::store::{RefKind, Result as StoreResult, Store, StoreError};

/// Counts of records written, per file, in [`FILES`] order.
pub type ExportSummary = Vec<(&'static str, usize)>;

struct Out<'a> {
    dir: &'a Path,
    summary: ExportSummary,
}

impl Out<'_> {
    /// Writes `name` through a temporary file renamed into place, so a failed export never
    /// leaves a half-written file under the real name.
    fn write<T: Serialize>(
        &mut self,
        name: &'static str,
        records: impl Iterator<Item = StoreResult<T>>,
    ) -> Result<(), DatasetError> {
        let path = self.dir.join(name);
        let tmp = self.dir.join(format!("{name}.partial"));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
        }
        let file = std::fs::File::create(&tmp).map_err(|e| io_error(&tmp, e))?;
        let mut w = BufWriter::new(file);
        let mut n = 0;
        for r in records {
            serde_json::to_writer(&mut w, &r?).map_err(|e| io_error(&tmp, e.into()))?;
            w.write_all(b"\n").map_err(|e| io_error(&tmp, e))?;
            n += 1;
        }
        w.into_inner()
            .map_err(|e| io_error(&tmp, e.into_error()))?
            .sync_all()
            .map_err(|e| io_error(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io_error(&path, e))?;
        self.summary.push((name, n));
        Ok(())
    }
}

fn rec<T>(s: StoreResult<crate::store::Stored<T>>) -> StoreResult<T> {
    s.map(|s| s.record)
}

fn missing(what: &str, id: u32) -> StoreError {
    StoreError::Corrupt {
        tree: "refs",
        reason: format!("{what} id {id} has a natural key but no record"),
    }
}

pub fn export(store: &Store, dir: &Path) -> Result<ExportSummary, DatasetError> {
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    // Every record is read, at one moment: on a remote engine, all of them in one go.
    let bulk = store.bulk_view()?;
    let store = bulk.as_ref().unwrap_or(store);
    let mut out = Out {
        dir,
        summary: vec![],
    };
    out.write(FILES[0], store.sdgs().map(rec))?;
    out.write(FILES[1], store.themes().map(rec))?;
    out.write(FILES[2], store.groups().map(rec))?;
    let mut categories = store
        .measure_categories()
        .map(rec)
        .collect::<StoreResult<Vec<_>>>()?;
    categories.sort_by_key(|c| c.code.as_str());
    out.write(FILES[3], categories.into_iter().map(Ok))?;
    out.write(FILES[4], store.countries().map(rec))?;
    out.write(FILES[5], store.cycles().map(rec))?;
    out.write(FILES[6], store.sessions().map(rec))?;
    out.write(
        FILES[7],
        store.refs(RefKind::Recommendation).map(|r| {
            let (_, id) = r?;
            store
                .recommendation_by_id(id)?
                .map(|s| s.record)
                .ok_or_else(|| missing("recommendation", id))
        }),
    )?;
    out.write(
        FILES[8],
        store.refs(RefKind::Measure).map(|r| {
            let (_, id) = r?;
            store
                .measure_by_id(id)?
                .map(|s| s.record)
                .ok_or_else(|| missing("measure", id))
        }),
    )?;
    out.write(
        FILES[9],
        store.refs(RefKind::GoodPractice).map(|r| {
            let (_, id) = r?;
            store
                .good_practice_by_id(id)?
                .map(|s| s.record)
                .ok_or_else(|| missing("good practice", id))
        }),
    )?;
    out.write(
        FILES[10],
        store.refs(RefKind::Concern).map(|r| {
            let (_, id) = r?;
            store
                .concern_by_id(id)?
                .map(|s| s.record)
                .ok_or_else(|| missing("concern", id))
        }),
    )?;
    out.write(
        FILES[11],
        store.refs(RefKind::Action).map(|r| {
            let (_, id) = r?;
            store
                .action_by_id(id)?
                .map(|s| s.record)
                .ok_or_else(|| missing("action", id))
        }),
    )?;
    let mut links = store
        .links()
        .map(|l| l.map(|(_, s)| s.record))
        .collect::<StoreResult<Vec<_>>>()?;
    links.sort_by(|a, b| (&a.recommendation, &a.measure).cmp(&(&b.recommendation, &b.measure)));
    out.write(FILES[12], links.into_iter().map(Ok))?;
    if store.all_history().next().is_none() {
        return Ok(out.summary);
    }
    out.write(
        super::HISTORY_FILE,
        store
            .all_history()
            .map(|e| e.map(super::HistoryLine::from_entry)),
    )?;
    Ok(out.summary)
}
