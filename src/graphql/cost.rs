//! What a query costs, measured on its parsed document before anything else walks it, and
//! the deadline every query runs against.
//!
//! async-graphql checks a document's nesting, depth and complexity by walking it with every
//! fragment spread expanded in place: twelve fragments that each spread the previous one ten
//! times make a 1 KB query that expands to 10^12 fields, and those walks would run for hours
//! on a request thread before refusing it. [`measure`] walks the document once and each
//! fragment once (a fragment's cost is remembered and reused at every spread), so its work is
//! linear in the size of the document. It refuses a fragment that spreads itself, directly
//! or through others (`GRAPHQL_VALIDATION_FAILED`), and selections nested more than
//! [`MAX_NESTING`] levels; [`check`] then holds the [`Cost`] against the [`Limits`]
//! (`QUERY_LIMIT_EXCEEDED`): complexity, depth, and the number of selections the document
//! expands to (which bounds every walk that follows, async-graphql's included).
//!
//! The complexity is async-graphql's, computed the same way so that its own check, kept as a
//! second line, agrees: a field costs 1 plus its children; a connection
//! ([`connection::page_cost`]) its children times its page size (`first` or `last`, from the
//! query or its variables); a list its children times [`connection::LIST_COST`];
//! `nodes(ids:)` its children times the number of ids; `__typename` nothing. Which fields
//! multiply is read once from the schema's `complexity` attributes ([`Prices`]). Two
//! differences, both stricter: the lists of introspection (`types`, `fields`, `args`,
//! `enumValues`, `interfaces`, `possibleTypes`, `inputFields`, `directives`) cost their
//! children times their length as the schema knows it (all of its types for `types`, the
//! average per type or per field for the others), where async-graphql counts each field
//! once (and `ofType` past the deepest wrapping of the schema's types is null, so what it
//! selects costs nothing); and a named fragment is priced as the type it is declared on, where async-graphql
//! prices it as the type it is spread into (an interface, whose fields never multiply).
//!
//! [`connection::page_cost`]: super::connection::page_cost
//! [`connection::LIST_COST`]: super::connection::LIST_COST

use rustc_hash::FxHashMap;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use async_graphql::parser::types::{
    DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType, Selection,
    SelectionSet,
};
use async_graphql::registry::{MetaType, MetaTypeName, Registry};
use async_graphql::{
    Context, ErrorExtensions, Name, OutputType, Positioned, ServerError, SubscriptionType,
    Value as ConstValue, Variables,
};

use super::connection::{page_cost, LIST_COST};
use super::Limits;
use crate::catalog::suggest::TimedOut;

/// How many levels selections may nest, fragment spreads and inline fragments counting as
/// levels (the limit of async-graphql's own recursion check, which the schema sets to it).
pub const MAX_NESTING: usize = 64;

/// What a document costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cost {
    /// async-graphql's complexity (see the module documentation), saturating.
    pub complexity: usize,
    /// The longest chain of nested fields (a leaf at the root is 1; fragments add none).
    pub depth: usize,
    /// How many selections (fields, fragment spreads, inline fragments) the document
    /// expands to with every fragment spread in place, saturating.
    pub selections: usize,
}

impl Cost {
    /// Two documents' (or two selections') costs together: complexities and selections
    /// add up, the deeper depth counts.
    pub fn plus(self, other: Cost) -> Cost {
        Cost {
            complexity: self.complexity.saturating_add(other.complexity),
            depth: self.depth.max(other.depth),
            selections: self.selections.saturating_add(other.selections),
        }
    }

    /// `extensions.cost` of a response: the numbers and the limits they are held against.
    pub fn extension(&self, limits: &Limits) -> ConstValue {
        // Names are reference-counted strings: made once per thread, cloned per response.
        // Per thread, because a count that every core increments for every response is a
        // cache line the cores pass back and forth (benches/README, the framework floor).
        thread_local! {
            static KEYS: [Name; 6] = [
                "complexity",
                "depth",
                "selections",
                "maxComplexity",
                "maxDepth",
                "maxSelections",
            ]
            .map(Name::new);
        }
        let values = [
            self.complexity,
            self.depth,
            self.selections,
            limits.complexity,
            limits.depth,
            limits.selections,
        ];
        KEYS.with(|keys| {
            ConstValue::Object(
                keys.iter()
                    .zip(values)
                    .map(|(k, v)| (k.clone(), ConstValue::from(v as u64)))
                    .collect(),
            )
        })
    }
}

