//! Cursor pagination over a set of ids in natural-key order.
//!
//! Cursors carry the natural key of the edge, so they stay valid when other records are
//! added or removed. Two strategies, chosen by density: a sparse set is mapped to its sorted
//! positions (O(k log k) for k members); a dense one is walked in order, testing membership,
//! which finds a page after about `page size × N / k` tests.

use roaring::RoaringBitmap;

/// What a client asked for, with cursors already decoded to natural keys.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub first: Option<usize>,
    pub last: Option<usize>,
    pub after: Option<String>,
    pub before: Option<String>,
}

/// One page: the items with their cursor keys, and whether more lie on either side.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next: bool,
    pub has_previous: bool,
}

/// Whether a member of the set lies on one side of a position.
type Probe<'a> = Box<dyn Fn(usize) -> bool + 'a>;

/// `order` lists ids in natural-key order and `rank` maps an id back to its position there;
/// `position` finds where a cursor key is (`Ok`) or would be (`Err`).
pub fn page(
    order: &[u32],
    rank: &[u32],
    set: &RoaringBitmap,
    req: &PageRequest,
    position: impl Fn(&str) -> Result<u32, u32>,
    key_of: impl Fn(u32) -> String,
) -> Page<u32> {
    let n = order.len();
    let lo = match req.after.as_deref().map(&position) {
        Some(Ok(p)) => p as usize + 1,
        Some(Err(p)) => p as usize,
        None => 0,
    };
    let hi = match req.before.as_deref().map(&position) {
        Some(Ok(p)) | Some(Err(p)) => (p as usize).min(n),
        None => n,
    };
    let in_set = |pos: usize| set.contains(order[pos]);
    // Positions of the chosen items, ascending, then whether members lie before and after.
    let (positions, before_exists, after_exists): (Vec<usize>, Probe<'_>, Probe<'_>);
    if (set.len() as usize).saturating_mul(16) < n {
        let mut sorted: Vec<usize> = set
            .iter()
            .filter_map(|id| rank.get(id as usize).copied())
            .filter(|&r| r != u32::MAX)
            .map(|r| r as usize)
            .collect();
        sorted.sort_unstable();
        let a = sorted.partition_point(|&p| p < lo);
        let b = sorted.partition_point(|&p| p < hi).max(a);
        positions = choose(&sorted[a..b], req);
        let s1 = sorted.clone();
        before_exists = Box::new(move |p| s1.partition_point(|&x| x < p) > 0);
        after_exists = Box::new(move |p| sorted.partition_point(|&x| x <= p) < sorted.len());
    } else {
        let mut chosen = vec![];
        if req.last.is_some() && req.first.is_none() {
            let want = req.last.unwrap_or(0);
            let mut p = hi;
            while p > lo && chosen.len() < want {
                p -= 1;
                if in_set(p) {
                    chosen.push(p);
                }
            }
            chosen.reverse();
        } else {
            let want = req.first.unwrap_or(usize::MAX);
            let mut p = lo;
            while p < hi && chosen.len() < want {
                if in_set(p) {
                    chosen.push(p);
                }
                p += 1;
            }
            if let Some(last) = req.last {
                let drop = chosen.len().saturating_sub(last);
                chosen.drain(..drop);
            }
        }
        positions = chosen;
        before_exists = Box::new(move |p| (0..p).rev().any(in_set));
        after_exists = Box::new(move |p| (p + 1..n).any(in_set));
    }
    let has_previous = match positions.first() {
        Some(&p) => before_exists(p),
        None => lo > 0 && before_exists(lo),
    };
    let has_next = match positions.last() {
        Some(&p) => after_exists(p),
        None => hi < n && hi > 0 && after_exists(hi - 1),
    };
    Page {
        items: positions
            .into_iter()
            .map(|p| (key_of(order[p]), order[p]))
            .collect(),
        has_next,
        has_previous,
    }
}

/// `first`, then `last`, of an ascending slice (Relay's order of application).
fn choose(range: &[usize], req: &PageRequest) -> Vec<usize> {
    let mut v = range;
    if let Some(f) = req.first {
        v = &v[..f.min(v.len())];
    }
    if let Some(l) = req.last {
        v = &v[v.len().saturating_sub(l)..];
    }
    v.to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Ids 0..n whose natural keys are a permutation; walks pages both ways.
    fn fixture(n: u32, perm_seed: u64) -> (Vec<u32>, Vec<u32>, Vec<String>) {
        let mut ids: Vec<u32> = (0..n).collect();
        // A cheap deterministic shuffle.
        let mut x = perm_seed | 1;
        for i in (1..ids.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ids.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let keys: Vec<String> = (0..n)
            .map(|id| format!("k{:05}", ids.iter().position(|&i| i == id).unwrap()))
            .collect();
        let mut order: Vec<u32> = (0..n).collect();
        order.sort_by(|a, b| keys[*a as usize].cmp(&keys[*b as usize]));
        let mut rank = vec![0; n as usize];
        for (p, &id) in order.iter().enumerate() {
            rank[id as usize] = p as u32;
        }
        (order, rank, keys)
    }

    proptest! {
        #[test]
        fn walking_forward_and_backward_visits_the_whole_set_in_order(
            n in 1u32..300, members in proptest::collection::vec(any::<bool>(), 300), size in 1usize..25, seed in any::<u64>()
        ) {
            let (order, rank, keys) = fixture(n, seed);
            let set: RoaringBitmap = (0..n).filter(|&i| members[i as usize]).collect();
            let expected: Vec<u32> = order.iter().copied().filter(|id| set.contains(*id)).collect();
            let position = |c: &str| order.binary_search_by(|&id| keys[id as usize].as_str().cmp(c)).map(|p| p as u32).map_err(|p| p as u32);
            let key_of = |id: u32| keys[id as usize].clone();

            let mut seen = vec![];
            let mut after = None;
            loop {
                let p = page(&order, &rank, &set, &PageRequest { first: Some(size), after: after.clone(), ..Default::default() }, position, key_of);
                prop_assert!(p.items.len() <= size);
                prop_assert_eq!(p.has_previous, !seen.is_empty());
                seen.extend(p.items.iter().map(|(_, id)| *id));
                if !p.has_next { break; }
                after = p.items.last().map(|(k, _)| k.clone());
            }
            prop_assert_eq!(&seen, &expected);

            let mut back = vec![];
            let mut before = None;
            loop {
                let p = page(&order, &rank, &set, &PageRequest { last: Some(size), before: before.clone(), ..Default::default() }, position, key_of);
                let mut ids: Vec<u32> = p.items.iter().map(|(_, id)| *id).collect();
                ids.extend(back);
                back = ids;
                if !p.has_previous { break; }
                before = p.items.first().map(|(k, _)| k.clone());
            }
            prop_assert_eq!(&back, &expected);
        }
    }

    #[test]
    fn a_cursor_of_a_deleted_key_still_resumes_in_place() {
        let order = vec![0, 1, 2];
        let rank = vec![0, 1, 2];
        let keys = ["a", "c", "e"];
        let set: RoaringBitmap = [0, 1, 2].into_iter().collect();
        let position = |c: &str| {
            keys.binary_search(&c)
                .map(|p| p as u32)
                .map_err(|p| p as u32)
        };
        let p = page(
            &order,
            &rank,
            &set,
            &PageRequest {
                first: Some(5),
                after: Some("b".into()),
                ..Default::default()
            },
            position,
            |id| keys[id as usize].to_string(),
        );
        assert_eq!(
            p.items.iter().map(|(_, i)| *i).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(p.has_previous && !p.has_next);
    }
}
