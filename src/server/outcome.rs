//! What the GraphQL handler learned about a request, handed to the layers around it (metrics,
//! logs) through the response's extensions, so those layers never parse bodies.

/// Attached by the GraphQL handlers to their `http::Response` extensions.
#[derive(Debug, Clone, Default)]
pub struct GraphqlOutcome {
    /// The operation name (the request's `operationName`, or the single operation's name);
    /// `None` for anonymous operations and requests that could not be read.
    pub operation: Option<String>,
    /// The distinct `extensions.code` values of the response's errors, in order of first
    /// appearance; empty when the response has no errors.
    pub codes: Vec<String>,
    /// How many operations the request carried (a batch carries several).
    pub operations: usize,
}
