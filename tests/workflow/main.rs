//! The linking workflow over real HTTP and WebSocket: the auth matrix, mutations and their
//! validation, cascades, history, optimistic concurrency, subscriptions, the catalog kept in
//! step with every write, and concurrent editors.

#[path = "../common/mod.rs"]
mod common;

mod assess;
mod auth;
mod concurrency;
mod harness;
mod history;
mod mutations;
#[cfg(feature = "etcd")]
mod replicas;
mod snapshot;
mod subscriptions;
mod suggestions;
mod tracker;
