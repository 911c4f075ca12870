//! Evaluation with three-valued logic: a comparison with a missing value is unknown.

use crate::Record;
use crate::ast::{CmpOp, Expr, HasMode, Literal};
use std::cmp::Ordering;

/// A field's value for one customer.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Missing,
    Number(f64),
    Text(std::borrow::Cow<'a, str>),
    Bool(bool),
    Date(jiff::civil::Date),
    Set(&'a [String]),
}

/// True, false or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn of(b: bool) -> Tri {
        if b { Tri::True } else { Tri::False }
    }

    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }

    fn and(self, other: impl FnOnce() -> Tri) -> Tri {
        match self {
            Tri::False => Tri::False,
            Tri::True => other(),
            Tri::Unknown => match other() {
                Tri::False => Tri::False,
                _ => Tri::Unknown,
            },
        }
    }

    fn or(self, other: impl FnOnce() -> Tri) -> Tri {
        match self {
            Tri::True => Tri::True,
            Tri::False => other(),
            Tri::Unknown => match other() {
                Tri::True => Tri::True,
                _ => Tri::Unknown,
            },
        }
    }
}

pub(crate) fn eval(e: &Expr, r: &dyn Record) -> Tri {
    match e {
        Expr::Const(b) => Tri::of(*b),
        Expr::And(a, b) => eval(a, r).and(|| eval(b, r)),
        Expr::Or(a, b) => eval(a, r).or(|| eval(b, r)),
        Expr::Not(x) => eval(x, r).not(),
        Expr::Cmp { field, op, value } => compare(&r.value(field), *op, value),
        Expr::In { field, negated, values } => {
            let v = r.value(field);
            let mut acc = Tri::False;
            for lit in values {
                acc = acc.or(|| compare(&v, CmpOp::Eq, lit));
                if acc == Tri::True {
                    break;
                }
            }
            if *negated { acc.not() } else { acc }
        }
        Expr::Between { field, low, high } => {
            let v = r.value(field);
            compare(&v, CmpOp::Ge, low).and(|| compare(&v, CmpOp::Le, high))
        }
        Expr::Has { field, mode, values } => match r.value(field) {
            Value::Set(set) => {
                let holds = |want: &String| set.iter().any(|s| eq_text(s, want));
                Tri::of(match mode {
                    HasMode::One | HasMode::Any => values.iter().any(holds),
                    HasMode::All => values.iter().all(holds),
                })
            }
            Value::Missing => Tri::Unknown,
            _ => Tri::False,
        },
        Expr::IsSet { field, negated } => {
            let set = match r.value(field) {
                Value::Missing => false,
                Value::Text(t) => !t.trim().is_empty(),
                Value::Set(s) => !s.is_empty(),
                _ => true,
            };
            Tri::of(set != *negated)
        }
        Expr::Truthy(field) => match r.value(field) {
            Value::Bool(b) => Tri::of(b),
            Value::Missing => Tri::Unknown,
            Value::Text(t) => match t.trim().to_lowercase().as_str() {
                "true" | "yes" => Tri::True,
                "false" | "no" => Tri::False,
                _ => Tri::Unknown,
            },
            _ => Tri::Unknown,
        },
    }
}

fn eq_text(a: &str, b: &str) -> bool {
    // ASCII lowercases to ASCII of the same length: decided without allocating (the common
    // case, evaluated for every customer).
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    a.len() == b.len() && a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

fn compare(v: &Value<'_>, op: CmpOp, lit: &Literal) -> Tri {
    if op == CmpOp::Contains {
        return match (v, lit) {
            (Value::Text(t), Literal::Text(want)) => Tri::of(t.to_lowercase().contains(&want.to_lowercase())),
            (Value::Number(n), Literal::Text(want)) => Tri::of(n.to_string().contains(want.as_str())),
            (Value::Missing, _) => Tri::Unknown,
            _ => Tri::False,
        };
    }
    let ord = match (v, lit) {
        (Value::Missing, _) => return Tri::Unknown,
        (Value::Number(a), Literal::Number(b)) => a.partial_cmp(b),
        (Value::Text(a), Literal::Number(b)) => match a.trim().parse::<f64>() {
            Ok(a) => a.partial_cmp(b),
            Err(_) => return Tri::Unknown,
        },
        (Value::Text(a), Literal::Text(b)) => {
            if eq_text(a, b) {
                Some(Ordering::Equal)
            } else {
                Some(a.to_lowercase().cmp(&b.to_lowercase()))
            }
        }
        (Value::Number(a), Literal::Text(b)) => Some(a.to_string().cmp(b)),
        (Value::Bool(a), Literal::Bool(b)) => Some(a.cmp(b)),
        (Value::Text(a), Literal::Bool(b)) => match a.trim().to_lowercase().as_str() {
            "true" | "yes" => Some(true.cmp(b)),
            "false" | "no" => Some(false.cmp(b)),
            _ => return Tri::Unknown,
        },
        (Value::Date(a), Literal::Date(b)) => Some(a.cmp(b)),
        // A value of another kind than the literal (a free-form attribute holding a list, say):
        // equal to nothing, ordered against nothing.
        _ => {
            return match op {
                CmpOp::Ne => Tri::True,
                CmpOp::Eq => Tri::False,
                _ => Tri::Unknown,
            };
        }
    };
    let Some(ord) = ord else { return Tri::Unknown };
    Tri::of(match op {
        CmpOp::Eq => ord == Ordering::Equal,
        CmpOp::Ne => ord != Ordering::Equal,
        CmpOp::Lt => ord == Ordering::Less,
        CmpOp::Le => ord != Ordering::Greater,
        CmpOp::Gt => ord == Ordering::Greater,
        CmpOp::Ge => ord != Ordering::Less,
        CmpOp::Contains => false,
    })
}
