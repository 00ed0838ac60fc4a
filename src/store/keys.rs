//! Every key byte layout of the store, each next to its one encoder and decoder.
//!
//! All integers are big-endian so that sled's byte order is numeric order; strings that are
//! followed by more key parts end with a 0x00 terminator (slugs and refs never contain NUL), so
//! byte order is also the strings' lexicographic order and a prefix never matches a longer
//! value (`"a\0"` does not prefix `"a-b\0"`).
//!
//! | tree            | key                                     | value                    |
//! |-----------------|-----------------------------------------|--------------------------|
//! | `countries`     | code (3 ASCII bytes)                    | record                   |
//! | `cycles`        | number (u8)                             | record                   |
//! | `sessions`      | number (u16)                            | record                   |
//! | `recommendations`, `measures`, `good_practices`, `concerns`, `actions` | internal id (u32) | record |
//! | `refs`          | [`RefKind`] (u8) ++ ref bytes           | internal id (u32)        |
//! | `links`         | recommendation id (u32) ++ measure id (u32) | record               |
//! | `themes`, `groups` | slug bytes                           | record                   |
//! | `sdgs`          | goal (u8)                               | record                   |
//! | `measure_categories` | category code (u8)                 | record                   |
//! | `index`         | [`Index`] tag (u8) ++ value                 | posting list (see below) |
//! | `meta`          | ASCII name                              | see `store::meta`        |
//!
//! Internal ids are dense u32s handed out once per natural key and never reused. A posting
//! list (the targets of one relation value) is one value: `[POSTINGS_FORMAT]` followed by a
//! serialized roaring bitmap of u32 targets. One key per list rather than per entry keeps a
//! world-sized import to a few thousand index writes, and lets the query layer load a list
//! as a bitmap without decoding anything.

use crate::model::*;

/// Which natural-key namespace of the `refs` tree a ref belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RefKind {
    Recommendation = 1,
    Measure = 2,
    GoodPractice = 3,
    Concern = 4,
    Action = 5,
}

impl RefKind {
    pub fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(RefKind::Recommendation),
            2 => Some(RefKind::Measure),
            3 => Some(RefKind::GoodPractice),
            4 => Some(RefKind::Concern),
            5 => Some(RefKind::Action),
            _ => None,
        }
    }
}

pub fn ref_key(kind: RefKind, r: &Ref) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + r.as_str().len());
    k.push(kind as u8);
    k.extend_from_slice(r.as_str().as_bytes());
    k
}

pub fn decode_ref_key(k: &[u8]) -> Option<(RefKind, Ref)> {
    let kind = RefKind::from_byte(*k.first()?)?;
    let r = Ref::parse(std::str::from_utf8(&k[1..]).ok()?).ok()?;
    Some((kind, r))
}

pub fn id_key(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

pub fn decode_id(b: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(b.try_into().ok()?))
}

pub fn country_key(c: CountryCode) -> [u8; 3] {
    c.as_bytes()
}

pub fn cycle_key(c: CycleNumber) -> [u8; 1] {
    [c.get()]
}

pub fn session_key(s: SessionNumber) -> [u8; 2] {
    s.get().to_be_bytes()
}

pub fn sdg_key(g: SdgGoal) -> [u8; 1] {
    [g.get()]
}

pub fn category_key(c: MeasureCategory) -> [u8; 1] {
    [c.code()]
}

pub fn link_key(recommendation: u32, measure: u32) -> [u8; 8] {
    let mut k = [0; 8];
    k[..4].copy_from_slice(&recommendation.to_be_bytes());
    k[4..].copy_from_slice(&measure.to_be_bytes());
    k
}

pub fn decode_link_key(k: &[u8]) -> Option<(u32, u32)> {
    if k.len() != 8 {
        return None;
    }
    Some((decode_id(&k[..4])?, decode_id(&k[4..])?))
}

