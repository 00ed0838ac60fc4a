//! The object types of the schema, one file per entity. Each wraps a row of the catalog
//! (an `Arc`, so building a page copies no record) and resolves relations from the catalog's
//! in-memory indexes: no nested field reads the store.

pub(crate) mod country;
pub(crate) mod good_practice;
pub(crate) mod link;
pub(crate) mod measure;
pub(crate) mod recommendation;
mod session;
mod taxonomy;

use std::sync::Arc;

use async_graphql::{Context, Result};

pub use country::{Country, CountryConnection};
pub use good_practice::{GoodPractice, GoodPracticeConnection};
pub use link::{Link, LinkConnection};
pub use measure::{Measure, MeasureConnection};
pub use recommendation::{FacetCount, Recommendation, RecommendationConnection};
pub use session::{Cycle, Session};
pub use taxonomy::{Group, MeasureCategoryInfo, Sdg, Theme};

use crate::catalog::Catalog;

/// The catalog the request runs against.
pub fn catalog<'a>(ctx: &Context<'a>) -> Result<&'a Arc<Catalog>> {
    ctx.data::<Arc<Catalog>>()
}
