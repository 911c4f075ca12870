//! Customers: per-index profiles and behaviour parameters, regenerated identically in both passes

use std::io::{self, Write};

use crate::calendar::{local_to_unix, push_date, push_instant};
use crate::catalog::{BRANCHES, BUNDLES, CATEGORIES, EMPLOYEES};
use crate::names::{INTERMEDIARIES, Lang, arabic_letters, tables};
use crate::out::{CsvOut, push_id, push_int, push_text};
use crate::rng::{Rng, mix};
use crate::world::{DAYS, World};

const S_BASE: u64 = 1;
const S_IDENTITY: u64 = 2;
const S_DUPLICATE: u64 = 4;

pub(crate) const CUSTOMER_HEADER: [&str; 21] = [
    "customer_id",
    "kind",
    "parent_id",
    "name",
    "phone",
    "email",
    "card",
    "language",
    "birth_date",
    "gender",
    "city",
    "region",
    "household_size",
    "income_band",
    "created_at",
    "branch_id",
    "employee_id",
    "consent_email",
    "consent_sms",
    "consent_phone",
    "attributes",
];

/// Kind of customer account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Consumer,
    Intermediary,
    Internal,
}

/// What both passes need about a customer: where, when, and how they buy.
#[derive(Debug, Clone)]
pub(crate) struct Base {
    pub(crate) kind: Kind,
    pub(crate) lang: Lang,
    pub(crate) female: bool,
    /// Registering branch; `None` for an online sign-up.
    pub(crate) branch: Option<usize>,
    /// Branch the customer shops at.
    pub(crate) home: usize,
    pub(crate) employee: Option<usize>,
    /// Day index (0-based within the history) and local second of registration.
    pub(crate) created_day: i32,
    pub(crate) created_secs: u32,
    pub(crate) prospect: bool,
    pub(crate) parent: Option<usize>,
    /// Index of the customer this record duplicates (same person registered twice).
    pub(crate) duplicate_of: Option<usize>,
    pub(crate) has_card: bool,
    /// Purchases per day while active (gamma heterogeneity).
    pub(crate) rate: f64,
    /// Probability of dropping out after each repeat purchase (beta heterogeneity).
    pub(crate) dropout: f64,
    /// Relative basket size (gamma, mean 1).
    pub(crate) spend: f64,
    pub(crate) fav_categories: [usize; 2],
    pub(crate) bundles: [usize; 3],
    /// Probability that a basket contains one of the favourite bundles.
    pub(crate) bundle_propensity: f64,
    /// Typical satisfaction score of this customer.
    pub(crate) satisfaction: f64,
}

fn pick_lang(rng: &mut Rng, branch: usize) -> Lang {
    let x = rng.f64();
    match branch {
        0 => {
            if x < 0.68 {
                Lang::He
            } else if x < 0.9 {
                Lang::En
            } else {
                Lang::Fa
            }
        }
        1 => {
            if x < 0.74 {
                Lang::He
            } else if x < 0.88 {
                Lang::En
            } else {
                Lang::Fa
            }
        }
        _ => {
            if x < 0.9 {
                Lang::Fa
            } else {
                Lang::En
            }
        }
    }
}

/// Language of a name by its script.
fn lang_of(name: &str) -> Lang {
    if name.chars().any(|c| ('\u{0600}'..='\u{06FF}').contains(&c)) {
        Lang::Fa
    } else if name.chars().any(|c| ('\u{0590}'..='\u{05FF}').contains(&c)) {
        Lang::He
    } else {
        Lang::En
    }
}

/// Whether consumer `i` is a planted duplicate (decided by a stateless hash).
fn is_duplicate(w: &World, i: usize) -> bool {
    i >= w.first_consumer() + 50 && mix(w.seed, S_DUPLICATE, i as u64) % 1000 < 5
}

/// The original a duplicate copies: an earlier ordinary consumer with a birth date.
fn duplicate_target(w: &World, i: usize) -> Option<usize> {
    if !is_duplicate(w, i) {
        return None;
    }
    let first = w.first_consumer();
    let span = (i - first).min(20_000) as u64;
    let mut j = i - 1 - (mix(w.seed, S_DUPLICATE + 1, i as u64) % span) as usize;
    for _ in 0..50 {
        if j < first {
            return None;
        }
        if !is_duplicate(w, j) {
            let b = base_plain(w, j);
            if b.kind == Kind::Consumer && identity(w, j, &b).birth_day.is_some() {
                return Some(j);
            }
        }
        j -= 1;
    }
    None
}

