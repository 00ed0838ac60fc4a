//! Live updates over graphql-transport-ws: each committed (and durable) change, in commit
//! order.
//!
//! Every subscriber reads from its own bounded queue ([`crate::live::EVENT_BUFFER`] events
//! and [`crate::live::EVENT_BUFFER_BYTES`] bytes): writers never wait for subscribers. A
//! subscriber that falls further behind receives one error (`extensions.code =
//! "SUBSCRIPTION_LAGGED"`, with how many events it missed) and its subscription ends; it can
//! catch up with the root `changes` field and subscribe again.

use std::sync::Arc;

use async_graphql::{Context, Error, ErrorExtensions, Object, Result, Subscription};
use futures_util::Stream;

use super::errors::bad_input;
use super::history::{Change, ChangeKind};
use super::object::{Concern, Link, Measure};
use crate::live::{ChangeEvent, Changed, EventFilter, Live, Next};
use crate::model::{CountryCode, Ref};

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
        match &self.0.record {
            Some(Changed::Link(l)) => Some(Link(l.clone())),
            _ => None,
        }
    }
    /// The recommendation's ref.
    async fn recommendation(&self) -> &str {
        self.0.link_refs().0
    }
    /// The measure's ref.
    async fn measure(&self) -> &str {
        self.0.link_refs().1
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
        match &self.0.record {
            Some(Changed::Measure(m)) => Some(Measure(m.clone())),
            _ => None,
        }
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

/// An issue of concern was created, changed or deleted.
pub struct ConcernEvent(Arc<ChangeEvent>);

/// An issue of concern was created, changed or deleted.
#[Object]
impl ConcernEvent {
    /// What happened to the concern.
    async fn kind(&self) -> ChangeKind {
        self.0.entry.change.into()
    }
    /// The concern as it is after the change (null once deleted).
    async fn concern(&self) -> Option<Concern> {
        match &self.0.record {
            Some(Changed::Concern(c)) => Some(Concern(c.clone())),
            _ => None,
        }
    }
    /// The concern's ref.
    #[graphql(name = "ref")]
    async fn reference(&self) -> &str {
        &self.0.entry.key
    }
    /// The audit entry of the change: author, time, before and after.
    async fn change(&self) -> Change {
        Change(self.0.entry.clone())
    }
}

/// The events that pass a filter, ending with an error if the subscriber lags, and without
/// one when the server shuts down.
fn events<T: Send + 'static>(
    live: &Live,
    filter: EventFilter,
    wrap: fn(Arc<ChangeEvent>) -> T,
) -> impl Stream<Item = Result<T>> {
    futures_util::stream::unfold(Some(live.subscribe(filter)), move |sub| async move {
        let mut sub = sub?;
        match sub.next().await? {
            Next::Event(e) => Some((Ok(wrap(e)), Some(sub))),
            Next::Lagged { missed } => {
                let error = Error::new(format!(
                    "this subscription fell too far behind and was closed ({missed} events were not delivered); catch up with `changes` and subscribe again"
                ))
                .extend_with(|_, x| {
                    x.set("code", "SUBSCRIPTION_LAGGED");
                    x.set("missed", missed);
                });
                Some((Err(error), None))
            }
            Next::Closed => None,
        }
    })
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
        let filter = EventFilter::Links {
            country,
            recommendation,
            measure,
        };
        Ok(events(live, filter, LinkEvent))
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
            EventFilter::Measures { country },
            MeasureEvent,
        ))
    }

    /// Issues of concern created, changed or deleted, about one country (before or after
    /// the change) or about any.
    async fn concern_changed(
        &self,
        ctx: &Context<'_>,
        country: Option<String>,
    ) -> Result<impl Stream<Item = Result<ConcernEvent>>> {
        let country = optional_code("country", country)?;
        let live = ctx.data::<Arc<Live>>()?;
        Ok(events(
            live,
            EventFilter::Concerns { country },
            ConcernEvent,
        ))
    }
}
