//! Segment expressions: the small language in which a marketer writes who belongs to a
//! segment, e.g.
//!
//! ```text
//! stage in ("core", "at_risk") and clv >= 500 and consent.sms
//! categories has "coffee" and not categories has "tea" and nbo.category = "tea"
//! days_since_last_purchase between 60 and 180 and attributes.pet = "dog"
//! ```
//!
//! Pure: parsing, type checking against the field table ([`fields::FIELDS`]) and evaluation on
//! a [`Record`] the application fills. A missing value (no score yet, no birth date) makes a
//! comparison *unknown*, not false, and unknown stays unknown through `not` (SQL's three-valued
//! logic): `not clv > 100` does not select customers whose CLV is unknown. A customer belongs
//! to the segment when the whole expression is true.

pub mod ast;
mod eval;
pub mod fields;
mod parser;
#[cfg(test)]
mod tests;

pub use ast::{CmpOp, Expr, HasMode, Literal};
pub use eval::{Tri, Value};
pub use fields::{FIELDS, FieldDef, FieldId, Source, Type};

/// Longest expression accepted, in characters.
pub const MAX_LEN: usize = 10_000;
/// Deepest nesting of parentheses and `not`s accepted.
pub const MAX_DEPTH: usize = 64;

/// Why an expression was refused: the 1-based column (in characters), what is wrong, and a
/// stable code with its named arguments for a translated interface.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct Error {
    pub column: usize,
    pub message: String,
    /// Stable, dotted: `segment.syntax.unexpected_token` (kesher_core::codes::CATALOGUE).
    pub code: &'static str,
    /// The values the message names; `params()` adds the column.
    pub params: serde_json::Map<String, serde_json::Value>,
}

impl Error {
    pub(crate) fn at(code: &'static str, column: usize, message: impl Into<String>) -> Error {
        Error {
            column,
            message: message.into(),
            code,
            params: serde_json::Map::new(),
        }
    }

    pub(crate) fn with(mut self, name: &str, value: impl Into<serde_json::Value>) -> Error {
        self.params.insert(name.to_string(), value.into());
        self
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The named arguments, `column` among them.
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut p = self.params.clone();
        p.insert("column".into(), self.column.into());
        p
    }
}

/// The values of one customer's fields. `value` is asked only for fields the expression names.
pub trait Record {
    fn value(&self, field: &FieldId) -> Value<'_>;
}

/// A parsed and checked expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    expr: Expr,
    fields: Vec<FieldId>,
}

impl Segment {
    /// Parse and type-check `src`.
    pub fn parse(src: &str) -> Result<Segment, Error> {
        let expr = parser::parse(src)?;
        Ok(Segment::from_expr(expr))
    }

    pub fn from_expr(expr: Expr) -> Segment {
        let fields = expr.fields();
        Segment { expr, fields }
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }

    /// The fields the expression names, each once.
    pub fn fields(&self) -> &[FieldId] {
        &self.fields
    }

    /// Whether the expression needs data from `source` (the application skips passes it does
    /// not need).
    pub fn needs(&self, source: Source) -> bool {
        self.fields.iter().any(|f| f.source() == source)
    }

    /// Three-valued result for one record.
    pub fn eval(&self, record: &dyn Record) -> Tri {
        eval::eval(&self.expr, record)
    }

    /// Whether the record belongs to the segment (the expression is true, not unknown).
    pub fn matches(&self, record: &dyn Record) -> bool {
        self.eval(record) == Tri::True
    }
}

impl std::fmt::Display for Segment {
    /// The canonical text: fully parenthesised, keywords lower-case; parses back to the same
    /// segment.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.expr)
    }
}
