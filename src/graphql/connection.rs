//! Relay connections: `edges { cursor node }`, `nodes`, `pageInfo`, and `totalCount` of the
//! whole filtered set. Cursors are opaque; `first` defaults to 20 and may not exceed 500.

use async_graphql::{Result, SimpleObject};

use super::errors::bad_input;
use super::ids::{decode_cursor, encode_cursor};
use crate::catalog::{Page, PageRequest};

/// The largest page a client may ask for.
pub const MAX_PAGE: i32 = 500;
/// The page size when neither `first` nor `last` is given.
pub const DEFAULT_PAGE: usize = 20;

/// Where a page sits in the whole list.
#[derive(SimpleObject, Debug, Clone)]
pub struct PageInfo {
    /// Whether items follow the last edge of this page.
    pub has_next_page: bool,
    /// Whether items precede the first edge of this page.
    pub has_previous_page: bool,
    /// The cursor of the first edge, if any.
    pub start_cursor: Option<String>,
    /// The cursor of the last edge, if any.
    pub end_cursor: Option<String>,
}

/// What one item of a list field of unknown length counts for in a query's complexity.
pub const LIST_COST: usize = 10;

/// The complexity of a connection field (or of another list with a `first` argument, such as
/// suggestions): its children times the page size asked for (or the default), so a limit on
/// complexity bounds the number of objects a query can resolve. A field with a `first`
/// argument is priced by it (see `graphql::cost::Prices::of`).
pub fn page_cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
    let size = first
        .or(last)
        .unwrap_or(DEFAULT_PAGE as i32)
        .clamp(1, MAX_PAGE) as usize;
    size.saturating_mul(child_complexity).saturating_add(1)
}

/// Checks and decodes the four pagination arguments.
pub fn page_request(
    first: Option<i32>,
    after: Option<String>,
    last: Option<i32>,
    before: Option<String>,
) -> Result<PageRequest> {
    let size = |name: &str, v: Option<i32>| -> Result<Option<usize>> {
        match v {
            None => Ok(None),
            Some(n) if n < 0 => Err(bad_input(name, format!("must not be negative, got {n}"))),
            Some(n) if n > MAX_PAGE => Err(bad_input(
                name,
                format!("at most {MAX_PAGE} items per page, got {n}"),
            )),
            Some(n) => Ok(Some(n as usize)),
        }
    };
    let cursor = |name: &str, c: Option<String>| -> Result<Option<String>> {
        c.map(|c| {
            decode_cursor(&c)
                .ok_or_else(|| bad_input(name, format!("{c:?} is not a cursor of this API")))
        })
        .transpose()
    };
    let mut req = PageRequest {
        first: size("first", first)?,
        last: size("last", last)?,
        after: cursor("after", after)?,
        before: cursor("before", before)?,
    };
    if req.first.is_none() && req.last.is_none() {
        req.first = Some(DEFAULT_PAGE);
    }
    Ok(req)
}

/// An edge's cursor: encoded when the edge was made, or encoded from the item's natural key
/// only if a query asks for it (most pages are read through `nodes`, and encoding every
/// cursor cost two allocations per item).
pub enum Cursor {
    Encoded(String),
    Key(String),
}

impl From<String> for Cursor {
    fn from(encoded: String) -> Cursor {
        Cursor::Encoded(encoded)
    }
}

impl Cursor {
    pub fn encode(&self) -> String {
        match self {
            Cursor::Encoded(c) => c.clone(),
            Cursor::Key(k) => encode_cursor(k),
        }
    }
}

/// The edges of a page as (cursor, node) and its page info.
pub fn edges<T, N>(page: Page<T>, node: impl Fn(T) -> Option<N>) -> (Vec<(Cursor, N)>, PageInfo) {
    let edges: Vec<(Cursor, N)> = page
        .items
        .into_iter()
        .filter_map(|(key, item)| node(item).map(|n| (Cursor::Key(key), n)))
        .collect();
    let info = PageInfo {
        has_next_page: page.has_next,
        has_previous_page: page.has_previous,
        start_cursor: edges.first().map(|(c, _)| c.encode()),
        end_cursor: edges.last().map(|(c, _)| c.encode()),
    };
    (edges, info)
}

/// Declares `$conn` and `$edge` for node type `$node`, with any extra resolvers of the
/// connection given after the names.
macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty, $what:literal $(, $($extra:tt)*)?) => {
        #[doc = concat!("An edge to one ", $what, ".")]
        pub struct $edge {
            pub cursor: $crate::graphql::connection::Cursor,
            pub node: $node,
        }

        #[doc = concat!("An edge to one ", $what, ".")]
        #[async_graphql::Object(serial)]
        impl $edge {
            /// An opaque cursor for `after` or `before`.
            async fn cursor(&self) -> String {
                self.cursor.encode()
            }
            #[doc = concat!("The ", $what, ".")]
            async fn node(&self) -> &$node {
                &self.node
            }
        }

        #[doc = concat!("A page of ", $what, "s.")]
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub page_info: $crate::graphql::connection::PageInfo,
            pub total_count: u64,
            #[allow(dead_code)]
            pub set: std::sync::Arc<roaring::RoaringBitmap>,
        }

        impl $conn {
            pub fn new<C: Into<$crate::graphql::connection::Cursor>>(
                edges: Vec<(C, $node)>,
                page_info: $crate::graphql::connection::PageInfo,
                total_count: u64,
                set: std::sync::Arc<roaring::RoaringBitmap>,
            ) -> Self {
                $conn {
                    edges: edges
                        .into_iter()
                        .map(|(cursor, node)| $edge { cursor: cursor.into(), node })
                        .collect(),
                    page_info,
                    total_count,
                    set,
                }
            }
        }

        #[doc = concat!("A page of ", $what, "s.")]
        #[async_graphql::Object(serial)]
        impl $conn {
            /// The edges of this page.
            async fn edges(&self) -> &[$edge] {
                &self.edges
            }
            /// The nodes of this page, without cursors.
            async fn nodes(&self) -> Vec<&$node> {
                self.edges.iter().map(|e| &e.node).collect()
            }
            /// Where this page sits in the whole list.
            async fn page_info(&self) -> &$crate::graphql::connection::PageInfo {
                &self.page_info
            }
            /// How many items match the filter, over all pages.
            async fn total_count(&self) -> u64 {
                self.total_count
            }
            $($($extra)*)?
        }
    };
}
pub(crate) use connection;
