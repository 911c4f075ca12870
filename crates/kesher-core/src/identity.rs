//! Recognising a customer: e-mail addresses, and likely duplicate records with a score and reason.

use crate::{CustomerId, DomainError, name_key, name_similarity};
use std::collections::HashMap;
use std::fmt;

/// An e-mail address, trimmed and lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Email, DomainError> {
        let s = input.trim().to_lowercase();
        let bad = |code: &'static str, why: &str| {
            DomainError::new(
                code,
                "email",
                format!("invalid e-mail address {:?}: {why}", input.trim()),
            )
            .with("value", input.trim())
        };
        let (local, domain) = s.split_once('@').ok_or_else(|| bad("email.no_at", "no @"))?;
        if local.is_empty() || domain.is_empty() {
            return Err(bad("email.empty_part", "empty part before or after @"));
        }
        if domain.contains('@') {
            return Err(bad("email.many_at", "more than one @"));
        }
        if s.chars()
            .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ',' | ';' | '<' | '>' | '"'))
        {
            return Err(bad("email.separators", "contains spaces or separators"));
        }
        if !domain.contains('.') || domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") {
            return Err(bad(
                "email.domain_without_dot",
                "the domain needs a dot, as in example.com",
            ));
        }
        if s.len() > 254 {
            return Err(bad("email.too_long", "longer than 254 characters"));
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The mailbox this address reaches: "+tag" removed, and dots removed for Gmail.
    pub fn canonical(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let local = local.split('+').next().unwrap_or(local);
        let local = if matches!(domain, "gmail.com" | "googlemail.com") {
            local.replace('.', "")
        } else {
            local.to_string()
        };
        format!("{local}@{domain}")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identity facts of one customer that duplicate search compares.
#[derive(Debug, Clone)]
pub struct DuplicateCandidate {
    pub id: CustomerId,
    pub name: Option<String>,
    pub birth_date: Option<jiff::civil::Date>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub city: Option<String>,
}

/// A likely duplicate: two customers, a score in (0, 1] and the reasons.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicatePair {
    pub a: CustomerId,
    pub b: CustomerId,
    pub score: f64,
    pub reasons: Vec<String>,
}

const MAX_BLOCK: usize = 400;

/// Find likely duplicate pairs. Candidates are blocked by canonical e-mail, phone, birth date
/// and name key so that the work stays near-linear; each pair is scored once with every reason
/// that applies. Pairs come back best first, then by ids.
pub fn find_duplicates(cands: &[DuplicateCandidate], min_score: f64) -> Vec<DuplicatePair> {
    let mut blocks: HashMap<(u8, String), Vec<usize>> = HashMap::new();
    for (i, c) in cands.iter().enumerate() {
        if let Some(e) = c.email.as_deref().and_then(|e| Email::parse(e).ok()) {
            blocks.entry((0, e.canonical())).or_default().push(i);
        }
        if let Some(p) = &c.phone {
            blocks.entry((1, p.clone())).or_default().push(i);
        }
        if let Some(d) = c.birth_date {
            blocks.entry((2, d.to_string())).or_default().push(i);
        }
        if let Some(n) = c.name.as_deref().map(name_key).filter(|k| !k.is_empty()) {
            blocks.entry((3, n)).or_default().push(i);
        }
    }
    let mut seen: HashMap<(usize, usize), ()> = HashMap::new();
    let mut out = Vec::new();
    let mut keys: Vec<_> = blocks.keys().cloned().collect();
    keys.sort();
    for key in keys {
        let Some(members) = blocks.get(&key) else {
            continue;
        };
        if members.len() < 2 || members.len() > MAX_BLOCK {
            continue;
        }
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                let pair = (i.min(j), i.max(j));
                if seen.insert(pair, ()).is_some() {
                    continue;
                }
                if let Some(p) = score_pair(&cands[pair.0], &cands[pair.1]).filter(|p| p.score >= min_score) {
                    out.push(p);
                }
            }
        }
    }
    out.sort_by(|x, y| y.score.total_cmp(&x.score).then(x.a.cmp(&y.a)).then(x.b.cmp(&y.b)));
    out
}

