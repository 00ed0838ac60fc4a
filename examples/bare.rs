//! The baseline of `benches/load.sh`: a bare async-graphql-axum handler, with no layers, no
//! auth, no limits and a one-field schema, on its own multi-threaded runtime, with the
//! product's allocator. The product's
//! `{ __typename }` (Q0) is compared with this server's `{ __typename }` in the same run: the
//! difference is what the product's edge (parsing, auth, limits, caching, metrics, logs) costs.
//!
//! `cargo run --release --example bare [ADDR]` prints `GraphQL endpoint: http://ADDR/graphql`.

use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};
use async_graphql_axum::GraphQL;
use axum::routing::post_service;
use axum::Router;

// The product's allocator, so that the two differ only by the product's edge.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Query;

#[Object]
impl Query {
    /// Always true.
    async fn ok(&self) -> bool {
        true
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".into());
    let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
    let app = Router::new().route("/graphql", post_service(GraphQL::new(schema)));
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "GraphQL endpoint: http://{}/graphql",
        listener.local_addr()?
    );
    use std::io::Write;
    std::io::stdout().flush()?;
    axum::serve(listener, app).await
}
