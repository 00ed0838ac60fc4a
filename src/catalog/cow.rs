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
}
