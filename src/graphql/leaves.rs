//! Small objects at the leaves of a query, resolved without a future per field.
//!
//! A page of recommendations with their States asks for `recommendingStates { name }` once
//! per item; async-graphql resolves each field of each of those objects as its own future,
//! which costs more than reading the name. [`Leaves`] is `[T!]!` in the schema (its type
//! information is `Vec<T>`'s) and, when every selected field is a plain field that
//! [`Plain::plain`] answers (no arguments, no directives, no fragments; aliases allowed), builds
//! the objects directly; any other selection goes the general way, so answers never differ.

use std::borrow::Cow;

use async_graphql::parser::types::{Field, Selection};
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{
    registry, ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value,
};

/// An object whose scalar fields can be read without a context.
pub trait Plain: OutputType {
    /// The value of field `name` as the object's resolver would give it, or `None` when the
    /// field is not a plain one (it takes a context, arguments, or has a selection).
    fn plain(&self, name: &str) -> Option<Value>;
}

/// A list of leaf objects (see the module's documentation).
pub struct Leaves<T>(pub Vec<T>);

impl<T: Plain + Sync> OutputType for Leaves<T> {
    fn type_name() -> Cow<'static, str> {
        <Vec<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut registry::Registry) -> String {
        <Vec<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let direct = plan(ctx).and_then(|plan| {
            self.0
                .iter()
                .map(|item| object(&plan, item))
                .collect::<Option<Vec<Value>>>()
        });
        match direct {
            Some(items) => Ok(Value::List(items)),
            None => resolve_list(ctx, field, &self.0, Some(self.0.len())).await,
        }
    }
}

/// A nullable leaf object (see the module's documentation).
pub struct Leaf<T>(pub Option<T>);

impl<T: Plain + Sync> OutputType for Leaf<T> {
    fn type_name() -> Cow<'static, str> {
        <Option<T> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Option<T> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut registry::Registry) -> String {
        <Option<T> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        let Some(item) = &self.0 else {
            return Ok(Value::Null);
        };
        match plan(ctx).and_then(|plan| object(&plan, item)) {
            Some(value) => Ok(value),
            None => OutputType::resolve(&self.0, ctx, field).await,
        }
    }
}

/// The response keys and field names of a selection made only of fields without
/// arguments, directives or selections of their own; `None` for any other selection.
fn plan(ctx: &ContextSelectionSet<'_>) -> Option<Vec<(Name, Name)>> {
    let mut plan = Vec::with_capacity(ctx.item.node.items.len());
    for s in &ctx.item.node.items {
        let Selection::Field(f) = &s.node else {
            return None;
        };
        let f = &f.node;
        if !f.directives.is_empty()
            || !f.arguments.is_empty()
            || !f.selection_set.node.items.is_empty()
        {
            return None;
        }
        plan.push((f.response_key().node.clone(), f.name.node.clone()));
    }
    Some(plan)
}

/// One object by the plan; `None` if a field is not one [`Plain::plain`] answers.
fn object<T: Plain>(plan: &[(Name, Name)], item: &T) -> Option<Value> {
    let mut fields = async_graphql::indexmap::IndexMap::with_capacity(plan.len());
    for (key, name) in plan {
        let value = if name.as_str() == "__typename" {
            Value::String(T::type_name().into_owned())
        } else {
            item.plain(name.as_str())?
        };
        fields.insert(key.clone(), value);
    }
    Some(Value::Object(fields))
}
