//! Domain types: validated identifiers, enums and the entities of DOMAIN.md, the size limits
//! of their texts and lists, and the typed refusals their validation gives.
//! No storage, no GraphQL: every other layer depends on this one.

mod entities;
mod enums;
mod ids;
pub mod limits;
mod refusal;

pub use entities::*;
pub use enums::*;
pub use ids::*;
pub use refusal::*;
