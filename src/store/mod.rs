//! The sled store: the only module that knows trees, key bytes and the record codec.
//!
//! # Layout
//! - [`keys`]: every key layout, next to its encoder and decoder.
//! - [`codec`]: the versioned record format.
//! - [`write`]: [`Change`]s applied atomically through one function, which also keeps
//!   every relationship index, counter and natural-key map in step with the records.
//! - [`journal`]: the undo journal that makes large writes (imports) atomic across crashes.
//! - [`check`]: the integrity check, records against indexes in both directions.
//!
//! Writes are serialised by one writer lock: sled cannot range-scan inside a transaction, so
//! the checks that need a scan (is this country still referenced? which links does this
//! measure have?) run under the lock just before the transaction, and no other writer can
//! invalidate them in between. Readers never take the lock.

pub mod check;
pub mod codec;
mod engine;
#[cfg(feature = "etcd")]
mod etcd;
mod feed;
pub mod history;
mod journal;
pub mod keys;
pub mod tokens;
mod write;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use engine::Engine;

use roaring::RoaringBitmap;

use crate::model::*;
pub use codec::Stored;
pub use feed::{Feed, FeedItem, FollowPoint};
use keys::*;
pub use keys::{Index, RefKind};
pub use write::{
    ApplyOptions, ApplyReport, Change, ChangeSet, Key, Location, Outcome, Record, RecordChange,
};

/// sled's page cache budget. Big enough to hold the hot indexes of the world preset.
pub const CACHE_BYTES: u64 = 256 << 20;

/// The trees of the store: a tree is a key space of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(usize)]
pub enum TreeId {
    Meta,
    Countries,
    Cycles,
    Sessions,
    Recommendations,
    Measures,
    GoodPractices,
    Links,
    Refs,
    Themes,
    Groups,
    Sdgs,
    MeasureCategories,
    Index,
    Journal,
    History,
    HistoryIndex,
    Tokens,
    // Trees added after the first release go last: a tree's position is its slot.
    Concerns,
    Actions,
}

impl TreeId {
    pub const ALL: [TreeId; 20] = [
        TreeId::Meta,
        TreeId::Countries,
        TreeId::Cycles,
        TreeId::Sessions,
        TreeId::Recommendations,
        TreeId::Measures,
        TreeId::GoodPractices,
        TreeId::Links,
        TreeId::Refs,
        TreeId::Themes,
        TreeId::Groups,
        TreeId::Sdgs,
        TreeId::MeasureCategories,
        TreeId::Index,
        TreeId::Journal,
        TreeId::History,
        TreeId::HistoryIndex,
        TreeId::Tokens,
        TreeId::Concerns,
        TreeId::Actions,
    ];

    pub fn name(self) -> &'static str {
        match self {
            TreeId::Meta => "meta",
            TreeId::Countries => "countries",
            TreeId::Cycles => "cycles",
            TreeId::Sessions => "sessions",
            TreeId::Recommendations => "recommendations",
            TreeId::Measures => "measures",
            TreeId::GoodPractices => "good_practices",
            TreeId::Links => "links",
            TreeId::Refs => "refs",
            TreeId::Themes => "themes",
            TreeId::Groups => "groups",
            TreeId::Sdgs => "sdgs",
            TreeId::MeasureCategories => "measure_categories",
            TreeId::Index => "index",
            TreeId::Journal => "journal",
            TreeId::History => "history",
            TreeId::HistoryIndex => "history_index",
            TreeId::Tokens => "tokens",
            TreeId::Concerns => "concerns",
            TreeId::Actions => "actions",
        }
    }
}

/// The store's entities are the model's: one vocabulary ([`Entity`]). What the store adds
/// to it is private: the tree each entity lives in, and the order imports write them in.
pub use crate::model::Entity;

/// Every entity in dependency order: what an entity refers to comes before it (taxonomy,
/// countries and sessions before recommendations; links last). Imports and counts follow it.
pub const DEPENDENCY_ORDER: [Entity; 13] = [
    Entity::Theme,
    Entity::Group,
    Entity::Sdg,
    Entity::MeasureCategory,
    Entity::Country,
    Entity::Cycle,
    Entity::Session,
    Entity::Recommendation,
    Entity::Measure,
    Entity::GoodPractice,
    Entity::Concern,
    Entity::Action,
    Entity::Link,
];

