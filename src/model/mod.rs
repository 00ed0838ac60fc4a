//! Domain types: validated identifiers, enums and the entities of DOMAIN.md.
//! No storage, no GraphQL: every other layer depends on this one.

mod entities;
mod enums;
mod ids;

pub use entities::*;
pub use enums::*;
pub use ids::*;
