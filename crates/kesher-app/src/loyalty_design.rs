//! `kesher loyalty design` and `GET /api/loyalty/design`: the sales, their lines and the
//! products' costs and categories read in one streaming pass per table (`Store::bulk_read`, the
//! reads `kesher copy` uses, in both backends), handed to `kesher_loyalty::design`, which decides
//! everything. Aggregates only: no customer is named in the report.

use crate::App;
use crate::points::loyalty_error;
use kesher_core::{Currency, CustomerId};
use kesher_loyalty::design::{DesignLine, DesignOptions, DesignSale, parse_months, parse_point_value, parse_share};
use kesher_store::bulk::{self, Value};
use kesher_store::{Result, StoreError};
use std::collections::HashMap;
use uuid::Uuid;

pub use kesher_loyalty::design::{Design, render_text};

/// What a design is asked with, as the shells received it (each checked here, an error naming
/// its field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesignRequest {
    /// ISO code; default: the program's currency, else the one most sales were made in.
    pub currency: Option<String>,
    /// Share of issued points assumed redeemed, `0` to `1` (default `0.6`).
    pub redemption_rate: Option<String>,
    /// Months of history the simulation replays (default 12).
    pub months: Option<String>,
    /// Share of the gross margin given back (default `0.1`).
    pub margin_share: Option<String>,
    /// A point's value in the currency (default one minor unit).
    pub point_value: Option<String>,
}

pub(crate) fn column(table: &bulk::TableSpec, name: &str) -> Result<usize> {
    table
        .columns
        .iter()
        .position(|c| c.0 == name)
        .ok_or_else(|| StoreError::Backend(format!("table {} has no column {name}", table.name)))
}

pub(crate) fn table(name: &str) -> Result<&'static bulk::TableSpec> {
    bulk::table(name).ok_or_else(|| StoreError::Backend(format!("no table {name}")))
}

pub(crate) fn uuid_at(row: &[Value], i: usize) -> Option<Uuid> {
    match row.get(i) {
        Some(Value::Uuid(u)) => Some(*u),
        _ => None,
    }
}

pub(crate) fn int_at(row: &[Value], i: usize) -> Option<i64> {
    match row.get(i) {
        Some(Value::Int(v)) => Some(*v),
        _ => None,
    }
}

pub(crate) fn text_at(row: &[Value], i: usize) -> Option<&str> {
    match row.get(i) {
        Some(Value::Text(s)) => Some(s.as_str()),
        _ => None,
    }
}

