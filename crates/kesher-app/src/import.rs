//! CSV import of branches, employees, products, customers, transactions and interactions.
//!
//! Streaming (one record in memory at a time, plus one basket for transactions), inside one
//! store unit of work: by default the first invalid row rejects the whole file and nothing is
//! written; with `skip_invalid` the valid rows land and each rejected row goes to `on_reject`
//! with its line, column and reason. Re-importing a file changes nothing (ids already present
//! are counted, not written). Formats: docs/import-formats.md.

use crate::{App, ids};
use kesher_core::customer_input::{
    self, AttributesInput, CustomerInput, InputContext, InputSource, References, ReferencesInput, Stage, StagedError,
};
use kesher_core::{
    Branch, BranchId, Channel, Country, Currency, Customer, CustomerId, DomainError, Employee, EmployeeId, Interaction,
    InteractionKind, InteractionStatus, Line, Money, Params, Product, Transaction, parse_external_id,
    parse_instant_within, parse_satisfaction,
};
use kesher_store::{ImportTx, Inserted, StoreError};
use std::fmt;
use std::io::Read;
use std::sync::mpsc;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    Branches,
    Employees,
    Products,
    Customers,
    Transactions,
    Interactions,
}

impl ImportKind {
    pub const ALL: [ImportKind; 6] = [
        ImportKind::Branches,
        ImportKind::Employees,
        ImportKind::Products,
        ImportKind::Customers,
        ImportKind::Transactions,
        ImportKind::Interactions,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            ImportKind::Branches => "branches",
            ImportKind::Employees => "employees",
            ImportKind::Products => "products",
            ImportKind::Customers => "customers",
            ImportKind::Transactions => "transactions",
            ImportKind::Interactions => "interactions",
        }
    }

    pub fn parse(s: &str) -> Option<ImportKind> {
        ImportKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// (column, required) in documented order.
    pub fn columns(&self) -> &'static [(&'static str, bool)] {
        match self {
            ImportKind::Branches => &[
                ("branch_id", true),
                ("name", true),
                ("region", false),
                ("time_zone", false),
            ],
            ImportKind::Employees => &[("employee_id", true), ("name", true), ("branch_id", false)],
            ImportKind::Products => &[
                ("sku", true),
                ("name", true),
                ("category", false),
                ("list_price", true),
                ("unit_cost", false),
                ("currency", true),
            ],
            ImportKind::Customers => &[
                ("customer_id", true),
                ("kind", false),
                ("parent_id", false),
                ("name", false),
                ("phone", false),
                ("email", false),
                ("card", false),
                ("language", false),
                ("birth_date", false),
                ("gender", false),
                ("city", false),
                ("region", false),
                ("household_size", false),
                ("income_band", false),
                ("created_at", false),
                ("branch_id", false),
                ("employee_id", false),
                ("consent_email", false),
                ("consent_sms", false),
                ("consent_phone", false),
                ("attributes", false),
            ],
            ImportKind::Transactions => &[
                ("transaction_id", true),
                ("customer_id", false),
                ("branch_id", true),
                ("employee_id", false),
                ("occurred_at", true),
                ("sku", false),
                ("quantity", true),
                ("unit_price", true),
                ("discount", false),
                ("currency", true),
                ("refund_of", false),
            ],
            ImportKind::Interactions => &[
                ("interaction_id", true),
                ("customer_id", true),
                ("channel", true),
                ("kind", true),
                ("occurred_at", true),
                ("text", false),
                ("employee_id", false),
                ("satisfaction", false),
                ("status", false),
            ],
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Import the valid rows and report the rest instead of rejecting the whole file.
    pub skip_invalid: bool,
    /// Create bare customers, branches and employees that a file names but the store lacks.
    pub create_missing: bool,
    /// Transactions: the sales written earn points by the earning rule (and the refunds take
    /// back their share), in the import's own unit of work. Off by default: history imported
    /// from another system earned (or did not earn) under its own rules.
    pub award_points: bool,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportSummary {
    pub rows_read: u64,
    pub inserted: u64,
    pub already_present: u64,
    pub rejected: u64,
    pub created_customers: u64,
    pub created_branches: u64,
    pub created_employees: u64,
}

/// A row left out with `skip_invalid`, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub line: u64,
    pub column: Option<String>,
    pub reason: String,
    /// Stable code of the reason (kesher_core::codes::CATALOGUE) and its named arguments.
    pub code: &'static str,
    pub params: Params,
    pub record: Vec<String>,
}

/// Why a file was not imported. Displays as `file:line: column X: reason`.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{}", fmt_row(file, *line, column.as_deref(), reason))]
    Row {
        file: String,
        line: u64,
        column: Option<String>,
        reason: String,
        code: &'static str,
        params: Params,
    },
    #[error("{file}: {reason}")]
    File {
        file: String,
        reason: String,
        code: &'static str,
    },
    #[error("{file}: {source}")]
    Store { file: String, source: StoreError },
}

impl ImportError {
    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            ImportError::Row { code, .. } | ImportError::File { code, .. } => code,
            ImportError::Store { source, .. } => source.code(),
        }
    }
    /// The message's named arguments; a row's always include `line`, and `column` when one is
    /// named.
    pub fn params(&self) -> Params {
        match self {
            ImportError::Row {
                line, column, params, ..
            } => {
                let mut p = params.clone();
                p.insert("line".into(), (*line).into());
                if let Some(c) = column {
                    p.insert("column".into(), c.as_str().into());
                }
                p
            }
            ImportError::File { .. } => Params::new(),
            ImportError::Store { source, .. } => source.params(),
        }
    }
}

fn fmt_row(file: &str, line: u64, column: Option<&str>, reason: &str) -> String {
    match column {
        Some(c) => format!("{file}:{line}: column {c}: {reason}"),
        None => format!("{file}:{line}: {reason}"),
    }
}

/// A problem with one row: the column and the reason.
#[derive(Debug, Clone)]
struct RowError {
    column: Option<String>,
    reason: String,
    code: &'static str,
    params: Params,
}

impl RowError {
    fn col(code: &'static str, column: &str, reason: impl Into<String>) -> Self {
        RowError {
            column: Some(column.to_string()),
            reason: reason.into(),
            code,
            params: Params::new(),
        }
    }
    fn line(code: &'static str, reason: impl Into<String>) -> Self {
        RowError {
            column: None,
            reason: reason.into(),
            code,
            params: Params::new(),
        }
    }
    fn with(mut self, name: &str, value: impl Into<kesher_core::error::Value>) -> Self {
        self.params.insert(name.to_string(), value.into());
        self
    }
    fn domain(column: &str, e: DomainError) -> Self {
        RowError {
            column: Some(column.to_string()),
            reason: e.reason,
            code: e.code,
            params: e.params,
        }
    }
}

