//! The permission matrix: one `match` over (role, action). Adding a role or an action does not
//! compile until every cell of its row or column is decided here.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The roles a person or a device can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including users, tokens, the audit log, erasure and retention.
    Admin,
    /// Customers, campaigns and analytics across all branches; no users, no erasure.
    MarketingManager,
    /// Their own branch's customers, sales and contacts, and the analytics.
    BranchManager,
    /// Front desk: enrol and serve their own branch's customers.
    Clerk,
    /// Read-only, and never a personal identifier: anonymised customers, aggregates.
    Analyst,
    /// A point-of-sale device (a token, never a person): look members up, record sales.
    PosDevice,
}

impl Role {
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::MarketingManager,
        Role::BranchManager,
        Role::Clerk,
        Role::Analyst,
        Role::PosDevice,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::MarketingManager => "marketing_manager",
            Role::BranchManager => "branch_manager",
            Role::Clerk => "clerk",
            Role::Analyst => "analyst",
            Role::PosDevice => "pos_device",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        Role::ALL.into_iter().find(|r| r.as_str() == s.trim()).ok_or_else(|| {
            let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            format!("unknown role {s:?}; one of {}", names.join(", "))
        })
    }

    /// Whether the role works at one branch (and so needs one).
    pub fn needs_branch(self) -> bool {
        matches!(self, Role::BranchManager | Role::Clerk | Role::PosDevice)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What can be done. Every API route names exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Health, the API description, sign-in: no principal needed.
    #[serde(rename = "public")]
    Public,
    /// See and end one's own session.
    #[serde(rename = "session")]
    Session,
    #[serde(rename = "customers.read")]
    CustomersRead,
    /// Find one customer by an exact identifier (card, phone, member number) at the till.
    #[serde(rename = "customers.lookup")]
    CustomersLookup,
    #[serde(rename = "customers.enrol")]
    CustomersEnrol,
    #[serde(rename = "customers.update")]
    CustomersUpdate,
    #[serde(rename = "customers.delete")]
    CustomersDelete,
    #[serde(rename = "customers.merge")]
    CustomersMerge,
    /// The right of access: everything held about one customer.
    #[serde(rename = "customers.export")]
    CustomersExport,
    /// The right to be forgotten.
    #[serde(rename = "customers.erase")]
    CustomersErase,
    #[serde(rename = "transactions.read")]
    TransactionsRead,
    #[serde(rename = "transactions.record")]
    TransactionsRecord,
    #[serde(rename = "interactions.read")]
    InteractionsRead,
    #[serde(rename = "interactions.record")]
    InteractionsRecord,
    /// Branches, employees, products.
    #[serde(rename = "reference.read")]
    ReferenceRead,
    #[serde(rename = "reference.write")]
    ReferenceWrite,
    /// Bulk CSV import.
    #[serde(rename = "import")]
    Import,
    #[serde(rename = "analytics.read")]
    AnalyticsRead,
    #[serde(rename = "analytics.run")]
    AnalyticsRun,
    #[serde(rename = "audit.read")]
    AuditRead,
    #[serde(rename = "users.manage")]
    UsersManage,
    #[serde(rename = "tokens.manage")]
    TokensManage,
    /// Retention and other business-wide privacy settings.
    #[serde(rename = "privacy.manage")]
    PrivacyManage,
    /// Saved segments, checking an expression, a segment's members and counts.
    #[serde(rename = "segments.read")]
    SegmentsRead,
    /// Save and delete segments; render personalised messages for their members.
    #[serde(rename = "segments.manage")]
    SegmentsManage,
    /// A customer's points balance and ledger (at the till too, whatever branch they joined at).
    #[serde(rename = "points.read")]
    PointsRead,
    /// Spend a customer's points at the point of sale (own branch: the branch it happens at).
    #[serde(rename = "points.redeem")]
    PointsRedeem,
    /// Correct a customer's points, with a reason.
    #[serde(rename = "points.adjust")]
    PointsAdjust,
    /// Set how sales earn points.
    #[serde(rename = "points.configure")]
    PointsConfigure,
    /// The schedules and the job queue: what is scheduled, running, done and failed.
    #[serde(rename = "jobs.read")]
    JobsRead,
    /// Enqueue a background job now; cancel a scheduled one.
    #[serde(rename = "jobs.manage")]
    JobsManage,
    /// The loyalty program's definition and its members (a member's wallet is `points.read`).
    #[serde(rename = "loyalty.read")]
    LoyaltyRead,
    /// Enrol a customer in the program or record that they left (own branch: where it happens).
    #[serde(rename = "loyalty.enrol")]
    LoyaltyEnrol,
    /// Define the program: conditions, tiers, earning, promotions, bonuses.
    #[serde(rename = "loyalty.configure")]
    LoyaltyConfigure,
    /// Redeem a customer's points for a benefit and honour a granted benefit at the till (own
    /// branch: the branch it happens at).
    #[serde(rename = "benefits.redeem")]
    BenefitsRedeem,
    /// Grant a benefit of the catalogue by hand; draw surprise benefits and read the draws.
    #[serde(rename = "benefits.grant")]
    BenefitsGrant,
    /// Campaigns: their definitions, outbox counts, previews and measured reports.
    #[serde(rename = "campaigns.read")]
    CampaignsRead,
    /// Create, launch and pause campaigns, and deliver their outbox now.
    #[serde(rename = "campaigns.manage")]
    CampaignsManage,
}

