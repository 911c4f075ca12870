//! Segments: who belongs to an expression of the segment language (`kesher_segment`), saved
//! segments by name, and messages personalised for a segment's members from a template (the
//! customer's profile, scores and next best offer).
//!
//! A segment is evaluated over the whole customer base in one pass per data source it names:
//! the customer records always; the latest `kesher analyze` scores when it names a score field;
//! one pass over the sales when it names a purchase field; the mined offer rules plus that pass
//! when it names `nbo`. Saved segments live in the settings table under `segment.<name>` (each
//! change audited).

use crate::App;
use crate::baskets::{BasketsError, OfferModel, OfferView, offers_for};
use jiff::Timestamp;
use kesher_core::{BranchId, ConsentChannel, ConsentState, Customer, CustomerId, Params};
use kesher_segment::{FIELDS, FieldId, Record, Segment, Source, Tri, Value};
use kesher_store::{Actor, CustomerScore, StoreError};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Key prefix of saved segments in the settings table.
pub const SEGMENT_KEY_PREFIX: &str = "segment.";

#[derive(Debug, thiserror::Error)]
pub enum SegmentError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Expression(#[from] kesher_segment::Error),
    #[error(transparent)]
    Baskets(#[from] BasketsError),
    #[error("no segment named `{0}`")]
    NotFound(String),
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
        code: &'static str,
        params: Params,
    },
    #[error("template: {message}")]
    Template {
        message: String,
        code: &'static str,
        params: Params,
    },
}

impl SegmentError {
    fn invalid(code: &'static str, field: &'static str, message: impl Into<String>, params: Params) -> SegmentError {
        SegmentError::Invalid {
            field,
            message: message.into(),
            code,
            params,
        }
    }

    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            SegmentError::Store(e) => e.code(),
            SegmentError::Expression(e) => e.code(),
            SegmentError::Baskets(e) => e.code(),
            SegmentError::NotFound(_) => "segment.not_found",
            SegmentError::Invalid { code, .. } | SegmentError::Template { code, .. } => code,
        }
    }

    /// The message's named arguments.
    pub fn params(&self) -> Params {
        match self {
            SegmentError::Store(e) => e.params(),
            SegmentError::Expression(e) => e.params(),
            SegmentError::Baskets(e) => e.params(),
            SegmentError::NotFound(name) => kesher_core::params!(name = name.as_str()),
            SegmentError::Invalid { params, .. } | SegmentError::Template { params, .. } => params.clone(),
        }
    }
}

/// A template the engine refused, its reason as a parameter.
fn template_refused(e: &minijinja::Error) -> SegmentError {
    let message = template_error(e);
    SegmentError::Template {
        code: "segment.template.invalid",
        params: kesher_core::params!(detail = message.as_str()),
        message,
    }
}

/// A segment saved under a name.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SavedSegment {
    pub name: String,
    pub expression: String,
    #[serde(default)]
    pub description: Option<String>,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// Who belongs to a segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Customers considered (all, or those of one branch).
    pub considered: u64,
    /// Members, by id.
    pub members: Vec<CustomerId>,
    /// Customers for whom the expression is unknown (a value it needs is missing), not members.
    pub unknown: u64,
    /// Date of the scores used, when the segment names a score field.
    pub scores_as_of: Option<Timestamp>,
}

/// One member's message rendered from a template.
#[derive(Debug, Clone, PartialEq)]
pub struct Rendered {
    pub customer_id: CustomerId,
    pub language: Option<String>,
    pub text: String,
}

/// Check a segment name: 1-64 characters of letters, digits, `-` and `_`.
pub fn check_name(name: &str) -> Result<(), SegmentError> {
    let ok = !name.is_empty()
        && name.chars().count() <= 64
        && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(SegmentError::invalid(
            "segment.name.invalid",
            "name",
            format!("`{name}` is not a segment name: use 1-64 letters, digits, `-` or `_`"),
            kesher_core::params!(name = name),
        ))
    }
}

/// What the template language sees, besides the segment fields: the customer's name.
const TEMPLATE_ROOTS: &[&str] = &["customer", "nbo", "score", "attributes", "business"];

impl App {
    pub fn list_segments(&self) -> Result<Vec<SavedSegment>, SegmentError> {
        let mut out = Vec::new();
        for (key, value) in self.store.settings_with_prefix(SEGMENT_KEY_PREFIX)? {
            let s: SavedSegment =
                serde_json::from_str(&value).map_err(|e| StoreError::Backend(format!("stored segment {key}: {e}")))?;
            out.push(s);
        }
        Ok(out)
    }

    pub fn get_segment(&self, name: &str) -> Result<SavedSegment, SegmentError> {
        check_name(name)?;
        let value = self
            .store
            .get_setting(&format!("{SEGMENT_KEY_PREFIX}{name}"))?
            .ok_or_else(|| SegmentError::NotFound(name.to_string()))?;
        serde_json::from_str(&value).map_err(|e| StoreError::Backend(format!("stored segment {name}: {e}")).into())
    }

