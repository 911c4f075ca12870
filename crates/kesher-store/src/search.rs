//! The customer search's plan, written once for both backends: which indexed prefixes a query
//! probes, and how the probes' ordered hits become one page. A backend runs each probe as one
//! range scan of an index (`SearchColumn`'s key, `>= prefix AND < prefix_end(prefix)`, in key
//! order, at most `probe_limit` rows) and hands the hits to `merge_hits`; no query counts or
//! sorts every customer.
//!
//! What a query finds: customers whose normalised name starts with the normalised query, or
//! whose name after its first word does (the family name: "coh" finds Dana Cohen), and
//! customers whose member number, card, e-mail or phone starts with the query as typed (or in
//! ASCII upper or lower case), or whose phone is the query read as a phone. Matches are ordered
//! by the text that matched, then id; the total is counted up to `SEARCH_COUNT_CAP`.

use crate::CustomerQuery;
use kesher_core::CustomerId;

/// A search counts its matches up to this many; past it the page says "1,000+"
/// (`Page::total_capped`).
pub const SEARCH_COUNT_CAP: u64 = 1000;

/// The indexed key a probe ranges over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchColumn {
    /// `name_norm`.
    Name,
    /// `name_norm` after its first space (the whole name when it has none): indexed as an
    /// expression on both backends (migration 0014).
    Surname,
    Member,
    Card,
    Email,
    Phone,
}

/// One range scan: the customers whose `column` starts with `prefix` (equals it when `exact`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    pub column: SearchColumn,
    pub prefix: String,
    pub exact: bool,
}

impl Probe {
    /// The range's exclusive upper end, `None` for an exact probe or when no string is greater.
    pub fn end(&self) -> Option<String> {
        if self.exact { None } else { prefix_end(&self.prefix) }
    }
}

/// The probes of a query; none when it has no text (the listing of every customer).
pub fn probes(q: &CustomerQuery) -> Vec<Probe> {
    let Some(text) = q.text.as_deref().map(str::trim).filter(|t| !t.is_empty()) else {
        return Vec::new();
    };
    let mut out: Vec<Probe> = Vec::new();
    let mut push = |column: SearchColumn, prefix: String, exact: bool| {
        let p = Probe { column, prefix, exact };
        if !p.prefix.is_empty() && !out.contains(&p) {
            out.push(p);
        }
    };
    let name = kesher_core::normalize_name(text);
    push(SearchColumn::Name, name.clone(), false);
    push(SearchColumn::Surname, name, false);
    for typed in [text.to_string(), text.to_ascii_uppercase(), text.to_ascii_lowercase()] {
        for column in [
            SearchColumn::Member,
            SearchColumn::Card,
            SearchColumn::Email,
            SearchColumn::Phone,
        ] {
            push(column, typed.clone(), false);
        }
    }
    if let Some(phone) = &q.phone {
        push(SearchColumn::Phone, phone.as_str().to_string(), true);
    }
    out
}

/// How many hits each probe may return: enough for the page and one more, and for the count.
pub fn probe_limit(q: &CustomerQuery) -> u64 {
    q.offset
        .saturating_add(u64::from(q.limit))
        .saturating_add(1)
        .max(SEARCH_COUNT_CAP + 1)
}

/// The smallest string greater than every string starting with `prefix` (in code point order,
/// which is UTF-8 byte order: SQLite's BINARY and PostgreSQL's "C" collation), or `None` when
/// there is none.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        let mut next = last as u32 + 1;
        if (0xD800..=0xDFFF).contains(&next) {
            next = 0xE000;
        }
        if let Some(c) = char::from_u32(next) {
            chars.push(c);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The matches the probes found (each probe's hits in key order, as (key, id)), as the ids of
/// the page `q` asks for, the count (up to `SEARCH_COUNT_CAP`) and whether it was capped.
pub fn merge_hits(q: &CustomerQuery, hits: Vec<Vec<(String, CustomerId)>>) -> (Vec<CustomerId>, u64, bool) {
    let mut all: Vec<(String, CustomerId)> = hits.into_iter().flatten().collect();
    all.sort();
    let mut seen = std::collections::HashSet::new();
    all.retain(|(_, id)| seen.insert(*id));
    let distinct = all.len() as u64;
    let page = all
        .into_iter()
        .skip(usize::try_from(q.offset).unwrap_or(usize::MAX))
        .take(q.limit as usize)
        .map(|(_, id)| id)
        .collect();
    (page, distinct.min(SEARCH_COUNT_CAP), distinct > SEARCH_COUNT_CAP)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_prefix_ends_at_the_next_code_point() {
        assert_eq!(prefix_end("coh").as_deref(), Some("coi"));
        assert_eq!(prefix_end("").as_deref(), None);
        assert_eq!(prefix_end("a\u{D7FF}").as_deref(), Some("a\u{E000}"));
        assert_eq!(prefix_end("a\u{10FFFF}").as_deref(), Some("b"));
        assert_eq!(prefix_end("\u{10FFFF}"), None);
        // Every string starting with the prefix sorts below the end, in bytes too.
        for s in ["coh", "cohen", "coh\u{10FFFF}", "cohé"] {
            assert!(s.as_bytes() < prefix_end("coh").unwrap().as_bytes(), "{s}");
        }
        assert!("coi".as_bytes() >= prefix_end("coh").unwrap().as_bytes());
    }

    #[test]
    fn a_query_probes_the_name_its_family_part_and_each_identifier_in_three_cases() {
        let q = CustomerQuery {
            text: Some(" Dana C ".into()),
            limit: 10,
            ..Default::default()
        };
        let p = probes(&q);
        assert_eq!(
            p[0],
            Probe {
                column: SearchColumn::Name,
                prefix: "dana c".into(),
                exact: false
            }
        );
        assert_eq!(p[1].column, SearchColumn::Surname);
        let members: Vec<&str> = p
            .iter()
            .filter(|p| p.column == SearchColumn::Member)
            .map(|p| p.prefix.as_str())
            .collect();
        assert_eq!(members, ["Dana C", "DANA C", "dana c"]);
        assert!(probes(&CustomerQuery::default()).is_empty());
    }

    #[test]
    fn merged_hits_are_ordered_by_what_matched_counted_once_and_capped() {
        let id = |n: u128| CustomerId(uuid::Uuid::from_u128(n));
        let q = |offset: u64, limit: u32| CustomerQuery {
            text: Some("x".into()),
            limit,
            offset,
            ..Default::default()
        };
        let hits = vec![
            vec![("cohen dana".to_string(), id(1)), ("coral".to_string(), id(2))],
            vec![("cohen".to_string(), id(3)), ("cohen dana".to_string(), id(1))],
        ];
        assert_eq!(
            merge_hits(&q(0, 10), hits.clone()),
            (vec![id(3), id(1), id(2)], 3, false)
        );
        assert_eq!(merge_hits(&q(1, 1), hits), (vec![id(1)], 3, false));
        let many = vec![(0..1500u128).map(|n| (format!("k{n:05}"), id(n))).collect()];
        let (page, total, capped) = merge_hits(&q(0, 50), many);
        assert_eq!((page.len(), total, capped), (50, SEARCH_COUNT_CAP, true));
    }
}
