//! Copy-on-write containers for the snapshot. A snapshot is shared by every request that
//! reads it; a write makes the next one by copying only what it touches. A whole `Vec` or
//! `HashMap` behind one `Arc` would be copied whole by each write (a recommendation's edit
//! would copy 159,000 rows at world scale); these are split into chunks or shards behind
//! their own `Arc`s, so a write copies one chunk or shard and shares the rest.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

/// Slots per chunk of a [`Chunked`].
const CHUNK: usize = 1024;

/// A vector indexed by dense ids, in chunks of [`CHUNK`] slots. Reads are two index
/// operations; a write copies one chunk.
#[derive(Clone)]
pub struct Chunked<T> {
    chunks: Vec<Arc<Vec<T>>>,
    fill: T,
}

impl<T: Clone> Chunked<T> {
    /// An empty vector whose unset slots read as `fill`.
    pub fn new(fill: T) -> Chunked<T> {
        Chunked {
            chunks: vec![],
            fill,
        }
    }

    /// Slots `0..self.capacity()` can be read without falling back to `fill`.
    pub fn capacity(&self) -> usize {
        self.chunks.len() * CHUNK
    }

    pub fn get(&self, i: usize) -> &T {
        self.chunks
            .get(i / CHUNK)
            .map_or(&self.fill, |c| &c[i % CHUNK])
    }

    /// The slot `i`, made writable (its chunk copied if shared; created if missing).
    pub fn get_mut(&mut self, i: usize) -> &mut T {
        while self.chunks.len() <= i / CHUNK {
            self.chunks.push(Arc::new(vec![self.fill.clone(); CHUNK]));
        }
        &mut Arc::make_mut(&mut self.chunks[i / CHUNK])[i % CHUNK]
    }

    pub fn set(&mut self, i: usize, value: T) {
        *self.get_mut(i) = value;
    }

    /// Every slot, unset ones included, in index order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flat_map(|c| c.iter())
    }
}

/// Shards of a [`Sharded`] map.
const SHARDS: usize = 256;

/// A hash map split into [`SHARDS`] maps by key hash (a map of 159,000 natural keys copies
/// about 600 entries a write). A write copies one shard.
#[derive(Clone)]
pub struct Sharded<K, V> {
    shards: Vec<Arc<HashMap<K, V>>>,
    len: usize,
    hasher: std::hash::RandomState,
}

impl<K: Hash + Eq + Clone, V: Clone> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| Arc::default()).collect(),
            len: 0,
            hasher: std::hash::RandomState::new(),
        }
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Sharded<K, V> {
    fn shard<Q: Hash + ?Sized>(&self, k: &Q) -> usize {
        (self.hasher.hash_one(k) as usize) % SHARDS
    }

    pub fn get<Q>(&self, k: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.shards[self.shard(k)].get(k)
    }

    /// The value of `k`, made writable (its shard copied if shared).
    pub fn get_mut<Q>(&mut self, k: &Q) -> Option<&mut V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let s = self.shard(k);
        if !self.shards[s].contains_key(k) {
            return None;
        }
        Arc::make_mut(&mut self.shards[s]).get_mut(k)
    }

    /// The value of `k`, made writable; inserted by `make` when missing.
    pub fn entry(&mut self, k: K, make: impl FnOnce() -> V) -> &mut V {
        let s = self.shard(&k);
        let shard = Arc::make_mut(&mut self.shards[s]);
        let len = &mut self.len;
        shard.entry(k).or_insert_with(|| {
            *len += 1;
            make()
        })
    }

    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        let s = self.shard(&k);
        let old = Arc::make_mut(&mut self.shards[s]).insert(k, v);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub fn remove<Q>(&mut self, k: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let s = self.shard(k);
        if !self.shards[s].contains_key(k) {
            return None;
        }
        let old = Arc::make_mut(&mut self.shards[s]).remove(k);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(|s| s.iter())
    }
}

