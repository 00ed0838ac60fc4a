//! Facet lists, resolved without a future per field.
//!
//! A dashboard's facets are hundreds of `{ value count }` objects; async-graphql resolves each
//! field of each object as its own future, which costs more than counting them. [`Facets`] is
//! `[FacetCount!]!` in the schema (registered through `FacetCount`'s own derive) and, for the
//! usual selection (plain `value`, `count` and `__typename` fields, aliases allowed), builds the
//! response directly; any other selection (fragments, directives) goes the general way.

use std::borrow::Cow;

use async_graphql::parser::types::{Field, Selection};
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{
    registry, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, SimpleObject, Value,
};

/// One value of a facet and how many items of the filtered set have it.
#[derive(SimpleObject, Clone, Debug)]
pub struct FacetCount {
    /// The value: an enum name, a slug, a number or an ISO code, as the facet says.
    pub value: String,
    /// How many items of the filtered set have the value.
    pub count: u64,
}

/// The counts of one facet, most frequent first.
#[derive(Clone, Debug, Default)]
pub struct Facets(pub Vec<FacetCount>);

enum Part {
    Value,
    Count,
    Typename,
}

impl OutputType for Facets {
    fn type_name() -> Cow<'static, str> {
        <Vec<FacetCount> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<FacetCount> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut registry::Registry) -> String {
        <Vec<FacetCount> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let mut plan: Vec<(Name, Part)> = vec![];
        for s in &ctx.item.node.items {
            let Selection::Field(f) = &s.node else {
                return resolve_list(ctx, field, &self.0, Some(self.0.len())).await;
            };
            let f = &f.node;
            let part = match f.name.node.as_str() {
                "value" => Part::Value,
                "count" => Part::Count,
                "__typename" => Part::Typename,
                _ => return resolve_list(ctx, field, &self.0, Some(self.0.len())).await,
            };
            if !f.directives.is_empty() || !f.arguments.is_empty() {
                return resolve_list(ctx, field, &self.0, Some(self.0.len())).await;
            }
            plan.push((f.response_key().node.clone(), part));
        }
        let typename = Value::String("FacetCount".into());
        Ok(Value::List(
            self.0
                .iter()
                .map(|f| {
                    Value::Object(
                        plan.iter()
                            .map(|(key, part)| {
                                let v = match part {
                                    Part::Value => Value::String(f.value.clone()),
                                    Part::Count => Value::Number(f.count.into()),
                                    Part::Typename => typename.clone(),
                                };
                                (key.clone(), v)
                            })
                            .collect(),
                    )
                })
                .collect(),
        ))
    }
}
