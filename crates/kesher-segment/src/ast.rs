//! The checked syntax tree of a segment expression, and its canonical text (`Display`): every
//! tree prints to text that parses back to the same tree.

use crate::fields::FieldId;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `true` (everyone) or `false` (no one).
    Const(bool),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    /// `field op value`.
    Cmp {
        field: FieldId,
        op: CmpOp,
        value: Literal,
    },
    /// `field [not] in (v1, v2, ...)`.
    In {
        field: FieldId,
        negated: bool,
        values: Vec<Literal>,
    },
    /// `field between low and high` (both ends included).
    Between {
        field: FieldId,
        low: Literal,
        high: Literal,
    },
    /// `field has "x"`, `field has any ("x", "y")`, `field has all ("x", "y")`.
    Has {
        field: FieldId,
        mode: HasMode,
        values: Vec<String>,
    },
    /// `field is set`, `field is not set`.
    IsSet {
        field: FieldId,
        negated: bool,
    },
    /// A true-or-false field on its own: `consent.email`.
    Truthy(FieldId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `~`: contains, case-insensitive.
    Contains,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Contains => "~",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HasMode {
    One,
    Any,
    All,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Number(f64),
    Text(String),
    Bool(bool),
    Date(jiff::civil::Date),
}

impl Expr {
    /// Every field the expression names, each once, in order of first appearance.
    pub fn fields(&self) -> Vec<FieldId> {
        let mut out = Vec::new();
        self.walk(&mut |f| {
            if !out.contains(f) {
                out.push(f.clone());
            }
        });
        out
    }

    fn walk(&self, f: &mut dyn FnMut(&FieldId)) {
        match self {
            Expr::Const(_) => {}
            Expr::And(a, b) | Expr::Or(a, b) => {
                a.walk(f);
                b.walk(f);
            }
            Expr::Not(e) => e.walk(f),
            Expr::Cmp { field, .. }
            | Expr::In { field, .. }
            | Expr::Between { field, .. }
            | Expr::Has { field, .. }
            | Expr::IsSet { field, .. }
            | Expr::Truthy(field) => f(field),
        }
    }
}

fn write_text(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// A field name as it must be written: plain when it lexes as one name, else in backquotes.
pub(crate) fn write_field(f: &mut fmt::Formatter<'_>, field: &FieldId) -> fmt::Result {
    let name = field.name();
    let plain = name.chars().next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '.')
        && !name.ends_with('.')
        && !crate::parser::is_keyword(&name);
    if plain {
        f.write_str(&name)
    } else {
        f.write_str("`")?;
        f.write_str(&name.replace('`', "``"))?;
        f.write_str("`")
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Number(n) => write!(f, "{n}"),
            Literal::Text(s) => write_text(f, s),
            Literal::Bool(b) => write!(f, "{b}"),
            Literal::Date(d) => write!(f, "{d}"),
        }
    }
}

fn write_list<T>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    one: impl Fn(&mut fmt::Formatter<'_>, &T) -> fmt::Result,
) -> fmt::Result {
    f.write_str("(")?;
    for (i, x) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        one(f, x)?;
    }
    f.write_str(")")
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Const(b) => write!(f, "{b}"),
            Expr::And(a, b) => write!(f, "({a} and {b})"),
            Expr::Or(a, b) => write!(f, "({a} or {b})"),
            Expr::Not(e) => write!(f, "not {e}"),
            Expr::Cmp { field, op, value } => {
                write_field(f, field)?;
                write!(f, " {} {value}", op.symbol())
            }
            Expr::In { field, negated, values } => {
                write_field(f, field)?;
                f.write_str(if *negated { " not in " } else { " in " })?;
                write_list(f, values, |f, v| write!(f, "{v}"))
            }
            Expr::Between { field, low, high } => {
                write_field(f, field)?;
                write!(f, " between {low} and {high}")
            }
            Expr::Has { field, mode, values } => {
                write_field(f, field)?;
                f.write_str(match mode {
                    HasMode::One => " has ",
                    HasMode::Any => " has any ",
                    HasMode::All => " has all ",
                })?;
                match (mode, values.as_slice()) {
                    (HasMode::One, [one]) => write_text(f, one),
                    _ => write_list(f, values, |f, v| write_text(f, v)),
                }
            }
            Expr::IsSet { field, negated } => {
                write_field(f, field)?;
                f.write_str(if *negated { " is not set" } else { " is set" })
            }
            Expr::Truthy(field) => write_field(f, field),
        }
    }
}