impl Action {
    pub const ALL: [Action; 38] = [
        Action::Public,
        Action::Session,
        Action::CustomersRead,
        Action::CustomersLookup,
        Action::CustomersEnrol,
        Action::CustomersUpdate,
        Action::CustomersDelete,
        Action::CustomersMerge,
        Action::CustomersExport,
        Action::CustomersErase,
        Action::TransactionsRead,
        Action::TransactionsRecord,
        Action::InteractionsRead,
        Action::InteractionsRecord,
        Action::ReferenceRead,
        Action::ReferenceWrite,
        Action::Import,
        Action::AnalyticsRead,
        Action::AnalyticsRun,
        Action::AuditRead,
        Action::UsersManage,
        Action::TokensManage,
        Action::PrivacyManage,
        Action::SegmentsRead,
        Action::SegmentsManage,
        Action::PointsRead,
        Action::PointsRedeem,
        Action::PointsAdjust,
        Action::PointsConfigure,
        Action::JobsRead,
        Action::JobsManage,
        Action::LoyaltyRead,
        Action::LoyaltyEnrol,
        Action::LoyaltyConfigure,
        Action::BenefitsRedeem,
        Action::BenefitsGrant,
        Action::CampaignsRead,
        Action::CampaignsManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Public => "public",
            Action::Session => "session",
            Action::CustomersRead => "customers.read",
            Action::CustomersLookup => "customers.lookup",
            Action::CustomersEnrol => "customers.enrol",
            Action::CustomersUpdate => "customers.update",
            Action::CustomersDelete => "customers.delete",
            Action::CustomersMerge => "customers.merge",
            Action::CustomersExport => "customers.export",
            Action::CustomersErase => "customers.erase",
            Action::TransactionsRead => "transactions.read",
            Action::TransactionsRecord => "transactions.record",
            Action::InteractionsRead => "interactions.read",
            Action::InteractionsRecord => "interactions.record",
            Action::ReferenceRead => "reference.read",
            Action::ReferenceWrite => "reference.write",
            Action::Import => "import",
            Action::AnalyticsRead => "analytics.read",
            Action::AnalyticsRun => "analytics.run",
            Action::AuditRead => "audit.read",
            Action::UsersManage => "users.manage",
            Action::TokensManage => "tokens.manage",
            Action::PrivacyManage => "privacy.manage",
            Action::SegmentsRead => "segments.read",
            Action::SegmentsManage => "segments.manage",
            Action::PointsRead => "points.read",
            Action::PointsRedeem => "points.redeem",
            Action::PointsAdjust => "points.adjust",
            Action::PointsConfigure => "points.configure",
            Action::JobsRead => "jobs.read",
            Action::JobsManage => "jobs.manage",
            Action::LoyaltyRead => "loyalty.read",
            Action::LoyaltyEnrol => "loyalty.enrol",
            Action::LoyaltyConfigure => "loyalty.configure",
            Action::BenefitsRedeem => "benefits.redeem",
            Action::BenefitsGrant => "benefits.grant",
            Action::CampaignsRead => "campaigns.read",
            Action::CampaignsManage => "campaigns.manage",
        }
    }

    pub fn parse(s: &str) -> Result<Action, String> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s.trim())
            .ok_or_else(|| format!("unknown scope {s:?}"))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One cell of the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Grant {
    Allow,
    /// Only on what belongs to the principal's own branch (a customer registered there, a
    /// sale or contact recorded there).
    OwnBranch,
    /// Allowed, with personal identifiers and free text removed.
    Anonymised,
    Deny,
}

