//! The GraphQL API: a schema built by a framework-free function over a [`Catalog`].
//!
//! - [`query`]: the root query; [`object`]: one type per entity; [`filter`]: filter inputs
//!   and their evaluation; [`connection`]: Relay connections; [`scalars`]: `Date`,
//!   `DateTime` and the enums; [`ids`]: global ids and cursors; [`errors`]: what clients see.

pub mod connection;
pub mod errors;
pub mod filter;
pub mod ids;
pub mod object;
pub mod query;
pub mod scalars;

use std::sync::Arc;

use async_graphql::{EmptyMutation, EmptySubscription, Schema};

use crate::catalog::Catalog;
pub use query::QueryRoot;

pub type AppSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// Query limits, which async-graphql leaves off.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of selections.
    pub depth: usize,
    /// Largest complexity: one per field, connections' children times their page size, list
    /// fields' children times [`connection::LIST_COST`].
    pub complexity: usize,
    /// Most directives on one field.
    pub directives: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            depth: 16,
            complexity: 50_000,
            directives: 8,
        }
    }
}

/// The schema over a catalog snapshot.
pub fn schema(catalog: Arc<Catalog>, limits: Limits) -> AppSchema {
    Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .data(catalog)
        .extension(errors::ErrorCodes)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_directives(limits.directives)
        .limit_recursive_depth(64)
        .finish()
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}
