//! The one error type of the domain crate: which field was wrong and why.

/// A value that could not be parsed into a domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct DomainError {
    /// The field (column, JSON key) that holds the bad value.
    pub field: &'static str,
    /// What is wrong with it, for a person to read.
    pub reason: String,
}

impl DomainError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            field,
            reason: reason.into(),
        }
    }
}
