//! The COVID-19 Tracker's own records: issues of concern and the actions of UN Human Rights.
//! Their root fields live here, as their own query and mutation objects merged into the
//! roots, so the two entities add files instead of growing `query.rs` and `mutation.rs`.

use async_graphql::{Context, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::auth::require;
use super::edit::{self, set};
use super::filter::{ActionFilter, ConcernFilter};
use super::mutation::{
    countries, goals, patch, reference, refs, slugs, url, DeleteInput, DeletePayload, Tags,
    TagsPatch,
};
use super::object::{
    action, catalog, concern, Action, ActionConnection, Concern, ConcernConnection,
};
use super::scalars::{ActionKind, ConcernKind, Date, Severity};
use crate::model::{self, Role};

/// Root fields that read concerns and actions.
#[derive(Default)]
pub struct TrackerQuery;

#[Object]
impl TrackerQuery {
    /// An issue of concern by its dataset key; null if there is none.
    async fn concern(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] reference: String,
    ) -> Result<Option<Concern>> {
        Ok(catalog(ctx)?
            .concerns
            .by_ref(&reference)
            .cloned()
            .map(Concern))
    }

    /// Issues of concern recorded by the COVID-19 Tracker, in key order.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn concerns(
        &self,
        ctx: &Context<'_>,
        filter: Option<ConcernFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ConcernConnection> {
        let c = catalog(ctx)?;
        concern::concerns(&c, &c.concerns.all, filter, first, after, last, before)
    }

    /// An action of UN Human Rights by its dataset key; null if there is none.
    async fn action(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "ref")] reference: String,
    ) -> Result<Option<Action>> {
        Ok(catalog(ctx)?
            .actions
            .by_ref(&reference)
            .cloned()
            .map(Action))
    }

    /// Actions undertaken by UN Human Rights (OHCHR), in key order.
    #[graphql(complexity = "crate::graphql::connection::page_cost(first, last, child_complexity)")]
    async fn actions(
        &self,
        ctx: &Context<'_>,
        filter: Option<ActionFilter>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<ActionConnection> {
        let c = catalog(ctx)?;
        action::actions(&c, &c.actions.all, filter, first, after, last, before)
    }
}

// --- mutations -------------------------------------------------------------------------------

