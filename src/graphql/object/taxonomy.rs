use async_graphql::{Context, Object, Result, ID};

use crate::graphql::ids::global_id;
use crate::graphql::scalars;
use crate::model;

/// A UPR Info issue (the classification of its database), or `covid-19`.
#[derive(Clone)]
pub struct Theme(pub model::Theme);

/// A UPR Info issue (the classification of its database), or `covid-19`.
#[Object(serial)]
impl Theme {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Theme", self.0.slug.as_str())
    }
    /// Stable key, e.g. `right-to-health`.
    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }
    /// The English name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The SDG goals this theme maps to (a crosswalk kept as data).
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn sdgs(&self, ctx: &Context<'_>) -> Result<Vec<Sdg>> {
        super::related(ctx, &self.0.sdgs, super::sdgs_of)
    }
    /// Where the entry comes from.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// Issues of concern about this theme, in key order.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn concerns(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::filter::ConcernFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::ConcernConnection> {
        super::concern::concerns_within(
            ctx,
            crate::store::Index::ConcernsByTheme(self.0.slug.clone()),
            filter,
            first,
            after,
            last,
            before,
        )
    }
    /// Actions of UN Human Rights for this theme, in key order.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn actions(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::filter::ActionFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::ActionConnection> {
        super::action::actions_within(
            ctx,
            crate::store::Index::ActionsByTheme(self.0.slug.clone()),
            filter,
            first,
            after,
            last,
            before,
        )
    }
}

/// An affected-person group of OHCHR's Universal Human Rights Index.
#[derive(Clone)]
pub struct Group(pub model::Group);

/// An affected-person group of OHCHR's Universal Human Rights Index.
#[Object(serial)]
impl Group {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Group", self.0.slug.as_str())
    }
    /// Stable key, e.g. `older-persons`.
    async fn slug(&self) -> &str {
        self.0.slug.as_str()
    }
    /// The English name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Where the entry comes from.
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// Issues of concern about this group, in key order.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn concerns(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::filter::ConcernFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::ConcernConnection> {
        super::concern::concerns_within(
            ctx,
            crate::store::Index::ConcernsByGroup(self.0.slug.clone()),
            filter,
            first,
            after,
            last,
            before,
        )
    }
    /// Actions of UN Human Rights for this group, in key order.
    #[allow(clippy::too_many_arguments)]
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn actions(
        &self,
        ctx: &Context<'_>,
        filter: Option<crate::graphql::filter::ActionFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<super::ActionConnection> {
        super::action::actions_within(
            ctx,
            crate::store::Index::ActionsByGroup(self.0.slug.clone()),
            filter,
            first,
            after,
            last,
            before,
        )
    }
}

/// A Sustainable Development Goal.
#[derive(Clone)]
pub struct Sdg(pub model::Sdg);

/// A Sustainable Development Goal.
#[Object(serial)]
impl Sdg {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("Sdg", &self.0.goal.to_string())
    }
    /// The goal's number, 1 to 17.
    async fn goal(&self) -> i32 {
        self.0.goal.get() as i32
    }
    /// The English name.
    async fn name(&self) -> &str {
        &self.0.name
    }
}

/// A measure category, with the themes it bears on and the OxCGRT indicators it covers.
#[derive(Clone)]
pub struct MeasureCategoryInfo(pub model::MeasureCategoryInfo);

/// A measure category, with the themes it bears on and the OxCGRT indicators it covers.
#[Object(serial)]
impl MeasureCategoryInfo {
    /// A global id, opaque and stable across restarts and export/import.
    pub async fn id(&self) -> ID {
        global_id("MeasureCategoryInfo", self.0.code.as_str())
    }
    /// The category.
    async fn code(&self) -> scalars::MeasureCategory {
        self.0.code.into()
    }
    /// The English name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// The themes measures of this category bear on.
    #[graphql(complexity = "crate::graphql::connection::LIST_COST * child_complexity + 1")]
    async fn themes(&self, ctx: &Context<'_>) -> Result<Vec<Theme>> {
        super::related(ctx, &self.0.themes, super::themes_of)
    }
    /// OxCGRT indicator codes this category covers (e.g. `C1`, `H2`).
    async fn oxcgrt(&self) -> &[String] {
        &self.0.oxcgrt
    }
}