    /// Save (create or replace) a segment after checking its expression.
    pub fn save_segment(
        &self,
        name: &str,
        expression: &str,
        description: Option<&str>,
        actor: &Actor,
    ) -> Result<SavedSegment, SegmentError> {
        check_name(name)?;
        Segment::parse(expression)?;
        let saved = SavedSegment {
            name: name.to_string(),
            expression: expression.trim().to_string(),
            description: description.map(str::trim).filter(|d| !d.is_empty()).map(str::to_string),
            updated_at: actor.at,
            updated_by: actor.who.clone(),
        };
        let json = serde_json::to_string(&saved).map_err(|e| StoreError::Backend(e.to_string()))?;
        self.put_setting(&format!("{SEGMENT_KEY_PREFIX}{name}"), &json, actor)?;
        Ok(saved)
    }

    /// Delete a saved segment (audited as the deletion of its setting) and, in the same unit of
    /// work, end the time of its members in it: each gets a `left` event at `actor.at` and the
    /// segment has no members any more (`history`). Its history stays readable by name.
    pub fn delete_segment(&self, name: &str, actor: &Actor) -> Result<(), SegmentError> {
        check_name(name)?;
        let key = format!("{SEGMENT_KEY_PREFIX}{name}");
        let mut tx = self.store.begin(kesher_store::Lock::Writes)?;
        let Some(before) = tx.setting(&key)? else {
            return Err(SegmentError::NotFound(name.to_string()));
        };
        tx.delete_setting_row(&key)?;
        tx.append_audit(
            actor,
            "setting.delete",
            "setting",
            &key,
            Some(&serde_json::json!({ "value": before })),
            None,
        )?;
        history::end_memberships(&mut *tx, name, history::instant(actor.at), crate::ids::segment_run())?;
        tx.commit()?;
        Ok(())
    }

    /// A saved segment's name, or an expression written in place.
    pub fn resolve_segment(&self, name_or_expression: &str) -> Result<Segment, SegmentError> {
        if check_name(name_or_expression).is_ok()
            && let Ok(saved) = self.get_segment(name_or_expression)
        {
            return Ok(Segment::parse(&saved.expression)?);
        }
        Ok(Segment::parse(name_or_expression)?)
    }

    /// Who belongs to `segment` (only customers registered at `branch` when given).
    pub fn evaluate_segment(&self, segment: &Segment, branch: Option<BranchId>) -> Result<Evaluation, SegmentError> {
        let mut members = Vec::new();
        let mut considered = 0u64;
        let mut unknown = 0u64;
        let data = self.segment_data(&|s| segment.needs(s))?;
        self.store.for_each_customer(&mut |c| {
            if branch.is_some_and(|b| c.source_branch != Some(b)) {
                return Ok(());
            }
            considered += 1;
            match segment.eval(&data.record(c)) {
                Tri::True => members.push(c.id),
                Tri::Unknown => unknown += 1,
                Tri::False => {}
            }
            Ok(())
        })?;
        members.sort();
        Ok(Evaluation {
            considered,
            members,
            unknown,
            scores_as_of: data.scores.values().map(|s| s.as_of).max(),
        })
    }

    /// The members of each of `segments` (by id, sorted), in one pass over the customers with
    /// the data every one of them names loaded once: what a refresh of every saved segment
    /// reads. Each list is the one `evaluate_segment` finds for that segment.
    pub fn evaluate_segments(&self, segments: &[&Segment]) -> Result<Vec<Vec<CustomerId>>, SegmentError> {
        let mut members = vec![Vec::new(); segments.len()];
        if segments.is_empty() {
            return Ok(members);
        }
        let data = self.segment_data(&|s| segments.iter().any(|seg| seg.needs(s)))?;
        self.store.for_each_customer(&mut |c| {
            let record = data.record(c);
            for (segment, found) in segments.iter().zip(members.iter_mut()) {
                if segment.eval(&record) == Tri::True {
                    found.push(c.id);
                }
            }
            Ok(())
        })?;
        for found in &mut members {
            found.sort();
        }
        Ok(members)
    }

    /// The segment's members as a set, for scoping basket analysis to a segment.
    pub fn segment_members(&self, segment: &Segment) -> Result<Arc<HashSet<CustomerId>>, SegmentError> {
        Ok(Arc::new(
            self.evaluate_segment(segment, None)?.members.into_iter().collect(),
        ))
    }