/// A posting list: the set of targets (internal ids, or session numbers) that share one value
/// of one relation. Each variant reads "from value to targets".
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Index {
    /// Sessions in which a country was reviewed (targets: session numbers).
    CountryReviews(CountryCode),
    /// Sessions of a cycle (targets: session numbers).
    CycleSessions(CycleNumber),
    /// Recommendations made in a session.
    SessionRecommendations(SessionNumber),
    /// Recommendations received by a State under review.
    RecommendationsReceived(CountryCode),
    /// Recommendations made by a recommending State.
    RecommendationsMade(CountryCode),
    RecommendationsByTheme(Slug),
    RecommendationsByGroup(Slug),
    RecommendationsBySdg(SdgGoal),
    RecommendationsByResponse(Response),
    RecommendationsByAction(ActionCategory),
    MeasuresByCountry(CountryCode),
    MeasuresByCategory(MeasureCategory),
    MeasuresByTheme(Slug),
    MeasuresByGroup(Slug),
    MeasuresBySdg(SdgGoal),
    GoodPracticesByCountry(CountryCode),
    GoodPracticesByTheme(Slug),
    GoodPracticesByGroup(Slug),
    GoodPracticesBySdg(SdgGoal),
    /// Good practices that cite a measure (value: the measure's internal id).
    GoodPracticesByMeasure(u32),
    /// Good practices that cite a recommendation (value: its internal id).
    GoodPracticesByRecommendation(u32),
    /// Recommendations linked to a measure: the reverse of the `links` tree, whose keys
    /// already run from recommendation to measure.
    LinksByMeasure(u32),
    ConcernsByCountry(CountryCode),
    ConcernsByKind(ConcernKind),
    ConcernsBySeverity(Severity),
    ConcernsByTheme(Slug),
    ConcernsByGroup(Slug),
    ConcernsBySdg(SdgGoal),
    /// Concerns that a measure mitigates (value: the measure's internal id).
    ConcernsByMeasure(u32),
    /// Concerns that a recommendation speaks to (value: its internal id).
    ConcernsByRecommendation(u32),
    ActionsByCountry(CountryCode),
    ActionsByKind(ActionKind),
    ActionsByTheme(Slug),
    ActionsByGroup(Slug),
    ActionsBySdg(SdgGoal),
    /// Actions that address a concern (value: the concern's internal id).
    ActionsByConcern(u32),
    /// Actions that supported a measure (value: its internal id).
    ActionsByMeasure(u32),
    /// Actions that followed up a recommendation (value: its internal id).
    ActionsByRecommendation(u32),
}

impl Index {
    fn tag(&self) -> u8 {
        use Index::*;
        match self {
            CountryReviews(_) => 1,
            CycleSessions(_) => 2,
            SessionRecommendations(_) => 3,
            RecommendationsReceived(_) => 4,
            RecommendationsMade(_) => 5,
            RecommendationsByTheme(_) => 6,
            RecommendationsByGroup(_) => 7,
            RecommendationsBySdg(_) => 8,
            RecommendationsByResponse(_) => 9,
            RecommendationsByAction(_) => 10,
            MeasuresByCountry(_) => 11,
            MeasuresByCategory(_) => 12,
            MeasuresByTheme(_) => 13,
            MeasuresByGroup(_) => 14,
            MeasuresBySdg(_) => 15,
            GoodPracticesByCountry(_) => 16,
            GoodPracticesByTheme(_) => 17,
            GoodPracticesByGroup(_) => 18,
            GoodPracticesBySdg(_) => 19,
            GoodPracticesByMeasure(_) => 20,
            GoodPracticesByRecommendation(_) => 21,
            LinksByMeasure(_) => 22,
            ConcernsByCountry(_) => 23,
            ConcernsByKind(_) => 24,
            ConcernsBySeverity(_) => 25,
            ConcernsByTheme(_) => 26,
            ConcernsByGroup(_) => 27,
            ConcernsBySdg(_) => 28,
            ConcernsByMeasure(_) => 29,
            ConcernsByRecommendation(_) => 30,
            ActionsByCountry(_) => 31,
            ActionsByKind(_) => 32,
            ActionsByTheme(_) => 33,
            ActionsByGroup(_) => 34,
            ActionsBySdg(_) => 35,
            ActionsByConcern(_) => 36,
            ActionsByMeasure(_) => 37,
            ActionsByRecommendation(_) => 38,
        }
    }

    /// The key of this posting list in the `index` tree.
    pub fn key(&self) -> Vec<u8> {
        use Index::*;
        let mut k = vec![self.tag()];
        match self {
            CountryReviews(c)
            | RecommendationsReceived(c)
            | RecommendationsMade(c)
            | MeasuresByCountry(c)
            | GoodPracticesByCountry(c)
            | ConcernsByCountry(c)
            | ActionsByCountry(c) => k.extend_from_slice(&c.as_bytes()),
            CycleSessions(c) => k.push(c.get()),
            SessionRecommendations(s) => k.extend_from_slice(&s.get().to_be_bytes()),
            RecommendationsByTheme(s)
            | RecommendationsByGroup(s)
            | MeasuresByTheme(s)
            | MeasuresByGroup(s)
            | GoodPracticesByTheme(s)
            | GoodPracticesByGroup(s)
            | ConcernsByTheme(s)
            | ConcernsByGroup(s)
            | ActionsByTheme(s)
            | ActionsByGroup(s) => {
                k.extend_from_slice(s.as_str().as_bytes());
                k.push(0);
            }
            RecommendationsBySdg(g)
            | MeasuresBySdg(g)
            | GoodPracticesBySdg(g)
            | ConcernsBySdg(g)
            | ActionsBySdg(g) => k.push(g.get()),
            ConcernsByKind(c) => k.push(c.code()),
            ConcernsBySeverity(c) => k.push(c.code()),
            ActionsByKind(c) => k.push(c.code()),
            RecommendationsByResponse(r) => k.push(r.code()),
            RecommendationsByAction(a) => k.push(a.get()),
            MeasuresByCategory(c) => k.push(c.code()),
            GoodPracticesByMeasure(id)
            | GoodPracticesByRecommendation(id)
            | LinksByMeasure(id)
            | ConcernsByMeasure(id)
            | ConcernsByRecommendation(id)
            | ActionsByConcern(id)
            | ActionsByMeasure(id)
            | ActionsByRecommendation(id) => k.extend_from_slice(&id.to_be_bytes()),
        }
        k
    }

