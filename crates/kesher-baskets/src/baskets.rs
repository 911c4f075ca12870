//! Baskets (sets of item strings) and their parsers: FIMI lines and kesher's transactions CSV

use std::collections::HashMap;
use std::io::BufRead;

use crate::error::BasketError;
use crate::hash::FxHashMap;

/// A list of baskets, each a set of items; items are kept as the input strings.
///
/// Items get dense ids in order of first appearance; each basket's ids are sorted and
/// deduplicated (a basket is a set, as in mlxtend's one-hot frame). Empty baskets count
/// towards the number of baskets (the support denominator). Baskets read from CSV carry a
/// label (their transaction or customer id, see [`Baskets::label`]).
#[derive(Debug, Clone)]
pub struct Baskets {
    names: Vec<String>,
    index: FxHashMap<String, u32>,
    /// Fast path for canonical decimal item strings below [`NUMERIC_LIMIT`] (FIMI files):
    /// value -> id + 1, 0 = not seen.
    numeric: Vec<u32>,
    offsets: Vec<usize>,
    ids: Vec<u32>,
    /// One label per basket, or empty when the source has none.
    labels: Vec<String>,
}

impl Default for Baskets {
    fn default() -> Self {
        Baskets::new()
    }
}

impl Baskets {
    /// No baskets yet.
    pub fn new() -> Self {
        Baskets {
            names: Vec::new(),
            index: FxHashMap::default(),
            numeric: Vec::new(),
            offsets: vec![0],
            ids: Vec::new(),
            labels: Vec::new(),
        }
    }

