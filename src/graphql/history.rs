//! The audit trail in GraphQL: `Change` (one entry), `history` on each editable entity
//! (newest first) and the root `changes` (oldest first, for syncing).

use async_graphql::{Context, Enum, Json, Object, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::connection::{connection, PageInfo, DEFAULT_PAGE, MAX_PAGE};
use super::errors::{bad_input, internal};
use super::object::catalog;
use super::query::Node;
use super::scalars::DateTime;
use crate::live::Live;
use crate::model::{self, HistoryEntry};
use crate::store::history::HistoryKey;

/// What a change did to a record.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::ChangeKind")]
pub enum ChangeKind {
    /// The record was created.
    Created,
    /// The record was changed.
    Updated,
    /// The record was deleted.
    Deleted,
}

/// The kinds of record a change can concern.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::Entity")]
pub enum Entity {
    /// A country.
    Country,
    /// A UPR cycle.
    Cycle,
    /// A UPR Working Group session.
    Session,
    /// A recommendation.
    Recommendation,
    /// A COVID-19 measure.
    Measure,
    /// A good practice.
    GoodPractice,
    /// A link of a recommendation and a measure.
    Link,
    /// A theme of the taxonomy.
    Theme,
    /// An affected-person group of the taxonomy.
    Group,
    /// A Sustainable Development Goal.
    Sdg,
    /// A measure category of the taxonomy.
    MeasureCategory,
    /// An issue of concern of the COVID-19 Tracker.
    Concern,
    /// An action of UN Human Rights.
    Action,
}

/// One audited change: who changed which record, when, and the record before and after.
#[derive(Clone)]
pub struct Change(pub HistoryEntry);

fn json(s: &Option<String>) -> Option<Json<serde_json::Value>> {
    s.as_deref()
        .and_then(|s| serde_json::from_str(s).ok())
        .map(Json)
}

/// One audited change: who changed which record, when, and the record before and after.
#[Object]
impl Change {
    /// When the change was committed (unique and increasing for changes made through the
    /// API).
    async fn at(&self) -> DateTime {
        DateTime(self.0.at)
    }
    /// The name of the token that made the change.
    async fn author(&self) -> &str {
        &self.0.author
    }
    /// What kind of record changed.
    async fn entity(&self) -> Entity {
        self.0.entity.into()
    }
    /// The record's natural key (a link's is the recommendation ref, a tab, the measure ref).
    async fn key(&self) -> &str {
        &self.0.key
    }
    /// What the change did.
    async fn kind(&self) -> ChangeKind {
        self.0.change.into()
    }
    /// The record's version after the change (its last version, for a deletion).
    async fn version(&self) -> i32 {
        self.0.version as i32
    }
    /// The record before the change, as in the interchange format (null for a creation).
    async fn before(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.before)
    }
    /// The record after the change, as in the interchange format (null for a deletion).
    async fn after(&self) -> Option<Json<serde_json::Value>> {
        json(&self.0.after)
    }
    /// Why, when the change followed from another (links deleted with their measure).
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// The record as it is now, if it still exists.
    async fn node(&self, ctx: &Context<'_>) -> Result<Option<Node>> {
        let c = catalog(ctx)?;
        Ok(super::query::node_by_key(&c, self.0.entity, &self.0.key))
    }
}

connection!(ChangeConnection, ChangeEdge, Change, "change");

fn encode_key(k: &HistoryKey) -> String {
    URL_SAFE_NO_PAD.encode([b"h:".as_slice(), k.as_slice()].concat())
}

fn decode_key(argument: &str, cursor: &str) -> Result<HistoryKey> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| b.strip_prefix(b"h:").and_then(|k| k.try_into().ok()))
        .ok_or_else(|| bad_input(argument, format!("{cursor:?} is not a cursor of this list")))
}

fn page_size(first: Option<i32>) -> Result<usize> {
    match first {
        None => Ok(DEFAULT_PAGE),
        Some(n) if !(0..=MAX_PAGE).contains(&n) => Err(bad_input(
            "first",
            format!("must be between 0 and {MAX_PAGE}, got {n}"),
        )),
        Some(n) => Ok(n as usize),
    }
}

fn live<'a>(ctx: &Context<'a>) -> Result<&'a std::sync::Arc<Live>> {
    ctx.data::<std::sync::Arc<Live>>()
}

fn build(
    mut rows: Vec<(HistoryKey, HistoryEntry)>,
    size: usize,
    has_previous: bool,
    total: u64,
) -> ChangeConnection {
    let has_next = rows.len() > size;
    rows.truncate(size);
    let edges: Vec<(String, Change)> = rows
        .into_iter()
        .map(|(k, e)| (encode_key(&k), Change(e)))
        .collect();
    let info = PageInfo {
        has_next_page: has_next,
        has_previous_page: has_previous,
        start_cursor: edges.first().map(|(c, _)| c.clone()),
        end_cursor: edges.last().map(|(c, _)| c.clone()),
    };
    ChangeConnection::new(edges, info, total, Default::default())
}

/// One record's history, newest first.
pub fn history_of(
    ctx: &Context<'_>,
    entity: model::Entity,
    key: &str,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ChangeConnection> {
    let size = page_size(first)?;
    let after = after.map(|a| decode_key("after", &a)).transpose()?;
    let live = live(ctx)?;
    let (rows, total) = live
        .store()
        .history_of(entity, key, after, live.durable_history(), size + 1)
        .map_err(internal)?;
    Ok(build(rows, size, after.is_some(), total))
}

/// Every durable change from `since` on, oldest first. Entries committed but not yet
/// flushed are not shown (a crash could still take them back), so a client syncing with
/// the cursor never sees an entry that later disappears.
pub fn changes(
    ctx: &Context<'_>,
    since: Option<DateTime>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<ChangeConnection> {
    let size = page_size(first)?;
    let after = after.map(|a| decode_key("after", &a)).transpose()?;
    let live = live(ctx)?;
    let since = since.map(|s| s.0);
    // The count and the page agree: both stop at the same watermark.
    let until = live.durable_history();
    let rows = live
        .store()
        .changes(since, after, until, size + 1)
        .map_err(internal)?;
    let total = live.count_changes(since, until);
    Ok(build(rows, size, after.is_some(), total))
}

/// A change of a recommendation's response, from its history.
#[derive(async_graphql::SimpleObject)]
pub struct ResponseChange {
    /// When the response changed (or the recommendation was created with it).
    pub at: DateTime,
    /// Who changed it.
    pub author: String,
    /// The response from then on.
    pub response: super::scalars::Response,
    /// The response before (null when the recommendation was created).
    pub previous: Option<super::scalars::Response>,
}

fn response_of(json: &Option<String>) -> Option<model::Response> {
    let v: serde_json::Value = serde_json::from_str(json.as_deref()?).ok()?;
    model::Response::parse(v.get("response")?.as_str()?)
}

/// The response changes of a recommendation, oldest first.
pub fn response_history(ctx: &Context<'_>, key: &str) -> Result<Vec<ResponseChange>> {
    let live = live(ctx)?;
    let (rows, _) = live
        .store()
        .history_of(
            model::Entity::Recommendation,
            key,
            None,
            live.durable_history(),
            usize::MAX,
        )
        .map_err(internal)?;
    Ok(rows
        .into_iter()
        .rev()
        .filter_map(|(_, e)| {
            let after = response_of(&e.after)?;
            let before = response_of(&e.before);
            (before != Some(after)).then(|| ResponseChange {
                at: DateTime(e.at),
                author: e.author,
                response: after.into(),
                previous: before.map(Into::into),
            })
        })
        .collect())
}