/// The tree where the records of an entity live.
pub(crate) fn tree_of(entity: Entity) -> TreeId {
    match entity {
        Entity::Country => TreeId::Countries,
        Entity::Cycle => TreeId::Cycles,
        Entity::Session => TreeId::Sessions,
        Entity::Recommendation => TreeId::Recommendations,
        Entity::Measure => TreeId::Measures,
        Entity::GoodPractice => TreeId::GoodPractices,
        Entity::Link => TreeId::Links,
        Entity::Theme => TreeId::Themes,
        Entity::Group => TreeId::Groups,
        Entity::Sdg => TreeId::Sdgs,
        Entity::MeasureCategory => TreeId::MeasureCategories,
        Entity::Concern => TreeId::Concerns,
        Entity::Action => TreeId::Actions,
    }
}

pub(crate) fn counter_key(entity: Entity) -> Vec<u8> {
    format!("count/{}", tree_of(entity).name()).into_bytes()
}

/// One change that could not be made, and why. `change` is the position of the change in
/// the list given to [`Store::apply`]; the refusal's kind says what went wrong (a client's
/// error code follows from it alone), its reason says it to people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub change: usize,
    pub refusal: Refusal,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.refusal.fmt(f)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error: {0}")]
    Sled(#[from] sled::Error),
    #[error("etcd: {0}")]
    Etcd(String),
    #[error("{0}")]
    Unsupported(String),
    /// The store could not take a write in time (a replicated store without a quorum, or a
    /// write that kept losing races); the message says whether it was made.
    #[error("the store is unavailable: {0}")]
    Unavailable(String),
    #[error(
        "the store at {0} is in use by another process (stop it, or choose another --data folder)"
    )]
    Locked(PathBuf),
    #[error("the store at {path} was written by a newer release (store format {found}); this release reads format {supported}")]
    NewerFormat {
        path: PathBuf,
        found: u8,
        supported: u8,
    },
    #[error("corrupt {tree} entry: {reason}")]
    Corrupt { tree: &'static str, reason: String },
    #[error("another writer changed the {tree} tree while this write was planned; try again")]
    Contended { tree: &'static str },
    #[error("{} change(s) refused; first: {}", .0.len(), .0.first().map(|r| r.refusal.reason.as_str()).unwrap_or(""))]
    Rejected(Vec<Rejection>),
}

impl StoreError {
    /// The refusal of a single change (of an operation that is not a list of changes).
    pub fn refused(refusal: Refusal) -> StoreError {
        StoreError::Rejected(vec![Rejection { change: 0, refusal }])
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) const FORMAT_KEY: &[u8] = b"format";

/// The store. Cheap to share behind an `Arc`; all methods take `&self`. What it runs on
/// (the [`engine`]) is its own business.
pub struct Store {
    engine: Engine,
    path: PathBuf,
    writer: Writer,
}

/// The store's writer lock, and what its writers hand on to each other (see [`Store::apply`]).
struct Writer {
    lock: Mutex<()>,
    /// Whether writes on a replicated store take turns after a lost race (on unless
    /// [`Store::set_write_turns`] turned them off, to measure what they do).
    turns: std::sync::atomic::AtomicBool,
    /// Races lost to another process's write, and turns taken, since the store was opened.
    races_lost: std::sync::atomic::AtomicU64,
    turns_taken: std::sync::atomic::AtomicU64,
    /// Writers waiting for `lock`.
    waiting: std::sync::atomic::AtomicUsize,
    /// On a replicated store: a turn the last writer kept for the next one, and how many
    /// writes it has served.
    turn: Mutex<Option<(engine::Turn, u32)>>,
    /// When a write of this process last lost a race to another process's.
    lost: Mutex<Option<std::time::Instant>>,
}

impl Default for Writer {
    fn default() -> Writer {
        Writer {
            lock: Mutex::default(),
            turns: std::sync::atomic::AtomicBool::new(true),
            races_lost: Default::default(),
            turns_taken: Default::default(),
            waiting: Default::default(),
            turn: Mutex::default(),
            lost: Mutex::default(),
        }
    }
}

/// How this process's writes fared against other processes' on a replicated store, since it
/// was opened (all zero on sled).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteContention {
    /// Plans that had to be made again because another process wrote first.
    pub races_lost: u64,
    /// Turns taken (see [`Store::apply`]).
    pub turns_taken: u64,
}

impl Store {
    /// Opens (or creates) the store in `path`.
    pub fn open(path: &Path) -> Result<Store> {
        Self::on(Engine::open_sled(path)?, path.to_owned())
    }

    /// Opens (or creates) the store named by `--store`: a folder (sled), or
    /// `etcd://HOST:PORT[,HOST:PORT…]/PREFIX` (a replicated store, with the `etcd` feature).
    pub fn open_location(location: &str) -> Result<Store> {
        if location.starts_with("etcd://") {
            return Self::open_etcd(location);
        }
        Self::open(Path::new(location))
    }

    #[cfg(feature = "etcd")]
    fn open_etcd(url: &str) -> Result<Store> {
        let parsed = etcd::EtcdUrl::parse(url).map_err(StoreError::Unsupported)?;
        Self::on(
            Engine::Etcd(etcd::EtcdEngine::connect(&parsed)?),
            PathBuf::from(url),
        )
    }

    #[cfg(not(feature = "etcd"))]
    fn open_etcd(url: &str) -> Result<Store> {
        Err(StoreError::Unsupported(format!(
            "{url}: this binary was built without the etcd backend; build it with `cargo build --release --features etcd` (which needs protoc: Debian's protobuf-compiler)"
        )))
    }

    /// A store that lives in memory and a temporary folder, removed on drop (for tests).
    ///
    /// With `RECOVER_BETTER_TEST_STORE=etcd://HOST:PORT/PREFIX` (and the `etcd` feature), a
    /// store of its own under a new random prefix in that etcd instead: the same tests run
    /// against either engine.
    pub fn temporary() -> Result<Store> {
        #[cfg(feature = "etcd")]
        if let Ok(url) = std::env::var("RECOVER_BETTER_TEST_STORE") {
            if url.starts_with("etcd://") {
                let unique = format!(
                    "{}/t-{:016x}",
                    url.trim_end_matches('/'),
                    rand::random::<u64>()
                );
                return Self::open_etcd(&unique);
            }
        }
        Self::on(Engine::temporary_sled()?, PathBuf::from("(temporary)"))
    }

    /// Whether this process's writes take turns with other processes' after a lost race
    /// (on by default; see [`Store::apply`]). Off, they race as they would without.
    pub fn set_write_turns(&self, on: bool) {
        self.writer
            .turns
            .store(on, std::sync::atomic::Ordering::Relaxed);
    }

    /// How this process's writes fared against other processes' (for `/metrics`).
    pub fn write_contention(&self) -> WriteContention {
        use std::sync::atomic::Ordering;
        WriteContention {
            races_lost: self.writer.races_lost.load(Ordering::Relaxed),
            turns_taken: self.writer.turns_taken.load(Ordering::Relaxed),
        }
    }

    /// Whether several servers may share this store (each then follows its [`Feed`]).
    pub fn is_replicated(&self) -> bool {
        !matches!(self.engine, Engine::Sled(_))
    }

    /// Tests only: on an etcd store, the answer of this process's next transaction is lost
    /// after etcd applied it (`applied`), or before; `false` on sled, which has no such fault.
    #[doc(hidden)]
    pub fn lose_next_answer(&self, applied: bool) -> bool {
        match &self.engine {
            Engine::Sled(_) => {
                let _ = applied;
                false
            }
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => {
                e.lose_next_answer(match applied {
                    true => etcd::LoseAnswer::AfterApplying,
                    false => etcd::LoseAnswer::BeforeApplying,
                });
                true
            }
        }
    }

    /// For a replicated store: a read-only view of it as it is now, and the point to
    /// [`Store::follow`] it from once a snapshot is loaded through the view. `None` for sled,
    /// which one process owns and whose writes need no feed.
    pub fn pin(&self) -> Result<Option<(Store, FollowPoint)>> {
        match &self.engine {
            Engine::Sled(_) => Ok(None),
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => {
                let (view, revision) = e.pin()?;
                let generation = view.pinned_generation().unwrap_or(0);
                Ok(Some((
                    Store {
                        engine: Engine::Etcd(view),
                        path: self.path.clone(),
                        writer: Writer::default(),
                    },
                    FollowPoint {
                        revision,
                        generation,
                    },
                )))
            }
        }
    }

    /// Every commit after `from`, whichever server made it, in commit order.
    pub fn follow(&self, from: FollowPoint) -> Result<Feed> {
        match &self.engine {
            Engine::Sled(_) => {
                let _ = from;
                Err(StoreError::Unsupported(
                    "a store in a folder has no feed: one process owns it".into(),
                ))
            }
            #[cfg(feature = "etcd")]
            Engine::Etcd(e) => Ok(Feed {
                rx: e.follow(from.revision, from.generation),
            }),
        }
    }

    /// For a remote engine: a view of the whole store read into memory in one go (writes
    /// through it still go to the engine, guarded as usual), for work that reads every key
    /// (a large write's plan, `check`, `export`). `None` when reads are local anyway.
    pub fn bulk_view(&self) -> Result<Option<Store>> {
        Ok(self.engine.bulk()?.map(|engine| Store {
            engine,
            path: self.path.clone(),
            writer: Writer::default(),
        }))
    }

    /// For a remote engine: the view a write is planned against, every read at one
    /// revision (a plan's reads then cost no round of consensus each); `None` for sled.
    pub(crate) fn writer_view(&self) -> Result<Option<Store>> {
        Ok(self.engine.writer_view()?.map(|engine| Store {
            engine,
            path: self.path.clone(),
            writer: Writer::default(),
        }))
    }

    /// The store's commit number: it counts every write ([`ChangeSet::revision`]).
    pub fn revision(&self) -> Result<u64> {
        Ok(self
            .engine
            .get(TreeId::Meta, write::REVISION)?
            .and_then(|v| v.as_ref().try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    fn on(engine: Engine, path: PathBuf) -> Result<Store> {
        let mark = |engine: &Engine| -> Result<()> {
            let mut w = engine::WriteSet::new();
            w.set(
                TreeId::Meta,
                FORMAT_KEY.to_vec(),
                vec![codec::FORMAT_VERSION],
            );
            engine.commit(&w).map_err(engine::CommitError::into_store)?;
            engine.flush()
        };
        match engine.get(TreeId::Meta, FORMAT_KEY)? {
            Some(v) => {
                let found = v.first().copied().unwrap_or(0);
                if found > codec::FORMAT_VERSION {
                    return Err(StoreError::NewerFormat {
                        path,
                        found,
                        supported: codec::FORMAT_VERSION,
                    });
                }
                // Records of the current format will be written beside the older ones, so a
                // release that reads only the older format must now refuse the store.
                if found < codec::FORMAT_VERSION {
                    mark(&engine)?;
                }
            }
            None => mark(&engine)?,
        }
        if engine.recover()? {
            tracing::warn!(path = %path.display(), "rolled back a large write that a crash interrupted");
        }
        Ok(Store {
            engine,
            path,
            writer: Writer::default(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Makes every acknowledged write durable.
    pub fn flush(&self) -> Result<()> {
        self.engine.flush()
    }

    /// Bytes the store takes on disk.
    pub fn size_on_disk(&self) -> Result<u64> {
        self.engine.size_on_disk()
    }

    /// How many records of a kind the store holds (a kept counter: O(1)).
    pub fn count(&self, entity: Entity) -> Result<u64> {
        Ok(self
            .engine
            .get(TreeId::Meta, &counter_key(entity))?
            .and_then(|v| v.as_ref().try_into().ok())
            .map(u64::from_be_bytes)
            .unwrap_or(0))
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(DEPENDENCY_ORDER
            .iter()
            .map(|&k| self.count(k))
            .collect::<Result<Vec<_>>>()?
            .iter()
            .all(|&n| n == 0))
    }

    fn decode<T: codec::Versioned>(t: TreeId, bytes: &[u8]) -> Result<Stored<T>> {
        codec::decode(bytes).map_err(|e| StoreError::Corrupt {
            tree: t.name(),
            reason: e.to_string(),
        })
    }

    fn get<T: codec::Versioned>(&self, t: TreeId, key: &[u8]) -> Result<Option<Stored<T>>> {
        self.engine
            .get(t, key)?
            .map(|v| Self::decode(t, &v))
            .transpose()
    }

    fn all<T: codec::Versioned>(&self, t: TreeId) -> impl Iterator<Item = Result<Stored<T>>> + '_ {
        self.engine.iter(t).map(move |kv| Self::decode(t, &kv?.1))
    }

    fn all_by_id<T: codec::Versioned>(
        &self,
        t: TreeId,
    ) -> impl Iterator<Item = Result<(u32, Stored<T>)>> + '_ {
        self.engine.iter(t).map(move |kv| {
            let (k, v) = kv?;
            let id = decode_id(&k).ok_or(StoreError::Corrupt {
                tree: t.name(),
                reason: format!("key {k:?} is not an id"),
            })?;
            Ok((id, Self::decode(t, &v)?))
        })
    }

    // --- natural keys ------------------------------------------------------------------------

    /// The internal id of a recommendation, measure or good practice.
    pub fn id_of(&self, kind: RefKind, r: &Ref) -> Result<Option<u32>> {
        Ok(self
            .engine
            .get(TreeId::Refs, &ref_key(kind, r))?
            .and_then(|v| decode_id(&v)))
    }

    /// Every ref of a kind with its internal id, in natural-key order.
    pub fn refs(&self, kind: RefKind) -> impl Iterator<Item = Result<(Ref, u32)>> + '_ {
        self.engine.prefix(TreeId::Refs, &[kind as u8]).map(|kv| {
            let (k, v) = kv?;
            match (decode_ref_key(&k), decode_id(&v)) {
                (Some((_, r)), Some(id)) => Ok((r, id)),
                _ => Err(StoreError::Corrupt {
                    tree: "refs",
                    reason: format!("entry {k:?}"),
                }),
            }
        })
    }

    // --- records -----------------------------------------------------------------------------

    pub fn country(&self, c: CountryCode) -> Result<Option<Stored<Country>>> {
        self.get(TreeId::Countries, &country_key(c))
    }
    pub fn countries(&self) -> impl Iterator<Item = Result<Stored<Country>>> + '_ {
        self.all(TreeId::Countries)
    }
    pub fn cycle(&self, n: CycleNumber) -> Result<Option<Stored<Cycle>>> {
        self.get(TreeId::Cycles, &cycle_key(n))
    }
    pub fn cycles(&self) -> impl Iterator<Item = Result<Stored<Cycle>>> + '_ {
        self.all(TreeId::Cycles)
    }
    pub fn session(&self, n: SessionNumber) -> Result<Option<Stored<Session>>> {
        self.get(TreeId::Sessions, &session_key(n))
    }
    pub fn sessions(&self) -> impl Iterator<Item = Result<Stored<Session>>> + '_ {
        self.all(TreeId::Sessions)
    }
    pub fn theme(&self, s: &Slug) -> Result<Option<Stored<Theme>>> {
        self.get(TreeId::Themes, s.as_str().as_bytes())
    }
    pub fn themes(&self) -> impl Iterator<Item = Result<Stored<Theme>>> + '_ {
        self.all(TreeId::Themes)
    }
    pub fn group(&self, s: &Slug) -> Result<Option<Stored<Group>>> {
        self.get(TreeId::Groups, s.as_str().as_bytes())
    }
    pub fn groups(&self) -> impl Iterator<Item = Result<Stored<Group>>> + '_ {
        self.all(TreeId::Groups)
    }
    pub fn sdg(&self, g: SdgGoal) -> Result<Option<Stored<Sdg>>> {
        self.get(TreeId::Sdgs, &sdg_key(g))
    }
    pub fn sdgs(&self) -> impl Iterator<Item = Result<Stored<Sdg>>> + '_ {
        self.all(TreeId::Sdgs)
    }
    pub fn measure_category(
        &self,
        c: MeasureCategory,
    ) -> Result<Option<Stored<MeasureCategoryInfo>>> {
        self.get(TreeId::MeasureCategories, &category_key(c))
    }
    pub fn measure_categories(
        &self,
    ) -> impl Iterator<Item = Result<Stored<MeasureCategoryInfo>>> + '_ {
        self.all(TreeId::MeasureCategories)
    }

    pub fn recommendation_by_id(&self, id: u32) -> Result<Option<Stored<Recommendation>>> {
        self.get(TreeId::Recommendations, &id_key(id))
    }
    pub fn recommendation(&self, r: &Ref) -> Result<Option<(u32, Stored<Recommendation>)>> {
        self.by_ref(RefKind::Recommendation, r, |id| {
            self.recommendation_by_id(id)
        })
    }
    /// Every recommendation with its internal id, in id order.
    pub fn recommendations(
        &self,
    ) -> impl Iterator<Item = Result<(u32, Stored<Recommendation>)>> + '_ {
        self.all_by_id(TreeId::Recommendations)
    }
    pub fn measure_by_id(&self, id: u32) -> Result<Option<Stored<Measure>>> {
        self.get(TreeId::Measures, &id_key(id))
    }
    pub fn measure(&self, r: &Ref) -> Result<Option<(u32, Stored<Measure>)>> {
        self.by_ref(RefKind::Measure, r, |id| self.measure_by_id(id))
    }
    pub fn measures(&self) -> impl Iterator<Item = Result<(u32, Stored<Measure>)>> + '_ {
        self.all_by_id(TreeId::Measures)
    }
    pub fn good_practice_by_id(&self, id: u32) -> Result<Option<Stored<GoodPractice>>> {
        self.get(TreeId::GoodPractices, &id_key(id))
    }
    pub fn good_practice(&self, r: &Ref) -> Result<Option<(u32, Stored<GoodPractice>)>> {
        self.by_ref(RefKind::GoodPractice, r, |id| self.good_practice_by_id(id))
    }
    pub fn good_practices(&self) -> impl Iterator<Item = Result<(u32, Stored<GoodPractice>)>> + '_ {
        self.all_by_id(TreeId::GoodPractices)
    }

    pub fn concern_by_id(&self, id: u32) -> Result<Option<Stored<Concern>>> {
        self.get(TreeId::Concerns, &id_key(id))
    }
    pub fn concern(&self, r: &Ref) -> Result<Option<(u32, Stored<Concern>)>> {
        self.by_ref(RefKind::Concern, r, |id| self.concern_by_id(id))
    }
    pub fn concerns(&self) -> impl Iterator<Item = Result<(u32, Stored<Concern>)>> + '_ {
        self.all_by_id(TreeId::Concerns)
    }
    pub fn action_by_id(&self, id: u32) -> Result<Option<Stored<Action>>> {
        self.get(TreeId::Actions, &id_key(id))
    }
    pub fn action(&self, r: &Ref) -> Result<Option<(u32, Stored<Action>)>> {
        self.by_ref(RefKind::Action, r, |id| self.action_by_id(id))
    }
    pub fn actions(&self) -> impl Iterator<Item = Result<(u32, Stored<Action>)>> + '_ {
        self.all_by_id(TreeId::Actions)
    }

    fn by_ref<T>(
        &self,
        kind: RefKind,
        r: &Ref,
        get: impl FnOnce(u32) -> Result<Option<Stored<T>>>,
    ) -> Result<Option<(u32, Stored<T>)>> {
        match self.id_of(kind, r)? {
            Some(id) => Ok(get(id)?.map(|s| (id, s))),
            None => Ok(None),
        }
    }

    /// The link between two records, by internal ids.
    pub fn link_by_ids(&self, recommendation: u32, measure: u32) -> Result<Option<Stored<Link>>> {
        self.get(TreeId::Links, &link_key(recommendation, measure))
    }
    /// The links of a recommendation, each with its measure's internal id, in measure-id order.
    pub fn links_of_recommendation(&self, recommendation: u32) -> Result<Vec<(u32, Stored<Link>)>> {
        self.engine
            .prefix(TreeId::Links, &id_key(recommendation))
            .map(|kv| {
                let (k, v) = kv?;
                let (_, m) = decode_link_key(&k).ok_or(StoreError::Corrupt {
                    tree: "links",
                    reason: format!("key {k:?}"),
                })?;
                Ok((m, Self::decode(TreeId::Links, &v)?))
            })
            .collect()
    }
    /// Every link with its (recommendation, measure) internal ids, in key order.
    pub fn links(&self) -> impl Iterator<Item = Result<((u32, u32), Stored<Link>)>> + '_ {
        self.engine.iter(TreeId::Links).map(|kv| {
            let (k, v) = kv?;
            let ids = decode_link_key(&k).ok_or(StoreError::Corrupt {
                tree: "links",
                reason: format!("key {k:?}"),
            })?;
            Ok((ids, Self::decode(TreeId::Links, &v)?))
        })
    }

    /// The targets of one posting list.
    pub fn postings(&self, index: &Index) -> Result<RoaringBitmap> {
        self.stored_postings(&index.key())
    }

    fn stored_postings(&self, key: &[u8]) -> Result<RoaringBitmap> {
        match self.engine.get(TreeId::Index, key)? {
            Some(v) => codec::decode_postings(&v).map_err(|e| StoreError::Corrupt {
                tree: "index",
                reason: format!("posting list {key:?}: {e}"),
            }),
            None => Ok(RoaringBitmap::new()),
        }
    }

    /// Every posting list, decoded, in key order.
    pub fn posting_lists(&self) -> impl Iterator<Item = Result<(Index, RoaringBitmap)>> + '_ {
        self.engine.iter(TreeId::Index).map(|kv| {
            let (k, v) = kv?;
            let corrupt = |reason: String| StoreError::Corrupt {
                tree: "index",
                reason,
            };
            let index =
                Index::decode_key(&k).ok_or_else(|| corrupt(format!("undecodable key {k:?}")))?;
            let list =
                codec::decode_postings(&v).map_err(|e| corrupt(format!("{index:?}: {e}")))?;
            Ok((index, list))
        })
    }
}
