//! The crate's error type: one enum whose variants a caller can match.

/// Everything that can go wrong in kesher's analytics.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnalyticsError {
    /// A value in an input table is unusable; `line` is 1-based (the header is line 1),
    /// `column` is 1-based, `field` is the column's header name.
    #[error("line {line}, column {column} ({field}): {reason}")]
    Invalid {
        line: usize,
        column: usize,
        field: String,
        reason: String,
    },
    /// A required column is absent from the header.
    #[error("missing column {0}")]
    MissingColumn(String),
    /// An argument (not a table cell) is unusable.
    #[error("invalid argument {name}: {reason}")]
    InvalidArgument { name: &'static str, reason: String },
    /// Transactions must arrive grouped by customer in ascending key order.
    #[error("transactions not sorted by customer at position {position}")]
    Unsorted { position: usize },
    /// Nothing to work on (no rows, or no rows usable by the model).
    #[error("no data")]
    NoData,
    /// The data cannot determine the model's parameters (the likelihood has no finite optimum):
    /// e.g. nobody made a repeat purchase, so the purchase rate and the dropout are confounded.
    #[error("these data cannot determine the model: {reason}")]
    NotIdentifiable { reason: String },
    /// The optimiser stopped without meeting its convergence test.
    #[error("optimiser did not converge after {iterations} iterations (gradient norm {gradient_norm:e})")]
    DidNotConverge { iterations: usize, gradient_norm: f64 },
    /// The fit's budget (iterations, or the deadline its caller set) ran out before it converged.
    #[error("fit budget exhausted after {iterations} iterations")]
    BudgetExhausted { iterations: usize },
    /// A computation produced a non-finite number; `what` names it.
    #[error("numerical failure in {what}")]
    Numerical { what: &'static str },
}

impl AnalyticsError {
    /// The stable code a translated interface looks the message up by.
    pub fn code(&self) -> &'static str {
        match self {
            AnalyticsError::Invalid { .. } => "analytics.input.invalid",
            AnalyticsError::MissingColumn(_) => "analytics.input.missing_column",
            AnalyticsError::InvalidArgument { .. } => "analytics.argument.invalid",
            AnalyticsError::Unsorted { .. } => "analytics.input.unsorted",
            AnalyticsError::NoData => "analytics.no_data",
            AnalyticsError::NotIdentifiable { .. } => "analytics.model.not_identifiable",
            AnalyticsError::DidNotConverge { .. } => "analytics.model.did_not_converge",
            AnalyticsError::BudgetExhausted { .. } => "analytics.model.budget_exhausted",
            AnalyticsError::Numerical { .. } => "analytics.numerical",
        }
    }

    /// The message's named arguments.
    pub fn params(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut p = serde_json::Map::new();
        let mut put = |name: &str, value: serde_json::Value| {
            p.insert(name.to_string(), value);
        };
        match self {
            AnalyticsError::Invalid {
                line,
                column,
                field,
                reason,
            } => {
                put("line", (*line).into());
                put("column", (*column).into());
                put("field", field.as_str().into());
                put("reason", reason.as_str().into());
            }
            AnalyticsError::MissingColumn(c) => put("column", c.as_str().into()),
            AnalyticsError::InvalidArgument { name, reason } => {
                put("name", (*name).into());
                put("reason", reason.as_str().into());
            }
            AnalyticsError::Unsorted { position } => put("position", (*position).into()),
            AnalyticsError::NoData => {}
            AnalyticsError::NotIdentifiable { reason } => put("reason", reason.as_str().into()),
            AnalyticsError::DidNotConverge {
                iterations,
                gradient_norm,
            } => {
                put("iterations", (*iterations).into());
                put("gradient_norm", format!("{gradient_norm:e}").into());
            }
            AnalyticsError::BudgetExhausted { iterations } => put("iterations", (*iterations).into()),
            AnalyticsError::Numerical { what } => put("what", (*what).into()),
        }
        p
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = AnalyticsError> = std::result::Result<T, E>;
