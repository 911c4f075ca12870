//! kesher's web pages, rendered on the server: the templates (minijinja, embedded), the
//! translations (Project Fluent: English, Hebrew, Persian), locale formatting (ICU4X: digits,
//! separators, the Persian calendar) and SVG charts. Pure: the HTTP crate gathers the data a
//! page shows (through the same functions as the JSON API, so the numbers agree) and asks this
//! crate to write it.

pub mod analytics;
pub mod chart;
pub mod dashboard;
pub mod l10n;

pub use l10n::{Lang, Messages};

use fluent_bundle::{FluentArgs, FluentValue};
use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, State};
use std::sync::Arc;

/// A page that could not be written (a template error: a bug, reported as a 500).
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("template {template}: {detail}")]
    Template { template: String, detail: String },
    #[error(transparent)]
    Messages(#[from] l10n::MessagesError),
}

const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("templates/base.html")),
    ("login.html", include_str!("templates/login.html")),
    ("dashboard.html", include_str!("templates/dashboard.html")),
    ("analytics.html", include_str!("templates/analytics.html")),
    ("customers.html", include_str!("templates/customers.html")),
    ("customer.html", include_str!("templates/customer.html")),
    ("segments.html", include_str!("templates/segments.html")),
    ("loyalty.html", include_str!("templates/loyalty.html")),
    ("campaigns.html", include_str!("templates/campaigns.html")),
    ("campaign.html", include_str!("templates/campaign.html")),
    ("error.html", include_str!("templates/error.html")),
    ("unsubscribe.html", include_str!("templates/unsubscribe.html")),
    ("admin_nav.html", include_str!("templates/admin_nav.html")),
    ("admin_users.html", include_str!("templates/admin_users.html")),
    ("admin_roles.html", include_str!("templates/admin_roles.html")),
    ("admin_tokens.html", include_str!("templates/admin_tokens.html")),
    ("admin_audit.html", include_str!("templates/admin_audit.html")),
    ("admin_retention.html", include_str!("templates/admin_retention.html")),
];

/// Every embedded asset: path under `/static/`, content type, bytes.
pub const ASSETS: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("assets/app.css")),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("assets/app.js"),
    ),
];

/// The embedded asset at `/static/{name}`.
pub fn asset(name: &str) -> Option<(&'static str, &'static [u8])> {
    ASSETS.iter().find(|(n, _, _)| *n == name).map(|(_, t, b)| (*t, *b))
}

/// The page renderer: templates and messages, built once per server.
pub struct Web {
    env: Environment<'static>,
    messages: Arc<Messages>,
}

fn lang_of(state: &State) -> Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::from_tag))
        .unwrap_or(Lang::En)
}

fn zone_of(state: &State) -> jiff::tz::TimeZone {
    state
        .lookup("time_zone")
        .and_then(|v| v.as_str().and_then(|z| jiff::tz::TimeZone::get(z).ok()))
        .unwrap_or(jiff::tz::TimeZone::UTC)
}

fn fluent_args(kwargs: &Kwargs) -> Result<FluentArgs<'static>, Error> {
    let mut args = FluentArgs::new();
    for key in kwargs.args() {
        let v: Value = kwargs.get(key)?;
        let fv: FluentValue<'static> = if let Some(n) = v.as_i64() {
            FluentValue::from(n)
        } else if let Ok(f) = f64::try_from(v.clone()) {
            FluentValue::from(f)
        } else if v.is_none() || v.is_undefined() {
            FluentValue::from("")
        } else {
            FluentValue::from(v.to_string())
        };
        args.set(key.to_string(), fv);
    }
    Ok(args)
}

fn number_arg(v: &Value) -> Option<f64> {
    if let Some(n) = v.as_i64() {
        return Some(n as f64);
    }
    f64::try_from(v.clone()).ok()
}

fn parse_time(v: &Value) -> Option<jiff::Timestamp> {
    let s = v.as_str()?;
    s.parse::<jiff::Timestamp>().ok().or_else(|| {
        s.parse::<jiff::civil::Date>()
            .ok()
            .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    })
}

