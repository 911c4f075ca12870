//! Languages and locale formatting: which language a request gets (the user's setting, then
//! `Accept-Language`), the Fluent messages of each, and numbers, money and dates written the
//! way each locale writes them — by ICU4X, with the Persian (Solar Hijri) calendar for Persian.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use icu_datetime::DateTimeFormatter;
use icu_datetime::fieldsets::{YMD, YMDT};
use icu_datetime::options::TimePrecision;
use icu_decimal::DecimalFormatter;
use icu_decimal::input::Decimal;
use icu_locale_core::Locale;
use std::sync::OnceLock;

/// A language of the interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    En,
    He,
    Fa,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::He, Lang::Fa];

    /// The BCP 47 code (`<html lang>`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::He => "he",
            Lang::Fa => "fa",
        }
    }

    /// The writing direction (`<html dir>`).
    pub fn dir(self) -> &'static str {
        match self {
            Lang::En => "ltr",
            Lang::He | Lang::Fa => "rtl",
        }
    }

    /// The language's own name, for the language menu.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::He => "עברית",
            Lang::Fa => "فارسی",
        }
    }

    /// A language tag (`he`, `he-IL`, the old `iw`, `fa-IR`, `en-GB`, any case) → the interface
    /// language it asks for, if kesher has it.
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "he" | "iw" => Some(Lang::He),
            "fa" | "per" | "fas" => Some(Lang::Fa),
            _ => None,
        }
    }

    /// The language for a request: the user's own setting when it names one kesher has, then
    /// the best `Accept-Language` entry kesher has (by q-value, then order), then English.
    pub fn negotiate(preference: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(l) = preference.and_then(Lang::from_tag) {
            return l;
        }
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, item) in accept_language.unwrap_or("").split(',').take(32).enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("");
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .filter_map(|q| q.trim().parse::<f32>().ok())
                .next()
                .unwrap_or(1.0);
            if q.is_nan() || q <= 0.0 {
                continue;
            }
            if let Some(l) = Lang::from_tag(tag)
                && best.is_none_or(|(bq, bi, _)| q > bq || (q == bq && i < bi))
            {
                best = Some((q, i, l));
            }
        }
        best.map(|(_, _, l)| l).unwrap_or(Lang::En)
    }

    fn locale(self) -> Locale {
        match self {
            Lang::En => icu_locale_core::locale!("en"),
            Lang::He => icu_locale_core::locale!("he"),
            Lang::Fa => icu_locale_core::locale!("fa"),
        }
    }

    fn index(self) -> usize {
        match self {
            Lang::En => 0,
            Lang::He => 1,
            Lang::Fa => 2,
        }
    }
}

/// The ICU4X formatters of one language, built once.
struct Formatters {
    decimal: Option<DecimalFormatter>,
    /// Without grouping separators: years.
    plain: Option<DecimalFormatter>,
    date: Option<DateTimeFormatter<YMD>>,
    date_time: Option<DateTimeFormatter<YMDT>>,
}

fn formatters(lang: Lang) -> &'static Formatters {
    static CELLS: [OnceLock<Formatters>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    CELLS[lang.index()].get_or_init(|| Formatters {
        decimal: DecimalFormatter::try_new(lang.locale().into(), Default::default()).ok(),
        plain: DecimalFormatter::try_new(lang.locale().into(), {
            let mut o = icu_decimal::options::DecimalFormatterOptions::default();
            o.grouping_strategy = Some(icu_decimal::options::GroupingStrategy::Never);
            o
        })
        .ok(),
        date: DateTimeFormatter::try_new(lang.locale().into(), YMD::medium()).ok(),
        date_time: DateTimeFormatter::try_new(
            lang.locale().into(),
            YMDT::medium().with_time_precision(TimePrecision::Minute),
        )
        .ok(),
    })
}

/// `value` scaled by 10^-`scale` (an integer number of minor units with `scale` decimals),
/// written with exactly `scale` decimals in `lang`'s digits and separators.
pub fn decimal(lang: Lang, value: i64, scale: u32) -> String {
    let mut d = Decimal::from(value);
    let s = i16::try_from(scale).unwrap_or(0);
    d.multiply_pow10(-s);
    d.absolute.pad_end(-s);
    match &formatters(lang).decimal {
        Some(f) => f.format(&d).to_string(),
        None => d.to_string(),
    }
}

