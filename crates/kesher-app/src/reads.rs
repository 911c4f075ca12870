//! What the shells read through the app: the store's reads (and the few reference-data writes
//! that are single rows with nothing to decide), so that the HTTP server and the CLI never hold
//! the store itself. Each is the store's method of the same name.

use crate::App;
use jiff::Timestamp;
use kesher_core::{
    Branch, BranchId, Customer, CustomerId, Employee, EmployeeId, Interaction, Product, Transaction, TransactionId,
};
use kesher_store::{
    Actor, ApiToken, AuditEntry, AuditQuery, ConsentEvent, Counts, CustomerQuery, CustomerScore, Identifier, Inserted,
    Page, Result, User,
};

impl App {
    /// A page of a campaign's outbox: its messages after `after` (customer, occurrence), by
    /// customer id and occurrence, at most `limit` (the whole outbox is read page by page, each
    /// page its own unit).
    pub fn campaign_messages(
        &self,
        campaign: kesher_core::CampaignId,
        after: Option<kesher_store::MessageKey>,
        limit: usize,
    ) -> Result<Vec<kesher_store::OutboxMessage>> {
        let mut tx = self.store.begin(kesher_store::Lock::Writes)?;
        tx.campaign_messages(campaign, after, limit)
    }
    /// Every message of a campaign's outbox, by customer id, read a page of 1,000 at a time.
    pub fn for_each_campaign_message(
        &self,
        campaign: kesher_core::CampaignId,
        f: &mut dyn FnMut(&kesher_store::OutboxMessage) -> Result<()>,
    ) -> Result<()> {
        let mut after = None;
        loop {
            let page = self.campaign_messages(campaign, after, 1_000)?;
            let Some(last) = page.last() else { return Ok(()) };
            after = Some(last.key());
            for m in &page {
                f(m)?;
            }
        }
    }
    /// A business setting's value.
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        self.store.get_setting(key)
    }
    pub fn counts(&self) -> Result<Counts> {
        self.store.counts()
    }
    pub fn get_customer(&self, id: CustomerId) -> Result<Option<Customer>> {
        self.store.get_customer(id)
    }
    /// The customer holding a member number, phone, e-mail or card (or a merged-away one).
    pub fn lookup_customer(&self, ident: &Identifier) -> Result<Option<Customer>> {
        self.store.lookup_customer(ident)
    }
    /// The customer `who` names: an id, else a member number, card, phone (in the local notation
    /// of `branch`'s country) or e-mail; a merged-away id gives the kept customer.
    pub fn resolve_customer(&self, who: &str, branch: Option<BranchId>) -> Result<Option<CustomerId>> {
        let who = who.trim();
        if who.is_empty() || who.chars().count() > 200 {
            return Ok(None);
        }
        if let Ok(id) = who.parse::<CustomerId>() {
            if self.store.get_customer(id)?.is_some() {
                return Ok(Some(id));
            }
            return self.store.merged_into(id);
        }
        let mut tries = vec![Identifier::Member(who.to_string()), Identifier::Card(who.to_string())];
        if let Ok(p) = kesher_core::Phone::parse(who, self.phone_country(branch)?) {
            tries.push(Identifier::Phone(p));
        }
        if let Ok(e) = kesher_core::Email::parse(who) {
            tries.push(Identifier::Email(e));
        }
        for t in tries {
            if let Some(c) = self.store.lookup_customer(&t)? {
                return Ok(Some(c.id));
            }
        }
        Ok(None)
    }
    pub fn search_customers(&self, q: &CustomerQuery) -> Result<Page<Customer>> {
        self.store.search_customers(q)
    }
    /// The customer a dropped id was merged into, if it was.
    pub fn merged_into(&self, dropped: CustomerId) -> Result<Option<CustomerId>> {
        self.store.merged_into(dropped)
    }
    pub fn consent_history(&self, id: CustomerId) -> Result<Vec<ConsentEvent>> {
        self.store.consent_history(id)
    }
    pub fn erased_at(&self, id: CustomerId) -> Result<Option<Timestamp>> {
        self.store.erased_at(id)
    }
    /// The customer's score from the latest analysis run.
    pub fn customer_score(&self, id: CustomerId) -> Result<Option<CustomerScore>> {
        self.store.customer_score(id)
    }
    pub fn stage_counts(&self) -> Result<Vec<(String, String, u64)>> {
        self.store.stage_counts()
    }
    pub fn stage_transitions(&self, from_month: &str, to_month: &str) -> Result<Vec<(String, String, u64)>> {
        self.store.stage_transitions(from_month, to_month)
    }
    /// Every score of the latest analysis run, implicit prospects included.
    pub fn list_customer_scores(&self) -> Result<Vec<CustomerScore>> {
        self.store.list_customer_scores()
    }
    pub fn transaction_by_external(&self, ext: &str) -> Result<Option<Transaction>> {
        self.store.transaction_by_external(ext)
    }
    pub fn get_transaction(&self, id: TransactionId) -> Result<Option<Transaction>> {
        self.store.get_transaction(id)
    }
    /// Newest first.
    pub fn list_transactions(
        &self,
        customer: Option<CustomerId>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<Transaction>> {
        self.store.list_transactions(customer, limit, offset)
    }
    /// Newest first.
    pub fn list_interactions(
        &self,
        customer: Option<CustomerId>,
        limit: u32,
        offset: u64,
    ) -> Result<Page<Interaction>> {
        self.store.list_interactions(customer, limit, offset)
    }
    pub fn get_branch(&self, id: BranchId) -> Result<Option<Branch>> {
        self.store.get_branch(id)
    }
    pub fn branch_by_external(&self, ext: &str) -> Result<Option<Branch>> {
        self.store.branch_by_external(ext)
    }
    pub fn list_branches(&self) -> Result<Vec<Branch>> {
        self.store.list_branches()
    }
    pub fn insert_branch(&self, b: &Branch) -> Result<Inserted> {
        self.store.insert_branch(b)
    }
    pub fn get_employee(&self, id: EmployeeId) -> Result<Option<Employee>> {
        self.store.get_employee(id)
    }
    pub fn employee_by_external(&self, ext: &str) -> Result<Option<Employee>> {
        self.store.employee_by_external(ext)
    }
    pub fn list_employees(&self) -> Result<Vec<Employee>> {
        self.store.list_employees()
    }
    pub fn insert_employee(&self, e: &Employee) -> Result<Inserted> {
        self.store.insert_employee(e)
    }
    pub fn product_by_sku(&self, sku: &str) -> Result<Option<Product>> {
        self.store.product_by_sku(sku)
    }
    pub fn list_products(&self, limit: u32, offset: u64) -> Result<Page<Product>> {
        self.store.list_products(limit, offset)
    }
    pub fn insert_product(&self, p: &Product) -> Result<Inserted> {
        self.store.insert_product(p)
    }
    pub fn list_users(&self) -> Result<Vec<User>> {
        self.store.list_users()
    }
    pub fn list_tokens(&self) -> Result<Vec<ApiToken>> {
        self.store.list_tokens()
    }
    /// The audit log, newest first.
    pub fn audit_log(&self, limit: u32, offset: u64) -> Result<Vec<AuditEntry>> {
        self.store.audit_log(limit, offset)
    }
    /// A page of the audit log under `q`'s filters, newest first, keyset-paged.
    pub fn audit_page(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>> {
        self.store.audit_page(q)
    }
    /// Whether any audit entry has this action (e.g. "demo.generate").
    pub fn has_audit_action(&self, action: &str) -> Result<bool> {
        self.store.has_audit_action(action)
    }
    /// Append an entry to the audit log, for a change the store did not make itself.
    pub fn append_audit(
        &self,
        actor: &Actor,
        action: &str,
        entity: &str,
        entity_id: &str,
        after: Option<&serde_json::Value>,
    ) -> Result<()> {
        self.store.append_audit(actor, action, entity, entity_id, after)
    }
}