    /// Render `template` (Jinja syntax: `{{ customer.first_name }}`, `{{ nbo.name }}`,
    /// `{% if nbo %}…{% endif %}`) for up to `limit` members of the segment. Names the template
    /// uses must exist: a misspelt variable is an error, not an empty string.
    pub fn render_for_segment(
        &self,
        segment: &Segment,
        template: &str,
        branch: Option<BranchId>,
        limit: usize,
    ) -> Result<Vec<Rendered>, SegmentError> {
        let mut env = minijinja::Environment::new();
        // Bounded work per message: a nested loop runs out of fuel instead of running on.
        env.set_fuel(Some(TEMPLATE_FUEL));
        env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
        // A value the customer lacks prints as nothing (not "none").
        env.set_formatter(|out, state, value| {
            if value.is_none() || value.is_undefined() {
                Ok(())
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        env.add_template("message", template)
            .map_err(|e| template_refused(&e))?;
        let tmpl = env.get_template("message").map_err(|e| template_refused(&e))?;
        for name in tmpl.undeclared_variables(false) {
            if !TEMPLATE_ROOTS.contains(&name.as_str()) {
                return Err(SegmentError::Template {
                    message: format!(
                        "unknown variable `{name}`; a template may use {}",
                        TEMPLATE_ROOTS.join(", ")
                    ),
                    code: "segment.template.unknown_variable",
                    params: kesher_core::params!(name = name.as_str(), known = TEMPLATE_ROOTS.join(", ")),
                });
            }
        }
        // The template sees the scores and the offer too, whatever the expression names.
        let data = self.segment_data(&|s| matches!(s, Source::Scores | Source::Offer) || segment.needs(s))?;
        let mut out = Vec::new();
        let mut failure: Option<SegmentError> = None;
        self.store.for_each_customer(&mut |c| {
            if out.len() >= limit || failure.is_some() || branch.is_some_and(|b| c.source_branch != Some(b)) {
                return Ok(());
            }
            let rec = data.record(c);
            if segment.matches(&rec) {
                match render_bounded(&tmpl, rec.template_context()) {
                    Ok(text) => out.push(Rendered {
                        customer_id: c.id,
                        language: c.language.clone(),
                        text,
                    }),
                    Err(e) => failure = Some(e),
                }
            }
            Ok(())
        })?;
        match failure {
            Some(e) => Err(e),
            None => Ok(out),
        }
    }

    /// The message data of each customer `wanted` accepts (a segment template's variables:
    /// `customer`, `score`, `nbo`, `attributes`, `business`), with the customer record and the
    /// stored lifecycle stage; one pass over the customers. What a campaign renders with.
    pub(crate) fn message_contexts(
        &self,
        wanted: &dyn Fn(CustomerId) -> bool,
        offers: bool,
    ) -> Result<HashMap<CustomerId, MessageContext>, SegmentError> {
        // The next best offers mine every basket: loaded only for texts that name `nbo`.
        let data = self.segment_data(&|s| matches!(s, Source::Scores) || (offers && matches!(s, Source::Offer)))?;
        let mut out = HashMap::new();
        self.store.for_each_customer(&mut |c| {
            if wanted(c.id) {
                let rec = data.record(c);
                out.insert(
                    c.id,
                    MessageContext {
                        customer: c.clone(),
                        stage: data.scores.get(&c.id).map(|s| s.stage.to_string()),
                        data: rec.template_json(),
                    },
                );
            }
            Ok(())
        })?;
        Ok(out)
    }

    fn scores_by_customer(&self) -> Result<HashMap<CustomerId, CustomerScore>, StoreError> {
        Ok(self
            .store
            .list_customer_scores()?
            .into_iter()
            .map(|s| (s.customer_id, s))
            .collect())
    }

    /// The data of every source `needs` names, loaded once.
    fn segment_data(&self, needs: &dyn Fn(Source) -> bool) -> Result<SegmentData, SegmentError> {
        let now = self.now();
        // Money fields in major units of the catalogue's currency.
        let exponent = self
            .store
            .list_products(1, 0)?
            .items
            .first()
            .map(|p| p.list_price.currency.exponent())
            .unwrap_or(2);
        let branches = self
            .store
            .list_branches()?
            .into_iter()
            .map(|b| (b.id, b.external_id))
            .collect();
        let mut data = SegmentData {
            now,
            today: now.to_zoned(jiff::tz::TimeZone::UTC).date(),
            scale: 10f64.powi(exponent as i32),
            branches,
            scores: HashMap::new(),
            buys: None,
            offers: None,
        };
        if needs(Source::Scores) {
            data.scores = self.scores_by_customer()?;
        }
        if needs(Source::Offer) {
            data.load_offers(self)?;
        } else if needs(Source::Purchases) || needs(Source::Baskets) {
            data.load_buys(self, needs(Source::Purchases), needs(Source::Baskets))?;
        }
        Ok(data)
    }
}

/// The work one message may take: minijinja's fuel, about one unit per instruction (an ordinary
/// message takes a few hundred).
pub const TEMPLATE_FUEL: u64 = 100_000;
/// The longest message a template may write, in bytes.
pub const MESSAGE_MAX_BYTES: usize = 64 * 1024;

/// Render one message within `TEMPLATE_FUEL` and `MESSAGE_MAX_BYTES`; over either is a
/// template error that says which.
fn render_bounded(tmpl: &minijinja::Template<'_, '_>, ctx: impl serde::Serialize) -> Result<String, SegmentError> {
    struct Bounded {
        out: Vec<u8>,
        over: bool,
    }
    impl std::io::Write for Bounded {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.out.len() + b.len() > MESSAGE_MAX_BYTES {
                self.over = true;
                return Err(std::io::Error::other("message too long"));
            }
            self.out.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut w = Bounded {
        out: Vec::new(),
        over: false,
    };
    match tmpl.render_captured_to(ctx, &mut w) {
        Ok(_) => String::from_utf8(w.out).map_err(|e| SegmentError::Template {
            message: e.to_string(),
            code: "segment.template.invalid",
            params: kesher_core::params!(detail = e.to_string()),
        }),
        Err(_) if w.over => Err(SegmentError::Template {
            message: format!("a message would be longer than {MESSAGE_MAX_BYTES} bytes"),
            code: "segment.template.too_long",
            params: kesher_core::params!(limit = MESSAGE_MAX_BYTES),
        }),
        Err(e) if e.kind() == minijinja::ErrorKind::OutOfFuel => Err(SegmentError::Template {
            message: format!(
                "the template takes too much work (more than {TEMPLATE_FUEL} steps for one message): loop over less"
            ),
            code: "segment.template.too_much_work",
            params: kesher_core::params!(limit = TEMPLATE_FUEL),
        }),
        Err(e) => Err(template_refused(&e)),
    }
}

fn template_error(e: &minijinja::Error) -> String {
    match e.line() {
        Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.to_string())),
        None => e.to_string(),
    }
}

/// One customer's purchases, folded from the sales.
#[derive(Debug, Default)]
struct Buys {
    visits: u32,
    spend: i64,
    first: Option<Timestamp>,
    last: Option<Timestamp>,
    categories: Vec<String>,
    /// Skus bought, and when each was last bought (same order).
    products: Vec<String>,
    product_last: Vec<Timestamp>,
    branches: Vec<String>,
}

struct SegmentData {
    now: Timestamp,
    today: jiff::civil::Date,
    /// 10^exponent of the business's currency: minor units to major.
    scale: f64,
    branches: HashMap<BranchId, String>,
    scores: HashMap<CustomerId, CustomerScore>,
    buys: Option<HashMap<CustomerId, Buys>>,
    offers: Option<HashMap<CustomerId, OfferView>>,
}

fn add_once(v: &mut Vec<String>, s: &str) {
    if !v.iter().any(|x| x == s) {
        v.push(s.to_string());
    }
}

impl SegmentData {
    /// Fold the sales' totals (`sales`) and their lines (`lines`) per customer.
    fn load_buys(&mut self, app: &App, sales: bool, lines: bool) -> Result<(), StoreError> {
        let mut buys: HashMap<CustomerId, Buys> = HashMap::new();
        if sales {
            app.store.for_each_purchase(&mut |p| {
                let b = buys.entry(p.customer_id).or_default();
                b.visits += 1;
                // Saturating: sales stored before kesher's bounds can pass i64; a saturated spend
                // still compares right against any amount a segment can name.
                b.spend = b.spend.saturating_add(p.amount);
                b.first = Some(b.first.map_or(p.occurred_at, |f| f.min(p.occurred_at)));
                b.last = Some(b.last.map_or(p.occurred_at, |l| l.max(p.occurred_at)));
            })?;
        }
        if !lines {
            self.buys = Some(buys);
            return Ok(());
        }
        app.store.for_each_basket(None, &mut |row| {
            let Some(c) = row.customer_id else { return };
            let b = buys.entry(c).or_default();
            add_once(&mut b.branches, row.branch);
            for (sku, cat) in row.items {
                add_once(&mut b.categories, cat.as_deref().unwrap_or("uncategorised"));
                match b.products.iter().position(|s| s == sku) {
                    Some(i) => {
                        if let Some(t) = b.product_last.get_mut(i) {
                            *t = (*t).max(row.occurred_at);
                        }
                    }
                    None => {
                        b.products.push(sku.clone());
                        b.product_last.push(row.occurred_at);
                    }
                }
            }
        })?;
        self.buys = Some(buys);
        Ok(())
    }

    fn load_offers(&mut self, app: &App) -> Result<(), SegmentError> {
        if self.buys.is_none() {
            self.load_buys(app, true, true)?;
        }
        let model: Arc<OfferModel> = app.offer_model()?;
        let mut offers = HashMap::new();
        if let Some(buys) = &self.buys {
            for (c, b) in buys {
                let last = b
                    .products
                    .iter()
                    .map(String::as_str)
                    .zip(b.product_last.iter().copied());
                if let Some(o) = offers_for(&model, last, self.now, 1).into_iter().next() {
                    offers.insert(*c, o);
                }
            }
        }
        self.offers = Some(offers);
        Ok(())
    }

    fn record<'a>(&'a self, c: &'a Customer) -> CustomerRecord<'a> {
        CustomerRecord {
            c,
            data: self,
            score: self.scores.get(&c.id),
            buys: self.buys.as_ref().and_then(|b| b.get(&c.id)),
            offer: self.offers.as_ref().and_then(|o| o.get(&c.id)),
        }
    }
}

/// One customer's values for the segment fields.
struct CustomerRecord<'a> {
    c: &'a Customer,
    data: &'a SegmentData,
    score: Option<&'a CustomerScore>,
    buys: Option<&'a Buys>,
    offer: Option<&'a OfferView>,
}

fn text<'a>(s: Option<&'a str>) -> Value<'a> {
    s.map_or(Value::Missing, |s| Value::Text(Cow::Borrowed(s)))
}

