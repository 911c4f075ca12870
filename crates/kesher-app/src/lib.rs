//! kesher's use cases: the layer the CLI and the HTTP server call. It owns the clock and id
//! generation, and ties the pure domain to a `Store`: CSV import, identify and merge, recording
//! sales and contacts.

pub mod analyze;
pub mod auth;
pub mod baskets;
pub mod identify;
pub mod import;
pub mod privacy;

use kesher_core::{BranchId, Country, CustomerId, EmployeeId, InteractionId, ProductId, TransactionId};
use kesher_store::Store;
use std::sync::Arc;

/// Settings a business chooses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Country for phone numbers written without a country code.
    pub default_country: Country,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            default_country: Country::israel(),
        }
    }
}

/// The application: a store, the business's settings, the clock, and caches of derived
/// results (mined rules) shared by every clone.
#[derive(Clone)]
pub struct App {
    pub store: Arc<dyn Store>,
    pub settings: Settings,
    pub(crate) caches: Arc<baskets::Caches>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> App {
        App {
            store,
            settings,
            caches: Arc::default(),
        }
    }

    pub fn now(&self) -> jiff::Timestamp {
        jiff::Timestamp::now()
    }
}

/// New time-ordered ids (UUIDv7): ids are made here, never in the domain crate.
pub mod ids {
    use super::*;
    pub fn customer() -> CustomerId {
        CustomerId(uuid::Uuid::now_v7())
    }
    pub fn branch() -> BranchId {
        BranchId(uuid::Uuid::now_v7())
    }
    pub fn employee() -> EmployeeId {
        EmployeeId(uuid::Uuid::now_v7())
    }
    pub fn product() -> ProductId {
        ProductId(uuid::Uuid::now_v7())
    }
    pub fn transaction() -> TransactionId {
        TransactionId(uuid::Uuid::now_v7())
    }
    pub fn interaction() -> InteractionId {
        InteractionId(uuid::Uuid::now_v7())
    }
}