/// Domain errors name their field; in a file the column may be called differently.
fn dom(column: &str) -> impl Fn(DomainError) -> RowError + '_ {
    move |e| RowError::domain(column, e)
}

/// Either a row-level problem (reject the row) or a fatal one (stop the import).
enum Failure {
    Row(RowError),
    Fatal(StoreError),
}

impl From<RowError> for Failure {
    fn from(e: RowError) -> Self {
        Failure::Row(e)
    }
}

impl From<DomainError> for Failure {
    fn from(e: DomainError) -> Self {
        Failure::Row(RowError::domain(e.field, e))
    }
}

/// The references of a customers row, resolved in the import's unit (`create_missing` makes
/// the branch or employee a row names).
struct RowReferences<'i, 'a>(&'i mut Importer<'a>);

impl References for RowReferences<'_, '_> {
    type Error = Failure;

    fn parent(&mut self, member: &str) -> Result<CustomerId, Failure> {
        self.0.tx.customer_ref(member)?.ok_or_else(|| {
            RowError::col(
                "import.parent.unknown",
                "parent_id",
                format!("unknown customer {member:?} (a parent must come first)"),
            )
            .with("value", member)
            .into()
        })
    }

    fn branch(&mut self, ext: &str) -> Result<BranchId, Failure> {
        self.0.branch(ext)
    }

    fn employee(&mut self, ext: &str, branch: Option<BranchId>) -> Result<EmployeeId, Failure> {
        self.0.employee(ext, branch)
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict {
                field,
                reason,
                code,
                params,
            }
            | StoreError::Invalid {
                field,
                reason,
                code,
                params,
            } => {
                let column = match field {
                    "member_no" => "customer_id",
                    f => f,
                };
                Failure::Row(RowError {
                    column: Some(column.to_string()),
                    reason,
                    code,
                    params,
                })
            }
            other => Failure::Fatal(other),
        }
    }
}

/// Column positions of one file, checked against its kind.
struct Header {
    idx: Vec<Option<usize>>,
    names: &'static [(&'static str, bool)],
    width: usize,
}

impl Header {
    fn parse(kind: ImportKind, fields: &csv::StringRecord) -> Result<Header, RowError> {
        let names = kind.columns();
        if fields.len() == 1 {
            for (sep, name) in [(';', "';'"), ('\t', "a tab"), ('|', "'|'")] {
                if fields[0].contains(sep) {
                    return Err(RowError::line(
                        "import.header.delimiter",
                        format!(
                            "the header has a single column; the file seems to use {name} as delimiter, expected ','"
                        ),
                    )
                    .with("delimiter", name));
                }
            }
        }
        let mut idx = vec![None; names.len()];
        for (pos, f) in fields.iter().enumerate() {
            let name = f.trim().to_ascii_lowercase();
            match names.iter().position(|(n, _)| *n == name) {
                Some(i) if idx[i].is_some() => {
                    return Err(
                        RowError::line("import.column.repeated", format!("column {name:?} appears twice"))
                            .with("name", name),
                    );
                }
                Some(i) => idx[i] = Some(pos),
                None => {
                    let known: Vec<&str> = names.iter().map(|(n, _)| *n).collect();
                    return Err(RowError::line(
                        "import.column.unknown",
                        format!("unknown column {:?}; the columns are: {}", f.trim(), known.join(",")),
                    )
                    .with("name", f.trim())
                    .with("known", known.join(",")));
                }
            }
        }
        for (i, (n, required)) in names.iter().enumerate() {
            if *required && idx[i].is_none() {
                return Err(RowError::line("import.column.missing", format!("missing column {n:?}")).with("name", *n));
            }
        }
        Ok(Header {
            idx,
            names,
            width: fields.len(),
        })
    }

    /// The trimmed value of `column`, `None` when absent or empty.
    fn get<'r>(&self, rec: &'r csv::StringRecord, column: &str) -> Option<&'r str> {
        // Pointer equality first: callers pass the same static names the header was built from.
        let i = self.names.iter().position(|(n, _)| {
            n.len() == column.len() && (std::ptr::eq(n.as_ptr(), column.as_ptr()) || *n == column)
        })?;
        let v = rec.get(self.idx[i]?)?.trim();
        (!v.is_empty()).then_some(v)
    }

    /// The trimmed value of the column at position `i` of the kind's documented columns (the
    /// transaction path uses the `tx` constants: no search by name per field).
    fn at<'r>(&self, rec: &'r csv::StringRecord, i: usize) -> Option<&'r str> {
        let v = rec.get((*self.idx.get(i)?)?)?.trim();
        (!v.is_empty()).then_some(v)
    }

    fn req_at<'r>(&self, rec: &'r csv::StringRecord, i: usize) -> Result<&'r str, RowError> {
        self.at(rec, i).ok_or_else(|| {
            RowError::col(
                "import.value.required",
                self.names[i].0,
                "required, found an empty value",
            )
        })
    }

    fn req<'r>(&self, rec: &'r csv::StringRecord, column: &str) -> Result<&'r str, RowError> {
        self.get(rec, column)
            .ok_or_else(|| RowError::col("import.value.required", column, "required, found an empty value"))
    }

    fn column_at(&self, pos: usize) -> Option<&'static str> {
        self.idx.iter().position(|i| *i == Some(pos)).map(|i| self.names[i].0)
    }
}

/// One record's fields, or why the record cannot be read.
type RowResult = Result<csv::StringRecord, RowError>;

/// Reads records as UTF-8 strings, naming the column of any invalid byte.
struct Records<R: Read> {
    rdr: csv::Reader<R>,
    rec: csv::ByteRecord,
}

impl<R: Read> Records<R> {
    fn new(input: R) -> Self {
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(input);
        Records {
            rdr,
            rec: csv::ByteRecord::new(),
        }
    }