/// How a field's complexity follows from its children's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    /// 1 + children.
    One,
    /// `LIST_COST` × children + 1.
    List,
    /// `page_cost(first, last, children)`.
    Page,
    /// n × children + 1: an introspection list, whose length the schema knows.
    Times(usize),
    /// number of `ids` × children + 1.
    Ids,
}

#[derive(Debug, Clone)]
struct FieldPrice {
    /// The named type the field returns.
    of: String,
    rule: Rule,
}

/// How every field of the schema is priced, read once from its type registry.
pub struct Prices {
    types: FxHashMap<String, FxHashMap<String, FieldPrice>>,
    query: String,
    mutation: Option<String>,
    subscription: Option<String>,
}

impl Prices {
    /// The prices of the schema served by [`super::schema`].
    pub fn of_schema() -> Prices {
        let mut registry = Registry {
            types: Default::default(),
            directives: Default::default(),
            implements: Default::default(),
            query_type: <super::QueryRoot as OutputType>::type_name().into_owned(),
            mutation_type: Some(<super::MutationRoot as OutputType>::type_name().into_owned()),
            subscription_type: Some(
                <super::SubscriptionRoot as SubscriptionType>::type_name().into_owned(),
            ),
            introspection_mode: async_graphql::IntrospectionMode::Enabled,
            enable_federation: false,
            federation_subscription: false,
            ignore_name_conflicts: Default::default(),
            enable_suggestions: false,
        };
        <super::QueryRoot as OutputType>::create_type_info(&mut registry);
        <super::MutationRoot as OutputType>::create_type_info(&mut registry);
        <super::SubscriptionRoot as SubscriptionType>::create_type_info(&mut registry);
        Prices::of(&registry)
    }

    /// The prices of the types in `registry`: a field of an object type with a `complexity`
    /// attribute multiplies its children by its page size when it has a `first` argument, by
    /// the number of its `ids` when it has that argument, and by `LIST_COST` otherwise. (The
    /// attributes' expressions are compiled into the schema and cannot be read back; a test
    /// checks that these rules give the complexities async-graphql computes.) Fields of
    /// interfaces never multiply: async-graphql prices only objects' fields.
    pub fn of(registry: &Registry) -> Prices {
        let mut types: FxHashMap<String, FxHashMap<String, FieldPrice>> = FxHashMap::default();
        for (name, ty) in &registry.types {
            let (fields, priced) = match ty {
                MetaType::Object { fields, .. } => (fields, true),
                MetaType::Interface { fields, .. } => (fields, false),
                _ => continue,
            };
            let fields = fields
                .iter()
                .map(|(field, meta)| {
                    let rule = if !priced || meta.compute_complexity.is_none() {
                        Rule::One
                    } else if meta.args.contains_key("first") {
                        Rule::Page
                    } else if meta.args.contains_key("ids") {
                        Rule::Ids
                    } else {
                        Rule::List
                    };
                    let of = MetaTypeName::concrete_typename(&meta.ty).to_owned();
                    (field.clone(), FieldPrice { of, rule })
                })
                .collect();
            types.insert(name.clone(), fields);
        }
        for (ty, fields) in introspection(registry) {
            let entry = types.entry(ty.to_owned()).or_default();
            for (field, of, rule) in fields {
                entry.insert(
                    field.to_owned(),
                    FieldPrice {
                        of: of.to_owned(),
                        rule,
                    },
                );
            }
        }
        of_type_chain(registry, &mut types);
        let query = registry.query_type.clone();
        let root = types.entry(query.clone()).or_default();
        for (field, of) in [("__schema", "__Schema"), ("__type", "__Type")] {
            root.insert(
                field.to_owned(),
                FieldPrice {
                    of: of.to_owned(),
                    rule: Rule::One,
                },
            );
        }
        Prices {
            types,
            query,
            mutation: registry.mutation_type.clone(),
            subscription: registry.subscription_type.clone(),
        }
    }

    fn field(&self, ty: &str, field: &str) -> Option<&FieldPrice> {
        self.types.get(ty)?.get(field)
    }

    fn root(&self, ty: OperationType) -> Option<&str> {
        match ty {
            OperationType::Query => Some(&self.query),
            OperationType::Mutation => self.mutation.as_deref(),
            OperationType::Subscription => self.subscription.as_deref(),
        }
    }
}