/// The profile of customer `i`.
pub(crate) fn base(w: &World, i: usize) -> Base {
    let mut b = base_plain(w, i);
    if b.kind == Kind::Consumer
        && let Some(j) = duplicate_target(w, i)
    {
        let original = base_plain(w, j);
        b.lang = original.lang;
        b.female = original.female;
        b.duplicate_of = Some(j);
        b.has_card = false;
        b.parent = None;
        if original.branch.is_some() && mix(w.seed, S_DUPLICATE + 2, i as u64) % 10 < 7 {
            b.home = original.home;
            b.branch = Some(original.home);
            let mut rng = Rng::for_stream(w.seed, S_DUPLICATE + 3, i as u64);
            let zeal = &w.branch_zeal[b.home];
            b.employee = Some(w.branch_employees[b.home][rng.weighted(zeal)]);
        }
    }
    b
}

/// The profile of customer `i`, ignoring duplicate planting.
fn base_plain(w: &World, i: usize) -> Base {
    let mut rng = Rng::for_stream(w.seed, S_BASE, i as u64);
    let kind = if i < w.n_intermediaries {
        Kind::Intermediary
    } else if i < w.first_consumer() {
        Kind::Internal
    } else {
        Kind::Consumer
    };
    let mut branch = rng.weighted(&w.branch_cum);
    let mut lang = pick_lang(&mut rng, branch);
    let female = rng.chance(0.54);
    match kind {
        Kind::Intermediary => {
            let (name, b) = INTERMEDIARIES[i % INTERMEDIARIES.len()];
            branch = b;
            lang = lang_of(name);
        }
        Kind::Internal => {
            let (_, name, b, _) = EMPLOYEES[(i - w.n_intermediaries) % EMPLOYEES.len()];
            branch = b;
            lang = lang_of(name);
        }
        Kind::Consumer => {}
    }
    // Registration: a launch wave in the first weeks of the programme, then steady growth.
    let created_day = match kind {
        Kind::Intermediary | Kind::Internal => rng.range(0, 30) as i32,
        Kind::Consumer => {
            if rng.chance(0.25) {
                rng.range(0, 44) as i32
            } else {
                ((rng.f64().powf(0.8) * DAYS as f64) as i32).clamp(0, DAYS - 1)
            }
        }
    };
    let prospect = kind == Kind::Consumer && rng.chance(0.10);
    let online = prospect && rng.chance(0.4);
    let created_secs = w.shop_time(&mut rng, branch, created_day);
    let employee = if online {
        None
    } else if kind == Kind::Internal {
        Some((i - w.n_intermediaries) % EMPLOYEES.len())
    } else {
        Some(w.branch_employees[branch][rng.weighted(&w.branch_zeal[branch])])
    };
    let parent = if kind == Kind::Consumer && w.n_intermediaries > 0 && rng.chance(0.015) {
        let same: Vec<usize> = (0..w.n_intermediaries)
            .filter(|&k| INTERMEDIARIES[k % INTERMEDIARIES.len()].1 == branch)
            .collect();
        if same.is_empty() {
            Some(rng.index(w.n_intermediaries))
        } else {
            Some(*rng.pick(&same))
        }
    } else {
        None
    };
    let has_card = kind == Kind::Consumer && rng.chance(0.4);

    // Buy-till-you-die heterogeneity: gamma purchase rates, beta dropout probabilities.
    let (rate, dropout) = match kind {
        Kind::Intermediary => (rng.gamma(8.0, 1.0 / 8.0) / 5.0, 0.002),
        Kind::Internal => (rng.gamma(4.0, 1.0 / 4.0) / 9.0, rng.beta(1.0, 60.0)),
        Kind::Consumer => (rng.gamma(0.9, 1.0 / 23.0), rng.beta(1.1, 7.0)),
    };
    let spend = rng.gamma(3.0, 1.0 / 3.0);
    let c1 = rng.index(CATEGORIES.len() - 2);
    let c2 = (c1 + 1 + rng.index(CATEGORIES.len() - 3)) % (CATEGORIES.len() - 2);
    let mut bundles = [0usize; 3];
    for slot in &mut bundles {
        // Prefer bundles of the customer's culture.
        *slot = loop {
            let k = rng.index(BUNDLES.len());
            match BUNDLES[k].1 {
                None => break k,
                Some(code) if code == lang.code() => break k,
                Some(_) if rng.chance(0.15) => break k,
                Some(_) => {}
            }
        };
    }
    let bundle_propensity = 0.2 + 0.45 * rng.f64();
    let satisfaction = (4.6 - 5.0 * dropout + 0.4 * rng.normal()).clamp(1.8, 5.0);
    Base {
        kind,
        lang,
        female,
        branch: if online { None } else { Some(branch) },
        home: branch,
        employee,
        created_day,
        created_secs,
        prospect,
        parent,
        duplicate_of: None,
        has_card,
        rate,
        dropout,
        spend,
        fav_categories: [c1, c2],
        bundles,
        bundle_propensity,
        satisfaction,
    }
}

