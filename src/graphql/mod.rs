//! The GraphQL API: a schema built by a framework-free function over a [`Catalog`].
//!
//! - [`query`]: the root query; [`object`]: one type per entity; [`filter`]: filter inputs
//!   and their evaluation; [`connection`]: Relay connections; [`scalars`]: `Date`,
//!   `DateTime` and the enums; [`ids`]: global ids and cursors; [`errors`]: what clients see.

pub mod auth;
pub mod connection;
pub mod errors;
pub mod facets;
pub mod filter;
pub mod history;
pub mod ids;
pub mod mutation;
pub mod object;
pub mod query;
pub mod scalars;
pub mod subscription;

use std::sync::Arc;

use async_graphql::Schema;

use crate::live::Live;
pub use mutation::MutationRoot;
pub use query::QueryRoot;
pub use subscription::SubscriptionRoot;

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

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

/// The schema over a live store. Requests may carry an [`object::Snapshot`] (what the
/// server gives each HTTP request) and an [`auth::Principal`].
pub fn schema(live: Arc<Live>, limits: Limits) -> AppSchema {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .data(live)
        .limit_depth(limits.depth)
        .limit_complexity(limits.complexity)
        .limit_directives(limits.directives)
        .limit_recursive_depth(64)
        .finish()
}

/// The schema as the server runs it: every error of every response (HTTP and WebSocket) gets
/// a stable `extensions.code` (see [`errors::classify_all`]).
#[derive(Clone)]
pub struct Api(pub AppSchema);

impl async_graphql::Executor for Api {
    async fn execute(&self, request: async_graphql::Request) -> async_graphql::Response {
        let mut response = self.0.execute(request).await;
        errors::classify_all(&mut response);
        response
    }

    fn execute_stream(
        &self,
        request: async_graphql::Request,
        session_data: Option<Arc<async_graphql::Data>>,
    ) -> futures_util::stream::BoxStream<'static, async_graphql::Response> {
        use futures_util::StreamExt;
        self.0
            .execute_stream_with_session_data(request, session_data.unwrap_or_default())
            .map(|mut response| {
                errors::classify_all(&mut response);
                response
            })
            .boxed()
    }
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
        .finish()
        .sdl()
}