impl Grant {
    pub fn as_str(self) -> &'static str {
        match self {
            Grant::Allow => "yes",
            Grant::OwnBranch => "own branch",
            Grant::Anonymised => "anonymised",
            Grant::Deny => "no",
        }
    }
}

/// The permission matrix.
pub fn grant(role: Role, action: Action) -> Grant {
    use Action as A;
    use Grant::*;
    use Role as R;
    match (role, action) {
        (_, A::Public) => Allow,
        (_, A::Session) => Allow,
        (R::Admin, _) => Allow,

        (R::MarketingManager, a) => match a {
            A::CustomersRead | A::CustomersLookup | A::CustomersEnrol | A::CustomersUpdate | A::CustomersMerge => Allow,
            A::TransactionsRead | A::InteractionsRead | A::InteractionsRecord => Allow,
            A::ReferenceRead | A::AnalyticsRead | A::AnalyticsRun => Allow,
            A::SegmentsRead | A::SegmentsManage => Allow,
            // The program's policy and its corrections; no sales, so no redemptions.
            A::PointsRead | A::PointsAdjust | A::PointsConfigure => Allow,
            A::PointsRedeem => Deny,
            // What the nightly refresh did; running jobs is for admins.
            A::JobsRead => Allow,
            A::JobsManage => Deny,
            // The program is the marketing manager's to design and run.
            A::LoyaltyRead | A::LoyaltyEnrol | A::LoyaltyConfigure => Allow,
            // Grants and surprises are the program's; honouring happens at the till.
            A::BenefitsGrant => Allow,
            A::BenefitsRedeem => Deny,
            // Campaigns are the marketing manager's to write, launch and measure.
            A::CampaignsRead | A::CampaignsManage => Allow,
            A::CustomersDelete | A::CustomersExport | A::CustomersErase | A::TransactionsRecord => Deny,
            A::ReferenceWrite | A::Import | A::AuditRead | A::UsersManage | A::TokensManage | A::PrivacyManage => Deny,
            A::Public | A::Session => Allow,
        },

        (R::BranchManager, a) => match a {
            A::CustomersRead | A::CustomersEnrol | A::CustomersUpdate | A::CustomersDelete | A::CustomersMerge => {
                OwnBranch
            }
            A::TransactionsRead | A::TransactionsRecord | A::InteractionsRead | A::InteractionsRecord => OwnBranch,
            A::CustomersLookup | A::ReferenceRead | A::AnalyticsRead => Allow,
            A::SegmentsRead => OwnBranch,
            // Like the lookup, a balance is read for a member of any branch; spent at one's own.
            A::PointsRead => Allow,
            A::PointsRedeem => OwnBranch,
            A::PointsAdjust | A::PointsConfigure => Deny,
            A::JobsRead | A::JobsManage => Deny,
            A::LoyaltyRead => Allow,
            A::LoyaltyEnrol => OwnBranch,
            A::LoyaltyConfigure => Deny,
            A::BenefitsRedeem => OwnBranch,
            A::BenefitsGrant => Deny,
            // What the business sends and what it measured (aggregates); running them is marketing's.
            A::CampaignsRead => Allow,
            A::CampaignsManage => Deny,
            A::CustomersExport | A::CustomersErase | A::AnalyticsRun | A::SegmentsManage => Deny,
            A::ReferenceWrite | A::Import | A::AuditRead | A::UsersManage | A::TokensManage | A::PrivacyManage => Deny,
            A::Public | A::Session => Allow,
        },

        (R::Clerk, a) => match a {
            A::CustomersRead | A::CustomersEnrol | A::CustomersUpdate => OwnBranch,
            A::TransactionsRead | A::TransactionsRecord | A::InteractionsRead | A::InteractionsRecord => OwnBranch,
            A::CustomersLookup | A::ReferenceRead => Allow,
            A::PointsRead => Allow,
            A::PointsRedeem => OwnBranch,
            A::PointsAdjust | A::PointsConfigure => Deny,
            A::JobsRead | A::JobsManage => Deny,
            A::LoyaltyRead => Allow,
            A::LoyaltyEnrol => OwnBranch,
            A::LoyaltyConfigure => Deny,
            A::BenefitsRedeem => OwnBranch,
            A::BenefitsGrant => Deny,
            A::CampaignsRead | A::CampaignsManage => Deny,
            A::CustomersDelete | A::CustomersMerge | A::CustomersExport | A::CustomersErase => Deny,
            A::AnalyticsRead | A::AnalyticsRun | A::SegmentsRead | A::SegmentsManage => Deny,
            A::ReferenceWrite | A::Import | A::AuditRead | A::UsersManage | A::TokensManage | A::PrivacyManage => Deny,
            A::Public | A::Session => Allow,
        },

        (R::Analyst, a) => match a {
            A::CustomersRead | A::InteractionsRead | A::SegmentsRead => Anonymised,
            A::SegmentsManage => Deny,
            A::TransactionsRead | A::ReferenceRead | A::AnalyticsRead | A::AnalyticsRun => Allow,
            A::CustomersLookup | A::CustomersEnrol | A::CustomersUpdate | A::CustomersDelete => Deny,
            A::CustomersMerge | A::CustomersExport | A::CustomersErase => Deny,
            A::TransactionsRecord | A::InteractionsRecord => Deny,
            // Aggregates only (analytics.read gives the program's totals).
            A::PointsRead | A::PointsRedeem | A::PointsAdjust | A::PointsConfigure => Deny,
            A::JobsRead => Allow,
            A::JobsManage => Deny,
            // Members are people: the program's KPIs are aggregates under analytics.read.
            A::LoyaltyRead | A::LoyaltyEnrol | A::LoyaltyConfigure => Deny,
            A::BenefitsRedeem | A::BenefitsGrant => Deny,
            // Reports are aggregates; previews show a person's message and are under manage.
            A::CampaignsRead => Allow,
            A::CampaignsManage => Deny,
            A::ReferenceWrite | A::Import | A::AuditRead | A::UsersManage | A::TokensManage | A::PrivacyManage => Deny,
            A::Public | A::Session => Allow,
        },

        (R::PosDevice, a) => match a {
            A::CustomersLookup | A::ReferenceRead => Allow,
            A::CustomersEnrol | A::TransactionsRecord => OwnBranch,
            A::PointsRead => Allow,
            A::PointsRedeem => OwnBranch,
            A::PointsAdjust | A::PointsConfigure => Deny,
            A::JobsRead | A::JobsManage => Deny,
            A::LoyaltyRead => Allow,
            A::LoyaltyEnrol => OwnBranch,
            A::LoyaltyConfigure => Deny,
            A::BenefitsRedeem => OwnBranch,
            A::BenefitsGrant => Deny,
            A::CampaignsRead | A::CampaignsManage => Deny,
            A::CustomersRead | A::CustomersUpdate | A::CustomersDelete | A::CustomersMerge => Deny,
            A::CustomersExport | A::CustomersErase => Deny,
            A::TransactionsRead | A::InteractionsRead | A::InteractionsRecord => Deny,
            A::AnalyticsRead | A::AnalyticsRun | A::SegmentsRead | A::SegmentsManage => Deny,
            A::ReferenceWrite | A::Import | A::AuditRead | A::UsersManage | A::TokensManage | A::PrivacyManage => Deny,
            A::Public | A::Session => Allow,
        },
    }
}

/// The matrix as a Markdown table (docs/permissions.md embeds it; a test keeps them equal).
pub fn matrix_markdown() -> String {
    let mut s = String::from("| action |");
    for r in Role::ALL {
        s.push_str(&format!(" {r} |"));
    }
    s.push_str("\n|---|");
    for _ in Role::ALL {
        s.push_str("---|");
    }
    s.push('\n');
    for a in Action::ALL {
        s.push_str(&format!("| `{a}` |"));
        for r in Role::ALL {
            s.push_str(&format!(" {} |", grant(r, a).as_str()));
        }
        s.push('\n');
    }
    s
}
