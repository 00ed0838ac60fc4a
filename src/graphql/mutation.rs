//! The write side: Relay-style mutations (one `input`, a payload with the changed objects).
//!
//! Every mutation is one store transaction with its audit entries, acknowledged only once it
//! is durable (see [`crate::live`]). Validation is the store's, as for an import: its typed
//! refusals become client errors in [`super::errors`] (`BAD_USER_INPUT` with
//! `extensions.field` naming the input field, `CONFLICT` with `extensions.currentVersion`,
//! `NOT_FOUND`, `FAILED_PRECONDITION`), and the resolvers' own checks are refusals of the
//! same kinds. Links, measures and good practices need an `editor` token; recommendations an
//! `admin` token.

use std::sync::Arc;

use async_graphql::{
    Context, Error, InputObject, MaybeUndefined, Object, Result, SimpleObject, ID,
};

use super::auth::require;
use super::edit::{self, set};
use super::errors::{internal, refusal, store_error};
use super::ids::global_id;
use super::object::{GoodPractice, Link, Measure, Recommendation, Snapshot};
use super::scalars::{self, Date};
use crate::catalog::Catalog;
use crate::live::{Committed, Live};
use crate::model::{self, *};
use crate::store::{Change, Key, Outcome, Record};

/// A bad input field: `extensions.code = "BAD_USER_INPUT"`, `extensions.field` names it.
pub fn bad_field(field: &str, message: impl std::fmt::Display) -> Error {
    refusal(Refusal::invalid(field, message.to_string()))
}

fn not_found(what: impl std::fmt::Display) -> Error {
    refusal(Refusal::not_found(format!("no {what}")))
}

fn conflict(message: String, current: u32) -> Error {
    refusal(Refusal::conflict(current, message))
}

/// Runs a write on a blocking thread and moves the request's snapshot past it.
pub(crate) async fn commit(
    ctx: &Context<'_>,
    changes: Vec<Change>,
    author: String,
) -> Result<Committed> {
    let live = ctx.data::<Arc<Live>>()?.clone();
    let committed = tokio::task::spawn_blocking(move || live.write(changes, &author))
        .await
        .map_err(internal)?
        .map_err(store_error)?;
    if let Some(s) = ctx.data_opt::<Snapshot>() {
        s.set(committed.catalog.clone());
    }
    Ok(committed)
}

/// The newest state: what the write path will check against.
pub(crate) fn latest(ctx: &Context<'_>) -> Result<Arc<Live>> {
    Ok(ctx.data::<Arc<Live>>()?.clone())
}

// --- value conversions, each naming its field ---------------------------------------------

pub(crate) fn reference(field: &str, s: &str) -> Result<Ref> {
    Ref::parse(s).map_err(|e| bad_field(field, e))
}

fn country(field: &str, s: &str) -> Result<CountryCode> {
    CountryCode::parse(s).map_err(|e| bad_field(field, e))
}

/// Refuses a list over its limit before its entries are looked at (the model checks again).
fn at_most<T>(field: &str, v: &[T], limit: usize) -> Result<()> {
    if v.len() > limit {
        return Err(refusal(limits::too_many(field, v.len(), limit)));
    }
    Ok(())
}

pub(crate) fn countries(field: &str, v: &[String]) -> Result<Vec<CountryCode>> {
    at_most(field, v, limits::COUNTRIES)?;
    v.iter().map(|s| country(field, s)).collect()
}

pub(crate) fn slugs(field: &str, v: &[String]) -> Result<Vec<Slug>> {
    at_most(field, v, limits::TAGS)?;
    v.iter()
        .map(|s| Slug::parse(s).map_err(|e| bad_field(field, e)))
        .collect()
}

pub(crate) fn refs(field: &str, v: &[String]) -> Result<Vec<Ref>> {
    at_most(field, v, limits::CITED)?;
    v.iter().map(|s| reference(field, s)).collect()
}

pub(crate) fn goals(field: &str, v: &[i32]) -> Result<Vec<SdgGoal>> {
    at_most(field, v, limits::SDGS)?;
    v.iter()
        .map(|&g| SdgGoal::new(g as i64).map_err(|e| bad_field(field, e)))
        .collect()
}

/// An http(s) URL of a field given as `MaybeUndefined` (only a value given is checked).
fn url_patch(field: &str, v: MaybeUndefined<String>) -> Result<MaybeUndefined<String>> {
    Ok(match v {
        MaybeUndefined::Value(u) => match url(field, Some(u))? {
            Some(u) => MaybeUndefined::Value(u),
            None => MaybeUndefined::Null,
        },
        other => other,
    })
}

pub(crate) fn url(field: &str, s: Option<String>) -> Result<Option<String>> {
    match s {
        Some(u) if !(u.starts_with("https://") || u.starts_with("http://")) => {
            Err(bad_field(field, format!("{u:?} is not an http(s) URL")))
        }
        other => Ok(other),
    }
}

pub(crate) fn version(field: &str, v: i32) -> Result<u32> {
    u32::try_from(v).map_err(|_| bad_field(field, format!("must not be negative, got {v}")))
}

/// Applies an update to an optional field: undefined keeps it, null clears it.
pub(crate) fn patch<T>(slot: &mut Option<T>, v: MaybeUndefined<T>) {
    match v {
        MaybeUndefined::Undefined => {}
        MaybeUndefined::Null => *slot = None,
        MaybeUndefined::Value(x) => *slot = Some(x),
    }
}

