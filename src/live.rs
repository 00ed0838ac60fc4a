//! The running state of a server: the store, the catalog snapshot that queries read, and the
//! stream of committed changes that subscriptions follow.
//!
//! A write ([`Live::write`]) goes:
//! 1. under the writer lock: one store transaction (with its audit entries), then the next
//!    catalog, derived from the latest one by [`Catalog::absorb`], and the commit's change
//!    events, queued as *pending* under the commit's sequence number; so catalogs and events
//!    follow commits in commit order;
//! 2. outside the lock: a flush, so the write is durable before anyone hears of it. Writers
//!    flush concurrently, so one flush often covers several commits (group commit);
//! 3. the *durable watermark* moves up to the flushed commit (a flush makes every earlier
//!    commit durable too), and every pending commit up to it is released, oldest first, by
//!    whichever writer gets there first: its catalog is published to readers, its audit
//!    entries become visible to `changes` and `history`, and its events go to subscribers.
//!
//! So readers never see a write before it is durable, and every subscriber receives events
//! in commit order. Readers never wait for writers: a query holds the snapshot it started
//! with.
//!
//! # Subscribers
//! Each subscriber ([`Live::subscribe`]) has its own queue, and is indexed by the narrowest
//! thing its filter names (a measure, a recommendation, a country, or an entity): delivering
//! an event costs the subscribers it may concern, not every subscriber. A queue is bounded in
//! events and in bytes ([`Live::set_subscriber_budget`]); writers never wait for subscribers: one
//! that falls behind past its budget loses its queue (freed at once) and is told so
//! ([`Next::Lagged`]) when it next reads.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock, Weak};

use tokio::sync::{broadcast, watch, Notify};

use crate::catalog::{Catalog, LinkRow, Row};
use crate::model::{Concern, CountryCode, Entity, HistoryEntry, LinkKey, Measure, Ref, Timestamp};
use crate::store::history::{history_key_from, HistoryKey};
use crate::store::{
    ApplyOptions, ApplyReport, Change, ChangeSet, FeedItem, FollowPoint, Result, Store, StoreError,
};

/// How many change events a subscriber may have queued before it is dropped.
pub const EVENT_BUFFER: usize = 1024;
/// How many bytes of change events a subscriber may have queued before it is dropped.
pub const EVENT_BUFFER_BYTES: usize = 4 << 20;

/// The record a change left, as it is right after the commit.
#[derive(Clone)]
pub enum Changed {
    Measure(Arc<Row<Measure>>),
    Link(Arc<LinkRow>),
    Concern(Arc<Row<Concern>>),
}

/// One committed change, as subscribers see it: what it delivers and nothing more (no
/// catalog, so a queued event costs about the size of its record).
pub struct ChangeEvent {
    pub entry: HistoryEntry,
    /// The changed record right after the commit (None once deleted, and for entities that
    /// have no subscription).
    pub record: Option<Changed>,
    /// The country the change concerns: a measure's, or a link's measure's.
    pub country: Option<CountryCode>,
    /// The countries a concern is about, before and after the change together, so that a
    /// subscriber to a country hears of a concern that moves away from it too.
    pub countries: Vec<CountryCode>,
    /// About how much memory the event holds (its share of a subscriber's byte budget).
    pub bytes: usize,
}

impl ChangeEvent {
    fn new(entry: HistoryEntry, next: &Catalog, previous: &Catalog) -> ChangeEvent {
        let record = match entry.entity {
            Entity::Measure => next
                .measures
                .by_ref(&entry.key)
                .cloned()
                .map(Changed::Measure),
            Entity::Link => LinkKey::split(&entry.key)
                .and_then(|(r, m)| next.link(r, m))
                .cloned()
                .map(Changed::Link),
            Entity::Concern => next
                .concerns
                .by_ref(&entry.key)
                .cloned()
                .map(Changed::Concern),
            _ => None,
        };
        let country = country_of(&entry, next).or_else(|| country_of(&entry, previous));
        let mut countries = vec![];
        if entry.entity == Entity::Concern {
            for c in [next, previous] {
                if let Some(r) = c.concerns.by_ref(&entry.key) {
                    countries.extend(r.record.countries.iter().copied());
                }
            }
            countries.sort_unstable();
            countries.dedup();
        }
        let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        // The record is about the size of its JSON form (`after`).
        let bytes = std::mem::size_of::<ChangeEvent>()
            + entry.author.len()
            + entry.key.len()
            + text(&entry.before)
            + 2 * text(&entry.after)
            + text(&entry.note);
        ChangeEvent {
            entry,
            record,
            country,
            countries,
            bytes,
        }
    }