/// The prices of the introspection types' fields that return objects (leaves need none),
/// as the GraphQL specification defines them. Their lists count as many items as the
/// schema has: `types` all of its types, and the lists of one type or field as many as a
/// type or a field has on average (rounded up), so that the standard introspection query
/// (every field of every type, with their arguments) is priced at about the number of
/// objects it returns, and so is every repetition of it.
fn introspection(registry: &Registry) -> Vec<(&'static str, IntrospectionFields)> {
    // The eight introspection types are not in the registry.
    let types = registry.types.len() + 8;
    let (mut fields, mut args, mut values, mut inputs, mut possible) = (0, 0, 0, 0, 0);
    for ty in registry.types.values() {
        match ty {
            MetaType::Object { fields: f, .. } => {
                fields += f.len();
                args += f.values().map(|f| f.args.len()).sum::<usize>();
            }
            MetaType::Interface {
                fields: f,
                possible_types,
                ..
            } => {
                fields += f.len();
                args += f.values().map(|f| f.args.len()).sum::<usize>();
                possible += possible_types.len();
            }
            MetaType::Union { possible_types, .. } => possible += possible_types.len(),
            MetaType::Enum { enum_values, .. } => values += enum_values.len(),
            MetaType::InputObject { input_fields, .. } => inputs += input_fields.len(),
            MetaType::Scalar { .. } => {}
        }
    }
    let interfaces: usize = registry.implements.values().map(|i| i.len()).sum();
    let per = |n: usize, of: usize| Rule::Times(n.div_ceil(of.max(1)).max(1));
    // skip, include, deprecated, specifiedBy, oneOf, and the schema's own.
    let directives = Rule::Times(registry.directives.len() + 5);
    vec![
        (
            "__Schema",
            vec![
                ("types", "__Type", Rule::Times(types)),
                ("queryType", "__Type", Rule::One),
                ("mutationType", "__Type", Rule::One),
                ("subscriptionType", "__Type", Rule::One),
                ("directives", "__Directive", directives),
            ],
        ),
        (
            "__Type",
            vec![
                ("fields", "__Field", per(fields, types)),
                ("interfaces", "__Type", per(interfaces, types)),
                ("possibleTypes", "__Type", per(possible, types)),
                ("enumValues", "__EnumValue", per(values, types)),
                ("inputFields", "__InputValue", per(inputs, types)),
                ("ofType", "__Type", Rule::One),
            ],
        ),
        (
            "__Field",
            vec![
                ("args", "__InputValue", per(args, fields)),
                ("type", "__Type", Rule::One),
            ],
        ),
        ("__InputValue", vec![("type", "__Type", Rule::One)]),
        (
            "__Directive",
            vec![
                ("args", "__InputValue", per(args, fields)),
                ("locations", "__DirectiveLocation", Rule::One),
            ],
        ),
    ]
}

/// An introspection type's fields that return objects: (field, type, price).
type IntrospectionFields = Vec<(&'static str, &'static str, Rule)>;

/// What `ofType` returns past the deepest wrapping of the schema's types: always null.
const NULL_TYPE: &str = "__Type/null";

/// `__Type.ofType` unwraps a list or non-null type one level; past the deepest wrapping in
/// the schema (3 for `[Theme!]!`) it is null, however deep a query asks (GraphiQL asks 9
/// levels deep). So `__Type` reached through `ofType` k times is priced as `__Type/k`, and
/// past the deepest wrapping as [`NULL_TYPE`], whose selections cost nothing.
fn of_type_chain(
    registry: &Registry,
    types: &mut FxHashMap<String, FxHashMap<String, FieldPrice>>,
) {
    let wrappers = |ty: &str| ty.chars().filter(|&c| c == '[' || c == '!').count();
    let mut deepest = 3; // the introspection types' own, e.g. `[__Type!]!`
    for ty in registry.types.values() {
        match ty {
            MetaType::Object { fields, .. } | MetaType::Interface { fields, .. } => {
                for f in fields.values() {
                    deepest = deepest.max(wrappers(&f.ty));
                    for a in f.args.values() {
                        deepest = deepest.max(wrappers(&a.ty));
                    }
                }
            }
            MetaType::InputObject { input_fields, .. } => {
                for f in input_fields.values() {
                    deepest = deepest.max(wrappers(&f.ty));
                }
            }
            _ => {}
        }
    }
    let Some(fields) = types.get("__Type").cloned() else {
        return;
    };
    let level = |k: usize| {
        if k > deepest {
            NULL_TYPE.to_owned()
        } else {
            format!("__Type/{k}")
        }
    };
    for k in 0..=deepest {
        let mut fields = fields.clone();
        if let Some(of_type) = fields.get_mut("ofType") {
            of_type.of = level(k + 1);
        }
        let name = if k == 0 {
            "__Type".to_owned()
        } else {
            level(k)
        };
        types.insert(name, fields);
    }
}