impl Web {
    pub fn new() -> Result<Web, WebError> {
        let messages = Arc::new(Messages::load()?);
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        env.set_fuel(Some(5_000_000));
        for (name, src) in TEMPLATES {
            env.add_template(name, src).map_err(|e| WebError::Template {
                template: (*name).to_string(),
                detail: format!("{e:#}"),
            })?;
        }
        let m = messages.clone();
        env.add_function(
            "t",
            move |state: &State, key: &str, kwargs: Kwargs| -> Result<String, Error> {
                let args = fluent_args(&kwargs)?;
                Ok(m.get(lang_of(state), key, Some(&args)))
            },
        );
        let m = messages.clone();
        // An error body ({code, params, message}) in the reader's language: the code's own
        // message when this language has one, else the English text the server wrote.
        env.add_function(
            "error_text",
            move |state: &State, err: Value| -> Result<String, Error> {
                let code = err.get_attr("code").ok().and_then(|c| c.as_str().map(str::to_string));
                let message = err
                    .get_attr("message")
                    .ok()
                    .and_then(|c| c.as_str().map(str::to_string))
                    .unwrap_or_default();
                let lang = lang_of(state);
                if let Some(code) = code {
                    let key = format!("err-{}", code.replace(['.', '_'], "-"));
                    if m.has(lang, &key) {
                        let mut args = FluentArgs::new();
                        if let Ok(params) = err.get_attr("params")
                            && let Ok(keys) = params.try_iter()
                        {
                            for k in keys {
                                let Some(name) = k.as_str() else { continue };
                                let v = params.get_item(&k).unwrap_or_default();
                                let fv = match number_arg(&v) {
                                    Some(n) if v.as_str().is_none() => FluentValue::from(n),
                                    _ => FluentValue::from(
                                        v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()),
                                    ),
                                };
                                args.set(name.to_string(), fv);
                            }
                        }
                        return Ok(m.get(lang, &key, Some(&args)));
                    }
                }
                Ok(message)
            },
        );
        env.add_filter("money", |state: &State, minor: Value, currency: &str| -> String {
            match minor.as_i64() {
                Some(n) => l10n::money(lang_of(state), n, currency),
                None => match number_arg(&minor) {
                    Some(f) if f.abs() < 9.0e15 => l10n::money(lang_of(state), f.round() as i64, currency),
                    _ => "—".into(),
                },
            }
        });
        env.add_filter("num", |state: &State, v: Value, digits: Option<u32>| -> String {
            let lang = lang_of(state);
            match (v.as_i64(), digits) {
                (Some(n), None | Some(0)) => l10n::integer(lang, n),
                _ => match number_arg(&v) {
                    Some(f) => l10n::float(lang, f, digits.unwrap_or(0)),
                    None => "—".into(),
                },
            }
        });
        env.add_filter("pct", |state: &State, v: Value, digits: Option<u32>| -> String {
            match number_arg(&v) {
                Some(f) => l10n::percent(lang_of(state), f, digits.unwrap_or(1)),
                None => "—".into(),
            }
        });
        env.add_filter("date", |state: &State, v: Value| -> String {
            match parse_time(&v) {
                Some(t) => l10n::date(lang_of(state), t, &zone_of(state)),
                None => v.as_str().unwrap_or("—").to_string(),
            }
        });
        env.add_filter("datetime", |state: &State, v: Value| -> String {
            match parse_time(&v) {
                Some(t) => l10n::date_time(lang_of(state), t, &zone_of(state)),
                None => v.as_str().unwrap_or("—").to_string(),
            }
        });
        // A value as a message key part: "can't lose them" → "can-t-lose-them", "at_risk" → "at-risk".
        env.add_filter("slug", |v: &str| -> String { slug(v) });
        env.add_filter("month", |state: &State, v: &str| -> String {
            l10n::month(lang_of(state), v)
        });
        Ok(Web { env, messages })
    }

    /// The messages, for text built outside a template (a redirect's flash, a chart's title).
    pub fn messages(&self) -> &Messages {
        &self.messages
    }

    /// The message `key` in `lang` with `args` (name, value) pairs.
    pub fn t(&self, lang: Lang, key: &str, args: &[(&str, FluentValue<'static>)]) -> String {
        let mut a = FluentArgs::new();
        for (k, v) in args {
            a.set(k.to_string(), v.clone());
        }
        self.messages.get(lang, key, Some(&a))
    }

    /// Write `template` in `lang` with the page's data `page` (a serialisable value whose
    /// fields the template reads) and the common fields every page has (`lang`, `dir`, the
    /// language menu).
    pub fn render(&self, template: &str, lang: Lang, page: Value) -> Result<String, WebError> {
        let err = |e: Error| WebError::Template {
            template: template.to_string(),
            detail: format!("{e:#}"),
        };
        let t = self.env.get_template(template).map_err(err)?;
        let langs: Vec<Value> = Lang::ALL
            .iter()
            .map(|l| minijinja::context! { code => l.code(), name => l.native_name(), current => *l == lang })
            .collect();
        let ctx = minijinja::context! {
            lang => lang.code(),
            dir => lang.dir(),
            langs => langs,
            ..page
        };
        t.render(ctx).map_err(err)
    }
}

/// `v` lower-cased with every run of other characters than letters and digits as one `-`.
pub fn slug(v: &str) -> String {
    let mut o = String::with_capacity(v.len());
    for c in v.chars() {
        if c.is_alphanumeric() {
            o.extend(c.to_lowercase());
        } else if !o.ends_with('-') {
            o.push('-');
        }
    }
    o
}

/// A template error for a value the page's data should always have.
pub fn missing(what: &str) -> Error {
    Error::new(ErrorKind::InvalidOperation, format!("missing {what}"))
}

#[cfg(test)]
mod tests;