/// A whole number in `lang`'s digits, with grouping.
pub fn integer(lang: Lang, value: i64) -> String {
    decimal(lang, value, 0)
}

/// A whole number in `lang`'s digits without grouping (a year).
pub fn plain_integer(lang: Lang, value: i64) -> String {
    let d = Decimal::from(value);
    match &formatters(lang).plain {
        Some(f) => f.format(&d).to_string(),
        None => d.to_string(),
    }
}

/// A floating-point figure rounded to `digits` decimals.
pub fn float(lang: Lang, value: f64, digits: u32) -> String {
    if !value.is_finite() {
        return "—".into();
    }
    let scale = 10f64.powi(digits.min(6) as i32);
    let scaled = (value * scale).round();
    if scaled.abs() >= 9.0e15 {
        return format!("{value:.0}");
    }
    decimal(lang, scaled as i64, digits.min(6))
}

/// A share (0.25) as a percentage ("25.0%", "٪۲۵٫۰").
pub fn percent(lang: Lang, share: f64, digits: u32) -> String {
    let n = float(lang, share * 100.0, digits);
    match lang {
        Lang::Fa => format!("{n}٪"),
        _ => format!("{n}%"),
    }
}

/// The symbol a currency is shown with (its code when it has no common one).
pub fn currency_symbol(lang: Lang, code: &str) -> String {
    match (code, lang) {
        ("ILS", _) => "₪".into(),
        ("USD", _) => "$".into(),
        ("EUR", _) => "€".into(),
        ("GBP", _) => "£".into(),
        ("IRR", Lang::Fa) => "ریال".into(),
        ("IRR", _) => "﷼".into(),
        _ => code.to_string(),
    }
}

/// An amount of money in minor units, written for `lang`: the currency's decimals (ISO 4217),
/// the locale's digits and separators, the symbol before the number in English and after it in
/// Hebrew and Persian.
pub fn money(lang: Lang, minor: i64, currency: &str) -> String {
    let (code, scale) = match kesher_core::Currency::parse(currency) {
        Ok(c) => (c.as_str().to_string(), c.exponent()),
        Err(_) => (currency.to_string(), 2),
    };
    let n = decimal(lang, minor, scale);
    let sym = currency_symbol(lang, &code);
    match lang {
        Lang::En => match n.strip_prefix('-') {
            Some(abs) => format!("-{sym}{abs}"),
            None => format!("{sym}{n}"),
        },
        // The symbol follows; a no-break space keeps them on one line.
        Lang::He | Lang::Fa => format!("{n}\u{a0}{sym}"),
    }
}

/// The civil date and time of `at` in `zone`, as ICU4X inputs.
fn civil(at: jiff::Timestamp, zone: &jiff::tz::TimeZone) -> Option<icu_datetime::input::DateTime<icu_calendar::Iso>> {
    let dt = at.to_zoned(zone.clone()).datetime();
    let date = icu_calendar::Date::try_new_iso(
        i32::from(dt.year()),
        u8::try_from(dt.month()).ok()?,
        u8::try_from(dt.day()).ok()?,
    )
    .ok()?;
    let time = icu_datetime::input::Time::try_new(
        u8::try_from(dt.hour()).ok()?,
        u8::try_from(dt.minute()).ok()?,
        u8::try_from(dt.second()).ok()?,
        0,
    )
    .ok()?;
    Some(icu_datetime::input::DateTime { date, time })
}

/// The date of `at` in `zone`: Gregorian in English and Hebrew, Solar Hijri in Persian.
pub fn date(lang: Lang, at: jiff::Timestamp, zone: &jiff::tz::TimeZone) -> String {
    match (civil(at, zone), &formatters(lang).date) {
        (Some(c), Some(f)) => f.format(&c.date).to_string(),
        _ => at.to_zoned(zone.clone()).date().to_string(),
    }
}

/// The date and time (to the minute) of `at` in `zone`.
pub fn date_time(lang: Lang, at: jiff::Timestamp, zone: &jiff::tz::TimeZone) -> String {
    match (civil(at, zone), &formatters(lang).date_time) {
        (Some(c), Some(f)) => f.format(&c).to_string(),
        _ => at.to_zoned(zone.clone()).datetime().to_string(),
    }
}