    /// The link's recommendation and measure refs (empty for other entities).
    pub fn link_refs(&self) -> (&str, &str) {
        LinkKey::split(&self.entry.key).unwrap_or_default()
    }
}

/// What a write did: the store's report and the catalog that includes it.
pub struct Committed {
    pub report: ApplyReport,
    pub catalog: Arc<Catalog>,
}

/// Which events a subscriber wants. Every part given narrows.
#[derive(Debug, Clone)]
pub enum EventFilter {
    Links {
        country: Option<CountryCode>,
        recommendation: Option<Ref>,
        measure: Option<Ref>,
    },
    Measures {
        country: Option<CountryCode>,
    },
    Concerns {
        country: Option<CountryCode>,
    },
}

/// What subscribers are indexed by: one topic per subscriber (the narrowest its filter
/// names); an event reaches the subscribers of each topic it falls under.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Topic {
    Links,
    LinksOfCountry(CountryCode),
    LinksOfRecommendation(String),
    LinksOfMeasure(String),
    Measures,
    MeasuresOfCountry(CountryCode),
    Concerns,
    ConcernsOfCountry(CountryCode),
}

impl EventFilter {
    fn topic(&self) -> Topic {
        match self {
            EventFilter::Links {
                measure: Some(m), ..
            } => Topic::LinksOfMeasure(m.as_str().to_owned()),
            EventFilter::Links {
                recommendation: Some(r),
                ..
            } => Topic::LinksOfRecommendation(r.as_str().to_owned()),
            EventFilter::Links {
                country: Some(c), ..
            } => Topic::LinksOfCountry(*c),
            EventFilter::Links { .. } => Topic::Links,
            EventFilter::Measures { country: Some(c) } => Topic::MeasuresOfCountry(*c),
            EventFilter::Measures { country: None } => Topic::Measures,
            EventFilter::Concerns { country: Some(c) } => Topic::ConcernsOfCountry(*c),
            EventFilter::Concerns { country: None } => Topic::Concerns,
        }
    }

    pub fn matches(&self, e: &ChangeEvent) -> bool {
        match self {
            EventFilter::Links {
                country,
                recommendation,
                measure,
            } => {
                let (r, m) = e.link_refs();
                e.entry.entity == Entity::Link
                    && country.is_none_or(|c| e.country == Some(c))
                    && recommendation.as_ref().is_none_or(|x| x.as_str() == r)
                    && measure.as_ref().is_none_or(|x| x.as_str() == m)
            }
            EventFilter::Measures { country } => {
                e.entry.entity == Entity::Measure && country.is_none_or(|c| e.country == Some(c))
            }
            EventFilter::Concerns { country } => {
                e.entry.entity == Entity::Concern
                    && country.is_none_or(|c| e.countries.contains(&c))
            }
        }
    }
}

/// The topics an event falls under.
fn topics_of(e: &ChangeEvent) -> Vec<Topic> {
    match e.entry.entity {
        Entity::Link => {
            let (r, m) = e.link_refs();
            let mut t = vec![
                Topic::Links,
                Topic::LinksOfRecommendation(r.to_owned()),
                Topic::LinksOfMeasure(m.to_owned()),
            ];
            t.extend(e.country.map(Topic::LinksOfCountry));
            t
        }
        Entity::Measure => {
            let mut t = vec![Topic::Measures];
            t.extend(e.country.map(Topic::MeasuresOfCountry));
            t
        }
        Entity::Concern => {
            let mut t = vec![Topic::Concerns];
            t.extend(e.countries.iter().copied().map(Topic::ConcernsOfCountry));
            t
        }
        _ => vec![],
    }
}