/// What only the customers file needs: name and identifiers, demographics.
pub(crate) struct Identity {
    pub(crate) name: String,
    first_latin: &'static str,
    last_latin: &'static str,
    pub(crate) birth_day: Option<i32>,
}

fn identity(w: &World, i: usize, b: &Base) -> Identity {
    let mut rng = Rng::for_stream(w.seed, S_IDENTITY, i as u64);
    let (firsts, lasts) = tables(b.lang, b.female);
    let first = *rng.pick(firsts);
    let last = *rng.pick(lasts);
    let birth_day = if rng.chance(0.85) {
        let age = 18.0 + 67.0 * rng.beta(2.0, 3.2);
        let end = w.start + DAYS - 1;
        Some(end - (age * 365.25) as i32 - rng.below(365) as i32)
    } else {
        None
    };
    Identity {
        name: format!("{} {}", first.0, last.0),
        first_latin: first.1,
        last_latin: last.1,
        birth_day,
    }
}

/// A keyed permutation of `0..limit` (`limit <= 2^32`): a balanced Feistel network on the
/// smallest even number of bits that covers `limit`, cycle-walked back into range. Identifiers
/// derived from an index this way look random but can never collide.
pub(crate) fn permute(i: u64, limit: u64) -> u64 {
    let bits = (64 - (limit.max(2) - 1).leading_zeros()).div_ceil(2);
    let mask = (1u64 << bits) - 1;
    let mut x = i;
    loop {
        let (mut l, mut r) = (x >> bits, x & mask);
        for round in 0..4 {
            let f = mix(0x5045_524D, round, r) & mask;
            (l, r) = (r, l ^ f);
        }
        x = (l << bits) | r;
        if x < limit {
            return x;
        }
    }
}

fn push_phone(buf: &mut Vec<u8>, rng: &mut Rng, i: usize, iranian: bool) {
    let n = permute(i as u64, 10_000_000);
    let s = if iranian {
        // Always international: the import reads local notation with one default country (IL),
        // where "0912 345 6789" would not be an Israeli number.
        let op = *rng.pick(&["912", "913", "919", "935", "936", "901", "902", "990"]);
        let (hi, lo) = (n / 10_000, n % 10_000);
        match rng.below(10) {
            0..=5 => format!("+98 {op} {hi:03} {lo:04}"),
            6..=8 => format!("+98{op}{n:07}"),
            _ => format!("0098 {op} {hi:03} {lo:04}"),
        }
    } else {
        let op = *rng.pick(&["50", "52", "53", "54", "55", "58"]);
        match rng.below(20) {
            0..=9 => format!("0{op}-{n:07}"),
            10..=14 => format!("+972 {op} {:03} {:04}", n / 10_000, n % 10_000),
            15..=17 => format!("0{op}{n:07}"),
            _ => format!("0{op} {:03} {:04}", n / 10_000, n % 10_000),
        }
    };
    push_text(buf, &s);
}

