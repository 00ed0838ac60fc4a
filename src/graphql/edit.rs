//! What every create, update and delete of a record with a ref does, whatever the entity:
//! refuse a create over an existing key, check the base version of an update before building
//! on it, commit, and read the record back from the catalog that includes the write. The
//! mutations of `mutation.rs` and `tracker.rs` only build or edit the record.

use std::sync::Arc;

use async_graphql::{Context, Result};

use super::errors::internal;
use super::ids::global_id;
use super::mutation::{
    cascaded, check_version, commit, current, latest, put, reference, refuse_existing, version,
    written, DeleteInput, DeletePayload,
};
use super::object::{Action, Concern, GoodPractice, Measure};
use crate::catalog::{Catalog, Row, Table};
use crate::model::{self, Ref};
use crate::store::{Change, Key, Record};

/// An entity the generic mutations can write: its table, its store key and record, and how
/// messages and global ids name it.
pub(crate) trait Editable: Sized {
    type Record: Clone;
    /// How messages name it, e.g. `good practice`.
    const WHAT: &'static str;
    /// Its GraphQL type, for global ids.
    const TYPE: &'static str;
    fn table(c: &Catalog) -> &Table<Self::Record>;
    fn wrap(row: Arc<Row<Self::Record>>) -> Self;
    fn record(r: Self::Record) -> Record;
    fn key(id: Ref) -> Key;
}

macro_rules! editable {
    ($object:ident, $record:ty, $what:literal, $table:ident, $variant:ident) => {
        impl Editable for $object {
            type Record = $record;
            const WHAT: &'static str = $what;
            const TYPE: &'static str = stringify!($object);
            fn table(c: &Catalog) -> &Table<$record> {
                &c.$table
            }
            fn wrap(row: Arc<Row<$record>>) -> Self {
                $object(row)
            }
            fn record(r: $record) -> Record {
                Record::$variant(r)
            }
            fn key(id: Ref) -> Key {
                Key::$variant(id)
            }
        }
    };
}

editable!(Measure, model::Measure, "measure", measures, Measure);
editable!(
    GoodPractice,
    model::GoodPractice,
    "good practice",
    good_practices,
    GoodPractice
);
editable!(Concern, model::Concern, "concern", concerns, Concern);
editable!(Action, model::Action, "action", actions, Action);

/// The record `id` as the write left it.
fn read_back<E: Editable>(c: &Catalog, id: &Ref) -> Result<E> {
    E::table(c)
        .by_ref(id.as_str())
        .cloned()
        .map(E::wrap)
        .ok_or_else(|| internal(format!("{} {id} missing after a write", E::WHAT)))
}

/// Writes a new record under `id`; a record that exists already is refused (`instead` names
/// the mutation to use).
pub(crate) async fn create<E: Editable>(
    ctx: &Context<'_>,
    author: String,
    id: &Ref,
    record: E::Record,
    instead: &str,
) -> Result<E> {
    refuse_existing(
        E::table(&latest(ctx)?.snapshot()).by_ref(id.as_str()),
        &format!("{} {id}", E::WHAT),
        instead,
    )?;
    let committed = commit(ctx, vec![put(E::record(record), 0)], author).await?;
    read_back(&committed.catalog, id)
}

/// Changes the record `reference` at `expected_version` with `edit` (which checks its own
/// fields); the entity and whether anything was written.
pub(crate) async fn update<E: Editable>(
    ctx: &Context<'_>,
    author: String,
    reference_: &str,
    expected_version: i32,
    edit: impl FnOnce(&mut E::Record) -> Result<()>,
) -> Result<(E, bool)> {
    let id = reference("ref", reference_)?;
    let expected = version("expectedVersion", expected_version)?;
    let c = latest(ctx)?.snapshot();
    let what = format!("{} {id}", E::WHAT);
    let (mut record, stored) = current(E::table(&c).by_ref(id.as_str()), &what)?;
    check_version(&what, expected, stored)?;
    edit(&mut record)?;
    let committed = commit(ctx, vec![put(E::record(record), expected)], author).await?;
    Ok((
        read_back(&committed.catalog, &id)?,
        written(&committed.report.outcomes),
    ))
}

/// Deletes the record of `input` (the store refuses it while something refers to it, and
/// deletes a measure's or recommendation's links with it).
pub(crate) async fn delete<E: Editable>(
    ctx: &Context<'_>,
    author: String,
    input: DeleteInput,
) -> Result<DeletePayload> {
    let id = reference("ref", &input.reference)?;
    let expected = version("expectedVersion", input.expected_version)?;
    let change = Change::Delete {
        key: E::key(id.clone()),
        expected_version: Some(expected),
    };
    let committed = commit(ctx, vec![change], author).await?;
    Ok(DeletePayload {
        deleted_id: global_id(E::TYPE, id.as_str()),
        deleted_links: cascaded(&committed.report.outcomes),
        client_mutation_id: input.client_mutation_id,
    })
}

/// Sets a field of a record to the value an update gives, if it gives one.
pub(crate) fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}