    /// Baskets from in-memory item lists (handy for tests and for callers that filtered
    /// transactions by period, branch or segment themselves).
    pub fn from_lists<B, S>(baskets: impl IntoIterator<Item = B>) -> Self
    where
        B: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut out = Baskets::new();
        for basket in baskets {
            out.push_basket(basket);
        }
        out
    }

    /// Appends one basket; repeated items count once.
    pub fn push_basket<S: AsRef<str>>(&mut self, items: impl IntoIterator<Item = S>) {
        let start = self.ids.len();
        for item in items {
            let id = self.intern(item.as_ref());
            self.ids.push(id);
        }
        self.finish_basket(start);
    }

    fn intern(&mut self, item: &str) -> u32 {
        if let Some(value) = canonical_decimal(item) {
            if let Some(&slot) = self.numeric.get(value)
                && slot != 0
            {
                return slot - 1;
            }
            let id = self.intern_slow(item);
            if self.numeric.len() <= value {
                self.numeric.resize(value + 1, 0);
            }
            self.numeric[value] = id + 1;
            return id;
        }
        self.intern_slow(item)
    }

    fn intern_slow(&mut self, item: &str) -> u32 {
        if let Some(&id) = self.index.get(item) {
            return id;
        }
        let id = self.names.len() as u32;
        self.names.push(item.to_owned());
        self.index.insert(item.to_owned(), id);
        id
    }

    fn finish_basket(&mut self, start: usize) {
        let basket = &mut self.ids[start..];
        basket.sort_unstable();
        let mut kept = 0;
        for i in 0..basket.len() {
            if i == 0 || basket[i] != basket[kept - 1] {
                basket[kept] = basket[i];
                kept += 1;
            }
        }
        self.ids.truncate(start + kept);
        self.offsets.push(self.ids.len());
    }

    /// Number of baskets.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// True when there are no baskets.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct items.
    pub fn item_count(&self) -> usize {
        self.names.len()
    }

    /// The item string of an id.
    pub fn item_name(&self, id: u32) -> Option<&str> {
        self.names.get(id as usize).map(String::as_str)
    }

    /// The id of an item string.
    pub fn item_id(&self, name: &str) -> Option<u32> {
        self.index.get(name).copied()
    }

    /// All item strings, indexed by id.
    pub fn item_names(&self) -> &[String] {
        &self.names
    }

    /// The sorted item ids of basket `i` (empty when out of range).
    pub fn basket(&self, i: usize) -> &[u32] {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => &self.ids[a..b],
            _ => &[],
        }
    }

    /// The label of basket `i`: its `transaction_id` (or `customer_id` with
    /// [`Grouping::Customer`]) for CSV input; `None` for FIMI and in-memory baskets.
    pub fn label(&self, i: usize) -> Option<&str> {
        self.labels.get(i).map(String::as_str)
    }

    /// The item strings of basket `i`.
    pub fn basket_items(&self, i: usize) -> impl Iterator<Item = &str> + '_ {
        self.basket(i).iter().map(|&id| self.names[id as usize].as_str())
    }

    /// Iterates over the baskets as sorted id slices.
    pub fn iter(&self) -> impl Iterator<Item = &[u32]> + '_ {
        self.offsets.windows(2).map(|w| &self.ids[w[0]..w[1]])
    }

    /// Parses FIMI text: one basket a line, items separated by spaces or tabs.
    /// Blank lines are skipped (they are not baskets).
    pub fn from_fimi_str(text: &str) -> Self {
        let mut out = Baskets::new();
        for line in text.lines() {
            out.push_fimi_line(line);
        }
        out
    }

    /// Parses FIMI from a reader; see [`Baskets::from_fimi_str`].
    pub fn from_fimi_reader(mut reader: impl BufRead) -> Result<Self, BasketError> {
        let mut out = Baskets::new();
        let mut line = String::new();
        let mut number = 0;
        loop {
            line.clear();
            number += 1;
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => out.push_fimi_line(&line),
                Err(e) => {
                    return Err(BasketError::Read {
                        line: number,
                        reason: e.to_string(),
                    });
                }
            }
        }
        Ok(out)
    }

    fn push_fimi_line(&mut self, line: &str) {
        let mut tokens = line.split_ascii_whitespace().peekable();
        if tokens.peek().is_none() {
            return;
        }
        let start = self.ids.len();
        for token in tokens {
            let id = self.intern(token);
            self.ids.push(id);
        }
        self.finish_basket(start);
    }

    /// Parses kesher's transactions CSV (see docs/import-formats.md): one row per line item,
    /// rows sharing `transaction_id` form one basket (in order of first appearance; or rows
    /// sharing `customer_id` with [`Grouping::Customer`]), the items are the `sku` cells, or
    /// their categories when `options.sku_to_category` is set.
    pub fn from_kesher_csv_str(text: &str, options: &CsvOptions<'_>) -> Result<Self, BasketError> {
        Self::from_kesher_csv_reader(text.as_bytes(), options)
    }

    /// Parses kesher's transactions CSV from a reader; see [`Baskets::from_kesher_csv_str`].
    pub fn from_kesher_csv_reader(mut reader: impl BufRead, options: &CsvOptions<'_>) -> Result<Self, BasketError> {
        let mut line = String::new();
        let mut number = 0usize;
        let mut header: Option<CsvHeader> = None;
        let mut fields: Vec<String> = Vec::new();
        let mut baskets: Vec<Vec<u32>> = Vec::new();
        let mut by_key: FxHashMap<String, usize> = FxHashMap::default();
        let mut labels: Vec<String> = Vec::new();
        let mut out = Baskets::new();
        loop {
            line.clear();
            number += 1;
            match reader.read_line(&mut line) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => {
                    return Err(BasketError::Read {
                        line: number,
                        reason: e.to_string(),
                    });
                }
            }
            let text = line.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                continue;
            }
            split_csv_line(text, number, &mut fields)?;
            let Some(h) = &header else {
                header = Some(CsvHeader::parse(&fields, number)?);
                continue;
            };
            if fields.len() != h.width {
                return Err(BasketError::Parse {
                    line: number,
                    reason: format!("expected {} cells, found {}", h.width, fields.len()),
                });
            }
            let tid = fields[h.transaction_id].trim();
            if tid.is_empty() {
                return Err(column_error(number, "transaction_id", "required"));
            }
            let sku = fields[h.sku].trim();
            // An amount-only line (no sku) names no item, and a refund returns items rather
            // than buying them: neither belongs in a basket.
            let refund = h.refund_of.is_some_and(|c| !fields[c].trim().is_empty())
                || h.quantity.is_some_and(|c| fields[c].trim().starts_with('-'));
            if sku.is_empty() || refund {
                continue;
            }
            let key = match options.group_by {
                Grouping::Transaction => tid,
                Grouping::Customer => {
                    let customer = h.customer_id.map_or("", |c| fields[c].trim());
                    if customer.is_empty() {
                        return Err(column_error(number, "customer_id", "required"));
                    }
                    customer
                }
            };
            if let (Some(branch), Some(col)) = (options.branch_id, h.branch_id)
                && fields[col].trim() != branch
            {
                continue;
            }
            let item = match options.sku_to_category {
                Some(map) => match map.get(sku) {
                    Some(category) => category.as_str(),
                    None => {
                        return Err(column_error(number, "sku", &format!("no category for sku \"{sku}\"")));
                    }
                },
                None => sku,
            };
            let id = out.intern(item);
            let slot = match by_key.get(key) {
                Some(&slot) => slot,
                None => {
                    by_key.insert(key.to_owned(), baskets.len());
                    labels.push(key.to_owned());
                    baskets.push(Vec::new());
                    baskets.len() - 1
                }
            };
            baskets[slot].push(id);
        }
        if header.is_none() {
            return Err(BasketError::Parse {
                line: 1,
                reason: "missing header row".to_owned(),
            });
        }
        for basket in baskets {
            let start = out.ids.len();
            out.ids.extend_from_slice(&basket);
            out.finish_basket(start);
        }
        out.labels = labels;
        Ok(out)
    }
}

