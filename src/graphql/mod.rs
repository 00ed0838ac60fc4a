//! The GraphQL API: a schema built by a framework-free function over a [`Catalog`].
//!
//! - [`query`]: the root query; [`object`]: one type per entity; [`filter`]: filter inputs
//!   and their evaluation; [`connection`]: Relay connections; [`scalars`]: `Date`,
//!   `DateTime` and the enums; [`ids`]: global ids and cursors; [`errors`]: what clients see;
//!   [`cost`]: what a query costs, measured before it runs, and its deadline.

pub mod assess;
pub mod auth;
pub mod connection;
pub mod cost;
mod edit;
pub mod errors;
pub mod facets;
pub mod filter;
pub mod history;
pub mod ids;
pub mod leaves;
pub mod mutation;
pub mod object;
pub mod query;
pub mod scalars;
pub mod snapshot;
pub mod subscription;
pub mod tracker;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse, Request, Response, Schema, ServerError};

use crate::live::Live;
// Each entity contributes its own root object; adding an entity adds a member to these two.

/// The entry points of the API for reading: open to everyone unless the server requires a
/// token.
#[derive(async_graphql::MergedObject, Default)]
pub struct QueryRoot(
    query::CoreQuery,
    tracker::TrackerQuery,
    snapshot::SnapshotQuery,
    assess::AssessQuery,
);

/// The write side of the API: authenticated, validated, audited, durable.
#[derive(async_graphql::MergedObject, Default)]
pub struct MutationRoot(mutation::CoreMutation, tracker::TrackerMutation);
pub use subscription::SubscriptionRoot;

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Query limits, which async-graphql leaves off.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of fields.
    pub depth: usize,
    /// Largest complexity: one per field, connections' children times their page size, list
    /// fields' children times [`connection::LIST_COST`] (see [`cost`]).
    pub complexity: usize,
    /// Most directives on one field.
    pub directives: usize,
    /// Most selections a document may expand to with its fragments spread in place.
    pub selections: usize,
    /// Longest a query may run; a mutation, once started, runs to its end.
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            depth: 16,
            complexity: 50_000,
            directives: 8,
            selections: 10_000,
            deadline: Duration::from_secs(10),
        }
    }
}

/// The schema over a live store. Requests may carry an [`object::Snapshot`] (what the
/// server gives each HTTP request) and an [`auth::Principal`]. Served through [`Api`], which
/// prices every request before the schema sees it.
pub fn schema(live: Arc<Live>, limits: Limits) -> AppSchema {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .data(live)
    .limit_depth(limits.depth)
    .limit_complexity(limits.complexity)
    .limit_directives(limits.directives)
    .limit_recursive_depth(cost::MAX_NESTING)
    .finish()
}

/// The schema over a live store as the server runs it: [`schema`] behind [`Api`].
pub fn api(live: Arc<Live>, limits: Limits) -> Api {
    Api::new(schema(live, limits), limits)
}

/// The schema as the server runs it (HTTP and WebSocket):
/// - every request is parsed once and priced ([`cost::measure`]) before async-graphql
///   analyses it, so no document can make that analysis run long; one over the [`Limits`]
///   is refused with `QUERY_LIMIT_EXCEEDED`;
/// - every response carries `extensions.cost`: the query's complexity, depth and
///   selections, and the limits;
/// - a query runs against [`Limits::deadline`] (`QUERY_TIMEOUT` when it passes; heavy fields
///   see it as [`cost::Deadline`]);
/// - a batch has one budget and one deadline for all of its items ([`Api::execute_batch`]);
/// - every error gets a stable `extensions.code` (see [`errors::classify_all`]).
///
/// All of it is done here, on the request and the response, rather than by schema
/// extensions: with any extension installed, async-graphql routes every field and list item
/// through the extension chain, which costs about a third of a facet-heavy query's time.
#[derive(Clone)]
pub struct Api {
    schema: AppSchema,
    limits: Limits,
    prices: Arc<cost::Prices>,
}

/// A request that passed its price check.
struct Priced {
    cost: cost::Cost,
    /// Only queries are stopped at the deadline: a mutation stopped half-way could have
    /// written what its client is told failed.
    query: bool,
}

impl Api {
    /// `limits` should be the ones `schema` was built with (they are its second line).
    pub fn new(schema: AppSchema, limits: Limits) -> Api {
        Api {
            schema,
            limits,
            prices: Arc::new(cost::Prices::of_schema()),
        }
    }