impl<K: Hash + Eq + Clone, V: Clone> FromIterator<(K, V)> for Sharded<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = Sharded::default();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl<K: Hash + Eq + Clone, V: Clone + PartialEq> PartialEq for Sharded<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

/// Elements per run of a [`Runs`] when it is built; a run that grows to twice this splits.
const RUN: usize = 1024;

/// A sequence kept in order (a sorted list, say), in runs of about [`RUN`] elements behind
/// their own `Arc`s, read by position as one vector. An insertion or a removal copies one
/// run and the list of runs (a few hundred pointers at 600,000 elements), not the whole
/// sequence.
#[derive(Clone)]
pub struct Runs<T> {
    runs: Vec<Arc<Vec<T>>>,
    /// The position of each run's first element.
    starts: Vec<usize>,
    len: usize,
}

impl<T: Clone> Default for Runs<T> {
    fn default() -> Self {
        Runs::from(vec![])
    }
}

impl<T: Clone> From<Vec<T>> for Runs<T> {
    fn from(v: Vec<T>) -> Runs<T> {
        let len = v.len();
        let mut runs = vec![];
        let mut it = v.into_iter().peekable();
        while it.peek().is_some() {
            runs.push(Arc::new(it.by_ref().take(RUN).collect::<Vec<T>>()));
        }
        let mut r = Runs {
            runs,
            starts: vec![],
            len,
        };
        r.restart();
        r
    }
}

impl<T: Clone> Runs<T> {
    fn restart(&mut self) {
        self.starts.clear();
        let mut at = 0;
        for r in &self.runs {
            self.starts.push(at);
            at += r.len();
        }
        self.len = at;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The run holding position `i` (the last run for `i == len`), and `i` within it.
    fn locate(&self, i: usize) -> (usize, usize) {
        let k = self.starts.partition_point(|&s| s <= i).saturating_sub(1);
        (k, i - self.starts.get(k).copied().unwrap_or(0))
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        if i >= self.len {
            return None;
        }
        let (k, at) = self.locate(i);
        self.runs[k].get(at)
    }

    /// Every element, in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.runs.iter().flat_map(|r| r.iter())
    }

    /// The elements at positions `range`, in order.
    pub fn range(&self, range: std::ops::Range<usize>) -> impl Iterator<Item = &T> {
        let to = range.end.min(self.len);
        let from = range.start.min(to);
        let (k, at) = self.locate(from);
        self.runs[k.min(self.runs.len())..]
            .iter()
            .flat_map(|r| r.iter())
            .skip(at)
            .take(to - from)
    }

    /// The first position where `pred` is false (`pred` true then false along the
    /// sequence, as for `slice::partition_point`).
    pub fn partition_point(&self, mut pred: impl FnMut(&T) -> bool) -> usize {
        // The first run whose last element fails `pred` holds the point.
        let k = self
            .runs
            .partition_point(|r| r.last().is_some_and(&mut pred));
        match self.runs.get(k) {
            Some(r) => self.starts[k] + r.partition_point(pred),
            None => self.len,
        }
    }

    /// As `slice::binary_search_by`, over the whole sequence.
    pub fn binary_search_by(
        &self,
        mut f: impl FnMut(&T) -> std::cmp::Ordering,
    ) -> Result<usize, usize> {
        let p = self.partition_point(|x| f(x) == std::cmp::Ordering::Less);
        match self.get(p) {
            Some(x) if f(x) == std::cmp::Ordering::Equal => Ok(p),
            _ => Err(p),
        }
    }

    /// Inserts `v` at position `i` (`i <= len`).
    pub fn insert(&mut self, i: usize, v: T) {
        assert!(
            i <= self.len,
            "insertion at {i} past the end ({})",
            self.len
        );
        if self.runs.is_empty() {
            self.runs.push(Arc::new(vec![v]));
        } else {
            let (k, at) = self.locate(i);
            let run = Arc::make_mut(&mut self.runs[k]);
            run.insert(at, v);
            if run.len() >= 2 * RUN {
                let tail = run.split_off(run.len() / 2);
                self.runs.insert(k + 1, Arc::new(tail));
            }
        }
        self.restart();
    }

