//! The crate's one error type: parse errors name the 1-based line, parameter errors the field

use thiserror::Error;

/// Everything that can go wrong in kesher-baskets.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BasketError {
    /// A line of the input could not be read as a basket or a line item.
    #[error("line {line}: {reason}")]
    Parse { line: usize, reason: String },
    /// A CSV cell is missing or invalid.
    #[error("line {line}: column {column}: {reason}")]
    Column {
        line: usize,
        column: String,
        reason: String,
    },
    /// The reader failed (I/O or invalid UTF-8) at this line.
    #[error("line {line}: read error: {reason}")]
    Read { line: usize, reason: String },
    /// A mining or scoring parameter is out of range.
    #[error("parameter {name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
}

impl BasketError {
    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            BasketError::Parse { .. } => "baskets.input.unreadable",
            BasketError::Column { .. } => "baskets.input.column",
            BasketError::Read { .. } => "baskets.input.read",
            BasketError::InvalidParameter { .. } => "baskets.parameter.invalid",
        }
    }

    /// The message's named arguments.
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut p = serde_json::Map::new();
        match self {
            BasketError::Parse { line, reason } | BasketError::Read { line, reason } => {
                p.insert("line".into(), (*line).into());
                p.insert("reason".into(), reason.as_str().into());
            }
            BasketError::Column { line, column, reason } => {
                p.insert("line".into(), (*line).into());
                p.insert("column".into(), column.as_str().into());
                p.insert("reason".into(), reason.as_str().into());
            }
            BasketError::InvalidParameter { name, reason } => {
                p.insert("name".into(), (*name).into());
                p.insert("reason".into(), reason.as_str().into());
            }
        }
        p
    }
}