    /// Next record: its line and fields, or the line and the problem.
    fn next(&mut self, header: Option<&Header>) -> Result<Option<(u64, RowResult)>, (u64, String)> {
        match self.rdr.read_byte_record(&mut self.rec) {
            Ok(false) => return Ok(None),
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                return Err((line, format!("cannot read the file: {e}")));
            }
        }
        let line = self.rec.position().map(|p| p.line()).unwrap_or(0);
        if line == 1 && self.rec.get(0).is_some_and(|f| f.starts_with(b"\xEF\xBB\xBF")) {
            let fields: Vec<Vec<u8>> = self
                .rec
                .iter()
                .enumerate()
                .map(|(i, f)| if i == 0 { f[3..].to_vec() } else { f.to_vec() })
                .collect();
            self.rec = csv::ByteRecord::from(fields);
        }
        // Validated in place; the record's buffers are reused for the next row (`recycle`).
        let rec = match csv::StringRecord::from_byte_record(std::mem::take(&mut self.rec)) {
            Ok(r) => r,
            Err(e) => {
                let pos = e.utf8_error().field();
                let valid = e.utf8_error().valid_up_to();
                let bytes = e.into_byte_record();
                let bad = bytes.get(pos).and_then(|f| f.get(valid)).copied().unwrap_or(0);
                self.rec = bytes;
                let col = header
                    .and_then(|h| h.column_at(pos))
                    .map(str::to_string)
                    .unwrap_or(format!("{}", pos + 1));
                let reason = format!(
                    "invalid UTF-8 (byte 0x{bad:02X} at position {}); save the file as UTF-8",
                    valid + 1
                );
                return Ok(Some((
                    line,
                    Err(RowError::col("import.utf8.invalid", &col, reason)
                        .with("byte", format!("0x{bad:02X}"))
                        .with("position", valid + 1)),
                )));
            }
        };
        if let Some(h) = header
            && rec.len() != h.width
        {
            if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim().is_empty()) {
                return Ok(Some((line, Ok(csv::StringRecord::new()))));
            }
            let e = RowError::line(
                "import.row.field_count",
                format!("expected {} fields, found {}", h.width, rec.len()),
            )
            .with("expected", h.width)
            .with("found", rec.len());
            self.recycle(rec);
            return Ok(Some((line, Err(e))));
        }
        Ok(Some((line, Ok(rec))))
    }

    /// Give a record's buffers back for the next row.
    fn recycle(&mut self, rec: csv::StringRecord) {
        self.rec = rec.into_byte_record();
    }

    /// Read the next record into `buf`'s buffers (unless the last record's are still here).
    fn reuse(&mut self, buf: csv::ByteRecord) {
        if self.rec.is_empty() {
            self.rec = buf;
        }
    }
}

/// Rows a chunk carries from the reader thread.
const CHUNK: usize = 512;
/// Chunks between the reader thread and the writer at most (each way).
const CHUNKS_IN_FLIGHT: usize = 4;

/// One row read ahead: its line, its fields or why they cannot be read, and for a
/// transactions or customers row the values that need no store.
struct Row {
    line: u64,
    rec: RowResult,
    fields: Option<TxFields>,
    customer: Option<Box<CustomerFields>>,
}

/// What the reader thread hands over.
// Nearly every item is a `Row`: boxing it would allocate once per row for nothing.
#[allow(clippy::large_enum_variant)]
enum Item {
    Row(Row),
    /// The file cannot be read any further (line, reason): the last item.
    Fail(u64, String),
    /// The end of the file: the last item.
    End,
}

/// The values of a transactions row that are parsed without the store, each with the error
/// its column gives; the writer takes them in the order it always checked them.
struct TxFields {
    /// Parsed only when the row may begin a basket (its transaction_id differs from the row
    /// before); otherwise the writer parses it if it turns out to need it.
    occurred_at: Option<Result<jiff::Timestamp, RowError>>,
    currency: Result<Currency, RowError>,
    quantity: Result<i64, RowError>,
    unit_price: Result<i64, RowError>,
    discount: Result<i64, RowError>,
}

impl TxFields {
    fn parse(h: &Header, r: &csv::StringRecord, begins: bool, now: jiff::Timestamp) -> TxFields {
        let currency = h
            .req_at(r, tx::CURRENCY)
            .and_then(|c| Currency::parse(c).map_err(dom("currency")));
        let amount = |i: usize, field: &'static str| match &currency {
            Ok(c) => h
                .req_at(r, i)
                .and_then(|v| c.parse_amount(v, field).map_err(dom(field))),
            Err(e) => Err(e.clone()),
        };
        TxFields {
            occurred_at: begins.then(|| occurred_at(h, r, now)),
            quantity: h.req_at(r, tx::QUANTITY).and_then(|q| {
                q.parse().map_err(|_| {
                    RowError::col(
                        "import.quantity.invalid",
                        "quantity",
                        format!("must be a whole number, found {q:?}"),
                    )
                    .with("value", q)
                })
            }),
            unit_price: amount(tx::UNIT_PRICE, "unit_price"),
            discount: match h.at(r, tx::DISCOUNT) {
                None => Ok(0),
                Some(_) => amount(tx::DISCOUNT, "discount"),
            },
            currency,
        }
    }
}

/// A customers row parsed without the store (on the reader thread) by
/// `kesher_core::customer_input::parse`: the customer and the row's first problem with its
/// stage, so that the writer, resolving the references, reports the same first error as if it
/// had read the row at once.
struct CustomerFields {
    customer: Customer,
    parsed: Result<(), StagedError>,
}

impl CustomerFields {
    fn parse(h: &Header, r: &csv::StringRecord, country: Country, now: jiff::Timestamp) -> CustomerFields {
        let mut customer = Customer::bare(ids::customer(), None, now);
        let parsed = match h.get(r, "customer_id") {
            Some(member) => customer_input::parse(
                &mut customer,
                &customer_row(h, r, member),
                &InputContext {
                    country,
                    now,
                    source: InputSource::Import,
                },
            ),
            None => Err((
                Stage::BeforeParent,
                DomainError::new("import.value.required", "customer_id", "required, found an empty value"),
            )),
        };
        CustomerFields { customer, parsed }
    }
}

/// A customers row as the one customer input; a blank value is absent.
fn customer_row<'r>(h: &Header, r: &'r csv::StringRecord, member: &'r str) -> CustomerInput<'r> {
    let consents = [
        ("consent_email", "email"),
        ("consent_sms", "sms"),
        ("consent_phone", "phone"),
    ]
    .into_iter()
    .filter_map(|(column, channel)| h.get(r, column).map(|state| (channel, state)))
    .collect();
    CustomerInput {
        member_no: Some(member),
        kind: h.get(r, "kind"),
        parent: h.get(r, "parent_id"),
        name: h.get(r, "name"),
        phone: h.get(r, "phone"),
        email: h.get(r, "email"),
        card: h.get(r, "card"),
        language: h.get(r, "language"),
        birth_date: h.get(r, "birth_date"),
        gender: h.get(r, "gender"),
        city: h.get(r, "city"),
        region: h.get(r, "region"),
        household_size: h.get(r, "household_size"),
        income_band: h.get(r, "income_band"),
        created_at: h.get(r, "created_at"),
        branch: h.get(r, "branch_id"),
        employee: h.get(r, "employee_id"),
        consents,
        attributes: h.get(r, "attributes").map(AttributesInput::Text),
    }
}

fn occurred_at(h: &Header, r: &csv::StringRecord, now: jiff::Timestamp) -> Result<jiff::Timestamp, RowError> {
    parse_instant_within(h.req_at(r, tx::OCCURRED_AT)?, "occurred_at", now).map_err(dom("occurred_at"))
}