    /// Removes and returns the element at position `i` (`i < len`).
    pub fn remove(&mut self, i: usize) -> T {
        assert!(i < self.len, "removal at {i} past the end ({})", self.len);
        let (k, at) = self.locate(i);
        let run = Arc::make_mut(&mut self.runs[k]);
        let v = run.remove(at);
        if run.is_empty() {
            self.runs.remove(k);
        }
        self.restart();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_copies_one_chunk_and_shares_the_rest() {
        let mut a: Chunked<u32> = Chunked::new(u32::MAX);
        for i in 0..5000 {
            a.set(i, i as u32);
        }
        let mut b = a.clone();
        b.set(1500, 7);
        assert_eq!(*a.get(1500), 1500, "the original is untouched");
        assert_eq!(*b.get(1500), 7);
        assert_eq!(*b.get(99_999), u32::MAX, "unset slots read as the fill");
        let shared = a
            .chunks
            .iter()
            .zip(&b.chunks)
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert_eq!(shared, a.chunks.len() - 1);
    }

    #[test]
    fn a_sharded_map_behaves_as_a_map_and_copies_one_shard() {
        let mut a: Sharded<String, u32> = Sharded::default();
        let mut model = HashMap::new();
        for i in 0..1000u32 {
            a.insert(format!("k{i}"), i);
            model.insert(format!("k{i}"), i);
        }
        let mut b = a.clone();
        assert_eq!(b.remove("k5"), Some(5));
        assert_eq!(b.remove("k5"), None);
        *b.entry("k6".into(), || 0) += 100;
        *b.entry("new".into(), || 41) += 1;
        assert_eq!((a.len(), b.len()), (1000, 1000));
        assert_eq!(a.get("k5"), Some(&5));
        assert_eq!(b.get("k6"), Some(&106));
        assert_eq!(b.get("new"), Some(&42));
        assert!(a.iter().all(|(k, v)| model.get(k) == Some(v)));
        assert!(a != b);
        let shared = a
            .shards
            .iter()
            .zip(&b.shards)
            .filter(|(x, y)| Arc::ptr_eq(x, y))
            .count();
        assert!(shared >= SHARDS - 3, "only the shards written are copied");
    }

    #[test]
    fn runs_behave_as_a_sorted_vector_and_copy_one_run() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let mut model: Vec<u32> = (0..5000).map(|i| i * 2).collect();
        let mut runs = Runs::from(model.clone());
        for step in 0..4000 {
            let before = runs.clone();
            let v = rng.gen_range(0..12_000u32);
            let at = model.partition_point(|&x| x < v);
            assert_eq!(runs.partition_point(|&x| x < v), at);
            assert_eq!(
                runs.binary_search_by(|x| x.cmp(&v)),
                model.binary_search(&v)
            );
            if model.get(at) == Some(&v) {
                assert_eq!(runs.remove(at), model.remove(at));
            } else {
                runs.insert(at, v);
                model.insert(at, v);
            }
            let shared = before
                .runs
                .iter()
                .filter(|r| runs.runs.iter().any(|q| Arc::ptr_eq(r, q)))
                .count();
            assert!(shared + 1 >= before.runs.len(), "one run copied at most");
            if step % 500 == 0 {
                assert_eq!(runs.len(), model.len());
                assert!(runs.iter().eq(model.iter()));
                for i in [0, 1, model.len() / 2, model.len() - 1, model.len()] {
                    assert_eq!(runs.get(i), model.get(i));
                    let to = (i + 1500).min(model.len());
                    assert!(runs.range(i..to).eq(model[i..to].iter()));
                }
            }
        }
        let mut empty: Runs<u32> = Runs::default();
        assert_eq!(empty.partition_point(|&x| x < 3), 0);
        assert_eq!(empty.range(0..0).count(), 0);
        empty.insert(0, 3);
        assert_eq!(empty.remove(0), 3);
        assert!(empty.is_empty());
    }
}
