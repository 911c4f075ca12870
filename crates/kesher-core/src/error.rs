//! The one error type of the domain crate: a stable code, the field that was wrong, why (in
//! English), and the named values a translation interpolates.

pub use serde_json::Value;

/// Named arguments of an error message (`{"balance": 120, "asked": 400}`), for a translated
/// interface to interpolate; never the whole English sentence.
pub type Params = serde_json::Map<String, Value>;

/// `params!(balance = 120, asked = 400)`: an error's named arguments.
#[macro_export]
macro_rules! params {
    () => { $crate::error::Params::new() };
    ($($name:ident = $value:expr),+ $(,)?) => {{
        let mut params = $crate::error::Params::new();
        $( params.insert(stringify!($name).to_string(), $crate::error::Value::from($value)); )+
        params
    }};
}

/// A value that could not be parsed into a domain type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct DomainError {
    /// Stable, dotted: `phone.invalid.length`; listed in [`crate::codes::CATALOGUE`].
    pub code: &'static str,
    /// The field (column, JSON key) that holds the bad value.
    pub field: &'static str,
    /// What is wrong with it, for a person to read (English).
    pub reason: String,
    /// The values the reason names, by the names the catalogue gives them.
    pub params: Params,
}

impl DomainError {
    pub fn new(code: &'static str, field: &'static str, reason: impl Into<String>) -> Self {
        Self {
            code,
            field,
            reason: reason.into(),
            params: Params::new(),
        }
    }

    /// The same error with one more named argument.
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.params.insert(name.to_string(), value.into());
        self
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn params(&self) -> Params {
        self.params.clone()
    }
}
