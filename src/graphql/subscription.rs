//! Live updates over graphql-transport-ws: each committed (and durable) change, as it
//! happens.
//!
//! Every subscriber reads from a bounded buffer ([`crate::live::EVENT_BUFFER`] events):
//! writers never wait for subscribers. A subscriber that falls further behind receives one
//! error (`extensions.code = "SUBSCRIPTION_LAGGED"`, with how many events it missed) and its
//! subscription ends; it can catch up with the root `changes` field and subscribe again.

use std::sync::Arc;

use async_graphql::{Context, Error, ErrorExtensions, Object, Result, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use super::errors::bad_input;
use super::history::{Change, ChangeKind};
use super::object::{Link, Measure};
use crate::live::{ChangeEvent, Live};
use crate::model::{CountryCode, Entity, Ref};

/// A link was created, changed or deleted.
pub struct LinkEvent(Arc<ChangeEvent>);

/// A link was created, changed or deleted.
#[Object]
impl LinkEvent {
    /// What happened to the link.
    async fn kind(&self) -> ChangeKind {
        self.0.entry.change.into()
    }
    /// The link as it is after the change (null once deleted).
    async fn link(&self) -> Option<Link> {
        let (r, m) = self.0.entry.key.split_once('\t')?;
        self.0.catalog.link(r, m).cloned().map(Link)
    }
    /// The recommendation's ref.
    async fn recommendation(&self) -> &str {
        self.0.entry.key.split('\t').next().unwrap_or_default()
    }
    /// The measure's ref.
    async fn measure(&self) -> &str {
        self.0.entry.key.split('\t').nth(1).unwrap_or_default()
    }
    /// The audit entry of the change: author, time, before and after.
    async fn change(&self) -> Change {
        Change(self.0.entry.clone())
    }
}

/// A measure was created, changed or deleted.
pub struct MeasureEvent(Arc<ChangeEvent>);

/// A measure was created, changed or deleted.
#[Object]
impl MeasureEvent {
    /// What happened to the measure.
    async fn kind(&self) -> ChangeKind {
        self.0.entry.change.into()
    }
    /// The measure as it is after the change (null once deleted).
    async fn measure(&self) -> Option<Measure> {
        self.0
            .catalog
            .measures
            .by_ref(&self.0.entry.key)
            .cloned()
            .map(Measure)
    }
    /// The measure's ref.
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        &self.0.entry.key
    }
    /// The audit entry of the change: author, time, before and after.
    async fn change(&self) -> Change {
        Change(self.0.entry.clone())
    }
}

/// Events of one entity that pass a filter, ending with an error if the subscriber lags,
/// and without one when the server shuts down.
fn events<T: Send + 'static>(
    live: &Live,
    keep: impl Fn(&ChangeEvent) -> bool + Send + 'static,
    wrap: fn(Arc<ChangeEvent>) -> T,
) -> impl Stream<Item = Result<T>> {
    let state = (live.subscribe(), live.on_shutdown(), keep, false);
    futures_util::stream::unfold(
        state,
        move |(mut rx, mut shutdown, keep, done)| async move {
            if done {
                return None;
            }
            loop {
                let event = tokio::select! {
                    e = rx.recv() => e,
                    _ = shutdown.wait_for(|&down| down) => return None,
                };
                match event {
                    Ok(e) if keep(&e) => return Some((Ok(wrap(e)), (rx, shutdown, keep, false))),
                    Ok(_) => {}
                    Err(RecvError::Lagged(missed)) => {
                        let error = Error::new(format!(
                        "this subscription fell {missed} events behind and was closed; catch up with `changes` and subscribe again"
                    ))
                    .extend_with(|_, x| {
                        x.set("code", "SUBSCRIPTION_LAGGED");
                        x.set("missed", missed);
                    });
                        return Some((Err(error), (rx, shutdown, keep, true)));
                    }
                    Err(RecvError::Closed) => return None,
                }
            }
        },
    )
}

fn optional_code(arg: &str, v: Option<String>) -> Result<Option<CountryCode>> {
    v.map(|c| CountryCode::parse(&c).map_err(|e| bad_input(arg, e)))
        .transpose()
}

fn optional_ref(arg: &str, v: Option<String>) -> Result<Option<Ref>> {
    v.map(|r| Ref::parse(&r).map_err(|e| bad_input(arg, e)))
        .transpose()
}

/// Live updates, delivered once a change is committed and durable.
pub struct SubscriptionRoot;

/// Live updates, delivered once a change is committed and durable.
#[Subscription]
impl SubscriptionRoot {
    /// Links created, changed or deleted; every argument given narrows (a link's country is
    /// its measure's).
    async fn link_changed(
        &self,
        ctx: &Context<'_>,
        country: Option<String>,
        recommendation: Option<String>,
        measure: Option<String>,
    ) -> Result<impl Stream<Item = Result<LinkEvent>>> {
        let country = optional_code("country", country)?;
        let recommendation = optional_ref("recommendation", recommendation)?;
        let measure = optional_ref("measure", measure)?;
        let live = ctx.data::<Arc<Live>>()?;
        Ok(events(
            live,
            move |e| {
                let (r, m) = e.entry.key.split_once('\t').unwrap_or_default();
                e.entry.entity == Entity::Link
                    && country.is_none_or(|c| e.country == Some(c))
                    && recommendation.as_ref().is_none_or(|x| x.as_str() == r)
                    && measure.as_ref().is_none_or(|x| x.as_str() == m)
            },
            LinkEvent,
        ))
    }

    /// Measures created, changed or deleted, of one country or of all.
    async fn measure_changed(
        &self,
        ctx: &Context<'_>,
        country: Option<String>,
    ) -> Result<impl Stream<Item = Result<MeasureEvent>>> {
        let country = optional_code("country", country)?;
        let live = ctx.data::<Arc<Live>>()?;
        Ok(events(
            live,
            move |e| {
                e.entry.entity == Entity::Measure && country.is_none_or(|c| e.country == Some(c))
            },
            MeasureEvent,
        ))
    }
}