/// What a subscriber reads next.
pub enum Next {
    Event(Arc<ChangeEvent>),
    /// The subscriber fell past its budget: `missed` events were dropped undelivered, and the
    /// subscription is over.
    Lagged {
        missed: u64,
    },
    /// The server is shutting down.
    Closed,
}

#[derive(Default)]
struct Queue {
    events: VecDeque<Arc<ChangeEvent>>,
    bytes: usize,
    lagged: Option<u64>,
    closed: bool,
}

struct Subscriber {
    filter: EventFilter,
    queue: Mutex<Queue>,
    /// One reader per queue, so a stored permit never wakes the wrong one.
    ready: Notify,
}

impl Subscriber {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[derive(Default)]
struct Registry {
    next_id: u64,
    by_topic: HashMap<Topic, HashMap<u64, Arc<Subscriber>>>,
    count: usize,
    closed: bool,
}

impl Registry {
    fn remove(&mut self, topic: &Topic, id: u64) {
        if let Some(subs) = self.by_topic.get_mut(topic) {
            if subs.remove(&id).is_some() {
                self.count -= 1;
            }
            if subs.is_empty() {
                self.by_topic.remove(topic);
            }
        }
    }
}

/// One subscriber's end: read with [`Subscription::next`]; dropping it unsubscribes.
pub struct Subscription {
    id: u64,
    topic: Topic,
    subscriber: Arc<Subscriber>,
    registry: Arc<Mutex<Registry>>,
    shared: Arc<Shared>,
    done: bool,
}

impl Subscription {
    /// The next event, in commit order; `None` after the subscription ended.
    pub async fn next(&mut self) -> Option<Next> {
        if self.done {
            return None;
        }
        loop {
            {
                let mut q = self.subscriber.queue();
                if let Some(e) = q.events.pop_front() {
                    q.bytes -= e.bytes;
                    self.shared
                        .queued_bytes
                        .fetch_sub(e.bytes, Ordering::Relaxed);
                    return Some(Next::Event(e));
                }
                if let Some(missed) = q.lagged {
                    self.done = true;
                    return Some(Next::Lagged { missed });
                }
                if q.closed {
                    self.done = true;
                    return Some(Next::Closed);
                }
            }
            self.subscriber.ready.notified().await;
        }
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        lock(&self.registry).remove(&self.topic, self.id);
        let q = std::mem::take(&mut *self.subscriber.queue());
        self.shared
            .queued_bytes
            .fetch_sub(q.bytes, Ordering::Relaxed);
    }
}

/// Counters shared with subscriptions.
struct Shared {
    queued_bytes: AtomicUsize,
    /// Subscriptions dropped for falling past their budget, since start.
    lagged_drops: AtomicU64,
    budget_events: AtomicUsize,
    budget_bytes: AtomicUsize,
}

/// The newest catalog (which may not be durable yet) and the last commit's number.
struct Head {
    catalog: Arc<Catalog>,
    seq: u64,
}

/// A commit waiting for a flush.
struct PendingCommit {
    seq: u64,
    catalog: Arc<Catalog>,
    events: Vec<Arc<ChangeEvent>>,
    /// Keys written to the audit trail.
    history: Vec<HistoryKey>,
}

#[derive(Default)]
struct Pending {
    commits: VecDeque<PendingCommit>,
    /// Every commit up to this one is durable (and released).
    durable: u64,
}

/// The audit trail as far as it is durable: its keys in order (to count without a scan).
struct DurableHistory {
    keys: Vec<HistoryKey>,
}

pub struct Live {
    store: Arc<Store>,
    /// What new queries read: the catalog of the last released (durable) commit.
    current: RwLock<Arc<Catalog>>,
    /// The writer lock.
    head: Mutex<Head>,
    /// Commits not yet known to be durable, and the durable watermark.
    pending: Mutex<Pending>,
    history: RwLock<DurableHistory>,
    registry: Arc<Mutex<Registry>>,
    shared: Arc<Shared>,
    revocations: broadcast::Sender<Arc<str>>,
    shutdown: watch::Sender<bool>,
    /// Writers pass it (shared) between commit and flush; see [`Live::hold_flushes`].
    flush_gate: RwLock<()>,
    /// For a replicated store: how far the snapshot follows the store's feed.
    replica: Option<Replica>,
}

/// A server's place among the servers of one replicated store.
struct Replica {
    /// The store's commit number the snapshot has reached, and who waits for it.
    applied: Mutex<u64>,
    advanced: Condvar,
    state: Mutex<ReplicaState>,
}

/// How a server follows a replicated store (for `/ready` and the metrics).
#[derive(Debug, Clone, Default)]
pub struct ReplicaState {
    /// Whether the feed is being followed now (false while reloading).
    pub following: bool,
    /// The store's commit number the snapshot has reached.
    pub revision: u64,
    /// Commits received from the feed since start.
    pub commits: u64,
    /// Whole reloads since start (feed lost, or the store replaced by a large write).
    pub reloads: u64,
    /// Why the last reload happened.
    pub last_reload: Option<String>,
}

/// How long a write waits to see its own commit come back through the feed.
const READ_YOUR_WRITE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// While held, writers commit but do not flush (see [`Live::hold_flushes`]).
pub struct FlushHold<'a>(#[allow(dead_code)] std::sync::RwLockWriteGuard<'a, ()>);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Live {
    /// Everything in the store when it is opened is durable (it was read back from disk).
    pub fn new(store: Arc<Store>, catalog: Catalog) -> Live {
        let keys = match store.history_keys() {
            Ok(k) => k,
            Err(e) => {
                tracing::error!(error = %e, "reading the audit trail's keys failed");
                vec![]
            }
        };
        let catalog = Arc::new(catalog);
        Live {
            store,
            current: RwLock::new(catalog.clone()),
            head: Mutex::new(Head { catalog, seq: 0 }),
            pending: Mutex::new(Pending::default()),
            history: RwLock::new(DurableHistory { keys }),
            registry: Arc::default(),
            shared: Arc::new(Shared {
                queued_bytes: AtomicUsize::new(0),
                lagged_drops: AtomicU64::new(0),
                budget_events: AtomicUsize::new(EVENT_BUFFER),
                budget_bytes: AtomicUsize::new(EVENT_BUFFER_BYTES),
            }),
            revocations: broadcast::channel(64).0,
            shutdown: watch::channel(false).0,
            flush_gate: RwLock::new(()),
            replica: None,
        }
    }