/// A new issue of concern.
#[derive(InputObject)]
pub struct CreateConcernInput {
    /// Its ref (natural key): unique among concerns.
    #[graphql(name = "ref")]
    pub reference: String,
    /// The States it is about (ISO 3166-1 alpha-3 codes; one or more, at most 250).
    pub countries: Vec<String>,
    /// The title (at most 500 characters).
    pub title: String,
    /// What was observed (at most 20,000 characters).
    pub description: String,
    /// Trend, risk or early warning.
    pub kind: ConcernKind,
    /// How grave it is.
    pub severity: Severity,
    /// The day it was reported.
    pub reported_on: Date,
    /// Its themes, groups and SDGs.
    #[graphql(flatten)]
    pub tags: Tags,
    /// Refs of the measures that mitigate it (at most 1,000).
    #[graphql(default)]
    pub measures: Vec<String>,
    /// Refs of the recommendations that speak to it (at most 1,000).
    #[graphql(default)]
    pub recommendations: Vec<String>,
    /// The citation of the source (at most 1,000 characters).
    pub source: String,
    /// An http(s) URL where the source can be read.
    pub source_url: Option<String>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// Changes an issue of concern; fields not given stay as they are, `null` clears an
/// optional field.
#[derive(InputObject)]
pub struct UpdateConcernInput {
    /// Its ref (natural key).
    #[graphql(name = "ref")]
    pub reference: String,
    /// The version the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// The States it is about (one or more).
    pub countries: Option<Vec<String>>,
    /// The title (at most 500 characters).
    pub title: Option<String>,
    /// What was observed (at most 20,000 characters).
    pub description: Option<String>,
    /// Trend, risk or early warning.
    pub kind: Option<ConcernKind>,
    /// How grave it is.
    pub severity: Option<Severity>,
    /// The day it was reported.
    pub reported_on: Option<Date>,
    /// Its themes, groups and SDGs, each replaced when given.
    #[graphql(flatten)]
    pub tags: TagsPatch,
    /// Refs of the measures that mitigate it.
    pub measures: Option<Vec<String>>,
    /// Refs of the recommendations that speak to it.
    pub recommendations: Option<Vec<String>>,
    /// The citation of the source.
    pub source: Option<String>,
    /// An http(s) URL where the source can be read.
    pub source_url: MaybeUndefined<String>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// An issue of concern as it is after the mutation.
#[derive(SimpleObject)]
pub struct ConcernPayload {
    /// The concern as it is now.
    pub concern: Concern,
    /// False when it was already exactly so (nothing was written).
    pub changed: bool,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// A new action of UN Human Rights.
#[derive(InputObject)]
pub struct CreateActionInput {
    /// Its ref (natural key): unique among actions.
    #[graphql(name = "ref")]
    pub reference: String,
    /// The States it took place in or for (one or more, at most 250).
    pub countries: Vec<String>,
    /// The title (at most 500 characters).
    pub title: String,
    /// What was done (at most 20,000 characters).
    pub description: String,
    /// The report's heading for it.
    pub kind: ActionKind,
    /// The day it started.
    pub start_date: Date,
    /// The day it ended, if it has.
    pub end_date: Option<Date>,
    /// What it achieved, in words (at most 5,000 characters).
    pub outcome: Option<String>,
    /// How many people it reached, where the source says so.
    pub people_reached: Option<u64>,
    /// Its themes, groups and SDGs.
    #[graphql(flatten)]
    pub tags: Tags,
    /// Refs of the concerns it addressed (at most 1,000).
    #[graphql(default)]
    pub concerns: Vec<String>,
    /// Refs of the measures it supported (at most 1,000).
    #[graphql(default)]
    pub measures: Vec<String>,
    /// Refs of the recommendations it followed up (at most 1,000).
    #[graphql(default)]
    pub recommendations: Vec<String>,
    /// The citation of the source (at most 1,000 characters).
    pub source: String,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// Changes an action; fields not given stay as they are, `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateActionInput {
    /// Its ref (natural key).
    #[graphql(name = "ref")]
    pub reference: String,
    /// The version the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// The States it took place in or for (one or more).
    pub countries: Option<Vec<String>>,
    /// The title (at most 500 characters).
    pub title: Option<String>,
    /// What was done (at most 20,000 characters).
    pub description: Option<String>,
    /// The report's heading for it.
    pub kind: Option<ActionKind>,
    /// The day it started.
    pub start_date: Option<Date>,
    /// The day it ended.
    pub end_date: MaybeUndefined<Date>,
    /// What it achieved, in words.
    pub outcome: MaybeUndefined<String>,
    /// How many people it reached.
    pub people_reached: MaybeUndefined<u64>,
    /// Its themes, groups and SDGs, each replaced when given.
    #[graphql(flatten)]
    pub tags: TagsPatch,
    /// Refs of the concerns it addressed.
    pub concerns: Option<Vec<String>>,
    /// Refs of the measures it supported.
    pub measures: Option<Vec<String>>,
    /// Refs of the recommendations it followed up.
    pub recommendations: Option<Vec<String>>,
    /// The citation of the source.
    pub source: Option<String>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// An action as it is after the mutation.
#[derive(SimpleObject)]
pub struct ActionPayload {
    /// The action as it is now.
    pub action: Action,
    /// False when it was already exactly so (nothing was written).
    pub changed: bool,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// Root fields that change concerns and actions (editor tokens).
#[derive(Default)]
pub struct TrackerMutation;

#[Object]
impl TrackerMutation {
    /// Adds an issue of concern (needs an editor token).
    async fn create_concern(
        &self,
        ctx: &Context<'_>,
        input: CreateConcernInput,
    ) -> Result<ConcernPayload> {
        let author = require(ctx, Role::Editor, "createConcern")?;
        let id = reference("ref", &input.reference)?;
        let record = model::Concern {
            id: id.clone(),
            countries: countries("countries", &input.countries)?,
            title: input.title,
            description: input.description,
            kind: input.kind.into(),
            severity: input.severity.into(),
            reported_on: input.reported_on.0,
            themes: slugs("themes", &input.tags.themes)?,
            groups: slugs("groups", &input.tags.groups)?,
            sdgs: goals("sdgs", &input.tags.sdgs)?,
            measures: refs("measures", &input.measures)?,
            recommendations: refs("recommendations", &input.recommendations)?,
            source: input.source,
            source_url: url("sourceUrl", input.source_url)?,
        };
        Ok(ConcernPayload {
            concern: edit::create(ctx, author, &id, record, "updateConcern").await?,
            changed: true,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Changes an issue of concern (needs an editor token).
    async fn update_concern(
        &self,
        ctx: &Context<'_>,
        input: UpdateConcernInput,
    ) -> Result<ConcernPayload> {
        let author = require(ctx, Role::Editor, "updateConcern")?;
        let (reference, expected) = (&input.reference, input.expected_version);
        let changes = move |r: &mut model::Concern| -> Result<()> {
            if let Some(v) = &input.countries {
                r.countries = countries("countries", v)?;
            }
            set(&mut r.title, input.title);
            set(&mut r.description, input.description);
            set(&mut r.kind, input.kind.map(Into::into));
            set(&mut r.severity, input.severity.map(Into::into));
            set(&mut r.reported_on, input.reported_on.map(|d| d.0));
            input
                .tags
                .apply(&mut r.themes, &mut r.groups, &mut r.sdgs)?;
            if let Some(v) = &input.measures {
                r.measures = refs("measures", v)?;
            }
            if let Some(v) = &input.recommendations {
                r.recommendations = refs("recommendations", v)?;
            }
            set(&mut r.source, input.source);
            let mut source_url = r.source_url.take();
            patch(&mut source_url, input.source_url);
            r.source_url = url("sourceUrl", source_url)?;
            Ok(())
        };
        let (concern, changed) = edit::update(ctx, author, reference, expected, changes).await?;
        Ok(ConcernPayload {
            concern,
            changed,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Deletes an issue of concern (needs an editor token). Refused while an action lists it
    /// among the concerns it addressed: dropping the reference silently would rewrite what
    /// the action is on record as having done, so the editor changes the action first.
    async fn delete_concern(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<DeletePayload> {
        let author = require(ctx, Role::Editor, "deleteConcern")?;
        edit::delete::<Concern>(ctx, author, input).await
    }

    /// Adds an action of UN Human Rights (needs an editor token).
    async fn create_action(
        &self,
        ctx: &Context<'_>,
        input: CreateActionInput,
    ) -> Result<ActionPayload> {
        let author = require(ctx, Role::Editor, "createAction")?;
        let id = reference("ref", &input.reference)?;
        let record = model::Action {
            id: id.clone(),
            countries: countries("countries", &input.countries)?,
            title: input.title,
            description: input.description,
            kind: input.kind.into(),
            start_date: input.start_date.0,
            end_date: input.end_date.map(|d| d.0),
            outcome: input.outcome,
            people_reached: input.people_reached,
            themes: slugs("themes", &input.tags.themes)?,
            groups: slugs("groups", &input.tags.groups)?,
            sdgs: goals("sdgs", &input.tags.sdgs)?,
            concerns: refs("concerns", &input.concerns)?,
            measures: refs("measures", &input.measures)?,
            recommendations: refs("recommendations", &input.recommendations)?,
            source: input.source,
        };
        Ok(ActionPayload {
            action: edit::create(ctx, author, &id, record, "updateAction").await?,
            changed: true,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Changes an action of UN Human Rights (needs an editor token).
    async fn update_action(
        &self,
        ctx: &Context<'_>,
        input: UpdateActionInput,
    ) -> Result<ActionPayload> {
        let author = require(ctx, Role::Editor, "updateAction")?;
        let (reference, expected) = (&input.reference, input.expected_version);
        let changes = move |a: &mut model::Action| -> Result<()> {
            if let Some(v) = &input.countries {
                a.countries = countries("countries", v)?;
            }
            set(&mut a.title, input.title);
            set(&mut a.description, input.description);
            set(&mut a.kind, input.kind.map(Into::into));
            set(&mut a.start_date, input.start_date.map(|d| d.0));
            let mut end = a.end_date.map(Date);
            patch(&mut end, input.end_date);
            a.end_date = end.map(|d| d.0);
            patch(&mut a.outcome, input.outcome);
            patch(&mut a.people_reached, input.people_reached);
            input
                .tags
                .apply(&mut a.themes, &mut a.groups, &mut a.sdgs)?;
            if let Some(v) = &input.concerns {
                a.concerns = refs("concerns", v)?;
            }
            if let Some(v) = &input.measures {
                a.measures = refs("measures", v)?;
            }
            if let Some(v) = &input.recommendations {
                a.recommendations = refs("recommendations", v)?;
            }
            set(&mut a.source, input.source);
            Ok(())
        };
        let (action, changed) = edit::update(ctx, author, reference, expected, changes).await?;
        Ok(ActionPayload {
            action,
            changed,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Deletes an action of UN Human Rights (needs an editor token). Nothing refers to an
    /// action, so it is never refused for references.
    async fn delete_action(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<DeletePayload> {
        let author = require(ctx, Role::Editor, "deleteAction")?;
        edit::delete::<Action>(ctx, author, input).await
    }
}