const NUMERIC_LIMIT: usize = 1 << 20;

/// The value of a decimal string without sign or leading zeros ("0" allowed), if small:
/// such strings and numbers correspond one to one, so the number can stand for the string.
#[inline]
fn canonical_decimal(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() > 7 || (bytes[0] == b'0' && bytes.len() > 1) {
        return None;
    }
    let mut value = 0usize;
    for &b in bytes {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + usize::from(b - b'0');
    }
    (value < NUMERIC_LIMIT).then_some(value)
}

/// Options for reading kesher's transactions CSV.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvOptions<'a> {
    /// Mine at the category level: each sku is replaced by its category (a sku missing
    /// from the map is an error).
    pub sku_to_category: Option<&'a HashMap<String, String>>,
    /// Keep only the line items of this branch.
    pub branch_id: Option<&'a str>,
    /// What makes a basket.
    pub group_by: Grouping,
}

/// What rows of the transactions CSV form one basket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Grouping {
    /// One basket per `transaction_id` (market baskets, for mining).
    #[default]
    Transaction,
    /// One item set per `customer_id`: everything each customer bought (for
    /// [`crate::cross_sell_report`] and [`crate::next_best_offers`]).
    Customer,
}

const CSV_COLUMNS: [&str; 11] = [
    "refund_of",
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
];

struct CsvHeader {
    width: usize,
    transaction_id: usize,
    sku: usize,
    branch_id: Option<usize>,
    customer_id: Option<usize>,
    quantity: Option<usize>,
    refund_of: Option<usize>,
}