pub(crate) fn written(outcomes: &[Outcome]) -> bool {
    outcomes
        .iter()
        .any(|o| !matches!(o, Outcome::Unchanged { .. }))
}

pub(crate) fn cascaded(outcomes: &[Outcome]) -> i32 {
    outcomes
        .iter()
        .map(|o| match o {
            Outcome::Deleted { cascaded_links } => *cascaded_links as i32,
            _ => 0,
        })
        .sum()
}

fn recommendation_in(c: &Catalog, r: &Ref) -> Result<Recommendation> {
    c.recommendations
        .by_ref(r.as_str())
        .cloned()
        .map(Recommendation)
        .ok_or_else(|| internal(format!("recommendation {r} missing after a write")))
}

fn measure_in(c: &Catalog, r: &Ref) -> Result<Measure> {
    c.measures
        .by_ref(r.as_str())
        .cloned()
        .map(Measure)
        .ok_or_else(|| internal(format!("measure {r} missing after a write")))
}

// --- links ---------------------------------------------------------------------------------

/// Links a recommendation to a measure, or changes how they are linked. Changing a link
/// that exists needs its `expectedVersion`, so editors never silently overwrite each other.
#[derive(InputObject)]
pub struct LinkRecommendationInput {
    /// The recommendation's ref.
    pub recommendation: String,
    /// The measure's ref.
    pub measure: String,
    /// How the measure bears on the recommendation.
    pub relation: scalars::LinkRelation,
    /// CONFIRMED when not given; REJECTED records a rejected suggestion (never offered again).
    pub status: Option<scalars::LinkStatus>,
    /// Why, in the curator's words (at most 5,000 characters); kept as it is when not given,
    /// cleared by `null`.
    pub note: MaybeUndefined<String>,
    /// An http(s) URL of a source showing the measure's effect (at most 2,048 characters);
    /// kept when not given, cleared by `null`.
    pub evidence_url: MaybeUndefined<String>,
    /// The version of the link the change is based on (0: the link must not exist yet); a
    /// stale one fails with CONFLICT. Without it the call only creates the link, or repeats
    /// it as it is (`changed: false`): changing a link that exists fails with CONFLICT and
    /// the link's `currentVersion`.
    pub expected_version: Option<i32>,
    /// Echoed in the payload.
    pub client_mutation_id: Option<String>,
}