impl App {
    /// The design report: repeat buying, thresholds and tiers, the benefit rate the margin
    /// carries, and the suggested program replayed over the last months (docs/loyalty.md).
    pub fn loyalty_design(&self, req: &DesignRequest) -> Result<Design> {
        let redemption_permille = parse_share("redemption_rate", req.redemption_rate.as_deref().unwrap_or("0.6"), true)
            .map_err(loyalty_error)?;
        let margin_share_permille =
            parse_share("margin_share", req.margin_share.as_deref().unwrap_or("0.1"), false).map_err(loyalty_error)?;
        let months = parse_months(req.months.as_deref().unwrap_or("12")).map_err(loyalty_error)?;
        let asked = match req.currency.as_deref() {
            Some(c) => Some(Currency::parse(c).map_err(|mut e| {
                e.field = "currency";
                StoreError::from(e)
            })?),
            None => None,
        };

        // Products: category and unit cost.
        let products = table("products")?;
        let (p_id, p_category, p_cost) = (
            column(products, "id")?,
            column(products, "category")?,
            column(products, "unit_cost")?,
        );
        let mut product: HashMap<Uuid, (Option<String>, Option<i64>)> = HashMap::new();
        self.store.bulk_read(products, &mut |row| {
            if let Some(id) = uuid_at(row, p_id) {
                product.insert(id, (text_at(row, p_category).map(str::to_string), int_at(row, p_cost)));
            }
        })?;

        // Sales of identified customers, refunds left out.
        let transactions = table("transactions")?;
        let (t_id, t_customer, t_at, t_currency, t_total, t_refund) = (
            column(transactions, "id")?,
            column(transactions, "customer_id")?,
            column(transactions, "occurred_at")?,
            column(transactions, "currency")?,
            column(transactions, "total")?,
            column(transactions, "refund_of")?,
        );
        let mut sales: Vec<DesignSale> = Vec::new();
        let mut index: HashMap<Uuid, usize> = HashMap::new();
        let mut currencies: HashMap<String, Currency> = HashMap::new();
        let mut bad: Option<StoreError> = None;
        self.store.bulk_read(transactions, &mut |row| {
            let (Some(id), Some(customer), None) =
                (uuid_at(row, t_id), uuid_at(row, t_customer), uuid_at(row, t_refund))
            else {
                return;
            };
            let (Some(Value::Time(at)), Some(code), Some(total)) =
                (row.get(t_at), text_at(row, t_currency), int_at(row, t_total))
            else {
                return;
            };
            let currency = match currencies.get(code) {
                Some(c) => *c,
                None => match Currency::from_stored(code) {
                    Ok(c) => {
                        currencies.insert(code.to_string(), c);
                        c
                    }
                    Err(e) => {
                        bad.get_or_insert(StoreError::Backend(format!("stored currency: {e}")));
                        return;
                    }
                },
            };
            index.insert(id, sales.len());
            sales.push(DesignSale {
                customer: CustomerId::from_uuid(customer),
                at: *at,
                currency,
                net: total,
                lines: Vec::new(),
            });
        })?;
        if let Some(e) = bad {
            return Err(e);
        }

        // Their lines: amount, category and cost (quantity × the product's unit cost).
        let lines = table("transaction_lines")?;
        let (l_sale, l_product, l_quantity, l_price, l_discount) = (
            column(lines, "transaction_id")?,
            column(lines, "product_id")?,
            column(lines, "quantity")?,
            column(lines, "unit_price")?,
            column(lines, "discount")?,
        );
        self.store.bulk_read(lines, &mut |row| {
            let Some(sale) = uuid_at(row, l_sale)
                .and_then(|id| index.get(&id))
                .and_then(|&i| sales.get_mut(i))
            else {
                return;
            };
            let quantity = int_at(row, l_quantity).unwrap_or(0);
            let net = i128::from(quantity) * i128::from(int_at(row, l_price).unwrap_or(0))
                - i128::from(int_at(row, l_discount).unwrap_or(0));
            let facts = uuid_at(row, l_product).and_then(|p| product.get(&p));
            let cost = facts
                .and_then(|f| f.1)
                .and_then(|c| i64::try_from(i128::from(quantity) * i128::from(c)).ok());
            sale.lines.push(DesignLine {
                category: facts.and_then(|f| f.0.clone()),
                net: i64::try_from(net).unwrap_or(0),
                cost,
            });
        })?;

        let currency = match asked {
            Some(c) => c,
            None => match self.loyalty_program()? {
                Some(p) => p.currency(),
                None => {
                    let mut count: HashMap<Currency, u64> = HashMap::new();
                    for s in &sales {
                        *count.entry(s.currency).or_default() += 1;
                    }
                    count
                        .into_iter()
                        .max_by_key(|(c, n)| (*n, std::cmp::Reverse(c.to_string())))
                        .map(|(c, _)| c)
                        .unwrap_or(Currency::parse("ILS").map_err(StoreError::from)?)
                }
            },
        };
        let point_value = parse_point_value(
            currency,
            req.point_value.as_deref().unwrap_or(&currency.format_amount(1)),
        )
        .map_err(loyalty_error)?;
        let options = DesignOptions {
            currency,
            time_zone: self.business_time_zone()?,
            redemption_permille,
            margin_share_permille,
            point_value,
            months,
        };
        kesher_loyalty::design::design(&sales, &options).map_err(loyalty_error)
    }
}

#[cfg(test)]
mod tests;