/// The reader thread: reads records in chunks and hands them over until the file ends, the
/// file cannot be read, or the writer stops listening (it failed or finished early).
fn read_ahead<R: Read>(
    mut records: Records<R>,
    h: &Header,
    kind: ImportKind,
    ctx: (Country, jiff::Timestamp),
    chunks: mpsc::SyncSender<Vec<Item>>,
    spares: mpsc::Receiver<Vec<csv::StringRecord>>,
) {
    let mut pool: Vec<csv::ByteRecord> = Vec::new();
    let mut last_id = String::new();
    loop {
        let mut chunk = Vec::with_capacity(CHUNK);
        let mut end = false;
        while chunk.len() < CHUNK {
            if pool.is_empty()
                && let Ok(more) = spares.try_recv()
            {
                pool.extend(more.into_iter().map(csv::StringRecord::into_byte_record));
            }
            if let Some(buf) = pool.pop() {
                records.reuse(buf);
            }
            match records.next(Some(h)) {
                Ok(Some((line, rec))) => {
                    let fields = match (&rec, kind) {
                        (Ok(r), ImportKind::Transactions) if !r.is_empty() => {
                            let id = h.at(r, tx::TRANSACTION_ID).unwrap_or_default();
                            let begins = id != last_id;
                            if begins {
                                last_id.clear();
                                last_id.push_str(id);
                            }
                            Some(TxFields::parse(h, r, begins, ctx.1))
                        }
                        _ => None,
                    };
                    let customer = match (&rec, kind) {
                        (Ok(r), ImportKind::Customers) if !r.is_empty() => {
                            Some(Box::new(CustomerFields::parse(h, r, ctx.0, ctx.1)))
                        }
                        _ => None,
                    };
                    chunk.push(Item::Row(Row {
                        line,
                        rec,
                        fields,
                        customer,
                    }));
                }
                Ok(None) => {
                    chunk.push(Item::End);
                    end = true;
                    break;
                }
                Err((line, reason)) => {
                    chunk.push(Item::Fail(line, reason));
                    end = true;
                    break;
                }
            }
        }
        if chunks.send(chunk).is_err() || end {
            return;
        }
    }
}

/// The writer's end of the pipeline: rows in file order, record buffers sent back for reuse.
struct Rows {
    chunks: mpsc::Receiver<Vec<Item>>,
    spares_tx: mpsc::SyncSender<Vec<csv::StringRecord>>,
    chunk: std::vec::IntoIter<Item>,
    spares: Vec<csv::StringRecord>,
}

impl Rows {
    fn next(&mut self) -> Item {
        loop {
            if let Some(item) = self.chunk.next() {
                return item;
            }
            if !self.spares.is_empty() {
                // A full channel only means the reader has buffers enough: drop these.
                let _ = self.spares_tx.try_send(std::mem::take(&mut self.spares));
            }
            // The reader's last item is `End` or `Fail`: a channel closed before either means
            // the reader stopped (it panicked), and nothing may be committed.
            match self.chunks.recv() {
                Ok(chunk) => self.chunk = chunk.into_iter(),
                Err(_) => return Item::Fail(0, "the file reader stopped before the end of the file".into()),
            }
        }
    }

    fn recycle(&mut self, rec: csv::StringRecord) {
        if self.spares.len() < CHUNK {
            self.spares.push(rec);
        }
    }
}

fn to_vec(r: &csv::StringRecord) -> Vec<String> {
    r.iter().map(str::to_string).collect()
}

/// One basket being gathered from consecutive rows that share a transaction_id.
struct Basket {
    ext: String,
    first_line: u64,
    /// The raw values of the `BASKET_KEY` columns, one after the other, and each one's length
    /// (`None` when empty).
    key: String,
    key_len: [Option<usize>; 6],
    tx: Option<Transaction>,
    /// Each row's line, and its fields when rejects are reported (`skip_invalid`).
    rows: Vec<(u64, Vec<String>)>,
    error: Option<(u64, RowError)>,
}

/// Positions of the transactions columns in `ImportKind::Transactions.columns()`.
mod tx {
    pub const TRANSACTION_ID: usize = 0;
    pub const CUSTOMER_ID: usize = 1;
    pub const BRANCH_ID: usize = 2;
    pub const EMPLOYEE_ID: usize = 3;
    pub const OCCURRED_AT: usize = 4;
    pub const SKU: usize = 5;
    pub const QUANTITY: usize = 6;
    pub const UNIT_PRICE: usize = 7;
    pub const DISCOUNT: usize = 8;
    pub const CURRENCY: usize = 9;
    pub const REFUND_OF: usize = 10;
}

/// The columns every row of a basket must agree on.
const BASKET_KEY: [usize; 6] = [
    tx::CUSTOMER_ID,
    tx::BRANCH_ID,
    tx::EMPLOYEE_ID,
    tx::OCCURRED_AT,
    tx::CURRENCY,
    tx::REFUND_OF,
];

impl Basket {
    /// The first `BASKET_KEY` column in which this row differs from the basket's first row.
    fn differs(&self, h: &Header, fields: &csv::StringRecord) -> Option<usize> {
        let mut at = 0;
        for (i, (&c, len)) in BASKET_KEY.iter().zip(&self.key_len).enumerate() {
            let mine = len.map(|n| {
                let v = self.key.get(at..at + n).unwrap_or_default();
                at += n;
                v
            });
            if h.at(fields, c) != mine {
                return Some(i);
            }
        }
        None
    }
}

struct Importer<'a> {
    app: &'a App,
    file: String,
    opts: ImportOptions,
    tx: Box<dyn ImportTx + 'a>,
    summary: ImportSummary,
    on_reject: &'a mut dyn FnMut(Rejected),
    now: jiff::Timestamp,
    /// Valid baskets not yet written (at most `BATCH`).
    pending: Vec<(Basket, Transaction)>,
    /// Valid customers rows not yet written (at most `BATCH`): line, fields (kept only when
    /// rejects are reported), customer.
    pending_customers: Vec<(u64, Vec<String>, Customer)>,
    /// With `award_points`: the transactions this unit wrote.
    written: Vec<kesher_core::TransactionId>,
    /// The currency of each product's price met so far, by sku.
    product_currencies: std::collections::HashMap<String, Currency>,
}

/// Baskets (or customers) written to the store at a time.
const BATCH: usize = 256;