/// A calendar month ("2026-03") written for `lang` (the Persian month that the 1st falls in
/// comes from ICU4X's Persian calendar).
pub fn month(lang: Lang, ym: &str) -> String {
    let Some((y, m)) = ym.split_once('-') else {
        return ym.to_string();
    };
    let (Ok(y), Ok(m)) = (y.parse::<i32>(), m.parse::<u8>()) else {
        return ym.to_string();
    };
    let Ok(d) = icu_calendar::Date::try_new_iso(y, m, 1) else {
        return ym.to_string();
    };
    match lang {
        Lang::Fa => {
            let p = d.to_calendar(icu_calendar::cal::Persian);
            format!(
                "{}/{}",
                plain_integer(lang, i64::from(p.era_year().year)),
                plain_integer(lang, i64::from(p.month().ordinal))
            )
        }
        _ => format!(
            "{}/{}",
            m,
            // Years without grouping ("2026", not "2,026").
            y
        ),
    }
}

/// The Fluent messages of every language, with numbers formatted by ICU4X.
pub struct Messages {
    bundles: Vec<FluentBundle<FluentResource>>,
}

const SOURCES: [(Lang, &str); 3] = [
    (Lang::En, include_str!("locales/en.ftl")),
    (Lang::He, include_str!("locales/he.ftl")),
    (Lang::Fa, include_str!("locales/fa.ftl")),
];

fn fluent_number<M>(lang: Lang, v: &FluentValue, _: &M) -> Option<String> {
    match v {
        FluentValue::Number(n) => {
            let digits = n.options.minimum_fraction_digits.unwrap_or(0) as u32;
            Some(float(lang, n.value, digits))
        }
        _ => None,
    }
}
fn fluent_number_en<M>(v: &FluentValue, m: &M) -> Option<String> {
    fluent_number(Lang::En, v, m)
}
fn fluent_number_he<M>(v: &FluentValue, m: &M) -> Option<String> {
    fluent_number(Lang::He, v, m)
}
fn fluent_number_fa<M>(v: &FluentValue, m: &M) -> Option<String> {
    fluent_number(Lang::Fa, v, m)
}

/// A message file that does not parse, or a message defined twice.
#[derive(Debug, thiserror::Error)]
#[error("the {lang} messages are broken: {detail}")]
pub struct MessagesError {
    pub lang: &'static str,
    pub detail: String,
}

impl Messages {
    pub fn load() -> Result<Messages, MessagesError> {
        let mut bundles = Vec::new();
        for (lang, src) in SOURCES {
            let err = |detail: String| MessagesError {
                lang: lang.code(),
                detail,
            };
            let res = FluentResource::try_new(src.to_string()).map_err(|(_, e)| err(format!("{e:?}")))?;
            let id: unic_langid::LanguageIdentifier = lang.code().parse().map_err(|e| err(format!("{e:?}")))?;
            let mut b = FluentBundle::new_concurrent(vec![id]);
            b.add_resource(res).map_err(|e| err(format!("{e:?}")))?;
            b.set_formatter(Some(match lang {
                Lang::En => fluent_number_en,
                Lang::He => fluent_number_he,
                Lang::Fa => fluent_number_fa,
            }));
            bundles.push(b);
        }
        Ok(Messages { bundles })
    }

    fn bundle(&self, lang: Lang) -> Option<&FluentBundle<FluentResource>> {
        self.bundles.get(lang.index())
    }

    /// Whether `lang` has its own message `key`.
    pub fn has(&self, lang: Lang, key: &str) -> bool {
        self.bundle(lang).is_some_and(|b| b.has_message(key))
    }

    /// The message `key` in `lang` (then in English, then the key itself), with `args`.
    pub fn get(&self, lang: Lang, key: &str, args: Option<&FluentArgs>) -> String {
        for l in [lang, Lang::En] {
            let Some(b) = self.bundle(l) else { continue };
            let Some(pattern) = b.get_message(key).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            return b.format_pattern(pattern, args, &mut errors).into_owned();
        }
        key.to_string()
    }

    /// Every message id of `lang`'s file, in file order.
    pub fn ids(lang: Lang) -> Vec<String> {
        let Some((_, src)) = SOURCES.iter().find(|(l, _)| *l == lang) else {
            return Vec::new();
        };
        let Ok(res) = FluentResource::try_new(src.to_string()) else {
            return Vec::new();
        };
        res.entries()
            .filter_map(|e| match e {
                fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
                _ => None,
            })
            .collect()
    }
}
