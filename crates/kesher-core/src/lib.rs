//! kesher's domain model: ids, money, customer identifiers and the records a business keeps.
//!
//! Pure: no I/O, no clock, no randomness. Values are parsed at the edge ("parse, don't
//! validate"): a `Phone`, `Email` or `Money` that exists is valid.

pub mod codes;
pub mod customer_input;
pub mod error;
pub mod identity;
pub mod ids;
pub mod model;
pub mod money;
pub mod name;
pub mod phone;

pub use error::{DomainError, Params};
pub use identity::{DuplicateCandidate, DuplicatePair, Email, find_duplicates};
pub use ids::{
    BenefitGrantId, BranchId, CampaignId, CustomerId, EmployeeId, InteractionId, JobId, ProductId, SegmentRunId,
    SurpriseDrawId, TokenId, TransactionId, UserId,
};
pub use model::*;
pub use money::{
    Currency, ISO_4217, MAX_LINE_AMOUNT, MAX_QUANTITY, MAX_SALE_TOTAL, MAX_UNIT_PRICE, Money, check_price,
};
pub use name::{name_key, name_similarity, normalize_name};
pub use phone::{Country, Phone};