impl App {
    /// Import one CSV file of `kind` read from `input`; `file` names it in messages.
    pub fn import_csv(
        &self,
        kind: ImportKind,
        input: impl Read + Send,
        file: &str,
        opts: ImportOptions,
        on_reject: &mut dyn FnMut(Rejected),
    ) -> Result<ImportSummary, ImportError> {
        let store_err = |source| ImportError::Store {
            file: file.to_string(),
            source,
        };
        let tx = self.store.begin_import().map_err(store_err)?;
        let mut imp = Importer {
            app: self,
            file: file.to_string(),
            opts,
            tx,
            summary: ImportSummary::default(),
            on_reject,
            now: self.now(),
            pending: Vec::new(),
            pending_customers: Vec::new(),
            written: Vec::new(),
            product_currencies: std::collections::HashMap::new(),
        };
        let mut records = Records::new(input);
        let header_fields = match records.next(None) {
            Ok(Some((_, Ok(f)))) => f,
            Ok(Some((line, Err(e)))) => return Err(imp.row_error(line, e)),
            Ok(None) => {
                return Err(ImportError::File {
                    file: file.into(),
                    reason: "the file is empty (expected a header row)".into(),
                    code: "import.file.empty",
                });
            }
            Err((line, reason)) => {
                return Err(ImportError::Row {
                    file: file.into(),
                    line,
                    column: None,
                    reason,
                    code: "import.csv.malformed",
                    params: Params::new(),
                });
            }
        };
        if header_fields.iter().all(|f| f.trim().is_empty()) {
            return Err(ImportError::File {
                file: file.into(),
                reason: "the file is empty (expected a header row)".into(),
                code: "import.file.empty",
            });
        }
        let header = Header::parse(kind, &header_fields).map_err(|e| imp.row_error(1, e))?;
        // The file is read, split and checked as UTF-8 (and a transactions row's values parsed)
        // on a second thread while this one resolves references and writes: a pipeline over
        // two cores. Chunks in flight are bounded, so memory does not grow with the file.
        let (chunks_tx, chunks_rx) = mpsc::sync_channel(CHUNKS_IN_FLIGHT);
        let (spares_tx, spares_rx) = mpsc::sync_channel(CHUNKS_IN_FLIGHT);
        let h = &header;
        let ctx = (self.settings.default_country, imp.now);
        std::thread::scope(|s| {
            std::thread::Builder::new()
                .name("import-reader".into())
                .spawn_scoped(s, move || read_ahead(records, h, kind, ctx, chunks_tx, spares_rx))
                .map_err(|e| ImportError::File {
                    file: file.into(),
                    reason: format!("cannot start the reader thread: {e}"),
                    code: "internal",
                })?;
            let mut rows = Rows {
                chunks: chunks_rx,
                spares_tx,
                chunk: Vec::new().into_iter(),
                spares: Vec::new(),
            };
            imp.rows(kind, h, &mut rows)
        })?;
        imp.drain()?;
        if imp.opts.award_points && !imp.written.is_empty() {
            let actor = kesher_store::Actor::new("import", imp.now).from(file);
            crate::points::award(imp.tx.as_mut(), kesher_store::SaleScope::Only(&imp.written), &actor)
                .map_err(store_err)?;
        }
        let summary = imp.summary.clone();
        imp.tx.commit().map_err(store_err)?;
        Ok(summary)
    }
}

