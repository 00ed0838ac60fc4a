//! The GraphQL API over real HTTP: every root field, every filter against brute force over the
//! dataset files, pagination, facets, relations, global ids, search, errors and limits, the
//! absence of N+1 reads, and the HTTP routes. Two shared servers (the default dataset and a
//! tiny generated one) serve most tests; a few tests start their own.

mod assess;
mod brute;
mod downloads;
mod errors;
mod facets;
mod filters;
mod helpers;
mod http;
mod n_plus_one;
mod nodes;
mod pagination;
mod relations;
mod roots;
mod search;
mod snapshot;
mod tracker;
