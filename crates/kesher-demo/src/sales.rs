//! Transactions and interactions: buy-till-you-die purchase histories, baskets with bundles, contacts

use std::io::{self, Write};

use crate::calendar::{local_to_unix, push_instant};
use crate::catalog::{BRANCHES, BUNDLES, EMPLOYEES};
use crate::names;
use crate::out::{CsvOut, push_id, push_int, push_money, push_text};
use crate::people::{Base, Kind, base};
use crate::rng::Rng;
use crate::world::{DAYS, World};

const S_LIFE: u64 = 3;

pub(crate) const TRANSACTION_HEADER: [&str; 11] = [
    "transaction_id",
    "customer_id",
    "branch_id",
    "employee_id",
    "occurred_at",
    "sku",
    "quantity",
    "unit_price",
    "discount",
    "currency",
    "refund_of",
];

pub(crate) const INTERACTION_HEADER: [&str; 9] = [
    "interaction_id",
    "customer_id",
    "channel",
    "kind",
    "occurred_at",
    "text",
    "employee_id",
    "satisfaction",
    "status",
];

/// Share of anonymous sales among all sales (one anonymous sale per this many identified ones).
const ANONYMOUS_PER_IDENTIFIED: f64 = 0.087;
/// Probability that an identified sale is later partly refunded.
const REFUND_RATE: f64 = 0.012;
/// Day index from which current list prices apply (earlier: about 4% cheaper).
const PRICE_RISE_DAY: i32 = 365;

/// Counts written by [`write_sales`].
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SalesStats {
    pub(crate) transactions: u64,
    pub(crate) lines: u64,
    pub(crate) anonymous: u64,
    pub(crate) refunds: u64,
    pub(crate) interactions: u64,
    pub(crate) buyers: u64,
    pub(crate) defected: u64,
}

/// One basket line; `product == None` is an amount-only sale.
#[derive(Debug, Clone, Copy)]
struct Line {
    product: Option<usize>,
    qty: i64,
    price: i64,
    discount: i64,
}

/// A purchase occasion of a customer.
#[derive(Debug, Clone, Copy)]
struct Visit {
    day: i32,
    secs: u32,
    branch: usize,
}

struct Contact {
    unix: i64,
    kind: names::Kind,
    channel: &'static str,
    text: &'static str,
    employee: Option<usize>,
    satisfaction: Option<u8>,
    status: Option<&'static str>,
}

struct Writer<'a, 'o, W: Write> {
    w: &'a World,
    tx: &'a mut CsvOut<'o, W>,
    ix: &'a mut CsvOut<'o, W>,
    stats: SalesStats,
    next_tx: u64,
    next_ix: u64,
    lines: Vec<Line>,
    visits: Vec<Visit>,
    contacts: Vec<Contact>,
    prefix: Vec<u8>,
}

/// Writes the transactions and interactions files in one pass over the customers.
pub(crate) fn write_sales<'o, W: Write>(
    w: &World,
    tx: &mut CsvOut<'o, W>,
    ix: &mut CsvOut<'o, W>,
) -> io::Result<SalesStats> {
    tx.header(&TRANSACTION_HEADER)?;
    ix.header(&INTERACTION_HEADER)?;
    let mut wr = Writer {
        w,
        tx,
        ix,
        stats: SalesStats::default(),
        next_tx: 1,
        next_ix: 1,
        lines: Vec::with_capacity(16),
        visits: Vec::with_capacity(256),
        contacts: Vec::with_capacity(16),
        prefix: Vec::with_capacity(128),
    };
    for i in 0..w.customers {
        let b = base(w, i);
        wr.customer(i, &b)?;
    }
    Ok(wr.stats)
}

/// Rounds minor units to the nearest 10 (prices end in whole tens of agorot).
fn round10(minor: f64) -> i64 {
    ((minor / 10.0).round() as i64) * 10
}