impl Importer<'_> {
    /// Every row after the header, in file order, as the reader thread hands them over.
    fn rows(&mut self, kind: ImportKind, header: &Header, rows: &mut Rows) -> Result<(), ImportError> {
        let file = self.file.clone();
        let mut basket: Option<Basket> = None;
        loop {
            let Row {
                line,
                rec,
                fields,
                customer,
            } = match rows.next() {
                Item::Row(r) => r,
                Item::End => break,
                Item::Fail(line, reason) => {
                    self.drain()?;
                    return Err(ImportError::Row {
                        file,
                        line,
                        column: None,
                        reason,
                        code: "import.csv.malformed",
                        params: Params::new(),
                    });
                }
            };
            if matches!(&rec, Ok(f) if f.is_empty()) {
                continue; // a blank line
            }
            self.summary.rows_read += 1;
            if kind == ImportKind::Transactions {
                self.transaction_row(header, line, rec.as_ref(), fields, &mut basket)?;
                if let Ok(r) = rec {
                    rows.recycle(r);
                }
                continue;
            }
            if kind == ImportKind::Customers {
                self.customer_row(header, line, rec.as_ref(), customer)?;
                if let Ok(r) = rec {
                    rows.recycle(r);
                }
                continue;
            }
            let outcome = match &rec {
                Ok(fields) => self.row(kind, header, fields),
                Err(e) => Err(Failure::Row(e.clone())),
            };
            match outcome {
                Ok(Inserted::New) => self.summary.inserted += 1,
                Ok(Inserted::AlreadyPresent) => self.summary.already_present += 1,
                Ok(Inserted::Repeated) => {
                    let id_col = kind.columns()[0].0;
                    let e = RowError::col(
                        "import.id.duplicate",
                        id_col,
                        "duplicate id: it appears more than once in this file",
                    );
                    self.reject(line, e, rec.as_ref().map(to_vec).unwrap_or_default())?;
                }
                Err(Failure::Row(e)) => self.reject(line, e, rec.as_ref().map(to_vec).unwrap_or_default())?,
                Err(Failure::Fatal(e)) => {
                    return Err(ImportError::Store { file, source: e });
                }
            }
            if let Ok(r) = rec {
                rows.recycle(r);
            }
        }
        if let Some(b) = basket.take() {
            self.flush(b)?;
        }
        Ok(())
    }

    fn row_error(&self, line: u64, e: RowError) -> ImportError {
        ImportError::Row {
            file: self.file.clone(),
            line,
            column: e.column,
            reason: e.reason,
            code: e.code,
            params: e.params,
        }
    }

    /// Reject a row: an error for the whole file, or a report and go on with `skip_invalid`.
    /// Baskets still pending come first (file order).
    fn reject(&mut self, line: u64, e: RowError, record: Vec<String>) -> Result<(), ImportError> {
        self.drain()?;
        self.reject_now(line, e, record)
    }

    fn reject_now(&mut self, line: u64, e: RowError, record: Vec<String>) -> Result<(), ImportError> {
        if !self.opts.skip_invalid {
            return Err(self.row_error(line, e));
        }
        self.summary.rejected += 1;
        (self.on_reject)(Rejected {
            line,
            column: e.column,
            reason: e.reason,
            code: e.code,
            params: e.params,
            record,
        });
        Ok(())
    }

    fn row(&mut self, kind: ImportKind, h: &Header, r: &csv::StringRecord) -> Result<Inserted, Failure> {
        match kind {
            ImportKind::Branches => {
                let tz = h.get(r, "time_zone").unwrap_or("UTC");
                jiff::tz::TimeZone::get(tz).map_err(|_| {
                    RowError::col(
                        "branch.time_zone.unknown",
                        "time_zone",
                        format!("unknown time zone {tz:?}: expected an IANA name such as Asia/Jerusalem"),
                    )
                    .with("value", tz)
                })?;
                let b = Branch {
                    id: ids::branch(),
                    external_id: parse_external_id(h.req(r, "branch_id")?, "branch_id").map_err(dom("branch_id"))?,
                    name: h.req(r, "name")?.to_string(),
                    region: h.get(r, "region").map(str::to_string),
                    time_zone: tz.to_string(),
                };
                Ok(self.tx.insert_branch(&b)?)
            }
            ImportKind::Employees => {
                let branch_id = h.get(r, "branch_id").map(|b| self.branch(b)).transpose()?;
                let e = Employee {
                    id: ids::employee(),
                    external_id: parse_external_id(h.req(r, "employee_id")?, "employee_id")
                        .map_err(dom("employee_id"))?,
                    name: h.req(r, "name")?.to_string(),
                    branch_id,
                };
                Ok(self.tx.insert_employee(&e)?)
            }
            ImportKind::Products => {
                let currency = Currency::parse(h.req(r, "currency")?).map_err(dom("currency"))?;
                let list_price = currency
                    .parse_amount(h.req(r, "list_price")?, "list_price")
                    .map_err(dom("list_price"))?;
                if list_price < 0 {
                    return Err(
                        RowError::col("product.list_price.negative", "list_price", "must not be negative").into(),
                    );
                }
                let unit_cost = h
                    .get(r, "unit_cost")
                    .map(|c| currency.parse_amount(c, "unit_cost").map_err(dom("unit_cost")))
                    .transpose()?;
                if unit_cost.is_some_and(|c| c < 0) {
                    return Err(
                        RowError::col("product.unit_cost.negative", "unit_cost", "must not be negative").into(),
                    );
                }
                let p = Product {
                    id: ids::product(),
                    sku: parse_external_id(h.req(r, "sku")?, "sku").map_err(dom("sku"))?,
                    name: h.req(r, "name")?.to_string(),
                    category: h.get(r, "category").map(str::to_string),
                    list_price: Money::new(list_price, currency),
                    unit_cost,
                };
                p.validate().map_err(|e| RowError::domain(e.field, e))?;
                Ok(self.tx.insert_product(&p)?)
            }
            ImportKind::Customers => Err(RowError::line("internal", "customers are written in batches").into()),
            ImportKind::Interactions => {
                let customer_id = self.customer_ref(h.req(r, "customer_id")?)?;
                let kind = InteractionKind::parse(h.req(r, "kind")?).map_err(dom("kind"))?;
                let status = h
                    .get(r, "status")
                    .map(|s| InteractionStatus::parse(s).map_err(dom("status")))
                    .transpose()?;
                if status.is_some() && kind != InteractionKind::Complaint {
                    return Err(RowError::col(
                        "interaction.status.not_a_complaint",
                        "status",
                        "only a complaint has a status",
                    )
                    .into());
                }
                let i = Interaction {
                    id: ids::interaction(),
                    external_id: Some(
                        parse_external_id(h.req(r, "interaction_id")?, "interaction_id")
                            .map_err(dom("interaction_id"))?,
                    ),
                    customer_id,
                    channel: Channel::parse(h.req(r, "channel")?).map_err(dom("channel"))?,
                    kind,
                    occurred_at: parse_instant_within(h.req(r, "occurred_at")?, "occurred_at", self.now)
                        .map_err(dom("occurred_at"))?,
                    text: h.get(r, "text").map(str::to_string),
                    employee_id: h.get(r, "employee_id").map(|e| self.employee(e, None)).transpose()?,
                    satisfaction: h
                        .get(r, "satisfaction")
                        .map(parse_satisfaction)
                        .transpose()
                        .map_err(dom("satisfaction"))?,
                    status: status.or((kind == InteractionKind::Complaint).then_some(InteractionStatus::Open)),
                };
                Ok(self.tx.insert_interaction(&i)?)
            }
            ImportKind::Transactions => {
                Err(RowError::line("internal", "transactions are read basket by basket").into())
            }
        }
    }

    /// One customers row: parsed now, written with the rows around it (`drain`), its outcome
    /// accounted for in file order.
    fn customer_row(
        &mut self,
        h: &Header,
        line: u64,
        rec: Result<&csv::StringRecord, &RowError>,
        parsed: Option<Box<CustomerFields>>,
    ) -> Result<(), ImportError> {
        let fields = match rec {
            Ok(f) => f,
            Err(e) => return self.reject(line, e.clone(), Vec::new()),
        };
        let parsed = match parsed {
            Some(p) => *p,
            None => CustomerFields::parse(h, fields, self.app.settings.default_country, self.now),
        };
        // A parent among the rows not yet written is looked up once they are.
        if let Some(p) = h.get(fields, "parent_id")
            && self
                .pending_customers
                .iter()
                .any(|(_, _, c)| c.member_no.as_deref() == Some(p))
        {
            self.drain()?;
        }
        match self.customer(h, fields, parsed) {
            Ok(c) => {
                let keep = if self.opts.skip_invalid {
                    to_vec(fields)
                } else {
                    Vec::new()
                };
                self.pending_customers.push((line, keep, c));
                if self.pending_customers.len() >= BATCH {
                    self.drain()?;
                }
                Ok(())
            }
            Err(Failure::Row(e)) => self.reject(line, e, to_vec(fields)),
            Err(Failure::Fatal(e)) => {
                // Rows before this one are accounted for first, as when each was written at once.
                self.drain()?;
                Err(ImportError::Store {
                    file: self.file.clone(),
                    source: e,
                })
            }
        }
    }

    /// The customer of a row from what the reader thread parsed (`CustomerFields`) and the
    /// references only the store resolves, checked in the order the columns are documented.
    fn customer(&mut self, h: &Header, r: &csv::StringRecord, parsed: CustomerFields) -> Result<Customer, Failure> {
        let CustomerFields { mut customer, parsed } = parsed;
        let refs = ReferencesInput {
            parent: h.get(r, "parent_id"),
            branch: h.get(r, "branch_id"),
            employee: h.get(r, "employee_id"),
        };
        customer_input::resolve(&mut customer, parsed, refs, &mut RowReferences(self))?;
        Ok(customer)
    }

    fn branch(&mut self, ext: &str) -> Result<BranchId, Failure> {
        if let Some(id) = self.tx.branch_ref(ext)? {
            return Ok(id);
        }
        if !self.opts.create_missing {
            return Err(RowError::col(
                "import.branch.unknown",
                "branch_id",
                format!("unknown branch {ext:?} (import branches first, or use --create-missing)"),
            )
            .with("value", ext)
            .into());
        }
        let b = Branch {
            id: ids::branch(),
            external_id: ext.to_string(),
            name: ext.to_string(),
            region: None,
            time_zone: "UTC".into(),
        };
        self.tx.insert_branch(&b)?;
        self.summary.created_branches += 1;
        Ok(b.id)
    }

    fn employee(&mut self, ext: &str, branch: Option<BranchId>) -> Result<EmployeeId, Failure> {
        if let Some(id) = self.tx.employee_ref(ext)? {
            return Ok(id);
        }
        if !self.opts.create_missing {
            return Err(RowError::col(
                "import.employee.unknown",
                "employee_id",
                format!("unknown employee {ext:?} (import employees first, or use --create-missing)"),
            )
            .with("value", ext)
            .into());
        }
        let e = Employee {
            id: ids::employee(),
            external_id: ext.to_string(),
            name: ext.to_string(),
            branch_id: branch,
        };
        self.tx.insert_employee(&e)?;
        self.summary.created_employees += 1;
        Ok(e.id)
    }

    fn customer_ref(&mut self, member: &str) -> Result<CustomerId, Failure> {
        if let Some(id) = self.tx.customer_ref(member)? {
            return Ok(id);
        }
        if !self.opts.create_missing {
            return Err(RowError::col(
                "import.customer.unknown",
                "customer_id",
                format!("unknown customer {member:?} (import customers first, or use --create-missing)"),
            )
            .with("value", member)
            .into());
        }
        let member = parse_external_id(member, "customer_id").map_err(dom("customer_id"))?;
        let c = Customer::bare(ids::customer(), Some(member), self.now);
        self.tx.insert_customer(&c)?;
        self.summary.created_customers += 1;
        Ok(c.id)
    }

    /// Add one transactions row to the current basket, flushing the previous basket when the
    /// transaction_id changes.
    fn transaction_row(
        &mut self,
        h: &Header,
        line: u64,
        rec: Result<&csv::StringRecord, &RowError>,
        fields: Option<TxFields>,
        current: &mut Option<Basket>,
    ) -> Result<(), ImportError> {
        let (rec, values) = match (rec, fields) {
            (Ok(r), Some(v)) => (Ok(r), v),
            (Ok(r), None) => (Ok(r), TxFields::parse(h, r, true, self.now)),
            (Err(e), _) => (Err(e), TxFields::parse(h, &csv::StringRecord::new(), false, self.now)),
        };
        let fields = match rec {
            Ok(f) => f,
            Err(e) => {
                // An unreadable row cannot be placed in a basket: reject it on its own.
                if let Some(b) = current.take() {
                    self.flush(b)?;
                }
                return self.reject(line, e.clone(), Vec::new());
            }
        };
        // Rows are kept for the rejects report only when there is one.
        let skip = self.opts.skip_invalid;
        let keep = |f: &csv::StringRecord| if skip { to_vec(f) } else { Vec::new() };
        // A row that continues the current basket carries its (already checked) id: no copy.
        let same = h
            .at(fields, tx::TRANSACTION_ID)
            .is_some_and(|v| current.as_ref().is_some_and(|b| b.ext == v));
        let ext = if same {
            None
        } else {
            match h
                .req_at(fields, tx::TRANSACTION_ID)
                .and_then(|v| parse_external_id(v, "transaction_id").map_err(dom("transaction_id")))
            {
                Ok(e) => Some(e),
                Err(e) => {
                    if let Some(b) = current.take() {
                        self.flush(b)?;
                    }
                    return self.reject(line, e, to_vec(fields));
                }
            }
        };
        if let Some(ext) = &ext
            && current.as_ref().is_some_and(|b| b.ext != *ext)
            && let Some(b) = current.take()
        {
            self.flush(b)?;
        }
        match current {
            Some(b) => {
                if b.error.is_none() {
                    if let Some(i) = b.differs(h, fields) {
                        let e = RowError::col(
                            "import.transaction.differs",
                            h.names[BASKET_KEY[i]].0,
                            format!("differs from line {} of the same transaction {:?}", b.first_line, b.ext),
                        )
                        .with("first_line", b.first_line)
                        .with("transaction", b.ext.as_str());
                        b.error = Some((line, e));
                    } else {
                        match self.parse_line(h, fields, values) {
                            Ok(l) => {
                                if let Some(t) = b.tx.as_mut() {
                                    t.lines.push(l);
                                }
                            }
                            Err(Failure::Row(e)) => b.error = Some((line, e)),
                            Err(Failure::Fatal(e)) => {
                                return Err(ImportError::Store {
                                    file: self.file.clone(),
                                    source: e,
                                });
                            }
                        }
                    }
                }
                b.rows.push((line, keep(fields)));
            }
            None => {
                // `ext` is only absent for a row of the current basket, which is not this arm.
                let ext = ext.unwrap_or_default();
                // Sized for the usual key and basket: no regrowth per row.
                let mut key = String::with_capacity(64);
                let mut key_len = [None; 6];
                for (len, &c) in key_len.iter_mut().zip(&BASKET_KEY) {
                    if let Some(v) = h.at(fields, c) {
                        key.push_str(v);
                        *len = Some(v.len());
                    }
                }
                if h.at(fields, tx::REFUND_OF).is_some() {
                    // The original sale may be among the baskets not yet written.
                    self.drain()?;
                }
                let mut b = Basket {
                    ext: ext.clone(),
                    first_line: line,
                    key,
                    key_len,
                    tx: None,
                    rows: Vec::with_capacity(8),
                    error: None,
                };
                let occurred_at = values
                    .occurred_at
                    .clone()
                    .unwrap_or_else(|| occurred_at(h, fields, self.now));
                match self
                    .parse_head(h, fields, ext, occurred_at, values.currency.clone())
                    .and_then(|mut t| {
                        t.lines.push(self.parse_line(h, fields, values)?);
                        Ok(t)
                    }) {
                    Ok(t) => b.tx = Some(t),
                    Err(Failure::Row(e)) => b.error = Some((line, e)),
                    Err(Failure::Fatal(e)) => {
                        return Err(ImportError::Store {
                            file: self.file.clone(),
                            source: e,
                        });
                    }
                }
                b.rows.push((line, keep(fields)));
                *current = Some(b);
            }
        }
        Ok(())
    }

    fn parse_head(
        &mut self,
        h: &Header,
        r: &csv::StringRecord,
        ext: String,
        occurred_at: Result<jiff::Timestamp, RowError>,
        currency: Result<Currency, RowError>,
    ) -> Result<Transaction, Failure> {
        let occurred_at = occurred_at?;
        let currency = currency?;
        let branch_id = self.branch(h.req_at(r, tx::BRANCH_ID)?)?;
        let employee_id = h
            .at(r, tx::EMPLOYEE_ID)
            .map(|e| self.employee(e, Some(branch_id)))
            .transpose()?;
        let customer_id = h.at(r, tx::CUSTOMER_ID).map(|c| self.customer_ref(c)).transpose()?;
        let refund_of = match h.at(r, tx::REFUND_OF) {
            Some(orig) => Some(self.tx.transaction_ref(orig)?.ok_or_else(|| {
                RowError::col(
                    "import.refund_of.unknown",
                    "refund_of",
                    format!("unknown transaction {orig:?}"),
                )
                .with("value", orig)
            })?),
            None => None,
        };
        Ok(Transaction {
            id: ids::transaction(),
            external_id: ext,
            customer_id,
            branch_id,
            employee_id,
            occurred_at,
            currency,
            lines: Vec::with_capacity(8),
            refund_of,
        })
    }

    /// One line from its row; `v` holds the row's values parsed beforehand (`TxFields`).
    fn parse_line(&mut self, h: &Header, r: &csv::StringRecord, v: TxFields) -> Result<Line, Failure> {
        let currency = v.currency?;
        let quantity = v.quantity?;
        let unit_price = v.unit_price?;
        let discount = v.discount?;
        let (product_id, sku) = match h.at(r, tx::SKU) {
            Some(sku) => {
                let p = self.tx.product_ref(sku)?.ok_or_else(|| {
                    RowError::col("import.product.unknown", "sku", format!("unknown product {sku:?}"))
                        .with("value", sku)
                })?;
                self.check_product_currency(sku, currency)?;
                (Some(p), Some(sku.to_string()))
            }
            None => (None, None),
        };
        let line = Line {
            product_id,
            sku,
            quantity,
            unit_price,
            discount,
        };
        line.validate(h.at(r, tx::REFUND_OF).is_some())
            .map_err(|e| RowError::domain(e.field, e))?;
        Ok(line)
    }

    /// A line of a product priced in another currency than the sale's is refused (the
    /// products' currencies are read once per sku).
    fn check_product_currency(&mut self, sku: &str, currency: Currency) -> Result<(), Failure> {
        let priced_in = match self.product_currencies.get(sku) {
            Some(c) => *c,
            None => {
                let Some(c) = self.tx.product_currency(sku)? else {
                    return Ok(());
                };
                if self.product_currencies.len() >= 65_536 {
                    self.product_currencies.clear();
                }
                self.product_currencies.insert(sku.to_string(), c);
                c
            }
        };
        kesher_core::check_line_currency(sku, priced_in, currency, "sku").map_err(|e| RowError::domain("sku", e).into())
    }

    fn flush(&mut self, mut b: Basket) -> Result<(), ImportError> {
        if b.error.is_none()
            && let Some(t) = b.tx.take()
        {
            // Valid baskets go to the store in batches; what the store says about each one is
            // handled in file order by `drain`, before anything else is reported.
            self.pending.push((b, t));
            if self.pending.len() >= BATCH {
                self.drain()?;
            }
            return Ok(());
        }
        self.drain()?;
        let Some((bad_line, e)) = b.error else { return Ok(()) };
        if !self.opts.skip_invalid {
            return Err(self.row_error(bad_line, e));
        }
        for (line, rec) in b.rows {
            let e = if line == bad_line {
                e.clone()
            } else {
                RowError::line(
                    "import.transaction.rejected_with",
                    format!("rejected with line {bad_line} of the same transaction {:?}", b.ext),
                )
                .with("bad_line", bad_line)
                .with("transaction", b.ext.as_str())
            };
            self.reject(line, e, rec)?;
        }
        Ok(())
    }

    /// Write the pending customers and baskets and account for each, in file order.
    fn drain(&mut self) -> Result<(), ImportError> {
        self.drain_customers()?;
        if self.pending.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending);
        let txs: Vec<&Transaction> = pending.iter().map(|(_, t)| t).collect();
        let results = self.tx.insert_transactions(&txs);
        drop(txs);
        for ((b, t), r) in pending.into_iter().zip(results) {
            let n = b.rows.len() as u64;
            match r {
                Ok(Inserted::New) => {
                    self.summary.inserted += n;
                    if self.opts.award_points {
                        self.written.push(t.id);
                    }
                }
                Ok(Inserted::AlreadyPresent) => self.summary.already_present += n,
                Ok(Inserted::Repeated) => {
                    let e = RowError::col(
                        "import.transaction.repeated",
                        "transaction_id",
                        format!(
                            "duplicate transaction {:?}: its rows must be consecutive and it appears again here",
                            b.ext
                        ),
                    )
                    .with("transaction", b.ext.as_str());
                    if !self.opts.skip_invalid {
                        return Err(self.row_error(b.first_line, e));
                    }
                    for (line, rec) in b.rows {
                        self.reject_now(line, e.clone(), rec)?;
                    }
                }
                Err(err) => match Failure::from(err) {
                    Failure::Row(e) => {
                        for (line, rec) in b.rows {
                            self.reject_now(line, e.clone(), rec)?;
                        }
                    }
                    Failure::Fatal(e) => {
                        return Err(ImportError::Store {
                            file: self.file.clone(),
                            source: e,
                        });
                    }
                },
            }
        }
        Ok(())
    }
}