    /// A server of a replicated store: `catalog` was loaded through the view that
    /// [`Store::pin`] returned with `point`, and holds the store's commit `revision`. A
    /// thread follows the store's feed from there, so writes made through any server reach
    /// this one's snapshot (and subscribers) in commit order.
    pub fn replicated(
        store: Arc<Store>,
        catalog: Catalog,
        revision: u64,
        point: FollowPoint,
    ) -> Arc<Live> {
        let mut live = Live::new(store, catalog);
        live.replica = Some(Replica {
            applied: Mutex::new(revision),
            advanced: Condvar::new(),
            state: Mutex::new(ReplicaState {
                following: true,
                revision,
                ..ReplicaState::default()
            }),
        });
        let live = Arc::new(live);
        let weak = Arc::downgrade(&live);
        let shutdown = live.on_shutdown();
        let spawned = std::thread::Builder::new()
            .name("follow".into())
            .spawn(move || follow(weak, point, shutdown));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the thread that follows the store");
        }
        live
    }

    /// How this server follows a replicated store (`None`: the store is its own).
    pub fn replica_state(&self) -> Option<ReplicaState> {
        self.replica.as_ref().map(|r| lock(&r.state).clone())
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

    /// How far behind each subscriber may fall (queued events, queued bytes) before it is
    /// dropped. Applies to events queued from now on.
    pub fn set_subscriber_budget(&self, events: usize, bytes: usize) {
        self.shared.budget_events.store(events, Ordering::Relaxed);
        self.shared.budget_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Subscribes to the events that pass `filter`, from the next released commit on.
    pub fn subscribe(&self, filter: EventFilter) -> Subscription {
        let topic = filter.topic();
        let subscriber = Arc::new(Subscriber {
            filter,
            queue: Mutex::default(),
            ready: Notify::new(),
        });
        let mut registry = lock(&self.registry);
        registry.next_id += 1;
        let id = registry.next_id;
        if registry.closed {
            subscriber.queue().closed = true;
        } else {
            registry
                .by_topic
                .entry(topic.clone())
                .or_default()
                .insert(id, subscriber.clone());
            registry.count += 1;
        }
        Subscription {
            id,
            topic,
            subscriber,
            registry: self.registry.clone(),
            shared: self.shared.clone(),
            done: false,
        }
    }

    /// How many subscriptions are registered.
    pub fn subscribers(&self) -> usize {
        lock(&self.registry).count
    }

    /// How many subscriptions were dropped for falling behind, since the server started.
    pub fn lagged_drops(&self) -> u64 {
        self.shared.lagged_drops.load(Ordering::Relaxed)
    }

    /// The bytes of events queued for all subscribers (an event queued for two counts twice).
    pub fn queued_bytes(&self) -> usize {
        self.shared.queued_bytes.load(Ordering::Relaxed)
    }

    /// Tells whoever holds connections authenticated by token `name` that it was revoked.
    pub fn token_revoked(&self, name: &str) {
        // No listeners is not an error.
        let _ = self.revocations.send(Arc::from(name));
    }

    /// The names of tokens revoked from now on.
    pub fn revocations(&self) -> broadcast::Receiver<Arc<str>> {
        self.revocations.subscribe()
    }

    /// Resolves once [`Live::shut_down`] is called.
    pub fn on_shutdown(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Ends every subscription (and refuses new ones).
    pub fn shut_down(&self) {
        self.shutdown.send_replace(true);
        let mut registry = lock(&self.registry);
        registry.closed = true;
        for subs in registry.by_topic.values() {
            for s in subs.values() {
                s.queue().closed = true;
                s.ready.notify_one();
            }
        }
    }

    /// The key of the newest durable audit entry: `changes` and `history` show nothing past
    /// it.
    pub fn durable_history(&self) -> HistoryKey {
        let h = self.history.read().unwrap_or_else(|p| p.into_inner());
        h.keys.last().copied().unwrap_or([0; 16])
    }

    /// How many durable audit entries there are from `since` on, up to `until` (a
    /// [`Live::durable_history`]): two binary searches, no scan.
    pub fn count_changes(&self, since: Option<Timestamp>, until: HistoryKey) -> u64 {
        let h = self.history.read().unwrap_or_else(|p| p.into_inner());
        let from = since.map(history_key_from).unwrap_or([0; 16]);
        let start = h.keys.partition_point(|k| *k < from);
        let end = h.keys.partition_point(|k| *k <= until);
        end.saturating_sub(start) as u64
    }

    /// Holds every write between its commit and its flush until the hold is dropped: for
    /// tests of what is visible in that window (nothing should be).
    #[doc(hidden)]
    pub fn hold_flushes(&self) -> FlushHold<'_> {
        FlushHold(self.flush_gate.write().unwrap_or_else(|p| p.into_inner()))
    }

    /// Applies `changes` as one audited transaction by `author`, durably. Blocking: call it
    /// from a blocking thread.
    pub fn write(&self, changes: Vec<Change>, author: &str) -> Result<Committed> {
        if let Some(replica) = &self.replica {
            return self.write_replicated(replica, changes, author);
        }
        let (seq, report, next) = {
            let mut head = lock(&self.head);
            let report = self.store.apply(changes, audited(author))?;
            if report.changes.is_empty() && report.history.is_empty() {
                // Nothing to write; but what the caller is told may rest on another writer's
                // commit that is not flushed yet: flush (and release it) before answering.
                let (seq, catalog) = (head.seq, head.catalog.clone());
                drop(head);
                self.store.flush()?;
                self.release(seq);
                return Ok(Committed { report, catalog });
            }
            let next = self.stage(&mut head, &report.changes, &report.history)?;
            (head.seq, report, next)
        };
        {
            let _open = self.flush_gate.read().unwrap_or_else(|p| p.into_inner());
            self.store.flush()?;
        }
        self.release(seq);
        Ok(Committed {
            report,
            catalog: next,
        })
    }

    /// Derives the next catalog from the head's by one commit, and queues the commit (its
    /// catalog, events and audit keys) as pending under the next sequence number. Called
    /// under the writer lock, so commits queue in commit order.
    fn stage(
        &self,
        head: &mut Head,
        changes: &ChangeSet,
        history: &[HistoryEntry],
    ) -> Result<Arc<Catalog>> {
        let mut next = (*head.catalog).clone();
        if let Err(e) = next.absorb(&self.store, changes) {
            // The store has the write; a snapshot that cannot follow it is rebuilt whole.
            tracing::error!(error = %e, "catalog could not absorb a write; reloading it");
            let generation = next.generation + 1;
            next = Catalog::load(&self.store)?;
            next.generation = generation;
        }
        let next = Arc::new(next);
        let previous = std::mem::replace(&mut head.catalog, next.clone());
        head.seq += 1;
        let events = history
            .iter()
            .map(|e| Arc::new(ChangeEvent::new(e.clone(), &next, &previous)))
            .collect();
        let history = history
            .iter()
            .map(|e| crate::store::history::history_key(e.at, e.seq))
            .collect();
        lock(&self.pending).commits.push_back(PendingCommit {
            seq: head.seq,
            catalog: next.clone(),
            events,
            history,
        });
        Ok(next)
    }

    /// A write to a replicated store: committed by the store (etcd's commit is durable), then
    /// seen back through the feed like every other server's writes, which this waits for so
    /// that the answer reflects the write.
    fn write_replicated(
        &self,
        replica: &Replica,
        changes: Vec<Change>,
        author: &str,
    ) -> Result<Committed> {
        let report = self.store.apply(changes, audited(author))?;
        let want = report.changes.revision;
        let applied = lock(&replica.applied);
        let (applied, waited) = replica
            .advanced
            .wait_timeout_while(applied, READ_YOUR_WRITE_WAIT, |at| *at < want)
            .unwrap_or_else(|p| p.into_inner());
        if waited.timed_out() {
            tracing::warn!(
                revision = want,
                applied = *applied,
                "a write is committed but this server has not seen it come back yet"
            );
        }
        drop(applied);
        Ok(Committed {
            report,
            catalog: self.snapshot(),
        })
    }

    /// One commit from the feed of a replicated store: staged and released at once (it is
    /// durable already).
    fn apply_from_feed(&self, changes: ChangeSet, history: Vec<HistoryEntry>) -> Result<()> {
        let Some(replica) = &self.replica else {
            return Ok(());
        };
        let seq = {
            let mut head = lock(&self.head);
            self.stage(&mut head, &changes, &history)?;
            head.seq
        };
        self.release(seq);
        self.advance(replica, changes.revision, |s| s.commits += 1);
        Ok(())
    }

    fn advance(&self, replica: &Replica, revision: u64, note: impl FnOnce(&mut ReplicaState)) {
        {
            let mut state = lock(&replica.state);
            state.revision = revision;
            note(&mut state);
        }
        let mut applied = lock(&replica.applied);
        *applied = revision;
        replica.advanced.notify_all();
    }

    /// Loads the whole snapshot again from the store as it is now; returns where to follow
    /// the feed from.
    fn reload(&self, why: &str) -> Result<FollowPoint> {
        let Some(replica) = &self.replica else {
            return Err(StoreError::Unsupported("not a replicated store".into()));
        };
        {
            let mut state = lock(&replica.state);
            state.following = false;
            state.reloads += 1;
            state.last_reload = Some(why.to_owned());
        }
        let (view, point) = self
            .store
            .pin()?
            .ok_or_else(|| StoreError::Unsupported("not a replicated store".into()))?;
        let mut catalog = Catalog::load(&view)?;
        let revision = view.revision()?;
        let keys = view.history_keys()?;
        {
            let mut head = lock(&self.head);
            catalog.generation = head.catalog.generation + 1;
            let catalog = Arc::new(catalog);
            head.catalog = catalog.clone();
            *self.history.write().unwrap_or_else(|p| p.into_inner()) = DurableHistory { keys };
            *self.current.write().unwrap_or_else(|p| p.into_inner()) = catalog;
        }
        self.advance(replica, revision, |s| s.following = true);
        Ok(point)
    }

    /// Moves the durable watermark up to commit `seq` (just flushed) and releases every
    /// pending commit up to it, in commit order.
    fn release(&self, seq: u64) {
        let mut pending = lock(&self.pending);
        pending.durable = pending.durable.max(seq);
        while pending
            .commits
            .front()
            .is_some_and(|c| c.seq <= pending.durable)
        {
            let Some(commit) = pending.commits.pop_front() else {
                break;
            };
            self.publish(commit);
        }
    }

    /// One durable commit: readers first, then the audit trail, then subscribers (so a
    /// subscriber that hears of a change can read it).
    fn publish(&self, commit: PendingCommit) {
        {
            let mut current = self.current.write().unwrap_or_else(|p| p.into_inner());
            if current.generation < commit.catalog.generation {
                *current = commit.catalog;
            }
        }
        if !commit.history.is_empty() {
            let mut h = self.history.write().unwrap_or_else(|p| p.into_inner());
            for k in commit.history {
                match h.keys.last() {
                    Some(last) if *last >= k => {
                        if let Err(at) = h.keys.binary_search(&k) {
                            h.keys.insert(at, k);
                        }
                    }
                    _ => h.keys.push(k),
                }
            }
        }
        if commit.events.is_empty() {
            return;
        }
        let budget_events = self.shared.budget_events.load(Ordering::Relaxed);
        let budget_bytes = self.shared.budget_bytes.load(Ordering::Relaxed);
        let mut registry = lock(&self.registry);
        let mut lagged = vec![];
        for event in commit.events {
            for topic in topics_of(&event) {
                let Some(subs) = registry.by_topic.get(&topic) else {
                    continue;
                };
                for (&id, s) in subs {
                    if !s.filter.matches(&event) {
                        continue;
                    }
                    let mut q = s.queue();
                    if q.lagged.is_some() || q.closed {
                        continue;
                    }
                    if q.events.len() >= budget_events || q.bytes + event.bytes > budget_bytes {
                        // Past its budget: free the queue now, tell the subscriber later.
                        q.lagged = Some(q.events.len() as u64 + 1);
                        self.shared
                            .queued_bytes
                            .fetch_sub(q.bytes, Ordering::Relaxed);
                        q.events = VecDeque::new();
                        q.bytes = 0;
                        lagged.push((topic.clone(), id));
                        self.shared.lagged_drops.fetch_add(1, Ordering::Relaxed);
                    } else {
                        q.bytes += event.bytes;
                        self.shared
                            .queued_bytes
                            .fetch_add(event.bytes, Ordering::Relaxed);
                        q.events.push_back(event.clone());
                    }
                    drop(q);
                    s.ready.notify_one();
                }
            }
        }
        for (topic, id) in lagged {
            registry.remove(&topic, id);
        }
    }
}

/// The follower of a replicated store: applies each commit of the feed to the snapshot,
/// reloads when the feed is lost, and ends with the server (or once the server is gone).
fn follow(live: Weak<Live>, mut point: FollowPoint, mut shutdown: watch::Receiver<bool>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "the follower cannot start");
            return;
        }
    };
    loop {
        let Some(l) = live.upgrade() else { return };
        let feed = l.store.follow(point);
        drop(l);
        let why = match feed {
            Err(e) => format!("the feed could not start: {e}"),
            Ok(mut feed) => loop {
                let next = rt.block_on(async {
                    tokio::select! {
                        item = feed.next() => Some(item),
                        _ = shutdown.wait_for(|stop| *stop) => None,
                    }
                });
                let Some(item) = next else { return };
                let Some(l) = live.upgrade() else { return };
                match item {
                    FeedItem::Commit { changes, history } => {
                        if let Err(e) = l.apply_from_feed(changes, history) {
                            break format!("a commit could not be applied: {e}");
                        }
                    }
                    FeedItem::Lost(why) => break why,
                }
            },
        };
        // Reload, retrying while the store cannot be reached.
        let mut wait = std::time::Duration::from_millis(100);
        loop {
            if *shutdown.borrow() {
                return;
            }
            let Some(l) = live.upgrade() else { return };
            tracing::warn!(reason = %why, "the store's feed was lost; reloading the snapshot");
            match l.reload(&why) {
                Ok(p) => {
                    tracing::info!(
                        revision = l.replica_state().map_or(0, |s| s.revision),
                        "snapshot reloaded; following the store again"
                    );
                    point = p;
                    break;
                }
                Err(e) => {
                    tracing::error!(error = %e, "reloading the snapshot failed; retrying");
                    drop(l);
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(std::time::Duration::from_secs(5));
                }
            }
        }
    }
}