impl<W: Write> Writer<'_, '_, W> {
    fn customer(&mut self, i: usize, b: &Base) -> io::Result<()> {
        let w = self.w;
        let mut rng = Rng::for_stream(w.seed, S_LIFE, i as u64);
        self.visits.clear();
        let mut defected = false;
        if !b.prospect {
            self.stats.buyers += 1;
            // The trial purchase happens right after registering at the till.
            let first_secs = (b.created_secs + 120 + rng.below(480) as u32).min(86_399);
            self.visits.push(Visit {
                day: b.created_day,
                secs: first_secs,
                branch: b.home,
            });
            let imax = w.intensity_max[b.home];
            let step = b.rate * imax;
            let mut t = f64::from(b.created_day) + f64::from(b.created_secs) / 86_400.0;
            'life: loop {
                // Next repeat purchase: a Poisson process thinned by weekly and annual seasonality.
                loop {
                    t += rng.exp1() / step;
                    if t.is_nan() || t >= f64::from(DAYS) {
                        break 'life;
                    }
                    let d = (t as usize).min(DAYS as usize - 1);
                    if rng.f64() * imax < w.intensity[b.home][d] {
                        break;
                    }
                }
                let day = (t as i32).min(DAYS - 1);
                let branch = self.visit_branch(&mut rng, b.home);
                let mut secs = w.shop_time(&mut rng, branch, day);
                if day == b.created_day && secs <= first_secs {
                    // Back the same day: necessarily after registering.
                    secs = (first_secs + 600 + rng.below(3600) as u32).min(86_399);
                }
                self.visits.push(Visit { day, secs, branch });
                if rng.chance(b.dropout) {
                    defected = true;
                    break;
                }
            }
            self.visits.sort_by_key(|v| (v.day, v.secs));
        }
        let last_day = self.visits.last().map(|v| v.day);
        if defected && last_day.is_some_and(|d| d < DAYS - 90) {
            self.stats.defected += 1;
        }
        let visits = std::mem::take(&mut self.visits);
        for v in &visits {
            self.purchase(&mut rng, i, b, *v)?;
        }
        self.visits = visits;
        self.interactions(&mut rng, i, b, last_day, defected)
    }

    fn visit_branch(&self, rng: &mut Rng, home: usize) -> usize {
        if BRANCHES[home].region == "Tehran" || rng.chance(0.87) {
            home
        } else {
            // The other Israeli branch.
            1 - home.min(1)
        }
    }

    fn purchase(&mut self, rng: &mut Rng, i: usize, b: &Base, v: Visit) -> io::Result<()> {
        let w = self.w;
        let mut lines = std::mem::take(&mut self.lines);
        basket(w, rng, &mut lines, Some(b), v.day);
        let employee = if rng.chance(0.04) {
            None
        } else {
            Some(w.employee_at(rng, v.branch))
        };
        let unix = local_to_unix(BRANCHES[v.branch].zone, w.start + v.day, v.secs);
        let id = self.emit(Some(i), v.branch, employee, unix, &lines, None)?;

        if rng.chance(REFUND_RATE) {
            // One undiscounted line goes back (a discounted one cannot be refunded exactly).
            let from = rng.index(lines.len());
            let undiscounted = lines[from..]
                .iter()
                .chain(&lines[..from])
                .copied()
                .find(|l| l.discount == 0);
            let day = v.day + 1 + rng.below(14) as i32;
            if let Some(l) = undiscounted
                && day < DAYS
            {
                let secs = w.shop_time(rng, v.branch, day);
                let unix = local_to_unix(BRANCHES[v.branch].zone, w.start + day, secs);
                let refund = [Line { qty: -l.qty, ..l }];
                let employee = Some(w.employee_at(rng, v.branch));
                self.emit(Some(i), v.branch, employee, unix, &refund, Some(id))?;
                self.stats.refunds += u64::from(unix <= w.until);
            }
        }

        if rng.chance(ANONYMOUS_PER_IDENTIFIED) {
            // A walk-in customer without a card the same day, following the same seasonality.
            basket(w, rng, &mut lines, None, v.day);
            let secs = w.shop_time(rng, v.branch, v.day);
            let unix = local_to_unix(BRANCHES[v.branch].zone, w.start + v.day, secs);
            let employee = if rng.chance(0.04) {
                None
            } else {
                Some(w.employee_at(rng, v.branch))
            };
            self.emit(None, v.branch, employee, unix, &lines, None)?;
            self.stats.anonymous += u64::from(unix <= w.until);
        }
        self.lines = lines;
        Ok(())
    }

    /// Writes one transaction (all its lines) and returns its number.
    fn emit(
        &mut self,
        customer: Option<usize>,
        branch: usize,
        employee: Option<usize>,
        unix: i64,
        lines: &[Line],
        refund_of: Option<u64>,
    ) -> io::Result<u64> {
        let w = self.w;
        let n = self.next_tx;
        self.next_tx += 1;
        if unix > w.until {
            // After the demo's now: not yet happened (nor has its refund, which comes later).
            return Ok(n);
        }
        self.stats.transactions += 1;
        let p = &mut self.prefix;
        p.clear();
        push_id(p, b'T', n, 7);
        p.push(b',');
        if let Some(c) = customer {
            push_id(p, b'M', c as u64 + 1, w.id_width);
        }
        p.push(b',');
        p.extend_from_slice(BRANCHES[branch].id.as_bytes());
        p.push(b',');
        if let Some(e) = employee {
            p.extend_from_slice(EMPLOYEES[e].0.as_bytes());
        }
        p.push(b',');
        push_instant(p, unix);
        p.push(b',');
        for l in lines {
            let buf = &mut self.tx.buf;
            buf.extend_from_slice(&self.prefix);
            if let Some(k) = l.product {
                buf.extend_from_slice(w.products[k].sku.as_bytes());
            }
            buf.push(b',');
            push_int(buf, l.qty);
            buf.push(b',');
            push_money(buf, l.price);
            buf.push(b',');
            push_money(buf, l.discount);
            buf.extend_from_slice(b",ILS,");
            if let Some(r) = refund_of {
                push_id(buf, b'T', r, 7);
            }
            self.tx.end_row()?;
            self.stats.lines += 1;
        }
        Ok(n)
    }

    fn interactions(
        &mut self,
        rng: &mut Rng,
        i: usize,
        b: &Base,
        last_day: Option<i32>,
        defected: bool,
    ) -> io::Result<()> {
        let w = self.w;
        self.contacts.clear();
        let (count, until) = match last_day {
            Some(last) => {
                let n = rng.poisson(0.25 + 0.06 * self.visits.len() as f64).min(12);
                (n, (last + 45).min(DAYS - 1))
            }
            None => (u64::from(rng.chance(0.3)), (b.created_day + 120).min(DAYS - 1)),
        };
        let kinds = [
            (names::Kind::Visit, 0.22),
            (names::Kind::Call, 0.14),
            (names::Kind::Inquiry, 0.2),
            (names::Kind::Complaint, 0.08 + 0.5 * b.dropout),
            (names::Kind::Compliment, 0.1),
            (names::Kind::Note, 0.12),
        ];
        let cum = crate::rng::cumulative(kinds.iter().map(|k| k.1));
        for _ in 0..count {
            let kind = if last_day.is_none() {
                if rng.chance(0.7) {
                    names::Kind::Inquiry
                } else {
                    names::Kind::Visit
                }
            } else {
                kinds[rng.weighted(&cum)].0
            };
            let day = rng.range(i64::from(b.created_day), i64::from(until.max(b.created_day))) as i32;
            // Satisfaction drops in the weeks before a customer leaves.
            let mood = match last_day {
                Some(last) if defected && day > last - 60 => b.satisfaction - 1.2,
                _ => b.satisfaction,
            };
            let c = self.contact(rng, b, kind, day, mood, false);
            self.contacts.push(c);
        }
        if defected
            && let Some(last) = last_day
            && last < DAYS - 60
            && rng.chance(0.5)
        {
            let day = (last + rng.range(-20, 10) as i32).clamp(b.created_day, DAYS - 1);
            let c = self.contact(rng, b, names::Kind::Complaint, day, 1.0, true);
            self.contacts.push(c);
        }
        self.contacts.retain(|c| c.unix <= w.until);
        self.contacts.sort_by_key(|c| c.unix);
        let contacts = std::mem::take(&mut self.contacts);
        for c in &contacts {
            let buf = &mut self.ix.buf;
            push_id(buf, b'I', self.next_ix, 7);
            self.next_ix += 1;
            buf.push(b',');
            push_id(buf, b'M', i as u64 + 1, w.id_width);
            buf.push(b',');
            buf.extend_from_slice(c.channel.as_bytes());
            buf.push(b',');
            buf.extend_from_slice(c.kind.code().as_bytes());
            buf.push(b',');
            push_instant(buf, c.unix);
            buf.push(b',');
            push_text(buf, c.text);
            buf.push(b',');
            if let Some(e) = c.employee {
                buf.extend_from_slice(EMPLOYEES[e].0.as_bytes());
            }
            buf.push(b',');
            if let Some(s) = c.satisfaction {
                push_int(buf, i64::from(s));
            }
            buf.push(b',');
            if let Some(s) = c.status {
                buf.extend_from_slice(s.as_bytes());
            }
            self.ix.end_row()?;
            self.stats.interactions += 1;
        }
        self.contacts = contacts;
        Ok(())
    }

    fn contact(&self, rng: &mut Rng, b: &Base, kind: names::Kind, day: i32, mood: f64, leaving: bool) -> Contact {
        let w = self.w;
        let channel = *rng.pick(kind.channels());
        let in_person = matches!(channel, "store" | "phone");
        let secs = if channel == "store" {
            w.shop_time(rng, b.home, day)
        } else {
            8 * 3600 + rng.below(14 * 3600) as u32
        };
        let unix = local_to_unix(BRANCHES[b.home].zone, w.start + day, secs);
        let employee = if in_person {
            Some(w.employee_at(rng, b.home))
        } else {
            None
        };
        let text = *rng.pick(names::texts(kind, b.lang));
        let satisfaction = match kind {
            names::Kind::Complaint if leaving || rng.chance(0.85) => {
                let x = rng.f64();
                Some(if leaving {
                    if x < 0.6 { 1 } else { 2 }
                } else if x < 0.45 {
                    1
                } else if x < 0.85 {
                    2
                } else {
                    3
                })
            }
            names::Kind::Compliment if rng.chance(0.8) => Some(if rng.chance(0.65) { 5 } else { 4 }),
            names::Kind::Visit | names::Kind::Call | names::Kind::Inquiry if rng.chance(0.45) => {
                Some((mood + 0.9 * rng.normal()).round().clamp(1.0, 5.0) as u8)
            }
            _ => None,
        };
        let status = if kind == names::Kind::Complaint {
            let resolved = if day > DAYS - 15 {
                0.3
            } else if leaving {
                0.45
            } else {
                0.75
            };
            Some(if rng.chance(resolved) { "resolved" } else { "open" })
        } else {
            None
        };
        Contact {
            unix,
            kind,
            channel,
            text,
            employee,
            satisfaction,
            status,
        }
    }
}