/// The operation a request runs: the one named `name`, or the only one.
pub fn operation<'d>(
    doc: &'d ExecutableDocument,
    name: Option<&str>,
) -> Option<&'d OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, op)| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            ops.values().next().map(|op| &op.node)
        }
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The cost of every operation of `doc` together (async-graphql validates them all; it runs
/// the one named `operation`, whose variable defaults apply where `variables` has no value),
/// or why the document cannot be priced: a fragment cycle, or nesting past [`MAX_NESTING`].
pub fn measure(
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
    prices: &Prices,
) -> Result<Cost, ServerError> {
    let mut values: FxHashMap<&str, &ConstValue> =
        variables.iter().map(|(k, v)| (k.as_str(), v)).collect();
    if let Some(op) = operation(doc, operation_name) {
        for d in &op.variable_definitions {
            if let Some(default) = &d.node.default_value {
                values
                    .entry(d.node.name.node.as_str())
                    .or_insert(&default.node);
            }
        }
    }
    let mut walk = Walk {
        doc,
        prices,
        values,
        fragments: FxHashMap::default(),
    };
    let mut total = Cost::default();
    for (_, op) in doc.operations.iter() {
        let root = prices.root(op.node.ty);
        let m = walk.selection_set(&op.node.selection_set, root, 0)?;
        total = total.plus(m.cost);
    }
    Ok(total)
}

/// Holds `cost` against `limits`: complexity first, then depth, then selections.
pub fn check(cost: &Cost, limits: &Limits) -> Result<(), ServerError> {
    check_as(cost, limits, "Query")
}

/// [`check`] for a batch's items together.
pub fn check_batch(cost: &Cost, limits: &Limits) -> Result<(), ServerError> {
    check_as(
        cost,
        limits,
        "This batch item and the ones before it together",
    )
}

/// The refusal of a batch item after the one that took the batch over its limits.
pub fn batch_exhausted() -> ServerError {
    limit_exceeded(
        "Not run: an earlier item of this batch took the batch over its limits (a batch's \
         items share one budget)."
            .to_owned(),
    )
}

fn check_as(cost: &Cost, limits: &Limits, what: &str) -> Result<(), ServerError> {
    if cost.complexity > limits.complexity {
        return Err(limit_exceeded(format!(
            "{what} is too complex: complexity {}, the limit is {}. Ask for smaller pages \
             (`first`, `last`) or fewer fields.",
            shown(cost.complexity),
            limits.complexity
        )));
    }
    if cost.depth > limits.depth {
        return Err(limit_exceeded(format!(
            "{what} is nested too deep: depth {}, the limit is {}.",
            cost.depth, limits.depth
        )));
    }
    if cost.selections > limits.selections {
        return Err(limit_exceeded(format!(
            "{what} is too large: with its fragments spread it has {} selections, the limit \
             is {}.",
            shown(cost.selections),
            limits.selections
        )));
    }
    Ok(())
}

/// A saturated count reads as "more than …".
fn shown(n: usize) -> String {
    if n == usize::MAX {
        format!("more than {}", usize::MAX - 1)
    } else {
        n.to_string()
    }
}

fn limit_exceeded(message: String) -> ServerError {
    coded(message, "QUERY_LIMIT_EXCEEDED")
}

fn coded(message: String, code: &str) -> ServerError {
    let mut e = ServerError::new(message, None);
    e.extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
    e
}

/// A selection set's cost and how many levels nest below it.
#[derive(Debug, Clone, Copy, Default)]
struct Measured {
    cost: Cost,
    /// 0 when it holds no selection set, else 1 + the deepest one's.
    nesting: usize,
}

impl Measured {
    fn add(&mut self, other: Measured) {
        self.cost = self.cost.plus(other.cost);
        self.nesting = self.nesting.max(other.nesting);
    }
}

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    prices: &'a Prices,
    values: FxHashMap<&'a str, &'a ConstValue>,
    /// Fragments measured so far; `None` while being measured (so meeting it again is a
    /// cycle).
    fragments: FxHashMap<&'a str, Option<Measured>>,
}