fn num(n: Option<f64>) -> Value<'static> {
    n.filter(|x| x.is_finite()).map_or(Value::Missing, Value::Number)
}

static EMPTY: [String; 0] = [];

impl CustomerRecord<'_> {
    fn consent(&self, ch: ConsentChannel) -> Value<'static> {
        Value::Bool(
            self.c
                .consents
                .iter()
                .any(|k| k.channel == ch && k.state == ConsentState::Granted),
        )
    }

    fn major(&self, minor: Option<f64>) -> Value<'static> {
        num(minor.map(|m| m / self.data.scale))
    }

    fn age(&self) -> Option<f64> {
        let born = self.c.demographics.birth_date?;
        let today = self.data.today;
        let mut years = i32::from(today.year()) - i32::from(born.year());
        if (today.month(), today.day()) < (born.month(), born.day()) {
            years -= 1;
        }
        Some(f64::from(years))
    }

    fn rfm_digit(&self, i: usize) -> Option<f64> {
        let rfm = self.score?.rfm.as_deref()?;
        rfm.chars().nth(i)?.to_digit(10).map(f64::from)
    }

    fn known(&self, name: &str) -> Value<'_> {
        let c = self.c;
        let d = &c.demographics;
        let s = self.score;
        let b = self.buys;
        let date_of = |t: Timestamp| Value::Date(t.to_zoned(jiff::tz::TimeZone::UTC).date());
        match name {
            "kind" => text(Some(c.kind.as_str())),
            "language" => text(c.language.as_deref()),
            "gender" => text(d.gender.as_ref().map(|g| g.as_str())),
            "city" => text(d.city.as_deref()),
            "region" => text(d.region.as_deref()),
            "income_band" => text(d.income_band.as_deref()),
            "household_size" => num(d.household_size.map(f64::from)),
            "age" => num(self.age()),
            "birth_month" => num(d.birth_date.map(|b| f64::from(b.month()))),
            "birth_day" => num(d.birth_date.map(|b| f64::from(b.day()))),
            "home_branch" => text(
                c.source_branch
                    .and_then(|b| self.data.branches.get(&b))
                    .map(String::as_str),
            ),
            "created" => date_of(c.created_at),
            "tenure_days" => num(Some(
                (self.data.now.duration_since(c.created_at).as_secs_f64().max(0.0) / 86_400.0).floor(),
            )),
            "member_no" => text(c.member_no.as_deref()),
            "card" => text(c.card.as_deref()),
            "phone" => text(c.phone.as_ref().map(|p| p.as_str())),
            "email" => text(c.email.as_ref().map(|e| e.as_str())),
            "consent.email" => self.consent(ConsentChannel::Email),
            "consent.sms" => self.consent(ConsentChannel::Sms),
            "consent.phone" => self.consent(ConsentChannel::Phone),
            "stage" => text(s.map(|s| &*s.stage)),
            "segment" => text(s.and_then(|s| s.segment.as_deref())),
            "rfm" => text(s.and_then(|s| s.rfm.as_deref())),
            "r" => num(self.rfm_digit(0)),
            "f" => num(self.rfm_digit(1)),
            "m" => num(self.rfm_digit(2)),
            "tier" => text(s.and_then(|s| s.tier.as_deref())),
            "clv" => self.major(s.and_then(|s| s.clv)),
            "p_alive" => num(s.and_then(|s| s.p_alive)),
            "expected_purchases" => num(s.and_then(|s| s.expected_purchases)),
            "frequency" => num(s.map(|s| s.frequency)),
            "recency" => num(s.map(|s| s.recency)),
            "t" => num(s.map(|s| s.t)),
            "monetary" => self.major(s.map(|s| s.monetary)),
            "revenue" => self.major(s.map(|s| s.revenue as f64)),
            "margin" => self.major(s.and_then(|s| s.margin).map(|m| m as f64)),
            "wallet" => self.major(s.and_then(|s| s.wallet).map(|w| w as f64)),
            "share_of_wallet" => num(s.and_then(|s| s.share_of_wallet)),
            // A customer without sales: zero visits and spend, no dates, empty sets.
            "visits" => num(Some(f64::from(b.map_or(0, |b| b.visits)))),
            "spend" => self.major(Some(b.map_or(0, |b| b.spend) as f64)),
            "first_purchase" => b.and_then(|b| b.first).map_or(Value::Missing, date_of),
            "last_purchase" => b.and_then(|b| b.last).map_or(Value::Missing, date_of),
            "days_since_last_purchase" => num(b
                .and_then(|b| b.last)
                .map(|l| (self.data.now.duration_since(l).as_secs_f64().max(0.0) / 86_400.0).floor())),
            "categories" => Value::Set(b.map_or(&EMPTY[..], |b| b.categories.as_slice())),
            "products" => Value::Set(b.map_or(&EMPTY[..], |b| b.products.as_slice())),
            "branches" => Value::Set(b.map_or(&EMPTY[..], |b| b.branches.as_slice())),
            "nbo" => text(self.offer.map(|o| o.sku.as_str())),
            "nbo.name" => text(self.offer.and_then(|o| o.name.as_deref())),
            "nbo.category" => text(self.offer.and_then(|o| o.category.as_deref())),
            "nbo.score" => num(self.offer.map(|o| o.score)),
            _ => Value::Missing,
        }
    }

    /// The template's variables: `customer`, `score`, `nbo` (none without an offer),
    /// `attributes`, `business`.
    fn template_context(&self) -> minijinja::Value {
        minijinja::Value::from_serialize(self.template_json())
    }

    /// [`CustomerRecord::template_context`] as JSON (a campaign checks a template's variables
    /// against its paths, `kesher_campaign::template::provided_paths`).
    fn template_json(&self) -> serde_json::Value {
        let c = self.c;
        let first_name = c
            .name
            .as_deref()
            .and_then(|n| n.split_whitespace().next())
            .map(str::to_string);
        let value_of = |name: &str| -> serde_json::Value {
            match self.known(name) {
                Value::Missing => serde_json::Value::Null,
                // Whole numbers print without a decimal point.
                Value::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => serde_json::json!(n as i64),
                Value::Number(n) => serde_json::json!(n),
                Value::Text(t) => serde_json::json!(t),
                Value::Bool(b) => serde_json::json!(b),
                Value::Date(d) => serde_json::json!(d.to_string()),
                Value::Set(s) => serde_json::json!(s),
            }
        };
        let customer = serde_json::json!({
            "name": c.name,
            "first_name": first_name,
            "member_no": c.member_no,
            "language": c.language,
            "city": c.demographics.city,
            "home_branch": value_of("home_branch"),
            "age": value_of("age"),
        });
        let score = serde_json::json!({
            "stage": value_of("stage"),
            "segment": value_of("segment"),
            "tier": value_of("tier"),
            "clv": value_of("clv"),
            "p_alive": value_of("p_alive"),
            "rfm": value_of("rfm"),
        });
        let nbo = self.offer.map(|o| {
            serde_json::json!({
                "sku": o.sku,
                "name": o.name,
                "category": o.category,
                "score": o.score,
                "because": o.because,
            })
        });
        serde_json::json!({
            "customer": customer,
            "score": score,
            "nbo": nbo,
            "attributes": c.attributes,
            "business": { "today": self.data.today.to_string() },
        })
    }
}

