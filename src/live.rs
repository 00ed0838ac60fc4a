//! The running state of a server: the store, the catalog snapshot that queries read, and the
//! stream of committed changes that subscriptions follow.
//!
//! A write ([`Live::write`]) goes:
//! 1. under the writer lock: one store transaction (with its audit entries), then the next
//!    catalog, derived from the latest one by [`Catalog::absorb`]; so catalogs follow commits
//!    in commit order;
//! 2. outside the lock: a flush, so the write is durable before anyone hears of it. Writers
//!    flush concurrently, so one flush often covers several commits (group commit);
//! 3. the new catalog is published to readers (unless a later one already was: it includes
//!    this write, and it too was flushed), and the change events go to subscribers.
//!
//! Readers never wait for writers: a query holds the snapshot it started with.

use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{broadcast, watch};

use crate::catalog::Catalog;
use crate::model::{CountryCode, HistoryEntry};
use crate::store::{ApplyOptions, ApplyReport, Change, Result, Store};

/// How many change events a subscriber may fall behind before it is dropped.
pub const EVENT_BUFFER: usize = 1024;

/// One committed change, as subscribers see it.
pub struct ChangeEvent {
    pub entry: HistoryEntry,
    /// The catalog right after the write (the changed record, when it still exists, is in it).
    pub catalog: Arc<Catalog>,
    /// The country the change concerns: a measure's, or a link's measure's.
    pub country: Option<CountryCode>,
}

/// What a write did: the store's report and the catalog that includes it.
pub struct Committed {
    pub report: ApplyReport,
    pub catalog: Arc<Catalog>,
}

pub struct Live {
    store: Arc<Store>,
    /// What new queries read.
    current: RwLock<Arc<Catalog>>,
    /// The writer lock, guarding the newest catalog (which may not be durable yet).
    latest: Mutex<Arc<Catalog>>,
    events: broadcast::Sender<Arc<ChangeEvent>>,
    shutdown: watch::Sender<bool>,
}

impl Live {
    pub fn new(store: Arc<Store>, catalog: Catalog) -> Live {
        let catalog = Arc::new(catalog);
        Live {
            store,
            current: RwLock::new(catalog.clone()),
            latest: Mutex::new(catalog),
            events: broadcast::channel(EVENT_BUFFER).0,
            shutdown: watch::channel(false).0,
        }
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The catalog as of the last durable write.
    pub fn snapshot(&self) -> Arc<Catalog> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeEvent>> {
        self.events.subscribe()
    }

    /// How many subscribers follow the changes now.
    pub fn subscribers(&self) -> usize {
        self.events.receiver_count()
    }

    /// Resolves once [`Live::shut_down`] is called (subscriptions end then).
    pub fn on_shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
    }

    /// Applies `changes` as one audited transaction by `author`, durably. Blocking: call it
    /// from a blocking thread.
    pub fn write(&self, changes: Vec<Change>, author: &str) -> Result<Committed> {
        let (report, previous, next) = {
            let mut latest = self.latest.lock().unwrap_or_else(|p| p.into_inner());
            let report = self.store.apply(
                changes,
                ApplyOptions {
                    author: Some(author),
                    report_writes: true,
                    ..ApplyOptions::default()
                },
            )?;
            if report.writes.is_empty() {
                // Nothing to write; but what the caller is told may rest on another writer's
                // commit that is not flushed yet: flush before answering, as for a write.
                let catalog = latest.clone();
                drop(latest);
                self.store.flush()?;
                return Ok(Committed { report, catalog });
            }
            let mut next = (**latest).clone();
            if let Err(e) = next.absorb(&self.store, &report.writes) {
                // The store has the write; a snapshot that cannot follow it is rebuilt whole.
                tracing::error!(error = %e, "catalog could not absorb a write; reloading it");
                let generation = next.generation + 1;
                next = Catalog::load(&self.store)?;
                next.generation = generation;
            }
            let next = Arc::new(next);
            let previous = std::mem::replace(&mut *latest, next.clone());
            (report, previous, next)
        };
        self.store.flush()?;
        {
            let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
            if current.generation < next.generation {
                *current = next.clone();
            }
        }
        for entry in &report.history {
            let country = country_of(entry, &next).or_else(|| country_of(entry, &previous));
            // No subscribers is not an error.
            let _ = self.events.send(Arc::new(ChangeEvent {
                entry: entry.clone(),
                catalog: next.clone(),
                country,
            }));
        }
        Ok(Committed {
            report,
            catalog: next,
        })
    }
}

/// The country of a measure, or of a link's measure, looked up in a catalog.
fn country_of(entry: &HistoryEntry, catalog: &Catalog) -> Option<CountryCode> {
    use crate::model::Entity;
    let measure = match entry.entity {
        Entity::Measure => entry.key.as_str(),
        Entity::Link => entry.key.split_once('\t')?.1,
        _ => return None,
    };
    catalog.measures.by_ref(measure).map(|m| m.record.country)
}