    pub fn schema(&self) -> &AppSchema {
        &self.schema
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Parses the request (the document stays in it: async-graphql does not parse it again)
    /// and prices it; a refusal is the response to send.
    fn price(&self, request: &mut Request) -> Result<Priced, Box<Response>> {
        let variables = std::mem::take(&mut request.variables);
        let operation_name = request.operation_name.clone();
        let priced = match request.parsed_query() {
            Err(e) => Err(refusal(e, None, &self.limits)),
            Ok(doc) => {
                match cost::measure(doc, operation_name.as_deref(), &variables, &self.prices) {
                    Err(e) => Err(refusal(e, None, &self.limits)),
                    Ok(c) => match cost::check(&c, &self.limits) {
                        Err(e) => Err(refusal(e, Some(&c), &self.limits)),
                        Ok(()) => Ok(Priced {
                            cost: c,
                            query: cost::operation(doc, operation_name.as_deref())
                                .is_some_and(|op| op.ty == OperationType::Query),
                        }),
                    },
                }
            }
        };
        request.variables = variables;
        priced.map_err(Box::new)
    }

    /// Runs a priced request against `deadline`.
    async fn run(&self, request: Request, priced: Priced, deadline: cost::Deadline) -> Response {
        let request = request.data(deadline);
        let mut response = if !priced.query {
            self.schema.execute(request).await
        } else if Instant::now() >= deadline.at {
            Response::from_errors(vec![timeout_error(deadline.allowed)])
        } else {
            tokio::time::timeout_at(deadline.at.into(), self.schema.execute(request))
                .await
                .unwrap_or_else(|_| Response::from_errors(vec![timeout_error(deadline.allowed)]))
        };
        errors::classify_all(&mut response);
        response
            .extensions
            .insert("cost".into(), priced.cost.extension(&self.limits));
        response
    }

    /// Runs a batch with one budget and one deadline for all of its items: every item is
    /// priced first; an item that does not fit in what the items before it left of the
    /// limits is refused (`QUERY_LIMIT_EXCEEDED`), and so is every item after it, so a batch
    /// can never do more than one query of the largest allowed cost. The items run one after
    /// the other, in order.
    pub async fn execute_batch(&self, batch: BatchRequest) -> BatchResponse {
        let items = match batch {
            BatchRequest::Single(request) => {
                return BatchResponse::Single(async_graphql::Executor::execute(self, request).await)
            }
            BatchRequest::Batch(items) => items,
        };
        let deadline = cost::Deadline::after(self.limits.deadline);
        let mut spent = cost::Cost::default();
        let mut over = false;
        let mut plan = Vec::with_capacity(items.len());
        for mut request in items {
            if over {
                plan.push(Err(over_budget(&self.limits)));
                continue;
            }
            match self.price(&mut request) {
                Err(response) => plan.push(Err(*response)),
                Ok(priced) => {
                    let together = spent.plus(priced.cost);
                    match cost::check_batch(&together, &self.limits) {
                        Ok(()) => {
                            spent = together;
                            plan.push(Ok((request, priced)));
                        }
                        Err(e) => {
                            over = true;
                            plan.push(Err(refusal(e, Some(&together), &self.limits)));
                        }
                    }
                }
            }
        }
        let mut responses = Vec::with_capacity(plan.len());
        for item in plan {
            responses.push(match item {
                Ok((request, priced)) => self.run(request, priced, deadline).await,
                Err(response) => response,
            });
        }
        BatchResponse::Batch(responses)
    }
}

/// The response of a request refused before it ran.
fn refusal(error: ServerError, cost: Option<&cost::Cost>, limits: &Limits) -> Response {
    let mut response = Response::from_errors(vec![error]);
    errors::classify_all(&mut response);
    if let Some(c) = cost {
        response
            .extensions
            .insert("cost".into(), c.extension(limits));
    }
    response
}

/// An item after the one that exhausted its batch's budget.
fn over_budget(limits: &Limits) -> Response {
    refusal(cost::batch_exhausted(), None, limits)
}

fn timeout_error(allowed: Duration) -> ServerError {
    let mut e = cost::timed_out(allowed).into_server_error(async_graphql::Pos::default());
    e.locations.clear(); // not an error of the query's text
    e
}

impl async_graphql::Executor for Api {
    async fn execute(&self, mut request: Request) -> Response {
        let deadline = cost::Deadline::after(self.limits.deadline);
        match self.price(&mut request) {
            Ok(priced) => self.run(request, priced, deadline).await,
            Err(response) => *response,
        }
    }

    async fn execute_batch(&self, batch: BatchRequest) -> BatchResponse {
        Api::execute_batch(self, batch).await
    }

    fn execute_stream(
        &self,
        mut request: Request,
        session_data: Option<Arc<async_graphql::Data>>,
    ) -> futures_util::stream::BoxStream<'static, Response> {
        use futures_util::StreamExt;
        let priced = match self.price(&mut request) {
            Ok(priced) => priced,
            Err(response) => return futures_util::stream::once(async { *response }).boxed(),
        };
        let cost = priced.cost.extension(&self.limits);
        let finish = move |mut response: Response| {
            errors::classify_all(&mut response);
            response.extensions.insert("cost".into(), cost.clone());
            response
        };
        let session_data = session_data.unwrap_or_default();
        if !priced.query {
            // No deadline: a subscription lives as long as its client wants (its heavy
            // fields get one of their own per event, see `cost::Deadline::of`), and a
            // mutation runs to its end.
            return self
                .schema
                .execute_stream_with_session_data(request, session_data)
                .map(finish)
                .boxed();
        }
        // A query over WebSocket: one response, by its deadline.
        let deadline = cost::Deadline::after(self.limits.deadline);
        let stream = self
            .schema
            .execute_stream_with_session_data(request.data(deadline), session_data);
        let answer = async move {
            match tokio::time::timeout_at(deadline.at.into(), stream.into_future()).await {
                Ok((Some(response), _)) => response,
                Ok((None, _)) => Response::default(),
                Err(_) => Response::from_errors(vec![timeout_error(deadline.allowed)]),
            }
        };
        futures_util::stream::once(answer).map(finish).boxed()
    }
}

/// The schema in SDL, as committed in `schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .finish()
    .sdl()
}