impl CsvHeader {
    fn parse(fields: &[String], line: usize) -> Result<Self, BasketError> {
        let mut transaction_id = None;
        let mut sku = None;
        let mut branch_id = None;
        let mut customer_id = None;
        let mut quantity = None;
        let mut refund_of = None;
        for (i, name) in fields.iter().enumerate() {
            let name = name.trim();
            if !CSV_COLUMNS.contains(&name) {
                return Err(column_error(line, name, "unknown column"));
            }
            match name {
                "transaction_id" => transaction_id = Some(i),
                "sku" => sku = Some(i),
                "branch_id" => branch_id = Some(i),
                "customer_id" => customer_id = Some(i),
                "quantity" => quantity = Some(i),
                "refund_of" => refund_of = Some(i),
                _ => {}
            }
        }
        let transaction_id = transaction_id.ok_or_else(|| column_error(line, "transaction_id", "missing column"))?;
        let sku = sku.ok_or_else(|| column_error(line, "sku", "missing column"))?;
        Ok(CsvHeader {
            width: fields.len(),
            transaction_id,
            sku,
            branch_id,
            customer_id,
            quantity,
            refund_of,
        })
    }
}

fn column_error(line: usize, column: &str, reason: &str) -> BasketError {
    BasketError::Column {
        line,
        column: column.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Splits one CSV line into cells (RFC 4180 quoting within the line; `""` is a quote).
fn split_csv_line(text: &str, line: usize, out: &mut Vec<String>) -> Result<(), BasketError> {
    out.clear();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut in_quotes = false;
    let mut quoted_cell = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cell.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cell.push(c);
            }
        } else if c == ',' {
            out.push(std::mem::take(&mut cell));
            quoted_cell = false;
        } else if c == '"' && cell.is_empty() && !quoted_cell {
            in_quotes = true;
            quoted_cell = true;
        } else if quoted_cell {
            return Err(BasketError::Parse {
                line,
                reason: "text after a closing quote".to_owned(),
            });
        } else {
            cell.push(c);
        }
    }
    if in_quotes {
        return Err(BasketError::Parse {
            line,
            reason: "unterminated quoted cell".to_owned(),
        });
    }
    out.push(cell);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(b: &Baskets, i: usize) -> Vec<&str> {
        let mut v: Vec<&str> = b.basket(i).iter().map(|&id| b.item_name(id).unwrap()).collect();
        v.sort();
        v
    }

    #[test]
    fn numeric_fast_path_keeps_strings_distinct() {
        let b = Baskets::from_fimi_str("1 01 001 1\n1 x 9999999 0 00\n");
        assert_eq!(b.item_names(), ["1", "01", "001", "x", "9999999", "0", "00"]);
        assert_eq!(b.item_id("01"), Some(1));
        assert_eq!(names(&b, 1), ["0", "00", "1", "9999999", "x"]);
        assert_eq!(canonical_decimal("1048575"), Some(1_048_575));
        assert_eq!(canonical_decimal("1048576"), None);
        assert_eq!(canonical_decimal("-1"), None);
    }

    #[test]
    fn fimi_skips_blank_lines_and_dedups() {
        let b = Baskets::from_fimi_str("1 2 3\n\n  \n3 3 4\t5\n");
        assert_eq!(b.len(), 2);
        assert_eq!(names(&b, 0), ["1", "2", "3"]);
        assert_eq!(names(&b, 1), ["3", "4", "5"]);
        let r = Baskets::from_fimi_reader("1 2 3\n\n3 3 4\t5".as_bytes()).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!(r.item_count(), 5);
    }

    const CSV: &str = "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency\n\
        K1,C1,B1,E1,2025-03-01T10:00:00Z,P1,1,1.00,0.00,USD\n\
        K2,C2,B2,E1,2025-03-01T10:00:00Z,P2,1,1.00,0.00,USD\n\
        K1,C1,B1,E1,2025-03-01T10:00:00Z,\"P2\",2,1.00,0.00,USD\n\
        K1,C1,B1,E1,2025-03-01T10:00:00Z,P1,1,1.00,0.00,USD\n";

    #[test]
    fn csv_groups_rows_by_transaction() {
        let b = Baskets::from_kesher_csv_str(CSV, &CsvOptions::default()).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(names(&b, 0), ["P1", "P2"]);
        assert_eq!(names(&b, 1), ["P2"]);
        assert_eq!((b.label(0), b.label(1), b.label(2)), (Some("K1"), Some("K2"), None));
        assert_eq!(b.basket_items(1).collect::<Vec<_>>(), ["P2"]);
    }

    #[test]
    fn csv_groups_rows_by_customer() {
        let text = format!("{CSV}K3,C2,B1,E1,2025-03-02T10:00:00Z,P3,1,1.00,0.00,USD\n");
        let options = CsvOptions {
            group_by: Grouping::Customer,
            ..CsvOptions::default()
        };
        let b = Baskets::from_kesher_csv_str(&text, &options).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!((b.label(0), b.label(1)), (Some("C1"), Some("C2")));
        assert_eq!(names(&b, 1), ["P2", "P3"]);
        let err = Baskets::from_kesher_csv_str("transaction_id,sku\nK1,P1\n", &options).unwrap_err();
        assert_eq!(err.to_string(), "line 2: column customer_id: required");
    }

    #[test]
    fn default_is_new() {
        let mut b = Baskets::default();
        b.push_basket(["x"]);
        assert_eq!(b.len(), 1);
        assert!(Baskets::new().is_empty());
    }

    #[test]
    fn csv_maps_categories_and_filters_branch() {
        let map: HashMap<String, String> = [("P1", "Coffee"), ("P2", "Milk")]
            .into_iter()
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
            .collect();
        let options = CsvOptions {
            sku_to_category: Some(&map),
            branch_id: Some("B1"),
            ..CsvOptions::default()
        };
        let b = Baskets::from_kesher_csv_str(CSV, &options).unwrap();
        assert_eq!(b.len(), 1);
        assert_eq!(names(&b, 0), ["Coffee", "Milk"]);
    }

    #[test]
    fn csv_leaves_out_refunds_and_amount_only_lines() {
        // kesher's own export: an amount-only line, and a refund naming its sale.
        let csv = "transaction_id,customer_id,branch_id,employee_id,occurred_at,sku,quantity,unit_price,discount,currency,refund_of\n\
            T1,M1,B1,,2025-03-01,P1,1,1.00,0,ILS,\n\
            T1,M1,B1,,2025-03-01,P2,2,1.00,0,ILS,\n\
            T2,M1,B1,,2025-03-02,,1,5.00,0,ILS,\n\
            R1,M1,B1,,2025-03-03,P2,-1,1.00,0,ILS,T1\n\
            T3,M2,B1,,2025-03-04,P3,1,1.00,0,ILS,\n";
        let b = Baskets::from_kesher_csv_str(csv, &CsvOptions::default()).unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(names(&b, 0), ["P1", "P2"]);
        assert_eq!(names(&b, 1), ["P3"]);
    }

    #[test]
    fn csv_errors_name_the_line() {
        let bad = "transaction_id,sku\nK1,P1\n,P2\n";
        let err = Baskets::from_kesher_csv_str(bad, &CsvOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), "line 3: column transaction_id: required");
        let bad = "transaction_id,sku,colour\n";
        let err = Baskets::from_kesher_csv_str(bad, &CsvOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), "line 1: column colour: unknown column");
        let bad = "transaction_id,customer_id\n";
        let err = Baskets::from_kesher_csv_str(bad, &CsvOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), "line 1: column sku: missing column");
        let bad = "transaction_id,sku\nK1,\"P1\n";
        let err = Baskets::from_kesher_csv_str(bad, &CsvOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), "line 2: unterminated quoted cell");
        let bad = "transaction_id,sku\nK1,P1,3\n";
        let err = Baskets::from_kesher_csv_str(bad, &CsvOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), "line 2: expected 2 cells, found 3");
        let map = HashMap::new();
        let options = CsvOptions {
            sku_to_category: Some(&map),
            ..CsvOptions::default()
        };
        let err = Baskets::from_kesher_csv_str("transaction_id,sku\nK1,P1\n", &options).unwrap_err();
        assert_eq!(err.to_string(), "line 2: column sku: no category for sku \"P1\"");
        let err = Baskets::from_kesher_csv_str("", &CsvOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), "line 1: missing header row");
    }
}