/// The country of a measure, or of a link's measure, looked up in a catalog.
fn country_of(entry: &HistoryEntry, catalog: &Catalog) -> Option<CountryCode> {
    let measure = match entry.entity {
        Entity::Measure => entry.key.as_str(),
        Entity::Link => LinkKey::split(&entry.key)?.1,
        _ => return None,
    };
    catalog.measures.by_ref(measure).map(|m| m.record.country)
}

/// How a live write is applied: audited as `author`'s, reporting what changed (the
/// snapshot follows it).
fn audited(author: &str) -> ApplyOptions<'_> {
    ApplyOptions {
        author: Some(author),
        report_changes: true,
        ..ApplyOptions::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ChangeKind;

    fn live() -> Live {
        let store = Store::temporary().unwrap();
        let catalog = Catalog::load(&store).unwrap();
        Live::new(Arc::new(store), catalog)
    }

    /// A commit of one measure event, pushed as `Live::write` pushes it (under the lock).
    fn commit(live: &Live, seq: u64, micros: u64) {
        let entry = HistoryEntry {
            seq,
            at: Timestamp::from_unix_micros(micros as i64).unwrap(),
            author: "t".into(),
            entity: Entity::Measure,
            key: format!("M-ABC-{seq:03}"),
            change: ChangeKind::Created,
            version: 1,
            before: None,
            after: None,
            note: None,
        };
        let catalog = lock(&live.head).catalog.clone();
        let key = crate::store::history::history_key(entry.at, seq);
        let event = ChangeEvent::new(entry, &catalog, &catalog);
        lock(&live.pending).commits.push_back(PendingCommit {
            seq,
            catalog,
            events: vec![Arc::new(event)],
            history: vec![key],
        });
    }

    fn ready(sub: &mut Subscription) -> Vec<String> {
        let mut got = vec![];
        while let Some(e) = sub.subscriber.queue().events.pop_front() {
            got.push(e.entry.key.clone());
        }
        got
    }

    #[test]
    fn commits_are_released_in_order_once_a_later_flush_covers_them() {
        let live = live();
        let mut sub = live.subscribe(EventFilter::Measures { country: None });
        commit(&live, 1, 10);
        commit(&live, 2, 20);
        commit(&live, 3, 30);
        assert_eq!(live.durable_history(), [0; 16], "nothing is durable yet");

        // Writer 2's flush returns first: it covers commit 1 too, not commit 3.
        live.release(2);
        assert_eq!(ready(&mut sub), ["M-ABC-001", "M-ABC-002"]);
        assert_eq!(live.count_changes(None, live.durable_history()), 2);
        // Writer 1's flush returns late: nothing left to release, nothing twice.
        live.release(1);
        assert!(ready(&mut sub).is_empty());
        live.release(3);
        assert_eq!(ready(&mut sub), ["M-ABC-003"]);
        assert_eq!(
            live.durable_history(),
            crate::store::history::history_key(Timestamp::from_unix_micros(30).unwrap(), 3)
        );
        let since = Timestamp::from_unix_micros(15).unwrap();
        assert_eq!(live.count_changes(Some(since), live.durable_history()), 2);
    }

    #[test]
    fn a_subscriber_past_its_byte_budget_is_dropped_and_its_queue_freed() {
        let live = live();
        let mut sub = live.subscribe(EventFilter::Measures { country: None });
        commit(&live, 1, 10);
        let one = lock(&live.pending).commits[0].events[0].bytes;
        live.set_subscriber_budget(100, one * 2);
        commit(&live, 2, 20);
        commit(&live, 3, 30);
        live.release(3);
        assert_eq!(live.subscribers(), 0);
        assert_eq!(live.queued_bytes(), 0);
        let next = futures_util::FutureExt::now_or_never(sub.next()).flatten();
        assert!(matches!(next, Some(Next::Lagged { missed: 3 })));
    }
}