impl Record for CustomerRecord<'_> {
    fn value(&self, field: &FieldId) -> Value<'_> {
        match field {
            FieldId::Known(i) => FIELDS.get(*i).map_or(Value::Missing, |f| self.known(f.name)),
            FieldId::Attribute(key) => match self.c.attributes.get(key) {
                None | Some(serde_json::Value::Null) => Value::Missing,
                Some(serde_json::Value::Bool(b)) => Value::Bool(*b),
                Some(serde_json::Value::Number(n)) => num(n.as_f64()),
                Some(serde_json::Value::String(s)) => Value::Text(Cow::Borrowed(s.as_str())),
                // Lists and objects: compared as their JSON text.
                Some(other) => Value::Text(Cow::Owned(other.to_string())),
            },
        }
    }
}

pub mod history;
#[cfg(test)]
mod tests;

/// How many customers the live count's sample holds: the ones whose ids hash lowest
/// (`sample_hash`), a fixed, reproducible, uniform sample. A business with at most
/// `EXACT_UP_TO` customers is counted exactly instead.
pub const SAMPLE_SIZE: usize = 16_384;
/// Businesses this small are counted exactly on every keystroke (a pass over them is quick).
pub const EXACT_UP_TO: u64 = 2 * SAMPLE_SIZE as u64;
/// How long a loaded sample is used before it is loaded again (an analysis in this process
/// loads it again at once, so that its scores are the latest run's); the server reloads it
/// ahead of expiry (`App::warm_caches`).
pub const SAMPLE_TTL: jiff::SignedDuration = jiff::SignedDuration::from_mins(10);
/// z for a two-sided 95 % interval.
const Z95: f64 = 1.959_963_984_540_054;

