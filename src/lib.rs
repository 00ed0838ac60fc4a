//! Recover Better: a GraphQL API that links the recommendations States receive in the UN
//! Universal Periodic Review to the COVID-19 measures they took and to good practices.
//!
//! # Layout
//! Dependencies run one way: `model` ← `store` ← `catalog` ← `live` ← `graphql` ← `server`;
//! `dataset` uses `model` and `store`.
//! - [`model`]: domain types and validated identifiers; no storage, no GraphQL.
//! - [`assess`]: the automatic, explained assessment of a recommendation (action category,
//!   themes, groups, SMART), from tables and rules kept as data.
//! - [`store`]: the sled store, its key layouts, record codec, index maintenance and integrity
//!   check.
//! - [`catalog`]: the in-memory read model the API queries: records, posting lists as
//!   bitmaps, natural-key order, full-text indexes.
//! - [`live`]: a running server's state: the store, the snapshot queries read, writes that
//!   keep both in step, and the stream of committed changes.
//! - [`dataset`]: the JSON Lines interchange format: import, export, the embedded default
//!   dataset and the synthetic generator.

pub mod assess;
pub mod catalog;
pub mod dataset;
pub mod graphql;
pub mod live;
pub mod model;
pub mod server;
pub mod store;
