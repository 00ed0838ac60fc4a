use std::sync::Arc;

use async_graphql::{Context, Object, Result, ID};
use roaring::RoaringBitmap;

use super::{catalog, Measure, Recommendation};
use crate::catalog::{Catalog, LinkRow};
use crate::graphql::connection::{connection, edges, page_request};
use crate::graphql::filter::LinkFilter;
use crate::graphql::ids::global_id;
use crate::graphql::scalars::{self, DateTime};

/// A measure's bearing on a recommendation, as judged by a person.
#[derive(Clone)]
pub struct Link(pub Arc<LinkRow>);

/// A measure's bearing on a recommendation, as judged by a person.
#[Object(serial)]
impl Link {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Link", &self.0.key())
    }
    /// The recommendation the measure bears on.
    async fn recommendation(&self, ctx: &Context<'_>) -> Result<Option<Recommendation>> {
        Ok(catalog(ctx)?
            .recommendations
            .get(self.0.recommendation)
            .cloned()
            .map(Recommendation))
    }
    /// The measure.
    async fn measure(&self, ctx: &Context<'_>) -> Result<Option<Measure>> {
        Ok(catalog(ctx)?
            .measures
            .get(self.0.measure)
            .cloned()
            .map(Measure))
    }
    /// How the measure bears on the recommendation.
    async fn relation(&self) -> scalars::LinkRelation {
        self.0.record.relation.into()
    }
    /// Where the link stands in review.
    async fn status(&self) -> scalars::LinkStatus {
        self.0.record.status.into()
    }
    /// Why the measure bears on the recommendation, in the curator's words.
    async fn note(&self) -> Option<&str> {
        self.0.record.note.as_deref()
    }
    /// A source showing the measure's effect.
    async fn evidence_url(&self) -> Option<&str> {
        self.0.record.evidence_url.as_deref()
    }
    /// Who made the link.
    async fn created_by(&self) -> Option<&str> {
        self.0.record.created_by.as_deref()
    }
    /// When the link was made.
    async fn created_at(&self) -> Option<DateTime> {
        self.0.record.created_at.map(DateTime)
    }
    /// When it last changed.
    async fn updated_at(&self) -> Option<DateTime> {
        self.0.record.updated_at.map(DateTime)
    }
    /// Every change to it, newest first: who, when, before and after.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, None, child_complexity)")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<crate::graphql::history::ChangeConnection> {
        crate::graphql::history::history_of(
            ctx,
            crate::model::Entity::Link,
            &self.0.key(),
            first,
            after,
        )
    }
    /// Grows by one with every change (for optimistic concurrency).
    async fn version(&self) -> i32 {
        self.0.version as i32
    }
}

connection!(LinkConnection, LinkEdge, Link, "link");

pub fn links(
    c: &Catalog,
    filter: Option<LinkFilter>,
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<LinkConnection> {
    let req = page_request(first, after, last, before)?;
    let all: RoaringBitmap = (0..c.links.len() as u32).collect();
    let set = Arc::new(filter.unwrap_or_default().evaluate(c, &all)?);
    let page = c.links_page(&set, &req);
    let (edges, info) = edges(page, |i| c.links.get(i as usize).cloned().map(Link));
    Ok(LinkConnection::new(edges, info, set.len(), set))
}