/// A segment's count as the editor shows it while one types: exact for a small business, else
/// estimated from the sample with a 95 % interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// The exact count, or the estimate (the sample's members scaled to the population).
    pub count: u64,
    /// The 95 % interval's ends (both `count` when exact).
    pub low: u64,
    pub high: u64,
    /// Customers the expression could not decide for (exact, or estimated like `count`).
    pub unknown: u64,
    /// Customers considered (all, or the branch's; estimated like `count` from a sample).
    pub considered: u64,
    /// Customers evaluated: the sample's size, or everyone when exact.
    pub sampled: u64,
    /// Customers in the business when the sample was drawn.
    pub population: u64,
    pub exact: bool,
    /// Members found (in the sample when estimated), by id.
    pub members: Vec<CustomerId>,
    pub scores_as_of: Option<Timestamp>,
}

/// The customers of the sample with their profile, scores, purchases and baskets; their next
/// best offers computed once, when an expression first names one (from the offer model).
pub(crate) struct Sample {
    loaded_at: Timestamp,
    population: u64,
    /// Each sampled customer with their own data, in id order: no lookup per evaluation.
    members: Vec<Sampled>,
    /// The business-wide part of the data (now, branches, the currency's scale).
    data: SegmentData,
    /// The members' offers (same order).
    offers: std::sync::OnceLock<Vec<Option<OfferView>>>,
    scores_as_of: Option<Timestamp>,
}