impl<'a> Walk<'a> {
    /// `level`: how many selection sets enclose this one (the operation's is at 0). The
    /// recursion goes no deeper than [`MAX_NESTING`], whatever the document.
    fn selection_set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        ty: Option<&'a str>,
        level: usize,
    ) -> Result<Measured, ServerError> {
        if level > MAX_NESTING {
            return Err(too_nested());
        }
        let mut total = Measured::default();
        for selection in &set.node.items {
            let one = match &selection.node {
                Selection::Field(f) => self.field(&f.node, ty, level)?,
                Selection::FragmentSpread(s) => {
                    let name = s.node.fragment_name.node.as_str();
                    match self.fragment(name, level + 1)? {
                        Some(f) if level + 1 + f.nesting > MAX_NESTING => return Err(too_nested()),
                        Some(f) => nested(f),
                        // Unknown: validation says so.
                        None => nested(Measured::default()),
                    }
                }
                Selection::InlineFragment(i) => {
                    let on = i
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str())
                        .or(ty);
                    nested(self.selection_set(&i.node.selection_set, on, level + 1)?)
                }
            };
            total.add(one);
        }
        Ok(total)
    }

    fn field(
        &mut self,
        field: &'a Field,
        parent: Option<&'a str>,
        level: usize,
    ) -> Result<Measured, ServerError> {
        let name = field.name.node.as_str();
        let price = parent.and_then(|t| self.prices.field(t, name));
        let children = if field.selection_set.node.items.is_empty() {
            Measured::default()
        } else {
            let of = price.map(|p| p.of.as_str());
            let m = self.selection_set(&field.selection_set, of, level + 1)?;
            Measured {
                nesting: m.nesting + 1,
                ..m
            }
        };
        if name == "__typename" {
            // async-graphql skips it when it prices a query.
            return Ok(Measured {
                cost: Cost {
                    complexity: 0,
                    depth: 0,
                    selections: 1,
                },
                nesting: 0,
            });
        }
        let c = children.cost.complexity;
        let complexity = match price.map_or(Rule::One, |p| p.rule) {
            // A null: what it would select is never resolved.
            _ if price.is_some_and(|p| p.of == NULL_TYPE) => 1,
            Rule::One => c.saturating_add(1),
            Rule::List => LIST_COST.saturating_mul(c).saturating_add(1),
            Rule::Page => page_cost(self.int(field, "first"), self.int(field, "last"), c),
            Rule::Ids => self.count(field, "ids").saturating_mul(c).saturating_add(1),
            Rule::Times(n) => n.saturating_mul(c).saturating_add(1),
        };
        Ok(Measured {
            cost: Cost {
                complexity,
                depth: children.cost.depth.saturating_add(1),
                selections: children.cost.selections.saturating_add(1),
            },
            nesting: children.nesting,
        })
    }

    /// A fragment's cost, measured on first use at `level`.
    fn fragment(&mut self, name: &'a str, level: usize) -> Result<Option<Measured>, ServerError> {
        match self.fragments.get(name) {
            Some(Some(m)) => return Ok(Some(*m)),
            Some(None) => {
                return Err(coded(
                    format!("Cannot spread fragment \"{name}\" within itself."),
                    "GRAPHQL_VALIDATION_FAILED",
                ))
            }
            None => {}
        }
        let Some(def) = self.doc.fragments.get(name) else {
            return Ok(None);
        };
        self.fragments.insert(name, None);
        let on = def.node.type_condition.node.on.node.as_str();
        let m = self.selection_set(&def.node.selection_set, Some(on), level)?;
        self.fragments.insert(name, Some(m));
        Ok(Some(m))
    }

    /// The value of argument `name`: a literal, or a variable's value.
    fn argument(&self, field: &'a Field, name: &str) -> Option<ConstValue> {
        let (_, value) = field.arguments.iter().find(|(n, _)| n.node == name)?;
        value
            .node
            .clone()
            .into_const_with(|v| self.values.get(v.as_str()).map(|v| (*v).clone()).ok_or(()))
            .ok()
    }

    fn int(&self, field: &'a Field, name: &str) -> Option<i32> {
        match self.argument(field, name)? {
            ConstValue::Number(n) => n
                .as_i64()
                .map(|n| n.clamp(i32::MIN as i64, i32::MAX as i64) as i32),
            _ => None,
        }
    }

    /// How many items a list argument has (a single value is a list of one).
    fn count(&self, field: &'a Field, name: &str) -> usize {
        match self.argument(field, name) {
            Some(ConstValue::List(items)) => items.len(),
            Some(ConstValue::Null) | None => 0,
            Some(_) => 1,
        }
    }
}

/// A fragment spread or an inline fragment: one more selection, one level down.
fn nested(m: Measured) -> Measured {
    Measured {
        cost: Cost {
            selections: m.cost.selections.saturating_add(1),
            ..m.cost
        },
        nesting: m.nesting + 1,
    }
}

fn too_nested() -> ServerError {
    limit_exceeded(format!(
        "Query is nested too deep: its fields, fragments and inline fragments nest more than \
         {MAX_NESTING} levels."
    ))
}