/// Writes the customers file; returns (prospects, planted duplicates, end customers).
pub(crate) fn write_customers<W: Write>(w: &World, out: &mut CsvOut<'_, W>) -> io::Result<(u64, u64, u64)> {
    out.header(&CUSTOMER_HEADER)?;
    let mut prospects = 0;
    let mut duplicates = 0;
    let mut end_customers = 0;
    for i in 0..w.customers {
        let b = base(w, i);
        prospects += u64::from(b.prospect);
        duplicates += u64::from(b.duplicate_of.is_some());
        end_customers += u64::from(b.parent.is_some());
        write_customer(w, i, &b, &mut out.buf);
        out.end_row()?;
    }
    Ok((prospects, duplicates, end_customers))
}

const LIFESTYLES: [&str; 10] = [
    "home cook",
    "foodie",
    "young family",
    "student",
    "retired",
    "health conscious",
    "busy professional",
    "host",
    "runner",
    "coffee lover",
];
const NEEDS: [&str; 8] = [
    "quick breakfast",
    "kosher",
    "organic",
    "gluten free",
    "gifts",
    "bulk buying",
    "delivery",
    "vegan",
];
/// Typical monthly household spend (ILS) per category, in [`CATEGORIES`] order.
const WALLET: [f64; 10] = [160.0, 70.0, 260.0, 420.0, 220.0, 170.0, 160.0, 240.0, 60.0, 120.0];
const EXPECTATIONS: [&str; 5] = [
    "fast service",
    "expert advice",
    "good prices",
    "quality",
    "personal treatment",
];

