//! Recover Better: a GraphQL API that links the recommendations States receive in the UN
//! Universal Periodic Review to the COVID-19 measures they took and to good practices.
//!
//! # Layout
//! Dependencies run one way: `model` ← `store` ← `dataset`.
//! - [`model`]: domain types and validated identifiers; no storage, no GraphQL.
//! - [`store`]: the sled store, its key layouts, record codec, index maintenance and integrity
//!   check.
//! - [`dataset`]: the JSON Lines interchange format: import, export, the embedded default
//!   dataset and the synthetic generator.

pub mod dataset;
pub mod model;
pub mod store;