/// When a request must be answered by: [`super::Api`] puts it in every query's data, and
/// resolvers of heavy fields stop their work when it passes.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    pub at: Instant,
    /// How long the request was given (for the error message).
    pub allowed: Duration,
}

impl Deadline {
    pub fn after(allowed: Duration) -> Deadline {
        Deadline {
            at: Instant::now() + allowed,
            allowed,
        }
    }

    /// The request's deadline, or [`Limits::default`]'s deadline from now for a request
    /// that has none (a subscription's events, a schema used directly).
    pub fn of(ctx: &Context<'_>) -> Deadline {
        ctx.data_opt::<Deadline>()
            .copied()
            .unwrap_or_else(|| Deadline::after(Limits::default().deadline))
    }
}

/// The error of a query stopped at its deadline.
pub fn timed_out(deadline: Duration) -> async_graphql::Error {
    async_graphql::Error::new(format!(
        "The query ran past its deadline of {} and was stopped. Ask for less: fewer fields, \
         smaller pages, fewer suggestions.",
        seconds(deadline)
    ))
    .extend_with(|_, e| e.set("code", "QUERY_TIMEOUT"))
}

fn seconds(d: Duration) -> String {
    if d.as_millis() % 1000 == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

/// Heavy work running at once, at most: one per core, so that the request threads (and
/// `/health`) always have a core to run on.
fn heavy_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    PERMITS.get_or_init(|| {
        tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get()))
    })
}