/// One customer of the sample with their score and purchases.
struct Sampled {
    customer: Customer,
    score: Option<CustomerScore>,
    buys: Option<Buys>,
}

impl Sample {
    /// The members' offers, computed on first use from their purchases and the offer model.
    fn offers(&self, app: &App) -> Result<&[Option<OfferView>], SegmentError> {
        if let Some(o) = self.offers.get() {
            return Ok(o);
        }
        let model = app.offer_model()?;
        let offers = self
            .members
            .iter()
            .map(|m| {
                let b = m.buys.as_ref()?;
                let last = b
                    .products
                    .iter()
                    .map(String::as_str)
                    .zip(b.product_last.iter().copied());
                offers_for(&model, last, self.data.now, 1).into_iter().next()
            })
            .collect();
        Ok(self.offers.get_or_init(|| offers))
    }
}

/// The cached sample (see `SAMPLE_SIZE`), loaded on first use.
#[derive(Default)]
pub(crate) struct SampleCache {
    sample: std::sync::Mutex<Option<Arc<Sample>>>,
    /// Held while a sample loads: one load at a time.
    loading: std::sync::Mutex<()>,
}

impl SampleCache {
    fn get(&self) -> Option<Arc<Sample>> {
        self.sample.lock().ok().and_then(|g| g.clone())
    }
    fn put(&self, s: Option<Arc<Sample>>) {
        if let Ok(mut g) = self.sample.lock() {
            *g = s;
        }
    }
}

/// A fixed scramble of a customer id (SplitMix64's finaliser over its two halves): the sample
/// holds the customers whose ids scramble lowest, which is uniform whatever the ids' layout.
/// A customer's message data (`App::message_contexts`).
#[derive(Debug, Clone)]
pub(crate) struct MessageContext {
    pub customer: kesher_core::Customer,
    /// The lifecycle stage of the stored scores (`None`: never scored, a prospect).
    pub stage: Option<String>,
    pub data: serde_json::Value,
}