    /// Decodes a key of the `index` tree back into its posting list.
    pub fn decode_key(key: &[u8]) -> Option<Index> {
        use Index::*;
        let (&tag, v) = key.split_first()?;
        let code = || CountryCode::from_bytes(v.try_into().ok()?).ok();
        let slug = || {
            let (&nul, s) = v.split_last()?;
            (nul == 0)
                .then(|| Slug::parse(std::str::from_utf8(s).ok()?).ok())
                .flatten()
        };
        let byte = || (v.len() == 1).then(|| v[0]);
        let sdg = || SdgGoal::new(byte()? as i64).ok();
        let id = || decode_id(v);
        let index = match tag {
            1 => CountryReviews(code()?),
            2 => CycleSessions(CycleNumber::new(byte()? as i64).ok()?),
            3 => SessionRecommendations(
                SessionNumber::new(u16::from_be_bytes(v.try_into().ok()?) as i64).ok()?,
            ),
            4 => RecommendationsReceived(code()?),
            5 => RecommendationsMade(code()?),
            6 => RecommendationsByTheme(slug()?),
            7 => RecommendationsByGroup(slug()?),
            8 => RecommendationsBySdg(sdg()?),
            9 => RecommendationsByResponse(Response::from_code(byte()?)?),
            10 => RecommendationsByAction(ActionCategory::new(byte()? as i64).ok()?),
            11 => MeasuresByCountry(code()?),
            12 => MeasuresByCategory(MeasureCategory::from_code(byte()?)?),
            13 => MeasuresByTheme(slug()?),
            14 => MeasuresByGroup(slug()?),
            15 => MeasuresBySdg(sdg()?),
            16 => GoodPracticesByCountry(code()?),
            17 => GoodPracticesByTheme(slug()?),
            18 => GoodPracticesByGroup(slug()?),
            19 => GoodPracticesBySdg(sdg()?),
            20 => GoodPracticesByMeasure(id()?),
            21 => GoodPracticesByRecommendation(id()?),
            22 => LinksByMeasure(id()?),
            23 => ConcernsByCountry(code()?),
            24 => ConcernsByKind(ConcernKind::from_code(byte()?)?),
            25 => ConcernsBySeverity(Severity::from_code(byte()?)?),
            26 => ConcernsByTheme(slug()?),
            27 => ConcernsByGroup(slug()?),
            28 => ConcernsBySdg(sdg()?),
            29 => ConcernsByMeasure(id()?),
            30 => ConcernsByRecommendation(id()?),
            31 => ActionsByCountry(code()?),
            32 => ActionsByKind(ActionKind::from_code(byte()?)?),
            33 => ActionsByTheme(slug()?),
            34 => ActionsByGroup(slug()?),
            35 => ActionsBySdg(sdg()?),
            36 => ActionsByConcern(id()?),
            37 => ActionsByMeasure(id()?),
            38 => ActionsByRecommendation(id()?),
            _ => return None,
        };
        // Reject keys with bytes that the encoder would not produce.
        (index.key() == key).then_some(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn slug() -> impl Strategy<Value = Slug> {
        "[a-z0-9]{1,6}(-[a-z0-9]{1,6}){0,3}".prop_map(|s| Slug::parse(&s).unwrap())
    }
    fn code() -> impl Strategy<Value = CountryCode> {
        "[A-Z]{3}".prop_map(|s| CountryCode::parse(&s).unwrap())
    }
    fn sdg() -> impl Strategy<Value = SdgGoal> {
        (1i64..=17).prop_map(|g| SdgGoal::new(g).unwrap())
    }

    fn index() -> impl Strategy<Value = Index> {
        use Index::*;
        prop_oneof![
            code().prop_map(CountryReviews),
            (1i64..=99).prop_map(|c| CycleSessions(CycleNumber::new(c).unwrap())),
            (1i64..=999).prop_map(|s| SessionRecommendations(SessionNumber::new(s).unwrap())),
            code().prop_map(RecommendationsReceived),
            code().prop_map(RecommendationsMade),
            slug().prop_map(RecommendationsByTheme),
            slug().prop_map(RecommendationsByGroup),
            sdg().prop_map(RecommendationsBySdg),
            (0u8..Response::ALL.len() as u8)
                .prop_map(|r| RecommendationsByResponse(Response::from_code(r).unwrap())),
            (1i64..=5).prop_map(|a| RecommendationsByAction(ActionCategory::new(a).unwrap())),
            code().prop_map(MeasuresByCountry),
            (0u8..14).prop_map(|c| MeasuresByCategory(MeasureCategory::from_code(c).unwrap())),
            slug().prop_map(MeasuresByTheme),
            slug().prop_map(MeasuresByGroup),
            sdg().prop_map(MeasuresBySdg),
            code().prop_map(GoodPracticesByCountry),
            slug().prop_map(GoodPracticesByTheme),
            slug().prop_map(GoodPracticesByGroup),
            sdg().prop_map(GoodPracticesBySdg),
            any::<u32>().prop_map(GoodPracticesByMeasure),
            any::<u32>().prop_map(GoodPracticesByRecommendation),
            any::<u32>().prop_map(LinksByMeasure),
            code().prop_map(ConcernsByCountry),
            (0u8..3).prop_map(|c| ConcernsByKind(ConcernKind::from_code(c).unwrap())),
            (0u8..3).prop_map(|c| ConcernsBySeverity(Severity::from_code(c).unwrap())),
            slug().prop_map(ConcernsByTheme),
            slug().prop_map(ConcernsByGroup),
            sdg().prop_map(ConcernsBySdg),
            any::<u32>().prop_map(ConcernsByMeasure),
            any::<u32>().prop_map(ConcernsByRecommendation),
            code().prop_map(ActionsByCountry),
            (0u8..4).prop_map(|c| ActionsByKind(ActionKind::from_code(c).unwrap())),
            slug().prop_map(ActionsByTheme),
            slug().prop_map(ActionsByGroup),
            sdg().prop_map(ActionsBySdg),
            any::<u32>().prop_map(ActionsByConcern),
            any::<u32>().prop_map(ActionsByMeasure),
            any::<u32>().prop_map(ActionsByRecommendation),
        ]
    }

    proptest! {
        #[test]
        fn index_keys_round_trip(i in index()) {
            prop_assert_eq!(Index::decode_key(&i.key()), Some(i));
        }

        #[test]
        fn slug_lists_sort_by_slug_and_never_prefix_each_other(a in slug(), b in slug()) {
            let (ka, kb) = (Index::RecommendationsByTheme(a.clone()), Index::RecommendationsByTheme(b.clone()));
            prop_assert_eq!(ka.key().cmp(&kb.key()), a.as_str().cmp(b.as_str()));
            if a != b {
                prop_assert!(!kb.key().starts_with(&ka.key()));
            }
        }

        #[test]
        fn link_keys_round_trip_and_group_by_recommendation(r in any::<u32>(), m in any::<u32>(), m2 in any::<u32>()) {
            prop_assert_eq!(decode_link_key(&link_key(r, m)), Some((r, m)));
            prop_assert_eq!(link_key(r, m).cmp(&link_key(r, m2)), m.cmp(&m2));
            prop_assert!(link_key(r, m).starts_with(&id_key(r)));
        }

        #[test]
        fn session_and_id_keys_sort_numerically(a in 1i64..=999, b in 1i64..=999, x in any::<u32>(), y in any::<u32>()) {
            let p = |n| Index::SessionRecommendations(SessionNumber::new(n).unwrap()).key();
            prop_assert_eq!(p(a).cmp(&p(b)), a.cmp(&b));
            prop_assert_eq!(id_key(x).cmp(&id_key(y)), x.cmp(&y));
            let s = |n| session_key(SessionNumber::new(n).unwrap());
            prop_assert_eq!(s(a).cmp(&s(b)), a.cmp(&b));
        }
    }

    #[test]
    fn ref_keys_round_trip() {
        let r = Ref::parse("R-36-HND-001").unwrap();
        let k = ref_key(RefKind::Measure, &r);
        assert_eq!(decode_ref_key(&k), Some((RefKind::Measure, r)));
    }

    #[test]
    fn truncated_or_padded_keys_are_rejected() {
        let e = Index::CountryReviews(CountryCode::parse("UKR").unwrap()).key();
        assert!(Index::decode_key(&e[..e.len() - 1]).is_none());
        let mut padded = e.clone();
        padded.push(b'X');
        assert!(Index::decode_key(&padded).is_none());
        assert!(Index::decode_key(&[99, 1]).is_none());
    }
}
