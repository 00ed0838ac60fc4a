//! Hostile but fair clients: each test is one way a client could take the server down, make
//! it lie, or get past its limits, kept as a regression test. The server must refuse the
//! request (with a clear code), stay responsive for everyone else, and keep its promises.

#[path = "../common/mod.rs"]
mod common;

#[path = "../workflow/harness.rs"]
mod harness;

mod http_edge;
mod operations;
mod query_cost;
mod websocket;
mod writes;