pub fn sample_hash(id: CustomerId) -> u64 {
    let v = id.0.as_u128();
    let mix = |mut z: u64| {
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    mix(mix(v as u64) ^ (v >> 64) as u64)
}

/// The 95 % Wilson interval of a proportion `hits / n` drawn without replacement from
/// `population`, as counts of the population (finite population correction on z).
pub fn wilson_interval(hits: u64, n: u64, population: u64) -> (u64, u64) {
    if n == 0 || population == 0 {
        return (0, population);
    }
    let (nf, big) = (n as f64, population as f64);
    let p = hits as f64 / nf;
    let fpc = if population > 1 {
        ((big - nf) / (big - 1.0)).max(0.0)
    } else {
        0.0
    };
    let z = Z95 * fpc.sqrt();
    let z2 = z * z;
    let centre = (p + z2 / (2.0 * nf)) / (1.0 + z2 / nf);
    let half = z / (1.0 + z2 / nf) * (p * (1.0 - p) / nf + z2 / (4.0 * nf * nf)).sqrt();
    let low = ((centre - half).max(0.0) * big).floor() as u64;
    let high = ((centre + half).min(1.0) * big).ceil() as u64;
    // What the sample saw is certain: at least its members, at most all but its non-members.
    (low.max(hits), high.min(population - (n - hits)).max(hits))
}

impl App {
    /// The segment's count for the editor: exact when the business has at most `EXACT_UP_TO`
    /// customers, else estimated on the cached sample (`SAMPLE_SIZE` customers) with its 95 %
    /// interval. The exact count is `evaluate_segment`'s.
    pub fn estimate_segment(&self, segment: &Segment, branch: Option<BranchId>) -> Result<Estimate, SegmentError> {
        let sample = self.segment_sample()?;
        if sample.population <= EXACT_UP_TO {
            let ev = self.evaluate_segment(segment, branch)?;
            let count = ev.members.len() as u64;
            return Ok(Estimate {
                count,
                low: count,
                high: count,
                unknown: ev.unknown,
                considered: ev.considered,
                sampled: ev.considered,
                population: sample.population,
                exact: true,
                members: ev.members,
                scores_as_of: ev.scores_as_of,
            });
        }
        let offers = if segment.needs(Source::Offer) {
            Some(sample.offers(self)?)
        } else {
            None
        };
        Ok(estimate_on(&sample, offers, segment, branch))
    }

    /// The cached sample, loaded when missing or older than `SAMPLE_TTL`.
    fn segment_sample(&self) -> Result<Arc<Sample>, SegmentError> {
        let cache = &self.caches.segment_sample;
        let usable = |s: &Sample| self.now().duration_since(s.loaded_at) < SAMPLE_TTL;
        if let Some(s) = cache.get().filter(|s| usable(s)) {
            return Ok(s);
        }
        let _loading = cache.loading.lock();
        if let Some(s) = cache.get().filter(|s| usable(s)) {
            return Ok(s);
        }
        let sample = Arc::new(self.load_sample(SAMPLE_SIZE)?);
        cache.put(Some(sample.clone()));
        Ok(sample)
    }

    /// Draw the sample (the `size` customers whose ids hash lowest) and load their profile,
    /// scores, purchases and baskets: every source but the offers (`Sample::offers`).
    pub(crate) fn load_sample(&self, size: usize) -> Result<Sample, SegmentError> {
        let loaded_at = self.now();
        // A max-heap on the hash keeps the `size` lowest seen so far.
        struct Drawn(u64, Customer);
        impl PartialEq for Drawn {
            fn eq(&self, o: &Self) -> bool {
                self.0 == o.0
            }
        }
        impl Eq for Drawn {}
        impl PartialOrd for Drawn {
            fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
                Some(self.cmp(o))
            }
        }
        impl Ord for Drawn {
            fn cmp(&self, o: &Self) -> std::cmp::Ordering {
                self.0.cmp(&o.0)
            }
        }
        let mut heap: std::collections::BinaryHeap<Drawn> = std::collections::BinaryHeap::with_capacity(size + 1);
        let mut population = 0u64;
        self.store.for_each_customer(&mut |c| {
            population += 1;
            let h = sample_hash(c.id);
            if heap.len() < size {
                heap.push(Drawn(h, c.clone()));
            } else if heap.peek().is_some_and(|top| h < top.0) {
                heap.pop();
                heap.push(Drawn(h, c.clone()));
            }
            Ok(())
        })?;
        let mut customers: Vec<Customer> = heap.into_iter().map(|d| d.1).collect();
        customers.sort_by_key(|c| c.id);
        let mut data = self.segment_data(&|s| s != Source::Offer)?;
        let scores_as_of = data.scores.values().map(|s| s.as_of).max();
        let members = customers
            .into_iter()
            .map(|customer| Sampled {
                score: data.scores.remove(&customer.id),
                buys: data.buys.as_mut().and_then(|b| b.remove(&customer.id)),
                customer,
            })
            .collect();
        // Only the sample's own data is kept: the rest of the business's is dropped here.
        data.scores = HashMap::new();
        data.buys = None;
        Ok(Sample {
            loaded_at,
            population,
            members,
            data,
            offers: std::sync::OnceLock::new(),
            scores_as_of,
        })
    }

    /// Load again what is about to expire, ahead of the requests that would otherwise wait for
    /// it: the segment sample (missing, or older than half its TTL), the offer model (older
    /// than half its TTL), then the sample's offers. The server calls this from a thread every
    /// few seconds (`kesher serve`'s cache warmer).
    pub fn warm_caches(&self) -> Result<(), SegmentError> {
        self.caches.warmed.store(true, std::sync::atomic::Ordering::Relaxed);
        let cache = &self.caches.segment_sample;
        let fresh = |app: &App| {
            cache
                .get()
                .is_some_and(|s| app.now().duration_since(s.loaded_at) < SAMPLE_TTL / 2)
        };
        if !fresh(self) {
            // Held while loading: a count that comes meanwhile waits for this sample rather
            // than loading its own beside it.
            let _loading = cache.loading.lock();
            if !fresh(self) {
                cache.put(Some(Arc::new(self.load_sample(SAMPLE_SIZE)?)));
            }
        }
        self.warm_offer_model()?;
        if let Some(s) = cache.get() {
            s.offers(self)?;
        }
        Ok(())
    }

    /// After an analysis: a cached sample holds the previous run's scores, so it is loaded
    /// again at once (a count meanwhile reads the previous sample, whole); dropped if that
    /// fails, so that the next count loads it.
    pub(crate) fn reload_segment_sample(&self) {
        let cache = &self.caches.segment_sample;
        if cache.get().is_none() {
            return;
        }
        let _loading = cache.loading.lock();
        let sample = self.load_sample(SAMPLE_SIZE).ok().map(Arc::new);
        cache.put(sample);
    }
}

/// Evaluate `segment` on the sample and scale what it finds to the population.
pub(crate) fn estimate_on(
    sample: &Sample,
    offers: Option<&[Option<OfferView>]>,
    segment: &Segment,
    branch: Option<BranchId>,
) -> Estimate {
    let mut members = Vec::new();
    let (mut considered, mut unknown) = (0u64, 0u64);
    for (i, m) in sample.members.iter().enumerate() {
        let c = &m.customer;
        if branch.is_some_and(|b| c.source_branch != Some(b)) {
            continue;
        }
        considered += 1;
        let record = CustomerRecord {
            c,
            data: &sample.data,
            score: m.score.as_ref(),
            buys: m.buys.as_ref(),
            offer: offers.and_then(|o| o.get(i)).and_then(Option::as_ref),
        };
        match segment.eval(&record) {
            Tri::True => members.push(c.id),
            Tri::Unknown => unknown += 1,
            Tri::False => {}
        }
    }
    let n = sample.members.len() as u64;
    let scale = |k: u64| {
        if n == 0 {
            0
        } else {
            (k as f64 * sample.population as f64 / n as f64).round() as u64
        }
    };
    let hits = members.len() as u64;
    let (low, high) = wilson_interval(hits, n, sample.population);
    Estimate {
        count: scale(hits).clamp(low, high),
        low,
        high,
        unknown: scale(unknown),
        considered: scale(considered),
        sampled: n,
        population: sample.population,
        exact: n >= sample.population,
        members,
        scores_as_of: sample.scores_as_of,
    }
}