fn write_customer(w: &World, i: usize, b: &Base, buf: &mut Vec<u8>) {
    let mut rng = Rng::for_stream(w.seed, S_IDENTITY + 100, i as u64);
    // A planted duplicate is the same person: it carries the original's name and birth date.
    let id = &match b.duplicate_of {
        Some(j) => identity(w, j, &base_plain(w, j)),
        None => identity(w, i, b),
    };
    push_id(buf, b'M', i as u64 + 1, w.id_width);
    buf.push(b',');
    buf.extend_from_slice(match b.kind {
        Kind::Consumer => b"consumer",
        Kind::Intermediary => b"intermediary",
        Kind::Internal => b"internal",
    });
    buf.push(b',');
    if let Some(p) = b.parent {
        push_id(buf, b'M', p as u64 + 1, w.id_width);
    }
    buf.push(b',');

    // Name: own, or copied (with a spelling variant) from the original of a planted duplicate.
    let name = match (b.kind, b.duplicate_of) {
        (Kind::Intermediary, _) => INTERMEDIARIES[i % INTERMEDIARIES.len()].0.to_string(),
        (Kind::Internal, _) => EMPLOYEES[(i - w.n_intermediaries) % EMPLOYEES.len()].1.to_string(),
        (Kind::Consumer, Some(_)) => {
            let variant = arabic_letters(&id.name);
            if variant != id.name && rng.chance(0.8) {
                variant
            } else if b.lang == Lang::En && rng.chance(0.5) {
                id.name.to_lowercase()
            } else {
                id.name.clone()
            }
        }
        (Kind::Consumer, None) => id.name.clone(),
    };
    push_text(buf, &name);
    buf.push(b',');

    // Phone: unique by construction (derived from the index), in mixed notations.
    // Phone numbers have seven free digits: beyond ten million records, none.
    let has_phone = i < 10_000_000
        && match b.kind {
            Kind::Consumer => rng.chance(0.92),
            _ => true,
        };
    if has_phone {
        push_phone(buf, &mut rng, i, BRANCHES[b.home].region == "Tehran");
    }
    buf.push(b',');

    // E-mail: the local part ends with the member number, so it is unique after lower-casing.
    let email_p = match b.lang {
        Lang::En => 0.75,
        Lang::He => 0.6,
        Lang::Fa => 0.45,
    };
    let has_email = match b.kind {
        Kind::Consumer => rng.chance(if b.duplicate_of.is_some() { 0.3 } else { email_p }),
        _ => true,
    };
    if has_email {
        let email = match b.kind {
            Kind::Intermediary => format!("orders{}@wholesale-partners.example", i + 1),
            Kind::Internal => format!(
                "staff.{}@kesher-deli.example",
                EMPLOYEES[(i - w.n_intermediaries) % EMPLOYEES.len()].0.to_lowercase()
            ),
            Kind::Consumer => {
                let domains: &[&str] = match b.lang {
                    Lang::He => &[
                        "gmail.com",
                        "gmail.com",
                        "walla.co.il",
                        "bezeqint.net",
                        "hotmail.com",
                        "yahoo.com",
                    ],
                    Lang::En => &["gmail.com", "gmail.com", "outlook.com", "icloud.com", "yahoo.com"],
                    Lang::Fa => &["gmail.com", "yahoo.com", "chmail.ir", "gmail.com"],
                };
                let domain = *rng.pick(domains);
                let (f, l) = (id.first_latin, id.last_latin);
                let n = i + 1;
                let mut s = match rng.below(4) {
                    0 => format!("{f}.{l}{n}@{domain}"),
                    1 => format!("{f}{l}{n}@{domain}"),
                    2 => format!("{}{l}{n}@{domain}", f.chars().next().unwrap_or('x')),
                    _ => format!("{f}_{n}@{domain}"),
                };
                if rng.chance(0.1) {
                    // Capitals to be normalised away.
                    s = s
                        .split('@')
                        .map(|part| {
                            let mut c = part.chars();
                            c.next()
                                .map(|h| h.to_uppercase().chain(c).collect())
                                .unwrap_or_default()
                        })
                        .collect::<Vec<String>>()
                        .join("@");
                }
                if rng.chance(0.03) {
                    s = format!(" {s} ");
                }
                s
            }
        };
        push_text(buf, &email);
    }
    buf.push(b',');

    if b.has_card && i < 1_000_000_000 {
        // 13-digit card number; the middle part is a bijection of the index.
        buf.extend_from_slice(b"7290");
        let n = permute(i as u64, 1_000_000_000);
        crate::calendar::push_padded(buf, n, 9);
    }
    buf.push(b',');
    buf.extend_from_slice(b.lang.code().as_bytes());
    buf.push(b',');

    let consumer = b.kind == Kind::Consumer;
    let birth = if consumer { id.birth_day } else { None };
    if let Some(d) = birth {
        push_date(buf, d);
    }
    buf.push(b',');
    if consumer && rng.chance(0.92) {
        let g: &[u8] = if rng.chance(0.01) {
            b"other"
        } else if b.female {
            b"female"
        } else {
            b"male"
        };
        buf.extend_from_slice(g);
    }
    buf.push(b',');
    let branch = &BRANCHES[b.home];
    let has_city = !consumer || rng.chance(0.8);
    if has_city {
        let city: &&str = rng.pick(branch.cities);
        push_text(buf, city);
    }
    buf.push(b',');
    if has_city && rng.chance(0.9) {
        push_text(buf, branch.region);
    }
    buf.push(b',');
    if consumer && rng.chance(0.7) {
        push_int(buf, (1 + rng.poisson(1.6)).min(8) as i64);
    }
    buf.push(b',');
    if consumer && rng.chance(0.6) {
        let x = rng.f64() + 0.15 * (b.spend - 1.0);
        let band: &[u8] = if x < 0.25 {
            b"low"
        } else if x < 0.7 {
            b"middle"
        } else if x < 0.92 {
            b"high"
        } else {
            b"very high"
        };
        buf.extend_from_slice(band);
    }
    buf.push(b',');
    let zone = branch.zone;
    push_instant(
        buf,
        local_to_unix(zone, w.start + b.created_day, b.created_secs).min(w.until),
    );
    buf.push(b',');
    if let Some(br) = b.branch {
        buf.extend_from_slice(BRANCHES[br].id.as_bytes());
    }
    buf.push(b',');
    if let Some(e) = b.employee {
        buf.extend_from_slice(EMPLOYEES[e].0.as_bytes());
    }
    buf.push(b',');
    let consent = |rng: &mut Rng, present: bool, granted: f64, withdrawn: f64, buf: &mut Vec<u8>| {
        if present {
            let x = rng.f64();
            if x < granted {
                buf.extend_from_slice(b"granted");
            } else if x < granted + withdrawn {
                buf.extend_from_slice(b"withdrawn");
            }
        }
    };
    consent(&mut rng, has_email, 0.7, 0.1, buf);
    buf.push(b',');
    consent(&mut rng, has_phone, 0.65, 0.12, buf);
    buf.push(b',');
    consent(&mut rng, has_phone, 0.25, 0.05, buf);
    buf.push(b',');
    let attributes = attributes(&mut rng, b, i, w);
    if !attributes.is_empty() {
        push_text(buf, &attributes);
    }
}