impl Importer<'_> {
    /// Write the pending customers and account for each, in file order.
    fn drain_customers(&mut self) -> Result<(), ImportError> {
        if self.pending_customers.is_empty() {
            return Ok(());
        }
        let pending = std::mem::take(&mut self.pending_customers);
        let cs: Vec<&Customer> = pending.iter().map(|(_, _, c)| c).collect();
        let results = self.tx.insert_customers(&cs);
        drop(cs);
        for ((line, rec, _), r) in pending.into_iter().zip(results) {
            match r {
                Ok(Inserted::New) => self.summary.inserted += 1,
                Ok(Inserted::AlreadyPresent) => self.summary.already_present += 1,
                Ok(Inserted::Repeated) => {
                    let e = RowError::col(
                        "import.id.duplicate",
                        "customer_id",
                        "duplicate id: it appears more than once in this file",
                    );
                    self.reject_now(line, e, rec)?;
                }
                Err(err) => match Failure::from(err) {
                    Failure::Row(e) => self.reject_now(line, e, rec)?,
                    Failure::Fatal(e) => {
                        return Err(ImportError::Store {
                            file: self.file.clone(),
                            source: e,
                        });
                    }
                },
            }
        }
        Ok(())
    }
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "rows read: {}, inserted: {}, already present: {}, rejected: {}",
            self.rows_read, self.inserted, self.already_present, self.rejected
        )?;
        let created = [
            (self.created_customers, "customers"),
            (self.created_branches, "branches"),
            (self.created_employees, "employees"),
        ];
        let parts: Vec<String> = created
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, w)| format!("{n} {w}"))
            .collect();
        if !parts.is_empty() {
            write!(f, ", created: {}", parts.join(", "))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod tests;

impl App {
    /// Write an import run to the audit log: who, from where, which file, what it did.
    pub fn audit_import(
        &self,
        actor: &kesher_store::Actor,
        kind: ImportKind,
        file: &str,
        s: &ImportSummary,
    ) -> kesher_store::Result<()> {
        let after = serde_json::json!({
            "rows_read": s.rows_read, "inserted": s.inserted, "already_present": s.already_present,
            "rejected": s.rejected, "created_customers": s.created_customers,
            "created_branches": s.created_branches, "created_employees": s.created_employees,
        });
        self.store.append_audit(
            actor,
            &format!("import.{}", kind.as_str()),
            "import",
            file,
            Some(&after),
        )
    }
}