/// Runs CPU-heavy work (scoring suggestions, finding regressions) on a blocking thread, not
/// on the request threads, at most one per core at a time, with the request's deadline. The
/// work gets the deadline and checks it as it goes (returning [`TimedOut`]), because a
/// thread cannot be stopped from outside: a query that times out must not leave its work
/// running on.
pub async fn heavy<T, F>(ctx: &Context<'_>, work: F) -> async_graphql::Result<T>
where
    T: Send + 'static,
    F: FnOnce(Instant) -> Result<T, TimedOut> + Send + 'static,
{
    let Deadline {
        at: deadline,
        allowed,
    } = Deadline::of(ctx);
    let late = || timed_out(allowed);
    let permit = tokio::time::timeout_at(deadline.into(), heavy_permits().acquire())
        .await
        .map_err(|_| late())?
        .map_err(super::errors::internal)?;
    let task = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        if Instant::now() >= deadline {
            return Err(TimedOut);
        }
        work(deadline)
    });
    match task.await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(TimedOut)) => Err(late()),
        Err(e) => Err(super::errors::internal(e)),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use async_graphql::extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextValidation,
    };
    use async_graphql::{Request, ValidationResult};

    use super::*;
    use crate::graphql::{MutationRoot, QueryRoot, SubscriptionRoot};

    fn prices() -> &'static Prices {
        static PRICES: OnceLock<Prices> = OnceLock::new();
        PRICES.get_or_init(Prices::of_schema)
    }

    fn cost_with(query: &str, variables: serde_json::Value) -> Result<Cost, ServerError> {
        let doc = async_graphql::parser::parse_query(query).expect("the query parses");
        measure(&doc, None, &Variables::from_json(variables), prices())
    }

    fn cost(query: &str) -> Cost {
        cost_with(query, serde_json::json!({})).expect("the query is priced")
    }

    /// Records async-graphql's own complexity and depth of the last query validated.
    #[derive(Clone, Default)]
    struct Recorder(Arc<Mutex<Option<(usize, usize)>>>);

    impl ExtensionFactory for Recorder {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(self.clone())
        }
    }

    #[async_graphql::async_trait::async_trait]
    impl Extension for Recorder {
        async fn validation(
            &self,
            ctx: &ExtensionContext<'_>,
            next: NextValidation<'_>,
        ) -> Result<ValidationResult, Vec<ServerError>> {
            let result = next.run(ctx).await;
            if let Ok(v) = &result {
                *self.0.lock().unwrap() = Some((v.complexity, v.depth));
            }
            result
        }
    }

    /// Every kind of field the schema prices, as async-graphql prices it: the complexity
    /// attributes of the object types and the rules `Prices::of` reads from them agree.
    #[tokio::test]
    async fn the_walk_computes_async_graphqls_complexity_and_depth() {
        let recorder = Recorder::default();
        let schema = async_graphql::Schema::build(
            QueryRoot::default(),
            MutationRoot::default(),
            SubscriptionRoot,
        )
        .extension(recorder.clone())
        .finish();
        let queries = [
            (r#"{ recommendation(ref: "R") { text } }"#, serde_json::json!({})),
            (
                "{ recommendations(first: 3) { totalCount nodes { ref themes { slug } } } }",
                serde_json::json!({}),
            ),
            (
                "query($n: Int) { measures(first: $n) { edges { cursor node { ref links { relation recommendation { ref groups { slug } } } } } } }",
                serde_json::json!({ "n": 7 }),
            ),
            (
                "query($n: Int = 42) { countries(last: $n) { nodes { code measures { nodes { ref sdgs { goal } } } reviews { number } goodPractices { ref } } } }",
                serde_json::json!({}),
            ),
            (
                "query($ids: [ID!]!) { nodes(ids: $ids) { id } a: nodes(ids: [\"x\"]) { id } }",
                serde_json::json!({ "ids": ["a", "b", "c"] }),
            ),
            (
                "{ cycles { number sessions { number statesUnderReview { code } } } sessions(cycle: 3) { number } }",
                serde_json::json!({}),
            ),
            (
                r#"{ measure(ref: "M") { suggestedRecommendations(first: 5) { score reasons recommendation { ref } } history(first: 3) { nodes { author } } goodPractices { ref } } }"#,
                serde_json::json!({}),
            ),
            (
                r#"{ recommendation(ref: "R") { suggestedMeasures { score measure { ref } } recommendingStates { code } responseHistory { at } links { note } } }"#,
                serde_json::json!({}),
            ),
            (
                r#"{ country(code: "HND") { regressions { reasons themes { slug } supportedRecommendations { ref } } recommendationsReceived(first: 2) { nodes { ref } } } }"#,
                serde_json::json!({}),
            ),
            (
                "{ recommendations(first: 0) { facets { response { value count } theme { value } } } measures { facets { year { value } } } }",
                serde_json::json!({}),
            ),
            (
                "{ recommendations(first: 2) { nodes { ...R } } } fragment R on Recommendation { ref links { measure { ref } } }",
                serde_json::json!({}),
            ),
            (
                r#"{ node(id: "x") { id ... on Measure { links { relation } themes { name } } } }"#,
                serde_json::json!({}),
            ),
            (
                r#"{ search(text: "health", first: 5) { totalCount edges { node { score snippet } } } changes(first: 4) { nodes { key } } }"#,
                serde_json::json!({}),
            ),
            (
                "{ __typename themes { __typename slug sdgs { goal } } groups { slug } sdgs { goal name } measureCategories { code themes { slug } } }",
                serde_json::json!({}),
            ),
            (
                "{ goodPractices(first: 4) { nodes { countries { code } measures { ref } recommendations { ref } themes { slug } groups { slug } sdgs { goal } } } links(first: 9) { nodes { relation } } }",
                serde_json::json!({}),
            ),
            (
                "{ tokens { name } }",
                serde_json::json!({}),
            ),
            (
                "query($n: Int = 6) { concerns(first: $n) { facets { month { value } } nodes { measures { ref } recommendations { ref } actions { ref countries { code } } } } actions(last: 3) { nodes { concerns { ref } } } country(code: \"KHM\") { concerns(first: 7) { nodes { ref } } actions { totalCount } } themes { concerns(first: 2) { nodes { ref } } } }",
                serde_json::json!({}),
            ),
        ];
        for (query, variables) in queries {
            *recorder.0.lock().unwrap() = None;
            let request = Request::new(query).variables(Variables::from_json(variables.clone()));
            let response = schema.execute(request).await;
            let theirs = recorder
                .0
                .lock()
                .unwrap()
                .unwrap_or_else(|| panic!("{query}: not validated: {:?}", response.errors));
            let ours = cost_with(query, variables).unwrap();
            assert_eq!(
                (ours.complexity, ours.depth),
                theirs,
                "{query}: (complexity, depth)"
            );
        }
    }

    #[test]
    fn pages_lists_and_ids_multiply_their_children() {
        // ref (1) + nodes (1 + 1) per item, 3 items, + the connection itself.
        assert_eq!(
            cost("{ recommendations(first: 3) { nodes { ref } } }").complexity,
            7
        );
        // The default page is 20; `last` counts like `first`.
        assert_eq!(cost("{ recommendations { nodes { ref } } }").complexity, 41);
        assert_eq!(
            cost("{ recommendations(last: 5) { nodes { ref } } }").complexity,
            11
        );
        // A list of unknown length counts LIST_COST items.
        assert_eq!(cost("{ themes { slug } }").complexity, LIST_COST + 1);
        // Variables and their defaults.
        let c = cost_with(
            "query($n: Int = 4, $m: Int) { a: recommendations(first: $n) { totalCount } b: measures(first: $m) { totalCount } }",
            serde_json::json!({ "m": 2 }),
        )
        .unwrap();
        assert_eq!(c.complexity, 4 + 1 + 2 + 1);
        let c = cost_with(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            serde_json::json!({ "ids": ["a", "b", "c", "d"] }),
        )
        .unwrap();
        assert_eq!(c.complexity, 4 + 1);
        assert_eq!(c.depth, 2);
        assert_eq!(c.selections, 2);
    }

    #[test]
    fn a_fragment_bomb_is_priced_in_time_linear_in_its_size() {
        // 20 fragments each spreading the previous ten times: 10^20 fields expanded.
        let mut q =
            String::from("query { ...F20 }\nfragment F1 on QueryRoot { a: cycles { number } }\n");
        for k in 2..=20 {
            q.push_str(&format!(
                "fragment F{k} on QueryRoot {{ {} }}\n",
                vec![format!("...F{}", k - 1); 10].join(" ")
            ));
        }
        let started = Instant::now();
        let c = cost(&q);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert_eq!(c.complexity, usize::MAX, "saturates");
        assert_eq!(c.selections, usize::MAX);
        assert_eq!(c.depth, 2);
        let e = check(&c, &Limits::default()).unwrap_err();
        assert!(e.message.contains("too complex"), "{}", e.message);
        // Of __typename only: no complexity, but as many selections.
        let c = cost(&q.replace("a: cycles { number }", "__typename"));
        assert_eq!(c.complexity, 0);
        let e = check(&c, &Limits::default()).unwrap_err();
        assert!(e.message.contains("too large"), "{}", e.message);
        assert_eq!(
            e.extensions.unwrap().get("code"),
            Some(&ConstValue::from("QUERY_LIMIT_EXCEEDED"))
        );
    }

    #[test]
    fn fragment_cycles_and_deep_nesting_are_refused() {
        for q in [
            "{ ...A } fragment A on QueryRoot { ...A }",
            "{ ...A } fragment A on QueryRoot { cycles { number } ...B ...B } fragment B on QueryRoot { ...A ...A }",
            "{ cycles { ...S } } fragment S on Cycle { sessions { cycle { ...S } } }",
        ] {
            let e = cost_with(q, serde_json::json!({})).unwrap_err();
            assert!(e.message.contains("within itself"), "{q}: {}", e.message);
        }
        // A chain of 100 fragments, each spreading the next once: nests 100 levels.
        let mut q = String::from("{ ...F0 }");
        for k in 0..100 {
            q.push_str(&format!(" fragment F{k} on QueryRoot {{ ...F{} }}", k + 1));
        }
        q.push_str(" fragment F100 on QueryRoot { __typename }");
        let e = cost_with(&q, serde_json::json!({})).unwrap_err();
        assert!(e.message.contains("nest more than"), "{}", e.message);
        // 60 levels are fine.
        let mut q = String::from("{ ...F0 }");
        for k in 0..60 {
            q.push_str(&format!(" fragment F{k} on QueryRoot {{ ...F{} }}", k + 1));
        }
        q.push_str(" fragment F60 on QueryRoot { __typename }");
        assert_eq!(cost(&q).selections, 62);
    }

    #[test]
    fn introspection_is_priced_by_the_size_of_the_schema() {
        // About one per type and field name returned.
        let one = cost("{ __schema { types { fields { name } } } }");
        assert!(one.complexity > 300, "{one:?}");
        let mut many = String::from("{");
        for i in 0..200 {
            many.push_str(&format!(
                " a{i}: __schema {{ types {{ fields {{ name }} }} }}"
            ));
        }
        many.push('}');
        let c = cost(&many);
        assert_eq!(c.complexity, 200 * one.complexity);
        assert!(check(&c, &Limits::default()).is_err());
        // One type by name is cheap.
        let c = cost(r#"{ __type(name: "Node") { kind possibleTypes { name } } }"#);
        assert!(c.complexity < 100, "{c:?}");
        // `ofType` past the deepest wrapping of the schema is null: asking deeper costs
        // nothing more (but still counts for depth).
        let chain = |levels: usize| {
            let mut q = String::from("kind name");
            for _ in 0..levels {
                q = format!("kind name ofType {{ {q} }}");
            }
            cost(&format!(r#"{{ __type(name: "Node") {{ {q} }} }}"#))
        };
        assert_eq!(chain(9).complexity, chain(12).complexity);
        assert!(chain(3).complexity < chain(9).complexity);
        assert_eq!(chain(12).depth, 14);
    }
}
