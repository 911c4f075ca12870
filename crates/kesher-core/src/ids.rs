//! Typed ids: one newtype over a UUID per entity, made by one macro.

use std::fmt;
use std::str::FromStr;

macro_rules! id_type {
    ($($name:ident),* $(,)?) => {$(
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub fn from_uuid(u: uuid::Uuid) -> Self { Self(u) }
            pub fn as_uuid(&self) -> &uuid::Uuid { &self.0 }
            pub fn from_bytes(b: [u8; 16]) -> Self { Self(uuid::Uuid::from_bytes(b)) }
            pub fn as_bytes(&self) -> &[u8; 16] { self.0.as_bytes() }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { self.0.fmt(f) }
        }

        impl FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> { uuid::Uuid::parse_str(s).map(Self) }
        }
    )*};
}

id_type!(
    CustomerId,
    BranchId,
    EmployeeId,
    ProductId,
    TransactionId,
    InteractionId,
    UserId,
    TokenId,
    JobId,
    BenefitGrantId,
    SurpriseDrawId,
    SegmentRunId,
    CampaignId
);