/// Fills `lines` with a basket for a customer (or an anonymous walk-in) on a day.
fn basket(w: &World, rng: &mut Rng, lines: &mut Vec<Line>, who: Option<&Base>, day: i32) {
    lines.clear();
    let kind = who.map(|b| b.kind);
    if who.is_none() && rng.chance(0.01) {
        // Amount-only sale (a gift card or a catering deposit) without a SKU.
        let price = rng.range(5, 40) * 500;
        lines.push(Line {
            product: None,
            qty: 1,
            price,
            discount: 0,
        });
        return;
    }
    let target = match who {
        Some(b) if b.kind == Kind::Intermediary => 4 + rng.below(5) as usize,
        Some(b) => (1 + rng.poisson(1.9 * b.spend) as usize).min(8),
        None => (1 + rng.poisson(1.1) as usize).min(8),
    };
    let bundle_p = who.map_or(0.2, |b| b.bundle_propensity);
    if rng.chance(bundle_p) {
        let k = match who {
            Some(b) if rng.chance(0.8) => *rng.pick(&b.bundles),
            _ => rng.index(BUNDLES.len()),
        };
        for (n, &p) in BUNDLES[k].0.iter().enumerate() {
            if n < 2 || rng.chance(0.8) {
                lines.push(Line {
                    product: Some(p),
                    qty: 1,
                    price: 0,
                    discount: 0,
                });
            }
        }
    }
    let mut tries = 0;
    while lines.len() < target && tries < 40 {
        tries += 1;
        let p = match who {
            Some(b) if rng.chance(0.5) => {
                let (idx, cum) = &w.category_products[*rng.pick(&b.fav_categories)];
                idx[rng.weighted(cum)]
            }
            _ => rng.weighted(&w.product_cum),
        };
        if lines.iter().all(|l| l.product != Some(p)) {
            lines.push(Line {
                product: Some(p),
                qty: 1,
                price: 0,
                discount: 0,
            });
        }
    }
    let card = who.is_some_and(|b| b.has_card);
    for l in lines.iter_mut() {
        let Some(p) = l.product else { continue };
        l.qty = match kind {
            Some(Kind::Intermediary) => 2 + rng.below(11) as i64,
            _ => {
                let x = rng.f64();
                if x < 0.72 {
                    1
                } else if x < 0.92 {
                    2
                } else {
                    3
                }
            }
        };
        let list = w.products[p].price;
        let mut price = if day < PRICE_RISE_DAY {
            round10(list as f64 * 0.96)
        } else {
            list
        };
        if rng.chance(0.04) {
            price = round10(price as f64 * 0.85);
        }
        l.price = price;
        let amount = l.qty * price;
        let pct = if kind == Some(Kind::Internal) {
            10
        } else if amount >= 2000 && rng.chance(if card { 0.1 } else { 0.05 }) {
            *rng.pick(&[5, 10, 15, 20])
        } else {
            0
        };
        l.discount = round10(amount as f64 * f64::from(pct) / 100.0).min(amount);
    }
}