fn score_pair(x: &DuplicateCandidate, y: &DuplicateCandidate) -> Option<DuplicatePair> {
    let mut reasons = Vec::new();
    let mut score: f64 = 0.0;
    if let (Some(a), Some(b)) = (&x.phone, &y.phone)
        && a == b
    {
        reasons.push("same phone".to_string());
        score = score.max(0.98);
    }
    let ex = x.email.as_deref().and_then(|e| Email::parse(e).ok());
    let ey = y.email.as_deref().and_then(|e| Email::parse(e).ok());
    if let (Some(a), Some(b)) = (ex, ey) {
        if a == b {
            reasons.push("same e-mail".to_string());
            score = score.max(0.98);
        } else if a.canonical() == b.canonical() {
            reasons.push("same mailbox (e-mail differs only by dots or +tag)".to_string());
            score = score.max(0.9);
        }
    }
    let sim = match (&x.name, &y.name) {
        (Some(a), Some(b)) => name_similarity(a, b),
        _ => 0.0,
    };
    let same_birth = matches!((x.birth_date, y.birth_date), (Some(a), Some(b)) if a == b);
    if same_birth && sim >= 0.999 {
        reasons.push("same name and birth date".to_string());
        score = score.max(0.9);
    } else if same_birth && sim >= 0.9 {
        reasons.push(format!("similar name ({sim:.2}) and same birth date"));
        score = score.max(0.75 + (sim - 0.9) * 1.5);
    }
    let same_city =
        matches!((&x.city, &y.city), (Some(a), Some(b)) if crate::normalize_name(a) == crate::normalize_name(b));
    if !same_birth && sim >= 0.999 && same_city {
        reasons.push("same name and city".to_string());
        score = score.max(0.6);
    }
    if !reasons.is_empty()
        && sim >= 0.9
        && score < 0.98
        && (reasons[0].starts_with("same phone") || reasons[0].starts_with("same mailbox"))
    {
        score = (score + 0.05).min(1.0);
    }
    if reasons.is_empty() {
        return None;
    }
    let (a, b) = if x.id <= y.id { (x.id, y.id) } else { (y.id, x.id) };
    Some(DuplicatePair {
        a,
        b,
        score: (score * 1000.0).round() / 1000.0,
        reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(n: u8, name: &str, birth: Option<&str>, phone: Option<&str>, email: Option<&str>) -> DuplicateCandidate {
        DuplicateCandidate {
            id: CustomerId::from_bytes([n; 16]),
            name: Some(name.to_string()),
            birth_date: birth.map(|b| b.parse().unwrap()),
            phone: phone.map(str::to_string),
            email: email.map(str::to_string),
            city: None,
        }
    }

    #[test]
    fn email_is_trimmed_and_lowercased() {
        assert_eq!(
            Email::parse("  Dana.Cohen@Example.COM ").unwrap().as_str(),
            "dana.cohen@example.com"
        );
        assert!(Email::parse("dana").is_err());
        assert!(Email::parse("dana@localhost").is_err());
        assert!(Email::parse("da na@x.com").is_err());
        assert!(Email::parse("a@b@c.com").is_err());
        assert_eq!(
            Email::parse("d.a.n.a+shop@gmail.com").unwrap().canonical(),
            "dana@gmail.com"
        );
    }

    #[test]
    fn finds_duplicates_with_reasons() {
        let cs = vec![
            cand(1, "Dana Cohen", Some("1985-04-12"), Some("+972501234567"), None),
            cand(2, "dana  cohen", Some("1985-04-12"), Some("+972501234568"), None),
            cand(3, "علي كريمي", Some("1990-01-01"), None, None),
            cand(4, "علی کریمی", Some("1990-01-01"), None, None),
            cand(
                5,
                "Moshe Levi",
                Some("1985-04-12"),
                None,
                Some("moshe.levi+x@gmail.com"),
            ),
            cand(6, "M. Levi", None, None, Some("moshelevi@gmail.com")),
            cand(7, "Dana Kohen", Some("1985-04-12"), None, None),
        ];
        let pairs = find_duplicates(&cs, 0.5);
        let find = |a: u8, b: u8| {
            pairs
                .iter()
                .find(|p| p.a == CustomerId::from_bytes([a; 16]) && p.b == CustomerId::from_bytes([b; 16]))
                .cloned()
        };
        let p12 = find(1, 2).expect("1-2");
        assert_eq!(p12.reasons, vec!["same name and birth date"]);
        assert_eq!(find(3, 4).expect("3-4").reasons, vec!["same name and birth date"]);
        assert!(find(5, 6).expect("5-6").reasons[0].starts_with("same mailbox"));
        let p17 = find(1, 7).expect("1-7");
        assert!(p17.reasons[0].starts_with("similar name"), "{p17:?}");
        assert!(p17.score < p12.score);
        assert!(find(1, 5).is_none());
        // Best first.
        assert!(pairs.windows(2).all(|w| w[0].score >= w[1].score));
    }
}