/// The attributes JSON object (empty string when nothing is known).
fn attributes(rng: &mut Rng, b: &Base, i: usize, w: &World) -> String {
    let mut fields: Vec<String> = Vec::new();
    match b.kind {
        Kind::Intermediary => {
            fields.push(r#""segment":"distributor""#.to_string());
            fields.push(r#""needs":["bulk buying","monthly invoice"]"#.to_string());
            return format!("{{{}}}", fields.join(","));
        }
        Kind::Internal => {
            let e = EMPLOYEES[(i - w.n_intermediaries) % EMPLOYEES.len()].0;
            return format!(r#"{{"employee_id":"{e}","staff_discount_pct":10}}"#);
        }
        Kind::Consumer => {}
    }
    if rng.chance(0.55) {
        fields.push(format!(r#""lifestyle":"{}""#, rng.pick(&LIFESTYLES)));
    }
    if rng.chance(0.4) {
        let a = rng.index(NEEDS.len());
        let mut needs = format!(r#""needs":["{}""#, NEEDS[a]);
        if rng.chance(0.4) {
            let c = (a + 1 + rng.index(NEEDS.len() - 1)) % NEEDS.len();
            needs.push_str(&format!(r#","{}""#, NEEDS[c]));
        }
        needs.push(']');
        fields.push(needs);
    }
    if rng.chance(0.3) {
        fields.push(format!(r#""expectations":"{}""#, rng.pick(&EXPECTATIONS)));
    }
    if rng.chance(0.3) {
        // The household's monthly spend in its favourite categories across all shops, as told
        // by the customer; what it buys here is only a share of this wallet.
        let parts: Vec<String> = b
            .fav_categories
            .iter()
            .map(|&c| {
                let typical = WALLET[c] * b.spend.sqrt() * (0.4 * rng.normal()).exp();
                let ils = ((typical / 10.0).round() as i64 * 10).clamp(20, 3000);
                format!(r#""{}":{}"#, CATEGORIES[c].name, ils)
            })
            .collect();
        fields.push(format!(r#""estimated_category_spend":{{{}}}"#, parts.join(",")));
    }
    if fields.is_empty() {
        String::new()
    } else {
        format!("{{{}}}", fields.join(","))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permute_is_a_bijection_into_range() {
        for limit in [10u64, 1000, 100_000] {
            let mut seen = vec![false; limit as usize];
            for i in 0..limit {
                let x = permute(i, limit);
                assert!(x < limit);
                assert!(!seen[x as usize], "{limit}: {x} twice");
                seen[x as usize] = true;
            }
        }
        // Consecutive indexes do not give consecutive numbers.
        let p: Vec<u64> = (0..5).map(|i| permute(i, 10_000_000)).collect();
        assert!(p.windows(2).all(|w| w[0].abs_diff(w[1]) > 1), "{p:?}");
    }

    #[test]
    fn profiles_are_regenerated_identically() {
        let w = World::new(3000, 9, (2025, 6, 30));
        for i in [0, 7, 30, 2999] {
            let (a, b) = (base(&w, i), base(&w, i));
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
        assert_eq!(base(&w, 0).kind, Kind::Intermediary);
        assert_eq!(base(&w, w.n_intermediaries).kind, Kind::Internal);
        assert_eq!(base(&w, w.first_consumer()).kind, Kind::Consumer);
    }

    #[test]
    fn duplicates_point_to_an_earlier_consumer_of_the_same_language() {
        let w = World::new(5000, 1, (2025, 6, 30));
        let mut found = 0;
        for i in 0..5000 {
            let b = base(&w, i);
            if let Some(j) = b.duplicate_of {
                found += 1;
                assert!(j < i && j >= w.first_consumer());
                let o = base(&w, j);
                assert_eq!((o.lang, o.female, o.duplicate_of.is_none()), (b.lang, b.female, true));
                assert!(!b.has_card);
            }
        }
        assert!((10..50).contains(&found), "{found}");
    }
}