/// Changes an existing link; fields not given stay as they are, `null` clears a field.
#[derive(InputObject)]
pub struct UpdateLinkInput {
    /// The recommendation's ref.
    pub recommendation: String,
    /// The measure's ref.
    pub measure: String,
    /// The version the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// How the measure bears on the recommendation.
    pub relation: Option<scalars::LinkRelation>,
    /// Where the link stands in review.
    pub status: Option<scalars::LinkStatus>,
    /// Why, in the curator's words (at most 5,000 characters).
    pub note: MaybeUndefined<String>,
    /// An http(s) URL of a source showing the measure's effect (at most 2,048 characters).
    pub evidence_url: MaybeUndefined<String>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// Removes a link.
#[derive(InputObject)]
pub struct UnlinkInput {
    /// The recommendation's ref.
    pub recommendation: String,
    /// The measure's ref.
    pub measure: String,
    /// The version the deletion is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// A link as it is after the mutation, with both its ends.
#[derive(SimpleObject)]
pub struct LinkPayload {
    /// The link as it is now.
    pub link: Link,
    /// The recommendation's ref.
    pub recommendation: Recommendation,
    /// The measure's ref.
    pub measure: Measure,
    /// False when the link was already exactly so (nothing was written).
    pub changed: bool,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// What `unlink` removed.
#[derive(SimpleObject)]
pub struct UnlinkPayload {
    /// The global id the link had.
    pub deleted_link_id: ID,
    /// The recommendation's ref.
    pub recommendation: Recommendation,
    /// The measure's ref.
    pub measure: Measure,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

// --- measures ------------------------------------------------------------------------------

/// A new measure.
#[derive(InputObject)]
pub struct CreateMeasureInput {
    /// Its ref: unique among measures.
    #[graphql(name = "ref")]
    pub reference: String,
    /// The State that took it (ISO alpha-3).
    pub country: String,
    /// The title (at most 500 characters).
    pub title: String,
    /// What it is and does (at most 20,000 characters).
    pub description: String,
    /// The kind of measure.
    pub category: scalars::MeasureCategory,
    /// The day it took effect.
    pub start_date: Date,
    /// The day it ended (absent while in force).
    pub end_date: Option<Date>,
    /// Its themes, groups and SDGs.
    #[graphql(flatten)]
    pub tags: Tags,
    /// The citation of the source (at most 1,000 characters).
    pub source: Option<String>,
    /// The source's own code (e.g. `OxCGRT C1=3`; at most 100 characters).
    pub source_code: Option<String>,
    /// An http(s) URL of the source (at most 2,048 characters).
    pub source_url: Option<String>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// Changes a measure; fields not given stay as they are, `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateMeasureInput {
    /// Its ref (natural key): unique among records of its kind.
    #[graphql(name = "ref")]
    pub reference: String,
    /// The version the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// The State that took the measure (ISO 3166-1 alpha-3).
    pub country: Option<String>,
    /// The title (at most 500 characters).
    pub title: Option<String>,
    /// What it is and does (at most 20,000 characters).
    pub description: Option<String>,
    /// The kind of measure.
    pub category: Option<scalars::MeasureCategory>,
    /// The day it took effect.
    pub start_date: Option<Date>,
    /// The day it ended (absent while in force).
    pub end_date: MaybeUndefined<Date>,
    /// Its themes, groups and SDGs, each replaced when given.
    #[graphql(flatten)]
    pub tags: TagsPatch,
    /// The citation of the source (at most 1,000 characters).
    pub source: MaybeUndefined<String>,
    /// The source's own code (e.g. `OxCGRT C1=3`; at most 100 characters).
    pub source_code: MaybeUndefined<String>,
    /// An http(s) URL of the source (at most 2,048 characters).
    pub source_url: MaybeUndefined<String>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// Deletes a record by ref.
#[derive(InputObject)]
pub struct DeleteInput {
    /// Its ref (natural key): unique among records of its kind.
    #[graphql(name = "ref")]
    pub reference: String,
    /// The version the deletion is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// A measure as it is after the mutation.
#[derive(SimpleObject)]
pub struct MeasurePayload {
    /// The measure's ref.
    pub measure: Measure,
    /// False when the measure was already exactly so (nothing was written).
    pub changed: bool,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// What a deletion removed.
#[derive(SimpleObject)]
pub struct DeletePayload {
    /// The global id the record had.
    pub deleted_id: ID,
    /// Links deleted with it (in the same transaction).
    pub deleted_links: i32,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

// --- good practices ------------------------------------------------------------------------

/// A new good practice.
#[derive(InputObject)]
pub struct CreateGoodPracticeInput {
    /// Its ref (natural key): unique among records of its kind.
    #[graphql(name = "ref")]
    pub reference: String,
    /// The title (at most 500 characters).
    pub title: String,
    /// What it is and does (at most 20,000 characters).
    pub description: String,
    /// The States it concerns (ISO 3166-1 alpha-3 codes; at most 250).
    #[graphql(default)]
    pub countries: Vec<String>,
    /// The year it was reported.
    pub year: Option<i32>,
    /// Its themes, groups and SDGs.
    #[graphql(flatten)]
    pub tags: Tags,
    /// Refs of the measures it draws on (at most 1,000).
    #[graphql(default)]
    pub measures: Vec<String>,
    /// Refs of the recommendations it answers (at most 1,000).
    #[graphql(default)]
    pub recommendations: Vec<String>,
    /// The citation of the source (at most 1,000 characters).
    pub source: Option<String>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// Changes a good practice; fields not given stay as they are, `null` clears an optional
/// field.
#[derive(InputObject)]
pub struct UpdateGoodPracticeInput {
    /// Its ref (natural key): unique among records of its kind.
    #[graphql(name = "ref")]
    pub reference: String,
    /// The version the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// The title (at most 500 characters).
    pub title: Option<String>,
    /// What it is and does (at most 20,000 characters).
    pub description: Option<String>,
    /// The States it concerns (ISO 3166-1 alpha-3 codes; at most 250).
    pub countries: Option<Vec<String>>,
    /// The year it was reported.
    pub year: MaybeUndefined<i32>,
    /// Its themes, groups and SDGs, each replaced when given.
    #[graphql(flatten)]
    pub tags: TagsPatch,
    /// Refs of the measures it draws on (at most 1,000).
    pub measures: Option<Vec<String>>,
    /// Refs of the recommendations it answers (at most 1,000).
    pub recommendations: Option<Vec<String>>,
    /// The citation of the source (at most 1,000 characters).
    pub source: MaybeUndefined<String>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// A good practice as it is after the mutation.
#[derive(SimpleObject)]
pub struct GoodPracticePayload {
    /// The good practice as it is now.
    pub good_practice: GoodPractice,
    /// False when it was already exactly so (nothing was written).
    pub changed: bool,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

// --- recommendations -----------------------------------------------------------------------

/// A new recommendation.
#[derive(InputObject)]
pub struct CreateRecommendationInput {
    /// Its ref (natural key): unique among records of its kind.
    #[graphql(name = "ref")]
    pub reference: String,
    /// The recommendation's text (at most 20,000 characters).
    pub text: String,
    /// The State it was made to (ISO alpha-3); it must be under review in the session.
    pub state_under_review: String,
    /// The States that made it (ISO alpha-3), at least one and at most 250.
    pub recommending_states: Vec<String>,
    /// The UPR Working Group session it was made in.
    pub session: i32,
    /// How the State under review responded.
    pub response: scalars::Response,
    /// UPR Info action category, 1 to 5.
    pub action_category: Option<i32>,
    /// Its themes, groups and SDGs.
    #[graphql(flatten)]
    pub tags: Tags,
    /// The UN document it is in (e.g. `A/HRC/46/9`; at most 100 characters).
    pub document: Option<String>,
    /// Its paragraph in that document (e.g. `128.15`; at most 100 characters).
    pub paragraph: Option<String>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// Changes a recommendation (its response included); fields not given stay as they are,
/// `null` clears an optional field.
#[derive(InputObject)]
pub struct UpdateRecommendationInput {
    /// Its ref (natural key): unique among records of its kind.
    #[graphql(name = "ref")]
    pub reference: String,
    /// The version the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// The recommendation's text (at most 20,000 characters).
    pub text: Option<String>,
    /// The State it was made to (ISO alpha-3); it must be under review in the session.
    pub state_under_review: Option<String>,
    /// The States that made it (ISO alpha-3), at least one and at most 250.
    pub recommending_states: Option<Vec<String>>,
    /// The UPR Working Group session it was made in.
    pub session: Option<i32>,
    /// How the State under review responded.
    pub response: Option<scalars::Response>,
    /// UPR Info action category, 1 to 5.
    pub action_category: MaybeUndefined<i32>,
    /// Its themes, groups and SDGs, each replaced when given.
    #[graphql(flatten)]
    pub tags: TagsPatch,
    /// The UN document it is in (e.g. `A/HRC/46/9`; at most 100 characters).
    pub document: MaybeUndefined<String>,
    /// Its paragraph in that document (e.g. `128.15`; at most 100 characters).
    pub paragraph: MaybeUndefined<String>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// Sets a recommendation's classification by hand: its action category, themes or groups.
/// Each field given becomes the editor's (`actionCategorySource`, `themesSource` or
/// `groupsSource` EDITOR, with the token's name in `setBy`), and no later assessment or
/// repeat import replaces it; a field left out stays as it is.
#[derive(InputObject)]
pub struct ClassifyRecommendationInput {
    /// Its ref (natural key).
    #[graphql(name = "ref")]
    pub reference: String,
    /// The version the change is based on; a stale one fails with CONFLICT.
    pub expected_version: i32,
    /// UPR Info action category, 1 to 5; `null` gives it back to UPR Info's coding or the
    /// assessment.
    pub action_category: MaybeUndefined<i32>,
    /// Theme slugs (see `themes`; at most 100), replacing the record's.
    pub themes: Option<Vec<String>>,
    /// Affected-group slugs (see `groups`; at most 100), replacing the record's.
    pub groups: Option<Vec<String>>,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// A recommendation as it is after the mutation.
#[derive(SimpleObject)]
pub struct RecommendationPayload {
    /// The recommendation's ref.
    pub recommendation: Recommendation,
    /// False when it was already exactly so (nothing was written).
    pub changed: bool,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// The taxonomy a new record is tagged with.
#[derive(InputObject, Default)]
pub struct Tags {
    /// UPR Info theme slugs (see `themes`; at most 100).
    #[graphql(default)]
    pub themes: Vec<String>,
    /// Affected-group slugs (see `groups`; at most 100).
    #[graphql(default)]
    pub groups: Vec<String>,
    /// SDG goals, 1 to 17.
    #[graphql(default)]
    pub sdgs: Vec<i32>,
}

/// Changes to a record's taxonomy: each list given replaces the record's.
#[derive(InputObject, Default)]
pub struct TagsPatch {
    /// UPR Info theme slugs (see `themes`; at most 100).
    pub themes: Option<Vec<String>>,
    /// Affected-group slugs (see `groups`; at most 100).
    pub groups: Option<Vec<String>>,
    /// SDG goals, 1 to 17.
    pub sdgs: Option<Vec<i32>>,
}

impl TagsPatch {
    pub(crate) fn apply(
        &self,
        themes: &mut Vec<Slug>,
        groups: &mut Vec<Slug>,
        sdgs: &mut Vec<SdgGoal>,
    ) -> Result<()> {
        if let Some(v) = &self.themes {
            *themes = slugs("themes", v)?;
        }
        if let Some(v) = &self.groups {
            *groups = slugs("groups", v)?;
        }
        if let Some(v) = &self.sdgs {
            *sdgs = goals("sdgs", v)?;
        }
        Ok(())
    }
}

fn session(field: &str, n: i32) -> Result<SessionNumber> {
    SessionNumber::new(n as i64).map_err(|e| bad_field(field, e))
}

fn action(field: &str, n: i32) -> Result<ActionCategory> {
    ActionCategory::new(n as i64).map_err(|e| bad_field(field, e))
}

/// The stored record and version of a key, read from the newest catalog.
pub(crate) fn current<T: Clone>(
    found: Option<&Arc<crate::catalog::Row<T>>>,
    what: impl std::fmt::Display,
) -> Result<(T, u32)> {
    found
        .map(|r| (r.record.clone(), r.version))
        .ok_or_else(|| not_found(what))
}

/// A create of something that exists is a conflict, not an overwrite.
pub(crate) fn refuse_existing<T>(
    found: Option<&Arc<crate::catalog::Row<T>>>,
    what: &str,
    instead: &str,
) -> Result<()> {
    match found {
        Some(r) => Err(refusal(Refusal::new(
            RefusalKind::AlreadyExists {
                current_version: Some(r.version),
            },
            None,
            format!(
                "{what} exists already (version {}); use {instead}",
                r.version
            ),
        ))),
        None => Ok(()),
    }
}

/// Refuses a stale base version before anything is built on it (the store checks again
/// inside the transaction, so a race still ends in CONFLICT).
pub(crate) fn check_version(
    what: impl std::fmt::Display,
    expected: u32,
    stored: u32,
) -> Result<()> {
    if expected == stored {
        Ok(())
    } else {
        Err(conflict(
            format!("version conflict on {what}: expected version {expected}, but the stored version is {stored}"),
            stored,
        ))
    }
}

pub(crate) fn put(record: Record, expected: u32) -> Change {
    Change::Put {
        record,
        expected_version: Some(expected),
    }
}

// --- tokens --------------------------------------------------------------------------------

/// A new API token.
#[derive(InputObject)]
pub struct CreateTokenInput {
    /// Who it is for: the author name of every change made with it (1 to 64 letters, digits,
    /// `-`, `_`, `.` or `@`); unique.
    pub name: String,
    /// What it may do.
    pub role: TokenRole,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// What a token may do; each role includes the ones before it.
#[derive(async_graphql::Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "model::Role")]
pub enum TokenRole {
    /// Reads (when the server requires a token to read).
    Reader,
    /// Also changes links, measures and good practices.
    Editor,
    /// Also changes recommendations, and manages tokens.
    Admin,
}

/// A token just created: its secret is shown here once, and never again.
#[derive(SimpleObject)]
pub struct CreateTokenPayload {
    /// The token's name.
    pub name: String,
    /// The token's role.
    pub role: TokenRole,
    /// The secret to send as `Authorization: Bearer <secret>`. Only its hash is stored.
    pub secret: String,
    /// Any string of the client's, as given.
    pub client_mutation_id: Option<String>,
}

/// Revokes a token by name.
#[derive(InputObject)]
pub struct RevokeTokenInput {
    /// The token's name.
    pub name: String,
    /// Any string of the client's, returned as it is in the payload.
    pub client_mutation_id: Option<String>,
}

/// What `revokeToken` did.
#[derive(SimpleObject)]
pub struct RevokeTokenPayload {
    /// The name of the token revoked.
    pub name: String,
    /// Any string of the client's, as given.
    pub client_mutation_id: Option<String>,
}

/// An API token as admins see it: never its secret.
#[derive(SimpleObject)]
pub struct TokenInfo {
    /// The token's name, the author of its changes.
    pub name: String,
    /// What it may do.
    pub role: TokenRole,
    /// When it was created.
    pub created_at: super::scalars::DateTime,
}

/// The tokens of the store, by name (needs an admin token).
pub fn tokens(ctx: &Context<'_>) -> Result<Vec<TokenInfo>> {
    require(ctx, Role::Admin, "tokens")?;
    let live = ctx.data::<Arc<Live>>()?;
    Ok(live
        .store()
        .tokens()
        .map_err(internal)?
        .into_iter()
        .map(|t| TokenInfo {
            name: t.name,
            role: t.role.into(),
            created_at: super::scalars::DateTime(t.created_at),
        })
        .collect())
}

/// Runs a token operation of the store on a blocking thread (it flushes).
async fn token_op<T: Send + 'static>(
    ctx: &Context<'_>,
    op: impl FnOnce(&crate::store::Store) -> crate::store::Result<T> + Send + 'static,
) -> Result<T> {
    let live = ctx.data::<Arc<Live>>()?.clone();
    tokio::task::spawn_blocking(move || op(live.store()))
        .await
        .map_err(internal)?
        .map_err(store_error)
}

/// The mutations for the entities that existed before roots were merged per entity; a new
/// entity adds its own `#[Object]` beside this one and joins [`super::MutationRoot`].
#[derive(Default)]
pub struct CoreMutation;

#[Object]
impl CoreMutation {
    /// Creates an API token (needs an admin token), so staff can be given access without
    /// stopping the server; the secret is in the payload, once.
    async fn create_token(
        &self,
        ctx: &Context<'_>,
        input: CreateTokenInput,
    ) -> Result<CreateTokenPayload> {
        let author = require(ctx, Role::Admin, "createToken")?;
        let (name, role) = (input.name.clone(), input.role.into());
        let secret = token_op(ctx, move |store| store.create_token(&name, role)).await?;
        tracing::info!(token = %input.name, role = %Role::from(input.role), by = %author, "token created");
        Ok(CreateTokenPayload {
            name: input.name,
            role: input.role,
            secret,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Revokes an API token (needs an admin token); requests with it fail from then on.
    async fn revoke_token(
        &self,
        ctx: &Context<'_>,
        input: RevokeTokenInput,
    ) -> Result<RevokeTokenPayload> {
        let author = require(ctx, Role::Admin, "revokeToken")?;
        let name = input.name.clone();
        if !token_op(ctx, move |store| store.revoke_token(&name)).await? {
            return Err(not_found(format!("token {:?}", input.name)));
        }
        latest(ctx)?.token_revoked(&input.name);
        tracing::info!(token = %input.name, by = %author, "token revoked");
        Ok(RevokeTokenPayload {
            name: input.name,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Links a recommendation to a measure, or changes their link given its
    /// `expectedVersion` (needs an editor token). Repeating it changes nothing
    /// (`changed: false`). Rejecting a suggestion is a link with status REJECTED.
    async fn link_recommendation(
        &self,
        ctx: &Context<'_>,
        input: LinkRecommendationInput,
    ) -> Result<LinkPayload> {
        let author = require(ctx, Role::Editor, "linkRecommendation")?;
        let r = reference("recommendation", &input.recommendation)?;
        let m = reference("measure", &input.measure)?;
        let evidence = url_patch("evidenceUrl", input.evidence_url)?;
        let expected = input
            .expected_version
            .map(|v| version("expectedVersion", v))
            .transpose()?;
        let c = latest(ctx)?.snapshot();
        let what = format!("link {r} -> {m}");
        let existing = c.link(r.as_str(), m.as_str()).cloned();
        let now = Timestamp::now();
        let mut record = match &existing {
            Some(l) => l.record.clone(),
            None => model::Link {
                recommendation: r.clone(),
                measure: m.clone(),
                relation: input.relation.into(),
                status: LinkStatus::Confirmed,
                note: None,
                evidence_url: None,
                created_by: Some(author.clone()),
                created_at: Some(now),
                updated_at: None,
            },
        };
        record.relation = input.relation.into();
        record.status = input.status.map(Into::into).unwrap_or_default();
        patch(&mut record.note, input.note);
        patch(&mut record.evidence_url, evidence);
        let unchanged = existing.as_ref().is_some_and(|l| l.record == record);
        let stored = existing.as_ref().map_or(0, |l| l.version);
        // The version the write rests on, checked again by the store under its lock: so a
        // create stays a create, and a repeat stays a repeat, whatever happens meanwhile.
        let base = match expected {
            Some(v) => {
                check_version(&what, v, stored)?;
                v
            }
            None if existing.is_none() || unchanged => stored,
            None => {
                return Err(conflict(
                    format!(
                        "{what} exists (version {stored}): changing it needs expectedVersion (or use updateLink)"
                    ),
                    stored,
                ))
            }
        };
        if existing.is_some() && !unchanged {
            record.updated_at = Some(now);
        }
        let committed = commit(ctx, vec![put(Record::Link(record), base)], author).await?;
        let c = &committed.catalog;
        let link = c
            .link(r.as_str(), m.as_str())
            .cloned()
            .map(Link)
            .ok_or_else(|| internal("link missing after a write"))?;
        Ok(LinkPayload {
            link,
            recommendation: recommendation_in(c, &r)?,
            measure: measure_in(c, &m)?,
            changed: written(&committed.report.outcomes),
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Changes an existing link (needs an editor token).
    async fn update_link(&self, ctx: &Context<'_>, input: UpdateLinkInput) -> Result<LinkPayload> {
        let author = require(ctx, Role::Editor, "updateLink")?;
        let r = reference("recommendation", &input.recommendation)?;
        let m = reference("measure", &input.measure)?;
        let expected = version("expectedVersion", input.expected_version)?;
        let c = latest(ctx)?.snapshot();
        let what = format!("link {r} -> {m}");
        let existing = c
            .link(r.as_str(), m.as_str())
            .cloned()
            .ok_or_else(|| not_found(&what))?;
        check_version(&what, expected, existing.version)?;
        let mut record = existing.record.clone();
        if let Some(rel) = input.relation {
            record.relation = rel.into();
        }
        if let Some(s) = input.status {
            record.status = s.into();
        }
        patch(&mut record.note, input.note);
        let mut evidence = record.evidence_url.take();
        patch(&mut evidence, input.evidence_url);
        record.evidence_url = url("evidenceUrl", evidence)?;
        if record != existing.record {
            record.updated_at = Some(Timestamp::now());
        }
        let changes = vec![put(Record::Link(record), expected)];
        let committed = commit(ctx, changes, author).await?;
        let c = &committed.catalog;
        Ok(LinkPayload {
            link: c
                .link(r.as_str(), m.as_str())
                .cloned()
                .map(Link)
                .ok_or_else(|| not_found(&what))?,
            recommendation: recommendation_in(c, &r)?,
            measure: measure_in(c, &m)?,
            changed: written(&committed.report.outcomes),
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Removes a link (needs an editor token).
    async fn unlink(&self, ctx: &Context<'_>, input: UnlinkInput) -> Result<UnlinkPayload> {
        let author = require(ctx, Role::Editor, "unlink")?;
        let r = reference("recommendation", &input.recommendation)?;
        let m = reference("measure", &input.measure)?;
        let expected = version("expectedVersion", input.expected_version)?;
        let link = LinkKey::new(r.clone(), m.clone());
        let key_text = link.to_string();
        let key = Key::Link(link);
        let committed = commit(
            ctx,
            vec![Change::Delete {
                key,
                expected_version: Some(expected),
            }],
            author,
        )
        .await?;
        let c = &committed.catalog;
        Ok(UnlinkPayload {
            deleted_link_id: global_id("Link", &key_text),
            recommendation: recommendation_in(c, &r)?,
            measure: measure_in(c, &m)?,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Adds a measure (needs an editor token).
    async fn create_measure(
        &self,
        ctx: &Context<'_>,
        input: CreateMeasureInput,
    ) -> Result<MeasurePayload> {
        let author = require(ctx, Role::Editor, "createMeasure")?;
        let id = reference("ref", &input.reference)?;
        let record = model::Measure {
            id: id.clone(),
            country: country("country", &input.country)?,
            title: input.title,
            description: input.description,
            category: input.category.into(),
            start_date: input.start_date.0,
            end_date: input.end_date.map(|d| d.0),
            themes: slugs("themes", &input.tags.themes)?,
            groups: slugs("groups", &input.tags.groups)?,
            sdgs: goals("sdgs", &input.tags.sdgs)?,
            source: input.source,
            source_code: input.source_code,
            source_url: url("sourceUrl", input.source_url)?,
        };
        Ok(MeasurePayload {
            measure: edit::create(ctx, author, &id, record, "updateMeasure").await?,
            changed: true,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Changes a measure (needs an editor token).
    async fn update_measure(
        &self,
        ctx: &Context<'_>,
        input: UpdateMeasureInput,
    ) -> Result<MeasurePayload> {
        let author = require(ctx, Role::Editor, "updateMeasure")?;
        let (reference, expected) = (&input.reference, input.expected_version);
        let changes = move |m: &mut model::Measure| -> Result<()> {
            if let Some(v) = &input.country {
                m.country = country("country", v)?;
            }
            set(&mut m.title, input.title);
            set(&mut m.description, input.description);
            set(&mut m.category, input.category.map(Into::into));
            set(&mut m.start_date, input.start_date.map(|d| d.0));
            let mut end = m.end_date.map(Date);
            patch(&mut end, input.end_date);
            m.end_date = end.map(|d| d.0);
            input
                .tags
                .apply(&mut m.themes, &mut m.groups, &mut m.sdgs)?;
            patch(&mut m.source, input.source);
            patch(&mut m.source_code, input.source_code);
            let mut source_url = m.source_url.take();
            patch(&mut source_url, input.source_url);
            m.source_url = url("sourceUrl", source_url)?;
            Ok(())
        };
        let (measure, changed) = edit::update(ctx, author, reference, expected, changes).await?;
        Ok(MeasurePayload {
            measure,
            changed,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Deletes a measure and, in the same transaction, its links (needs an editor token).
    /// Refused while a good practice cites it.
    async fn delete_measure(&self, ctx: &Context<'_>, input: DeleteInput) -> Result<DeletePayload> {
        let author = require(ctx, Role::Editor, "deleteMeasure")?;
        edit::delete::<Measure>(ctx, author, input).await
    }

    /// Adds a good practice (needs an editor token).
    async fn create_good_practice(
        &self,
        ctx: &Context<'_>,
        input: CreateGoodPracticeInput,
    ) -> Result<GoodPracticePayload> {
        let author = require(ctx, Role::Editor, "createGoodPractice")?;
        let id = reference("ref", &input.reference)?;
        let record = model::GoodPractice {
            id: id.clone(),
            title: input.title,
            description: input.description,
            countries: countries("countries", &input.countries)?,
            year: input.year,
            themes: slugs("themes", &input.tags.themes)?,
            groups: slugs("groups", &input.tags.groups)?,
            sdgs: goals("sdgs", &input.tags.sdgs)?,
            measures: refs("measures", &input.measures)?,
            recommendations: refs("recommendations", &input.recommendations)?,
            source: input.source,
        };
        Ok(GoodPracticePayload {
            good_practice: edit::create(ctx, author, &id, record, "updateGoodPractice").await?,
            changed: true,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Changes a good practice (needs an editor token).
    async fn update_good_practice(
        &self,
        ctx: &Context<'_>,
        input: UpdateGoodPracticeInput,
    ) -> Result<GoodPracticePayload> {
        let author = require(ctx, Role::Editor, "updateGoodPractice")?;
        let (reference, expected) = (&input.reference, input.expected_version);
        let changes = move |p: &mut model::GoodPractice| -> Result<()> {
            set(&mut p.title, input.title);
            set(&mut p.description, input.description);
            if let Some(v) = &input.countries {
                p.countries = countries("countries", v)?;
            }
            patch(&mut p.year, input.year);
            input
                .tags
                .apply(&mut p.themes, &mut p.groups, &mut p.sdgs)?;
            if let Some(v) = &input.measures {
                p.measures = refs("measures", v)?;
            }
            if let Some(v) = &input.recommendations {
                p.recommendations = refs("recommendations", v)?;
            }
            patch(&mut p.source, input.source);
            Ok(())
        };
        let (good_practice, changed) =
            edit::update(ctx, author, reference, expected, changes).await?;
        Ok(GoodPracticePayload {
            good_practice,
            changed,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Deletes a good practice (needs an editor token).
    async fn delete_good_practice(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> Result<DeletePayload> {
        let author = require(ctx, Role::Editor, "deleteGoodPractice")?;
        edit::delete::<GoodPractice>(ctx, author, input).await
    }

    /// Adds a recommendation (needs an admin token).
    async fn create_recommendation(
        &self,
        ctx: &Context<'_>,
        input: CreateRecommendationInput,
    ) -> Result<RecommendationPayload> {
        let author = require(ctx, Role::Admin, "createRecommendation")?;
        let id = reference("ref", &input.reference)?;
        let record = model::Recommendation {
            id: id.clone(),
            text: input.text,
            state_under_review: country("stateUnderReview", &input.state_under_review)?,
            recommending_states: countries("recommendingStates", &input.recommending_states)?,
            session: session("session", input.session)?,
            response: input.response.into(),
            action_category: input
                .action_category
                .map(|a| action("actionCategory", a))
                .transpose()?,
            themes: slugs("themes", &input.tags.themes)?,
            groups: slugs("groups", &input.tags.groups)?,
            sdgs: goals("sdgs", &input.tags.sdgs)?,
            document: input.document,
            paragraph: input.paragraph,
            // A publisher's labels come with an import of its file, not from an editor.
            source_themes: vec![],
            set_by: None,
        };
        refuse_existing(
            latest(ctx)?.snapshot().recommendations.by_ref(id.as_str()),
            &format!("recommendation {id}"),
            "updateRecommendation",
        )?;
        let committed = commit(ctx, vec![put(Record::Recommendation(record), 0)], author).await?;
        Ok(RecommendationPayload {
            recommendation: recommendation_in(&committed.catalog, &id)?,
            changed: true,
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Changes a recommendation, its response included (needs an admin token).
    async fn update_recommendation(
        &self,
        ctx: &Context<'_>,
        input: UpdateRecommendationInput,
    ) -> Result<RecommendationPayload> {
        let author = require(ctx, Role::Admin, "updateRecommendation")?;
        let id = reference("ref", &input.reference)?;
        let expected = version("expectedVersion", input.expected_version)?;
        let c = latest(ctx)?.snapshot();
        let what = format!("recommendation {id}");
        let (old, stored) = current(c.recommendations.by_ref(id.as_str()), &what)?;
        check_version(&what, expected, stored)?;
        let mut r = old.clone();
        if let Some(v) = input.text {
            r.text = v;
        }
        if let Some(v) = &input.state_under_review {
            r.state_under_review = country("stateUnderReview", v)?;
        }
        if let Some(v) = &input.recommending_states {
            r.recommending_states = countries("recommendingStates", v)?;
        }
        if let Some(v) = input.session {
            r.session = session("session", v)?;
        }
        if let Some(v) = input.response {
            r.response = v.into();
        }
        let mut by = r.set_by.take().unwrap_or_default();
        match input.action_category {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => {
                r.action_category = None;
                by.action_category = None;
            }
            MaybeUndefined::Value(a) => {
                r.action_category = Some(action("actionCategory", a)?);
                by.action_category = Some(author.clone());
            }
        }
        input
            .tags
            .apply(&mut r.themes, &mut r.groups, &mut r.sdgs)?;
        if input.tags.themes.is_some() {
            by.themes = Some(author.clone());
        }
        if input.tags.groups.is_some() {
            by.groups = Some(author.clone());
        }
        r.set_by = by.normalized();
        patch(&mut r.document, input.document);
        patch(&mut r.paragraph, input.paragraph);
        let changes = vec![put(Record::Recommendation(r), expected)];
        let committed = commit(ctx, changes, author).await?;
        Ok(RecommendationPayload {
            recommendation: recommendation_in(&committed.catalog, &id)?,
            changed: written(&committed.report.outcomes),
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Sets a recommendation's action category, themes or groups by hand (needs an editor
    /// token): each field given becomes the editor's, source EDITOR, kept with the token's
    /// name (see `Recommendation.setBy`) and audited in its history.
    async fn classify_recommendation(
        &self,
        ctx: &Context<'_>,
        input: ClassifyRecommendationInput,
    ) -> Result<RecommendationPayload> {
        let author = require(ctx, Role::Editor, "classifyRecommendation")?;
        let id = reference("ref", &input.reference)?;
        let expected = version("expectedVersion", input.expected_version)?;
        let c = latest(ctx)?.snapshot();
        let what = format!("recommendation {id}");
        let (old, stored) = current(c.recommendations.by_ref(id.as_str()), &what)?;
        check_version(&what, expected, stored)?;
        let mut r = old.clone();
        let mut by = r.set_by.take().unwrap_or_default();
        match input.action_category {
            MaybeUndefined::Undefined => {}
            MaybeUndefined::Null => {
                r.action_category = None;
                by.action_category = None;
            }
            MaybeUndefined::Value(a) => {
                r.action_category = Some(action("actionCategory", a)?);
                by.action_category = Some(author.clone());
            }
        }
        if let Some(v) = &input.themes {
            r.themes = slugs("themes", v)?;
            by.themes = Some(author.clone());
        }
        if let Some(v) = &input.groups {
            r.groups = slugs("groups", v)?;
            by.groups = Some(author.clone());
        }
        r.set_by = by.normalized();
        let changes = vec![put(Record::Recommendation(r), expected)];
        let committed = commit(ctx, changes, author).await?;
        Ok(RecommendationPayload {
            recommendation: recommendation_in(&committed.catalog, &id)?,
            changed: written(&committed.report.outcomes),
            client_mutation_id: input.client_mutation_id,
        })
    }

    /// Deletes a recommendation and, in the same transaction, its links (needs an admin
    /// token). Refused while a good practice cites it.
    async fn delete_recommendation(
        &self,
        ctx: &Context<'_>,
        input: DeleteInput,
    ) -> Result<DeletePayload> {
        let author = require(ctx, Role::Admin, "deleteRecommendation")?;
        let id = reference("ref", &input.reference)?;
        let expected = version("expectedVersion", input.expected_version)?;
        let change = Change::Delete {
            key: Key::Recommendation(id.clone()),
            expected_version: Some(expected),
        };
        let committed = commit(ctx, vec![change], author).await?;
        Ok(DeletePayload {
            deleted_id: global_id("Recommendation", id.as_str()),
            deleted_links: cascaded(&committed.report.outcomes),
            client_mutation_id: input.client_mutation_id,
        })
    }
}
